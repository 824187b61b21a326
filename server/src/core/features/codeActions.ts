/**
 * Quick fixes for the diagnostics that have one obvious fix, and the layer refactors (insert / delete / move a
 * layer with every `from` index and `# N` comment renumbered, see refactor.ts); seen as the light bulb and the
 * refactor menu on a model YAML.
 */
import type { Diagnostic } from '../diagnostics.ts';
import { keyText, type LayerSrc, type SrcVal } from '../document.ts';
import type { Range } from '../range.ts';
import type { Model, ResolvedLayer } from '../model.ts';
import { lineEndOf, lineStartOf } from '../lines.ts';
import { isNumeric, isSeq, num, seqItems } from '../py.ts';
import { lookupModule } from '../resolve.ts';
import { FRAMEWORKS } from '../framework/index.ts';
import { documentEol, layerAt, type LayerRefactor, parseIndexComment, Refactorer, yamlChannelsFor } from './refactor.ts';
import type { TextEdit } from './textEdit.ts';
import { MODEL_CHECKS } from './checks/index.ts';

export type CodeActionKind =
  'quickfix' | 'refactor' | 'refactor.rewrite' | 'refactor.insert' | 'refactor.move' | 'refactor.delete' | 'source' | 'source.fixAll';

export interface CoreCodeAction {
  readonly title: string;
  readonly kind: CodeActionKind;
  /** sorted, non-overlapping edits on the document text (empty when disabled) */
  readonly edits: readonly TextEdit[];
  /** the diagnostics this action fixes */
  readonly diagnostics?: readonly Diagnostic[];
  readonly isPreferred?: boolean;
  /** shown greyed out with this reason (LSP `CodeAction.disabled`) */
  readonly disabled?: { readonly reason: string };
}

export interface CodeActionRequest {
  /** the selection or cursor, in offsets */
  readonly range: Range;
  /** diagnostics the editor sent with the request */
  readonly diagnostics: readonly Diagnostic[];
  /** LSP `only` filter (kinds) */
  readonly only?: readonly string[];
  /**
   * LSP `triggerKind`: the editor asking on its own as the cursor moves (`automatic`) gets the quick fixes only, so
   * the light bulb does not sit on every layer and no refactor is computed; asked by the user (`invoked`, the
   * default) or with `only: ['refactor...']`, the layer refactors come too.
   */
  readonly trigger?: 'invoked' | 'automatic';
}

export function codeActions(model: Model, req: CodeActionRequest): CoreCodeAction[] {
  const wants = (kind: CodeActionKind) =>
    !req.only || req.only.length === 0 || req.only.some((o) => kind === o || kind.startsWith(`${o}.`));
  const fixer = new Fixer(model);
  const out: CoreCodeAction[] = [];
  if (wants('quickfix')) {
    const seen = new Set<string>();
    for (const d of req.diagnostics) {
      for (const a of fixer.fixes(d)) {
        const key = `${a.title}|${JSON.stringify(a.edits)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(a);
      }
    }
  }
  const refactorsAsked = req.trigger !== 'automatic' || (req.only ?? []).some((o) => o === 'refactor' || o.startsWith('refactor.'));
  if (refactorsAsked && ['refactor.insert', 'refactor.delete', 'refactor.move'].some((k) => wants(k as CodeActionKind)))
    out.push(...fixer.refactors(req.range).filter((a) => wants(a.kind)));
  return out;
}

// ---- quick fixes ------------------------------------------------------------------------------------------

const same = (a: Range, b: Range) => a.start === b.start && a.end === b.end;
const within = (r: Range, outer: Range) => r.start >= outer.start && r.end <= outer.end;

/** Parameter names that take the input's channel count in modules whose args parse_model passes verbatim. */
const INPUT_CHANNEL_PARAMS = new Set(['in_channels', 'in_features', 'c1', 'num_features', 'c', 'dim']);

class Fixer {
  readonly text: string;
  private refactorer?: Refactorer;
  constructor(readonly model: Model) {
    this.text = model.doc.text;
  }

  private get rf(): Refactorer {
    return (this.refactorer ??= new Refactorer(this.model));
  }

  private checked?: Diagnostic[];
  /** Every diagnostic of the model: the resolver's and the model-level checks' (computed once, when a fix asks). */
  private get ours(): Diagnostic[] {
    return (this.checked ??= [...this.model.diagnostics, ...MODEL_CHECKS.flatMap((c) => c(this.model))]);
  }

  /** The diagnostic with what the resolver knows about it (an editor round trip may lose `data` and `layer`). */
  private enrich(d: Diagnostic): Diagnostic {
    const mine = (d.data !== undefined && d.layer !== undefined ? [] : this.ours).find((x) => x.code === d.code && same(x.range, d.range));
    if (!mine) return d;
    return {
      ...d,
      ...(d.data === undefined && mine.data ? { data: mine.data } : {}),
      ...(d.layer === undefined && mine.layer !== undefined ? { layer: mine.layer } : {}),
    };
  }

  private layerOf(d: Diagnostic): LayerSrc | undefined {
    const layers = this.model.doc.layers;
    if (d.layer !== undefined && layers[d.layer]) return layers[d.layer];
    const hit = layers.find((l) => within(d.range, l.range) || (l.comment && within(d.range, l.comment.range)));
    if (hit) return hit;
    const at = layerAt(this.rf.layout, d.range.start);
    return at === null ? undefined : layers[at];
  }

  private fix(title: string, d: Diagnostic, edits: TextEdit[], preferred = false): CoreCodeAction {
    return {
      title,
      kind: 'quickfix',
      edits: [...edits].sort((a, b) => a.range.start - b.range.start),
      diagnostics: [d],
      ...(preferred ? { isPreferred: true } : {}),
    };
  }

  private src(r: Range): string {
    return this.text.slice(r.start, r.end);
  }

  fixes(d0: Diagnostic): CoreCodeAction[] {
    const d = this.enrich(d0);
    try {
      switch (d.code) {
        case 'YOLO003':
          return this.missingKey(d);
        case 'YOLO004':
          return this.keyType(d);
        case 'YOLO005':
          return this.layerShape(d);
        case 'YOLO006':
          return this.fromType(d);
        case 'YOLO007':
          return this.fromOutOfRange(d);
        case 'YOLO008':
        case 'YOLO016':
          return this.fromIntent(d);
        case 'YOLO009':
        case 'YOLO013':
          return this.unquoteNumber(d);
        case 'YOLO010':
          return this.moduleName(d);
        case 'YOLO011':
          return this.otherDialect(d);
        case 'YOLO012':
          return this.missingChannels(d);
        case 'YOLO015':
          return [...this.rawChannel(d), ...this.fromIntent(d)];
        case 'YOLO017':
        case 'YOLO018':
          return this.anchorCount(d);
        case 'YOLO020':
          return this.imageSize(d);
        case 'YOLO022':
          return this.scaleChoice(d);
        case 'YOLO024':
          return this.indexComment(d);
        case 'YOLO025':
          return this.unusedLayer(d);
        case 'YOLO026':
          return this.dialectArgs(d);
        case 'YOLO027':
          return this.rawChannel(d);
        case 'YOLO034':
          return this.switchFramework(d);
        case 'YOLO035':
        case 'YOLO036':
          return this.repoint(d);
        case 'YOLO037':
          return this.reorderInputs(d);
        case 'YOLO039':
          return this.oneRepeat(d);
        case 'YOLO040':
        case 'YOLO041':
          return this.uselessKey(d);
        case 'YOLO044':
          return this.boolAsInt(d);
        default:
          return [];
      }
    } catch {
      // a fix is a convenience: a bug in one never costs the user the others (or the request)
      return [];
    }
  }

  // -- header keys

  private static readonly KEY_ORDER = ['nc', 'depth_multiple', 'width_multiple', 'anchors', 'backbone', 'head'] as const;
  private static readonly KEY_DEFAULT: Readonly<Record<string, { value: string; why: string }>> = {
    nc: { value: '80', why: 'the 80 COCO classes' },
    depth_multiple: { value: '1.0', why: 'repeats as written' },
    width_multiple: { value: '1.0', why: 'channels as written' },
    anchors: { value: '3', why: 'AutoAnchor computes 3 anchors per level' },
  };

  /** An edit adding `key: value` as a top-level line, after the key that canonically precedes it. */
  private addKeyEdit(key: string, value: string): TextEdit | null {
    const top = this.model.doc.top;
    const t = this.text;
    const eol = documentEol(t);
    // only in a block mapping whose keys start their lines
    const first = [...top.values()][0];
    if (!first || t.slice(lineStartOf(t, first.keyRange.start), first.keyRange.start).trim() !== '') return null;
    const order = Fixer.KEY_ORDER as readonly string[];
    const idx = order.indexOf(key);
    const before = order
      .slice(0, Math.max(0, idx))
      .reverse()
      .map((k) => top.get(k))
      .find(Boolean);
    if (before) {
      const end = lastLineEnd(t, before.value.range.end > before.keyRange.end ? before.value.range.end : before.keyRange.end);
      if (end.eol) return { range: { start: end.at, end: end.at }, newText: `${key}: ${value}${eol}` };
      return { range: { start: end.at, end: end.at }, newText: `${eol}${key}: ${value}` };
    }
    const after =
      order
        .slice(idx + 1)
        .map((k) => top.get(k))
        .find(Boolean) ?? first;
    const at = lineStartOf(t, after.keyRange.start);
    return { range: { start: at, end: at }, newText: `${key}: ${value}${eol}` };
  }

  private missingKey(d: Diagnostic): CoreCodeAction[] {
    const m = /missing key '([a-z_]+)'/.exec(d.message);
    const key = m?.[1];
    const dflt = key ? Fixer.KEY_DEFAULT[key] : undefined;
    if (!key || !dflt) return [];
    const e = this.addKeyEdit(key, dflt.value);
    return e ? [this.fix(`Add \`${key}: ${dflt.value}\` (${dflt.why})`, d, [e], true)] : [];
  }

  private keyType(d: Diagnostic): CoreCodeAction[] {
    const dup = /^duplicate key '(.+)'/.exec(d.message);
    if (dup) return this.duplicateKey(d, dup[1]!);
    const entry = [...this.model.doc.top.values()].find((k) => same(k.value.range, d.range));
    if (!entry) return [];
    const v = entry.value.value;
    if (entry.key === 'nc' && isNumeric(v) && typeof v !== 'number' && Number.isInteger(num(v)) && num(v) > 0)
      return [this.fix(`Write nc as an int: ${num(v)}`, d, [{ range: d.range, newText: String(num(v)) }], true)];
    if (typeof v === 'string' && entry.value.kind === 'scalar') {
      const m = /^([-+]?)(\d+)(?:\.(\d*))?[eE]([-+]?)(\d+)$/.exec(v);
      if (m) {
        const fixed = `${m[1]}${m[2]}.${m[3] || '0'}e${m[4] || '+'}${m[5]}`;
        return [
          this.fix(
            `Write it as ${fixed} (YAML 1.1 reads a float only with a dot and a signed exponent)`,
            d,
            [{ range: d.range, newText: fixed }],
            true,
          ),
        ];
      }
    }
    return [];
  }

  private duplicateKey(d: Diagnostic, key: string): CoreCodeAction[] {
    const doc = this.model.doc.document;
    const root = doc?.contents as {
      items?: { key: { source?: string; value?: unknown; range?: number[] }; value: { range?: number[] } | null }[];
    } | null;
    if (!root?.items) return [];
    const pairs = root.items.filter((p) => String(p.key?.source ?? p.key?.value) === key);
    if (pairs.length < 2) return [];
    const t = this.text;
    const edits: TextEdit[] = [];
    for (const p of pairs.slice(0, -1)) {
      const ks = p.key.range?.[0];
      const ve = p.value?.range?.[1] ?? p.key.range?.[1];
      if (ks === undefined || ve === undefined) return [];
      if (t.slice(lineStartOf(t, ks), ks).trim() !== '') return [];
      const end = lastLineEnd(t, ve);
      edits.push({ range: { start: lineStartOf(t, ks), end: end.at }, newText: '' });
    }
    const last = pairs[pairs.length - 1]!;
    const shown = last.value?.range ? t.slice(last.value.range[0], last.value.range[1]).trim() : '';
    return [
      this.fix(
        `Remove the earlier '${key}' (the last one, ${shown.length > 24 ? `${shown.slice(0, 24)}…` : shown}, is what loads)`,
        d,
        edits,
        true,
      ),
    ];
  }

  // -- layers and from

  private layerShape(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    if (!l || !same(d.range, l.range) || l.args || !l.from || !l.n || !l.module || typeof l.module.value !== 'string') return [];
    if (this.text[l.range.end - 1] !== ']') return [];
    const node = this.src(l.range);
    const sep = /,[ \t]/.test(node) ? ', ' : ',';
    const at = l.module.range.end;
    return [this.fix('Add an empty args list: []', d, [{ range: { start: at, end: at }, newText: `${sep}[]` }], true)];
  }

  private fromType(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    if (!l?.from) return [];
    const f = l.from;
    if (/takes one input/.test(d.message) && f.kind === 'seq' && f.items?.length === 1) {
      const item = f.items[0]!;
      return [this.fix(`Write from as ${this.src(item.range)} (one input)`, d, [{ range: f.range, newText: this.src(item.range) }], true)];
    }
    if (/takes a list of inputs/.test(d.message) && f.kind !== 'seq')
      return [this.fix(`Write from as a list: [${this.src(f.range)}]`, d, [{ range: f.range, newText: `[${this.src(f.range)}]` }], true)];
    return this.unquoteNumber(d);
  }

  private fromOutOfRange(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    if (!l || l.index !== 0 || !/layer 0 can only take the input image/.test(d.message)) return [];
    return [this.fix('Read the image: from -1', d, [{ range: d.range, newText: '-1' }], true)];
  }

  /**
   * A `from` element pointing at the wrong layer where the intent shows: the number is the `# N` comment of
   * exactly one earlier layer (the comments went stale when a layer was inserted or removed), or the layer's own
   * index (meaning the layer above).
   */
  private fromIntent(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    if (!l?.from) return [];
    const items = l.from.kind === 'seq' ? (l.from.items ?? []) : [l.from];
    const el = items.find((it) => within(d.range, it.range) || within(it.range, d.range));
    if (!el || typeof el.value !== 'number' || !Number.isInteger(el.value)) return [];
    const x = el.value;
    const out: CoreCodeAction[] = [];
    // every absolute element of the layer, read through the comments (a layer deleted or inserted by hand)
    const byComment = (n: number) => {
      const hits = this.model.doc.layers.filter((o) => o.index < l.index && o.comment && parseIndexComment(o.comment.text)?.index === n);
      return hits.length === 1 && hits[0]!.index !== n ? hits[0]!.index : null;
    };
    const remap = items
      .filter((it) => typeof it.value === 'number' && it.value >= 0)
      .map((it) => ({ it, to: byComment(it.value as number) }))
      .filter((r): r is { it: SrcVal; to: number } => r.to !== null);
    if (remap.length > 1 && remap.some((r) => r.it === el))
      out.push(
        this.fix(
          `Read the layers the index comments name: ${remap.map((r) => `${r.it.value} \u2192 ${r.to}`).join(', ')}`,
          d,
          remap.map((r) => ({ range: r.it.range, newText: String(r.to) })),
          true,
        ),
      );
    if (x >= 0) {
      const commented = this.model.doc.layers.filter(
        (o) => o.index < l.index && o.index !== x && o.comment && parseIndexComment(o.comment.text)?.index === x,
      );
      if (commented.length === 1) {
        const target = commented[0]!.index;
        out.push(
          this.fix(
            `Read layer ${target}, the one commented '# ${x}' (${moduleOf(commented[0]!)})`,
            d,
            [{ range: el.range, newText: String(target) }],
            out.length === 0,
          ),
        );
      }
    }
    if (d.code === 'YOLO008' && x === l.index && l.index > 0) {
      // keep the list's style: relative where the other elements are relative (or it is a single from)
      const relative = l.from.kind !== 'seq' || items.every((it) => it === el || (typeof it.value === 'number' && it.value < 0));
      const text = relative ? '-1' : String(l.index - 1);
      out.push(
        this.fix(
          `Read the layer above: ${text} (layer ${l.index - 1}, ${moduleOf(this.model.doc.layers[l.index - 1])})`,
          d,
          [{ range: el.range, newText: text }],
          out.length === 0,
        ),
      );
    }
    return out;
  }

  private unquoteNumber(d: Diagnostic): CoreCodeAction[] {
    const raw = this.src(d.range);
    const m = /^(['"])([-+]?\d+)\1$/.exec(raw);
    if (!m) return [];
    return [this.fix(`Write ${m[2]} as a number, not a string`, d, [{ range: d.range, newText: m[2]! }], true)];
  }

  private moduleName(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    const name = l?.module?.value;
    if (!l?.module || typeof name !== 'string') return [];
    const framework = this.model.framework;
    const out: CoreCodeAction[] = [];
    const suggestions: string[] = [];
    const s =
      typeof d.data?.suggestion === 'string'
        ? d.data.suggestion
        : (() => {
            const r = lookupModule(framework, name);
            return 'suggestion' in r ? r.suggestion : undefined;
          })();
    if (s) suggestions.push(s);
    // `Upsample` for `nn.Upsample`: a torch layer written without its prefix
    if (!name.includes('.') && framework.nn.has(name)) suggestions.unshift(`nn.${name}`);
    const ci = [...framework.modules.keys()].find((k) => k.toLowerCase() === name.toLowerCase() && k !== name);
    if (ci) suggestions.unshift(ci);
    const uniq = [...new Set(suggestions)];
    uniq.forEach((x, k) => out.push(this.fix(`Change to '${x}'`, d, [{ range: l.module!.range, newText: x }], k === 0)));
    return out;
  }

  /** The edit adding `anchors: 3` to a file read as ultralytics only because it has no `anchors:`, if that is one. */
  private asYolov5(): TextEdit | null {
    const top = this.model.doc.top;
    if (this.model.dialect !== 'ultralytics' || top.has('anchors') || top.has('scales') || !top.has('depth_multiple')) return null;
    return this.addKeyEdit('anchors', '3');
  }

  /** A YOLOv5 module in a file read as ultralytics because it has no `anchors:` (and no `scales:`). */
  private otherDialect(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    const name = l?.module?.value;
    if (typeof name !== 'string' || !Object.values(FRAMEWORKS).some((t) => t && t.dialect === 'yolov5' && t.modules.has(name))) return [];
    const e = this.asYolov5();
    return e ? [this.fix('Add `anchors: 3` so the file reads as a YOLOv5 YAML (AutoAnchor computes the anchors)', d, [e], true)] : [];
  }

  /** `[-1, 1, Conv, []]`: give it the channel count it reads, so nothing downstream changes. */
  private missingChannels(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    if (!l?.args || !/needs its output channels/.test(d.message) || (l.args.items?.length ?? 0) !== 0) return [];
    const c = this.inputChannels(this.model.layers[l.index]);
    const yaml = c === null ? null : yamlChannelsFor(this.model, c);
    if (yaml === null) return [];
    return [this.fix(`Add output channels ${yaml} (keeps the ${c} channels it reads)`, d, [{ range: l.args.range, newText: `[${yaml}]` }])];
  }

  private inputChannels(r: ResolvedLayer | undefined): number | null {
    if (!r) return null;
    const s = r.inShapes?.[0];
    if (s && s.length >= 2 && !r.fromIsList) return s[1]!;
    const j = r.fromIndices?.[0];
    if (j === undefined || r.fromIsList) return null;
    if (j < 0) return this.model.ch;
    const p = this.model.layers[j];
    return p?.outShape && p.outShape.length >= 2 ? p.outShape[1]! : (p?.c2 ?? null);
  }

  /** A verbatim-args module (`nn.Conv2d`) whose input-channel arg is not what reaches it. */
  private rawChannel(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    const r = l ? this.model.layers[l.index] : undefined;
    if (!r || r.entry?.treat !== 'plain') return [];
    const b = r.bindings.find(
      (x) =>
        x.param !== undefined &&
        INPUT_CHANNEL_PARAMS.has(x.param) &&
        r.entry!.def.signature.find((p) => p.name === x.param)?.kind === 'channels',
    );
    if (!b) return [];
    const actual = typeof d.data?.actual === 'number' ? d.data.actual : this.inputChannels(r);
    if (actual === null || (isNumeric(b.yamlValue) && num(b.yamlValue) === actual)) return [];
    const from = r.fromIndices?.[0];
    const who = from === undefined ? 'its input' : from < 0 ? 'the image' : `layer ${from}`;
    return [this.fix(`Set ${b.param} to ${actual} (what ${who} outputs)`, d, [{ range: b.range, newText: String(actual) }], true)];
  }

  /** YOLOv5 heads: as many anchor rows as inputs. `anchors: N` makes every level get N anchors. */
  private anchorCount(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    const r = l ? this.model.layers[l.index] : undefined;
    const anchors = this.model.doc.top.get('anchors');
    if (!r || this.model.dialect !== 'yolov5' || r.entry?.treat !== 'head' || !anchors || !r.fromIsList || !r.fromIndices) return [];
    const rows = anchors.value.value;
    if (!isSeq(rows)) return [];
    const first = seqItems(rows)[0];
    if (first === undefined || !isSeq(first)) return [];
    const na = Math.floor(seqItems(first).length / 2);
    if (seqItems(rows).length === r.fromIndices.length || na < 1) return [];
    const t = this.text;
    const colon = t.indexOf(':', anchors.keyRange.end);
    if (colon < 0 || colon >= anchors.value.range.start) return [];
    const end = lastLineEnd(t, anchors.value.range.end);
    const contentEnd = end.eol ? end.at - end.eol.length : end.at;
    return [
      this.fix(
        `Set \`anchors: ${na}\` (${na} anchors for each of the ${r.fromIndices.length} levels, computed by AutoAnchor; the ` +
          `${seqItems(rows).length} written rows go)`,
        d,
        [{ range: { start: colon + 1, end: contentEnd }, newText: ` ${na}` }],
      ),
    ];
  }

  /** The `# yolo-lens: imgsz=N` comment asks for a size the strides do not divide: the size training rounds it to. */
  private imageSize(d: Diagnostic): CoreCodeAction[] {
    const m = /round it to (\d+)/.exec(d.message);
    const ml = /#\s*yolo-lens:[^\n\r]*?\bimgsz=(\d+)/.exec(this.text);
    if (!m || !ml || Number(ml[1]) !== this.model.imgsz) return [];
    const at = ml.index + ml[0].length - ml[1]!.length;
    return [
      this.fix(
        `Use imgsz=${m[1]} in the yolo-lens comment (a multiple of the largest stride)`,
        d,
        [{ range: { start: at, end: at + ml[1]!.length }, newText: m[1]! }],
        true,
      ),
    ];
  }

  /** The `# yolo-lens: scale=q` comment names a scale the file does not have: pick one it has. */
  private scaleChoice(d: Diagnostic): CoreCodeAction[] {
    const m = /scales has no entry '([^']*)'/.exec(d.message);
    if (!m) return [];
    const ml = /#\s*yolo-lens:[^\n\r]*?\bscale=(\S+)/.exec(this.text);
    if (!ml || ml[1] !== m[1]) return [];
    const at = ml.index + ml[0].length - ml[1]!.length;
    const scales = this.model.doc.top.get('scales');
    const keys = (scales?.value.items ?? []).filter((_, k) => k % 2 === 0).map(keyText);
    return keys
      .slice(0, 6)
      .map((k, n) => this.fix(`Use scale '${k}'`, d, [{ range: { start: at, end: at + ml[1]!.length }, newText: k }], n === 0));
  }

  /** YOLO024: the comment's number becomes the layer's index; and all of them at once when several are stale. */
  private indexComment(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    if (!l?.comment) return [];
    const digits = this.src(d.range);
    let edit: TextEdit | null = null;
    if (/^\d+$/.test(digits) && within(d.range, l.comment.range)) edit = { range: d.range, newText: String(l.index) };
    else {
      const ic = parseIndexComment(l.comment.text);
      if (ic && ic.index !== l.index)
        edit = { range: { start: l.comment.range.start + ic.start, end: l.comment.range.start + ic.end }, newText: String(l.index) };
    }
    if (!edit) return [];
    const out = [this.fix(`Update the comment to '# ${l.index}'`, d, [edit], true)];
    const all = staleIndexCommentEdits(this.model);
    if (all.length > 1 && all.some((e) => same(e.range, edit!.range)))
      out.push(this.fix(`Update all ${all.length} stale index comments`, d, all));
    return out;
  }

  private unusedLayer(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    if (!l) return [];
    const r = this.rf.delete(l.index);
    if (r.disabled) return [];
    return [this.fix(`Remove unused layer ${l.index} (${moduleOf(l)}), renumbering the layers after it`, d, [...r.edits])];
  }

  /**
   * YOLO034: check the file against the version that has the module, args or key: the `# yolo-lens: framework=`
   * comment is edited (or added at the top), since a comment in the file wins over the setting.
   */
  private switchFramework(d: Diagnostic): CoreCodeAction[] {
    const id = typeof d.data?.framework === 'string' ? d.data.framework : null;
    const target = id ? FRAMEWORKS[id as keyof typeof FRAMEWORKS] : undefined;
    if (!target) return [];
    const edit = modelineEdit(this.text, 'framework', target.id);
    return [this.fix(`Check this file against ${target.label} (# yolo-lens: framework=${target.id})`, d, [edit], true)];
  }

  /** YOLO035/036: read the layer the index probably meant (the one after, or the end of the stage). */
  private repoint(d: Diagnostic): CoreCodeAction[] {
    const to = d.data?.to;
    const l = this.layerOf(d);
    if (typeof to !== 'number' || !l?.from) return [];
    const items = l.from.kind === 'seq' ? (l.from.items ?? []) : [l.from];
    const el = items.find((it) => same(it.range, d.range));
    if (!el || typeof el.value !== 'number') return [];
    const written = el.value < 0 ? to - l.index : to;
    const name = moduleOf(this.model.doc.layers[to]);
    return [this.fix(`Read layer ${to} (${name}) instead`, d, [{ range: el.range, newText: String(written) }], d.code === 'YOLO035')];
  }

  /** YOLO037: the head's inputs listed finest first, as the anchor rows are. */
  private reorderInputs(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    if (!l?.from || !same(l.from.range, d.range) || l.from.kind !== 'seq') return [];
    const items = l.from.items ?? [];
    if (items.length < 2) return [];
    const edits = items.map((it, k) => ({ range: it.range, newText: this.src(items[items.length - 1 - k]!.range) }));
    return [
      this.fix(
        `List the inputs finest first: [${[...items]
          .reverse()
          .map((it) => this.src(it.range))
          .join(', ')}]`,
        d,
        edits,
        true,
      ),
    ];
  }

  /** YOLO039: the module ignores n: write 1. */
  private oneRepeat(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    if (!l?.n || !same(l.n.range, d.range)) return [];
    return [this.fix(`Write n = 1 (${moduleOf(l)} ignores its repeat count)`, d, [{ range: l.n.range, newText: '1' }], true)];
  }

  /** YOLO040/041: drop the key that changes nothing; an unknown key may be a typo of a known one. */
  private uselessKey(d: Diagnostic): CoreCodeAction[] {
    const entry = [...this.model.doc.top.values()].find((k) => same(k.keyRange, d.range));
    if (!entry) return [];
    const t = this.text;
    const out: CoreCodeAction[] = [];
    const suggestion = typeof d.data?.suggestion === 'string' ? d.data.suggestion : null;
    if (suggestion && !this.model.doc.top.has(suggestion))
      out.push(this.fix(`Rename to \`${suggestion}\``, d, [{ range: entry.keyRange, newText: suggestion }], true));
    // a block-mapping key that starts its line: the key and its value, up to the next line
    if (t.slice(lineStartOf(t, entry.keyRange.start), entry.keyRange.start).trim() === '') {
      const end = lastLineEnd(t, Math.max(entry.value.range.end, entry.keyRange.end));
      out.push(
        this.fix(`Remove \`${entry.key}:\` (it changes nothing)`, d, [
          { range: { start: lineStartOf(t, entry.keyRange.start), end: end.at }, newText: '' },
        ]),
      );
    }
    return out;
  }

  /** YOLO044: a bool where an int is taken: write the int Python reads. */
  private boolAsInt(d: Diagnostic): CoreCodeAction[] {
    const v = this.src(d.range);
    if (v !== 'True' && v !== 'False' && v !== 'true' && v !== 'false') return [];
    const n = /^[Tt]/.test(v) ? '1' : '0';
    return [this.fix(`Write ${n} (what ${v} means here)`, d, [{ range: d.range, newText: n }], true)];
  }

  /** Detect-family args written for the other dialect: drop or add `anchors`. */
  private dialectArgs(d: Diagnostic): CoreCodeAction[] {
    const l = this.layerOf(d);
    const items = l?.args?.kind === 'seq' ? (l.args.items ?? []) : [];
    if (!l?.args || typeof l.module?.value !== 'string') return [];
    const name = l.module.value;
    if (this.model.dialect === 'ultralytics') {
      const k =
        typeof d.data?.argIndex === 'number'
          ? d.data.argIndex
          : items.findIndex(
              (a) => a.value === 'anchors' || (isSeq(a.value) && seqItems(a.value).length > 0 && isSeq(seqItems(a.value)[0]!)),
            );
      if (k < 1 || !items[k]) return [];
      const out = [
        this.fix(
          `Remove ${this.src(items[k]!.range)} (ultralytics' ${name} is anchor-free: [nc${name === 'Segment' ? ', nm, npr' : ''}])`,
          d,
          [removeItem(items, k)],
          true,
        ),
      ];
      // a YOLOv5 header (multiples, no scales) that only lacks anchors: reading it as YOLOv5 is the other way out
      const add = this.asYolov5();
      if (add) out.push(this.fix('Add `anchors: 3` so the file reads as a YOLOv5 YAML (AutoAnchor computes the anchors)', d, [add]));
      return out;
    }
    if (
      (name === 'Detect' || name === 'Segment') &&
      this.model.doc.top.has('anchors') &&
      items.length >= 1 &&
      !items.some((a) => a.value === 'anchors')
    ) {
      const node = this.src(l.args.range);
      const sep = /,[ \t]/.test(node) || items.length === 1 ? ', ' : ',';
      return [
        this.fix(
          `Add anchors: [${this.src(items[0]!.range)}${sep}anchors${items.length > 1 ? `${sep}…` : ''}] (YOLOv5's ${name} takes the ` +
            `anchors)`,
          d,
          [{ range: { start: items[0]!.range.end, end: items[0]!.range.end }, newText: `${sep}anchors` }],
          true,
        ),
      ];
    }
    return [];
  }

  // ---- refactors on the layer under the cursor

  refactors(range: Range): CoreCodeAction[] {
    const layout = this.rf.layout;
    if (layout.unsupported) return [];
    const i = layerAt(layout, range.start);
    if (i === null) return [];
    const n = this.model.doc.layers.length;
    const act = (r: LayerRefactor, kind: CodeActionKind, showDisabled: boolean): CoreCodeAction[] => {
      if (r.disabled) return showDisabled ? [{ title: r.title, kind, edits: [], disabled: { reason: r.disabled } }] : [];
      return [{ title: r.title, kind, edits: r.edits }];
    };
    return [
      ...act(this.rf.insert(i, 'above'), 'refactor.insert', true),
      ...act(this.rf.insert(i, 'below'), 'refactor.insert', true),
      ...act(this.rf.insert(i, 'below', true), 'refactor.insert', false),
      ...act(this.rf.insert(i, 'above', true), 'refactor.insert', false),
      ...act(this.rf.delete(i), 'refactor.delete', true),
      ...(i > 0 ? act(this.rf.move(i, 'up'), 'refactor.move', true) : []),
      ...(i < n - 1 ? act(this.rf.move(i, 'down'), 'refactor.move', true) : []),
    ];
  }
}

// ---- helpers ----------------------------------------------------------------------------------------------

function moduleOf(l: LayerSrc | undefined): string {
  const v = l?.module?.value;
  return typeof v === 'string' ? v : '?';
}

/** The end of the line holding the last non-blank character before `pos`, after its line break. */
function lastLineEnd(t: string, pos: number): { at: number; eol: string } {
  let i = Math.min(pos, t.length);
  while (i > 0 && /\s/.test(t[i - 1]!)) i--;
  i = lineEndOf(t, i);
  const eol = t[i] === '\r' ? (t[i + 1] === '\n' ? '\r\n' : '\r') : t[i] === '\n' ? '\n' : '';
  return { at: i + eol.length, eol };
}

/**
 * Set `key=value` in the file's `# yolo-lens:` comment: the value replaced, the pair appended to the comment, or a
 * new comment line at the top of the file.
 */
export function modelineEdit(t: string, key: string, value: string): TextEdit {
  const ml = /#\s*yolo-lens:([^\n\r]*)/.exec(t);
  if (!ml) return { range: { start: 0, end: 0 }, newText: `# yolo-lens: ${key}=${value}${documentEol(t)}` };
  const bodyStart = ml.index + ml[0].length - ml[1]!.length;
  const kv = new RegExp(`(^|\\s)${key}=(\\S*)`).exec(ml[1]!);
  if (kv) {
    const at = bodyStart + kv.index + kv[1]!.length + key.length + 1;
    return { range: { start: at, end: at + kv[2]!.length }, newText: value };
  }
  const end = bodyStart + ml[1]!.trimEnd().length;
  return { range: { start: end, end }, newText: `${ml[1]!.trim() ? ' ' : ''}${key}=${value}` };
}

/** Remove item k of a flow list (with the comma that separates it). */
function removeItem(items: readonly SrcVal[], k: number): TextEdit {
  if (k > 0) return { range: { start: items[k - 1]!.range.end, end: items[k]!.range.end }, newText: '' };
  return { range: { start: items[0]!.range.start, end: items[1] ? items[1].range.start : items[0]!.range.end }, newText: '' };
}

/** Every stale `# N` comment set to its layer's index. */
export function staleIndexCommentEdits(model: Model): TextEdit[] {
  const out: TextEdit[] = [];
  for (const l of model.doc.layers) {
    if (!l.comment) continue;
    const ic = parseIndexComment(l.comment.text);
    if (!ic || ic.index === l.index) continue;
    out.push({ range: { start: l.comment.range.start + ic.start, end: l.comment.range.start + ic.end }, newText: String(l.index) });
  }
  return out;
}
