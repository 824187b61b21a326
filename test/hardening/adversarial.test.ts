/**
 * Hostile and absurd input, each with the clear diagnostic it must get, fast, with nothing run and nothing
 * crashed. Extends test/core/bad-input.test.ts (which covers the basic alias bomb, the 10 MB refusal, bracket
 * nesting in a layer, n: 1e12, width_multiple: 1e9, NaN multiples, BOM+CRLF, multi-document and a duplicate nc)
 * without repeating it. Times are CPU times, so that other work on a shared machine does not fail them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolve, type ResolveOptions } from '../../server/src/core/resolve.ts';
import type { Model } from '../../server/src/core/model.ts';
import { graphOf } from '../../server/src/core/features/graph.ts';
import { toGraphResult } from '../../server/src/convert.ts';
import { recordJson } from '../../server/src/core/summary.ts';
import { LineIndex } from '../../server/src/core/lines.ts';
import { hover } from '../../server/src/core/features/hover.ts';
import { completions } from '../../server/src/core/features/completion.ts';
import { signatureHelp } from '../../server/src/core/features/signatureHelp.ts';
import { codeActions } from '../../server/src/core/features/codeActions.ts';
import { modelDiagnostics } from '../../server/src/core/features/diagnostics.ts';
import { inlayHints } from '../../server/src/core/features/inlayHints.ts';
import { assertFiniteTree, checkModel, cpuMs } from './fuzz-harness.ts';
import { V5_BODY, V5_HEADER } from '../support/fixtures.ts';

const HEALTHY = V5_HEADER + V5_BODY;
const UL_HEADER = 'nc: 80\nscales:\n  n: [0.33, 0.25, 1024]\n';

/** Resolves within `maxMs` of CPU, checks the model is well-formed, returns it. */
function run(text: string, maxMs = 500, opts: ResolveOptions = {}): Model {
  const { result: model, ms } = cpuMs(() => resolve(text, opts));
  assert.ok(ms < maxMs, `resolve took ${ms.toFixed(0)} ms of CPU (bound ${maxMs})`);
  checkModel(model, text);
  return model;
}

/** The diagnostic with `code` exists, is an error (or `severity`), reads like a sentence and sits on `needle`. */
function expectAt(m: Model, code: string, needle: string | null, severity = 'error'): void {
  const d = m.diagnostics.find((x) => x.code === code);
  assert.ok(d, `expected ${code}, got ${m.diagnostics.map((x) => `${x.code} ${x.message}`).join('; ') || 'nothing'}`);
  assert.equal(d.severity, severity, `${code} severity`);
  assert.ok(d.message.length > 15, `${code}: a message a user can read`);
  if (needle !== null) assert.equal(m.doc.text.slice(d.range.start, d.range.end), needle, `${code} range`);
  if (severity === 'error') assert.equal(m.ok, false);
}

/** Nothing a feature reports is Infinity or NaN, and nothing claims totals for a broken model. */
function noOverflowReported(m: Model): void {
  assertFiniteTree(
    JSON.parse(JSON.stringify(graphOf(m), (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? `non-finite ${v}` : v))),
    'graph',
  );
  const record = JSON.parse(recordJson(m, 'x.yaml')) as { layers: { params: unknown; flops: unknown; out_shape: unknown }[] };
  for (const l of record.layers)
    for (const v of [l.params, l.flops]) assert.ok(v === null || (typeof v === 'number' && Number.isFinite(v)), `record value ${v}`);
  if (!m.ok) assert.equal(m.totals, null);
}

// ---- YAML-level bombs --------------------------------------------------------------------------------------

function bomb(levels = 12): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < levels; i++)
    lines.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(',')}]`,
    );
  return lines.join('\n') + '\n';
}

test('an alias bomb reached from a layer arg or a from is refused at 10,000 elements, on that token', () => {
  const m1 = run(bomb() + HEALTHY.replace('[-1, 3, C3, [128]]', '[-1, 3, C3, [128, *l]]'));
  expectAt(m1, 'YOLO023', '*l');
  assert.match(m1.diagnostics.find((d) => d.code === 'YOLO023')!.message, /more than 10,000 elements/);
  const m2 = run(bomb() + HEALTHY.replace('[-1, 3, C3, [128]]', '[*l, 3, C3, [128]]'));
  expectAt(m2, 'YOLO023', '*l');
  // found by the fuzzer (a hang): nc behind aliases, then an arg naming it, compared with nc element by element
  const m3 = run(
    bomb() + UL_HEADER.replace('nc: 80', 'nc: *j') + 'backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Classify, [nc]]\n',
    300,
  );
  expectAt(m3, 'YOLO023', 'nc');
  assert.match(m3.diagnostics.find((d) => d.code === 'YOLO023')!.message, /'nc' names a value that expands/);
});

test('an alias bomb as the anchors, or merged with <<, is never expanded', () => {
  const m1 = run(bomb() + HEALTHY.replace(/anchors:\n(?:  - .*\n)+/, 'anchors: *l\n'));
  assert.ok(
    m1.diagnostics.some((d) => d.severity === 'error'),
    'a bomb is no anchor list',
  );
  noOverflowReported(m1);
  const merged = bomb(6) + 'base: &base {x: *f, y: *f}\nother:\n  <<: *base\n  z: *f\n' + HEALTHY;
  const m2 = run(merged);
  assert.ok(m2.ok, m2.diagnostics.map((d) => d.message).join('; '));
});

test('an alias bomb as a mapping key is an unhashable-key error, not billions of characters of key name', () => {
  for (const text of [
    bomb() + '? *l\n: 1\n' + HEALTHY,
    bomb() + UL_HEADER + '  ? *l\n  : [1, 1, 1]\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Classify, [nc]]\n',
  ]) {
    const m = run(text, 300);
    expectAt(m, 'YOLO001', '*l');
    assert.match(m.diagnostics.find((d) => d.code === 'YOLO001')!.message, /unhashable key/);
  }
});

test('a bomb as a scale key, as nc and as an arg: every feature at every offset answers small and fast', () => {
  // found by the fuzzer: the scale hover and the scale completions spelled out a key behind aliases (236 KB at
  // level 4, gigabytes at level 9)
  const text =
    bomb(10) +
    'nc: *c\nscales:\n  ? *j\n  : [0.33, 0.25, 1024]\n  n: [0.33, 0.25, 1024]\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2, *i]]\n  - [-1, ' +
    '1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Classify, [nc]]\n';
  const m = run(text, 500, { scale: 'n' });
  const { ms } = cpuMs(() => {
    for (let at = 0; at <= text.length; at++) {
      const h = hover(m, at, { resolveAtScale: (scale) => resolve(text, { scale }) });
      assert.ok(!h || h.markdown.length < 20_000, `hover at ${at}: ${h?.markdown.length} characters`);
      for (const it of completions(m, at).items)
        assert.ok(it.label.length < 1000 && (it.documentation?.length ?? 0) < 20_000, `completion at ${at}`);
      const sig = signatureHelp(m, at);
      assert.ok(!sig || sig.label.length < 5000);
      for (const a of codeActions(m, { range: { start: at, end: at }, diagnostics: m.diagnostics, trigger: 'automatic' }))
        assert.ok(a.title.length < 1000);
    }
    for (const d of modelDiagnostics(m)) assert.ok(d.message.length <= 1000);
    for (const h of inlayHints(m)) assert.ok(h.label.length < 1000);
  });
  assert.ok(ms < 20_000, `every feature at all ${text.length + 1} offsets took ${ms.toFixed(0)} ms`);
});

test('100,000 levels of nesting, of every kind, are refused before parsing, at the place they go too deep', () => {
  const cases = [
    ['a flow list in a top-level key', V5_HEADER + 'extra: ' + '['.repeat(100_000) + ']'.repeat(100_000) + '\n' + V5_BODY],
    ['flow mappings', V5_HEADER + 'extra: ' + '{a: '.repeat(100_000) + '1' + '}'.repeat(100_000) + '\n' + V5_BODY],
    [
      'nested anchors rows',
      V5_HEADER.replace(/anchors:[\s\S]*$/, 'anchors: ' + '['.repeat(100_000) + ']'.repeat(100_000) + '\n') + V5_BODY,
    ],
    ['compact block sequences on one line', V5_HEADER + 'backbone:\n  ' + '- '.repeat(100_000) + '1\nhead: []\n'],
  ] as const;
  for (const [what, text] of cases) {
    const m = run(text, 200);
    const d = m.diagnostics.find((x) => x.code === 'YOLO028');
    assert.ok(d, `${what}: ${m.diagnostics.map((x) => x.message).join('; ')}`);
    assert.match(d.message, /nests deeper than 64 levels/, what);
    assert.ok(
      d.range.start > V5_HEADER.length - 200 && /[[{-]/.test(text[d.range.start]!),
      `${what}: the range is on the bracket that goes too deep`,
    );
  }
  // quoted brackets and comments are text, not nesting
  const quoted = HEALTHY.replace('[-1, 3, C3, [128]]', `[-1, 3, C3, [128]]  # ${'['.repeat(1000)}`) + `note: '${'['.repeat(1000)}'\n`;
  assert.ok(run(quoted).ok);
});

test('100,000 layers are refused with one diagnostic on backbone, in seconds, not minutes', () => {
  const text = V5_HEADER + 'backbone:\n' + '- [-1,1,Conv,[8]]\n'.repeat(100_000) + 'head: []\n';
  assert.ok(text.length < 2_000_000, 'under the size limit: the layer limit refuses it');
  const m = run(text, 6000);
  expectAt(m, 'YOLO028', 'backbone');
  assert.match(m.diagnostics.find((d) => d.code === 'YOLO028')!.message, /100000 layers/);
});

test('20,000 layers that all fail resolve and draw in linear time (this was quadratic: 2 s + 6.5 s)', () => {
  const text =
    'nc: 80\ndepth_multiple: 0.33\nwidth_multiple: 0.25\nanchors: 3\nbackbone:\n' +
    Array.from({ length: 20_000 }, (_, i) => `  - [${i + 1}, 1, Conv, [8]]\n`).join('') +
    'head: []\n';
  const m = run(text, 1500);
  assert.equal(m.diagnostics.filter((d) => d.code === 'YOLO008').length, 20_000);
  assert.ok(m.layers.every((l) => l.status === 'error'));
  const { result: graph, ms } = cpuMs(() => graphOf(m));
  assert.ok(ms < 500, `graph took ${ms.toFixed(0)} ms`);
  assert.equal(graph.nodes[19_999]!.diagnostics[0]!.code, 'YOLO008');
});

test('repeat counts that would build hundreds of thousands of modules stop at the budget, on the layer', () => {
  const text =
    V5_HEADER.replace('0.33', '1.0') +
    'backbone:\n  - [-1, 1, Conv, [8]]\n' +
    Array.from({ length: 100 }, (_, i) => `  - [-1, 4096, C3, [${8 + i}]]\n`).join('') +
    'head: []\n';
  const m = run(text, 3000);
  const d = m.diagnostics.find((x) => x.code === 'YOLO028')!;
  assert.ok(d, m.diagnostics.map((x) => x.message).join('; '));
  assert.match(d.message, /more than 50,000 modules by layer \d+/);
  assert.equal(m.doc.text.slice(d.range.start, d.range.end), 'C3');
  assert.equal(m.layers[d.layer!]!.status, 'error');
  assert.ok(
    m.layers.slice(d.layer! + 1).every((l) => l.status !== 'ok'),
    'nothing after the budget is reported as built',
  );
});

test('counts written straight into args (anchors, blocks, decoder layers) are refused before allocating', () => {
  // each of these ran out of memory or hung before it was bounded (the first found by the fuzzer's siblings here)
  const ul = (layer: string) => `${UL_HEADER}backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n  - ${layer}\nhead:\n  - [-1, 1, Classify, [nc]]\n`;
  const anchors = run(V5_HEADER.replace(/anchors:\n(?:  - .*\n)+/, 'anchors: 1000000000\n') + V5_BODY, 500);
  expectAt(anchors, 'YOLO023', 'anchors');
  assert.match(anchors.diagnostics.find((d) => d.code === 'YOLO023')!.message, /1000000000 anchors per level/);
  for (const [layer, pattern] of [
    ['[-1, 1, RepNCSPELAN4, [64, 32, 16, 1000000000]]', /n = 1000000000 repeated blocks is beyond anything buildable/],
    ['[-1, 1, ResNetLayer, [64, 64, 1, False, 1000000000]]', /n = 1000000000 repeated blocks/],
    ['[-1, 1, RepNCSPELAN4, [64, 32, 16, 5000]]', /n = 5000 repeated blocks/],
  ] as const) {
    const m = run(ul(layer), 500);
    expectAt(m, 'YOLO029', null);
    assert.match(m.diagnostics.find((d) => d.code === 'YOLO029')!.message, pattern);
  }
  // found by the fuzzer: MixConv2d walked all of a billion output channels before any check
  const mix = run(V5_HEADER + 'backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1, 1, MixConv2d, [1000000000]]\nhead: []\n', 300);
  expectAt(mix, 'YOLO029', null);
  assert.match(mix.diagnostics.find((d) => d.code === 'YOLO029')!.message, /beyond any buildable layer/);
  const hard = run(
    'nc: 80\ndepth_multiple: 1.0\nwidth_multiple: 1.0\nanchors: 3\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1, 1, HarDBlock, ' +
      '[16, 1.7, 1000000000]]\nhead: []\n',
    500,
    { framework: 'scaled-yolov4' },
  );
  assert.match(hard.diagnostics.find((d) => d.code === 'YOLO029')?.message ?? '', /n_layers = 1000000000 repeated blocks/);
});

test('args parse_model cannot compute with get a diagnostic instead of a silently unknown layer', () => {
  // found by the fuzzer: a None gain left Expand (and everything after it) unknown in a model reported as ok
  const m = run(
    HEALTHY.replace(
      '[-1, 1, Conv, [256, 3, 2]]\n  - [-1, 1, Conv, [256, 3, 2]]\n  - [-1, 1, Conv, [256, 3, 2]]',
      '[-1, 1, Expand, [None]]\n  - [-1, 1, Conv, [256, 3, 2]]\n  - [-1, 1, Conv, [256, 3, 2]]',
    ),
  );
  expectAt(m, 'YOLO013', 'None');
  assert.match(m.diagnostics.find((d) => d.code === 'YOLO013')!.message, /gain must be a number, got None/);
  const contract = run(HEALTHY.replace('[-1, 3, C3, [128]]', "[-1, 3, Contract, ['two']]"));
  expectAt(contract, 'YOLO013', "'two'");
  // found by the fuzzer: a `ch` written into Detect's args built fewer convs than inputs, and the forward crashed
  const detect = run(V5_HEADER + 'backbone:\n  - [[-1], 1, Detect, [0, [[10, 13, 16, 30, 33, 23]], []]]\nhead: []\n');
  assert.ok(
    detect.diagnostics.some((d) => d.severity === 'error' && /built 0 output convs/.test(d.message)),
    detect.diagnostics.map((d) => d.message).join('; '),
  );
  // found by the fuzzer: an empty output size crashed the builder (TypeError in a repr of undefined)
  const pool = run(V5_HEADER + 'backbone:\n  - [-1, 1, nn.AdaptiveMaxPool2d, [[]]]\nhead: []\n');
  expectAt(pool, 'YOLO029', null);
  assert.match(pool.diagnostics.find((d) => d.code === 'YOLO029')!.message, /output_size must be 2 values/);
});

test('thousands of copies of a heavy module are refused from an estimate, before they are built (seconds before)', () => {
  const ul = (head: string) =>
    `nc: 80\nscales:\n  l: [1.0, 1.0, 512]\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1, 1, Conv, [128, 3, 2]]\n  - [-1, 1, Conv, ` +
    `[256, 3, 2]]\nhead:\n  - ${head}\n`;
  for (const [head, module] of [
    ['[[0, 1, 2], 4096, OBB, [nc, 1]]', 'OBB'],
    ['[[0, 1, 2], 4096, RTDETRDecoder, [nc]]', 'RTDETRDecoder'],
    ['[-1, 4096, C2PSA, [256]]', 'C2PSA'],
  ] as const) {
    const m = run(ul(head), 600);
    expectAt(m, 'YOLO028', module);
    assert.match(m.diagnostics.find((d) => d.code === 'YOLO028')!.message, /more than 50,000 modules by layer 3/);
  }
});

test('4097 repeats are refused on the n', () => {
  expectAt(run(HEALTHY.replace('0.33', '1.0').replace('[-1, 3, C3, [128]]', '[-1, 4097, C3, [128]]')), 'YOLO023', '4097');
});

// ---- numbers --------------------------------------------------------------------------------------------

test('channels that overflow to Infinity or NaN get a diagnostic on the arg and never reach a figure', () => {
  const swap = (layer: string) => HEALTHY.replace('[-1, 1, Conv, [128, 3, 2]]', layer);
  for (const [layer, needle, pattern] of [
    ["[-1, 1, Conv, ['9**9**9', 3, 2]]", "'9**9**9'", /must be an int, got inf/],
    ['[-1, 1, Conv, [1.0e+308, 3, 2]]', null, /beyond any buildable layer/],
    [`[-1, 1, Conv, [1${'0'.repeat(400)}, 3, 2]]`, null, /beyond any buildable layer|not a finite number|must be an int/],
    ["[-1, 1, Conv, ['nc*1e300', 3, 2]]", null, /beyond any buildable layer/],
  ] as const) {
    const m = run(swap(layer));
    expectAt(m, 'YOLO029', needle);
    assert.match(m.diagnostics.find((d) => d.code === 'YOLO029')!.message, pattern);
    noOverflowReported(m);
  }
});

test('spatial sizes that overflow (thousands of upsamples, a scale factor of 1e300) are a shape error, not Infinity', () => {
  for (const layer of ["[-1, 4096, nn.Upsample, [None, 2, 'nearest']]", "[-1, 1, nn.Upsample, [None, 1.0e+300, 'nearest']]"]) {
    const m = run(
      V5_HEADER.replace('0.33', '1.0') +
        V5_BODY.replace(
          '  - [-1, 1, Conv, [256, 3, 2]]\n  - [-1, 1, Conv, [256, 3, 2]]\n  - [-1, 1, Conv, [256, 3, 2]]\n',
          `  - ${layer}\n  - [-1, 1, Conv, [256, 3, 2]]\n  - [-1, 1, Conv, [256, 3, 2]]\n`,
        ),
      2000,
    );
    expectAt(m, 'YOLO017', 'nn.Upsample');
    assert.match(m.diagnostics.find((d) => d.code === 'YOLO017')!.message, /beyond any tensor torch can allocate/);
    noOverflowReported(m);
  }
});

test('width 1e9 through scales, and an absurd max_channels', () => {
  const m = run(
    UL_HEADER.replace('[0.33, 0.25, 1024]', '[0.33, 1.0e+9, 1024]') +
      'backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Classify, [nc]]\n',
  );
  expectAt(m, 'YOLO023', '1.0e+9');
  noOverflowReported(m);
  // max_channels only caps: a huge one changes nothing, as in ultralytics
  const a = run(UL_HEADER + 'backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Classify, [nc]]\n');
  const b = run(
    UL_HEADER.replace('1024]', '1000000000000]') + 'backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Classify, [nc]]\n',
  );
  assert.equal(b.totals?.params, a.totals?.params);
});

test('negative, zero and fractional sizes: a build error on the arg, as torch raises', () => {
  const swap = (layer: string) => HEALTHY.replace('[-1, 1, Conv, [128, 3, 2]]', layer);
  const cases: [string, string, RegExp][] = [
    ['[-1, 1, Conv, [-64, 3, 2]]', '-64', /negative dimension/],
    ['[-1, 1, Conv, [128, -1, 2]]', '-1', /kernel size should be greater than zero/],
    ['[-1, 1, Conv, [128, 0, 2]]', '0', /kernel size should be greater than zero/],
    ['[-1, 1, Conv, [128, 2.5, 2]]', '2.5', /must be an int, got 2\.5/],
    ['[-1, 1, Conv, [128, 3, 0]]', null as never, /stride should be greater than zero/],
    ['[-1, 1, Conv, [128, 3, -2]]', null as never, /stride should be greater than zero/],
  ];
  for (const [layer, needle, pattern] of cases) {
    const m = run(swap(layer));
    expectAt(m, 'YOLO029', needle);
    assert.match(m.diagnostics.find((d) => d.code === 'YOLO029')!.message, pattern, layer);
  }
  // found by the fuzzer: nn.PReLU(-1) reported -1 parameters instead of torch's error
  const prelu = run(UL_HEADER + 'backbone:\n  - [-1, 1, nn.PReLU, [-1]]\nhead: []\n');
  expectAt(prelu, 'YOLO029', '-1');
  assert.match(prelu.diagnostics.find((d) => d.code === 'YOLO029')!.message, /negative dimension -1/);
  // a fractional channel count is what parse_model rounds up with math.ceil: it builds, as upstream
  const frac = run(swap('[-1, 1, Conv, [64.5, 3, 2]]'));
  assert.ok(frac.ok);
  assert.equal(frac.layers[1]!.args![1], 24);
});

test('out-of-range options from a caller fall back to defaults instead of reaching the shapes', () => {
  for (const opts of [
    { ch: -1 },
    { ch: 0 },
    { ch: 1.5 },
    { ch: NaN },
    { imgsz: -640 },
    { imgsz: NaN },
    { imgsz: 1e9 },
    { imgsz: 0.5 },
  ] as ResolveOptions[]) {
    const m = run(HEALTHY, 500, opts);
    assert.ok(m.ok, JSON.stringify(opts));
    assert.ok(m.ch === 3 && m.imgsz === 640, `${JSON.stringify(opts)} → ch ${m.ch}, imgsz ${m.imgsz}`);
  }
});

// ---- structure --------------------------------------------------------------------------------------------

test('from cycles through forward references: each forward link is flagged on its element, fast', () => {
  const cycle = HEALTHY.replace('[-1, 1, Conv, [128, 3, 2]]\n  - [-1, 3, C3, [128]]', '[2, 1, Conv, [128, 3, 2]]\n  - [1, 3, C3, [128]]');
  const m = run(cycle);
  expectAt(m, 'YOLO008', '2');
  assert.match(m.diagnostics.find((d) => d.code === 'YOLO008')!.message, /layer 2, after this one \(layer 1\)/);
  const self = run(HEALTHY.replace('[-1, 3, C3, [128]]', '[2, 3, C3, [128]]'));
  expectAt(self, 'YOLO008', '2');
  assert.match(self.diagnostics.find((d) => d.code === 'YOLO008')!.message, /this layer/);
  const inList = run(HEALTHY.replace('[[3, 4, 5], 1, Detect', '[[3, 4, 6, 7], 1, Detect'));
  assert.ok(inList.diagnostics.filter((d) => d.code === 'YOLO008').length >= 1);
});

test('duplicate keys beyond nc: backbone and scales entries, the last wins as in PyYAML, with a warning', () => {
  const m = run(V5_HEADER + 'backbone:\n  - [-1, 1, Conv, [8]]\nbackbone:\n  - [-1, 1, Conv, [16]]\n  - [-1, 1, Conv, [16]]\nhead: []\n');
  assert.equal(m.layers.length, 2);
  const d = m.diagnostics.find((x) => x.code === 'YOLO004')!;
  assert.equal(d.severity, 'warning');
  assert.equal(d.range.start, m.doc.text.lastIndexOf('backbone'));
  const s = run(UL_HEADER + '  n: [1.0, 1.0, 1024]\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Classify, [nc]]\n', 500, {
    fileName: 'yolov8n.yaml',
  });
  assert.equal(s.widthMultiple, 1.0, 'the second n: entry is the one used');
});

test('a BOM and CRLF keep every diagnostic on its token and every position on its line', () => {
  const text = '\ufeff' + HEALTHY.replace('[-1, 3, C3, [128]]', '[-1, 3, C33, [128]]').replace(/\n/g, '\r\n');
  const m = run(text);
  expectAt(m, 'YOLO010', 'C33');
  const lines = new LineIndex(text);
  const p = lines.position(m.diagnostics.find((d) => d.code === 'YOLO010')!.range.start);
  assert.deepEqual(p, { line: 10, character: 12 });
  // the graph carries offsets; the server converts them with the same line index
  const node = graphOf(m).nodes[2]!;
  assert.equal(lines.position(node.range.start).line, 10);
  assert.equal(toGraphResult(m, 'file:///a.yaml', 1).nodes[2]!.range.start.line, 10);
});

test('old Mac line endings (CR alone) and tabs', () => {
  const cr = run(HEALTHY.replace('[-1, 3, C3, [128]]', '[-1, 3, C3, [12x]]').replace(/\n/g, '\r'));
  expectAt(cr, 'YOLO014', '12x');
  const tabIndent = run(HEALTHY.replace('  - [-1, 3, C3', '\t- [-1, 3, C3'));
  expectAt(tabIndent, 'YOLO001', '\t');
  assert.match(tabIndent.diagnostics.find((d) => d.code === 'YOLO001')!.message, /[Tt]ab/);
  const tabSeparators = run(HEALTHY.replace('[-1, 3, C3, [128]]', '[-1,\t3,\tC3,\t[128]]'));
  assert.ok(tabSeparators.ok);
});

test('mixed flow and block styles give the same model', () => {
  const reference = run(HEALTHY).totals!;
  const block = HEALTHY.replace('  - [-1, 3, C3, [128]]', '  - - -1\n    - 3\n    - C3\n    - - 128');
  const flowBackbone = HEALTHY.replace(
    /backbone:\n((?:  - .*\n)+)head:/,
    (_all, body: string) =>
      `backbone: [${body
        .trim()
        .split('\n')
        .map((l) => l.replace(/^\s*- /, ''))
        .join(', ')}]\nhead:`,
  );
  for (const text of [block, flowBackbone]) {
    const m = run(text);
    assert.ok(m.ok, m.diagnostics.map((d) => d.message).join('; '));
    assert.equal(m.totals!.params, reference.params);
    assert.equal(m.totals!.flops.thop, reference.flops.thop);
  }
  expectAt(
    run(HEALTHY.replace('[-1, 3, C3, [128]]', '{from: -1, n: 3, module: C3, args: [128]}')),
    'YOLO005',
    '{from: -1, n: 3, module: C3, args: [128]}',
  );
});

test('multi-document details: a directive and a leading --- are one document; an end marker then more is two', () => {
  assert.ok(run('%YAML 1.1\n---\n' + HEALTHY).ok);
  assert.ok(run('---\n' + HEALTHY + '...\n').ok);
  expectAt(run(HEALTHY + '...\n- junk\n'), 'YOLO001', null);
});

test('a YAML error at the very end of the text has its range inside the text', () => {
  // the yaml package reports it one past the last character
  const text = HEALTHY.slice(0, HEALTHY.indexOf('[[3, 4, 5]') + 3);
  const m = run(text);
  assert.ok(m.diagnostics.some((d) => d.code === 'YOLO001'));
});

// ---- nothing in a YAML runs --------------------------------------------------------------------------------

test('nothing in a YAML is executed: tags, eval strings and module names are refused as data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-pwn-'));
  const marker = join(dir, 'pwned');
  try {
    const sh = `touch ${marker}`;
    const tagLayer = run(HEALTHY.replace('[-1, 3, C3, [128]]', `!!python/object/apply:os.system ["${sh}"]`));
    expectAt(tagLayer, 'YOLO001', `["${sh}"]`);
    assert.match(tagLayer.diagnostics.find((d) => d.code === 'YOLO001')!.message, /safe_load refuses/);
    expectAt(
      run(HEALTHY.replace('[-1, 3, C3, [128]]', `[-1, 3, C3, [!!python/object/apply:os.system ["${sh}"]]]`)),
      'YOLO001',
      `["${sh}"]`,
    );
    expectAt(run(HEALTHY.replace('[-1, 3, C3, [128]]', '[-1, 3, C3, [!!python/name:os.system 128]]')), 'YOLO001', '128');
    expectAt(run('--- !!python/object:__main__.Model\n' + HEALTHY), 'YOLO001', null);
    for (const s of [
      `__import__('os').system('${sh}')`,
      "open('/etc/passwd').read()",
      'lambda: 0',
      'exec("1")',
      `eval("__import__('os')")`,
    ]) {
      const m = run(HEALTHY.replace('[-1, 3, C3, [128]]', `[-1, 3, C3, ["${s.replace(/"/g, '\\"')}"]]`));
      assert.ok(
        m.diagnostics.some((d) => d.severity === 'error' && (d.code === 'YOLO014' || d.code === 'YOLO013')),
        `${s}: ${m.diagnostics.map((d) => d.message).join('; ')}`,
      );
    }
    expectAt(
      run(HEALTHY.replace('[-1, 3, C3, [128]]', `[-1, 3, "__import__('os').system('${sh}')", [128]]`)),
      'YOLO010',
      `"__import__('os').system('${sh}')"`,
    );
    assert.equal(existsSync(marker), false, 'a YAML ran a command');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an eval string that would allocate gigabytes ('[1]*10**9') is a MemoryError diagnostic, allocated nothing", () => {
  const m = run(HEALTHY.replace('[-1, 3, C3, [128]]', "[-1, 3, C3, [128, '[1]*10**9']]"), 200);
  expectAt(m, 'YOLO014', "'[1]*10**9'");
  assert.match(m.diagnostics.find((d) => d.code === 'YOLO014')!.message, /MemoryError/);
  // within the limit, list repetition still evaluates as Python does
  const ok = run(
    HEALTHY.replace(
      '[-1, 1, Conv, [256, 3, 2]]\n  - [-1, 1, Conv, [256, 3, 2]]\n  - [-1, 1, Conv, [256, 3, 2]]',
      "[-1, 1, SPP, [256, '[5]*3']]\n  - [-1, 1, Conv, [256, 3, 2]]\n  - [-1, 1, Conv, [256, 3, 2]]",
    ),
  );
  assert.deepEqual(ok.layers[3]!.args![2], [5, 5, 5]);
});

test('the reference record is JSON even when args hold NaN or infinities (written as Python prints them)', () => {
  const m = run(V5_HEADER + "backbone:\n  - [-1, 1, nn.Upsample, [None, .nan, 'nearest']]\nhead: []\n");
  const rec = JSON.parse(recordJson(m, 'x.yaml')) as { layers: { args: unknown[] }[] };
  assert.deepEqual(rec.layers[0]!.args, [null, 'nan', 'nearest']);
});

// ---- bytes through the CLI --------------------------------------------------------------------------------

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

test('files through the CLI: non-UTF-8 bytes dropped as the frameworks do (YOLO033 says where), 10 MB refused, 100 MB not read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-bytes-'));
  try {
    // Latin-1 é in a comment, and a stray 0xFF inside a module name (ultralytics reads it with errors='ignore')
    const latin = join(dir, 'latin1.yaml');
    writeFileSync(
      latin,
      Buffer.concat([
        Buffer.from('nc: 80\n# caf'),
        Buffer.from([0xe9]),
        Buffer.from(' model\nscales:\n  n: [0.33, 0.25, 1024]\nbackbone:\n  - [-1, 1, Co'),
        Buffer.from([0xff]),
        Buffer.from('nv, [64, 3, 2]]\nhead:\n  - [-1, 1, Classify, [nc]]\n'),
      ]),
    );
    const r = cli('check', latin, '--json');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const [result] = JSON.parse(r.stdout) as {
      diagnostics: { code: string; severity: string; message: string; range: { start: { line: number; character: number } } }[];
    }[];
    const d = result!.diagnostics.find((x) => x.code === 'YOLO033')!;
    assert.ok(d, r.stdout);
    assert.equal(d.severity, 'warning');
    assert.match(d.message, /not valid UTF-8 \(byte 0xE9 at byte 12\)/);
    assert.deepEqual(d.range.start, { line: 1, character: 5 });
    assert.ok(!result!.diagnostics.some((x) => x.code === 'YOLO010'), 'Co\\xffnv reads as Conv, as upstream reads it');
    // UTF-16 is not what a model file is: a clear warning and an error, no crash
    const utf16 = join(dir, 'utf16.yaml');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(HEALTHY, 'utf16le')]));
    const r16 = cli('check', utf16);
    assert.equal(r16.status, 1, r16.stderr);
    assert.match(r16.stdout, /utf16\.yaml:1:1: warning YOLO033 the file is not valid UTF-8 \(byte 0xFF at byte 0\)/);
    assert.match(r16.stdout, /error YOLO00[12]/);
    // summary prints the same warning under its table; valid UTF-8 prints none
    assert.match(cli('summary', latin).stdout, /warning YOLO033/);
    // a 10 MB file: YOLO028 at once; a file of 100 MB (sparse) is not read at all
    const tenMB = join(dir, 'ten.yaml');
    writeFileSync(tenMB, HEALTHY + '# ' + 'x'.repeat(10_000_000) + '\n');
    const r10 = cli('check', tenMB);
    assert.equal(r10.status, 1);
    assert.match(r10.stdout, /ten\.yaml:1:1: error YOLO028 the file is 10\.0 MB; YOLO Lens analyses model files up to 2 MB/);
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, '');
    truncateSync(huge, 100 * 2 ** 20);
    const rh = cli('check', huge);
    // refused before reading, like any file that cannot be read: one line, exit 2
    assert.equal(rh.status, 2, rh.stderr);
    assert.match(rh.stderr, /^yolo-lens: \S*huge\.yaml is 100 MB: not a model file[^\n]*\n$/);
    const clean = join(dir, 'clean.yaml');
    writeFileSync(clean, HEALTHY);
    assert.doesNotMatch(cli('check', clean).stdout, /YOLO033/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
