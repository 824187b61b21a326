/**
 * How YOLO Lens prints numbers, shapes and FLOPs, the one place for every surface: hover, inlay hints, symbols,
 * code lens, status bar, CLI and the graph panel, so one figure reads the same wherever the user meets it.
 * Pure: no DOM, no node, no editor (every room imports it).
 */

/** Which FLOPs count the user sees (the `yolo.gflops` setting, the CLI's `--convention`), spelled one way. */
export const FLOPS_CONVENTIONS = ['thop', 'ultralytics-thop'] as const;
export type FlopsConvention = (typeof FLOPS_CONVENTIONS)[number];
export const DEFAULT_FLOPS_CONVENTION: FlopsConvention = 'ultralytics-thop';

/** How a convention is named beside a figure. */
export const CONVENTION_NAME: Record<FlopsConvention, string> = {
  'ultralytics-thop': 'ultralytics-thop',
  thop: 'thop 0.1.1',
};

/** A setting or flag value as a convention; anything else is the default. */
export const flopsConvention = (v: unknown): FlopsConvention => (v === 'thop' ? 'thop' : DEFAULT_FLOPS_CONVENTION);
export const otherConvention = (c: FlopsConvention): FlopsConvention => (c === 'thop' ? 'ultralytics-thop' : 'thop');

/** FLOPs (2 × MACs) of one layer or model in both conventions. */
export interface FlopsPair<T = number> {
  /** counted as ultralytics-thop 2.x does (what a current ultralytics install prints) */
  readonly ultralyticsThop: T;
  /** counted as Lyken17 thop 0.1.1 (what the frameworks printed when the models were published) */
  readonly thop: T;
}

export function flopsOf<T>(f: FlopsPair<T>, c: FlopsConvention): T;
export function flopsOf<T>(f: FlopsPair<T> | null | undefined, c: FlopsConvention): T | null;
export function flopsOf<T>(f: FlopsPair<T> | null | undefined, c: FlopsConvention): T | null {
  return f ? (c === 'thop' ? f.thop : f.ultralyticsThop) : null;
}

/** What every printer shows for a figure that is not known (a layer that did not resolve). */
export const UNKNOWN = '?';

const known = (n: number | null | undefined): n is number => typeof n === 'number' && Number.isFinite(n);

// ---- Python's number formats (the frameworks print their figures with them) ----------------------------------

/** Python `'%.1f' % x` (and f"{x:.1f}"): rounded from the exact binary value of x, exact ties to even. */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  // x = mantissa * 2^exp exactly; for exp < 0 that is mantissa * 5^-exp / 10^-exp, a finite decimal.
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const bits = buf.getBigUint64(0);
  const expBits = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let exp = expBits - 1075;
  if (expBits === 0) exp = -1074;
  else mantissa |= 1n << 52n;
  let intDigits: bigint;
  let scale: number; // number of decimal places in `intDigits`
  if (exp >= 0) {
    intDigits = mantissa << BigInt(exp);
    scale = 0;
  } else {
    intDigits = mantissa * 5n ** BigInt(-exp);
    scale = -exp;
  }
  let rounded: bigint;
  if (scale <= digits) rounded = intDigits * 10n ** BigInt(digits - scale);
  else {
    const div = 10n ** BigInt(scale - digits);
    const q = intDigits / div;
    const r = intDigits % div;
    const twice = 2n * r;
    rounded = twice > div || (twice === div && q % 2n === 1n) ? q + 1n : q;
  }
  let str = rounded.toString().padStart(digits + 1, '0');
  if (digits > 0) str = str.slice(0, -digits) + '.' + str.slice(-digits);
  return sign + str;
}

/** Python `f"{n:,}"` for an int: `1,872,157`. */
export function withCommas(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  // (Intl's toLocaleString is correct too, but costs more than the rest of a resolve, and in Chromium each call
  // builds a number formatter: 15 ms for one table of 54 layers)
  const s = String(Math.abs(Math.round(n)));
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ',';
    out += s[i];
  }
  return (n < 0 ? '-' : '') + out;
}

// ---- counts --------------------------------------------------------------------------------------------------

/** An exact count with thousands separators (`1,872,157`), or `?`. */
export const exactCount = (n: number | null | undefined): string => (known(n) ? withCommas(n) : UNKNOWN);

/**
 * A count in three significant digits with a unit, as model cards print parameter counts: 1,872,157 → `1.87M`,
 * 3,200 → `3.2K`, 412,345 → `412K`, 999,999 → `1M`, 64 → `64`; `?` when unknown.
 */
export function compactCount(n: number | null | undefined): string {
  if (!known(n)) return UNKNOWN;
  if (Math.abs(n) < 1000) return String(Math.round(n));
  let text = '';
  // the smallest unit whose rounded figure stays below 1000: 999,999 reads `1M`, not `1000K`
  for (const [unit, size] of [
    ['K', 1e3],
    ['M', 1e6],
    ['G', 1e9],
  ] as const) {
    text = `${significant(n / size, 3)}${unit}`;
    if (Math.abs(n / size) < 999.5) break;
  }
  return text;
}

/** `digits` significant digits, trailing zeros dropped: 3.20 → `3.2`, 412.3 → `412`. */
function significant(v: number, digits: number): string {
  const a = Math.abs(v);
  const decimals = a >= 100 ? Math.max(0, digits - 3) : a >= 10 ? Math.max(0, digits - 2) : digits - 1;
  const text = formatFixed(v, decimals);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

// ---- FLOPs ---------------------------------------------------------------------------------------------------

/**
 * FLOPs as GFLOPs, the unit the frameworks print: one decimal from 10 up (as their totals read), two from 1,
 * three significant digits below (a small layer's `0.0123` does not collapse to `0.0`); `?` when unknown.
 */
export function gflopsText(flops: number | null | undefined): string {
  if (!known(flops)) return UNKNOWN;
  const g = flops / 1e9;
  if (g === 0) return '0';
  const a = Math.abs(g);
  if (a >= 10) return formatFixed(g, 1);
  if (a >= 1) return formatFixed(g, 2);
  return formatFixed(g, Math.min(12, 2 - Math.floor(Math.log10(a))));
}

/** A model's GFLOPs as the framework prints them (`f'{gflops:.1f}'`): `4.6`, `5.0`. */
export const modelGflopsText = (gflops: number | null | undefined): string => (known(gflops) ? formatFixed(gflops, 1) : UNKNOWN);

/** The GFLOPs a model's headline shows: at 640 what the framework prints, at another size the per-layer sum there. */
export function headlineGflops(printedAt640: number | null, flopsAtImgsz: number | null, imgsz: number): number | null {
  if (imgsz === 640 && printedAt640 !== null) return printedAt640;
  return flopsAtImgsz === null ? null : flopsAtImgsz / 1e9;
}

/** The one-line figures of a model, the same in the code lens and the status bar: `1.87M params · 4.6 GFLOPs @640`. */
export function modelFiguresText(params: number | null, gflops: number | null, imgsz: number): string {
  return `${compactCount(params)} params · ${modelGflopsText(gflops)} GFLOPs @${imgsz}`;
}

// ---- shapes and times ----------------------------------------------------------------------------------------

/** A tensor shape without its batch dimension, `128×40×40` (the batch is the probe's 1); `?` when unknown. */
export function shapeText(shape: readonly number[] | null | undefined): string {
  if (!shape) return UNKNOWN;
  return (shape.length > 1 ? shape.slice(1) : shape).join('×');
}

/** A layer's output: its shape, or the first of a head's outputs with the count of the others (`(+2)`). */
export function outputText(outShape: readonly number[] | null, outShapes?: readonly (readonly number[])[] | null): string {
  if (outShape) return shapeText(outShape);
  if (outShapes && outShapes.length)
    return outShapes.length === 1 ? shapeText(outShapes[0]) : `${shapeText(outShapes[0])} (+${outShapes.length - 1})`;
  return UNKNOWN;
}

/** Milliseconds with three significant digits at most two decimals: `123`, `12.3`, `1.23`. */
export function msText(ms: number | null | undefined): string {
  if (!known(ms)) return UNKNOWN;
  return ms >= 100 ? formatFixed(ms, 0) : ms >= 10 ? formatFixed(ms, 1) : formatFixed(ms, 2);
}

/** A layer's share of the summed per-layer times, in percent with one decimal (what the profile table and bars show). */
export function shareText(ms: number | null | undefined, totalMs: number): string {
  return !known(ms) || !(totalMs > 0) ? UNKNOWN : `${formatFixed((100 * ms) / totalMs, 1)}%`;
}

/** A difference with its sign: `+1.2K`, `-0.31`, `0`. */
export const signedText = (text: string, value: number): string => (value > 0 ? `+${text}` : text);
