/**
 * torch.save, written without Python, for the remapped checkpoint (`yolo-lens transfer ... --remap out.pt`): the
 * object graph the reader produced (inert) is pickled again with the same classes, tensors become torch's rebuild
 * calls again with persistent storage ids, and each storage's bytes are copied from the file it was read from
 * into a `data/<key>` record. The layer remap itself renames the children of the model's layer sequence (an
 * nn.Sequential's `_modules`), so `model.state_dict()` in PyTorch lists the moved tensors under their new keys.
 */
import { WeightsError, attempt, type Result } from './errors.ts';
import { PyDict, PyGlobal, PyObject, PyTuple, type PyValue } from './pickle.ts';
import { PickleWriter } from './pickleWriter.ts';
import { readCheckpoint, PyStorage, PyTensor, type Checkpoint } from './torch.ts';
import { stateDictOf } from './stateDict.ts';
import { remapCheckpoint, type LayerMove } from './transfer.ts';
import { writeStoredZip, type ZipRecord } from './zipWriter.ts';

export interface SaveOptions {
  /** the zip's top folder (torch names it after the file's stem) */
  archiveName?: string;
  /** values written in place of others (the renamed `_modules` dicts) */
  substitutes?: ReadonlyMap<object, PyValue>;
}

/** torch.save(root) into a zip, the storages' bytes taken from `source` (the file `checkpoint` was read from). */
export function saveCheckpoint(checkpoint: Checkpoint, source: Uint8Array, root: PyValue, options: SaveOptions = {}): Uint8Array {
  if (checkpoint.byteorder !== 'little') throw new WeightsError('unsupported', 'writing a big-endian checkpoint');
  const keys = new Map<PyStorage, string>();
  const storageId = (s: PyStorage): PyValue[] => {
    let key = keys.get(s);
    if (key === undefined) keys.set(s, (key = String(keys.size)));
    return ['storage', new PyGlobal('torch', s.typeName), key, s.location, s.numel];
  };
  const emptyHooks = () => new PyDict('collections.OrderedDict');
  const pickle = PickleWriter.write(root, {
    substitute: (v) => (options.substitutes?.get(v as object) as PyValue | undefined) ?? undefined,
    external: (v, w) => {
      if (v instanceof PyStorage) {
        w.persistentId(storageId(v));
        return true;
      }
      if (!(v instanceof PyTensor)) return false;
      if (w.recall(v)) return true;
      if (v.quantized) throw new WeightsError('unsupported', 'writing a quantized tensor');
      if (v.isParameter) {
        const data = new PyTensor(v.storage, v.storageOffset, v.shape, v.stride, false, false);
        const state = v.state instanceof PyDict && v.state.size > 0 ? v.state : null;
        if (state) w.reduce('torch._utils', '_rebuild_parameter_with_state', [data, v.requiresGrad, emptyHooks(), state], v);
        else w.reduce('torch._utils', '_rebuild_parameter', [data, v.requiresGrad, emptyHooks()], v);
        return true;
      }
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks): the storage as its persistent id
      const args = [v.storage, v.storageOffset, new PyTuple(v.shape), new PyTuple(v.stride), v.requiresGrad, emptyHooks()];
      w.reduce('torch._utils', '_rebuild_tensor_v2', args, v);
      return true;
    },
  });
  const prefix = options.archiveName ?? checkpoint.archiveName ?? 'archive';
  const records: ZipRecord[] = [{ name: `${prefix}/data.pkl`, data: pickle }];
  records.push({ name: `${prefix}/byteorder`, data: new TextEncoder().encode('little') });
  for (const [s, key] of keys) {
    if (s.dataOffset < 0 || s.dataOffset + s.byteLength > source.length)
      throw new WeightsError('internal', `storage ${key} lies outside the file it was read from`);
    records.push({ name: `${prefix}/data/${key}`, data: source.subarray(s.dataOffset, s.dataOffset + s.byteLength) });
  }
  records.push({ name: `${prefix}/version`, data: new TextEncoder().encode('3\n') });
  return writeStoredZip(records);
}

// --- the layer remap ----------------------------------------------------------------------------------------------

/** The __dict__ of a pickled module (as stateDict.ts reads it). */
function moduleState(v: PyValue | undefined): PyDict | undefined {
  if (!(v instanceof PyObject)) return undefined;
  const s = v.state instanceof PyTuple ? v.state.items[0] : v.state;
  return s instanceof PyDict && s.has('_modules') ? s : undefined;
}

/** `model.<i>` → its new index, null when the layer is dropped, undefined for keys outside the layers. */
function renamer(moves: readonly LayerMove[]): (index: number) => number | null {
  const to = new Map(moves.map((m) => [m.from, m.to]));
  const taken = new Set(moves.map((m) => m.to));
  return (i) => to.get(i) ?? (taken.has(i) ? null : i);
}

/** A layer key as the planner reads it (transfer.ts: `model.<digits>.`). */
const INDEX = /^\d+$/;

/** The layer sequence's children renamed: moved layers under their new index, displaced ones dropped, in index order. */
function renamedChildren(children: PyDict, rename: (i: number) => number | null): PyDict {
  const kept: [number, string, PyValue][] = [];
  const other: [PyValue, PyValue][] = [];
  for (let i = 0; i < children.size; i++) {
    const k = children.keys[i]!;
    const v = children.values[i]!;
    if (typeof k === 'string' && INDEX.test(k)) {
      const to = rename(Number(k));
      // a layer that stays keeps its key as written; a moved one takes its new index
      if (to !== null) kept.push([to, to === Number(k) ? k : String(to), v]);
    } else other.push([k, v]);
  }
  kept.sort((a, b) => a[0] - b[0]);
  const out = new PyDict(children.className);
  for (const [, k, v] of kept) {
    if (out.has(k)) throw new WeightsError('unsupported', `two layers of the checkpoint would both be layer ${k} after the remap`);
    out.set(k, v);
  }
  for (const [k, v] of other) out.set(k, v);
  if (children.attrs !== undefined) out.attrs = children.attrs;
  return out;
}

/** A tensor's key (as transfer.ts splits it), and a `_metadata` key (a module path, `model.5` itself included). */
const KEY = /^model\.(\d+)(\..*)$/;
const MODULE_PATH = /^model\.(\d+)(\..*)?$/;

/** A plain state_dict's keys renamed the same way (and its `_metadata`, whose keys are module paths). */
function renamedStateDict(d: PyDict, rename: (i: number) => number | null, pattern = KEY): PyDict {
  const renameKey = (k: PyValue): PyValue | null => {
    const m = typeof k === 'string' ? pattern.exec(k) : null;
    if (!m) return k;
    const to = rename(Number(m[1]));
    return to === null ? null : to === Number(m[1]) ? k : `model.${to}${m[2] ?? ''}`;
  };
  const out = new PyDict(d.className);
  for (let i = 0; i < d.size; i++) {
    const k = renameKey(d.keys[i]!);
    if (k === null) continue;
    if (typeof k === 'string' && out.has(k) && pattern === KEY)
      throw new WeightsError('unsupported', `two tensors of the checkpoint would both be ${k} after the remap`);
    out.set(k, d.values[i]!);
  }
  if (d.attrs instanceof PyDict && d.attrs.get('_metadata') instanceof PyDict) {
    const attrs = new PyDict(d.attrs.className);
    for (let i = 0; i < d.attrs.size; i++) attrs.set(d.attrs.keys[i]!, d.attrs.values[i]!);
    attrs.set('_metadata', renamedStateDict(d.attrs.get('_metadata') as PyDict, rename, MODULE_PATH));
    out.attrs = attrs;
  } else if (d.attrs !== undefined) out.attrs = d.attrs;
  return out;
}

export interface RemappedCheckpoint {
  readonly bytes: Uint8Array;
  /** where the layers were renamed: `ckpt["model"].model`, `ckpt["ema"].model`, `ckpt` (a state_dict) */
  readonly renamed: readonly string[];
  /** the state_dict the written file gives (read back), as the loader's entry derives it */
  readonly entries: readonly { key: string; shape: readonly number[] }[];
}

/**
 * Reads `source`, renames its layers by `moves` (model, ema, or a plain state_dict) and writes it back; the result
 * is read back and its state_dict checked against the planner's `remapCheckpoint` of the original's.
 */
export function writeRemappedCheckpoint(
  source: Uint8Array,
  moves: readonly LayerMove[],
  options: { archiveName?: string; entry?: 'model' | 'ema-or-model' } = {},
): Result<RemappedCheckpoint> {
  return attempt(() => {
    const read = readCheckpoint(source, {}, { exactFloats: true });
    if (!read.ok) throw read.error;
    const ckpt = read.value;
    const before = stateDictOf(ckpt, options.entry ? { entry: options.entry } : {});
    if (!before.ok) throw before.error;
    const rename = renamer(moves);
    const substitutes = new Map<object, PyValue>();
    const renamed: string[] = [];
    const module = (v: PyValue | undefined, where: string): boolean => {
      const children = moduleState(v)?.get('_modules');
      const layers = children instanceof PyDict ? moduleState(children.get('model'))?.get('_modules') : undefined;
      if (!(layers instanceof PyDict)) return false;
      substitutes.set(layers, renamedChildren(layers, rename));
      renamed.push(`${where}.model`);
      return true;
    };
    const stateDict = (v: PyValue | undefined, where: string): boolean => {
      if (!(v instanceof PyDict) || v.size === 0 || !v.values.every((x) => x instanceof PyTensor)) return false;
      substitutes.set(v, renamedStateDict(v, rename));
      renamed.push(where);
      return true;
    };
    const root = ckpt.root;
    if (!module(root, 'ckpt') && !stateDict(root, 'ckpt') && root instanceof PyDict) {
      for (const key of ['model', 'ema', 'state_dict'])
        if (root.has(key)) module(root.get(key), `ckpt["${key}"]`) || stateDict(root.get(key), `ckpt["${key}"]`);
    }
    if (!renamed.length)
      throw new WeightsError('no-state-dict', 'the checkpoint holds no layer sequence (a model\u2019s `model` nn.Sequential) to remap');
    const bytes = saveCheckpoint(ckpt, source, root, { substitutes, ...(options.archiveName ? { archiveName: options.archiveName } : {}) });
    // read back: the file must give the planner's remapped state_dict, key for key and shape for shape
    const back = readCheckpoint(bytes);
    if (!back.ok) throw new WeightsError('internal', `the remapped file does not read back: ${back.error.message}`);
    const after = stateDictOf(back.value, options.entry ? { entry: options.entry } : {});
    if (!after.ok) throw new WeightsError('unsupported', `the remapped file has no state_dict: ${after.error.message}`);
    const want = remapCheckpoint(before.value.entries, moves);
    const sig = (e: { key: string; shape: readonly number[] }) => `${e.key} ${e.shape.join(',')}`;
    const a = new Set(after.value.entries.map(sig));
    const missing = want.find((e) => !a.has(sig(e)));
    if (missing || a.size !== want.length)
      throw new WeightsError(
        // a module tree shared between places (one layer under two names) renames in both; nothing is written
        'unsupported',
        `the remapped file's state_dict differs from the plan (${missing ? `no ${missing.key}` : `${a.size} vs ${want.length} tensors`})`,
      );
    return { bytes, renamed, entries: after.value.entries.map((e) => ({ key: e.key, shape: e.shape })) };
  });
}
