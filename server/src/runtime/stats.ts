/** The one median of the runtime: the profile's per-layer and total times, and onnxruntime's wall-time scale. */

/** The median (the mean of the two middle values for an even count); 0 for no values (a layer that never ran). */
export function median(xs: readonly number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
