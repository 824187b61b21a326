/**
 * Records made in this repository with the real upstream code (scripts/truth), in the format of
 * ../shared/reference (SCHEMA.md): test/fixtures/mutants-extra/<framework>/ (one-edit mutants of corpus YAMLs for
 * kinds the shared mutants lack) and test/fixtures/records/<framework>/ (full records of models the corpus lacks,
 * e.g. yolov5s-LeakyReLU). Each JSON sits beside its YAML.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname, relative, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolveOptions } from '../../server/src/core/resolve.ts';
import { loadedFileName, type RefRecord } from './reference.ts';
import { type FrameworkId, FRAMEWORK_IDS } from './real-issues.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const MUTANTS_EXTRA_DIR = join(FIXTURES, 'mutants-extra');
export const RECORDS_DIR = join(FIXTURES, 'records');

export interface ExtraRecordMutation {
  readonly id: string;
  /** the corpus YAML it edits (path under ../shared/corpus) */
  readonly base: string;
  readonly kind: string;
  /** 1-based line of the edit in the mutant YAML */
  readonly line: number;
  readonly description: string;
  readonly before: string;
  readonly after: string;
}

export interface ExtraRecord extends RefRecord {
  readonly schema: number;
  readonly mutation?: ExtraRecordMutation;
}

export interface ExtraCase {
  /** path of the JSON relative to test/fixtures */
  readonly name: string;
  readonly framework: FrameworkId;
  readonly record: ExtraRecord;
  readonly yamlPath: string;
  readonly text: string;
  /** how to resolve the YAML as the record was made */
  readonly options: ResolveOptions;
  readonly mutant: boolean;
}

function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...jsonFiles(p));
    else if (e.endsWith('.json') && e !== 'MANIFEST.json') out.push(p);
  }
  return out;
}

function load(root: string, mutant: boolean): ExtraCase[] {
  const cases: ExtraCase[] = [];
  for (const framework of readdirSync(root).sort()) {
    if (!(FRAMEWORK_IDS as readonly string[]).includes(framework)) continue;
    const fw = framework as FrameworkId;
    for (const p of jsonFiles(join(root, framework))) {
      const record = JSON.parse(readFileSync(p, 'utf8')) as ExtraRecord;
      const yamlPath = join(dirname(p), basename(record.yaml));
      if (!existsSync(yamlPath)) throw new Error(`no YAML for ${p}: ${yamlPath}`);
      const options: ResolveOptions = {
        framework: fw,
        imgsz: record.imgsz,
        ch: record.ch,
        fileName: loadedFileName(record, yamlPath),
        ...(record.scale ? { scale: record.scale } : {}),
      };
      cases.push({ name: relative(FIXTURES, p), framework: fw, record, yamlPath, text: readFileSync(yamlPath, 'utf8'), options, mutant });
    }
  }
  return cases;
}

/** Every extra record: the mutants, then the full records. */
export function loadExtraRecords(): ExtraCase[] {
  return [...load(MUTANTS_EXTRA_DIR, true), ...load(RECORDS_DIR, false)];
}
