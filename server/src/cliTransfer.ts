/**
 * `yolo-lens transfer FILE --weights CKPT [--remap out.pt]`: what the framework's own loader would transfer from a
 * pretrained checkpoint into the model FILE builds — its log line and a table per layer — and, with `--remap`, the
 * checkpoint rewritten with the layers an edit shifted moved to their new indices. Every failure is one line.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Model } from './core/model.ts';
import { LineIndex } from './core/lines.ts';
import { planWeights, transferTable } from './core/features/weights.ts';
import { planTransfer, type TransferPlan } from './core/weights/transfer.ts';
import { writeRemappedCheckpoint } from './core/weights/save.ts';
import { modelStateDict } from './core/nn/stateDict.ts';
import { checkpointTensors, readCheckpointFileSync } from './weightsFile.ts';

/** A failure the CLI prints as one line (`yolo-lens: ...`) with exit status 2. */
export class LineError extends Error {}

export interface TransferOptions {
  /** the checkpoint path as given (YOLOv5 logs it as given) */
  readonly weights: string;
  readonly json: boolean;
  readonly remap: string | null;
}

function jsonOf(plan: TransferPlan) {
  return {
    log: plan.log,
    transferred: plan.transferred,
    total: plan.total,
    items: plan.items.map((i) => ({
      key: i.key,
      shape: i.shape,
      status: i.status,
      ...(i.checkpointShape ? { checkpoint_shape: i.checkpointShape } : {}),
      ...(i.copied ? { copied: i.copied } : {}),
    })),
    unused: plan.unused.map((u) => ({ key: u.key, shape: u.shape, reason: u.reason })),
    first_miss: plan.firstMiss,
    remap: plan.remap ? plan.remap.moves.map((m) => ({ from: m.from, to: m.to, tensors: m.tensors })) : [],
    remap_transferred: plan.remap?.transferred ?? null,
  };
}

const movesText = (plan: TransferPlan) =>
  plan.remap!.moves.length > 8
    ? `${plan
        .remap!.moves.slice(0, 8)
        .map((m) => `${m.from}→${m.to}`)
        .join(', ')}, … (${plan.remap!.moves.length} layers)`
    : plan.remap!.moves.map((m) => `${m.from}→${m.to}`).join(', ');

/** Runs the command; returns the exit status (0) or throws a LineError. */
export function transferCommand(model: Model, file: string, opts: TransferOptions, out: (s: string) => void): number {
  if (!model.ok) {
    const first = model.diagnostics.find((d) => d.severity === 'error');
    const at = first ? new LineIndex(model.doc.text).position(first.range.start) : null;
    throw new LineError(
      `${file} does not build, so nothing would load` +
        (first && at ? ` (${file}:${at.line + 1}:${at.character + 1}: ${first.code} ${first.message})` : ''),
    );
  }
  const read = readCheckpointFileSync(opts.weights);
  if (!read.ok) throw new LineError(read.message);
  const tensors = checkpointTensors(read.checkpoint, model.framework.loader.entry, basename(opts.weights));
  if (!tensors.ok) throw new LineError(tensors.message);
  const w = planWeights(model, tensors.tensors, opts.weights);
  if (w.kind !== 'plan') throw new LineError(`${file}: ${w.message}`);
  const plan = w.plan;

  let written: string | null = null;
  if (opts.remap) {
    if (!plan.remap)
      throw new LineError(`--remap: no layer move would transfer more than ${plan.transferred}/${plan.total}; nothing written`);
    const stem = basename(opts.remap).replace(/\.[^.]*$/, '');
    const r = writeRemappedCheckpoint(read.bytes, plan.remap.moves, {
      entry: model.framework.loader.entry,
      archiveName: /^[A-Za-z0-9_.-]{1,100}$/.test(stem) ? stem : 'archive',
    });
    if (!r.ok) throw new LineError(`--remap: ${r.error.message}`);
    // the written file, planned again as the loader will see it, must give the promised count
    const again = planTransfer(modelStateDict(model).entries, r.value.entries, model.framework.loader, opts.weights);
    if (again.transferred !== plan.remap.transferred)
      throw new LineError(`--remap: the written file would transfer ${again.transferred}, not the ${plan.remap.transferred} planned`);
    try {
      writeFileSync(opts.remap, r.value.bytes);
    } catch (e) {
      throw new LineError(`--remap: cannot write ${opts.remap} (${e instanceof Error ? e.message : String(e)})`);
    }
    written = opts.remap;
  }

  if (opts.json) {
    out(JSON.stringify({ framework: model.framework.id, weights: opts.weights, ...jsonOf(plan), written }, null, 2));
    return 0;
  }
  out(plan.log);
  out('');
  out(transferTable(model, plan));
  if (plan.unused.length) {
    const n = plan.unused.length;
    out(`\n${n} checkpoint tensor${n === 1 ? '' : 's'} unused (${plan.unused[0]!.key}${n > 1 ? ', …' : ''})`);
  }
  if (plan.remap) {
    out(`\nmoving the checkpoint's layers ${movesText(plan)} would transfer ${plan.remap.transferred}/${plan.total}`);
    out(written ? `wrote ${written}: its layers moved to their new indices` : `(--remap out.pt writes that checkpoint)`);
  }
  return 0;
}
