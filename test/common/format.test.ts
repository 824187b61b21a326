/** The one way numbers, shapes and FLOPs are printed on every surface (hover, lens, status bar, CLI, panel). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compactCount,
  exactCount,
  flopsConvention,
  flopsOf,
  gflopsText,
  headlineGflops,
  modelFiguresText,
  modelGflopsText,
  msText,
  outputText,
  shapeText,
  signedText,
} from '../../common/src/format.ts';

test('counts: three significant digits with a unit, trailing zeros dropped, never 1000 of a unit', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [64, '64'],
    [999, '999'],
    [1000, '1K'],
    [3200, '3.2K'],
    [12_345, '12.3K'],
    [412_345, '412K'],
    [999_499, '999K'],
    [999_999, '1M'],
    [1_872_157, '1.87M'],
    [2_007_793, '2.01M'],
    [11_166_560, '11.2M'],
    [-3200, '-3.2K'],
    [1_500_000_000, '1.5G'],
  ];
  assert.deepEqual(
    cases.map(([n]) => compactCount(n)),
    cases.map(([, want]) => want),
  );
  assert.equal(compactCount(null), '?');
  assert.equal(compactCount(Number.NaN), '?');
  assert.equal(exactCount(1_872_157), '1,872,157');
  assert.equal(exactCount(undefined), '?');
});

test('GFLOPs: one decimal from 10 up, two from 1, three significant digits below; a model total as Python prints it', () => {
  assert.deepEqual([165.2e9, 8.743e9, 0.2474e9, 0.01234e9, 0].map(gflopsText), ['165.2', '8.74', '0.247', '0.0123', '0']);
  assert.equal(gflopsText(null), '?');
  // f'{x:.1f}': ties go by the exact binary value (4.55 is 4.54999...)
  assert.deepEqual([4.6, 5, 4.55].map(modelGflopsText), ['4.6', '5.0', '4.5']);
});

test('the headline figures: at 640 what the framework prints, elsewhere the per-layer sum at that size', () => {
  assert.equal(headlineGflops(4.6, 4.63e9, 640), 4.6);
  assert.equal(headlineGflops(4.6, 1.16e9, 320), 1.16);
  assert.equal(headlineGflops(null, 4.63e9, 640), 4.63);
  assert.equal(modelFiguresText(1_872_157, 4.6, 640), '1.87M params · 4.6 GFLOPs @640');
  assert.equal(modelFiguresText(null, null, 320), '? params · ? GFLOPs @320');
});

test('shapes, outputs, times and signs', () => {
  assert.equal(shapeText([1, 128, 40, 40]), '128×40×40');
  assert.equal(shapeText(null), '?');
  assert.equal(outputText([1, 64, 80, 80]), '64×80×80');
  assert.equal(
    outputText(null, [
      [1, 3, 80, 80, 85],
      [1, 3, 40, 40, 85],
      [1, 3, 20, 20, 85],
    ]),
    '3×80×80×85 (+2)',
  );
  assert.deepEqual([123.4, 12.34, 1.234].map(msText), ['123', '12.3', '1.23']);
  assert.deepEqual([signedText('1.2K', 1200), signedText('-3', -3), signedText('0', 0)], ['+1.2K', '-3', '0']);
});

test('one spelling of the FLOPs convention: the setting value picks the field of a FLOPs pair', () => {
  const pair = { ultralyticsThop: 2, thop: 1 };
  assert.equal(flopsOf(pair, flopsConvention('ultralytics-thop')), 2);
  assert.equal(flopsOf(pair, flopsConvention('thop')), 1);
  // anything else (an old or mistyped value) is the default, ultralytics-thop
  assert.equal(flopsOf(pair, flopsConvention('ultralyticsThop')), 2);
  assert.equal(flopsOf(null, 'thop'), null);
});
