// The testbed's base images, made locally from this machine's binaries (nothing is pulled from a registry):
// - sandpiper/busybox:latest — Debian's static busybox with every applet linked;
// - sandpiper/node:20 — the host's node binary + its ldd libraries on busybox; also tagged node:20-slim, a LOCAL
//   STAND-IN for Docker Hub's image, so `FROM node:20-slim` (the example's Dockerfile) builds offline;
// - sandpiper/python:3.11 — Debian's /usr/bin/python3.11 + its standard library (trimmed) + the ldd libraries of the
//   interpreter and its extension modules, with the testbed's debugpy in dist-packages (`python3 -m debugpy`);
// - sandpiper/postgres:15 — Debian's postgresql-15 (/usr/lib/postgresql/15/{bin,lib} without JIT, its share folder,
//   the time zones) + the ldd libraries, a `postgres` user; no locale files: clusters use `initdb --locale=C`.
// The real node pushes all of them to the testbed registry (realnode/node.mjs), where pods pull them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mkdirp, sh, which } from './lib.mjs';

export const BUSYBOX = 'sandpiper/busybox:latest';
export const NODE = 'sandpiper/node:20';
export const NODE_SLIM = 'node:20-slim';
export const PYTHON = 'sandpiper/python:3.11';
export const POSTGRES = 'sandpiper/postgres:15';
/** Every base image, as pods and Dockerfiles name them. */
export const BASE_IMAGES = [BUSYBOX, NODE, NODE_SLIM, PYTHON, POSTGRES];

const PYTHON_BIN = '/usr/bin/python3.11';
const PYTHON_LIB = '/usr/lib/python3.11';
// Not needed to run a program or debugpy; the static config/ library alone is 25 MB.
const PYTHON_DROP = new Set([
  'test',
  'idlelib',
  'tkinter',
  'turtledemo',
  'ensurepip',
  'lib2to3',
  'pydoc_data',
  'config-3.11-x86_64-linux-gnu',
  '__pycache__',
]);

export const POSTGRES_HOME = '/usr/lib/postgresql/15';
const POSTGRES_SHARE = '/usr/share/postgresql/15';
// JIT (llvmjit.so and its bitcode) would pull in libLLVM (~100 MB); without it the server runs with jit off.
const POSTGRES_DROP = new Set(['bitcode', 'llvmjit.so', 'llvmjit_types.bc', 'man']);
// Debian builds PostgreSQL --with-system-tzdata; right/ holds the leap-second variants nobody selects.
const ZONEINFO = '/usr/share/zoneinfo';
// The uid/gid of the official postgres image, so a data volume is owned alike.
const POSTGRES_UID = 999;

/** Makes whichever base image dockerd lacks; `docker(args, opts)` runs the testbed's docker CLI. */
export function buildBaseImages(docker, { debugpyDir }) {
  const has = (ref) => docker(['image', 'inspect', ref], { check: false }).status === 0;
  const made = [];
  if (!has(BUSYBOX)) {
    withTempDir('sp-busybox-', (root) => {
      busyboxRoot(root);
      const tar = sh('tar', ['-C', root, '-c', '.'], { encoding: 'buffer' }).stdout;
      const changes = ['ENV PATH=/usr/local/bin:/usr/bin:/bin', 'CMD ["/bin/sh"]'].flatMap((c) => ['--change', c]);
      docker(['import', ...changes, '-', BUSYBOX], { input: tar });
    });
    made.push(BUSYBOX);
  }
  if (!has(NODE)) {
    withTempDir('sp-node-', (ctx) => {
      const nodeBin = fs.realpathSync(process.execPath);
      copyFile(nodeBin, path.join(ctx, 'rootfs', 'usr', 'local', 'bin', 'node'));
      copyLibraries([nodeBin], path.join(ctx, 'rootfs'));
      fs.writeFileSync(
        path.join(ctx, 'Dockerfile'),
        `FROM ${BUSYBOX}\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin\nCMD ["node"]\n`,
      );
      docker(['build', '-q', '-t', NODE, ctx]);
    });
    made.push(NODE);
  }
  if (!has(NODE_SLIM)) {
    docker(['tag', NODE, NODE_SLIM]);
    made.push(`${NODE_SLIM} (tag of ${NODE})`);
  }
  if (!has(PYTHON)) {
    withTempDir('sp-python-', (ctx) => pythonContext(ctx, debugpyDir));
    made.push(PYTHON);
  }
  if (!has(POSTGRES)) {
    withTempDir('sp-postgres-', postgresContext);
    made.push(POSTGRES);
  }
  return made;

  function postgresContext(ctx) {
    const rootfs = path.join(ctx, 'rootfs');
    const keep = (src) => !POSTGRES_DROP.has(path.basename(src));
    for (const dir of [POSTGRES_HOME, POSTGRES_SHARE])
      fs.cpSync(dir, path.join(rootfs, dir), { recursive: true, verbatimSymlinks: true, filter: keep });
    fs.cpSync(ZONEINFO, path.join(rootfs, ZONEINFO), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !['right', 'localtime'].includes(path.relative(ZONEINFO, src)),
    });
    const elves = [];
    for (const sub of ['bin', 'lib']) {
      const dir = path.join(rootfs, POSTGRES_HOME, sub);
      for (const f of fs.readdirSync(dir)) if (sub === 'bin' || f.endsWith('.so')) elves.push(path.join(dir, f));
    }
    copyLibraries(elves, rootfs);
    const id = POSTGRES_UID;
    fs.writeFileSync(
      path.join(ctx, 'Dockerfile'),
      [
        `FROM ${BUSYBOX}`,
        'COPY rootfs/ /',
        `RUN echo 'postgres:x:${id}:${id}:PostgreSQL:/var/lib/postgresql:/bin/sh' >> /etc/passwd && \\`,
        `    echo 'postgres:x:${id}:' >> /etc/group && \\`,
        '    mkdir -p /var/lib/postgresql/data /var/run/postgresql && \\',
        '    chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql && chmod 700 /var/lib/postgresql/data',
        // TZ: initdb otherwise probes every zone file to guess the system's zone.
        `ENV PATH=${POSTGRES_HOME}/bin:/usr/local/bin:/usr/bin:/bin PGDATA=/var/lib/postgresql/data TZ=UTC LANG=C`,
        // SIGTERM would be a "smart" shutdown that waits for every client (a connection pool never leaves).
        'STOPSIGNAL SIGINT',
        'EXPOSE 5432',
        'CMD ["postgres"]',
        '',
      ].join('\n'),
    );
    docker(['build', '-q', '-t', POSTGRES, ctx]);
  }

  function pythonContext(ctx, debugpy) {
    const rootfs = path.join(ctx, 'rootfs');
    copyFile(PYTHON_BIN, path.join(rootfs, PYTHON_BIN));
    for (const link of ['python3', 'python']) fs.symlinkSync('python3.11', path.join(rootfs, 'usr', 'bin', link));
    fs.cpSync(PYTHON_LIB, path.join(rootfs, PYTHON_LIB), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !PYTHON_DROP.has(path.basename(src)),
    });
    const dynload = path.join(PYTHON_LIB, 'lib-dynload');
    const modules = fs.readdirSync(dynload).map((f) => path.join(dynload, f));
    copyLibraries([PYTHON_BIN, ...modules.filter((m) => m.endsWith('.so'))], rootfs);
    // Debian's site.py puts /usr/lib/python3/dist-packages on sys.path.
    const dist = mkdirp(path.join(rootfs, 'usr', 'lib', 'python3', 'dist-packages'));
    fs.cpSync(path.join(debugpy, 'debugpy'), path.join(dist, 'debugpy'), {
      recursive: true,
      filter: (src) => path.basename(src) !== '__pycache__',
    });
    fs.writeFileSync(
      path.join(ctx, 'Dockerfile'),
      `FROM ${BUSYBOX}\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin PYTHONUNBUFFERED=1\nCMD ["python3"]\n`,
    );
    docker(['build', '-q', '-t', PYTHON, ctx]);
  }
}

function busyboxRoot(root) {
  for (const d of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev', 'usr/bin', 'var', 'home'])
    mkdirp(path.join(root, d));
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  copyFile(which('busybox'), path.join(root, 'bin', 'busybox'));
  const applets = sh(which('busybox'), ['--list']).stdout.split('\n').filter(Boolean);
  for (const a of applets)
    if (a !== 'busybox' && !fs.existsSync(path.join(root, 'bin', a)))
      fs.symlinkSync('busybox', path.join(root, 'bin', a));
  fs.writeFileSync(
    path.join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n',
  );
  fs.writeFileSync(path.join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

function withTempDir(prefix, fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function copyFile(from, to) {
  mkdirp(path.dirname(to));
  fs.copyFileSync(fs.realpathSync(from), to);
  fs.chmodSync(to, 0o755);
}

/** The shared libraries (ldd) of these ELF files, copied to the same paths under rootfs. */
function copyLibraries(files, rootfs) {
  const libs = new Set();
  for (const f of files) {
    const out = sh('ldd', [f], { check: false }).stdout || '';
    for (const m of out.matchAll(/(\/\S+)\s+\(0x/g)) libs.add(m[1]);
  }
  for (const lib of libs) copyFile(lib, path.join(rootfs, lib));
}
