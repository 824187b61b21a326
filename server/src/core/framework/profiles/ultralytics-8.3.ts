/**
 * ultralytics 8.3.0 with the Slim-neck modules (AlanLi1997/slim-neck-by-gsconv `gsconv-yolov8_9_10_11`):
 * parse_model `ultralytics/nn/tasks.py` L933-1072. `scales:` with max_channels, string args named or
 * `ast.literal_eval`ed.
 */
import { ULTRALYTICS_CONV_MODULES } from '../../catalog/ultralytics/conv.ts';
import { ULTRALYTICS_SLIMNECK_MODULES } from '../../catalog/ultralytics/slimneck.ts';
import { ULTRALYTICS_BLOCK_MODULES } from '../../catalog/ultralytics/block.ts';
import { ULTRALYTICS_HEAD_MODULES } from '../../catalog/ultralytics/head.ts';
import { ULTRALYTICS_TRANSFORMER_MODULES } from '../../catalog/ultralytics/transformer.ts';
import { ULTRALYTICS_WORLD_MODULES } from '../../catalog/ultralytics/world.ts';
import { makeFramework, names } from '../profile.ts';
import { c2fAttnWidth, c3k2Scale83, segmentWidthUltralytics } from '../rules.ts';
import type { Framework, HeaderRules, LayerRules, LoaderRules } from '../types.ts';

/**
 * The names tasks.py imports (L12-63) that parse_model can reach through `globals()[m]`; internal helpers such as
 * DFL and Proto are defined in the catalog but are not in this namespace.
 */
const NOT_IN_TASKS = new Set(
  names(`DFL Proto C3k CIB RepBottleneck RepCSP ResNetBlock MaxSigmoidAttnBlock ContrastiveHead BNContrastiveHead Attention
    PSABlock TransformerEncoderLayer TransformerLayer TransformerBlock MLPBlock MLP LayerNorm2d MSDeformAttn
    DeformableTransformerDecoderLayer DeformableTransformerDecoder LightConv ChannelAttention SpatialAttention CBAM C3f`),
);

export const ULTRALYTICS_HEADER: HeaderRules = {
  required: names('backbone head'),
  scales: true,
  anchors: false,
  chKey: () => 'ch',
  activation: true,
  channelMultiple: false,
  headKeys: false,
  scaleFromFileName: /yolo[v]?\d+(?<scale>[nslmx])/,
  scaleWithoutScales: 'unbound',
  otherKeys: ['kpt_shape', 'inplace', 'scale'],
};

/** BaseModel.load: `intersect_dicts` of the checkpoint's `ema or model` with the model's state_dict */
export const ULTRALYTICS_8_3_LOADER: LoaderRules = {
  exclude: [],
  partialFirstConv: false,
  entry: 'ema-or-model',
  logLine: (n, m) => `Transferred ${n}/${m} items from pretrained weights`,
};

export const ULTRALYTICS_LAYERS: LayerRules = {
  argEval: 'literal',
  unevaluable: 'error',
  chList: 'reset-after-first',
  repeatsPrinted: 'scaled',
  width: 'ultralytics',
};

/** every ultralytics 8.3 definition of the catalog, the helpers tasks.py does not import included */
const ALL_8_3 = [
  ...ULTRALYTICS_CONV_MODULES,
  ...ULTRALYTICS_SLIMNECK_MODULES,
  ...ULTRALYTICS_BLOCK_MODULES,
  ...ULTRALYTICS_HEAD_MODULES,
  ...ULTRALYTICS_TRANSFORMER_MODULES,
  ...ULTRALYTICS_WORLD_MODULES,
];

export const ULTRALYTICS_8_3: Framework = makeFramework({
  id: 'ultralytics-8.3',
  dialect: 'ultralytics',
  label: 'ultralytics 8.3 (with the Slim-neck modules)',
  codeBase: 'ultralytics',
  version: '8.3.0',
  origin: 'AlanLi1997/slim-neck-by-gsconv@8357ef6 gsconv-yolov8_9_10_11/ultralytics',
  namespace: {
    defs: ALL_8_3.filter((d) => !NOT_IN_TASKS.has(d.name)),
    channels: names(`GSConv GSConvE GSConvE2 GSBottleneckC GSBottleneck GSConvns VoVGSCSPC VoVGSCSP Classify Conv ConvTranspose
      GhostConv Bottleneck GhostBottleneck SPP SPPF C2fPSA C2PSA DWConv Focus BottleneckCSP C1 C2 C2f C3k2 RepNCSPELAN4 ELAN1
      ADown AConv SPPELAN C2fAttn C3 C3TR C3Ghost DWConvTranspose2d C3x RepC3 PSA SCDown C2fCIB`),
    repeats: names('VoVGSCSPC VoVGSCSP BottleneckCSP C1 C2 C2f C3k2 C2fAttn C3 C3TR C3Ghost C3x RepC3 C2fPSA C2fCIB C2PSA'),
    special: {
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
  },
  helpers: ALL_8_3,
  rules: { C2fAttn: c2fAttnWidth, C3k2: c3k2Scale83, Segment: segmentWidthUltralytics },
  conv: 'shared-default-act',
  summary: { format: 'ultralytics', layers: 'modules', fusedMark: true, scaleInName: true },
  gflops: { kind: 'stride', channels: 'first-param', retryAt640: true },
  defaultActName: 'SiLU',
  header: ULTRALYTICS_HEADER,
  layers: ULTRALYTICS_LAYERS,
  loader: ULTRALYTICS_8_3_LOADER,
  fuseFreezes: false,
  modelInputs: (stem) => (stem.includes('-world') ? 'world' : null),
});
