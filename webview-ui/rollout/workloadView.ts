import {
  driverLine,
  type AnalysisVerdict,
  type DriverInfo,
  type WorkloadAction,
  type WorkloadSummary,
} from '../../src/protocol/rollout';

export interface WorkloadViewOptions {
  busy: boolean;
  analysis?: AnalysisVerdict;
  /** Who drives a built-in canary, once known. */
  driver?: DriverInfo;
  charts?: HTMLElement;
  act: (action: WorkloadAction, kind: 'Deployment' | 'Rollout', namespace: string, name: string) => void;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  // textContent only: names and messages come from the cluster and are never parsed as HTML.
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(
  label: string,
  aria: string,
  onClick: () => void,
  disabled: boolean,
  secondary = false,
  title?: string,
): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.setAttribute('aria-label', aria);
  if (title) b.setAttribute('title', title);
  if (secondary) b.setAttribute('secondary', '');
  if (disabled) b.setAttribute('disabled', '');
  b.addEventListener('click', onClick);
  return b;
}

const TRAFFIC: Record<string, string> = {
  httproute: 'traffic split by HTTPRoute weights',
  replicas: 'traffic split by replica ratio (no HTTPRoute targets the Service)',
  argo: 'traffic managed by Argo Rollouts',
};

/** One workload: counts, revision, conditions; for a canary its step, weight, verdict, charts and buttons. */
export function renderWorkload(w: WorkloadSummary, o: WorkloadViewOptions): HTMLElement {
  const s = el('section', 'workload');
  s.setAttribute('aria-label', `${w.kind} ${w.name}`);
  s.dataset.key = `${w.namespace}/${w.name}`;
  const h = el('h3');
  h.append(el('span', undefined, w.name));
  const badge = document.createElement('vscode-badge');
  badge.textContent = w.kind === 'Rollout' ? 'Rollout' : `rev ${w.revision || '?'}`;
  h.append(badge);
  s.append(h);
  s.append(
    el(
      'div',
      'counts',
      `desired ${w.desired} · updated ${w.updated} · ready ${w.ready} · available ${w.available} · pods ${w.pods}`,
    ),
  );
  if (w.progressDeadlineExceeded) s.append(el('div', 'warn', 'Progress deadline exceeded'));
  const failing = w.conditions.filter((c) => c.status === 'False' && c.type !== 'Progressing');
  for (const c of failing) s.append(el('div', 'warn', `${c.type}: ${c.reason ?? ''} ${c.message ?? ''}`.trim()));
  const c = w.canary;
  if (!c) return s;

  const box = el('div', 'canary');
  const step = Math.min(c.stepIndex + 1, c.stepCount);
  box.append(
    el(
      'div',
      'canary-status',
      `Canary ${c.status} · step ${step}/${c.stepCount} · weight ${c.weight}%${c.paused ? ' · paused' : ''}`,
    ),
  );
  const steps = el('div', 'steps');
  steps.setAttribute('role', 'progressbar');
  steps.setAttribute('aria-valuemin', '0');
  steps.setAttribute('aria-valuemax', String(c.stepCount));
  steps.setAttribute('aria-valuenow', String(c.stepIndex));
  for (let i = 0; i < c.stepCount; i++)
    steps.append(el('span', i < c.stepIndex ? 'done' : i === c.stepIndex ? 'current' : ''));
  box.append(steps);
  if (o.driver) box.append(el('div', o.driver.by === 'nobody' ? 'warn driver' : 'notice driver', driverLine(o.driver)));
  box.append(el('div', 'notice', TRAFFIC[c.trafficMode] ?? c.trafficMode));
  if (c.image) box.append(el('div', 'notice', `image ${c.image}`));
  if (c.message) box.append(el('div', 'notice', c.message));
  const verdict = o.analysis ?? c.verdict;
  if (verdict) box.append(el('div', `verdict-${verdict.verdict}`, `Analysis: ${verdict.verdict} — ${verdict.summary}`));
  for (const run of c.analysis) {
    box.append(
      el(
        'div',
        run.phase === 'Failed' || run.phase === 'Error'
          ? 'verdict-fail'
          : run.phase === 'Successful'
            ? 'verdict-pass'
            : 'notice',
        `Analysis ${run.name}: ${run.phase}${run.metrics.map((m) => ` · ${m.name} ${m.value ?? '–'} (${m.phase})`).join('')}`,
      ),
    );
  }
  s.append(box);

  const live = !['promoted', 'aborted', 'Healthy'].includes(c.status);
  if (live) {
    const actions = el('div', 'actions');
    const go = (a: WorkloadAction) => () => o.act(a, w.kind, w.namespace, w.name);
    actions.append(button('Promote', `Promote ${w.name}`, go('promote'), o.busy));
    actions.append(
      c.paused
        ? button('Resume', `Resume ${w.name}`, go('resume'), o.busy, true)
        : button('Pause', `Pause ${w.name}`, go('pause'), o.busy, true),
    );
    // Built-in canaries only, while they step: an Argo Rollout's Promote already advances one step.
    const skippable = w.kind === 'Deployment' && (c.status === 'progressing' || c.status === 'paused');
    actions.append(
      button(
        'Skip Step',
        `Skip the current step of ${w.name} without analysis`,
        go('skip'),
        o.busy || !skippable,
        true,
        w.kind === 'Deployment' ? undefined : 'Argo Rollouts: Promote advances one step',
      ),
    );
    actions.append(button('Abort', `Abort ${w.name} and roll back`, go('abort'), o.busy, true));
    s.append(actions);
  } else if (w.kind === 'Rollout' && c.status === 'aborted') {
    const actions = el('div', 'actions');
    actions.append(button('Retry', `Retry ${w.name}`, () => o.act('retry', w.kind, w.namespace, w.name), o.busy));
    s.append(actions);
  }
  if (o.charts) s.append(o.charts);
  return s;
}
