/**
 * Phase 3a, the build: each parsed layer's module tree from its definition, as `m(*args)` (or an nn.Sequential of
 * n copies) would build it, with its parameter count. Builds are cached across resolves; a model that would build
 * more modules than anything real stops here with a diagnostic.
 */
import { diag } from '../diagnostics.ts';
import { type Args, bindArgs } from '../catalog/types.ts';
import { Builder } from '../nn/builder.ts';
import { countParams, type ActFn, type Mod, ShapeError } from '../nn/module.ts';
import type { PyCall, PyVal } from '../py.ts';
import { buildCall } from '../catalog/activation.ts';
import type { Framework } from '../framework/types.ts';
import { forgetStack, resolverCache } from './cache.ts';
import { MAX_MODULES } from './options.ts';
import { rangeOrModule, type ParsedLayer } from './plan.ts';
import type { Sink } from './sink.ts';

export interface BuildResult {
  readonly mod: Mod | null;
  readonly params: number;
  readonly frozen: number;
  /** modules in the built tree (each counted once) */
  readonly modules: number;
  readonly error: ShapeError | null;
  /** constructor parameters the module never reads (VoVGSCSP's n): what the YAML writes there changes nothing */
  readonly unread?: readonly string[];
}

/** A builder for one framework, activation and form (fused or not), with the cache key those make. */
export interface BuildEnvKey {
  readonly builder: Builder;
  readonly key: string;
}

/** Measured: a built module holds ~400 bytes. */
const BYTES_PER_MODULE = 400;
// a 5,000-layer model fills ~5 entries per layer per resolve (five passes); keep a few such models warm
const buildCache = resolverCache<BuildResult>(100_000, 64 * 2 ** 20);
const sharedActs = new Map<string, Mod>();

/**
 * The builder a framework builds with: Conv's shared default activation (`Conv.default_act`, the file's
 * `activation:` when the framework honours it) where it has one.
 */
export function buildEnv(framework: Framework, act: PyCall | null, fused: boolean): BuildEnvKey {
  const actKey = act?.repr ?? framework.defaultActName;
  let shared: Mod | null = null;
  if (framework.conv === 'shared-default-act') {
    const key = `${framework.id}|${actKey}`;
    shared = sharedActs.get(key) ?? null;
    if (!shared) {
      const b0 = new Builder({ fused: false, convDefaultAct: null });
      const instance = act ? buildCall(b0, act) : b0.act(framework.defaultActName as ActFn);
      shared = { ...instance, shared: true };
      sharedActs.set(key, shared);
    }
  }
  const builder = new Builder({ fused, convDefaultAct: shared, ...(framework.fuseFreezes ? { fuseFreezes: true } : {}) });
  return { builder, key: `${framework.id}|${actKey}|${fused ? 1 : 0}` };
}

/** Build one layer (cached); a constructor error is part of the result. */
export function buildLayer(env: BuildEnvKey, p: ParsedLayer): BuildResult {
  const key = `${env.key}|${p.buildKey}`;
  const hit = buildCache.get(key);
  if (hit) return hit;
  let res: BuildResult;
  try {
    const def = p.entry!.def;
    let args: Args | null = null;
    const one = () => def.build(env.builder, (args = bindArgs(def, p.args!, {}, p.classAttrs)));
    const estimate = estimatedModules(env.builder, p);
    if (estimate > MAX_MODULES) {
      // no module tree: the budget check sees the estimate and says where the model got too big
      res = { mod: null, params: 0, frozen: 0, modules: estimate, error: null };
      buildCache.set(key, res, 100);
      return res;
    }
    const mod = p.copies > 1 ? env.builder.seq(Array.from({ length: p.copies }, one)) : one();
    const seen = new Set<Mod>();
    const { params, frozen } = countParams(mod, seen);
    const read = (args as Args | null)?.read;
    const unread = read ? def.signature.filter((q) => !read.has(q.name)).map((q) => q.name) : [];
    res = { mod, params, frozen, modules: seen.size, error: null, ...(unread.length ? { unread } : {}) };
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    res = { mod: null, params: 0, frozen: 0, modules: 0, error: forgetStack(e) };
  }
  buildCache.set(key, res, 100 + res.modules * BYTES_PER_MODULE);
  return res;
}

/**
 * Modules a layer with many copies or repeats would build, from one or two small builds: 4096 copies of a detection
 * head took seconds to build before the module budget could stop them. 0 when the layer is small (built as is).
 */
function estimatedModules(builder: Builder, p: ParsedLayer): number {
  const def = p.entry!.def;
  const size = (args: PyVal[]) => {
    const seen = new Set<Mod>();
    countParams(def.build(builder, bindArgs(def, args, {}, p.classAttrs)), seen);
    return seen.size;
  };
  // repeats inside the module (C2f's n, HGBlock's n): the growth from one repeat to two, times n
  const at = p.entry!.treat === 'repeats' ? 2 : p.entry!.treat === 'hgblock' ? 4 : -1;
  const n = at >= 0 ? p.args![at] : undefined;
  if (typeof n === 'number' && n > 64) {
    const withN = (k: number) => p.args!.map((v, j) => (j === at ? k : v));
    const one = size(withN(1));
    return one + (n - 1) * Math.max(0, size(withN(2)) - one);
  }
  // copies in an nn.Sequential (parse_model's n for modules that do not take it): one copy, times n
  if (p.copies > 64) return size(p.args!) * p.copies;
  return 0;
}

/**
 * Builds every parsed layer within the module budget; constructor errors become diagnostics on the argument at
 * fault. Returns the builds (null where a layer was not built) and the layer where the budget stopped, if any.
 */
export function buildAll(
  env: BuildEnvKey,
  layers: readonly ParsedLayer[],
  sink: Sink,
): { built: (BuildResult | null)[]; budgetStop: number | null } {
  let modules = 0;
  let budgetStop: number | null = null;
  const built = layers.map((p) => {
    if (!p.parsed || !p.entry || !p.args || modules > MAX_MODULES) return null;
    const b = buildLayer(env, p);
    modules += b.modules;
    if (modules > MAX_MODULES) {
      budgetStop = p.index;
      const message =
        `the model builds more than ${MAX_MODULES.toLocaleString('en-US')} modules by layer ${p.index}: YOLO Lens ` +
        `stops analysing here (check the repeat counts)`;
      sink.add(diag('YOLO028', rangeOrModule(p), message, undefined, { layer: p.index }), 'build');
      return null;
    }
    return b;
  });
  layers.forEach((p, k) => {
    const e = built[k]?.error;
    if (!e) return;
    const at = e.param ? p.bindings.find((x) => x.param === e.param)?.range : undefined;
    sink.add(diag('YOLO029', at ?? rangeOrModule(p), `${p.moduleName}: ${e.message}`, undefined, { layer: p.index }), 'build');
  });
  return { built, budgetStop };
}
