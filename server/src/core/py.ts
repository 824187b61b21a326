/**
 * Python values as parse_model sees them. The upstream code runs on Python objects loaded by PyYAML, and the
 * difference between `2` and `2.0`, a tuple and a list, or `None` and `'None'` changes what it builds and what it
 * prints. Plain JS numbers are Python ints; floats are wrapped so that the distinction survives.
 */

export class PyFloat {
  constructor(readonly value: number) {}
}

export class PyTuple {
  constructor(readonly items: readonly PyVal[]) {}
}

/** An object that is not data (an activation instance such as `nn.ReLU()`): printed with its repr. */
export class PyObj {
  constructor(
    readonly cls: string,
    readonly repr: string,
  ) {}
}

/**
 * A constructor call an expression makes (`nn.LeakyReLU(0.1)`, `nn.SiLU(inplace=True)`): the class with its
 * arguments, for the catalog to build as torch would (and to refuse as torch would).
 */
export class PyCall extends PyObj {
  constructor(
    cls: string,
    readonly args: readonly PyVal[],
    readonly kwargs: Readonly<Record<string, PyVal>>,
  ) {
    const parts = [...args.map((a) => pyRepr(a)), ...Object.entries(kwargs).map(([k, v]) => `${k}=${pyRepr(v)}`)];
    super(cls, `${cls}(${parts.join(', ')})`);
  }
}

export type PyVal = number | PyFloat | boolean | null | string | PyVal[] | PyTuple | PyObj;

/** An int, float or bool: what Python's arithmetic operators take as numbers. */
export type PyNum = number | PyFloat | boolean;

export const isInt = (v: PyVal): v is number => typeof v === 'number';
export const isFloat = (v: PyVal): v is PyFloat => v instanceof PyFloat;
/** int, float or bool (bool is an int subclass in Python). */
export const isNumeric = (v: PyVal): v is PyNum => typeof v === 'number' || typeof v === 'boolean' || v instanceof PyFloat;
export const isList = (v: PyVal): v is PyVal[] => Array.isArray(v);
export const isSeq = (v: PyVal): v is PyVal[] | PyTuple => Array.isArray(v) || v instanceof PyTuple;
export const seqItems = (v: PyVal[] | PyTuple): readonly PyVal[] => (Array.isArray(v) ? v : v.items);

/** Numeric value of an int, float or bool; NaN for anything else. */
export function num(v: PyVal): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof PyFloat) return v.value;
  return NaN;
}

/** Python `==` for the values parse_model compares (numbers across int/float/bool, strings, sequences). */
export function pyEq(a: PyVal, b: PyVal): boolean {
  // the same list is equal to itself without a walk (Python compares identity first, too): two references to one
  // alias-bomb list would otherwise be compared element by element, billions of them
  if (a === b && (Array.isArray(a) || a instanceof PyTuple)) return true;
  if (isNumeric(a) && isNumeric(b)) return num(a) === num(b);
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (a === null || b === null) return a === b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEq(x, b[i]!));
  if (a instanceof PyTuple && b instanceof PyTuple)
    return a.items.length === b.items.length && a.items.every((x, i) => pyEq(x, b.items[i]!));
  return a === b;
}

/** Python truthiness. */
export function truthy(v: PyVal): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (v instanceof PyFloat) return v.value !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof PyTuple) return v.items.length > 0;
  return true;
}

/** Python's round() on a float: round half to even, returning an int. */
export function pyRound(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Python's float divmod (CPython's float_divmod): the floor quotient and the remainder with the divisor's sign.
 * Math.floor(a / b) is not it: the rounded quotient can cross an integer (1 // 0.1 is 9.0 in Python, 10 by the
 * naive formula), and ((a % b) + b) % b loses a tiny negative remainder (-1e-20 % 1.0 is 1.0, not 0.0). Exact on
 * ints, as they are exact doubles.
 */
function divmod(a: number, b: number): [number, number] {
  let mod = a % b;
  let div = (a - mod) / b;
  if (mod) {
    if (b < 0 !== mod < 0) {
      mod += b;
      div -= 1;
    }
  } else mod = b < 0 ? -0 : 0;
  let floor: number;
  if (div) {
    floor = Math.floor(div);
    if (div - floor > 0.5) floor += 1;
  } else floor = a / b < 0 || Object.is(a / b, -0) ? -0 : 0;
  return [floor, mod];
}

/** Python floor division for numbers (b ≠ 0). */
export const floorDiv = (a: number, b: number): number => divmod(a, b)[0];

/** Python `%` for numbers (b ≠ 0): the result has the sign of the divisor. */
export const pyMod = (a: number, b: number): number => divmod(a, b)[1];

/** Python's binary arithmetic operators on numbers. */
export type ArithOp = '+' | '-' | '*' | '/' | '//' | '%' | '**';
const ARITH_OPS: ReadonlySet<string> = new Set<ArithOp>(['+', '-', '*', '/', '//', '%', '**']);
export const isArithOp = (op: string): op is ArithOp => ARITH_OPS.has(op);

/**
 * Python's `a op b` on ints, floats and bools (a bool is the int 0 or 1): a float if either operand is one, and
 * always for `/` and for `**` with a negative exponent, else an int; `//` floors, `%` has the sign of the divisor.
 * `undefined` where Python raises ZeroDivisionError (`/`, `//`, `%` by zero): each caller words that error its own
 * way. Both expression readers (pyeval for parse_model's string args, user-modules for `.yolo-lens.json`) use this.
 */
export function numArith(op: ArithOp, a: PyNum, b: PyNum): PyVal | undefined {
  const x = num(a);
  const y = num(b);
  const float = a instanceof PyFloat || b instanceof PyFloat;
  const out = (v: number, asFloat = float): PyVal => (asFloat ? new PyFloat(v) : v);
  switch (op) {
    case '+':
      return out(x + y);
    case '-':
      return out(x - y);
    case '*':
      return out(x * y);
    case '/':
      return y === 0 ? undefined : new PyFloat(x / y);
    case '//':
      return y === 0 ? undefined : out(floorDiv(x, y));
    case '%':
      return y === 0 ? undefined : out(pyMod(x, y));
    case '**':
      // 0 ** -1 raises ZeroDivisionError ('0.0 cannot be raised to a negative power')
      return x === 0 && y < 0 ? undefined : out(x ** y, float || y < 0);
  }
}

/** Python's unary `-` on a number: a float stays a float, an int or bool gives an int. */
export const numNeg = (v: PyNum): PyVal => (v instanceof PyFloat ? new PyFloat(-v.value) : -num(v));

export function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

/** `make_divisible(x, divisor)` of both frameworks: `math.ceil(x / divisor) * divisor`. */
export const makeDivisible = (x: number, divisor: number): number => Math.ceil(x / divisor) * divisor;

/** repr() of a Python float. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (Object.is(x, -0)) return '-0.0';
  // JS and Python both print the shortest round-tripping digits; they differ in when they switch to exponent
  // notation (Python: exponent < -4 or >= 16) and in how the exponent is written.
  const exp = x === 0 ? 0 : Math.floor(Math.log10(Math.abs(x)));
  let digits = Math.abs(x).toExponential(); // shortest round-trip digits, e.g. "1.5e-7"
  const [mant, e] = digits.split('e') as [string, string];
  let e10 = Number(e);
  if (Math.abs(e10 - exp) > 1) e10 = exp;
  const sign = x < 0 ? '-' : '';
  if (e10 < -4 || e10 >= 16) {
    const es = e10 < 0 ? `-${String(-e10).padStart(2, '0')}` : `+${String(e10).padStart(2, '0')}`;
    return `${sign}${mant}e${es}`;
  }
  digits = String(Math.abs(x));
  if (!digits.includes('.') && !digits.includes('e')) digits += '.0';
  if (digits.includes('e')) {
    // JS switched to exponent notation where Python would not (only below 1e-6): expand it.
    digits = Math.abs(x).toFixed(Math.min(100, Math.max(0, -e10 + mant.replace('.', '').length - 1)));
  }
  return sign + digits;
}

/** repr() of a Python str: single quotes unless the text holds a single quote and no double quote. */
export function strRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += '\\' + q;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ' || ch === '\x7f') out += '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + q;
}

/**
 * How many values `v` holds once expanded, counting up to `limit` (aliases make YAML values DAGs whose expansion
 * can be exponential: callers check this before walking a value from user text).
 */
export function pySize(v: PyVal, limit: number): number {
  // fast paths without the stack: this runs for every arg of every layer, and nearly all are scalars or flat lists
  if (!Array.isArray(v)) {
    if (!(v instanceof PyTuple)) return 1;
  } else if (v.length < limit) {
    let flat = true;
    for (const y of v)
      if (Array.isArray(y) || y instanceof PyTuple) {
        flat = false;
        break;
      }
    if (flat) return 1 + v.length;
  }
  let count = 0;
  const stack: PyVal[] = [v];
  while (stack.length) {
    const x = stack.pop()!;
    if (++count > limit) return count;
    if (Array.isArray(x)) for (const y of x) stack.push(y);
    else if (x instanceof PyTuple) for (const y of x.items) stack.push(y);
  }
  return count;
}

/** Elements beyond which pyJson writes a value as its str(). */
const JSON_LIMIT = 10_000;

/** Longest text pyRepr produces; beyond it the text ends with '…' (a model arg is never that long). */
const REPR_LIMIT = 20_000;

/** str() of a value as Python prints it (parse_model prints `str(args)`). */
export function pyRepr(v: PyVal): string {
  if (pySize(v, 5_000) > 5_000) {
    const budget = { left: REPR_LIMIT };
    const s = reprBounded(v, budget);
    return budget.left <= 0 ? s.slice(0, REPR_LIMIT) + '…' : s;
  }
  return reprUnbounded(v);
}

function reprBounded(v: PyVal, budget: { left: number }): string {
  if (budget.left <= 0) return '';
  if (Array.isArray(v) || v instanceof PyTuple) {
    const items = Array.isArray(v) ? v : v.items;
    const parts: string[] = [];
    for (const x of items) {
      if (budget.left <= 0) break;
      const r = reprBounded(x, budget);
      budget.left -= r.length + 2;
      parts.push(r);
    }
    return Array.isArray(v) ? '[' + parts.join(', ') + ']' : '(' + parts.join(', ') + ')';
  }
  const r = reprUnbounded(v);
  budget.left -= r.length;
  return r;
}

function reprUnbounded(v: PyVal): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : floatRepr(v);
  if (v instanceof PyFloat) return floatRepr(v.value);
  if (typeof v === 'string') return strRepr(v);
  if (Array.isArray(v)) return '[' + v.map(reprUnbounded).join(', ') + ']';
  if (v instanceof PyTuple)
    return v.items.length === 1 ? `(${reprUnbounded(v.items[0]!)},)` : '(' + v.items.map(reprUnbounded).join(', ') + ')';
  return v.repr;
}

/**
 * The JSON the reference records use for a value: `json.dumps` with tuples as lists, floats keeping their `.0`,
 * anything that is not JSON (objects, NaN, infinities) as its str().
 */
export function pyJson(v: PyVal): string {
  // a value behind an alias bomb has billions of elements: past a real arg's size it is written as its (bounded)
  // str(), a JSON string, so the record stays valid JSON and small
  if ((Array.isArray(v) || v instanceof PyTuple) && pySize(v, JSON_LIMIT) > JSON_LIMIT) return JSON.stringify(pyRepr(v));
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  // NaN and infinities are not JSON: written as their str() ("nan", "inf"), so the record stays parseable
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : JSON.stringify(floatRepr(v));
  if (v instanceof PyFloat) return Number.isFinite(v.value) ? floatRepr(v.value) : JSON.stringify(floatRepr(v.value));
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(pyJson).join(', ') + ']';
  if (v instanceof PyTuple) return '[' + v.items.map(pyJson).join(', ') + ']';
  return JSON.stringify(v.repr);
}

/** A plain JS value for the same thing (for JSON.stringify and tests): floats become numbers, tuples arrays. */
export function toPlain(v: PyVal): unknown {
  if (v instanceof PyFloat) return v.value;
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof PyTuple) return v.items.map(toPlain);
  if (v instanceof PyObj) return v.repr;
  return v;
}

/** A value as a diagnostic message quotes it: Python's repr, cut at `max` characters. */
export function pyBrief(v: PyVal, max = 60): string {
  const s = pySize(v, 200) > 200 ? reprBounded(v, { left: max + 10 }) : reprUnbounded(v);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}
