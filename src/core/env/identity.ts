import { execFile } from 'node:child_process';
import * as os from 'node:os';

/** Who is creating the environment and from which branch; both feed the environment's name. */
export interface Identity {
  owner: string;
  branch: string;
}

function git(dir: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd: dir, timeout: 5000 }, (err, stdout) => resolve(err ? undefined : stdout.trim() || undefined));
  });
}

/**
 * Owner from git's user.email (else user.name, else the OS user); branch from git (else "main").
 * A workspace outside git still gets a stable identity, so the name does not change between runs.
 */
export async function identityFor(dir: string, override: Partial<Identity> = {}): Promise<Identity> {
  const owner = override.owner ?? (await git(dir, ['config', 'user.email'])) ?? (await git(dir, ['config', 'user.name'])) ?? safeUser();
  // symbolic-ref works in a fresh repository without commits too; a detached HEAD falls back to its commit.
  const branch = override.branch ?? (await git(dir, ['symbolic-ref', '--short', 'HEAD'])) ?? (await git(dir, ['rev-parse', '--short', 'HEAD'])) ?? 'main';
  return { owner, branch };
}

function safeUser(): string {
  try {
    return os.userInfo().username || 'someone';
  } catch {
    return 'someone';
  }
}
