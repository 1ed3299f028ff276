import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import {
  isHostMessage,
  type HostMessage,
  type PanelState,
  type WebviewMessage,
  type WorkloadAction,
} from '../../src/protocol/rollout';
import { CanaryCharts } from './charts';
import { renderWorkload } from './workloadView';
import { installStyles } from './styles';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): PanelState | undefined;
  setState(state: PanelState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

installStyles();
const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
const charts = new Map<string, CanaryCharts>();
const busy = new Set<string>();
/** A rollout to scroll to once it is drawn (a link from a notification). */
let revealKey: string | undefined;
// What was shown before a hide/show: drawn at once, replaced by the full push that answers `ready`.
let state: PanelState = vscode.getState() ?? { workloads: [], metrics: {}, analyses: {} };

function send(message: WebviewMessage): void {
  vscode.postMessage(message);
}

function act(action: WorkloadAction, kind: 'Deployment' | 'Rollout', namespace: string, name: string): void {
  send({ type: 'action', action, kind, namespace, name });
}

function chartsFor(key: string): CanaryCharts {
  let c = charts.get(key);
  if (!c) {
    c = new CanaryCharts(key);
    c.set(state.metrics[key] ?? []);
    charts.set(key, c);
  }
  return c;
}

function render(): void {
  const header = document.createElement('header');
  const title = document.createElement('span');
  title.textContent = state.namespace
    ? `${state.namespace}${state.context ? ` · ${state.context}` : ''}`
    : 'No namespace';
  const pick = document.createElement('vscode-button');
  pick.setAttribute('secondary', '');
  pick.setAttribute('aria-label', 'Show the rollouts of another namespace');
  pick.textContent = 'Namespace…';
  pick.addEventListener('click', () => send({ type: 'pickNamespace' }));
  header.append(title, pick);
  const body: HTMLElement[] = [header];
  if (state.notice) {
    const p = document.createElement('p');
    p.className = 'notice';
    p.textContent = state.notice;
    body.push(p);
  }
  if (!state.workloads.length) {
    const p = document.createElement('p');
    p.textContent = 'No Deployments or Rollouts in this namespace.';
    body.push(p);
  }
  const live = new Set<string>();
  for (const w of state.workloads) {
    const key = `${w.namespace}/${w.name}`;
    const withCharts = !!w.canary;
    if (withCharts) live.add(key);
    body.push(
      renderWorkload(w, {
        busy: busy.has(key),
        analysis: state.analyses[key],
        driver: state.drivers?.[key],
        charts: withCharts ? chartsFor(key).element : undefined,
        act,
      }),
    );
  }
  for (const [key, c] of charts) {
    if (!live.has(key)) {
      c.destroy();
      charts.delete(key);
    }
  }
  // Keep focus on the button the user was on, across a re-render.
  const focused = (document.activeElement as HTMLElement | null)?.getAttribute('aria-label');
  app.replaceChildren(...body);
  if (focused) (app.querySelector(`[aria-label="${CSS.escape(focused)}"]`) as HTMLElement | null)?.focus();
  if (revealKey) reveal(revealKey);
  const width = app.clientWidth - 16;
  for (const c of charts.values()) c.resize(width);
}

function reveal(key: string): void {
  const section = [...app.querySelectorAll<HTMLElement>('section.workload')].find((s) => s.dataset.key === key);
  if (!section) return; // not listed yet: tried again on the next render
  revealKey = undefined;
  section.setAttribute('tabindex', '-1');
  section.classList.add('revealed');
  section.scrollIntoView({ block: 'start' });
  section.focus();
}

function save(): void {
  const metrics: PanelState['metrics'] = {};
  for (const [key, c] of charts) metrics[key] = c.all;
  vscode.setState({ ...state, metrics });
}

function onMessage(m: HostMessage): void {
  switch (m.type) {
    case 'state':
      state = m.state;
      for (const [key, c] of charts) c.set(state.metrics[key] ?? []);
      break;
    case 'workloads':
      state = { ...state, workloads: m.workloads };
      break;
    case 'metrics':
      chartsFor(m.key).append(m.samples);
      save();
      return;
    case 'analysis':
      state = { ...state, analyses: { ...state.analyses, [m.key]: m.analysis } };
      break;
    case 'busy':
      if (m.busy) busy.add(m.key);
      else busy.delete(m.key);
      break;
    case 'drivers':
      state = { ...state, drivers: m.drivers };
      break;
    case 'reveal':
      revealKey = m.key;
      break;
  }
  render();
  save();
}

window.addEventListener('message', (e: MessageEvent) => {
  if (isHostMessage(e.data)) onMessage(e.data);
});
window.addEventListener('resize', () => render());
render();
send({ type: 'ready' });
