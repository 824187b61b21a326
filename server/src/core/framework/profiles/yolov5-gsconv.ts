/**
 * The Slim-neck YOLOv5 fork (AlanLi1997/slim-neck-by-gsconv `gsconv-yolov5`): an older YOLOv5 with GSConv, VoVGSCSP
 * and their kin. parse_model: `gsconv-yolov5/models/yolo.py` L259-282. Its Conv makes its own Mish and it ignores
 * `activation:` and `channel_multiple:`.
 */
import { yolov5Kit } from '../../catalog/yolov5.ts';
import { gsconvYolov5Modules } from '../../catalog/gsconv-yolov5.ts';
import { makeFramework, names } from '../profile.ts';
import { HEAD_TREATMENTS } from '../treatments.ts';
import type { Framework } from '../types.ts';
import { YOLOV5_HEADER, YOLOV5_LAYERS, YOLOV5_LOADER } from './yolov5.ts';

const kit = yolov5Kit('fork');

export const YOLOV5_GSCONV: Framework = makeFramework({
  id: 'yolov5-gsconv',
  dialect: 'yolov5',
  label: 'YOLOv5 Slim-neck fork (AlanLi1997/slim-neck-by-gsconv gsconv-yolov5)',
  codeBase: 'yolov5-gsconv',
  version: '8357ef6',
  origin: 'AlanLi1997/slim-neck-by-gsconv@8357ef6 gsconv-yolov5',
  namespace: {
    defs: [...kit.all, ...gsconvYolov5Modules(kit)],
    channels: names('Conv Bottleneck SPP SPPF DWConv MixConv2d CrossConv BottleneckCSP C3 C3TR GSConv VoVGSCSP VoVGSCSPC'),
    repeats: names('BottleneckCSP C3 C3TR VoVGSCSP VoVGSCSPC'),
    special: { Concat: 'concat', Detect: 'head', Contract: 'contract', Expand: 'expand' },
  },
  treatments: { head: HEAD_TREATMENTS.withAnchors },
  conv: 'own-act',
  summary: { format: 'yolov5-fork', layers: 'modules', fusedMark: false, scaleInName: false },
  gflops: { kind: 'stride', channels: 'model', retryAt640: false },
  defaultActName: 'Mish',
  header: { ...YOLOV5_HEADER, activation: false, channelMultiple: false },
  layers: YOLOV5_LAYERS,
  loader: YOLOV5_LOADER,
  fuseFreezes: false,
  modelInputs: () => null,
});
