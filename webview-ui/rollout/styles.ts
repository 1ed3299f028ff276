/** The panel's styles, themed by VS Code's CSS variables (inline styles are allowed by the CSP; scripts are not). */
const CSS = `
body { padding: 0 8px; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
header { display: flex; align-items: center; justify-content: space-between; gap: 8px; margin: 6px 0; }
section.workload { border-top: 1px solid var(--vscode-panel-border, #444); padding: 6px 0; }
section.workload h3 { margin: 0 0 4px; font-size: 1em; display: flex; gap: 6px; align-items: center; }
.counts { font-variant-numeric: tabular-nums; opacity: 0.9; }
.warn { color: var(--vscode-errorForeground); }
.canary { margin: 4px 0; }
.steps { display: flex; gap: 2px; margin: 4px 0; }
.steps span { flex: 1; height: 6px; background: var(--vscode-editorWidget-border, #555); }
.steps span.done { background: var(--vscode-charts-green, #89d185); }
.steps span.current { background: var(--vscode-charts-orange, #d18616); }
.actions { display: flex; gap: 6px; flex-wrap: wrap; margin: 6px 0; }
.verdict-pass { color: var(--vscode-charts-green, #89d185); }
.verdict-fail, .verdict-no-data { color: var(--vscode-errorForeground); }
.notice { color: var(--vscode-descriptionForeground); }
.driver { font-weight: 600; }
section.workload.revealed { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
.charts { display: flex; flex-direction: column; gap: 4px; }
.charts .u-title { font-size: 0.9em; font-weight: normal; }
.charts .u-legend { font-size: 0.85em; }
`;

export function installStyles(): void {
  const style = document.createElement('style');
  style.textContent = CSS;
  document.head.append(style);
}
