/**
 * bench/resolve: median time to resolve + diagnose every corpus YAML, and synthetic 1,000- and 5,000-layer
 * files, side by side in one run. Uses the bundled core (dist/core.js, as the server ships it).
 * Cold = the first resolve of that text in this process; warm = the median of repeats (the per-layer build
 * cache is warm, as while typing in the editor). The YAML columns keep the fast reader (core/yaml-fast.ts) honest:
 * the model document parsed as shipped (the fast reader, or the `yaml` package where it gives up) next to the same
 * document parsed with the `yaml` package alone, timed in alternation.
 * Usage: node scripts/build.mjs && node --import tsx bench/resolve.ts [--runs N]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { createRequire } from 'node:module';
import { syntheticYaml } from './synthetic.ts';
import { CORPUS, yamlFilesUnder } from '../test/support/reference.ts';
import { median } from './stats.ts';

const require = createRequire(import.meta.url);
const core = require('../dist/core.js') as typeof import('../server/src/core/index.ts');

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 50;

function time(
  text: string,
  fileName: string,
  runs: number,
  scale?: string,
): { cold: number; warm: number; editor: number; parse: number; parseYaml: number; fast: boolean; layers: number; diags: number } {
  const opts = { fileName, ...(scale ? { scale } : {}) };
  let t = performance.now();
  const m = core.resolve(text, opts);
  const cold = performance.now() - t;
  const warm: number[] = [];
  const editor: number[] = [];
  const parse: number[] = [];
  const parseYaml: number[] = [];
  for (let k = 0; k < runs; k++) {
    t = performance.now();
    const model = core.resolve(text, opts);
    warm.push(performance.now() - t);
    // what the language server adds on top: stale index comments, dead branches, dialect and raw-channel warnings
    t = performance.now();
    core.modelDiagnostics(model);
    editor.push(performance.now() - t);
    // the two parsers alternate (which goes first swaps each run): a paired comparison on a shared, noisy machine
    const both = [
      () => {
        t = performance.now();
        core.parseModelDoc(text);
        parse.push(performance.now() - t);
      },
      () => {
        t = performance.now();
        core.parseModelDoc(text, { fullParser: true });
        parseYaml.push(performance.now() - t);
      },
    ];
    for (const f of k % 2 ? both.reverse() : both) f();
  }
  return {
    cold,
    warm: median(warm),
    editor: median(editor),
    parse: median(parse),
    parseYaml: median(parseYaml),
    fast: core.fastYaml(text) !== null,
    layers: m.layers.length,
    diags: m.diagnostics.length,
  };
}

const rows: { name: string; r: ReturnType<typeof time> }[] = [];
// warm the JIT on something unrelated first, so the first corpus file is not charged for it
for (let k = 0; k < 200; k++) core.resolve(syntheticYaml(30), { fileName: 'warmup.yaml' });
for (const f of yamlFilesUnder(CORPUS)) rows.push({ name: relative(CORPUS, f), r: time(readFileSync(f, 'utf8'), f, RUNS) });
// the issue's yardstick: a yolov8x-sized model (yolov8.yaml at scale x), next to its other scales
const v8 = yamlFilesUnder(CORPUS).find((f) => /v8\/yolov8\.yaml$/.test(f))!;
for (const scale of ['n', 's', 'm', 'l', 'x'])
  rows.push({ name: `yolov8.yaml @${scale}`, r: time(readFileSync(v8, 'utf8'), v8, RUNS, scale) });
// the default model of ultralytics 8.4 (end-to-end heads), at its scales
const v26 = yamlFilesUnder(CORPUS).find((f) => /26\/yolo26\.yaml$/.test(f))!;
for (const scale of ['n', 'x']) rows.push({ name: `yolo26.yaml @${scale}`, r: time(readFileSync(v26, 'utf8'), v26, RUNS, scale) });
// the big files get at least 21 repeats: a median of 5 is mostly GC timing
for (const n of [1000, 5000])
  rows.push({
    name: `synthetic ${n} layers`,
    r: time(syntheticYaml(n), `synthetic-${n}.yaml`, Math.max(21, Math.round(RUNS / (n / 100)))),
  });

const w = Math.max(...rows.map((x) => x.name.length));
console.log(
  `${'file'.padEnd(w)}  layers  cold ms  warm ms (median)  of which YAML parse ms  + editor warnings ms  ` +
    `parse with the yaml package ms  fast reader`,
);
for (const { name, r } of rows)
  console.log(
    `${name.padEnd(w)}  ${String(r.layers).padStart(6)}  ${r.cold.toFixed(2).padStart(7)}  ${r.warm.toFixed(3).padStart(16)}  ` +
      `${r.parse.toFixed(3).padStart(22)}  ${r.editor.toFixed(3).padStart(20)}  ${r.parseYaml.toFixed(3).padStart(30)}  ` +
      `${r.fast ? `${(r.parseYaml / r.parse).toFixed(1)}× faster` : 'gave up'}`,
  );
const s1 = rows.find((x) => x.name === 'synthetic 1000 layers')!.r;
const s5 = rows.find((x) => x.name === 'synthetic 5000 layers')!.r;
console.log(`\n5,000 / 1,000 layers warm time ratio: ${(s5.warm / s1.warm).toFixed(2)} (linear = 5.00)`);
const v8x = rows.find((x) => x.name === 'yolov8.yaml @x')!.r;
console.log(`yolov8x (yolov8.yaml @x): warm ${v8x.warm.toFixed(3)} ms, cold ${v8x.cold.toFixed(2)} ms (target: under 1 ms)`);
const y26x = rows.find((x) => x.name === 'yolo26.yaml @x')!.r;
console.log(`yolo26x (yolo26.yaml @x): warm ${y26x.warm.toFixed(3)} ms, cold ${y26x.cold.toFixed(2)} ms (target: under 1 ms)`);
console.log(
  `5,000 layers: warm ${s5.warm.toFixed(1)} ms, cold ${s5.cold.toFixed(1)} ms (target: under 50 ms); with the language server's own ` +
    `warnings ${(s5.warm + s5.editor).toFixed(1)} ms`,
);
const corpusRows = rows.filter((x) => !/^yolo(v8|26)\.yaml @/.test(x.name) && !x.name.startsWith('synthetic'));
const sum = (f: (r: (typeof rows)[number]['r']) => number) => corpusRows.reduce((a, x) => a + f(x.r), 0);
console.log(
  `YAML parse of the ${corpusRows.length} corpus files (the fast reader took ${corpusRows.filter((x) => x.r.fast).length}): ` +
    `${sum((r) => r.parse).toFixed(2)} ms as shipped, ${sum((r) => r.parseYaml).toFixed(2)} ms with the yaml package alone ` +
    `(median per file ${median(corpusRows.map((x) => x.r.parseYaml / x.r.parse)).toFixed(1)}× faster); ` +
    `5,000 layers: ${s5.parse.toFixed(1)} ms vs ${s5.parseYaml.toFixed(1)} ms`,
);
