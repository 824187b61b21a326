/**
 * parse_model's rules for single modules (`if m is C2fAttn: ...`), shared by the profiles that have them.
 */
import { isNumeric, makeDivisible, num, pyRound } from '../py.ts';
import type { LayerContext, ModuleRule } from './types.ts';

/** ultralytics: C2fAttn's embed channels and heads follow the width (`args[1]`, `args[2]` of the YAML) */
export const c2fAttnWidth: ModuleRule = {
  before(t: LayerContext) {
    const { args } = t;
    const h = t.header;
    if (args.length < 3 || !isNumeric(args[1]!) || !isNumeric(args[2]!)) {
      t.fail('YOLO012', t.ranges.args, 'C2fAttn needs [c2, ec, nh, ...]');
      return false;
    }
    const half = Math.floor(h.maxChannels / 2);
    args[1] = makeDivisible(Math.min(num(args[1]!), half) * h.width!, 8);
    const nh = num(args[2]!);
    if (nh > 1) args[2] = Math.trunc(Math.max(pyRound(Math.min(nh, Math.floor(half / 32))) * h.width!, 1));
    return true;
  },
};

/**
 * ultralytics 8.3: `if m is C3k2 and scale in "mlx": args[3] = True` — `scale` exists only when the file has
 * `scales:`, so a C3k2 in a file without them raises UnboundLocalError.
 */
export const c3k2Scale83: ModuleRule = {
  after(t: LayerContext) {
    const scale = t.header.scaleVar;
    if (scale === null) {
      t.fail(
        'YOLO022',
        t.ranges.module,
        'C3k2 in a YAML without scales: parse_model reads `scale`, which only exists with scales (UnboundLocalError)',
      );
      return false;
    }
    if ('mlx'.includes(scale)) return c3kAssign(t, scale);
    return true;
  },
};

/**
 * `args[3] = True` on `[c1, c2, n, *yaml_args[1:]]`: the C3k2 row must write the c3k argument (its 2nd YAML arg),
 * or the assignment raises IndexError.
 */
export function c3kAssign(t: LayerContext, scale: string): boolean {
  if (t.args.length < 4) {
    const why = scale ? `at scale '${scale}'` : "with the empty scale ('' is in every string)";
    t.fail(
      'YOLO012',
      t.ranges.args,
      `C3k2 ${why}: parse_model sets args[3] = True (c3k) and needs the row to write it: ` +
        `[c2, c3k, ...] (IndexError: list assignment index out of range)`,
    );
    return false;
  }
  t.args[3] = true;
  return true;
}

/** YOLOv5 HEAD: Segment's mask channels `args[3]` follow the width and `channel_multiple` */
export const segmentWidthYolov5: ModuleRule = {
  after(t: LayerContext) {
    if (t.args.length < 5 || !isNumeric(t.args[3]!)) {
      t.fail('YOLO012', t.ranges.args, 'Segment needs [nc, anchors, nm, npr]');
      return false;
    }
    if (t.header.width === null) return false;
    t.args[3] = makeDivisible(num(t.args[3]!) * t.header.width, t.header.channelMultiple);
    return true;
  },
};

/** ultralytics: Segment's prototype channels `args[2]` follow the width, capped at max_channels */
export const segmentWidthUltralytics: ModuleRule = {
  after(t: LayerContext) {
    if (t.args.length < 4 || !isNumeric(t.args[2]!)) {
      t.fail('YOLO012', t.ranges.args, 'Segment needs [nc, nm, npr] (IndexError: list index out of range)');
      return false;
    }
    if (t.header.width === null) return false;
    t.args[2] = makeDivisible(Math.min(num(t.args[2]!), t.header.maxChannels) * t.header.width, 8);
    return true;
  },
};
