import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Person {
  name: string;
  email: string;
}

export const ALICE: Person = { name: 'Alice Author', email: 'alice@example.com' };

/**
 * A real repository with a real bare remote. origin's URL looks like a GitHub Enterprise repository
 * (https://github.example/acme/todo.git); git rewrites it to the bare repo with url.<base>.insteadOf,
 * so pushes land in `bare` while the PR flow reads owner/repo from the URL.
 */
export class TestRepo {
  readonly work: string;
  readonly bare: string;

  private constructor(readonly tmp: string) {
    this.work = path.join(tmp, 'work');
    this.bare = path.join(tmp, 'remotes', 'acme', 'todo.git');
  }

  static create(prefix = 'sandpiper-pr-'): TestRepo {
    const repo = new TestRepo(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
    fs.mkdirSync(repo.bare, { recursive: true });
    fs.mkdirSync(repo.work, { recursive: true });
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', repo.bare]);
    repo.git('init', '-q', '-b', 'main');
    repo.git('config', 'user.email', ALICE.email);
    repo.git('config', 'user.name', ALICE.name);
    repo.git('config', 'commit.gpgsign', 'false');
    repo.git('remote', 'add', 'origin', 'https://github.example/acme/todo.git');
    repo.git('config', `url.file://${path.join(repo.tmp, 'remotes')}/.insteadOf`, 'https://github.example/');
    return repo;
  }

  git(...args: string[]): string {
    return execFileSync('git', args, {
      cwd: this.work,
      encoding: 'utf8',
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    });
  }

  write(file: string, text: string): void {
    const full = path.join(this.work, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, text);
  }

  /** Writes the files and commits them as `who`, at a fixed, increasing time so history order is stable. */
  commit(who: Person, message: string, files: Record<string, string>, when: number): void {
    for (const [f, t] of Object.entries(files)) this.write(f, t);
    this.git('add', '-A');
    const date = `${when} +0000`;
    execFileSync(
      'git',
      ['-c', `user.email=${who.email}`, '-c', `user.name=${who.name}`, 'commit', '-q', '-m', message],
      {
        cwd: this.work,
        env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
      },
    );
  }

  /** Branches on the bare remote. */
  remoteBranches(): string[] {
    return execFileSync('git', ['for-each-ref', '--format=%(refname:short)', 'refs/heads'], {
      cwd: this.bare,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean);
  }

  remove(): void {
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

export const BOB: Person = { name: 'Bob Builder', email: '1234+bob-b@users.noreply.github.com' };
export const CAROL: Person = { name: 'Carol Coder', email: 'carol@users.noreply.github.com' };
export const DAVE: Person = { name: 'Dave Dev', email: 'dave@corp.example' };

/**
 * The sample project: main with history by Bob, Carol and Dave; CODEOWNERS; one PR template;
 * a feature branch `feature/42-add-due-dates` by Alice touching three files.
 */
export function sampleProject(repo: TestRepo, opts: { files?: Record<string, string> } = {}): void {
  commitAll(repo, [
    [
      DAVE,
      'Initial tasks service',
      {
        'src/tasks/api.ts': 'export const api = 1;\n',
        'src/tasks/store.ts': 'export const store = 1;\n',
        'docs/tasks.md': '# Tasks\n',
        '.github/CODEOWNERS':
          '# owners\n*            @acme/platform\nsrc/tasks/** @acme/tasks-team @bob-b\ndocs/        carol@users.noreply.github.com\n',
        ...(opts.files ?? {}),
      },
      1_700_000_000,
    ],
    [BOB, 'Validate tasks', { 'src/tasks/api.ts': 'export const api = 2;\n' }, 1_700_000_100],
    [
      CAROL,
      'Document the store',
      { 'src/tasks/store.ts': 'export const store = 2;\n', 'docs/tasks.md': '# Tasks\nMore.\n' },
      1_700_000_200,
    ],
    [DAVE, 'Tune the api', { 'src/tasks/api.ts': 'export const api = 3;\n' }, 1_700_000_300],
  ]);
  repo.git('push', '-q', 'origin', 'main');
  repo.git('remote', 'set-head', 'origin', 'main');
  repo.git('switch', '-q', '-c', 'feature/42-add-due-dates');
  commitAll(repo, [
    [
      ALICE,
      'Add due dates to tasks',
      { 'src/tasks/api.ts': 'export const api = 4;\n', 'src/tasks/store.ts': 'export const store = 3;\n' },
      1_700_001_000,
    ],
    [ALICE, 'Document due dates', { 'docs/tasks.md': '# Tasks\nDue dates.\n' }, 1_700_001_100],
  ]);
}

type Commit = [who: Person, message: string, files: Record<string, string>, when: number];

/** Commits each in turn. */
function commitAll(repo: TestRepo, commits: Commit[]): void {
  for (const c of commits) repo.commit(...c);
}
