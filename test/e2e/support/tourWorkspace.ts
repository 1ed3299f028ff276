// The workspace the tour opens: a copy of examples/todo in a git repository whose origin is the GitHub stand-in's
// repository (acme/todo, pushed to a local bare remote), with history by other people and a CODEOWNERS so the draft
// pull request has reviewers to suggest. The example's node_modules are linked, not copied: the `watch` task runs the
// example's own esbuild from them, and nothing in the tour writes there.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GitHubStandIn } from '../../support/githubStandIn';
import { ALICE, BOB, CAROL, DAVE, type Person } from '../../unit/pr/support/gitRepo';
import { repoRoot } from './codeServer';

/** The token the extension host gets as GH_TOKEN; the stand-in accepts only it. */
export const TOUR_TOKEN = `ghp_${'T0'.repeat(18)}`;

/** Who owns what: tasks/ has a team and a person, so both kinds of reviewer are suggested. */
export const CODEOWNERS = [
  '# owners of the Todo example',
  '*        @acme/platform',
  'tasks/   @acme/tasks-team @bob-b',
  'search/  @carol',
  '',
].join('\n');

export interface TourWorkspace {
  /** The folder code-server opens: the root of the Todo monorepo, a clone of acme/todo. */
  dir: string;
  branch: string;
  github: GitHubStandIn;
  /** git in the workspace, as its user (Alice). */
  git(...args: string[]): string;
  /** Branches pushed to the remote. */
  remoteBranches(): string[];
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
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const dir = path.join(tmp, 'todo');
  // origin looks like a GitHub Enterprise repository; git sends it to a local bare repository instead.
  const bare = path.join(tmp, 'remotes', 'acme', 'todo.git');
  fs.mkdirSync(bare, { recursive: true });
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  const git = (...args: string[]) => run('git', args, dir);
  fs.cpSync(source, dir, {
    recursive: true,
    filter: (src) => path.relative(source, src).split(path.sep)[0] !== 'node_modules',
  });
  fs.symlinkSync(modules, path.join(dir, 'node_modules'), 'dir');
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', ALICE.email);
  git('config', 'user.name', ALICE.name);
  git('config', 'commit.gpgsign', 'false');
  git('remote', 'add', 'origin', 'https://github.example/acme/todo.git');
  git('config', `url.file://${path.join(tmp, 'remotes')}/.insteadOf`, 'https://github.example/');
  // A link is not a directory to git: keep it out whatever the example's .gitignore says.
  fs.appendFileSync(path.join(dir, '.git', 'info', 'exclude'), '\nnode_modules\n');
  fs.mkdirSync(path.join(dir, '.github'));
  fs.writeFileSync(path.join(dir, '.github', 'CODEOWNERS'), CODEOWNERS);
  // The services as written by different people: their history makes them suggested reviewers too. The contents
  // stay those of examples/todo, so an unchanged service's build context is the one staging was built from.
  const services = ['tasks', 'search'].filter((d) => fs.existsSync(path.join(dir, d)));
  commitAs(dir, DAVE, 'Todo example: gateway, auth, db', [':/', ...services.map((d) => `:!${d}`)], 1_700_000_000);
  commitAs(dir, BOB, 'tasks: create, list and complete tasks', ['tasks'], 1_700_000_100);
  commitAs(dir, CAROL, 'search: find tasks by words', ['search'], 1_700_000_200);
  git('push', '-q', 'origin', 'main');
  git('remote', 'set-head', 'origin', 'main');
  git('switch', '-q', '-c', branch);
  const remoteBranches = () =>
    run('git', ['for-each-ref', '--format=%(refname:short)', 'refs/heads'], bare).split('\n').filter(Boolean);

  const github = await GitHubStandIn.start({
    token: TOUR_TOKEN,
    tls: true,
    login: 'alice-gh',
    headExists: async (b) => remoteBranches().includes(b),
  });
  return {
    dir,
    branch,
    github,
    git,
    remoteBranches,
    async remove() {
      await github.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Commits `paths` (git pathspecs) as `who` at a fixed time, so the history's order is stable. */
function commitAs(dir: string, who: Person, message: string, paths: string[], when: number): void {
  run('git', ['add', '--', ...paths], dir);
  const date = `${when} +0000`;
  execFileSync('git', ['-c', `user.email=${who.email}`, '-c', `user.name=${who.name}`, 'commit', '-q', '-m', message], {
    cwd: dir,
    env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
  });
}

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
}

/** The workspace's sandpiper.yaml files, relative: the tour checks the monorepo it opens is the one it expects. */
export function serviceConfigs(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'sandpiper.yaml')))
    .sort();
}
