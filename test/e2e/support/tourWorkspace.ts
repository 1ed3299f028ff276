// The workspace the tour opens: a copy of examples/todo in a git repository whose origin is the GitHub stand-in's
// repository (acme/todo, pushed to a local bare remote), with history by other people and a CODEOWNERS so the draft
// pull request has reviewers to suggest. The example's node_modules are linked, not copied: the `watch` task runs the
// example's own esbuild from them, and nothing in the tour writes there.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GitHubStandIn } from '../../support/githubStandIn';
import { BOB, CAROL, DAVE, TestRepo, type Person } from '../../unit/pr/support/gitRepo';
import { repoRoot } from './codeServer';

/** The token the extension host gets as GH_TOKEN; the stand-in accepts only it. */
export const TOUR_TOKEN = `ghp_${'T0'.repeat(18)}`;

/** Who owns what: tasks/ has a team and a person, so both kinds of reviewer are suggested. */
export const CODEOWNERS = ['# owners of the Todo example', '*        @acme/platform', 'tasks/   @acme/tasks-team @bob-b', 'search/  @carol', ''].join('\n');

export interface TourWorkspace {
  repo: TestRepo;
  /** The folder code-server opens: the root of the Todo monorepo. */
  dir: string;
  branch: string;
  github: GitHubStandIn;
  /** Stops the stand-in and removes the repository and its remote. */
  remove(): Promise<void>;
}

function exampleDir(): string {
  return path.join(repoRoot(), 'examples', 'todo');
}

/**
 * Copies examples/todo (with its built dist/ folders, so an unchanged service builds the same image as staging) into
 * a fresh repository, commits it on main as other people, pushes main and switches to `branch`.
 */
export async function tourWorkspace(prefix: string, branch: string): Promise<TourWorkspace> {
  const source = exampleDir();
  const modules = path.join(source, 'node_modules');
  if (!fs.existsSync(modules))
    throw new Error(`${modules} is missing: deployTodo() runs npm ci in examples/todo first`);
  const repo = TestRepo.create(prefix);
  const dir = repo.work;
  fs.cpSync(source, dir, {
    recursive: true,
    filter: (src) => path.relative(source, src).split(path.sep)[0] !== 'node_modules',
  });
  fs.symlinkSync(modules, path.join(dir, 'node_modules'), 'dir');
  // A link is not a directory to git: keep it out whatever the example's .gitignore says.
  fs.appendFileSync(path.join(dir, '.git', 'info', 'exclude'), '\nnode_modules\n');
  repo.write('.github/CODEOWNERS', CODEOWNERS);
  // The services as written by different people: their history makes them suggested reviewers too. The contents
  // stay those of examples/todo, so an unchanged service's build context is the one staging was built from.
  const services = ['tasks', 'search'].filter((d) => fs.existsSync(path.join(dir, d)));
  commitAs(repo, DAVE, 'Todo example: gateway, auth, db', [':/', ...services.map((d) => `:!${d}`)], 1_700_000_000);
  commitAs(repo, BOB, 'tasks: create, list and complete tasks', ['tasks'], 1_700_000_100);
  commitAs(repo, CAROL, 'search: find tasks by words', ['search'], 1_700_000_200);
  repo.git('push', '-q', 'origin', 'main');
  repo.git('remote', 'set-head', 'origin', 'main');
  repo.git('switch', '-q', '-c', branch);

  const github = await GitHubStandIn.start({
    token: TOUR_TOKEN,
    tls: true,
    login: 'alice-gh',
    headExists: async (b) => repo.remoteBranches().includes(b),
  });
  return {
    repo,
    dir,
    branch,
    github,
    async remove() {
      await github.stop();
      repo.remove();
    },
  };
}

/** Commits `paths` (git pathspecs) as `who` at a fixed time, so the history's order is stable. */
function commitAs(repo: TestRepo, who: Person, message: string, paths: string[], when: number): void {
  repo.git('add', '--', ...paths);
  const date = `${when} +0000`;
  execFileSync('git', ['-c', `user.email=${who.email}`, '-c', `user.name=${who.name}`, 'commit', '-q', '-m', message], {
    cwd: repo.work,
    env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
  });
}

/** The workspace's sandpiper.yaml files, relative: the tour checks the monorepo it opens is the one it expects. */
export function serviceConfigs(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'sandpiper.yaml')))
    .sort();
}

/** git, in the workspace, as its user. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
}
