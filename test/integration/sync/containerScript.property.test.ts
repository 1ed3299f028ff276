// Property test of the sync's apply script in pods on the real node (busybox; dash + GNU tar), through the kubelet's
// exec: random trees already in
// the target (folders, files, links inside and outside it, dangling ones) and random batches (odd names, deletions,
// and forged archives with hard links, links, devices, `..` and absolute names). Seeded and reproducible:
// SANDPIPER_PROPERTY_SEEDS (default 40 per shell) from SANDPIPER_PROPERTY_SEED (default 1).
import { strict as assert } from 'node:assert';
import { pack } from 'tar-stream';
import { applyCommand, parseRefusals, EXIT_REFUSED } from '../../../src/core/sync/containerScript';
import { buildSyncArchive, buildUncheckedArchive, type ArchiveFile, type RawEntry } from '../../../src/core/infra/tar';
import { loadKube } from '../../../src/core/infra/kube/client';
import { createNamespace, loadTestbed } from '../../support/testbed';
import { BUSYBOX_IMAGE, TestPod, gnuTarDashImage, type Node } from './containers';

const SEEDS = Number(process.env.SANDPIPER_PROPERTY_SEEDS ?? 40);
const FIRST = Number(process.env.SANDPIPER_PROPERTY_SEED ?? 1);
const TARGET = '/w/t';
const OUTSIDE = '/outside';

/** mulberry32: small, seedable, the same on every machine. */
function rng(seed: number): {
  int: (n: number) => number;
  pick: <T>(xs: readonly T[]) => T;
  chance: (p: number) => boolean;
} {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { int, pick: (xs) => xs[int(xs.length)], chance: (p) => next() < p };
}

const SEGMENTS = [
  'a',
  'b',
  'src',
  'lib',
  'x y',
  '-d',
  'é',
  '日本',
  'star*',
  'q"t',
  "s'q",
  '$v',
  '1:2',
  '[k]',
  ' lead',
  'tr ail',
  '.hidden',
  'x->y',
];
const LINK_TARGETS = [
  '/outside',
  '/outside/sub',
  '/outside/f0.txt',
  '../../outside',
  '/',
  '.',
  '..',
  '/nonexistent/dir',
  '/w',
  'a',
  'src/lib',
];

type Tree = Map<string, Node>;
interface Case {
  pre: Tree;
  files: ArchiveFile[];
  deletions: string[];
  forged: RawEntry[];
}

const parentsOf = (p: string): string[] =>
  p
    .split('/')
    .slice(0, -1)
    .map((_, i, parts) => parts.slice(0, i + 1).join('/'));

function randomPath(r: ReturnType<typeof rng>, tree: Tree): string {
  const existing = [...tree.keys()];
  const base = existing.length && r.chance(0.6) ? r.pick(existing).split('/') : [];
  const extra = Array.from({ length: r.int(3) + (base.length ? 0 : 1) }, () => r.pick(SEGMENTS));
  return [...base, ...extra].join('/');
}

function generate(seed: number): Case {
  const r = rng(seed);
  const pre: Tree = new Map();
  for (let i = 0, n = 4 + r.int(12); i < n; i++) {
    const p = randomPath(r, pre);
    if (pre.has(p) || parentsOf(p).some((d) => pre.has(d) && pre.get(d)!.type !== 'dir')) continue;
    for (const d of parentsOf(p)) pre.set(d, { type: 'dir' });
    const kind = r.int(10);
    pre.set(
      p,
      kind < 3
        ? { type: 'dir' }
        : kind < 6
          ? { type: 'file', content: `pre ${p}` }
          : { type: 'link', target: pre.size && r.chance(0.2) ? r.pick([...pre.keys()]) : r.pick(LINK_TARGETS) },
    );
  }
  const files: ArchiveFile[] = [];
  const taken = new Set<string>();
  const many = r.chance(0.2);
  for (let i = 0, n = many ? 65 + r.int(20) : 1 + r.int(12); i < n * 3 && files.length < n; i++) {
    const p = randomPath(r, pre);
    // The sync never sends a path twice, nor a file and a file inside it.
    if (taken.has(p) || [...taken].some((t) => t.startsWith(`${p}/`) || p.startsWith(`${t}/`))) continue;
    taken.add(p);
    files.push({ path: p, content: Buffer.from(`new ${seed} ${p}`), mode: 0o644, mtime: new Date(0) });
  }
  const deletions: string[] = [];
  for (let i = 0, n = r.int(5); i < n; i++) {
    const p =
      r.chance(0.7) && pre.size ? r.pick([...pre.keys()]) + (r.chance(0.3) ? '/f0.txt' : '') : randomPath(r, pre);
    if (!taken.has(p) && !deletions.includes(p)) deletions.push(p);
  }
  const forged: RawEntry[] = [];
  if (r.chance(0.35)) {
    const someFile = files[0] ? `files/${files[0].path}` : 'files/a';
    const bad: RawEntry[] = [
      { name: 'files/hard', type: 'link', linkname: someFile },
      { name: 'files/hard-out', type: 'link', linkname: '/outside/f0.txt' },
      { name: 'files/hard-up', type: 'link', linkname: '../../outside/f0.txt' },
      { name: 'files/evil', type: 'symlink', linkname: '/outside' },
      { name: 'files/../../outside/dotdot.txt', content: 'pwned' },
      { name: '/outside/absolute.txt', content: 'pwned' },
      { name: 'files/pipe', type: 'fifo' },
      { name: 'files/null', type: 'character-device' },
      { name: 'files/new\nline', content: 'pwned' },
    ];
    for (let i = 0, n = 1 + r.int(3); i < n; i++) forged.push(r.pick(bad));
    if (r.chance(0.5)) forged.push(r.pick(bad.filter((e) => e.type === 'link')));
    // A link to outside, then a file through it: what busybox tar would write through.
    if (forged.some((e) => e.name === 'files/evil')) forged.push({ name: 'files/evil/through.txt', content: 'pwned' });
  }
  return {
    pre,
    files,
    deletions: forged.length ? [] : deletions,
    forged: [...new Map(forged.map((e) => [e.name, e])).values()],
  };
}

/** What the script must do to the target, file by file (deletions first), and what it must refuse. */
function expected(c: Case): { tree: Tree; refused: Set<string> } {
  const tree: Tree = new Map(c.pre);
  const refused = new Set<string>();
  const parents = (p: string, mk: boolean): 0 | 1 | 2 => {
    for (const d of parentsOf(p)) {
      const n = tree.get(d);
      if (n?.type === 'link') return 1;
      if (!n) {
        if (!mk) return 2;
        tree.set(d, { type: 'dir' });
      } else if (n.type !== 'dir') return 1;
    }
    return 0;
  };
  for (const p of c.deletions) {
    const r = parents(p, false);
    if (r === 1) refused.add(p);
    if (r !== 0) continue;
    for (const k of [...tree.keys()]) if (k === p || k.startsWith(`${p}/`)) tree.delete(k);
  }
  for (const f of c.files) {
    if (parents(f.path, true) === 1 || tree.get(f.path)?.type === 'dir') {
      refused.add(f.path);
      continue;
    }
    tree.set(f.path, { type: 'file', content: f.content.toString() });
  }
  return { tree, refused };
}

/** Empties the pod's /w and /outside, then lays out `pre` under the target and sentinels outside it. */
async function setUp(pod: TestPod, pre: Tree): Promise<void> {
  const p = pack();
  p.entry({ name: 'outside/', type: 'directory', mode: 0o755 });
  p.entry({ name: 'outside/f0.txt', mode: 0o644 }, 'sentinel 0');
  p.entry({ name: 'outside/sub/', type: 'directory', mode: 0o755 });
  p.entry({ name: 'outside/sub/f1.txt', mode: 0o644 }, 'sentinel 1');
  p.entry({ name: 'w/t/', type: 'directory', mode: 0o755 });
  for (const [rel, n] of [...pre].sort(([a], [b]) => a.localeCompare(b))) {
    const name = `w/t/${rel}`;
    if (n.type === 'dir') p.entry({ name: `${name}/`, type: 'directory', mode: 0o755 });
    else if (n.type === 'file') p.entry({ name, mode: 0o644 }, n.content);
    else if (n.type === 'link') p.entry({ name, type: 'symlink', linkname: n.target });
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  await pod.sh('rm -rf /w /outside');
  await pod.putTar(Buffer.concat(chunks));
}

const show = (t: Tree): string =>
  [...t]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${JSON.stringify(n)}`)
    .join('\n');

interface Counts {
  seeds: number;
  files: number;
  deletions: number;
  preLinks: number;
  forged: number;
  hardLinks: number;
  landed: number;
  refusedFiles: number;
  refusedArchives: number;
}

async function runCase(pod: TestPod, seed: number, counts: Counts): Promise<string[]> {
  const c = generate(seed);
  const problems: string[] = [];
  {
    await setUp(pod, c.pre);
    const outsideBefore = show(await pod.readTree(OUTSIDE));
    const fsBefore = await pod.fingerprint(TARGET);
    const tar = c.forged.length
      ? await buildUncheckedArchive([
          ...c.files.map((f) => ({ name: `files/${f.path}`, content: f.content.toString() })),
          ...c.forged,
        ])
      : await buildSyncArchive(c.files, c.deletions);
    const res = await pod.exec(applyCommand(TARGET, tar.length, { kind: 'none' }), tar);
    const refusals = parseRefusals(res.stderr).map((x) => x.path);
    const after = await pod.readTree(TARGET);
    if (show(await pod.readTree(OUTSIDE)) !== outsideBefore) problems.push(`${OUTSIDE} changed`);
    const fsAfter = await pod.fingerprint(TARGET);
    const was = new Set(fsBefore);
    const is = new Set(fsAfter);
    const escaped = [...fsAfter.filter((l) => !was.has(l)), ...fsBefore.filter((l) => !is.has(l)).map((l) => `-${l}`)];
    if (escaped.length) problems.push(`changed outside the target: ${escaped.join(', ')}`);
    counts.seeds++;
    counts.files += c.files.length;
    counts.deletions += c.deletions.length;
    counts.preLinks += [...c.pre.values()].filter((n) => n.type === 'link').length;
    counts.forged += c.forged.length;
    counts.hardLinks += c.forged.filter((e) => e.type === 'link').length;
    if (c.forged.length) {
      counts.refusedArchives++;
      if (res.exitCode !== EXIT_REFUSED)
        problems.push(`forged archive: exit ${res.exitCode}, expected ${EXIT_REFUSED}`);
      if (show(after) !== show(c.pre)) problems.push(`forged archive changed the target:\n${show(after)}`);
      for (const e of c.forged) {
        // GNU tar lists the raw name; busybox strips a leading / or ../ (the rest of the name is named) and says
        // which prefix it stripped once. A name with a newline is listed as two lines.
        const parts = e.name.split('\n').map((part) => part.split('/').at(-1)!);
        const named = refusals.some((p) => {
          const stripped = /'([^']*)'/.exec(p)?.[1];
          return parts.some((part) => p.includes(part)) || (stripped !== undefined && e.name.startsWith(stripped));
        });
        if (!named && e.name !== 'files/evil/through.txt')
          problems.push(`forged entry ${JSON.stringify(e.name)} not named`);
      }
    } else {
      const want = expected(c);
      if (res.exitCode !== 0) problems.push(`exit ${res.exitCode}: ${res.stderr}`);
      if (show(after) !== show(want.tree))
        problems.push(`target differs\n--- got\n${show(after)}\n--- want\n${show(want.tree)}`);
      const got = [...new Set(refusals)].sort();
      const exp = [...want.refused].sort();
      if (JSON.stringify(got) !== JSON.stringify(exp))
        problems.push(`refused ${JSON.stringify(got)}, expected ${JSON.stringify(exp)}`);
      counts.refusedFiles += exp.length;
      counts.landed += c.files.filter((f) => !want.refused.has(f.path)).length;
    }
    if (problems.length)
      problems.unshift(
        `seed ${seed} (${c.forged.length ? 'forged' : `${c.files.length} files, ${c.deletions.length} deletions`}), stderr:\n${res.stderr}\npre:\n${show(c.pre)}`,
      );
  }
  return problems;
}

describe('the sync apply script in pods on the real node: random trees, links, odd names, forged archives (property)', function () {
  this.timeout(900_000);
  const kube = loadKube({ kubeconfig: loadTestbed().kubeconfig });
  let ns: { name: string; dispose(): Promise<void> } | undefined;
  before(async () => void (ns = await createNamespace('sync-property')));
  after(async () => ns?.dispose());
  const shells: Array<[string, string, () => Promise<string>]> = [
    ['busybox sh + tar', 'busybox', async () => BUSYBOX_IMAGE],
    ['dash + GNU tar', 'gnu-dash', () => gnuTarDashImage()],
  ];
  for (const [shell, podName, image] of shells) {
    it(`never writes outside the target, lands every carried file, names every refusal: ${shell}, ${SEEDS} seeds`, async () => {
      // One pod per shell; each seed starts from an emptied /w and /outside.
      const pod = await TestPod.start(kube, ns!.name, podName, await image());
      const counts: Counts = {
        seeds: 0,
        files: 0,
        deletions: 0,
        preLinks: 0,
        forged: 0,
        hardLinks: 0,
        landed: 0,
        refusedFiles: 0,
        refusedArchives: 0,
      };
      const failures: string[] = [];
      const started = Date.now();
      for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
        const problems = await runCase(pod, seed, counts);
        if (problems.length) failures.push(problems.join('\n'));
      }
      const c = counts;
      console.log(
        `      ${shell}: ${c.seeds} seeds (from ${FIRST}) in ${((Date.now() - started) / 1000).toFixed(1)} s: ${c.files} files sent, ${c.landed} landed, ` +
          `${c.refusedFiles} refused one by one, ${c.deletions} deletions, ${c.preLinks} links already in targets, ` +
          `${c.refusedArchives} forged archives refused whole (${c.forged} forged entries, ${c.hardLinks} hard links); ${failures.length} seed(s) failed`,
      );
      assert.equal(failures.length, 0, failures.slice(0, 3).join('\n\n'));
    });
  }
});
