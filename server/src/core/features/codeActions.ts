/**
 * Quick fixes and layer refactors (insert / delete / move a layer with every `from` index and `# N` comment
 * renumbered). Seen as the light bulb and the refactor menu in the editor.
 * PLACEHOLDER: the refactor work replaces this file; the server wires `codeActions` as it is typed here.
 */
import type { Diagnostic } from '../diagnostics.ts';
import type { Range } from '../document.ts';
import type { Model } from '../model.ts';

/** A text edit in document offsets. */
export interface TextEdit {
  readonly range: Range;
  readonly newText: string;
}

export type CodeActionKind = 'quickfix' | 'refactor' | 'refactor.rewrite' | 'refactor.insert' | 'refactor.move' | 'source';

export interface CoreCodeAction {
  readonly title: string;
  readonly kind: CodeActionKind;
  readonly edits: readonly TextEdit[];
  /** the diagnostics this action fixes */
  readonly diagnostics?: readonly Diagnostic[];
  readonly isPreferred?: boolean;
}

export interface CodeActionRequest {
  /** the selection or cursor, in offsets */
  readonly range: Range;
  /** diagnostics the editor sent with the request */
  readonly diagnostics: readonly Diagnostic[];
  /** LSP `only` filter (kinds) */
  readonly only?: readonly string[];
}

export function codeActions(model: Model, req: CodeActionRequest): CoreCodeAction[] {
  void model;
  void req;
  return [];
}
