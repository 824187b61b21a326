/**
 * Top-level keys that do nothing: a key this framework ignores or overwrites although another reads it (YOLO040:
 * ultralytics' loader replaces `scale:` with the letter of the file name, 8.4's DetectionModel ignores `ch:`, the
 * multiples beside `scales:` are never read), and a key no framework reads at all (YOLO041, a typo?).
 */
import { CODES, type Diagnostic, diag } from '../../diagnostics.ts';
import type { Model } from '../../model.ts';
import type { Framework } from '../../framework/types.ts';
import { allFrameworks } from '../../framework/index.ts';
import { keysRead } from '../../framework/keys.ts';
import { guessScaleFromFileName } from '../../framework/detect.ts';
import { didYouMean } from '../../suggest.ts';
import { keyInOtherVersion } from './versions.ts';

/** Keys some framework reads, with the first one that does (for the message). */
function keysAnywhere(): Map<string, Framework> {
  const out = new Map<string, Framework>();
  for (const f of allFrameworks()) for (const head of [null, 'Classify']) for (const k of keysRead(f, head)) if (!out.has(k)) out.set(k, f);
  return out;
}
let anywhere: Map<string, Framework> | undefined;

const baseName = (model: Model): string => model.fileName?.replace(/\\/g, '/').split('/').pop() ?? 'the file';

export function keyChecks(model: Model): Diagnostic[] {
  const framework = model.framework;
  const lastModule = model.doc.layers[model.doc.layers.length - 1]?.module?.value;
  const head = typeof lastModule === 'string' ? lastModule : null;
  const read = keysRead(framework, head);
  anywhere ??= keysAnywhere();
  const hasScales = framework.header.scales && model.doc.top.has('scales');
  const out: Diagnostic[] = [];
  const ignored = (key: string, range: Diagnostic['range'], message: string) =>
    out.push(diag('YOLO040', range, message, CODES.YOLO040.severity, { data: { key } }));
  for (const [key, entry] of model.doc.top) {
    const at = entry.keyRange;
    if (read.has(key)) {
      if (key === 'scale' && framework.dialect === 'ultralytics') {
        const guessed = guessScaleFromFileName(model.fileName, framework);
        ignored(
          key,
          at,
          `\`scale:\` is overwritten: ${framework.label}'s YAML loader sets d['scale'] to the letter in the file name ` +
            `(${guessed ? `'${guessed}' in ${baseName(model)}` : `none in ${baseName(model)}`}), so ` +
            `${model.scale ? `the model is built at '${model.scale}'` : 'this key never counts'}; put the scale letter in the ` +
            `file name instead (e.g. yolov8s-custom.yaml)`,
        );
      } else if ((key === 'depth_multiple' || key === 'width_multiple') && hasScales) {
        const row = model.scale ? ` (the '${model.scale}' row gives depth ${model.depthMultiple}, width ${model.widthMultiple})` : '';
        ignored(key, at, `${key} is ignored when scales: is present: parse_model takes depth and width from the scales row${row}`);
      }
      continue;
    }
    // a key a newer version of this code base reads is YOLO034's (versions.ts), with the switch as its fix
    if (keyInOtherVersion(model, key)) continue;
    const reader = anywhere.get(key);
    if (reader) {
      const why =
        (key === 'ch' || key === 'channels') && framework.header.chKey(head) === null
          ? `the input channels come from the model's ch argument (the dataset's channels): layer 0 is built for ${model.ch}`
          : `${reader.label} reads it`;
      ignored(key, at, `${framework.label} ignores \`${key}:\` (${why})`);
      continue;
    }
    const near = didYouMean(key, [...anywhere.keys()]);
    out.push(
      diag(
        'YOLO041',
        at,
        `no framework reads \`${key}:\`${near ? `: did you mean \`${near}\`?` : ' (it changes nothing)'}`,
        CODES.YOLO041.severity,
        { data: { key, ...(near ? { suggestion: near } : {}) } },
      ),
    );
  }
  return out;
}
