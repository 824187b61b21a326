/**
 * Measures and fits the profile's PyTorch estimate (server/src/runtime/torch-cost.ts): per-layer times of upstream
 * models in real PyTorch (torch_layer_times.py: the upstream code's own build, fused, eval, no_grad; per layer the
 * minimum over the runs), beside the work counts our trace gives for the same layers; then a non-negative least-squares
 * fit of ms per unit of work, per thread setting, on every model but the held-out ones (the four bench/forward
 * reports), whose agreement is printed as the check of the fit.
 *
 *   node --import tsx scripts/truth/torch-cost.ts --ultralytics DIR --gsconv-yolov5 DIR [--runs 15] [--only a,b]
 *   node --import tsx scripts/truth/torch-cost.ts --fit     refit from the committed measurements
 *   node --import tsx scripts/truth/torch-cost.ts --refeature --ultralytics DIR --gsconv-yolov5 DIR
 *       recount the work of every measured model (after a change to the features), keep the PyTorch times, refit
 *
 * Writes scripts/truth/torch-cost/measurements.json (the measurements: committed data) and
 * server/src/runtime/torch-cost-model.json (the coefficients the profile uses).
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planJob } from '../../server/src/runtime/engine.ts';
import { traceNetwork } from '../../server/src/runtime/trace.ts';
import {
  estimateTorchLayerMs,
  fitNonNegative,
  layerCostFeatures,
  TORCH_COST_FEATURES,
  type TorchCostFeature,
  type TorchCostModel,
} from '../../server/src/runtime/torch-cost.ts';
import { shareGaps, spearman } from '../../bench/stats.ts';
import type { FrameworkId } from '../../server/src/core/framework/types.ts';

const root = join(__dirname, '..', '..');
const measurementsFile = join(__dirname, 'torch-cost', 'measurements.json');
const modelFile = join(root, 'server/src/runtime/torch-cost-model.json');
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const IMGSZ = 640;

interface Spec {
  readonly name: string;
  /** the upstream code base, and the YAML: a path under it (or under this repository: `own`) */
  readonly tree: 'ultralytics' | 'gsconv-yolov5';
  readonly yaml: string;
  readonly own?: boolean;
  readonly heldOut?: boolean;
}

/** The bench's four models are held out; the rest span the module families the estimate must price. */
const MODELS: readonly Spec[] = [
  { name: 'slimneck', tree: 'gsconv-yolov5', yaml: 'examples/slimneck-yolov5n.yaml', own: true, heldOut: true },
  { name: 'yolov8n', tree: 'ultralytics', yaml: 'v8/yolov8.yaml', heldOut: true },
  { name: 'yolo11n', tree: 'ultralytics', yaml: '11/yolo11.yaml', heldOut: true },
  { name: 'yolo26n', tree: 'ultralytics', yaml: '26/yolo26.yaml', heldOut: true },
  { name: 'yolov8s', tree: 'ultralytics', yaml: 'v8/yolov8.yaml' },
  { name: 'yolo11s', tree: 'ultralytics', yaml: '11/yolo11.yaml' },
  { name: 'yolo26s', tree: 'ultralytics', yaml: '26/yolo26.yaml' },
  { name: 'yolov10n', tree: 'ultralytics', yaml: 'v10/yolov10n.yaml' },
  { name: 'yolov9t', tree: 'ultralytics', yaml: 'v9/yolov9t.yaml' },
  { name: 'yolov6n', tree: 'ultralytics', yaml: 'v6/yolov6.yaml' },
  { name: 'yolo12n', tree: 'ultralytics', yaml: '12/yolo12.yaml' },
  { name: 'yolov5n', tree: 'ultralytics', yaml: 'v5/yolov5.yaml' },
  { name: 'yolov8n-p2', tree: 'ultralytics', yaml: 'v8/yolov8-p2.yaml' },
  { name: 'yolov8n-ghost', tree: 'ultralytics', yaml: 'v8/yolov8-ghost.yaml' },
  { name: 'yolov3-tinyu', tree: 'ultralytics', yaml: 'v3/yolov3-tiny.yaml' },
  { name: 'gsconv-yolov5s', tree: 'gsconv-yolov5', yaml: 'models/GSConv-yolov5s.yaml' },
  { name: 'gsconv-yolov5n', tree: 'gsconv-yolov5', yaml: 'models/GSConv-yolov5n.yaml' },
  { name: 'fork-yolov5s', tree: 'gsconv-yolov5', yaml: 'models/yolov5s.yaml' },
  { name: 'snc-yolov5s', tree: 'gsconv-yolov5', yaml: 'models/SNc-yolov5s.yaml' },
  // P2 heads in the fork's Detect (four levels, the largest at stride 4): ours, as the trees have none this small
  { name: 'yolov5n-p2', tree: 'gsconv-yolov5', yaml: 'scripts/truth/torch-cost/yolov5n-p2.yaml', own: true },
  { name: 'yolov5s-p2', tree: 'gsconv-yolov5', yaml: 'scripts/truth/torch-cost/yolov5s-p2.yaml', own: true },
];

interface Measured {
  readonly name: string;
  readonly heldOut: boolean;
  readonly modules: readonly string[];
  /** per layer, TORCH_COST_FEATURES order */
  readonly features: readonly (readonly number[])[];
  /** per thread setting: per-layer PyTorch ms, and the whole forward */
  readonly torchMs: Readonly<Record<'1' | 'all', readonly number[]>>;
  readonly wallMs: Readonly<Record<'1' | 'all', number>>;
}

interface Measurements {
  readonly torch: string;
  readonly cpu: string;
  readonly cores: number;
  readonly measured: string;
  readonly imgsz: number;
  readonly features: readonly string[];
  readonly models: Measured[];
}

interface Trees {
  readonly ultralytics: string;
  readonly gsconv: string;
}

function trees(): Trees {
  const ultralytics = flag('--ultralytics') ?? process.env.YOLO_LENS_ULTRALYTICS;
  const gsconv = flag('--gsconv-yolov5') ?? process.env.YOLO_LENS_GSCONV_YOLOV5;
  if (!ultralytics || !gsconv) throw new Error('needs --ultralytics DIR and --gsconv-yolov5 DIR (the upstream trees)');
  return { ultralytics, gsconv };
}

/** Our side of a model: its YAML's path, and the work counts per layer of the network we plan from it. */
function countWork(spec: Spec, t: Trees): { yamlPath: string; layers: number; features: number[][] } {
  const yamlPath = spec.own
    ? join(root, spec.yaml)
    : spec.tree === 'ultralytics'
      ? join(t.ultralytics, 'ultralytics/cfg/models', spec.yaml)
      : join(t.gsconv, spec.yaml);
  const framework: FrameworkId = spec.tree === 'ultralytics' ? 'ultralytics-8.4' : 'yolov5-gsconv';
  const { plan, error } = planJob({
    text: readFileSync(yamlPath, 'utf8'),
    fileName: `${spec.name}.yaml`,
    imgsz: IMGSZ,
    batch: 1,
    runs: 1,
    warmup: 0,
    backend: 'cpu',
    memoryLimitMB: 8192,
    framework,
  });
  if (!plan) throw new Error(`${spec.name}: ${error}`);
  const features = layerCostFeatures(traceNetwork(plan, { tensors: false }), plan.layers.length);
  return { yamlPath, layers: plan.layers.length, features: features.map((row) => row.map((v) => Number(v.toPrecision(6)))) };
}

function refeature(m: Measurements): Measurements {
  const t = trees();
  const models = m.models.map((x) => {
    const spec = MODELS.find((s) => s.name === x.name);
    if (!spec) throw new Error(`${x.name} is not in MODELS`);
    return { ...x, features: countWork(spec, t).features };
  });
  return { ...m, features: [...TORCH_COST_FEATURES], models };
}

function measure(): Measurements {
  const t = trees();
  const only = flag('--only')?.split(',');
  const runs = flag('--runs') ?? '15';
  const cores = cpus().length;
  const previous: Measurements | null = only && existsSync(measurementsFile) ? JSON.parse(readFileSync(measurementsFile, 'utf8')) : null;
  const models: Measured[] = previous ? previous.models.filter((m) => !only!.includes(m.name)) : [];
  let torch = previous?.torch ?? '?';
  for (const spec of MODELS) {
    if (only && !only.includes(spec.name)) continue;
    const treeRoot = spec.tree === 'ultralytics' ? t.ultralytics : t.gsconv;
    const { yamlPath, layers, features } = countWork(spec, t);
    const cfg = spec.tree === 'ultralytics' ? `${spec.name}.yaml` : yamlPath;
    const py = spawnSync(
      '/usr/bin/python3',
      [
        join(__dirname, 'torch_layer_times.py'),
        spec.tree === 'ultralytics' ? 'ultralytics' : 'yolov5',
        treeRoot,
        cfg,
        String(IMGSZ),
        `1,${cores}`,
        runs,
      ],
      { encoding: 'utf8', maxBuffer: 1 << 26 },
    );
    if (py.status !== 0) throw new Error(`${spec.name}: PyTorch failed: ${py.stderr.trim().split('\n').pop()}`);
    const r = JSON.parse(py.stdout.trim().split('\n').pop()!) as {
      torch: string;
      modules: string[];
      threads: Record<string, { layer_ms: number[]; wall_ms: number }>;
    };
    if (r.modules.length !== layers) throw new Error(`${spec.name}: ${r.modules.length} upstream layers, ${layers} ours`);
    torch = r.torch;
    const all = r.threads[String(cores)]!;
    const one = r.threads['1']!;
    models.push({
      name: spec.name,
      heldOut: !!spec.heldOut,
      modules: r.modules,
      features,
      torchMs: { '1': one.layer_ms.map(round), all: all.layer_ms.map(round) },
      wallMs: { '1': round(one.wall_ms), all: round(all.wall_ms) },
    });
    console.log(`${spec.name}: PyTorch ${round(one.wall_ms)} ms at 1 thread, ${round(all.wall_ms)} ms at ${cores}`);
  }
  const order = MODELS.map((m) => m.name);
  models.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  return {
    torch,
    cpu: cpus()[0]?.model.trim() ?? '?',
    cores,
    measured: new Date().toISOString().slice(0, 10),
    imgsz: IMGSZ,
    features: [...TORCH_COST_FEATURES],
    models,
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * The coefficients per thread setting, fitted on the models not held out. Each layer's squared error is weighted by
 * 1 / sqrt(its time x its model's total): between relative error (every layer counts, which the rank correlation
 * needs) and error in shares of the model (which the large layers dominate).
 */
export function fit(m: Measurements): TorchCostModel {
  const coefficients = {} as Record<'1' | 'all', Record<TorchCostFeature, number>>;
  for (const key of ['1', 'all'] as const) {
    const rows: number[][] = [];
    const targets: number[] = [];
    for (const model of m.models) {
      if (model.heldOut) continue;
      const total = model.torchMs[key].reduce((a, b) => a + b, 0);
      model.features.forEach((row, i) => {
        const w = 1 / Math.sqrt(Math.max(model.torchMs[key][i]!, 1e-3) * total);
        rows.push(row.map((v) => v * w));
        targets.push(model.torchMs[key][i]! * w);
      });
    }
    const x = fitNonNegative(rows, targets);
    coefficients[key] = Object.fromEntries(TORCH_COST_FEATURES.map((f, i) => [f, Number(x[i]!.toPrecision(6))])) as Record<
      TorchCostFeature,
      number
    >;
  }
  return {
    torch: m.torch,
    cpu: `${m.cpu} (${m.cores} cores)`,
    measured: m.measured,
    coefficients,
    fittedOn: m.models.filter((x) => !x.heldOut).map((x) => x.name),
    heldOut: m.models.filter((x) => x.heldOut).map((x) => x.name),
  };
}

/** How the estimate ranks each model's layers against the measured PyTorch times. */
export function agreement(m: Measurements, model: TorchCostModel): string[] {
  const lines: string[] = [];
  for (const x of m.models)
    for (const key of ['1', 'all'] as const) {
      const est = estimateTorchLayerMs(x.features, key === '1' ? 1 : m.cores, model);
      const gap = shareGaps(est, x.torchMs[key])[0]!;
      lines.push(
        `${x.heldOut ? 'held out' : 'fitted  '} ${x.name.padEnd(15)} ${key === '1' ? '1 thread ' : `${m.cores} threads`}  Spearman ` +
          `${spearman(est, x.torchMs[key]).toFixed(3)}  largest share difference ${Math.abs(gap.points).toFixed(1)} points ` +
          `(layer ${gap.layer} ${x.modules[gap.layer]})`,
      );
    }
  return lines;
}

function main(): void {
  const committed = (): Measurements => JSON.parse(readFileSync(measurementsFile, 'utf8')) as Measurements;
  const m = args.includes('--fit') ? committed() : args.includes('--refeature') ? refeature(committed()) : measure();
  if (!args.includes('--fit')) writeFileSync(measurementsFile, JSON.stringify(m) + '\n');
  const model = fit(m);
  writeFileSync(modelFile, JSON.stringify(model, null, 2) + '\n');
  console.log(`coefficients (${model.torch}, ${model.cpu}):\n${JSON.stringify(model.coefficients, null, 1)}`);
  for (const line of agreement(m, model)) console.log(line);
}

if (require.main === module) main();
