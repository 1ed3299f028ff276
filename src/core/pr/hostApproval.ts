import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SandpiperError } from '../errors';
import { normalizeHost, trustedApiBase, type ApiBaseCandidate } from '../infra/github';

/**
 * The CLI's lasting approvals: `$XDG_CONFIG_HOME/sandpiper/github-hosts.json` (default ~/.config), a file of the
 * user's and never of a workspace, holding `{ "approvedHosts": ["github.example.com"] }`.
 */
export function approvedHostsFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'sandpiper', 'github-hosts.json');
}

/** The hosts listed in the approvals file; none when it does not exist. */
export async function readApprovedHosts(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new SandpiperError('invalid', `Cannot read ${file}: ${(err as Error).message}`);
  }
  let hosts: unknown;
  try {
    hosts = (JSON.parse(text) as { approvedHosts?: unknown }).approvedHosts;
  } catch {
    hosts = undefined;
  }
  if (!Array.isArray(hosts) || !hosts.every((h) => typeof h === 'string')) {
    throw new SandpiperError(
      'invalid',
      `${file} is not a list of approved GitHub hosts.`,
      'Write it as {"approvedHosts": ["github.example.com"]}.',
    );
  }
  return hosts.map(normalizeHost);
}

/** Asks the person, once, whether `host` may receive their GitHub token; true when they agree. */
export type ApproveHost = (host: string, candidate: ApiBaseCandidate) => Promise<boolean>;

/**
 * The base URL the token may go to: the candidate when its host is trusted already, else when `ask` gets the
 * person's approval now; otherwise the policy's error (http and bad URLs are never asked about).
 */
export async function approvedApiBase(
  candidate: ApiBaseCandidate,
  approvedHosts: readonly string[],
  ask?: ApproveHost,
): Promise<string> {
  try {
    return trustedApiBase(candidate, approvedHosts);
  } catch (err) {
    if (!ask || !(err instanceof SandpiperError && err.code === 'github-host-not-approved')) throw err;
    const host = normalizeHost(candidate.url);
    if (!(await ask(host, candidate))) throw err;
    return trustedApiBase(candidate, [...approvedHosts, host]);
  }
}
