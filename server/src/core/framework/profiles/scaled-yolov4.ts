/**
 * The Slim-neck Scaled-YOLOv4 fork (AlanLi1997/slim-neck-by-gsconv `gsconv-scaled-yolov4`), parse_model
 * `models/yolo.py` L187-216: its ch list keeps the input at index 0 (a list `from` reads ch[x + 1]), a string arg
 * that does not evaluate stays a string, nn.Conv2d is in its channels set, and the model never reads `ch:`.
 */
import { SCALED_YOLOV4_MODULES } from '../../catalog/scaled-yolov4.ts';
import { makeFramework, names } from '../profile.ts';
import { HEAD_TREATMENTS } from '../treatments.ts';
import type { Framework } from '../types.ts';
import { YOLOV5_HEADER, YOLOV5_LAYERS, YOLOV5_LOADER } from './yolov5.ts';

export const SCALED_YOLOV4: Framework = makeFramework({
  id: 'scaled-yolov4',
  dialect: 'yolov5',
  label: 'Scaled-YOLOv4 Slim-neck fork (AlanLi1997/slim-neck-by-gsconv gsconv-scaled-yolov4)',
  codeBase: 'scaled-yolov4',
  version: '8357ef6',
  origin: 'AlanLi1997/slim-neck-by-gsconv@8357ef6 gsconv-scaled-yolov4',
  namespace: {
    defs: SCALED_YOLOV4_MODULES,
    channels: names(`Conv Bottleneck SPP DWConv MixConv2d Focus CrossConv BottleneckCSP BottleneckCSP2 SPPCSP VoVCSP C3
      GSBottleneck GSConv GSBottleneckC VoVGSCSP VoVGSCSPC`),
    repeats: names('BottleneckCSP BottleneckCSP2 SPPCSP VoVCSP C3 VoVGSCSP VoVGSCSPC'),
    special: { HarDBlock: 'hardblock', HarDBlock2: 'hardblock', Concat: 'concat', Detect: 'head' },
    // nn.Conv2d is in this parse_model's channel set (c1 prepended, c2 width-scaled); no ConvTranspose2d branch
    nn: (def) => (def.name === 'Conv2d' ? 'channels' : def.name === 'BatchNorm2d' ? 'bn' : 'plain'),
  },
  treatments: { head: HEAD_TREATMENTS.withAnchors },
  conv: 'own-act',
  summary: { format: 'scaled-yolov4', layers: 'tensors', fusedMark: false, scaleInName: false },
  gflops: { kind: 'fixed', size: 64, channels: 3, factor: 100 },
  defaultActName: 'Mish',
  header: { ...YOLOV5_HEADER, chKey: () => null, activation: false, channelMultiple: false, otherKeys: [] },
  layers: { ...YOLOV5_LAYERS, unevaluable: 'keep', chList: 'keeps-input', repeatsPrinted: 'one' },
  loader: YOLOV5_LOADER,
  fuseFreezes: false,
  modelInputs: () => null,
});
