/**
 * bench/checkpoint: how long reading a ~6 MB checkpoint and planning its transfer takes (target: under 100 ms,
 * median), and how long planning alone takes once the checkpoint is cached (what the language server does per
 * keystroke). The checkpoint is a released-style ultralytics 8.4 yolov8n.pt (6.3 MB) made by scripts/truth/checkpoints.py
 * --bench-out when Debian's python3-torch and ULTRALYTICS_TREE are there (kept in .bench-out/ for the next run), else
 * the largest fixture. The model planned against is the one the checkpoint was built from (its `yaml`, resolved
 * once outside the timing, as the language server has it resolved already).
 * Usage: node --import tsx bench/checkpoint.ts [--runs N] [--file PATH]
 * Prints the file, its size, and the median / p90 / min time of read + derive + plan, and of plan alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { checkpointInfo, readCheckpoint, stateDictOf } from '../server/src/core/weights/index.ts';
import { resolve } from '../server/src/core/resolve.ts';
import { planWeights } from '../server/src/core/features/weights.ts';
import { median, quantile } from './stats.ts';

function flag(name: string): string | undefined {
  const k = process.argv.indexOf(name);
  return k > 0 ? process.argv[k + 1] : undefined;
}

const root = join(import.meta.dirname, '..');
const runs = Number(flag('--runs') ?? 30);

function checkpointFile(): string {
  const given = flag('--file');
  if (given) return given;
  const made = join(root, '.bench-out', 'yolov8n-8.4.pt');
  if (existsSync(made)) return made;
  if (process.env.ULTRALYTICS_TREE && existsSync('/usr/bin/python3')) {
    mkdirSync(join(root, '.bench-out'), { recursive: true });
    const r = spawnSync('/usr/bin/python3', [join(root, 'scripts/truth/checkpoints.py'), '--bench-out', made], { stdio: 'ignore' });
    if (r.status === 0 && existsSync(made)) return made;
    console.log('(could not make the 6 MB checkpoint with torch: using the largest fixture)');
  }
  const dir = join(root, 'test/fixtures/checkpoints');
  const largest = readdirSync(dir)
    .filter((f) => f.endsWith('.pt'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  return largest;
}

const file = checkpointFile();
const bytes = new Uint8Array(readFileSync(file));
const name = basename(file);

// the model the checkpoint was built from: its pickled `yaml` dict, written as YAML (JSON is YAML)
const first = readCheckpoint(bytes);
if (!first.ok) throw new Error(`${file}: ${first.error.message}`);
const info = checkpointInfo(first.value);
if (!info.ok || !info.value.model.yaml) throw new Error(`${file}: no model yaml in the checkpoint`);
const model = resolve(JSON.stringify(info.value.model.yaml), { fileName: `${name.replace(/\.pt$/, '')}.yaml` });
if (!model.ok) throw new Error(`${file}: its own yaml does not resolve: ${model.diagnostics.find((d) => d.severity === 'error')?.message}`);
const entry = model.framework.loader.entry;

const once = (): number => {
  const t0 = performance.now();
  const ckpt = readCheckpoint(bytes);
  if (!ckpt.ok) throw new Error(`${file}: ${ckpt.error.message}`);
  const sd = stateDictOf(ckpt.value, { entry });
  if (!sd.ok) throw new Error(`${file}: ${sd.error.message}`);
  const plan = planWeights(model, sd.value.entries, name);
  if (plan.kind !== 'plan') throw new Error(`${file}: ${plan.message}`);
  return performance.now() - t0;
};
const sd = stateDictOf(first.value, { entry });
if (!sd.ok) throw new Error(sd.error.message);
const tensors = sd.value.entries;
const planOnly = (): number => {
  const t0 = performance.now();
  planWeights(model, tensors, name);
  return performance.now() - t0;
};
for (let i = 0; i < 5; i++) {
  // warm up the JIT as a long-running language server is
  once();
  planOnly();
}
// interleaved, so that both see the same load on a shared machine
const times: number[] = [];
const planTimes: number[] = [];
for (let i = 0; i < runs; i++) {
  times.push(once());
  planTimes.push(planOnly());
}
const plan = planWeights(model, tensors, name);
const stats = (t: number[]) =>
  `median ${median(t).toFixed(1)} ms, p90 ${quantile(t, 0.9).toFixed(1)} ms, min ${Math.min(...t).toFixed(1)} ms over ${runs} runs`;
console.log(
  `${relative(root, file)}: ${(bytes.length / 1e6).toFixed(1)} MB, ${tensors.length} state_dict entries, ` +
    `planned against ${model.framework.id} ${model.scale ?? ''}: ${plan.kind === 'plan' ? plan.plan.log : plan.message}`,
);
console.log(`read + derive + plan: ${stats(times)}`);
console.log(`plan alone (the checkpoint cached, per keystroke): ${stats(planTimes)}`);
