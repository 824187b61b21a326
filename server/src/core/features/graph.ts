/**
 * The resolved graph for the graph panel (request `yolo/graph`): one node per layer with its module, category,
 * args, output shape, params and FLOPs, one edge per `from` element.
 */
import type { Model } from '../model.ts';
import type { GraphEdge, GraphNode, GraphResult, Category } from '../../protocol.ts';
import { LineIndex } from '../lines.ts';
import { pyRepr } from '../py.ts';

export function graphOf(model: Model, uri = '', version: number | null = null): GraphResult {
  const lines = new LineIndex(model.doc.text);
  const range = (r: { start: number; end: number }) => ({ start: lines.position(r.start), end: lines.position(r.end) });
  // grouped once: filtering every diagnostic for every node was quadratic (seconds at 20,000 layers)
  const byLayer = new Map<number, GraphNode['diagnostics'][number][]>();
  for (const d of model.diagnostics)
    if (d.layer !== undefined) {
      const list = byLayer.get(d.layer) ?? [];
      list.push({ code: d.code, severity: d.severity, message: d.message });
      byLayer.set(d.layer, list);
    }
  const nodes: GraphNode[] = model.layers.map((l) => ({
    index: l.index,
    section: l.section,
    module: l.moduleName ?? String(pyRepr(l.src.module?.value ?? null)),
    category: (l.entry?.def.category ?? 'misc') as Category,
    args: l.args ? pyRepr(l.args as never) : l.src.args ? pyRepr(l.src.args.value) : '',
    from: pyRepr(l.from),
    inputs: l.fromIndices ? l.fromIndices.map((j) => (j < 0 ? -1 : j)) : [],
    n: l.n,
    outShape: l.outShape ? [...l.outShape] : null,
    outShapes: l.outShapes ? l.outShapes.map((s) => [...s]) : null,
    params: l.params,
    flops: l.flops ? { thop: l.flops.thop, ultralyticsThop: l.flops.ultralyticsThop } : null,
    range: range(l.src.range),
    status: l.status,
    diagnostics: byLayer.get(l.index) ?? [],
  }));
  const edges: GraphEdge[] = [];
  for (const l of model.layers) {
    (l.fromIndices ?? []).forEach((j, slot) => {
      const src = j < 0 ? null : model.layers[j];
      const shape = j < 0 ? [1, model.ch, model.imgsz, model.imgsz] : src?.outShape ? [...src.outShape] : null;
      edges.push({ from: j < 0 ? -1 : j, to: l.index, slot, shape });
    });
  }
  const t = model.totals;
  return {
    uri,
    version,
    framework: model.framework.id,
    frameworkLabel: model.framework.label,
    dialect: model.dialect,
    scale: model.scale,
    imgsz: model.imgsz,
    inputShape: [1, model.ch, model.imgsz, model.imgsz],
    nodes,
    edges,
    totals: {
      params: t?.params ?? null,
      paramsFused: t?.paramsFused ?? null,
      gflops: { ultralyticsThop: t?.gflopsUltralyticsThop.printed ?? null, thop: t?.gflops.printed ?? null },
      gflopsFused: { ultralyticsThop: t?.gflopsFusedUltralyticsThop.printed ?? null, thop: t?.gflopsFused.printed ?? null },
      flopsAtImgsz: t ? { thop: t.flops.thop, ultralyticsThop: t.flops.ultralyticsThop } : null,
      summary: t?.summary ?? null,
    },
    ok: model.ok,
  };
}
