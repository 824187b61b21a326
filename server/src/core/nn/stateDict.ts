/**
 * The state_dict of a module tree, statically: the keys, shapes and dtypes `model.state_dict()` gives in PyTorch,
 * in its order. PyTorch writes a module's own parameters, then its persistent buffers, then each child under
 * `<child name>.`, recursively; the torch layers (leaf ops here) register theirs under fixed names. What a
 * pretrained checkpoint can load into an edited model is decided key by key on these names and shapes.
 */
import type { Model } from '../model.ts';
import type { LeafOp, Mod, OwnBuffer } from './module.ts';

export type StateDtype = 'float32' | 'int64' | 'bool';

export interface StateEntry {
  /** the state_dict key, e.g. `model.0.conv.weight` */
  readonly key: string;
  readonly shape: readonly number[];
  readonly dtype: StateDtype;
  /** a parameter (counted in the model's parameters) or a buffer (running statistics, anchors) */
  readonly kind: 'param' | 'buffer';
}

/** A model's entries, with the layer each one belongs to (`model.<layer>.`). */
export interface ModelStateEntry extends StateEntry {
  readonly layer: number;
}

type Local = readonly [name: string, shape: readonly number[], dtype: StateDtype, kind: 'param' | 'buffer'];

const param = (name: string, shape: readonly number[]): Local => [name, shape, 'float32', 'param'];
const buffer = (name: string, shape: readonly number[], dtype: StateDtype = 'float32'): Local => [name, shape, dtype, 'buffer'];

/** What one torch layer registers, in its registration order (torch 1.13's constructors). */
function leafEntries(l: LeafOp): Local[] {
  switch (l.op) {
    case 'conv2d':
      return [param('weight', [l.cout, Math.trunc(l.cin / l.g), ...l.k]), ...(l.bias ? [param('bias', [l.cout])] : [])];
    case 'convTranspose2d':
      // transposed convs store the weight as (in, out / groups, kH, kW)
      return [param('weight', [l.cin, Math.trunc(l.cout / l.g), ...l.k]), ...(l.bias ? [param('bias', [l.cout])] : [])];
    case 'batchNorm2d':
      return [
        ...(l.affine ? [param('weight', [l.c]), param('bias', [l.c])] : []),
        buffer('running_mean', [l.c]),
        buffer('running_var', [l.c]),
        buffer('num_batches_tracked', [], 'int64'),
      ];
    case 'layerNorm':
      return l.affine ? [param('weight', l.shape), param('bias', l.shape)] : [];
    case 'groupNorm':
      return l.affine ? [param('weight', [l.c]), param('bias', [l.c])] : [];
    case 'linear':
      return [param('weight', [l.cout, l.cin]), ...(l.bias ? [param('bias', [l.cout])] : [])];
    case 'embedding':
      return [param('weight', [l.num, l.dim])];
    case 'mha':
      // kdim == vdim == embed_dim: one packed in-projection; out_proj is a Linear child registered after them
      return [
        param('in_proj_weight', [3 * l.embed, l.embed]),
        ...(l.bias ? [param('in_proj_bias', [3 * l.embed])] : []),
        param('out_proj.weight', [l.embed, l.embed]),
        ...(l.bias ? [param('out_proj.bias', [l.embed])] : []),
      ];
    case 'act':
      return l.fn === 'PReLU' ? [param('weight', [l.c ?? 1])] : [];
    default:
      return [];
  }
}

function walk(m: Mod, prefix: string, out: StateEntry[]): void {
  if (m.leaf) {
    for (const [name, shape, dtype, kind] of leafEntries(m.leaf)) out.push({ key: prefix + name, shape, dtype, kind });
  }
  for (const [name, p] of Object.entries(m.params ?? {})) out.push({ key: prefix + name, shape: p.shape, dtype: 'float32', kind: 'param' });
  for (const [name, b] of Object.entries<OwnBuffer>(m.buffers ?? {}))
    if (b.persistent !== false) out.push({ key: prefix + name, shape: b.shape, dtype: b.dtype ?? 'float32', kind: 'buffer' });
  // a module reused under several names (Conv.default_act) is written under each of them, as PyTorch does
  for (const [name, child] of m.children) walk(child, `${prefix}${name}.`, out);
}

/** The state_dict of one module, keys relative to it (or under `prefix`). */
export function moduleStateDict(m: Mod, prefix = ''): StateEntry[] {
  const out: StateEntry[] = [];
  walk(m, prefix, out);
  return out;
}

/**
 * The state_dict of a resolved model. Every model class of the frameworks (YOLOv5's Model, ultralytics'
 * DetectionModel and its Segmentation, Pose, OBB, RTDETR, World and YOLOE subclasses, ClassificationModel) holds
 * its layers in an nn.Sequential `self.model` and registers no parameter or buffer of its own (a WorldModel's
 * `txt_feats` is a plain attribute), so every key is `model.<layer index>.<key in the layer>`. A layer that did
 * not build contributes nothing; `complete` says whether every layer built.
 */
export function modelStateDict(model: Model): { entries: ModelStateEntry[]; complete: boolean } {
  const entries: ModelStateEntry[] = [];
  let complete = true;
  for (const layer of model.layers) {
    if (!layer.mod) {
      complete = false;
      continue;
    }
    for (const e of moduleStateDict(layer.mod, `model.${layer.index}.`)) entries.push({ ...e, layer: layer.index });
  }
  return { entries, complete };
}
