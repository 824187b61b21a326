/**
 * Phase 1, the header: the top-level keys parse_model reads before the layers (nc, multiples or scales, ch,
 * activation, anchors...), read as the framework reads them, each problem a diagnostic on its key.
 */
import { diag, type Code } from '../diagnostics.ts';
import { keyText, mapEntries, type ModelDoc } from '../document.ts';
import type { Range } from '../range.ts';
import { isInt, isNumeric, isSeq, num, PyCall, PyFloat, pyBrief, seqItems, truthy, type PyVal } from '../py.ts';
import { evalStringArg, type NameLookup } from '../pyeval.ts';
import { Builder } from '../nn/builder.ts';
import { ShapeError } from '../nn/module.ts';
import { buildCall } from '../catalog/activation.ts';
import { guessScaleFromFileName, type modeline } from '../framework/detect.ts';
import type { Framework, Header, ScaleSource } from '../framework/types.ts';
import type { ResolveOptions } from './options.ts';
import type { Sink, Stage } from './sink.ts';

const DOC_START: Range = { start: 0, end: 0 };
const YAML11_FLOAT = /^[-+]?\d+(\.\d*)?[eE][-+]?\d+$/;
/** `eval(act)` runs in tasks.py's globals: `nn` and `torch` (the evaluator knows them), no model names */
const NO_NAMES: NameLookup = { has: () => false, get: () => undefined };

/** Reads the header keys; problems go to `sink`. */
export function readHeader(doc: ModelDoc, framework: Framework, opts: ResolveOptions, ml: ReturnType<typeof modeline>, sink: Sink): Header {
  const r = new HeaderReader(doc, framework, sink);
  r.requireKeys();
  const nc = opts.nc !== undefined && Number.isInteger(opts.nc) && opts.nc > 0 ? opts.nc : r.nc();
  const multiples = framework.header.scales && r.hasScales() ? r.scales(opts, ml) : r.multiples();
  const scaleVar = multiples.scale ?? (framework.header.scaleWithoutScales === 'file-name' ? r.fileScale(opts, ml) : null);
  const ch = r.ch(opts);
  const defaultAct = r.activation();
  const channelMultiple = r.channelMultiple();
  const anchors = framework.header.anchors ? r.anchors(nc) : { anchors: null, na: null, no: null };
  return {
    nc,
    ...multiples,
    scaleVar,
    ch,
    defaultAct,
    channelMultiple,
    ...anchors,
    regMax: framework.header.headKeys ? (r.top('reg_max')?.value.value ?? 16) : 16,
    end2end: framework.header.headKeys ? (r.top('end2end')?.value.value ?? null) : null,
    kptShape: r.top('kpt_shape')?.value.value ?? null,
    activation: r.top('activation')?.value.value ?? null,
  };
}

type Multiples = Pick<Header, 'depth' | 'width' | 'maxChannels' | 'scale' | 'scaleReason' | 'scaleSource'>;

class HeaderReader {
  constructor(
    readonly doc: ModelDoc,
    readonly framework: Framework,
    readonly sink: Sink,
  ) {}

  top(k: string) {
    return this.doc.top.get(k);
  }

  problem(k: string, code: Code, message: string, stage: Stage = 'parse'): void {
    const t = this.top(k);
    this.sink.add(diag(code, t ? t.value.range : DOC_START, message), stage);
  }

  requireKeys(): void {
    const v5 = this.framework.dialect === 'yolov5';
    // a YOLOv5 code base given an ultralytics file: the `scales:` key is the line to change (or the framework)
    const scales = v5 ? this.top('scales') : undefined;
    for (const k of this.framework.header.required) {
      if (this.top(k)) continue;
      const why = v5 ? `${this.framework.label} reads d['${k}']` : 'the model has no layers there';
      const other = scales ? ' (this is an ultralytics-format file: `scales:`, no anchors; ultralytics builds it)' : '';
      const at = scales?.keyRange ?? this.doc.sections.backbone?.keyRange ?? [...this.doc.top.values()][0]?.keyRange ?? DOC_START;
      this.sink.add(diag('YOLO003', at, `missing key '${k}': ${why}${other}`), 'parse');
    }
  }

  nc(): PyVal {
    const v: PyVal = this.top('nc')?.value.value ?? null;
    if (!this.top('nc')) return v;
    if (!(isInt(v) || typeof v === 'boolean')) {
      if (v instanceof PyFloat)
        this.problem(
          'nc',
          'YOLO004',
          `nc must be an int, got ${pyBrief(v)} (a float class count reaches nn.Conv2d as a float channel count)`,
          'build',
        );
      else this.problem('nc', 'YOLO004', `nc must be an int, got ${pyBrief(v)}`);
    } else if (isInt(v) && v <= 0)
      this.problem('nc', 'YOLO023', `nc = ${v}: a model needs at least one class (the bias init takes log(0.6 / (nc - 0.99999)))`, 'build');
    else if (isInt(v) && v > 100_000) this.problem('nc', 'YOLO023', `nc = ${v} classes is beyond anything buildable here`, 'build');
    return v;
  }

  /** a non-negative number key; null (with a diagnostic) when it is not one */
  numberKey(k: string, dflt: number | null, what: string): number | null {
    const t = this.top(k);
    if (!t) return dflt;
    const v = t.value.value;
    if (!isNumeric(v)) {
      const hint =
        typeof v === 'string' && YAML11_FLOAT.test(v)
          ? ` ('${v}' is a string in YAML 1.1, which PyYAML follows: write it with a dot and a signed exponent, e.g. 1.0e+9)`
          : '';
      this.problem(k, 'YOLO004', `${k} must be a number, got ${pyBrief(v)}${hint}`);
      return null;
    }
    const x = num(v);
    if (!Number.isFinite(x) || x < 0) {
      this.problem(k, 'YOLO023', `${k} = ${pyBrief(v)} is not a usable ${what}`);
      return null;
    }
    return x;
  }

  hasScales(): boolean {
    const t = this.top('scales');
    return !!t && truthy(t.value.value === '<mapping>' ? true : t.value.value);
  }

  /** depth_multiple and width_multiple (YOLOv5 requires them; ultralytics defaults them to 1.0) */
  multiples(): Multiples {
    const v5 = this.framework.dialect === 'yolov5';
    const depth = this.numberKey('depth_multiple', v5 ? null : 1.0, 'depth multiple');
    let width = this.numberKey('width_multiple', v5 ? null : 1.0, 'width multiple');
    if (width !== null && width > 64) {
      this.problem(
        'width_multiple',
        'YOLO023',
        `width_multiple ${width} multiplies every channel count beyond anything buildable`,
        'build',
      );
      width = null;
    }
    return { depth, width, maxChannels: Infinity, scale: null, scaleReason: null, scaleSource: null };
  }

  /** `depth, width, max_channels = scales[scale]`, the scale chosen as the framework chooses it */
  scales(opts: ResolveOptions, ml: ReturnType<typeof modeline>): Multiples {
    const t = this.top('scales')!;
    const none = (scale: string | null, scaleReason: string | null, scaleSource: ScaleSource | null = null): Multiples => ({
      depth: null,
      width: null,
      maxChannels: Infinity,
      scale,
      scaleReason,
      scaleSource,
    });
    if (t.value.kind !== 'map') {
      this.problem(
        'scales',
        'YOLO022',
        `scales must be a mapping of scale letters to [depth, width, max_channels], got ${pyBrief(t.value.value)}`,
      );
      return none(null, null);
    }
    const entries = mapEntries(t.value);
    const keys = entries.map((e) => keyText(e.key));
    const { scale, reason, source } = this.chooseScale(keys, opts, ml);
    // a duplicated scale letter: the last one wins, as in the dict PyYAML builds
    const entry = entries.filter((e) => keyText(e.key) === scale).pop();
    if (!entry) {
      const has = keys.map((k) => `'${k}'`).join(', ');
      this.sink.add(diag('YOLO022', t.keyRange, `scales has no entry '${scale}' (KeyError: '${scale}'); it has ${has}`), 'parse');
      return none(scale, reason, source);
    }
    this.sink.add(diag('YOLO021', entry.key.range, reason));
    const items = entry.value.items ?? [];
    if (entry.value.kind !== 'seq' || items.length !== 3) {
      const many = items.length > 3 ? 'too many' : 'not enough';
      const message =
        `scale '${scale}' must be [depth, width, max_channels]; got ${many} values to unpack (expected 3, got ` + `${items.length})`;
      this.sink.add(diag('YOLO022', entry.value.range, message), 'parse');
      return none(scale, reason, source);
    }
    const bad = items.findIndex((i) => !isNumeric(i.value) || !Number.isFinite(num(i.value)) || num(i.value) < 0);
    if (bad >= 0) {
      const what = ['depth', 'width', 'max_channels'][bad];
      this.sink.add(
        diag('YOLO022', items[bad]!.range, `${what} must be a non-negative number, got ${pyBrief(items[bad]!.value)}`),
        'parse',
      );
      return none(scale, reason, source);
    }
    const [depth, width, maxChannels] = items.map((i) => num(i.value)) as [number, number, number];
    if (width > 64)
      this.sink.add(diag('YOLO023', items[1]!.range, `width ${width} multiplies every channel count beyond anything buildable`), 'build');
    return { depth, width, maxChannels, scale, scaleReason: reason, scaleSource: source };
  }

  /** the letter the file name (or a setting standing for it) gives, '' when none (8.4's `d["scale"]`) */
  fileScale(opts: ResolveOptions, ml: ReturnType<typeof modeline>): string {
    return opts.scale ?? ml.scale ?? guessScaleFromFileName(opts.fileName, this.framework) ?? '';
  }

  chooseScale(
    keys: readonly string[],
    opts: ResolveOptions,
    ml: ReturnType<typeof modeline>,
  ): { scale: string | null; reason: string; source: ScaleSource } {
    const wanted = opts.scale ?? ml.scale ?? null;
    if (wanted)
      return {
        scale: wanted,
        reason: `scale '${wanted}' chosen by ${opts.scale ? 'setting' : 'the yolo-lens comment'}`,
        source: opts.scale ? 'setting' : 'modeline',
      };
    const fromFile = guessScaleFromFileName(opts.fileName, this.framework);
    if (fromFile && keys.includes(fromFile)) {
      const base = opts.fileName!.split(/[\\/]/).pop();
      return {
        scale: fromFile,
        reason: `scale '${fromFile}' from the file name (ultralytics: '${base}' loads this YAML at scale '${fromFile}')`,
        source: 'file-name',
      };
    }
    const first = keys[0] ?? null;
    return { scale: first, reason: `no scale given: ultralytics assumes the first, '${first}'`, source: 'first' };
  }

  ch(opts: ResolveOptions): number {
    let ch = 3;
    const head = this.doc.layers[this.doc.layers.length - 1]?.module?.value;
    const key = this.framework.header.chKey(typeof head === 'string' ? head : null);
    const t = key ? this.top(key) : undefined;
    if (key && t) {
      const v = t.value.value;
      if (isInt(v) && v > 0 && v <= 4096) ch = v;
      else this.problem(key, 'YOLO004', `${key} (input channels) must be a positive int, got ${pyBrief(v)}`);
    }
    // an option from a setting or a caller: taken only when it is a usable channel count
    if (opts.ch !== undefined && Number.isInteger(opts.ch) && opts.ch > 0 && opts.ch <= 4096) ch = opts.ch;
    return ch;
  }

  /** `if act: Conv.default_act = eval(act)`: an activation instance such as `nn.LeakyReLU(0.1)` */
  activation(): PyCall | null {
    const t = this.top('activation');
    if (!t || !this.framework.header.activation) return null;
    const v = t.value.value;
    if (!truthy(v)) return null;
    const bad = (why: string) => {
      this.problem('activation', 'YOLO004', `activation: ${why}`);
      return null;
    };
    if (typeof v !== 'string') return bad(`eval() arg 1 must be a string, got ${pyBrief(v)} (write an expression like 'nn.ReLU()')`);
    const r = evalStringArg(v, { names: NO_NAMES, mode: 'eval' });
    if (r.kind === 'error') return bad(`parse_model evals '${v}' and gets ${r.error}`);
    if (r.kind === 'unchanged') return bad(`parse_model evals '${v}' and gets a NameError: write a call such as 'nn.SiLU()'`);
    if (r.kind !== 'value' || !(r.value instanceof PyCall))
      return bad(`'${v}' is not an activation instance: write a call such as 'nn.SiLU()' or 'nn.LeakyReLU(0.1)'`);
    try {
      buildCall(new Builder({ fused: false, convDefaultAct: null }), r.value);
    } catch (e) {
      if (e instanceof ShapeError) return bad(`${r.value.repr}: TypeError: ${e.message}`);
      throw e;
    }
    return r.value;
  }

  channelMultiple(): number {
    const t = this.top('channel_multiple');
    if (!t || !this.framework.header.channelMultiple) return 8;
    const v = t.value.value;
    if (isNumeric(v) && num(v) > 0) return num(v);
    if (truthy(v)) this.problem('channel_multiple', 'YOLO004', `channel_multiple must be a positive number, got ${pyBrief(v)}`);
    return 8;
  }

  /** `anchors:` rows or a per-level count; na anchors per level; no = na · (nc + 5) */
  anchors(nc: PyVal): Pick<Header, 'anchors' | 'na' | 'no'> {
    const t = this.top('anchors');
    const anchors: PyVal = t?.value.value ?? null;
    if (!t) return { anchors, na: null, no: null };
    let na: number | null = null;
    if (isSeq(anchors)) {
      const first = seqItems(anchors)[0];
      if (first === undefined) this.problem('anchors', 'YOLO004', 'anchors is empty (IndexError: list index out of range)');
      else if (!isSeq(first)) this.problem('anchors', 'YOLO004', `each anchors row must be a list of numbers, got ${pyBrief(first)}`);
      else na = Math.floor(seqItems(first).length / 2);
    } else if (isInt(anchors)) na = anchors;
    else this.problem('anchors', 'YOLO004', `anchors must be a list of rows or an int, got ${pyBrief(anchors)}`);
    return { anchors, na, no: na !== null && isNumeric(nc) ? na * (num(nc) + 5) : null };
  }
}
