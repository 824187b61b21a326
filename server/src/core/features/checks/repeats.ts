/**
 * A repeat count the module never uses (YOLO039): parse_model inserts `n` into the args of the modules it repeats
 * inside (C3, C2f, VoVGSCSP...), but some constructors ignore it (the Slim-neck VoVGSCSP builds one inner block
 * whatever n is), so `n > 1` costs nothing and means nothing.
 */
import { CODES, type Diagnostic, diag } from '../../diagnostics.ts';
import type { Model } from '../../model.ts';
import { isNumeric, num } from '../../py.ts';

export function repeatsChecks(model: Model): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const l of model.layers) {
    if (l.entry?.treat !== 'repeats' || !l.unreadParams.includes('n') || !l.src.n) continue;
    if (!isNumeric(l.nYaml) || num(l.nYaml) <= 1) continue;
    const scaled = l.args?.[2];
    const after = typeof scaled === 'number' && scaled !== num(l.nYaml) ? ` (${scaled} after the depth multiple)` : '';
    out.push(
      diag(
        'YOLO039',
        l.src.n.range,
        `${l.moduleName} ignores its repeat count: n = ${num(l.nYaml)}${after} builds the same block as n = 1 ` +
          `(its constructor never uses n); write 1, or use a module that repeats`,
        CODES.YOLO039.severity,
        { layer: l.index, data: { n: num(l.nYaml) } },
      ),
    );
  }
  return out;
}
