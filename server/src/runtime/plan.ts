/**
 * What the profile runs, decided before any tensor exists: the deployed module tree of every layer, how layer
 * outputs flow (and when each can be freed), the static shapes at the profile's batch size, and the memory
 * estimate that refuses a model which would not fit.
 */
import type { Model, ResolvedLayer } from '../core/model.ts';
import { driveLayers, type WiredLayer } from '../core/nn/driver.ts';
import { forEachModule, ShapeError, type Mod, type Out, type Shape } from '../core/nn/module.ts';
import { ShapeFlow, flattenOut, isShape, shapeNumel } from '../core/nn/static.ts';
import type { ForwardCtx, In, LeafOp } from '../core/nn/module.ts';

/** A layer as the profile runs it: wired for the layer driver (its `from` inputs, its guide role), with its tree. */
export interface LayerPlan extends WiredLayer {
  readonly index: number;
  readonly module: string;
  readonly mod: Mod;
  /** last layer that reads this layer's output (Infinity for the model's output) */
  readonly lastUse: number;
  /** static output shapes at the profile's batch size, depth-first (what the runtime must reproduce) */
  readonly staticShapes: readonly Shape[];
  /**
   * what the layer's forward gets besides its inputs and the model's extra input: the model's Detect-family head (its
   * last layer) decodes with the strides the built model holds (`Model.strides`, from the 256 probe), as `ctx.strides`
   */
  readonly ctx: { readonly strides?: readonly number[] };
  /** module path of every module of this layer's tree (first path wins for a module used twice) */
  readonly paths: ReadonlyMap<Mod, string>;
}

export interface MemoryEstimate {
  readonly weightsBytes: number;
  /** peak of live activations: outputs still to be read plus the working set of the running layer */
  readonly activationsBytes: number;
  readonly totalBytes: number;
  /** layer where the activation peak happens */
  readonly peakLayer: number;
}

export interface NetworkPlan {
  readonly layers: readonly LayerPlan[];
  readonly inputShape: Shape;
  /** the model class's extra input (WorldModel text features, YOLOE prompts) at this batch size, when a layer reads it */
  readonly guideShape: Shape | null;
  readonly fused: boolean;
  /** why the BatchNorm-folded form does not exist (upstream's fuse() raises for a few models) */
  readonly fusedError: string | null;
  readonly params: number;
  readonly estimate: MemoryEstimate;
}

const BYTES = 4; // float32

export function modulePaths(root: Mod): Map<Mod, string> {
  const paths = new Map<Mod, string>();
  const walk = (m: Mod, path: string) => {
    if (paths.has(m)) return;
    paths.set(m, path);
    for (const [name, c] of m.children) walk(c, path ? `${path}.${name}` : name);
  };
  walk(root, '');
  return paths;
}

/** parameters of a tree, each module object once (what the weights cost in memory) */
function treeParams(m: Mod): number {
  let n = 0;
  forEachModule(m, (x) => (n += x.shared ? 0 : x.ownParams));
  return n;
}

/**
 * Plans a profile of a resolved model at `batch`. Throws a `ShapeError` with a user-facing message when the model
 * cannot be profiled (it does not resolve, or a layer has no module tree).
 */
export function planNetwork(model: Model, batch: number): NetworkPlan {
  const failed = model.diagnostics.find((d) => d.severity === 'error');
  if (failed) throw new ShapeError(`the model does not resolve: ${failed.message}`);
  if (!model.layers.length) throw new ShapeError('the model has no layers');
  // the fused trees are built with the totals, on first use
  void model.totals;
  const fused = model.layers.every((l) => l.modFused);
  const modOf = (l: ResolvedLayer): Mod => {
    const m = fused ? l.modFused : l.mod;
    if (!m || !l.fromIndices) throw new ShapeError(`layer ${l.index} (${l.moduleName ?? '?'}) did not resolve`);
    return m;
  };
  const inputShape: Shape = [batch, model.ch, model.imgsz, model.imgsz];
  // the model class's extra input (text features, prompts) as the resolver wired it, at this batch size
  const guideShape: Shape | null = model.guideShape ? [batch, ...model.guideShape.slice(1)] : null;
  const n = model.layers.length;
  const lastUse = new Array<number>(n).fill(-1);
  model.layers.forEach((l, k) => l.fromIndices?.forEach((j) => j >= 0 && (lastUse[j] = Math.max(lastUse[j]!, k))));
  lastUse[n - 1] = Infinity;
  // upstream's model build gives its last layer, a Detect-family head, the probe's strides; a head elsewhere has none
  const last = model.layers[n - 1]!;
  const headCtx = last.entry?.def.detectFamily && model.strides ? { strides: model.strides } : {};

  // the static pass at this batch size, through the layer driver, with a trace per layer for the working-set estimate
  const mods = model.layers.map(modOf);
  const staticShapes: Shape[][] = new Array(n);
  const outBytes = new Array<number>(n).fill(0);
  const workBytes = new Array<number>(n).fill(0);
  driveLayers<Shape>(
    model.layers.map((l) => ({ fromIndices: l.fromIndices!, fromIsList: l.fromIsList, guideRole: l.guideRole })),
    inputShape,
    guideShape,
    {
      run(k, x, ctx) {
        const fl = new MemFlow();
        let out: Out<Shape>;
        try {
          out = fl.callMulti(mods[k]!, x, ctx);
        } catch (e) {
          throw new ShapeError(`layer ${k} (${model.layers[k]!.moduleName}): ${e instanceof Error ? e.message : String(e)}`);
        }
        const shapes = flattenOut(out);
        staticShapes[k] = shapes;
        outBytes[k] = shapes.reduce((a, s) => a + shapeNumel(s), 0) * BYTES;
        // what the layer allocates at its worst moment, its output included (its inputs are counted as live outputs)
        workBytes[k] = Math.max(fl.peak, outBytes[k]!) * BYTES;
        return out;
      },
      asOne: (out) => (isShape(out) ? out : null),
      flatten: flattenOut,
    },
    (k) => (k === n - 1 ? headCtx : {}),
  );
  const layers: LayerPlan[] = model.layers.map((l, k) => ({
    index: k,
    module: l.moduleName ?? '?',
    mod: mods[k]!,
    fromIndices: l.fromIndices!,
    fromIsList: l.fromIsList,
    guideRole: l.guideRole,
    ctx: k === n - 1 ? headCtx : {},
    lastUse: lastUse[k]!,
    staticShapes: staticShapes[k]!,
    paths: modulePaths(mods[k]!),
  }));

  // live outputs of earlier layers while layer k runs (outputs read by k or later)
  let peak = 0;
  let peakLayer = 0;
  for (let k = 0; k < n; k++) {
    let live = 0;
    for (let j = 0; j < k; j++) if (lastUse[j]! >= k) live += outBytes[j]!;
    const total = live + workBytes[k]!;
    if (total > peak) {
      peak = total;
      peakLayer = k;
    }
  }
  const params = layers.reduce((a, l) => a + treeParams(l.mod), 0);
  const inputBytes = shapeNumel(inputShape) * BYTES;
  const weightsBytes = params * BYTES;
  // 25% and 2 MB for what the count does not see: scalars, index and grid constants, NCHW copies a consuming conv
  // makes of a viewed map, reshaped slices (the corpus test checks that the estimate bounds every measured peak)
  const activationsBytes = 1.25 * peak + 2 * MB + inputBytes + (guideShape ? shapeNumel(guideShape) * BYTES : 0);
  return {
    layers,
    inputShape,
    guideShape,
    fused,
    fusedError: fused ? null : (model.totals?.fusedError ?? 'the fused build failed'),
    params,
    estimate: { weightsBytes, activationsBytes, totalBytes: weightsBytes + activationsBytes, peakLayer },
  };
}

export const MB = 1024 * 1024;

/** Functional ops of `Flow`: each result is counted as a new tensor (views too: a conservative estimate). */
const FLOW_OPS = [
  'cat',
  'add',
  'sub',
  'mul',
  'div',
  'scale',
  'chunk',
  'split',
  'view',
  'permute',
  'transpose',
  'flatten',
  'unsqueeze',
  'sigmoid',
  'softmax',
  'relu',
  'matmul',
  'maxDim',
  'mean',
  'expand',
  'constant',
  'interpolate',
  'pad',
  'maxPool',
  'avgPool',
  'einsum',
  'slice',
  'param',
  'exp',
  'log',
  'sqrt',
  'sin',
  'cos',
  'clamp',
  'sum',
  'topk',
  'gather',
  'floorDiv',
  'remainder',
  'toFloat',
  'gridSample',
] as const;

/**
 * Temporaries of the tfjs implementation of a functional op, in input- and output-sized tensors: an NHWC feature
 * map is copied to NCHW before a view/permute/flatten, grid_sample holds four weighted corners, gather its index.
 */
const TRANSIENT: Partial<Record<(typeof FLOW_OPS)[number], { in: number; out: number }>> = {
  view: { in: 1, out: 0 },
  permute: { in: 0, out: 0 },
  flatten: { in: 1, out: 0 },
  unsqueeze: { in: 1, out: 0 },
  cat: { in: 1, out: 0 },
  softmax: { in: 2, out: 0 },
  topk: { in: 2, out: 0 },
  gather: { in: 0, out: 4 },
  gridSample: { in: 1, out: 10 },
  einsum: { in: 2, out: 2 },
  matmul: { in: 1, out: 0 },
  interpolate: { in: 1, out: 2 },
  expand: { in: 1, out: 0 },
  add: { in: 1, out: 0 },
  mul: { in: 1, out: 0 },
};

/** How many output-sized tensors a leaf allocates in the tfjs runtime (SiLU: sigmoid and product; Mish: three...). */
function leafFactor(l: LeafOp): number {
  switch (l.op) {
    case 'identity':
    case 'dropout':
      return 1;
    case 'conv2d':
    case 'upsample':
      return 2; // the output and, after an NCHW-producing op (a view, a shuffle), the NHWC copy of the input
    case 'act':
      // the kernels each activation runs in tfflow.ts (Mish: σ, 2−σ, u, 2−u, u/(2−u), x·…)
      return { Mish: 6, GELU: 6, Hardswish: 4, Hardsigmoid: 3, SiLU: 2, PReLU: 2 }[l.fn as string] ?? 1;
    case 'mha':
      return 12;
    case 'layerNorm':
    case 'groupNorm':
      return 6;
    default:
      return 3;
  }
}

/**
 * The static interpreter, counting the float32 elements the tfjs runtime keeps alive: every module runs in its own
 * scope (a tfjs tidy) that frees what it created, except its result, when it returns. `peak` is the most elements
 * alive at once inside the call, relative to its start.
 */
class MemFlow extends ShapeFlow {
  private live = 0;
  peak = 0;

  constructor() {
    super();
    const self = this as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const name of FLOW_OPS) {
      const f = self[name]!.bind(this);
      const t = TRANSIENT[name];
      self[name] = (...a: unknown[]) => {
        const r = f(...a);
        const outN = (isShape(r) ? [r] : (r as Shape[])).reduce((acc, s) => acc + shapeNumel(s), 0);
        // what the op holds while it runs (layout copies, index tensors), freed when it returns
        const inN = t?.in
          ? a
              .flatMap((v) => (isShape(v) ? [v] : Array.isArray(v) && v.every(isShape) ? (v as Shape[]) : []))
              .reduce((acc, s) => acc + shapeNumel(s), 0)
          : 0;
        const transient = t ? t.in * inN + t.out * outN : 0;
        this.alloc(outN + transient);
        this.live -= transient;
        return r;
      };
    }
  }

  private alloc(n: number): void {
    this.live += n;
    this.peak = Math.max(this.peak, this.live);
  }

  override callMulti(m: Mod, x: In<Shape>, ctx: ForwardCtx<Shape> = {}): Out<Shape> {
    const start = this.live;
    const out = super.callMulti(m, x, ctx);
    const outN = flattenOut(out).reduce((a, s) => a + shapeNumel(s), 0);
    if (m.leaf) this.alloc(leafFactor(m.leaf) * outN);
    // the scope closes: only the result stays
    this.live = start + outN;
    return out;
  }
}
