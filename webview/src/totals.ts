/**
 * Sums the panel's table and compare view show under their columns.
 */

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
