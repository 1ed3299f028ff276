import { execFile } from 'node:child_process';
import { SandpiperError, cancelled } from '../errors';

/** One commit on the branch, newest first. */
export interface CommitInfo {
  sha: string;
  subject: string;
  body: string;
  authorEmail: string;
  authorName: string;
}

/** One author line from a file's history, newest first. */
export interface FileAuthor {
  email: string;
  name: string;
  /** Commit time in seconds since the epoch. */
  time: number;
}

/** What the PR flow needs from a repository; GitCli runs the real `git`, nothing else implements it. */
export interface Git {
  readonly cwd: string;
  topLevel(): Promise<string>;
  /** Undefined on a detached HEAD. */
  currentBranch(): Promise<string | undefined>;
  /** The abbreviated commit of HEAD, or undefined in a repository without commits. */
  headCommit(): Promise<string | undefined>;
  /** The remote's default branch name (origin/HEAD, else main/master), or undefined when none is found. */
  defaultBranch(remote: string): Promise<string | undefined>;
  /** The ref to compare against for `base`: `<remote>/<base>` when the remote has it, else the local branch. */
  resolveBase(remote: string, base: string): Promise<string | undefined>;
  /** The URL as configured (not rewritten by url.<base>.insteadOf), or undefined when the remote is missing. */
  remoteUrl(remote: string): Promise<string | undefined>;
  changedFiles(baseRef: string): Promise<string[]>;
  commits(baseRef: string): Promise<CommitInfo[]>;
  /** `git status --porcelain` paths: uncommitted and untracked changes. */
  uncommitted(): Promise<string[]>;
  fileAuthors(file: string, limit: number): Promise<FileAuthor[]>;
  userIdentity(): Promise<{ email?: string; name?: string }>;
  createBranch(name: string): Promise<void>;
  pushWithUpstream(remote: string, branch: string, signal?: AbortSignal): Promise<string>;
}

export class GitCli implements Git {
  constructor(readonly cwd: string) {}

  /** Runs git without a shell; fails with the command and git's own message. */
  async run(args: string[], signal?: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      // No prompt may wait on a terminal nobody sees; credential helpers still work.
      const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
      execFile('git', args, { cwd: this.cwd, env, signal, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        if (signal?.aborted) return reject(cancelled());
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          return reject(
            new SandpiperError('git-missing', 'git is not installed or not on PATH.', 'Install git and try again.'),
          );
        }
        // git echoes remote URLs, which may carry credentials (https://user:token@host/...).
        const detail = (stderr || err.message).trim().replace(/\/\/[^@/\s]+@/g, '//');
        reject(
          new SandpiperError('git-failed', `git ${args[0]} failed: ${detail}`, undefined, `git ${args.join(' ')}`),
        );
      });
    });
  }

  private async tryRun(args: string[]): Promise<string | undefined> {
    try {
      return await this.run(args);
    } catch (err) {
      if (err instanceof SandpiperError && err.code === 'git-failed') return undefined;
      throw err;
    }
  }

  async topLevel(): Promise<string> {
    const out = await this.tryRun(['rev-parse', '--show-toplevel']);
    if (!out)
      throw new SandpiperError(
        'git-not-repository',
        `${this.cwd} is not inside a git repository.`,
        'Open the folder of a git repository (or run git init).',
      );
    return out.trim();
  }

  async currentBranch(): Promise<string | undefined> {
    const out = await this.tryRun(['symbolic-ref', '--quiet', '--short', 'HEAD']);
    return out?.trim() || undefined;
  }

  async headCommit(): Promise<string | undefined> {
    return (await this.tryRun(['rev-parse', '--short', 'HEAD']))?.trim() || undefined;
  }

  async defaultBranch(remote: string): Promise<string | undefined> {
    const head = (await this.tryRun(['symbolic-ref', '--quiet', '--short', `refs/remotes/${remote}/HEAD`]))?.trim();
    if (head) return head.slice(remote.length + 1);
    for (const name of ['main', 'master']) {
      if (await this.refExists(`refs/remotes/${remote}/${name}`)) return name;
    }
    for (const name of ['main', 'master']) {
      if (await this.refExists(`refs/heads/${name}`)) return name;
    }
    return undefined;
  }

  async resolveBase(remote: string, base: string): Promise<string | undefined> {
    if (await this.refExists(`refs/remotes/${remote}/${base}`)) return `${remote}/${base}`;
    if (await this.refExists(`refs/heads/${base}`)) return base;
    return undefined;
  }

  private async refExists(ref: string): Promise<boolean> {
    return (await this.tryRun(['show-ref', '--verify', '--quiet', ref])) !== undefined;
  }

  async remoteUrl(remote: string): Promise<string | undefined> {
    return (await this.tryRun(['config', '--get', `remote.${remote}.url`]))?.trim() || undefined;
  }

  async changedFiles(baseRef: string): Promise<string[]> {
    const out = await this.run(['diff', '--name-only', '-z', `${baseRef}...HEAD`]);
    return out.split('\0').filter(Boolean);
  }

  async commits(baseRef: string): Promise<CommitInfo[]> {
    // Fields split by NUL, records by the 0x1e record separator (neither appears in commit text).
    const out = await this.run(['log', '--format=%H%x00%s%x00%b%x00%ae%x00%an%x1e', `${baseRef}..HEAD`]);
    return out
      .split('\x1e')
      .map((r) => r.replace(/^\n/, ''))
      .filter(Boolean)
      .map((r) => {
        const [sha, subject, body, authorEmail, authorName] = r.split('\0');
        return { sha, subject, body: body.trim(), authorEmail, authorName };
      });
  }

  async uncommitted(): Promise<string[]> {
    const out = await this.run(['status', '--porcelain', '-z', '--untracked-files=all']);
    const paths: string[] = [];
    const records = out.split('\0');
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (!r) continue;
      paths.push(r.slice(3));
      // A rename or copy carries its source path in the next record.
      if (r[0] === 'R' || r[0] === 'C') i++;
    }
    return paths;
  }

  async fileAuthors(file: string, limit: number): Promise<FileAuthor[]> {
    const out = await this.run(['log', `-n${limit}`, '--format=%ae%x00%an%x00%at', '--', file]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [email, name, time] = line.split('\0');
        return { email, name, time: Number(time) };
      });
  }

  async userIdentity(): Promise<{ email?: string; name?: string }> {
    const email = (await this.tryRun(['config', 'user.email']))?.trim() || undefined;
    const name = (await this.tryRun(['config', 'user.name']))?.trim() || undefined;
    return { email, name };
  }

  async createBranch(name: string): Promise<void> {
    await this.run(['check-ref-format', '--branch', name]).catch(() => {
      throw new SandpiperError(
        'git-bad-branch',
        `"${name}" is not a valid branch name.`,
        'Use letters, digits, "-", "_" and "/".',
      );
    });
    await this.run(['switch', '-c', name]);
  }

  async pushWithUpstream(remote: string, branch: string, signal?: AbortSignal): Promise<string> {
    try {
      const out = await this.run(
        ['push', '--porcelain', '-u', remote, `refs/heads/${branch}:refs/heads/${branch}`],
        signal,
      );
      return out;
    } catch (err) {
      if (err instanceof SandpiperError && err.code === 'git-failed') {
        throw new SandpiperError(
          'pr-push-failed',
          `Pushing ${branch} to ${remote} failed: ${err.message.replace(/^git push failed: /, '')}`,
          'Check that you can push to the remote (git push -u ' + `${remote} ${branch}` + ').',
        );
      }
      throw err;
    }
  }
}
