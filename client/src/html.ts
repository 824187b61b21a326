/**
 * The graph panel's fixed HTML shell with its Content-Security-Policy: only the bundle (by nonce) runs, styles
 * come only from the extension's files, the layout worker only from a blob of the bundle. No document text is
 * ever put into this HTML; the webview fills everything in through textContent.
 * No `vscode` import: the webview tests serve the very same shell to Chromium.
 */
import { randomBytes } from 'node:crypto';

export interface PanelHtmlOptions {
  /** the webview's `cspSource` (where the extension's files are served from) */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  /** a fresh random nonce per page (see `newNonce`) */
  nonce: string;
}

export function newNonce(): string {
  return randomBytes(18).toString('base64');
}

/** The CSP of the panel: nothing inline, nothing remote, no eval. */
export function panelCsp(o: Pick<PanelHtmlOptions, 'cspSource' | 'nonce'>): string {
  return [
    `default-src 'none'`,
    `script-src 'nonce-${o.nonce}'`,
    `style-src ${o.cspSource}`,
    `img-src ${o.cspSource} blob: data:`,
    `font-src ${o.cspSource}`,
    // the layout worker is made from the bundle's own text: fetched, then started from a blob
    `connect-src ${o.cspSource}`,
    `worker-src blob:`,
    `base-uri 'none'`,
    `form-action 'none'`,
  ].join('; ');
}

const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function panelHtml(o: PanelHtmlOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(panelCsp(o))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(o.styleUri)}">
<title>YOLO Lens graph</title>
</head>
<body>
<div id="app"></div>
<script nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>
</body>
</html>
`;
}
