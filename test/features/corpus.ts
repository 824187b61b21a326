/** Corpus YAMLs the feature tests edit (located the way test/support/reference.ts finds ../shared). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS, requireCorpus } from '../support/reference.ts';

export const corpusPath = (rel: string): string => join(CORPUS, rel);
export function corpusText(rel: string): string {
  requireCorpus();
  return readFileSync(corpusPath(rel), 'utf8');
}

export const YOLOV5N = 'yolov5/models/yolov5n.yaml';
export const SLIMNECK_V5N = 'slimneck/gsconv-yolov5/models/slimneck-yolov5n.yaml';
export const VOVGSCSP_NECK = 'seed/yolov5n-vovgscsp-neck.yaml';
export const YOLOV8 = 'slimneck/gsconv-yolov8_9_10_11/ultralytics/cfg/models/v8/yolov8.yaml';

/** Replaces exactly one occurrence (a test edit that silently matched nothing would test nothing). */
export function replaceOnce(text: string, from: string, to: string): string {
  const i = text.indexOf(from);
  if (i < 0 || text.indexOf(from, i + 1) >= 0) throw new Error(`'${from}' must occur exactly once`);
  return text.slice(0, i) + to + text.slice(i + from.length);
}
