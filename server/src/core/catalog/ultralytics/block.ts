/**
 * ultralytics/nn/modules/block.py (vendored 8.3.x, see conv.ts).
 */
import { buildError, inputOne } from '../../nn/module.ts';
import { construct, f, type ModuleDef, param } from '../types.ts';
import { range } from '../yolov5.ts';
import { Conv } from './conv.ts';
import { PyTuple } from '../../py.ts';

const SRC = 'ultralytics/nn/modules/block.py';
const c1p = param('c1', 'channels', 'input channels (parse_model passes the input layer\u2019s channels)');
const c2p = param('c2', 'channels', 'output channels (scaled by width and capped by max_channels)');

export const DFL: ModuleDef = {
  name: 'DFL',
  category: 'head',
  doc: 'Distribution Focal Loss integral: a fixed 1x1 conv (weights 0..c1-1) over a softmax of box distributions.',
  source: `${SRC}:DFL`,
  signature: [param('c1', 'int', 'bins per box side (reg_max)', 16)],
  build: (b, a) => {
    const c1 = a.int('c1');
    const conv = b.frozen(b.conv2d(c1, 1, 1, { bias: false }));
    return b.mod('DFL', { conv }, (fl, xin) => {
      const x = inputOne(xin, 'DFL');
      const [bs, , anchors] = fl.shape(x) as [number, number, number];
      const y = fl.softmax(fl.transpose(fl.view(x, [bs, 4, c1, anchors]), 2, 1), 1);
      return fl.view(fl.call(conv, y), [bs, 4, anchors]);
    });
  },
};

export const Bottleneck: ModuleDef = {
  name: 'Bottleneck',
  category: 'csp',
  doc: 'Conv k[0] → Conv k[1], with a residual add when shortcut and c1 == c2.',
  source: `${SRC}:Bottleneck`,
  signature: [c1p, c2p, param('shortcut', 'bool', 'residual connection (only if c1 == c2)', true), param('g', 'int', 'groups of the second conv', 1), param('k', 'list', 'kernels of the two convs', new PyTuple([3, 3])), param('e', 'float', 'hidden channels = int(c2 * e)', f(0.5))],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const c_ = Math.trunc(c2 * a.float('e'));
    const kRaw = a.raw('k');
    const ks = kRaw instanceof PyTuple ? kRaw.items : Array.isArray(kRaw) ? kRaw : null;
    if (!ks || ks.length < 2) throw buildError('Bottleneck k must be a pair of kernels', 'k');
    const cv1 = construct(b, Conv, [c1, c_, ks[0]!, 1]);
    const cv2 = construct(b, Conv, [c_, c2, ks[1]!, 1], { g: a.raw('g') });
    const add = a.bool('shortcut') && c1 === c2;
    return b.mod('Bottleneck', { cv1, cv2 }, (fl, x) => {
      const y = fl.call(cv2, fl.call(cv1, x));
      return add ? fl.add(inputOne(x, 'Bottleneck'), y) : y;
    });
  },
};

export const C2f: ModuleDef = {
  name: 'C2f',
  category: 'csp',
  doc: 'Faster CSP bottleneck with 2 convolutions: the split halves and every Bottleneck output are concatenated.',
  source: `${SRC}:C2f`,
  signature: [c1p, c2p, param('n', 'int', 'number of Bottlenecks (parse_model inserts the scaled repeats)', 1), param('shortcut', 'bool', 'residual adds in the Bottlenecks', false), param('g', 'int', 'groups', 1), param('e', 'float', 'hidden channels = int(c2 * e)', f(0.5))],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const n = a.int('n');
    const c = Math.trunc(c2 * a.float('e'));
    const cv1 = construct(b, Conv, [c1, 2 * c, 1, 1]);
    const cv2 = construct(b, Conv, [(2 + Math.max(n, 0)) * c, c2, 1]);
    const ms = range(n).map(() => construct(b, Bottleneck, [c, c, a.raw('shortcut'), a.raw('g')], { k: new PyTuple([new PyTuple([3, 3]), new PyTuple([3, 3])]), e: f(1.0) }));
    const m = b.list(ms);
    return b.mod('C2f', { cv1, cv2, m }, (fl, x) => {
      const y = fl.chunk(fl.call(cv1, x), 2, 1);
      for (const mm of ms) y.push(fl.call(mm, y[y.length - 1]!));
      return fl.call(cv2, fl.cat(y, 1));
    });
  },
};

export const SPPF: ModuleDef = {
  name: 'SPPF',
  category: 'pooling',
  doc: 'Fast SPP: one max-pool applied three times in a row, the four maps concatenated.',
  source: `${SRC}:SPPF`,
  signature: [c1p, c2p, param('k', 'int', 'pool kernel size', 5)],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const k = a.int('k');
    const c_ = Math.floor(c1 / 2);
    const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
    const cv2 = construct(b, Conv, [c_ * 4, c2, 1, 1]);
    const m = b.maxPool2d(k, 1, Math.floor(k / 2), 1, false, 'k');
    return b.mod('SPPF', { cv1, cv2, m }, (fl, x) => {
      const y = [fl.call(cv1, x)];
      for (let i = 0; i < 3; i++) y.push(fl.call(m, y[y.length - 1]!));
      return fl.call(cv2, fl.cat(y, 1));
    });
  },
};

export const ULTRALYTICS_BLOCK_MODULES: readonly ModuleDef[] = [DFL, Bottleneck, C2f, SPPF];
