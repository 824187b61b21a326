/**
 * An anchor-based head whose inputs and anchor rows go in opposite stride orders (YOLO037): YOLOv5's
 * check_anchor_order compares the mean anchor area of the first and last rows with the first and last strides and,
 * when they disagree, silently reverses the anchors (`Reversing anchor order`), so the anchors written for P3 end up
 * on P5.
 */
import { CODES, type Diagnostic, diag } from '../../diagnostics.ts';
import type { Model } from '../../model.ts';
import { isNumeric, isSeq, num, seqItems, type PyVal } from '../../py.ts';

/** Mean anchor area of each row (`anchors.prod(-1).mean(-1)`), null when a row is not all numbers. */
function rowAreas(anchors: PyVal): number[] | null {
  if (!isSeq(anchors)) return null;
  const out: number[] = [];
  for (const row of seqItems(anchors)) {
    if (!isSeq(row)) return null;
    const v = seqItems(row);
    if (v.length < 2 || v.length % 2 || !v.every(isNumeric)) return null;
    let sum = 0;
    for (let i = 0; i < v.length; i += 2) sum += num(v[i]!) * num(v[i + 1]!);
    out.push(sum / (v.length / 2));
  }
  return out;
}

export function headOrderChecks(model: Model): Diagnostic[] {
  if (!model.framework.header.anchors || !model.ok) return [];
  const strides = model.strides;
  const head = model.layers[model.layers.length - 1];
  const anchorsKey = model.doc.top.get('anchors');
  if (!strides || strides.length < 2 || !head?.entry?.def.detectFamily || !anchorsKey) return [];
  const areas = rowAreas(anchorsKey.value.value);
  if (!areas || areas.length !== strides.length) return [];
  const da = areas[areas.length - 1]! - areas[0]!;
  const ds = strides[strides.length - 1]! - strides[0]!;
  if (da === 0 || ds === 0 || Math.sign(da) === Math.sign(ds)) return [];
  const strideList = strides.join(', ');
  const name = head.moduleName ?? 'Detect';
  if (ds < 0) {
    // the inputs are the odd ones out: the anchors are written small to large, as every YOLOv5 file writes them
    const sorted = head.fromIndices ? [...head.fromIndices].reverse() : null;
    return [
      diag(
        'YOLO037',
        head.src.from?.range ?? head.src.range,
        `${name}'s inputs go from the coarsest to the finest map (strides ${strideList}) while the anchor rows go from the ` +
          `smallest to the largest: YOLOv5 silently reverses the anchors when it builds the model; list the inputs finest ` +
          `first${sorted ? ` ([${sorted.join(', ')}])` : ''}`,
        CODES.YOLO037.severity,
        { layer: head.index, data: { strides, reorder: sorted } },
      ),
    ];
  }
  const rows = anchorsKey.value.items ?? [];
  return [
    diag(
      'YOLO037',
      rows[0]?.range ?? anchorsKey.keyRange,
      `the first anchor row holds the largest anchors but ${name}'s first input has the smallest stride (${strides[0]}); ` +
        `strides ${strideList}: YOLOv5 reverses the anchor rows when it builds the model; write them smallest (P3/8) first`,
      CODES.YOLO037.severity,
      { layer: head.index, data: { strides } },
    ),
  ];
}
