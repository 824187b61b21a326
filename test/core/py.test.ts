/** Python semantics the resolver relies on: rounding, printing, JSON of Python values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  floatRepr,
  makeDivisible,
  numArith,
  numNeg,
  pyJson,
  pyRepr,
  pyRound,
  PyFloat,
  PyTuple,
  type ArithOp,
  type PyNum,
  type PyVal,
} from '../../server/src/core/py.ts';
import { evalStringArg, evaluate, parseExpression } from '../../server/src/core/pyeval.ts';
import { formatFixed, withCommas } from '../../common/src/format.ts';

test("round() is banker's rounding, as parse_model's depth gain uses it", () => {
  // values from QUIRKS-yolov5.md rule 6 and QUIRKS-ultralytics.md S9
  assert.deepEqual([3 * 0.33, 6 * 0.33, 9 * 0.33, 3 * 0.5, 5 * 0.5, 2.5, 1.5, 7 * 0.5, 9 * 0.5].map(pyRound), [1, 2, 3, 2, 2, 2, 2, 4, 4]);
});

test("'%.1f' rounds the exact binary value, ties to even", () => {
  // Python: '%.1f' % x for each
  const cases: [number, string][] = [
    [4.55, '4.5'],
    [0.25, '0.2'],
    [0.35, '0.3'],
    [2.345, '2.3'],
    [4.563968, '4.6'],
    [111.8, '111.8'],
    [-0.05, '-0.1'],
    [0, '0.0'],
  ];
  for (const [x, want] of cases) assert.equal(formatFixed(x, 1), want, String(x));
  assert.equal(formatFixed(2.345, 2), '2.35');
  assert.equal(formatFixed(0.125, 2), '0.12');
});

test('repr of floats switches to exponents where Python does', () => {
  assert.deepEqual([1e16, 1e-5, 0.0001, 2, 1.5e-7, 0.1 + 0.2].map(floatRepr), [
    '1e+16',
    '1e-05',
    '0.0001',
    '2.0',
    '1.5e-07',
    '0.30000000000000004',
  ]);
});

test('str() and JSON of parse_model args', () => {
  const args = [null, new PyFloat(2), 'nearest', true, new PyTuple([5]), [3, 3], "it's"];
  assert.equal(pyRepr(args), `[None, 2.0, 'nearest', True, (5,), [3, 3], "it's"]`);
  assert.equal(pyJson(args), `[null, 2.0, "nearest", true, [5], [3, 3], "it's"]`);
});

test('make_divisible and thousands separators', () => {
  assert.deepEqual(
    [makeDivisible(1024 * 0.25, 8), makeDivisible(1 * 0.25, 8), makeDivisible(0, 8), makeDivisible(100 * 0.33, 8)],
    [256, 8, 0, 40],
  );
  assert.deepEqual([0, 999, 1000, 1872157, -1234567].map(withCommas), ['0', '999', '1,000', '1,872,157', '-1,234,567']);
});

test('plain scalars resolve as PyYAML (YAML 1.1) resolves them', async () => {
  const { resolvePlain } = await import('../../server/src/core/document.ts');
  const plain = (s: string) => {
    const v = resolvePlain(s);
    return v instanceof PyFloat ? `float:${v.value}` : v;
  };
  const cases: [string, unknown][] = [
    ['yes', true],
    ['No', false],
    ['on', true],
    ['OFF', false],
    ['True', true],
    ['~', null],
    ['null', null],
    ['', null],
    ['None', 'None'],
    ['1e-3', '1e-3'],
    ['1.0e-3', 'float:0.001'],
    ['1.0e3', '1.0e3'],
    ['1e9', '1e9'],
    ['1.0e+9', 'float:1000000000'],
    ['010', 8],
    ['0x1f', 31],
    ['1_000', 1000],
    ['1:30', 90],
    ['0b101', 5],
    ['-1', -1],
    ['+3', 3],
    ['.5', 'float:0.5'],
    ['.inf', 'float:Infinity'],
    ['-.inf', 'float:-Infinity'],
    ['Conv', 'Conv'],
    ['nn.Upsample', 'nn.Upsample'],
    ['nearest', 'nearest'],
    ['y', 'y'],
  ];
  for (const [s, want] of cases) assert.deepEqual(plain(s), want, JSON.stringify(s));
  assert.ok(Number.isNaN((resolvePlain('.nan') as PyFloat).value));
});

// `a op b` and Python's repr of the result (python3: repr(eval(...))); the repr tells an int from a float
const ARITH: [PyNum, ArithOp, PyNum, string][] = [
  [-7, '//', 2, '-4'],
  [-7, '%', 2, '1'],
  [7, '%', -2, '-1'],
  [7, '//', -2, '-4'],
  [7, '/', 2, '3.5'],
  [4, '/', 2, '2.0'],
  [2, '**', -1, '0.5'],
  [2, '**', 3, '8'],
  [new PyFloat(2), '**', 3, '8.0'],
  [true, '+', 1, '2'],
  [true, '*', new PyFloat(2.5), '2.5'],
  [false, '-', 3, '-3'],
  [new PyFloat(-7.5), '//', 2, '-4.0'],
  [new PyFloat(-7.5), '%', 2, '0.5'],
  [7, '%', new PyFloat(2.5), '2.0'],
  [new PyFloat(0.1), '+', new PyFloat(0.2), '0.30000000000000004'],
  [3, '-', 5, '-2'],
  // where the naive formulas differ from CPython's float divmod
  [1, '//', new PyFloat(0.1), '9.0'],
  [new PyFloat(-1e-20), '%', new PyFloat(1), '1.0'],
  [new PyFloat(7.5), '//', -2, '-4.0'],
  [new PyFloat(1), '%', new PyFloat(-0.1), '-5.551115123125783e-17'],
];

test('arithmetic on ints, floats and bools gives what Python gives (int vs float, floor and modulo signs)', () => {
  for (const [a, op, b, want] of ARITH) {
    const got = numArith(op, a, b);
    assert.ok(got !== undefined, `${pyRepr(a)} ${op} ${pyRepr(b)}`);
    assert.equal(pyRepr(got), want, `${pyRepr(a)} ${op} ${pyRepr(b)}`);
  }
  assert.deepEqual([numNeg(true), numNeg(new PyFloat(2.5)), numNeg(new PyFloat(0))].map(pyRepr), ['-1', '-2.5', '-0.0']);
});

test('division and modulo by zero, and 0 to a negative power, are where Python raises ZeroDivisionError', () => {
  const zero: [PyNum, ArithOp, PyNum][] = [
    [1, '/', 0],
    [1, '//', 0],
    [1, '%', 0],
    [new PyFloat(1), '/', new PyFloat(0)],
    [true, '//', false],
    [5, '%', false],
    [0, '**', -1],
    [new PyFloat(0), '**', new PyFloat(-0.5)],
  ];
  for (const [a, op, b] of zero) assert.equal(numArith(op, a, b), undefined, `${pyRepr(a)} ${op} ${pyRepr(b)}`);
});

test("parse_model's eval of a string arg computes the same numbers", () => {
  const env = { names: { has: () => false, get: () => undefined }, mode: 'eval' } as const;
  for (const [a, op, b, want] of ARITH) {
    const src = `${pyRepr(a)} ${op} ${pyRepr(b)}`;
    const r = evalStringArg(src, env);
    assert.equal(r.kind === 'value' ? pyRepr(r.value) : JSON.stringify(r), want, src);
  }
});

test("parse_model's eval repeats and joins sequences as Python does", () => {
  const env = { names: { has: () => false, get: () => undefined }, mode: 'eval' } as const;
  // python3: repr(eval(src)) for each
  const cases: [string, string][] = [
    ["'a' + 'b'", "'ab'"],
    ["'ab' * 2", "'abab'"],
    ['3 * [1]', '[1, 1, 1]'],
    ['[1, 2] * 2', '[1, 2, 1, 2]'],
    ['[1] * True', '[1]'],
    ['[1] * -1', '[]'],
    ['[[1]] * 2', '[[1], [1]]'],
  ];
  for (const [src, want] of cases) {
    const r = evalStringArg(src, env);
    assert.equal(r.kind === 'value' ? pyRepr(r.value) : JSON.stringify(r), want, src);
  }
  // a float count is a TypeError in Python too, and a huge one is refused before allocating
  for (const src of ['[1] * 2.0', "'a' + 1", '[0] * 10**9']) assert.notEqual(evalStringArg(src, env).kind, 'value', src);
});

test('unary signs on bools: eval gives ints, ast.literal_eval refuses them', () => {
  const names = { has: () => false, get: () => undefined };
  // python3: repr(eval(src)); ast.literal_eval('-True') raises ValueError (malformed node or string)
  const evalOf = (src: string) => evalStringArg(src, { names, mode: 'eval' });
  assert.deepEqual(
    ['+True', '-True', '+False', '-1', '+1.5'].map((src) => {
      const r = evalOf(src);
      return r.kind === 'value' ? pyRepr(r.value) : r.kind;
    }),
    ['1', '-1', '0', '-1', '1.5'],
  );
  const literalOf = (src: string) => evalStringArg(src, { names, mode: 'literal' });
  for (const src of ['+True', '-True']) assert.notEqual(literalOf(src).kind, 'value', src);
  assert.deepEqual(
    ['-1', '+1.5'].map((src) => {
      const r = literalOf(src);
      return r.kind === 'value' ? pyRepr(r.value) : r.kind;
    }),
    ['-1', '1.5'],
  );
});

test('one expression reader: Python for parse_model, plus && || ! and ?: for .yolo-lens.json', () => {
  const names = new Map<string, PyVal>([
    ['c', 64],
    ['xs', [1, 2, 3]],
  ]);
  const config = (src: string) => {
    const p = parseExpression(src, 'config');
    assert.ok('expr' in p, `${src}: ${JSON.stringify(p)}`);
    return pyRepr(evaluate(p.expr, { names, mode: 'config' }));
  };
  // python3: repr(eval(src)) with c = 64, xs = [1, 2, 3]
  assert.deepEqual(
    ['c // 2 if c > 32 else c', '1 < c <= 64', 'not c', 'c and xs[-1]', '0 or None', 'max(xs) * 2', 'int(c * 0.25)', 'xs[0] == 1'].map(
      config,
    ),
    ['32', 'True', 'False', '3', 'None', '6', '16', 'True'],
  );
  assert.deepEqual(['c > 32 ? 1 : 2', '!c || true', 'c == 64 && null'].map(config), ['1', 'True', 'None']);
  // the JSON author's operators are not Python: parse_model's eval raises a SyntaxError on them
  const env = { names: { has: () => false, get: () => undefined }, mode: 'eval' } as const;
  for (const src of ['1 ? 2 : 3', '!1', '1 && 2']) assert.equal(evalStringArg(src, env).kind, 'error', src);
  // and Python's own forms evaluate, as eval() does
  assert.deepEqual(
    ['2 if 1 < 2 else 3', '[4, 5][1]', 'not 0'].map((src) => {
      const r = evalStringArg(src, env);
      return r.kind === 'value' ? pyRepr(r.value) : r.kind;
    }),
    ['2', '5', 'True'],
  );
  // a syntax error says where; nesting is bounded as in Python
  assert.deepEqual(parseExpression('c2 *', 'config'), { error: 'unexpected EOF while parsing', at: 4 });
  assert.match(JSON.stringify(parseExpression('('.repeat(500) + '1' + ')'.repeat(500))), /too many nested parentheses/);
});
