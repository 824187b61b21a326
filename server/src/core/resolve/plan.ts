/**
 * Phase 2, the per-layer plan: parse_model's walk over the layers. For each layer: its shape, the module lookup,
 * string args evaluated, the depth gain, `from` checked and routed through the ch list, then the framework's
 * treatment (and module rule) turns the YAML args into constructor args and c2. Nothing is built here.
 */
import { diag, type Code } from '../diagnostics.ts';
import { layerRaw, type LayerSrc, type ModelDoc } from '../document.ts';
import type { Range } from '../range.ts';
import type { ArgBinding } from '../model.ts';
import { isInt, isNumeric, isSeq, num, PyFloat, pyBrief, pyRepr, pyRound, pySize, type PyVal } from '../py.ts';
import { evalStringArg, type EvalEnv } from '../pyeval.ts';
import type { ChEntry, Framework, Header, LayerContext, ModuleEntry, ParseState } from '../framework/types.ts';
import { lookupModule } from './lookup.ts';
import { MAX_REPEATS, MAX_VALUE_SIZE } from './options.ts';
import type { Sink, Stage } from './sink.ts';

/** One layer after parse_model's bookkeeping: what a build of it needs, and what hovers and diagnostics show. */
export interface ParsedLayer {
  readonly index: number;
  readonly src: LayerSrc;
  readonly from: PyVal;
  fromIndices: number[] | null;
  fromIsList: boolean;
  readonly nYaml: PyVal;
  n: number | null;
  copies: number;
  moduleName: string | null;
  entry?: ModuleEntry;
  args: PyVal[] | null;
  bindings: ArgBinding[];
  c1: number | null;
  c2: number | null;
  /** class attributes parse_model set on the module's class before building it (8.4's `Detect.legacy`) */
  classAttrs: ReadonlyMap<string, PyVal>;
  /** parse_model got through this layer's bookkeeping */
  parsed: boolean;
  /** module definition, copies, args and class attributes: what a build of this layer depends on */
  buildKey: string;
}

/** The source range a layer-level problem points at: the module name, else the whole layer. */
export const rangeOrModule = (p: ParsedLayer): Range => p.src.module?.range ?? p.src.range;

/** A cache key per definition: a user module redeclared under the same name is a different definition. */
const defTokens = new WeakMap<object, string>();
let defCount = 0;
function defToken(p: ParsedLayer): string {
  const def = p.entry?.def;
  if (!def) return String(p.moduleName);
  let t = defTokens.get(def);
  if (!t) defTokens.set(def, (t = `${def.name}#${++defCount}`));
  return t;
}

function buildKeyOf(p: ParsedLayer): string {
  const attrs = [...p.classAttrs].map(([k, v]) => `${k}=${pyRepr(v)}`).join(',');
  return `${defToken(p)}|${p.copies}|${p.args!.map(pyRepr).join(',')}${attrs ? `|${attrs}` : ''}`;
}

const YAML11_FLOAT = /^[-+]?\d+(\.\d*)?[eE][-+]?\d+$/;

/**
 * Walks the layers as parse_model does, keeping its `ch` list. `outChannelsOf` builds a layer whose c2 parse_model
 * reads from the built module (Scaled-YOLOv4's HarDBlock).
 */
export class LayerPlanner {
  /** parse_model's bookkeeping list: after layer 0 it is emptied and holds each layer's c2 */
  private readonly chList: ChEntry[];
  private chReset = false;
  private lastC2: number | null;
  private readonly state: ParseState = { legacy: true };
  private readonly keepsInput: boolean;

  constructor(
    private readonly doc: ModelDoc,
    private readonly framework: Framework,
    private readonly header: Header,
    private readonly sink: Sink,
    /** the stage at which a `from` that Scaled-YOLOv4's parse_model lets through fails (the first forward) */
    private readonly lateFromStage: Stage,
    private readonly outChannelsOf: (p: ParsedLayer) => number | null,
  ) {
    this.chList = [header.ch];
    this.lastC2 = header.ch;
    this.keepsInput = framework.layers.chList === 'keeps-input';
  }

  planAll(): ParsedLayer[] {
    return this.doc.layers.map((src) => this.plan(src));
  }

  private fail(p: ParsedLayer, code: Code, range: Range, message: string, stage: Stage = 'parse', data?: Record<string, unknown>): void {
    this.sink.add(diag(code, range, message, undefined, { layer: p.index, ...(data ? { data } : {}) }), stage);
  }

  private pushCh(i: number, c2: ChEntry): void {
    if (i === 0 && !this.keepsInput && !this.chReset) {
      this.chList.length = 0;
      this.chReset = true;
    }
    this.chList.push(c2);
  }

  /** `ch[x]` with Python's list indexing */
  private chAt(x: number): ChEntry {
    return this.chList[x < 0 ? this.chList.length + x : x] ?? null;
  }

  private plan(src: LayerSrc): ParsedLayer {
    const p: ParsedLayer = {
      index: src.index,
      src,
      from: src.from?.value ?? null,
      fromIndices: null,
      fromIsList: false,
      nYaml: src.n?.value ?? null,
      n: null,
      copies: 1,
      moduleName: null,
      args: null,
      bindings: [],
      c1: null,
      c2: null,
      classAttrs: new Map(),
      parsed: false,
      buildKey: '',
    };
    const parsed = this.parse(p);
    if (!parsed) {
      this.pushCh(p.index, null);
      return p;
    }
    p.buildKey = buildKeyOf(p);
    let c2 = parsed.c2;
    // c2 = m_.get_out_ch(): read from the built block (cached: the build phase gets this one back)
    if (p.entry!.treat === 'hardblock') c2 = p.c2 = this.outChannelsOf(p);
    this.pushCh(p.index, c2);
    if (typeof c2 === 'number') this.lastC2 = c2;
    return p;
  }

  /** parse_model's steps for one layer; null when it does not get through (a diagnostic says why) */
  private parse(p: ParsedLayer): { c2: ChEntry } | null {
    const src = p.src;
    if (!src.from || !src.n || !src.module || !src.args) {
      const raw = layerRaw(src);
      const parts = [src.from, src.n, src.module, src.args].filter(Boolean).length;
      const got = raw ? `got ${raw.kind === 'map' ? 'a mapping' : pyBrief(raw.value)}` : `got ${parts} of 4 elements`;
      this.fail(p, 'YOLO005', src.range, `a layer is [from, number, module, args]; ${got}`);
      return null;
    }
    this.lookup(p);
    const args = src.args;
    if (args.kind !== 'seq') {
      this.fail(p, 'YOLO005', args.range, `args must be a list, got ${pyBrief(args.value)}`);
      return null;
    }
    const yamlArgs = args.items ?? [];
    // aliases can make an arg a huge DAG; nothing a constructor takes is anywhere near this size
    const tooBig = yamlArgs.find((a) => pySize(a.value, MAX_VALUE_SIZE) > MAX_VALUE_SIZE);
    if (tooBig || pySize(src.from.value, MAX_VALUE_SIZE) > MAX_VALUE_SIZE) {
      const message =
        `this value expands (through YAML aliases) to more than ${MAX_VALUE_SIZE.toLocaleString('en-US')} ` +
        `elements: not something a layer takes`;
      this.fail(p, 'YOLO023', (tooBig ?? src.from).range, message);
      return null;
    }
    const evaluated = this.evaluateArgs(p, yamlArgs);
    if (!evaluated) return null;
    if (!this.depthGain(p)) return null;
    const from = this.route(p);
    if (!from || !p.entry) return null;
    return this.treat(p, p.entry, evaluated, from);
  }

  private lookup(p: ParsedLayer): void {
    const mv = p.src.module!.value;
    if (typeof mv !== 'string') {
      this.fail(p, 'YOLO010', p.src.module!.range, `the module must be a name, got ${pyBrief(mv)}`, 'build');
      return;
    }
    p.moduleName = mv;
    const r = lookupModule(this.framework, mv);
    if ('entry' in r) p.entry = r.entry;
    else {
      const data = { ...(r.suggestion ? { suggestion: r.suggestion } : {}), ...(r.framework ? { framework: r.framework } : {}) };
      this.fail(p, r.code, p.src.module!.range, r.message, 'parse', data);
    }
  }

  /** parse_model's locals (and a few module globals) a string arg may name; computed only when asked */
  private localName(p: ParsedLayer, k: string, yamlArgs: readonly { value: PyVal }[]): PyVal | undefined {
    const h = this.header;
    switch (k) {
      case 'nc':
        return h.nc;
      case 'i':
        return p.index;
      case 'n':
        return p.src.n!.value;
      case 'f':
        return p.src.from!.value;
    }
    if (this.framework.layers.argEval === 'eval')
      switch (k) {
        case 'anchors':
          return h.anchors;
        case 'gd':
          return h.depth === null ? null : new PyFloat(h.depth);
        case 'gw':
          return h.width === null ? null : new PyFloat(h.width);
        case 'na':
          return h.na ?? undefined;
        case 'no':
          return h.no ?? undefined;
        case 'ch':
          return this.chList.map((c) => (typeof c === 'number' ? c : null));
        default:
          return undefined;
      }
    switch (k) {
      case 'depth':
        return h.depth === null ? null : new PyFloat(h.depth);
      case 'width':
        return h.width === null ? null : new PyFloat(h.width);
      case 'max_channels':
        return h.maxChannels === Infinity ? new PyFloat(Infinity) : h.maxChannels;
      case 'kpt_shape':
        return h.kptShape;
      case 'act':
        return h.activation;
      case 'scales':
        return this.doc.top.has('scales') ? '<mapping>' : null;
      case 'scale':
        return h.scale ?? undefined;
      case 'm':
        return p.src.module!.value;
      case 'args':
        return yamlArgs.map((a) => a.value);
      case 'reg_max':
        return this.framework.header.headKeys ? h.regMax : undefined;
      case 'end2end':
        return this.framework.header.headKeys ? h.end2end : undefined;
      case 'legacy':
        return this.framework.header.headKeys ? this.state.legacy : undefined;
      default:
        return undefined;
    }
  }

  /** string args as parse_model evaluates them (YOLOv5 `eval`, ultralytics a local name or `ast.literal_eval`) */
  private evaluateArgs(p: ParsedLayer, yamlArgs: readonly { value: PyVal; range: Range }[]): PyVal[] | null {
    // most layers have no string arg: the evaluation environment is made for the first one
    let env: EvalEnv | undefined;
    const evaluated: PyVal[] = [];
    let failed = false;
    for (const a of yamlArgs) {
      if (typeof a.value !== 'string') {
        evaluated.push(a.value);
        continue;
      }
      env ??= {
        names: { has: (k: string) => this.localName(p, k, yamlArgs) !== undefined, get: (k: string) => this.localName(p, k, yamlArgs) },
        mode: this.framework.layers.argEval,
      };
      const r = evalStringArg(a.value, env);
      if (r.kind === 'value') evaluated.push(r.value);
      else if (r.kind === 'unchanged' || this.framework.layers.unevaluable === 'keep') evaluated.push(a.value);
      else {
        evaluated.push(a.value);
        failed = true;
        const how = this.framework.layers.argEval === 'eval' ? 'evals' : 'literal_evals';
        this.fail(p, 'YOLO014', a.range, `parse_model ${how} this string and gets ${r.error}`);
      }
    }
    if (failed) return null;
    // a name can stand for a value behind aliases (`nc: *bomb`, then the arg 'nc'): the same limit as for YAML args
    const huge = evaluated.findIndex((v, k) => typeof yamlArgs[k]!.value === 'string' && pySize(v, MAX_VALUE_SIZE) > MAX_VALUE_SIZE);
    if (huge >= 0) {
      const message =
        `'${yamlArgs[huge]!.value as string}' names a value that expands (through YAML aliases) to more than ` +
        `10,000 elements: not something a layer takes`;
      this.fail(p, 'YOLO023', yamlArgs[huge]!.range, message);
      return null;
    }
    return evaluated;
  }

  /** `n = max(round(n * depth), 1) if n > 1 else n` */
  private depthGain(p: ParsedLayer): boolean {
    const nSrc = p.src.n!;
    const nv = nSrc.value;
    if (!isNumeric(nv)) {
      const hint = typeof nv === 'string' && YAML11_FLOAT.test(nv) ? ` ('${nv}' is a string in YAML 1.1)` : '';
      const what = typeof nv === 'string' ? 'str' : 'value';
      const message = `number (repeats) must be a number, got ${pyBrief(nv)}${hint}: '>' is not supported between a ${what} and an int`;
      this.fail(p, 'YOLO009', nSrc.range, message);
      return false;
    }
    let n = num(nv);
    if (Number.isNaN(n)) {
      this.fail(p, 'YOLO023', nSrc.range, 'number (repeats) is NaN');
      return false;
    }
    if (n > 1) {
      if (this.header.depth === null) return false;
      n = Math.max(pyRound(n * this.header.depth), 1);
    }
    if (!Number.isFinite(n) || n > MAX_REPEATS) {
      const message =
        `number ${pyBrief(nv)} gives ${n} repeats after the depth multiple: beyond anything buildable (YOLO Lens ` +
        `stops at ${MAX_REPEATS})`;
      this.fail(p, 'YOLO023', nSrc.range, message, 'build');
      return false;
    }
    if (!Number.isInteger(n) && n > 1) n = Math.trunc(n);
    p.n = n;
    return true;
  }

  /** `from` checked as parse_model indexes its ch list; the absolute input indices, or null */
  private route(p: ParsedLayer): { raw: number[] } | null {
    const i = p.index;
    const fromSrc = p.src.from!;
    const isList = isSeq(fromSrc.value);
    p.fromIsList = isList;
    const items = isList
      ? (fromSrc.items ?? []).map((it) => ({ value: it.value, range: it.range }))
      : [{ value: fromSrc.value, range: fromSrc.range }];
    const sv4 = this.keepsInput;
    const len = i === 0 && !sv4 ? 1 : sv4 ? this.chList.length : i;
    const absolute: number[] = [];
    const raw: number[] = [];
    let ok = true;
    for (const it of items) {
      const problem = this.fromProblem(i, it.value, isList, len, sv4);
      if (problem) {
        this.fail(p, problem.code, it.range, problem.message, problem.stage);
        ok = false;
        continue;
      }
      const x = num(it.value);
      raw.push(x);
      absolute.push(x === -1 ? i - 1 : x < 0 ? i + x : x);
    }
    if (!ok) return null;
    p.fromIndices = absolute;
    return { raw };
  }

  private fromProblem(
    i: number,
    v: PyVal,
    isList: boolean,
    len: number,
    sv4: boolean,
  ): { code: Code; message: string; stage?: Stage } | null {
    if (!isInt(v) && typeof v !== 'boolean')
      return { code: 'YOLO006', message: `from must be an int${isList ? '' : ' or a list of ints'}, got ${pyBrief(v)}` };
    const x = num(v);
    // ch indexing, as parse_model does it (Python list indexing on the bookkeeping list)
    const chIndex = sv4 ? (x === -1 ? -1 : x + (isList ? 1 : 0)) : x;
    if (chIndex >= len) {
      const at = x === i ? 'this layer' : `layer ${x}, after this one`;
      const message =
        x >= i ? `from ${x} points at ${at} (layer ${i}): IndexError: list index out of range` : `from ${x} is out of range at layer ${i}`;
      return { code: 'YOLO008', message };
    }
    if (chIndex < -len)
      return {
        code: 'YOLO007',
        message: `from ${x} points before the first layer (layer ${i} can reach back to ${-len}): IndexError: list index out of range`,
      };
    if (i === 0 && x !== -1)
      return {
        code: 'YOLO007',
        message: 'layer 0 can only take the input image (from: -1): the save list computes x % 0 (ZeroDivisionError)',
      };
    // Scaled-YOLOv4's ch list keeps the input at index 0, so `from: i` or `from: -(i+1)` get through parse_model;
    // the forward's y[f] then has no such layer
    if (sv4 && x !== -1 && (x >= i || x < -i)) {
      const what = x >= i ? 'points at this layer' : 'points before the first layer';
      return {
        code: x >= i ? 'YOLO008' : 'YOLO007',
        message:
          `from ${x} ${what} (layer ${i}): Scaled-YOLOv4's parse_model accepts it (its ch list keeps the input at index ` +
          `0), but the first forward reads y[${x}] of ${i} outputs: IndexError: list index out of range`,
        stage: this.lateFromStage,
      };
    }
    return null;
  }

  /** the framework's treatment of the module, with its module rule */
  private treat(p: ParsedLayer, entry: ModuleEntry, evaluated: PyVal[], from: { raw: number[] }): { c2: ChEntry } | null {
    const src = p.src;
    const argItems = src.args!.items ?? [];
    const t: LayerContext = {
      framework: this.framework,
      header: this.header,
      index: p.index,
      entry,
      def: entry.def,
      ranges: {
        layer: src.range,
        from: src.from!.range,
        n: src.n!.range,
        module: src.module!.range,
        args: src.args!.range,
        arg: argItems.map((a) => a.range),
      },
      yamlArgs: argItems.map((a) => a.value),
      evaluated,
      rawFrom: from.raw,
      fromIsList: p.fromIsList,
      state: this.state,
      n: p.n!,
      chAt: (x) => this.chAt(x),
      chOf: (x) => {
        const c = this.chAt(x);
        return typeof c === 'number' ? c : null;
      },
      fail: (code, range, message, stage = 'parse') => this.fail(p, code, range, message, stage),
      args: [...evaluated],
      c1: null,
      c2: this.lastC2,
      copies: p.n! > 1 ? p.n! : 1,
      nPrinted: p.n!,
      classAttrs: new Map(),
      bindings: p.bindings,
      bind: (k, passed, note) => {
        const argIndex = entry.treatment.argIndex(k) ?? undefined;
        p.bindings.push({
          yamlIndex: k,
          range: argItems[k]!.range,
          yamlValue: argItems[k]!.value,
          evaluated: evaluated[k]!,
          passed,
          // plain properties (undefined when absent): this runs for every arg of every layer
          argIndex,
          param: argIndex !== undefined ? entry.def.signature[argIndex]?.name : undefined,
          note,
        });
      },
    };
    const rule = entry.rule;
    const ok = (!rule?.before || rule.before(t)) && entry.treatment.apply(t) && (!rule?.after || rule.after(t));
    p.n = t.nPrinted;
    p.copies = t.copies;
    p.c1 = t.c1;
    if (!ok) return null;
    p.args = t.args;
    p.classAttrs = t.classAttrs;
    p.c2 = typeof t.c2 === 'number' ? t.c2 : null;
    p.parsed = true;
    // a CBLinear's list of split channels is what the next layers' ch[f] see
    return { c2: t.c2 };
  }
}
