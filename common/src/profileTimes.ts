/**
 * One profile run's per-layer times as every surface shows them (the CLI's table, the panel's column, node bars and
 * tooltip): the times the engine measured, and the upstream model's estimated PyTorch times
 * (server/src/runtime/torch-cost.ts) where the run carries them. The engine (onnxruntime, tfjs) ranks some layers
 * unlike PyTorch (its max-pool is slow, large activations cost it extra memory passes), so the time bars rank by the
 * estimate when there is one; the measured ms stay as they are. Pure: no DOM, no node.
 */

/** What of a profile result the times come from (the protocol's ProfileResult has these fields). */
export interface TimedRun {
  readonly layers: readonly { readonly index: number; readonly ms: number; readonly torchMs?: number | null | undefined }[];
  readonly torchEstimate?: string | null | undefined;
}

export interface ProfileTimes {
  /** measured ms per layer index (the median of the runs) */
  readonly ms: ReadonlyMap<number, number>;
  readonly msSum: number;
  /** estimated PyTorch ms per layer index; empty when the result has no estimate */
  readonly torchMs: ReadonlyMap<number, number>;
  readonly torchSum: number;
  /** what the estimate rests on (PyTorch version, machine, thread setting, models fitted on) */
  readonly torchEstimate: string | null;
}

const sum = (m: ReadonlyMap<number, number>) => [...m.values()].reduce((a, v) => a + v, 0);

export function profileTimes(r: TimedRun): ProfileTimes {
  const ms = new Map(r.layers.map((l) => [l.index, l.ms]));
  const torchMs = new Map<number, number>();
  for (const l of r.layers) if (l.torchMs != null) torchMs.set(l.index, l.torchMs);
  const torchSum = sum(torchMs);
  return {
    ms,
    msSum: sum(ms),
    // an estimate that sums to nothing ranks nothing: shown as absent
    torchMs: torchSum > 0 ? torchMs : new Map(),
    torchSum: torchSum > 0 ? torchSum : 0,
    torchEstimate: torchSum > 0 ? (r.torchEstimate ?? null) : null,
  };
}

/** The times a layer's bar ranks by: PyTorch's estimate where the run has one, else the measured ms. */
export const barTimes = (t: ProfileTimes): ReadonlyMap<number, number> => (t.torchSum > 0 ? t.torchMs : t.ms);

/** What the PyTorch≈ figures are, for a tooltip (the CLI's footer says the same). */
export const torchShareTip = (t: ProfileTimes): string =>
  `PyTorch≈: the layer's share of the ${t.torchEstimate ?? 'estimated PyTorch time (basis not given)'}`;
