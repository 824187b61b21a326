/**
 * The profile as a text table for the CLI (`yolo-lens profile FILE`): per layer the median time, its share of
 * the total, the estimated share of the upstream model's PyTorch time (with the bar: where PyTorch spends its time,
 * which the engine's own kernels rank differently for some layers) and the measured output shape (flagged where it
 * differs from the static resolver), then the totals.
 */
import type { ProfileResult } from '../protocol.ts';
import { shareText, withCommas } from '../../../common/src/format.ts';
import { barTimes, profileTimes } from '../../../common/src/profileTimes.ts';

const shapeText = (s: readonly number[] | null | undefined): string => (s ? `[${s.join(', ')}]` : '?');

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

export function formatProfile(r: ProfileResult): string {
  const lines: string[] = [];
  if (r.layers.length) {
    const times = profileTimes(r);
    // the bar ranks as PyTorch would where the estimate exists, else by the measured times
    const bars = barTimes(times);
    const barMax = Math.max(1e-9, ...bars.values());
    const rows = r.layers.map((l) => {
      const shapes = l.outShapes ? l.outShapes.map(shapeText).join(' ') : shapeText(l.outShape);
      const want = l.staticShapes ? l.staticShapes.map(shapeText).join(' ') : shapeText(l.staticShape);
      return {
        index: String(l.index),
        module: l.module,
        ms: l.ms.toFixed(2),
        share: times.msSum > 0 ? shareText(l.ms, times.msSum) : '',
        torch: times.torchSum > 0 ? shareText(times.torchMs.get(l.index), times.torchSum) : '',
        bar: '█'.repeat(Math.round((20 * (bars.get(l.index) ?? 0)) / barMax)),
        shape: l.shapeMatches ? shapes : `${shapes}  ≠ static ${want}`,
      };
    });
    const w = {
      index: Math.max(5, ...rows.map((x) => x.index.length)),
      module: Math.max(6, ...rows.map((x) => x.module.length)),
      ms: Math.max(7, ...rows.map((x) => x.ms.length)),
      share: Math.max(6, ...rows.map((x) => x.share.length)),
      torch: times.torchSum > 0 ? 8 : 0,
      bar: 20,
    };
    const torchCol = (v: string) => (w.torch ? `${pad(v, w.torch, true)}  ` : '');
    lines.push(
      `${pad('layer', w.index, true)}  ${pad('module', w.module)}  ${pad('ms', w.ms, true)}  ` +
        `${pad('share', w.share, true)}  ${torchCol('PyTorch≈')}${pad('', w.bar)}  output`,
    );
    for (const x of rows)
      lines.push(
        `${pad(x.index, w.index, true)}  ${pad(x.module, w.module)}  ${pad(x.ms, w.ms, true)}  ` +
          `${pad(x.share, w.share, true)}  ${torchCol(x.torch)}${pad(x.bar, w.bar)}  ${x.shape}`,
      );
    lines.push('');
  }
  const facts: string[] = [];
  if (r.runs > 0) {
    facts.push(`total ${r.totalMs.toFixed(1)} ms (median of ${r.runs} run${r.runs === 1 ? '' : 's'})`);
    facts.push(`${r.throughput.toFixed(2)} images/s`);
  }
  facts.push(`backend ${r.backendDetail ?? r.backend}`);
  facts.push(`${r.imgsz}×${r.imgsz}, batch ${r.batch}`);
  if (r.params != null) facts.push(`${withCommas(r.params)} parameters (BatchNorm folded)`);
  const mem: string[] = [];
  if (r.peakMemoryMB != null) mem.push(`peak tensor memory ${r.peakMemoryMB.toFixed(1)} MB`);
  if (r.estimatedMemoryMB != null)
    mem.push(`estimated ${r.estimatedMemoryMB.toFixed(1)} MB${r.memoryLimitMB != null ? ` of a ${r.memoryLimitMB} MB limit` : ''}`);
  lines.push(facts.join(' · '));
  if (mem.length) lines.push(mem.join(' · '));
  if (r.torchEstimate && r.layers.length) lines.push(`PyTorch≈: ${r.torchEstimate}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (r.error) lines.push(`error: ${r.error}`);
  return lines.join('\n');
}
