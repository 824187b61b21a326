/**
 * The reference records of ../shared/reference (what the upstream PyTorch code built for each corpus YAML) and
 * how to resolve the same YAML the same way (same framework, scale, image size, file name).
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, dirname, basename } from 'node:path';
import type { FrameworkId } from '../../server/src/core/framework/types.ts';
import type { ResolveOptions } from '../../server/src/core/resolve.ts';

/**
 * ../shared next to the repository (CI clones the repo beside it), found by walking up; YOLO_LENS_SHARED names it
 * instead, and then only that folder counts (set it to a missing folder to run as a clone without the corpus).
 */
function findShared(): string {
  if (process.env.YOLO_LENS_SHARED) return process.env.YOLO_LENS_SHARED;
  let dir = dirname(new URL(import.meta.url).pathname);
  for (let k = 0; k < 8; k++) {
    const candidate = join(dir, 'shared');
    if (existsSync(join(candidate, 'reference')) && existsSync(join(candidate, 'corpus'))) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(new URL(import.meta.url).pathname), '../../../shared');
}
export const SHARED = findShared();
export const REFERENCE = join(SHARED, 'reference');
export const CORPUS = join(SHARED, 'corpus');

/**
 * Why the tests that need the reference corpus cannot run, in one line; null when it is there. Tests that need it
 * pass `needsCorpus` as their options: without the corpus they are skipped with this reason, except under CI=true,
 * where they run and fail with it (CI can never pass by skipping).
 */
export const CORPUS_MISSING: string | null =
  existsSync(REFERENCE) && existsSync(CORPUS)
    ? null
    : `needs the reference corpus, not found at ${SHARED}: clone the shared folder (corpus/, reference/) beside the repository ` +
      'as ../shared, or set YOLO_LENS_SHARED';
export const needsCorpus: { skip?: string } = CORPUS_MISSING && process.env.CI !== 'true' ? { skip: CORPUS_MISSING } : {};

/** The corpus is there, or this throws the reason (what a test that needs it and runs anyway fails with). */
export function requireCorpus(): void {
  if (CORPUS_MISSING) throw new Error(CORPUS_MISSING);
}

export interface RefLayer {
  i: number;
  from: unknown;
  n: number;
  module: string;
  args: unknown[];
  params: number | null;
  out_shape: number[] | null;
  out_shapes: number[][] | null;
  flops: number | null;
}

export interface RefRecord {
  yaml: string;
  framework: 'yolov5' | 'ultralytics';
  code?: { repo: string; commit: string; dir: string } | null;
  scale: string | null;
  ch: number;
  imgsz: number;
  nc: number;
  ok: boolean;
  stage: string | null;
  error: string | null;
  layers: RefLayer[];
  params: number | null;
  gflops: number | null;
  gflops_imgsz: number | null;
  summary: string | null;
  params_fused?: number | null;
  gflops_fused?: number | null;
  summary_fused?: string | null;
  fused_error?: string;
  gflops_ultralytics_thop?: number;
}

export interface RefCase {
  /** path of the JSON, relative to reference/ */
  name: string;
  record: RefRecord;
  yamlPath: string;
  text: string;
  options: ResolveOptions;
  mutant: boolean;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith('.json') && e !== 'MANIFEST.json') out.push(p);
  }
  return out;
}

/** Every .yaml file under a folder, sorted. */
export function yamlFilesUnder(dir: string, out: string[] = []): string[] {
  requireCorpus();
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yamlFilesUnder(p, out);
    else if (e.endsWith('.yaml')) out.push(p);
  }
  return out.sort();
}

/** The framework id a record is checked with (SCHEMA.md: which code built it). */
export function frameworkOf(r: RefRecord): FrameworkId {
  if (r.framework === 'ultralytics') return r.code?.repo === '3dEYE/ultralytics' ? 'ultralytics-8.4' : 'ultralytics-8.3';
  const dir = r.code?.dir ?? '';
  if (dir === 'gsconv-yolov5') return 'yolov5-gsconv';
  if (dir === 'gsconv-scaled-yolov4') return 'scaled-yolov4';
  return 'yolov5';
}

/** The file name the reference run gave the framework: ultralytics loads `yolov8-seg.yaml` at scale s as `yolov8s-seg.yaml`. */
export function loadedFileName(r: RefRecord, yamlPath: string): string {
  const base = basename(yamlPath);
  if (r.framework !== 'ultralytics' || !r.scale) return base;
  const stem = base.replace(/\.yaml$/, '');
  if (/yolo[v]?\d+[nslmx]/.test(stem)) return base;
  const m = /^(.*?\d+)(.*)$/.exec(stem);
  return m ? `${m[1]}${r.scale}${m[2]}.yaml` : base;
}

export function loadCases(): RefCase[] {
  requireCorpus();
  const cases: RefCase[] = [];
  for (const p of walk(REFERENCE)) {
    const name = relative(REFERENCE, p);
    const record = JSON.parse(readFileSync(p, 'utf8')) as RefRecord;
    const mutant = name.startsWith('mutants');
    const yamlPath = mutant ? join(dirname(p), record.yaml.split('/').pop()!) : join(CORPUS, record.yaml);
    if (!existsSync(yamlPath)) throw new Error(`no YAML for ${name}: ${yamlPath}`);
    const text = readFileSync(yamlPath, 'utf8');
    const options: ResolveOptions = {
      framework: frameworkOf(record),
      imgsz: record.imgsz,
      ch: record.ch,
      fileName: loadedFileName(record, yamlPath),
      ...(record.scale ? { scale: record.scale } : {}),
    };
    cases.push({ name, record, yamlPath, text, options, mutant });
  }
  return cases.sort((a, b) => a.name.localeCompare(b.name));
}
