/**
 * A small plain-JavaScript reference of the torch ops the numerical tests need (NCHW, float64, loops written
 * straight from the definitions), independent of tfjs and of the runtime's layout translation.
 */

export interface Arr {
  readonly shape: number[];
  readonly data: Float64Array;
}

export const arr = (shape: number[], data?: ArrayLike<number>): Arr => {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float64Array(n);
  if (data) {
    if (data.length !== n) throw new Error(`arr: ${data.length} values for shape [${shape}]`);
    d.set(Array.from(data));
  }
  return { shape, data: d };
};

const idx4 = (s: number[], n: number, c: number, h: number, w: number) => ((n * s[1]! + c) * s[2]! + h) * s[3]! + w;

/** torch.nn.functional.conv2d: weight [O, I/g, kh, kw] */
export function conv2d(x: Arr, weight: Arr, bias: ArrayLike<number> | null, stride: number, pad: number, groups = 1, dilation = 1): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, Ig, KH, KW] = weight.shape as [number, number, number, number];
  if (Ig * groups !== C) throw new Error(`conv2d: weight expects ${Ig * groups} channels, input has ${C}`);
  const OH = Math.floor((H + 2 * pad - dilation * (KH - 1) - 1) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - dilation * (KW - 1) - 1) / stride) + 1;
  const y = arr([N, O, OH, OW]);
  const og = O / groups;
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / og);
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let acc = bias ? bias[o]! : 0;
          for (let i = 0; i < Ig; i++)
            for (let kh = 0; kh < KH; kh++)
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * stride - pad + kh * dilation;
                const iw = ow * stride - pad + kw * dilation;
                if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
                acc += x.data[idx4(x.shape, n, g * Ig + i, ih, iw)]! * weight.data[((o * Ig + i) * KH + kh) * KW + kw]!;
              }
          y.data[idx4(y.shape, n, o, oh, ow)] = acc;
        }
    }
  return y;
}

/** eval-mode BatchNorm2d */
export function batchNorm(
  x: Arr,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  eps = 1e-5,
): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const y = arr([...x.shape]);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) {
        const k = (n * C + c) * H * W + i;
        y.data[k] = ((x.data[k]! - mean[c]!) / Math.sqrt(variance[c]! + eps)) * gamma[c]! + beta[c]!;
      }
  return y;
}

export const map = (x: Arr, f: (v: number) => number): Arr => ({ shape: [...x.shape], data: x.data.map(f) });
export const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
export const silu = (x: Arr): Arr => map(x, (v) => v * sigmoid(v));
export const mish = (x: Arr): Arr => map(x, (v) => v * Math.tanh(Math.log1p(Math.exp(v))));

export function add(a: Arr, b: Arr): Arr {
  if (a.shape.join() !== b.shape.join()) throw new Error(`add: [${a.shape}] vs [${b.shape}]`);
  return { shape: [...a.shape], data: a.data.map((v, i) => v + b.data[i]!) };
}

/** torch.cat along the channel dim of NCHW maps */
export function catChannels(xs: Arr[]): Arr {
  const [N, , H, W] = xs[0]!.shape as [number, number, number, number];
  const C = xs.reduce((a, x) => a + x.shape[1]!, 0);
  const y = arr([N, C, H, W]);
  for (let n = 0; n < N; n++) {
    let c0 = 0;
    for (const x of xs) {
      const c = x.shape[1]!;
      y.data.set(x.data.subarray(n * c * H * W, (n + 1) * c * H * W), (n * C + c0) * H * W);
      c0 += c;
    }
  }
  return y;
}

/** x[:, start:start+count] */
export function channels(x: Arr, start: number, count: number): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const y = arr([N, count, H, W]);
  for (let n = 0; n < N; n++) y.data.set(x.data.subarray((n * C + start) * H * W, (n * C + start + count) * H * W), n * count * H * W);
  return y;
}

/** F.max_pool2d with -inf padding */
export function maxPool(x: Arr, k: number, stride: number, pad: number): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const OH = Math.floor((H + 2 * pad - k) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - k) / stride) + 1;
  const y = arr([N, C, OH, OW]);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let m = -Infinity;
          for (let i = 0; i < k; i++)
            for (let j = 0; j < k; j++) {
              const ih = oh * stride - pad + i;
              const iw = ow * stride - pad + j;
              if (ih >= 0 && iw >= 0 && ih < H && iw < W) m = Math.max(m, x.data[idx4(x.shape, n, c, ih, iw)]!);
            }
          y.data[idx4(y.shape, n, c, oh, ow)] = m;
        }
  return y;
}

/** F.interpolate(mode='bicubic', align_corners=False) at an integer scale, straight from torch's definition */
export function bicubic(x: Arr, scale: number): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const OH = H * scale;
  const OW = W * scale;
  const A = -0.75;
  const w = (t: number) => {
    const a = Math.abs(t);
    return a <= 1 ? (A + 2) * a ** 3 - (A + 3) * a ** 2 + 1 : a < 2 ? A * a ** 3 - 5 * A * a ** 2 + 8 * A * a - 4 * A : 0;
  };
  const y = arr([N, C, OH, OW]);
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi - 1);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          const ry = (oh + 0.5) / scale - 0.5;
          const rx = (ow + 0.5) / scale - 0.5;
          const y0 = Math.floor(ry);
          const x0 = Math.floor(rx);
          let acc = 0;
          for (let i = -1; i <= 2; i++)
            for (let j = -1; j <= 2; j++)
              acc += w(ry - (y0 + i)) * w(rx - (x0 + j)) * x.data[idx4(x.shape, n, c, clamp(y0 + i, H), clamp(x0 + j, W))]!;
          y.data[idx4(y.shape, n, c, oh, ow)] = acc;
        }
  return y;
}

/** The largest |a − b| relative to max(1, |b|) over two same-shaped arrays. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}
