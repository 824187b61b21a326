/**
 * A layer expanded into its submodules (request `yolo/submodules`, the graph panel's "expand"): the module tree
 * PyTorch would print, each node with its parameters, output shape and FLOPs from one traced static forward.
 */
import type { FlopsPair } from '../../../../common/src/format.ts';
import type { Model } from '../model.ts';
import { countParams, type Mod, type Shape } from '../nn/module.ts';
import { ShapeFlow, type TraceEntry } from '../nn/static.ts';

/** One module of the tree (the protocol's `SubmoduleNode` on the wire). */
export interface Submodule {
  /** attribute path inside the layer, e.g. `cv1.conv` */
  readonly path: string;
  /** torch class name */
  readonly type: string;
  readonly params: number;
  readonly outShape: number[] | null;
  readonly flops: FlopsPair | null;
  readonly children: Submodule[];
}

/** Deeper than this the tree is cut (a 4096-copy Sequential is not something to draw). */
const MAX_NODES = 5000;

export function submodules(model: Model, index: number): Submodule | null {
  const l = Number.isInteger(index) ? model.layers[index] : undefined;
  if (!l || !l.mod) return null;
  const trace = new Map<Mod, TraceEntry>();
  if (l.inShapes && l.inShapes.length) {
    const input: Shape | Shape[] = l.fromIsList ? [...l.inShapes] : l.inShapes[0]!;
    try {
      new ShapeFlow(trace).callMulti(l.mod, input);
    } catch {
      // a layer that fails (or needs a WorldModel's text features) keeps what was traced before it failed
    }
  }
  let budget = MAX_NODES;
  const node = (path: string, m: Mod): Submodule => {
    budget--;
    const t = trace.get(m);
    const children: Submodule[] = [];
    for (const [name, c] of m.children) {
      if (budget <= 0) break;
      children.push(node(path ? `${path}.${name}` : name, c));
    }
    const params = countParams(m).params;
    return {
      path,
      type: m.type,
      params,
      outShape: t?.outShape ? [...t.outShape] : null,
      flops: t ? { thop: 2 * t.ops.thop, ultralyticsThop: 2 * t.ops.ultralyticsThop } : null,
      children,
    };
  };
  const root = node('', l.mod);
  // the root's figures are the layer's own (the resolver ran it in context)
  return {
    ...root,
    params: l.params ?? root.params,
    outShape: l.outShape ? [...l.outShape] : root.outShape,
    flops: l.flops ? { ...l.flops } : root.flops,
  };
}
