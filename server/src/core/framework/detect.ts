/**
 * Which framework builds a file: a setting, else the `# yolo-lens:` modeline, else the file's own evidence (its
 * dialect, and modules only one code base defines).
 */
import type { ModelDoc } from '../document.ts';
import { FRAMEWORKS, FRAMEWORK_ALIASES, frameworkByName } from './index.ts';
import type { Framework, FrameworkId } from './types.ts';
import { frameworkOfWorkspace, type WorkspaceFacts } from './workspace.ts';

export type ModelineKey = 'framework' | 'scale' | 'imgsz' | 'weights';

/** `# yolo-lens: framework=yolov5-gsconv scale=s imgsz=320 weights=yolov5s.pt` anywhere in the file. */
export function modeline(text: string): Partial<Record<ModelineKey, string>> {
  // a plain search first: the regex tries every '#' of a file (thousands of `# N` index comments)
  if (!text.includes('yolo-lens:')) return {};
  const m = /#\s*yolo-lens:\s*([^\n\r]*)/.exec(text);
  if (!m) return {};
  const out: Partial<Record<ModelineKey, string>> = {};
  for (const kv of m[1]!.trim().split(/\s+/)) {
    // split at the first '=' only: a checkpoint path may hold one
    const at = kv.indexOf('=');
    const k = at > 0 ? kv.slice(0, at) : '';
    const v = at > 0 ? kv.slice(at + 1) : '';
    if (v && (k === 'framework' || k === 'scale' || k === 'imgsz' || k === 'weights')) out[k] = v;
  }
  return out;
}

/** The Slim-neck YOLOv5 fork's modules, and Scaled-YOLOv4's: YOLOv5-dialect files using them build on those forks. */
const GS_NAMES = new Set(['GSConv', 'GSConvns', 'GSBottleneck', 'GSBottleneckC', 'VoVGSCSP', 'VoVGSCSPC']);
const SV4_NAMES = new Set(['BottleneckCSP2', 'SPPCSP', 'VoVCSP', 'HarDBlock', 'HarDBlock2', 'SPPCSPC', 'BottleneckCSPF']);

function moduleNames(doc: ModelDoc): string[] {
  return doc.layers.map((l) => l.module?.value).filter((v): v is string => typeof v === 'string');
}

/**
 * An ultralytics file that uses a module only the ultralytics 8.3 profile has (the Slim-neck modules) builds on
 * it alone; any other goes to the newest ultralytics.
 */
function ultralyticsFor(names: readonly string[]): { id: FrameworkId; why: string } {
  const newest = FRAMEWORK_ALIASES.ultralytics!;
  const newestProfile = FRAMEWORKS[newest];
  const only83 = names.find((n) => FRAMEWORKS['ultralytics-8.3']?.modules.has(n) && newestProfile && !newestProfile.modules.has(n));
  if (only83) return { id: 'ultralytics-8.3', why: `it uses ${only83}, which only ultralytics 8.3 with the Slim-neck modules defines` };
  return { id: newest, why: 'the newest ultralytics' };
}

/** How the framework was chosen: a setting (or CLI flag), the file's comment, the workspace's code, the file itself. */
export type FrameworkSource = 'setting' | 'modeline' | 'workspace' | 'file';

export interface Detection {
  readonly framework: Framework;
  readonly reason: string;
  readonly source: FrameworkSource;
}

/** Which upstream code would build this YAML, and why. */
export function detectFramework(doc: ModelDoc, forced?: string, workspace?: WorkspaceFacts): Detection {
  const chosen = forced ? frameworkByName(forced) : undefined;
  if (chosen) return { framework: chosen, reason: 'chosen by setting', source: 'setting' };
  const ml = modeline(doc.text).framework;
  const named = ml ? frameworkByName(ml) : undefined;
  if (named) return { framework: named, reason: 'chosen by the `# yolo-lens: framework=` comment', source: 'modeline' };
  const top = doc.top;
  const fromWorkspace = workspace ? frameworkOfWorkspace(workspace, top.has('anchors') ? 'yolov5' : 'ultralytics') : null;
  const ws = fromWorkspace ? FRAMEWORKS[fromWorkspace.id] : undefined;
  if (fromWorkspace && ws) return { framework: ws, reason: fromWorkspace.reason, source: 'workspace' };
  const pick = (id: FrameworkId, reason: string): Detection => ({
    framework: FRAMEWORKS[id] ?? FRAMEWORKS.yolov5!,
    reason,
    source: 'file',
  });
  const names = moduleNames(doc);
  if (!top.has('anchors')) {
    const dialect = top.has('scales') ? 'the file has `scales:`' : 'no `anchors:`';
    const u = ultralyticsFor(names);
    return pick(u.id, `ultralytics dialect (${dialect}); ${u.why}`);
  }
  if (names.some((n) => SV4_NAMES.has(n)))
    return pick('scaled-yolov4', 'YOLOv5 dialect with Scaled-YOLOv4 modules (BottleneckCSP2/SPPCSP/VoVCSP)');
  if (names.some((n) => GS_NAMES.has(n)))
    return pick('yolov5-gsconv', 'YOLOv5 dialect with Slim-neck modules: the Slim-neck YOLOv5 fork builds it');
  return pick('yolov5', 'YOLOv5 dialect (`anchors:`, depth/width multiples)');
}

/** The scale a file name selects (ultralytics `guess_model_scale`), by the framework's rule. */
export function guessScaleFromFileName(fileName: string | undefined, framework: Framework): string | null {
  const rule = framework.header.scaleFromFileName;
  if (!fileName || !rule) return null;
  const base = fileName.replace(/\\/g, '/').split('/').pop()!;
  const stem = base.replace(/\.[^.]*$/, '');
  return rule.exec(stem)?.groups?.scale ?? null;
}
