/**
 * Comments that lie: a trailing `# N` index comment that is not the layer's index any more (YOLO024), after a layer
 * was inserted or removed above it.
 */
import { type Diagnostic, diag } from '../../diagnostics.ts';
import type { Model } from '../../model.ts';
import { parseIndexComment } from '../refactor.ts';

/** YOLO024: the trailing `# N` comment of a layer is not its index (a layer was inserted or removed above). */
export function staleIndexComments(model: Model): Diagnostic[] {
  const out: Diagnostic[] = [];
  const layers = model.doc.layers;
  for (const l of layers) {
    const c = l.comment;
    if (!c) continue;
    // the same rule the layer refactors renumber by (`# 13`, `# 0-P1/2`, `# 17 (P3/8-small)`; not `# 3 bottlenecks`)
    const m = parseIndexComment(c.text);
    if (!m) continue;
    const written = m.index;
    if (written === l.index) continue;
    // a number far beyond the layer count is not an index (e.g. `# 640`)
    if (written > layers.length * 2 + 8) continue;
    const start = c.range.start + m.start;
    out.push(
      diag(
        'YOLO024',
        { start, end: c.range.start + m.end },
        `this comment says layer ${written}, but the layer is ${l.index}: \`from\` indices count layers, not comments`,
        undefined,
        {
          layer: l.index,
          data: { written, index: l.index },
        },
      ),
    );
  }
  return out;
}
