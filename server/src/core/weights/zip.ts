/**
 * The zip container of a torch.save file (PyTorch ≥ 1.6): its records by name, with where each one's bytes are.
 *
 * Why not a library: PyTorch writes stored (uncompressed) records, 64-byte aligned, and we need their offsets and
 * declared sizes more than their content (tensor data is never read to list a state_dict). The registry's zip
 * readers do not fit a reader of hostile files: fflate's unzipSync allocates each entry's *declared* size
 * (`new Uint8Array(originalSize)`: a zip bomb allocates gigabytes), copies stored entries, clamps out-of-range
 * slices silently (a truncated file reads as shorter data, no error) and trusts the entry count (4 billion claimed
 * entries loop 4 billion times); yauzl and adm-zip need node's fs/Buffer (this core takes a Uint8Array and imports
 * no node module); @zip.js/zip.js and JSZip are asynchronous stream APIs built for whole-archive extraction. So the
 * central directory is read here (about 150 lines, every offset and size checked against the file, no allocation
 * by a declared size), and fflate — well kept, widely used, pure — is used for what it fits: inflating the one
 * record we read whole (data.pkl) when a re-packed file compressed it, through its streaming Inflate in small
 * chunks so the output stops at our limit (see inflateBounded).
 */
import { Inflate } from 'fflate';
import { WeightsError, quote } from './errors.ts';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate (PyTorch writes 0; re-packers may write 8) */
  method: number;
  compressedSize: number;
  /** declared uncompressed size (for a stored record, the bytes at dataOffset) */
  size: number;
  /** where the record's bytes start in the file */
  dataOffset: number;
}

export interface ZipArchive {
  entries: ZipEntry[];
  byName: Map<string, ZipEntry>;
}

export interface ZipLimits {
  /** the most records a central directory may list */
  maxEntries: number;
  /** the most bytes one record may inflate to when it is read whole (data.pkl) */
  maxInflatedBytes: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Little-endian reads that fail with a clear error past the end instead of returning undefined. */
class View {
  private readonly dv: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(at: number, n: number, what: string): void {
    if (at < 0 || at + n > this.bytes.length) throw new WeightsError('truncated', `zip: the file ends inside the ${what} (byte ${at})`);
  }
  u16(at: number, what: string): number {
    this.need(at, 2, what);
    return this.dv.getUint16(at, true);
  }
  u32(at: number, what: string): number {
    this.need(at, 4, what);
    return this.dv.getUint32(at, true);
  }
  /** a 64-bit size or offset: exact below 2^53, refused above (no file is that large) */
  u64(at: number, what: string): number {
    this.need(at, 8, what);
    const lo = this.dv.getUint32(at, true);
    const hi = this.dv.getUint32(at + 4, true);
    if (hi >= 0x200000) throw new WeightsError('limit', `zip: the ${what} declares a 64-bit value past 2^53`);
    return hi * 0x100000000 + lo;
  }
}

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4;
}

export function readZip(bytes: Uint8Array, limits: ZipLimits): ZipArchive {
  const v = new View(bytes);
  // the end-of-central-directory record sits in the last 22 + 65535 (comment) bytes
  let eocd = -1;
  for (let at = bytes.length - 22; at >= 0 && at >= bytes.length - 22 - 0xffff; at--) {
    if (bytes[at] === 0x50 && bytes[at + 1] === 0x4b && v.u32(at, 'end record') === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new WeightsError('truncated', 'zip: no end-of-central-directory record (the file is cut short or not a zip)');
  let count = v.u16(eocd + 10, 'end record');
  let cdSize = v.u32(eocd + 12, 'end record');
  let cdOffset = v.u32(eocd + 16, 'end record');
  const locator = eocd - 20;
  if (locator >= 0 && v.u32(locator, 'zip64 locator') === ZIP64_LOCATOR) {
    const z = v.u64(locator + 8, 'zip64 locator');
    if (v.u32(z, 'zip64 end record') !== ZIP64_EOCD) throw new WeightsError('zip', 'zip: the zip64 locator points at no zip64 end record');
    count = v.u64(z + 32, 'zip64 end record');
    cdSize = v.u64(z + 40, 'zip64 end record');
    cdOffset = v.u64(z + 48, 'zip64 end record');
  }
  if (cdOffset + cdSize > bytes.length) {
    throw new WeightsError('truncated', `zip: the central directory (${cdSize} bytes at ${cdOffset}) lies past the end of the file`);
  }
  // each central record is at least 46 bytes: a count the directory cannot hold is a lie, checked before looping
  if (count * 46 > cdSize) throw new WeightsError('zip', `zip: ${count} records cannot fit a ${cdSize}-byte central directory`);
  if (count > limits.maxEntries) throw new WeightsError('limit', `zip: ${count} records, more than the ${limits.maxEntries} read`);

  const entries: ZipEntry[] = [];
  const byName = new Map<string, ZipEntry>();
  const decoder = new TextDecoder('utf-8');
  let at = cdOffset;
  const cdEnd = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdEnd || v.u32(at, 'central directory') !== CENTRAL) {
      throw new WeightsError('zip', `zip: central directory record ${i} is malformed (byte ${at})`);
    }
    const flags = v.u16(at + 8, 'central record');
    const method = v.u16(at + 10, 'central record');
    let compressedSize = v.u32(at + 20, 'central record');
    let size = v.u32(at + 24, 'central record');
    const nameLength = v.u16(at + 28, 'central record');
    const extraLength = v.u16(at + 30, 'central record');
    const commentLength = v.u16(at + 32, 'central record');
    let localOffset = v.u32(at + 42, 'central record');
    const nameStart = at + 46;
    const extraStart = nameStart + nameLength;
    const next = extraStart + extraLength + commentLength;
    if (next > cdEnd) throw new WeightsError('zip', `zip: central directory record ${i} runs past the directory`);
    const name = decoder.decode(bytes.subarray(nameStart, extraStart));
    // zip64: the 0xffffffff fields are in the extra field 0x0001, in this order, each only when saturated
    for (let e = extraStart; e + 4 <= extraStart + extraLength;) {
      const id = v.u16(e, 'extra field');
      const len = v.u16(e + 2, 'extra field');
      if (e + 4 + len > extraStart + extraLength) throw new WeightsError('zip', `zip: record ${quote(name)} has a malformed extra field`);
      if (id === 1) {
        let p = e + 4;
        const take = (): number => {
          if (p + 8 > e + 4 + len) throw new WeightsError('zip', `zip: record ${quote(name)} has a short zip64 field`);
          const x = v.u64(p, 'zip64 field');
          p += 8;
          return x;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      e += 4 + len;
    }
    if (flags & 1) throw new WeightsError('unsupported', `zip: record ${quote(name)} is encrypted`);
    if (method !== 0 && method !== 8) throw new WeightsError('unsupported', `zip: record ${quote(name)} uses compression method ${method}`);
    if (method === 0 && compressedSize !== size) {
      throw new WeightsError('zip', `zip: stored record ${quote(name)} declares ${size} bytes but holds ${compressedSize}`);
    }
    if (v.u32(localOffset, `local header of ${quote(name)}`) !== LOCAL) {
      throw new WeightsError('zip', `zip: record ${quote(name)} points at no local header (byte ${localOffset})`);
    }
    const dataOffset = localOffset + 30 + v.u16(localOffset + 26, 'local header') + v.u16(localOffset + 28, 'local header');
    if (dataOffset + compressedSize > bytes.length) {
      throw new WeightsError(
        'truncated',
        `zip: record ${quote(name)} (${compressedSize} bytes at ${dataOffset}) lies past the end of the file`,
      );
    }
    if (byName.has(name)) throw new WeightsError('zip', `zip: two records are named ${quote(name)}`);
    const entry: ZipEntry = { name, method, compressedSize, size, dataOffset };
    entries.push(entry);
    byName.set(name, entry);
    at = next;
  }
  return { entries, byName };
}

/** A record's content: a view into the file when stored; inflated, up to the limit, when deflated. */
export function entryBytes(bytes: Uint8Array, entry: ZipEntry, limits: ZipLimits): Uint8Array {
  const raw = bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
  if (entry.method === 0) return raw;
  return inflateBounded(raw, entry.name, limits.maxInflatedBytes);
}

/** Inflates in 4 KiB input chunks (deflate expands at most ~1032x, so one step yields at most ~4 MB) and stops as
 * soon as the output passes `max`: a zip bomb costs at most max + one step, whatever it declares. */
function inflateBounded(raw: Uint8Array, name: string, max: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let done = false;
  const inflater = new Inflate((chunk, final) => {
    total += chunk.length;
    if (total > max) throw new WeightsError('limit', `zip: record ${quote(name)} inflates past ${max} bytes (a zip bomb?)`);
    parts.push(chunk);
    if (final) done = true;
  });
  const step = 4 * 1024;
  try {
    for (let i = 0; i < raw.length; i += step) inflater.push(raw.subarray(i, Math.min(raw.length, i + step)), i + step >= raw.length);
    if (raw.length === 0) inflater.push(raw, true);
  } catch (e) {
    if (e instanceof WeightsError) throw e;
    throw new WeightsError('zip', `zip: record ${quote(name)} does not inflate (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!done) throw new WeightsError('truncated', `zip: record ${quote(name)} ends inside its deflate stream`);
  const out = new Uint8Array(total);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
