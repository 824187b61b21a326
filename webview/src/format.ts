/**
 * How the graph panel prints numbers and shapes (node labels, edge labels, the side table, the compare view).
 */
import type { FlopsPair, GraphNode } from '../../server/src/protocol.ts';
import type { FlopsConvention } from './messages.ts';
import { withCommas } from '../../server/src/core/py.ts';

/** A tensor shape without its batch dimension, `64×80×80`; the batch is always the probe's 1. */
export function shapeText(shape: readonly number[] | null | undefined): string {
  if (!shape) return '?';
  return (shape.length > 1 ? shape.slice(1) : shape).join('×');
}

/** The output of a layer: one shape, or the count of a head's outputs with the first one. */
export function outText(node: Pick<GraphNode, 'outShape' | 'outShapes'>): string {
  if (node.outShape) return shapeText(node.outShape);
  if (node.outShapes && node.outShapes.length)
    return node.outShapes.length === 1 ? shapeText(node.outShapes[0]) : `${node.outShapes.length} outputs`;
  return '?';
}

/** 1,872,157 → `1.87M`, 3,200 → `3.2K`, 64 → `64`. */
export function compact(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  const trim = (x: number, d: number) => x.toFixed(d).replace(/\.?0+$/, '');
  if (a >= 1e9) return `${trim(n / 1e9, 2)}G`;
  if (a >= 1e6) return `${trim(n / 1e6, 2)}M`;
  if (a >= 1e3) return `${trim(n / 1e3, 1)}K`;
  return String(Math.round(n));
}

/** Full number with thousands separators. */
export function grouped(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  // not toLocaleString: in Chromium each call builds a number formatter (15 ms for one table of 54 layers)
  return withCommas(n);
}

export function flopsOf(f: FlopsPair | null | undefined, convention: FlopsConvention): number | null {
  return f ? f[convention] : null;
}

/** FLOPs → GFLOPs text with enough digits for small layers. */
export function gflopsText(flops: number | null | undefined): string {
  if (flops === null || flops === undefined || !Number.isFinite(flops)) return '–';
  const g = flops / 1e9;
  if (g === 0) return '0';
  if (Math.abs(g) >= 10) return g.toFixed(1);
  if (Math.abs(g) >= 0.1) return g.toFixed(2);
  return g.toFixed(3);
}

/** A layer's share of the summed per-layer times, in percent with one decimal (what the profile table and bars show). */
export function shareText(ms: number | null | undefined, totalMs: number): string {
  return ms == null || !(totalMs > 0) ? '–' : `${((100 * ms) / totalMs).toFixed(1)}%`;
}

export function msText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

export function signed(text: string, value: number): string {
  return value > 0 ? `+${text}` : text;
}

export const numel = (shape: readonly number[] | null | undefined): number => (shape ? shape.reduce((a, b) => a * b, 1) : 0);

/** The sum of per-layer figures; null as soon as one layer is unknown: a partial sum would be a wrong number. */
export function total(xs: readonly (number | null)[]): number | null {
  let s = 0;
  for (const x of xs) {
    if (x === null) return null;
    s += x;
  }
  return s;
}
