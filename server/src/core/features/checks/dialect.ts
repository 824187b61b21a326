/**
 * A layer written for the other dialect (YOLO026): YOLOv5's `Detect, [nc, anchors]` in an ultralytics file and the
 * reverse, or any module whose args fit the other code base's constructor of the same name but not this one's.
 */
import { type Code, type Diagnostic, diag } from '../../diagnostics.ts';
import type { Model, ResolvedLayer } from '../../model.ts';
import { argIndexOf, type Framework } from '../../framework/types.ts';
import { FRAMEWORKS } from '../../framework/index.ts';
import { isSeq, pyRepr, seqItems } from '../../py.ts';
import { filledParams } from '../yamlParams.ts';

const ERROR_CODES_OF_A_BAD_CALL = new Set<Code>(['YOLO011', 'YOLO012', 'YOLO013', 'YOLO014', 'YOLO018', 'YOLO029', 'YOLO017']);

/** The framework of the other dialect that has a module of this name (preferring the one closest to this framework). */
function otherDialectEntry(framework: Framework, name: string) {
  for (const t of Object.values(FRAMEWORKS)) {
    if (!t || t.dialect === framework.dialect) continue;
    const e = t.modules.get(name);
    if (e) return { framework: t, entry: e };
  }
  return null;
}

/**
 * YOLO026: a layer written the other dialect's way. Detect-family heads are the common case (YOLOv5's
 * `Detect, [nc, anchors]` against ultralytics' anchor-free `Detect, [nc]`); any module whose args do not fit this
 * framework's constructor but fit the other dialect's is reported the same way.
 */
export function dialectMismatches(model: Model): Diagnostic[] {
  const out: Diagnostic[] = [];
  const framework = model.framework;
  for (const l of model.layers) {
    const src = l.src;
    const name = l.moduleName;
    const argsSrc = src.args;
    if (!name || !argsSrc || argsSrc.kind !== 'seq') continue;
    const yamlArgs = argsSrc.items ?? [];
    const head = l.entry?.treat === 'head' || /^(Detect|Segment|Pose|OBB|v10Detect|WorldDetect)$/.test(name);
    if (head && framework.dialect === 'ultralytics') {
      const anchorsArg = yamlArgs.findIndex(
        (a) => a.value === 'anchors' || (isSeq(a.value) && seqItems(a.value).length > 0 && isSeq(seqItems(a.value)[0]!)),
      );
      if (anchorsArg >= 0) {
        out.push(
          diag(
            'YOLO026',
            yamlArgs[anchorsArg]!.range,
            `${name} here is ultralytics' anchor-free head: it takes ` +
              `[nc${name === 'Segment' ? ', nm, npr' : name === 'Pose' ? ', kpt_shape' : ''}], not YOLOv5's [nc, anchors] (parse_model ` +
              `would call ${name}(nc, ${pyRepr(yamlArgs[anchorsArg]!.value)}, [channels]))`,
            undefined,
            {
              layer: l.index,
              data: { dialect: 'yolov5', argIndex: anchorsArg },
            },
          ),
        );
        continue;
      }
    }
    if (head && framework.dialect === 'yolov5' && (name === 'Detect' || name === 'Segment')) {
      const minArgs = name === 'Detect' ? 2 : 4;
      if (yamlArgs.length < minArgs && !yamlArgs.some((a) => a.value === 'anchors')) {
        out.push(
          diag(
            'YOLO026',
            argsSrc.range,
            `${pyRepr(argsSrc.value)} is ultralytics' anchor-free form; YOLOv5's ${name} takes [nc, ` +
              `anchors${name === 'Segment' ? ', nm, npr' : ''}] (e.g. [nc, anchors] with the file's anchors: key)`,
            undefined,
            {
              layer: l.index,
              data: { dialect: 'ultralytics' },
            },
          ),
        );
        continue;
      }
    }
    // generic: this framework rejects the call, the other dialect's constructor of the same name would take it
    const failed = model.diagnostics.some((d) => d.layer === l.index && d.severity === 'error' && ERROR_CODES_OF_A_BAD_CALL.has(d.code));
    if (!failed) continue;
    // a module this framework lacks altogether is YOLO011's business; here the module exists in both
    const mine = l.entry;
    if (!mine) continue;
    const other = otherDialectEntry(framework, name);
    if (!other) continue;
    if (fits(mine, yamlArgs.length)) continue;
    if (!fits(other.entry, yamlArgs.length)) continue;
    out.push(
      diag(
        'YOLO026',
        src.module!.range,
        `${name} takes these args in ${other.framework.label}, not in ${framework.label}: the file is read as ` +
          `${framework.dialect === 'yolov5' ? 'a YOLOv5' : 'an ultralytics'} YAML (${model.frameworkReason})`,
        undefined,
        {
          layer: l.index,
          data: { dialect: other.framework.dialect },
        },
      ),
    );
  }
  return out;
}

/** Would a YAML args list of this length bind to the constructor (positional count within the signature)? */
function fits(entry: NonNullable<ResolvedLayer['entry']>, yamlCount: number): boolean {
  const sig = entry.def.signature;
  let passed: number;
  if (entry.treat === 'bn') passed = 1;
  else if (entry.treat === 'head') passed = yamlCount + 1;
  else {
    const last = yamlCount > 0 ? (argIndexOf(entry, yamlCount - 1) ?? 0) + 1 : 0;
    passed = Math.max(last, ...filledParams(entry).map((f) => f.argIndex + 1));
  }
  const required = sig.filter((p) => p.default === undefined).length;
  return (entry.def.varargs || passed <= sig.length) && passed >= required;
}
