/**
 * The graph panel against hostile documents, beyond test/webview/security.test.ts (which puts payloads in module
 * names, args, a file name, a status, submodules and a profile): here *every* free-text field of *every* message the
 * host sends carries a payload (graph, compare, cursor, submodules, profile progress, profile, status), and the page
 * must run none, grow no element or event-handler attribute from them, and fetch nothing but its own files. The
 * sources are checked for HTML sinks, the webview options for their resource roots, and the host's message parser
 * for prototype pollution and absurd numbers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Browser } from 'playwright-core';
import { corpusGraph, launchChromium, openPanel, showGraph, startPanelServer, unavailable, type PanelServer } from '../webview/harness.ts';
import { LIMITS, parseWebviewMessage, type HostMessage } from '../../webview/src/messages.ts';
import type { GraphResult, ProfileResult, SubmoduleNode } from '../../server/src/protocol.ts';
import { needsCorpus } from '../support/reference.ts';

const ROOT = join(import.meta.dirname, '../..');

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|js)$/.test(e)) out.push(p);
  }
  return out;
}

test('no source of the panel or the extension has an HTML sink: document text can only ever be text', () => {
  const sinks = new RegExp(
    [
      String.raw`\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\bsrcdoc\b|createContextualFragment|DOMParser`,
      String.raw`\.html\(|setAttribute\(\s*['"]on|\bjavascript:`,
    ].join('|'),
  );
  const found: string[] = [];
  for (const file of [...sources(join(ROOT, 'webview/src')), ...sources(join(ROOT, 'client/src'))]) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, k) => {
        if (sinks.test(line.replace(/\/\/.*$/, ''))) found.push(`${relative(ROOT, file)}:${k + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(found, []);
  // the only HTML the extension writes is the fixed shell, and it takes no document text
  const shell = readFileSync(join(ROOT, 'client/src/html.ts'), 'utf8');
  assert.match(
    shell,
    /export interface PanelHtmlOptions \{[^}]*cspSource: string;[^}]*scriptUri: string;[^}]*styleUri: string;[^}]*nonce: string;\s*\}/s,
  );
});

test('the panel may load from the extension bundle folder only, and no command URIs', () => {
  const panel = readFileSync(join(ROOT, 'client/src/graphPanel.ts'), 'utf8');
  const options = /webviewOptions\(\)[^{]*\{\s*return \{([\s\S]*?)\};/.exec(panel)?.[1] ?? '';
  assert.match(options, /localResourceRoots: \[vscode\.Uri\.joinPath\(this\.context\.extensionUri, 'dist'\)\]/);
  assert.doesNotMatch(options, /enableCommandUris|enableForms: true/);
  // every message from the panel goes through the validator before anything looks at it
  assert.match(panel, /onDidReceiveMessage\(\(raw: unknown\) => void this\.receive\(raw\)\)/);
  const receive = /private async receive\(raw: unknown\)[\s\S]*?\n {2}\}\n/.exec(panel)![0];
  assert.ok(
    receive.indexOf('parseWebviewMessage(') >= 0 && receive.indexOf('parseWebviewMessage(') < receive.indexOf('switch (m.type)'),
    'validated before the switch',
  );
});

test("messages from the panel: no prototype pollution, no absurd numbers, no other document's reveal", () => {
  const polluted = parseWebviewMessage(
    JSON.parse('{"type":"log","level":"info","message":"x","__proto__":{"pwned":true},"constructor":{"prototype":{"pwned":true}}}'),
  );
  assert.ok(polluted.ok);
  assert.equal(({} as { pwned?: unknown }).pwned, undefined, 'Object.prototype untouched');
  assert.equal((polluted.ok && (polluted.message as { pwned?: unknown }).pwned) || undefined, undefined);
  for (const index of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3', null])
    assert.equal(parseWebviewMessage({ type: 'expand', uri: 'file:///m.yaml', index }).ok, false, `expand index ${String(index)}`);
  assert.equal(parseWebviewMessage({ type: 'export', format: 'svg', data: 'x'.repeat(LIMITS.exportChars + 1) }).ok, false);
  assert.equal(parseWebviewMessage({ type: 'log', level: 'debug', message: 'x' }).ok, false);
  assert.equal(parseWebviewMessage({ type: 'log', level: 'info', message: 'x'.repeat(LIMITS.string + 1) }).ok, false);
  assert.equal(parseWebviewMessage([{ type: 'ready' }]).ok, false);
  const target = { uri: 'file:///m.yaml', lineCount: 3, lineLength: () => 10 };
  assert.equal(
    parseWebviewMessage(
      { type: 'reveal', uri: 'file:///etc/passwd', index: 0, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } } },
      target,
    ).ok,
    false,
  );
  assert.equal(
    parseWebviewMessage(
      { type: 'reveal', uri: 'file:///m.yaml', index: 0, range: { start: { line: 0, character: 0 }, end: { line: 1e9, character: 0 } } },
      target,
    ).ok,
    false,
  );
});

// ---- every field, in Chromium ------------------------------------------------------------------------------

/** Each payload would set window.__pwned (to the field's path) if it ran, or load a file if it were markup. */
const TEMPLATES: ((id: string) => string)[] = [
  (id) => `<img src=x onerror="window.__pwned='${id}'">`,
  (id) => `<svg onload="window.__pwned='${id}'"><script>window.__pwned='${id}'</script></svg>`,
  (id) => `</text></g><foreignObject><iframe srcdoc="<script>parent.__pwned='${id}'</script>"></iframe></foreignObject>`,
  (id) => `javascript:window.__pwned='${id}'`,
  (id) => `</style><style>body{background:url(https://evil.invalid/${encodeURIComponent(id)})}</style>`,
  (id) => `<a href="javascript:window.__pwned='${id}'" xlink:href="javascript:window.__pwned='${id}'">x</a>`,
  (id) => `{{constructor.constructor('window.__pwned="${id}"')()}}\${window.__pwned='${id}'}`,
  (id) => `&lt;img src=x onerror=window.__pwned='${id}'&gt;\u202e${id}`,
  (id) => `"><link rel=stylesheet href=https://evil.invalid/${encodeURIComponent(id)}.css><base href=https://evil.invalid/>`,
];

/** Keys whose values are enums the validator checks (the host never fills them from a document). */
const ENUM_KEYS = new Set([
  'type',
  'section',
  'category',
  'status',
  'severity',
  'dialect',
  'convention',
  'level',
  'format',
  'frameworkSource',
]);

/** Every free string in `value` replaced by a payload naming its path. */
function poison<T>(value: T, path: string, counter: { n: number }): T {
  if (typeof value === 'string') return TEMPLATES[counter.n++ % TEMPLATES.length]!(path) as T;
  if (Array.isArray(value)) return value.map((v, k) => poison(v, `${path}[${k}]`, counter)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = ENUM_KEYS.has(k) ? v : poison(v, `${path}.${k}`, counter);
    return out as T;
  }
  return value;
}

describe('every field the host sends, poisoned', { skip: needsCorpus.skip ?? unavailable() ?? false }, () => {
  let browser: Browser;
  let server: PanelServer;
  before(async () => {
    server = await startPanelServer();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('renders them all as text, runs none, adds no element or handler, loads nothing from elsewhere', async () => {
    const left = corpusGraph('yolov5/models/yolov5n.yaml', 'file:///w/left.yaml');
    const right = corpusGraph('slimneck/gsconv-yolov5/models/slimneck-yolov5n.yaml', 'file:///w/right.yaml');
    const p = await openPanel(browser, server);
    const requests: string[] = [];
    p.page.on('request', (r) => requests.push(r.url()));
    try {
      // a clean graph first: the element kinds a normal panel uses
      await showGraph(p, left, 'left.yaml');
      await p.page.locator('#graph g.layer-node[data-index="2"] rect.box').click();
      const baseline = new Set(await p.page.evaluate(() => Array.from(document.querySelectorAll('*')).map((e) => e.tagName.toLowerCase())));

      const counter = { n: 0 };
      const bad = poison(left, 'graph', counter) as GraphResult;
      const sub: SubmoduleNode[] = [
        {
          path: 'cv1',
          type: 'Conv',
          params: 1,
          outShape: [1, 16, 8, 8],
          flops: null,
          children: [{ path: 'conv', type: 'Conv2d', params: 1, outShape: null, flops: null, children: [] }],
        },
      ];
      const profile: ProfileResult = {
        uri: bad.uri,
        backend: 'wasm',
        imgsz: 640,
        batch: 1,
        runs: 1,
        layers: left.nodes.map((n) => ({
          index: n.index,
          module: n.module,
          ms: 1,
          outShape: n.outShape,
          staticShape: n.outShape,
          shapeMatches: true,
        })),
        totalMs: 10,
        throughput: 1,
        peakMemoryMB: 1,
        error: 'failed',
        warnings: ['w1', 'w2'],
      };
      // single-text fields get every template in turn; structured ones one template per field
      const each = (make: (payload: (id: string) => string) => HostMessage) => TEMPLATES.map((t) => make(t));
      const messages: HostMessage[] = [
        { type: 'graph', graph: bad, convention: 'thop', fileName: poison('f', 'fileName', counter) },
        ...each((t) => ({ type: 'status', level: 'error', message: t('status.message') })),
        { type: 'cursor', uri: bad.uri, position: { line: 20, character: 5 } },
        { type: 'cursor', uri: poison('u', 'cursor.uri', counter), position: { line: 20, character: 5 } },
        { type: 'submodules', uri: bad.uri, index: 2, nodes: poison(sub, 'submodules', counter), error: null },
        ...each((t) => ({ type: 'submodules', uri: bad.uri, index: 3, nodes: null, error: t('submodules.error') })),
        ...each((t) => ({ type: 'profileProgress', uri: bad.uri, done: 1, total: 3, message: t('profileProgress.message') })),
        { type: 'profile', result: poison(profile, 'profile', counter) },
        ...each((t) => ({ type: 'graph', graph: bad, convention: 'thop', fileName: t('fileName') })),
        {
          type: 'compare',
          left: poison(left, 'left', counter),
          right: poison(right, 'right', counter),
          leftName: poison('l', 'leftName', counter),
          rightName: poison('r', 'rightName', counter),
          convention: 'ultralytics-thop',
        },
        ...each((t) => ({ type: 'compare', left, right, leftName: t('leftName'), rightName: t('rightName'), convention: 'thop' })),
        ...each((t) => ({ type: 'status', level: 'info', message: t('status.message (compare view)') })),
      ];
      const allowed = new Set([
        ...baseline,
        'table',
        'thead',
        'tbody',
        'tr',
        'th',
        'td',
        'section',
        'h2',
        'h3',
        'ul',
        'li',
        'span',
        'div',
        'button',
        'input',
        'label',
        'select',
        'option',
        'tspan',
        'text',
        'g',
        'rect',
        'path',
        'line',
        'circle',
        'title',
        'p',
        'strong',
        'em',
        'code',
        'small',
        'details',
        'summary',
        'polygon',
        'marker',
        'defs',
      ]);
      // checked after every message: a later message may redraw what an earlier one injected
      const check = async (what: string) => {
        assert.equal(
          await p.page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned),
          undefined,
          `${what}: a payload ran`,
        );
        const tags = await p.page.evaluate(() =>
          Array.from(new Set(Array.from(document.querySelectorAll('*')).map((e) => e.tagName.toLowerCase()))),
        );
        assert.deepEqual(
          tags.filter((t) => !allowed.has(t)),
          [],
          `${what}: only elements the panel makes itself`,
        );
        const attrs = await p.page.evaluate(() =>
          Array.from(document.querySelectorAll('*')).flatMap((e) =>
            Array.from(e.attributes)
              .filter((a) => /^on/i.test(a.name) || (/href|src|action/i.test(a.name) && /javascript:|evil\.invalid/i.test(a.value)))
              .map((a) => `${e.tagName} ${a.name}=${a.value.slice(0, 80)}`),
          ),
        );
        assert.deepEqual(attrs, [], `${what}: no event handler or script URL attribute from a payload`);
        assert.equal(await p.page.locator('script').count(), 1, `${what}: one script`);
        assert.equal(await p.page.locator('base, link[href*="evil"], style').count(), 0, `${what}: no base, link or style element`);
      };
      for (const m of messages) {
        const before = await p.renders();
        await p.send(m);
        if (m.type === 'graph' || m.type === 'compare') await p.waitRender(before);
        else await p.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
        if (m.type === 'graph' && m.graph === bad) {
          // reach the details, the table and the search with the poisoned text too
          await p.page.locator('#graph g.layer-node[data-index="2"] rect.box').click();
          await p.page.locator('input.search').fill(bad.nodes[3]!.module);
        }
        await check(`after ${m.type}`);
      }
      await p.page.waitForTimeout(300); // time for an onerror or onload to fire, were there an element for it

      assert.equal(await p.page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined, 'a payload ran');
      await check('at the end');
      const offOrigin = requests.filter((u) => !u.startsWith(server.origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
      assert.deepEqual(offOrigin, [], 'nothing loaded from anywhere but the panel bundle');
      // the poisoned text is on the page as text: the compare view's names, the status, a module name
      const text = (await p.page.locator('body').textContent()) ?? '';
      for (const needle of [TEMPLATES[TEMPLATES.length - 1]!('status.message (compare view)')])
        assert.ok(text.includes(needle), `missing as text: ${needle}`);
      assert.deepEqual(p.pageErrors, [], 'the panel handled every poisoned message');
      assert.ok(counter.n > 250, `${counter.n} fields poisoned`);
    } finally {
      await p.page.close();
    }
  });
});
