/**
 * Loads the real panel bundle (`dist/webview.js` + `dist/webview.css`) in headless Debian Chromium, inside the
 * very HTML shell and CSP the extension serves (`client/src/html.ts`), with a stand-in for VS Code's
 * `acquireVsCodeApi` that records what the panel posts. Host messages go in through `window.postMessage`,
 * exactly as VS Code delivers them.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { panelHtml, newNonce } from '../../client/src/html.ts';
import { resolve } from '../../server/src/core/resolve.ts';
import { toGraphResult } from '../../server/src/convert.ts';
import type { GraphResult } from '../../server/src/protocol.ts';
import type { HostMessage, WebviewMessage } from '../../webview/src/messages.ts';
import { loadCases, CORPUS, type RefCase } from '../support/reference.ts';
import { DARK_THEME } from './theme.ts';

export const ROOT = join(import.meta.dirname, '../..');
export const ARTIFACTS = join(ROOT, 'test-artifacts');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Why these tests cannot run here, or null. */
export function unavailable(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  if (!existsSync(join(ROOT, 'dist/webview.js'))) return 'dist/webview.js is not built (node scripts/build.mjs)';
  return null;
}

export interface PanelServer {
  origin: string;
  /** nonce of the last page served */
  nonce: string;
  close(): Promise<void>;
}

/** Serves the shell and the bundle; `extraScripts` are extra files (for the CSP test's script without nonce). */
export async function startPanelServer(extra: Record<string, { type: string; body: string }> = {}): Promise<PanelServer> {
  const state = { origin: '', nonce: '' };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/panel.html') {
      state.nonce = newNonce();
      return send(
        'text/html',
        panelHtml({
          cspSource: state.origin,
          nonce: state.nonce,
          scriptUri: `${state.origin}/webview.js`,
          styleUri: `${state.origin}/webview.css`,
        }),
      );
    }
    if (url.pathname === '/webview.js') return send('text/javascript', readFileSync(join(ROOT, 'dist/webview.js')));
    if (url.pathname === '/webview.css') return send('text/css', readFileSync(join(ROOT, 'dist/webview.css')));
    const e = extra[url.pathname];
    if (e) return send(e.type, e.body);
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    get origin() {
      return state.origin;
    },
    get nonce() {
      return state.nonce;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface PanelPage {
  page: Page;
  /** messages the panel posted to the host, in order */
  posted(): Promise<WebviewMessage[]>;
  send(m: HostMessage | unknown): Promise<void>;
  /** number of finished draws */
  renders(): Promise<number>;
  /** wait until more than `after` draws finished */
  waitRender(after: number): Promise<number>;
  /** the state the panel saved with setState */
  savedState(): Promise<unknown>;
  consoleMessages: string[];
  pageErrors: string[];
}

/** Open the panel page. `state` is what `getState()` returns (a restored panel). */
export async function openPanel(
  browser: Browser,
  server: PanelServer,
  opts: { state?: unknown; theme?: Record<string, string>; bodyClass?: string; viewport?: { width: number; height: number } } = {},
): Promise<PanelPage> {
  const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1400, height: 850 } });
  const consoleMessages: string[] = [];
  const pageErrors: string[] = [];
  page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  // What VS Code does before the page's scripts run: the theme's variables on <html>, a class on <body>, and
  // `acquireVsCodeApi`. Init scripts are injected by the browser, outside the page's CSP.
  // (a string, not a function: the test runner's transpiler would put helpers into a serialised function)
  await page.addInitScript({
    content: `(() => {
      const theme = ${JSON.stringify(opts.theme ?? DARK_THEME)};
      const bodyClass = ${JSON.stringify(opts.bodyClass ?? 'vscode-dark')};
      window.__posted = [];
      window.__state = ${JSON.stringify(opts.state ?? null)};
      let acquired = false;
      window.acquireVsCodeApi = function () {
        if (acquired) throw new Error('acquireVsCodeApi called twice');
        acquired = true;
        return {
          postMessage: function (m) { window.__posted.push(JSON.parse(JSON.stringify(m))); },
          getState: function () { return window.__state; },
          setState: function (s) { window.__state = JSON.parse(JSON.stringify(s)); },
        };
      };
      // <html> may not exist yet when this runs: apply the variables as soon as it does
      const applyTheme = function () {
        if (!document.documentElement) return false;
        for (const k of Object.keys(theme)) document.documentElement.style.setProperty(k, theme[k]);
        return true;
      };
      if (!applyTheme()) {
        const obs = new MutationObserver(function () { if (applyTheme()) obs.disconnect(); });
        obs.observe(document, { childList: true });
      }
      document.addEventListener('DOMContentLoaded', function () { document.body.classList.add(...bodyClass.split(' ')); });
    })();`,
  });
  await page.goto(`${server.origin}/panel.html`);
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
  const renders = () => page.evaluate(() => Number(document.body.dataset.renderSeq ?? 0));
  return {
    page,
    consoleMessages,
    pageErrors,
    posted: () => page.evaluate(() => (window as unknown as { __posted: WebviewMessage[] }).__posted),
    send: (m) => page.evaluate((msg) => window.postMessage(msg, '*'), m as never),
    renders,
    waitRender: async (after) => {
      await page.waitForFunction((n) => Number(document.body.dataset.renderSeq ?? 0) > n, after, { timeout: 30_000 });
      return renders();
    },
    savedState: () => page.evaluate(() => (window as unknown as { __state: unknown }).__state),
  };
}

/** Send a graph and wait until it is drawn. */
export async function showGraph(p: PanelPage, graph: GraphResult, fileName = 'model.yaml'): Promise<void> {
  const before = await p.renders();
  await p.send({ type: 'graph', graph, convention: 'thop', fileName } satisfies HostMessage);
  await p.waitRender(before);
}

let cases: RefCase[] | null = null;
/**
 * The graph of a corpus YAML, resolved as its reference record was produced (tree, scale, image size, name);
 * `scale` picks the record of an ultralytics YAML recorded at several scales.
 */
export function corpusGraph(rel: string, uri = `file:///corpus/${rel}`, scale?: string): GraphResult {
  cases ??= loadCases();
  const c = cases.find((x) => !x.mutant && x.yamlPath === join(CORPUS, rel) && (scale === undefined || x.record.scale === scale));
  const text = readFileSync(join(CORPUS, rel), 'utf8');
  const model = resolve(text, c?.options ?? { fileName: rel.split('/').pop() });
  return toGraphResult(model, uri, 1);
}

/** A graph of YAML text. */
export function textGraph(text: string, uri = 'file:///work/model.yaml', fileName = 'model.yaml'): GraphResult {
  return toGraphResult(resolve(text, { fileName }), uri, 1);
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
