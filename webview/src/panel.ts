/**
 * The graph panel app (`YOLO Lens: Show Model Graph`): toolbar, search, the graph, the layer details and side
 * table, profile results and the compare view; talks to the extension host only through `messages.ts`, and keeps
 * its view (zoom, selection, sort, search, expansions) in the webview state so a reload restores it.
 */
import type { GraphResult, LspPosition, ProfileResult, SubmoduleNode } from '../../server/src/protocol.ts';
import { parseHostMessage, rangeContains, type HostMessage, type WebviewMessage } from './messages.ts';
import { GraphView, WEIGHTS_WORDS, weightsLines, type ViewTransform } from './graphView.ts';
import { LayerTable, SORT_KEYS, type SortState } from './table.ts';
import { profileTimes, torchShareTip, type ProfileTimes } from '../../common/src/profileTimes.ts';
import { CompareView } from './compare.ts';
import { Layouter } from './layout.ts';
import {
  CONVENTION_NAME,
  DEFAULT_FLOPS_CONVENTION,
  exactCount,
  flopsConvention,
  flopsOf,
  gflopsText,
  headlineGflops,
  modelFiguresText,
  msText,
  otherConvention,
  outputText,
  shapeText,
  type FlopsConvention,
} from '../../common/src/format.ts';
import { svgToPng } from './exportImage.ts';
import { el } from './dom.ts';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** What survives a reload of the panel (and what the host's serializer reads back: `mode`, `uri`, `compareUris`). */
export interface PanelState {
  v: 1;
  mode: 'graph' | 'compare' | 'empty';
  uri: string | null;
  compareUris: [string, string] | null;
  fileName: string;
  convention: FlopsConvention;
  /** the last graph, so a reload draws at once (only for models of reasonable size) */
  graph: GraphResult | null;
  transform: ViewTransform | null;
  selected: number | null;
  sort: SortState;
  search: string;
  tableVisible: boolean;
  expanded: number[];
}

const STATE_GRAPH_LIMIT = 1500;

const WARM_GRAPH: GraphResult = {
  uri: '',
  version: null,
  framework: '',
  frameworkLabel: '',
  frameworkVersion: '',
  frameworkSource: 'file',
  frameworkReason: '',
  dialect: 'yolov5',
  scale: null,
  imgsz: 64,
  inputShape: [1, 3, 64, 64],
  nodes: [
    {
      index: 0,
      section: 'backbone',
      module: 'Conv',
      category: 'conv',
      args: '[3, 16, 3, 2]',
      from: '-1',
      inputs: [-1],
      n: 1,
      outShape: [1, 16, 32, 32],
      outShapes: null,
      params: 464,
      flops: { thop: 1, ultralyticsThop: 1 },
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } },
      status: 'ok',
      diagnostics: [{ code: 'YOLO025', severity: 'hint', message: '' }],
    },
  ],
  edges: [{ from: -1, to: 0, slot: 0, shape: [1, 3, 64, 64] }],
  totals: {
    params: 464,
    paramsFused: 464,
    gflops: { thop: 0, ultralyticsThop: 0 },
    gflopsFused: { thop: 0, ultralyticsThop: 0 },
    flopsAtImgsz: { thop: 1, ultralyticsThop: 1 },
    summary: null,
  },
  ok: true,
};

function button(label: string, title: string, onClick: () => void, cls = ''): HTMLButtonElement {
  const b = el('button', `tool ${cls}`.trim(), label);
  b.type = 'button';
  b.title = title;
  b.setAttribute('aria-label', title);
  b.addEventListener('click', onClick);
  return b;
}

/** A search query against one layer: module name, index (`13` or `#13`), category, or part of the output shape. */
export function matchesQuery(n: GraphResult['nodes'][number], query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  const idx = /^#?(\d+)$/.exec(q);
  if (idx && Number(idx[1]) === n.index) return true;
  if (q.startsWith('#')) return false;
  if (n.module.toLowerCase().includes(q) || n.category === q) return true;
  const shapeQ = q.replace(/[x*,\s]+/g, '×');
  const shapes = [n.outShape, ...(n.outShapes ?? [])].filter((s): s is number[] => !!s).map((s) => shapeText(s));
  return /\d/.test(shapeQ) && !idx && shapes.some((s) => s.includes(shapeQ));
}

export class Panel {
  private readonly api: VsCodeApi;
  private state: PanelState;
  private readonly layouter = new Layouter();
  private readonly root: HTMLElement;
  private readonly title: HTMLElement;
  private readonly subtitle: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly matchCount: HTMLElement;
  private readonly status: HTMLElement;
  private readonly progress: HTMLElement;
  private readonly progressFill: HTMLElement;
  private readonly profileSummary: HTMLElement;
  private readonly weightsLegend: HTMLElement;
  private readonly main: HTMLElement;
  private readonly graphHolder: HTMLElement;
  private readonly side: HTMLElement;
  private readonly details: HTMLElement;
  private readonly view: GraphView;
  private readonly table: LayerTable;
  private compare: CompareView | null = null;
  private profile: ProfileTimes | null = null;
  private matchList: number[] = [];
  private matchCursor = -1;
  private renderSeq = 0;
  private parseMs = 0;
  private graphSeq = 0;
  private tableMs = 0;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  /** graph messages that arrived while one is being drawn: only the newest is drawn next */
  private pending: HostMessage | null = null;
  private busy = false;

  constructor(root: HTMLElement, scriptUrl: string | null) {
    this.api = acquireVsCodeApi();
    this.root = root;
    this.state = restoreState(this.api.getState());
    void this.layouter.start(scriptUrl);

    const toolbar = el('div', 'toolbar');
    toolbar.setAttribute('role', 'toolbar');
    toolbar.setAttribute('aria-label', 'graph tools');
    const titles = el('div', 'titles');
    this.title = el('h1', 'title', 'YOLO Lens');
    this.subtitle = el('div', 'subtitle');
    titles.append(this.title, this.subtitle);
    this.search = el('input', 'search');
    this.search.type = 'search';
    this.search.placeholder = 'search: module, #index, shape';
    this.search.setAttribute('aria-label', 'search layers by module name, index or output shape');
    this.search.value = this.state.search;
    this.search.addEventListener('input', () => this.applySearch(false));
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        this.nextMatch(e.shiftKey ? -1 : 1);
      } else if (e.key === 'Escape') {
        this.search.value = '';
        this.applySearch(false);
      }
    });
    this.matchCount = el('span', 'match-count');
    this.matchCount.setAttribute('aria-live', 'polite');
    const tools = el('div', 'tools');
    tools.append(
      button('Fit', 'fit the graph to the view (0)', () => this.view.fit()),
      button('+', 'zoom in (+)', () => this.view.zoomBy(1.25)),
      button('−', 'zoom out (-)', () => this.view.zoomBy(0.8)),
      button('Table', 'show or hide the layer table', () => this.toggleTable(), 'graph-only'),
      button('SVG', 'export the graph as SVG', () => this.exportSvg()),
      button('PNG', 'export the graph as PNG', () => void this.exportPng()),
      button('Profile', 'profile the model (a dummy forward pass, timed per layer)', () => this.requestProfile(), 'primary graph-only'),
    );
    toolbar.append(titles, this.search, this.matchCount, tools);

    const statusBar = el('div', 'status-bar');
    this.status = el('div', 'status');
    this.status.setAttribute('role', 'status');
    this.progress = el('div', 'progress');
    this.progress.hidden = true;
    this.progress.setAttribute('role', 'progressbar');
    this.progress.setAttribute('aria-valuemin', '0');
    this.progress.setAttribute('aria-valuemax', '100');
    this.progressFill = el('div', 'progress-fill');
    this.progress.append(this.progressFill);
    this.profileSummary = el('div', 'profile-summary');
    this.weightsLegend = el('div', 'weights-legend');
    this.weightsLegend.hidden = true;
    statusBar.append(this.status, this.progress, this.profileSummary, this.weightsLegend);

    this.main = el('div', 'main');
    this.graphHolder = el('div', 'graph-holder');
    this.graphHolder.id = 'graph';
    this.side = el('aside', 'side');
    this.side.setAttribute('aria-label', 'layer details and table');
    this.side.hidden = !this.state.tableVisible;
    this.details = el('section', 'details');
    this.details.setAttribute('aria-live', 'polite');
    this.side.append(this.details);
    this.main.append(this.graphHolder, this.side);
    root.append(toolbar, statusBar, this.main);

    this.view = new GraphView({
      container: this.graphHolder,
      layouter: this.layouter,
      label: 'model graph: arrow keys move between layers, Enter reveals the layer, e expands it',
      onActivate: (i) => this.activate(i),
      onSelect: (i) => this.onSelect(i),
      onExpand: (i) => this.toggleExpand(i),
      onTransform: (t) => {
        this.state.transform = t;
        this.save();
      },
    });
    this.table = new LayerTable(this.side, {
      onActivate: (i) => {
        this.view.select(i, { focus: false, scroll: true });
        this.activate(i);
      },
      onSort: (s) => {
        this.state.sort = s;
        this.renderTable();
        this.save();
      },
    });
    this.table.sort = this.state.sort;

    window.addEventListener('message', (e: MessageEvent) => this.receive(e.data));
    document.addEventListener('keydown', (e) => {
      if (e.key === '/' && document.activeElement !== this.search) {
        e.preventDefault();
        this.search.focus();
      }
    });
    window.addEventListener('resize', () => this.view.scrollIntoView(this.view.selected ?? this.view.cursor ?? 0));

    // draw what the last session showed right away; the host sends the fresh graph after `ready`
    if (this.state.mode === 'graph' && this.state.graph)
      void this.showGraph(this.state.graph, this.state.convention, this.state.fileName, true);
    else this.setStatus('info', 'waiting for the language server…');
    this.post({ type: 'ready' });
    // while the host fetches the graph: let the validator compile its schemas on a one-layer graph, so the first
    // real message does not pay for it (a few ms now instead of 10-20 ms then)
    setTimeout(() => parseHostMessage({ type: 'graph', graph: WARM_GRAPH, convention: DEFAULT_FLOPS_CONVENTION, fileName: '' }), 0);
  }

  private post(m: WebviewMessage): void {
    this.api.postMessage(m);
  }

  private save(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.api.setState(this.state);
    }, 100);
  }

  private setStatus(level: 'info' | 'warning' | 'error', message: string): void {
    this.status.textContent = message;
    this.status.dataset.level = level;
  }

  /** Validate, then dispatch; what fails validation is dropped and reported to the host's log. */
  private receive(raw: unknown): void {
    const t0 = performance.now();
    const parsed = parseHostMessage(raw);
    this.parseMs = performance.now() - t0;
    if (!parsed.ok) {
      console.warn('[yolo-lens] ignored message:', parsed.reason);
      this.post({ type: 'log', level: 'warning', message: `webview ignored a message: ${parsed.reason}` });
      return;
    }
    const m = parsed.message;
    if (m.type === 'graph' || m.type === 'compare') {
      if (this.busy) {
        this.pending = m;
        return;
      }
      void this.drawLoop(m);
      return;
    }
    this.handle(m);
  }

  private async drawLoop(first: HostMessage): Promise<void> {
    this.busy = true;
    let m: HostMessage | null = first;
    try {
      while (m) {
        if (m.type === 'graph') await this.showGraph(m.graph, m.convention, m.fileName, false);
        else if (m.type === 'compare') await this.showCompare(m);
        m = this.pending;
        this.pending = null;
      }
    } catch (err) {
      this.setStatus('error', `could not draw the graph: ${(err as Error)?.message ?? err}`);
      this.post({ type: 'log', level: 'error', message: `draw failed: ${(err as Error)?.stack ?? err}` });
    } finally {
      this.busy = false;
    }
  }

  private handle(m: HostMessage): void {
    switch (m.type) {
      case 'cursor':
        this.onCursor(m.uri, m.position);
        break;
      case 'submodules':
        if (m.uri !== this.state.uri) return;
        void this.view
          .setExpansion(
            m.index,
            m.nodes ? { state: 'done', nodes: m.nodes as SubmoduleNode[] } : { state: 'error', message: m.error ?? 'no submodules' },
          )
          .then(() => this.rendered());
        break;
      case 'profileProgress':
        if (m.uri !== this.state.uri) return;
        this.showProgress(m.done, m.total, m.message);
        break;
      case 'profile':
        void this.showProfile(m.result);
        break;
      case 'status':
        this.setStatus(m.level, m.message);
        break;
      default:
        break;
    }
  }

  private async showGraph(graph: GraphResult, convention: FlopsConvention, fileName: string, restoring: boolean): Promise<void> {
    if (this.compare) {
      this.compare.root.remove();
      this.compare = null;
      this.main.hidden = false;
    }
    const sameDoc = this.state.uri === graph.uri && this.state.mode === 'graph';
    if (!sameDoc) {
      // another document: its profile, expansions and selection do not apply
      this.view.expanded.clear();
      this.profile = null;
      this.profileSummary.textContent = '';
      this.profileSummary.removeAttribute('title');
      if (!restoring) {
        this.state.selected = null;
        this.state.expanded = [];
        this.state.transform = null;
      }
    }
    this.state.mode = 'graph';
    document.body.classList.remove('mode-compare');
    this.state.uri = graph.uri;
    this.state.compareUris = null;
    this.state.fileName = fileName;
    this.state.convention = convention;
    this.state.graph = graph.nodes.length <= STATE_GRAPH_LIMIT ? graph : null;
    this.title.textContent = fileName;
    this.subtitle.textContent = subtitleOf(graph, convention);
    this.renderWeightsLegend(graph);
    this.subtitle.title = `${graph.frameworkLabel}: ${graph.frameworkReason}`;
    const firstDraw = !this.view.graph;
    const keepView = sameDoc && !firstDraw;
    const ok = await this.view.setGraph(graph, convention, keepView, firstDraw && this.state.transform ? this.state.transform : null);
    if (!ok) return;
    if (firstDraw && this.state.selected !== null) this.view.select(this.state.selected, { focus: false, scroll: false });
    if (!restoring) {
      // ask again for the submodules of expanded layers: the model changed under them
      for (const i of this.state.expanded) if (i < graph.nodes.length) this.post({ type: 'expand', uri: graph.uri, index: i });
    }
    // the graph first: mark it drawn, let it paint, then fill the table and the details
    this.applySearch(true);
    document.body.dataset.graphSeq = String(++this.graphSeq);
    await new Promise<void>((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    if (this.view.graph !== graph) return;
    const tt = performance.now();
    this.renderTable();
    this.renderDetails();
    this.tableMs = performance.now() - tt;
    const problems = graph.nodes.reduce((s, n) => s + n.diagnostics.length, 0);
    this.setStatus(
      problems ? 'warning' : 'info',
      `${graph.nodes.length} layers${problems ? ` · ${problems} problem${problems > 1 ? 's' : ''} marked on the graph` : ''} · layout ` +
        `${this.view.lastTimings.layoutMode} ${this.view.lastTimings.layoutMs.toFixed(0)} ms`,
    );
    this.save();
    this.rendered();
  }

  /** The pretrained checkpoint's verdict on the model, and what the node colours mean. */
  private renderWeightsLegend(g: GraphResult): void {
    const w = g.weights;
    this.weightsLegend.hidden = !w;
    if (!w) {
      this.weightsLegend.replaceChildren();
      return;
    }
    if (w.transferred === null || w.total === null) {
      this.weightsLegend.replaceChildren(el('span', 'weights-problem', `weights ${w.name}: ${w.message ?? 'not read'}`));
      return;
    }
    const parts: HTMLElement[] = [el('span', 'weights-count', `weights ${w.name}: ${w.transferred}/${w.total} load`)];
    for (const status of ['load', 'partial', 'mismatch', 'new'] as const) {
      const item = el('span', 'weights-key');
      item.append(el('span', `swatch ${status}`), document.createTextNode(WEIGHTS_WORDS[status]));
      parts.push(item);
    }
    if (w.firstMiss !== null) parts.push(el('span', 'muted', `loading stops at layer ${w.firstMiss}`));
    if (w.remapTransferred !== null) parts.push(el('span', 'muted', `a layer remap would transfer ${w.remapTransferred}/${w.total}`));
    this.weightsLegend.replaceChildren(...parts);
    if (w.log) this.weightsLegend.title = `the framework would log: ${w.log}`;
  }

  private async showCompare(m: Extract<HostMessage, { type: 'compare' }>): Promise<void> {
    const keep = this.state.mode === 'compare' && this.state.compareUris?.[0] === m.left.uri && this.state.compareUris?.[1] === m.right.uri;
    this.state.mode = 'compare';
    document.body.classList.add('mode-compare');
    this.state.uri = m.left.uri;
    this.state.compareUris = [m.left.uri, m.right.uri];
    this.state.graph = null;
    this.state.convention = m.convention;
    this.main.hidden = true;
    this.title.textContent = `${m.leftName} ↔ ${m.rightName}`;
    this.subtitle.textContent = 'compare';
    this.weightsLegend.hidden = true;
    if (!this.compare)
      this.compare = new CompareView(this.root, {
        layouter: () => {
          const l = new Layouter();
          void l.start(scriptUrlOf());
          return l;
        },
        onActivate: (side, i) => {
          const g = side === 'left' ? this.compare!.left.graph : this.compare!.right.graph;
          const n = g?.nodes[i];
          if (g && n) this.post({ type: 'reveal', uri: g.uri, index: i, range: n.range });
        },
      });
    const ok = await this.compare.show(m.left, m.right, m.leftName, m.rightName, m.convention, keep);
    if (!ok) return;
    this.setStatus('info', `${this.compare.comparison?.pairs.filter((p) => p.status !== 'same').length ?? 0} layers differ`);
    this.save();
    this.rendered();
  }

  /** Count of finished draws, for the tests and the benchmark (they wait on it instead of sleeping). */
  private rendered(): void {
    this.renderSeq++;
    const t = this.compare ? this.compare.left.lastTimings : this.view.lastTimings;
    document.body.dataset.timings = JSON.stringify({ parseMs: this.parseMs, tableMs: this.tableMs, ...t });
    document.body.dataset.renderSeq = String(this.renderSeq);
  }

  private activate(index: number): void {
    const g = this.view.graph;
    const n = g?.nodes[index];
    if (!g || !n) return;
    this.post({ type: 'reveal', uri: g.uri, index, range: n.range });
  }

  private onSelect(index: number | null): void {
    this.state.selected = index;
    this.table.mark(index, this.view.cursor, index !== null);
    this.renderDetails();
    this.save();
  }

  private onCursor(uri: string, position: LspPosition): void {
    const views = this.compare ? [this.compare.left, this.compare.right] : [this.view];
    for (const v of views) {
      if (!v.graph || v.graph.uri !== uri) continue;
      // the layer under the cursor, or else the one on the cursor's line (the cursor is often in the indent)
      const n =
        v.graph.nodes.find((x) => rangeContains(x.range, position)) ??
        v.graph.nodes.find((x) => x.range.start.line <= position.line && position.line <= x.range.end.line);
      v.setCursor(n ? n.index : null);
      if (v === this.view) this.table.mark(this.view.selected, this.view.cursor, n !== undefined);
    }
  }

  private toggleExpand(index: number): void {
    const g = this.view.graph;
    if (!g) return;
    if (this.view.expanded.has(index)) {
      this.state.expanded = this.state.expanded.filter((i) => i !== index);
      void this.view.setExpansion(index, null).then(() => this.rendered());
    } else {
      this.state.expanded = [...new Set([...this.state.expanded, index])];
      void this.view.setExpansion(index, { state: 'loading' });
      this.post({ type: 'expand', uri: g.uri, index });
    }
    this.save();
  }

  private toggleTable(): void {
    this.side.hidden = !this.side.hidden;
    this.state.tableVisible = !this.side.hidden;
    this.save();
  }

  private renderTable(): void {
    const g = this.view.graph;
    if (!g) return;
    const q = this.search.value.trim();
    this.table.render(g, this.view.convention, this.profile, q ? new Set(this.matchList) : null);
    this.table.mark(this.view.selected, this.view.cursor, false);
  }

  private renderDetails(): void {
    const g = this.view.graph;
    const i = this.view.selected;
    const n = g && i !== null ? g.nodes[i] : undefined;
    if (!g || !n) {
      this.details.replaceChildren(el('p', 'muted', 'Select a layer (click, or arrow keys in the graph) to see its details.'));
      return;
    }
    const h = el('h2', `details-title cat-${n.category}`, `${n.index}  ${n.module}`);
    const dl = el('dl');
    const row = (k: string, v: string) => dl.append(el('dt', '', k), el('dd', '', v));
    row('section', n.section);
    row('from', n.from);
    row('n', n.n === null ? '?' : String(n.n));
    row('args', n.args);
    row(
      'output',
      n.outShapes && n.outShapes.length > 1 ? n.outShapes.map((s) => shapeText(s)).join(', ') : outputText(n.outShape, n.outShapes),
    );
    row('params', exactCount(n.params));
    const shown = this.view.convention;
    const other = otherConvention(shown);
    row(
      'GFLOPs',
      `${gflopsText(flopsOf(n.flops, shown))} (${CONVENTION_NAME[shown]}) · ${gflopsText(flopsOf(n.flops, other))} ` +
        `(${CONVENTION_NAME[other]})`,
    );
    const ms = this.profile?.ms.get(n.index);
    if (ms !== undefined) row('time', `${msText(ms)} ms`);
    const weights = weightsLines(n);
    if (weights.length) {
      // one line per tensor that does not load, under the count
      dl.append(el('dt', '', 'weights'), el('dd', 'weights-detail', weights.map((l) => l.trim().replace(/^weights: /, '')).join('\n')));
    }
    const parts: HTMLElement[] = [h, dl];
    if (n.diagnostics.length) {
      const ul = el('ul', 'diagnostics');
      for (const d of n.diagnostics) ul.append(el('li', `sev-${d.severity}`, `${d.code} ${d.severity}: ${d.message}`));
      parts.push(ul);
    }
    const actions = el('div', 'detail-actions');
    actions.append(
      button('Reveal', 'reveal this layer in the editor (Enter)', () => this.activate(n.index)),
      button(this.view.expanded.has(n.index) ? 'Collapse' : 'Expand', 'show the submodules of this layer (e)', () =>
        this.toggleExpand(n.index),
      ),
    );
    parts.push(actions);
    this.details.replaceChildren(...parts);
  }

  private applySearch(keepCursor: boolean): void {
    const g = this.view.graph;
    const q = this.search.value.trim();
    this.state.search = this.search.value;
    this.save();
    if (!g) return;
    if (!q) {
      this.matchList = [];
      this.view.setMatches(null);
      this.matchCount.textContent = '';
    } else {
      this.matchList = g.nodes.filter((n) => matchesQuery(n, q)).map((n) => n.index);
      this.view.setMatches(this.matchList);
      this.matchCount.textContent = `${this.matchList.length} match${this.matchList.length === 1 ? '' : 'es'}`;
    }
    if (!keepCursor) {
      this.matchCursor = -1;
      this.renderTable();
    }
  }

  private nextMatch(step: number): void {
    if (!this.matchList.length) return;
    this.matchCursor = (this.matchCursor + step + this.matchList.length) % this.matchList.length;
    this.view.select(this.matchList[this.matchCursor]!, { focus: false, scroll: true });
  }

  private requestProfile(): void {
    if (!this.state.uri || this.state.mode !== 'graph') return;
    this.showProgress(0, 1, 'starting…');
    this.post({ type: 'profile', uri: this.state.uri });
  }

  private showProgress(done: number, total: number, message: string): void {
    const pct = total > 0 ? Math.min(100, Math.max(0, (100 * done) / total)) : 0;
    this.progress.hidden = false;
    this.progressFill.style.width = `${pct}%`;
    this.progress.setAttribute('aria-valuenow', pct.toFixed(0));
    this.setStatus('info', `profiling: ${message}`);
  }

  private async showProfile(r: ProfileResult): Promise<void> {
    this.progress.hidden = true;
    if (r.uri !== this.state.uri) return;
    if (r.error) {
      // in the profile's own line: a redraw of the graph must not wipe it from the status line
      this.profileSummary.textContent = `profile failed: ${r.error}`;
      this.profileSummary.removeAttribute('title');
      this.profileSummary.dataset.level = 'error';
      this.rendered();
      return;
    }
    delete this.profileSummary.dataset.level;
    this.profile = profileTimes(r);
    this.profileSummary.textContent =
      `${engineText(r)} · ${msText(r.totalMs)} ms per batch · ${r.throughput.toFixed(1)} img/s · batch ` +
      `${r.batch} · ${r.runs} runs · ${r.imgsz}px${r.peakMemoryMB !== null ? ` · peak ${r.peakMemoryMB.toFixed(0)} MB` : ''}`;
    if (this.profile.torchSum > 0) this.profileSummary.title = torchShareTip(this.profile);
    else this.profileSummary.removeAttribute('title');
    const mismatches = r.layers.filter((l) => !l.shapeMatches).length;
    this.setStatus(
      mismatches || r.warnings.length ? 'warning' : 'info',
      [
        `profiled ${r.layers.length} layers`,
        ...(mismatches ? [`${mismatches} layer shapes differ from the static analysis (a YOLO Lens bug)`] : []),
        ...r.warnings,
      ].join(' · '),
    );
    await this.view.setProfile(this.profile);
    this.renderTable();
    this.renderDetails();
    this.rendered();
  }

  private exportSvg(): void {
    const view = this.compare ? this.compare.left : this.view;
    if (!view.graph) return;
    this.post({ type: 'export', format: 'svg', data: view.exportSvg() });
  }

  private async exportPng(): Promise<void> {
    const view = this.compare ? this.compare.left : this.view;
    if (!view.graph) return;
    try {
      this.post({ type: 'export', format: 'png', data: await svgToPng(view.exportSvg()) });
    } catch (err) {
      this.setStatus('error', `PNG export failed: ${(err as Error)?.message ?? err}`);
    }
  }
}

/** The engine that produced the times and its thread count, as the profile names them (`wasm (SIMD, 2 threads)`). */
function engineText(r: ProfileResult): string {
  const detail = r.backendDetail ?? r.backend;
  if (r.threads == null || /thread/.test(detail)) return detail;
  return `${detail}, ${r.threads} thread${r.threads === 1 ? '' : 's'}`;
}
/** How the framework was chosen, in a few words (the full reason is the subtitle's tooltip). */
const FRAMEWORK_SOURCE: Record<GraphResult['frameworkSource'], string> = {
  setting: 'set in the settings',
  modeline: 'set by the yolo-lens comment',
  workspace: "the workspace's code",
  file: 'detected from the file',
};

function subtitleOf(g: GraphResult, convention: FlopsConvention): string {
  const t = g.totals;
  const parts = [`${g.frameworkLabel} (${FRAMEWORK_SOURCE[g.frameworkSource] ?? g.frameworkSource})`];
  if (g.scale) parts.push(`scale ${g.scale}`);
  // the same figures as the code lens and the status bar
  const gflops = headlineGflops(flopsOf(t.gflops, convention), flopsOf(t.flopsAtImgsz, convention), g.imgsz);
  parts.push(modelFiguresText(t.params, gflops, g.imgsz));
  if (!g.ok) parts.push('does not build');
  return parts.join(' · ');
}

function restoreState(raw: unknown): PanelState {
  const fallback: PanelState = {
    v: 1,
    mode: 'empty',
    uri: null,
    compareUris: null,
    fileName: '',
    convention: DEFAULT_FLOPS_CONVENTION,
    graph: null,
    transform: null,
    selected: null,
    sort: { key: 'index', descending: false },
    search: '',
    tableVisible: true,
    expanded: [],
  };
  if (!raw || typeof raw !== 'object' || (raw as { v?: unknown }).v !== 1) return fallback;
  const s = raw as Partial<PanelState>;
  // the saved graph is re-validated like any message: state is data from an earlier session
  const graph = s.graph
    ? parseHostMessage({ type: 'graph', graph: s.graph, convention: flopsConvention(s.convention), fileName: String(s.fileName ?? '') })
    : null;
  const t = s.transform;
  return {
    ...fallback,
    mode: s.mode === 'graph' || s.mode === 'compare' ? s.mode : 'empty',
    uri: typeof s.uri === 'string' ? s.uri : null,
    compareUris: Array.isArray(s.compareUris) && s.compareUris.length === 2 ? [String(s.compareUris[0]), String(s.compareUris[1])] : null,
    fileName: typeof s.fileName === 'string' ? s.fileName : '',
    convention: flopsConvention(s.convention),
    graph: graph?.ok && graph.message.type === 'graph' ? graph.message.graph : null,
    transform: t && [t.k, t.x, t.y].every((v) => typeof v === 'number' && Number.isFinite(v)) ? { k: t.k, x: t.x, y: t.y } : null,
    selected: typeof s.selected === 'number' ? s.selected : null,
    sort: s.sort && SORT_KEYS.includes(s.sort.key) ? { key: s.sort.key, descending: !!s.sort.descending } : fallback.sort,
    search: typeof s.search === 'string' ? s.search.slice(0, 200) : '',
    tableVisible: s.tableVisible !== false,
    expanded: Array.isArray(s.expanded) ? s.expanded.filter((i): i is number => Number.isInteger(i)).slice(0, 200) : [],
  };
}

let scriptUrl: string | null = null;
/** This bundle's own URL (captured while it loads), from which the layout worker is made. */
export function scriptUrlOf(): string | null {
  return scriptUrl;
}
export function captureScriptUrl(): void {
  const s = document.currentScript as HTMLScriptElement | null;
  scriptUrl = s?.src ?? null;
}
