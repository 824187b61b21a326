/**
 * `activation:` is `Conv.default_act = eval(act)` in YOLOv5 HEAD and ultralytics: any torch.nn activation call,
 * arguments included (yolov5's hub `yolov5s-LeakyReLU.yaml` uses `nn.LeakyReLU(0.1)`), binds as torch's constructor
 * would; what torch would refuse is an error on the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from '../../server/src/core/resolve.ts';
import { forEachModule, type Mod } from '../../server/src/core/nn/module.ts';
import { corpusText, YOLOV5N } from '../features/corpus.ts';
import { needsCorpus } from '../support/reference.ts';

const withActivation = (expr: string) => `activation: ${expr}\n${corpusText(YOLOV5N)}`;

function convActs(m: Mod): Mod[] {
  const out: Mod[] = [];
  forEachModule(m, (x) => {
    if (x.leaf?.op === 'act') out.push(x);
  });
  return out;
}

test('nn.LeakyReLU(0.1) is every Conv activation, with its slope', needsCorpus, () => {
  const m = resolve(withActivation('nn.LeakyReLU(0.1)'), { framework: 'yolov5', imgsz: 64 });
  assert.deepEqual(
    m.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  const acts = convActs(m.layers[0]!.mod!);
  assert.equal(acts.length, 1);
  assert.deepEqual(acts[0]!.leaf, { op: 'act', fn: 'LeakyReLU', slope: 0.1 });
});

test('keyword arguments bind by name (nn.SiLU(inplace=True), nn.LeakyReLU(negative_slope=0.2))', needsCorpus, () => {
  assert.equal(resolve(withActivation('nn.SiLU(inplace=True)'), { framework: 'yolov5', imgsz: 64 }).ok, true);
  const m = resolve(withActivation('nn.LeakyReLU(negative_slope=0.2)'), { framework: 'yolov5', imgsz: 64 });
  assert.deepEqual(convActs(m.layers[0]!.mod!)[0]!.leaf, { op: 'act', fn: 'LeakyReLU', slope: 0.2 });
});

test('arguments torch refuses are an error on the activation value', needsCorpus, () => {
  const text = withActivation('nn.LeakyReLU(0.1, True, 3)');
  const m = resolve(text, { framework: 'yolov5', imgsz: 64 });
  const errors = m.diagnostics.filter((d) => d.severity === 'error');
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, 'YOLO004');
  assert.equal(text.slice(errors[0]!.range.start, errors[0]!.range.end), 'nn.LeakyReLU(0.1, True, 3)');
  assert.match(errors[0]!.message, /takes from 1 to 3 positional arguments but 4 were given/);
  const kw = resolve(withActivation('nn.ReLU(slope=2)'), { framework: 'yolov5', imgsz: 64 });
  assert.match(kw.diagnostics.find((d) => d.code === 'YOLO004')!.message, /unexpected keyword argument 'slope'/);
});

test('the Slim-neck fork ignores activation: (its Conv makes its own Mish)', needsCorpus, () => {
  const m = resolve(withActivation('nn.LeakyReLU(0.1, True, 3)'), { framework: 'yolov5-gsconv', imgsz: 64 });
  assert.equal(m.ok, true);
  assert.deepEqual(convActs(m.layers[0]!.mod!)[0]!.leaf, { op: 'act', fn: 'Mish' });
});
