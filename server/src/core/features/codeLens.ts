/**
 * The code lens above the first line of a model YAML: `1.87M params · 4.6 GFLOPs @640 (4.5 fused) · Show graph ·
 * Profile` (built and deployed figures: the frameworks print the first when they build a model, READMEs quote
 * the second);
 * the last two run the client's `yolo.showGraph` / `yolo.profile` commands with the document's URI.
 */
import type { Range } from '../range.ts';
import type { Model } from '../model.ts';
import {
  CONVENTION_NAME,
  flopsOf,
  headlineGflops,
  modelFiguresText,
  modelGflopsText,
  withCommas,
  type FlopsConvention,
} from '../../../../common/src/format.ts';

export interface CoreCodeLens {
  readonly range: Range;
  readonly title: string;
  /** a client command; empty for a lens that only shows text */
  readonly command: string;
  readonly arguments?: readonly unknown[];
  readonly tooltip?: string;
}

export const SHOW_GRAPH_COMMAND = 'yolo.showGraph';
export const PROFILE_COMMAND = 'yolo.profile';

/** The figures of the first lens: params and GFLOPs at the model's image size in the chosen convention. */
export function figuresTitle(model: Model, convention: FlopsConvention): { title: string; tooltip: string } {
  const t = model.totals;
  if (!t) {
    const errors = model.diagnostics.filter((d) => d.severity === 'error').length;
    return errors
      ? { title: `✗ ${errors} error${errors === 1 ? '' : 's'}: the model does not build`, tooltip: model.failure?.message ?? '' }
      : { title: 'not resolved', tooltip: 'some layers could not be analysed' };
  }
  const printed = convention === 'thop' ? t.gflops.printed : t.gflopsUltralyticsThop.printed;
  const printedFused = convention === 'thop' ? t.gflopsFused.printed : t.gflopsFusedUltralyticsThop.printed;
  // at 640 what the framework prints; elsewhere the per-layer sum at that size (the status bar shows the same)
  const gflops = headlineGflops(printed, flopsOf(t.flops, convention), model.imgsz);
  const fused = headlineGflops(printedFused, t.flopsFused ? flopsOf(t.flopsFused, convention) : null, model.imgsz);
  return {
    title: `${modelFiguresText(t.params, gflops, model.imgsz)}${fused !== null ? ` (${modelGflopsText(fused)} fused)` : ''}`,
    tooltip:
      `${withCommas(t.params)} parameters as ` +
      `built${t.paramsFused !== null ? `, ${withCommas(t.paramsFused)} after model.fuse() folds BatchNorm into the convolutions` : ''}; ` +
      `GFLOPs counted as ${CONVENTION_NAME[convention]}${t.summary ? `\nthe framework prints: ${t.summary}` : ''}`,
  };
}

export function codeLenses(model: Model, uri: string, convention: FlopsConvention): CoreCodeLens[] {
  const range: Range = { start: 0, end: 0 };
  const f = figuresTitle(model, convention);
  return [
    { range, title: f.title, command: '', tooltip: f.tooltip },
    { range, title: 'Show graph', command: SHOW_GRAPH_COMMAND, arguments: [uri], tooltip: 'Open the model graph' },
    { range, title: 'Profile', command: PROFILE_COMMAND, arguments: [uri], tooltip: 'Run a dummy forward pass and time each layer' },
  ];
}
