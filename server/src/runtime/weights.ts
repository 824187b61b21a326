/**
 * Seeded random weights for the profile's dummy network: every parameter tensor is a pure function of
 * (layer index, module path, parameter name), so two layers built from the same cached `Mod` still get their own
 * weights, and a rerun (or another backend, or the PyTorch bench) sees the same numbers.
 */
import type { LeafOp, Mod, OwnParam } from '../core/nn/module.ts';

/** FNV-1a over the key: the seed of one parameter tensor. */
export function seedOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for dummy weights; the same generator is written in bench/torch_forward.py. */
export function uniformStream(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` values uniform in [lo, hi), seeded by `key`. */
export function uniform(key: string, n: number, lo: number, hi: number): Float32Array {
  const next = uniformStream(seedOf(key));
  const out = new Float32Array(n);
  const span = hi - lo;
  for (let i = 0; i < n; i++) out[i] = lo + span * next();
  return out;
}

/** One parameter tensor in torch's layout (OIHW for convs, [out, in] for linears). */
export interface ParamArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/**
 * The parameters of a leaf, torch layout. Conv weights are He-uniform on the fan-in (activations keep their scale
 * through deep stacks, so no layer runs on denormals or infinities); BatchNorm gets running statistics near
 * (0, 1) and an affine near (1, 0), as a trained, deployed model would roughly have.
 */
export function leafParamArrays(l: LeafOp, key: string): ParamArray[] {
  const he = (fanIn: number) => Math.sqrt(6 / Math.max(1, fanIn)) * 0.5;
  switch (l.op) {
    case 'conv2d': {
      const fanIn = (l.cin / l.g) * l.k[0] * l.k[1];
      const shape = [l.cout, l.cin / l.g, l.k[0], l.k[1]];
      const w = uniform(
        `${key}.weight`,
        shape.reduce((a, b) => a * b, 1),
        -he(fanIn),
        he(fanIn),
      );
      const out: ParamArray[] = [{ name: 'weight', shape, values: w }];
      if (l.bias) out.push({ name: 'bias', shape: [l.cout], values: uniform(`${key}.bias`, l.cout, -0.1, 0.1) });
      return out;
    }
    case 'convTranspose2d': {
      const fanIn = (l.cout / l.g) * l.k[0] * l.k[1];
      const shape = [l.cin, l.cout / l.g, l.k[0], l.k[1]];
      const out: ParamArray[] = [
        {
          name: 'weight',
          shape,
          values: uniform(
            `${key}.weight`,
            shape.reduce((a, b) => a * b, 1),
            -he(fanIn),
            he(fanIn),
          ),
        },
      ];
      if (l.bias) out.push({ name: 'bias', shape: [l.cout], values: uniform(`${key}.bias`, l.cout, -0.1, 0.1) });
      return out;
    }
    case 'batchNorm2d':
      return [
        { name: 'weight', shape: [l.c], values: uniform(`${key}.weight`, l.c, 0.8, 1.2) },
        { name: 'bias', shape: [l.c], values: uniform(`${key}.bias`, l.c, -0.1, 0.1) },
        { name: 'running_mean', shape: [l.c], values: uniform(`${key}.running_mean`, l.c, -0.1, 0.1) },
        { name: 'running_var', shape: [l.c], values: uniform(`${key}.running_var`, l.c, 0.8, 1.2) },
      ];
    case 'layerNorm':
    case 'groupNorm': {
      const n = l.op === 'layerNorm' ? l.shape.reduce((a, b) => a * b, 1) : l.c;
      const shape = l.op === 'layerNorm' ? l.shape : [l.c];
      return [
        { name: 'weight', shape, values: uniform(`${key}.weight`, n, 0.8, 1.2) },
        { name: 'bias', shape, values: uniform(`${key}.bias`, n, -0.1, 0.1) },
      ];
    }
    case 'linear': {
      const b = he(l.cin);
      const out: ParamArray[] = [{ name: 'weight', shape: [l.cout, l.cin], values: uniform(`${key}.weight`, l.cout * l.cin, -b, b) }];
      if (l.bias) out.push({ name: 'bias', shape: [l.cout], values: uniform(`${key}.bias`, l.cout, -0.1, 0.1) });
      return out;
    }
    case 'embedding':
      return [{ name: 'weight', shape: [l.num, l.dim], values: uniform(`${key}.weight`, l.num * l.dim, -1, 1) }];
    case 'mha': {
      const e = l.embed;
      const b = he(e);
      const out: ParamArray[] = [{ name: 'in_proj_weight', shape: [3 * e, e], values: uniform(`${key}.in_proj_weight`, 3 * e * e, -b, b) }];
      if (l.bias) out.push({ name: 'in_proj_bias', shape: [3 * e], values: uniform(`${key}.in_proj_bias`, 3 * e, -0.1, 0.1) });
      out.push({ name: 'out_proj.weight', shape: [e, e], values: uniform(`${key}.out_proj.weight`, e * e, -b, b) });
      if (l.bias) out.push({ name: 'out_proj.bias', shape: [e], values: uniform(`${key}.out_proj.bias`, e, -0.1, 0.1) });
      return out;
    }
    case 'act':
      // PReLU's slopes (torch's default init is 0.25 everywhere; spread them so a wrong channel order shows)
      return l.fn === 'PReLU' ? [{ name: 'weight', shape: [l.c ?? 1], values: uniform(`${key}.weight`, l.c ?? 1, 0.1, 0.4) }] : [];
    default:
      return [];
  }
}

/**
 * The parameters a composite module registers directly (`Mod.params`): upstream's constant where its __init__ fills
 * one (a logit scale, a zero bias), else seeded uniform on ±1/√(last dim).
 */
export function ownParamArrays(params: Readonly<Record<string, OwnParam>>, key: string): ParamArray[] {
  return Object.entries(params).map(([name, p]) => {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const b = 1 / Math.sqrt(Math.max(1, p.shape[p.shape.length - 1] ?? 1));
    return { name, shape: p.shape, values: p.init !== undefined ? new Float32Array(n).fill(p.init) : uniform(`${key}.${name}`, n, -b, b) };
  });
}

/**
 * A leaf's parameters as the built module holds them. A frozen 1×1 conv to one channel is DFL's integral
 * (`conv.weight = arange(c1)`, requires_grad False, the only frozen conv upstream): its weights are that ramp, so
 * the decoded boxes are real distances; every other leaf gets seeded random weights.
 */
export function moduleParamArrays(m: Mod, key: string): ParamArray[] {
  const l = m.leaf;
  if (!l) return [];
  if (l.op === 'conv2d' && m.frozenParams > 0 && m.frozenParams === m.ownParams && l.cout === 1 && l.k[0] === 1 && l.k[1] === 1 && !l.bias)
    return [{ name: 'weight', shape: [1, l.cin, 1, 1], values: Float32Array.from({ length: l.cin }, (_, i) => i) }];
  return leafParamArrays(l, key);
}
