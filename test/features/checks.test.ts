/**
 * The model-level checks (server/src/core/features/checks/) on small fixtures, each code on its exact token; and on
 * the corpus, the files upstream ships, none of the silent-mistake checks fires except where the shipped file has
 * the mistake (the Slim-neck yolov8-sn.yaml's dead VoVGSCSP, its ignored repeats, a P7 model whose GFLOPs
 * Scaled-YOLOv4 cannot count).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { resolve, type ResolveOptions } from '../../server/src/core/resolve.ts';
import { modelDiagnostics } from '../../server/src/core/features/diagnostics.ts';
import { diagnosticMismatches, fixture } from '../support/fixtures.ts';
import { CORPUS, CORPUS_MISSING, needsCorpus, yamlFilesUnder } from '../support/reference.ts';

const run = (text: string, opts: ResolveOptions = {}) => modelDiagnostics(resolve(text, { fileName: 'model.yaml', ...opts }));

/** The marked codes on their exact spans, other codes ignored. */
function expectMarked(src: string, opts: ResolveOptions, only: string[]) {
  const f = fixture(src);
  const got = run(f.text, opts);
  assert.deepEqual(diagnosticMismatches(f, got, { only }), []);
  return got;
}

const V5 = `
  nc: 80
  depth_multiple: 0.33
  width_multiple: 0.25
  anchors:
    - [10,13, 16,30, 33,23]
    - [30,61, 62,45, 59,119]
`;

test('YOLO041: a key no framework reads, with the key it may be a typo of', () => {
  const got = expectMarked(
    `${V5}
    widht_multiple: 0.5
  # ^^^^^^^^^^^^^^ YOLO041
    backbone:
      - [-1, 1, Conv, [64, 6, 2, 2]]
    head:
      - [-1, 1, Conv, [64, 3, 2]]
  `,
    {},
    ['YOLO041', 'YOLO040'],
  );
  assert.equal(got.find((d) => d.code === 'YOLO041')!.data?.suggestion, 'width_multiple');
});

test('YOLO040: multiples beside scales:, and a key the framework ignores (activation in the Slim-neck fork)', () => {
  expectMarked(
    `
    nc: 80
    depth_multiple: 0.5
  # ^^^^^^^^^^^^^^ YOLO040
    scales:
      n: [0.33, 0.25, 1024]
    backbone:
      - [-1, 1, Conv, [64, 3, 2]]
    head:
      - [-1, 1, Conv, [64, 3, 2]]
  `,
    { framework: 'ultralytics-8.4' },
    ['YOLO040'],
  );
  expectMarked(
    `${V5}
    activation: nn.ReLU()
  # ^^^^^^^^^^ YOLO040
    backbone:
      - [-1, 1, Conv, [64, 6, 2, 2]]
    head:
      - [-1, 1, GSConv, [64, 3, 2]]
  `,
    { framework: 'yolov5-gsconv' },
    ['YOLO040'],
  );
});

test('YOLO034 (keys): a key only a newer version reads points at that version', () => {
  const got = run(
    `nc: 80\nreg_max: 16\nscales:\n  n: [0.33, 0.25, 1024]\n` +
      `backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Conv, [64, 3, 2]]\n`,
    { framework: 'ultralytics-8.3' },
  );
  const v = got.find((d) => d.code === 'YOLO034');
  assert.ok(v);
  assert.equal(v.severity, 'warning', 'the older version builds it, ignoring the key');
  assert.equal(v.data?.framework, 'ultralytics-8.4');
});

test('YOLO043: a width multiple that lifts the channels to the minimum, a depth multiple that floors every repeat', () => {
  expectMarked(
    `
    nc: 80
    depth_multiple: 0.1
  #                 ^^^ YOLO043
    width_multiple: 0.01
  #                 ^^^^ YOLO043
    anchors: 3
    backbone:
      - [-1, 1, Conv, [64, 6, 2, 2]]
      - [-1, 1, Conv, [128, 3, 2]]
      - [-1, 3, C3, [128]]
      - [-1, 1, Conv, [256, 3, 2]]
      - [-1, 3, C3, [256]]
    head:
      - [-1, 1, Conv, [64, 3, 2]]
  `,
    { framework: 'yolov5' },
    ['YOLO043'],
  );
  // the published scales do not trip it
  const ok = run(
    `${V5}\n    backbone:\n      - [-1, 1, Conv, [64, 6, 2, 2]]\n      - [-1, 9, C3, [128]]\n` +
      `    head:\n      - [-1, 1, Conv, [64, 3, 2]]\n`,
  );
  assert.deepEqual(
    ok.filter((d) => d.code === 'YOLO043'),
    [],
  );
});

test('YOLO044: a bool for an int and a float for a bool build, but not as written', () => {
  expectMarked(
    `${V5}
    backbone:
      - [-1, 1, Conv, [64, True, 2]]
  #                        ^^^^ YOLO044
      - [-1, 3, C3, [128, 0.5]]
  #                       ^^^ YOLO044
    head:
      - [-1, 1, Conv, [64, 3, 2]]
  `,
    { framework: 'yolov5' },
    ['YOLO044'],
  );
});

test('YOLO036: a Concat that takes another Concat from inside a stage', () => {
  expectMarked(
    `
    nc: 80
    scales:
      n: [0.33, 0.25, 1024]
    backbone:
      - [-1, 1, Conv, [64, 3, 2]] # 0
      - [-1, 1, Conv, [128, 3, 2]] # 1
      - [[-1, 1], 1, Concat, [1]] # 2
      - [-1, 1, C2f, [128]] # 3 continues the stage of 2
      - [-1, 1, Conv, [128, 3, 2]] # 4
      - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 5
      - [[-1, 2], 1, Concat, [1]] # 6
  #           ^ YOLO036
    head:
      - [-1, 1, C2f, [128]]
  `,
    { framework: 'ultralytics-8.4' },
    ['YOLO036'],
  );
});

test('on the files upstream ships, the silent-mistake checks fire only where the file has the mistake', needsCorpus, () => {
  if (CORPUS_MISSING) return;
  const silent = new Set([
    'YOLO032',
    'YOLO035',
    'YOLO036',
    'YOLO037',
    'YOLO038',
    'YOLO039',
    'YOLO040',
    'YOLO041',
    'YOLO043',
    'YOLO044',
    'YOLO045',
  ]);
  const seen: string[] = [];
  for (const f of yamlFilesUnder(CORPUS)) {
    for (const d of run(readFileSync(f, 'utf8'), { fileName: f }))
      if (silent.has(d.code)) seen.push(`${relative(CORPUS, f).replace(/\\/g, '/')} ${d.code}`);
  }
  const counts = new Map<string, number>();
  for (const s of seen) counts.set(s, (counts.get(s) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries([...counts].sort()), {
    // Scaled-YOLOv4 probes its GFLOPs at 64×64; a P7 model downsamples by 128
    'slimneck/gsconv-scaled-yolov4/models/yolov4-p7.yaml YOLO032': 1,
    // the Slim-neck VoVGSCSP and VoVGSCSPC build one inner block whatever n is
    'slimneck/gsconv-scaled-yolov4/models/SN-yolov4-p5.yaml YOLO039': 4,
    'slimneck/gsconv-scaled-yolov4/models/SNc-yolov4-p5.yaml YOLO039': 4,
    'slimneck/gsconv-yolov5/models/SNc-yolov5s.yaml YOLO039': 4,
    'slimneck/gsconv-yolov8_9_10_11/ultralytics/cfg/models/v8/yolov8-sn.yaml YOLO039': 3,
    // the shipped yolov8-sn.yaml's Detect reads the C2f before the VoVGSCSP meant to replace it
    'slimneck/gsconv-yolov8_9_10_11/ultralytics/cfg/models/v8/yolov8-sn.yaml YOLO035': 1,
  });
});
