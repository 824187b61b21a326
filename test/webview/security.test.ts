/**
 * The graph panel with hostile input: a YAML whose module names, args and file name are HTML/script payloads
 * renders them as text and runs none of them; the page's CSP refuses inline script, script without the nonce,
 * inline event handlers and eval. Every payload would set `window.__pwned` if it ran.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { artifact, launchChromium, openPanel, showGraph, startPanelServer, textGraph, unavailable, type PanelServer } from './harness.ts';
import type { HostMessage } from '../../webview/src/messages.ts';

const skip = unavailable() ?? false;

const PAYLOADS = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=2</script>',
  '<svg onload="window.__pwned=3"></svg>',
  '</text><foreignObject><iframe srcdoc="<script>parent.__pwned=4</script>"></iframe></foreignObject>',
  '"><img src=x onerror=window.__pwned=5>',
];

/** A model YAML carrying the payloads as module names, as args, in a `from` comment and in a quoted string arg. */
function hostileYaml(): string {
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return [
    'nc: 80',
    'depth_multiple: 0.33',
    'width_multiple: 0.25',
    'anchors: 3',
    'backbone:',
    '  - [-1, 1, Conv, [64, 6, 2, 2]]',
    `  - [-1, 1, ${q(PAYLOADS[0]!)}, [128, ${q(PAYLOADS[1]!)}]]`,
    `  - [-1, 1, Conv, [128, 3, ${q(PAYLOADS[2]!)}]]  # ${PAYLOADS[4]}`,
    `  - [-1, 1, ${q(PAYLOADS[3]!)}, []]`,
    'head:',
    `  - [-1, 1, ${q(PAYLOADS[4]!)}, [${q(PAYLOADS[0]!)}]]`,
    '  - [[-1, 0], 1, Concat, [1]]',
    '',
  ].join('\n');
}

describe('graph panel security', { skip }, () => {
  let browser: Browser;
  let server: PanelServer;
  before(async () => {
    server = await startPanelServer({
      '/evil.js': { type: 'text/javascript', body: 'window.__pwned = "script without nonce";' },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('HTML and script in module names, args, diagnostics and the file name render as text; nothing runs', async () => {
    const graph = textGraph(hostileYaml(), 'file:///work/<img src=x onerror=window.__pwned=9>.yaml', 'hostile.yaml');
    // the core keeps the payloads: as module names, in the printed args and in the diagnostics about them
    assert.ok(graph.nodes.some((n) => n.module === PAYLOADS[0]));
    assert.ok(graph.nodes.some((n) => n.args.includes(PAYLOADS[1]!)));
    assert.ok(graph.nodes.some((n) => n.diagnostics.some((d) => d.message.includes(PAYLOADS[3]!))));
    const p = await openPanel(browser, server);
    const violations: string[] = [];
    p.page.on('console', (m) => {
      if (/Content Security Policy/.test(m.text())) violations.push(m.text());
    });
    try {
      await showGraph(p, graph, '<img src=x onerror="window.__pwned=8">.yaml');
      await p.page.locator('button.tool', { hasText: 'Fit' }).click();
      // select and expand the hostile layers so their text reaches the details pane too
      await p.page.locator('#graph g.layer-node[data-index="1"] rect.box').click();
      await p.page.locator('input.search').fill(PAYLOADS[3]!);
      await p.send({ type: 'status', level: 'error', message: PAYLOADS[1]! } satisfies HostMessage);
      await p.send({
        type: 'submodules',
        uri: graph.uri,
        index: 1,
        nodes: [{ path: PAYLOADS[0]!, type: PAYLOADS[2]!, params: 1, outShape: null, flops: null, children: [] }],
        error: null,
      } satisfies HostMessage);
      await p.send({
        type: 'profile',
        result: {
          uri: graph.uri,
          backend: PAYLOADS[0]!,
          imgsz: 640,
          batch: 1,
          runs: 1,
          layers: [],
          totalMs: 1,
          throughput: 1,
          peakMemoryMB: null,
          error: null,
          warnings: [PAYLOADS[2]!],
        },
      } satisfies HostMessage);
      await p.page.waitForSelector('#graph g.layer-node[data-index="1"] text.sub-row');
      await p.page.waitForTimeout(300); // give an onerror/onload a chance to fire, were there an element for it

      assert.equal(await p.page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined, 'no payload ran');
      // no element came from the payloads: the panel has no img, iframe, script (other than the bundle) or foreignObject
      const tags = await p.page.evaluate(() =>
        Array.from(document.querySelectorAll('img, iframe, foreignObject, object, embed')).map((e) => e.tagName),
      );
      assert.deepEqual(tags, []);
      assert.equal(await p.page.locator('script').count(), 1);
      // the text is there, verbatim
      const titles = await p.page.locator('#graph g.layer-node .line-title').allTextContents();
      assert.ok(titles.includes(`1  ${PAYLOADS[0]}`), titles.join('\n'));
      assert.ok(titles.includes(`3  ${PAYLOADS[3]}`), titles.join('\n'));
      assert.equal(await p.page.locator('.title').textContent(), '<img src=x onerror="window.__pwned=8">.yaml');
      assert.ok((await p.page.locator('.details').textContent())!.includes(PAYLOADS[1]!));
      assert.equal(await p.page.locator('.status').textContent(), `profiled 0 layers · ${PAYLOADS[2]}`);
      assert.ok((await p.page.locator('.profile-summary').textContent())!.startsWith(PAYLOADS[0]!));
      assert.ok((await p.page.locator('#graph g.layer-node[data-index="1"] text.sub-row').first().textContent())!.includes(PAYLOADS[2]!));
      // the search box took a payload too: it filtered the table to layer 3 and marked its node
      const tableText = await p.page.locator('.layer-table tbody').textContent();
      assert.ok(tableText!.includes(PAYLOADS[3]!));
      assert.deepEqual(
        await p.page.locator('#graph g.layer-node.match').evaluateAll((els) => els.map((e) => e.getAttribute('data-index'))),
        ['3'],
      );
      // the exported SVG escapes them too
      await p.page.locator('button.tool', { hasText: 'SVG' }).click();
      const svg = (await p.posted()).filter((m) => m.type === 'export').at(-1);
      assert.ok(svg && svg.type === 'export');
      assert.ok(!svg.data.includes('<img'), 'payload markup is escaped in the export');
      assert.ok(
        svg.data.includes('&lt;img src=x onerror="window.__pwned=1"&gt;') ||
          svg.data.includes('&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;'),
      );
      assert.deepEqual(p.pageErrors, []);
      assert.deepEqual(violations, [], 'the panel itself needs nothing the CSP forbids');
      await p.page.screenshot({ path: artifact('security-hostile-yaml.png') });
    } finally {
      await p.page.close();
    }
  });

  test('the CSP blocks inline script, script without the nonce, inline handlers and eval', async () => {
    const p = await openPanel(browser, server);
    try {
      const csp = await p.page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
      assert.match(csp!, /default-src 'none'/);
      assert.match(csp!, /script-src 'nonce-[A-Za-z0-9+/=]{24}'(;|$)/);
      assert.doesNotMatch(csp!, /unsafe-inline|unsafe-eval|\*/);
      const nonce1 = /nonce-([^']+)'/.exec(csp!)![1];
      // each page gets its own random nonce
      const q = await openPanel(browser, server);
      const nonce2 = /nonce-([^']+)'/.exec(
        (await q.page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content'))!,
      )![1];
      await q.page.close();
      assert.notEqual(nonce1, nonce2);

      const result = await p.page.evaluate(async () => {
        const w = window as unknown as { __pwned?: unknown };
        const seen: string[] = [];
        document.addEventListener('securitypolicyviolation', (e) => seen.push(e.violatedDirective));
        const inline = document.createElement('script');
        inline.textContent = 'window.__pwned = "inline script"';
        document.body.append(inline);
        const external = document.createElement('script');
        external.src = '/evil.js';
        const loaded = new Promise<string>((resolve) => {
          external.onload = () => resolve('loaded');
          external.onerror = () => resolve('blocked');
        });
        document.body.append(external);
        const handler = document.createElement('div');
        handler.setAttribute('onclick', 'window.__pwned = "inline handler"');
        document.body.append(handler);
        handler.click();
        // run from a task of the page itself: code evaluated by the test driver may be exempt from the eval rule
        const codegen = await new Promise<{ evalResult: string; fnResult: string }>((resolve) =>
          setTimeout(() => {
            let evalResult = 'ran';
            let fnResult = 'ran';
            try {
              (0, eval)('window.__pwned = "eval"');
            } catch (e) {
              evalResult = (e as Error).name;
            }
            try {
              new Function('window.__pwned = "Function"')();
            } catch (e) {
              fnResult = (e as Error).name;
            }
            resolve({ evalResult, fnResult });
          }, 0),
        );
        const externalResult = await loaded;
        await new Promise((r) => setTimeout(r, 100));
        return { pwned: w.__pwned, externalResult, ...codegen, seen };
      });
      assert.equal(result.pwned, undefined);
      assert.equal(result.externalResult, 'blocked');
      assert.equal(result.evalResult, 'EvalError');
      assert.equal(result.fnResult, 'EvalError');
      assert.ok(result.seen.filter((d) => d.startsWith('script-src')).length >= 4, JSON.stringify(result.seen));
      // and the panel still works under that policy: its bundle runs, its worker starts from a blob
      await showGraph(
        p,
        textGraph(
          'nc: 1\nanchors: 3\ndepth_multiple: 1\nwidth_multiple: 1\nbackbone:\n  - [-1, 1, Conv, [8, 3, 2]]\nhead:\n  - [-1, 1, Conv, ' +
            '[8, 1, 1]]\n',
        ),
      );
      assert.equal(await p.page.locator('#graph g.layer-node').count(), 2);
      const timings = JSON.parse((await p.page.evaluate(() => document.body.dataset.timings)) ?? '{}') as { layoutMode?: string };
      assert.equal(timings.layoutMode, 'worker');
    } finally {
      await p.page.close();
    }
  });
});
