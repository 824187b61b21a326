/**
 * The drawn model graph in the graph panel: one box per layer (index, module, output shape, params, FLOPs,
 * profile time and estimated PyTorch share, expanded submodules), coloured by category, inside backbone/head groups,
 * with one labelled edge per `from` element; zoom, pan, selection, the editor cursor's highlight, search matches and
 * keyboard moves.
 * Every document-derived string goes in through d3 `.text()` (textContent), never as markup.
 */
import * as d3 from 'd3';
import type { GraphEdge, GraphNode, GraphResult, SubmoduleNode } from '../../server/src/protocol.ts';
import { linkKey, type Layouter, type LayoutInput, type LayoutOutput } from './layout.ts';
import { barTimes, type ProfileTimes } from '../../common/src/profileTimes.ts';
import {
  compactCount,
  DEFAULT_FLOPS_CONVENTION,
  flopsOf,
  gflopsText,
  msText,
  outputText,
  shapeText,
  shareText,
  type FlopsConvention,
} from '../../common/src/format.ts';

export interface ViewTransform {
  k: number;
  x: number;
  y: number;
}

/** What a compare view marks on a node. */
export type DiffMark = 'changed' | 'added' | 'removed';

/** A layer's expansion: its submodules, a request in flight, or why there are none. */
export type Expansion = { state: 'loading' } | { state: 'error'; message: string } | { state: 'done'; nodes: SubmoduleNode[] };

export interface GraphViewOptions {
  container: HTMLElement;
  layouter: Layouter;
  /** aria label of the graph */
  label: string;
  /** a node was activated (click, Enter): the panel reveals it in the editor */
  onActivate?(index: number): void;
  /** selection moved (keyboard or click) */
  onSelect?(index: number | null): void;
  onExpand?(index: number): void;
  onTransform?(t: ViewTransform): void;
}

interface DrawnNode {
  id: string;
  index: number;
  node: GraphNode | null;
  width: number;
  height: number;
  lines: string[];
  /** the text beside the node's time bar (null: no bar) */
  barText: string | null;
  x: number;
  y: number;
}

interface DrawnEdge {
  key: string;
  edge: GraphEdge;
  d: string;
  labelX: number;
  labelY: number;
  anchor: 'start' | 'end';
  label: string;
}

const LINE = 16;
const PAD_X = 10;
const PAD_Y = 8;
const STRIPE = 5;
const ROW = 15;
const MAX_ROWS = 60;
const MIN_WIDTH = 150;
/** the time bar's text: its font size over the node font's (style.css), and the room it gets at least */
const BAR_TEXT_SCALE = 10 / 12;
const BAR_TEXT_MIN = 98;
const BAR_MIN = 40;
const INPUT_ID = 'in';
/** Up to this many layers every text is drawn; beyond, only what is in view (level of detail). */
const DETAIL_ALL = 400;
/** Below this zoom, text is too small to read: it is hidden (and, for large graphs, not drawn). */
const ZOOMED_OUT = 0.45;
/** How long a pan or zoom of a large graph must pause before the text of what came into view is drawn (ms). */
const DETAIL_DELAY = 120;

const SEVERITY_RANK = { error: 0, warning: 1, information: 2, hint: 3 } as const;

/**
 * The room the time bar's text takes to the right of the bar (the bar gets the rest of the box): the text, and 14 px
 * after it that keep it clear of the expand toggle in the box's corner.
 */
const barTextRoom = (text: string, cw: number): number => Math.max(BAR_TEXT_MIN, Math.ceil(text.length * cw * BAR_TEXT_SCALE) + 14) + 6;

/** Width of one character of the node font, measured once (the nodes use a monospace font). */
let charWidthCache: number | null = null;
function charWidth(el: Element): number {
  if (charWidthCache !== null) return charWidthCache;
  const cs = getComputedStyle(el);
  const ctx = document.createElement('canvas').getContext('2d');
  let w = 7.2;
  if (ctx) {
    ctx.font = `${cs.fontSize || '12px'} ${cs.fontFamily || 'monospace'}`;
    const m = ctx.measureText('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ×·').width / 64;
    if (Number.isFinite(m) && m > 0) w = m;
  }
  charWidthCache = w;
  return w;
}

function worstSeverity(n: GraphNode): keyof typeof SEVERITY_RANK | null {
  let best: keyof typeof SEVERITY_RANK | null = null;
  for (const d of n.diagnostics) if (best === null || SEVERITY_RANK[d.severity] < SEVERITY_RANK[best]) best = d.severity;
  return best;
}

function flattenSubmodules(
  nodes: readonly SubmoduleNode[],
  depth = 0,
  out: { depth: number; node: SubmoduleNode }[] = [],
): { depth: number; node: SubmoduleNode }[] {
  for (const n of nodes) {
    if (out.length > MAX_ROWS) break;
    out.push({ depth, node: n });
    flattenSubmodules(n.children, depth + 1, out);
  }
  return out;
}

/** Where a segment from `a` (outside) to the centre `c` of a w×h box crosses the box's border. */
function clipToBox(a: [number, number], c: [number, number], w: number, h: number): [number, number] {
  const dx = a[0] - c[0];
  const dy = a[1] - c[1];
  if (dx === 0 && dy === 0) return c;
  const sx = dx === 0 ? Infinity : w / 2 / Math.abs(dx);
  const sy = dy === 0 ? Infinity : h / 2 / Math.abs(dy);
  const s = Math.min(sx, sy);
  return [c[0] + dx * s, c[1] + dy * s];
}

const line = d3
  .line<[number, number]>()
  .x((p) => p[0])
  .y((p) => p[1])
  .curve(d3.curveMonotoneY);

export class GraphView {
  readonly svg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly viewport: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly gGroups: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly gEdges: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly gLabels: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly gNodes: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly zoom: d3.ZoomBehavior<SVGSVGElement, unknown>;
  private drawnNodes = new Map<number, DrawnNode>();
  private drawnEdges: DrawnEdge[] = [];
  /** nodes whose text is drawn, and which edge labels are (see renderDetail) */
  private readonly detailed = new Set<number>();
  private labelled: string | null = null;
  private detailTimer: ReturnType<typeof setTimeout> | undefined;
  private layoutCache: { key: string; output: LayoutOutput } | null = null;
  private bounds = { width: 0, height: 0 };

  graph: GraphResult | null = null;
  convention: FlopsConvention = DEFAULT_FLOPS_CONVENTION;
  selected: number | null = null;
  cursor: number | null = null;
  private matches: Set<number> | null = null;
  readonly expanded = new Map<number, Expansion>();
  private profile: ProfileTimes | null = null;
  /** the longest time bar's value (what the bars rank by: barTimes) */
  private barMax = 1e-9;
  private diff: Map<number, DiffMark> | null = null;
  private hasDrawn = false;
  /** timings of the last draw, for the benchmark and the status line */
  lastTimings = { measureMs: 0, layoutMs: 0, layoutWorkMs: 0, drawMs: 0, layoutMode: 'main' as 'worker' | 'main' | 'cached' };

  constructor(private readonly opts: GraphViewOptions) {
    const svg = d3
      .select(opts.container)
      .append('svg')
      .attr('class', 'graph-svg')
      .attr('role', 'application')
      .attr('aria-label', opts.label)
      .attr('tabindex', '0');
    this.svg = svg as unknown as d3.Selection<SVGSVGElement, unknown, null, undefined>;
    const defs = this.svg.append('defs');
    defs
      .append('marker')
      .attr('id', `arrow-${opts.container.id || 'g'}`)
      .attr('class', 'arrow-marker')
      .attr('viewBox', '0 0 10 10')
      .attr('refX', 9)
      .attr('refY', 5)
      .attr('markerWidth', 7)
      .attr('markerHeight', 7)
      .attr('orient', 'auto-start-reverse')
      .append('path')
      .attr('d', 'M 0 0 L 10 5 L 0 10 z');
    this.viewport = this.svg.append('g').attr('class', 'viewport');
    this.gGroups = this.viewport.append('g').attr('class', 'groups');
    this.gEdges = this.viewport.append('g').attr('class', 'edges');
    this.gLabels = this.viewport.append('g').attr('class', 'edge-labels');
    this.gNodes = this.viewport.append('g').attr('class', 'nodes');
    this.zoom = d3
      .zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.02, 4])
      .on('zoom', (e: d3.D3ZoomEvent<SVGSVGElement, unknown>) => {
        this.viewport.attr('transform', e.transform.toString());
        // labels and details are unreadable when far out: hide them, which also keeps panning smooth
        this.svg.classed('zoomed-out', e.transform.k < ZOOMED_OUT);
        this.opts.onTransform?.({ k: e.transform.k, x: e.transform.x, y: e.transform.y });
        // large graphs: text for the newly visible nodes once the gesture pauses, so pan and zoom stay smooth
        if (this.drawnNodes.size > DETAIL_ALL) {
          clearTimeout(this.detailTimer);
          this.detailTimer = setTimeout(() => this.renderDetail(false), DETAIL_DELAY);
        }
      });
    this.svg.call(this.zoom).on('dblclick.zoom', null);
    this.svg.on('keydown', (e: KeyboardEvent) => this.onKey(e));
  }

  get transform(): ViewTransform {
    const t = d3.zoomTransform(this.svg.node()!);
    return { k: t.k, x: t.x, y: t.y };
  }

  setTransform(t: ViewTransform): void {
    this.svg.call(this.zoom.transform, d3.zoomIdentity.translate(t.x, t.y).scale(t.k));
  }

  /** Indices of the drawn layer nodes. */
  get indices(): number[] {
    return [...this.drawnNodes.keys()].filter((i) => i >= 0);
  }

  /**
   * Draw (or redraw) a graph. With `keepView` the zoom, pan and selection stay; otherwise the graph is fitted.
   * Resolves false when a newer draw superseded this one.
   */
  async setGraph(graph: GraphResult, convention: FlopsConvention, keepView: boolean, restore?: ViewTransform | null): Promise<boolean> {
    this.graph = graph;
    this.convention = convention;
    const t00 = performance.now();
    const drawn = this.measure(graph);
    const t0 = performance.now();
    const input: LayoutInput = {
      nodes: [...drawn.values()].map((n) => ({ id: n.id, width: n.width, height: n.height })),
      edges: graph.edges.map((e) => [e.from < 0 ? INPUT_ID : String(e.from), String(e.to)]),
    };
    const key = layoutKey(input);
    let output: LayoutOutput | null;
    if (this.layoutCache?.key === key) {
      output = this.layoutCache.output;
      this.lastTimings.layoutMode = 'cached';
    } else {
      output = await this.opts.layouter.layout(input);
      if (!output || this.graph !== graph) return false;
      this.layoutCache = { key, output };
      this.lastTimings.layoutMode = this.opts.layouter.mode;
      this.lastTimings.layoutWorkMs = output.ms;
    }
    const t1 = performance.now();
    for (const n of drawn.values()) {
      const p = output.nodes[n.id];
      if (p) [n.x, n.y] = p;
    }
    this.drawnNodes = drawn;
    this.bounds = { width: output.width, height: output.height };
    if (this.selected !== null && !drawn.has(this.selected)) this.selected = null;
    if (this.cursor !== null && !drawn.has(this.cursor)) this.cursor = null;
    this.draw(output);
    if (restore) this.setTransform(restore);
    else if (!keepView || !this.hasDrawn) this.initialView();
    this.hasDrawn = true;
    this.lastTimings.measureMs = t0 - t00;
    this.lastTimings.layoutMs = t1 - t0;
    this.lastTimings.drawMs = performance.now() - t1;
    return true;
  }

  /** Text lines and box size of every node. */
  private measure(graph: GraphResult): Map<number, DrawnNode> {
    const cw = charWidth(this.gNodes.node()!);
    const out = new Map<number, DrawnNode>();
    const box = (
      id: string,
      index: number,
      node: GraphNode | null,
      lines: string[],
      extraRows: number,
      barText: string | null,
    ): DrawnNode => {
      const longest = Math.max(...lines.map((l) => l.length));
      let width = Math.max(MIN_WIDTH, Math.ceil(longest * cw) + 2 * PAD_X + STRIPE + 14);
      if (barText !== null) width = Math.max(width, 2 * PAD_X + STRIPE + BAR_MIN + barTextRoom(barText, cw));
      const height = PAD_Y * 2 + lines.length * LINE + (barText !== null ? LINE : 0) + extraRows * ROW;
      return { id, index, node, width, height, lines, barText, x: 0, y: 0 };
    };
    out.set(-1, box(INPUT_ID, -1, null, ['input', shapeText(graph.inputShape)], 0, null));
    for (const n of graph.nodes) {
      const flops = flopsOf(n.flops, this.convention);
      const lines = [
        `${n.index}  ${n.module}`,
        outputText(n.outShape, n.outShapes),
        `${compactCount(n.params)} params · ${gflopsText(flops)} GFLOPs`,
      ];
      const ex = this.expanded.get(n.index);
      let rows = 0;
      let widest = 0;
      if (ex?.state === 'done') {
        const flat = flattenSubmodules(ex.nodes);
        rows = Math.max(1, Math.min(flat.length, MAX_ROWS) + (flat.length > MAX_ROWS ? 1 : 0));
        widest = Math.max(0, ...flat.slice(0, MAX_ROWS).map((r) => subRowText(r.depth, r.node).length));
      } else if (ex) {
        rows = 1;
        widest = ex.state === 'error' ? Math.min(ex.message.length, 80) : 20;
      }
      const b = box(String(n.index), n.index, n, lines, rows, this.profile ? this.barText(n.index) : null);
      b.width = Math.max(b.width, Math.ceil(widest * cw) + 2 * PAD_X + STRIPE + 14);
      out.set(n.index, b);
    }
    return out;
  }

  private draw(layout: LayoutOutput): void {
    const graph = this.graph!;
    const nodes = [...this.drawnNodes.values()];
    const markerId = `arrow-${this.opts.container.id || 'g'}`;

    // groups: the backbone and head as boxes behind their layers
    const groups = (['backbone', 'head'] as const)
      .map((section) => {
        const members = nodes.filter((n) => n.node?.section === section);
        if (!members.length) return null;
        const x0 = Math.min(...members.map((n) => n.x - n.width / 2)) - 14;
        const x1 = Math.max(...members.map((n) => n.x + n.width / 2)) + 14;
        const y0 = Math.min(...members.map((n) => n.y - n.height / 2)) - 26;
        const y1 = Math.max(...members.map((n) => n.y + n.height / 2)) + 12;
        return { section, x0, x1, y0, y1 };
      })
      .filter((g): g is NonNullable<typeof g> => g !== null);
    const gsel = this.gGroups
      .selectAll<SVGGElement, (typeof groups)[number]>('g.group')
      .data(groups, (g) => g.section)
      .join((enter) => {
        const g = enter.append('g').attr('class', (d) => `group group-${d.section}`);
        g.append('rect').attr('rx', 8);
        g.append('text').attr('class', 'group-label');
        return g;
      });
    gsel
      .select('rect')
      .attr('x', (d) => d.x0)
      .attr('y', (d) => d.y0)
      .attr('width', (d) => d.x1 - d.x0)
      .attr('height', (d) => d.y1 - d.y0);
    gsel
      .select('text')
      .attr('x', (d) => d.x0 + 10)
      .attr('y', (d) => d.y0 + 17)
      .text((d) => d.section);

    // edges: one per `from` element; parallel ones (a layer taking the same input twice) side by side
    const bySlotCount = new Map<string, number>();
    for (const e of graph.edges) {
      const k = linkKey(e.from < 0 ? INPUT_ID : String(e.from), String(e.to));
      bySlotCount.set(k, (bySlotCount.get(k) ?? 0) + 1);
    }
    const seenPair = new Map<string, number>();
    // first the routes as laid out, then (below) the arrivals at multi-input layers spread out
    const routes: { e: GraphEdge; src: DrawnNode; dst: DrawnNode; pts: [number, number][]; offset: number }[] = [];
    for (const e of graph.edges) {
      const src = this.drawnNodes.get(e.from < 0 ? -1 : e.from);
      const dst = this.drawnNodes.get(e.to);
      if (!src || !dst) continue;
      const k = linkKey(src.id, dst.id);
      const nth = seenPair.get(k) ?? 0;
      seenPair.set(k, nth + 1);
      const parallel = bySlotCount.get(k) ?? 1;
      const offset = (nth - (parallel - 1) / 2) * 8;
      const raw = layout.links[k] ?? [
        [src.x, src.y],
        [dst.x, dst.y],
      ];
      routes.push({ e, src, dst, offset, pts: raw.map(([x, y]) => [x + offset, y] as [number, number]) });
    }
    // multi-input layers (Concat, heads): each input arrives at its own point of the top edge, in the left-to-right
    // order the inputs come from, so that they do not cross just above the layer
    const arrivals = new Map<number, typeof routes>();
    for (const r of routes) arrivals.set(r.e.to, [...(arrivals.get(r.e.to) ?? []), r]);
    const arrivalX = new Map<(typeof routes)[number], number>();
    for (const [, rs] of arrivals) {
      if (rs.length < 2) continue;
      const from = (r: (typeof routes)[number]) => (r.pts.length >= 2 ? r.pts[r.pts.length - 2]![0] : r.src.x);
      [...rs]
        .sort((a, b) => from(a) - from(b) || a.e.slot - b.e.slot)
        .forEach((r, i) => arrivalX.set(r, r.dst.x - r.dst.width / 2 + ((i + 1) * r.dst.width) / (rs.length + 1)));
    }
    const edges: DrawnEdge[] = [];
    for (const r of routes) {
      const { e, src, dst, offset, pts } = r;
      const ax = arrivalX.get(r);
      if (pts.length >= 2) {
        pts[0] = clipToBox(pts[1]!, [src.x + offset, src.y], src.width, src.height);
        const last = pts.length - 1;
        pts[last] = ax !== undefined ? [ax, dst.y - dst.height / 2] : clipToBox(pts[last - 1]!, pts[last]!, dst.width, dst.height);
      }
      const a = pts[Math.max(0, pts.length - 2)]!;
      const b = pts[pts.length - 1]!;
      // the label sits on the last stretch for multi-input layers (so it says which input), mid-route otherwise;
      // left of an input arriving on the left half, right of one on the right half
      let label: [number, number];
      let anchor: 'start' | 'end' = 'start';
      if (ax !== undefined) {
        const y = Math.min(b[1] - 10, a[1] + (b[1] - a[1]) * 0.7);
        const t = b[1] !== a[1] ? (y - a[1]) / (b[1] - a[1]) : 1;
        label = [a[0] + (b[0] - a[0]) * t, y];
        anchor = ax < dst.x ? 'end' : 'start';
      } else label = midpoint(pts);
      edges.push({
        key: `${e.from}>${e.to}#${e.slot}`,
        edge: e,
        d: line(pts) ?? '',
        labelX: label[0] + (anchor === 'start' ? 4 : -4),
        labelY: label[1],
        anchor,
        label: shapeText(e.shape),
      });
    }
    this.gEdges
      .selectAll<SVGPathElement, DrawnEdge>('path.edge')
      .data(edges, (d) => d.key)
      .join('path')
      .attr('class', 'edge')
      .attr('data-from', (d) => d.edge.from)
      .attr('data-to', (d) => d.edge.to)
      .attr('data-slot', (d) => d.edge.slot)
      .attr('marker-end', `url(#${markerId})`)
      .attr('d', (d) => d.d);
    this.drawnEdges = edges;

    // nodes: the boxes always; their text and extras only where they can be read (see renderDetail)
    const sel = this.gNodes
      .selectAll<SVGGElement, DrawnNode>('g.node')
      .data(nodes, (d) => d.id)
      .join((enter) => {
        const g = enter.append('g').attr('role', 'button');
        g.append('rect').attr('class', 'box').attr('rx', 4);
        g.append('rect').attr('class', 'stripe');
        g.append('g').attr('class', 'content');
        g.on('click', (ev: MouseEvent, d) => {
          if (d.index < 0) return;
          if ((ev.target as Element).closest('.expand-toggle')) {
            this.opts.onExpand?.(d.index);
            return;
          }
          this.select(d.index, { focus: false, scroll: false });
          this.opts.onActivate?.(d.index);
        });
        return g;
      });
    sel
      .attr('class', (d) => nodeClass(d, this))
      .attr('data-index', (d) => d.index)
      .attr('tabindex', (d) => (d.index === (this.selected ?? 0) ? '0' : '-1'))
      .attr('transform', (d) => `translate(${d.x - d.width / 2},${d.y - d.height / 2})`)
      .attr('aria-label', (d) => ariaLabel(d))
      .attr('aria-pressed', (d) => (d.index === this.selected ? 'true' : 'false'));
    sel
      .select('rect.box')
      .attr('width', (d) => d.width)
      .attr('height', (d) => d.height);
    sel
      .select('rect.stripe')
      .attr('width', STRIPE)
      .attr('height', (d) => d.height);
    this.detailed.clear();
    this.labelled = null;
    this.renderDetail(true);
  }

  /**
   * Level of detail: a model of a few hundred layers gets every text drawn; a larger one only for the nodes and
   * edges inside the view (plus a margin), and none when zoomed too far out to read them. Runs again on zoom.
   */
  private renderDetail(rebuild: boolean): void {
    const nodeCount = this.drawnNodes.size;
    const t = d3.zoomTransform(this.svg.node()!);
    let visible: ((x0: number, y0: number, x1: number, y1: number) => boolean) | null = null;
    if (!this.forceAllDetail && (nodeCount > DETAIL_ALL || this.drawnEdges.length > DETAIL_ALL * 2)) {
      const { width, height } = this.svg.node()!.getBoundingClientRect();
      const [vx0, vy0] = t.invert([-width * 0.5, -height * 0.5]);
      const [vx1, vy1] = t.invert([width * 1.5, height * 1.5]);
      const readable = t.k >= ZOOMED_OUT;
      visible = (x0, y0, x1, y1) => readable && x1 >= vx0 && x0 <= vx1 && y1 >= vy0 && y0 <= vy1;
    }
    const detailed = this.detailed;
    this.gNodes.selectAll<SVGGElement, DrawnNode>('g.node').each((d, i, els) => {
      const need = !visible || visible(d.x - d.width / 2, d.y - d.height / 2, d.x + d.width / 2, d.y + d.height / 2);
      const has = detailed.has(d.index);
      if (need && (rebuild || !has)) {
        this.fillContent(d3.select(els[i]!).select<SVGGElement>('g.content'), d);
        detailed.add(d.index);
      } else if (!need && has) {
        d3.select(els[i]!).select('g.content').selectAll('*').remove();
        detailed.delete(d.index);
      }
    });
    const labels = visible
      ? this.drawnEdges.filter((e) => visible!(e.labelX - 40, e.labelY - 10, e.labelX + 40, e.labelY + 10))
      : this.drawnEdges;
    const key = labels.length === this.drawnEdges.length ? 'all' : labels.map((e) => e.key).join(',');
    if (!rebuild && key === this.labelled) return;
    this.labelled = key;
    this.gLabels
      .selectAll<SVGTextElement, DrawnEdge>('text.edge-label')
      .data(labels, (d) => d.key)
      .join('text')
      .attr('class', 'edge-label')
      .attr('data-from', (d) => d.edge.from)
      .attr('data-to', (d) => d.edge.to)
      .attr('x', (d) => d.labelX)
      .attr('y', (d) => d.labelY)
      .attr('text-anchor', (d) => d.anchor)
      .text((d) => d.label);
  }

  /** Everything written inside a node box: tooltip, text lines, diagnostics marker, profile bar, expansion. */
  private fillContent(g: d3.Selection<SVGGElement, unknown, null, undefined>, d: DrawnNode): void {
    g.selectAll('*').remove();
    g.append('title').text(tooltip(d));
    const lines = g.append('g').attr('class', 'lines');
    d.lines.forEach((text, i) => {
      lines
        .append('text')
        .attr('class', ['line-title', 'line-shape', 'line-stats'][i] ?? 'line')
        .attr('x', PAD_X + STRIPE)
        .attr('y', PAD_Y + (i + 1) * LINE - 4)
        .text(text);
    });
    this.drawExtras(g.append('g').attr('class', 'extras'), d);
  }

  /** The text beside a layer's time bar: its ms and share, and its share of the estimated PyTorch time where there is one. */
  private barText(index: number): string {
    const p = this.profile!;
    const ms = p.ms.get(index);
    if (ms === undefined) return '– ms';
    const t = p.torchMs.get(index);
    const torch = p.torchSum > 0 ? ` · PyTorch≈ ${t !== undefined ? shareText(t, p.torchSum) : '–'}` : '';
    return `${msText(ms)} ms · ${shareText(ms, p.msSum)}${torch}`;
  }

  /** Diagnostics marker, profile bar, expand toggle and submodule rows of one node. */
  private drawExtras(g: d3.Selection<SVGGElement, unknown, null, undefined>, d: DrawnNode): void {
    const n = d.node;
    if (!n) return;
    const worst = worstSeverity(n);
    if (worst) {
      const m = g
        .append('g')
        .attr('class', `diag-marker sev-${worst}`)
        .attr('transform', `translate(${d.width - 12},12)`);
      m.append('circle').attr('r', 7);
      m.append('text')
        .attr('text-anchor', 'middle')
        .attr('y', 4)
        .text(worst === 'error' ? '!' : worst === 'warning' ? '!' : 'i');
    }
    let y = PAD_Y + d.lines.length * LINE;
    if (this.profile && d.barText !== null) {
      const v = barTimes(this.profile).get(n.index);
      const w = d.width - 2 * PAD_X - STRIPE - barTextRoom(d.barText, charWidth(this.gNodes.node()!));
      const pb = g
        .append('g')
        .attr('class', this.profile.torchSum > 0 ? 'profile-bar by-torch' : 'profile-bar')
        .attr('transform', `translate(${PAD_X + STRIPE},${y + 3})`);
      pb.append('rect').attr('class', 'track').attr('width', w).attr('height', 8);
      pb.append('rect')
        .attr('class', 'fill')
        .attr('width', v !== undefined ? Math.max(1, (w * v) / this.barMax) : 0)
        .attr('height', 8);
      pb.append('text')
        .attr('x', w + 6)
        .attr('y', 9)
        .text(d.barText);
      y += LINE;
    }
    const ex = this.expanded.get(n.index);
    if (ex) {
      const rows = g
        .append('g')
        .attr('class', 'sub-rows')
        .attr('transform', `translate(${PAD_X + STRIPE},${y})`);
      if (ex.state === 'loading')
        rows
          .append('text')
          .attr('y', ROW - 3)
          .attr('class', 'sub-row muted')
          .text('loading submodules…');
      else if (ex.state === 'error')
        rows
          .append('text')
          .attr('y', ROW - 3)
          .attr('class', 'sub-row muted')
          .text(ex.message.slice(0, 80));
      else {
        const flat = flattenSubmodules(ex.nodes);
        if (!flat.length)
          rows
            .append('text')
            .attr('y', ROW - 3)
            .attr('class', 'sub-row muted')
            .text('no submodules');
        flat.slice(0, MAX_ROWS).forEach((r, i) => {
          rows
            .append('text')
            .attr('class', 'sub-row')
            .attr('y', (i + 1) * ROW - 3)
            .text(subRowText(r.depth, r.node));
        });
        if (flat.length > MAX_ROWS)
          rows
            .append('text')
            .attr('class', 'sub-row muted')
            .attr('y', (MAX_ROWS + 1) * ROW - 3)
            .text('…');
      }
    }
    const t = g
      .append('g')
      .attr('class', 'expand-toggle')
      .attr('transform', `translate(${d.width - 16},${d.height - 16})`);
    t.append('title').text(ex ? 'collapse the submodules (e)' : 'expand into submodules (e)');
    t.append('rect').attr('width', 12).attr('height', 12).attr('rx', 2);
    t.append('text')
      .attr('x', 6)
      .attr('y', 10)
      .attr('text-anchor', 'middle')
      .text(ex ? '−' : '+');
  }

  private refreshClasses(): void {
    this.gNodes
      .selectAll<SVGGElement, DrawnNode>('g.node')
      .attr('class', (d) => nodeClass(d, this))
      .attr('tabindex', (d) => (d.index === (this.selected ?? 0) ? '0' : '-1'))
      .attr('aria-pressed', (d) => (d.index === this.selected ? 'true' : 'false'));
    this.refreshEdges();
  }

  private refreshEdges(): void {
    const sel = this.selected;
    this.gEdges
      .selectAll<SVGPathElement, DrawnEdge>('path.edge')
      .classed('related', (d) => sel !== null && (d.edge.from === sel || d.edge.to === sel));
  }

  /** Update the classes of a few nodes only (selection and cursor moves on a large graph). */
  private refreshNodes(indices: (number | null)[]): void {
    for (const i of new Set(indices)) {
      if (i === null) continue;
      const el = this.nodeElement(i);
      const d = this.drawnNodes.get(i);
      if (!el || !d) continue;
      el.setAttribute('class', nodeClass(d, this));
      el.setAttribute('tabindex', i === (this.selected ?? 0) ? '0' : '-1');
      el.setAttribute('aria-pressed', i === this.selected ? 'true' : 'false');
    }
  }

  nodeElement(index: number): SVGGElement | null {
    return this.gNodes.select<SVGGElement>(`g.node[data-index="${index}"]`).node();
  }

  select(index: number | null, how: { focus: boolean; scroll: boolean }): void {
    const before = this.selected;
    this.selected = index !== null && this.drawnNodes.has(index) ? index : null;
    this.refreshNodes([before, this.selected, 0]);
    this.refreshEdges();
    if (this.selected !== null) {
      if (how.scroll) this.scrollIntoView(this.selected);
      if (how.focus) this.nodeElement(this.selected)?.focus({ preventScroll: true });
    }
    this.opts.onSelect?.(this.selected);
  }

  /** The editor's cursor is in this layer (null: in none). */
  setCursor(index: number | null): void {
    const before = this.cursor;
    this.cursor = index !== null && this.drawnNodes.has(index) ? index : null;
    this.refreshNodes([before, this.cursor]);
    if (this.cursor !== null) this.scrollIntoView(this.cursor);
  }

  /** Mark the layers matching a search (null: no search). Returns the matches in index order. */
  setMatches(matches: number[] | null): void {
    this.matches = matches ? new Set(matches) : null;
    this.refreshClasses();
  }

  setDiff(diff: Map<number, DiffMark> | null): void {
    this.diff = diff;
    this.refreshClasses();
  }

  /** A profile run's per-layer times (null: hide the bars). Relayouts (the boxes grow). */
  async setProfile(profile: ProfileTimes | null): Promise<void> {
    this.profile = profile;
    this.barMax = profile ? Math.max(1e-9, ...barTimes(profile).values()) : 1e-9;
    if (this.graph) await this.setGraph(this.graph, this.convention, true);
  }

  async setExpansion(index: number, ex: Expansion | null): Promise<void> {
    if (ex) this.expanded.set(index, ex);
    else this.expanded.delete(index);
    if (this.graph) await this.setGraph(this.graph, this.convention, true);
  }

  /** Pan (keeping the zoom) so that a node is inside the view, when it is not already. */
  scrollIntoView(index: number): void {
    const n = this.drawnNodes.get(index);
    const el = this.svg.node()!;
    if (!n) return;
    const { width, height } = el.getBoundingClientRect();
    if (!width || !height) return;
    const t = d3.zoomTransform(el);
    const [x0, y0] = t.apply([n.x - n.width / 2, n.y - n.height / 2]);
    const [x1, y1] = t.apply([n.x + n.width / 2, n.y + n.height / 2]);
    const margin = 20;
    if (x0 >= margin && y0 >= margin && x1 <= width - margin && y1 <= height - margin) return;
    this.svg.call(this.zoom.translateTo, n.x, n.y);
  }

  /** Zoom to show the whole graph (never beyond 100 %). */
  fit(): void {
    const el = this.svg.node()!;
    const { width, height } = el.getBoundingClientRect();
    const bw = this.bounds.width || 1;
    const bh = this.bounds.height || 1;
    if (!width || !height) return;
    const k = Math.min(1, (width - 20) / bw, (height - 20) / bh);
    const x = (width - bw * k) / 2;
    const y = Math.max(10, (height - bh * k) / 2);
    this.setTransform({ k: Math.max(k, 0.02), x, y });
  }

  /**
   * The first view of a graph: readable rather than complete. Fit the width (at most 100 %, at least the
   * whole graph), and when the graph is then taller than the view, show its top (the input and the backbone).
   */
  initialView(): void {
    const el = this.svg.node()!;
    const { width, height } = el.getBoundingClientRect();
    const bw = this.bounds.width || 1;
    const bh = this.bounds.height || 1;
    if (!width || !height) return;
    const all = Math.min(1, (width - 20) / bw, (height - 20) / bh);
    const k = Math.max(all, Math.min(0.85, (width - 20) / bw));
    const x = (width - bw * k) / 2;
    const y = bh * k <= height - 20 ? (height - bh * k) / 2 : 10;
    this.setTransform({ k: Math.max(k, 0.02), x, y });
  }

  zoomBy(factor: number): void {
    this.svg.call(this.zoom.scaleBy, factor);
  }

  /** Keyboard: arrows move between layers (up/down in index order, left/right along inputs and consumers). */
  private onKey(e: KeyboardEvent): void {
    if (!this.graph || !this.graph.nodes.length) return;
    const cur = this.selected ?? -1;
    const count = this.graph.nodes.length;
    let next: number | null = null;
    switch (e.key) {
      case 'ArrowDown':
        next = Math.min(count - 1, cur + 1);
        break;
      case 'ArrowUp':
        next = Math.max(0, cur - 1);
        break;
      case 'ArrowLeft': {
        const inputs = this.graph.nodes[cur]?.inputs.filter((i) => i >= 0) ?? [];
        next = inputs.length ? inputs[0]! : cur;
        break;
      }
      case 'ArrowRight': {
        const consumer = this.graph.edges.find((x) => x.from === cur);
        next = consumer ? consumer.to : cur;
        break;
      }
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = count - 1;
        break;
      case 'Enter':
      case ' ':
        if (this.selected !== null) this.opts.onActivate?.(this.selected);
        e.preventDefault();
        return;
      case 'e':
        if (this.selected !== null) this.opts.onExpand?.(this.selected);
        return;
      case '+':
      case '=':
        this.zoomBy(1.25);
        return;
      case '-':
        this.zoomBy(0.8);
        return;
      case '0':
        this.fit();
        return;
      default:
        return;
    }
    e.preventDefault();
    if (next !== null && next >= 0) this.select(next, { focus: true, scroll: true });
  }

  /** A standalone SVG of the whole graph with the current theme's colours written into it. */
  exportSvg(): string {
    // the file holds every text, whatever the level of detail on screen
    const src = this.svg.node()!;
    this.forceAllDetail = true;
    this.renderDetail(false);
    this.svg.classed('zoomed-out', false);
    try {
      return this.serialize(src);
    } finally {
      this.forceAllDetail = false;
      this.svg.classed('zoomed-out', d3.zoomTransform(src).k < ZOOMED_OUT);
      this.renderDetail(false);
    }
  }

  private forceAllDetail = false;

  private serialize(src: SVGSVGElement): string {
    const clone = src.cloneNode(true) as SVGSVGElement;
    const pad = 20;
    clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
    clone.setAttribute('viewBox', `${-pad} ${-pad} ${this.bounds.width + 2 * pad} ${this.bounds.height + 2 * pad}`);
    clone.setAttribute('width', String(Math.ceil(this.bounds.width + 2 * pad)));
    clone.setAttribute('height', String(Math.ceil(this.bounds.height + 2 * pad)));
    clone.removeAttribute('class');
    clone.removeAttribute('tabindex');
    clone.querySelector('.viewport')?.removeAttribute('transform');
    // CSS variables do not travel with the file: copy the computed paint of every element into it
    const props = [
      'fill',
      'stroke',
      'stroke-width',
      'stroke-dasharray',
      'opacity',
      'font-family',
      'font-size',
      'font-weight',
      'display',
      'visibility',
    ];
    const a = src.querySelectorAll('*');
    const b = clone.querySelectorAll('*');
    for (let i = 0; i < a.length; i++) {
      const cs = getComputedStyle(a[i]!);
      const parts: string[] = [];
      for (const p of props) {
        const v = cs.getPropertyValue(p);
        if (v) parts.push(`${p}:${v}`);
      }
      (b[i] as SVGElement).style.cssText = parts.join(';');
      (b[i] as SVGElement).removeAttribute('tabindex');
    }
    const bg = getComputedStyle(document.body).backgroundColor;
    const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    rect.setAttribute('x', String(-pad));
    rect.setAttribute('y', String(-pad));
    rect.setAttribute('width', '100%');
    rect.setAttribute('height', '100%');
    rect.style.fill = bg;
    clone.insertBefore(rect, clone.firstChild);
    return new XMLSerializer().serializeToString(clone);
  }

  get size(): { width: number; height: number } {
    return { ...this.bounds };
  }

  /** For the side table and the tests: the drawn box of a layer. */
  boxOf(index: number): { x: number; y: number; width: number; height: number } | null {
    const n = this.drawnNodes.get(index);
    return n ? { x: n.x, y: n.y, width: n.width, height: n.height } : null;
  }

  isMatch(index: number): boolean {
    return this.matches?.has(index) ?? false;
  }
  diffOf(index: number): DiffMark | undefined {
    return this.diff?.get(index);
  }
}

function subRowText(depth: number, n: SubmoduleNode): string {
  const name = n.path.split('.').pop() ?? n.path;
  return `${'  '.repeat(depth)}${name}  ${n.type}  ${n.outShape ? shapeText(n.outShape) : ''}  ${compactCount(n.params)}`.replace(
    /\s+$/,
    '',
  );
}

function midpoint(pts: [number, number][]): [number, number] {
  if (pts.length === 0) return [0, 0];
  let total = 0;
  const seg: number[] = [];
  for (let i = 1; i < pts.length; i++) {
    const d = Math.hypot(pts[i]![0] - pts[i - 1]![0], pts[i]![1] - pts[i - 1]![1]);
    seg.push(d);
    total += d;
  }
  let half = total / 2;
  for (let i = 1; i < pts.length; i++) {
    const d = seg[i - 1]!;
    if (half <= d && d > 0) {
      const f = half / d;
      return [pts[i - 1]![0] + (pts[i]![0] - pts[i - 1]![0]) * f, pts[i - 1]![1] + (pts[i]![1] - pts[i - 1]![1]) * f];
    }
    half -= d;
  }
  return pts[pts.length - 1]!;
}

function layoutKey(input: LayoutInput): string {
  const parts: string[] = [];
  for (const n of input.nodes) parts.push(`${n.id}:${n.width}x${n.height}`);
  parts.push('|');
  for (const [a, b] of input.edges) parts.push(`${a}>${b}`);
  return parts.join(',');
}

function nodeClass(d: DrawnNode, view: GraphView): string {
  const n = d.node;
  if (!n) return 'node input-node';
  const c = ['node', 'layer-node', `cat-${n.category}`, `section-${n.section}`, `status-${n.status}`];
  const worst = worstSeverity(n);
  if (worst) c.push(`diag-${worst}`);
  if (view.selected === n.index) c.push('selected');
  if (view.cursor === n.index) c.push('cursor');
  if (view.isMatch(n.index)) c.push('match');
  const diff = view.diffOf(n.index);
  if (diff) c.push(`diff-${diff}`);
  if (view.expanded.has(n.index)) c.push('expanded');
  if (n.weights) c.push(`weights-${n.weights.status}`);
  return c.join(' ');
}

function ariaLabel(d: DrawnNode): string {
  const n = d.node;
  if (!n) return `input ${d.lines[1] ?? ''}`;
  const diags = n.diagnostics.length ? `, ${n.diagnostics.length} problem${n.diagnostics.length > 1 ? 's' : ''}` : '';
  const weights = n.weights ? `, pretrained weights: ${WEIGHTS_WORDS[n.weights.status]} (${n.weights.loaded}/${n.weights.total})` : '';
  return (
    `layer ${n.index} ${n.module}, output ${outputText(n.outShape, n.outShapes)}, ${compactCount(n.params)} parameters${diags}` + weights
  );
}

function tooltip(d: DrawnNode): string {
  const n = d.node;
  if (!n) return `input image ${d.lines[1] ?? ''}`;
  const head = `${n.index} ${n.module}  from ${n.from}  n=${n.n ?? '?'}\nargs ${n.args}\nout ${outputText(n.outShape, n.outShapes)}`;
  const diags = n.diagnostics.map((x) => `${x.severity} ${x.code}: ${x.message}`);
  return [head, ...weightsLines(n), ...diags].join('\n');
}

/** How a layer fares against the pretrained checkpoint, in the words the legend uses. */
export const WEIGHTS_WORDS = {
  load: 'all load',
  partial: 'partly load',
  mismatch: 'shape mismatch',
  new: 'new (not in the checkpoint)',
} as const;

/** The hover lines of a layer's pretrained-weights verdict: the count, then each tensor that does not load. */
export function weightsLines(n: GraphNode): string[] {
  const w = n.weights;
  if (!w) return [];
  return [`weights: ${w.loaded}/${w.total} tensors load: ${WEIGHTS_WORDS[w.status]}`, ...w.details.map((d) => `  ${d}`)];
}
