/**
 * torch.save files, read without Python: the zip format (PyTorch ≥ 1.6: `<name>/data.pkl` + one record per storage)
 * and the legacy format (`_use_new_zipfile_serialization=False`: magic, protocol and sys-info pickles, the object
 * pickle, the storage keys, then each storage's bytes). The object graph comes back inert (pickle.ts); torch's
 * tensor rebuild calls become PyTensor metadata (dtype, shape, stride, storage) checked against the storage they
 * view, and no tensor data is read or copied.
 */
import { WeightsError, quote, attempt, type Result } from './errors.ts';
import {
  PyBytes,
  PyDict,
  PyGlobal,
  PySet,
  PyTuple,
  PyList,
  describe,
  unpickle,
  type PickleHooks,
  type PickleLimits,
  type PyValue,
} from './pickle.ts';
import { entryBytes, isZip, readZip, type ZipLimits } from './zip.ts';

export interface StorageType {
  /** torch's class name (`HalfStorage`): what a writer names again */
  name: string;
  dtype: string;
  /** bytes per element */
  itemSize: number;
}

/** torch.<X>Storage → dtype (as torch prints it, without `torch.`) and element size */
const STORAGE_TYPES: Record<string, Omit<StorageType, 'name'>> = {
  HalfStorage: { dtype: 'float16', itemSize: 2 },
  FloatStorage: { dtype: 'float32', itemSize: 4 },
  DoubleStorage: { dtype: 'float64', itemSize: 8 },
  BFloat16Storage: { dtype: 'bfloat16', itemSize: 2 },
  LongStorage: { dtype: 'int64', itemSize: 8 },
  IntStorage: { dtype: 'int32', itemSize: 4 },
  ShortStorage: { dtype: 'int16', itemSize: 2 },
  CharStorage: { dtype: 'int8', itemSize: 1 },
  ByteStorage: { dtype: 'uint8', itemSize: 1 },
  BoolStorage: { dtype: 'bool', itemSize: 1 },
  ComplexHalfStorage: { dtype: 'complex32', itemSize: 4 },
  ComplexFloatStorage: { dtype: 'complex64', itemSize: 8 },
  ComplexDoubleStorage: { dtype: 'complex128', itemSize: 16 },
  QInt8Storage: { dtype: 'qint8', itemSize: 1 },
  QUInt8Storage: { dtype: 'quint8', itemSize: 1 },
  QInt32Storage: { dtype: 'qint32', itemSize: 4 },
  QUInt4x2Storage: { dtype: 'quint4x2', itemSize: 1 },
  QUInt2x4Storage: { dtype: 'quint2x4', itemSize: 1 },
  UntypedStorage: { dtype: 'uint8', itemSize: 1 },
};

/** One storage of the file: where its bytes are (the remap writer copies them from there). */
export class PyStorage {
  readonly kind = 'storage';
  constructor(
    readonly key: string,
    /** torch's storage class (`HalfStorage`) */
    readonly typeName: string,
    readonly dtype: string,
    readonly itemSize: number,
    /** elements of dtype */
    readonly numel: number,
    readonly location: string,
    /** where its bytes start in the file (set once the legacy format's storage section is read), and how many */
    public dataOffset: number,
    readonly byteLength: number,
    /** a legacy view of a root storage: elements into the root */
    readonly viewOffset = 0,
  ) {}
}

export class PyTensor {
  readonly kind = 'tensor';
  /** set by a BUILD on the tensor (a subclass's or a parameter's __dict__), kept inert */
  state: PyValue | undefined;
  constructor(
    readonly storage: PyStorage,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly stride: number[],
    readonly requiresGrad: boolean,
    /** torch.nn.Parameter (via _rebuild_parameter) rather than a plain tensor */
    readonly isParameter: boolean,
    /** a quantized tensor (_rebuild_qtensor) */
    readonly quantized = false,
  ) {}
  get dtype(): string {
    return this.storage.dtype;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

export interface Checkpoint {
  format: 'zip' | 'legacy';
  /** the zip's top folder (torch names it after the file it saved to, `archive` for a buffer) */
  archiveName: string | null;
  byteorder: 'little' | 'big';
  /** the pickle protocol of the object pickle (torch.save writes 2) */
  pickleProtocol: number;
  /** the zip's `version` record (the serialization format version), when present */
  formatVersion: string | null;
  /** what torch.load returns, inert */
  root: PyValue;
  /** every storage the object graph refers to, in first-use order */
  storages: PyStorage[];
  tensorCount: number;
}

export interface ReadLimits extends ZipLimits, PickleLimits {
  /** the largest object pickle read (data.pkl) */
  maxPickleBytes: number;
  /** the most elements one tensor header may declare (2^36: far beyond any real tensor, far below 2^53) */
  maxTensorElements: number;
  /** the most dimensions of one tensor */
  maxTensorDims: number;
}

export const DEFAULT_LIMITS: ReadLimits = {
  maxEntries: 1_000_000,
  // a real data.pkl is kilobytes to a few MB (the object graph, never tensor data)
  maxInflatedBytes: 32 << 20,
  maxPickleBytes: 32 << 20,
  maxValues: 4_000_000,
  maxMarkDepth: 1000,
  maxLongBytes: 1024,
  maxTensorElements: 2 ** 36,
  maxTensorDims: 64,
};

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

export interface ReadOptions {
  /** floats as PyFloat, so that 2.0 stays a float when the tree is written again (the remap writer asks) */
  exactFloats?: boolean;
}

/** Reads a torch.save file. Never throws: a typed error for anything it cannot read safely. */
export function readCheckpoint(bytes: Uint8Array, limits: Partial<ReadLimits> = {}, options: ReadOptions = {}): Result<Checkpoint> {
  const all = { ...DEFAULT_LIMITS, ...limits };
  return attempt(() => {
    if (bytes.length === 0) throw new WeightsError('not-a-checkpoint', 'the file is empty');
    if (isZip(bytes)) return readZipCheckpoint(bytes, all, options);
    if (bytes[0] === 0x80 && bytes.length > 2 && bytes[1]! <= 5) return readLegacyCheckpoint(bytes, all, options);
    if (bytes.length > 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar') {
      throw new WeightsError('unsupported', 'a tar checkpoint (PyTorch before 0.4): load and re-save it with a current torch');
    }
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new WeightsError('not-a-checkpoint', `not a PyTorch checkpoint (neither a torch.save zip nor a legacy pickle; starts ${head})`);
  });
}

function readZipCheckpoint(bytes: Uint8Array, limits: ReadLimits, options: ReadOptions): Checkpoint {
  const zip = readZip(bytes, limits);
  if (zip.entries.length === 0) throw new WeightsError('zip', 'zip: the archive is empty');
  // torch's reader takes the archive's folder from its first record; every record lives under it
  const first = zip.entries[0]!.name;
  const slash = first.indexOf('/');
  if (slash <= 0) throw new WeightsError('zip', `zip: the first record ${quote(first)} is not inside a folder, as torch.save writes`);
  const prefix = first.slice(0, slash);
  const record = (name: string) => zip.byName.get(`${prefix}/${name}`);
  const dataPkl = record('data.pkl');
  if (!dataPkl) {
    const torchscript = record('constants.pkl') || zip.entries.some((e) => e.name.startsWith(`${prefix}/code/`));
    throw new WeightsError(
      torchscript ? 'unsupported' : 'zip',
      torchscript
        ? 'a TorchScript archive (torch.jit.save), not a torch.save checkpoint'
        : `zip: no ${quote(`${prefix}/data.pkl`)} record: not a torch.save archive`,
    );
  }
  if (dataPkl.size > limits.maxPickleBytes) {
    throw new WeightsError('limit', `data.pkl declares ${dataPkl.size} bytes, more than the ${limits.maxPickleBytes} read`);
  }
  const byteorderRecord = record('byteorder');
  let byteorder: 'little' | 'big' = 'little';
  if (byteorderRecord) {
    const text = new TextDecoder().decode(entryBytes(bytes, byteorderRecord, { ...limits, maxInflatedBytes: 16 })).trim();
    if (text !== 'little' && text !== 'big') throw new WeightsError('zip', `zip: the byteorder record says ${quote(text, 20)}`);
    byteorder = text;
  }
  const versionRecord = record('.data/version') ?? record('version');
  const formatVersion = versionRecord
    ? new TextDecoder().decode(entryBytes(bytes, versionRecord, { ...limits, maxInflatedBytes: 64 })).trim()
    : null;

  const storages = new Map<string, PyStorage>();
  const order: PyStorage[] = [];
  const state = { tensors: 0 };
  const hooks = torchHooks(limits, options, state, (pid) => {
    // ('storage', storage_type, key, location, numel)
    const t = pid instanceof PyTuple ? pid.items : [];
    if (t.length !== 5 || t[0] !== 'storage')
      throw new WeightsError('pickle', `pickle: a persistent id ${describePid(pid)}, not a storage`);
    const type = storageType(t[1]!);
    const key = t[2];
    const location = t[3];
    const numel = t[4];
    if (typeof key !== 'string' || typeof location !== 'string' || !isCount(numel)) {
      throw new WeightsError('pickle', `pickle: a malformed storage id ${describePid(pid)}`);
    }
    const known = storages.get(key);
    if (known) return known;
    const entry = record(`data/${key}`);
    if (!entry) throw new WeightsError('zip', `zip: the pickle refers to storage ${quote(key)}, which has no data/… record`);
    // UntypedStorage counts bytes; typed storages count elements
    const byteLength = numel * type.itemSize;
    if (byteLength > entry.size) {
      throw new WeightsError(
        'tensor',
        `storage ${quote(key)} declares ${numel} ${type.dtype} elements (${byteLength} bytes) but its record holds ${entry.size}`,
      );
    }
    const s = new PyStorage(key, type.name, type.dtype, type.itemSize, numel, location, entry.dataOffset, byteLength);
    storages.set(key, s);
    order.push(s);
    return s;
  });
  const raw = entryBytes(bytes, dataPkl, { ...limits, maxInflatedBytes: Math.min(limits.maxInflatedBytes, limits.maxPickleBytes) });
  // a copy of a stored record: the bytes values of the tree are views into it, and must not keep the whole file alive
  const pkl = dataPkl.method === 0 ? raw.slice() : raw;
  const { value, protocol } = unpickle(pkl, 0, hooks, limits);
  return {
    format: 'zip',
    archiveName: prefix,
    byteorder,
    pickleProtocol: protocol,
    formatVersion,
    root: value,
    storages: order,
    tensorCount: state.tensors,
  };
}

function readLegacyCheckpoint(bytes: Uint8Array, limits: ReadLimits, options: ReadOptions): Checkpoint {
  const noPersistent: PickleHooks = {
    persistentLoad: () => {
      throw new WeightsError('pickle', 'pickle: a persistent id in a legacy header pickle');
    },
  };
  const magic = unpickle(bytes, 0, noPersistent, limits);
  if (magic.value !== LEGACY_MAGIC) {
    throw new WeightsError('not-a-checkpoint', 'not a PyTorch checkpoint: a pickle, but without the legacy torch.save magic number');
  }
  const version = unpickle(bytes, magic.end, noPersistent, limits);
  if (version.value !== LEGACY_PROTOCOL) throw new WeightsError('unsupported', `legacy torch.save protocol ${String(version.value)}`);
  const sysInfo = unpickle(bytes, version.end, noPersistent, limits);
  if (sysInfo.value instanceof PyDict && sysInfo.value.get('little_endian') === false) {
    throw new WeightsError('unsupported', 'a big-endian legacy checkpoint');
  }

  // ('storage', storage_type, root_key, location, numel, view_metadata) and ('module', class, source_file, source)
  const roots = new Map<string, { type: StorageType; numel: number; location: string; views: PyStorage[] }>();
  const pending: { key: string; type: StorageType; numel: number; location: string; viewOffset: number; viewKey: string }[] = [];
  const state = { tensors: 0 };
  const resolved = new Map<string, PyStorage>();
  const hooks = torchHooks(limits, options, state, (pid) => {
    const t = pid instanceof PyTuple ? pid.items : [];
    if (t[0] === 'module' && t.length === 4) {
      if (!(t[1] instanceof PyGlobal)) throw new WeightsError('pickle', 'pickle: a module persistent id without a class');
      return t[1]; // the class: torch only checks its source against the current one
    }
    if (t[0] !== 'storage' || t.length !== 6)
      throw new WeightsError('pickle', `pickle: a persistent id ${describePid(pid)}, not a storage`);
    const type = storageType(t[1]!);
    const [rootKey, location, numel, view] = [t[2], t[3], t[4], t[5]];
    if (typeof rootKey !== 'string' || typeof location !== 'string' || !isCount(numel)) {
      throw new WeightsError('pickle', `pickle: a malformed storage id ${describePid(pid)}`);
    }
    if (!roots.has(rootKey)) roots.set(rootKey, { type, numel, location, views: [] });
    let viewKey = rootKey;
    let viewOffset = 0;
    let viewNumel = roots.get(rootKey)!.numel;
    if (view instanceof PyTuple) {
      const [vk, off, size] = view.items;
      if (typeof vk !== 'string' || !isCount(off) || !isCount(size)) throw new WeightsError('pickle', 'pickle: a malformed storage view');
      if (off + size > roots.get(rootKey)!.numel) throw new WeightsError('tensor', `storage view "${vk}" lies outside its root storage`);
      viewKey = vk;
      viewOffset = off;
      viewNumel = size;
    } else if (view !== null) throw new WeightsError('pickle', 'pickle: a malformed storage view');
    const known = resolved.get(viewKey);
    if (known) return known;
    // the bytes come after the pickles: a placeholder now, its offset once the storage section is read
    const s = new PyStorage(viewKey, type.name, type.dtype, type.itemSize, viewNumel, location, -1, viewNumel * type.itemSize, viewOffset);
    resolved.set(viewKey, s);
    pending.push({ key: rootKey, type, numel: viewNumel, location, viewOffset, viewKey });
    roots.get(rootKey)!.views.push(s);
    return s;
  });
  const main = unpickle(bytes, sysInfo.end, hooks, limits);
  const keys = unpickle(bytes, main.end, noPersistent, limits);
  if (!(keys.value instanceof PyList) || !keys.value.items.every((k) => typeof k === 'string')) {
    throw new WeightsError('pickle', 'legacy checkpoint: the storage key list is not a list of strings');
  }
  // each storage: an 8-byte little-endian element count, then its bytes, in the key list's order
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = keys.end;
  const offsets = new Map<string, number>();
  for (const key of keys.value.items as string[]) {
    const root = roots.get(key);
    if (!root) throw new WeightsError('pickle', `legacy checkpoint: storage ${quote(key)} is listed but never used`);
    if (at + 8 > bytes.length) throw new WeightsError('truncated', `legacy checkpoint: the file ends before storage ${quote(key)}`);
    const lo = dv.getUint32(at, true);
    const hi = dv.getUint32(at + 4, true);
    const numel = hi * 0x100000000 + lo;
    if (hi >= 0x200000 || numel !== root.numel) {
      throw new WeightsError('tensor', `legacy checkpoint: storage ${quote(key)} holds ${numel} elements, its id says ${root.numel}`);
    }
    const byteLength = numel * root.type.itemSize;
    if (at + 8 + byteLength > bytes.length) {
      throw new WeightsError('truncated', `legacy checkpoint: storage ${quote(key)} (${byteLength} bytes) runs past the end of the file`);
    }
    offsets.set(key, at + 8);
    at += 8 + byteLength;
  }
  const storages: PyStorage[] = [];
  for (const p of pending) {
    const base = offsets.get(p.key);
    if (base === undefined) throw new WeightsError('truncated', `legacy checkpoint: storage "${p.key}" has no data`);
    const storage = resolved.get(p.viewKey)!;
    storage.dataOffset = base + p.viewOffset * p.type.itemSize;
    storages.push(storage);
  }
  return {
    format: 'legacy',
    archiveName: null,
    byteorder: 'little',
    pickleProtocol: main.protocol,
    formatVersion: String(LEGACY_PROTOCOL),
    root: main.value,
    storages,
    tensorCount: state.tensors,
  };
}

/** torch's rebuild functions, as data; the allowlisted containers as containers; everything else inert. */
function torchHooks(
  limits: ReadLimits,
  options: ReadOptions,
  state: { tensors: number },
  storageOf: (pid: PyValue) => PyValue,
): PickleHooks {
  const tensor = (args: PyValue[], what: string, from: number, quantized = false): PyTensor => {
    const [storage, offset, size, stride] = args.slice(from);
    const requiresGrad = quantized ? args[5] : args[4];
    if (!(storage instanceof PyStorage)) throw new WeightsError('tensor', `${what}: its storage is a ${describeAny(storage)}`);
    const shape = intTuple(size, `${what}: its size`, limits);
    const strides = intTuple(stride, `${what}: its stride`, limits);
    if (strides.length !== shape.length) throw new WeightsError('tensor', `${what}: ${shape.length} sizes but ${strides.length} strides`);
    if (!isCount(offset)) throw new WeightsError('tensor', `${what}: storage offset ${describeAny(offset)}`);
    let numel = 1;
    let extent = 0; // the last element's index relative to the offset
    for (let i = 0; i < shape.length; i++) {
      numel *= shape[i]!;
      if (shape[i]! > 0) extent += (shape[i]! - 1) * strides[i]!;
    }
    if (numel > limits.maxTensorElements) {
      throw new WeightsError(
        'limit',
        `${what}: shape [${shape.join(', ')}] declares ${numel} elements, more than ${limits.maxTensorElements}`,
      );
    }
    if (numel > 0 && offset + extent + 1 > storage.numel) {
      throw new WeightsError(
        'tensor',
        `${what}: shape [${shape.join(', ')}] with stride [${strides.join(', ')}] at offset ${offset} needs ` +
          `${offset + extent + 1} elements, its storage holds ${storage.numel}`,
      );
    }
    state.tensors++;
    return new PyTensor(storage, offset, shape, strides, requiresGrad === true, false, quantized);
  };
  const rebuild = (callable: PyGlobal, args: PyValue[]): PyValue | undefined => {
    switch (callable.qualified) {
      case 'torch._utils._rebuild_tensor_v2':
      case 'torch._utils._rebuild_tensor':
        return tensor(args, 'tensor', 0);
      case 'torch._utils._rebuild_qtensor':
        return tensor(args, 'quantized tensor', 0, true);
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state': {
        const data = args[0];
        if (!(data instanceof PyTensor)) throw new WeightsError('tensor', `a Parameter whose data is a ${describeAny(data)}`);
        const p = new PyTensor(data.storage, data.storageOffset, data.shape, data.stride, args[1] === true, true, data.quantized);
        p.state = args[3];
        return p;
      }
      case 'torch._tensor._rebuild_from_type_v2':
      case 'torch._tensor._rebuild_from_type': {
        // (func, new_type, args, state): a Tensor subclass or a tensor with attributes; its data is func(*args)
        const [func, , inner] = args;
        if (!(func instanceof PyGlobal) || !(inner instanceof PyTuple)) return undefined;
        return rebuild(func, inner.items);
      }
      case 'collections.OrderedDict':
        return emptyOrderedDict(args);
      case 'builtins.set':
      case 'builtins.frozenset':
      case '__builtin__.set':
        return new PySet(args[0] instanceof PyList || args[0] instanceof PyTuple ? [...args[0].items] : [], callable.name === 'frozenset');
      case 'torch.storage._load_from_bytes':
        throw new WeightsError('unsupported', 'a storage pickled with plain pickle (torch.storage._load_from_bytes)');
      default:
        return undefined;
    }
  };
  return {
    boxFloats: options.exactFloats === true,
    persistentLoad: storageOf,
    reduce: rebuild,
    construct: (cls, args) => (cls.qualified === 'collections.OrderedDict' ? emptyOrderedDict(args) : undefined),
    build: (target, buildState) => {
      if (target instanceof PyTensor) {
        target.state = buildState;
        return true;
      }
      return false;
    },
  };
}

function emptyOrderedDict(args: PyValue[]): PyDict {
  const d = new PyDict('collections.OrderedDict');
  // OrderedDict(iterable of pairs): protocol 0/1 pickles may pass the items as the argument
  const items = args[0] instanceof PyList ? args[0].items : [];
  for (const pair of items) if (pair instanceof PyTuple && pair.items.length === 2) d.set(pair.items[0]!, pair.items[1]!);
  return d;
}

function storageType(v: PyValue): StorageType {
  if (!(v instanceof PyGlobal) || (v.module !== 'torch' && v.module !== 'torch.storage' && v.module !== 'torch.cuda')) {
    throw new WeightsError('pickle', `pickle: a storage whose type is ${describeAny(v)}`);
  }
  const type = STORAGE_TYPES[v.name];
  if (!type) throw new WeightsError('unsupported', `storage type torch.${v.name}`);
  return { name: v.name, ...type };
}

function intTuple(v: PyValue | undefined, what: string, limits: ReadLimits): number[] {
  const items = v instanceof PyTuple || v instanceof PyList ? v.items : undefined;
  if (!items) throw new WeightsError('tensor', `${what} is a ${describeAny(v)}, not a tuple`);
  if (items.length > limits.maxTensorDims) throw new WeightsError('limit', `${what} has ${items.length} dimensions`);
  return items.map((x) => {
    if (!isCount(x)) throw new WeightsError('tensor', `${what} holds ${describeAny(x)}, not a non-negative integer`);
    return x;
  });
}

function isCount(v: PyValue | undefined): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function describeAny(v: PyValue | undefined): string {
  if (v instanceof PyTensor) return 'tensor';
  if (v instanceof PyStorage) return 'storage';
  if (v instanceof PyBytes) return 'bytes';
  return typeof v === 'number' || typeof v === 'bigint' ? String(v) : describe(v);
}

function describePid(pid: PyValue): string {
  if (pid instanceof PyTuple)
    return `(${pid.items
      .slice(0, 3)
      .map((x) => (typeof x === 'string' ? quote(x, 20) : describeAny(x)))
      .join(', ')}, ...)`;
  return describeAny(pid);
}
