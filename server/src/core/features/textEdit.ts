/**
 * A text edit in document offsets, as the quick fixes, the refactors and the stale-index-comment fixes make them
 * (`convert.ts` turns them into one versioned LSP edit), and how a list of them applies to a text.
 */
import type { Range } from '../range.ts';

export interface TextEdit {
  readonly range: Range;
  readonly newText: string;
}

/** Apply offset edits (sorted or not, non-overlapping) to a text. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end);
  let out = '';
  let at = 0;
  for (const e of sorted) {
    if (e.range.start < at) throw new Error('overlapping edits');
    out += text.slice(at, e.range.start) + e.newText;
    at = e.range.end;
  }
  return out + text.slice(at);
}
