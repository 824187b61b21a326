/**
 * What a checkpoint offers for transfer: its state_dict (keys, shapes, dtypes in torch's order), derived from the
 * pickled module tree as `Module.state_dict()` does, from the entry the framework's loader takes; and what else it
 * carries that the user may want to see (the YAML the model was built from, nc, names, train args, date, version).
 *
 * Which entry (read in the loaders): ultralytics 8.x `load_checkpoint` / `attempt_load_one_weight` and yolov5's
 * `attempt_load` take `ckpt.get("ema") or ckpt["model"]`; yolov5's train.py (and the Slim-neck fork's) transfers
 * from `ckpt["model"]`. Released weights are stripped (strip_optimizer puts the EMA under `model`, `ema` None), so
 * both agree on them; a mid-training last.pt holds both and they differ in values, never in keys or shapes.
 */
import { WeightsError, quote, attempt, type Result } from './errors.ts';
import { PyBytes, PyDict, PyFloat, PyGlobal, PyList, PyObject, PySet, PyTuple, type PyValue } from './pickle.ts';
import { PyTensor, type Checkpoint } from './torch.ts';

export interface StateDictEntry {
  key: string;
  shape: number[];
  dtype: string;
  tensor: PyTensor;
}

/** Which entry of a training checkpoint: the loaders' `ckpt.get("ema") or ckpt["model"]`, or train.py's `ckpt["model"]`. */
export type CheckpointEntryRule = 'ema-or-model' | 'model';

export interface CheckpointStateDict {
  /** where the keys come from, as Python would write it: `ckpt["ema"]`, `ckpt["model"]`, `ckpt` */
  source: string;
  /** the module class the keys were derived from (`models.yolo.DetectionModel`), null for a plain state_dict */
  moduleClass: string | null;
  entries: StateDictEntry[];
}

export interface StateDictLimits {
  maxDepth: number;
  maxEntries: number;
  maxModules: number;
}

const DEFAULTS: StateDictLimits = { maxDepth: 256, maxEntries: 1_000_000, maxModules: 1_000_000 };

export function stateDictOf(
  checkpoint: Checkpoint,
  options: { entry?: CheckpointEntryRule; limits?: Partial<StateDictLimits> } = {},
): Result<CheckpointStateDict> {
  const limits = { ...DEFAULTS, ...options.limits };
  return attempt(() => {
    const root = checkpoint.root;
    if (isModule(root)) return fromModule(root as PyObject, 'ckpt', limits);
    if (!(root instanceof PyDict)) throw new WeightsError('no-state-dict', `the checkpoint is ${kindOf(root)}, not a module or a dict`);
    if (isStateDict(root)) return fromStateDict(root, 'ckpt');
    const rule = options.entry ?? 'ema-or-model';
    const pick = (key: string): PyValue | undefined => root.get(key);
    let key: string;
    if (rule === 'ema-or-model' && truthy(pick('ema'))) key = 'ema';
    else if (root.has('model')) key = 'model';
    else if (root.has('state_dict'))
      key = 'state_dict'; // the common layout of other trainers
    else {
      const keys = root.keys.slice(0, 12).map((k) => (typeof k === 'string' ? k : kindOf(k)));
      throw new WeightsError(
        'no-state-dict',
        `the checkpoint's dict has no "model", "ema" or "state_dict" entry (it has: ${keys.join(', ')})`,
      );
    }
    const value = pick(key)!;
    const source = `ckpt["${key}"]`;
    if (isModule(value)) return fromModule(value as PyObject, source, limits);
    if (value instanceof PyDict && isStateDict(value)) return fromStateDict(value, source);
    throw new WeightsError('no-state-dict', `${source} is ${kindOf(value)}, not a module or a state_dict`);
  });
}

function fromStateDict(d: PyDict, source: string): CheckpointStateDict {
  const entries: StateDictEntry[] = [];
  for (let i = 0; i < d.size; i++) {
    const key = d.keys[i];
    const tensor = d.values[i];
    if (typeof key !== 'string' || !(tensor instanceof PyTensor)) continue; // isStateDict checked both
    entries.push({ key, shape: tensor.shape, dtype: tensor.dtype, tensor });
  }
  return { source, moduleClass: null, entries };
}

/** Module.state_dict(): own parameters (not None), persistent buffers (not None), then each child (not None) under
 * `name.`, depth first, in registration order. */
function fromModule(module: PyObject, source: string, limits: StateDictLimits): CheckpointStateDict {
  const entries: StateDictEntry[] = [];
  const ancestors = new Set<PyObject>();
  let modules = 0;
  const walk = (m: PyObject, prefix: string, depth: number): void => {
    if (depth > limits.maxDepth) throw new WeightsError('limit', `modules nested more than ${limits.maxDepth} deep`);
    if (ancestors.has(m))
      throw new WeightsError('no-state-dict', `the module tree loops back on itself at ${quote(prefix.slice(0, -1), 120)}`);
    if (++modules > limits.maxModules) throw new WeightsError('limit', `more than ${limits.maxModules} modules`);
    const state = moduleState(m)!;
    const where = prefix ? prefix.slice(0, -1) : source;
    const own = (field: string, skip?: Set<string>): void => {
      const d = state.get(field);
      if (d === undefined || d === null) return;
      if (!(d instanceof PyDict)) throw new WeightsError('no-state-dict', `${where}.${field} is ${kindOf(d)}, not a dict`);
      for (let i = 0; i < d.size; i++) {
        const name = d.keys[i];
        const value = d.values[i];
        if (value === null || value === undefined) continue;
        if (typeof name !== 'string') throw new WeightsError('no-state-dict', `${where}.${field} has a ${kindOf(name)} key`);
        if (skip?.has(name)) continue;
        if (!(value instanceof PyTensor)) {
          throw new WeightsError('unsupported', `${quote(prefix + name, 120)} is ${kindOf(value)}, not a tensor this reader understands`);
        }
        entries.push({ key: prefix + name, shape: value.shape, dtype: value.dtype, tensor: value });
        if (entries.length > limits.maxEntries) throw new WeightsError('limit', `more than ${limits.maxEntries} state_dict entries`);
      }
    };
    own('_parameters');
    const nonPersistent = state.get('_non_persistent_buffers_set');
    own(
      '_buffers',
      nonPersistent instanceof PySet ? new Set(nonPersistent.items.filter((x): x is string => typeof x === 'string')) : undefined,
    );
    const children = state.get('_modules');
    if (children === undefined || children === null) return;
    if (!(children instanceof PyDict)) throw new WeightsError('no-state-dict', `${where}._modules is ${kindOf(children)}, not a dict`);
    ancestors.add(m);
    for (let i = 0; i < children.size; i++) {
      const name = children.keys[i];
      const child = children.values[i];
      if (child === null || child === undefined) continue;
      if (typeof name !== 'string') throw new WeightsError('no-state-dict', `${where}._modules has a ${kindOf(name)} key`);
      if (!isModule(child)) throw new WeightsError('unsupported', `${quote(prefix + name, 120)} is ${kindOf(child)}, not a module`);
      walk(child as PyObject, `${prefix}${name}.`, depth + 1);
    }
    ancestors.delete(m);
  };
  walk(module, '', 0);
  return { source, moduleClass: module.cls.qualified, entries };
}

/** The __dict__ a pickled nn.Module was rebuilt with (BUILD's state, or the dict half of a (dict, slots) state). */
function moduleState(v: PyValue | undefined): PyDict | undefined {
  if (!(v instanceof PyObject)) return undefined;
  const s = v.state instanceof PyTuple ? v.state.items[0] : v.state;
  return s instanceof PyDict && (s.has('_modules') || s.has('_parameters')) ? s : undefined;
}

function isModule(v: PyValue | undefined): boolean {
  return moduleState(v) !== undefined;
}

function isStateDict(d: PyDict): boolean {
  return d.size > 0 && d.keys.every((k) => typeof k === 'string') && d.values.every((v) => v instanceof PyTensor);
}

/** Python truthiness, for `ckpt.get("ema") or ckpt["model"]`: None, empty containers, 0 and "" are false; a module
 * is true unless it is an empty container module (Sequential, ModuleList, ModuleDict define __len__). */
function truthy(v: PyValue | undefined): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === 0n || v === '') return false;
  if (v instanceof PyFloat) return v.value !== 0;
  if (v instanceof PyDict) return v.size > 0;
  if (v instanceof PyList || v instanceof PyTuple) return v.items.length > 0;
  const state = moduleState(v);
  if (state && /\.(Sequential|ModuleList|ModuleDict)$/.test((v as PyObject).cls.qualified)) {
    const children = state.get('_modules');
    return children instanceof PyDict && children.size > 0;
  }
  return true;
}

function kindOf(v: PyValue | undefined): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'None';
  if (v instanceof PyTensor) return 'a tensor';
  if (v instanceof PyObject) return `a ${v.cls.qualified} object`;
  if (v instanceof PyDict) return v.className === 'builtins.dict' ? 'a dict' : `a ${v.className}`;
  if (v instanceof PyGlobal) return `a reference to ${v.qualified}`;
  if (typeof v === 'object') return `a ${v.kind}`;
  return `a ${typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v === 'string' ? 'str' : typeof v}`;
}

// --- what else the checkpoint holds ------------------------------------------------------------------------------

/** JSON for display: the rules scripts/truth/truthlib.py `plain()` follows, so the two can be compared. */
export type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

export interface CheckpointInfo {
  format: Checkpoint['format'];
  archiveName: string | null;
  pickleProtocol: number;
  /** the Python type of what torch.load returns */
  topType: string;
  /** its keys when it is a training checkpoint's dict (not for a plain state_dict) */
  topKeys: string[] | null;
  /** the module the loaders take (`ema` or `model`) and its class */
  moduleEntry: string | null;
  moduleClass: string | null;
  /** the module's yaml (the model dict it was built from), nc, names, args, stride — those present */
  model: Record<string, Plain>;
  /** epoch, best_fitness, date, version, train_args, opt, git, license, docs, updates — those present */
  checkpoint: Record<string, Plain>;
  hasOptimizer: boolean;
  tensorCount: number;
}

const MODEL_FIELDS = ['yaml', 'nc', 'names', 'args', 'stride'];
const CHECKPOINT_FIELDS = ['epoch', 'best_fitness', 'date', 'version', 'train_args', 'opt', 'git', 'license', 'docs', 'updates'];

export function checkpointInfo(checkpoint: Checkpoint): Result<CheckpointInfo> {
  return attempt(() => {
    const root = checkpoint.root;
    const info: CheckpointInfo = {
      format: checkpoint.format,
      archiveName: checkpoint.archiveName,
      pickleProtocol: checkpoint.pickleProtocol,
      topType: typeName(root),
      topKeys: null,
      moduleEntry: null,
      moduleClass: null,
      model: {},
      checkpoint: {},
      hasOptimizer: false,
      tensorCount: checkpoint.tensorCount,
    };
    let module: PyValue | undefined = isModule(root) ? root : undefined;
    if (root instanceof PyDict && !isStateDict(root)) {
      info.topKeys = root.keys.map(pyStr);
      const entry = truthy(root.get('ema')) ? 'ema' : 'model';
      if (isModule(root.get(entry))) {
        module = root.get(entry);
        info.moduleEntry = entry;
      }
      for (const field of CHECKPOINT_FIELDS) if (root.has(field)) info.checkpoint[field] = toPlain(root.get(field)!);
      info.hasOptimizer = truthy(root.get('optimizer'));
    }
    if (module instanceof PyObject) {
      info.moduleClass = module.cls.qualified;
      const attrs = moduleState(module)!;
      for (const field of MODEL_FIELDS) if (attrs.has(field)) info.model[field] = toPlain(attrs.get(field)!);
    }
    return info;
  });
}

function typeName(v: PyValue): string {
  if (v instanceof PyDict) return v.className;
  if (v instanceof PyObject) return v.cls.qualified;
  if (v instanceof PyList) return 'builtins.list';
  if (v instanceof PyTuple) return 'builtins.tuple';
  if (v instanceof PyTensor) return 'torch.Tensor';
  return `builtins.${kindOf(v).replace(/^a /, '')}`;
}

/**
 * A pickled value as JSON for display, bounded: 64 levels deep (as truthlib.plain) and 200,000 nodes in all, so a
 * cyclic or exponentially shared graph still prints in bounded time.
 */
export function toPlain(value: PyValue, maxNodes = 200_000): Plain {
  let nodes = 0;
  const go = (v: PyValue, depth: number): Plain => {
    if (depth > 64) return { object: '<too deep>' };
    if (++nodes > maxNodes) return { object: '<too large>' };
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
    if (v instanceof PyFloat) return go(v.value, depth);
    if (typeof v === 'number') return Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    if (v instanceof PyTuple || v instanceof PyList) return v.items.map((x) => go(x, depth + 1));
    if (v instanceof PyDict) {
      const out: { [key: string]: Plain } = Object.create(null);
      for (let i = 0; i < v.size; i++) out[pyStr(v.keys[i]!)] = go(v.values[i]!, depth + 1);
      return out;
    }
    if (v instanceof PyTensor) return { tensor: v.shape, dtype: v.dtype };
    if (v instanceof PyGlobal) return { global: v.qualified };
    if (v instanceof PySet) return { object: v.frozen ? 'builtins.frozenset' : 'builtins.set' };
    if (v instanceof PyBytes) return { object: 'builtins.bytes' };
    if (v instanceof PyObject) {
      const path = pathString(v);
      if (path !== undefined) return path;
      const scalar = numpyScalar(v);
      if (scalar !== undefined) return scalar;
      if (v.cls.name.endsWith('SimpleNamespace') && v.state instanceof PyDict) return go(v.state, depth + 1);
      return { object: v.cls.qualified };
    }
    return { object: v.kind };
  };
  return go(value, 0);
}

/** str(key) for a dict key, as Python prints it. */
function pyStr(k: PyValue): string {
  if (typeof k === 'string') return k;
  if (k === null) return 'None';
  if (typeof k === 'boolean') return k ? 'True' : 'False';
  if (typeof k === 'number' || typeof k === 'bigint') return String(k);
  return kindOf(k);
}

/** pathlib paths pickle as Cls(*parts) (3.11) or Cls(str) (3.12): str(path) joins the parts. */
function pathString(v: PyObject): string | undefined {
  if (v.cls.module !== 'pathlib' || !/^(Pure)?(Posix|Windows)?Path$/.test(v.cls.name)) return undefined;
  const parts = v.args.filter((x): x is string => typeof x === 'string');
  if (parts.length !== v.args.length) return undefined;
  const sep = v.cls.name.includes('Windows') ? '\\' : '/';
  let out = '';
  for (const part of parts) out = out === '' || out.endsWith(sep) ? out + part : out + sep + part;
  return out === '' ? '.' : out;
}

/** numpy.core.multiarray.scalar(dtype, bytes): numbers (np.float64 in train metrics) as numbers. */
function numpyScalar(v: PyObject): number | boolean | undefined {
  if (!/^numpy\.(_)?core\.multiarray$/.test(v.cls.module) || v.cls.name !== 'scalar') return undefined;
  const [dtype, raw] = v.args;
  if (!(dtype instanceof PyObject) || !(raw instanceof PyBytes) || typeof dtype.args[0] !== 'string') return undefined;
  const code = dtype.args[0];
  const state = dtype.state instanceof PyTuple ? dtype.state.items : [];
  const little = state[1] !== '>';
  const b = raw.data;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const size = Number(code.slice(1));
  if (b.length !== size) return undefined;
  switch (code) {
    case 'f8':
      return dv.getFloat64(0, little);
    case 'f4':
      return dv.getFloat32(0, little);
    case 'i8': {
      const x = dv.getBigInt64(0, little);
      return Number.isSafeInteger(Number(x)) ? Number(x) : undefined;
    }
    case 'i4':
      return dv.getInt32(0, little);
    case 'i2':
      return dv.getInt16(0, little);
    case 'i1':
      return dv.getInt8(0);
    case 'u1':
      return dv.getUint8(0);
    case 'b1':
      return b[0] !== 0;
    default:
      return undefined;
  }
}
