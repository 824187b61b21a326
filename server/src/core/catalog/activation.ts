/**
 * Activations given as values: a constructor argument (`act=True`, `act=nn.ReLU()`, `act=nn.LeakyReLU(0.1)`) or a
 * file's `activation:` (`Conv.default_act = eval(act)`). A call is built from the torch.nn definition of its class,
 * so its arguments bind (or fail) as torch's constructor would.
 */
import { ACT_CLASSES, type Builder, ModuleInstance } from '../nn/builder.ts';
import type { Mod } from '../nn/module.ts';
import { PyCall, PyObj, type PyVal } from '../py.ts';
import { construct } from './types.ts';
import { TORCH_NN } from './torch.ts';

const NN = new Map(TORCH_NN.map((d) => [d.name, d]));

/** `nn.X(...)` as torch builds it; a buildError (TypeError as Python words it) when the arguments do not bind. */
export function buildCall(b: Builder, call: PyCall): Mod {
  const def = NN.get(call.cls);
  if (!def) return b.identity();
  return construct(b, def, call.args, call.kwargs);
}

/** An activation given as a constructor argument; `defaultAct` is what `True` means for that module. */
export function activationFrom(b: Builder, v: PyVal, defaultAct: () => Mod): Mod {
  if (v === true) return defaultAct();
  if (v instanceof ModuleInstance) return v.mod;
  if (v instanceof PyCall) return buildCall(b, v);
  if (v instanceof PyObj) {
    const fn = ACT_CLASSES[v.cls];
    if (fn) return b.act(fn);
    if (v.cls === 'Identity') return b.identity();
  }
  return b.identity();
}
