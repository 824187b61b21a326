/**
 * The resolved graph for the graph panel (request `yolo/graph`): one node per layer with its module, category,
 * args, output shape, params and FLOPs, one edge per `from` element. Ranges are document offsets; the server's
 * `convert.ts` turns the graph into the protocol's `GraphResult` with LSP ranges.
 */
import type { Category } from '../../../../common/src/category.ts';
import type { FlopsPair } from '../../../../common/src/format.ts';
import type { Severity } from '../diagnostics.ts';
import type { Section } from '../document.ts';
import type { Dialect } from '../framework/types.ts';
import type { FrameworkSource } from '../framework/detect.ts';
import { frameworkTitle } from '../framework/index.ts';
import type { Model } from '../model.ts';
import type { Range } from '../range.ts';
import { pyRepr } from '../py.ts';

export interface GraphLayer {
  /** layer index (the number `from` refers to) */
  readonly index: number;
  readonly section: Section;
  /** module name as written (`nn.Upsample`, `VoVGSCSP`) */
  readonly module: string;
  readonly category: Category;
  /** constructor args after parse_model, as Python prints them (`[64, 128, 3, 2]`) */
  readonly args: string;
  /** `from` as written (`-1`, `[-1, 6]`) */
  readonly from: string;
  /** absolute input indices (-1 is the image) */
  readonly inputs: number[];
  /** repeats after the depth multiple */
  readonly n: number | null;
  readonly outShape: number[] | null;
  /** every output of a multi-output head */
  readonly outShapes: number[][] | null;
  readonly params: number | null;
  readonly flops: FlopsPair | null;
  /** where the layer is in the YAML */
  readonly range: Range;
  readonly status: 'ok' | 'error' | 'unknown';
  readonly diagnostics: { readonly code: string; readonly severity: Severity; readonly message: string }[];
}

export interface GraphEdge {
  /** producing layer index, -1 for the input image */
  readonly from: number;
  readonly to: number;
  /** position in the consumer's input list */
  readonly slot: number;
  /** tensor shape on the edge (the producer's output) */
  readonly shape: number[] | null;
}

export interface ModelGraph {
  /** the framework that builds this YAML (`ultralytics-8.3`, `yolov5`, ...) and its label */
  readonly framework: string;
  readonly frameworkLabel: string;
  readonly frameworkVersion: string;
  /** how the framework was chosen, and why */
  readonly frameworkSource: FrameworkSource;
  readonly frameworkReason: string;
  readonly dialect: Dialect;
  readonly scale: string | null;
  readonly imgsz: number;
  readonly inputShape: number[];
  readonly nodes: GraphLayer[];
  readonly edges: GraphEdge[];
  readonly totals: {
    readonly params: number | null;
    readonly paramsFused: number | null;
    /** GFLOPs as the framework prints them at 640, both conventions, unfused and fused */
    readonly gflops: FlopsPair<number | null>;
    readonly gflopsFused: FlopsPair<number | null>;
    /** sum of per-layer FLOPs at the requested image size */
    readonly flopsAtImgsz: FlopsPair | null;
    readonly summary: string | null;
  };
  readonly ok: boolean;
}

export function graphOf(model: Model): ModelGraph {
  // grouped once: filtering every diagnostic for every node was quadratic (seconds at 20,000 layers)
  const byLayer = new Map<number, GraphLayer['diagnostics'][number][]>();
  for (const d of model.diagnostics)
    if (d.layer !== undefined) {
      const list = byLayer.get(d.layer) ?? [];
      list.push({ code: d.code, severity: d.severity, message: d.message });
      byLayer.set(d.layer, list);
    }
  const nodes: GraphLayer[] = model.layers.map((l) => ({
    index: l.index,
    section: l.section,
    module: l.moduleName ?? String(pyRepr(l.src.module?.value ?? null)),
    category: l.entry?.def.category ?? 'misc',
    args: l.args ? pyRepr(l.args as never) : l.src.args ? pyRepr(l.src.args.value) : '',
    from: pyRepr(l.from),
    inputs: l.fromIndices ? l.fromIndices.map((j) => (j < 0 ? -1 : j)) : [],
    n: l.n,
    outShape: l.outShape ? [...l.outShape] : null,
    outShapes: l.outShapes ? l.outShapes.map((s) => [...s]) : null,
    params: l.params,
    flops: l.flops ? { thop: l.flops.thop, ultralyticsThop: l.flops.ultralyticsThop } : null,
    range: l.src.range,
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
    framework: model.framework.id,
    frameworkLabel: frameworkTitle(model.framework),
    frameworkVersion: model.framework.version,
    frameworkSource: model.frameworkSource,
    frameworkReason: model.frameworkReason,
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
