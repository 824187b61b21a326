/**
 * The summary line each framework prints when it builds a model, reproduced from the module trees:
 * the layer count is a count of modules (which modules, depends on the framework), the rest totals.
 */
import type { Framework } from './framework/types.ts';
import { forEachModule, type Mod } from './nn/module.ts';
import { formatFixed, withCommas } from '../../../common/src/format.ts';

/** The "layers" figure of the summary line. */
interface Counts {
  all: number;
  leaves: number;
  tensors: number;
  shared: Mod[];
}

/** Counts of one layer's own modules (shared instances listed apart), cached: a built layer never changes. */
const layerCounts = new WeakMap<Mod, Counts>();

function countsOf(layer: Mod): Counts {
  let c = layerCounts.get(layer);
  if (c) return c;
  c = { all: 0, leaves: 0, tensors: 0, shared: [] };
  const acc = c;
  forEachModule(layer, (x, isLeaf) => {
    if (x.shared) {
      acc.shared.push(x);
      return;
    }
    acc.all++;
    // nn.MultiheadAttention registers its out_proj (a NonDynamicallyQuantizableLinear) as a submodule
    if (x.leaf?.op === 'mha') acc.all++;
    if (isLeaf) acc.leaves++;
    acc.tensors += paramTensors(x);
  });
  layerCounts.set(layer, c);
  return c;
}

export function summaryLayerCount(framework: Framework, layers: readonly Mod[]): number {
  const sharedSeen = new Set<Mod>();
  let all = 0;
  let leaves = 0;
  let tensors = 0;
  for (const m of layers) {
    const c = countsOf(m);
    all += c.all;
    leaves += c.leaves;
    tensors += c.tensors;
    for (const x of c.shared) {
      if (sharedSeen.has(x)) continue;
      sharedSeen.add(x);
      all++;
      if (x.children.length === 0) leaves++;
      tensors += paramTensors(x);
    }
  }
  switch (framework.summary.layers) {
    case 'modules':
      // len(list(model.modules())): the model itself and its nn.Sequential, then every distinct module
      return all + 2;
    case 'leaves':
      return leaves;
    case 'tensors':
      return tensors;
  }
}

/**
 * ultralytics BaseModel.is_fused(): fewer than 10 modules that are instances of a torch.nn class with "Norm" in its
 * name (BatchNorm2d, LayerNorm, GroupNorm...). The summary line says "(fused)" when it holds, whether or not fuse()
 * ran: RT-DETR keeps its LayerNorms and input-projection BatchNorms, so its fused summary has no "(fused)".
 */
export function looksFused(layers: readonly Mod[]): boolean {
  let norms = 0;
  const seen = new Set<Mod>();
  for (const m of layers)
    forEachModule(
      m,
      (x) => {
        const op = x.leaf?.op;
        if (op === 'batchNorm2d' || op === 'layerNorm' || op === 'groupNorm') norms++;
      },
      seen,
    );
  return norms < 10;
}

/** number of parameter tensors a module registers directly */
function paramTensors(m: Mod): number {
  const l = m.leaf;
  if (!l) return (m.attrs?.paramTensors as number | undefined) ?? (m.params ? Object.keys(m.params).length : m.ownParams > 0 ? 1 : 0);
  switch (l.op) {
    case 'conv2d':
    case 'convTranspose2d':
    case 'linear':
      return l.bias ? 2 : 1;
    case 'batchNorm2d':
    case 'layerNorm':
    case 'groupNorm':
      return l.affine ? 2 : 0;
    case 'embedding':
      return 1;
    case 'mha':
      return l.bias ? 4 : 2;
    case 'act':
      return l.fn === 'PReLU' ? 1 : 0;
    default:
      return 0;
  }
}

/** Python's `%g` */
export function formatG(x: number): string {
  if (x === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 6) {
    const [mant, e] = x.toExponential(5).split('e') as [string, string];
    const m = mant.replace(/\.?0+$/, '');
    const en = Number(e);
    return `${m}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
  }
  return String(Number(x.toPrecision(6)));
}

export interface SummaryFigures {
  readonly stem: string;
  readonly scale: string | null;
  readonly layers: number;
  readonly params: number;
  readonly gradients: number;
  readonly gflops: number | null;
  readonly fused: boolean;
}

export function summaryLine(framework: Framework, f: SummaryFigures): string {
  const rules = framework.summary;
  switch (rules.format) {
    case 'ultralytics': {
      // Path(yaml_file).stem.replace("yolo", "YOLO"); ultralytics loads `yolov8n.yaml`-style names for a scale
      let stem = f.stem;
      if (rules.scaleInName && f.scale && stem && !new RegExp(`yolo[v]?\\d+${f.scale}`).test(stem))
        stem = stem.replace(/^(yolo[v]?\d+)/, `$1${f.scale}`);
      const name = stem.replace(/yolo/g, 'YOLO') || 'Model';
      const fs = f.gflops ? `, ${formatFixed(f.gflops, 1)} GFLOPs` : '';
      const fused = f.fused && rules.fusedMark ? ' (fused)' : '';
      return (
        `${name} summary${fused}: ${withCommas(f.layers)} layers, ${withCommas(f.params)} parameters, ${withCommas(f.gradients)} ` +
        `gradients${fs}`
      );
    }
    case 'yolov5-fork': {
      const fs = f.gflops !== null ? `, ${formatFixed(f.gflops, 1)} GFLOPs` : '';
      return `Model Summary: ${f.layers} layers, ${f.params} parameters, ${f.gradients} gradients${fs}`;
    }
    case 'scaled-yolov4': {
      const fs = f.gflops !== null ? `, ${formatFixed(f.gflops, 1)} GFLOPS` : '';
      return `Model Summary: ${formatG(f.layers)} layers, ${formatG(f.params)} parameters, ${formatG(f.gradients)} gradients${fs}`;
    }
  }
}
