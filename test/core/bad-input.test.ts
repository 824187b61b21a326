/**
 * Bad input is data: every malformed model gets a clear diagnostic on the right token, resolve() never throws
 * and never hangs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from '../../server/src/core/resolve.ts';
import type { Model } from '../../server/src/core/model.ts';
import { V5_BODY, V5_HEADER } from '../support/fixtures.ts';

function timed(text: string, opts = {}): { model: Model; ms: number } {
  const t = performance.now();
  const model = resolve(text, opts);
  return { model, ms: performance.now() - t };
}

/** the diagnostic with `code` exists and its range covers `needle` in the text */
function assertAt(m: Model, code: string, needle: string | null, severity = 'error'): void {
  const d = m.diagnostics.find((x) => x.code === code);
  assert.ok(d, `expected ${code}, got ${m.diagnostics.map((x) => `${x.code} ${x.message}`).join('; ') || 'nothing'}`);
  assert.equal(d.severity, severity);
  assert.ok(d.message.length > 10, 'a message a user can read');
  if (needle !== null) assert.equal(m.doc.text.slice(d.range.start, d.range.end), needle, `${code} range`);
}

test('the healthy fixture resolves without errors', () => {
  const { model } = timed(V5_HEADER + V5_BODY);
  assert.deepEqual(
    model.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.ok(model.totals);
});

test('an empty file', () => {
  for (const text of ['', '\n\n', '# only a comment\n']) {
    const { model } = timed(text);
    assertAt(model, 'YOLO002', null);
    assert.equal(model.ok, false);
  }
});

test('a document that is not a mapping', () => {
  assertAt(timed('- [-1, 1, Conv, [64]]\n').model, 'YOLO002', '- [-1, 1, Conv, [64]]\n');
  assertAt(timed('just a string\n').model, 'YOLO002', 'just a string');
});

test('YAML syntax errors point at the error', () => {
  // a layer's list is never closed: the parser finds out at the next key, where PyYAML says "expected ',' or ']'"
  // (line 4, column 1 of the same file)
  const text = V5_HEADER + 'backbone:\n  - [-1, 1, Conv, [64, 6, 2, 2]\nhead: []\n';
  const { model } = timed(text);
  assertAt(model, 'YOLO001', 'h');
  const d = model.diagnostics.find((x) => x.code === 'YOLO001')!;
  assert.equal(d.range.start, text.indexOf('head: []'), 'on the first character of the line after the unclosed list');
  assert.match(d.message, /end with a \]/);
});

test('an alias bomb (billion laughs) is cheap and does not expand', () => {
  const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 12; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    bomb.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const text = bomb.join('\n') + '\n' + V5_HEADER + V5_BODY + 'extra: *l\n';
  const { model, ms } = timed(text);
  assert.ok(ms < 2000, `took ${ms} ms`);
  assert.ok(model.totals, 'the model itself still resolves');
  // aliases used as layer values are resolved once, not expanded
  const { model: m2, ms: ms2 } = timed(bomb.join('\n') + '\n' + V5_HEADER + 'backbone: *l\nhead: []\n');
  assert.ok(ms2 < 2000, `took ${ms2} ms`);
  assert.ok(m2.diagnostics.length > 0);
});

test('a 10 MB file is refused with a diagnostic, quickly', () => {
  const line = '  - [-1, 1, Conv, [64, 3, 1]]  # padding padding padding padding padding padding\n';
  const text = V5_HEADER + 'backbone:\n' + line.repeat(Math.ceil(10_000_000 / line.length)) + 'head: []\n';
  assert.ok(text.length >= 10_000_000);
  const { model, ms } = timed(text);
  assertAt(model, 'YOLO028', null);
  assert.ok(ms < 1000, `took ${ms} ms`);
});

test('100,000-level nesting is refused, not a stack overflow', () => {
  const text = V5_HEADER + 'backbone:\n  - ' + '['.repeat(100_000) + ']'.repeat(100_000) + '\nhead: []\n';
  const { model } = timed(text);
  assert.ok(model.diagnostics.some((d) => d.severity === 'error'));
});

test('n: 1e12 (a string in YAML 1.1) and a huge integer n', () => {
  const m1 = timed(V5_HEADER + V5_BODY.replace('[-1, 3, C3, [128]]', '[-1, 1e12, C3, [128]]')).model;
  assertAt(m1, 'YOLO009', '1e12');
  assert.match(m1.diagnostics.find((d) => d.code === 'YOLO009')!.message, /string in YAML 1\.1/);
  const { model: m2, ms } = timed(V5_HEADER + V5_BODY.replace('[-1, 3, C3, [128]]', '[-1, 1000000000000, C3, [128]]'));
  assertAt(m2, 'YOLO023', '1000000000000');
  assert.ok(ms < 1000, `took ${ms} ms`);
});

test('width_multiple: 1e9, as written and as a real number', () => {
  const m1 = timed(V5_HEADER.replace('width_multiple: 0.25', 'width_multiple: 1e9') + V5_BODY).model;
  assertAt(m1, 'YOLO004', '1e9');
  const { model: m2, ms } = timed(V5_HEADER.replace('width_multiple: 0.25', 'width_multiple: 1.0e+9') + V5_BODY);
  assertAt(m2, 'YOLO023', '1.0e+9');
  assert.ok(ms < 1000, `took ${ms} ms`);
});

test('NaN, infinity and strings where numbers belong', () => {
  assertAt(timed(V5_HEADER.replace('depth_multiple: 0.33', 'depth_multiple: .nan') + V5_BODY).model, 'YOLO023', '.nan');
  assertAt(timed(V5_HEADER.replace('depth_multiple: 0.33', 'depth_multiple: .inf') + V5_BODY).model, 'YOLO023', '.inf');
  assertAt(timed(V5_HEADER.replace('depth_multiple: 0.33', 'depth_multiple: deep') + V5_BODY).model, 'YOLO004', 'deep');
  assertAt(timed(V5_HEADER.replace('nc: 80', 'nc: eighty') + V5_BODY).model, 'YOLO004', 'eighty');
  assertAt(timed(V5_HEADER + V5_BODY.replace('[-1, 3, C3, [128]]', '[-1, .nan, C3, [128]]')).model, 'YOLO023', '.nan');
  assertAt(timed(V5_HEADER + V5_BODY.replace('[-1, 1, Conv, [128, 3, 2]]', '[-1, 1, Conv, [wide, 3, 2]]')).model, 'YOLO013', 'wide');
  assertAt(timed(V5_HEADER + V5_BODY.replace('[-1, 1, Conv, [128, 3, 2]]', '[-1, 1, Conv, [.inf, 3, 2]]')).model, 'YOLO029', null);
});

test('from errors land on the offending element', () => {
  assertAt(timed(V5_HEADER + V5_BODY.replace('[[3, 4, 5], 1, Detect', '[[3, 4, 9], 1, Detect')).model, 'YOLO008', '9');
  assertAt(timed(V5_HEADER + V5_BODY.replace('[[3, 4, 5], 1, Detect', '[[3, -40, 5], 1, Detect')).model, 'YOLO007', '-40');
  assertAt(timed(V5_HEADER + V5_BODY.replace('[[3, 4, 5], 1, Detect', '[[3, x, 5], 1, Detect')).model, 'YOLO006', 'x');
  assertAt(timed(V5_HEADER + V5_BODY.replace('[[3, 4, 5], 1, Detect', '[5, 1, Detect')).model, 'YOLO006', '5');
});

test('unknown module with a did-you-mean', () => {
  const m = timed(V5_HEADER + V5_BODY.replace('[-1, 3, C3, [128]]', '[-1, 3, C33, [128]]')).model;
  assertAt(m, 'YOLO010', 'C33');
  assert.match(m.diagnostics.find((d) => d.code === 'YOLO010')!.message, /did you mean 'C3'/);
});

test('a layer that is not a 4-list', () => {
  assertAt(timed(V5_HEADER + V5_BODY.replace('[-1, 3, C3, [128]]', '[-1, 3, C3]')).model, 'YOLO005', '[-1, 3, C3]');
  assertAt(timed(V5_HEADER + V5_BODY.replace('[-1, 3, C3, [128]]', 'C3')).model, 'YOLO005', 'C3');
});

test('a BOM, CRLF line endings and tabs in comments still resolve', () => {
  const text = '\ufeff' + (V5_HEADER + V5_BODY).replace(/\n/g, '\r\n').replace('# ', '#\t');
  const { model } = timed(text);
  assert.deepEqual(
    model.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
    [],
  );
});

test('multi-document YAML is refused as PyYAML refuses it', () => {
  const { model } = timed(V5_HEADER + V5_BODY + '---\nnc: 1\n');
  assertAt(model, 'YOLO001', null);
});

test('duplicate keys: the last one wins, with a warning', () => {
  const { model } = timed(V5_HEADER + 'nc: 3\n' + V5_BODY);
  assert.equal(model.nc, 3);
  assertAt(model, 'YOLO004', 'nc', 'warning');
});
