/**
 * The one reader of Python expressions: a tokenizer, a parser to a small syntax tree, and an evaluator that never
 * runs anything but the arithmetic written. Two users:
 *  - parse_model's string args (`evalStringArg`). YOLOv5 frameworks `eval()` them (names from parse_model's locals
 *    and the module's globals, a NameError leaves the string as it is); ultralytics looks them up in parse_model's
 *    locals, else `ast.literal_eval`s them (a ValueError leaves them as they are). Anything else that raises
 *    (SyntaxError...) stops parse_model.
 *  - the expressions of `.yolo-lens.json` (`"int(c2 * e)"`, declaredModules.ts): over the declaration's params, with
 *    the functions of EXPR_FUNCTIONS, and for a JSON author's comfort also `&& || !` and `cond ? a : b`.
 */
import {
  PyCall,
  PyFloat,
  PyObj,
  PyTuple,
  type PyVal,
  isArithOp,
  isNumeric,
  isSeq,
  makeDivisible,
  num,
  numArith,
  numNeg,
  pyEq,
  pyRepr,
} from './py.ts';
import { pyRound, seqItems, truthy } from './py.ts';
import { ACT_CLASSES } from './nn/builder.ts';

// ---- tokens -----------------------------------------------------------------------------------------------------

type Tok = ({ t: 'num'; v: PyVal } | { t: 'str'; v: string } | { t: 'name'; v: string } | { t: 'op'; v: string } | { t: 'end' }) & {
  at: number;
};

const NUMBER = /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?[jJ]?)/;
const OPERATOR = /^(?:\*\*|\/\/|==|!=|<=|>=|&&|\|\||[-+*/%()[\],.:{}<>!?=])/;

function tokenize(src: string): Tok[] | { error: string; at: number } {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const numMatch = /[\d.]/.test(c) ? NUMBER.exec(src.slice(i)) : null;
    if (numMatch && numMatch[0].length > 0) {
      const s = numMatch[0].replace(/_/g, '');
      const at = i;
      i += numMatch[0].length;
      if (/[jJ]$/.test(s)) return { error: 'complex numbers are not supported', at };
      if (/^0[xX]/.test(s)) out.push({ t: 'num', v: parseInt(s.slice(2), 16), at });
      else if (/^0[oO]/.test(s)) out.push({ t: 'num', v: parseInt(s.slice(2), 8), at });
      else if (/^0[bB]/.test(s)) out.push({ t: 'num', v: parseInt(s.slice(2), 2), at });
      else if (/[.eE]/.test(s)) out.push({ t: 'num', v: new PyFloat(Number(s)), at });
      else {
        if (/^0\d/.test(s)) return { error: 'leading zeros in decimal integer literals are not permitted', at };
        out.push({ t: 'num', v: Number(s), at });
      }
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1]!;
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else v += src[j++];
      }
      if (j >= src.length) return { error: 'unterminated string literal', at: i };
      out.push({ t: 'str', v, at: i });
      i = j + 1;
      continue;
    }
    const nameMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (nameMatch) {
      out.push({ t: 'name', v: nameMatch[0], at: i });
      i += nameMatch[0].length;
      continue;
    }
    const op = OPERATOR.exec(src.slice(i));
    if (op) {
      out.push({ t: 'op', v: op[0], at: i });
      i += op[0].length;
      continue;
    }
    return { error: `invalid syntax at '${c}'`, at: i };
  }
  out.push({ t: 'end', at: src.length });
  return out;
}

// ---- syntax tree --------------------------------------------------------------------------------------------------

export type PyExpr =
  | { readonly kind: 'const'; readonly value: PyVal }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'attribute'; readonly object: PyExpr; readonly name: string }
  | {
      readonly kind: 'call';
      readonly callee: PyExpr;
      readonly args: readonly PyExpr[];
      readonly kwargs: readonly (readonly [string, PyExpr])[];
    }
  | { readonly kind: 'index'; readonly object: PyExpr; readonly index: PyExpr }
  | { readonly kind: 'list' | 'tuple'; readonly items: readonly PyExpr[] }
  | { readonly kind: 'unary'; readonly op: '+' | '-' | 'not'; readonly operand: PyExpr }
  | { readonly kind: 'binary'; readonly op: string; readonly left: PyExpr; readonly right: PyExpr }
  | { readonly kind: 'compare'; readonly ops: readonly string[]; readonly operands: readonly PyExpr[] }
  | { readonly kind: 'logic'; readonly op: 'and' | 'or'; readonly left: PyExpr; readonly right: PyExpr }
  | { readonly kind: 'ternary'; readonly test: PyExpr; readonly then: PyExpr; readonly otherwise: PyExpr };

/** `python`: what Python's grammar takes; `config`: also `&& || !`, `cond ? a : b` and `true false null`. */
export type Dialect = 'python' | 'config';

const KEYWORDS = new Set(['and', 'or', 'not', 'if', 'else', 'in', 'is', 'lambda', 'for', 'None', 'True', 'False']);
/** Python stops at 200 nested parentheses ("too many nested parentheses"); so does this reader (and its stack). */
const MAX_NESTING = 200;

class ParseError {
  constructor(
    readonly message: string,
    readonly at: number,
  ) {}
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly dialect: Dialect,
  ) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private next(): Tok {
    return this.toks[this.i++]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  private isWord(v: string): boolean {
    const t = this.peek();
    return t.t === 'name' && t.v === v;
  }
  private configOp(v: string): boolean {
    return this.dialect === 'config' && this.isOp(v);
  }
  private fail(message = 'invalid syntax'): never {
    throw new ParseError(message, this.peek().at);
  }
  private expect(v: string, message: string): void {
    if (!this.isOp(v)) this.fail(message);
    this.i++;
  }

  /** The whole source: an expression, or a bare tuple `1, 2`. */
  all(): PyExpr {
    const first = this.expr();
    let e = first;
    if (this.isOp(',')) {
      const items = [first];
      while (this.isOp(',')) {
        this.i++;
        if (this.peek().t === 'end') break;
        items.push(this.expr());
      }
      e = { kind: 'tuple', items };
    }
    if (this.peek().t !== 'end') this.fail();
    return e;
  }

  private nested<T>(f: () => T): T {
    if (++this.depth > MAX_NESTING) this.fail('too many nested parentheses');
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  expr(): PyExpr {
    return this.nested(() => {
      const test = this.or();
      if (this.isWord('if')) {
        this.i++;
        const condition = this.or();
        if (!this.isWord('else')) this.fail("expected 'else' after 'if' expression");
        this.i++;
        return { kind: 'ternary', test: condition, then: test, otherwise: this.expr() };
      }
      if (this.configOp('?')) {
        this.i++;
        const then = this.expr();
        this.expect(':', "expected ':' in 'cond ? a : b'");
        return { kind: 'ternary', test, then, otherwise: this.expr() };
      }
      return test;
    });
  }

  private or(): PyExpr {
    return this.logic('or', '||', () => this.and());
  }

  private and(): PyExpr {
    return this.logic('and', '&&', () => this.not());
  }

  /** `a or b or c` (left to right), also spelled `||` in the config dialect */
  private logic(op: 'and' | 'or', alias: string, operand: () => PyExpr): PyExpr {
    let left = operand();
    while (this.isWord(op) || this.configOp(alias)) {
      this.i++;
      left = { kind: 'logic', op, left, right: operand() };
    }
    return left;
  }

  private not(): PyExpr {
    if (this.isWord('not') || this.configOp('!')) {
      this.i++;
      return this.nested(() => ({ kind: 'unary', op: 'not', operand: this.not() }));
    }
    return this.comparison();
  }

  private comparison(): PyExpr {
    const first = this.arith();
    const ops: string[] = [];
    const operands = [first];
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op' || !['==', '!=', '<', '>', '<=', '>='].includes(t.v)) break;
      this.i++;
      ops.push(t.v);
      operands.push(this.arith());
    }
    return ops.length ? { kind: 'compare', ops, operands } : first;
  }

  private arith(): PyExpr {
    let left = this.term();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.next() as { v: string }).v;
      left = { kind: 'binary', op, left, right: this.term() };
    }
    return left;
  }

  private term(): PyExpr {
    let left = this.factor();
    while (this.isOp('*') || this.isOp('/') || this.isOp('//') || this.isOp('%')) {
      const op = (this.next() as { v: string }).v;
      left = { kind: 'binary', op, left, right: this.factor() };
    }
    return left;
  }

  private factor(): PyExpr {
    if (this.isOp('-') || this.isOp('+')) {
      const op = (this.next() as { v: string }).v as '+' | '-';
      return this.nested(() => ({ kind: 'unary', op, operand: this.factor() }));
    }
    return this.power();
  }

  private power(): PyExpr {
    const base = this.primary();
    if (!this.isOp('**')) return base;
    this.i++;
    return { kind: 'binary', op: '**', left: base, right: this.nested(() => this.factor()) };
  }

  private primary(): PyExpr {
    let e = this.atom();
    for (;;) {
      if (this.isOp('.')) {
        this.i++;
        const n = this.next();
        if (n.t !== 'name') this.fail();
        e = { kind: 'attribute', object: e, name: n.v };
      } else if (this.isOp('(')) {
        this.i++;
        const { args, kwargs } = this.nested(() => this.callArgs());
        e = { kind: 'call', callee: e, args, kwargs };
      } else if (this.isOp('[')) {
        this.i++;
        const index = this.nested(() => this.expr());
        this.expect(']', "'[' was never closed");
        e = { kind: 'index', object: e, index };
      } else return e;
    }
  }

  /** `f(a, b, k=v)` after the `(`: positional then keyword arguments, up to and past the `)` */
  private callArgs(): { args: PyExpr[]; kwargs: [string, PyExpr][] } {
    const args: PyExpr[] = [];
    const kwargs: [string, PyExpr][] = [];
    while (!this.isOp(')')) {
      if (this.peek().t === 'end') this.fail("'(' was never closed");
      const t = this.peek();
      const after = this.toks[this.i + 1];
      if (t.t === 'name' && after?.t === 'op' && after.v === '=') {
        this.i += 2;
        if (kwargs.some(([k]) => k === t.v)) this.fail(`keyword argument repeated: ${t.v}`);
        kwargs.push([t.v, this.expr()]);
      } else {
        if (kwargs.length) this.fail('positional argument follows keyword argument');
        args.push(this.expr());
      }
      if (this.isOp(',')) this.i++;
      else if (!this.isOp(')')) this.fail("'(' was never closed");
    }
    this.i++;
    return { args, kwargs };
  }

  /** Comma-separated expressions up to `close` (consumed); whether the last one had a trailing comma. */
  private items(close: string): { items: PyExpr[]; trailingComma: boolean } {
    const items: PyExpr[] = [];
    let trailingComma = false;
    while (!this.isOp(close)) {
      if (this.peek().t === 'end') this.fail(`'${close === ')' ? '(' : '['}' was never closed`);
      items.push(this.expr());
      trailingComma = false;
      if (this.isOp(',')) {
        this.i++;
        trailingComma = true;
      } else if (!this.isOp(close)) this.fail(`'${close === ')' ? '(' : '['}' was never closed`);
    }
    this.i++;
    return { items, trailingComma };
  }

  private atom(): PyExpr {
    const t = this.next();
    if (t.t === 'num') return { kind: 'const', value: t.v };
    if (t.t === 'str') {
      let s = t.v;
      while (this.peek().t === 'str') s += (this.next() as { v: string }).v;
      return { kind: 'const', value: s };
    }
    if (t.t === 'op' && (t.v === '[' || t.v === '(')) {
      const { items, trailingComma } = this.nested(() => this.items(t.v === '[' ? ']' : ')'));
      if (t.v === '[') return { kind: 'list', items };
      return items.length === 1 && !trailingComma ? items[0]! : { kind: 'tuple', items };
    }
    if (t.t === 'name') {
      if (t.v === 'None') return { kind: 'const', value: null };
      if (t.v === 'True' || t.v === 'False') return { kind: 'const', value: t.v === 'True' };
      if (this.dialect === 'config' && (t.v === 'true' || t.v === 'false')) return { kind: 'const', value: t.v === 'true' };
      if (this.dialect === 'config' && t.v === 'null') return { kind: 'const', value: null };
      if (KEYWORDS.has(t.v)) throw new ParseError('invalid syntax', t.at);
      return { kind: 'name', name: t.v };
    }
    if (t.t === 'end') throw new ParseError('unexpected EOF while parsing', t.at);
    throw new ParseError('invalid syntax', t.at);
  }
}

/** Parse a whole expression; a syntax error says where (an offset into `src`). */
export function parseExpression(src: string, dialect: Dialect = 'python'): { expr: PyExpr } | { error: string; at: number } {
  const toks = tokenize(src);
  if (!Array.isArray(toks)) return toks;
  if (toks.length === 1) return { error: 'invalid syntax (an empty expression)', at: 0 };
  try {
    return { expr: new Parser(toks, dialect).all() };
  } catch (e) {
    if (e instanceof ParseError) return { error: e.message, at: e.at };
    throw e;
  }
}

/** The names an expression reads and the names it calls (for a static check before any evaluation). */
export function namesIn(e: PyExpr, out = { names: new Set<string>(), calls: new Set<string>(), attributes: 0, otherCalls: 0 }) {
  switch (e.kind) {
    case 'const':
      break;
    case 'name':
      out.names.add(e.name);
      break;
    case 'attribute':
      out.attributes++;
      namesIn(e.object, out);
      break;
    case 'call':
      if (e.callee.kind === 'name') out.calls.add(e.callee.name);
      else {
        out.otherCalls++;
        namesIn(e.callee, out);
      }
      for (const a of e.args) namesIn(a, out);
      for (const [, v] of e.kwargs) namesIn(v, out);
      break;
    case 'index':
      namesIn(e.object, out);
      namesIn(e.index, out);
      break;
    case 'list':
    case 'tuple':
      for (const x of e.items) namesIn(x, out);
      break;
    case 'unary':
      namesIn(e.operand, out);
      break;
    case 'binary':
    case 'logic':
      namesIn(e.left, out);
      namesIn(e.right, out);
      break;
    case 'compare':
      for (const x of e.operands) namesIn(x, out);
      break;
    case 'ternary':
      namesIn(e.test, out);
      namesIn(e.then, out);
      namesIn(e.otherwise, out);
      break;
  }
  return out;
}

// ---- evaluation -------------------------------------------------------------------------------------------------

// Thrown and caught inside the evaluator's users; plain classes (not Error) so that no stack trace is captured on
// the common path ('nearest' is a NameError on every resolve).
export class EvalSignal {
  constructor(readonly message: string) {}
}
class NameErr extends EvalSignal {}
class NotLiteral extends EvalSignal {}
class TypeErr extends EvalSignal {}
class MemoryErr extends EvalSignal {}
class ZeroDivision extends EvalSignal {}

export interface NameLookup {
  has(name: string): boolean;
  get(name: string): PyVal | undefined;
}

export interface EvalEnv {
  /** the names an expression may read: parse_model's locals and module globals, or a declaration's params */
  readonly names: NameLookup;
  /** `eval` (YOLOv5 frameworks), `literal` (ultralytics' ast.literal_eval), `config` (`.yolo-lens.json`) */
  readonly mode: 'eval' | 'literal' | 'config';
}

/** The functions a `.yolo-lens.json` expression may call. */
export const EXPR_FUNCTIONS = ['int', 'float', 'bool', 'round', 'min', 'max', 'abs', 'len', 'ceil', 'floor', 'make_divisible'] as const;
const FUNCTIONS = new Set<string>(EXPR_FUNCTIONS);
export const isExprFunction = (name: string): boolean => FUNCTIONS.has(name);

/** No constructor takes a list anywhere near this long. */
const MAX_LIST_LENGTH = 10_000;

const isRepeatable = (v: PyVal): v is PyVal[] | string => Array.isArray(v) || typeof v === 'string';

/** Python's ZeroDivisionError messages. */
const ZERO_DIVISION: Readonly<Record<string, string>> = {
  '/': 'division by zero',
  '//': 'integer division or modulo by zero',
  '%': 'integer division or modulo by zero',
  '**': '0.0 cannot be raised to a negative power',
};

/** `a op b` as Python computes it: numbers by Python's rules (py.ts), plus list and str `+` and repetition `*`. */
function arith(op: string, a: PyVal, b: PyVal): PyVal {
  if (!isNumeric(a) || !isNumeric(b)) {
    if (op === '+' && Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
    if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
    // sequence repetition, either way round; a bool counts as an int (`[1] * True` is `[1]`)
    if (op === '*') {
      const [seq, count] = isRepeatable(a) ? [a, b] : [b, a];
      if (isRepeatable(seq) && (Number.isInteger(count) || typeof count === 'boolean')) {
        const times = Math.max(0, Number(count));
        // `[1]*10**9` would allocate gigabytes here as it does in Python: refuse it before allocating
        const length = seq.length * times;
        if (length > MAX_LIST_LENGTH)
          throw new MemoryErr(
            `the ${typeof seq === 'string' ? 'string' : 'list'} would have ${length} elements ` +
              `(YOLO Lens evaluates lists up to ${MAX_LIST_LENGTH})`,
          );
        return typeof seq === 'string' ? seq.repeat(times) : Array.from({ length: times }, () => seq).flat();
      }
    }
    throw new TypeErr(`unsupported operand type(s) for ${op}`);
  }
  if (!isArithOp(op)) throw new TypeErr(`unsupported operator ${op}`);
  const v = numArith(op, a, b);
  if (v === undefined) throw new ZeroDivision(ZERO_DIVISION[op] ?? 'division by zero');
  return v;
}

function toNumber(v: PyVal, what: string): number {
  if (!isNumeric(v)) throw new TypeErr(`${what} needs a number, got ${pyRepr(v)}`);
  return num(v);
}

function compare(op: string, a: PyVal, b: PyVal): boolean {
  if (op === '==') return pyEq(a, b);
  if (op === '!=') return !pyEq(a, b);
  const strings = typeof a === 'string' && typeof b === 'string';
  if (!strings && !(isNumeric(a) && isNumeric(b))) throw new TypeErr(`'${op}' is not supported between ${pyRepr(a)} and ${pyRepr(b)}`);
  const x = strings ? a : num(a);
  const y = strings ? b : num(b);
  return op === '<' ? x < y : op === '>' ? x > y : op === '<=' ? x <= y : x >= y;
}

/** The builtins a `.yolo-lens.json` expression calls (and math's ceil/floor, the frameworks' make_divisible). */
function callFunction(name: string, args: PyVal[]): PyVal {
  const one = () => {
    if (args.length !== 1) throw new TypeErr(`${name}() takes exactly one argument (${args.length} given)`);
    return args[0]!;
  };
  const numbers = () => (args.length === 1 && isSeq(args[0]!) ? [...seqItems(args[0] as PyVal[] | PyTuple)] : args);
  switch (name) {
    case 'int': {
      const v = one();
      if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number(v);
      return Math.trunc(toNumber(v, 'int()'));
    }
    case 'float':
      return new PyFloat(toNumber(one(), 'float()'));
    case 'bool':
      return truthy(one());
    case 'round': {
      if (args.length === 0 || args.length > 2) throw new TypeErr('round() takes one or two arguments');
      const x = toNumber(args[0]!, 'round()');
      if (args.length === 1) return pyRound(x);
      const f = 10 ** toNumber(args[1]!, 'round()');
      return new PyFloat(pyRound(x * f) / f);
    }
    case 'min':
    case 'max': {
      const xs = numbers();
      if (!xs.length) throw new TypeErr(`${name}() arg is an empty sequence`);
      let best: PyVal = xs[0]!;
      for (const v of xs.slice(1)) {
        const [x, y] = [toNumber(v, `${name}()`), toNumber(best, `${name}()`)];
        if (name === 'min' ? x < y : x > y) best = v;
      }
      return best;
    }
    case 'abs': {
      const v = one();
      return v instanceof PyFloat ? new PyFloat(Math.abs(v.value)) : Math.abs(toNumber(v, 'abs()'));
    }
    case 'len': {
      const v = one();
      if (isSeq(v)) return seqItems(v).length;
      if (typeof v === 'string') return v.length;
      throw new TypeErr(`object of type ${pyRepr(v)} has no len()`);
    }
    case 'ceil':
      return Math.ceil(toNumber(one(), 'ceil()'));
    case 'floor':
      return Math.floor(toNumber(one(), 'floor()'));
    case 'make_divisible': {
      if (args.length !== 2) throw new TypeErr('make_divisible(x, divisor) takes two arguments');
      return makeDivisible(toNumber(args[0]!, 'make_divisible()'), toNumber(args[1]!, 'make_divisible()'));
    }
  }
  throw new NameErr(`the function '${name}' is not available (use ${EXPR_FUNCTIONS.join(', ')})`);
}

/** A dotted name as written (`nn.ReLU`, `torch.nn.SiLU`), or null for anything else. */
function dottedName(e: PyExpr): string | null {
  if (e.kind === 'name') return e.name;
  if (e.kind !== 'attribute') return null;
  const head = dottedName(e.object);
  return head === null ? null : `${head}.${e.name}`;
}

/** ast.literal_eval: constants, lists, tuples, and a sign on a number constant; anything else is malformed. */
function literal(e: PyExpr): PyVal {
  switch (e.kind) {
    case 'const':
      return e.value;
    case 'list':
      return e.items.map(literal);
    case 'tuple':
      return new PyTuple(e.items.map(literal));
    case 'unary':
      // literal_eval signs only int, float and complex constants: a bool is a malformed node there
      if (e.op !== 'not' && e.operand.kind === 'const' && isNumeric(e.operand.value) && typeof e.operand.value !== 'boolean')
        return e.op === '-' ? numNeg(e.operand.value) : e.operand.value;
  }
  throw new NotLiteral('malformed node or string');
}

/** A call in parse_model's eval: only the activation constructors a YAML passes (`nn.ReLU()`) make a value. */
function evalCall(e: Extract<PyExpr, { kind: 'call' }>, env: EvalEnv): PyVal {
  const dotted = dottedName(e.callee);
  const args = e.args.map((a) => evaluate(a, env));
  const kwargs = Object.fromEntries(e.kwargs.map(([k, v]) => [k, evaluate(v, env)] as const));
  const cls = dotted ? /^(?:torch\.)?nn\.([A-Za-z0-9]+)$/.exec(dotted)?.[1] : undefined;
  if (cls && (ACT_CLASSES[cls] || cls === 'Identity')) return new PyCall(cls, args, kwargs);
  if (e.callee.kind === 'name' && !env.names.has(e.callee.name)) throw new NameErr(`name '${e.callee.name}' is not defined`);
  throw new TypeErr(`'${dotted ?? 'that'}(...)' is not something parse_model can pass as an argument`);
}

/** An attribute in parse_model's eval: `math.pi`, or a module object (`nn.Upsample`) printed as its repr. */
function evalAttribute(e: Extract<PyExpr, { kind: 'attribute' }>, env: EvalEnv): PyVal {
  const dotted = dottedName(e);
  if (dotted === null) throw new TypeErr('attribute access is not supported here');
  const first = dotted.slice(0, dotted.indexOf('.'));
  if (!env.names.has(first) && first !== 'nn' && first !== 'torch' && first !== 'math') throw new NameErr(`name '${first}' is not defined`);
  if (dotted === 'math.pi') return new PyFloat(Math.PI);
  return new PyObj(dotted, `<${dotted}>`);
}

/** Evaluate a parsed expression; raises an `EvalSignal` where Python raises. */
export function evaluate(e: PyExpr, env: EvalEnv): PyVal {
  if (env.mode === 'literal') return literal(e);
  switch (e.kind) {
    case 'const':
      return e.value;
    case 'name':
      if (env.names.has(e.name)) return env.names.get(e.name)!;
      throw new NameErr(`name '${e.name}' is not defined`);
    case 'attribute':
      if (env.mode === 'config') throw new TypeErr('attribute access is not supported');
      return evalAttribute(e, env);
    case 'call':
      if (env.mode === 'config') {
        if (e.callee.kind !== 'name') throw new TypeErr('only named functions can be called');
        if (e.kwargs.length) throw new TypeErr(`${e.callee.name}() takes no keyword arguments here`);
        return callFunction(
          e.callee.name,
          e.args.map((a) => evaluate(a, env)),
        );
      }
      return evalCall(e, env);
    case 'index': {
      const obj = evaluate(e.object, env);
      const idx = evaluate(e.index, env);
      const k0 = typeof idx === 'boolean' ? Number(idx) : idx;
      if (!(isSeq(obj) || typeof obj === 'string') || typeof k0 !== 'number')
        throw new TypeErr(`cannot index ${pyRepr(obj)} with ${pyRepr(idx)}`.slice(0, 200));
      const items = typeof obj === 'string' ? [...obj] : seqItems(obj);
      const k = k0 < 0 ? items.length + k0 : k0;
      if (k < 0 || k >= items.length) throw new TypeErr('index out of range');
      return items[k]!;
    }
    case 'list':
      return e.items.map((x) => evaluate(x, env));
    case 'tuple':
      return new PyTuple(e.items.map((x) => evaluate(x, env)));
    case 'unary': {
      const v = evaluate(e.operand, env);
      if (e.op === 'not') return !truthy(v);
      if (!isNumeric(v)) throw new TypeErr(`bad operand type for unary ${e.op}`);
      // +True is the int 1
      if (e.op === '+') return typeof v === 'boolean' ? Number(v) : v;
      return numNeg(v);
    }
    case 'binary':
      return arith(e.op, evaluate(e.left, env), evaluate(e.right, env));
    case 'compare': {
      // a < b < c is a < b and b < c, each operand evaluated once
      let left = evaluate(e.operands[0]!, env);
      for (let k = 0; k < e.ops.length; k++) {
        const right = evaluate(e.operands[k + 1]!, env);
        if (!compare(e.ops[k]!, left, right)) return false;
        left = right;
      }
      return true;
    }
    case 'logic': {
      const left = evaluate(e.left, env);
      return (e.op === 'and') === truthy(left) ? evaluate(e.right, env) : left;
    }
    case 'ternary':
      return truthy(evaluate(e.test, env)) ? evaluate(e.then, env) : evaluate(e.otherwise, env);
  }
}

// ---- parse_model's string args ------------------------------------------------------------------------------------

export type EvalResult =
  | { kind: 'value'; value: PyVal }
  /** the string stays a string (NameError under eval, ValueError under literal_eval) */
  | { kind: 'unchanged'; reason: string }
  /** parse_model raises: the model does not load */
  | { kind: 'error'; error: string };

/** Evaluate one string arg the way the framework's parse_model does. */
export function evalStringArg(src: string, env: EvalEnv): EvalResult {
  if (env.mode === 'literal') {
    // `locals()[a] if a in locals() else ast.literal_eval(a)`
    if (env.names.has(src)) return { kind: 'value', value: env.names.get(src)! };
    const trimmed = src.replace(/^[ \t]+/, '');
    if (trimmed !== src) return { kind: 'error', error: `IndentationError: unexpected indent ('${src}')` };
  }
  // Python compiles before it evaluates: a SyntaxError wins over a NameError
  const parsed = parseExpression(src.trim(), 'python');
  if ('error' in parsed) return { kind: 'error', error: `SyntaxError: ${parsed.error} ('${src}')` };
  try {
    return { kind: 'value', value: evaluate(parsed.expr, env) };
  } catch (e) {
    if (e instanceof NameErr) return { kind: 'unchanged', reason: `NameError: ${e.message}` };
    if (e instanceof NotLiteral) return { kind: 'unchanged', reason: `ValueError: ${e.message}` };
    if (e instanceof TypeErr) return { kind: 'error', error: `TypeError: ${e.message} ('${src}')` };
    if (e instanceof ZeroDivision) return { kind: 'error', error: `ZeroDivisionError: ${e.message} ('${src}')` };
    if (e instanceof MemoryErr) return { kind: 'error', error: `MemoryError: ${e.message} ('${src}')` };
    throw e;
  }
}
