/**
 * Quick fixes and refactor actions, on fixtures: `# ^^^ CODE` marks where a diagnostic is (for the resolver's
 * own codes the test first checks the resolver reports exactly that span), `$0` the cursor. Each fix is applied
 * and the whole resulting text compared. The editor sends diagnostics back without `data` or `layer` in general,
 * so the fixes are asked with the marked code and span only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../support/fixtures.ts';
import { resolve, type ResolveOptions } from '../../server/src/core/resolve.ts';
import { CODES, type Code, type Diagnostic } from '../../server/src/core/diagnostics.ts';
import { codeActions, type CoreCodeAction } from '../../server/src/core/features/codeActions.ts';
import { applyEdits } from '../../server/src/core/features/textEdit.ts';
import { MODEL_CHECKS } from '../../server/src/core/features/checks/index.ts';

/** Codes the resolver itself reports; the others come from the diagnostics feature of the server. */
const FEATURE_CODES = new Set<Code>([
  'YOLO024',
  'YOLO025',
  'YOLO026',
  'YOLO027',
  'YOLO034',
  'YOLO035',
  'YOLO036',
  'YOLO037',
  'YOLO039',
  'YOLO040',
  'YOLO041',
  'YOLO044',
]);

interface Case {
  text: string;
  actions: CoreCodeAction[];
  apply(title: string | RegExp): string;
}

/**
 * The quick fixes for the fixture's marked diagnostics (and, for spans in the first column that a marker line
 * cannot point at, for the resolver's diagnostics of the codes in `fromResolver`).
 */
function quickFixes(src: string, opts: ResolveOptions = {}, fromResolver: readonly Code[] = []): Case {
  const fx = fixture(src, { dedent: false });
  const model = resolve(fx.text, opts);
  const marked = fx.expected.map((m) => {
    const code = m.code as Code;
    if (!FEATURE_CODES.has(code)) {
      const found = model.diagnostics.find((d) => d.code === code && d.range.start === m.range.start && d.range.end === m.range.end);
      assert.ok(
        found,
        `the resolver reports ${code} at ${JSON.stringify(fx.text.slice(m.range.start, m.range.end))}; it reports ` +
          (model.diagnostics.map((d) => `${d.code} ${JSON.stringify(fx.text.slice(d.range.start, d.range.end))}`).join(', ') || 'nothing'),
      );
    }
    return { code, range: m.range };
  });
  const direct = [...model.diagnostics, ...MODEL_CHECKS.flatMap((c) => c(model))]
    .filter((d) => fromResolver.includes(d.code))
    .map((d) => ({ code: d.code, range: d.range }));
  assert.ok(marked.length + direct.length > 0, 'the fixture has a diagnostic to fix');
  // what comes back from the editor: code, range, severity, message; no data, no layer
  const sent: Diagnostic[] = [...marked, ...direct].map(({ code, range }) => ({
    code,
    range,
    severity: CODES[code].severity,
    message: model.diagnostics.find((d) => d.code === code && d.range.start === range.start)?.message ?? '',
  }));
  const range = fx.cursor >= 0 ? { start: fx.cursor, end: fx.cursor } : sent[0]!.range;
  const actions = codeActions(model, { range, diagnostics: sent, only: ['quickfix'] });
  return {
    text: fx.text,
    actions,
    apply(title) {
      const a = actions.find((x) => (typeof title === 'string' ? x.title === title : title.test(x.title)));
      assert.ok(a, `no action ${title}; got ${actions.map((x) => x.title).join(' | ') || 'none'}`);
      assert.equal(a.kind, 'quickfix');
      assert.ok(a.diagnostics?.length, 'a quick fix names the diagnostic it fixes');
      return applyEdits(fx.text, a.edits);
    },
  };
}

const V5_HEADER = `nc: 80
depth_multiple: 0.33
width_multiple: 0.25
anchors:
  - [10,13, 16,30, 33,23]  # P3/8
  - [30,61, 62,45, 59,119]  # P4/16
`;

test('YOLO010: did you mean, from the resolver\u2019s suggestion', () => {
  const c = quickFixes(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, SPFF, [1024, 5]]
#           ^^^^ YOLO010
head:
  - [[0, 1], 1, Detect, [nc, anchors]]
`);
  assert.equal(c.actions[0]!.title, "Change to 'SPPF'");
  assert.equal(c.actions[0]!.isPreferred, true);
  assert.equal(c.apply("Change to 'SPPF'"), c.text.replace('SPFF', 'SPPF'));
});

test('YOLO010: a torch layer written without nn.', () => {
  const c = quickFixes(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, Upsample, [None, 2, nearest]]
#           ^^^^^^^^ YOLO010
head:
  - [[0, 1], 1, Detect, [nc, anchors]]
`);
  assert.equal(c.apply("Change to 'nn.Upsample'"), c.text.replace(' Upsample', ' nn.Upsample'));
});

test('YOLO024: a stale index comment, and all of them at once', () => {
  const c = quickFixes(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]  # 0-P1/2
  - [-1, 1, Conv, [64, 3, 1]]  # 2-P2/4
#                                ^ YOLO024
  - [-1, 1, Conv, [64, 3, 1]]  # 3 (P3/8-small)
head:
  - [[0, 1], 1, Detect, [nc, anchors]]  # 3
`);
  assert.equal(c.apply("Update the comment to '# 1'"), c.text.replace('# 2-P2/4', '# 1-P2/4'));
  assert.equal(
    c.apply('Update all 2 stale index comments'),
    c.text.replace('# 2-P2/4', '# 1-P2/4').replace('# 3 (P3/8-small)', '# 2 (P3/8-small)'),
  );
});

test('YOLO025: remove an unused layer, renumbering what follows', () => {
  const c = quickFixes(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]  # 0
  - [-1, 1, Conv, [128, 3, 2]]  # 1
  - [0, 1, Conv, [64, 3, 1]]  # 2 dead
#   ^^^^^^^^^^^^^^^^^^^^^^^^^ YOLO025
  - [1, 1, Conv, [128, 3, 2]]  # 3
head:
  - [[1, 3], 1, Detect, [nc, anchors]]  # 4
`);
  assert.equal(
    c.apply(/^Remove unused layer 2 \(Conv\)/),
    c.text
      .replace('  - [0, 1, Conv, [64, 3, 1]]  # 2 dead\n', '')
      .replace('# 3\n', '# 2\n')
      .replace('[[1, 3], 1, Detect', '[[1, 2], 1, Detect')
      .replace('# 4\n', '# 3\n'),
  );
});

test('YOLO026: anchors in an ultralytics head go; a YOLOv5 Detect gets them', () => {
  const ul = quickFixes(`nc: 80
scales:
  n: [0.33, 0.25, 1024]
backbone:
  - [-1, 1, Conv, [64, 3, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
head:
  - [[0, 1], 1, Detect, [nc, anchors]]
#                               ^^^^^^^ YOLO026
`);
  assert.equal(ul.apply(/^Remove anchors/), ul.text.replace('[nc, anchors]', '[nc]'));
  // a YOLOv5 header without anchors (depth and width multiples, no scales): the other way out is to add them
  const v5header = quickFixes(`nc: 80
depth_multiple: 0.33
width_multiple: 0.25
backbone:
  - [-1, 1, Conv, [64, 3, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
head:
  - [[0, 1], 1, Detect, [nc, anchors]]
#                               ^^^^^^^ YOLO026
`);
  assert.deepEqual(
    v5header.actions.map((a) => a.title.split(' (')[0]),
    ['Remove anchors', 'Add `anchors: 3` so the file reads as a YOLOv5 YAML'],
  );
  const asV5 = v5header.apply(/^Add `anchors: 3`/);
  assert.equal(asV5, v5header.text.replace('width_multiple: 0.25\n', 'width_multiple: 0.25\nanchors: 3\n'));
  assert.ok(
    resolve(asV5).ok,
    resolve(asV5)
      .diagnostics.map((d) => d.message)
      .join('\n'),
  );
  const v5 = quickFixes(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
head:
  - [[0, 1], 1, Detect, [nc]]
#                       ^^^^ YOLO026
`);
  assert.equal(v5.apply(/^Add anchors/), v5.text.replace('Detect, [nc]', 'Detect, [nc, anchors]'));
});

test('YOLO015 and YOLO027: a verbatim nn.Conv2d gets the channels its input has', () => {
  const src = `${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, nn.Conv2d, [64, 32, 1]]
#                       ^^ YOLO027
head:
  - [[0, 1], 1, Detect, [nc, anchors]]
`;
  const c = quickFixes(src);
  // Conv [64] at width 0.25 outputs 16 channels
  assert.equal(c.apply('Set in_channels to 16 (what layer 0 outputs)'), c.text.replace('[64, 32, 1]', '[16, 32, 1]'));
  const core = quickFixes(src.replace('#                       ^^ YOLO027', '#    ^^ YOLO015'));
  assert.equal(core.apply('Set in_channels to 16 (what layer 0 outputs)'), c.text.replace('[64, 32, 1]', '[16, 32, 1]'));
});

test('YOLO003: a missing key is added after the key before it', () => {
  const c = quickFixes(
    `# Parameters
depth_multiple: 0.33 # model depth multiple
width_multiple: 0.25
anchors: 3
backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, GSConv, [128, 3, 2]]
head:
  - [[0, 1], 1, Detect, [nc, anchors]]
`,
    {},
    ['YOLO003'],
  );
  const fixed = c.apply(/^Add `nc: 80`/);
  assert.equal(fixed, c.text.replace('# Parameters\n', '# Parameters\nnc: 80\n'));
  assert.ok(resolve(fixed).ok);
  const ul = quickFixes(
    `nc: 80
depth_multiple: 0.33
width_multiple: 0.25
anchors: 3
backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
`,
    {},
    ['YOLO003'],
  );
  assert.deepEqual(ul.actions, [], 'a missing head has no obvious fix');
});

test('YOLO004: a float class count, a YAML 1.1 exponent, a duplicate key', () => {
  const c = quickFixes(
    `nc: 80.0
#   ^^^^ YOLO004
depth_multiple: 1e-1
#               ^^^^ YOLO004
width_multiple: 0.25
width_multiple: 0.5
anchors: 3
backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
head:
  - [[0], 1, Detect, [nc, anchors]]
`,
    {},
    ['YOLO004'],
  );
  assert.equal(c.apply('Write nc as an int: 80'), c.text.replace('nc: 80.0', 'nc: 80'));
  assert.equal(c.apply(/^Write it as 1\.0e-1/), c.text.replace('1e-1', '1.0e-1'));
  assert.equal(c.apply(/^Remove the earlier 'width_multiple'/), c.text.replace('width_multiple: 0.25\n', ''));
});

test('YOLO005, YOLO006, YOLO007, YOLO009: layer shape and from', () => {
  const c = quickFixes(`${V5_HEADER}backbone:
  [[0, 1, Conv, [64, 6, 2, 2]],
#   ^ YOLO007
   [[-1], 1, Conv, [128, 3, 2]],
#   ^^^^ YOLO006
   [-1, '3', C3, [128]],
#       ^^^ YOLO009
   [-1, 1, Conv, [128, 1, 1]],
   [-1, 1, nn.Identity],
#  ^^^^^^^^^^^^^^^^^^^^ YOLO005
  ]
head:
  [[-1, 1, Concat, [1]],
#   ^^ YOLO006
   [[1, 3], 1, Detect, [nc, anchors]]]
`);
  assert.equal(c.apply('Read the image: from -1'), c.text.replace('[[0, 1, Conv', '[[-1, 1, Conv'));
  assert.equal(c.apply('Write from as -1 (one input)'), c.text.replace('[[-1], 1, Conv', '[-1, 1, Conv'));
  assert.equal(c.apply('Write 3 as a number, not a string'), c.text.replace("'3'", '3'));
  assert.equal(c.apply('Add an empty args list: []'), c.text.replace('nn.Identity]', 'nn.Identity, []]'));
  assert.equal(c.apply('Write from as a list: [-1]'), c.text.replace('[[-1, 1, Concat', '[[[-1], 1, Concat'));
});

test('YOLO008 and YOLO016: a from that stale comments explain points at the layers they name', () => {
  // layer 1 was deleted by hand: the comments and the Detect indices still count it
  const c = quickFixes(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]  # 0
  - [-1, 1, Conv, [128, 3, 2]]  # 2
  - [-1, 1, Conv, [256, 3, 2]]  # 3
head:
  - [[2, 3], 1, Detect, [nc, anchors]]  # 4
#        ^ YOLO008
`);
  assert.equal(c.actions[0]!.title, 'Read the layers the index comments name: 2 → 1, 3 → 2');
  assert.equal(c.apply(/^Read the layers the index comments name/), c.text.replace('[[2, 3], 1, Detect', '[[1, 2], 1, Detect'));
  assert.equal(c.apply("Read layer 2, the one commented '# 3' (Conv)"), c.text.replace('[[2, 3], 1, Detect', '[[2, 2], 1, Detect'));
  // pointing at itself: the layer above
  const self = quickFixes(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
head:
  - [2, 1, Conv, [256, 3, 2]]
#    ^ YOLO008
  - [[1, 2], 1, Detect, [nc, anchors]]
`);
  assert.equal(self.apply(/^Read the layer above: -1/), self.text.replace('[2, 1, Conv, [256', '[-1, 1, Conv, [256'));
});

test('YOLO011: a YOLOv5 file without anchors is read as ultralytics; adding them fixes the dialect', () => {
  const c = quickFixes(`nc: 80
depth_multiple: 0.33
width_multiple: 0.25
backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, C3SPP, [64]]
#           ^^^^^ YOLO011
head:
  - [[0, 1], 1, Detect, [nc, anchors]]
`);
  const fixed = c.apply(/^Add `anchors: 3` so the file reads as a YOLOv5 YAML/);
  assert.equal(fixed, c.text.replace('width_multiple: 0.25\n', 'width_multiple: 0.25\nanchors: 3\n'));
  assert.equal(resolve(fixed).dialect, 'yolov5');
});

test('YOLO012: a Conv without args gets the channel count it reads', () => {
  const c = quickFixes(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, Conv, []]
#                 ^^ YOLO012
head:
  - [[0, 1], 1, Detect, [nc, anchors]]
`);
  const fixed = c.apply(/^Add output channels 64/);
  assert.equal(fixed, c.text.replace('Conv, []]', 'Conv, [64]]'));
  assert.ok(resolve(fixed).ok);
});

test('YOLO018: anchor rows against head inputs become a per-level count', () => {
  const c = quickFixes(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
  - [-1, 1, Conv, [256, 3, 2]]
head:
  - [[2], 1, Detect, [nc, anchors]]
#    ^^^ YOLO018
`);
  const fixed = c.apply(/^Set `anchors: 3`/);
  assert.equal(fixed, c.text.replace('anchors:\n  - [10,13, 16,30, 33,23]  # P3/8\n  - [30,61, 62,45, 59,119]  # P4/16\n', 'anchors: 3\n'));
  assert.ok(
    resolve(fixed).ok,
    resolve(fixed)
      .diagnostics.map((d) => d.message)
      .join('\n'),
  );
});

test('YOLO020: the yolo-lens comment asks for an image size the strides do not divide', () => {
  const c = quickFixes(
    `# yolo-lens: imgsz=300
${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
head:
  - [[0, 1], 1, Detect, [nc, anchors]]
`,
    {},
    ['YOLO020'],
  );
  const fixed = c.apply(/^Use imgsz=320 in the yolo-lens comment/);
  assert.equal(fixed, c.text.replace('imgsz=300', 'imgsz=320'));
  assert.ok(!resolve(fixed).diagnostics.some((d) => d.code === 'YOLO020'));
});

test('YOLO022: the yolo-lens comment names a scale the file does not have', () => {
  const c = quickFixes(
    `# yolo-lens: scale=q
nc: 80
scales:
  n: [0.33, 0.25, 1024]
  s: [0.33, 0.50, 1024]
backbone:
  - [-1, 1, Conv, [64, 3, 2]]
head:
  - [-1, 1, Conv, [64, 3, 2]]
`,
    {},
    ['YOLO022'],
  );
  assert.deepEqual(
    c.actions.map((a) => a.title),
    ["Use scale 'n'", "Use scale 's'"],
  );
  assert.equal(c.apply("Use scale 's'"), c.text.replace('scale=q', 'scale=s'));
});

test('refactors at the cursor: titles, kinds, disabled reasons, the `only` filter', () => {
  const fx = fixture(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]  # 0
  - [-1, 1, Conv, [128, 3, 2]]  # 1
  - [-1, 3, C3, [128]]  # 2
head:
  - [-1, 1, $0Conv, [256, 3, 2]]  # 3
  - [[1, 3], 1, Detect, [nc, anchors]]  # 4
`);
  const model = resolve(fx.text);
  const range = { start: fx.cursor, end: fx.cursor };
  const all = codeActions(model, { range, diagnostics: [] });
  assert.deepEqual(
    all.map((a) => [a.kind, a.title, a.disabled?.reason ?? null]),
    [
      ['refactor.insert', 'Insert a layer above 3', null],
      ['refactor.insert', 'Insert a layer below 3', null],
      ['refactor.insert', 'Insert a layer below 3 and feed layer 4 through it', null],
      ['refactor.insert', 'Insert a layer above 3 on its input (layer 2 \u2192 new layer \u2192 3)', null],
      ['refactor.delete', 'Delete layer 3 (Conv) and route layer 4 to layer 2', null],
      ['refactor.move', 'Move layer 3 (Conv) up: swap it with layer 2 (C3) in the chain', null],
      [
        'refactor.move',
        'Move layer 3 (Conv) down',
        'layer 4 (Detect) is the model\u2019s head and must stay its last layer: the framework takes the strides and decodes from the ' +
          'last layer',
      ],
    ],
  );
  for (const a of all.filter((x) => !x.disabled)) assert.ok(a.edits.length > 0, a.title);
  assert.deepEqual(
    codeActions(model, { range, diagnostics: [], only: ['refactor.move'] }).map((a) => a.kind),
    ['refactor.move', 'refactor.move'],
  );
  assert.deepEqual(codeActions(model, { range, diagnostics: [], only: ['quickfix'] }), []);
  assert.equal(codeActions(model, { range, diagnostics: [], only: ['refactor'] }).length, 7);
  // the editor asking on its own (cursor moves): quick fixes only, unless it asks for refactors
  assert.deepEqual(codeActions(model, { range, diagnostics: [], trigger: 'automatic' }), []);
  assert.equal(codeActions(model, { range, diagnostics: [], trigger: 'automatic', only: ['refactor'] }).length, 7);
  // outside any layer: nothing
  assert.deepEqual(codeActions(model, { range: { start: 0, end: 0 }, diagnostics: [] }), []);
});

test('a diagnostic the fixes do not know, or one that no longer matches the text, gives no action and no error', () => {
  const model = resolve(`${V5_HEADER}backbone:\n  - [-1, 1, Conv, [64, 6, 2, 2]]\nhead:\n  - [[0], 1, Detect, [nc, anchors]]\n`);
  const far = { start: 10_000, end: 10_005 };
  for (const code of Object.keys(CODES) as Code[]) {
    const out = codeActions(model, { range: far, diagnostics: [{ code, range: far, severity: 'error', message: '' }], only: ['quickfix'] });
    assert.deepEqual(out, [], code);
  }
});

const V8_HEADER = `nc: 80
scales:
  n: [0.33, 0.25, 1024]
`;

test('YOLO035: a Detect input just before a dead layer of its stage is re-pointed at it', () => {
  const c = quickFixes(`${V8_HEADER}backbone:
  - [-1, 1, Conv, [64, 3, 2]] # 0
  - [-1, 1, Conv, [128, 3, 2]] # 1
  - [-1, 1, Conv, [128, 3, 2]] # 2
  - [-1, 1, C2f, [128]] # 3 nobody reads it
head:
  - [[1, 2], 1, Detect, [nc]]
#        ^ YOLO035
`);
  assert.equal(c.actions[0]!.isPreferred, true);
  assert.equal(c.apply('Read layer 3 (C2f) instead'), c.text.replace('[[1, 2], 1, Detect', '[[1, 3], 1, Detect'));
});

test('YOLO035 on a relative index: the fix keeps it relative', () => {
  const c = quickFixes(`${V8_HEADER}backbone:
  - [-1, 1, Conv, [64, 3, 2]] # 0
  - [-1, 1, Conv, [128, 3, 2]] # 1
  - [-1, 1, Conv, [128, 3, 2]] # 2
  - [-1, 1, C2f, [128]] # 3 nobody reads it
head:
  - [[1, -2], 1, Detect, [nc]]
#        ^^ YOLO035
`);
  assert.equal(c.apply('Read layer 3 (C2f) instead'), c.text.replace('[[1, -2]', '[[1, -1]'));
});

test('YOLO034: switch the framework with the yolo-lens comment, added or edited', () => {
  const body = `nc: 80
end2end: True
scales:
  n: [0.50, 0.25, 1024]
backbone:
  - [-1, 1, Conv, [64, 3, 2]]
  - [-1, 1, SPPF, [64, 5, 3, True]]
head:
  - [[0, 1], 1, Concat, [1]]
`;
  const c = quickFixes(body, { framework: 'ultralytics-8.3' }, ['YOLO034']);
  assert.equal(c.apply(/^Check this file against ultralytics 8\.4\.33/), `# yolo-lens: framework=ultralytics-8.4\n${c.text}`);
  const withComment = quickFixes(`# yolo-lens: scale=n framework=ultralytics-8.3\n${body}`, {}, ['YOLO034']);
  assert.equal(
    withComment.apply(/^Check this file against ultralytics 8\.4\.33/),
    withComment.text.replace('framework=ultralytics-8.3', 'framework=ultralytics-8.4'),
  );
  const scaleOnly = quickFixes(`# yolo-lens: scale=n\n${body}`, { framework: 'ultralytics-8.3' }, ['YOLO034']);
  assert.equal(scaleOnly.apply(/^Check this file against/), scaleOnly.text.replace('scale=n', 'scale=n framework=ultralytics-8.4'));
});

test('YOLO037: Detect inputs listed coarsest first are put finest first', () => {
  const c = quickFixes(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
head:
  - [[3, 2], 1, Detect, [nc, anchors]]
#    ^^^^^^ YOLO037
`);
  assert.equal(c.apply('List the inputs finest first: [2, 3]'), c.text.replace('[[3, 2]', '[[2, 3]'));
});

test('YOLO039: a repeat count VoVGSCSP ignores becomes 1', () => {
  const c = quickFixes(
    `${V8_HEADER}backbone:
  - [-1, 1, Conv, [64, 3, 2]]
  - [-1, 3, VoVGSCSP, [64]]
#        ^ YOLO039
head:
  - [-1, 1, Conv, [64, 3, 2]]
`,
    { framework: 'ultralytics-8.3' },
  );
  assert.equal(c.apply('Write n = 1 (VoVGSCSP ignores its repeat count)'), c.text.replace('[-1, 3, VoVGSCSP', '[-1, 1, VoVGSCSP'));
});

test('YOLO040/041: an ignored key is removed, an unknown one renamed', () => {
  const c = quickFixes(
    `nc: 80
ch: 1
scales:
  n: [0.50, 0.25, 1024]
backbone:
  - [-1, 1, Conv, [64, 3, 2]]
head:
  - [-1, 1, Conv, [64, 3, 2]]
`,
    { framework: 'ultralytics-8.4' },
    ['YOLO040'],
  );
  assert.equal(c.apply('Remove `ch:` (it changes nothing)'), c.text.replace('ch: 1\n', ''));
  const u = quickFixes(
    `${V5_HEADER}depth_multiplier: 0.5
backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
head:
  - [-1, 1, Conv, [64, 3, 2]]
`,
    {},
    ['YOLO041'],
  );
  assert.ok(u.actions.some((a) => /^Remove `depth_multiplier:`/.test(a.title)));
});

test('YOLO044: a bool where an int is taken becomes that int', () => {
  const c = quickFixes(`${V5_HEADER}backbone:
  - [-1, 1, Conv, [64, True, 2]]
#                      ^^^^ YOLO044
head:
  - [-1, 1, Conv, [64, 3, 2]]
`);
  assert.equal(c.apply('Write 1 (what True means here)'), c.text.replace('[64, True, 2]', '[64, 1, 2]'));
});
