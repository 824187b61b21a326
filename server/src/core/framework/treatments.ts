/**
 * The branches of parse_model's `if m in {...}` chain, one function each. A framework's treatment table maps each
 * branch name to one of these (or to its own variant: YOLOv5's head expands integer anchors, ultralytics 8.4's
 * appends reg_max and end2end); the resolver calls the table and never asks which framework it runs.
 */
import { isNumeric, isSeq, makeDivisible, num, pyBrief, pyEq, seqItems, truthy, type PyVal } from '../py.ts';
import type { ModuleDef } from '../catalog/types.ts';
import type { ChEntry, FilledParam, LayerContext, Treatment, TreatmentName } from './types.ts';

/** Largest `anchors: N` (anchors per level): real models use 3. */
export const MAX_ANCHORS = 1000;

const shift =
  (by: number) =>
  (k: number): number =>
    k + by;
const same = (k: number): number => k;
const C1: FilledParam = { argIndex: 0, why: 'the input layer\u2019s channels' };
const none = (): readonly FilledParam[] => [];
const FROM_CHANNELS = 'the channels of the `from` layers';
/**
 * The head branches append the channels of the `from` layers (8.4: reg_max and end2end before them) to the YAML's
 * args: they fill the signature's parameters of those names, and the YAML writes the ones before the first.
 */
function appended(names: Readonly<Record<string, string>>): Pick<Treatment, 'filled' | 'yamlEnd'> {
  const at = (def: ModuleDef) => def.signature.findIndex((p) => p.name in names);
  return {
    filled: (def) => def.signature.flatMap((p, argIndex) => (p.name in names ? [{ argIndex, why: names[p.name]! }] : [])),
    yamlEnd: (def) => (at(def) < 0 ? def.signature.length : at(def)),
  };
}

/** the input of a module that takes one tensor: null (and a diagnostic) when `from` is a list */
function single(t: LayerContext): number | null {
  if (t.fromIsList) {
    t.fail(
      'YOLO006',
      t.ranges.from,
      `${t.def.name} takes one input: from must be an int (TypeError: list indices must be integers or slices, not list)`,
    );
    return null;
  }
  return t.rawFrom[0]!;
}

/** a module that takes a list of inputs: false (and a diagnostic) when `from` is an int */
function needList(t: LayerContext): boolean {
  if (!t.fromIsList) {
    t.fail('YOLO006', t.ranges.from, `${t.def.name} takes a list of inputs: from must be a list (TypeError: 'int' object is not iterable)`);
    return false;
  }
  return true;
}

/** Scaled-YOLOv4 keeps the input at ch[0]: a list `from` reads ch[x + 1] (the head even for -1, Concat not). */
function listCh(t: LayerContext, x: number, kind: 'concat' | 'head'): ChEntry {
  if (t.framework.layers.chList !== 'keeps-input') return t.chAt(x);
  return t.chAt(kind === 'concat' && x === -1 ? -1 : x + 1);
}

const bindAll = (t: LayerContext, passed: (k: number) => PyVal = (k) => t.evaluated[k]!): void =>
  t.evaluated.forEach((_, k) => t.bind(k, passed(k)));

/** c2 after the framework's width rule, with the note hovers show; null when it cannot be computed */
function scaledC2(t: LayerContext, c2: PyVal): { c2: PyVal; note: string } | null {
  const h = t.header;
  const v5 = t.framework.layers.width === 'yolov5';
  const exempt = v5 ? h.no !== null && pyEq(c2, h.no) : pyEq(c2, h.nc);
  if (exempt) return { c2, note: v5 ? `${pyBrief(c2)} = no (na·(nc+5)): not width-scaled` : `${pyBrief(c2)} = nc: not width-scaled` };
  if (!isNumeric(c2)) {
    t.fail('YOLO013', t.ranges.arg[0]!, `output channels must be a number, got ${pyBrief(c2)}`);
    return null;
  }
  if (h.width === null) return null;
  const raw = num(c2);
  const capped = v5 ? raw : Math.min(raw, h.maxChannels);
  const scaled = makeDivisible(capped * h.width, v5 ? h.channelMultiple : 8);
  const cap = !v5 && raw > h.maxChannels ? ` → max_channels ${h.maxChannels}` : '';
  return { c2: scaled, note: `${pyBrief(c2)}${cap} × ${h.width} → ${scaled}` };
}

/** `c1, c2 = ch[f], args[0]`, c2 width-scaled, `args = [c1, c2, *args[1:]]`; `repeats` inserts n at args[2] */
function channelsLike(withRepeats: boolean): Treatment {
  return {
    argIndex: withRepeats ? (k) => (k === 0 ? 1 : k + 2) : shift(1),
    filled: withRepeats ? () => [C1, { argIndex: 2, why: 'the repeat count after depth_multiple' }] : () => [C1],
    note: withRepeats
      ? 'parse_model prepends c1, scales c2 by width_multiple and inserts the repeat count n after it'
      : 'parse_model prepends c1 (the input\u2019s channels) and scales c2 by width_multiple',
    apply(t) {
      const x = single(t);
      if (x === null) return false;
      const raw = t.chAt(x);
      if (Array.isArray(raw) && t.framework.layers.chList !== 'keeps-input') {
        // ch[f] of a CBLinear layer is its list of split channels: the constructor gets a list for c1
        t.fail(
          'YOLO015',
          t.ranges.from,
          `${t.def.name} takes one tensor but layer ${x} (CBLinear) outputs a tuple of maps: only CBFuse can take it ` +
            `(c1 = ch[f] is the list ${JSON.stringify(raw)})`,
          'build',
        );
        return false;
      }
      if (t.args.length === 0) {
        t.fail('YOLO012', t.ranges.args, `${t.def.name} needs its output channels as the first arg (IndexError: list index out of range)`);
        return false;
      }
      const scaled = scaledC2(t, t.args[0]!);
      if (!scaled) return false;
      const c1 = t.chOf(x);
      if (c1 === null) return false;
      t.c1 = c1;
      t.c2 = num(scaled.c2);
      t.args = [c1, scaled.c2, ...t.args.slice(1)];
      t.bind(0, scaled.c2, scaled.note);
      for (let k = 1; k < t.evaluated.length; k++) t.bind(k, t.args[k + 1]!);
      if (withRepeats) {
        t.args.splice(2, 0, t.n);
        t.copies = 1;
        if (t.framework.layers.repeatsPrinted === 'one') t.nPrinted = 1;
      }
      return true;
    },
  };
}

const concat: Treatment = {
  argIndex: same,
  filled: none,
  note: 'its output channels are the sum of its inputs\u2019',
  apply(t) {
    if (!needList(t)) return false;
    const chs = t.rawFrom.map((x) => listCh(t, x, 'concat'));
    if (chs.some((c) => Array.isArray(c))) {
      t.fail(
        'YOLO015',
        t.ranges.from,
        "Concat cannot take a CBLinear output (a tuple of maps; use CBFuse): parse_model's sum(ch[x] for x in f) raises " +
          "TypeError: unsupported operand type(s) for +: 'int' and 'list'",
      );
      return false;
    }
    if (chs.some((c) => typeof c !== 'number')) return false;
    t.c2 = (chs as number[]).reduce((a, b) => a + b, 0);
    bindAll(t);
    return true;
  },
};

const bn: Treatment = {
  argIndex: () => null, // parse_model replaces the args with [ch[f]]
  filled: () => [{ argIndex: 0, why: 'the input layer\u2019s channels (YAML args are ignored)' }],
  note: 'parse_model passes only the input\u2019s channels',
  apply(t) {
    const x = single(t);
    if (x === null) return false;
    const c1 = t.chOf(x);
    if (c1 === null) return false;
    t.args = [c1];
    // c2 is not assigned either: the previous layer's c2 stays (stale)
    return true;
  },
};

/** the channels of every head input, as parse_model lists them; null when one is unknown */
function headChannels(t: LayerContext): number[] | null {
  const chs = t.rawFrom.map((x) => listCh(t, x, 'head'));
  return chs.some((c) => typeof c !== 'number') ? null : (chs as number[]);
}

/** `args.append([ch[x] for x in f])`; c2 is not assigned (the next layer sees the previous layer's c2) */
const head: Treatment = {
  argIndex: same,
  ...appended({ ch: FROM_CHANNELS }),
  note: 'parse_model appends the channels of the `from` layers',
  apply(t) {
    if (!needList(t)) return false;
    const chs = headChannels(t);
    if (!chs) return false;
    t.args.push(chs);
    bindAll(t, (k) => t.args[k]!);
    return true;
  },
};

/** YOLOv5: `args.append([ch[x] for x in f])`, then an int `args[1]` becomes `[list(range(args[1] * 2))] * len(f)` */
const headWithAnchors: Treatment = {
  argIndex: same,
  ...appended({ ch: FROM_CHANNELS }),
  note: 'parse_model appends the channels of the `from` layers (an int anchors becomes rows)',
  apply(t) {
    if (!head.apply(t)) return false;
    // `isinstance(args[1], int)` right after the append: an empty args list has no args[1]
    if (t.args.length < 2) {
      const more = t.def.name === 'Segment' ? ', nm, npr' : '';
      t.fail(
        'YOLO012',
        t.ranges.args,
        `${t.def.name} needs [nc, anchors${more}]: parse_model reads args[1] (IndexError: list index out of range)`,
      );
      return false;
    }
    const perLevel = t.args[1]!;
    if (typeof perLevel === 'number' && Number.isInteger(perLevel)) {
      // `anchors: 1000000000` would make parse_model build a list of 2e9 values per level (MemoryError upstream)
      if (perLevel > MAX_ANCHORS) {
        t.fail(
          'YOLO023',
          t.ranges.arg[1] ?? t.ranges.args,
          `${perLevel} anchors per level is beyond anything buildable (parse_model would build a list of ${perLevel * 2} values ` +
            `per level; YOLO Lens stops at ${MAX_ANCHORS})`,
          'build',
        );
        return false;
      }
      const row = Array.from({ length: perLevel * 2 }, (_, k) => k);
      t.args[1] = Array.from({ length: t.rawFrom.length }, () => row);
    }
    return true;
  },
};

/** ultralytics 8.4: `args.extend([reg_max, end2end, [ch[x] for x in f]])` */
const headWithRegMax: Treatment = {
  argIndex: same,
  ...appended({ reg_max: 'the file\u2019s reg_max (default 16)', end2end: 'the file\u2019s end2end', ch: FROM_CHANNELS }),
  note: 'parse_model appends reg_max, end2end and the channels of the `from` layers',
  apply(t) {
    if (!needList(t)) return false;
    const chs = headChannels(t);
    if (!chs) return false;
    t.args.push(t.header.regMax, t.header.end2end, chs);
    bindAll(t, (k) => t.args[k]!);
    return true;
  },
};

/** `args.insert(1, [ch[x] for x in f])` (RTDETRDecoder; ImagePoolingAttn in 8.4) */
const channelsSecond: Treatment = {
  argIndex: (k) => (k === 0 ? 0 : k + 1),
  filled: () => [{ argIndex: 1, why: FROM_CHANNELS }],
  note: 'parse_model inserts the channels of the `from` layers as the second arg',
  apply(t) {
    if (!needList(t)) return false;
    const chs = t.rawFrom.map((x) => t.chAt(x));
    if (chs.some((c) => typeof c !== 'number')) return false;
    t.args.splice(1, 0, chs as number[]);
    bindAll(t);
    return true;
  },
};

/** `args = [ch[f], *args]` for a one-input layer: the input's channels, or null when the layer cannot be resolved. */
function prependInputChannels(t: LayerContext): number | null {
  const x = single(t);
  if (x === null) return null;
  const c1 = t.chOf(x);
  if (c1 === null) return null;
  t.args = [c1, ...t.args];
  bindAll(t);
  return c1;
}

/** `args = [ch[f], *args]`, c2 not assigned */
const aifi: Treatment = {
  argIndex: shift(1),
  filled: () => [C1],
  note: 'parse_model prepends c1 (the input\u2019s channels); args are not width-scaled',
  apply(t) {
    const c1 = prependInputChannels(t);
    if (c1 === null) return false;
    t.c1 = c1;
    return true;
  },
};

/** `c1, cm, c2 = ch[f], args[0], args[1]`; HGBlock inserts n at args[4] */
function hgLike(withRepeats: boolean): Treatment {
  return {
    argIndex: withRepeats ? (k) => (k >= 3 ? k + 2 : k + 1) : shift(1),
    filled: withRepeats ? () => [C1, { argIndex: 4, why: 'the repeat count' }] : () => [C1],
    note: withRepeats
      ? 'parse_model prepends c1 and inserts the repeat count n; not width-scaled'
      : 'parse_model prepends c1; cm and c2 are not width-scaled',
    apply(t) {
      const x = single(t);
      if (x === null) return false;
      const c1 = t.chOf(x);
      if (t.args.length < 2) {
        t.fail('YOLO012', t.ranges.args, `${t.def.name} needs [cm, c2, ...]`);
        return false;
      }
      if (!isNumeric(t.args[1]!)) {
        t.fail('YOLO013', t.ranges.arg[1]!, `${t.def.name}'s c2 (args[1]) must be a number, got ${pyBrief(t.args[1]!)}`);
        return false;
      }
      if (c1 === null) return false;
      t.c2 = num(t.args[1]!);
      t.args = [c1, t.args[0]!, t.args[1]!, ...t.args.slice(2)];
      if (withRepeats) {
        t.args.splice(4, 0, t.n);
        t.copies = 1;
      }
      bindAll(t);
      t.c1 = c1;
      return true;
    },
  };
}

/** `c2 = args[1] if args[3] else args[1] * 4` */
const resnet: Treatment = {
  argIndex: same,
  filled: none,
  note: 'output channels: c2 when is_first, else c2 × 4 (args verbatim)',
  apply(t) {
    if (single(t) === null) return false;
    if (t.args.length < 4 || !isNumeric(t.args[1]!)) {
      t.fail('YOLO012', t.ranges.args, 'ResNetLayer needs [c1, c2, s, is_first, ...] (parse_model reads args[1] and args[3])');
      return false;
    }
    t.c2 = truthy(t.args[3]!) ? num(t.args[1]!) : num(t.args[1]!) * 4;
    bindAll(t);
    return true;
  },
};

/** `c2 = args[0]` (a list); `args = [ch[f], c2, *args[1:]]` */
const cblinear: Treatment = {
  argIndex: shift(1),
  filled: () => [C1],
  note: 'parse_model prepends c1; the output is the list of channels',
  apply(t) {
    const x = single(t);
    if (x === null) return false;
    const c1 = t.chOf(x);
    if (t.args.length === 0) {
      t.fail('YOLO012', t.ranges.args, 'CBLinear needs [c2s, ...]: parse_model reads args[0] (IndexError: list index out of range)');
      return false;
    }
    if (c1 === null) return false;
    const c2s = t.args[0]!;
    if (!isSeq(c2s)) {
      t.fail('YOLO013', t.ranges.arg[0]!, 'CBLinear takes a list of output channels as its first arg');
      return false;
    }
    t.c2 = seqItems(c2s).map(num);
    t.args = [c1, c2s, ...t.args.slice(1)];
    bindAll(t);
    return true;
  },
};

/** `c2 = ch[f[-1]]` */
const cbfuse: Treatment = {
  argIndex: same,
  filled: none,
  note: 'output channels: those of the last input',
  apply(t) {
    if (!needList(t)) return false;
    t.c2 = t.chAt(t.rawFrom[t.rawFrom.length - 1]!) as number;
    bindAll(t);
    return true;
  },
};

/** Contract `c2 = ch[f] * args[0] ** 2`, Expand `c2 = ch[f] // args[0] ** 2` */
function gain(kind: 'contract' | 'expand'): Treatment {
  return {
    argIndex: same,
    filled: none,
    note: kind === 'contract' ? 'output channels: c1 × gain²' : 'output channels: c1 / gain²',
    apply(t) {
      const x = single(t);
      if (x === null) return false;
      const c1 = t.chOf(x);
      const g = t.args[0];
      if (g === undefined) {
        t.fail('YOLO012', t.ranges.args, `${t.def.name} needs [gain]`);
        return false;
      }
      if (!isNumeric(g)) {
        // parse_model computes ch[f] * (or //) args[0] ** 2 whatever the input: a non-number raises there
        t.fail(
          'YOLO013',
          t.ranges.arg[0]!,
          `${t.def.name}'s gain must be a number, got ${pyBrief(g)}: parse_model computes ch[f] ${kind === 'contract' ? '*' : '//'} ` +
            'args[0] ** 2 (TypeError: unsupported operand type(s) for ** or pow())',
        );
        return false;
      }
      if (c1 === null) return false;
      t.c2 = kind === 'contract' ? c1 * num(g) ** 2 : Math.floor(c1 / num(g) ** 2);
      bindAll(t);
      return true;
    },
  };
}

/** Scaled-YOLOv4 HarDBlock: `args = [ch[f], *args]`; c2 = `m_.get_out_ch()` (the resolver reads the built block) */
const hardblock: Treatment = {
  argIndex: shift(1),
  filled: () => [C1],
  note: 'parse_model prepends c1 (the input\u2019s channels); args are not width-scaled',
  apply(t) {
    if (prependInputChannels(t) === null) return false;
    if (t.copies > 1) {
      t.fail(
        'YOLO029',
        t.ranges.n,
        `${t.def.name} with n = ${t.n} is built as an nn.Sequential of ${t.n} copies, and parse_model then calls m_.get_out_ch() ` +
          "on it (AttributeError: 'Sequential' object has no attribute 'get_out_ch')",
        'build',
      );
      return false;
    }
    t.c2 = null;
    return true;
  },
};

/** `c2 = ch[f]`, args verbatim */
const plain: Treatment = {
  argIndex: same,
  filled: none,
  note: 'parse_model passes the args verbatim (no width scaling)',
  apply(t) {
    const x = single(t);
    if (x === null) return false;
    t.c2 = t.chOf(x);
    bindAll(t);
    return true;
  },
};

/** `TorchVision` / `Index`: `c2 = args[0]; c1 = ch[f]; args = [*args[1:]]` */
const torchvision: Treatment = {
  argIndex: (k) => (k === 0 ? null : k - 1),
  filled: none,
  note: 'the first arg is the output channels (parse_model drops it); the rest is passed verbatim',
  apply(t) {
    const x = single(t);
    if (x === null) return false;
    if (t.args.length === 0) {
      t.fail('YOLO012', t.ranges.args, `${t.def.name} needs [c2, ...]: parse_model reads args[0] (IndexError: list index out of range)`);
      return false;
    }
    t.c1 = t.chOf(x);
    t.c2 = isNumeric(t.args[0]!) ? num(t.args[0]!) : null;
    t.args = t.args.slice(1);
    t.evaluated.forEach((v, k) => k > 0 && t.bind(k, v));
    return true;
  },
};

/** The treatments every framework shares; a framework overrides the ones its parse_model does differently. */
export const TREATMENTS: Readonly<Record<TreatmentName, Treatment>> = {
  channels: channelsLike(false),
  repeats: channelsLike(true),
  concat,
  bn,
  head,
  rtdetr: channelsSecond,
  aifi,
  hgstem: hgLike(false),
  hgblock: hgLike(true),
  resnet,
  cblinear,
  cbfuse,
  contract: gain('contract'),
  expand: gain('expand'),
  hardblock,
  headAppend: head,
  torchvision,
  plain,
};

/** The heads' variants: YOLOv5 expands integer anchors, ultralytics 8.4 appends reg_max and end2end. */
export const HEAD_TREATMENTS = { withAnchors: headWithAnchors, withRegMax: headWithRegMax, channelsSecond } as const;
