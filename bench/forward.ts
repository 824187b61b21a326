/**
 * Forward-pass time of the bundled Slim-neck example in every available backend against PyTorch, in one run on one
 * machine: `node --import tsx bench/forward.ts [--imgsz 640] [--rounds 3] [--runs 5] [--no-cpu]`.
 * PyTorch (Debian's python3-torch, /usr/bin/python3) replays the op trace of the same resolved model with the same
 * seeded weights (bench/torch_forward.py); its outputs are compared with the tfjs ones first. Rounds interleave the
 * engines (order rotated) so background load hits them alike; ratios are medians of per-round ratios.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cpus, loadavg } from 'node:os';
import { forwardOutputs, planJob, runProfile } from '../server/src/runtime/engine.ts';
import type { ProfileJob } from '../server/src/runtime/job.ts';
import { tfjsNodeAvailable } from '../server/src/runtime/backend.ts';
import { serializeTrace, traceNetwork } from '../server/src/runtime/trace.ts';
import { loadOrt, ortOutputs, ortUnavailableReason } from '../server/src/runtime/ort.ts';
import type { ProfileBackend } from '../server/src/protocol.ts';
import { median } from './stats.ts';

const root = join(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name: string, def: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const imgsz = opt('--imgsz', 640);
const rounds = opt('--rounds', 3);
const runs = opt('--runs', 5);
const withCpu = !args.includes('--no-cpu');
const file = join(root, 'examples/slimneck-yolov5n.yaml');
const text = readFileSync(file, 'utf8');
const job = (backend: ProfileBackend, r = runs, warmup = 1): ProfileJob => ({
  text,
  fileName: 'slimneck-yolov5n.yaml',
  imgsz,
  batch: 1,
  runs: r,
  warmup,
  backend,
  memoryLimitMB: 4096,
});

/** PyTorch behind a line protocol, so rounds can interleave it with the in-process tfjs runs. */
class Torch {
  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    readonly version: string,
  ) {}

  static async start(dir: string): Promise<Torch | string> {
    const proc = spawn('/usr/bin/python3', [join(root, 'bench/torch_forward.py'), dir, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const first = await Promise.race([lines.next(), new Promise<null>((r) => proc.on('exit', () => r(null)))]);
    if (!first || first.done)
      return `PyTorch did not start (${stderr.trim().split('\n').pop() ?? 'no output'}); install it with apt-get install -y python3-torch`;
    const hello = JSON.parse(first.value) as { torch: string };
    return new Torch(proc, lines, hello.torch);
  }

  async ask<T>(cmd: object): Promise<T> {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    const r = await this.lines.next();
    if (r.done) throw new Error('PyTorch exited');
    return JSON.parse(r.value) as T;
  }

  stop(): void {
    this.proc.stdin.end();
    this.proc.kill();
  }
}

interface Engine {
  name: string;
  measure(): Promise<number>;
}

async function main(): Promise<void> {
  const out = join(root, '.bench-out/forward');
  mkdirSync(out, { recursive: true });
  console.log(
    `forward pass of ${file.replace(root + '/', '')} at ${imgsz}×${imgsz}, batch 1 — ${cpus().length} CPUs ` +
      `(${cpus()[0]?.model ?? '?'}), load ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  );

  // the same network for PyTorch: the op trace of the resolved model with the runtime's seeded weights
  const { plan, error } = planJob(job('wasm'));
  if (!plan) throw new Error(error ?? 'no plan');
  const { json, blob } = serializeTrace(traceNetwork(plan));
  writeFileSync(join(out, 'trace.json'), json);
  writeFileSync(join(out, 'tensors.bin'), blob);
  const torch = await Torch.start(out);

  const engines: Engine[] = [];
  const tfjsBackends: ProfileBackend[] = [...(tfjsNodeAvailable() ? (['tfjs-node'] as const) : []), 'wasm'];
  for (const b of tfjsBackends)
    engines.push({
      name: b === 'wasm' ? 'tfjs wasm (SIMD, 1 thread)' : 'tfjs-node',
      measure: async () => {
        const r = await runProfile(job(b));
        if (r.error) throw new Error(`${b}: ${r.error}`);
        return r.totalMs;
      },
    });
  if (loadOrt())
    engines.push({
      name: 'onnxruntime-node (CPU, 1 thread)',
      measure: async () => {
        const r = await runProfile(job('onnxruntime-node'));
        if (r.error || r.backend !== 'onnxruntime-node') throw new Error(`onnxruntime-node: ${r.error ?? r.warnings.join('; ')}`);
        return r.totalMs;
      },
    });
  else
    console.log(
      `onnxruntime-node: not installed (${ortUnavailableReason()}); ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save ` +
        `onnxruntime-node adds it`,
    );
  if (typeof torch === 'string') console.log(`PyTorch: ${torch}`);
  else {
    // numbers first: the engines must compute the same network
    const { shapes } = await torch.ask<{ shapes: number[][] }>({ outputs: join(out, 'torch_out.bin') });
    const theirs = new Float32Array(readFileSync(join(out, 'torch_out.bin')).buffer.slice(0));
    const compare = (who: string, outputs: { shape: number[]; data: Float32Array }[]) => {
      let off = 0;
      let maxAbs = 0;
      let maxVal = 0;
      outputs.forEach((o, i) => {
        if (o.shape.join() !== shapes[i]!.join()) throw new Error(`output ${i}: ${who} [${o.shape}] vs torch [${shapes[i]}]`);
        for (let j = 0; j < o.data.length; j++) {
          maxAbs = Math.max(maxAbs, Math.abs(o.data[j]! - theirs[off + j]!));
          maxVal = Math.max(maxVal, Math.abs(theirs[off + j]!));
        }
        off += o.data.length;
      });
      console.log(
        `outputs: ${outputs.length} tensors, ${who} vs PyTorch ${torch.version}: max |difference| ${maxAbs.toExponential(2)} (largest ` +
          `|value| ${maxVal.toFixed(3)})`,
      );
    };
    const ref = await forwardOutputs(job('wasm'));
    compare(`tfjs ${ref.backend}`, ref.outputs);
    if (loadOrt()) compare('onnxruntime-node', await ortOutputs(plan));
    for (const threads of [1, 2])
      engines.push({
        name: `PyTorch ${torch.version} CPU, ${threads} thread${threads > 1 ? 's' : ''}`,
        measure: async () => (await torch.ask<{ median_ms: number }>({ runs, warmup: 1, threads })).median_ms,
      });
  }

  const base = engines.find((e) => e.name.includes('1 thread') && e.name.startsWith('PyTorch'));
  const results = new Map<string, number[]>(engines.map((e) => [e.name, []]));
  const ratios = new Map<string, number[]>(engines.map((e) => [e.name, []]));
  for (let r = 0; r < rounds; r++) {
    const order = engines.map((_, i) => engines[(i + r) % engines.length]!);
    const round = new Map<string, number>();
    for (const e of order) round.set(e.name, await e.measure());
    for (const e of engines) {
      results.get(e.name)!.push(round.get(e.name)!);
      if (base) ratios.get(e.name)!.push(round.get(e.name)! / round.get(base.name)!);
    }
    console.log(
      `round ${r + 1}/${rounds}: ` +
        `${engines.map((e) => `${e.name.split(' (')[0]!.split(',')[0]} ${round.get(e.name)!.toFixed(0)} ms`).join(' · ')}`,
    );
  }
  if (withCpu) {
    // the pure-JS backend costs tens of seconds a pass at 640: measured once, against PyTorch's median
    const r = await runProfile(job('cpu', 1, 0));
    const name = 'tfjs cpu (pure JS)';
    results.set(name, [r.totalMs]);
    if (base) ratios.set(name, [r.totalMs / median(results.get(base.name)!)]);
  }
  if (typeof torch !== 'string') torch.stop();

  const rows = [...results].map(([name, ms]) => ({
    name,
    median: median(ms),
    min: Math.min(...ms),
    ratio: base ? median(ratios.get(name)!) : NaN,
  }));
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`\n${'engine'.padEnd(w)}  median ms  (min)   ratio to PyTorch 1 thread`);
  for (const r of rows)
    console.log(
      `${r.name.padEnd(w)}  ${r.median.toFixed(1).padStart(9)}  (${r.min.toFixed(0)})   ` +
        `${Number.isNaN(r.ratio) ? '—' : `${r.ratio.toFixed(2)}×`}`,
    );
  writeFileSync(join(out, 'results.json'), JSON.stringify({ imgsz, rounds, runs, loadavg: loadavg(), rows }, null, 2));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
