import { createHash } from 'node:crypto';
import * as os from 'node:os';
import { GitCli, type Git } from '../infra/git';

const MAX_NAME = 63;
const HASH_LENGTH = 10;
const PREFIX = 'sp';

/** Lower-case DNS-1123 label characters only, runs of others collapsed to one dash. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** The part of an email before the @, else the text itself: owners are people, not domains. */
export function ownerHandle(owner: string): string {
  const at = owner.indexOf('@');
  return at > 0 ? owner.slice(0, at) : owner;
}

/**
 * The namespace of an environment: `sp-<owner>-<branch>-<hash>`, a DNS-1123 label of at most 63 chars.
 * The readable parts are lossy (case, punctuation, truncation), so the hash of the exact owner and branch
 * keeps two different owner/branch pairs apart even when their readable parts look the same.
 */
export function environmentName(owner: string, branch: string): string {
  const hash = createHash('sha256').update(`${owner.trim()}\n${branch.trim()}`).digest('hex').slice(0, HASH_LENGTH);
  const room = MAX_NAME - PREFIX.length - HASH_LENGTH - 3; // three dashes
  let who = slug(ownerHandle(owner.trim())) || 'someone';
  let what = slug(branch.trim()) || 'branch';
  // Share the room fairly: the owner keeps at most a third, the branch the rest.
  who = who.slice(0, Math.max(Math.floor(room / 3), room - what.length)).replace(/-+$/, '');
  what = what.slice(0, room - who.length).replace(/-+$/, '');
  return [PREFIX, who, what, hash].filter(Boolean).join('-');
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsLabel(name: string): boolean {
  return name.length <= MAX_NAME && DNS_LABEL.test(name);
}

/** Who is creating the environment and from which branch; both feed the environment's name. */
export interface Identity {
  owner: string;
  branch: string;
}

/**
 * Owner from git's user.email (else user.name, else the OS user); branch from git (else "main").
 * A workspace outside git (or without git installed) still gets a stable identity, so the name does not
 * change between runs.
 */
export async function identityFor(
  dir: string,
  override: Partial<Identity> = {},
  git: Git = new GitCli(dir),
): Promise<Identity> {
  const quiet = <T>(p: Promise<T>) => p.catch(() => undefined);
  const who = override.owner ? undefined : await quiet(git.userIdentity());
  const owner = override.owner ?? who?.email ?? who?.name ?? safeUser();
  // A detached HEAD falls back to its commit.
  const branch = override.branch ?? (await quiet(git.currentBranch())) ?? (await quiet(git.headCommit())) ?? 'main';
  return { owner, branch };
}

function safeUser(): string {
  try {
    return os.userInfo().username || 'someone';
  } catch {
    return 'someone';
  }
}
