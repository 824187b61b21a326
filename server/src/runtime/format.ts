/**
 * The profile as a terminal table (`yolo-lens profile`, and the end of `npm start`).
 * PLACEHOLDER: the runtime work replaces this file.
 */
import type { ProfileResult } from '../protocol.ts';

export function formatProfile(r: ProfileResult): string {
  if (r.error) return `profile: ${r.error}`;
  const rows = r.layers.map((l) => `${String(l.index).padStart(3)}  ${l.module.padEnd(20)} ${l.ms.toFixed(2).padStart(9)} ms  ${(l.outShape ?? []).join('×')}`);
  return [...rows, `total ${r.totalMs.toFixed(1)} ms on ${r.backend}, ${r.throughput.toFixed(1)} img/s`].join('\n');
}
