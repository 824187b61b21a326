/**
 * The graph panel's compare view (`YOLO Lens: Compare With...`): two models side by side, the Δparams and
 * ΔGFLOPs per stage (backbone, neck, detection head) and in total, and which layers differ, also marked on both graphs.
 */
import { diffArrays } from 'diff';
import type { GraphNode, GraphResult } from '../../server/src/protocol.ts';
import { compactCount, flopsOf, gflopsText, outputText, signedText, type FlopsConvention } from '../../common/src/format.ts';
import { total } from './totals.ts';
import { el } from './dom.ts';
import { GraphView, type DiffMark } from './graphView.ts';
import type { Layouter } from './layout.ts';

export type Stage = 'backbone' | 'neck' | 'head';
export const STAGES: readonly Stage[] = ['backbone', 'neck', 'head'];

/** The backbone section; the head section's detection/classification layer is the head, the rest the neck. */
export function stageOf(n: GraphNode): Stage {
  if (n.section === 'backbone') return 'backbone';
  return n.category === 'head' ? 'head' : 'neck';
}

export interface StageFigures {
  stage: Stage | 'total';
  left: { params: number | null; flops: number | null; layers: number };
  right: { params: number | null; flops: number | null; layers: number };
}

export interface LayerPair {
  left: GraphNode | null;
  right: GraphNode | null;
  status: 'same' | 'changed' | 'added' | 'removed';
}

export interface Comparison {
  stages: StageFigures[];
  pairs: LayerPair[];
  leftMarks: Map<number, DiffMark>;
  rightMarks: Map<number, DiffMark>;
}

const sameLayer = (a: GraphNode, b: GraphNode) =>
  a.module === b.module &&
  a.args === b.args &&
  a.from === b.from &&
  a.n === b.n &&
  outputText(a.outShape, a.outShapes) === outputText(b.outShape, b.outShapes) &&
  a.params === b.params;

/** Align the two layer lists (longest common subsequence on module names) and compare the figures. */
export function compareModels(left: GraphResult, right: GraphResult, convention: FlopsConvention): Comparison {
  const figures = (g: GraphResult, pick: (n: GraphNode) => boolean) => {
    const ns = g.nodes.filter(pick);
    return { params: total(ns.map((n) => n.params)), flops: total(ns.map((n) => flopsOf(n.flops, convention))), layers: ns.length };
  };
  const stages: StageFigures[] = STAGES.map((stage) => ({
    stage,
    left: figures(left, (n) => stageOf(n) === stage),
    right: figures(right, (n) => stageOf(n) === stage),
  }));
  const all = (g: GraphResult) => {
    const f = figures(g, () => true);
    return {
      params: g.totals.params ?? f.params,
      flops: g.totals.flopsAtImgsz ? flopsOf(g.totals.flopsAtImgsz, convention) : f.flops,
      layers: f.layers,
    };
  };
  stages.push({ stage: 'total', left: all(left), right: all(right) });

  const pairs: LayerPair[] = [];
  const changes = diffArrays(left.nodes, right.nodes, { comparator: (a: GraphNode, b: GraphNode) => a.module === b.module });
  let li = 0;
  let ri = 0;
  let removed: GraphNode[] = [];
  let added: GraphNode[] = [];
  const flush = () => {
    // a removed run next to an added run is the same place rewritten: pair them up as changed layers
    const k = Math.min(removed.length, added.length);
    for (let i = 0; i < k; i++) pairs.push({ left: removed[i]!, right: added[i]!, status: 'changed' });
    for (const n of removed.slice(k)) pairs.push({ left: n, right: null, status: 'removed' });
    for (const n of added.slice(k)) pairs.push({ left: null, right: n, status: 'added' });
    removed = [];
    added = [];
  };
  for (const c of changes) {
    if (c.removed) {
      removed.push(...left.nodes.slice(li, li + c.count));
      li += c.count;
    } else if (c.added) {
      added.push(...right.nodes.slice(ri, ri + c.count));
      ri += c.count;
    } else {
      flush();
      for (let i = 0; i < c.count; i++) {
        const a = left.nodes[li + i]!;
        const b = right.nodes[ri + i]!;
        pairs.push({ left: a, right: b, status: sameLayer(a, b) ? 'same' : 'changed' });
      }
      li += c.count;
      ri += c.count;
    }
  }
  flush();
  const leftMarks = new Map<number, DiffMark>();
  const rightMarks = new Map<number, DiffMark>();
  for (const p of pairs) {
    if (p.status === 'same') continue;
    if (p.left) leftMarks.set(p.left.index, p.status === 'added' ? 'changed' : (p.status as DiffMark));
    if (p.right) rightMarks.set(p.right.index, p.status === 'removed' ? 'changed' : (p.status as DiffMark));
  }
  return { stages, pairs, leftMarks, rightMarks };
}

function delta(a: number | null, b: number | null, fmt: (x: number) => string): { text: string; cls: string } {
  if (a === null || b === null) return { text: '?', cls: '' };
  const d = b - a;
  const pct = a !== 0 ? ` (${signedText(((100 * d) / a).toFixed(1), d)} %)` : '';
  return { text: `${signedText(fmt(d), d)}${pct}`, cls: d > 0 ? 'delta-up' : d < 0 ? 'delta-down' : 'delta-zero' };
}

export interface CompareViewOptions {
  layouter: () => Layouter;
  onActivate(side: 'left' | 'right', index: number): void;
}

/** Two graphs side by side with the figures between them. */
export class CompareView {
  readonly root: HTMLElement;
  readonly left: GraphView;
  readonly right: GraphView;
  private readonly summary: HTMLElement;
  private readonly layers: HTMLElement;
  private readonly leftTitle: HTMLElement;
  private readonly rightTitle: HTMLElement;
  comparison: Comparison | null = null;

  constructor(container: HTMLElement, opts: CompareViewOptions) {
    this.root = el('div', 'compare');
    this.summary = el('div', 'compare-summary');
    const panes = el('div', 'compare-graphs');
    const mk = (side: 'left' | 'right') => {
      const pane = el('section', `compare-pane compare-${side}`);
      const title = el('h2', 'compare-title');
      const holder = el('div', 'graph-holder');
      holder.id = `cmp-${side}`;
      pane.append(title, holder);
      panes.append(pane);
      const view = new GraphView({
        container: holder,
        layouter: opts.layouter(),
        label: `${side} model graph`,
        onActivate: (i) => opts.onActivate(side, i),
      });
      return { title, view };
    };
    const l = mk('left');
    const r = mk('right');
    this.left = l.view;
    this.right = r.view;
    this.leftTitle = l.title;
    this.rightTitle = r.title;
    this.layers = el('div', 'compare-layers');
    this.root.append(this.summary, panes, this.layers);
    container.append(this.root);
  }

  async show(
    left: GraphResult,
    right: GraphResult,
    leftName: string,
    rightName: string,
    convention: FlopsConvention,
    keepView: boolean,
  ): Promise<boolean> {
    this.leftTitle.textContent = leftName;
    this.rightTitle.textContent = rightName;
    const c = compareModels(left, right, convention);
    this.comparison = c;
    this.renderSummary(c, leftName, rightName);
    this.renderLayers(c);
    const [a, b] = await Promise.all([this.left.setGraph(left, convention, keepView), this.right.setGraph(right, convention, keepView)]);
    this.left.setDiff(c.leftMarks);
    this.right.setDiff(c.rightMarks);
    return a && b;
  }

  private renderSummary(c: Comparison, leftName: string, rightName: string): void {
    const t = el('table', 'compare-stages');
    const head = el('tr');
    for (const h of [
      'stage',
      `${leftName} params`,
      `${rightName} params`,
      'Δ params',
      `${leftName} GFLOPs`,
      `${rightName} GFLOPs`,
      'Δ GFLOPs',
    ]) {
      const th = el('th', '', h);
      th.scope = 'col';
      head.append(th);
    }
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    for (const s of c.stages) {
      const tr = el('tr', s.stage === 'total' ? 'totals' : '');
      tr.dataset.stage = s.stage;
      tr.append(el('th', '', s.stage));
      tr.append(el('td', 'num', compactCount(s.left.params)), el('td', 'num', compactCount(s.right.params)));
      const dp = delta(s.left.params, s.right.params, compactCount);
      tr.append(el('td', `num delta ${dp.cls}`, dp.text));
      tr.append(el('td', 'num', gflopsText(s.left.flops)), el('td', 'num', gflopsText(s.right.flops)));
      const df = delta(s.left.flops, s.right.flops, gflopsText);
      tr.append(el('td', `num delta ${df.cls}`, df.text));
      tbody.append(tr);
    }
    t.append(thead, tbody);
    this.summary.replaceChildren(t);
  }

  private renderLayers(c: Comparison): void {
    const differing = c.pairs.filter((p) => p.status !== 'same');
    const h = el('h3', '', differing.length ? `${differing.length} layer${differing.length > 1 ? 's' : ''} differ` : 'no layer differs');
    const t = el('table', 'compare-diff');
    const head = el('tr');
    for (const x of ['', 'left', 'right', 'Δ params']) head.append(el('th', '', x));
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    for (const p of differing) {
      const tr = el('tr', `diff-${p.status}`);
      tr.dataset.status = p.status;
      tr.append(el('td', 'status', p.status));
      const side = (n: GraphNode | null) => (n ? `${n.index} ${n.module} ${n.args} → ${outputText(n.outShape, n.outShapes)}` : '—');
      tr.append(el('td', 'left', side(p.left)), el('td', 'right', side(p.right)));
      const d = delta(p.left ? p.left.params : 0, p.right ? p.right.params : 0, compactCount);
      tr.append(el('td', `num ${d.cls}`, d.text.replace(/ \(.*\)$/, '')));
      tbody.append(tr);
    }
    t.append(thead, tbody);
    this.layers.replaceChildren(h, t);
  }
}
