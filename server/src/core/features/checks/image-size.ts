/**
 * Image sizes the framework accepts but the network cannot take (YOLO038): the frameworks round an image size to a
 * multiple of the model's stride (`model.stride.max()`, the largest Detect input stride), but a backbone that
 * downsamples further than its head reads (an extra P6 stage, a P5 output left out of Detect) needs a multiple of its
 * real downsampling; other sizes break the first Concat of an upsampled and a downsampled map.
 */
import { CODES, type Diagnostic, diag } from '../../diagnostics.ts';
import type { Model } from '../../model.ts';

/** How many sizes above the model's own are tried before giving up (each is one cached static pass). */
const TRIES = 4;

/** The largest downsampling of the network: the image size over the smallest feature map any layer outputs. */
function realDownsampling(model: Model): number {
  let smallest = Infinity;
  for (const l of model.layers) {
    const s = l.outShape;
    if (s && s.length === 4 && s[2]! > 0) smallest = Math.min(smallest, s[2]!);
  }
  return Number.isFinite(smallest) ? Math.round(model.imgsz / smallest) : 1;
}

/**
 * The multiple the framework rounds image sizes to: YOLOv5's detect.py takes the model stride itself (train.py at
 * least 32); ultralytics takes at least 32 everywhere.
 */
function acceptedMultiple(model: Model): number {
  const stride = Math.trunc(model.maxStride);
  return model.dialect === 'yolov5' ? stride : Math.max(stride, 32);
}

export function imageSizeChecks(model: Model): Diagnostic[] {
  if (!model.ok || !model.strides) return [];
  const grid = acceptedMultiple(model);
  const down = realDownsampling(model);
  if (grid <= 0 || down <= grid) return [];
  // the nearest accepted sizes above the model's own that the real downsampling does not divide
  const base = Math.ceil(model.imgsz / grid) * grid;
  for (let k = 0, size = base; k < TRIES && size <= 8192; size += grid) {
    if (size % down === 0) continue;
    k++;
    const failure = model.forwardAt(size);
    if (!failure) continue;
    const message =
      `this network downsamples by ${down} but its largest detection stride is ${Math.trunc(model.maxStride)}, so the ` +
      `framework accepts image sizes that are multiples of ${grid} but not of ${down}: at ${size} this layer fails ` +
      `(${failure.message})`;
    return [
      diag('YOLO038', failure.range, message, CODES.YOLO038.severity, {
        ...(failure.layer !== undefined ? { layer: failure.layer } : {}),
        data: { imgsz: size, downsampling: down, stride: model.maxStride },
        ...(failure.related ? { related: [...failure.related] } : {}),
      }),
    ];
  }
  return [];
}
