/**
 * ultralytics/nn/modules/conv.py of the ultralytics package vendored in AlanLi1997/slim-neck-by-gsconv @ 8357ef6
 * (`gsconv-yolov8_9_10_11/ultralytics`, version 8.3.x), including the Slim-neck modules added there.
 */
import { yolov5Kit } from '../yolov5.ts';
import type { ModuleDef } from '../types.ts';

const SRC = 'ultralytics/nn/modules/conv.py';
// Conv, DWConv and Concat are the same Python as YOLOv5 HEAD's (Conv.default_act shared, autopad with dilation).
const v5 = yolov5Kit('head');

export const Conv: ModuleDef = { ...v5.Conv, source: `${SRC}:Conv` };
export const DWConv: ModuleDef = { ...v5.DWConv, source: `${SRC}:DWConv` };
export const Concat: ModuleDef = { ...v5.Concat, source: `${SRC}:Concat` };

export const ULTRALYTICS_CONV_MODULES: readonly ModuleDef[] = [Conv, DWConv, Concat];
