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
import type { Framework } from '../../server/src/core/catalog/framework.ts';
import { TORCH_NN } from '../../server/src/core/catalog/torch.ts';
import { PyFloat, type PyVal } from '../../server/src/core/py.ts';
import { looksFused, summaryLayerCount } from '../../server/src/core/summary-line.ts';
import {
  DEFS_IN_TASKS_84,
  LEGACY_BREAKERS_84,
  LEGACY_HEADS_BY_NAME_84,
  REPEATS_84,
} from '../../server/src/core/catalog/ultralytics/namespace-8.4.ts';
import { frameworkOf, loadCases, REFERENCE, type RefCase, type RefLayer } from '../support/reference.ts';

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

interface Record84 {
  readonly c: RefCase;
  /** the layers' args as Python values */
  readonly args: PyVal[][];
}

const RECORDS: readonly Record84[] = loadCases()
  .filter((c) => frameworkOf(c.record) === 'ultralytics-8.4' && c.record.ok)
  .map((c) => {
    const raw = parsePy(readFileSync(join(REFERENCE, c.name), 'utf8')) as { layers: { args: PyVal[] }[] };
    return { c, args: raw.layers.map((l) => l.args) };
  });

// ---- building a layer as parse_model does

const TORCH = new Map<string, ModuleDef>(TORCH_NN.map((d) => [`nn.${d.name}`, d]));
const NAMESPACE = new Map(DEFS_IN_TASKS_84.map((d) => [d.name, d] as const));

/** The definition of a record's module: nn.X from torch, a head's legacy variant when no C3k2/A2C2f/C2fCIB precedes it. */
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

/** `m(*args)`, or `nn.Sequential(m(*args) for _ in range(n))` when n > 1 is left after the repeats branch. */
function buildLayer(b: Builder, l: RefLayer, args: PyVal[], legacy: boolean): Mod {
  const def = defOf(l.module, legacy);
  const keepsN = REPEATS_84.includes(l.module) || l.module === 'HGBlock';
  if (l.n > 1 && !keepsN) return b.seq(Array.from({ length: l.n }, () => construct(b, def, args)));
  return construct(b, def, args);
}

/** parse_model's legacy flag when it reaches layer i: true until a C3k2, A2C2f or C2fCIB layer is parsed. */
const legacyAt = (layers: readonly RefLayer[], i: number): boolean =>
  !layers.slice(0, i).some((l) => LEGACY_BREAKERS_84.includes(l.module));

const recordOut = (l: RefLayer): Out<Shape> => (l.out_shape ?? l.out_shapes) as Out<Shape>;

/** What a layer receives: the outputs its `from` names (-1 the previous layer, the image at layer 0). */
function inputsOf<T>(from: unknown, i: number, outs: readonly T[], image: T): T | T[] {
  const one = (f: number) => (i === 0 && f === -1 ? image : outs[f < 0 ? i + f : f]!);
  return Array.isArray(from) ? (from as number[]).map(one) : one(from as number);
}

/** The shape of a list of inputs, when a head runs: stride of each level = image size / its height (the 640 pass). */
const stridesOf = (x: unknown, imgsz: number): number[] | undefined =>
  Array.isArray(x) && Array.isArray(x[0]) ? (x as Shape[]).map((s) => imgsz / s[s.length - 2]!) : undefined;

/** A WorldModel passes text features [1, nc, 512] to C2fAttn and WorldDetect (tasks.py WorldModel.predict). */
const guideFor = (module: string, nc: number): Shape | undefined => (/^(C2fAttn|WorldDetect)$/.test(module) ? [1, nc, 512] : undefined);

function runLayer(m: Mod, module: string, x: Out<Shape>, imgsz: number, nc: number): { out: Out<Shape>; flops: number } {
  const fl = new ShapeFlow();
  const strides = stridesOf(x, imgsz);
  const guide = guideFor(module, nc);
  const out = fl.callMulti(m, x as never, { ...(strides ? { strides } : {}), ...(guide ? { guide } : {}) });
  return { out, flops: 2 * fl.ops.thop };
}

const leaves = (mods: readonly Mod[]) => summaryLayerCount({ summary: 'ultralytics-leaves' } as Framework, mods);

/** "{n} layers, {p} parameters, {g} gradients, {f} GFLOPs" of a summary line */
function summaryFigures(s: string): { layers: number; params: number; gradients: number; gflops: number | null } {
  const m = /: ([\d,]+) layers, ([\d,]+) parameters, ([\d,]+) gradients(?:, ([\d.]+) GFLOPs)?/.exec(s);
  if (!m) throw new Error(`unreadable summary: ${s}`);
  const n = (t: string) => Number(t.replace(/,/g, ''));
  return { layers: n(m[1]!), params: n(m[2]!), gradients: n(m[3]!), gflops: m[4] ? Number(m[4]) : null };
}

// ---- per layer

let layersChecked = 0;
test('every layer of every 8.4 record: parameters and output shapes exact, FLOPs within 1%', () => {
  assert.ok(RECORDS.length >= 60, `8.4 records found: ${RECORDS.length}`);
  const problems: string[] = [];
  for (const { c, args } of RECORDS) {
    const r = c.record;
    const b = modelBuilder(false);
    const image: Shape = [1, r.ch, r.imgsz, r.imgsz];
    const outs = r.layers.map(recordOut);
    r.layers.forEach((l, i) => {
      const where = `${c.name} L${i} ${l.module}`;
      try {
        const m = buildLayer(b, l, args[i]!, legacyAt(r.layers, i));
        const params = countParams(m).params;
        if (params !== l.params) problems.push(`${where}: params ${params}, record ${l.params}`);
        const { out, flops } = runLayer(m, l.module, inputsOf(l.from, i, outs, image) as Out<Shape>, r.imgsz, r.nc);
        const want = l.out_shape ? [l.out_shape] : l.out_shapes!;
        const got = flattenOut(out);
        if (JSON.stringify(got) !== JSON.stringify(want))
          problems.push(`${where}: out ${JSON.stringify(got)}, record ${JSON.stringify(want)}`);
        if (l.flops !== null && Math.abs(flops - l.flops) > 0.01 * Math.max(1, l.flops))
          problems.push(`${where}: flops ${flops}, record ${l.flops}`);
      } catch (e) {
        problems.push(`${where}: ${(e as Error).message}`);
      }
      layersChecked++;
    });
  }
  assert.deepEqual(problems, [], `${problems.length} of ${layersChecked} layers differ`);
  console.log(`# ${layersChecked} layers of ${RECORDS.length} records match`);
});

// ---- per model: what the summary lines count

/** Build every layer of a record (fused or not). */
function buildModel(rc: Record84, fused: boolean): Mod[] {
  const r = rc.c.record;
  const b = modelBuilder(fused);
  return r.layers.map((l, i) => buildLayer(b, l, rc.args[i]!, legacyAt(r.layers, i)));
}

/** The chain of layers run on its own outputs from a size x size image: total FLOPs. */
function chainFlops(rc: Record84, mods: readonly Mod[], size: number): number {
  const r = rc.c.record;
  const image: Shape = [1, r.ch, size, size];
  const outs: Out<Shape>[] = [];
  let flops = 0;
  r.layers.forEach((l, i) => {
    const res = runLayer(mods[i]!, l.module, inputsOf(l.from, i, outs, image) as Out<Shape>, size, r.nc);
    outs.push(res.out);
    flops += res.flops;
  });
  return flops;
}

/**
 * get_flops (utils/torch_utils.py:422-459): thop at a max(stride, 32)-sized input scaled to 640x640, or at 640
 * when that run raises (RT-DETR's top-300 query selection needs more than 21 anchors). These models' largest
 * stride is 32 (classification models: 1, so 32 too).
 */
function printedGflops(rc: Record84, mods: readonly Mod[]): number {
  try {
    return ((chainFlops(rc, mods, 32) / 1e9) * 640 * 640) / 32 / 32;
  } catch {
    return chainFlops(rc, mods, 640) / 1e9;
  }
}

test('every 8.4 record: the summary counts leaf modules, and the totals are the layers\u2019 sums', () => {
  const problems: string[] = [];
  for (const rc of RECORDS) {
    const r = rc.c.record;
    const mods = buildModel(rc, false);
    const s = summaryFigures(r.summary!);
    const { params, frozen } = mods.reduce(
      (a, m) => {
        const p = countParams(m);
        return { params: a.params + p.params, frozen: a.frozen + p.frozen };
      },
      { params: 0, frozen: 0 },
    );
    if (leaves(mods) !== s.layers) problems.push(`${rc.c.name}: ${leaves(mods)} leaf modules, summary ${s.layers} layers`);
    if (params !== r.params) problems.push(`${rc.c.name}: ${params} parameters, record ${r.params}`);
    if (params - frozen !== s.gradients) problems.push(`${rc.c.name}: ${params - frozen} gradients, summary ${s.gradients}`);
    const gflops = printedGflops(rc, mods);
    if (Math.round(gflops * 10) / 10 !== r.gflops) problems.push(`${rc.c.name}: ${gflops} GFLOPs, record ${r.gflops}`);
  }
  assert.deepEqual(problems, []);
});

test('every 8.4 record: model.fuse() leaves the recorded parameters, gradients, layers and GFLOPs', () => {
  const problems: string[] = [];
  for (const rc of RECORDS) {
    const r = rc.c.record;
    if (rc.c.mutant || r.params_fused == null || !r.summary_fused) continue;
    const mods = buildModel(rc, true);
    const s = summaryFigures(r.summary_fused);
    const { params, frozen } = mods.reduce(
      (a, m) => {
        const p = countParams(m);
        return { params: a.params + p.params, frozen: a.frozen + p.frozen };
      },
      { params: 0, frozen: 0 },
    );
    const name = rc.c.name;
    if (params !== r.params_fused) problems.push(`${name}: fused ${params} parameters, record ${r.params_fused}`);
    if (params - frozen !== s.gradients) problems.push(`${name}: fused ${params - frozen} gradients, summary ${s.gradients}`);
    if (leaves(mods) !== s.layers) problems.push(`${name}: fused ${leaves(mods)} leaf modules, summary ${s.layers} layers`);
    if (looksFused(mods) !== r.summary_fused.includes('(fused)')) problems.push(`${name}: fused marker differs`);
    const gflops = printedGflops(rc, mods);
    if (r.gflops_fused != null && Math.round(gflops * 10) / 10 !== r.gflops_fused)
      problems.push(`${name}: fused ${gflops} GFLOPs, record ${r.gflops_fused}`);
  }
  assert.deepEqual(problems, []);
});
