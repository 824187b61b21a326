/**
 * The Slim-neck modules of the YOLOv5 fork (AlanLi1997/slim-neck-by-gsconv @ 8357ef6,
 * `gsconv-yolov5/models/common.py`), over that file's Conv (Conv2d + BatchNorm2d + Mish).
 */
import type { Builder } from '../nn/builder.ts';
import { buildError, type Flow, type Mod, type Shape } from '../nn/module.ts';
import { construct, f, type ModuleDef, param } from './types.ts';
import { c1p, c2p, range, type Yolov5Kit } from './yolov5.ts';

const SRC = 'gsconv-yolov5/models/common.py';

/**
 * GSConv's shuffle, as the fork writes it: reshape(b*n//2, 2, h*w) → permute(1, 0, 2) → reshape(2, -1, n//2, h, w)
 * → cat(y[0], y[1]). Written with the same ops so both interpreters see the same tensors.
 */
export function gsShuffle<T>(fl: Flow<T>, x2: T): T {
  const [b, n, h, w] = fl.shape(x2) as Shape as [number, number, number, number];
  const bn = Math.floor((b * n) / 2);
  let y = fl.view(x2, [bn, 2, h * w]);
  y = fl.permute(y, [1, 0, 2]);
  y = fl.view(y, [2, -1, Math.floor(n / 2), h, w]);
  const [y0, y1] = fl.split(y, 1, 0) as [T, T];
  const sq = (t: T): T => fl.view(t, (fl.shape(t) as Shape).slice(1));
  return fl.cat([sq(y0), sq(y1)], 1);
}

/** GSConv over a tree's Conv (identical Python in the YOLOv5 fork and the Scaled-YOLOv4 fork). */
export function gsConvDef(Conv: ModuleDef, src: string): ModuleDef {
  return {
    name: 'GSConv',
    category: 'slimneck',
    doc: 'Slim-neck GSConv: a dense Conv to c2/2 channels, a 5x5 depth-wise Conv on that, concatenated and channel-shuffled.',
    source: src,
    signature: [
      c1p,
      c2p,
      param('k', 'kernel', 'kernel of the dense conv', 1),
      param('s', 'kernel', 'stride of the dense conv', 1),
      param('g', 'int', 'groups of the dense conv', 1),
      param('act', 'act', 'activation flag', true),
    ],
    build: (b, a) => {
      const c2 = a.channels('c2');
      const c_ = Math.floor(c2 / 2);
      const cv1 = construct(b, Conv, [a.raw('c1'), c_, a.raw('k'), a.raw('s'), null, a.raw('g'), a.raw('act')]);
      const cv2 = construct(b, Conv, [c_, c_, 5, 1, null, c_, a.raw('act')]);
      return b.mod('GSConv', { cv1, cv2 }, (fl, x) => {
        const x1 = fl.call(cv1, x);
        return gsShuffle(fl, fl.cat([x1, fl.call(cv2, x1)], 1));
      });
    },
  };
}

/** GSConvns over a tree's Conv (the same bug in both forks: its forward returns an nn.ReLU module). */
export function gsConvnsDef(Conv: ModuleDef, GSConv: ModuleDef, src: string): ModuleDef {
  return {
    name: 'GSConvns',
    category: 'slimneck',
    doc: 'GSConv with a 1x1 "normative shuffle" conv. In this fork its forward returns an nn.ReLU object, not a tensor.',
    source: src,
    signature: GSConv.signature,
    build: (b, a) => {
      // The fork calls super().__init__(c1, c2, k=1, s=1, g=1, act=True): k, s, g and act are ignored.
      const c2 = a.channels('c2');
      const c_ = Math.floor(c2 / 2);
      const cv1 = construct(b, Conv, [a.raw('c1'), c_, 1, 1, null, 1, true]);
      const cv2 = construct(b, Conv, [c_, c_, 5, 1, null, c_, true]);
      const shuf = b.conv2d(c_ * 2, c2, 1, { bias: false });
      return b.mod('GSConvns', { cv1, cv2, shuf }, (fl, x) => {
        const x1 = fl.call(cv1, x);
        fl.call(shuf, fl.cat([x1, fl.call(cv2, x1)], 1));
        // `return nn.ReLU(self.shuf(x2))` builds a module instead of applying one
        throw buildError(
          "GSConvns.forward returns nn.ReLU(tensor), a module, not a tensor (a bug in the fork's common.py): the next layer fails with " +
            'TypeError',
        );
      });
    },
  };
}

export function gsconvYolov5Modules(kit: Yolov5Kit): ModuleDef[] {
  const { Conv } = kit;
  const GSConv = gsConvDef(Conv, `${SRC}:GSConv`);
  const GSConvns = gsConvnsDef(Conv, GSConv, `${SRC}:GSConvns`);

  // GSBottleneck's `conv_lighting`: GSConv(c1, c_, 1, 1) then GSConv(c_, c2, 3, 1, act=False), c_ = int(c2 * e)
  const gsBottleneck = (b: Builder, c1: number, c2: number, e: number): { conv_lighting: Mod } => ({
    conv_lighting: b.seq([
      construct(b, GSConv, [c1, Math.trunc(c2 * e), 1, 1]),
      construct(b, GSConv, [Math.trunc(c2 * e), c2, 3, 1], { act: false }),
    ]),
  });

  const GSBottleneck: ModuleDef = {
    name: 'GSBottleneck',
    category: 'slimneck',
    doc: 'Two GSConvs (1x1, then 3x3 without activation) plus a 1x1 Conv shortcut, added.',
    source: `${SRC}:GSBottleneck`,
    signature: [
      c1p,
      c2p,
      param('k', 'kernel', 'unused', 3),
      param('s', 'kernel', 'unused', 1),
      param('e', 'float', 'hidden channels = int(c2 * e)', f(0.5)),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const { conv_lighting } = gsBottleneck(b, c1, c2, a.float('e'));
      const shortcut = construct(b, Conv, [c1, c2, 1, 1], { act: false });
      return b.mod('GSBottleneck', { conv_lighting, shortcut }, (fl, x) => fl.add(fl.call(conv_lighting, x), fl.call(shortcut, x)));
    },
  };

  const DWConvFork = kit.DWConv;
  const GSBottleneckC: ModuleDef = {
    name: 'GSBottleneckC',
    category: 'slimneck',
    doc: 'Cheap GSBottleneck: the shortcut is a depth-wise conv.',
    source: `${SRC}:GSBottleneckC`,
    signature: [
      c1p,
      c2p,
      param('k', 'kernel', 'kernel of the depth-wise shortcut', 3),
      param('s', 'kernel', 'stride of the depth-wise shortcut', 1),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const { conv_lighting } = gsBottleneck(b, c1, c2, 0.5);
      const shortcut = construct(b, DWConvFork, [c1, c2, a.raw('k'), a.raw('s')], { act: false });
      return b.mod('GSBottleneckC', { conv_lighting, shortcut }, (fl, x) => fl.add(fl.call(conv_lighting, x), fl.call(shortcut, x)));
    },
  };

  const vov = (name: string, cheap: boolean): ModuleDef => ({
    name,
    category: 'slimneck',
    doc: cheap
      ? 'Cheap VoV-GSCSP: one GSBottleneckC (n, shortcut, g and e are ignored).'
      : 'VoV-GSCSP: a one-shot aggregation of n GSBottlenecks on half the channels and a 1x1 Conv on the other half.',
    source: `${SRC}:${name}`,
    signature: [
      c1p,
      c2p,
      param('n', 'int', cheap ? 'ignored' : 'number of GSBottlenecks (parse_model inserts the scaled repeats)', 1),
      param('shortcut', 'bool', 'ignored', true),
      param('g', 'int', 'ignored', 1),
      param('e', 'float', cheap ? 'ignored (0.5 is used)' : 'hidden channels = int(c2 * e)', f(0.5)),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      // VoVGSCSPC calls super().__init__(c1, c2): n=1, e=0.5 whatever the YAML says
      const e = cheap ? 0.5 : a.float('e');
      const n = cheap ? 1 : a.int('n');
      const c_ = Math.trunc(c2 * e);
      const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
      const cv2 = construct(b, Conv, [c1, c_, 1, 1]);
      const gsb = cheap
        ? construct(b, GSBottleneckC, [c_, c_, 1, 1])
        : b.seq(range(n).map(() => construct(b, GSBottleneck, [c_, c_], { e: f(1.0) })));
      const res = construct(b, Conv, [c_, c_, 3, 1], { act: false });
      const cv3 = construct(b, Conv, [2 * c_, c2, 1]);
      // `res` is built (and counted in params) but never called
      const ordered: [string, Mod][] = [
        ['cv1', cv1],
        ['cv2', cv2],
        ['gsb', gsb],
        ['res', res],
        ['cv3', cv3],
      ];
      return b.mod(name, ordered, (fl, x) => {
        const x1 = fl.call(gsb, fl.call(cv1, x));
        const y = fl.call(cv2, x);
        return fl.call(cv3, fl.cat([y, x1], 1));
      });
    },
  });

  return [GSConv, GSConvns, GSBottleneck, GSBottleneckC, vov('VoVGSCSP', false), vov('VoVGSCSPC', true)];
}
