/**
 * The graph panel in headless Chromium: the real bundle, the real HTML shell and CSP, fed the graphs the core
 * resolves for corpus models through the real message protocol. Expected layers, `from` relations and shapes come
 * from the reference records (what PyTorch built), not from the graph that was sent.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import {
  artifact,
  corpusGraph,
  launchChromium,
  openPanel,
  showGraph,
  startPanelServer,
  textGraph,
  unavailable,
  type PanelPage,
  type PanelServer,
  ROOT,
} from './harness.ts';
import { syntheticYaml } from '../../bench/synthetic.ts';
import { HIGH_CONTRAST_THEME } from './theme.ts';
import { REFERENCE, CORPUS, type RefRecord, needsCorpus } from '../support/reference.ts';
import { resolve } from '../../server/src/core/resolve.ts';
import { toGraphResult } from '../../server/src/convert.ts';
import type { GraphResult, ProfileResult } from '../../server/src/protocol.ts';
import type { HostMessage, WebviewMessage } from '../../webview/src/messages.ts';
import { shapeText } from '../../common/src/format.ts';

const skip = unavailable() ?? false;

/** Corpus models of every upstream tree (`yaml@scale` for ultralytics records), each with its reference record. */
const MODELS = [
  'yolov5/models/yolov5n.yaml',
  'yolov5/models/yolov5l.yaml',
  'yolov5/models/segment/yolov5x-seg.yaml',
  'slimneck/gsconv-yolov5/models/slimneck-yolov5n.yaml',
  'slimneck/gsconv-yolov5/models/SNc-yolov5s.yaml',
  'seed/yolov5n-vovgscsp-full.yaml',
  'slimneck/gsconv-scaled-yolov4/models/yolov4-p7.yaml',
  'slimneck/gsconv-yolov8_9_10_11/ultralytics/cfg/models/v8/yolov8-seg.yaml@x',
  'slimneck/gsconv-yolov8_9_10_11/ultralytics/cfg/models/v8/yolov8-sn.yaml@n',
];

function record(rel: string): RefRecord {
  return JSON.parse(readFileSync(join(REFERENCE, rel.replace(/\.yaml(@\w+)?$/, '$1.json')), 'utf8')) as RefRecord;
}

/** The graph of `yaml` or `yaml@scale`. */
function modelGraph(rel: string): GraphResult {
  const [path, scale] = rel.split('@') as [string, string | undefined];
  return corpusGraph(path, `file:///corpus/${path}`, scale);
}

/** Absolute input indices of a layer as the upstream parse_model computes them (-1: the image). */
function absoluteInputs(i: number, from: unknown): number[] {
  const list = Array.isArray(from) ? (from as number[]) : [from as number];
  return list.map((f) => {
    const j = f < 0 ? i + f : f;
    return j < 0 ? -1 : j;
  });
}

/** The shape text a node must show for a reference layer. */
function expectedShape(l: RefRecord['layers'][number]): string {
  if (l.out_shape) return shapeText(l.out_shape);
  if (l.out_shapes)
    return l.out_shapes.length === 1 ? shapeText(l.out_shapes[0]) : `${shapeText(l.out_shapes[0])} (+${l.out_shapes.length - 1})`;
  return '?';
}

async function transformOf(p: PanelPage, holder = '#graph'): Promise<string> {
  return p.page
    .locator(`${holder} g.viewport`)
    .getAttribute('transform')
    .then((t) => t ?? '');
}

async function lastPosted(p: PanelPage, type: WebviewMessage['type']): Promise<WebviewMessage | undefined> {
  return (await p.posted()).filter((m) => m.type === type).at(-1);
}

describe('graph panel in Chromium', { skip: needsCorpus.skip ?? skip }, () => {
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

  for (const rel of MODELS) {
    test(`${rel}: one node per layer, one edge per from element, the resolved shapes on nodes and edges`, async () => {
      const ref = record(rel);
      const p = await openPanel(browser, server);
      try {
        await showGraph(p, modelGraph(rel), rel.split('/').pop());
        const nodes = await p.page.locator('#graph g.layer-node').evaluateAll((els) =>
          els.map((e) => ({
            index: Number(e.getAttribute('data-index')),
            title: e.querySelector('.line-title')?.textContent,
            shape: e.querySelector('.line-shape')?.textContent,
          })),
        );
        assert.equal(nodes.length, ref.layers.length, 'node count = layer count');
        for (const l of ref.layers) {
          const n = nodes.find((x) => x.index === l.i);
          assert.ok(n, `node ${l.i}`);
          assert.equal(n.title, `${l.i}  ${l.module}`);
          assert.equal(n.shape, expectedShape(l), `layer ${l.i} shape`);
        }
        const edges = await p.page
          .locator('#graph path.edge')
          .evaluateAll((els) =>
            els.map((e) => `${e.getAttribute('data-from')}>${e.getAttribute('data-to')}#${e.getAttribute('data-slot')}`),
          );
        const expected = ref.layers.flatMap((l) => absoluteInputs(l.i, l.from).map((j, slot) => `${j}>${l.i}#${slot}`));
        assert.deepEqual([...edges].sort(), [...expected].sort(), 'edges = from relations');
        // every edge is labelled with the producer's output shape (the image for -1)
        const labels = await p.page
          .locator('#graph text.edge-label')
          .evaluateAll((els) => els.map((e) => ({ from: Number(e.getAttribute('data-from')), text: e.textContent })));
        assert.equal(labels.length, expected.length);
        for (const lab of labels) {
          const want = lab.from < 0 ? `${ref.ch}×${ref.imgsz}×${ref.imgsz}` : expectedShape(ref.layers[lab.from]!);
          assert.equal(lab.text, want, `label of an edge from ${lab.from}`);
        }
        // multi-input layers (Concat, Detect) show each input as its own edge
        const multi = ref.layers.filter((l) => Array.isArray(l.from) && (l.from as unknown[]).length > 1);
        assert.ok(multi.length > 0);
        for (const l of multi)
          assert.equal(await p.page.locator(`#graph path.edge[data-to="${l.i}"]`).count(), (l.from as unknown[]).length);
        // the table lists every layer and the framework's totals
        assert.equal(await p.page.locator('.layer-table tbody tr').count(), ref.layers.length);
        assert.equal(await p.page.locator('.layer-table tfoot td').nth(1).textContent(), ref.params!.toLocaleString('en-US'));
        const gcell = p.page.locator('.layer-table tfoot td').nth(2);
        if (ref.gflops !== null) assert.equal(await gcell.textContent(), ref.gflops.toFixed(1));
        // the framework prints no GFLOPs for this model: the cell is the sum at the image size, and says so
        else assert.match((await gcell.getAttribute('title'))!, /^sum at \d+/);
        await p.page.screenshot({
          path: artifact(
            `panel-${rel
              .split('/')
              .pop()!
              .replace(/\.yaml/, '')}.png`,
          ),
        });
        assert.deepEqual(p.pageErrors, []);
      } finally {
        await p.page.close();
      }
    });
  }

  test('clicking a node posts reveal with the layer range; a cursor message highlights and scrolls to the node', async () => {
    const rel = 'slimneck/gsconv-yolov5/models/slimneck-yolov5n.yaml';
    const graph = corpusGraph(rel);
    const text = readFileSync(join(CORPUS, rel), 'utf8').split('\n');
    const p = await openPanel(browser, server);
    try {
      await showGraph(p, graph);
      const node13 = p.page.locator('#graph g.layer-node[data-index="13"]');
      // the first view shows the top of the graph: fit it all to reach layer 13
      await p.page.locator('button.tool', { hasText: 'Fit' }).click();
      await p.page.locator('#graph g.layer-node[data-index="13"] rect.box').click();
      const reveal = await lastPosted(p, 'reveal');
      assert.ok(reveal && reveal.type === 'reveal');
      assert.equal(reveal.index, 13);
      assert.equal(reveal.uri, graph.uri);
      assert.deepEqual(reveal.range, graph.nodes[13]!.range);
      // the range is the layer's text in the YAML
      const r = reveal.range;
      assert.equal(r.start.line, r.end.line);
      assert.match(text[r.start.line]!.slice(r.start.character, r.end.character), /^\[-1, 3, VoVGSCSP, \[512, False\]\]$/);
      assert.equal(await node13.getAttribute('aria-pressed'), 'true');

      // zoom in far and pan away, then the editor cursor moves into layer 22's line
      for (let i = 0; i < 6; i++) await p.page.keyboard.press('+');
      const svgBox = (await p.page.locator('#graph svg').boundingBox())!;
      const inView = async (i: number) => {
        const b = await p.page.locator(`#graph g.layer-node[data-index="${i}"] rect.box`).boundingBox();
        return (
          !!b &&
          b.x >= svgBox.x &&
          b.y >= svgBox.y &&
          b.x + b.width <= svgBox.x + svgBox.width &&
          b.y + b.height <= svgBox.y + svgBox.height
        );
      };
      const target = 22;
      await p.send({
        type: 'cursor',
        uri: graph.uri,
        position: { line: graph.nodes[target]!.range.start.line, character: 3 },
      } satisfies HostMessage);
      await p.page.waitForSelector(`#graph g.layer-node.cursor[data-index="${target}"]`);
      assert.equal(await p.page.locator('#graph g.layer-node.cursor').count(), 1);
      assert.ok(await inView(target), 'the cursor node is scrolled into view');
      assert.equal(await p.page.locator(`.layer-table tr.cursor[data-index="${target}"]`).count(), 1);
      // a cursor on a line outside every layer highlights nothing
      await p.send({ type: 'cursor', uri: graph.uri, position: { line: 0, character: 0 } } satisfies HostMessage);
      await p.page.waitForFunction(() => document.querySelectorAll('#graph g.layer-node.cursor').length === 0);
      // keyboard: arrows move the selection, Enter reveals
      await p.page.locator('#graph g.layer-node[data-index="13"]').focus();
      await p.page.keyboard.press('ArrowDown');
      await p.page.keyboard.press('Enter');
      const r2 = await lastPosted(p, 'reveal');
      assert.ok(r2 && r2.type === 'reveal' && r2.index === 14);
      await p.page.screenshot({ path: artifact('panel-cursor-and-selection.png') });
    } finally {
      await p.page.close();
    }
  });

  test('an update keeps zoom, pan and selection, and redraws what changed', async () => {
    const rel = 'yolov5/models/yolov5n.yaml';
    const yaml = readFileSync(join(CORPUS, rel), 'utf8');
    const uri = 'file:///work/yolov5n.yaml';
    const p = await openPanel(browser, server);
    try {
      await showGraph(p, textGraph(yaml, uri, 'yolov5n.yaml'));
      await p.page.locator('button.tool', { hasText: 'Fit' }).click();
      await p.page.locator('#graph g.layer-node[data-index="9"] rect.box').click();
      for (let i = 0; i < 3; i++) await p.page.keyboard.press('+');
      const svg = (await p.page.locator('#graph svg').boundingBox())!;
      await p.page.mouse.move(svg.x + 300, svg.y + 300);
      await p.page.mouse.down();
      await p.page.mouse.move(svg.x + 220, svg.y + 180, { steps: 5 });
      await p.page.mouse.up();
      const before = await transformOf(p);
      assert.notEqual(before, '');
      // the user edits layer 9 (SPPF 1024 → 512 channels): its shape and the next layers change
      const edited = yaml.replace('[-1, 1, SPPF, [1024, 5]]', '[-1, 1, SPPF, [512, 5]]');
      assert.notEqual(edited, yaml);
      const n = await p.renders();
      await p.send({
        type: 'graph',
        graph: textGraph(edited, uri, 'yolov5n.yaml'),
        convention: 'thop',
        fileName: 'yolov5n.yaml',
      } satisfies HostMessage);
      await p.waitRender(n);
      assert.equal(await transformOf(p), before, 'zoom and pan kept');
      assert.equal(await p.page.locator('#graph g.layer-node.selected').getAttribute('data-index'), '9', 'selection kept');
      assert.equal(await p.page.locator('#graph g.layer-node[data-index="9"] .line-shape').textContent(), '128×20×20');
      // a burst of updates draws the newest
      const m = await p.renders();
      for (const c of [256, 384, 768]) {
        await p.send({
          type: 'graph',
          graph: textGraph(yaml.replace('[-1, 1, SPPF, [1024, 5]]', `[-1, 1, SPPF, [${c}, 5]]`), uri, 'yolov5n.yaml'),
          convention: 'thop',
          fileName: 'yolov5n.yaml',
        } satisfies HostMessage);
      }
      await p.page.waitForFunction(
        () => document.querySelector('#graph g.layer-node[data-index="9"] .line-shape')?.textContent === '192×20×20',
      );
      assert.ok((await p.renders()) > m);
      assert.equal(await transformOf(p), before);
    } finally {
      await p.page.close();
    }
  });

  test('layers with diagnostics are marked and show the message', async () => {
    const yaml = readFileSync(join(CORPUS, 'yolov5/models/yolov5n.yaml'), 'utf8').replace(
      '[[-1, 6], 1, Concat, [1]]',
      '[[-1, 60], 1, Concat, [1]]',
    );
    const graph = textGraph(yaml, 'file:///work/broken.yaml', 'broken.yaml');
    const broken = graph.nodes.find((n) => n.diagnostics.some((d) => d.severity === 'error'))!;
    assert.ok(broken, 'the core reports the broken from');
    const p = await openPanel(browser, server);
    try {
      await showGraph(p, graph, 'broken.yaml');
      await p.page.locator('button.tool', { hasText: 'Fit' }).click();
      const node = p.page.locator(`#graph g.layer-node[data-index="${broken.index}"]`);
      assert.match((await node.getAttribute('class'))!, /\bdiag-error\b/);
      assert.equal(await node.locator('.diag-marker.sev-error').count(), 1);
      const title = await node.locator('title').first().textContent();
      assert.ok(title!.includes(broken.diagnostics[0]!.message), title!);
      await node.locator('rect.box').click();
      assert.ok((await p.page.locator('.details .diagnostics').textContent())!.includes(broken.diagnostics[0]!.code));
      assert.equal(await p.page.locator('.status').getAttribute('data-level'), 'warning');
      await p.page.screenshot({ path: artifact('panel-diagnostics.png') });
    } finally {
      await p.page.close();
    }
  });

  test('table sorts by params, GFLOPs and output size; search marks matching layers', async () => {
    const rel = 'slimneck/gsconv-yolov5/models/slimneck-yolov5n.yaml';
    const ref = record(rel);
    const p = await openPanel(browser, server);
    try {
      await showGraph(p, corpusGraph(rel));
      const order = () =>
        p.page.locator('.layer-table tbody tr').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.index)));
      await p.page.locator('.layer-table button.sort', { hasText: 'params' }).click();
      const byParams = [...ref.layers].sort((a, b) => b.params! - a.params! || a.i - b.i).map((l) => l.i);
      assert.deepEqual(await order(), byParams);
      assert.equal(await p.page.locator('th[aria-sort="descending"]').textContent(), 'params');
      await p.page.locator('.layer-table button.sort', { hasText: 'params' }).click();
      assert.deepEqual(
        await order(),
        [...ref.layers].sort((a, b) => a.params! - b.params! || a.i - b.i).map((l) => l.i),
      );
      await p.page.locator('.layer-table button.sort', { hasText: 'output' }).click();
      const size = (l: RefRecord['layers'][number]) => (l.out_shape ?? l.out_shapes?.[0] ?? []).reduce((a, b) => a * b, 1);
      assert.deepEqual(
        await order(),
        [...ref.layers].sort((a, b) => size(b) - size(a) || a.i - b.i).map((l) => l.i),
      );
      await p.page.locator('.layer-table button.sort', { hasText: 'GFLOPs' }).click();
      const flops = await order();
      assert.equal(flops.length, ref.layers.length);
      const top = ref.layers.reduce((a, b) => ((b.flops ?? 0) > (a.flops ?? 0) ? b : a));
      assert.equal(flops[0], top.i, 'the layer with the most FLOPs first');
      // bars: the largest value has the full-width bar
      await p.page.locator('.layer-table button.sort', { hasText: 'params' }).click();
      assert.equal(
        await p.page
          .locator('.layer-table tbody tr')
          .first()
          .locator('.bar-params')
          .evaluate((e) => (e as HTMLElement).style.width),
        '100%',
      );

      await p.page.locator('input.search').fill('VoVGSCSP');
      const vov = ref.layers.filter((l) => l.module === 'VoVGSCSP').map((l) => l.i);
      assert.deepEqual(
        await p.page.locator('#graph g.layer-node.match').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-index')))),
        vov,
      );
      assert.equal(await p.page.locator('.layer-table tbody tr').count(), vov.length, 'the table shows the matches');
      await p.page.locator('input.search').fill('#13');
      assert.deepEqual(
        await p.page.locator('#graph g.layer-node.match').evaluateAll((els) => els.map((e) => e.getAttribute('data-index'))),
        ['13'],
      );
      await p.page.locator('input.search').fill('40x40');
      const at40 = ref.layers
        .filter((l) => [l.out_shape, ...(l.out_shapes ?? [])].some((x) => x && shapeText(x).includes('40×40')))
        .map((l) => l.i);
      assert.deepEqual(
        await p.page.locator('#graph g.layer-node.match').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-index')))),
        at40,
      );
      await p.page.locator('input.search').press('Enter');
      assert.equal(await p.page.locator('#graph g.layer-node.selected').getAttribute('data-index'), String(at40[0]));
      await p.page.screenshot({ path: artifact('panel-search.png') });
    } finally {
      await p.page.close();
    }
  });

  test('expand asks the host for submodules and draws them inside the node', async () => {
    const rel = 'slimneck/gsconv-yolov5/models/slimneck-yolov5n.yaml';
    const graph = corpusGraph(rel);
    const p = await openPanel(browser, server);
    try {
      await showGraph(p, graph);
      await p.page.locator('button.tool', { hasText: 'Fit' }).click();
      const node = p.page.locator('#graph g.layer-node[data-index="13"]');
      const h0 = Number(await node.locator('rect.box').getAttribute('height'));
      await node.locator('.expand-toggle').click();
      const ask = await lastPosted(p, 'expand');
      assert.deepEqual(ask, { type: 'expand', uri: graph.uri, index: 13 });
      const subs = submodulesOf(rel, 13);
      const n = await p.renders();
      await p.send({ type: 'submodules', uri: graph.uri, index: 13, nodes: subs, error: null } satisfies HostMessage);
      await p.waitRender(n);
      const rows = await node.locator('text.sub-row').allTextContents();
      assert.ok(rows.length >= subs.length);
      assert.match(rows[0]!, new RegExp(`^${subs[0]!.path}\\s+${subs[0]!.type}\\b`));
      assert.ok(Number(await node.locator('rect.box').getAttribute('height')) > h0, 'the node grew');
      assert.equal(await p.page.locator('#graph g.layer-node').count(), graph.nodes.length);
      // the expansion survives in the state (the panel saves it debounced, 100 ms after the change)
      await p.page.waitForFunction(() =>
        ((window as unknown as { __state: { expanded?: number[] } | null }).__state?.expanded ?? []).includes(13),
      );
      assert.deepEqual(((await p.savedState()) as { expanded: number[] }).expanded, [13]);
      await p.page.screenshot({ path: artifact('panel-expanded.png') });
    } finally {
      await p.page.close();
    }
  });

  test('export posts an SVG of the whole graph and a PNG', async () => {
    const graph = corpusGraph('yolov5/models/yolov5n.yaml');
    const p = await openPanel(browser, server);
    try {
      await showGraph(p, graph);
      await p.page.locator('button.tool', { hasText: 'SVG' }).click();
      const svg = await lastPosted(p, 'export');
      assert.ok(svg && svg.type === 'export' && svg.format === 'svg');
      assert.ok(svg.data.startsWith('<svg'));
      assert.equal((svg.data.match(/class="node layer-node/g) ?? []).length, graph.nodes.length);
      assert.ok(svg.data.includes('24  Detect'));
      assert.ok(!svg.data.includes('var(--vscode'), 'theme colours are resolved into the file');
      await p.page.locator('button.tool', { hasText: 'PNG' }).click();
      await p.page.waitForFunction(() =>
        (window as unknown as { __posted: { type: string; format?: string }[] }).__posted.some(
          (m) => m.type === 'export' && m.format === 'png',
        ),
      );
      const png = await lastPosted(p, 'export');
      assert.ok(png && png.type === 'export' && png.format === 'png');
      const bytes = Buffer.from(png.data.replace(/^data:image\/png;base64,/, ''), 'base64');
      assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.ok(bytes.length > 10_000);
    } finally {
      await p.page.close();
    }
  });

  test('compare view: per-stage and total deltas, and which layers differ (yolov5n vs slimneck-yolov5n)', async () => {
    const a = 'slimneck/gsconv-yolov5/models/yolov5n.yaml';
    const b = 'slimneck/gsconv-yolov5/models/slimneck-yolov5n.yaml';
    const ra = record(a);
    const rb = record(b);
    const p = await openPanel(browser, server);
    try {
      const n = await p.renders();
      await p.send({
        type: 'compare',
        left: corpusGraph(a),
        right: corpusGraph(b),
        leftName: 'yolov5n.yaml',
        rightName: 'slimneck-yolov5n.yaml',
        convention: 'thop',
      } satisfies HostMessage);
      await p.waitRender(n);
      const row = (stage: string) => p.page.locator(`.compare-stages tr[data-stage="${stage}"] td`).allTextContents();
      const total = await row('total');
      assert.equal(total[0], '1.87M');
      assert.equal(total[1], '1.9M');
      const dp = rb.params! - ra.params!;
      assert.match(total[2]!, new RegExp(`^\\+${(dp / 1000).toFixed(1)}K `));
      // backbones are identical: Δ 0
      const bb = await row('backbone');
      assert.match(bb[2]!, /^0 /);
      // the changed layers are exactly those whose module or args differ in the reference records
      const differ = ra.layers
        .filter((l, i) => l.module !== rb.layers[i]!.module || JSON.stringify(l.args) !== JSON.stringify(rb.layers[i]!.args))
        .map((l) => l.i);
      const marked = await p.page
        .locator('#cmp-right g.layer-node.diff-changed')
        .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-index'))));
      assert.deepEqual(marked, differ);
      assert.equal(await p.page.locator('.compare-diff tbody tr').count(), differ.length);
      assert.equal(await p.page.locator('#cmp-left g.layer-node').count(), ra.layers.length);
      assert.equal(await p.page.locator('#cmp-right g.layer-node').count(), rb.layers.length);
      // a click on either side reveals that side's document
      await p.page.locator('#cmp-right svg').focus();
      await p.page.keyboard.press('0');
      await p.page.locator('#cmp-right g.layer-node[data-index="13"] rect.box').click();
      const r = await lastPosted(p, 'reveal');
      assert.ok(r && r.type === 'reveal' && r.uri.endsWith('slimneck-yolov5n.yaml') && r.index === 13);
      await p.page.screenshot({ path: artifact('panel-compare.png'), fullPage: true });
    } finally {
      await p.page.close();
    }
  });

  test('profile: a progress bar while it runs, then time bars on the nodes and in the table, ranked by the PyTorch estimate', async () => {
    const graph = corpusGraph('yolov5/models/yolov5n.yaml');
    const p = await openPanel(browser, server);
    try {
      await showGraph(p, graph);
      await p.page.locator('button.tool', { hasText: 'Profile' }).click();
      assert.deepEqual(await lastPosted(p, 'profile'), { type: 'profile', uri: graph.uri });
      await p.send({ type: 'profileProgress', uri: graph.uri, done: 40, total: 100, message: 'run 4 of 10' } satisfies HostMessage);
      await p.page.waitForFunction(() => document.querySelector('.progress')?.getAttribute('aria-valuenow') === '40');
      assert.equal(await p.page.locator('.progress').isVisible(), true);
      // what the profiler returns (its own tests run it; here only the drawing of a result is under test)
      const result: ProfileResult = {
        uri: graph.uri,
        backend: 'wasm',
        backendDetail: 'wasm (SIMD, 2 threads)',
        threads: 2,
        imgsz: 640,
        batch: 1,
        runs: 10,
        layers: graph.nodes.map((n) => ({
          index: n.index,
          module: n.module,
          ms: 0.5 + (n.index % 5),
          outShape: n.outShape,
          staticShape: n.outShape,
          shapeMatches: true,
          // the estimate ranks otherwise than the measured times (layer 3 first), and layer 7 has none
          torchMs: n.index === 7 ? null : n.index === 3 ? 9 : 1,
        })),
        totalMs: graph.nodes.reduce((s, n) => s + 0.5 + (n.index % 5), 0),
        throughput: 1000 / 62.5,
        peakMemoryMB: 412,
        torchEstimate: 'PyTorch 1.13.1 estimate: fitted on 3 models',
        error: null,
        warnings: [],
      };
      const torchSum = result.layers.reduce((s, l) => s + (l.torchMs ?? 0), 0);
      const torchShare = (ms: number) => `${((100 * ms) / torchSum).toFixed(1)}%`;
      const n = await p.renders();
      await p.send({ type: 'profile', result } satisfies HostMessage);
      await p.waitRender(n);
      assert.equal(await p.page.locator('.progress').isVisible(), false);
      assert.equal(await p.page.locator('#graph .profile-bar').count(), graph.nodes.length);
      // each layer's ms and its share of the summed layer times, on the node and in the table
      // and its share of the summed PyTorch estimate
      const share = `${((100 * 4.5) / result.totalMs).toFixed(1)}%`;
      const nodeBar = (i: number) => p.page.locator(`#graph g.layer-node[data-index="${i}"] .profile-bar`);
      assert.equal(await nodeBar(4).locator('text').textContent(), `4.50 ms · ${share} · PyTorch≈ ${torchShare(1)}`);
      assert.equal(await nodeBar(7).locator('text').textContent(), `2.50 ms · ${((100 * 2.5) / result.totalMs).toFixed(1)}% · PyTorch≈ –`);
      assert.equal(await p.page.locator('.layer-table tbody tr[data-index="4"] td.share').textContent(), share);
      const headers = await p.page.locator('.layer-table thead th').allTextContents();
      assert.deepEqual(headers.slice(-3), ['ms', 'share', 'PyTorch≈']);
      const torchHeader = p.page.locator('.layer-table thead th').last();
      assert.match((await torchHeader.getAttribute('title'))!, /PyTorch 1\.13\.1 estimate: fitted on 3 models/);
      const torchCell = (i: number) => p.page.locator(`.layer-table tbody tr[data-index="${i}"] td`).nth(headers.length - 1);
      assert.equal(await torchCell(3).textContent(), torchShare(9));
      assert.equal(await torchCell(4).textContent(), torchShare(1));
      assert.equal(await torchCell(7).textContent(), '–');
      // the node bars rank as PyTorch would: layer 3's (the estimate's largest) is the longest, not layer 4's (the engine's)
      const fillWidth = async (i: number) => Number(await nodeBar(i).locator('rect.fill').getAttribute('width'));
      assert.ok((await fillWidth(3)) > 4 * (await fillWidth(4)), `${await fillWidth(3)} vs ${await fillWidth(4)}`);
      assert.match((await p.page.locator('.profile-summary').getAttribute('title'))!, /PyTorch 1\.13\.1 estimate/);
      // the engine and the thread count that produced the times
      assert.match(
        (await p.page.locator('.profile-summary').textContent())!,
        /^wasm \(SIMD, 2 threads\) · 62\.5 ms per batch · 16\.0 img\/s · batch 1 · 10 runs/,
      );
      await p.page.locator('.layer-table button.sort', { hasText: /^ms$/ }).click();
      assert.equal(await p.page.locator('.layer-table tbody tr').first().getAttribute('data-index'), '4');
      await p.page.locator('.layer-table button.sort', { hasText: 'PyTorch≈' }).click();
      assert.equal(await p.page.locator('.layer-table tbody tr').first().getAttribute('data-index'), '3');
      await p.page.screenshot({ path: artifact('panel-profile.png') });
      // a failed run says why, and a redraw of the graph (the user typed) does not wipe that
      const f = await p.renders();
      await p.send({
        type: 'profile',
        result: { ...result, layers: [], error: 'estimated 9,000 MB is over yolo.profile.memoryLimitMB (2,048 MB)' },
      } satisfies HostMessage);
      await p.waitRender(f);
      const g2 = await p.renders();
      await p.send({ type: 'graph', graph, convention: 'thop', fileName: 'model.yaml' } satisfies HostMessage);
      await p.waitRender(g2);
      assert.equal(
        await p.page.locator('.profile-summary').textContent(),
        'profile failed: estimated 9,000 MB is over yolo.profile.memoryLimitMB (2,048 MB)',
      );
      assert.equal(await p.page.locator('.profile-summary').getAttribute('data-level'), 'error');
    } finally {
      await p.page.close();
    }
  });

  test('state is restored after a reload: graph, zoom, selection, sort, search', async () => {
    const graph = corpusGraph('yolov5/models/yolov5n.yaml');
    const p = await openPanel(browser, server);
    let saved: unknown;
    let transform = '';
    try {
      await showGraph(p, graph, 'yolov5n.yaml');
      await p.page.locator('button.tool', { hasText: 'Fit' }).click();
      await p.page.locator('#graph g.layer-node[data-index="6"] rect.box').click();
      await p.page.keyboard.press('-');
      await p.page.locator('.layer-table button.sort', { hasText: 'GFLOPs' }).click();
      await p.page.locator('input.search').fill('C3');
      transform = await transformOf(p);
      await p.page.waitForFunction(() => {
        const s = (window as unknown as { __state: { search?: string; selected?: number } | null }).__state;
        return !!s && s.search === 'C3' && s.selected === 6;
      });
      saved = await p.savedState();
    } finally {
      await p.page.close();
    }
    // a new page (the panel after a reload) gets that state and no message at all from the host
    const q = await openPanel(browser, server, { state: saved });
    try {
      await q.page.waitForSelector('#graph g.layer-node');
      assert.equal(await q.page.locator('#graph g.layer-node').count(), graph.nodes.length);
      assert.equal(await transformOf(q), transform);
      assert.equal(await q.page.locator('#graph g.layer-node.selected').getAttribute('data-index'), '6');
      assert.equal(await q.page.locator('input.search').inputValue(), 'C3');
      assert.equal(await q.page.locator('#graph g.layer-node.match').count(), graph.nodes.filter((n) => n.module === 'C3').length);
      assert.equal(await q.page.locator('th[aria-sort="descending"]').textContent(), 'GFLOPs');
      assert.equal(await q.page.locator('.title').textContent(), 'yolov5n.yaml');
    } finally {
      await q.page.close();
    }
  });

  test('invalid messages are ignored and logged: unknown type, bad fields, giant payload', async () => {
    const graph = corpusGraph('yolov5/models/yolov5n.yaml');
    const p = await openPanel(browser, server);
    try {
      await showGraph(p, graph);
      const logsBefore = (await p.posted()).filter((m) => m.type === 'log').length;
      const bad: unknown[] = [
        { type: 'launchMissiles' },
        null,
        'graph',
        { type: 'cursor', uri: graph.uri, position: { line: -1, character: 0 } },
        {
          type: 'graph',
          graph: { ...graph, nodes: graph.nodes.map((n, i) => (i === 3 ? { ...n, index: 7 } : n)) },
          convention: 'thop',
          fileName: 'x',
        },
        {
          type: 'graph',
          graph: { ...graph, edges: [...graph.edges, { from: 20, to: 5, slot: 0, shape: null }] },
          convention: 'thop',
          fileName: 'x',
        },
        { type: 'graph', graph, convention: 'metric', fileName: 'x' },
        { type: 'status', level: 'info', message: 'x'.repeat(300_000) },
        {
          type: 'submodules',
          uri: graph.uri,
          index: 1,
          nodes: Array.from({ length: 20_000 }, () => ({
            path: 'a'.repeat(1000),
            type: 'Conv2d',
            params: 1,
            outShape: null,
            flops: null,
            children: [],
          })),
          error: null,
        },
      ];
      for (const m of bad) await p.send(m);
      await p.page.waitForFunction(
        (n) => (window as unknown as { __posted: { type: string }[] }).__posted.filter((m) => m.type === 'log').length >= n,
        logsBefore + bad.length,
      );
      const logs = (await p.posted()).filter((m): m is Extract<WebviewMessage, { type: 'log' }> => m.type === 'log').slice(logsBefore);
      assert.equal(logs.length, bad.length);
      for (const l of logs) assert.match(l.message, /^webview ignored a message: /);
      assert.ok(
        logs.some((l) => /larger than/.test(l.message)),
        'the giant payload is refused for its size',
      );
      // nothing changed
      assert.equal(await p.page.locator('#graph g.layer-node').count(), graph.nodes.length);
      assert.equal(await p.page.locator('#graph g.layer-node[data-index="3"] .line-title').textContent(), '3  Conv');
      assert.deepEqual(p.pageErrors, []);
    } finally {
      await p.page.close();
    }
  });

  test('high-contrast theme and a 2,000-layer model', async () => {
    const p = await openPanel(browser, server, { theme: HIGH_CONTRAST_THEME, bodyClass: 'vscode-high-contrast' });
    try {
      await showGraph(p, corpusGraph('slimneck/gsconv-yolov5/models/SNc-yolov5s.yaml'));
      const stroke = await p.page
        .locator('#graph g.layer-node rect.box')
        .first()
        .evaluate((e) => getComputedStyle(e).strokeWidth);
      assert.equal(stroke, '2px', 'high-contrast rules apply');
      await p.page.screenshot({ path: artifact('panel-high-contrast.png') });
      const big = toGraphResult(resolve(syntheticYaml(2000), { imgsz: 64, fileName: 'synthetic.yaml' }), 'file:///work/synthetic.yaml', 1);
      assert.equal(big.nodes.length, 2000);
      await showGraph(p, big, 'synthetic.yaml');
      assert.equal(await p.page.locator('#graph g.layer-node').count(), 2000);
      assert.equal(await p.page.locator('#graph path.edge').count(), big.edges.length);
      const timings = JSON.parse((await p.page.evaluate(() => document.body.dataset.timings)) ?? '{}') as { layoutMode: string };
      assert.equal(timings.layoutMode, 'worker', 'the layout ran in the worker');
      await p.page.locator('button.tool', { hasText: 'Fit' }).click();
      await p.page.screenshot({ path: artifact('panel-2000-layers.png') });
    } finally {
      await p.page.close();
    }
  });
});

test('the stylesheet uses only --vscode-* colours', () => {
  const css = readFileSync(join(ROOT, 'webview/src/style.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  for (const v of css.matchAll(/var\((--[\w-]+)/g)) assert.match(v[1]!, /^--(vscode-|cat-|node-font)/);
  // every declaration's value, with the variable names taken out, holds no colour of its own
  const literal = new RegExp(
    [
      String.raw`#[0-9a-f]{3,8}\b|\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\(`,
      String.raw`\b(?:white|black|red|green|blue|gr[ae]y|yellow|orange|purple|transparent|currentcolor)\b`,
    ].join('|'),
    'i',
  );
  const found: string[] = [];
  for (const d of css.matchAll(/([\w-]+)\s*:\s*([^;{}]+)/g)) {
    const value = d[2]!.replace(/--[\w-]+/g, '');
    if (literal.test(value)) found.push(`${d[1]}: ${d[2]}`);
  }
  assert.deepEqual(found, []);
});

/** Submodules of a layer, as a `yolo/submodules` answer: the layer's module tree from the core. */
function submodulesOf(rel: string, index: number): import('../../server/src/protocol.ts').SubmoduleNode[] {
  const model = resolve(readFileSync(join(CORPUS, rel), 'utf8'), { fileName: rel.split('/').pop() });
  const mod = model.layers[index]!.mod!;
  type M = typeof mod;
  const walk = (m: M, path: string): import('../../server/src/protocol.ts').SubmoduleNode[] =>
    m.children.map(([name, c]) => ({
      path: path ? `${path}.${name}` : name,
      type: c.type,
      params: countParams(c),
      outShape: null,
      flops: null,
      children: walk(c, path ? `${path}.${name}` : name),
    }));
  const countParams = (m: M): number => m.ownParams + m.children.reduce((s, [, c]) => s + countParams(c), 0);
  return walk(mod, '');
}

export type { GraphResult };
