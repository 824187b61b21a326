/**
 * Entry of the graph panel bundle (`dist/webview.js`). The same file runs twice: in the panel's page it starts the
 * app, and as the layout Web Worker (made from this bundle's text) it only lays graphs out.
 */
import './style.css';
import { runLayoutWorker } from './layout.ts';
import { Panel, captureScriptUrl, scriptUrlOf } from './panel.ts';

if (typeof document === 'undefined') {
  runLayoutWorker(self as unknown as Parameters<typeof runLayoutWorker>[0]);
} else {
  captureScriptUrl();
  const start = () => {
    const root = document.getElementById('app') ?? document.body;
    new Panel(root, scriptUrlOf());
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
  else start();
}
