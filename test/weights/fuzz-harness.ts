/**
 * Mutation fuzzing of the checkpoint reader, shared by test/weights/fuzz.test.ts (a fast fixed-seed run) and
 * bench/fuzz-checkpoints.ts (10,000+ cases with figures). Seeds are real fixtures (a zip module checkpoint, a plain
 * state_dict, a legacy file) and small crafted ones; mutations aim where the reader decides things: the pickle
 * bytes, the zip headers and directory, the legacy storage headers; plus truncation, splices and saturated integers.
 * Every case must end in a value or a WeightsError other than `internal`, within the time limit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WeightsError, checkpointInfo, readCheckpoint, stateDictOf, toPlain } from '../../server/src/core/weights/index.ts';
import { readZip } from '../../server/src/core/weights/zip.ts';
import { writeRemappedCheckpoint } from '../../server/src/core/weights/save.ts';
import { Pickle, stateDictCheckpoint, torchZip, zip, type ZipRecord } from './craft.ts';
import { uniformStream } from '../../server/src/runtime/weights.ts';

export interface Seed {
  name: string;
  bytes: Uint8Array;
  /** byte ranges worth mutating more often (data.pkl, the central directory, the legacy pickles) */
  hot: [number, number][];
  /** a zip's records: most mutants change data.pkl alone and re-zip it, so the pickle reader sees them */
  records?: ZipRecord[];
}

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'checkpoints');

/** The seeds; `all` adds the 1.6 MB mid-training ultralytics file (the bench uses it, the test stays fast). */
export function loadSeeds(all = true): Seed[] {
  const seeds: Seed[] = [];
  const names = ['gsconv-yolov5t.pt', 'yolov5t-state-dict.pt', 'yolov5t-legacy.pt', ...(all ? ['yolov8t-last.pt'] : [])];
  for (const name of names) {
    const bytes = new Uint8Array(readFileSync(join(fixtures, name)));
    seeds.push({ name, bytes, hot: hotRanges(bytes), ...records(bytes) });
  }
  const crafted = stateDictCheckpoint({ 'a.weight': [2, 3, 1, 1], 'a.bias': [2] });
  seeds.push({ name: 'crafted-state-dict', bytes: crafted, hot: hotRanges(crafted), ...records(crafted) });
  const module = torchZip(
    new Pickle()
      .proto()
      .global('torch.nn.modules.conv', 'Conv2d')
      .emptyTuple()
      .newobj()
      .emptyDict()
      .str('_parameters')
      .global('collections', 'OrderedDict')
      .emptyTuple()
      .reduce()
      .str('weight')
      .tensor('0', 6, [2, 3, 1, 1], [3, 1, 1, 1])
      .setitem()
      .setitem()
      .str('_modules')
      .emptyDict()
      .setitem()
      .build()
      .stop()
      .bytes(),
    { '0': new Uint8Array(12) },
  );
  seeds.push({ name: 'crafted-module', bytes: module, hot: hotRanges(module), ...records(module) });
  return seeds;
}

function records(bytes: Uint8Array): { records?: ZipRecord[] } {
  if (bytes[0] !== 0x50) return {};
  const archive = readZip(bytes, { maxEntries: 1e6, maxInflatedBytes: 1 << 20 });
  return {
    records: archive.entries.map((e) => ({ name: e.name, data: bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize) })),
  };
}

/** data.pkl and the central directory of a zip; the pickles (everything before the storages) of a legacy file. */
function hotRanges(bytes: Uint8Array): [number, number][] {
  const r = readCheckpoint(bytes);
  if (!r.ok) return [[0, bytes.length]];
  if (r.value.format === 'legacy') {
    const firstData = Math.min(...r.value.storages.map((s) => s.dataOffset));
    return [[0, firstData]];
  }
  const ranges: [number, number][] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = bytes.length - 22;
  const cdOffset = dv.getUint32(eocd + 16, true);
  ranges.push([cdOffset, bytes.length]);
  // data.pkl is the first record torch writes: its local header at 0, its data right after
  const nameLength = dv.getUint16(26, true);
  const extra = dv.getUint16(28, true);
  const start = 30 + nameLength + extra;
  ranges.push([0, Math.min(bytes.length, start + dv.getUint32(18, true))]);
  return ranges;
}

/** mulberry32, the runtime's own seeded generator: small, seedable, good enough to pick mutations */
export const rng: (seed: number) => () => number = uniformStream;

export interface Mutant {
  seed: string;
  how: string;
  bytes: Uint8Array;
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x2e, 0x28, 0x52, 0x81, 0x62, 0x51, 0x63, 0x93, 0x8a, 0x58];

export function mutate(seed: Seed, random: () => number): Mutant {
  if (seed.records && random() < 0.6) {
    // the pickle alone, re-zipped: the container stays valid and the unpickler meets the mutation
    const at = seed.records.findIndex((r) => r.name.endsWith('/data.pkl'));
    const pkl = seed.records[at]!.data;
    const inner = mutate({ name: seed.name, bytes: pkl, hot: [[0, pkl.length]] }, random);
    const records = seed.records.map((r, i) => (i === at ? { name: r.name, data: inner.bytes } : r));
    return { seed: seed.name, how: `data.pkl: ${inner.how}`, bytes: zip(records) };
  }
  const pick = (n: number) => Math.floor(random() * n);
  const position = (): number => {
    if (random() < 0.85 && seed.hot.length) {
      const [a, b] = seed.hot[pick(seed.hot.length)]!;
      return a + pick(Math.max(1, b - a));
    }
    return pick(seed.bytes.length);
  };
  const kinds = ['flip', 'byte', 'bytes', 'u32', 'truncate', 'delete', 'insert', 'splice', 'repeat'];
  const steps = 1 + pick(4);
  let bytes: Uint8Array = seed.bytes.slice();
  const how: string[] = [];
  for (let s = 0; s < steps; s++) {
    const kind = kinds[pick(kinds.length)]!;
    const at = Math.min(position(), Math.max(0, bytes.length - 1));
    switch (kind) {
      case 'flip':
        bytes[at] = bytes[at]! ^ (1 << pick(8));
        break;
      case 'byte':
        bytes[at] = INTERESTING[pick(INTERESTING.length)]!;
        break;
      case 'bytes':
        for (let i = 0; i < 1 + pick(16) && at + i < bytes.length; i++) bytes[at + i] = pick(256);
        break;
      case 'u32': {
        const values = [0, 1, 0x7fffffff, 0xffffffff, 0x80000000, 0xfffffff0, bytes.length, bytes.length + 1];
        if (at + 4 <= bytes.length) new DataView(bytes.buffer).setUint32(at, values[pick(values.length)]!, true);
        break;
      }
      case 'truncate':
        bytes = bytes.slice(0, at);
        break;
      case 'delete':
        bytes = concatBytes(bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + pick(64))));
        break;
      case 'insert': {
        const junk = Uint8Array.from({ length: 1 + pick(64) }, () => (random() < 0.5 ? INTERESTING[pick(INTERESTING.length)]! : pick(256)));
        bytes = concatBytes(bytes.subarray(0, at), junk, bytes.subarray(at));
        break;
      }
      case 'splice': {
        // copy a run of the file over another place of it (pickle fragments land in the wrong context)
        const from = position();
        const len = 1 + pick(256);
        const chunk = bytes.slice(from, from + len);
        bytes.set(chunk.subarray(0, Math.max(0, bytes.length - at)), at);
        break;
      }
      case 'repeat': {
        // one byte repeated many times (an opcode flood inside data.pkl)
        const len = 1 + pick(4096);
        const fill = new Uint8Array(len).fill(bytes[at] ?? 0);
        bytes = concatBytes(bytes.subarray(0, at), fill, bytes.subarray(at));
        break;
      }
    }
    how.push(`${kind}@${at}`);
  }
  return { seed: seed.name, how: how.join(' '), bytes };
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface Outcome {
  /** 'ok' (read and derived), 'ok-no-state-dict' (read, nothing to derive), or the error code */
  result: string;
  ms: number;
  message?: string;
}

/** Runs reader + derivations on one mutant; throws on an internal error (a reader bug). */
export function runCase(bytes: Uint8Array): Outcome {
  const t0 = performance.now();
  const r = readCheckpoint(bytes);
  let result: string;
  let message: string | undefined;
  if (!r.ok) {
    result = r.error.code;
    message = r.error.message;
  } else {
    const sd = stateDictOf(r.value);
    const info = checkpointInfo(r.value);
    JSON.stringify(toPlain(r.value.root));
    if (!info.ok) {
      result = info.error.code;
      message = info.error.message;
    } else if (sd.ok) {
      // the remap writer takes whatever the reader accepted: a file, or a typed error
      const w = writeRemappedCheckpoint(bytes, [{ from: 0, to: 1, tensors: 0 }]);
      result = w.ok ? 'ok' : w.error.code === 'internal' ? 'internal' : 'ok';
      if (!w.ok) message = w.error.message;
    } else {
      result = sd.error.code === 'no-state-dict' ? 'ok-no-state-dict' : sd.error.code;
      message = sd.error.message;
    }
  }
  const ms = performance.now() - t0;
  if (result === 'internal') throw new WeightsError('internal', message ?? '');
  if (message !== undefined && (message.includes('\n') || message.length > 400)) {
    throw new Error(`an error message that is not one short line: ${JSON.stringify(message.slice(0, 500))}`);
  }
  return { result, ms, ...(message ? { message } : {}) };
}
