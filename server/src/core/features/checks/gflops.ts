/**
 * A model whose GFLOPs the framework itself cannot count (YOLO032): its summary line prints none, because get_flops
 * probes the model with an input it cannot take (as many channels as the first weight takes: 12 after a Focus; a
 * probe image smaller than the network's downsampling). YOLO Lens says why and keeps showing its own count.
 */
import { CODES, type Diagnostic, diag } from '../../diagnostics.ts';
import type { Model } from '../../model.ts';
import { firstParamOf } from '../../resolve/totals.ts';
import { DEFAULT_FLOPS_CONVENTION, flopsOf, gflopsText } from '../../../../../common/src/format.ts';

/** Why get_flops would fail here, from the structure alone (cheap); null when it should count. */
function suspectedCause(model: Model): { layer: number; why: string } | null {
  const rule = model.framework.gflops;
  const first = firstParamOf(model.layers.map((l) => l.mod));
  if (rule.kind === 'stride' && rule.channels === 'first-param' && first && first.dim1 !== model.ch) {
    const name = model.layers[first.layer]?.moduleName ?? 'the first layer';
    return {
      layer: first.layer,
      why:
        `get_flops makes its probe input with as many channels as the model's first weight takes (${first.dim1 ?? 'none'}, ` +
        `in ${name} at layer ${first.layer}), not the ${model.ch} of the image, and the model cannot run it`,
    };
  }
  let smallest = Infinity;
  for (const l of model.layers) if (l.outShape?.length === 4) smallest = Math.min(smallest, l.outShape[2]!);
  const down = Number.isFinite(smallest) ? model.imgsz / smallest : 1;
  const probe = rule.kind === 'fixed' ? rule.size : Math.max(Math.trunc(model.maxStride), 32);
  if (down > probe && (rule.kind === 'fixed' || !rule.retryAt640))
    return {
      layer: 0,
      why:
        `get_flops probes the model at ${probe}×${probe}, but the network downsamples by ${Math.round(down)}: the ` +
        `probe's maps shrink to nothing`,
    };
  if (rule.kind === 'fixed' && rule.channels !== model.ch)
    return { layer: 0, why: `get_flops probes the model with ${rule.channels} channels, not the ${model.ch} it takes` };
  return null;
}

export function gflopsChecks(model: Model): Diagnostic[] {
  if (!model.ok) return [];
  const cause = suspectedCause(model);
  // the structural hint is confirmed by the framework's own pass (the totals, computed only in this rare case)
  const t = cause ? model.totals : null;
  if (!cause || !t || t.gflops.printed !== null) return [];
  const src = model.layers[cause.layer]?.src;
  const ours = gflopsText(flopsOf(t.flops, DEFAULT_FLOPS_CONVENTION));
  return [
    diag(
      'YOLO032',
      src?.module?.range ?? src?.range ?? { start: 0, end: 0 },
      `the framework's summary will print no GFLOPs for this model: ${cause.why}; YOLO Lens counts ${ours} GFLOPs at ` + `${model.imgsz}`,
      CODES.YOLO032.severity,
      { layer: cause.layer },
    ),
  ];
}
