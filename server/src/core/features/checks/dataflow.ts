/**
 * Where the data flows wrong but the model still builds: a layer no one reads (YOLO025, with what it costs), a head
 * or Concat input that is the layer just before such a dead layer of the same stage (YOLO035, the index probably
 * shifted after an insert or delete), and one that is not the last layer of its stage (YOLO036).
 */
import { CODES, type Diagnostic, diag } from '../../diagnostics.ts';
import type { LayerSrc } from '../../document.ts';
import type { Range } from '../../range.ts';
import type { Model, ResolvedLayer } from '../../model.ts';
import { FRAMEWORKS } from '../../framework/index.ts';
import { isSeq, seqItems } from '../../py.ts';
import { DEFAULT_FLOPS_CONVENTION, exactCount, flopsOf, gflopsText } from '../../../../../common/src/format.ts';
import { fromElements } from '../references.ts';

/** One `from` element of a layer: the token, the absolute layer it names, and its place in the list. */
interface FromElement {
  readonly range: Range;
  readonly target: number;
  readonly slot: number;
}

/** Absolute indices a layer's `from` names, read from the YAML; null while some element is not an int yet. */
function fromTargets(l: LayerSrc): FromElement[] | null {
  const v = l.from?.value;
  if (v === undefined) return null;
  const written = isSeq(v) ? seqItems(v).length : 1;
  const elements = fromElements(l);
  return elements.length === written ? elements.map((e, slot) => ({ ...e, slot })) : null;
}

/** The reading structure of the file: who reads whom (null when some `from` is being typed). */
export interface Readers {
  /** per layer, its `from` elements */
  readonly inputs: readonly FromElement[][];
  /** per layer, the layers that read it */
  readonly readBy: readonly number[][];
}

export function readersOf(model: Model): Readers | null {
  const layers = model.doc.layers;
  const inputs: FromElement[][] = [];
  const readBy: number[][] = layers.map(() => []);
  for (const l of layers) {
    const t = fromTargets(l);
    // a `from` being typed could name anything: say nothing rather than flag a layer the user is about to use
    if (!t) return null;
    inputs.push(t);
    for (const e of t) if (e.target >= 0 && e.target < layers.length) readBy[e.target]!.push(l.index);
  }
  return { inputs, readBy };
}

/** A layer whose output nothing reads (the model returns only the last layer's output). */
export function isDead(model: Model, r: Readers, j: number): boolean {
  if (j === model.doc.layers.length - 1 || r.readBy[j]!.length > 0) return false;
  // ImagePoolingAttn feeds the text features forward, not its x
  return guideOf(moduleOf(model, j)) !== 'producer';
}

const moduleOf = (model: Model, j: number): string => {
  const l = model.layers[j];
  const v = model.doc.layers[j]?.module?.value;
  return l?.entry?.def.name ?? (typeof v === 'string' ? v : '');
};

/** A module's WorldModel role, from any framework that defines it (this file's framework may not). */
function guideOf(name: string): string | undefined {
  for (const t of Object.values(FRAMEWORKS)) {
    const g = t?.modules.get(name)?.def.guide;
    if (g) return g;
  }
  return name === 'ImagePoolingAttn' ? 'producer' : undefined;
}

/** The spatial size of a layer's single 4-D output, as a key; null when unknown or not a feature map. */
function sizeOf(l: ResolvedLayer | undefined): string | null {
  const s = l?.outShape;
  return s && s.length === 4 ? `${s[2]}x${s[3]}` : null;
}

/** Layer k continues the stage of layer k - 1: it reads k - 1 and outputs a map of the same size. */
function continues(model: Model, r: Readers, k: number): boolean {
  const size = sizeOf(model.layers[k]);
  return size !== null && size === sizeOf(model.layers[k - 1]) && r.inputs[k]!.some((e) => e.target === k - 1);
}

/** The last layer of the stage that layer j is in (the run of layers each continuing the one before). */
function stageEnd(model: Model, r: Readers, j: number, before: number): number {
  let k = j;
  while (k + 1 < before && continues(model, r, k + 1)) k++;
  return k;
}

/** What a layer costs: its parameters and FLOPs, in the units the rest of the editor shows them. */
function costText(model: Model, layers: readonly number[]): string {
  let params = 0;
  let flops = 0;
  for (const j of layers) {
    const l = model.layers[j];
    params += l?.params ?? 0;
    flops += l?.flops ? flopsOf(l.flops, DEFAULT_FLOPS_CONVENTION) : 0;
  }
  return `${exactCount(params)} parameters and ${gflopsText(flops)} GFLOPs at ${model.imgsz}`;
}

/**
 * The layers only a dead layer keeps busy: itself and, transitively, every layer all of whose readers are among them
 * (a dead branch costs all of its layers, not just its end).
 */
function deadBranch(model: Model, r: Readers, j: number): number[] {
  const branch = new Set([j]);
  const stack = [j];
  while (stack.length) {
    const k = stack.pop()!;
    for (const e of r.inputs[k]!) {
      const p = e.target;
      if (p < 0 || p >= r.readBy.length || branch.has(p)) continue;
      if (r.readBy[p]!.every((x) => branch.has(x))) {
        branch.add(p);
        stack.push(p);
      }
    }
  }
  return [...branch].sort((a, b) => a - b);
}

/** Detect-family heads and Concat-like layers: the readers whose inputs are stage outputs. */
function readsStageOutputs(model: Model, k: number): string | null {
  const l = model.layers[k];
  const name = l?.moduleName;
  if (!l || !name) return null;
  if (l.entry?.def.detectFamily) return name;
  if (l.entry?.treat === 'concat' || /^(Concat|BiFPN_Concat\d?|Index)$/.test(name)) return name;
  return null;
}

export function dataflowChecks(model: Model): Diagnostic[] {
  const layers = model.doc.layers;
  if (layers.length < 2) return [];
  const r = readersOf(model);
  if (!r) return [];
  const out: Diagnostic[] = [];
  for (const l of layers) {
    if (!isDead(model, r, l.index)) continue;
    const name = model.layers[l.index]?.moduleName;
    const branch = deadBranch(model, r, l.index);
    const cost = model.layers[l.index]?.params !== null ? costText(model, branch) : null;
    const others = branch.filter((j) => j !== l.index);
    const feeding = others.length ? ` (with layer${others.length > 1 ? 's' : ''} ${others.join(', ')}, which only it reads)` : '';
    const spent = cost ? `: ${cost} spent for nothing${feeding}` : '';
    out.push(
      diag(
        'YOLO025',
        l.range,
        `layer ${l.index}${name ? ` (${name})` : ''} is never used: no later layer takes it in \`from\`, and the model returns ` +
          `only the last layer${spent}`,
        CODES.YOLO025.severity,
        { layer: l.index, tags: [1], data: { branch } },
      ),
    );
  }
  for (const consumer of layers) {
    const what = readsStageOutputs(model, consumer.index);
    if (!what) continue;
    const inputs: readonly FromElement[] = r.inputs[consumer.index]!;
    for (const e of inputs) {
      const j: number = e.target;
      // the consumer's own chain (`-1`) and the image are not stage outputs it picked
      if (j < 0 || j + 1 >= consumer.index) continue;
      if (!continues(model, r, j + 1)) continue;
      // reading the stage's later layers too (a Concat of layer 6 and its own -1, SPPF after it) is deliberate
      const end: number = stageEnd(model, r, j, consumer.index);
      if (inputs.some((x) => x.target > j && x.target <= end)) continue;
      const here = model.layers[j]?.moduleName ?? '?';
      const next = model.layers[j + 1]?.moduleName ?? '?';
      const size = sizeOf(model.layers[j])!.replace('x', '×');
      if (isDead(model, r, j + 1)) {
        out.push(
          diag(
            'YOLO035',
            e.range,
            `${what} reads layer ${j} (${here}), but layer ${j + 1} (${next}) right after it continues the same ${size} stage ` +
              `and nobody reads it: the index probably shifted (a layer inserted or deleted above); read ${j + 1}?`,
            CODES.YOLO035.severity,
            { layer: consumer.index, data: { from: j, to: j + 1, slot: e.slot } },
          ),
        );
        continue;
      }
      // a Concat may take a map from inside a stage on purpose (before an attention block, say); the raw output of
      // another Concat, never: that is an index that slid onto the joint
      if (!model.layers[consumer.index]?.entry?.def.detectFamily && model.layers[j]?.entry?.treat !== 'concat') continue;
      const endName = model.layers[end]?.moduleName ?? '?';
      out.push(
        diag(
          'YOLO036',
          e.range,
          `${what} reads layer ${j} (${here}) in the middle of its ${size} stage: layer ${j + 1} (${next}) continues it` +
            `${end > j + 1 ? ` up to layer ${end} (${endName})` : ''}; inputs are normally a stage's last layer: did the indices ` +
            `shift (read ${end}?)`,
          CODES.YOLO036.severity,
          { layer: consumer.index, data: { from: j, to: end, slot: e.slot } },
        ),
      );
    }
  }
  return out;
}
