/**
 * Builders for crafted checkpoints: pickle opcodes, a stored/deflated zip writer, and a minimal torch.save layout,
 * so the hostile cases (zip bomb, os.system, a 2^40-element tensor, deep nesting) are made in the test, byte by byte.
 */
import { Deflate } from 'fflate';

export class Pickle {
  private readonly parts: number[] = [];
  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }
  proto(v = 2): this {
    return this.op(0x80, v);
  }
  mark(): this {
    return this.op(0x28);
  }
  stop(): this {
    return this.op(0x2e);
  }
  none(): this {
    return this.op(0x4e);
  }
  bool(v: boolean): this {
    return this.op(v ? 0x88 : 0x89);
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.op(0x4b, v);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return this.op(0x4a, ...b);
  }
  /** LONG1: any integer up to 2^63 */
  long(v: bigint): this {
    const bytes: number[] = [];
    let x = v;
    do {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
    } while (x > 0n || (bytes[bytes.length - 1]! & 0x80) !== 0);
    return this.op(0x8a, bytes.length, ...bytes);
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    const n = new Uint8Array(4);
    new DataView(n.buffer).setUint32(0, b.length, true);
    return this.op(0x58, ...n, ...b);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  stackGlobal(module: string, name: string): this {
    return this.str(module).str(name).op(0x93);
  }
  tuple(): this {
    return this.op(0x74);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyList(): this {
    return this.op(0x5d);
  }
  setitems(): this {
    return this.op(0x75);
  }
  setitem(): this {
    return this.op(0x73);
  }
  append(): this {
    return this.op(0x61);
  }
  reduce(): this {
    return this.op(0x52);
  }
  newobj(): this {
    return this.op(0x81);
  }
  build(): this {
    return this.op(0x62);
  }
  binpersid(): this {
    return this.op(0x51);
  }
  binput(i: number): this {
    return this.op(0x71, i);
  }
  binget(i: number): this {
    return this.op(0x68, i);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
  /** a tensor: _rebuild_tensor_v2(('storage', HalfStorage, key, 'cpu', numel), 0, size, stride, False, OrderedDict()) */
  tensor(key: string, numel: number | bigint, size: (number | bigint)[], stride: (number | bigint)[], storage = 'HalfStorage'): this {
    const n = (x: number | bigint) => (typeof x === 'bigint' ? this.long(x) : this.int(x));
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', storage).str(key).str('cpu');
    n(numel);
    this.tuple().binpersid().int(0).mark();
    for (const s of size) n(s);
    this.tuple().mark();
    for (const s of stride) n(s);
    this.tuple().bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
    return this.tuple().reduce();
  }
}

export interface ZipRecord {
  name: string;
  data: Uint8Array;
  /** deflate the data (method 8) */
  deflate?: boolean;
  /** lie about the uncompressed size in the central directory */
  declaredSize?: number;
}

/** A zip as torch writes it (stored records) or with deflated ones; sizes and offsets exact unless told to lie. */
export function zip(records: ZipRecord[], opts: { claimEntries?: number } = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const enc = new TextEncoder();
  for (const r of records) {
    const name = enc.encode(r.name);
    const body = r.deflate ? deflateAll([r.data]) : r.data;
    const size = r.declaredSize ?? r.data.length;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(8, r.deflate ? 8 : 0, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const c = new Uint8Array(46 + name.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, r.deflate ? 8 : 0, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    c.set(name, 46);
    central.push(c);
    chunks.push(local, body);
    offset += local.length + body.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, opts.claimEntries ?? records.length, true);
  ev.setUint16(10, opts.claimEntries ?? records.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return concat([...chunks, ...central, eocd]);
}

/**
 * A raw deflate stream that inflates to `bytes` zeros, written by hand in one fixed-Huffman block (a literal 0, then
 * length-258 / distance-1 copies: 13 bits per 258 bytes): a zip bomb made in milliseconds, never held inflated.
 */
export function zeroBomb(bytes: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(((bytes / 258 + 2) * 13 + 20) / 8));
  let bit = 0;
  const bits = (value: number, n: number) => {
    for (let i = 0; i < n; i++, bit++) if ((value >> i) & 1) out[bit >> 3]! |= 1 << (bit & 7);
  };
  const code = (value: number, n: number) => {
    for (let i = n - 1; i >= 0; i--, bit++) if ((value >> i) & 1) out[bit >> 3]! |= 1 << (bit & 7); // Huffman codes go MSB first
  };
  bits(1, 1); // BFINAL
  bits(1, 2); // BTYPE 01: fixed Huffman
  code(0x30, 8); // literal 0
  for (let left = bytes - 1; left >= 258; left -= 258) {
    code(0b11000101, 8); // length code 285: 258 bytes
    code(0, 5); // distance code 0: 1 byte back
  }
  code(0, 7); // end of block
  return out.subarray(0, Math.ceil(bit / 8));
}

/** A deflate stream of the given parts, pushed one by one (a zip bomb's zeros are never held whole). */
export function deflateAll(parts: Iterable<Uint8Array>): Uint8Array {
  const out: Uint8Array[] = [];
  const d = new Deflate({ level: 6 }, (chunk) => out.push(chunk));
  for (const p of parts) d.push(p, false);
  d.push(new Uint8Array(0), true);
  return concat(out);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A torch.save zip around a data.pkl and its storages. */
export function torchZip(dataPkl: Uint8Array, storages: Record<string, Uint8Array> = {}, extra: ZipRecord[] = []): Uint8Array {
  return zip([
    { name: 'archive/data.pkl', data: dataPkl },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
    ...extra,
  ]);
}

/** A plain state_dict {name: half tensor} with the given shapes, contiguous, each with its own storage. */
export function stateDictCheckpoint(tensors: Record<string, number[]>): Uint8Array {
  const p = new Pickle().proto().global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  const storages: Record<string, Uint8Array> = {};
  let key = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    const numel = shape.reduce((a, b) => a * b, 1);
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    p.str(name).tensor(String(key), numel, shape, stride);
    storages[String(key)] = new Uint8Array(numel * 2);
    key++;
  }
  return torchZip(p.setitems().stop().bytes(), storages);
}
