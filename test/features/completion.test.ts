import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from '../../server/src/core/resolve.ts';
import { completions } from '../../server/src/core/features/completion.ts';
import { fixture } from '../support/fixtures.ts';
import { corpusText, replaceOnce, VOVGSCSP_NECK, YOLOV5N, YOLOV8 } from './corpus.ts';
import { needsCorpus } from '../support/reference.ts';

/** Completion at the fixture's `$0`. */
function at(source: string, fileName = 'model.yaml', dedent = true) {
  const f = fixture(source, { dedent });
  const m = resolve(f.text, { fileName });
  return { f, r: completions(m, f.cursor) };
}

const labels = (r: { items: readonly { label: string }[] }) => r.items.map((i) => i.label);

test('module names of the file\u2019s framework, with signature, doc and an args snippet for a new layer', needsCorpus, () => {
  const base = corpusText(VOVGSCSP_NECK);
  const { f, r } = at(
    replaceOnce(base, '   [-1, 1, SPPF, [1024, 5]], # 9', '   [-1, 1, SPPF, [1024, 5]], # 9\n   [-1, 1, VoV$0],'),
    'yolov5n-vovgscsp-neck.yaml',
    false,
  );
  const names = labels(r);
  // the Slim-neck YOLOv5 fork: its own modules and torch.nn; no ultralytics-only module
  for (const n of ['VoVGSCSP', 'GSConv', 'Conv', 'C3', 'Detect', 'nn.Upsample']) assert.ok(names.includes(n), n);
  for (const n of ['C2f', 'C3k2', 'SPPELAN']) assert.ok(!names.includes(n), n);
  const vov = r.items.find((i) => i.label === 'VoVGSCSP')!;
  assert.equal(vov.detail, 'VoVGSCSP(c1, c2, n=1, shortcut=True, g=1, e=0.5)');
  assert.match(vov.documentation!, /YAML args: `\[c2, shortcut, g, e\]`/);
  assert.equal(vov.insertText, 'VoVGSCSP, [${1:c2}]');
  assert.equal(vov.snippet, true);
  assert.equal(f.text.slice(vov.range.start, vov.range.end), 'VoV');
  const conv = r.items.find((i) => i.label === 'Conv')!;
  assert.equal(conv.insertText, 'Conv, [${1:c2}, ${2:1}, ${3:1}]');
  assert.equal(r.items.find((i) => i.label === 'Detect')!.insertText, 'Detect, [${1:nc}, ${2:anchors}]');
  assert.equal(r.items.find((i) => i.label === 'nn.Upsample')!.insertText, "nn.Upsample, [None, ${1:2}, ${2:'nearest'}]");
});

test('a module name in a layer that already has args completes the name only', needsCorpus, () => {
  const { r } = at(
    replaceOnce(corpusText(YOLOV5N), '    [-1, 1, SPPF, [1024, 5]], # 9', '    [-1, 1, SP$0PF, [1024, 5]], # 9'),
    'yolov5n.yaml',
    false,
  );
  const sppf = r.items.find((i) => i.label === 'SPPF')!;
  assert.equal(sppf.insertText, 'SPPF');
  assert.equal(sppf.snippet, false);
});

test('`from` values: -1 first, then earlier layers newest first, each with its module and output shape', needsCorpus, () => {
  const { r } = at(
    replaceOnce(
      corpusText(YOLOV5N),
      '    [[-1, 6], 1, Concat, [1]], # cat backbone P4',
      '    [[-1, $0], 1, Concat, [1]], # cat backbone P4',
    ),
    'yolov5n.yaml',
    false,
  );
  const [first, second, third] = r.items;
  assert.equal(first!.label, '-1');
  assert.equal(first!.labelDetail, '  previous: 11 nn.Upsample');
  assert.equal(first!.labelDescription, '128×40×40');
  assert.deepEqual([second!.label, second!.labelDetail, second!.labelDescription], ['11', '  nn.Upsample', '128×40×40']);
  assert.deepEqual([third!.label, third!.labelDetail, third!.labelDescription], ['10', '  Conv', '128×20×20']);
  const six = r.items.find((i) => i.label === '6')!;
  assert.equal(six.labelDescription, '128×40×40');
  assert.equal(r.items.length, 13, '-1 and layers 0..11');
  assert.equal(r.isIncomplete, false);
});

test('a layer being typed that the YAML parser cannot place still gets module and from completions', needsCorpus, () => {
  const base = corpusText(YOLOV5N);
  const moduleSlot = at(
    replaceOnce(base, '    [-1, 1, SPPF, [1024, 5]], # 9', '    [-1, 1, SPPF, [1024, 5]], # 9\n    [-1, 1, $0'),
    'yolov5n.yaml',
    false,
  );
  assert.ok(labels(moduleSlot.r).includes('C3'));
  assert.equal(moduleSlot.r.items.find((i) => i.label === 'C3')!.insertText, 'C3, [${1:c2}]');
  const fromSlot = at(
    replaceOnce(base, '    [-1, 1, SPPF, [1024, 5]], # 9', '    [-1, 1, SPPF, [1024, 5]], # 9\n    [$0'),
    'yolov5n.yaml',
    false,
  );
  assert.equal(fromSlot.r.items[0]!.label, '-1');
  assert.equal(fromSlot.r.items[1]!.label, '9');
});

test('inside args: nc and anchors (YOLOv5), with their values', needsCorpus, () => {
  const { r } = at(replaceOnce(corpusText(YOLOV5N), 'Detect, [nc, anchors]]', 'Detect, [nc, $0]]'), 'yolov5n.yaml', false);
  assert.deepEqual(labels(r), ['nc', 'anchors']);
  assert.equal(r.items[0]!.labelDescription, '= 80');
  assert.equal(r.items[1]!.labelDescription, '3 levels × 3 anchors');
});

test(
  'inside args of an ultralytics file: nc only (anchors would be the other dialect), and True/False for a bool param',
  needsCorpus,
  () => {
    const { r } = at(
      replaceOnce(corpusText(YOLOV8), '  - [-1, 3, C2f, [128, True]]', '  - [-1, 3, C2f, [128, $0]]'),
      'yolov8n.yaml',
      false,
    );
    assert.deepEqual(labels(r), ['nc', 'True', 'False']);
  },
);

test('top-level keys not yet in the file, per dialect', needsCorpus, () => {
  const v5 = at(corpusText(YOLOV5N).replace('depth_multiple: 0.33 # model depth multiple\n', '$0\n'), 'yolov5n.yaml', false);
  const keys = labels(v5.r);
  assert.ok(keys.includes('depth_multiple') && keys.includes('activation') && keys.includes('channel_multiple'));
  assert.ok(!keys.includes('nc') && !keys.includes('anchors') && !keys.includes('scales'));
  assert.match(v5.r.items.find((i) => i.label === 'depth_multiple')!.insertText, /^depth_multiple: \$\{1:0\.33\}$/);
  const ul = at(corpusText(YOLOV8).replace('nc: 80 # number of classes\n', 'nc: 80 # number of classes\nde$0\n'), 'yolov8n.yaml', false);
  assert.ok(labels(ul.r).includes('depth_multiple'));
  assert.ok(!labels(ul.r).includes('anchors'));
});

test('scale letters inside scales: the ones not written yet, as [depth, width, max_channels] snippets', needsCorpus, () => {
  const text = corpusText(YOLOV8);
  const { r } = at(replaceOnce(text, '  n: [0.33, 0.25, 1024]', '  $0'), 'yolov8.yaml', false);
  assert.deepEqual(labels(r), ['n']);
  assert.equal(r.items[0]!.insertText, 'n: [${1:0.33}, ${2:0.25}, ${3:1024}]');
});

test('the # yolo-lens: modeline: keys, then the frameworks and the file\u2019s scales', needsCorpus, () => {
  const keys = at(`# yolo-lens: $0\n${corpusText(YOLOV8)}`, 'yolov8.yaml', false);
  assert.deepEqual(labels(keys.r), ['framework', 'scale', 'imgsz', 'weights']);
  const fw = at(`# yolo-lens: framework=$0\n${corpusText(YOLOV8)}`, 'yolov8.yaml', false);
  assert.deepEqual(labels(fw.r), ['yolov5', 'yolov5-gsconv', 'scaled-yolov4', 'ultralytics-8.3', 'ultralytics-8.4', 'ultralytics']);
  const sc = at(`# yolo-lens: scale=$0\n${corpusText(YOLOV8)}`, 'yolov8.yaml', false);
  assert.deepEqual(labels(sc.r), ['n', 's', 'm', 'l', 'x']);
});

test('nothing inside comments and between layers', needsCorpus, () => {
  assert.deepEqual(at(replaceOnce(corpusText(YOLOV5N), '# cat backbone P4', '# cat back$0bone P4'), 'yolov5n.yaml', false).r.items, []);
  assert.deepEqual(
    at(replaceOnce(corpusText(YOLOV5N), '[-1, 3, C3, [512, False]], # 13', '[-1, 3, C3, [512, False]], $0 # 13'), 'yolov5n.yaml', false).r
      .items,
    [],
  );
});
