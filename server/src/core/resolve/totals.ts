/**
 * Phase 5, the totals: parameters and FLOPs summed, the fused build (`model.fuse()`), the GFLOPs figure the
 * framework prints (its own pass, see `GflopsRule`) and its summary lines. Computed on first use: diagnostics,
 * completion and hover never need them.
 */
import { forEachModule, type Mod, type Shape } from '../nn/module.ts';
import type { PyCall } from '../py.ts';
import type { Framework, GflopsRule } from '../framework/types.ts';
import type { Flops, GflopsFigure, ModelTotals, ResolvedLayer } from '../model.ts';
import { looksFused, summaryLayerCount, summaryLine } from '../summary-line.ts';
import { buildEnv, buildLayer, type BuildResult } from './build.ts';
import type { PassInputs } from './probe.ts';
import { runPass, type Ops } from './run.ts';

export interface TotalsInput {
  readonly framework: Framework;
  readonly pass: PassInputs;
  /** the resolved layers: their fused fields are filled in here */
  readonly layers: ResolvedLayer[];
  readonly defaultAct: PyCall | null;
  readonly maxStride: number;
  readonly scale: string | null;
  readonly fileName: string | undefined;
  readonly skipFused: boolean;
}

const NONE: GflopsFigure = { printed: null, exact: null };
const figure = (g: number | null): GflopsFigure => ({ printed: g === null ? null : Math.round(g * 10) / 10, exact: g });
const sumOps = (ops: readonly (Ops | undefined)[]): Ops => {
  const t = { thop: 0, ultralyticsThop: 0 };
  for (const o of ops) {
    if (!o) continue;
    t.thop += o.thop;
    t.ultralyticsThop += o.ultralyticsThop;
  }
  return t;
};
const allBuilt = (bs: readonly (BuildResult | null)[] | null): bs is BuildResult[] => !!bs && bs.every((b) => b && b.mod);

/**
 * Parameters a per-layer sum counts more than once: a shared module with parameters (`Conv.default_act` =
 * nn.PReLU()) is in every layer's count but in the model's once (`model.parameters()` deduplicates).
 */
function sharedOvercount(mods: readonly (Mod | null)[]): number {
  const layersHolding = new Map<Mod, number>();
  for (const root of mods) {
    if (!root) continue;
    const inThisLayer = new Set<Mod>();
    forEachModule(root, (m) => {
      if (m.shared && m.ownParams > 0) inThisLayer.add(m);
    });
    for (const m of inThisLayer) layersHolding.set(m, (layersHolding.get(m) ?? 0) + 1);
  }
  let over = 0;
  for (const [m, k] of layersHolding) over += (k - 1) * m.ownParams;
  return over;
}

export function computeTotals(x: TotalsInput): ModelTotals {
  const { layers } = x;
  const over = sharedOvercount(layers.map((l) => l.mod));
  const params = layers.reduce((a, l) => a + (l.params ?? 0), 0) - over;
  const gradients = layers.reduce((a, l) => a + (l.gradients ?? 0), 0) - over;
  const flops: Flops = {
    thop: layers.reduce((a, l) => a + (l.flops?.thop ?? 0), 0),
    ultralyticsThop: layers.reduce((a, l) => a + (l.flops?.ultralyticsThop ?? 0), 0),
  };
  const fused = x.skipFused ? null : fusedBuild(x);
  const gflopsOf = (bs: readonly (BuildResult | null)[] | null, envKey: string): [GflopsFigure, GflopsFigure] => {
    if (!allBuilt(bs)) return [NONE, NONE];
    const g = printedGflops(x, bs, envKey);
    return [figure(g?.thop ?? null), figure(g?.ultralyticsThop ?? null)];
  };
  const [gflops, gflopsU] = gflopsOf(x.pass.built, x.pass.envKey);
  const [gflopsF, gflopsFU] = fused ? gflopsOf(fused.built, fused.envKey) : [NONE, NONE];
  const stem = (x.fileName?.split(/[\\/]/).pop() ?? '').replace(/\.[^.]*$/, '');
  const mods = x.pass.built.map((b) => b!.mod!);
  const summaryLayers = summaryLayerCount(x.framework, mods);
  const summary = summaryLine(x.framework, {
    stem,
    scale: x.scale,
    layers: summaryLayers,
    params,
    gradients,
    gflops: gflops.exact,
    fused: looksFused(mods),
  });
  let summaryFused: string | null = null;
  if (fused && fused.params !== null && allBuilt(fused.built)) {
    const fusedMods = fused.built.map((b) => b.mod!);
    summaryFused = summaryLine(x.framework, {
      stem,
      scale: x.scale,
      layers: summaryLayerCount(x.framework, fusedMods),
      params: fused.params,
      // 8.4's fuse() freezes what it folds: gradients are what no fuse touched; 8.3's keeps the built ones
      gradients: x.framework.fuseFreezes
        ? fused.built.reduce((a, b) => a + (b!.params - b!.frozen), 0) - (fused.built.reduce((a, b) => a + b!.params, 0) - fused.params)
        : fused.params - (gradients === params ? 0 : params - gradients),
      gflops: gflopsF.exact,
      fused: looksFused(fusedMods),
    });
  }
  return {
    params,
    gradients,
    paramsFused: fused?.params ?? null,
    fusedError: fused?.error ?? null,
    flops,
    flopsFused: fused?.flops ?? null,
    gflops,
    gflopsUltralyticsThop: gflopsU,
    gflopsFused: gflopsF,
    gflopsFusedUltralyticsThop: gflopsFU,
    summary,
    summaryFused,
    summaryLayers,
  };
}

/** What the framework's model.fuse() leaves; null params where fuse() raises (Scaled-YOLOv4 on grouped convs). */
function fusedBuild(x: TotalsInput): {
  built: (BuildResult | null)[];
  envKey: string;
  params: number | null;
  flops: Flops | null;
  error: string | null;
} {
  const env = buildEnv(x.framework, x.defaultAct, true);
  const { layers: parsed } = x.pass;
  const built = parsed.map((p) => (p.parsed && p.entry && p.args ? buildLayer(env, p) : null));
  const layers = x.layers as { modFused: Mod | null; paramsFused: number | null; flopsFused: Flops | null }[];
  layers.forEach((l, k) => (l.modFused = built[k]?.mod ?? null));
  const error = built.find((b) => b?.error)?.error?.message ?? null;
  if (!allBuilt(built)) return { built, envKey: env.key, params: null, flops: null, error };
  const params = built.reduce((a, b) => a + b.params, 0) - sharedOvercount(built.map((b) => b.mod));
  const input: Shape = [1, x.pass.ch, x.pass.imgsz, x.pass.imgsz];
  const fp = runPass(parsed, x.pass.wired, built, env.key, input, x.pass.textFeatures, true);
  if (fp.errors.length) return { built, envKey: env.key, params, flops: null, error };
  layers.forEach((l, k) => {
    l.paramsFused = built[k]!.params;
    const o = fp.ops[k];
    l.flopsFused = o ? { thop: 2 * o.thop, ultralyticsThop: 2 * o.ultralyticsThop } : null;
  });
  const t = sumOps(fp.ops);
  return { built, envKey: env.key, params, flops: { thop: 2 * t.thop, ultralyticsThop: 2 * t.ultralyticsThop }, error };
}

/** The GFLOPs figure the framework prints, in both conventions, by its `GflopsRule`; null where it prints none. */
function printedGflops(x: TotalsInput, bs: readonly BuildResult[], envKey: string): Ops | null {
  const rule: GflopsRule = x.framework.gflops;
  const run = (size: number, ch: number): Ops | null => {
    const r = runPass(x.pass.layers, x.pass.wired, bs, envKey, [1, ch, size, size], x.pass.textFeatures, true);
    return r.errors.length ? null : sumOps(r.ops);
  };
  const each = (ops: Ops | null, f: (v: number) => number): Ops | null =>
    ops === null ? null : { thop: f(ops.thop), ultralyticsThop: f(ops.ultralyticsThop) };
  if (rule.kind === 'fixed') return each(run(rule.size, rule.channels), (v) => (v / 1e9) * 2 * rule.factor);
  const s = Math.max(Math.trunc(x.maxStride), 32);
  const ch = rule.channels === 'model' ? x.pass.ch : firstParamDim1(bs.map((b) => b.mod!));
  if (ch === null) return null;
  const ops = run(s, ch);
  // the same float operations, in the same order, as the frameworks' get_flops
  if (ops !== null) return each(ops, (v) => ((((v / 1e9) * 2 * 640) / s) * 640) / s);
  return rule.retryAt640 ? each(run(640, ch), (v) => (v / 1e9) * 2) : null;
}

/** `p.shape[1]` of the model's first parameter (ultralytics get_flops); null when it has no dim 1. */
function firstParamDim1(mods: readonly Mod[]): number | null {
  return firstParamOf(mods)?.dim1 ?? null;
}

/** The layer holding the model's first parameter and that parameter's `shape[1]` (null without a dim 1). */
export function firstParamOf(mods: readonly (Mod | null)[]): { layer: number; dim1: number | null } | null {
  for (let k = 0; k < mods.length; k++) {
    const d = mods[k] ? firstParam(mods[k]!) : undefined;
    if (d !== undefined) return { layer: k, dim1: d };
  }
  return null;
}

function firstParam(m: Mod): number | null | undefined {
  if (m.leaf) {
    const l = m.leaf;
    switch (l.op) {
      case 'conv2d':
        return Math.trunc(l.cin / l.g);
      case 'convTranspose2d':
        return Math.trunc(l.cout / l.g);
      case 'linear':
        return l.cin;
      case 'embedding':
        return l.dim;
      case 'mha':
        return l.embed;
      case 'batchNorm2d':
      case 'layerNorm':
      case 'groupNorm':
        return l.affine ? null : undefined;
      case 'act':
        return l.fn === 'PReLU' ? null : undefined;
      default:
        return undefined;
    }
  }
  if (m.ownParams > 0) return (m.attrs?.firstParamDim1 as number | null | undefined) ?? null;
  for (const [, c] of m.children) {
    const d = firstParam(c);
    if (d !== undefined) return d;
  }
  return undefined;
}
