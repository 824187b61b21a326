/**
 * `nn.*` layers a model YAML can name directly (parse_model resolves `nn.X` to `torch.nn.X`). Signatures are
 * torch's; parse_model passes the YAML args verbatim to all of them except `nn.ConvTranspose2d` (channels
 * treatment in both frameworks) and `nn.BatchNorm2d` (`args = [ch[f]]`).
 */
import { Builder, ACT_CLASSES, asInt, asPair } from '../nn/builder.ts';
import { buildError, type Mod, type UpsampleMode } from '../nn/module.ts';
import { PyObj, type PyVal, isNumeric, isSeq, num, pyRepr, seqItems, truthy } from '../py.ts';
import { type Args, type ModuleDef, param } from './types.ts';

const src = (file: string, cls: string) => `torch/nn/modules/${file}.py:${cls}`;

function convPadding(a: Args, k: [number, number], d: [number, number], s: [number, number]): [number, number] {
  const p = a.raw('padding');
  if (typeof p === 'string') {
    if (p === 'valid') return [0, 0];
    if (p === 'same') {
      if (s[0] !== 1 || s[1] !== 1) throw buildError("padding='same' is not supported for strided convolutions", 'padding');
      const tot = [d[0] * (k[0] - 1), d[1] * (k[1] - 1)];
      if (tot[0]! % 2 || tot[1]! % 2)
        throw buildError("padding='same' with an even kernel pads asymmetrically; YOLO Lens does not model that", 'padding');
      return [tot[0]! / 2, tot[1]! / 2];
    }
    throw buildError(`Invalid padding string '${p}', should be one of {'valid', 'same'}`, 'padding');
  }
  if (typeof p === 'boolean') throw buildError(`conv2d() received an invalid combination of arguments: padding=${pyRepr(p)}`, 'padding');
  return asPair(p, 'padding', 'padding');
}

export const Conv2d: ModuleDef = {
  name: 'Conv2d',
  category: 'conv',
  doc: 'A plain 2-D convolution (no BatchNorm, no activation).',
  source: src('conv', 'Conv2d'),
  signature: [
    param('in_channels', 'channels', 'input channels'),
    param('out_channels', 'channels', 'output channels'),
    param('kernel_size', 'kernel', 'kernel size'),
    param('stride', 'kernel', 'stride', 1),
    param('padding', 'kernel', "zero padding on each side, or 'same'/'valid'", 0),
    param('dilation', 'kernel', 'spacing between kernel elements', 1),
    param('groups', 'int', 'blocked connections from input to output channels', 1),
    param('bias', 'bool', 'learnable bias', true),
    param('padding_mode', 'str', "'zeros', 'reflect', 'replicate' or 'circular'", 'zeros'),
  ],
  build: (b, a) => {
    const k = a.pair('kernel_size');
    const s = a.convPair('stride');
    const d = a.convPair('dilation');
    return b.conv2d(a.channels('in_channels'), a.channels('out_channels'), k, {
      s,
      d,
      p: convPadding(a, k, d, s),
      g: a.convInt('groups'),
      bias: a.bool('bias'),
    });
  },
};

export const ConvTranspose2d: ModuleDef = {
  name: 'ConvTranspose2d',
  category: 'upsample',
  doc: 'A transposed 2-D convolution (learned upsampling).',
  source: src('conv', 'ConvTranspose2d'),
  signature: [
    param('in_channels', 'channels', 'input channels'),
    param('out_channels', 'channels', 'output channels'),
    param('kernel_size', 'kernel', 'kernel size'),
    param('stride', 'kernel', 'stride', 1),
    param('padding', 'kernel', 'implicit zero padding removed from each side', 0),
    param('output_padding', 'kernel', 'extra size added to one side of the output', 0),
    param('groups', 'int', 'blocked connections', 1),
    param('bias', 'bool', 'learnable bias', true),
    param('dilation', 'kernel', 'spacing between kernel elements', 1),
    param('padding_mode', 'str', "only 'zeros'", 'zeros'),
  ],
  build: (b, a) =>
    b.convTranspose2d(a.channels('in_channels'), a.channels('out_channels'), a.pair('kernel_size'), {
      s: a.pair('stride'),
      p: a.pair('padding'),
      outputPadding: a.pair('output_padding'),
      g: a.int('groups'),
      bias: a.bool('bias'),
      d: a.pair('dilation'),
    }),
};

export const BatchNorm2d: ModuleDef = {
  name: 'BatchNorm2d',
  category: 'norm',
  doc: 'Batch normalisation over channels (parse_model passes the input channels itself).',
  source: src('batchnorm', 'BatchNorm2d'),
  signature: [
    param('num_features', 'channels', 'channels (parse_model sets it to the input channels)'),
    param('eps', 'float', 'added to the variance', 1e-5),
    param('momentum', 'float', 'running statistics momentum', 0.1),
    param('affine', 'bool', 'learnable scale and shift', true),
    param('track_running_stats', 'bool', 'keep running statistics', true),
  ],
  build: (b, a) => b.bn(a.channels('num_features'), a.float('eps')),
};

const UPSAMPLE_MODES: readonly UpsampleMode[] = ['nearest', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area', 'nearest-exact'];
/** modes torch accepts for a 4-D (N, C, H, W) input */
const UPSAMPLE_MODES_4D: readonly UpsampleMode[] = ['nearest', 'bilinear', 'bicubic', 'area', 'nearest-exact'];

export const Upsample: ModuleDef = {
  name: 'Upsample',
  category: 'upsample',
  doc: 'Resizes the feature map by a scale factor or to a size (no parameters).',
  source: src('upsampling', 'Upsample'),
  signature: [
    param('size', 'any', 'output size (H, W) or one int', null),
    param('scale_factor', 'float', 'multiplier for the spatial size', null),
    param('mode', 'str', "'nearest', 'bilinear', 'bicubic', 'area' or 'nearest-exact'", 'nearest'),
    param('align_corners', 'bool', 'only for interpolating modes', null),
    param('recompute_scale_factor', 'bool', 'recompute the scale from the output size', null),
  ],
  build: (b, a) => {
    const mode = a.raw('mode');
    if (typeof mode !== 'string' || !UPSAMPLE_MODES.includes(mode as UpsampleMode))
      throw buildError(
        `Input Error: Only 3D, 4D and 5D input Tensors supported (got 4D) for the modes: nearest | linear | bilinear | bicubic | ` +
          `trilinear | area | nearest-exact (got ${typeof mode === 'string' ? mode : pyRepr(mode)})`,
        'mode',
      );
    if (!UPSAMPLE_MODES_4D.includes(mode as UpsampleMode))
      throw buildError(`mode '${mode}' needs a ${mode === 'linear' ? '3D' : '5D'} input; a feature map is 4D`, 'mode');
    const ac = a.raw('align_corners');
    if (ac !== null && ['nearest', 'area', 'nearest-exact'].includes(mode))
      throw buildError(
        'align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear',
        'align_corners',
      );
    const size = a.raw('size');
    const scale = a.raw('scale_factor');
    if (size !== null && scale !== null) throw buildError('only one of size or scale_factor should be defined', 'size');
    if (size === null && scale === null) throw buildError('either size or scale_factor should be defined', 'scale_factor');
    let sizeHW: [number, number] | null = null;
    let scaleHW: [number, number] | null = null;
    if (size !== null) sizeHW = asPair(size, 'size', 'size');
    if (scale !== null) {
      const vals = isSeq(scale) ? seqItems(scale) : [scale, scale];
      if (vals.length !== 2 || !vals.every(isNumeric))
        throw buildError(`scale_factor must be a number or a pair, got ${pyRepr(scale)}`, 'scale_factor');
      scaleHW = [num(vals[0]!), num(vals[1]!)];
      if (scaleHW.some((v) => !(v > 0))) throw buildError(`scale_factor must be positive, got ${pyRepr(scale)}`, 'scale_factor');
    }
    return b.upsample(sizeHW, scaleHW, mode as UpsampleMode, ac === null ? null : truthy(ac));
  },
};

export const MaxPool2d: ModuleDef = {
  name: 'MaxPool2d',
  category: 'pooling',
  doc: 'Max pooling over a window.',
  source: src('pooling', 'MaxPool2d'),
  signature: [
    param('kernel_size', 'kernel', 'window size'),
    param('stride', 'kernel', 'window stride (default: kernel_size)', null),
    param('padding', 'kernel', 'implicit -inf padding on each side', 0),
    param('dilation', 'kernel', 'spacing between window elements', 1),
    param('return_indices', 'bool', 'also return the max indices', false),
    param('ceil_mode', 'bool', 'ceil instead of floor for the output size', false),
  ],
  build: (b, a) => {
    if (a.bool('return_indices')) throw buildError('return_indices=True returns a tuple a model layer cannot pass on', 'return_indices');
    const st = a.raw('stride');
    return b.maxPool2d(
      a.pair('kernel_size'),
      st === null ? null : asPair(st, 'stride', 'stride'),
      a.pair('padding'),
      a.pair('dilation'),
      a.bool('ceil_mode'),
      'kernel_size',
    );
  },
};

export const AvgPool2d: ModuleDef = {
  name: 'AvgPool2d',
  category: 'pooling',
  doc: 'Average pooling over a window.',
  source: src('pooling', 'AvgPool2d'),
  signature: [
    param('kernel_size', 'kernel', 'window size'),
    param('stride', 'kernel', 'window stride (default: kernel_size)', null),
    param('padding', 'kernel', 'implicit zero padding', 0),
    param('ceil_mode', 'bool', 'ceil instead of floor for the output size', false),
    param('count_include_pad', 'bool', 'include the zero padding in the average', true),
    param('divisor_override', 'int', 'divisor instead of the window size', null),
  ],
  build: (b, a) => {
    const st = a.raw('stride');
    return b.avgPool2d(
      a.pair('kernel_size'),
      st === null ? null : asPair(st, 'stride', 'stride'),
      a.pair('padding'),
      a.bool('ceil_mode'),
      a.bool('count_include_pad'),
    );
  },
};

function adaptiveOut(v: PyVal): [number | null, number | null] {
  if (v === null) throw buildError('output_size must be given', 'output_size');
  if (isSeq(v)) {
    const items = seqItems(v);
    if (items.length === 0 || items.length > 2) throw buildError(`output_size must be 2 values (H, W), got ${pyRepr(v)}`, 'output_size');
    return [
      items[0] === null ? null : asInt(items[0]!, 'output_size', 'output_size'),
      items[1] === null ? null : asInt(items[1] ?? items[0]!, 'output_size', 'output_size'),
    ];
  }
  const n = asInt(v, 'output_size', 'output_size');
  return [n, n];
}

export const AdaptiveAvgPool2d: ModuleDef = {
  name: 'AdaptiveAvgPool2d',
  category: 'pooling',
  doc: 'Average pooling to a fixed output size.',
  source: src('pooling', 'AdaptiveAvgPool2d'),
  signature: [param('output_size', 'kernel', 'target output size (H, W) or one int')],
  build: (b, a) => b.adaptiveAvgPool2d(adaptiveOut(a.raw('output_size'))),
};

export const AdaptiveMaxPool2d: ModuleDef = {
  name: 'AdaptiveMaxPool2d',
  category: 'pooling',
  doc: 'Max pooling to a fixed output size.',
  source: src('pooling', 'AdaptiveMaxPool2d'),
  signature: [
    param('output_size', 'kernel', 'target output size (H, W) or one int'),
    param('return_indices', 'bool', 'also return indices', false),
  ],
  build: (b, a) => b.adaptiveMaxPool2d(adaptiveOut(a.raw('output_size'))),
};

export const Identity: ModuleDef = {
  name: 'Identity',
  category: 'misc',
  doc: 'Passes its input through unchanged (a placeholder layer).',
  source: src('linear', 'Identity'),
  signature: [],
  varargs: true,
  build: (b) => b.identity(),
};

export const ZeroPad2d: ModuleDef = {
  name: 'ZeroPad2d',
  category: 'misc',
  doc: 'Pads the feature map with zeros.',
  source: src('padding', 'ZeroPad2d'),
  signature: [param('padding', 'kernel', 'one int, or (left, right, top, bottom)')],
  build: (b, a) => {
    const p = a.raw('padding');
    if (isSeq(p)) {
      const items = seqItems(p).map((x) => asInt(x, 'padding', 'padding'));
      if (items.length !== 4) throw buildError(`padding must be an int or a 4-tuple, got ${pyRepr(p)}`, 'padding');
      return b.zeroPad2d(items as [number, number, number, number]);
    }
    const n = asInt(p, 'padding', 'padding');
    return b.zeroPad2d([n, n, n, n]);
  },
};

export const Dropout: ModuleDef = {
  name: 'Dropout',
  category: 'misc',
  doc: 'Zeroes activations at random while training; identity at inference.',
  source: src('dropout', 'Dropout'),
  signature: [param('p', 'float', 'probability of an element to be zeroed', 0.5), param('inplace', 'bool', 'in place', false)],
  build: (b, a) => {
    const p = a.float('p');
    if (p < 0 || p > 1) throw buildError(`dropout probability has to be between 0 and 1, but got ${p}`, 'p');
    return b.dropout(p);
  },
};

export const Flatten: ModuleDef = {
  name: 'Flatten',
  category: 'misc',
  doc: 'Flattens a range of dimensions into one.',
  source: src('flatten', 'Flatten'),
  signature: [param('start_dim', 'int', 'first dim to flatten', 1), param('end_dim', 'int', 'last dim to flatten', -1)],
  build: (b, a) => b.flatten(a.int('start_dim'), a.int('end_dim')),
};

export const Linear: ModuleDef = {
  name: 'Linear',
  category: 'misc',
  doc: 'A fully connected layer over the last dimension.',
  source: src('linear', 'Linear'),
  signature: [
    param('in_features', 'channels', 'input features'),
    param('out_features', 'channels', 'output features'),
    param('bias', 'bool', 'learnable bias', true),
  ],
  build: (b, a) => b.linear(a.channels('in_features'), a.channels('out_features'), a.bool('bias')),
};

export const Softmax: ModuleDef = {
  name: 'Softmax',
  category: 'activation',
  doc: 'Softmax over one dimension.',
  source: src('activation', 'Softmax'),
  signature: [param('dim', 'int', 'dimension to normalise', null)],
  build: (b, a) => {
    const d = a.raw('dim');
    return b.softmax(d === null ? 1 : asInt(d, 'dim', 'dim'));
  },
};

export const PixelShuffle: ModuleDef = {
  name: 'PixelShuffle',
  category: 'upsample',
  doc: 'Rearranges channels into space: (C·r², H, W) → (C, H·r, W·r).',
  source: src('pixelshuffle', 'PixelShuffle'),
  signature: [param('upscale_factor', 'int', 'r')],
  build: (b, a) => b.pixelShuffle(a.int('upscale_factor')),
};

/** Activation layers as standalone YAML layers (`nn.SiLU`, `nn.LeakyReLU`...). */
function activationDef(name: string): ModuleDef {
  const fn = ACT_CLASSES[name]!;
  const sig =
    name === 'LeakyReLU'
      ? [param('negative_slope', 'float', 'slope for negative inputs', 0.01), param('inplace', 'bool', 'in place', false)]
      : name === 'GELU'
        ? [param('approximate', 'str', "'none' or 'tanh'", 'none')]
        : name === 'PReLU'
          ? [param('num_parameters', 'int', 'learnable slopes (1 or channels)', 1), param('init', 'float', 'initial slope', 0.25)]
          : name === 'ELU'
            ? [param('alpha', 'float', 'alpha', 1.0), param('inplace', 'bool', 'in place', false)]
            : name === 'Softplus'
              ? [param('beta', 'float', 'beta', 1), param('threshold', 'float', 'threshold', 20)]
              : ['Sigmoid', 'Tanh'].includes(name)
                ? []
                : [param('inplace', 'bool', 'in place', false)];
  return {
    name,
    category: 'activation',
    doc: `The ${name} activation as a layer of its own.`,
    source: src('activation', name),
    signature: sig,
    build: (b: Builder, a: Args): Mod =>
      name === 'LeakyReLU'
        ? b.act(fn, { slope: a.float('negative_slope') })
        : name === 'PReLU'
          ? b.act(fn, { c: a.channels('num_parameters') })
          : b.act(fn),
  };
}

export const TORCH_NN: readonly ModuleDef[] = [
  Conv2d,
  ConvTranspose2d,
  BatchNorm2d,
  Upsample,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  AdaptiveMaxPool2d,
  Identity,
  ZeroPad2d,
  Dropout,
  Flatten,
  Linear,
  Softmax,
  PixelShuffle,
  ...Object.keys(ACT_CLASSES).map(activationDef),
];

/** A Python expression such as `nn.ReLU()` in a YAML arg string evaluates to an activation object. */
export function evalActivationExpr(expr: string): PyObj | undefined {
  const m = /^\s*(?:torch\.)?nn\.([A-Za-z0-9]+)\(\s*\)\s*$/.exec(expr);
  if (!m || (!ACT_CLASSES[m[1]!] && m[1] !== 'Identity')) return undefined;
  return new PyObj(m[1]!, `${m[1]}()`);
}
