/**
 * bench/webview: the graph panel in headless Chromium (the real bundle, shell and CSP, as the tests load it).
 * For yolov5n, yolov8x-seg, the corpus model with the most layers and a 2,000-layer synthetic model, in one run:
 *  - first render: a fresh panel receives the graph; time from the message to the painted frame after the draw
 *    (validation, measuring, layout in the worker, SVG, style and paint), median over fresh panels; and the time
 *    until the side table and details are filled in too (they follow the graph's frame);
 *  - update: the same panel receives an edited model (one channel count changed, so shapes and box widths
 *    change and the layout runs again), median over updates;
 *  - pan/zoom: frame times while wheel-zooming and dragging over the drawn graph.
 * Times are measured inside the page (performance.now), so the test driver's round trips are not counted.
 * Usage: npm run bench:webview  [-- --runs N]
 */
import { readFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { launchChromium, openPanel, startPanelServer, type PanelPage } from '../test/webview/harness.ts';
import { syntheticYaml } from './synthetic.ts';
import { CORPUS } from '../test/support/reference.ts';
import { resolve } from '../server/src/core/resolve.ts';
import { toGraphResult } from '../server/src/convert.ts';
import type { GraphResult } from '../server/src/protocol.ts';
import { median, quantile } from './stats.ts';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;

interface Case {
  name: string;
  text: string;
  edited: string;
  fileName: string;
  imgsz?: number;
  scale?: string;
  target: number;
}

const corpus = (rel: string) => readFileSync(join(CORPUS, rel), 'utf8');
/** Change the first channel count of the layer that has `marker` in its row (the edit a user types). */
function edit(text: string, marker: RegExp, to: (c: number) => number): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => marker.test(l));
  if (i < 0) throw new Error(`no line matches ${marker}`);
  lines[i] = lines[i]!.replace(/\[(\d+)/, (_m, c: string) => `[${to(Number(c))}`);
  return lines.join('\n');
}

const v5n = corpus('yolov5/models/yolov5n.yaml');
const v8seg = corpus('slimneck/gsconv-yolov8_9_10_11/ultralytics/cfg/models/v8/yolov8-seg.yaml');
const p7 = corpus('slimneck/gsconv-scaled-yolov4/models/yolov4-p7.yaml');
const syn = syntheticYaml(2000);
const CASES: Case[] = [
  { name: 'yolov5n', text: v5n, edited: edit(v5n, /SPPF/, (c) => c / 2), fileName: 'yolov5n.yaml', target: 100 },
  { name: 'yolov8x-seg', text: v8seg, edited: edit(v8seg, /SPPF/, (c) => c / 2), fileName: 'yolov8x-seg.yaml', scale: 'x', target: 100 },
  { name: 'yolov4-p7 (54 layers)', text: p7, edited: edit(p7, /SPPCSP/, (c) => c / 2), fileName: 'yolov4-p7.yaml', target: 100 },
  {
    name: 'synthetic 2,000 layers',
    text: syn,
    edited: edit(syn, /C3, \[256/, (c) => c * 2),
    fileName: 'synthetic.yaml',
    imgsz: 64,
    target: 1000,
  },
];

function graph(c: Case, text: string, version: number): GraphResult {
  const opts = { fileName: c.fileName, ...(c.imgsz ? { imgsz: c.imgsz } : {}), ...(c.scale ? { scale: c.scale } : {}) };
  return toGraphResult(resolve(text, opts), `file:///bench/${c.fileName}`, version);
}

/**
 * Post a graph inside the page and time (a) until the frame after the graph is drawn was painted, (b) until the
 * panel is complete (side table and details filled in, after that frame).
 */
async function timedDraw(
  p: PanelPage,
  g: GraphResult,
  fileName: string,
): Promise<{ ms: number; completeMs: number; timings: Record<string, number | string> }> {
  return p.page.evaluate(
    `(async (msg) => {
      const seq = (k) => Number(document.body.dataset[k] || 0);
      const graphBefore = seq('graphSeq');
      const renderBefore = seq('renderSeq');
      const t0 = performance.now();
      window.postMessage(msg, '*');
      const until = (pred) => new Promise((resolve) => {
        if (pred()) return resolve();
        const obs = new MutationObserver(() => { if (pred()) { obs.disconnect(); resolve(); } });
        obs.observe(document.body, { attributes: true });
      });
      await until(() => seq('graphSeq') > graphBefore);
      // two frames: the first runs style and layout of the new SVG, the second starts after it was painted
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const ms = performance.now() - t0;
      await until(() => seq('renderSeq') > renderBefore);
      return { ms, completeMs: performance.now() - t0, timings: JSON.parse(document.body.dataset.timings || '{}') };
    })(${JSON.stringify({ type: 'graph', graph: g, convention: 'ultralytics-thop', fileName })})`,
  );
}

/** Frame times while zooming with the wheel and panning with the mouse over the graph. */
async function panZoom(p: PanelPage): Promise<{ median: number; p95: number; frames: number }> {
  const box = (await p.page.locator('#graph svg').boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await p.page.mouse.move(cx, cy);
  await p.page.evaluate(`(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (t) => { window.__frames.push(t - last); last = t; if (window.__frames.length < 100000) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  })()`);
  for (let i = 0; i < 20; i++) await p.page.mouse.wheel(0, i < 10 ? -120 : 120);
  await p.page.mouse.down();
  for (let i = 0; i < 40; i++) await p.page.mouse.move(cx + Math.sin(i / 6) * 200, cy + Math.cos(i / 6) * 150);
  await p.page.mouse.up();
  const frames = (await p.page.evaluate('window.__frames.splice(2)')) as number[];
  return { median: median(frames), p95: quantile(frames, 0.95), frames: frames.length };
}

const fmt = (ms: number) => `${ms.toFixed(1).padStart(7)} ms`;

async function main(): Promise<void> {
  const server = await startPanelServer();
  const browser = await launchChromium();
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  console.log(
    `graph panel in Chromium ${browser.version()} (headless, software rendering), ${RUNS} runs each; ${cpus().length} cores, load ` +
      `average ${load()}\n`,
  );
  try {
    for (const c of CASES) {
      const g0 = graph(c, c.text, 1);
      const g1 = graph(c, c.edited, 2);
      const g2 = graph(c, c.text, 3);
      const firsts: number[] = [];
      const complete: number[] = [];
      const updates: number[] = [];
      let lastFirst: Record<string, number | string> = {};
      let lastUpdate: Record<string, number | string> = {};
      let pz = { median: 0, p95: 0, frames: 0 };
      for (let r = 0; r < RUNS; r++) {
        const p = await openPanel(browser, server);
        // the panel is open and idle (its worker started) before the graph arrives, as in VS Code
        await p.page.waitForTimeout(300);
        const first = await timedDraw(p, g0, c.fileName);
        firsts.push(first.ms);
        complete.push(first.completeMs);
        lastFirst = first.timings;
        for (let u = 0; u < 2; u++) {
          const up = await timedDraw(p, u % 2 ? g2 : g1, c.fileName);
          updates.push(up.ms);
          lastUpdate = up.timings;
        }
        if (r === RUNS - 1) pz = await panZoom(p);
        await p.page.close();
      }
      const f = median(firsts);
      const u = median(updates);
      const ok = (ms: number) => (ms < c.target ? 'ok' : 'MISSED');
      const line =
        `${c.name.padEnd(24)} ${String(g0.nodes.length).padStart(5)} nodes ${String(g0.edges.length).padStart(5)} edges   ` +
        `first render ${fmt(f)} [${ok(f)} < ${c.target} ms] (with the table ${fmt(median(complete))})   update ${fmt(u)} [${ok(u)}]   ` +
        `pan/zoom frame median ${pz.median.toFixed(1)} ms, p95 ${pz.p95.toFixed(1)} ms (${pz.frames} frames)`;
      console.log(line);
      console.log(`${''.padEnd(24)}   last first render: ${JSON.stringify(lastFirst)}`);
      console.log(`${''.padEnd(24)}   last update:       ${JSON.stringify(lastUpdate)}`);
    }
    console.log(`\nload average at the end: ${load()} (other processes share these cores: compare runs at similar load)`);
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
