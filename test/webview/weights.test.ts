/**
 * The graph coloured by the pretrained checkpoint, in headless Chromium with the real bundle: the graph of an edited
 * model planned against a checkpoint fixture (as the server sends it for `yolo.weights`), each layer tinted by
 * whether its tensors load, partly load, mismatch or are new, the detail on hover (the node's title) and in the
 * details pane, and the legend with the framework's N/M. The screenshot is the README's.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { artifact, launchChromium, openPanel, showGraph, startPanelServer, unavailable, type PanelServer, ROOT } from './harness.ts';
import { resolve } from '../../server/src/core/resolve.ts';
import { toGraphResult, withWeights } from '../../server/src/convert.ts';
import { frameworkByName } from '../../server/src/core/framework/index.ts';
import { readCheckpoint, stateDictOf } from '../../server/src/core/weights/index.ts';
import { planWeights } from '../../server/src/core/features/weights.ts';
import type { GraphResult } from '../../server/src/protocol.ts';

const skip = unavailable() ?? false;

/** A transfer case's model planned against its checkpoint, as `yolo/graph` answers with `yolo.weights` set. */
function plannedGraph(caseName: string, nc?: number): GraphResult {
  const dir = join(ROOT, 'test/fixtures/transfer', caseName);
  const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { framework: string; checkpoint: string; nc: number };
  const framework = frameworkByName(e.framework)!;
  const model = resolve(readFileSync(join(dir, 'model.yaml'), 'utf8'), { framework: framework.id, nc: nc ?? e.nc, fileName: 'model.yaml' });
  const read = readCheckpoint(new Uint8Array(readFileSync(join(dir, e.checkpoint))));
  assert.ok(read.ok);
  const sd = stateDictOf(read.value, { entry: framework.loader.entry });
  assert.ok(sd.ok);
  const name = e.checkpoint.split('/').pop()!;
  return withWeights(toGraphResult(model, `file:///work/${caseName}.yaml`, 1), planWeights(model, sd.value.entries, name));
}

/** The fill of a node's box as Chromium computed it, as [r, g, b] in 0..1. */
async function boxFill(page: import('playwright-core').Page, index: number): Promise<number[]> {
  const css = await page.locator(`#graph g.layer-node[data-index="${index}"] rect.box`).evaluate((e) => getComputedStyle(e).fill);
  const nums = (css.match(/[\d.]+/g) ?? []).map(Number);
  // `color(srgb r g b)` (0..1) or `rgb(r, g, b)` (0..255)
  return css.startsWith('rgb') ? nums.slice(0, 3).map((x) => x / 255) : nums.slice(0, 3);
}

describe('the graph coloured by pretrained weights', { skip }, () => {
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

  test('each layer tinted by its verdict, the detail on hover and in the details pane, the N/M in the legend', async () => {
    // the Slim-neck neck swapped in, trained on 3 classes: the backbone loads, the neck partly, GSConvs are new, the head mismatches
    const graph = plannedGraph('fork-slimneck-swap', 3);
    const p = await openPanel(browser, server, { viewport: { width: 1400, height: 1960 } });
    try {
      await showGraph(p, graph, 'slimneck-yolov5n.yaml');
      const classOf = (i: number) => p.page.locator(`#graph g.layer-node[data-index="${i}"]`).getAttribute('class');
      const verdicts: [number, string | null][] = [
        [0, 'load'],
        [9, 'load'],
        [10, 'new'],
        [11, null], // nn.Upsample: no tensors, no verdict
        [13, 'partial'],
        [24, 'mismatch'],
      ];
      for (const [i, want] of verdicts) {
        const cls = (await classOf(i)) ?? '';
        assert.equal(/weights-(\w+)/.exec(cls)?.[1] ?? null, want, `layer ${i}: ${cls}`);
      }
      // four different tints, none of them the plain box's
      const fills = await Promise.all([0, 13, 24, 10, 11].map((i) => boxFill(p.page, i)));
      const keys = fills.map((f) => f.map((x) => x.toFixed(3)).join(','));
      assert.equal(new Set(keys).size, 5, `distinct fills: ${keys.join(' | ')}`);
      const [load, , mismatch, fresh] = fills as [number[], number[], number[], number[]];
      assert.ok(load[1]! > load[0]!, 'loads: green over red');
      assert.ok(mismatch[0]! > mismatch[1]! && mismatch[0]! > mismatch[2]!, 'mismatch: red');
      assert.ok(fresh[2]! > fresh[0]!, 'new: blue over red');

      // hover: the node's title says how many tensors load and which do not, with both shapes
      const title = await p.page.locator('#graph g.layer-node[data-index="24"] g.content > title').textContent();
      assert.match(title!, /weights: 0\/6 tensors load: shape mismatch/);
      assert.match(title!, /m\.0\.weight \[24, 16, 1, 1\]: the checkpoint's is \[255, 16, 1, 1\]/);
      const partialTitle = await p.page.locator('#graph g.layer-node[data-index="13"] g.content > title').textContent();
      assert.match(partialTitle!, /weights: 18\/54 tensors load: partly load/);
      const aria = await p.page.locator('#graph g.layer-node[data-index="10"]').getAttribute('aria-label');
      assert.match(aria!, /pretrained weights: new \(not in the checkpoint\) \(0\/12\)/);

      // the legend: the framework's N/M and what the colours mean
      const legend = p.page.locator('.weights-legend');
      assert.equal(await legend.isVisible(), true);
      const text = (await legend.textContent()) ?? '';
      assert.match(text, /weights gsconv-yolov5t\.pt: 270\/469 load/);
      assert.match(text, /all load.*partly load.*shape mismatch.*new \(not in the checkpoint\)/);
      assert.match((await legend.getAttribute('title')) ?? '', /Transferred 270\/469 items from gsconv-yolov5t\.pt/);

      // selecting a layer shows the same detail in the pane
      await p.page.locator('#graph g.layer-node[data-index="24"]').dispatchEvent('click');
      const pane = (await p.page.locator('.details').textContent()) ?? '';
      assert.match(pane, /weights.*0\/6 tensors load: shape mismatch/);
      assert.match(pane, /m\.0\.weight \[24, 16, 1, 1\]: the checkpoint's is \[255, 16, 1, 1\]/);
      await p.page.locator('#graph g.layer-node[data-index="13"]').dispatchEvent('click');
      // the whole model in view for the picture
      await p.page.getByRole('button', { name: 'fit the graph to the view (0)' }).click();
      const shot = artifact('panel-weights.png');
      await p.page.screenshot({ path: shot });
      if (process.env.UPDATE_README_IMAGES) copyFileSync(shot, join(ROOT, 'images/graph-weights.png'));
      assert.deepEqual(p.pageErrors, []);
    } finally {
      await p.page.close();
    }
  });

  test('a checkpoint that could not be read: the legend says why, no node is tinted; a graph without weights has no legend', async () => {
    const base = plannedGraph('v5-identical');
    const unread: GraphResult = {
      ...base,
      nodes: base.nodes.map((n) => ({ ...n, weights: null })),
      weights: {
        name: 'yolov5s.pt',
        transferred: null,
        total: null,
        log: null,
        message: 'yolov5s.pt: no such file',
        firstMiss: null,
        remapTransferred: null,
      },
    };
    const p = await openPanel(browser, server);
    try {
      await showGraph(p, unread);
      assert.match((await p.page.locator('.weights-legend').textContent()) ?? '', /weights yolov5s\.pt: yolov5s\.pt: no such file/);
      assert.equal(await p.page.locator('#graph g[class*="weights-"]').count(), 0);
      await showGraph(p, { ...base, nodes: base.nodes.map(({ weights: _w, ...n }) => n), weights: undefined });
      assert.equal(await p.page.locator('.weights-legend').isVisible(), false);
      assert.deepEqual(p.pageErrors, []);
    } finally {
      await p.page.close();
    }
  });
});
