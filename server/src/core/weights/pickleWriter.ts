/**
 * A pickle writer for the inert object graph pickle.ts reads: the same subset, written back as Python's pickler
 * writes it at protocol 2 (torch.save's), so that Python's unpickler rebuilds the objects the file held. Classes are
 * named again (GLOBAL), never resolved here; what they do on load is what the original file did.
 *
 * Shared objects stay shared and cycles through dicts, lists and objects are kept: every container and object is
 * memoised when it is created and referred to again with BINGET, as Python's pickler does. The caller's hooks
 * write what the unpickler's hooks made (tensors, storages) and may substitute a value (the remap renames a
 * module's children by handing a new dict in place of the old one).
 */
import { WeightsError } from './errors.ts';
import { PyBytes, PyDict, PyFloat, PyGlobal, PyList, PyObject, PySet, PyTuple, describe, type PyValue } from './pickle.ts';

/** A growable byte buffer with the few encodings a pickle needs. */
export class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(x: number): void {
    this.reserve(1);
    this.buf[this.length++] = x;
  }
  u16(x: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, x, true);
    this.length += 2;
  }
  u32(x: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, x, true);
    this.length += 4;
  }
  i32(x: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, x, true);
    this.length += 4;
  }
  f64be(x: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, x, false);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  /** the bytes written so far (a view: copy it before writing more) */
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

const OP = {
  MARK: 0x28,
  STOP: 0x2e,
  NONE: 0x4e,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINFLOAT: 0x47,
  BINUNICODE: 0x58,
  BINBYTES: 0x42,
  EMPTY_TUPLE: 0x29,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  TUPLE: 0x74,
  EMPTY_LIST: 0x5d,
  APPENDS: 0x65,
  EMPTY_DICT: 0x7d,
  SETITEMS: 0x75,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  GLOBAL: 0x63,
  REDUCE: 0x52,
  NEWOBJ: 0x81,
  NEWOBJ_EX: 0x92,
  BUILD: 0x62,
  BINPERSID: 0x51,
  PROTO: 0x80,
} as const;

/** Python's pickler batches APPENDS and SETITEMS by this many items. */
const BATCH = 1000;

export interface PickleWriterHooks {
  /** a value to write instead of `v` (the same one each time it is met), or undefined to write `v` itself */
  substitute?(v: PyValue): PyValue | undefined;
  /** writes a value the unpickler's hooks made (a tensor, a storage); false when it is not one */
  external?(v: PyValue, w: PickleWriter): boolean;
}

export interface PickleWriterLimits {
  /** the deepest nesting written (each level is a JS call) */
  maxDepth: number;
}

export class PickleWriter {
  readonly out = new ByteSink();
  /** memo positions, one key space each: objects by identity, strings and class names by value */
  private readonly memo = { objects: new Map<object, number>(), strings: new Map<string, number>(), globals: new Map<string, number>() };
  private memoSize = 0;
  /** tuples being written: a tuple met again inside itself cannot be memoised before its items (Python's own
   * special case); such a graph is refused */
  private readonly open = new Set<PyTuple>();
  private readonly encoder = new TextEncoder();
  private depth = 0;
  constructor(
    private readonly hooks: PickleWriterHooks = {},
    private readonly limits: PickleWriterLimits = { maxDepth: 2000 },
  ) {}

  /** One pickle: PROTO 2, the value, STOP. */
  static write(value: PyValue, hooks?: PickleWriterHooks, limits?: PickleWriterLimits): Uint8Array {
    const w = new PickleWriter(hooks, limits);
    w.out.u8(OP.PROTO);
    w.out.u8(2);
    w.value(value);
    w.out.u8(OP.STOP);
    return w.out.result().slice();
  }

  private put<K>(space: Map<K, number>, key: K): void {
    const i = this.memoSize++;
    space.set(key, i);
    if (i < 256) {
      this.out.u8(OP.BINPUT);
      this.out.u8(i);
    } else {
      this.out.u8(OP.LONG_BINPUT);
      this.out.u32(i);
    }
  }

  private get<K>(space: Map<K, number>, key: K): boolean {
    const i = space.get(key);
    if (i === undefined) return false;
    if (i < 256) {
      this.out.u8(OP.BINGET);
      this.out.u8(i);
    } else {
      this.out.u8(OP.LONG_BINGET);
      this.out.u32(i);
    }
    return true;
  }

  global(module: string, name: string): void {
    const key = `${module}\n${name}`;
    if (this.get(this.memo.globals, key)) return;
    if (/[\n\r]/.test(module) || /[\n\r]/.test(name)) throw new WeightsError('unsupported', 'a class name with a line break');
    this.out.u8(OP.GLOBAL);
    this.out.bytes(this.encoder.encode(`${module}\n${name}\n`));
    this.put(this.memo.globals, key);
  }

  int(x: number | bigint): void {
    if (typeof x === 'number' && Number.isInteger(x)) {
      if (x >= 0 && x < 256) {
        this.out.u8(OP.BININT1);
        this.out.u8(x);
        return;
      }
      if (x >= 0 && x < 65536) {
        this.out.u8(OP.BININT2);
        this.out.u16(x);
        return;
      }
      if (x >= -0x80000000 && x <= 0x7fffffff) {
        this.out.u8(OP.BININT);
        this.out.i32(x);
        return;
      }
    }
    // LONG1 / LONG4: two's complement, little-endian, the fewest bytes that keep the sign
    let v = BigInt(x);
    const bytes: number[] = [];
    if (v !== 0n) {
      for (;;) {
        bytes.push(Number(v & 0xffn));
        v >>= 8n;
        const last = bytes[bytes.length - 1]!;
        if ((v === 0n && !(last & 0x80)) || (v === -1n && last & 0x80)) break;
      }
    }
    if (bytes.length < 256) {
      this.out.u8(OP.LONG1);
      this.out.u8(bytes.length);
    } else {
      this.out.u8(OP.LONG4);
      this.out.i32(bytes.length);
    }
    this.out.bytes(Uint8Array.from(bytes));
  }

  float(x: number): void {
    this.out.u8(OP.BINFLOAT);
    this.out.f64be(x);
  }

  string(s: string): void {
    if (this.get(this.memo.strings, s)) return;
    const b = this.encoder.encode(s);
    this.out.u8(OP.BINUNICODE);
    this.out.u32(b.length);
    this.out.bytes(b);
    this.put(this.memo.strings, s);
  }

  /** A tuple of values, written as they are (no memo: the tuples hooks write are fresh). */
  tuple(items: readonly PyValue[]): void {
    if (items.length === 0) this.out.u8(OP.EMPTY_TUPLE);
    else if (items.length <= 3) {
      for (const x of items) this.value(x);
      this.out.u8([OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][items.length - 1]!);
    } else {
      this.out.u8(OP.MARK);
      for (const x of items) this.value(x);
      this.out.u8(OP.TUPLE);
    }
  }

  /** `callable(*args)`: GLOBAL, the argument tuple, REDUCE (then memoised under `key` when given). */
  reduce(module: string, name: string, args: readonly PyValue[], key?: object): void {
    this.global(module, name);
    this.tuple(args);
    this.out.u8(OP.REDUCE);
    if (key !== undefined) this.put(this.memo.objects, key);
  }

  /** BINPERSID of a tuple (torch's storage ids). */
  persistentId(id: readonly PyValue[]): void {
    this.tuple(id);
    this.out.u8(OP.BINPERSID);
  }

  /** Memoises an object the caller wrote itself (a tensor), so that its next occurrence is a BINGET. */
  remember(key: object): void {
    this.put(this.memo.objects, key);
  }
  /** Writes a BINGET when `key` was written before. */
  recall(key: object): boolean {
    return this.get(this.memo.objects, key);
  }

  value(given: PyValue): void {
    const v = (given !== null && typeof given === 'object' && this.hooks.substitute?.(given)) || given;
    if (v === null) return this.out.u8(OP.NONE);
    switch (typeof v) {
      case 'boolean':
        return this.out.u8(v ? OP.NEWTRUE : OP.NEWFALSE);
      case 'number':
        return Number.isInteger(v) ? this.int(v) : this.float(v);
      case 'bigint':
        return this.int(v);
      case 'string':
        return this.string(v);
    }
    if (v instanceof PyFloat) return this.float(v.value);
    if (v instanceof PyGlobal) return this.global(v.module, v.name);
    if (this.get(this.memo.objects, v)) return;
    if (++this.depth > this.limits.maxDepth) throw new WeightsError('limit', `values nested more than ${this.limits.maxDepth} deep`);
    try {
      this.compound(v);
    } finally {
      this.depth--;
    }
  }

  private compound(v: Exclude<PyValue, null | boolean | number | bigint | string | PyFloat | PyGlobal>): void {
    if (v instanceof PyTuple) {
      if (this.open.has(v)) throw new WeightsError('unsupported', 'a tuple that contains itself');
      this.open.add(v);
      this.tuple(v.items);
      this.open.delete(v);
      this.put(this.memo.objects, v);
      return;
    }
    if (v instanceof PyList) {
      this.out.u8(OP.EMPTY_LIST);
      this.put(this.memo.objects, v);
      this.appends(v.items);
      return;
    }
    if (v instanceof PyDict) {
      if (v.className === 'builtins.dict') this.out.u8(OP.EMPTY_DICT);
      else {
        const dot = v.className.lastIndexOf('.');
        this.global(v.className.slice(0, dot), v.className.slice(dot + 1));
        this.out.u8(OP.EMPTY_TUPLE);
        this.out.u8(OP.REDUCE);
      }
      this.put(this.memo.objects, v);
      this.setItems(v.keys.map((k, i) => [k, v.values[i]!] as const));
      if (v.attrs !== undefined) {
        this.value(v.attrs);
        this.out.u8(OP.BUILD);
      }
      return;
    }
    if (v instanceof PySet) {
      this.reduce('builtins', v.frozen ? 'frozenset' : 'set', [new PyList(v.items)], v);
      return;
    }
    if (v instanceof PyBytes) {
      this.out.u8(OP.BINBYTES);
      this.out.u32(v.data.length);
      this.out.bytes(v.data);
      this.put(this.memo.objects, v);
      return;
    }
    if (v instanceof PyObject) {
      this.global(v.cls.module, v.cls.name);
      this.tuple(v.args);
      if (v.via === 'newobj' && v.kwargs !== undefined) {
        this.value(v.kwargs);
        this.out.u8(OP.NEWOBJ_EX);
      } else this.out.u8(v.via === 'newobj' ? OP.NEWOBJ : OP.REDUCE);
      this.put(this.memo.objects, v);
      // Python's save_reduce order: list items, dict items, then the state
      if (v.listItems) this.appends(v.listItems);
      if (v.dictItems) this.setItems(v.dictItems);
      if (v.state !== undefined) {
        this.value(v.state);
        this.out.u8(OP.BUILD);
      }
      return;
    }
    if (this.hooks.external?.(v, this)) return;
    throw new WeightsError('unsupported', `cannot write a ${describe(v as PyValue)} back`);
  }

  private appends(items: readonly PyValue[]): void {
    for (let i = 0; i < items.length; i += BATCH) {
      this.out.u8(OP.MARK);
      for (const x of items.slice(i, i + BATCH)) this.value(x);
      this.out.u8(OP.APPENDS);
    }
  }

  private setItems(items: readonly (readonly [PyValue, PyValue])[]): void {
    for (let i = 0; i < items.length; i += BATCH) {
      this.out.u8(OP.MARK);
      for (const [k, x] of items.slice(i, i + BATCH)) {
        this.value(k);
        this.value(x);
      }
      this.out.u8(OP.SETITEMS);
    }
  }
}
