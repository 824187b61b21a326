/**
 * Every conversion between the core's document offsets and LSP types (positions, ranges, diagnostics, edits,
 * completion items...), in one place. Offsets and LSP characters are both UTF-16 code units (`core/lines.ts`).
 * Positions from the client are untrusted: anything outside the document is clamped, anything malformed is 0.
 */
import {
  CodeAction,
  CodeActionKind,
  CodeLens,
  CompletionItem,
  CompletionItemKind,
  CompletionList,
  Diagnostic,
  DiagnosticSeverity,
  DiagnosticTag,
  DocumentHighlight,
  DocumentHighlightKind,
  DocumentSymbol,
  Hover,
  InlayHint,
  InlayHintKind,
  InsertTextFormat,
  Location,
  LocationLink,
  MarkupKind,
  OptionalVersionedTextDocumentIdentifier,
  Range as LspRange,
  SignatureHelp,
  SymbolInformation,
  SymbolKind,
  TextDocumentEdit,
  TextEdit as LspTextEdit,
  WorkspaceEdit,
} from 'vscode-languageserver';
import type { Code, Diagnostic as CoreDiagnostic, Severity } from './core/diagnostics.ts';
import { CODES } from './core/diagnostics.ts';
import type { Range } from './core/range.ts';
import { LineIndex } from './core/lines.ts';
import type { CoreCodeAction } from './core/features/codeActions.ts';
import type { CoreCodeLens } from './core/features/codeLens.ts';
import { layerWeights, type WeightsPlan } from './core/features/weights.ts';
import type { CompletionKind, CompletionResult } from './core/features/completion.ts';
import type { CoreHover } from './core/features/hover.ts';
import type { CoreInlayHint } from './core/features/inlayHints.ts';
import type { DefinitionTarget, Highlight } from './core/features/references.ts';
import type { CoreSignatureHelp } from './core/features/signatureHelp.ts';
import type { CoreSymbol } from './core/features/symbols.ts';
import { graphOf } from './core/features/graph.ts';
import type { Model } from './core/model.ts';
import type { GraphResult } from './protocol.ts';

export const SOURCE = 'yolo-lens';

// ---- positions and ranges ----------------------------------------------------------------------------------

const safeInt = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.trunc(v)) : 0);

/** An LSP position → a document offset; out-of-range positions clamp to the document. */
export function toOffset(lines: LineIndex, pos: unknown): number {
  const p = (pos ?? {}) as { line?: unknown; character?: unknown };
  return lines.offset({ line: safeInt(p.line), character: safeInt(p.character) });
}

export function toLspRange(lines: LineIndex, r: Range): LspRange {
  return { start: lines.position(r.start), end: lines.position(r.end) };
}

export function toOffsetRange(lines: LineIndex, r: unknown): Range {
  const x = (r ?? {}) as { start?: unknown; end?: unknown };
  const start = toOffset(lines, x.start);
  const end = toOffset(lines, x.end);
  return start <= end ? { start, end } : { start: end, end: start };
}

// ---- diagnostics -------------------------------------------------------------------------------------------

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};
const SEVERITY_BACK: Record<number, Severity> = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };

/** What a diagnostic carries for a later code action (`CoreDiagnostic.layer`/`data`). */
interface DiagnosticData {
  layer?: number;
  data?: Record<string, unknown>;
}

/** The fields every diagnostic of ours has: a model's, or a `.yolo-lens.json`'s (its own codes, no extras). */
export function toLspBasicDiagnostic(
  lines: LineIndex,
  d: { readonly range: Range; readonly severity: Severity; readonly code: string; readonly message: string },
): Diagnostic {
  return { range: toLspRange(lines, d.range), severity: SEVERITY[d.severity], code: d.code, source: SOURCE, message: d.message };
}

export function toLspDiagnostic(lines: LineIndex, uri: string, d: CoreDiagnostic): Diagnostic {
  const out = toLspBasicDiagnostic(lines, d);
  const tags = (d.tags ?? []).filter((t): t is DiagnosticTag => t === DiagnosticTag.Unnecessary || t === DiagnosticTag.Deprecated);
  if (tags.length) out.tags = tags;
  if (d.related?.length)
    out.relatedInformation = d.related.map((r) => ({ location: { uri, range: toLspRange(lines, r.range) }, message: r.message }));
  const data: DiagnosticData = {};
  if (d.layer !== undefined) data.layer = d.layer;
  if (d.data && Object.keys(d.data).length) data.data = { ...d.data };
  if (Object.keys(data).length) out.data = data;
  return out;
}

/** A diagnostic the client sends back (code action context) → the core's form; null when it is not ours. */
export function fromLspDiagnostic(lines: LineIndex, d: unknown): CoreDiagnostic | null {
  const x = d as Partial<Diagnostic> | null;
  if (!x || typeof x !== 'object' || typeof x.code !== 'string' || !(x.code in CODES)) return null;
  if (x.source !== undefined && x.source !== SOURCE) return null;
  const data = (x.data ?? {}) as DiagnosticData;
  return {
    code: x.code as Code,
    severity: SEVERITY_BACK[x.severity ?? 1] ?? 'error',
    range: toOffsetRange(lines, x.range),
    message: typeof x.message === 'string' ? x.message : '',
    ...(x.tags ? { tags: [...x.tags] } : {}),
    ...(typeof data.layer === 'number' ? { layer: data.layer } : {}),
    ...(data.data && typeof data.data === 'object' ? { data: data.data } : {}),
  };
}

// ---- completion, hover, signature help ---------------------------------------------------------------------

const COMPLETION_KIND: Record<CompletionKind, CompletionItemKind> = {
  module: CompletionItemKind.Class,
  layer: CompletionItemKind.Reference,
  key: CompletionItemKind.Property,
  scale: CompletionItemKind.EnumMember,
  name: CompletionItemKind.Variable,
  value: CompletionItemKind.Value,
  setting: CompletionItemKind.Property,
};

export function toLspCompletion(lines: LineIndex, r: CompletionResult): CompletionList {
  const items = r.items.map((it): CompletionItem => {
    const item: CompletionItem = {
      label: it.label,
      kind: COMPLETION_KIND[it.kind],
      textEdit: { range: toLspRange(lines, it.range), newText: it.insertText },
      insertTextFormat: it.snippet ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
    };
    if (it.detail) item.detail = it.detail;
    if (it.labelDetail || it.labelDescription)
      item.labelDetails = {
        ...(it.labelDetail ? { detail: it.labelDetail } : {}),
        ...(it.labelDescription ? { description: it.labelDescription } : {}),
      };
    if (it.documentation) item.documentation = { kind: MarkupKind.Markdown, value: it.documentation };
    if (it.sortText) item.sortText = it.sortText;
    if (it.filterText) item.filterText = it.filterText;
    if (it.preselect) item.preselect = true;
    return item;
  });
  return { isIncomplete: r.isIncomplete, items };
}

export function toLspHover(lines: LineIndex, h: CoreHover): Hover {
  return { contents: { kind: MarkupKind.Markdown, value: h.markdown }, range: toLspRange(lines, h.range) };
}

export function toLspSignatureHelp(s: CoreSignatureHelp): SignatureHelp {
  return {
    signatures: [
      {
        label: s.label,
        documentation: { kind: MarkupKind.Markdown, value: s.documentation },
        parameters: s.parameters.map((p) => ({ label: [p.label[0], p.label[1]] as [number, number], documentation: p.documentation })),
        ...(s.activeParameter !== null ? { activeParameter: s.activeParameter } : {}),
      },
    ],
    activeSignature: 0,
    // LSP: an out-of-range active parameter means none is highlighted
    activeParameter: s.activeParameter ?? s.parameters.length,
  };
}

// ---- inlay hints, symbols, navigation, lenses ----------------------------------------------------------------

export function toLspInlayHint(lines: LineIndex, h: CoreInlayHint): InlayHint {
  const out: InlayHint = {
    position: lines.position(h.offset),
    label: h.label,
    kind: h.kind === 'type' ? InlayHintKind.Type : InlayHintKind.Parameter,
  };
  if (h.paddingLeft) out.paddingLeft = true;
  if (h.paddingRight) out.paddingRight = true;
  if (h.tooltip) out.tooltip = h.tooltip;
  return out;
}

const SYMBOL_KIND: Record<CoreSymbol['kind'], SymbolKind> = {
  section: SymbolKind.Namespace,
  layer: SymbolKind.Class,
  key: SymbolKind.Property,
};

export function toLspSymbols(lines: LineIndex, syms: readonly CoreSymbol[]): DocumentSymbol[] {
  return syms.map((s) => {
    const out: DocumentSymbol = {
      name: s.name,
      kind: SYMBOL_KIND[s.kind],
      range: toLspRange(lines, s.range),
      selectionRange: toLspRange(lines, s.selectionRange),
    };
    if (s.detail) out.detail = s.detail;
    if (s.children) out.children = toLspSymbols(lines, s.children);
    return out;
  });
}

/** For clients without hierarchical symbol support: a flat list, layers contained in their section. */
export function toFlatSymbols(lines: LineIndex, uri: string, syms: readonly CoreSymbol[], container?: string): SymbolInformation[] {
  const out: SymbolInformation[] = [];
  for (const s of syms) {
    out.push({
      name: s.name,
      kind: SYMBOL_KIND[s.kind],
      location: { uri, range: toLspRange(lines, s.range) },
      ...(container ? { containerName: container } : {}),
    });
    if (s.children) out.push(...toFlatSymbols(lines, uri, s.children, s.name));
  }
  return out;
}

export function toLspDefinition(lines: LineIndex, uri: string, t: DefinitionTarget, linkSupport: boolean): LocationLink[] | Location {
  if (!linkSupport) return { uri, range: toLspRange(lines, t.targetRange) };
  return [
    {
      originSelectionRange: toLspRange(lines, t.origin),
      targetUri: uri,
      targetRange: toLspRange(lines, t.targetRange),
      targetSelectionRange: toLspRange(lines, t.selectionRange),
    },
  ];
}

export function toLspLocations(lines: LineIndex, uri: string, ranges: readonly Range[]): Location[] {
  return ranges.map((r) => ({ uri, range: toLspRange(lines, r) }));
}

export function toLspHighlights(lines: LineIndex, hs: readonly Highlight[]): DocumentHighlight[] {
  return hs.map((h) => ({
    range: toLspRange(lines, h.range),
    kind: h.kind === 'write' ? DocumentHighlightKind.Write : DocumentHighlightKind.Read,
  }));
}

export function toLspCodeLens(lines: LineIndex, l: CoreCodeLens): CodeLens {
  return {
    range: toLspRange(lines, l.range),
    command: {
      title: l.title,
      command: l.command,
      ...(l.arguments ? { arguments: [...l.arguments] } : {}),
      ...(l.tooltip ? { tooltip: l.tooltip } : {}),
    } as CodeLens['command'],
  };
}

// ---- code actions ------------------------------------------------------------------------------------------

/** Offset edits → one versioned edit of the document, so a client refuses it once the text has moved on. */
export function toVersionedEdit(
  lines: LineIndex,
  uri: string,
  version: number,
  edits: readonly { range: Range; newText: string }[],
): WorkspaceEdit {
  const textDocument: OptionalVersionedTextDocumentIdentifier = { uri, version };
  const lspEdits: LspTextEdit[] = edits.map((e) => ({ range: toLspRange(lines, e.range), newText: e.newText }));
  return { documentChanges: [TextDocumentEdit.create(textDocument, lspEdits)] };
}

const ACTION_KIND: Record<string, string> = {
  quickfix: CodeActionKind.QuickFix,
  refactor: CodeActionKind.Refactor,
  'refactor.rewrite': CodeActionKind.RefactorRewrite,
  'refactor.insert': `${CodeActionKind.Refactor}.insert`,
  'refactor.move': `${CodeActionKind.Refactor}.move`,
  'refactor.delete': `${CodeActionKind.Refactor}.delete`,
  source: CodeActionKind.Source,
};

export function toLspCodeAction(lines: LineIndex, uri: string, version: number, a: CoreCodeAction): CodeAction {
  // a refactor that is not possible here is shown greyed out with the reason, and carries no edit
  if (a.disabled) return { title: a.title, kind: ACTION_KIND[a.kind] ?? a.kind, disabled: { reason: a.disabled.reason } };
  const out: CodeAction = { title: a.title, kind: ACTION_KIND[a.kind] ?? a.kind, edit: toVersionedEdit(lines, uri, version, a.edits) };
  if (a.diagnostics?.length) out.diagnostics = a.diagnostics.map((d) => toLspDiagnostic(lines, uri, d));
  if (a.isPreferred) out.isPreferred = true;
  return out;
}

// ---- the graph panel's model ----------------------------------------------------------------------------------

/** The graph of a model as `yolo/graph` answers it: the core's graph with LSP ranges, for one document version. */
/** The graph with the pretrained checkpoint's verdicts on it (per node, and the model's N/M). */
export function withWeights(graph: GraphResult, w: WeightsPlan | null): GraphResult {
  if (!w) return graph;
  if (w.kind !== 'plan')
    return {
      ...graph,
      weights: { name: w.weights, transferred: null, total: null, log: null, message: w.message, firstMiss: null, remapTransferred: null },
    };
  const perLayer = layerWeights(w.plan);
  return {
    ...graph,
    nodes: graph.nodes.map((n) => {
      const l = perLayer.get(n.index);
      return l ? { ...n, weights: { status: l.status, loaded: l.loaded, total: l.total, details: [...l.details] } } : n;
    }),
    weights: {
      name: w.weights,
      transferred: w.plan.transferred,
      total: w.plan.total,
      log: w.plan.log,
      message: null,
      firstMiss: w.plan.firstMiss,
      remapTransferred: w.plan.remap?.transferred ?? null,
    },
  };
}

export function toGraphResult(model: Model, uri: string, version: number | null, lines = new LineIndex(model.doc.text)): GraphResult {
  const g = graphOf(model);
  return {
    ...g,
    uri,
    version,
    nodes: g.nodes.map((n) => ({ ...n, range: toLspRange(lines, n.range) })),
  };
}
