/**
 * The scale a model is built at, where the framework picks it without asking: a file name without a scale letter
 * builds the first `scales:` row (YOLO042, ultralytics logs a warning nobody reads), and a file with no `scales:` and
 * no letter gives parse_model the scale '' that every `scale in "mlx"` test passes (YOLO045: C3k2 gets c3k=True,
 * A2C2f its large-model extras).
 */
import { CODES, type Diagnostic, diag } from '../../diagnostics.ts';
import { keyText, mapEntries } from '../../document.ts';
import type { Model } from '../../model.ts';
import { SCALE_RULES_84 } from '../../catalog/ultralytics/namespace-8.4.ts';

const baseName = (model: Model): string => model.fileName?.replace(/\\/g, '/').split('/').pop() ?? 'this file';

/** YOLO042: more than one `scales:` row and nothing chose one: the first is built. */
function assumedScale(model: Model): Diagnostic[] {
  if (model.scaleSource !== 'first' || !model.scale) return [];
  const t = model.doc.top.get('scales');
  if (!t || t.value.kind !== 'map') return [];
  const rows = mapEntries(t.value);
  if (rows.length < 2) return [];
  const row = rows.find((e) => keyText(e.key) === model.scale);
  if (!row) return [];
  const name = baseName(model);
  const stem = name.replace(/\.[^.]*$/, '');
  const other = rows.map((e) => keyText(e.key)).find((k) => k !== model.scale) ?? 's';
  const example = /^yolo/.test(stem) ? stem.replace(/^(yolo(?:e-)?v?\d+)/, `$1${other}`) : `yolo11${other}-${stem}`;
  return [
    diag(
      'YOLO042',
      row.key.range,
      `${name} has no scale letter, so ultralytics warns and builds this first row, '${model.scale}' (of ` +
        `${rows.map((e) => keyText(e.key)).join(', ')}): name the file with its scale (${example}.yaml builds ` +
        `'${other}'), or choose one with a \`# yolo-lens: scale=\` comment to check another here`,
      CODES.YOLO042.severity,
      { data: { scale: model.scale, scales: rows.map((e) => keyText(e.key)) } },
    ),
  ];
}

/** Module rules keyed on the scale letters, by module (ultralytics 8.4's parse_model). */
const SCALE_RULES: Readonly<Record<string, { letters: string; effect: string }>> = {
  C3k2: { letters: SCALE_RULES_84.c3kScales, effect: 'its c3k argument is forced to True (the m/l/x block, C3k inside)' },
  A2C2f: { letters: SCALE_RULES_84.a2c2fScales, effect: 'it gets the l/x extras (residual=True, mlp_ratio=1.2)' },
};

/** YOLO045: parse_model's scale is '' and `'' in "mlx"` is true. */
function emptyScaleRules(model: Model): Diagnostic[] {
  if (model.scaleVar !== '' || model.framework.header.scaleWithoutScales !== 'file-name') return [];
  const out: Diagnostic[] = [];
  for (const l of model.layers) {
    const rule = l.moduleName ? SCALE_RULES[l.moduleName] : undefined;
    if (!rule || !l.src.module) continue;
    out.push(
      diag(
        'YOLO045',
        l.src.module.range,
        `with no scales: block and no scale letter in ${baseName(model)}, parse_model's scale is '' and ` +
          `'' in "${rule.letters}" is true, so ${rule.effect}: add a scales: block, or name the file with its scale ` +
          `letter`,
        CODES.YOLO045.severity,
        { layer: l.index },
      ),
    );
  }
  return out;
}

export function scaleChecks(model: Model): Diagnostic[] {
  return [...assumedScale(model), ...emptyScaleRules(model)];
}
