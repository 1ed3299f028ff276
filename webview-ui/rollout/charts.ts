import uPlot from 'uplot';
import type { MetricSample, TrackSample } from '../../src/protocol/rollout';

type Field = keyof TrackSample;

const CHARTS: Array<{ field: Field; title: string; format: (v: number) => string }> = [
  { field: 'rps', title: 'requests/s', format: (v) => v.toFixed(1) },
  { field: 'errorRate', title: 'error rate', format: (v) => `${(v * 100).toFixed(1)}%` },
  { field: 'p99Ms', title: 'p99 latency (ms)', format: (v) => v.toFixed(0) },
];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function columns(samples: MetricSample[], field: Field): uPlot.AlignedData {
  return [
    samples.map((s) => s.t),
    samples.map((s) => s.canary[field] ?? null),
    samples.map((s) => s.stable[field] ?? null),
  ];
}

/** Three small live charts of one canary, canary against stable, redrawn in place as samples arrive. */
export class CanaryCharts {
  readonly element = document.createElement('div');
  private readonly plots: Array<{ plot: uPlot; field: Field }> = [];
  private samples: MetricSample[] = [];

  constructor(label: string) {
    this.element.className = 'charts';
    this.element.setAttribute('role', 'group');
    this.element.setAttribute('aria-label', `Live metrics of ${label}: canary against stable`);
    const fg = cssVar('--vscode-foreground', '#ccc');
    const grid = cssVar('--vscode-editorWidget-border', '#444');
    for (const c of CHARTS) {
      const box = document.createElement('div');
      box.className = 'chart';
      box.setAttribute('aria-label', c.title);
      this.element.append(box);
      const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
      const plot = new uPlot(
        {
          title: c.title,
          width: 260,
          height: 110,
          legend: { show: true, live: false },
          cursor: { show: false },
          scales: { x: { time: true } },
          axes: [
            {
              ...axis,
              values: (_u, ticks) =>
                ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { minute: '2-digit', second: '2-digit' })),
            },
            { ...axis, size: 60, values: (_u, ticks) => ticks.map(c.format) },
          ],
          series: [
            {},
            { label: 'canary', stroke: cssVar('--vscode-charts-orange', '#d18616'), width: 2, spanGaps: false },
            { label: 'stable', stroke: cssVar('--vscode-charts-blue', '#3794ff'), width: 2, spanGaps: false },
          ],
        },
        columns([], c.field),
        box,
      );
      this.plots.push({ plot, field: c.field });
    }
  }

  set(samples: MetricSample[]): void {
    this.samples = samples.slice(-120);
    // How many points are drawn: read by the end-to-end test and by screen readers' users via the label.
    this.element.dataset.samples = String(this.samples.length);
    this.redraw();
  }

  append(samples: MetricSample[]): void {
    this.set([...this.samples, ...samples]);
  }

  get all(): MetricSample[] {
    return this.samples;
  }

  resize(width: number): void {
    for (const p of this.plots) p.plot.setSize({ width: Math.max(160, width), height: 110 });
  }

  private redraw(): void {
    for (const p of this.plots) p.plot.setData(columns(this.samples, p.field));
  }

  destroy(): void {
    for (const p of this.plots) p.plot.destroy();
    this.element.remove();
  }
}
