/**
 * A restricted unpickler: reads Python pickle streams (protocols 0–5) into inert data and never runs anything.
 *
 * Python's unpickler imports every GLOBAL it meets and calls it (REDUCE, NEWOBJ, BUILD → __setstate__), which is
 * why loading a .pt file can run code. Here a GLOBAL is only a name (PyGlobal), a call is only a record of what
 * would have been called with what (PyObject), and the caller's hooks turn the few calls that matter into data
 * (torch's tensor rebuilds, OrderedDict, set). Names that only a hostile file would use (os.system, builtins.eval,
 * subprocess.Popen, ...) are refused outright, so such a file is reported rather than quietly read.
 *
 * Why not a library: the registry's pickle parsers (pickleparser, jpickle, unpickle; one maintainer each, a few
 * releases) are general-purpose: they call registered JS functions on REDUCE, Object.assign a pickled dict onto
 * objects on BUILD (a `__proto__` key reaches the prototype), and have no depth, size or work limits. A restricted
 * reader is the point here, and the opcode set is small: written for this, with every operand bounds-checked.
 *
 * Work is linear in the stream: every opcode costs O(1) besides the items it moves, and the values created are
 * counted against a budget, so memory is bounded by the limits below whatever the stream declares.
 */
import { WeightsError, quote } from './errors.ts';

export class PyGlobal {
  readonly kind = 'global';
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

export class PyTuple {
  readonly kind = 'tuple';
  constructor(readonly items: PyValue[]) {}
}

export class PyList {
  readonly kind = 'list';
  constructor(readonly items: PyValue[]) {}
}

export class PySet {
  readonly kind = 'set';
  constructor(
    readonly items: PyValue[],
    readonly frozen: boolean,
  ) {}
}

/** A Python float, kept apart from int when the caller asks (the remap writer must write `2.0` back as a float). */
export class PyFloat {
  readonly kind = 'float';
  constructor(readonly value: number) {}
}

export class PyBytes {
  readonly kind = 'bytes';
  /** a view into the stream, never a copy */
  constructor(readonly data: Uint8Array) {}
}

/** A dict (or OrderedDict): insertion-ordered, looked up by string or integer key. */
export class PyDict {
  readonly kind = 'dict';
  readonly keys: PyValue[] = [];
  readonly values: PyValue[] = [];
  /** key → position; a JS Map compares as Python does for these (1 == 1.0, "1" != 1), with True/False as 1/0 */
  private readonly index = new Map<string | number | bigint | null, number>();
  /** the instance state a BUILD gave it (an OrderedDict's __dict__, e.g. a state_dict's `_metadata`) */
  attrs: PyValue | undefined;
  constructor(readonly className: string = 'builtins.dict') {}
  private static slot(key: PyValue): string | number | bigint | null | undefined {
    if (typeof key === 'string' || typeof key === 'number' || typeof key === 'bigint' || key === null) return key;
    if (typeof key === 'boolean') return key ? 1 : 0;
    if (key instanceof PyFloat) return key.value;
    return undefined; // tuples and objects as keys: kept in order, not looked up
  }
  set(key: PyValue, value: PyValue): void {
    const slot = PyDict.slot(key);
    const at = slot === undefined ? undefined : this.index.get(slot);
    if (at !== undefined) {
      this.values[at] = value;
      return;
    }
    if (slot !== undefined) this.index.set(slot, this.keys.length);
    this.keys.push(key);
    this.values.push(value);
  }
  get(key: string | number): PyValue | undefined {
    const at = this.index.get(PyDict.slot(key)!);
    return at === undefined ? undefined : this.values[at];
  }
  has(key: string | number): boolean {
    return this.index.has(PyDict.slot(key)!);
  }
  get size(): number {
    return this.keys.length;
  }
}

/** Any other object: which class or function would have been called, with what, and the state BUILD gave it. */
export class PyObject {
  readonly kind = 'object';
  state: PyValue | undefined;
  /** items a SETITEM(S) / APPEND(S) would have passed to its __setitem__ / append */
  dictItems: [PyValue, PyValue][] | undefined;
  listItems: PyValue[] | undefined;
  constructor(
    readonly cls: PyGlobal,
    readonly args: PyValue[],
    /** how it came to be: REDUCE calls cls(*args), NEWOBJ calls cls.__new__(cls, *args) */
    readonly via: 'reduce' | 'newobj' | 'inst',
    readonly kwargs?: PyValue,
  ) {}
}

/** What a caller's hooks put in the graph (tensors, storages): opaque to the unpickler. */
export interface PyExternal {
  readonly kind: 'tensor' | 'storage';
}

export type PyValue =
  null | boolean | number | bigint | string | PyFloat | PyBytes | PyTuple | PyList | PyDict | PySet | PyObject | PyGlobal | PyExternal;

export interface PickleLimits {
  /** the most values (pushes and container insertions) one stream may create */
  maxValues: number;
  /** the deepest MARK nesting */
  maxMarkDepth: number;
  /** the longest integer (LONG1/LONG4, text INT/LONG) in bytes or digits */
  maxLongBytes: number;
}

export interface PickleHooks {
  /** BINPERSID / PERSID: the object a persistent id stands for (torch: a storage) */
  persistentLoad(pid: PyValue): PyValue;
  /** REDUCE callable(*args): a value, or undefined for the default inert PyObject */
  reduce?(callable: PyGlobal, args: PyValue[]): PyValue | undefined;
  /** NEWOBJ / NEWOBJ_EX / OBJ / INST cls(*args): a value, or undefined for the default inert PyObject */
  construct?(cls: PyGlobal, args: PyValue[]): PyValue | undefined;
  /** BUILD on a value the unpickler does not own (a tensor): accept the state or throw */
  build?(target: PyValue, state: PyValue): boolean;
  /** floats as PyFloat instead of numbers (numbers by default: 2.0 and 2 then read alike) */
  boxFloats?: boolean;
}

/**
 * Globals that only serve to run code on load. A GLOBAL naming one is refused: nothing here would call it, but a
 * checkpoint has no reason to name it, so the file is hostile or broken and the user should know.
 */
const UNSAFE_MODULES = new Set([
  'os',
  'posix',
  'nt',
  'posixpath',
  'ntpath',
  'subprocess',
  'sys',
  'shutil',
  'socket',
  'importlib',
  'runpy',
  'pty',
  'ctypes',
  'code',
  'codeop',
  'pickle',
  '_pickle',
  'marshal',
  'webbrowser',
  'multiprocessing',
  'asyncio',
  'commands',
  'popen2',
  'pdb',
  'timeit',
  'imp',
  'zipimport',
  'signal',
  '_posixsubprocess',
  'platform',
  'requests',
  'urllib',
  'http',
  'ftplib',
  'telnetlib',
  'smtplib',
  'tempfile',
  'io',
  '_io',
]);
const UNSAFE_NAMES = new Set([
  'builtins.eval',
  'builtins.exec',
  'builtins.compile',
  'builtins.open',
  'builtins.__import__',
  'builtins.getattr',
  'builtins.setattr',
  'builtins.delattr',
  'builtins.globals',
  'builtins.locals',
  'builtins.vars',
  'builtins.input',
  'builtins.breakpoint',
  'builtins.help',
  'builtins.exit',
  'builtins.quit',
  'builtins.memoryview',
  '__builtin__.eval',
  '__builtin__.execfile',
  '__builtin__.file',
  '__builtin__.open',
  '__builtin__.getattr',
  '__builtin__.__import__',
  'torch.hub.load',
  'torch.load',
  'torch.jit.load',
  'torch.classes.load_library',
  'torch.ops.load_library',
  'torch.serialization.load',
  'numpy.load',
  'operator.attrgetter',
  'operator.methodcaller',
  '_operator.attrgetter',
  '_operator.methodcaller',
  'numpy.testing._private.utils.runstring',
]);

export function unsafeGlobal(module: string, name: string): boolean {
  const top = module.split('.')[0]!;
  return UNSAFE_MODULES.has(top) || UNSAFE_NAMES.has(`${module}.${name}`);
}

const OPNAMES: Record<number, string> = {};

/** Reads one pickle starting at `start`; returns the value and where the stream ended (after STOP). */
/** The unpickler's state and readers; `unpickle` drives it opcode by opcode. Nothing it reads is ever called. */
class Unpickler {
  readonly dv: DataView;
  readonly utf8 = new TextDecoder('utf-8');
  pos: number;
  // MARK moves the current stack onto the metastack and starts an empty one (as CPython's unpickler does)
  stack: PyValue[] = [];
  readonly metastack: PyValue[][] = [];
  readonly memo = new Map<number, PyValue>();
  values = 0;
  protocol = 0;
  op = 0;
  opAt = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly hooks: PickleHooks,
    readonly limits: PickleLimits,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  fail = (code: 'pickle' | 'truncated' | 'unsupported' | 'limit' | 'unsafe', msg: string): never => {
    throw new WeightsError(code, `pickle: ${msg} (opcode ${opName(this.op)} at byte ${this.opAt - this.start})`);
  };
  need = (n: number): void => {
    if (n < 0 || this.pos + n > this.bytes.length) this.fail('truncated', `the stream ends inside an operand of ${n} bytes`);
  };
  u8 = (): number => {
    this.need(1);
    return this.bytes[this.pos++]!;
  };
  u16 = (): number => {
    this.need(2);
    const x = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return x;
  };
  u32 = (): number => {
    this.need(4);
    const x = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return x;
  };
  i32 = (): number => {
    this.need(4);
    const x = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return x;
  };
  u64 = (): number => {
    this.need(8);
    const lo = this.dv.getUint32(this.pos, true);
    const hi = this.dv.getUint32(this.pos + 4, true);
    this.pos += 8;
    // a length this large cannot fit in the file: say so rather than lose precision
    if (hi >= 0x200000) this.fail('limit', 'a 64-bit length past 2^53');
    return hi * 0x100000000 + lo;
  };
  take = (n: number): Uint8Array => {
    this.need(n);
    const view = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return view;
  };
  line = (max = 1 << 20): string => {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated', 'the stream ends inside a text operand');
    if (end - this.pos > max) this.fail('limit', `a text operand longer than ${max} bytes`);
    const text = this.utf8.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  };
  count = (n = 1): void => {
    this.values += n;
    if (this.values > this.limits.maxValues) this.fail('limit', `more than ${this.limits.maxValues} values in one pickle`);
  };
  push = (v: PyValue): void => {
    this.count();
    this.stack.push(v);
  };
  pop = (): PyValue => {
    if (this.stack.length === 0) this.fail('pickle', 'stack underflow');
    return this.stack.pop()!;
  };
  top = (): PyValue => {
    if (this.stack.length === 0) this.fail('pickle', 'stack underflow');
    return this.stack[this.stack.length - 1]!;
  };
  /** the items pushed since the last MARK, restoring the stack below it (Python's pop_mark) */
  popMark = (): PyValue[] => {
    const items = this.stack;
    if (this.metastack.length === 0) this.fail('pickle', 'no MARK to pop to');
    this.stack = this.metastack.pop()!;
    return items;
  };
  memoGet = (key: number): PyValue => {
    const v = this.memo.get(key);
    if (v === undefined) this.fail('pickle', `memo key ${key} was never stored`);
    return v!;
  };
  memoPut = (key: number): void => {
    this.memo.set(key, this.top());
  };
  global = (module: string, name: string): PyGlobal => {
    if (module.length > 512 || name.length > 512) this.fail('limit', 'a global name longer than 512 characters');
    if (unsafeGlobal(module, name)) {
      this.fail(
        'unsafe',
        `refused: the file names ${quote(`${module}.${name}`, 120).slice(1, -1)}, which would run code when torch.load ` +
          'opens it; checkpoints never need it',
      );
    }
    return new PyGlobal(module, name);
  };
  asGlobal = (v: PyValue, role: string): PyGlobal => {
    if (!(v instanceof PyGlobal)) this.fail('pickle', `${role} is a ${describe(v)}, not a class or function`);
    return v as PyGlobal;
  };
  construct = (cls: PyValue, args: PyValue[], via: 'newobj' | 'inst', kwargs?: PyValue): PyValue => {
    const g = this.asGlobal(cls, 'the class to instantiate');
    return this.hooks.construct?.(g, args) ?? new PyObject(g, args, via, kwargs);
  };
  tupleItems = (v: PyValue, role: string): PyValue[] => {
    if (!(v instanceof PyTuple)) this.fail('pickle', `${role} is a ${describe(v)}, not a tuple`);
    return (v as PyTuple).items;
  };
  setItems = (target: PyValue, items: PyValue[]): void => {
    if (items.length % 2) this.fail('pickle', 'an odd number of items for SETITEMS');
    if (target instanceof PyDict) {
      for (let i = 0; i < items.length; i += 2) target.set(items[i]!, items[i + 1]!);
    } else if (target instanceof PyObject) {
      target.dictItems ??= [];
      for (let i = 0; i < items.length; i += 2) target.dictItems.push([items[i]!, items[i + 1]!]);
    } else this.fail('pickle', `SETITEM on a ${describe(target)}`);
    this.count(items.length / 2);
  };
  appendItems = (target: PyValue, items: PyValue[]): void => {
    if (target instanceof PyList) for (const x of items) target.items.push(x);
    else if (target instanceof PyObject) {
      target.listItems ??= [];
      for (const x of items) target.listItems.push(x);
    } else this.fail('pickle', `APPEND on a ${describe(target)}`);
    this.count(items.length);
  };
  bigInt = (le: Uint8Array): number | bigint => {
    if (le.length === 0) return 0;
    if (le.length > this.limits.maxLongBytes) this.fail('limit', `an integer of ${le.length} bytes`);
    let x = 0n;
    for (let i = le.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(le[i]!);
    if (le[le.length - 1]! & 0x80) x -= 1n << BigInt(8 * le.length);
    return Number.isSafeInteger(Number(x)) && BigInt(Number(x)) === x ? Number(x) : x;
  };
  decimal = (text: string): number | bigint => {
    const t = text.endsWith('L') ? text.slice(0, -1) : text;
    if (t.length > this.limits.maxLongBytes || !/^[+-]?\d+$/.test(t)) this.fail('pickle', `${quote(t, 40)} is not an integer`);
    const x = BigInt(t);
    return Number.isSafeInteger(Number(x)) ? Number(x) : x;
  };

  /** one opcode: its result when it is STOP */
  step(op: number): { value: PyValue } | undefined {
    for (const family of [this.stackOp, this.numbersOp, this.textOp, this.containersOp, this.memoOp, this.objectsOp]) {
      const r = family.call(this, op);
      if (r === true) return undefined;
      if (r) return r;
    }
    return this.fail('unsupported', `unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
  }

  /** PROTO, FRAME, STOP, MARK and the stack ops; false when `op` is not one of them */
  private stackOp(op: number): boolean | { value: PyValue } {
    switch (op) {
      case 0x80: // PROTO
        this.protocol = this.u8();
        if (this.protocol > 5) this.fail('unsupported', `protocol ${this.protocol}`);
        break;
      case 0x95: // FRAME: advisory framing, its length is not needed
        this.u64();
        break;
      case 0x2e: {
        // STOP
        const value = this.pop();
        return { value };
      }
      case 0x28: // MARK
        if (this.metastack.length >= this.limits.maxMarkDepth)
          this.fail('limit', `MARKs nested more than ${this.limits.maxMarkDepth} deep`);
        this.metastack.push(this.stack);
        this.stack = [];
        this.count();
        break;
      case 0x30: // POP: the top value, or the MARK when the stack since it is empty
        if (this.stack.length) this.stack.pop();
        else this.popMark();
        break;
      case 0x31: // POP_MARK
        this.popMark();
        break;
      case 0x32: // DUP
        this.push(this.top());
        break;
      default:
        return false;
    }
    return true;
  }
  /** constants and numbers; false when `op` is not one of them */
  private numbersOp(op: number): boolean | { value: PyValue } {
    switch (op) {
      case 0x4e: // NONE
        this.push(null);
        break;
      case 0x88: // NEWTRUE
        this.push(true);
        break;
      case 0x89: // NEWFALSE
        this.push(false);
        break;
      case 0x4a: // BININT
        this.push(this.i32());
        break;
      case 0x4b: // BININT1
        this.push(this.u8());
        break;
      case 0x4d: // BININT2
        this.push(this.u16());
        break;
      case 0x8a: // LONG1
        this.push(this.bigInt(this.take(this.u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = this.i32();
        if (n < 0) this.fail('pickle', 'a negative LONG4 length');
        if (n > this.limits.maxLongBytes) this.fail('limit', `an integer of ${n} bytes`);
        this.push(this.bigInt(this.take(n)));
        break;
      }
      case 0x49: {
        // INT (text): also the protocol-0 spelling of True/False
        const t = this.line(this.limits.maxLongBytes + 2);
        this.push(t === '01' ? true : t === '00' ? false : this.decimal(t));
        break;
      }
      case 0x4c: // LONG (text)
        this.push(this.decimal(this.line(this.limits.maxLongBytes + 2)));
        break;
      case 0x46: {
        // FLOAT (text)
        const t = this.line(64);
        const x = Number(t);
        if (Number.isNaN(x) && !/^[+-]?nan$/i.test(t.trim())) this.fail('pickle', `${quote(t, 40)} is not a float`);
        this.push(this.hooks.boxFloats ? new PyFloat(x) : x);
        break;
      }
      case 0x47: // BINFLOAT: big-endian double
        this.need(8);
        this.push(this.hooks.boxFloats ? new PyFloat(this.dv.getFloat64(this.pos, false)) : this.dv.getFloat64(this.pos, false));
        this.pos += 8;
        break;
      default:
        return false;
    }
    return true;
  }
  /** strings and bytes (views, never copies; decoded text is bounded by the stream); false when `op` is not one of them */
  private textOp(op: number): boolean | { value: PyValue } {
    switch (op) {
      case 0x58: // BINUNICODE
        this.push(this.utf8.decode(this.take(this.u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        this.push(this.utf8.decode(this.take(this.u8())));
        break;
      case 0x8d: // BINUNICODE8
        this.push(this.utf8.decode(this.take(this.u64())));
        break;
      case 0x56: // UNICODE (text, raw-unicode-escape)
        this.push(rawUnicodeEscape(this.line()));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str: torch.load decodes with utf-8)
        this.push(this.utf8.decode(this.take(this.u8())));
        break;
      case 0x54: {
        // BINSTRING
        const n = this.i32();
        if (n < 0) this.fail('pickle', 'a negative BINSTRING length');
        this.push(this.utf8.decode(this.take(n)));
        break;
      }
      case 0x53: // STRING (text, a quoted repr)
        this.push(quotedString(this.line(), this.fail));
        break;
      case 0x43: // SHORT_BINBYTES
        this.push(new PyBytes(this.take(this.u8())));
        break;
      case 0x42: // BINBYTES
        this.push(new PyBytes(this.take(this.u32())));
        break;
      case 0x8e: // BINBYTES8
        this.push(new PyBytes(this.take(this.u64())));
        break;
      case 0x96: // BYTEARRAY8
        this.push(new PyBytes(this.take(this.u64())));
        break;
      case 0x97: // NEXT_BUFFER
        this.fail('unsupported', 'out-of-band buffers (pickle protocol 5 NEXT_BUFFER)');
        break;
      case 0x98: // READONLY_BUFFER
        this.top();
        break;
      default:
        return false;
    }
    return true;
  }
  /** containers; false when `op` is not one of them */
  private containersOp(op: number): boolean | { value: PyValue } {
    switch (op) {
      case 0x29: // EMPTY_TUPLE
        this.push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        this.push(new PyTuple([this.pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = this.pop();
        const a = this.pop();
        this.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = this.pop();
        const b = this.pop();
        const a = this.pop();
        this.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x74: // TUPLE
        this.push(new PyTuple(this.popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        this.push(new PyList([]));
        break;
      case 0x6c: // LIST
        this.push(new PyList(this.popMark()));
        break;
      case 0x7d: // EMPTY_DICT
        this.push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const items = this.popMark();
        const d = new PyDict();
        this.setItems(d, items);
        this.push(d);
        break;
      }
      case 0x8f: // EMPTY_SET
        this.push(new PySet([], false));
        break;
      case 0x91: // FROZENSET
        this.push(new PySet(this.popMark(), true));
        break;
      case 0x90: {
        // ADDITEMS
        const items = this.popMark();
        const s = this.top();
        if (!(s instanceof PySet)) this.fail('pickle', `ADDITEMS on a ${describe(s)}`);
        for (const x of items) (s as PySet).items.push(x);
        this.count(items.length);
        break;
      }
      case 0x61: {
        // APPEND
        const x = this.pop();
        this.appendItems(this.top(), [x]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = this.popMark();
        this.appendItems(this.top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = this.pop();
        const key = this.pop();
        this.setItems(this.top(), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = this.popMark();
        this.setItems(this.top(), items);
        break;
      }
      default:
        return false;
    }
    return true;
  }
  /** the memo; false when `op` is not one of them */
  private memoOp(op: number): boolean | { value: PyValue } {
    switch (op) {
      case 0x70: // PUT (text)
        this.memoPut(Number(this.decimal(this.line(24))));
        break;
      case 0x71: // BINPUT
        this.memoPut(this.u8());
        break;
      case 0x72: // LONG_BINPUT
        this.memoPut(this.u32());
        break;
      case 0x94: // MEMOIZE
        this.memoPut(this.memo.size);
        break;
      case 0x67: // GET (text)
        this.push(this.memoGet(Number(this.decimal(this.line(24)))));
        break;
      case 0x68: // BINGET
        this.push(this.memoGet(this.u8()));
        break;
      case 0x6a: // LONG_BINGET
        this.push(this.memoGet(this.u32()));
        break;
      default:
        return false;
    }
    return true;
  }
  /** globals, calls, objects: names and records only, nothing runs; false when `op` is not one of them */
  private objectsOp(op: number): boolean | { value: PyValue } {
    switch (op) {
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = this.line(1024);
        const name = this.line(1024);
        this.push(this.global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') this.fail('pickle', 'STACK_GLOBAL needs two strings');
        this.push(this.global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE callable(*args)
        const args = this.tupleItems(this.pop(), 'the argument of a call');
        const callable = this.asGlobal(this.pop(), 'the callable of a call');
        this.push(this.hooks.reduce?.(callable, args) ?? new PyObject(callable, args, 'reduce'));
        break;
      }
      case 0x81: {
        // NEWOBJ cls.__new__(cls, *args)
        const args = this.tupleItems(this.pop(), 'the argument of NEWOBJ');
        this.push(this.construct(this.pop(), args, 'newobj'));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX cls.__new__(cls, *args, **kwargs)
        const kwargs = this.pop();
        const args = this.tupleItems(this.pop(), 'the argument of NEWOBJ_EX');
        this.push(this.construct(this.pop(), args, 'newobj', kwargs));
        break;
      }
      case 0x6f: {
        // OBJ: MARK cls args... OBJ
        const items = this.popMark();
        if (items.length === 0) this.fail('pickle', 'OBJ without a class');
        this.push(this.construct(items[0]!, items.slice(1), 'inst'));
        break;
      }
      case 0x69: {
        // INST "module\nname\n": MARK args... INST
        const module = this.line(1024);
        const name = this.line(1024);
        const cls = this.global(module, name);
        this.push(this.construct(cls, this.popMark(), 'inst'));
        break;
      }
      case 0x62: {
        // BUILD: obj.__setstate__(state) or obj.__dict__.update(state)
        const state = this.pop();
        const target = this.top();
        if (target instanceof PyObject) target.state = mergeState(target.state, state);
        else if (target instanceof PyDict) target.attrs = mergeState(target.attrs, state);
        else if (!this.hooks.build?.(target, state)) this.fail('pickle', `BUILD on a ${describe(target)}`);
        break;
      }
      case 0x51: // BINPERSID
        this.push(this.hooks.persistentLoad(this.pop()));
        break;
      case 0x50: // PERSID (text)
        this.push(this.hooks.persistentLoad(this.line(1024)));
        break;
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        this.fail('unsupported', 'the copyreg extension registry (EXT opcodes)');
        break;
      default:
        return false;
    }
    return true;
  }
}

export function unpickle(
  bytes: Uint8Array,
  start: number,
  hooks: PickleHooks,
  limits: PickleLimits,
): { value: PyValue; end: number; protocol: number } {
  const u = new Unpickler(bytes, start, hooks, limits);
  for (;;) {
    u.opAt = u.pos;
    if (u.pos >= bytes.length) {
      u.op = -1;
      u.fail('truncated', 'the stream ends before STOP');
    }
    u.op = bytes[u.pos++]!;
    const done = u.step(u.op);
    if (done) return { value: done.value, end: u.pos, protocol: u.protocol };
  }
}

/** Two BUILDs on one object: Python updates __dict__ in turn; keep the latest state, merged when both are dicts. */
function mergeState(previous: PyValue | undefined, state: PyValue): PyValue {
  if (previous instanceof PyDict && state instanceof PyDict) {
    for (let i = 0; i < state.keys.length; i++) previous.set(state.keys[i]!, state.values[i]!);
    return previous;
  }
  return state;
}

export function describe(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'str';
  }
  if (v instanceof PyObject) return `${v.cls.qualified} object`;
  if (v instanceof PyFloat) return 'float';
  if (v instanceof PyGlobal) return `reference to ${v.qualified}`;
  if (v instanceof PyDict) return v.className === 'builtins.dict' ? 'dict' : v.className;
  return v.kind;
}

function opName(op: number): string {
  if (op < 0) return 'end of stream';
  if (!OPNAMES[0x80]) {
    const names: [number, string][] = [
      [0x28, 'MARK'],
      [0x2e, 'STOP'],
      [0x30, 'POP'],
      [0x31, 'POP_MARK'],
      [0x32, 'DUP'],
      [0x46, 'FLOAT'],
      [0x49, 'INT'],
      [0x4a, 'BININT'],
      [0x4b, 'BININT1'],
      [0x4c, 'LONG'],
      [0x4d, 'BININT2'],
      [0x4e, 'NONE'],
      [0x50, 'PERSID'],
      [0x51, 'BINPERSID'],
      [0x52, 'REDUCE'],
      [0x53, 'STRING'],
      [0x54, 'BINSTRING'],
      [0x55, 'SHORT_BINSTRING'],
      [0x56, 'UNICODE'],
      [0x58, 'BINUNICODE'],
      [0x61, 'APPEND'],
      [0x62, 'BUILD'],
      [0x63, 'GLOBAL'],
      [0x64, 'DICT'],
      [0x7d, 'EMPTY_DICT'],
      [0x65, 'APPENDS'],
      [0x67, 'GET'],
      [0x68, 'BINGET'],
      [0x69, 'INST'],
      [0x6a, 'LONG_BINGET'],
      [0x6c, 'LIST'],
      [0x5d, 'EMPTY_LIST'],
      [0x6f, 'OBJ'],
      [0x70, 'PUT'],
      [0x71, 'BINPUT'],
      [0x72, 'LONG_BINPUT'],
      [0x73, 'SETITEM'],
      [0x74, 'TUPLE'],
      [0x29, 'EMPTY_TUPLE'],
      [0x75, 'SETITEMS'],
      [0x47, 'BINFLOAT'],
      [0x80, 'PROTO'],
      [0x81, 'NEWOBJ'],
      [0x82, 'EXT1'],
      [0x83, 'EXT2'],
      [0x84, 'EXT4'],
      [0x85, 'TUPLE1'],
      [0x86, 'TUPLE2'],
      [0x87, 'TUPLE3'],
      [0x88, 'NEWTRUE'],
      [0x89, 'NEWFALSE'],
      [0x8a, 'LONG1'],
      [0x8b, 'LONG4'],
      [0x42, 'BINBYTES'],
      [0x43, 'SHORT_BINBYTES'],
      [0x8c, 'SHORT_BINUNICODE'],
      [0x8d, 'BINUNICODE8'],
      [0x8e, 'BINBYTES8'],
      [0x8f, 'EMPTY_SET'],
      [0x90, 'ADDITEMS'],
      [0x91, 'FROZENSET'],
      [0x92, 'NEWOBJ_EX'],
      [0x93, 'STACK_GLOBAL'],
      [0x94, 'MEMOIZE'],
      [0x95, 'FRAME'],
      [0x96, 'BYTEARRAY8'],
      [0x97, 'NEXT_BUFFER'],
      [0x98, 'READONLY_BUFFER'],
    ];
    for (const [code, name] of names) OPNAMES[code] = name;
  }
  return OPNAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
}

/** Protocol 0's UNICODE operand: \uXXXX and \UXXXXXXXX escapes, everything else as is. */
function rawUnicodeEscape(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) => {
    const code = parseInt((u4 ?? u8)!, 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
  });
}

/** Protocol 0's STRING operand: a Python repr in quotes, with the common backslash escapes. */
function quotedString(text: string, fail: (code: 'pickle', msg: string) => never): string {
  const q = text[0];
  if (text.length < 2 || (q !== "'" && q !== '"') || text[text.length - 1] !== q) fail('pickle', 'STRING operand is not quoted');
  const body = text.slice(1, -1);
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) =>
    e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (simple[e] ?? `\\${e}`),
  );
}
