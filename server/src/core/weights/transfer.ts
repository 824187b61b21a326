/**
 * The transfer plan: which tensors of a pretrained checkpoint load into a model, decided as the framework's own
 * loader decides (`intersect_dicts`: same key, same shape; YOLOv5's `anchor` exclusion when a cfg is given;
 * ultralytics 8.4's partial first conv), with the framework's own `N/M` line. For an edit that shifted the layer
 * indices, also the layer mapping that would recover the most tensors and what it would transfer.
 */
import type { ModelStateEntry } from '../nn/stateDict.ts';
import type { LoaderRules } from '../framework/types.ts';

/** What happens to one tensor of the new model. */
export type TransferStatus = 'loaded' | 'partial' | 'shape-mismatch' | 'new' | 'excluded';

export interface TransferItem {
  readonly key: string;
  readonly shape: readonly number[];
  readonly layer: number;
  readonly status: TransferStatus;
  /** the checkpoint's shape, when it has the key */
  readonly checkpointShape?: readonly number[];
  /** the slice a partial load copies (`[:out, :in]`) */
  readonly copied?: readonly number[];
}

export interface UnusedTensor {
  readonly key: string;
  readonly shape: readonly number[];
  readonly reason: 'not-in-model' | 'shape-mismatch' | 'excluded';
}

/** A checkpoint tensor as the planner needs it: its key and shape. */
export interface CheckpointTensor {
  readonly key: string;
  readonly shape: readonly number[];
}

/** Old layer → new layer, as a remapped checkpoint would move them. */
export interface LayerMove {
  readonly from: number;
  readonly to: number;
  /** tensors of the layer that load once moved */
  readonly tensors: number;
}

export interface Remap {
  /** the moves, in layer order; layers that stay put are not listed */
  readonly moves: readonly LayerMove[];
  /** what the framework would transfer from the remapped checkpoint */
  readonly transferred: number;
}

export interface TransferPlan {
  readonly transferred: number;
  /** the framework's denominator: `len(model.state_dict())` */
  readonly total: number;
  /** the framework's log line */
  readonly log: string;
  readonly items: readonly TransferItem[];
  readonly unused: readonly UnusedTensor[];
  /** the first layer (in order) where a tensor does not load, null when everything loads */
  readonly firstMiss: number | null;
  /** a better layer mapping, when one would transfer more */
  readonly remap: Remap | null;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** The loader's decision for every tensor of the model. */
function decide(model: readonly ModelStateEntry[], ckpt: ReadonlyMap<string, CheckpointTensor>, rules: LoaderRules): TransferItem[] {
  const items = model.map((e): TransferItem => {
    const base = { key: e.key, shape: e.shape, layer: e.layer };
    const c = ckpt.get(e.key);
    if (!c) return { ...base, status: 'new' };
    if (rules.exclude.some((x) => e.key.includes(x))) return { ...base, status: 'excluded' };
    if (sameShape(c.shape, e.shape)) return { ...base, status: 'loaded' };
    return { ...base, status: 'shape-mismatch', checkpointShape: c.shape };
  });
  if (rules.partialFirstConv) {
    // 8.4 BaseModel.load: a first conv that did not load copies the [:out, :in] slice when the kernels match
    const at = items.findIndex((i) => i.key === FIRST_CONV);
    const item = items[at];
    const c = item?.checkpointShape;
    if (
      item &&
      c &&
      item.status === 'shape-mismatch' &&
      c.length === 4 &&
      item.shape.length === 4 &&
      sameShape(c.slice(2), item.shape.slice(2))
    )
      items[at] = { ...item, status: 'partial', copied: [Math.min(c[0]!, item.shape[0]!), Math.min(c[1]!, item.shape[1]!)] };
  }
  return items;
}

const FIRST_CONV = 'model.0.conv.weight';

function unusedOf(items: readonly TransferItem[], ckpt: readonly CheckpointTensor[]): UnusedTensor[] {
  const byKey = new Map(items.map((i) => [i.key, i]));
  const out: UnusedTensor[] = [];
  for (const c of ckpt) {
    const i = byKey.get(c.key);
    if (!i) out.push({ key: c.key, shape: c.shape, reason: 'not-in-model' });
    else if (i.status === 'excluded') out.push({ key: c.key, shape: c.shape, reason: 'excluded' });
    else if (i.status === 'shape-mismatch') out.push({ key: c.key, shape: c.shape, reason: 'shape-mismatch' });
  }
  return out;
}

const transferredOf = (items: readonly TransferItem[]) => items.filter((i) => i.status === 'loaded' || i.status === 'partial').length;

/** Plans the transfer of `checkpoint` into `model` with the framework's loader rules. */
export function planTransfer(
  model: readonly ModelStateEntry[],
  checkpoint: readonly CheckpointTensor[],
  rules: LoaderRules,
  weightsName: string,
): TransferPlan {
  const ckpt = new Map(checkpoint.map((c) => [c.key, c]));
  const items = decide(model, ckpt, rules);
  const transferred = transferredOf(items);
  const miss = items.find((i) => i.status !== 'loaded' && i.status !== 'excluded');
  const remap = bestRemap(model, checkpoint, rules, transferred);
  return {
    transferred,
    total: model.length,
    log: rules.logLine(transferred, model.length, weightsName),
    items,
    unused: unusedOf(items, checkpoint),
    firstMiss: miss ? miss.layer : null,
    remap,
  };
}

const LAYER_KEY = /^model\.(\d+)\.(.*)$/;

/** `model.<i>.<rest>` → [i, rest]; null for keys outside the layers. */
function splitKey(key: string): [number, string] | null {
  const m = LAYER_KEY.exec(key);
  return m ? [Number(m[1]), m[2]!] : null;
}

/** Per layer: its tensors' relative keys and shapes. */
function byLayer(entries: readonly { key: string; shape: readonly number[] }[]): Map<number, Map<string, readonly number[]>> {
  const out = new Map<number, Map<string, readonly number[]>>();
  for (const e of entries) {
    const s = splitKey(e.key);
    if (!s) continue;
    let m = out.get(s[0]);
    if (!m) out.set(s[0], (m = new Map()));
    m.set(s[1], e.shape);
  }
  return out;
}

/**
 * The order-preserving mapping of old layers onto new ones that loads the most tensors (an alignment, as between
 * two sequences: an inserted layer is a gap on one side, a deleted one on the other), scored by the tensors that
 * would load under the loader's rules. Null when it would not transfer more than the plain load.
 */
function bestRemap(
  model: readonly ModelStateEntry[],
  checkpoint: readonly CheckpointTensor[],
  rules: LoaderRules,
  plain: number,
): Remap | null {
  const oldLayers = byLayer(checkpoint);
  const newLayers = byLayer(model);
  const olds = [...oldLayers.keys()].sort((a, b) => a - b);
  const news = [...newLayers.keys()].sort((a, b) => a - b);
  if (!olds.length || !news.length || olds.length * news.length > 4_000_000) return null;
  const excluded = (rest: string) => rules.exclude.some((x) => `model.0.${rest}`.includes(x));
  const score = (o: number, n: number): number => {
    const a = oldLayers.get(o)!;
    let k = 0;
    for (const [rest, shape] of newLayers.get(n)!) {
      const c = a.get(rest);
      if (c && sameShape(c, shape) && !excluded(rest)) k++;
    }
    return k;
  };
  // dp[i][j]: the best score aligning olds[..i) with news[..j)
  const rows = olds.length + 1;
  const cols = news.length + 1;
  const dp = new Float64Array(rows * cols);
  const s = new Float64Array(olds.length * news.length);
  for (let i = 1; i < rows; i++)
    for (let j = 1; j < cols; j++) {
      const m = (s[(i - 1) * news.length + (j - 1)] = score(olds[i - 1]!, news[j - 1]!));
      dp[i * cols + j] = Math.max(dp[(i - 1) * cols + j]!, dp[i * cols + j - 1]!, dp[(i - 1) * cols + j - 1]! + m);
    }
  const moves: LayerMove[] = [];
  for (let i = olds.length, j = news.length; i > 0 && j > 0;) {
    const m = s[(i - 1) * news.length + (j - 1)]!;
    if (m > 0 && dp[i * cols + j] === dp[(i - 1) * cols + j - 1]! + m) {
      moves.push({ from: olds[i - 1]!, to: news[j - 1]!, tensors: m });
      i--;
      j--;
    } else if (dp[i * cols + j] === dp[(i - 1) * cols + j]) i--;
    else j--;
  }
  moves.reverse();
  const renamed = remapCheckpoint(checkpoint, moves);
  const transferred = transferredOf(decide(model, new Map(renamed.map((c) => [c.key, c])), rules));
  if (transferred <= plain) return null;
  return { moves: moves.filter((m) => m.from !== m.to), transferred };
}

/**
 * The checkpoint's tensors under their new keys: a moved layer's tensors go to `model.<to>.`, every other layer's
 * are dropped where a moved one now sits (what `--remap` writes).
 */
export function remapCheckpoint<T extends CheckpointTensor>(checkpoint: readonly T[], moves: readonly LayerMove[]): T[] {
  const to = new Map(moves.map((m) => [m.from, m.to]));
  const taken = new Set(moves.map((m) => m.to));
  const out: T[] = [];
  for (const c of checkpoint) {
    const s = splitKey(c.key);
    if (!s) {
      out.push(c);
      continue;
    }
    const target = to.get(s[0]);
    if (target !== undefined) out.push({ ...c, key: `model.${target}.${s[1]}` });
    else if (!taken.has(s[0])) out.push(c);
  }
  return out;
}
