/**
 * What parse_model does to a string argument. YOLOv5 trees `eval()` it (names from parse_model's locals and
 * the module's globals, a NameError leaves the string as it is); ultralytics looks it up in parse_model's
 * locals, else `ast.literal_eval`s it (a ValueError leaves it as it is). Anything else that raises
 * (SyntaxError...) stops parse_model. This is a small Python expression reader for what YAML authors write:
 * literals, names, `nn.ReLU()`-style constructors, unary minus and simple arithmetic.
 */
import { PyCall, PyFloat, PyObj, PyTuple, type PyVal, isArithOp, isNumeric, numArith, numNeg } from './py.ts';
import { ACT_CLASSES } from './nn/builder.ts';

export type EvalResult =
  | { kind: 'value'; value: PyVal }
  /** the string stays a string (NameError under eval, ValueError under literal_eval) */
  | { kind: 'unchanged'; reason: string }
  /** parse_model raises: the model does not load */
  | { kind: 'error'; error: string };

type Tok = { t: 'num'; v: PyVal } | { t: 'str'; v: string } | { t: 'name'; v: string } | { t: 'op'; v: string } | { t: 'end' };

function tokenize(src: string): Tok[] | string {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const numMatch = /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?[jJ]?)/.exec(
      src.slice(i),
    );
    if (numMatch && numMatch[0].length > 0 && /[\d.]/.test(c)) {
      const s = numMatch[0].replace(/_/g, '');
      i += numMatch[0].length;
      if (/[jJ]$/.test(s)) return 'complex numbers are not supported';
      if (/^0[xX]/.test(s)) out.push({ t: 'num', v: parseInt(s.slice(2), 16) });
      else if (/^0[oO]/.test(s)) out.push({ t: 'num', v: parseInt(s.slice(2), 8) });
      else if (/^0[bB]/.test(s)) out.push({ t: 'num', v: parseInt(s.slice(2), 2) });
      else if (/[.eE]/.test(s)) out.push({ t: 'num', v: new PyFloat(Number(s)) });
      else {
        if (/^0\d/.test(s)) return 'leading zeros in decimal integer literals are not permitted';
        out.push({ t: 'num', v: Number(s) });
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
      if (j >= src.length) return 'unterminated string literal';
      out.push({ t: 'str', v });
      i = j + 1;
      continue;
    }
    const nameMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (nameMatch) {
      out.push({ t: 'name', v: nameMatch[0] });
      i += nameMatch[0].length;
      continue;
    }
    const op = /^(?:\*\*|\/\/|==|[-+*/%()[\],.:{}=])/.exec(src.slice(i));
    if (op) {
      out.push({ t: 'op', v: op[0] });
      i += op[0].length;
      continue;
    }
    return `invalid syntax at '${c}'`;
  }
  out.push({ t: 'end' });
  return out;
}

// Thrown and caught inside this file only; plain classes (not Error) so that no stack trace is captured on the
// common path ('nearest' is a NameError on every resolve).
class EvalSignal {
  constructor(readonly message: string) {}
}
class SyntaxErr extends EvalSignal {}
class NameErr extends EvalSignal {}
class NotLiteral extends EvalSignal {}
class TypeErr extends EvalSignal {}
class MemoryErr extends EvalSignal {}

export interface NameLookup {
  has(name: string): boolean;
  get(name: string): PyVal | undefined;
}

export interface EvalEnv {
  /** parse_model locals and module globals a name may resolve to */
  readonly names: NameLookup;
  /** `eval` (YOLOv5 trees) or `literal_eval` (ultralytics) */
  readonly mode: 'eval' | 'literal';
  /** only check the syntax (Python compiles before it evaluates: a SyntaxError wins over a NameError) */
  readonly syntaxOnly?: boolean;
}

class Reader {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly env: EvalEnv,
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
  parseAll(): PyVal {
    const v = this.expr();
    if (this.isOp(',')) {
      // a bare tuple `1, 2`
      const items = [v];
      while (this.isOp(',')) {
        this.i++;
        if (this.peek().t === 'end') break;
        items.push(this.expr());
      }
      if (this.peek().t !== 'end') throw new SyntaxErr('invalid syntax');
      return new PyTuple(items);
    }
    if (this.peek().t !== 'end') throw new SyntaxErr('invalid syntax');
    return v;
  }

  /** `f(a, b, k=v)` after the `(`: positional then keyword arguments, up to and past the `)` */
  private callArgs(): { args: PyVal[]; kwargs: Record<string, PyVal> } {
    const args: PyVal[] = [];
    const kwargs: Record<string, PyVal> = {};
    while (!this.isOp(')')) {
      const t = this.peek();
      const after = this.toks[this.i + 1];
      if (t.t === 'name' && after?.t === 'op' && after.v === '=') {
        this.i += 2;
        if (Object.prototype.hasOwnProperty.call(kwargs, t.v)) throw new SyntaxErr(`keyword argument repeated: ${t.v}`);
        kwargs[t.v] = this.expr();
      } else {
        if (Object.keys(kwargs).length) throw new SyntaxErr('positional argument follows keyword argument');
        args.push(this.expr());
      }
      if (this.isOp(',')) this.i++;
      else if (!this.isOp(')')) throw new SyntaxErr('invalid syntax');
    }
    this.i++;
    return { args, kwargs };
  }

  private expr(): PyVal {
    let left = this.term();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.next() as { v: string }).v;
      const right = this.term();
      if (this.env.mode === 'literal') throw new NotLiteral('malformed node or string');
      left = this.env.syntaxOnly ? 0 : arith(op, left, right);
    }
    return left;
  }

  private term(): PyVal {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('//') || this.isOp('%')) {
      const op = (this.next() as { v: string }).v;
      const right = this.unary();
      if (this.env.mode === 'literal') throw new NotLiteral('malformed node or string');
      left = this.env.syntaxOnly ? 0 : arith(op, left, right);
    }
    return left;
  }

  private unary(): PyVal {
    if (this.isOp('-') || this.isOp('+')) {
      const op = (this.next() as { v: string }).v;
      const v = this.unary();
      if (this.env.syntaxOnly) return 0;
      // ast.literal_eval signs only int, float and complex constants: a bool is a malformed node there
      if (!isNumeric(v) || (this.env.mode === 'literal' && typeof v === 'boolean')) {
        if (this.env.mode === 'literal') throw new NotLiteral('malformed node or string');
        throw new TypeErr(`bad operand type for unary ${op}`);
      }
      // eval: +True is the int 1
      if (op === '+') return typeof v === 'boolean' ? Number(v) : v;
      return numNeg(v);
    }
    return this.power();
  }

  private power(): PyVal {
    const base = this.atom();
    if (this.isOp('**')) {
      this.i++;
      const exp = this.unary();
      if (this.env.mode === 'literal') throw new NotLiteral('malformed node or string');
      return this.env.syntaxOnly ? 0 : arith('**', base, exp);
    }
    return base;
  }

  private atom(): PyVal {
    const t = this.next();
    if (t.t === 'num') return t.v;
    if (t.t === 'str') {
      let s = t.v;
      while (this.peek().t === 'str') s += (this.next() as { v: string }).v;
      return s;
    }
    if (t.t === 'op' && (t.v === '[' || t.v === '(')) {
      const close = t.v === '[' ? ']' : ')';
      const items: PyVal[] = [];
      let trailingComma = false;
      while (!this.isOp(close)) {
        items.push(this.expr());
        trailingComma = false;
        if (this.isOp(',')) {
          this.i++;
          trailingComma = true;
        } else if (!this.isOp(close)) throw new SyntaxErr("'" + t.v + "' was never closed");
      }
      this.i++;
      if (t.v === '[') return items;
      if (items.length === 1 && !trailingComma) return items[0]!;
      return new PyTuple(items);
    }
    if (t.t === 'name') {
      if (t.v === 'None') return null;
      if (t.v === 'True') return true;
      if (t.v === 'False') return false;
      // dotted name, possibly called: nn.ReLU(), torch.nn.SiLU()
      const parts = [t.v];
      while (this.isOp('.')) {
        this.i++;
        const n = this.next();
        if (n.t !== 'name') throw new SyntaxErr('invalid syntax');
        parts.push(n.v);
      }
      const dotted = parts.join('.');
      if (this.env.syntaxOnly) {
        if (this.isOp('(')) {
          this.i++;
          this.callArgs();
        }
        return 0;
      }
      if (this.env.mode === 'literal') {
        // a lone identifier is looked up in locals before literal_eval (done by the caller); anything else here
        // is not a literal
        throw new NotLiteral('malformed node or string');
      }
      if (this.isOp('(')) {
        this.i++;
        const { args: callArgs, kwargs } = this.callArgs();
        const cls = /^(?:torch\.)?nn\.([A-Za-z0-9]+)$/.exec(dotted)?.[1];
        if (cls && (ACT_CLASSES[cls] || cls === 'Identity')) return new PyCall(cls, callArgs, kwargs);
        if (parts.length === 1 && !this.env.names.has(dotted)) throw new NameErr(`name '${dotted}' is not defined`);
        throw new TypeErr(`'${dotted}(...)' is not something parse_model can pass as an argument`);
      }
      if (parts.length === 1) {
        if (this.env.names.has(dotted)) return this.env.names.get(dotted)!;
        throw new NameErr(`name '${dotted}' is not defined`);
      }
      if (!this.env.names.has(parts[0]!) && parts[0] !== 'nn' && parts[0] !== 'torch' && parts[0] !== 'math')
        throw new NameErr(`name '${parts[0]}' is not defined`);
      if (dotted === 'math.pi') return new PyFloat(Math.PI);
      return new PyObj(dotted, `<${dotted}>`);
    }
    if (t.t === 'end') throw new SyntaxErr('unexpected EOF while parsing');
    throw new SyntaxErr('invalid syntax');
  }
}

/** No constructor takes a list anywhere near this long. */
const MAX_LIST_LENGTH = 10_000;

const isRepeatable = (v: PyVal): v is PyVal[] | string => Array.isArray(v) || typeof v === 'string';

/** `a op b` as eval() computes it here: numbers by Python's rules (py.ts), plus list `+` and list `*` int. */
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
            `the ${typeof seq === 'string' ? 'string' : 'list'} would have ${length} elements (YOLO Lens evaluates lists up to ${MAX_LIST_LENGTH})`,
          );
        return typeof seq === 'string' ? seq.repeat(times) : Array.from({ length: times }, () => seq).flat();
      }
    }
    throw new TypeErr(`unsupported operand type(s) for ${op}`);
  }
  if (!isArithOp(op)) throw new TypeErr(`unsupported operator ${op}`);
  const v = numArith(op, a, b);
  // Python raises ZeroDivisionError; this reader reports it as a TypeErr, whose text the YOLO014 diagnostic quotes
  if (v === undefined)
    throw new TypeErr(
      op === '/' ? 'division by zero' : op === '**' ? '0.0 cannot be raised to a negative power' : 'integer division or modulo by zero',
    );
  return v;
}

/** Evaluate one string arg the way the tree's parse_model does. */
export function evalStringArg(src: string, env: EvalEnv): EvalResult {
  if (env.mode === 'literal') {
    // `locals()[a] if a in locals() else ast.literal_eval(a)`
    if (env.names.has(src)) return { kind: 'value', value: env.names.get(src)! };
    const trimmed = src.replace(/^[ \t]+/, '');
    if (trimmed !== src) return { kind: 'error', error: `IndentationError: unexpected indent ('${src}')` };
  }
  const toks = tokenize(src.trim());
  if (typeof toks === 'string') return { kind: 'error', error: `SyntaxError: ${toks} ('${src}')` };
  if (toks.length === 1) return { kind: 'error', error: `SyntaxError: invalid syntax (empty string '${src}')` };
  try {
    new Reader(toks, { names: env.names, mode: 'eval', syntaxOnly: true }).parseAll();
    return { kind: 'value', value: new Reader(toks, env).parseAll() };
  } catch (e) {
    if (e instanceof NameErr) return { kind: 'unchanged', reason: `NameError: ${e.message}` };
    if (e instanceof NotLiteral) return { kind: 'unchanged', reason: `ValueError: ${e.message}` };
    if (e instanceof SyntaxErr) return { kind: 'error', error: `SyntaxError: ${e.message} ('${src}')` };
    if (e instanceof TypeErr) return { kind: 'error', error: `TypeError: ${e.message} ('${src}')` };
    if (e instanceof MemoryErr) return { kind: 'error', error: `MemoryError: ${e.message} ('${src}')` };
    throw e;
  }
}
