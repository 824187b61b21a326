/**
 * ultralytics 8.4.33 nn/modules/conv.py: the one class it adds to 8.3's (conv.ts), Index. parse_model gives it
 * `c2 = args[0]` and the rest of the YAML args, like TorchVision.
 */
import { buildError, ShapeError, type Flow, type In } from '../../nn/module.ts';
import { type ModuleDef, param } from '../types.ts';

export const Index: ModuleDef = {
  name: 'Index',
  category: 'misc',
  doc: 'Picks one tensor of a list input, x[index] (e.g. one map of a TorchVision layer with split=True).',
  source: 'ultralytics/nn/modules/conv.py:Index',
  signature: [param('index', 'int', 'which item of the input list (negative counts from the end)', 0)],
  build: (b, a) => {
    const index = a.raw('index');
    if (typeof index !== 'number' || !Number.isInteger(index))
      throw buildError(`Index.index must be an int, got ${String(index)}`, 'index');
    return b.mod('Index', {}, <T>(fl: Flow<T>, x: In<T>): T => {
      const isList = Array.isArray(x) && (x.length === 0 || typeof x[0] !== 'number');
      if (isList) {
        const xs = x as readonly T[];
        const item = xs[index < 0 ? xs.length + index : index];
        if (item === undefined) throw new ShapeError(`IndexError: list index out of range (Index ${index} of ${xs.length} inputs)`);
        return item;
      }
      // a tensor: x[index] selects along the batch dimension
      const t = x as T;
      const s = fl.shape(t);
      const n = s[0] ?? 0;
      const i = index < 0 ? n + index : index;
      if (s.length === 0 || i < 0 || i >= n)
        throw new ShapeError(`IndexError: index ${index} is out of bounds for dimension 0 with size ${n}`);
      return fl.view(fl.slice(t, 0, i, i + 1), s.slice(1));
    });
  },
};

export const ULTRALYTICS_84_CONV_MODULES: readonly ModuleDef[] = [Index];
