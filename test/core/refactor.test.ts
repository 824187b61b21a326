/**
 * Layer refactors on small files, with the whole resulting text written out: what each one renumbers (absolute
 * and relative `from`, `# N` comments) and what it leaves alone, in flow and block style, across the
 * backbone/head boundary, with CRLF; the template's channel count; the delete and move rules and their titles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from '../../server/src/core/resolve.ts';
import { parseIndexComment, Refactorer, type LayerRefactor } from '../../server/src/core/features/refactor.ts';
import { applyEdits } from '../../server/src/core/features/textEdit.ts';

const V5 = `nc: 80
depth_multiple: 0.33
width_multiple: 0.25
anchors:
  - [10,13, 16,30, 33,23]  # P3/8

backbone:
  # [from, number, module, args]
  [[-1, 1, Conv, [64, 6, 2, 2]],  # 0-P1/2
   [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
   [-1, 3, C3, [128]],
   [-1, 1, SPPF, [128, 5]],  # 3
  ]

head:
  [[-1, 1, Conv, [128, 1, 1]],
   [[-1, 2], 1, Concat, [1]],  # 5 cat backbone

   [-1, 3, C3, [256, False]],  # 6 (P3/8-small)
   [[6], 1, Detect, [nc, anchors]],  # Detect(P3)
  ]
`;

function run(text: string, f: (rf: Refactorer) => LayerRefactor): { result: LayerRefactor; text: string } {
  const model = resolve(text);
  const result = f(new Refactorer(model));
  return { result, text: result.disabled ? text : applyEdits(text, result.edits) };
}

test('the example resolves (the tests below start from a working model)', () => {
  const m = resolve(V5);
  assert.ok(m.ok, m.diagnostics.map((d) => d.message).join('\n'));
  assert.equal(m.layers.length, 8);
});

test('index comments: what counts as one', () => {
  assert.deepEqual(parseIndexComment('# 13'), { index: 13, start: 2, end: 4 });
  assert.equal(parseIndexComment('# 0-P1/2')?.index, 0);
  assert.equal(parseIndexComment('# 17 (P3/8-small)')?.index, 17);
  assert.equal(parseIndexComment('# 16 ')?.index, 16);
  assert.equal(parseIndexComment('#9-P5/32')?.index, 9);
  assert.equal(parseIndexComment('# 5 cat backbone'), null);
  assert.equal(parseIndexComment('# 3 bottlenecks'), null);
  assert.equal(parseIndexComment('# 1x1 conv'), null);
  assert.equal(parseIndexComment('# cat backbone P4'), null);
  assert.equal(parseIndexComment('# P3/8'), null);
});

test('insert below a backbone layer: the template keeps the channel count; every later index shifts', () => {
  const { result, text } = run(V5, (rf) => rf.insert(1, 'below'));
  assert.equal(result.title, 'Insert a layer below 1');
  assert.equal(result.layer, 2);
  assert.equal(
    text,
    V5.replace('   [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4\n', '   [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4\n   [-1, 1, Conv, [128, 3, 1]],\n')
      .replace('   [-1, 3, C3, [128]],', '   [-2, 3, C3, [128]],')
      .replace('# 3\n', '# 4\n')
      .replace('[[-1, 2], 1, Concat', '[[-1, 3], 1, Concat')
      .replace('# 6 (P3/8-small)', '# 7 (P3/8-small)')
      .replace('[[6], 1, Detect', '[[7], 1, Detect'),
  );
  // the new layer reads layer 1's 32 channels (128 x 0.25) and keeps them; nothing reads it yet
  const m = resolve(text);
  assert.ok(m.ok);
  assert.deepEqual(m.layers[2]!.outShape, m.layers[1]!.outShape);
  assert.deepEqual(m.layers[3]!.fromIndices, [1]);
});

test('insert below, feeding its consumers: the layer after reads the new one and keeps its -1', () => {
  const { result, text } = run(V5, (rf) => rf.insert(1, 'below', true));
  assert.equal(result.title, 'Insert a layer below 1 and feed layer 2 through it');
  assert.equal(
    text,
    V5.replace('   [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4\n', '   [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4\n   [-1, 1, Conv, [128, 3, 1]],\n')
      .replace('# 3\n', '# 4\n')
      .replace('[[-1, 2], 1, Concat', '[[-1, 3], 1, Concat')
      .replace('# 6 (P3/8-small)', '# 7 (P3/8-small)')
      .replace('[[6], 1, Detect', '[[7], 1, Detect'),
  );
  const before = resolve(V5);
  const after = resolve(text);
  assert.ok(after.ok);
  // the spliced layer keeps channels and size: everything downstream resolves as before
  assert.deepEqual(
    after.layers.slice(3).map((l) => l.outShape),
    before.layers.slice(2).map((l) => l.outShape),
  );
  assert.deepEqual(after.layers[3]!.fromIndices, [2]);
});

test('insert above a layer on its input: it reads what the layer read, and the layer reads it', () => {
  const { result, text } = run(V5, (rf) => rf.insert(2, 'above', true));
  assert.equal(result.title, 'Insert a layer above 2 on its input (layer 1 \u2192 new layer \u2192 2)');
  assert.ok(text.includes('   [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4\n   [-1, 1, Conv, [128, 3, 1]],\n   [-1, 3, C3, [128]],\n'));
  // the Concat that read layer 2 still reads it (now 3)
  assert.ok(text.includes('[[-1, 3], 1, Concat'));
  const { result: r2 } = run(V5, (rf) => rf.insert(5, 'above', true));
  assert.match(r2.disabled ?? '', /does not read exactly one layer/);
});

test('insert across the boundary: above the first head layer goes into the head, below the last backbone layer into the backbone', () => {
  const above = run(V5, (rf) => rf.insert(4, 'above')).text;
  assert.ok(above.includes('head:\n  [[-1, 1, Conv, [128, 3, 1]],\n   [-2, 1, Conv, [128, 1, 1]],\n'), above);
  const below = run(V5, (rf) => rf.insert(3, 'below')).text;
  assert.ok(below.includes('   [-1, 1, SPPF, [128, 5]],  # 3\n   [-1, 1, Conv, [128, 3, 1]],\n  ]\n'), below);
  // the same model either way
  const a = resolve(above);
  const b = resolve(below);
  assert.deepEqual(
    a.layers.map((l) => [l.moduleName, l.fromIndices, l.outShape]),
    b.layers.map((l) => [l.moduleName, l.fromIndices, l.outShape]),
  );
});

test('insert above layer 0 under a width multiple: a neutral layer (no Conv width gives 3 channels), layer 0 unchanged', () => {
  const { result, text } = run(V5, (rf) => rf.insert(0, 'above'));
  assert.equal(result.title, 'Insert a layer above 0; it reads the image and feeds layer 0');
  assert.ok(text.includes('  [[-1, 1, nn.Identity, []],\n   [-1, 1, Conv, [64, 6, 2, 2]],  # 1-P1/2\n'), text);
  const before = resolve(V5);
  const after = resolve(text);
  assert.ok(after.ok);
  assert.deepEqual(
    after.layers.slice(1).map((l) => l.params),
    before.layers.map((l) => l.params),
  );
});

test('delete a layer others read: they are routed to its input, and the title says so', () => {
  const { result, text } = run(V5, (rf) => rf.delete(2));
  assert.equal(result.title, 'Delete layer 2 (C3) and route layers 3 and 5 to layer 1');
  assert.equal(
    text,
    V5.replace('   [-1, 3, C3, [128]],\n', '')
      .replace('# 3\n', '# 2\n')
      .replace('[[-1, 2], 1, Concat', '[[-1, 1], 1, Concat')
      .replace('# 6 (P3/8-small)', '# 5 (P3/8-small)')
      .replace('[[6], 1, Detect', '[[5], 1, Detect'),
  );
  assert.ok(resolve(text).ok);
});

test('delete a layer with several inputs that another reads: disabled with the reason', () => {
  const { result } = run(V5, (rf) => rf.delete(5));
  assert.equal(result.title, 'Delete layer 5 (Concat)');
  assert.equal(result.edits.length, 0);
  assert.match(result.disabled!, /layer 6 reads it and it has several inputs/);
});

test('delete the first layer of a flow list: the next one takes its place after the `[`', () => {
  const { text } = run(V5, (rf) => rf.delete(4));
  assert.ok(text.includes('head:\n  [[[-1, 2], 1, Concat, [1]],  # 5 cat backbone\n'), text);
});

test('delete the only layer of a section: disabled', () => {
  const one = 'nc: 2\nbackbone:\n  - [-1, 1, Conv, [16, 3, 2]]\nhead:\n  - [-1, 1, Conv, [16, 3, 2]]\n';
  assert.match(run(one, (rf) => rf.delete(0)).result.disabled!, /only layer of the backbone/);
});

test('move across the boundary as a chain swap: the comments travel with their layers', () => {
  const { result, text } = run(V5, (rf) => rf.move(4, 'up'));
  assert.equal(result.title, 'Move layer 4 (Conv) up: swap it with layer 3 (SPPF) in the chain');
  assert.ok(text.includes('   [-1, 1, Conv, [128, 1, 1]],\n  ]\n\nhead:\n  [[-1, 1, SPPF, [128, 5]],  # 4\n   [[-1, 2], 1, Concat'), text);
  // and back
  const back = applyEdits(text, new Refactorer(resolve(text)).move(3, 'down').edits);
  assert.equal(back, V5);
});

test('move: disabled where a chain swap would change other connections', () => {
  assert.match(run(V5, (rf) => rf.move(2, 'down')).result.disabled!, /layer 2 also feeds layer 5/);
  assert.match(run(V5, (rf) => rf.move(6, 'up')).result.disabled!, /layer 5 does not read exactly one layer/);
});

test('move keeping every connection: a route layer moves above an upsample, every reader follows', () => {
  const text = `nc: 80
depth_multiple: 1.0
width_multiple: 1.0
anchors: 3
backbone:
  - [-1, 1, Conv, [16, 3, 2]]  # 0
  - [-1, 1, Conv, [32, 3, 2]]  # 1
head:
  - [-1, 1, Conv, [16, 1, 1]]  # 2
  - [-1, 1, nn.Upsample, [None, 2, nearest]]  # 3
  - [0, 1, Conv, [16, 1, 1]]  # 4 (route)
  - [[-1, -2], 1, Concat, [1]]  # 5
`;
  const { result, text: out } = run(text, (rf) => rf.move(4, 'up'));
  assert.equal(result.title, 'Move layer 4 (Conv) up');
  assert.equal(
    out,
    text
      .replace(
        '  - [-1, 1, nn.Upsample, [None, 2, nearest]]  # 3\n  - [0, 1, Conv, [16, 1, 1]]  # 4 (route)\n',
        '  - [0, 1, Conv, [16, 1, 1]]  # 3 (route)\n  - [-2, 1, nn.Upsample, [None, 2, nearest]]  # 4\n',
      )
      .replace('[[-1, -2], 1, Concat', '[[-2, -1], 1, Concat'),
  );
  const a = resolve(text);
  const b = resolve(out);
  assert.ok(b.ok);
  assert.deepEqual(b.layers[5]!.outShape, a.layers[5]!.outShape);
});

test('block style with CRLF and no final newline: insert below and delete the last layer', () => {
  const text =
    'nc: 80\r\nscales:\r\n  n: [0.33, 0.25, 1024]\r\nbackbone:\r\n  - [-1, 1, Conv, [64, 3, 2]] # 0-P1/2\r\n  - [-1, 1, Conv, [128, 3, ' +
    '2]] # 1-P2/4\r\nhead:\r\n  - [-1, 1, Conv, [128, 3, 1]] # 2\r\n  - [[-1, 1], 1, Concat, [1]] # 3';
  const ins = run(text, (rf) => rf.insert(3, 'below'));
  // layer 3 (Concat) outputs 32 + 32 = 64 channels at scale n: 256 x 0.25
  assert.equal(ins.text, `${text}\r\n  - [-1, 1, Conv, [256, 3, 1]]`);
  const del = run(text, (rf) => rf.delete(3));
  assert.equal(
    del.text,
    'nc: 80\r\nscales:\r\n  n: [0.33, 0.25, 1024]\r\nbackbone:\r\n  - [-1, 1, Conv, [64, 3, 2]] # 0-P1/2\r\n  - [-1, 1, Conv, [128, 3, ' +
      '2]] # 1-P2/4\r\nhead:\r\n  - [-1, 1, Conv, [128, 3, 1]] # 2',
  );
  const up = run(text, (rf) => rf.insert(2, 'above'));
  // the old first head layer now reads two back (-2); the index comments follow their layers
  assert.equal(
    up.text,
    text
      .replace(
        'head:\r\n  - [-1, 1, Conv, [128, 3, 1]] # 2',
        'head:\r\n  - [-1, 1, Conv, [128, 3, 1]]\r\n  - [-2, 1, Conv, [128, 3, 1]] # 3',
      )
      .replace('[[-1, 1], 1, Concat, [1]] # 3', '[[-1, 1], 1, Concat, [1]] # 4'),
  );
});

test('flow list without a trailing comma and with its `]` on the last line', () => {
  const text =
    'nc: 80\nbackbone: [[-1, 1, Conv, [64, 3, 2]], [-1, 1, Conv, [64, 3, 2]]]\nhead:\n  [[-1, 1, Conv, [64, 3, 1]],\n   [[-1, 1], 1, ' +
    'Concat, [1]]]  # cat\n';
  const a = run(text, (rf) => rf.insert(0, 'below'));
  assert.equal(
    a.text,
    text
      .replace(
        'backbone: [[-1, 1, Conv, [64, 3, 2]], [-1, 1, Conv',
        'backbone: [[-1, 1, Conv, [64, 3, 2]], [-1, 1, Conv, [64, 3, 1]], [-2, 1, Conv',
      )
      .replace('[[-1, 1], 1, Concat', '[[-1, 2], 1, Concat'),
  );
  // the comment after the list's `]` is the last layer's: it stays on that layer's line, the `]` moves down
  const b = run(text, (rf) => rf.insert(3, 'below'));
  assert.equal(
    b.text,
    text.replace('   [[-1, 1], 1, Concat, [1]]]  # cat', '   [[-1, 1], 1, Concat, [1]],  # cat\n   [-1, 1, Conv, [128, 3, 1]]]'),
  );
  assert.equal(applyEdits(b.text, new Refactorer(resolve(b.text)).delete(4).edits), text);
  // and it goes when its layer goes
  const c = run(text, (rf) => rf.delete(3));
  assert.equal(c.text, text.replace('[[-1, 1, Conv, [64, 3, 1]],\n   [[-1, 1], 1, Concat, [1]]]  # cat', '[[-1, 1, Conv, [64, 3, 1]]]'));
});

test('layouts that cannot be rewritten are refused, never broken', () => {
  // a syntax error: nothing is offered
  const broken = 'nc: 80\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]\nhead:\n  - [-1, 1, Conv, [64, 3, 2]]\n';
  const r = run(broken, (rf) => rf.insert(0, 'below')).result;
  assert.ok(r.disabled);
  assert.equal(r.edits.length, 0);
});
