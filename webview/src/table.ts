/**
 * The graph panel's side table: every layer with its output, params, GFLOPs (and profile time, its share, and the
 * share of the estimated PyTorch time), sortable, with a bar per number and the model's totals; a row click reveals the
 * layer like a node click does.
 */
import type { GraphNode, GraphResult } from '../../server/src/protocol.ts';
import {
  compactCount,
  exactCount,
  flopsOf,
  gflopsText,
  modelGflopsText,
  msText,
  outputText,
  shareText,
  type FlopsConvention,
} from '../../common/src/format.ts';
import { numel, total } from './totals.ts';
import { el } from './dom.ts';
import { torchShareTip, type ProfileTimes } from '../../common/src/profileTimes.ts';

export type SortKey = 'index' | 'params' | 'gflops' | 'size' | 'ms' | 'torch';
export const SORT_KEYS: readonly SortKey[] = ['index', 'params', 'gflops', 'size', 'ms', 'torch'];
export interface SortState {
  key: SortKey;
  descending: boolean;
}

export interface TableOptions {
  onActivate(index: number): void;
  onSort(sort: SortState): void;
}

/** Rows built at once; the rest follow in slices of SLICE_ROWS, one task each. */
const FIRST_ROWS = 120;
const SLICE_ROWS = 250;

interface Column {
  key: SortKey | null;
  title: string;
  numeric: boolean;
  /** the header's tooltip, where the title needs one */
  tip?: string;
}

export class LayerTable {
  readonly root: HTMLElement;
  private readonly table: HTMLTableElement;
  private rows = new Map<number, HTMLTableRowElement>();
  private generation = 0;
  private marked: { selected: number | null; cursor: number | null } = { selected: null, cursor: null };
  sort: SortState = { key: 'index', descending: false };

  constructor(
    container: HTMLElement,
    private readonly opts: TableOptions,
  ) {
    this.root = el('div', 'layer-table-wrap');
    this.table = el('table', 'layer-table');
    this.table.setAttribute('aria-label', 'layers');
    this.root.append(this.table);
    container.append(this.root);
    this.table.addEventListener('keydown', (e) => this.onKey(e));
  }

  render(graph: GraphResult, convention: FlopsConvention, profile: ProfileTimes | null, filter: Set<number> | null): void {
    const cols: Column[] = [
      { key: 'index', title: '#', numeric: true },
      { key: null, title: 'module', numeric: false },
      { key: null, title: 'from', numeric: false },
      { key: 'size', title: 'output', numeric: false },
      { key: 'params', title: 'params', numeric: true },
      { key: 'gflops', title: 'GFLOPs', numeric: true },
    ];
    if (profile) cols.push({ key: 'ms', title: 'ms', numeric: true }, { key: null, title: 'share', numeric: true });
    const torch = profile && profile.torchSum > 0 ? profile : null;
    if (torch) cols.push({ key: 'torch', title: 'PyTorch≈', numeric: true, tip: torchShareTip(torch) });
    this.table.replaceChildren();
    const thead = el('thead');
    const hr = el('tr');
    for (const c of cols) {
      const th = el('th', c.numeric ? 'num' : '');
      th.scope = 'col';
      if (c.key) {
        const key = c.key;
        const b = el('button', 'sort', c.title);
        b.type = 'button';
        b.title = c.tip ? `sort by ${c.title} (${c.tip})` : `sort by ${c.title}`;
        b.addEventListener('click', () => {
          this.sort = this.sort.key === key ? { key, descending: !this.sort.descending } : { key, descending: key !== 'index' };
          this.opts.onSort(this.sort);
        });
        th.append(b);
        th.setAttribute('aria-sort', this.sort.key === key ? (this.sort.descending ? 'descending' : 'ascending') : 'none');
      } else th.textContent = c.title;
      if (c.tip) th.title = c.tip;
      hr.append(th);
    }
    thead.append(hr);

    const value = (n: GraphNode, key: SortKey): number => {
      switch (key) {
        case 'index':
          return n.index;
        case 'params':
          return n.params ?? -1;
        case 'gflops':
          return flopsOf(n.flops, convention) ?? -1;
        case 'size':
          return numel(n.outShape ?? n.outShapes?.[0] ?? null);
        case 'ms':
          return profile?.ms.get(n.index) ?? -1;
        case 'torch':
          return profile?.torchMs.get(n.index) ?? -1;
      }
    };
    const nodes = graph.nodes.filter((n) => !filter || filter.has(n.index));
    const { key, descending } = this.sort;
    nodes.sort((a, b) => (descending ? value(b, key) - value(a, key) : value(a, key) - value(b, key)) || a.index - b.index);
    const maxParams = Math.max(1, ...graph.nodes.map((n) => n.params ?? 0));
    const maxFlops = Math.max(1, ...graph.nodes.map((n) => flopsOf(n.flops, convention) ?? 0));
    const maxMs = profile ? Math.max(1e-9, ...profile.ms.values()) : 1;
    const maxTorch = torch ? Math.max(1e-9, ...torch.torchMs.values()) : 1;

    const tbody = el('tbody');
    this.rows.clear();
    const row = (n: GraphNode) => {
      const tr = el('tr');
      tr.dataset.index = String(n.index);
      tr.tabIndex = -1;
      if (n.diagnostics.length) tr.classList.add(`diag-${n.diagnostics.some((d) => d.severity === 'error') ? 'error' : 'warning'}`);
      tr.append(el('td', 'num', String(n.index)));
      tr.append(el('td', `module cat-${n.category}`, n.module));
      tr.append(el('td', 'from', n.from));
      tr.append(el('td', 'shape', outputText(n.outShape, n.outShapes)));
      tr.append(barCell(n.params, maxParams, compactCount(n.params), 'bar-params', exactCount(n.params)));
      const f = flopsOf(n.flops, convention);
      tr.append(barCell(f, maxFlops, gflopsText(f), 'bar-gflops'));
      if (profile) {
        const ms = profile.ms.get(n.index) ?? null;
        tr.append(barCell(ms, maxMs, msText(ms), 'bar-ms'));
        // a layer's share of the summed layer times: the figure the bench compares with PyTorch's per-layer shares
        tr.append(el('td', 'num share', shareText(ms, profile.msSum)));
      }
      if (torch) {
        const t = torch.torchMs.get(n.index) ?? null;
        const cell = barCell(t, maxTorch, t !== null ? shareText(t, torch.torchSum) : '–', 'bar-torch');
        cell.classList.add('torch-share');
        tr.append(cell);
      }
      tr.addEventListener('click', () => this.opts.onActivate(n.index));
      this.rows.set(n.index, tr);
      return tr;
    };
    // a long table is built in slices after the first one, so the graph is on screen before the table is done
    const generation = ++this.generation;
    const first = nodes.slice(0, FIRST_ROWS);
    tbody.append(...first.map(row));
    const rest = nodes.slice(FIRST_ROWS);
    const more = () => {
      if (generation !== this.generation || !rest.length) {
        if (generation === this.generation) this.root.dataset.complete = 'true';
        return;
      }
      tbody.append(...rest.splice(0, SLICE_ROWS).map(row));
      this.mark(this.marked.selected, this.marked.cursor, false);
      setTimeout(more, 0);
    };
    delete this.root.dataset.complete;
    setTimeout(more, 0);

    const tfoot = el('tfoot');
    const fr = el('tr', 'totals');
    const t = graph.totals;
    const paramsTotal = t.params ?? total(graph.nodes.map((n) => n.params));
    const printed = flopsOf(t.gflops, convention);
    const flopsSum = t.flopsAtImgsz ? flopsOf(t.flopsAtImgsz, convention) : total(graph.nodes.map((n) => flopsOf(n.flops, convention)));
    const label = el('td', '', 'total');
    label.colSpan = 4;
    fr.append(label);
    fr.append(el('td', 'num', exactCount(paramsTotal)));
    const gcell = el('td', 'num', printed !== null ? modelGflopsText(printed) : gflopsText(flopsSum));
    gcell.title =
      printed !== null ? `printed by the framework (at 640); sum at ${graph.imgsz}: ${gflopsText(flopsSum)}` : `sum at ${graph.imgsz}`;
    fr.append(gcell);
    if (profile) fr.append(el('td', 'num', msText(profile.msSum)));
    tfoot.append(fr);
    this.table.append(thead, tbody, tfoot);
  }

  /** Mark the selected and the cursor's layer. */
  mark(selected: number | null, cursor: number | null, scroll: boolean): void {
    this.marked = { selected, cursor };
    for (const [i, tr] of this.rows) {
      tr.classList.toggle('selected', i === selected);
      tr.classList.toggle('cursor', i === cursor);
      tr.tabIndex = i === (selected ?? cursor) ? 0 : -1;
    }
    const target = this.rows.get(selected ?? cursor ?? -1);
    if (scroll && target) target.scrollIntoView({ block: 'nearest' });
  }

  private onKey(e: KeyboardEvent): void {
    const tr = (e.target as HTMLElement).closest('tr');
    if (!tr || !tr.dataset.index) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.opts.onActivate(Number(tr.dataset.index));
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = (e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling) as HTMLElement | null;
      next?.focus();
    }
  }
}

function barCell(v: number | null, max: number, text: string, cls: string, title?: string): HTMLTableCellElement {
  const td = el('td', 'num bar-cell');
  const bar = el('div', `bar ${cls}`);
  bar.style.width = `${v !== null && v > 0 ? Math.max(1, (100 * v) / max) : 0}%`;
  td.append(bar, el('span', 'bar-text', text));
  if (title) td.title = title;
  return td;
}
