// Runs every test tier in order: static, unit, integration (real testbed), e2e (real VS Code in a real browser).
// Usage: node scripts/test.mjs [static|unit|integration|e2e ...] [-- mocha args]
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testbedVariables } from './testbed/env.mjs';
import { realNodeProblem } from './testbed/realnode/require.mjs';
import { exampleInstallNeeded } from './todo.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const wanted = dash >= 0 ? argv.slice(0, dash) : argv;
const tiers = wanted.length ? wanted : ['static', 'unit', 'integration', 'e2e'];
const results = [];
let testbedStartedHere = false;

function run(label, cmd, args, { env = {}, timeoutMin = 30 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    console.log(`\n== ${label}`);
    const child = spawn(cmd, args, {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...env },
      detached: true,
    });
    // A tier that hangs (a stray handle, a stuck browser) must not eat CI's whole budget.
    const timer = setTimeout(() => {
      console.error(`\n!! ${label}: no result after ${timeoutMin} min; stopping it (process group ${child.pid})`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMin * 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* the group is gone */
      }
      resolve({ label, ok: code === 0, code: code ?? signal, seconds: (Date.now() - started) / 1000 });
    });
  });
}

function files(dir, suffix) {
  const out = [];
  const walk = (d) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(suffix)) out.push(path.relative(root, p));
    }
  };
  walk(path.join(root, dir));
  return out.sort();
}

const mochaBin = path.join(root, 'node_modules/mocha/bin/mocha.js');
function mocha(label, testFiles, { timeout, env, timeoutMin }) {
  if (!testFiles.length) {
    console.log(`\n== ${label}: no test files`);
    return Promise.resolve({ label, ok: true, code: 0, seconds: 0 });
  }
  return run(
    label,
    process.execPath,
    ['--import', 'tsx', mochaBin, '--exit', '--timeout', String(timeout), '--reporter', 'spec', ...extra, ...testFiles],
    { env, timeoutMin },
  );
}

function testbedEnv() {
  const file = path.join(root, '.sandpiper/testbed/testbed.json');
  if (!existsSync(file)) return {};
  return testbedVariables(JSON.parse(readFileSync(file, 'utf8')));
}

async function ensureTestbed() {
  const status = await run('testbed: status', process.execPath, ['scripts/testbed/testbed.mjs', 'status', '--quiet'], {
    timeoutMin: 2,
  });
  if (status.ok) return requireRealNode();
  const up = await run('testbed: up', process.execPath, ['scripts/testbed/testbed.mjs', 'up'], { timeoutMin: 60 });
  results.push(up);
  if (up.ok) testbedStartedHere = true;
  return up.ok && requireRealNode();
}

/** The integration and e2e tiers run on real containers only: never a silent fall back to the KWOK nodes. */
function requireRealNode() {
  const problem = realNodeProblem();
  if (!problem) return true;
  console.error(`\n!! testbed: the real node is required and not usable:\n${problem}`);
  results.push({ label: 'testbed: real node', ok: false, code: 1, seconds: 0 });
  return false;
}

const started = Date.now();
for (const tier of tiers) {
  if (tier === 'static') {
    results.push(
      await run('static: type-check', process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], {
        timeoutMin: 10,
      }),
    );
    results.push(
      await run('static: lint', process.execPath, ['node_modules/eslint/bin/eslint.js', '.'], { timeoutMin: 10 }),
    );
    results.push(
      await run('static: format', process.execPath, ['node_modules/prettier/bin/prettier.cjs', '--check', '.'], {
        timeoutMin: 5,
      }),
    );
    results.push(await run('static: build', process.execPath, ['scripts/build.mjs'], { timeoutMin: 5 }));
    // The Todo example is its own package (examples/todo, bundled by esbuild): its packages, then its type-check.
    const install = exampleInstallNeeded();
    if (install) {
      console.log(`\n(${install})`);
      results.push(
        await run('static: example install', 'npm', ['ci', '--prefix', 'examples/todo', '--no-audit', '--no-fund'], {
          timeoutMin: 10,
        }),
      );
    }
    results.push(
      await run(
        'static: example type-check',
        process.execPath,
        ['node_modules/typescript/bin/tsc', '-p', 'examples/todo'],
        {
          timeoutMin: 5,
        },
      ),
    );
  } else if (tier === 'unit') {
    results.push(await mocha('unit', files('test/unit', '.test.ts'), { timeout: 10_000, timeoutMin: 10 }));
  } else if (tier === 'integration') {
    if (!(await ensureTestbed())) continue;
    results.push(await run('integration: build', process.execPath, ['scripts/build.mjs', '--dev'], { timeoutMin: 5 }));
    results.push(
      await mocha('integration', files('test/integration', '.test.ts'), {
        timeout: 60_000,
        env: testbedEnv(),
        // A hang guard, not a target: the tier took ~20 min before the controller's chaos and zero-error tests.
        timeoutMin: 45,
      }),
    );
  } else if (tier === 'e2e') {
    if (!(await ensureTestbed())) continue;
    results.push(
      await run('e2e: code-server', process.execPath, ['scripts/codeserver.mjs', 'install'], { timeoutMin: 15 }),
    );
    results.push(await run('e2e: build', process.execPath, ['scripts/build.mjs', '--tests'], { timeoutMin: 5 }));
    results.push(
      await run('e2e: package', process.execPath, ['scripts/package.mjs', '--out', 'out/sandpiper-test.vsix'], {
        timeoutMin: 5,
      }),
    );
    results.push(
      await mocha('e2e', files('test/e2e', '.e2e.test.ts'), { timeout: 240_000, env: testbedEnv(), timeoutMin: 35 }),
    );
  } else {
    console.error(`unknown tier ${tier}`);
    process.exitCode = 2;
  }
}
if (testbedStartedHere && !process.env.SANDPIPER_KEEP_TESTBED) {
  results.push(
    await run('testbed: down', process.execPath, ['scripts/testbed/testbed.mjs', 'down'], { timeoutMin: 5 }),
  );
}

console.log('\n== summary');
for (const r of results)
  console.log(
    `${r.ok ? 'ok  ' : 'FAIL'} ${r.label.padEnd(28)} ${r.seconds.toFixed(1)} s${r.ok ? '' : ` (exit ${r.code})`}`,
  );
console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (results.some((r) => !r.ok) || results.length === 0) process.exitCode = 1;
