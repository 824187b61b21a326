/**
 * What the ultralytics module files share: the parameter specs most constructors open with, and small helpers
 * that mirror a Python idiom (`int(c * e)`, `a, b = t.chunk(2, 1)`, a class-level default instance). Every
 * ultralytics catalog file may import this one; it imports none of them, so the imports between the files go one
 * way: common <- conv <- transformer <- block <- world <- head <- (8.4 files, slimneck).
 */
import { Builder } from '../../nn/builder.ts';
import { buildError, ShapeError, type Flow, type Mod } from '../../nn/module.ts';
import { isSeq, pyEq, pyRepr, seqItems, type PyVal } from '../../py.ts';
import { type Args, param } from '../types.ts';

export const c1p = param('c1', 'channels', 'input channels (parse_model passes the input layer\u2019s channels)');
export const c2p = param('c2', 'channels', 'output channels (scaled by width and capped by max_channels)');
export const kp = (d: PyVal = 1) => param('k', 'kernel', 'kernel size', d);
export const sp = (d: PyVal = 1) => param('s', 'kernel', 'stride', d);
export const pp = param('p', 'kernel', "padding (None: 'same' for odd kernels)", null);
export const dp = param('d', 'int', 'dilation', 1);
export const actp = param('act', 'act', 'True: the default activation, an nn.Module: that one, else none', true);

/** `int(c * e)` */
export const hidden = (c: number, e: number): number => Math.trunc(c * e);

/** A module-level instance, as a Python class attribute or default argument creates one: shared by all users. */
export const sharedInstance = (make: (b: Builder) => Mod): Mod => ({
  ...make(new Builder({ fused: false, convDefaultAct: null })),
  shared: true,
});

/** `v[i]` for a constructor argument that Python indexes (Bottleneck's k). */
export function item(v: PyVal, i: number, who: string, name: string): PyVal {
  if (isSeq(v)) {
    const xs = seqItems(v);
    if (i >= xs.length) throw buildError(`IndexError: tuple index out of range (${who} ${name}[${i}] of ${pyRepr(v)})`, name);
    return xs[i]!;
  }
  if (typeof v === 'string' && i < v.length) return v[i]!;
  throw buildError(`TypeError: ${pyRepr(v)} is not subscriptable (${who} reads ${name}[${i}])`, name);
}

export function assertSameChannels(a: Args, who: string): void {
  if (!pyEq(a.raw('c1'), a.raw('c2')))
    throw buildError(`AssertionError: ${who} asserts c1 == c2 (got c1=${pyRepr(a.raw('c1'))}, c2=${pyRepr(a.raw('c2'))})`, 'c2');
}

/** `a, b = t.chunk(2, 1)`: Python's unpacking fails when chunk gives one piece (a single channel). */
export function twoChunks<T>(fl: Flow<T>, t: T, who: string): [T, T] {
  const parts = fl.chunk(t, 2, 1);
  if (parts.length !== 2)
    throw new ShapeError(
      `ValueError: not enough values to unpack (expected 2, got ${parts.length}) in ${who}: chunk(2) of ${fl.shape(t)[1]} channels`,
    );
  return [parts[0]!, parts[1]!];
}

/**
 * The fused form of a conv that `fuse_conv_and_bn` / `fuse_deconv_and_bn` return. ultralytics 8.4 folds in place
 * and returns the conv with `requires_grad_(False)` (its fused summary counts those parameters as no gradients);
 * 8.3 copies into a new conv whose weights end up requiring grad. `BuildEnv.fuseFreezes` says which.
 */
export const fusedConv = (b: Builder, conv: Mod): Mod => (b.env.fuseFreezes ? b.frozen(conv) : conv);
