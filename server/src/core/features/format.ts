/**
 * How the editor features print shapes, parameter counts and FLOPs (hover, inlay hints, symbols, code lens), so
 * one number reads the same everywhere the user meets it.
 */
import type { Flops, ResolvedLayer } from '../model.ts';
import { formatFixed, withCommas } from '../py.ts';

/** Which FLOPs convention the user sees first (`yolo.gflops`). */
export type GflopsConvention = 'ultralytics-thop' | 'thop';

export const CONVENTION_NAME: Record<GflopsConvention, string> = {
  'ultralytics-thop': 'ultralytics-thop',
  thop: 'thop 0.1.1',
};

export const flopsOf = (f: Flops, c: GflopsConvention): number => (c === 'thop' ? f.thop : f.ultralyticsThop);
export const otherConvention = (c: GflopsConvention): GflopsConvention => (c === 'thop' ? 'ultralytics-thop' : 'thop');

/** A tensor shape without its batch dimension: `128×40×40`. */
export function shapeText(s: readonly number[] | null | undefined): string {
  if (!s) return '?';
  const body = s.length > 1 ? s.slice(1) : s;
  return body.join('×');
}

/** A layer's output: its shape, the first of a head's outputs with a count, or `?`. */
export function layerOutputText(l: ResolvedLayer): string {
  if (l.outShape) return shapeText(l.outShape);
  if (l.outShapes && l.outShapes.length)
    return l.outShapes.length === 1 ? shapeText(l.outShapes[0]) : `${shapeText(l.outShapes[0])} (+${l.outShapes.length - 1})`;
  return '?';
}

/** `1.87M`, `412.3K`, `96`: three significant digits, as model cards print parameter counts. */
export function compactCount(n: number): string {
  const a = Math.abs(n);
  const unit = a >= 1e9 ? ['G', 1e9] : a >= 1e6 ? ['M', 1e6] : a >= 1e3 ? ['K', 1e3] : null;
  if (!unit) return String(n);
  const v = n / (unit[1] as number);
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${formatFixed(v, digits)}${unit[0]}`;
}

/** FLOPs with a unit that keeps 3 significant digits: `8.74 GFLOPs`, `412 MFLOPs`. */
export function flopsText(flops: number): string {
  if (flops >= 1e9) return `${formatFixed(flops / 1e9, flops >= 1e11 ? 1 : 2)} GFLOPs`;
  if (flops >= 1e6) return `${formatFixed(flops / 1e6, flops >= 1e8 ? 0 : 1)} MFLOPs`;
  if (flops >= 1e3) return `${formatFixed(flops / 1e3, 1)} KFLOPs`;
  return `${Math.round(flops)} FLOPs`;
}

export const exactCount = (n: number): string => withCommas(n);
