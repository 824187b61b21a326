/**
 * The real-issue fixtures of test/fixtures/real-issues: mistakes people made in model YAMLs (taken from GitHub
 * threads of ultralytics/ultralytics, ultralytics/yolov5 and the Slim-neck repo), each as a broken.yaml that
 * reproduces the mistake, a fixed.yaml, and case.json with the thread, the line a good diagnostic must point at and
 * what the real upstream code did with both files (scripts/truth/verdicts.py).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolveOptions } from '../../server/src/core/resolve.ts';

export const REAL_ISSUES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'real-issues');

import type { FrameworkId } from '../../server/src/core/framework/types.ts';
export type { FrameworkId };
export const FRAMEWORK_IDS: readonly FrameworkId[] = ['yolov5', 'yolov5-gsconv', 'scaled-yolov4', 'ultralytics-8.3', 'ultralytics-8.4'];

export type Stage = 'parse' | 'build' | 'forward';

/** What the upstream code did with one YAML: built and ran it (ok) or raised at a stage. */
export interface Verdict {
  readonly ok: boolean;
  readonly stage: Stage | null;
  /** `<ExceptionType>: <first line of the message>` */
  readonly error: string | null;
  /** total parameters, when ok */
  readonly params?: number;
  /** GFLOPs in the framework's summary line, null when it prints none; when ok */
  readonly gflops?: number | null;
}

export interface RealIssueCase {
  readonly id: string;
  /** the GitHub thread (or, for a mistake shipped in a repository, the file) */
  readonly url: string;
  readonly title: string;
  readonly framework: FrameworkId;
  /** the file name the user would have had: ultralytics takes the scale letter from it */
  readonly fileName?: string;
  /** the scales key the framework used for broken.yaml (ultralytics) */
  readonly scale?: string;
  /** the image size the verdicts were run at (image-size traps: a size that fails); 640 when absent */
  readonly imgsz?: number;
  /** a short slug: shifted-indices, image-size-trap, unknown-module, ... */
  readonly kind: string;
  readonly summary: string;
  readonly expect: {
    /** 1-based line of broken.yaml the diagnostic must be on */
    readonly line: number;
    readonly severity: 'error' | 'warning';
    /** one sentence a good message says */
    readonly what: string;
  };
  readonly verdict: { readonly broken: Verdict; readonly fixed: Verdict };
  /** true when the fixed file is also rejected by the real code (none today; the data test checks the rest) */
  readonly fixedFails?: boolean;
  readonly dir: string;
  readonly brokenText: string;
  readonly fixedText: string;
}

/**
 * Resolve options for one of the case's files, as the verdicts were made: the user's file name (the scale comes
 * from it, as ultralytics derives it), the image size and the framework the verdicts were recorded with.
 */
export function optionsOf(c: RealIssueCase): ResolveOptions {
  return {
    framework: c.framework,
    ...(c.fileName ? { fileName: c.fileName } : {}),
    ...(c.imgsz ? { imgsz: c.imgsz } : {}),
  };
}

export function loadRealIssueCases(dir: string = REAL_ISSUES_DIR): RealIssueCase[] {
  const cases: RealIssueCase[] = [];
  for (const id of readdirSync(dir).sort()) {
    const caseDir = join(dir, id);
    const caseFile = join(caseDir, 'case.json');
    if (!existsSync(caseFile)) continue;
    const data = JSON.parse(readFileSync(caseFile, 'utf8')) as Omit<RealIssueCase, 'dir' | 'brokenText' | 'fixedText'>;
    cases.push({
      ...data,
      dir: caseDir,
      brokenText: readFileSync(join(caseDir, 'broken.yaml'), 'utf8'),
      fixedText: readFileSync(join(caseDir, 'fixed.yaml'), 'utf8'),
    });
  }
  return cases;
}
