import type { MetricSample, TrackSample } from '../core/canary/analysis';
import type { FeedEvent } from '../core/workloads/feed';
import type { WorkloadSummary } from '../core/workloads/model';

/**
 * The one message protocol between the extension and the rollout panel's webview. The extension validates every
 * message from the webview with the guards below before acting: the webview is untrusted input.
 * Its payloads are core's values (core never sees this file).
 */
export type { MetricSample, TrackSample, WorkloadSummary };

export interface AnalysisVerdict {
  verdict: 'pass' | 'fail' | 'no-data';
  summary: string;
  at: string;
}

export interface PanelState {
  namespace?: string;
  context?: string;
  workloads: WorkloadSummary[];
  /** Per workload key (`namespace/name`): the recent chart samples and the last analysis. */
  metrics: Record<string, MetricSample[]>;
  analyses: Record<string, AnalysisVerdict>;
  /** Per built-in canary (`namespace/name`): who drives it. */
  drivers?: Record<string, DriverInfo>;
  /** Shown instead of the list: no cluster, no namespace, a failed watch … */
  notice?: string;
}

// Extension → webview
export type HostMessage =
  | { type: 'state'; state: PanelState }
  | { type: 'workloads'; workloads: WorkloadSummary[] }
  | { type: 'metrics'; key: string; samples: MetricSample[] }
  | { type: 'analysis'; key: string; analysis: AnalysisVerdict }
  | { type: 'busy'; key: string; busy: boolean }
  | { type: 'drivers'; drivers: Record<string, DriverInfo> }
  /** Scroll to and focus one workload (the notification's link back). */
  | { type: 'reveal'; key: string };

/** Who drives a built-in canary, as the panel says it. */
export type DriverInfo =
  | { by: 'controller'; pod: string }
  | { by: 'window' }
  | { by: 'other'; holder: string }
  | { by: 'nobody'; status: string };

/**
 * Who drives, from what the cluster says: the canary's Lease holder first (the controller's replicas hold it as
 * `controller/<pod>`); with the Lease free, a canary handed to a running controller is about to be picked up.
 */
export function whoDrives(o: {
  status: string;
  stateDriver?: 'controller' | 'client';
  controller?: string;
  leaseHolder?: string;
  self: string;
}): DriverInfo {
  const holder = o.leaseHolder;
  if (holder?.startsWith('controller/')) return { by: 'controller', pod: holder.slice('controller/'.length) };
  if (holder === o.self) return { by: 'window' };
  if (holder) return { by: 'other', holder };
  if (o.stateDriver === 'controller' && o.controller) return { by: 'controller', pod: o.controller };
  return { by: 'nobody', status: o.status };
}

export function driverLine(d: DriverInfo): string {
  switch (d.by) {
    case 'controller':
      return `Driven by the in-cluster controller (${d.pod})`;
    case 'window':
      return (
        'Driven by this window — closing it pauses the rollout. ' + 'Install the controller to let it run on its own.'
      );
    case 'other':
      return `Driven by ${d.holder} — stopping it pauses the rollout.`;
    case 'nobody':
      if (d.status === 'promoting' || d.status === 'aborting')
        return `Nobody drives it: paused while ${d.status}. ${d.status === 'promoting' ? 'Promote' : 'Abort'} finishes it.`;
      return 'Nobody drives it: paused. Resume drives it from this window.';
  }
}

/** The webview's message for one event of the workload feed. */
export function hostMessageOf(event: FeedEvent): HostMessage {
  switch (event.kind) {
    case 'workloads':
      return { type: 'workloads', workloads: event.workloads };
    case 'metrics':
      return { type: 'metrics', key: event.key, samples: event.samples };
  }
}

// Webview → extension
export const WORKLOAD_ACTIONS = [
  'promote',
  'promote-full',
  'pause',
  'resume',
  'skip',
  'abort',
  'retry',
  'undo',
] as const;
export type WorkloadAction = (typeof WORKLOAD_ACTIONS)[number];

export interface ReadyMessage {
  type: 'ready';
}
export interface ActionMessage {
  type: 'action';
  action: WorkloadAction;
  kind: 'Deployment' | 'Rollout';
  namespace: string;
  name: string;
}
export interface PickNamespaceMessage {
  type: 'pickNamespace';
}
export type WebviewMessage = ReadyMessage | ActionMessage | PickNamespaceMessage;

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Exactly these keys, no more: anything extra is a sign of a forged message. */
function hasOnlyKeys(v: Record<string, unknown>, keys: readonly string[]): boolean {
  return Object.keys(v).every((k) => keys.includes(k)) && keys.every((k) => k in v);
}

export function isReadyMessage(v: unknown): v is ReadyMessage {
  return isRecord(v) && v.type === 'ready' && hasOnlyKeys(v, ['type']);
}

export function isPickNamespaceMessage(v: unknown): v is PickNamespaceMessage {
  return isRecord(v) && v.type === 'pickNamespace' && hasOnlyKeys(v, ['type']);
}

export function isActionMessage(v: unknown): v is ActionMessage {
  return (
    isRecord(v) &&
    v.type === 'action' &&
    hasOnlyKeys(v, ['type', 'action', 'kind', 'namespace', 'name']) &&
    typeof v.action === 'string' &&
    (WORKLOAD_ACTIONS as readonly string[]).includes(v.action) &&
    (v.kind === 'Deployment' || v.kind === 'Rollout') &&
    typeof v.namespace === 'string' &&
    DNS_LABEL.test(v.namespace) &&
    typeof v.name === 'string' &&
    v.name.length <= 253 &&
    DNS_SUBDOMAIN.test(v.name)
  );
}

/** The message, if it is one the extension accepts; otherwise a reason for the log (never the message's content verbatim). */
export function parseWebviewMessage(v: unknown): { ok: true; message: WebviewMessage } | { ok: false; reason: string } {
  if (isReadyMessage(v) || isPickNamespaceMessage(v) || isActionMessage(v)) return { ok: true, message: v };
  const type = isRecord(v) && typeof v.type === 'string' ? v.type.slice(0, 40) : typeof v;
  return { ok: false, reason: `rejected a malformed webview message (type ${JSON.stringify(type)})` };
}

/** The host side guards its own messages too, cheaply, so the webview can trust what it renders. */
export function isHostMessage(v: unknown): v is HostMessage {
  if (!isRecord(v) || typeof v.type !== 'string') return false;
  switch (v.type) {
    case 'state':
      return isRecord(v.state) && Array.isArray(v.state.workloads);
    case 'workloads':
      return Array.isArray(v.workloads);
    case 'metrics':
      return typeof v.key === 'string' && Array.isArray(v.samples);
    case 'analysis':
      return typeof v.key === 'string' && isRecord(v.analysis);
    case 'busy':
      return typeof v.key === 'string' && typeof v.busy === 'boolean';
    case 'drivers':
      return isRecord(v.drivers);
    case 'reveal':
      return typeof v.key === 'string';
    default:
      return false;
  }
}

export interface WebviewMessageHandlers {
  ready(): unknown;
  pickNamespace(): unknown;
  action(message: ActionMessage): unknown;
}

/** Validates, then dispatches; a rejected message is logged and never reaches a handler. */
export async function dispatchWebviewMessage(
  raw: unknown,
  handlers: WebviewMessageHandlers,
  warn: (reason: string) => void,
): Promise<boolean> {
  const parsed = parseWebviewMessage(raw);
  if (!parsed.ok) {
    warn(parsed.reason);
    return false;
  }
  const m = parsed.message;
  if (m.type === 'ready') await handlers.ready();
  else if (m.type === 'pickNamespace') await handlers.pickNamespace();
  else await handlers.action(m);
  return true;
}
