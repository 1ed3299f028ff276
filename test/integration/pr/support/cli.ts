// The CLI bundled the way scripts/build.mjs bundles dist/cli.js (Octokit is ESM-only: esbuild inlines it), run
// as a child process with none of the token, API URL or approvals file of the person running the tests.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export class BundledCli {
  private constructor(
    private readonly dir: string,
    private readonly bundle: string,
  ) {}

  static async build(): Promise<BundledCli> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-cli-'));
    const bundle = path.join(dir, 'cli.js');
    await build({
      absWorkingDir: ROOT,
      entryPoints: ['src/cli/main.ts'],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode', 'cpu-features', '*.node'],
      mainFields: ['module', 'main'],
      logLevel: 'error',
    });
    return new BundledCli(dir, bundle);
  }

  /** The child's $XDG_CONFIG_HOME: where ~/.config/sandpiper/github-hosts.json is looked for. */
  get configHome(): string {
    return path.join(this.dir, 'config');
  }

  /** Writes the user-level approvals file the CLI reads (`null`: removes it). */
  approveHosts(hosts: string[] | null): void {
    const file = path.join(this.configHome, 'sandpiper', 'github-hosts.json');
    if (hosts === null) return fs.rmSync(file, { force: true });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ approvedHosts: hosts }));
  }

  run(cwd: string, args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      GITHUB_TOKEN: undefined,
      GH_TOKEN: undefined,
      GITHUB_API_URL: undefined,
      XDG_CONFIG_HOME: this.configHome,
      ...env,
    };
    const entry = 'require(process.argv[1]).main(process.argv.slice(2)).then((c) => { process.exitCode = c; })';
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['-e', entry, this.bundle, ...args],
        { cwd, env: childEnv, timeout: 60_000 },
        (err, stdout, stderr) => {
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        },
      );
    });
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
