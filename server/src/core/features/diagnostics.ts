/**
 * The diagnostics of a model YAML, the one function every surface calls (the editor's squiggles, `yolo-lens check`
 * in text and JSON, the graph's markers): what the resolver finds, plus the model-level checks of `checks/` (what
 * the framework would build without a word but users regret), with the user's severity overrides applied.
 */
import { type Diagnostic, diag, type Severity, type SeverityOverride } from '../diagnostics.ts';
import type { ModelDoc } from '../document.ts';
import type { Model } from '../model.ts';
import { resolveDoc, type ResolveOptions } from '../resolve.ts';
import { MODEL_CHECKS } from './checks/index.ts';
import { isModelDoc } from './modelFile.ts';

export { staleIndexComments } from './checks/comments.ts';
export { dialectMismatches } from './checks/dialect.ts';
export { rawChannelArgs } from './checks/channels.ts';

export type { SeverityOverride };

export interface DiagnosticOptions {
  /** per code: a different severity, or 'off' */
  readonly severity?: Readonly<Record<string, SeverityOverride>>;
}

export function modelDiagnostics(model: Model, opts: DiagnosticOptions = {}): Diagnostic[] {
  const all: Diagnostic[] = [...model.diagnostics];
  for (const check of MODEL_CHECKS) all.push(...check(model));
  return withOverrides(all, opts);
}

/** The user's severity overrides: another severity, or 'off' to drop the code. */
export function withOverrides(all: readonly Diagnostic[], opts: DiagnosticOptions): Diagnostic[] {
  const overrides = opts.severity ?? {};
  const out: Diagnostic[] = [];
  for (const d of all) {
    const o = overrides[d.code];
    if (o === 'off') continue;
    out.push(o && o !== d.severity && isSeverity(o) ? { ...d, severity: o } : d);
  }
  return out;
}

export const isSeverity = (s: string): s is Severity => s === 'error' || s === 'warning' || s === 'information' || s === 'hint';

/** What a document gets: its model (null for a YAML that is not a model, left alone) and its diagnostics. */
export interface DocumentDiagnostics {
  readonly model: Model | null;
  readonly diagnostics: readonly Diagnostic[];
  /** the resolver failed on this text (a bug): reported as YOLO030 */
  readonly internalError?: string;
}

/**
 * A parsed document → its diagnostics, as the language server publishes them and `check` prints them: a YAML that
 * is not a model gets none, a resolver failure is one YOLO030 instead of a crash.
 */
export function documentDiagnostics(doc: ModelDoc, options: ResolveOptions, opts: DiagnosticOptions = {}): DocumentDiagnostics {
  if (!isModelDoc(doc)) return { model: null, diagnostics: [] };
  let model: Model;
  try {
    model = resolveDoc(doc, options);
  } catch (e) {
    const internalError = e instanceof Error ? e.message : String(e);
    return { model: null, diagnostics: internalDiagnostics(internalError, opts), internalError };
  }
  return { model, diagnostics: modelDiagnostics(model, opts) };
}

/** YOLO030 for a file the resolver failed on, with the overrides applied like any other code. */
export function internalDiagnostics(message: string, opts: DiagnosticOptions = {}): Diagnostic[] {
  return withOverrides(
    [diag('YOLO030', { start: 0, end: 0 }, `YOLO Lens failed on this file (a bug: please report it): ${message}`)],
    opts,
  );
}
