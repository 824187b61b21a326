/**
 * The zip container torch.save writes: stored (uncompressed) records under one folder, each record's data starting
 * at a multiple of 64 bytes (torch pads the local header's extra field, id "FB", with 'Z's, so that a loader may map
 * tensor data in place), CRC-32 on every record (torch's reader checks it). Written in one allocation of the final
 * size; the records' bytes are copied from the views the caller gives.
 */
import { WeightsError } from './errors.ts';

export interface ZipRecord {
  readonly name: string;
  readonly data: Uint8Array;
}

const ALIGN = 64;
const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const EOCD = 0x06054b50;
/** bit 11: names are UTF-8 */
const FLAGS = 0x0800;
const PAD_ID = 0x4246; // "FB"

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3), as zip stores it. */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The padding extra field that puts a record's data at a multiple of 64 (none when it already is). */
function padFor(dataStartWithoutPad: number): number {
  const rest = dataStartWithoutPad % ALIGN;
  if (rest === 0) return 0;
  // the field's own 4-byte header counts: pad to the next boundary that leaves room for it
  let pad = ALIGN - rest;
  if (pad < 4) pad += ALIGN;
  return pad;
}

export function writeStoredZip(records: readonly ZipRecord[]): Uint8Array {
  const encoder = new TextEncoder();
  const names = records.map((r) => encoder.encode(r.name));
  if (records.length > 0xffff)
    throw new WeightsError('limit', `a zip of ${records.length} records needs zip64, which this writer does not write`);
  // the layout first: where each local header and its data go
  const layout: { local: number; pad: number; data: number }[] = [];
  let at = 0;
  records.forEach((r, i) => {
    const headerEnd = at + 30 + names[i]!.length;
    const pad = padFor(headerEnd);
    layout.push({ local: at, pad, data: headerEnd + pad });
    at = headerEnd + pad + r.data.length;
  });
  const centralStart = at;
  const centralSize = names.reduce((s, n) => s + 46 + n.length, 0);
  const total = centralStart + centralSize + 22;
  if (total > 0xffffffff) throw new WeightsError('limit', `a ${total}-byte zip needs zip64, which this writer does not write`);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const crcs: number[] = [];
  records.forEach((r, i) => {
    const { local, pad, data } = layout[i]!;
    const name = names[i]!;
    const crc = crc32(r.data);
    crcs.push(crc);
    dv.setUint32(local, LOCAL, true);
    dv.setUint16(local + 4, 20, true); // version needed: 2.0
    dv.setUint16(local + 6, FLAGS, true);
    dv.setUint16(local + 8, 0, true); // stored
    dv.setUint32(local + 10, 0, true); // time and date: none, as torch writes
    dv.setUint32(local + 14, crc, true);
    dv.setUint32(local + 18, r.data.length, true);
    dv.setUint32(local + 22, r.data.length, true);
    dv.setUint16(local + 26, name.length, true);
    dv.setUint16(local + 28, pad, true);
    out.set(name, local + 30);
    if (pad) {
      const p = local + 30 + name.length;
      dv.setUint16(p, PAD_ID, true);
      dv.setUint16(p + 2, pad - 4, true);
      out.fill(0x5a, p + 4, p + pad); // 'Z'
    }
    out.set(r.data, data);
  });
  let c = centralStart;
  records.forEach((r, i) => {
    const name = names[i]!;
    dv.setUint32(c, CENTRAL, true);
    dv.setUint16(c + 4, 20, true); // made by
    dv.setUint16(c + 6, 20, true); // needed
    dv.setUint16(c + 8, FLAGS, true);
    dv.setUint16(c + 10, 0, true);
    dv.setUint32(c + 12, 0, true);
    dv.setUint32(c + 16, crcs[i]!, true);
    dv.setUint32(c + 20, r.data.length, true);
    dv.setUint32(c + 24, r.data.length, true);
    dv.setUint16(c + 28, name.length, true);
    // extra, comment, disk, internal and external attributes: zero
    dv.setUint32(c + 42, layout[i]!.local, true);
    out.set(name, c + 46);
    c += 46 + name.length;
  });
  dv.setUint32(c, EOCD, true);
  dv.setUint16(c + 8, records.length, true);
  dv.setUint16(c + 10, records.length, true);
  dv.setUint32(c + 12, centralSize, true);
  dv.setUint32(c + 16, centralStart, true);
  return out;
}
