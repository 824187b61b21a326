/**
 * Forward-pass time of YOLO models on every engine YOLO Lens can profile on, against the model a user would run:
 * the upstream code's own build of the same YAML in PyTorch (bench/torch_upstream.py: its parse_model and module
 * classes, fuse()d, eval, no_grad, Debian's python3-torch), with YOLO Lens's seeded weights loaded by state_dict
 * name, so the outputs are compared too (every engine's, output by output). Every engine runs at 1 thread and on all
 * cores; rounds interleave the engines (order rotated) so background load hits them alike; ratios are medians of
 * per-round ratios to PyTorch at the same thread count. Per-layer times of each engine are compared with PyTorch's
 * (forward hooks on each layer): Spearman rank correlation and the layers whose share of the total differs most; so
 * is the profile's PyTorch estimate (runtime/torch-cost.ts), fitted on other models than these four.
 * The load average is printed per round, at the start and at the end: figures taken under load are not quotable.
 *
 *   npm run bench:forward -- [--models slimneck,yolov8n,yolo11n,yolo26n] [--imgsz 640] [--batch 1]
 *     [--rounds 3] [--runs 3] [--ultralytics DIR] [--gsconv-yolov5 DIR] [--replay]
 *
 * (that builds dist/ first: the engines are timed in the shipped worker bundle, dist/runtime-worker.js)
 *
 * Upstream trees: --ultralytics (or YOLO_LENS_ULTRALYTICS) is a checkout holding the `ultralytics/` package;
 * --gsconv-yolov5 (or YOLO_LENS_GSCONV_YOLOV5) the Slim-neck YOLOv5 fork (`gsconv-yolov5/`), which builds the bundled
 * example `slimneck`. Other names (yolov8n, yolo11n, yolo26n, …) are taken from the ultralytics tree's cfg folder,
 * scale from the name as ultralytics takes it. onnxruntime-node is measured when it is installed. --replay adds the
 * old cross-check: PyTorch replaying YOLO Lens's own op trace (bench/torch_forward.py) must compute the same numbers.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cpus, loadavg } from 'node:os';
import { resolve as resolveModel } from '../server/src/core/resolve.ts';
import { forwardOutputs, planJob } from '../server/src/runtime/engine.ts';
import type { ProfileJob } from '../server/src/runtime/job.ts';
import { allCores } from '../server/src/runtime/backend.ts';
import { profileModel } from '../server/src/runtime/profile.ts';
import { moduleParamArrays, ownParamArrays, uniform } from '../server/src/runtime/weights.ts';
import { serializeTrace, traceNetwork } from '../server/src/runtime/trace.ts';
import { loadOrt, ortOutputs } from '../server/src/runtime/ort.ts';
import type { NetworkPlan } from '../server/src/runtime/plan.ts';
import type { ProfileBackend, ProfileResult } from '../server/src/protocol.ts';
import { specOf, type ModelSpec } from './models.ts';
import { median, shareGaps, spearman } from './stats.ts';

const root = join(__dirname, '..');
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const num = (name: string, def: number) => Number(flag(name) ?? def);
const imgsz = num('--imgsz', 640);
const batch = num('--batch', 1);
const rounds = num('--rounds', 3);
const runs = num('--runs', 3);
// PyTorch's per-layer times are the truth the engines and the estimate are held to: hooked passes are cheap next to
// a round, and one layer's time moves between passes (allocations, the other core) more than the wall time does
const torchLayerRuns = Math.max(runs, 5);
const replay = args.includes('--replay');
const modelNames = (flag('--models') ?? 'slimneck,yolov8n,yolo11n,yolo26n').split(',').filter(Boolean);
const ultralyticsDir = flag('--ultralytics') ?? process.env.YOLO_LENS_ULTRALYTICS;
const gsconvDir = flag('--gsconv-yolov5') ?? process.env.YOLO_LENS_GSCONV_YOLOV5;
const cores = allCores();
const out = join(root, '.bench-out/forward');
// the engines run in the worker the extension and the CLI ship (npm run bench:forward builds it first), not in the
// TypeScript source through tsx: from source, Node takes the packages' `main` builds where the bundle takes `module`,
// and tfjs wasm ran yolov8n at 1 thread in 636-645 ms from source against 398-403 ms from the bundle
const workerPath = join(root, 'dist/runtime-worker.js');

/** The seeded weights by upstream state_dict name (`model.<layer>.<module path>.<param>`), and the seeded input. */
function exportWeights(plan: NetworkPlan, dir: string): number {
  const index: Record<string, { shape: readonly number[]; offset: number; length: number }> = {};
  const parts: Buffer[] = [];
  let offset = 0;
  const put = (name: string, shape: readonly number[], values: Float32Array) => {
    index[name] = { shape, offset, length: values.length };
    parts.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    offset += values.byteLength;
  };
  for (const l of plan.layers)
    for (const [m, path] of l.paths) {
      if (m.shared) continue;
      // the same keys as the runtime's prepareModuleWeights: the same numbers
      const key = `${l.index}/${path}`;
      const name = `model.${l.index}${path ? `.${path}` : ''}`;
      for (const p of moduleParamArrays(m, key)) put(`${name}.${p.name}`, p.shape, p.values);
      if (m.params) for (const p of ownParamArrays(m.params, key)) put(`${name}.${p.name}`, p.shape, p.values);
    }
  writeFileSync(join(dir, 'weights.json'), JSON.stringify({ tensors: index }));
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat(parts));
  const n = plan.inputShape.reduce((a, b) => a * b, 1);
  const input = uniform('input', n, 0, 1);
  writeFileSync(join(dir, 'input.bin'), Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  return Object.keys(index).length;
}

/** A Python process behind a line protocol (one JSON command, one JSON answer), so rounds can interleave it. */
class Py {
  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    readonly hello: { torch: string; cores: number },
  ) {}

  static async start(script: string, argv: string[]): Promise<Py | string> {
    const proc = spawn('/usr/bin/python3', [join(root, script), ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const first = await Promise.race([lines.next(), new Promise<null>((r) => proc.on('exit', () => r(null)))]);
    if (!first || first.done)
      return `PyTorch did not start (${stderr.trim().split('\n').pop() ?? 'no output'}); apt-get install -y python3-torch`;
    return new Py(proc, lines, JSON.parse(first.value) as { torch: string; cores: number });
  }

  async ask<T>(cmd: object): Promise<T & { error?: string }> {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    const r = await this.lines.next();
    if (r.done) throw new Error('PyTorch exited');
    return JSON.parse(r.value) as T & { error?: string };
  }

  stop(): void {
    this.proc.stdin.end();
    this.proc.kill();
  }
}

interface Output {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * How far our outputs are from the upstream model's, output by output (depth-first, as both flatten them): the first
 * output (the decoded predictions) and the worst of the rest (the raw maps). A top-k output (an end2end head's
 * [b, k, 6] detections) is compared as sorted scores: under random weights many scores tie to float32 rounding, so
 * which box wins a tie is rounding noise, while the scores themselves are the network's numbers.
 */
function agreementOf(ours: readonly Output[], theirs: readonly Output[]): string {
  if (ours.length !== theirs.length) return `${ours.length} outputs vs upstream ${theirs.length}`;
  const parts: string[] = [];
  let worstRest = 0;
  let restMax = 0;
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i]!;
    const b = theirs[i]!;
    if (a.shape.join() !== b.shape.join()) return `output ${i}: ours [${a.shape}], upstream [${b.shape}]`;
    const topk = i === 0 && a.shape.length === 3 && a.shape[2]! <= 8 && a.shape[1] === 300;
    const [x, y] = topk ? [column(a, 4), column(b, 4)] : [a.data, b.data];
    let maxAbs = 0;
    let maxVal = 0;
    for (let j = 0; j < x.length; j++) {
      maxAbs = Math.max(maxAbs, Math.abs(x[j]! - y[j]!));
      maxVal = Math.max(maxVal, Math.abs(y[j]!));
    }
    if (i === 0)
      parts.push(
        `${topk ? 'top-k scores' : 'max |difference|'} ${maxAbs.toExponential(1)} (largest |value| ` +
          `${maxVal.toFixed(1)}) on [${b.shape.join(', ')}]`,
      );
    else {
      worstRest = Math.max(worstRest, maxAbs);
      restMax = Math.max(restMax, maxVal);
    }
  }
  if (ours.length > 1)
    parts.push(`the other ${ours.length - 1} outputs within ${worstRest.toExponential(1)} (largest |value| ${restMax.toFixed(1)})`);
  return parts.join(', ');
}

/** One column of a [b, k, w] output, sorted (descending) per image. */
function column(o: Output, c: number): Float32Array {
  const [b, k, w] = o.shape as [number, number, number];
  const out = new Float32Array(b * k);
  for (let i = 0; i < b; i++) {
    const col = Array.from({ length: k }, (_, r) => o.data[(i * k + r) * w + c]!).sort((p, q) => q - p);
    out.set(col, i * k);
  }
  return out;
}

interface Engine {
  readonly name: string;
  readonly threads: number;
  /** the PyTorch rows: the baseline of the engines at their thread count */
  readonly baseline?: boolean;
  /** wall ms of the round; per-layer ms of each pass it timed layer by layer (an engine's profile: its medians) */
  measure(): Promise<{ ms: number; layerRuns?: number[][] }>;
}

interface Row {
  model: string;
  engine: string;
  threads: number;
  medianMs: number;
  minMs: number;
  ratio: number;
}

interface LayerRow {
  model: string;
  engine: string;
  threads: number;
  spearman: number;
  gapPoints: number;
  gapLayer: number;
  gapModule: string;
}

const fmtMs = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const ESTIMATE = "PyTorch estimate (the profile's PyTorch≈)";

/** One engine's per-layer times against PyTorch's at the same thread count: printed, and the table's row. */
function layerAgreement(
  model: string,
  plan: NetworkPlan,
  engine: string,
  threads: number,
  ours: readonly number[] | null,
  theirs: readonly number[] | null,
): LayerRow | null {
  if (!ours || !theirs || ours.length !== theirs.length) return null;
  const gaps = shareGaps(ours, theirs);
  const gap = gaps[0]!;
  const row: LayerRow = {
    model,
    engine,
    threads,
    spearman: spearman(ours, theirs),
    gapPoints: Math.abs(gap.points),
    gapLayer: gap.layer,
    gapModule: plan.layers[gap.layer]?.module ?? '?',
  };
  // where the engine's time differs most from PyTorch's: the layers to look at for kernel work
  const worst = gaps
    .slice(0, 3)
    .map(
      (g) =>
        `layer ${g.layer} ${plan.layers[g.layer]?.module ?? '?'} ${g.points > 0 ? '+' : ''}${g.points.toFixed(1)} ` +
        `(${g.ours.toFixed(1)}% vs ${g.theirs.toFixed(1)}%, ${fmtMs(ours[g.layer]!)} vs ${fmtMs(theirs[g.layer]!)} ms)`,
    )
    .join('; ');
  console.log(
    `per-layer, ${engine} vs PyTorch at ${threads} thread(s): Spearman ${row.spearman.toFixed(3)}; largest share ` +
      `differences: ${worst}`,
  );
  return row;
}

const SELF = 'PyTorch against itself (worst pair of rounds)';

/** Per layer, the median over passes (each pass: per-layer ms); null for no passes. */
function layerMedians(passes: readonly number[][]): number[] | null {
  return passes.length ? passes[0]!.map((_, i) => median(passes.map((p) => p[i]!))) : null;
}

/** The least agreeing pair of PyTorch's rounds (lowest Spearman, largest share difference, each over every pair). */
function selfAgreement(model: string, plan: NetworkPlan, threads: number, rounds: readonly number[][]): LayerRow | null {
  const pairs: { spearman: number; points: number; layer: number }[] = [];
  for (let i = 0; i < rounds.length; i++)
    for (let j = i + 1; j < rounds.length; j++) {
      const gap = shareGaps(rounds[i]!, rounds[j]!)[0]!;
      pairs.push({ spearman: spearman(rounds[i]!, rounds[j]!), points: Math.abs(gap.points), layer: gap.layer });
    }
  if (!pairs.length) return null;
  const widest = pairs.reduce((w, p) => (p.points > w.points ? p : w));
  const row: LayerRow = {
    model,
    engine: SELF,
    threads,
    spearman: Math.min(...pairs.map((p) => p.spearman)),
    gapPoints: widest.points,
    gapLayer: widest.layer,
    gapModule: plan.layers[widest.layer]?.module ?? '?',
  };
  console.log(
    `per-layer, ${SELF} at ${threads} thread(s): Spearman ${row.spearman.toFixed(3)}; largest share difference ` +
      `${row.gapPoints.toFixed(1)} points (layer ${row.gapLayer} ${row.gapModule})`,
  );
  return row;
}

async function benchModel(spec: ModelSpec, rows: Row[], layerRows: LayerRow[], agreement: Record<string, string>): Promise<void> {
  const dir = join(out, spec.name);
  mkdirSync(dir, { recursive: true });
  const job = (backend: ProfileBackend, threads: number): ProfileJob => ({
    text: spec.text,
    fileName: spec.fileName,
    imgsz,
    batch,
    runs,
    warmup: 1,
    backend,
    memoryLimitMB: 8192,
    threads,
  });
  const { plan, error } = planJob(job('wasm', 1));
  console.log(`\n## ${spec.name} (${spec.fileName}) at ${imgsz}×${imgsz}, batch ${batch}; upstream: ${spec.upstream.label}`);
  if (!plan) {
    console.log(`not profiled: ${error}`);
    agreement[spec.name] = `not profiled: ${error}`;
    return;
  }
  const tensors = exportWeights(plan, dir);
  const py = await Py.start('bench/torch_upstream.py', ['--serve']);
  if (typeof py === 'string') {
    console.log(py);
    return;
  }
  try {
    const built = await py.ask<{ layers: number; fuse_error: string | null; unknown: string[]; shape: string[]; not_given: string[] }>({
      build: { ...spec.upstream, imgsz, batch, weights: dir },
    });
    if (built.error) {
      console.log(`the upstream code did not build it: ${built.error}`);
      agreement[spec.name] = `upstream failed: ${built.error}`;
      return;
    }
    const loadedAll = !built.unknown.length && !built.shape.length && !built.not_given.length;
    console.log(
      `weights: ${tensors} tensors by state_dict name into the upstream model ` +
        `(fused${built.fuse_error ? ` failed: ${built.fuse_error}` : ''})` +
        (loadedAll
          ? ', every parameter loaded'
          : `; names unknown upstream: ${built.unknown.length} (${built.unknown.slice(0, 3).join(', ')}), shape mismatches: ` +
            `${built.shape.length} (${built.shape.slice(0, 2).join('; ')}), upstream parameters not given: ${built.not_given.length} ` +
            `(${built.not_given.slice(0, 3).join(', ')})`),
    );
    if (built.layers !== plan.layers.length) console.log(`layer count differs: upstream ${built.layers}, ours ${plan.layers.length}`);

    // numbers first: every engine must compute the upstream network's numbers
    const theirs = await py.ask<{ shapes: number[][] }>({ outputs: join(dir, 'torch_out.bin') });
    const theirBlob = new Float32Array(readFileSync(join(dir, 'torch_out.bin')).buffer.slice(0));
    let at = 0;
    const theirOutputs = theirs.shapes.map((shape) => {
      const n = shape.reduce((a, v) => a * v, 1);
      const data = theirBlob.subarray(at, at + n);
      at += n;
      return { shape, data };
    });
    const agreeing: [string, Promise<Output[]>][] = [['tfjs wasm', forwardOutputs(job('wasm', 1)).then((r) => r.outputs)]];
    if (loadOrt()) agreeing.push(['onnxruntime-node', ortOutputs(plan)]);
    const agree: string[] = [];
    for (const [engine, outputs] of agreeing) {
      try {
        agree.push(`${engine}: ${agreementOf(await outputs, theirOutputs)}`);
      } catch (e) {
        agree.push(`${engine}: failed (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    agreement[spec.name] = agree.join('; ');
    for (const line of agree) console.log(`output agreement with upstream PyTorch ${py.hello.torch}, ${line}`);
    const theirData = theirOutputs[0]!.data;
    if (replay) await replayCheck(plan, dir, theirs.shapes[0]!, theirData);

    const model = resolveModel(spec.text, { fileName: spec.fileName, imgsz });
    const torchEstimates = new Map<number, number[]>();
    const profiled =
      (backend: ProfileBackend, threads: number): Engine['measure'] =>
      async () => {
        const r: ProfileResult = await profileModel(model, {
          backend,
          threads,
          runs,
          warmup: 1,
          imgsz,
          batch,
          memoryLimitMB: 8192,
          workerPath,
        });
        if (r.error) throw new Error(`${backend}, ${threads} thread(s): ${r.error}`);
        if (r.backend !== backend) throw new Error(`${backend} did not run (${r.backend}): ${r.warnings.join('; ')}`);
        if (r.threads !== null && r.threads !== undefined && r.threads !== threads)
          throw new Error(`${backend} ran on ${r.threads} threads, not ${threads}: ${r.warnings.join('; ')}`);
        if (r.layers.every((l) => typeof l.torchMs === 'number'))
          torchEstimates.set(
            threads,
            r.layers.map((l) => l.torchMs!),
          );
        return { ms: r.totalMs, layerRuns: [r.layers.map((l) => l.ms)] };
      };
    const threadCounts = [...new Set([1, cores])];
    const engines: Engine[] = [];
    for (const t of threadCounts) {
      engines.push({
        name: `PyTorch ${py.hello.torch} (upstream model, fused)`,
        threads: t,
        baseline: true,
        measure: async () => {
          const r = await py.ask<{ median_ms: number }>({ time: { runs, warmup: 1, threads: t } });
          if (r.error) throw new Error(r.error);
          const l = await py.ask<{ runs_ms: number[][] }>({ layers: { runs: torchLayerRuns, warmup: 0, threads: t } });
          if (l.error) throw new Error(l.error);
          return { ms: r.median_ms, layerRuns: l.runs_ms };
        },
      });
      // `auto` takes onnxruntime-node where it loads (npm install, platform .vsix), tfjs wasm where not (universal .vsix)
      engines.push({ name: 'tfjs wasm SIMD (default in the universal .vsix)', threads: t, measure: profiled('wasm', t) });
      if (loadOrt())
        engines.push({
          name: 'onnxruntime-node (CPU, default: npm, platform .vsix)',
          threads: t,
          measure: profiled('onnxruntime-node', t),
        });
    }
    const key = (e: Engine) => `${e.name}|${e.threads}`;
    const times = new Map<string, number[]>(engines.map((e) => [key(e), []]));
    // per engine, per round: per pass, per layer
    const layerTimes = new Map<string, number[][][]>(engines.map((e) => [key(e), []]));
    const ratios = new Map<string, number[]>(engines.map((e) => [key(e), []]));
    for (let r = 0; r < rounds; r++) {
      const order = engines.map((_, i) => engines[(i + r) % engines.length]!);
      const got = new Map<string, number>();
      for (const e of order) {
        try {
          const m = await e.measure();
          got.set(key(e), m.ms);
          if (m.layerRuns) layerTimes.get(key(e))!.push(m.layerRuns);
        } catch (err) {
          console.log(`  ${e.name}, ${e.threads} thread(s): ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      for (const e of engines) {
        const v = got.get(key(e));
        if (v === undefined) continue;
        times.get(key(e))!.push(v);
        const base = engines.find((x) => x.baseline && x.threads === e.threads);
        const bv = base ? got.get(key(base)) : undefined;
        if (bv) ratios.get(key(e))!.push(v / bv);
      }
      console.log(
        `round ${r + 1}/${rounds} (load ${load()}): ` +
          `${engines.map((e) => `${e.name.split(' (')[0]}@${e.threads} ${fmtMs(got.get(key(e)) ?? NaN)}`).join(' · ')}`,
      );
    }
    const w = Math.max(...engines.map((e) => e.name.length));
    console.log(`\n${'engine'.padEnd(w)}  threads  median ms    (min)  vs PyTorch, same threads`);
    for (const e of engines) {
      const ms = times.get(key(e))!;
      const row: Row = {
        model: spec.name,
        engine: e.name,
        threads: e.threads,
        medianMs: median(ms),
        minMs: ms.length ? Math.min(...ms) : NaN,
        ratio: median(ratios.get(key(e))!),
      };
      rows.push(row);
      console.log(
        `${e.name.padEnd(w)}  ${String(e.threads).padStart(7)}  ${fmtMs(row.medianMs).padStart(9)}  ` +
          `(${fmtMs(row.minMs).padStart(6)})  ${Number.isFinite(row.ratio) ? `${row.ratio.toFixed(2)}×` : '—'}`,
      );
    }
    // per-layer: each engine's medians over every pass of every round against PyTorch's at the same thread count
    const perLayer = (k: string): number[] | null => layerMedians(layerTimes.get(k)!.flat());
    for (const e of engines) {
      if (e.baseline) continue;
      const base = engines.find((x) => x.baseline && x.threads === e.threads);
      const row = layerAgreement(spec.name, plan, e.name, e.threads, perLayer(key(e)), base ? perLayer(key(base)) : null);
      if (row) layerRows.push(row);
    }
    // the profile's PyTorch estimate (what its bars rank by) against the measured PyTorch layers
    for (const [threads, estimate] of torchEstimates) {
      const base = engines.find((x) => x.baseline && x.threads === threads);
      const row = layerAgreement(spec.name, plan, ESTIMATE, threads, estimate, base ? perLayer(key(base)) : null);
      if (row) layerRows.push(row);
    }
    // PyTorch against itself, round against round: how far its own per-layer shares move between runs of the same
    // model, the floor under any figure above
    for (const base of engines.filter((e) => e.baseline)) {
      const row = selfAgreement(
        spec.name,
        plan,
        base.threads,
        layerTimes.get(key(base))!.map((round) => layerMedians(round)!),
      );
      if (row) layerRows.push(row);
    }
    writeFileSync(join(dir, 'layers.json'), JSON.stringify(Object.fromEntries(engines.map((e) => [key(e), perLayer(key(e))])), null, 1));
  } finally {
    py.stop();
  }
}

/** The old baseline, kept as a numerical cross-check: PyTorch replaying YOLO Lens's op trace. */
async function replayCheck(plan: NetworkPlan, dir: string, shape: number[], upstream: Float32Array): Promise<void> {
  const { json, blob } = serializeTrace(traceNetwork(plan));
  writeFileSync(join(dir, 'trace.json'), json);
  writeFileSync(join(dir, 'tensors.bin'), blob);
  const py = await Py.start('bench/torch_forward.py', [dir, '--serve']);
  if (typeof py === 'string') return void console.log(`replay: ${py}`);
  try {
    const r = await py.ask<{ shapes: number[][] }>({ outputs: join(dir, 'replay_out.bin') });
    const data = new Float32Array(readFileSync(join(dir, 'replay_out.bin')).buffer.slice(0));
    if (r.shapes[0]?.join() !== shape.join()) return void console.log(`replay: first output [${r.shapes[0]}] vs upstream [${shape}]`);
    let maxAbs = 0;
    for (let j = 0; j < upstream.length; j++) maxAbs = Math.max(maxAbs, Math.abs(data[j]! - upstream[j]!));
    console.log(`replay of our op trace in PyTorch vs the upstream model: max |difference| ${maxAbs.toExponential(1)}`);
  } finally {
    py.stop();
  }
}

async function main(): Promise<void> {
  if (!existsSync(workerPath)) {
    console.log(`bench/forward: ${workerPath} is missing; build it first (npm run bench:forward does)`);
    process.exitCode = 1;
    return;
  }
  mkdirSync(out, { recursive: true });
  console.log(
    `bench/forward: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), all cores = ${cores} threads, load ${load()}; ` +
      `${rounds} rounds × ${runs} runs after 1 warm-up, medians; PyTorch's layers: ${torchLayerRuns} hooked passes a round`,
  );
  const rows: Row[] = [];
  const layerRows: LayerRow[] = [];
  const agreement: Record<string, string> = {};
  const loadStart = loadavg();
  for (const name of modelNames) {
    const spec = specOf(name, { ultralyticsDir, gsconvDir });
    if (typeof spec === 'string') {
      console.log(`\n## ${name}: skipped, ${spec}`);
      agreement[name] = `skipped: ${spec}`;
      continue;
    }
    await benchModel(spec, rows, layerRows, agreement);
  }
  const loadEnd = loadavg();
  // the README's table: one line per model and engine
  console.log(`\n| model | engine | threads | median ms | vs PyTorch (same threads) |\n|---|---|---:|---:|---:|`);
  for (const r of rows)
    console.log(
      `| ${r.model} | ${r.engine} | ${r.threads} | ${fmtMs(r.medianMs)} | ` +
        `${Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}×` : '—'} |`,
    );
  console.log(`\n| model | engine | threads | Spearman | largest share difference |\n|---|---|---:|---:|---|`);
  for (const l of layerRows)
    console.log(
      `| ${l.model} | ${l.engine} | ${l.threads} | ${l.spearman.toFixed(3)} | ${l.gapPoints.toFixed(1)} points (layer ` +
        `${l.gapLayer}, ${l.gapModule}) |`,
    );
  console.log(
    `\noutput agreement with upstream PyTorch: ${Object.entries(agreement)
      .map(([m, a]) => `${m}: ${a}`)
      .join('; ')}`,
  );
  console.log(
    `load average (1, 5, 15 min): ${loadStart.map((x) => x.toFixed(2)).join(' ')} at the start, ` +
      `${loadEnd.map((x) => x.toFixed(2)).join(' ')} at the end`,
  );
  writeFileSync(
    join(out, 'results.json'),
    JSON.stringify({ imgsz, batch, rounds, runs, cores, loadStart, loadEnd, rows, layerRows, agreement }, null, 2),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
