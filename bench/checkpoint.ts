/**
 * bench/checkpoint: how long reading a ~6 MB checkpoint and deriving its state_dict takes (the transfer plan will
 * be timed here too once it exists: see `plan` below). The checkpoint is a released-style ultralytics 8.4 yolov8n.pt
 * (6.3 MB) made by scripts/truth/checkpoints.py --bench-out when Debian's python3-torch and ULTRALYTICS_TREE are
 * there (kept in .bench-out/ for the next run), else the largest fixture.
 * Usage: node --import tsx bench/checkpoint.ts [--runs N] [--file PATH]
 * Prints the file, its size, and the median / p90 / min time of read + derive (+ plan), each run on the same bytes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readCheckpoint, stateDictOf, type CheckpointStateDict } from '../server/src/core/weights/index.ts';
import { median, quantile } from './stats.ts';

function flag(name: string): string | undefined {
  const k = process.argv.indexOf(name);
  return k > 0 ? process.argv[k + 1] : undefined;
}

/**
 * The planning hook: the transfer planner (the lead's, to come) takes the checkpoint's state_dict and the resolved
 * model's and returns the plan. Set it here and the bench times read + derive + plan, which must stay under 100 ms.
 */
const plan = undefined as ((checkpoint: CheckpointStateDict) => unknown) | undefined;

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
const once = (): number => {
  const t0 = performance.now();
  const ckpt = readCheckpoint(bytes);
  if (!ckpt.ok) throw new Error(`${file}: ${ckpt.error.message}`);
  const sd = stateDictOf(ckpt.value);
  if (!sd.ok) throw new Error(`${file}: ${sd.error.message}`);
  if (plan) plan(sd.value);
  return performance.now() - t0;
};
for (let i = 0; i < 5; i++) once(); // warm up the JIT as a long-running language server is
const times = Array.from({ length: runs }, once);
const first = readCheckpoint(bytes);
const entries = first.ok ? (stateDictOf(first.value) as { ok: true; value: CheckpointStateDict }).value.entries.length : 0;
console.log(`${relative(root, file)}: ${(bytes.length / 1e6).toFixed(1)} MB, ${entries} state_dict entries`);
console.log(
  `read + derive${plan ? ' + plan' : ''}: median ${median(times).toFixed(1)} ms, p90 ${quantile(times, 0.9).toFixed(1)} ms, ` +
    `min ${Math.min(...times).toFixed(1)} ms over ${runs} runs${plan ? '' : ' (no planner hooked in yet)'}`,
);
