import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from '../../server/src/core/resolve.ts';
import { modelDiagnostics } from '../../server/src/core/features/diagnostics.ts';
import { isModelDoc } from '../../server/src/core/features/modelFile.ts';
import { parseModelDoc } from '../../server/src/core/document.ts';
import { diagnosticMismatches, fixture, marked, textOf } from '../support/fixtures.ts';
import { corpusText, replaceOnce, YOLOV5N, YOLOV8, SLIMNECK_V5N } from './corpus.ts';
import { needsCorpus } from '../support/reference.ts';

const run = (text: string, fileName = 'model.yaml', severity = {}) => modelDiagnostics(resolve(text, { fileName }), { severity });

test('a small model: stale index comment (YOLO024) and a dead layer (YOLO025, Unnecessary)', () => {
  const f = fixture(`
    nc: 80
    depth_multiple: 1.0
    width_multiple: 1.0
    anchors: 3
    backbone:
      [[-1, 1, Conv, [16, 3, 2]],  # 0
       [-1, 1, Conv, [32, 3, 2]],  # 1-P2/4
       [-1, 1, Conv, [64, 3, 2]],  # 3
    #                                ^ YOLO024
      ]
    head:
      [[-1, 1, Conv, [64, 1, 1]],  # 3 (dead end)
    #  ^^^^^^^^^^^^^^^^^^^^^^^^^ YOLO025
       [[1, 2], 1, Detect, [nc, anchors]],  # 4
    #       ^ YOLO035
      ]
  `);
  const got = run(f.text);
  assert.deepEqual(diagnosticMismatches(f, got), []);
  const dead = got.find((d) => d.code === 'YOLO025')!;
  assert.deepEqual(dead.tags, [1]);
  assert.equal(dead.severity, 'warning');
  // what it costs: 64·64 conv weights and 2·64 BatchNorm parameters
  assert.match(dead.message, /layer 3 \(Conv\) is never used.*: 4,224 parameters and [\d.]+ GFLOPs at 640 spent for nothing/);
  assert.deepEqual(got.find((d) => d.code === 'YOLO024')!.data, { written: 3, index: 2 });
});

test('corpus YOLOv5n resolves without a diagnostic; a broken from is flagged on its token (YOLO008)', needsCorpus, () => {
  const base = corpusText(YOLOV5N);
  assert.deepEqual(run(base, 'yolov5n.yaml'), []);
  const line = '    [[-1, 6], 1, Concat, [1]], # cat backbone P4';
  const f = fixture(replaceOnce(base, line, marked(line.replace('6]', '60]'), '60', 'YOLO008')), { dedent: false });
  assert.deepEqual(diagnosticMismatches(f, run(f.text, 'yolov5n.yaml')), []);
});

test('an unknown module is flagged on its name with the suggestion for the quick fix (YOLO010)', needsCorpus, () => {
  const line = '    [-1, 1, Conv, [256, 3, 2]], # 3-P3/8';
  const f = fixture(replaceOnce(corpusText(YOLOV5N), line, marked(line.replace('Conv', 'Conx'), 'Conx', 'YOLO010')), { dedent: false });
  const got = run(f.text, 'yolov5n.yaml');
  assert.deepEqual(diagnosticMismatches(f, got, { only: ['YOLO010'] }), []);
  assert.equal(got.find((d) => d.code === 'YOLO010')!.data?.suggestion, 'Conv');
});

test('Concat of two sizes: YOLO016 with related information on both producing layers', needsCorpus, () => {
  const line = '    [[-1, 6], 1, Concat, [1]], # cat backbone P4';
  const f = fixture(replaceOnce(corpusText(YOLOV5N), line, marked(line.replace('6]', '4]'), '4', 'YOLO016')), { dedent: false });
  const got = run(f.text, 'yolov5n.yaml');
  assert.deepEqual(diagnosticMismatches(f, got, { ignore: ['YOLO031'] }), []);
  const d = got.find((x) => x.code === 'YOLO016')!;
  assert.deepEqual(
    d.related!.map((r) => textOf(f, r.range)),
    ['[-1, 1, nn.Upsample, [None, 2, "nearest"]]', '[-1, 6, C3, [256]]'],
  );
});

test('YOLOv5 Detect written the ultralytics way is a dialect mismatch (YOLO026) besides the build error', needsCorpus, () => {
  const line = '    [[17, 20, 23], 1, Detect, [nc, anchors]], # Detect(P3, P4, P5)';
  const f = fixture(replaceOnce(corpusText(YOLOV5N), line, marked(line.replace('[nc, anchors]', '[nc]'), '[nc]', 'YOLO026')), {
    dedent: false,
  });
  const got = run(f.text, 'yolov5n.yaml');
  assert.deepEqual(diagnosticMismatches(f, got, { only: ['YOLO026'] }), []);
  assert.ok(
    got.some((d) => d.severity === 'error' && d.layer === 24),
    'the build error itself is still reported',
  );
});

test('ultralytics Detect with YOLOv5 anchors is a dialect mismatch on the anchors arg (YOLO026)', needsCorpus, () => {
  const line = '  - [[15, 18, 21], 1, Detect, [nc]] # Detect(P3, P4, P5)';
  const f = fixture(replaceOnce(corpusText(YOLOV8), line, marked(line.replace('[nc]', '[nc, anchors]'), 'anchors', 'YOLO026')), {
    dedent: false,
  });
  assert.deepEqual(diagnosticMismatches(f, run(f.text, 'yolov8n.yaml'), { only: ['YOLO026'] }), []);
});

test('nn.Conv2d with args written for full width: its in_channels no longer match after width scaling (YOLO027)', needsCorpus, () => {
  const line = '    [-1, 1, Conv, [512, 1, 1]],';
  const f = fixture(
    replaceOnce(corpusText(YOLOV5N), line, marked(line.replace('Conv, [512, 1, 1]', 'nn.Conv2d, [1024, 512, 1]'), '1024', 'YOLO027')),
    { dedent: false },
  );
  const got = run(f.text, 'yolov5n.yaml');
  assert.deepEqual(diagnosticMismatches(f, got, { only: ['YOLO027'] }), []);
  const d = got.find((x) => x.code === 'YOLO027')!;
  assert.deepEqual(d.data, { param: 'in_channels', written: 1024, actual: 256 });
  assert.match(d.message, /width_multiple 0\.25/);
});

test('severity overrides change or silence a code', needsCorpus, () => {
  const line = '    [-1, 3, C3, [512, False]], # 13';
  const text = replaceOnce(corpusText(YOLOV5N), line, line.replace('# 13', '# 12'));
  assert.equal(run(text, 'yolov5n.yaml').find((d) => d.code === 'YOLO024')?.severity, 'warning');
  assert.equal(run(text, 'yolov5n.yaml', { YOLO024: 'error' }).find((d) => d.code === 'YOLO024')?.severity, 'error');
  assert.equal(
    run(text, 'yolov5n.yaml', { YOLO024: 'off' }).find((d) => d.code === 'YOLO024'),
    undefined,
  );
});

test('a dead layer is not reported while some `from` is still being typed', needsCorpus, () => {
  const line = '    [[-1, 6], 1, Concat, [1]], # cat backbone P4';
  const text = replaceOnce(corpusText(YOLOV5N), line, line.replace('6]', 'x]'));
  assert.equal(run(text, 'yolov5n.yaml').filter((d) => d.code === 'YOLO025').length, 0);
});

test('upstream Slim-neck YOLOv5n: no warnings of ours (its index comments are right)', needsCorpus, () => {
  const extra = run(corpusText(SLIMNECK_V5N), 'slimneck-yolov5n.yaml').filter((d) =>
    ['YOLO024', 'YOLO025', 'YOLO026', 'YOLO027'].includes(d.code),
  );
  assert.deepEqual(extra, []);
});

test('which YAML is a model: backbone + head (or a classifier backbone); anything else is left alone', needsCorpus, () => {
  assert.equal(isModelDoc(parseModelDoc(corpusText(YOLOV5N))), true);
  assert.equal(isModelDoc(parseModelDoc('name: ci\non: [push]\njobs: {}\n')), false);
  assert.equal(isModelDoc(parseModelDoc('backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n')), false);
  assert.equal(isModelDoc(parseModelDoc('nc: 10\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1, 1, Classify, [nc]]\n')), true);
  // a model file with a syntax error is still a model file (its YOLO001 must show)
  assert.equal(isModelDoc(parseModelDoc('backbone:\n  - [-1, 1, Conv, [64, 3, 2]\nhead:\n  - [[-1], 1, Detect, [nc]]\n')), true);
});
