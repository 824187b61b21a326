/**
 * The four frameworks' namespaces: which names each parse_model resolves and which branch each falls into.
 * Sets are copied from the upstream parse_model (line numbers in `../shared/reference/QUIRKS-*.md`).
 */
import { makeFramework, type Framework, type FrameworkId, type Treatment } from './framework.ts';
import type { ModuleDef } from './types.ts';
import { TORCH_NN } from './torch.ts';
import { yolov5Kit } from './yolov5.ts';
import { gsconvYolov5Modules } from './gsconv-yolov5.ts';
import { SCALED_YOLOV4_MODULES } from './scaled-yolov4.ts';
import { ULTRALYTICS_CONV_MODULES } from './ultralytics/conv.ts';
import { ULTRALYTICS_BLOCK_MODULES } from './ultralytics/block.ts';
import { ULTRALYTICS_HEAD_MODULES } from './ultralytics/head.ts';
import { ULTRALYTICS_TRANSFORMER_MODULES } from './ultralytics/transformer.ts';
import { ULTRALYTICS_WORLD_MODULES } from './ultralytics/world.ts';

const nnTreat = (def: ModuleDef): Treatment => (def.name === 'ConvTranspose2d' ? 'channels' : def.name === 'BatchNorm2d' ? 'bn' : 'plain');

function namespace(
  defs: readonly ModuleDef[],
  channels: readonly string[],
  repeats: readonly string[],
  special: Readonly<Record<string, Treatment>>,
): [ModuleDef, Treatment][] {
  return defs.map((d) => [d, special[d.name] ?? (repeats.includes(d.name) ? 'repeats' : channels.includes(d.name) ? 'channels' : 'plain')]);
}

const upstream = yolov5Kit('upstream');
const fork = yolov5Kit('fork');

/** ultralytics/yolov5 models/yolo.py L402-446 */
export const YOLOV5: Framework = makeFramework({
  id: 'yolov5',
  dialect: 'yolov5',
  label: 'YOLOv5 (ultralytics/yolov5)',
  origin: 'ultralytics/yolov5@5081342',
  modules: namespace(
    upstream.all,
    [
      'Conv',
      'GhostConv',
      'Bottleneck',
      'GhostBottleneck',
      'SPP',
      'SPPF',
      'DWConv',
      'MixConv2d',
      'Focus',
      'CrossConv',
      'BottleneckCSP',
      'C3',
      'C3TR',
      'C3SPP',
      'C3Ghost',
      'DWConvTranspose2d',
      'C3x',
    ],
    ['BottleneckCSP', 'C3', 'C3TR', 'C3Ghost', 'C3x'],
    { Concat: 'concat', Detect: 'head', Segment: 'head', Contract: 'contract', Expand: 'expand' },
  ),
  nn: TORCH_NN.map((d) => [d, nnTreat(d)] as const),
  conv: 'shared-default-act',
  summary: 'ultralytics-leaves',
  defaultActName: 'SiLU',
  honoursActivationKey: true,
  honoursChannelMultiple: true,
});

/** slim-neck-by-gsconv gsconv-yolov5/models/yolo.py L259-282 */
export const YOLOV5_GSCONV: Framework = makeFramework({
  id: 'yolov5-gsconv',
  dialect: 'yolov5',
  label: 'YOLOv5 Slim-neck fork (AlanLi1997/slim-neck-by-gsconv gsconv-yolov5)',
  origin: 'AlanLi1997/slim-neck-by-gsconv@8357ef6 gsconv-yolov5',
  modules: namespace(
    [...fork.all, ...gsconvYolov5Modules(fork)],
    [
      'Conv',
      'Bottleneck',
      'SPP',
      'SPPF',
      'DWConv',
      'MixConv2d',
      'CrossConv',
      'BottleneckCSP',
      'C3',
      'C3TR',
      'GSConv',
      'VoVGSCSP',
      'VoVGSCSPC',
    ],
    ['BottleneckCSP', 'C3', 'C3TR', 'VoVGSCSP', 'VoVGSCSPC'],
    { Concat: 'concat', Detect: 'head', Contract: 'contract', Expand: 'expand' },
  ),
  nn: TORCH_NN.map((d) => [d, nnTreat(d)] as const),
  conv: 'own-act',
  summary: 'yolov5-fork',
  defaultActName: 'Mish',
  honoursActivationKey: false,
  honoursChannelMultiple: false,
});

/** slim-neck-by-gsconv gsconv-scaled-yolov4/models/yolo.py L187-216 */
export const SCALED_YOLOV4: Framework = makeFramework({
  id: 'scaled-yolov4',
  dialect: 'yolov5',
  label: 'Scaled-YOLOv4 Slim-neck fork (AlanLi1997/slim-neck-by-gsconv gsconv-scaled-yolov4)',
  origin: 'AlanLi1997/slim-neck-by-gsconv@8357ef6 gsconv-scaled-yolov4',
  modules: namespace(
    SCALED_YOLOV4_MODULES,
    [
      'Conv',
      'Bottleneck',
      'SPP',
      'DWConv',
      'MixConv2d',
      'Focus',
      'CrossConv',
      'BottleneckCSP',
      'BottleneckCSP2',
      'SPPCSP',
      'VoVCSP',
      'C3',
      'GSBottleneck',
      'GSConv',
      'GSBottleneckC',
      'VoVGSCSP',
      'VoVGSCSPC',
    ],
    ['BottleneckCSP', 'BottleneckCSP2', 'SPPCSP', 'VoVCSP', 'C3', 'VoVGSCSP', 'VoVGSCSPC'],
    { HarDBlock: 'hardblock', HarDBlock2: 'hardblock', Concat: 'concat', Detect: 'head' },
  ),
  // nn.Conv2d is in this parse_model's channel set (c1 prepended, c2 width-scaled); no ConvTranspose2d branch
  nn: TORCH_NN.map((d) => [d, d.name === 'Conv2d' ? 'channels' : d.name === 'BatchNorm2d' ? 'bn' : 'plain'] as const),
  conv: 'own-act',
  summary: 'scaled-yolov4',
  defaultActName: 'Mish',
  honoursActivationKey: false,
  honoursChannelMultiple: false,
});

/**
 * The names tasks.py imports (L12-63) that parse_model can reach through `globals()[m]`; internal helpers such as
 * DFL and Proto are defined in the catalog but are not in this namespace.
 */
const ULTRALYTICS_NOT_IN_TASKS = new Set([
  'DFL',
  'Proto',
  'C3k',
  'CIB',
  'RepBottleneck',
  'RepCSP',
  'ResNetBlock',
  'MaxSigmoidAttnBlock',
  'ContrastiveHead',
  'BNContrastiveHead',
  'Attention',
  'PSABlock',
  'TransformerEncoderLayer',
  'TransformerLayer',
  'TransformerBlock',
  'MLPBlock',
  'MLP',
  'LayerNorm2d',
  'MSDeformAttn',
  'DeformableTransformerDecoderLayer',
  'DeformableTransformerDecoder',
  'LightConv',
  'ChannelAttention',
  'SpatialAttention',
  'CBAM',
  'C3f',
]);

/** slim-neck-by-gsconv gsconv-yolov8_9_10_11/ultralytics/nn/tasks.py L933-1072 */
export const ULTRALYTICS_8_3: Framework = makeFramework({
  id: 'ultralytics-8.3',
  dialect: 'ultralytics',
  label: 'ultralytics 8.3 (with the Slim-neck modules)',
  origin: 'AlanLi1997/slim-neck-by-gsconv@8357ef6 gsconv-yolov8_9_10_11/ultralytics',
  modules: namespace(
    [
      ...ULTRALYTICS_CONV_MODULES,
      ...ULTRALYTICS_BLOCK_MODULES,
      ...ULTRALYTICS_HEAD_MODULES,
      ...ULTRALYTICS_TRANSFORMER_MODULES,
      ...ULTRALYTICS_WORLD_MODULES,
    ].filter((d) => !ULTRALYTICS_NOT_IN_TASKS.has(d.name)),
    [
      'GSConv',
      'GSConvE',
      'GSConvE2',
      'GSBottleneckC',
      'GSBottleneck',
      'GSConvns',
      'VoVGSCSPC',
      'VoVGSCSP',
      'Classify',
      'Conv',
      'ConvTranspose',
      'GhostConv',
      'Bottleneck',
      'GhostBottleneck',
      'SPP',
      'SPPF',
      'C2fPSA',
      'C2PSA',
      'DWConv',
      'Focus',
      'BottleneckCSP',
      'C1',
      'C2',
      'C2f',
      'C3k2',
      'RepNCSPELAN4',
      'ELAN1',
      'ADown',
      'AConv',
      'SPPELAN',
      'C2fAttn',
      'C3',
      'C3TR',
      'C3Ghost',
      'DWConvTranspose2d',
      'C3x',
      'RepC3',
      'PSA',
      'SCDown',
      'C2fCIB',
    ],
    [
      'VoVGSCSPC',
      'VoVGSCSP',
      'BottleneckCSP',
      'C1',
      'C2',
      'C2f',
      'C3k2',
      'C2fAttn',
      'C3',
      'C3TR',
      'C3Ghost',
      'C3x',
      'RepC3',
      'C2fPSA',
      'C2fCIB',
      'C2PSA',
    ],
    {
      AIFI: 'aifi',
      HGStem: 'hgstem',
      HGBlock: 'hgblock',
      ResNetLayer: 'resnet',
      Concat: 'concat',
      Detect: 'head',
      WorldDetect: 'head',
      Segment: 'head',
      Pose: 'head',
      OBB: 'head',
      ImagePoolingAttn: 'head',
      v10Detect: 'head',
      RTDETRDecoder: 'rtdetr',
      CBLinear: 'cblinear',
      CBFuse: 'cbfuse',
    },
  ),
  nn: TORCH_NN.map((d) => [d, nnTreat(d)] as const),
  conv: 'shared-default-act',
  summary: 'ultralytics',
  defaultActName: 'SiLU',
  honoursActivationKey: true,
  honoursChannelMultiple: false,
});

export const FRAMEWORKS: Readonly<Partial<Record<FrameworkId, Framework>>> = {
  yolov5: YOLOV5,
  'yolov5-gsconv': YOLOV5_GSCONV,
  'scaled-yolov4': SCALED_YOLOV4,
  'ultralytics-8.3': ULTRALYTICS_8_3,
};

/** Names a user may write besides the ids (CLI, settings, modeline): `ultralytics` is the newest ultralytics. */
export const FRAMEWORK_ALIASES: Readonly<Record<string, FrameworkId>> = { ultralytics: 'ultralytics-8.3' };

/** Every name a user may write for a framework: the ids, then the aliases. */
export const frameworkNames = (): string[] => [...Object.keys(FRAMEWORKS), ...Object.keys(FRAMEWORK_ALIASES)];

/** The framework a user-written id or alias names, or undefined. */
export function frameworkByName(name: string): Framework | undefined {
  const id = (FRAMEWORK_ALIASES[name] ?? name) as FrameworkId;
  return Object.prototype.hasOwnProperty.call(FRAMEWORKS, id) ? FRAMEWORKS[id] : undefined;
}

export const frameworkById = (id: FrameworkId): Framework | undefined => FRAMEWORKS[id];
