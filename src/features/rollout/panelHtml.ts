import * as crypto from 'node:crypto';
import type * as vscode from 'vscode';

/** The panel's page: a strict CSP (nothing but our nonce'd script and our styles from dist/webview), themed by VS Code's variables. */
export function panelHtml(webview: vscode.Webview, assets: vscode.Uri, joinPath: (base: vscode.Uri, ...parts: string[]) => vscode.Uri): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(joinPath(assets, 'rollout.js'));
  const chartCss = webview.asWebviewUri(joinPath(assets, 'uPlot.min.css'));
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // vscode-elements and uPlot set inline styles on their elements; nothing else is allowed in.
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${chartCss}">
<title>Rollouts</title>
</head>
<body>
<main id="app" aria-live="polite"><p>Loading rollouts…</p></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
