/**
 * Resolves every model YAML that ultralytics 8.4.33 ships (its `ultralytics/cfg/models/`), at every scale each one
 * lists, with YOLO Lens, and writes what YOLO Lens computed to test/data/ultralytics-8.4-models.json: the names and
 * our totals, never the upstream files. test/core/ultralytics-8.4-models.test.ts holds them against the real code's
 * figures and fails on any error diagnostic.
 *
 *   node --import tsx scripts/gen-ultralytics-8.4-models.ts <8.4.33 checkout>/ultralytics/cfg/models
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { resolve } from '../server/src/core/resolve.ts';
import { modelDiagnostics } from '../server/src/core/features/diagnostics.ts';
import { keyText, mapEntries, parseModelDoc } from '../server/src/core/document.ts';

export interface Resolved84 {
  /** path under cfg/models, e.g. `26/yolo26.yaml` */
  readonly yaml: string;
  readonly scale: string | null;
  /** the file name ultralytics loads it by (`yolo26n.yaml`): the scale rule reads it */
  readonly fileName: string;
  readonly errors: readonly string[];
  readonly params: number | null;
  readonly gflops: number | null;
  readonly paramsFused: number | null;
  readonly gflopsFused: number | null;
  readonly summary: string | null;
}

/** `yolo26.yaml` at n is loaded as `yolo26n.yaml`, `yoloe-26-seg.yaml` as `yoloe-26n-seg.yaml` */
export function loadedName(file: string, scale: string | null): string {
  if (!scale) return file;
  const m = /^(.*?\d+)(.*)$/.exec(file.replace(/\.yaml$/, ''));
  return m ? `${m[1]}${scale}${m[2]}.yaml` : file;
}

export function resolve84(yaml: string, text: string): Resolved84[] {
  const file = yaml.split('/').pop()!;
  const scales = parseModelDoc(text).top.get('scales');
  const letters = scales ? mapEntries(scales.value).map((e) => keyText(e.key)) : [null];
  return letters.map((scale) => {
    const fileName = loadedName(file, scale);
    const m = resolve(text, { framework: 'ultralytics-8.4', fileName, ...(scale ? { scale } : {}) });
    const errors = modelDiagnostics(m)
      .filter((d) => d.severity === 'error')
      .map((d) => `${d.code} ${d.message}`);
    const t = m.totals;
    return {
      yaml,
      scale,
      fileName,
      errors,
      params: t?.params ?? null,
      gflops: t?.gflops.printed ?? null,
      paramsFused: t?.paramsFused ?? null,
      gflopsFused: t?.gflopsFused.printed ?? null,
      summary: t?.summary ?? null,
    };
  });
}

function yamls(dir: string, root = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yamls(p, root, out);
    else if (e.endsWith('.yaml')) out.push(relative(root, p));
  }
  return out;
}

if (process.argv[1]?.endsWith('gen-ultralytics-8.4-models.ts')) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node --import tsx scripts/gen-ultralytics-8.4-models.ts <8.4.33 checkout>/ultralytics/cfg/models');
    process.exit(2);
  }
  const models = yamls(dir).flatMap((y) => resolve84(y, readFileSync(join(dir, y), 'utf8')));
  const out = join(import.meta.dirname, '..', 'test', 'data', 'ultralytics-8.4-models.json');
  writeFileSync(out, JSON.stringify({ ultralytics: '8.4.33', models }, null, 1) + '\n');
  const bad = models.filter((m) => m.errors.length);
  console.log(`${models.length} models from ${new Set(models.map((m) => m.yaml)).size} YAMLs; ${bad.length} with errors`);
  for (const m of bad) console.log(`  ${m.yaml} @${m.scale}: ${m.errors[0]}`);
}
