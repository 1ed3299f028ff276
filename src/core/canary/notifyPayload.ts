import { redact } from '../errors';
import type { CanaryNotify } from '../config/types';
import { describeCanary, type CanaryAnalysisRecord, type CanaryState } from './state';

// The message a canary notification carries, as Slack's incoming webhooks take it: `text` (the one line shown in
// notifications and by receivers that ignore blocks) and Block Kit `blocks`. Slack rejects a message whose parts
// break its limits (400 invalid_blocks), so every piece is cut to them: header text 150 characters, section and
// context text 3000, section fields 10 of 2000 each, context elements 10, blocks 50 per message.

export type CanaryOutcome = 'promoted' | 'aborted' | 'failed';

export interface NotificationInput {
  namespace: string;
  deployment: string;
  state: CanaryState;
  outcome: CanaryOutcome;
  /** What went wrong, for `failed` (else the state's reason or analysis summary is used). */
  error?: string;
  logLines?: string[];
}

type TextObject = { type: 'mrkdwn' | 'plain_text'; text: string; emoji?: boolean };
export type SlackBlock =
  | { type: 'header'; text: TextObject }
  | { type: 'section'; text: TextObject; fields?: TextObject[] }
  | { type: 'context'; elements: TextObject[] }
  | { type: 'divider' };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

const HEADER_CHARS = 150;
const TEXT_CHARS = 3000;
const FIELD_CHARS = 2000;
/** Under the 3000 characters of a text object, leaving room for the code fences. */
export const LOG_BLOCK_CHARS = 2900;
export const NOTIFY_LOG_LINES = 20;
const METRICS_SHOWN = 10;

const TITLE: Record<CanaryOutcome, string> = {
  promoted: ':white_check_mark: Canary promoted',
  aborted: ':leftwards_arrow_with_hook: Canary rolled back',
  failed: ':x: Canary failed',
};

/** `notify.link` with `{{namespace}}`/`{{deployment}}` filled in (URL-encoded), else the editor's rollout URI. */
export function canaryLink(notify: CanaryNotify | undefined, namespace: string, deployment: string): string {
  const ns = encodeURIComponent(namespace);
  const d = encodeURIComponent(deployment);
  if (notify?.link) return notify.link.replaceAll('{{namespace}}', ns).replaceAll('{{deployment}}', d);
  return `vscode://sandpiper.sandpiper/rollout?namespace=${ns}&deployment=${d}`;
}

/** Why it ended, in one line: the caller's error, else the state's reason, else the last analysis. */
export function outcomeReason(n: NotificationInput): string {
  const a = n.state.lastAnalysis;
  const reason =
    n.error ?? n.state.reason ?? (a ? `analysis ${a.verdict}: ${a.summary}` : undefined) ?? defaultReason(n.outcome);
  return redact(oneLine(reason));
}

function defaultReason(outcome: CanaryOutcome): string {
  return outcome === 'promoted' ? 'every step passed' : 'no reason recorded';
}

export function notificationPayload(n: NotificationInput): SlackMessage {
  const where = `${n.namespace}/${n.deployment}`;
  const reason = outcomeReason(n);
  const text = cut(`Canary of ${where} ${n.outcome}: ${reason}`, TEXT_CHARS);
  const step = describeCanary(n.deployment, n.state).step;
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: cut(`${TITLE[n.outcome]}: ${where}`, HEADER_CHARS), emoji: true },
    },
    {
      type: 'section',
      text: mrkdwn(cut(`*Verdict:* ${n.outcome}: ${escape(reason)}`, TEXT_CHARS)),
      fields: [
        mrkdwn(cut(`*Step*\n${step}`, FIELD_CHARS)),
        mrkdwn(cut(`*Image*\n\`${escape(n.state.image)}\``, FIELD_CHARS)),
      ],
    },
    { type: 'section', text: mrkdwn(cut(metricsText(n.outcome, n.state.lastAnalysis), TEXT_CHARS)) },
    { type: 'context', elements: [mrkdwn(logText(n.logLines ?? []))] },
    {
      type: 'section',
      text: mrkdwn(`<${linkTarget(canaryLink(n.state.spec?.notify, n.namespace, n.deployment))}|Open the rollout>`),
    },
  ];
  return { text, blocks };
}

/** The failing metrics (all of them when none failed, or on promote), value against threshold. */
function metricsText(outcome: CanaryOutcome, analysis: CanaryAnalysisRecord | undefined): string {
  if (!analysis) return '*Analysis:* none recorded';
  const metrics = analysis.metrics ?? [];
  const failing = metrics.filter((m) => m.verdict === 'fail');
  const shown = outcome !== 'promoted' && failing.length ? failing : metrics;
  if (!shown.length) return `*Analysis:* ${analysis.verdict}: ${escape(redact(oneLine(analysis.summary)))}`;
  const title = shown === failing ? '*Failing metric(s):*' : `*Metrics (analysis ${analysis.verdict}):*`;
  const lines = shown.slice(0, METRICS_SHOWN).map((m) => {
    const values = [
      m.canary !== undefined ? `canary ${num(m.canary)}` : 'canary no data',
      m.stable !== undefined ? `stable ${num(m.stable)}` : undefined,
    ].filter(Boolean);
    return `• *${escape(m.name)}*: ${values.join(', ')} vs threshold ${escape(m.threshold)} (${escape(m.verdict)})`;
  });
  if (shown.length > METRICS_SHOWN) lines.push(`…and ${shown.length - METRICS_SHOWN} more`);
  return [title, ...lines].join('\n');
}

/** The last lines, redacted and escaped, in a code block that keeps its tail when it must be cut. */
function logText(lines: string[]): string {
  const last = lines.slice(-NOTIFY_LOG_LINES).map((l) => escape(redact(l)).replaceAll('```', "'''"));
  if (!last.length) return 'No log lines from the canary pods.';
  let body = last.join('\n');
  if (body.length > LOG_BLOCK_CHARS - 20) body = `…${body.slice(body.length - (LOG_BLOCK_CHARS - 21))}`;
  return `Last log lines of the canary pods:\n\`\`\`${body}\`\`\``;
}

/** Slack's mrkdwn control characters are &, < and >: escaped so log text cannot form links or mentions. */
function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Inside `<url|label>` a `>` or `|` would end the link early. */
function linkTarget(url: string): string {
  return url.replaceAll('<', '%3C').replaceAll('>', '%3E').replaceAll('|', '%7C');
}

function mrkdwn(text: string): TextObject {
  return { type: 'mrkdwn', text };
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}
