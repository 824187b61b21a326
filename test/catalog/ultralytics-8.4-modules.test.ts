/**
 * The ultralytics 8.4 module catalog against every layer the real 8.4.33 code built (../shared/reference
 * ultralytics-8.4.33/ and the mutants PyTorch accepted): each layer is constructed from the record's module and args
 * (the constructor args after parse_model) with the 8.4 definition, run by the static interpreter on the record's
 * input shapes, and must give the record's parameters and output shape(s) exactly, and its FLOPs within 1%.
 * Independent of the resolver: it checks the definitions and the namespace data, not parse_model.
 * The whole-model figures each record prints are checked the same way: the summary's layer count (leaf modules),
 * and for model.fuse() the fused parameters, gradients, layer count and GFLOPs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Builder } from '../../server/src/core/nn/builder.ts';
import { countParams, type Mod, type Out, type Shape } from '../../server/src/core/nn/module.ts';
import { ShapeFlow, flattenOut } from '../../server/src/core/nn/static.ts';
import { construct, type ModuleDef } from '../../server/src/core/catalog/types.ts';
import { ULTRALYTICS_8_4 } from '../../server/src/core/framework/index.ts';
import { TORCH_NN } from '../../server/src/core/catalog/torch.ts';
import { PyFloat, type PyVal } from '../../server/src/core/py.ts';
import { looksFused, summaryLayerCount } from '../../server/src/core/summary-line.ts';
import {
  DEFS_IN_TASKS_84,
  LEGACY_BREAKERS_84,
  LEGACY_HEADS_BY_NAME_84,
  REPEATS_84,
} from '../../server/src/core/catalog/ultralytics/namespace-8.4.ts';
import { frameworkOf, loadCases, REFERENCE, type RefLayer, CORPUS_MISSING, needsCorpus } from '../support/reference.ts';

// ---- the records, with their args read as Python values (1.0 stays a float)

/** JSON text to Python values: a number written with a point or an exponent is a float, as Python dumped it. */
function parsePy(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const value = (): unknown => {
    ws();
    const c = text[i]!;
    if (c === '{') {
      i++;
      const o: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') return (i++, o);
      for (;;) {
        const k = value() as string;
        ws();
        i++; // ':'
        o[k] = value();
        ws();
        if (text[i++] === '}') return o;
      }
    }
    if (c === '[') {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === ']') return (i++, a);
      for (;;) {
        a.push(value());
        ws();
        if (text[i++] === ']') return a;
      }
    }
    if (c === '"') {
      const start = i;
      i++;
      while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      return JSON.parse(text.slice(start, i));
    }
    for (const [lit, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const)
      if (text.startsWith(lit, i)) return ((i += lit.length), v);
    const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i, i + 40))!;
    i += m[0].length;
    return m[1] || m[2] ? new PyFloat(Number(m[0])) : Number(m[0]);
  };
  return value();
}

/** One layer as the truth gives it: module, constructor args, parameters, output shapes (flattened), FLOPs if known. */
interface Layer84 {
  readonly i: number;
  readonly from: number | number[];
  /** copies parse_model wraps in an nn.Sequential (n left after the repeats branch) */
  readonly n: number;
  readonly module: string;
  readonly args: PyVal[];
  readonly params: number;
  readonly outShapes: Shape[];
  readonly flops: number | null;
}

/** Summary figures: leaf modules, parameters, parameters with gradients. */
interface Figures {
  readonly layers: number;
  readonly params: number;
  readonly gradients: number;
}

/** One model the real 8.4.33 code built: a reference record, or an entry of this folder's data file. */
interface Model84 {
  readonly name: string;
  readonly imgsz: number;
  readonly ch: number;
  readonly nc: number;
  readonly layers: readonly Layer84[];
  readonly summary: Figures;
  readonly fused: Figures | null;
  /** the printed GFLOPs (null where the source has none) */
  readonly gflops: number | null;
  readonly gflopsFused: number | null;
}

/** "{n} layers, {p} parameters, {g} gradients" of a summary line */
function summaryFigures(s: string): Figures {
  const m = /: ([\d,]+) layers, ([\d,]+) parameters, ([\d,]+) gradients/.exec(s);
  if (!m) throw new Error(`unreadable summary: ${s}`);
  const n = (t: string) => Number(t.replace(/,/g, ''));
  return { layers: n(m[1]!), params: n(m[2]!), gradients: n(m[3]!) };
}

/** The reference records built by 8.4.33 that PyTorch accepted (real YAMLs and mutants). */
const RECORDS: readonly Model84[] = (CORPUS_MISSING ? [] : loadCases())
  .filter((c) => frameworkOf(c.record) === 'ultralytics-8.4' && c.record.ok)
  .map((c) => {
    const r = c.record;
    const raw = parsePy(readFileSync(join(REFERENCE, c.name), 'utf8')) as { layers: { args: PyVal[] }[] };
    const fusedOk = !c.mutant && r.params_fused != null && !!r.summary_fused;
    return {
      name: c.name,
      imgsz: r.imgsz,
      ch: r.ch,
      nc: r.nc,
      layers: r.layers.map((l: RefLayer, i) => ({
        i: l.i,
        from: l.from as number | number[],
        // a module outside the repeats branch with n > 1 is wrapped in an nn.Sequential of n copies
        n: l.n > 1 && !REPEATS_84.includes(l.module) && l.module !== 'HGBlock' ? l.n : 1,
        module: l.module,
        args: raw.layers[i]!.args,
        params: l.params!,
        outShapes: l.out_shape ? [l.out_shape] : l.out_shapes!,
        flops: l.flops,
      })),
      summary: summaryFigures(r.summary!),
      fused: fusedOk ? summaryFigures(r.summary_fused!) : null,
      gflops: r.gflops,
      gflopsFused: fusedOk ? (r.gflops_fused ?? null) : null,
    };
  });

/**
 * The 8.4 YAMLs the records do not cover (YOLO26 pose/obb/p2/p6, YOLOE-26, YOLO12/11 pose/obb/cls, TorchVision,
 * v10 b-x, v9, RT-DETR ResNets...), as scripts/truth/ultralytics-8.4-more.py recorded them with 8.4.33: no FLOPs.
 */
const MORE: readonly Model84[] = (
  parsePy(readFileSync(join(import.meta.dirname, 'data/ultralytics-8.4.33-more.json'), 'utf8')) as {
    models: {
      yaml: string;
      scale: string | null;
      imgsz: number;
      layers: { i: number; from: number | number[]; n: number; module: string; args: PyVal[]; params: number; out_shapes: Shape[] }[];
      summary: Figures;
      fused: Figures;
    }[];
  }
).models.map((m) => ({
  name: `${m.yaml}@${m.scale}`,
  imgsz: m.imgsz,
  ch: 3,
  nc: 80,
  layers: m.layers.map((l) => ({ ...l, outShapes: l.out_shapes, flops: null })),
  summary: m.summary,
  fused: m.fused,
  gflops: null,
  gflopsFused: null,
}));

// ---- building a layer as parse_model does

const TORCH = new Map<string, ModuleDef>(TORCH_NN.map((d) => [`nn.${d.name}`, d]));
const NAMESPACE = new Map(DEFS_IN_TASKS_84.map((d) => [d.name, d] as const));

/** The definition of a layer's module: nn.X from torch, a head's legacy variant when no C3k2/A2C2f/C2fCIB precedes it. */
function defOf(module: string, legacy: boolean): ModuleDef {
  const d = TORCH.get(module) ?? (legacy ? LEGACY_HEADS_BY_NAME_84.get(module) : undefined) ?? NAMESPACE.get(module);
  if (!d) throw new Error(`no 8.4 definition for ${module}`);
  return d;
}

/** A model's builder: one Conv.default_act (SiLU) shared by every layer, fused convs frozen as 8.4's fuse leaves them. */
function modelBuilder(fused: boolean): Builder {
  const shared = { ...new Builder({ fused: false, convDefaultAct: null }).act('SiLU'), shared: true };
  return new Builder({ fused, convDefaultAct: shared, fuseFreezes: true });
}

/** parse_model's legacy flag when it reaches layer i: true until a C3k2, A2C2f or C2fCIB layer is parsed. */
const legacyAt = (layers: readonly Layer84[], i: number): boolean => !layers.slice(0, i).some((l) => LEGACY_BREAKERS_84.includes(l.module));

/** `m(*args)`, or `nn.Sequential(m(*args) for _ in range(n))` when n > 1 is left after the repeats branch. */
function buildLayer(b: Builder, layers: readonly Layer84[], i: number): Mod {
  const l = layers[i]!;
  const def = defOf(l.module, legacyAt(layers, i));
  if (l.n > 1) return b.seq(Array.from({ length: l.n }, () => construct(b, def, l.args)));
  return construct(b, def, l.args);
}

/** A layer's output as the next layer receives it: one tensor, or the list a multi-output module returns. */
const outputOf = (model: Model84, l: Layer84): Out<Shape> =>
  l.outShapes.length === 1 && !defOf(l.module, false).multiOutput ? l.outShapes[0]! : l.outShapes;

/** What a layer receives: the outputs its `from` names (-1 the previous layer, the image at layer 0). */
function inputsOf<T>(from: number | number[], i: number, outs: readonly T[], image: T): T | T[] {
  const one = (f: number) => (i === 0 && f === -1 ? image : outs[f < 0 ? i + f : f]!);
  return Array.isArray(from) ? from.map(one) : one(from);
}

/** The strides a built head decodes with: image size / height of each input level (the stride probe's ratio). */
const stridesOf = (x: unknown, imgsz: number): number[] | undefined =>
  Array.isArray(x) && Array.isArray(x[0]) ? (x as Shape[]).map((s) => imgsz / s[s.length - 2]!) : undefined;

/**
 * A WorldModel passes text features [1, nc, 512] (tasks.py WorldModel.predict); a YOLOEModel appends the class
 * prompts to its head's inputs, zeros [1, 80, 512] without prompts.
 */
function guideFor(module: string, nc: number): Shape | undefined {
  if (/^(C2fAttn|WorldDetect|ImagePoolingAttn)$/.test(module)) return [1, nc, 512];
  const p = NAMESPACE.get(module)?.prompts;
  return p ? [1, p.classes, p.width] : undefined;
}

function runLayer(m: Mod, module: string, x: Out<Shape>, imgsz: number, nc: number): { out: Out<Shape>; flops: number } {
  const fl = new ShapeFlow();
  const strides = stridesOf(x, imgsz);
  const guide = guideFor(module, nc);
  const out = fl.callMulti(m, x as never, { ...(strides ? { strides } : {}), ...(guide ? { guide } : {}) });
  return { out, flops: 2 * fl.ops.thop };
}

const leaves = (mods: readonly Mod[]) => summaryLayerCount(ULTRALYTICS_8_4, mods);

/** Build every layer (fused or not): one model, one shared Conv activation. */
function buildModel(model: Model84, fused: boolean): Mod[] {
  const b = modelBuilder(fused);
  return model.layers.map((_, i) => buildLayer(b, model.layers, i));
}

/** The layers run in a chain on their own outputs from a size x size image: total FLOPs. */
function chainFlops(model: Model84, mods: readonly Mod[], size: number): number {
  const image: Shape = [1, model.ch, size, size];
  const outs: Out<Shape>[] = [];
  let flops = 0;
  model.layers.forEach((l, i) => {
    const res = runLayer(mods[i]!, l.module, inputsOf(l.from, i, outs, image) as Out<Shape>, size, model.nc);
    outs.push(module84Keeps(l.module) ? (inputsOf(l.from, i, outs, image) as Out<Shape>) : res.out);
    flops += res.flops;
  });
  return flops;
}

/** ImagePoolingAttn returns new text features; the model loop keeps its input as the layer's output. */
const module84Keeps = (module: string) => module === 'ImagePoolingAttn';

/**
 * get_flops (utils/torch_utils.py:422-459): thop at a max(stride, 32)-sized input scaled to 640x640, or at 640 when
 * that run raises (RT-DETR's top-300 query selection needs more than 21 anchors). The recorded models' largest
 * stride is 32 (classification models: 1, so 32 too).
 */
function printedGflops(model: Model84, mods: readonly Mod[]): number {
  try {
    return ((chainFlops(model, mods, 32) / 1e9) * 640 * 640) / 32 / 32;
  } catch {
    return chainFlops(model, mods, 640) / 1e9;
  }
}

const sums = (mods: readonly Mod[]) =>
  mods.reduce(
    (a, m) => {
      const p = countParams(m);
      return { params: a.params + p.params, frozen: a.frozen + p.frozen };
    },
    { params: 0, frozen: 0 },
  );

// ---- per layer

/** Every layer built from its args and run on the truth's input shapes; the differences found. */
function layerProblems(models: readonly Model84[], withFlops: boolean): { problems: string[]; layers: number } {
  const problems: string[] = [];
  let layers = 0;
  for (const model of models) {
    const b = modelBuilder(false);
    const image: Shape = [1, model.ch, model.imgsz, model.imgsz];
    const outs = model.layers.map((l) => outputOf(model, l));
    model.layers.forEach((l, i) => {
      const where = `${model.name} L${i} ${l.module}`;
      layers++;
      try {
        const m = buildLayer(b, model.layers, i);
        const params = countParams(m).params;
        if (params !== l.params) problems.push(`${where}: params ${params}, truth ${l.params}`);
        const { out, flops } = runLayer(m, l.module, inputsOf(l.from, i, outs, image) as Out<Shape>, model.imgsz, model.nc);
        const got = flattenOut(out);
        if (JSON.stringify(got) !== JSON.stringify(l.outShapes))
          problems.push(`${where}: out ${JSON.stringify(got)}, truth ${JSON.stringify(l.outShapes)}`);
        if (withFlops && l.flops !== null && Math.abs(flops - l.flops) > 0.01 * Math.max(1, l.flops))
          problems.push(`${where}: flops ${flops}, truth ${l.flops}`);
      } catch (e) {
        problems.push(`${where}: ${(e as Error).message}`);
      }
    });
  }
  return { problems, layers };
}

test('every layer of every 8.4 record: parameters and output shapes exact, FLOPs within 1%', needsCorpus, () => {
  assert.ok(RECORDS.length >= 60, `8.4 records found: ${RECORDS.length}`);
  const { problems, layers } = layerProblems(RECORDS, true);
  assert.deepEqual(problems, [], `${problems.length} of ${layers} layers differ`);
  console.log(`# ${layers} layers of ${RECORDS.length} records match`);
});

test('every layer of the 8.4 YAMLs without records: parameters and output shapes exact', () => {
  assert.ok(MORE.length >= 100, `models in the data file: ${MORE.length}`);
  const { problems, layers } = layerProblems(MORE, false);
  assert.deepEqual(problems, [], `${problems.length} of ${layers} layers differ`);
  console.log(`# ${layers} layers of ${MORE.length} more models match`);
});

// ---- per model: what the summary lines count

function modelProblems(models: readonly Model84[]): string[] {
  const problems: string[] = [];
  for (const model of models) {
    const mods = buildModel(model, false);
    const { params, frozen } = sums(mods);
    const s = model.summary;
    if (leaves(mods) !== s.layers) problems.push(`${model.name}: ${leaves(mods)} leaf modules, summary ${s.layers} layers`);
    if (params !== s.params) problems.push(`${model.name}: ${params} parameters, summary ${s.params}`);
    if (params - frozen !== s.gradients) problems.push(`${model.name}: ${params - frozen} gradients, summary ${s.gradients}`);
    if (model.gflops !== null) {
      const g = printedGflops(model, mods);
      if (Math.round(g * 10) / 10 !== model.gflops) problems.push(`${model.name}: ${g} GFLOPs, summary ${model.gflops}`);
    }
  }
  return problems;
}

function fusedProblems(models: readonly Model84[]): string[] {
  const problems: string[] = [];
  for (const model of models) {
    const s = model.fused;
    if (!s) continue;
    const mods = buildModel(model, true);
    const { params, frozen } = sums(mods);
    if (params !== s.params) problems.push(`${model.name}: fused ${params} parameters, summary ${s.params}`);
    if (params - frozen !== s.gradients) problems.push(`${model.name}: fused ${params - frozen} gradients, summary ${s.gradients}`);
    if (leaves(mods) !== s.layers) problems.push(`${model.name}: fused ${leaves(mods)} leaf modules, summary ${s.layers} layers`);
    if (model.gflopsFused !== null) {
      const g = printedGflops(model, mods);
      if (Math.round(g * 10) / 10 !== model.gflopsFused) problems.push(`${model.name}: fused ${g} GFLOPs, summary ${model.gflopsFused}`);
    }
  }
  return problems;
}

test('every 8.4 model: the summary counts leaf modules; parameters, gradients and GFLOPs are the layers\u2019 sums', () => {
  assert.deepEqual(modelProblems([...RECORDS, ...MORE]), []);
});

test('every 8.4 model: model.fuse() leaves the recorded parameters, gradients, layers and GFLOPs', () => {
  assert.deepEqual(fusedProblems([...RECORDS, ...MORE]), []);
});

test('the fused-marker rule (fewer than 10 norm layers) holds on the fused 8.4 records', needsCorpus, () => {
  for (const rc of (CORPUS_MISSING ? [] : loadCases()).filter(
    (c) => frameworkOf(c.record) === 'ultralytics-8.4' && c.record.ok && c.record.summary_fused,
  )) {
    const model = RECORDS.find((m) => m.name === rc.name)!;
    if (!model.fused) continue;
    assert.equal(looksFused(buildModel(model, true)), rc.record.summary_fused!.includes('(fused)'), rc.name);
  }
});

// ---- fused heads, figures derived by hand from the upstream constructors

const head84 = (name: string, legacy = false): ModuleDef => (legacy ? LEGACY_HEADS_BY_NAME_84.get(name) : NAMESPACE.get(name))!;
const childNames = (m: Mod) => m.children.map(([n]) => n).join(',');

test('fused end2end Detect (YOLO26n\u2019s head): only dfl and the one-to-one branches remain, BatchNorms folded', needsCorpus, () => {
  const args: PyVal[] = [80, 1, true, [64, 128, 256]];
  // c2 = max(16, 64 // 4, 4) = 16, c3 = max(64, min(80, 100)) = 80; reg_max 1: DFL is an nn.Identity.
  // cv2[x]: Conv(x,16,3) 144x+32, Conv(16,16,3) 2304+32, Conv2d(16,4,1) 68 -> 71820 over x = 64, 128, 256
  // cv3[x]: DWConv(x,x,3) 11x, Conv(x,80,1) 80x+160, DWConv(80,80,3) 880, Conv(80,80,1) 6560, Conv2d(80,80,1) 6480 -> 83008
  // two branch sets: 2 * (71820 + 83008) = 309656, the record's layer 23
  const unfused = construct(modelBuilder(false), head84('Detect'), args);
  assert.equal(countParams(unfused).params, 309656);
  assert.equal(childNames(unfused), 'cv2,cv3,dfl,one2one_cv2,one2one_cv3');
  // fuse(): cv2 = cv3 = None; each Conv's BatchNorm (2c) folds into a conv bias (c):
  // one2one_cv2 71820 - 3 * (16 + 16) = 71724; one2one_cv3 83008 - (64 + 128 + 256 + 3 * 240) = 81840
  const fused = construct(modelBuilder(true), head84('Detect'), args);
  assert.equal(countParams(fused).params, 153564);
  assert.equal(childNames(fused), 'dfl,one2one_cv2,one2one_cv3');
  // the folded convs come back with requires_grad False: only the last Conv2d of each branch trains,
  // 3 * 68 + 3 * 6480 = 19644 = the gradients of YOLO26n's fused summary (every other fused layer is frozen)
  const c = countParams(fused);
  assert.equal(c.params - c.frozen, 19644);
  const yolo26n = RECORDS.find((m) => m.name.endsWith('26/yolo26@n.json'))!;
  assert.equal(yolo26n.fused!.gradients, 19644);
});

test('Detect: the legacy class branch (no C3k2/A2C2f/C2fCIB before it) is YOLOv8\u2019s, the default one YOLO11\u2019s', () => {
  const args: PyVal[] = [80, 16, null, [64, 128, 256]];
  // legacy cv3[x]: Conv(x,80,3) 720x+160, Conv(80,80,3) 57760, Conv2d(80,80,1) 6480 -> 720*448 + 3*64400 = 515760;
  // cv2[x] (c2 = 64): Conv(x,64,3) 576x+128, Conv(64,64,3) 36992, Conv2d(64,64,1) 4160 -> 576*448 + 3*41280 = 381888;
  // DFL 16: 897664, yolov8n's layer 22 as 8.4 builds it (8.3.0 always builds the DWConv branch: 464912)
  assert.equal(countParams(construct(modelBuilder(false), head84('Detect', true), args)).params, 897664);
  // DWConv cv3: 83008 + 381888 + 16 = 464912, yolo11n's / yolo12n's head
  assert.equal(countParams(construct(modelBuilder(false), head84('Detect'), args)).params, 464912);
  // not end2end: fuse() only folds the BatchNorms, 384 + 1168 channels
  const fused = construct(modelBuilder(true), head84('Detect'), args);
  assert.equal(countParams(fused).params, 464912 - 1552);
  assert.equal(childNames(fused), 'cv2,cv3,dfl');
});

test('fused v10Detect (8.4 fuse() drops cv2 and cv3): 463360 of 929808 parameters left', needsCorpus, () => {
  // one2one_cv2 381888 - 3 * 128 = 381504; light one2one_cv3 83008 - 1168 = 81840; DFL 16
  const m = construct(modelBuilder(true), NAMESPACE.get('v10Detect')!, [80, [64, 128, 256]]);
  assert.equal(countParams(m).params, 381504 + 81840 + 16);
  assert.equal(childNames(m), 'dfl,one2one_cv2,one2one_cv3');
  // yolov10n's head as the record has it (the whole model's fused figures are checked above)
  const v10 = RECORDS.find((r) => r.name.endsWith('yolov10n@n.json'))!;
  assert.equal(v10.layers[v10.layers.length - 1]!.params, 929808);
});

test('fused Pose26 and Segment26: their fuse() also drops the flow model, the sigma branches and Proto26\u2019s semseg', () => {
  const pose = construct(modelBuilder(true), head84('Pose26'), [1, [17, 3], 1, true, [64, 128, 256]]);
  assert.equal(childNames(pose), 'dfl,one2one_cv2,one2one_cv3,one2one_cv4,one2one_cv4_kpts');
  const built = construct(modelBuilder(false), head84('Pose26'), [1, [17, 3], 1, true, [64, 128, 256]]);
  assert.equal(
    childNames(built),
    'cv2,cv3,dfl,one2one_cv2,one2one_cv3,cv4,one2one_cv4,flow_model,cv4_kpts,cv4_sigma,one2one_cv4_kpts,one2one_cv4_sigma',
  );
  const seg = construct(modelBuilder(true), head84('Segment26'), [80, 32, 64, 1, true, [64, 128, 256]]);
  assert.equal(childNames(seg), 'dfl,one2one_cv2,one2one_cv3,proto,one2one_cv4');
  const proto = seg.children.find(([n]) => n === 'proto')![1];
  assert.equal(childNames(proto), 'cv1,upsample,cv2,cv3,feat_refine,feat_fuse');
  // without end2end nothing is dropped: Proto26 keeps semseg
  const seg2 = construct(modelBuilder(true), head84('Segment26'), [80, 32, 64, 1, null, [64, 128, 256]]);
  assert.equal(childNames(seg2.children.find(([n]) => n === 'proto')![1]), 'cv1,upsample,cv2,cv3,feat_refine,feat_fuse,semseg');
});

test('YOLOE heads run only with the prompt embeddings a YOLOEModel appends (ctx.guide)', () => {
  const m = construct(modelBuilder(false), head84('YOLOEDetect'), [80, 512, true, 16, null, [64, 128, 256]]);
  const maps: Shape[] = [
    [1, 64, 80, 80],
    [1, 128, 40, 40],
    [1, 256, 20, 20],
  ];
  // a file whose name lacks "yoloe" builds a DetectionModel, whose head gets 3 inputs: forward_head's assert fails
  assert.throws(() => new ShapeFlow().callMulti(m, maps, { strides: [8, 16, 32] }), /Expected 4 features/);
  // with K prompts, K classes: scores [1, K, 8400], y [1, 4 + K, 8400]
  const out = flattenOut(new ShapeFlow().callMulti(m, maps, { strides: [8, 16, 32], guide: [1, 5, 512] }));
  assert.deepEqual(out.slice(0, 3), [
    [1, 9, 8400],
    [1, 64, 8400],
    [1, 5, 8400],
  ]);
});

test('TorchVision: resnet18 unwrapped and truncated, split into every stage, whole; Index picks one map', () => {
  const b = modelBuilder(false);
  const tv = NAMESPACE.get('TorchVision')!;
  const image: Shape = [1, 3, 224, 224];
  // children minus avgpool and fc: 11176512 parameters (yolo11-cls-resnet18's layer 0), a [1, 512, 7, 7] map
  const trunk = construct(b, tv, ['resnet18', 'DEFAULT', true, 2]);
  assert.equal(countParams(trunk).params, 11176512);
  assert.deepEqual(new ShapeFlow().call(trunk, image), [1, 512, 7, 7]);
  // split: the input, then conv1, bn1, relu, maxpool, layer1..layer4 outputs
  const split = construct(b, tv, ['resnet18', 'DEFAULT', true, 2, true]);
  const maps = new ShapeFlow().callMulti(split, image) as Shape[];
  assert.deepEqual(
    maps.map((s) => s.slice(1)),
    [
      [3, 224, 224],
      [64, 112, 112],
      [64, 112, 112],
      [64, 112, 112],
      [64, 56, 56],
      [64, 56, 56],
      [128, 28, 28],
      [256, 14, 14],
      [512, 7, 7],
    ],
  );
  assert.deepEqual(new ShapeFlow().call(construct(b, NAMESPACE.get('Index')!, [-2]), maps), [1, 256, 14, 14]);
  // unwrap=False: the whole model (11689512, torchvision's resnet18 figure), its 1000 logits
  const whole = construct(b, tv, ['resnet18', 'DEFAULT', false]);
  assert.equal(countParams(whole).params, 11689512);
  assert.deepEqual(new ShapeFlow().call(whole, image), [1, 1000]);
  assert.throws(() => construct(b, tv, ['convnext_tiny']), /not modelled/);
});
