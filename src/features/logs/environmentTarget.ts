import * as vscode from 'vscode';
import { SandpiperError } from '../../core/errors';
import { kubeError, MANAGED_BY, SANDPIPER, type Kube } from '../../core/kube/client';

/** The namespace a tree row or command argument names: `{ env: { name } }`, `{ namespace }`, `{ name }` or a string. */
export function namespaceOf(target: unknown): string | undefined {
  if (typeof target === 'string') return target || undefined;
  if (!target || typeof target !== 'object') return undefined;
  const t = target as { namespace?: unknown; name?: unknown; env?: { name?: unknown } };
  for (const value of [t.namespace, t.env?.name, t.name]) if (typeof value === 'string' && value) return value;
  return undefined;
}

/** The environment a command acts on: its argument, else the active one, else one the user picks. */
export async function environmentFor(target: unknown, active: string | undefined, kube: Kube, title: string): Promise<string | undefined> {
  const named = namespaceOf(target) ?? active;
  if (named) return named;
  let names: string[];
  try {
    names = (await kube.core.listNamespace({ labelSelector: `${MANAGED_BY}=${SANDPIPER}` })).items.map((n) => n.metadata?.name ?? '').filter(Boolean);
  } catch (err) {
    throw kubeError(err, 'list the Sandpiper environments');
  }
  if (!names.length) throw new SandpiperError('no-environment', 'There are no Sandpiper environments on this cluster.', 'Create one with "Sandpiper: Create Ephemeral Environment".');
  return vscode.window.showQuickPick(names, { title, placeHolder: 'Environment' });
}
