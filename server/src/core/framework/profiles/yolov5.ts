/**
 * YOLOv5 (ultralytics/yolov5 HEAD): `models/yolo.py` parse_model L402-446, `models/common.py`.
 * Its string args are `eval`ed, channels are rounded to `channel_multiple` (default 8), and the heads expand an
 * integer `anchors` into rows.
 */
import { yolov5Kit } from '../../catalog/yolov5.ts';
import { makeFramework, names } from '../profile.ts';
import { HEAD_TREATMENTS } from '../treatments.ts';
import { segmentWidthYolov5 } from '../rules.ts';
import type { Framework, HeaderRules, LayerRules, LoaderRules } from '../types.ts';

/** The header every YOLOv5-dialect framework reads: `d['nc']`, `d['anchors']`... are KeyErrors when missing. */
export const YOLOV5_HEADER: HeaderRules = {
  required: names('nc depth_multiple width_multiple anchors backbone head'),
  scales: false,
  anchors: true,
  chKey: () => 'ch',
  activation: true,
  channelMultiple: true,
  headKeys: false,
  scaleFromFileName: null,
  scaleWithoutScales: 'unbound',
  otherKeys: ['inplace'],
};

/** train.py: `intersect_dicts(csd, model.state_dict(), exclude=['anchor'])` when a cfg is given */
export const YOLOV5_LOADER: LoaderRules = {
  exclude: ['anchor'],
  partialFirstConv: false,
  entry: 'model',
  logLine: (n, m, weights) => `Transferred ${n}/${m} items from ${weights}`,
};

export const YOLOV5_LAYERS: LayerRules = {
  argEval: 'eval',
  unevaluable: 'error',
  chList: 'reset-after-first',
  repeatsPrinted: 'scaled',
  width: 'yolov5',
};

const kit = yolov5Kit('upstream');

export const YOLOV5: Framework = makeFramework({
  id: 'yolov5',
  dialect: 'yolov5',
  label: 'YOLOv5 (ultralytics/yolov5)',
  codeBase: 'yolov5',
  version: '5081342',
  origin: 'ultralytics/yolov5@5081342',
  namespace: {
    defs: kit.all,
    channels: names(`Conv GhostConv Bottleneck GhostBottleneck SPP SPPF DWConv MixConv2d Focus CrossConv BottleneckCSP C3 C3TR
      C3SPP C3Ghost DWConvTranspose2d C3x`),
    repeats: names('BottleneckCSP C3 C3TR C3Ghost C3x'),
    special: { Concat: 'concat', Detect: 'head', Segment: 'head', Contract: 'contract', Expand: 'expand' },
  },
  treatments: { head: HEAD_TREATMENTS.withAnchors },
  rules: { Segment: segmentWidthYolov5 },
  conv: 'shared-default-act',
  summary: { format: 'ultralytics', layers: 'leaves', fusedMark: false, scaleInName: false },
  gflops: { kind: 'stride', channels: 'first-param', retryAt640: true },
  defaultActName: 'SiLU',
  header: YOLOV5_HEADER,
  layers: YOLOV5_LAYERS,
  loader: YOLOV5_LOADER,
  fuseFreezes: false,
  modelInputs: () => null,
});
