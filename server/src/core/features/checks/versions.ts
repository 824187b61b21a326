/**
 * What another version of the same code base would take (YOLO034, `data.framework` names it for the quick fix that
 * switches): a layer whose args this version's constructor refuses but the other version's builds (SPPF's `n` and
 * `shortcut` in ultralytics 8.4), and a top-level key only the other version reads (`end2end:`, `reg_max:`). A module
 * name only the other version has is reported by the resolver itself.
 */
import { type Code, type Diagnostic, diag } from '../../diagnostics.ts';
import type { Model } from '../../model.ts';
import type { Framework } from '../../framework/types.ts';
import { allFrameworks } from '../../framework/index.ts';
import { resolveDoc } from '../../resolve.ts';
import { signatureText } from '../../catalog/types.ts';
import { keysRead } from '../../framework/keys.ts';

/** The resolver's codes for a constructor call the module refuses. */
const BAD_CALL = new Set<Code>(['YOLO012', 'YOLO013', 'YOLO029']);

/** The other versions of this file's code base, newest first. */
export function siblings(framework: Framework): Framework[] {
  return allFrameworks()
    .filter((f) => f.codeBase === framework.codeBase && f.id !== framework.id)
    .reverse();
}

const headOf = (model: Model): string | null => {
  const v = model.doc.layers[model.doc.layers.length - 1]?.module?.value;
  return typeof v === 'string' ? v : null;
};

/**
 * A key a newer version reads and this one does not (a file written for the newer one), with that version; null
 * otherwise. A key only an older version read (8.3's `ch:` under 8.4) is not a reason to go back: keys.ts says it is
 * ignored.
 */
export function keyInOtherVersion(model: Model, key: string): Framework | null {
  const head = headOf(model);
  if (keysRead(model.framework, head).has(key)) return null;
  const order = allFrameworks();
  const mine = order.indexOf(model.framework);
  return siblings(model.framework).find((f) => order.indexOf(f) > mine && keysRead(f, head).has(key)) ?? null;
}

function versionArgs(model: Model): Diagnostic[] {
  const failing = model.diagnostics.filter((d) => d.severity === 'error' && BAD_CALL.has(d.code) && d.layer !== undefined);
  if (!failing.length) return [];
  const out: Diagnostic[] = [];
  const done = new Set<number>();
  for (const other of siblings(model.framework)) {
    // the same file under the other version (one resolve, only when a call failed here)
    const there = resolveDoc(model.doc, {
      framework: other.id,
      imgsz: model.imgsz,
      ...(model.fileName ? { fileName: model.fileName } : {}),
      ...(model.scale ? { scale: model.scale } : {}),
      skipFused: true,
    });
    for (const d of failing) {
      const k = d.layer!;
      const l = model.layers[k];
      if (done.has(k) || !l?.moduleName || !l.src.module) continue;
      const theirs = there.layers[k];
      const builds = theirs?.entry && !there.diagnostics.some((x) => x.layer === k && x.severity === 'error');
      if (!builds) continue;
      done.add(k);
      const mine = l.entry ? `, where it is ${l.moduleName}${signatureText(l.entry.def)}` : '';
      out.push(
        diag(
          'YOLO034',
          l.src.module.range,
          `${l.moduleName} takes these args in ${other.label} (${l.moduleName}${signatureText(theirs.entry!.def)}), not in ` +
            `${model.framework.label}${mine}: this file is checked against ${model.framework.label} (${model.frameworkReason})`,
          undefined,
          { layer: k, data: { framework: other.id } },
        ),
      );
    }
  }
  return out;
}

function versionKeys(model: Model): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [key, entry] of model.doc.top) {
    const other = keyInOtherVersion(model, key);
    if (!other) continue;
    out.push(
      diag(
        'YOLO034',
        entry.keyRange,
        `\`${key}:\` is read by ${other.label}; ${model.framework.label} ignores it: this file is checked against ` +
          `${model.framework.label} (${model.frameworkReason})`,
        'warning',
        { data: { framework: other.id, key } },
      ),
    );
  }
  return out;
}

export function versionChecks(model: Model): Diagnostic[] {
  return [...versionKeys(model), ...versionArgs(model)];
}
