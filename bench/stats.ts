/** The statistics every benchmark prints, defined once. */

/** The median (the mean of the two middle values for an even count); NaN for no values. */
export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The q-quantile by nearest rank (q = 0.95: the smallest value at least 95% of the values do not exceed); NaN for no values. */
export function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** Spearman's rank correlation (ties share their mean rank). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const rank = (xs: readonly number[]) => {
    const order = xs.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(xs.length);
    for (let i = 0; i < order.length;) {
      let j = i;
      while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
      for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

/** Per layer, share of ours − share of theirs in percentage points, largest |difference| first. */
export function shareGaps(
  ours: readonly number[],
  theirs: readonly number[],
): { points: number; layer: number; ours: number; theirs: number }[] {
  const so = ours.reduce((a, b) => a + b, 0);
  const st = theirs.reduce((a, b) => a + b, 0);
  return ours
    .map((v, k) => ({ layer: k, ours: (100 * v) / so, theirs: (100 * theirs[k]!) / st }))
    .map((g) => ({ ...g, points: g.ours - g.theirs }))
    .sort((a, b) => Math.abs(b.points) - Math.abs(a.points));
}
