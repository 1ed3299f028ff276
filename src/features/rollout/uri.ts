import type * as vscode from 'vscode';
import { DNS_LABEL, DNS_SUBDOMAIN } from '../../protocol/rollout';

// vscode://sandpiper.sandpiper/rollout?namespace=<ns>&deployment=<name>: the link a canary notification carries
// back to the editor. It comes from outside (a chat message), so it is checked like a webview message: it only
// opens the Rollouts view on that namespace and reveals the rollout, never acts on it.

export type RolloutLink = { namespace: string; deployment: string } | { error: string };

/** Parses the link; anything else (another path, missing or malformed names, extra parameters) is an error. */
export function parseRolloutLink(uri: { path: string; query: string }): RolloutLink {
  const path = uri.path.replace(/\/+$/, '');
  if (path !== '/rollout') return { error: `Sandpiper does not open links to "${uri.path.slice(0, 60)}".` };
  const params = new URLSearchParams(uri.query);
  const keys = [...params.keys()];
  const unknown = keys.filter((k) => k !== 'namespace' && k !== 'deployment');
  if (unknown.length || keys.length !== new Set(keys).size)
    return { error: 'The rollout link has parameters other than one namespace and one deployment.' };
  const namespace = params.get('namespace') ?? '';
  const deployment = params.get('deployment') ?? '';
  if (!DNS_LABEL.test(namespace)) return { error: 'The rollout link has no valid namespace.' };
  if (deployment.length > 253 || !DNS_SUBDOMAIN.test(deployment))
    return { error: 'The rollout link has no valid deployment name.' };
  return { namespace, deployment };
}

/** What the handler needs of the panel and the window (the feature passes the real ones). */
export interface RevealTarget {
  reveal(namespace: string, deployment: string): Promise<void>;
}

export interface LinkHost {
  isTrusted(): boolean;
  showError(message: string): void;
  log: Pick<vscode.LogOutputChannel, 'info' | 'warn'>;
}

/** Opens the Rollouts view on the linked namespace and reveals the rollout; a bad link only says why. */
export async function openRolloutLink(
  uri: { path: string; query: string },
  target: RevealTarget,
  host: LinkHost,
): Promise<boolean> {
  const link = parseRolloutLink(uri);
  if ('error' in link) {
    host.log.warn(`rollout link refused: ${link.error}`);
    host.showError(`${link.error} Expected vscode://sandpiper.sandpiper/rollout?namespace=<ns>&deployment=<name>.`);
    return false;
  }
  if (!host.isTrusted()) {
    host.showError('Sandpiper opens rollout links in a trusted workspace only: this one is in Restricted Mode.');
    return false;
  }
  host.log.info(`rollout link: ${link.namespace}/${link.deployment}`);
  await target.reveal(link.namespace, link.deployment);
  return true;
}
