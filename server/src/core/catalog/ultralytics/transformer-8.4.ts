/**
 * ultralytics 8.4.33 nn/modules/transformer.py where it differs from 8.3 (transformer.ts): MLP gains `residual` and
 * `out_norm` (an nn.Identity by default, so every MLP has one more leaf module), and TransformerBlock reshapes its
 * output to (b, c2, h, w) where 8.3 gave (b, c2, w, h). Every other class of that file is unchanged and reused.
 */
import { ModuleInstance } from '../../nn/builder.ts';
import { buildError, inputOne, type Mod } from '../../nn/module.ts';
import { pyRepr } from '../../py.ts';
import { construct, type ModuleDef, param } from '../types.ts';
import { range } from '../yolov5.ts';
import { Conv } from './conv.ts';
import { MLP as MLP83, TransformerBlock as TransformerBlock83, TransformerLayer, activationClass } from './transformer.ts';

const SRC = 'ultralytics/nn/modules/transformer.py';

export const MLP: ModuleDef = {
  ...MLP83,
  doc:
    'num_layers Linears (input → hidden … → output) with an activation between them, an optional residual add, an ' +
    'output norm (nn.Identity by default) and an optional final sigmoid.',
  source: `${SRC}:MLP`,
  signature: [
    ...MLP83.signature,
    param('residual', 'bool', 'add the input to the output (input_dim must equal output_dim)', false),
    param('out_norm', 'any', 'a norm module applied last (None: nn.Identity)', null),
  ],
  build: (b, a) => {
    const n = a.int('num_layers');
    const inputDim = a.channels('input_dim');
    const outputDim = a.channels('output_dim');
    const hidden = range(Math.max(n - 1, 0)).map(() => a.channels('hidden_dim'));
    const ins = [inputDim, ...hidden];
    const outs = [...hidden, outputDim];
    // zip() stops at the shorter list: num_layers <= 0 still makes one Linear (input → output)
    const linears = ins.slice(0, Math.min(ins.length, outs.length)).map((c, i) => b.linear(c, outs[i]!));
    const layers = b.list(linears);
    const act = activationClass(b, a.raw('act'), 'ReLU', 'MLP');
    const residual = a.bool('residual');
    if (residual && inputDim !== outputDim)
      throw buildError('ValueError: residual is only supported if input_dim == output_dim', 'residual');
    const normArg = a.raw('out_norm');
    if (normArg !== null && !(normArg instanceof ModuleInstance))
      throw buildError(`AssertionError: MLP out_norm must be an nn.Module or None, got ${pyRepr(normArg)}`, 'out_norm');
    const out_norm: Mod = normArg instanceof ModuleInstance ? normArg.mod : b.identity();
    const sigmoid = a.bool('sigmoid');
    return b.mod('MLP', { layers, act, out_norm }, (fl, xin) => {
      const input = inputOne(xin, 'MLP');
      let x = input;
      linears.forEach((l, i) => {
        x = i < n - 1 ? fl.call(act, fl.call(l, x)) : fl.call(l, x);
      });
      if (residual) x = fl.add(x, input);
      x = fl.call(out_norm, x);
      return sigmoid ? fl.sigmoid(x) : x;
    });
  },
};

export const TransformerBlock: ModuleDef = {
  ...TransformerBlock83,
  source: `${SRC}:TransformerBlock`,
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const conv = c1 !== c2 ? construct(b, Conv, [c1, c2]) : null;
    const linear = b.linear(c2, c2);
    const layers = range(a.int('num_layers')).map(() => construct(b, TransformerLayer, [c2, a.raw('num_heads')]));
    const tr = b.seq(layers);
    return b.mod('TransformerBlock', { conv, linear, tr }, (fl, xin) => {
      let x = inputOne(xin, 'TransformerBlock');
      if (conv) x = fl.call(conv, x);
      const [bs, , h, w] = fl.shape(x) as [number, number, number, number];
      const p = fl.permute(fl.flatten(x, 2), [2, 0, 1]);
      const y = fl.call(tr, fl.add(p, fl.call(linear, p)));
      return fl.view(fl.permute(y, [1, 2, 0]), [bs, c2, h, w]);
    });
  },
};

export const ULTRALYTICS_84_TRANSFORMER_MODULES: readonly ModuleDef[] = [MLP, TransformerBlock];
