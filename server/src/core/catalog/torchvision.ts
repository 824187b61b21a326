/**
 * torchvision pieces ultralytics 8.4 can build from a YAML:
 *  - the models its `TorchVision` layer loads by name (`torchvision.models.get_model`): the ResNet family
 *    (torchvision/models/resnet.py, v0.14 onwards: BasicBlock / Bottleneck v1.5, stride on the 3x3 conv);
 *  - the `torchvision.ops.X` modules parse_model reaches by that prefix (tasks.py: `getattr(torchvision.ops, m[16:])`,
 *    then the plain branch: c2 = ch[f], args as written).
 * Weights never change a structure, so `weights` is not read here.
 */
import type { Builder } from '../nn/builder.ts';
import { buildError, inputOne, type Mod, ShapeError } from '../nn/module.ts';
import { isSeq, PyObj, pyRepr, type PyVal, seqItems } from '../py.ts';
import { f, type ModuleDef, param } from './types.ts';

export interface TorchvisionModel {
  /** the model as get_model returns it */
  readonly model: Mod;
  /** `list(model.children())`, what TorchVision(unwrap=True) re-wraps */
  readonly children: readonly Mod[];
}

interface ResNetSpec {
  readonly block: 'basic' | 'bottleneck';
  readonly layers: readonly [number, number, number, number];
  readonly groups?: number;
  readonly widthPerGroup?: number;
}

const RESNETS: Readonly<Record<string, ResNetSpec>> = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2] },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
  resnet101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
  resnet152: { block: 'bottleneck', layers: [3, 8, 36, 3] },
  resnext50_32x4d: { block: 'bottleneck', layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 },
  resnext101_32x8d: { block: 'bottleneck', layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8 },
  resnext101_64x4d: { block: 'bottleneck', layers: [3, 4, 23, 3], groups: 64, widthPerGroup: 4 },
  wide_resnet50_2: { block: 'bottleneck', layers: [3, 4, 6, 3], widthPerGroup: 128 },
  wide_resnet101_2: { block: 'bottleneck', layers: [3, 4, 23, 3], widthPerGroup: 128 },
};

/** The torchvision model names YOLO Lens builds. */
export const TORCHVISION_MODELS: readonly string[] = Object.keys(RESNETS);

/** `torchvision.models.get_model(name)`, for the names YOLO Lens models. */
export function buildTorchvisionModel(b: Builder, name: string): TorchvisionModel {
  const spec = RESNETS[name.toLowerCase()];
  if (!spec)
    throw buildError(`torchvision model '${name}' is not modelled by YOLO Lens (it builds ${TORCHVISION_MODELS.join(', ')})`, 'model');
  return resnet(b, spec);
}

function resnet(b: Builder, spec: ResNetSpec): TorchvisionModel {
  const groups = spec.groups ?? 1;
  const baseWidth = spec.widthPerGroup ?? 64;
  const expansion = spec.block === 'basic' ? 1 : 4;
  let inplanes = 64;
  const conv1 = b.conv2d(3, 64, 7, { s: 2, p: 3, bias: false });
  const bn1 = b.bn(64);
  const relu = b.act('ReLU');
  const maxpool = b.maxPool2d(3, 2, 1);
  const makeLayer = (planes: number, blocks: number, stride: number): Mod => {
    const downsample =
      stride !== 1 || inplanes !== planes * expansion
        ? b.seq([b.conv2d(inplanes, planes * expansion, 1, { s: stride, bias: false }), b.bn(planes * expansion)])
        : null;
    const items = [block(b, spec.block, inplanes, planes, stride, downsample, groups, baseWidth)];
    inplanes = planes * expansion;
    for (let i = 1; i < blocks; i++) items.push(block(b, spec.block, inplanes, planes, 1, null, groups, baseWidth));
    return b.seq(items);
  };
  const layer1 = makeLayer(64, spec.layers[0], 1);
  const layer2 = makeLayer(128, spec.layers[1], 2);
  const layer3 = makeLayer(256, spec.layers[2], 2);
  const layer4 = makeLayer(512, spec.layers[3], 2);
  const avgpool = b.adaptiveAvgPool2d(1);
  const fc = b.linear(512 * expansion, 1000);
  const children = [conv1, bn1, relu, maxpool, layer1, layer2, layer3, layer4, avgpool, fc];
  const model = b.mod('ResNet', { conv1, bn1, relu, maxpool, layer1, layer2, layer3, layer4, avgpool, fc }, (fl, xin) => {
    let x = inputOne(xin, 'ResNet');
    for (const m of [conv1, bn1, relu, maxpool, layer1, layer2, layer3, layer4, avgpool]) x = fl.call(m, x);
    return fl.call(fc, fl.flatten(x, 1));
  });
  return { model, children };
}

function block(
  b: Builder,
  kind: 'basic' | 'bottleneck',
  inplanes: number,
  planes: number,
  stride: number,
  downsample: Mod | null,
  groups: number,
  baseWidth: number,
): Mod {
  const relu = b.act('ReLU');
  if (kind === 'basic') {
    const conv1 = b.conv2d(inplanes, planes, 3, { s: stride, p: 1, bias: false });
    const bn1 = b.bn(planes);
    const conv2 = b.conv2d(planes, planes, 3, { p: 1, bias: false });
    const bn2 = b.bn(planes);
    return b.mod('BasicBlock', { conv1, bn1, relu, conv2, bn2, downsample }, (fl, xin) => {
      const x = inputOne(xin, 'BasicBlock');
      const out = fl.call(bn2, fl.call(conv2, fl.call(relu, fl.call(bn1, fl.call(conv1, x)))));
      return fl.call(relu, fl.add(out, downsample ? fl.call(downsample, x) : x));
    });
  }
  const width = Math.trunc(planes * (baseWidth / 64)) * groups;
  const conv1 = b.conv2d(inplanes, width, 1, { bias: false });
  const bn1 = b.bn(width);
  const conv2 = b.conv2d(width, width, 3, { s: stride, p: 1, g: groups, bias: false });
  const bn2 = b.bn(width);
  const conv3 = b.conv2d(width, planes * 4, 1, { bias: false });
  const bn3 = b.bn(planes * 4);
  return b.mod('Bottleneck', { conv1, bn1, conv2, bn2, conv3, bn3, relu, downsample }, (fl, xin) => {
    const x = inputOne(xin, 'Bottleneck');
    let out = fl.call(relu, fl.call(bn1, fl.call(conv1, x)));
    out = fl.call(relu, fl.call(bn2, fl.call(conv2, out)));
    out = fl.call(bn3, fl.call(conv3, out));
    return fl.call(relu, fl.add(out, downsample ? fl.call(downsample, x) : x));
  });
}

// ---- torchvision.ops modules

const OPS = 'torchvision/ops';

/**
 * A layer-class argument: its default class (present), None (absent), anything else fails when torchvision calls it
 * (a YAML cannot name a class: a string stays a string).
 */
function layerClass(v: PyVal, dflt: PyObj, who: string, name: string): boolean {
  if (v === null) return false;
  if (v instanceof PyObj && v.cls === dflt.cls) return true;
  throw buildError(
    `'${typeof v === 'string' ? 'str' : 'value'}' object is not callable (${who}.${name} must be a class, got ${pyRepr(v)})`,
    name,
  );
}
const BATCHNORM_CLASS = new PyObj('torch.nn.BatchNorm2d', 'torch.nn.BatchNorm2d');
const RELU_CLASS = new PyObj('torch.nn.ReLU', 'torch.nn.ReLU');

export const SqueezeExcitation: ModuleDef = {
  name: 'SqueezeExcitation',
  category: 'attention',
  doc: 'Squeeze-and-excitation (torchvision.ops): global average, 1\u00d71 conv down, ReLU, 1\u00d71 conv up, sigmoid, times the input.',
  source: `${OPS}/misc.py:SqueezeExcitation`,
  signature: [param('input_channels', 'channels', 'channels in and out'), param('squeeze_channels', 'channels', 'bottleneck channels')],
  build: (b, a) => {
    const c = a.channels('input_channels');
    const s = a.channels('squeeze_channels');
    const avgpool = b.adaptiveAvgPool2d(1);
    const fc1 = b.conv2d(c, s, 1);
    const fc2 = b.conv2d(s, c, 1);
    const activation = b.act('ReLU');
    const scale_activation = b.act('Sigmoid');
    return b.mod('SqueezeExcitation', { avgpool, fc1, fc2, activation, scale_activation }, (fl, xin) => {
      const x = inputOne(xin, 'SqueezeExcitation');
      const scale = fl.call(scale_activation, fl.call(fc2, fl.call(activation, fl.call(fc1, fl.call(avgpool, x)))));
      return fl.mul(scale, x);
    });
  },
};

export const StochasticDepth: ModuleDef = {
  name: 'StochasticDepth',
  category: 'misc',
  doc: 'Stochastic depth (torchvision.ops): drops whole rows or the batch while training; the identity in eval.',
  source: `${OPS}/stochastic_depth.py:StochasticDepth`,
  signature: [param('p', 'float', 'drop probability (0..1)'), param('mode', 'str', "'row' or 'batch'")],
  build: (b, a) => {
    const p = a.float('p');
    const mode = a.raw('mode');
    return b.mod('StochasticDepth', {}, (_fl, xin) => {
      if (p < 0 || p > 1) throw new ShapeError(`drop probability has to be between 0 and 1, but got ${p}`);
      if (mode !== 'row' && mode !== 'batch') throw new ShapeError(`mode has to be either 'batch' or 'row', but got ${pyRepr(mode)}`);
      return inputOne(xin, 'StochasticDepth');
    });
  },
};

export const DropBlock2d: ModuleDef = {
  name: 'DropBlock2d',
  category: 'misc',
  doc: 'DropBlock (torchvision.ops): drops square blocks of the map while training; the identity in eval.',
  source: `${OPS}/drop_block.py:DropBlock2d`,
  signature: [
    param('p', 'float', 'drop probability (0..1)'),
    param('block_size', 'int', 'side of the dropped blocks'),
    param('inplace', 'bool', 'in place', false),
    param('eps', 'float', 'added to the normaliser', f(1e-6)),
  ],
  build: (b, a) => {
    const p = a.float('p');
    return b.mod('DropBlock2d', {}, (_fl, xin) => {
      if (p < 0 || p > 1) throw new ShapeError(`drop probability has to be between 0 and 1, but got ${p}.`);
      const x = inputOne(xin, 'DropBlock2d');
      return x;
    });
  },
};

export const FrozenBatchNorm2d: ModuleDef = {
  name: 'FrozenBatchNorm2d',
  category: 'norm',
  doc: 'BatchNorm2d with fixed statistics and affine terms (torchvision.ops): buffers only, no parameters.',
  source: `${OPS}/misc.py:FrozenBatchNorm2d`,
  signature: [param('num_features', 'channels', 'channels'), param('eps', 'float', 'added to the variance', f(1e-5))],
  build: (b, a) => {
    const c = a.channels('num_features');
    return b.mod('FrozenBatchNorm2d', {}, (fl, xin) => {
      const x = inputOne(xin, 'FrozenBatchNorm2d');
      // x * scale + bias with scale, bias of shape (1, C, 1, 1): a broadcast, never counted
      return fl.add(
        fl.mul(
          x,
          fl.constant([1, c, 1, 1], () => 1),
        ),
        fl.constant([1, c, 1, 1], () => 0),
      );
    });
  },
};

export const Permute: ModuleDef = {
  name: 'Permute',
  category: 'misc',
  doc: 'torch.permute as a module (torchvision.ops).',
  source: `${OPS}/misc.py:Permute`,
  signature: [param('dims', 'list', 'the new order of the dimensions')],
  build: (b, a) => {
    const raw = a.raw('dims');
    if (!isSeq(raw)) throw buildError(`Permute dims must be a list of ints, got ${pyRepr(raw)}`, 'dims');
    const dims = seqItems(raw).map((d) => {
      if (typeof d !== 'number') throw buildError(`Permute dims must be a list of ints, got ${pyRepr(raw)}`, 'dims');
      return d;
    });
    return b.mod('Permute', {}, (fl, xin) => fl.permute(inputOne(xin, 'Permute'), dims));
  },
};

export const Conv2dNormActivation: ModuleDef = {
  name: 'Conv2dNormActivation',
  category: 'conv',
  doc:
    'Conv2d + BatchNorm2d + ReLU as an nn.Sequential (torchvision.ops); parse_model keeps c2 = the input channels ' +
    'whatever out_channels is.',
  source: `${OPS}/misc.py:Conv2dNormActivation`,
  signature: [
    param('in_channels', 'channels', 'input channels (not prepended by parse_model)'),
    param('out_channels', 'channels', 'output channels'),
    param('kernel_size', 'kernel', 'kernel size', 3),
    param('stride', 'kernel', 'stride', 1),
    param('padding', 'kernel', 'padding (None: (k - 1) // 2 * dilation)', null),
    param('groups', 'int', 'groups', 1),
    param('norm_layer', 'any', 'norm class (None: no norm)', BATCHNORM_CLASS),
    param('activation_layer', 'any', 'activation class (None: no activation)', RELU_CLASS),
    param('dilation', 'int', 'dilation', 1),
    param('inplace', 'bool', 'in-place activation', true),
    param('bias', 'bool', 'conv bias (None: only without a norm)', null),
  ],
  build: (b, a) => {
    const cin = a.channels('in_channels');
    const cout = a.channels('out_channels');
    const k = a.int('kernel_size');
    const d = a.int('dilation');
    const pRaw = a.raw('padding');
    const p = pRaw === null ? Math.floor((k - 1) / 2) * d : a.int('padding');
    const norm = layerClass(a.raw('norm_layer'), BATCHNORM_CLASS, 'Conv2dNormActivation', 'norm_layer');
    const act = layerClass(a.raw('activation_layer'), RELU_CLASS, 'Conv2dNormActivation', 'activation_layer');
    const bias = a.raw('bias') === null ? !norm : a.bool('bias');
    const conv = b.conv2d(cin, cout, k, { s: a.pair('stride'), p, d, g: a.int('groups'), bias }, 'in_channels');
    return b.seq([conv, ...(norm ? [b.bn(cout)] : []), ...(act ? [b.act('ReLU')] : [])], 'Conv2dNormActivation');
  },
};

export const DeformConv2d: ModuleDef = {
  name: 'DeformConv2d',
  category: 'conv',
  doc: 'Deformable convolution (torchvision.ops): its forward needs an offset tensor besides the input, which a YAML layer cannot give.',
  source: `${OPS}/deform_conv.py:DeformConv2d`,
  signature: [
    param('in_channels', 'channels', 'input channels'),
    param('out_channels', 'channels', 'output channels'),
    param('kernel_size', 'kernel', 'kernel size'),
    param('stride', 'kernel', 'stride', 1),
    param('padding', 'kernel', 'padding', 0),
    param('dilation', 'kernel', 'dilation', 1),
    param('groups', 'int', 'groups', 1),
    param('bias', 'bool', 'bias', true),
  ],
  build: (b, a) => {
    const cin = a.channels('in_channels');
    const cout = a.channels('out_channels');
    const g = a.int('groups');
    if (g <= 0 || cin % g !== 0) throw buildError('ValueError: in_channels must be divisible by groups', 'groups');
    if (cout % g !== 0) throw buildError('ValueError: out_channels must be divisible by groups', 'groups');
    const [kh, kw] = a.pair('kernel_size');
    const params: Record<string, { shape: number[] }> = { weight: { shape: [cout, cin / g, kh, kw] } };
    if (a.bool('bias')) params.bias = { shape: [cout] };
    return b.mod(
      'DeformConv2d',
      {},
      () => {
        throw new ShapeError("DeformConv2d.forward() missing 1 required positional argument: 'offset'");
      },
      { params },
    );
  },
};

/** The torchvision.ops modules, reached in a YAML as `torchvision.ops.<name>`. */
export const TORCHVISION_OPS: readonly ModuleDef[] = [
  SqueezeExcitation,
  StochasticDepth,
  DropBlock2d,
  FrozenBatchNorm2d,
  Permute,
  Conv2dNormActivation,
  DeformConv2d,
];
