/**
 * The frameworks YOLO Lens reproduces, by id, and the names a user may write for them (CLI `--framework`, the
 * `yolo.framework` setting, the `# yolo-lens: framework=` modeline).
 */
import type { Framework, FrameworkId } from './types.ts';
import { YOLOV5 } from './profiles/yolov5.ts';
import { YOLOV5_GSCONV } from './profiles/yolov5-gsconv.ts';
import { SCALED_YOLOV4 } from './profiles/scaled-yolov4.ts';
import { ULTRALYTICS_8_3 } from './profiles/ultralytics-8.3.ts';
import { ULTRALYTICS_8_4 } from './profiles/ultralytics-8.4.ts';

export { YOLOV5, YOLOV5_GSCONV, SCALED_YOLOV4, ULTRALYTICS_8_3, ULTRALYTICS_8_4 };

export const FRAMEWORKS: Readonly<Partial<Record<FrameworkId, Framework>>> = {
  yolov5: YOLOV5,
  'yolov5-gsconv': YOLOV5_GSCONV,
  'scaled-yolov4': SCALED_YOLOV4,
  'ultralytics-8.3': ULTRALYTICS_8_3,
  'ultralytics-8.4': ULTRALYTICS_8_4,
};

/** Names a user may write besides the ids: `ultralytics` is the newest ultralytics. */
export const FRAMEWORK_ALIASES: Readonly<Record<string, FrameworkId>> = { ultralytics: 'ultralytics-8.4' };

/** Every framework, oldest code base first. */
export const allFrameworks = (): Framework[] => Object.values(FRAMEWORKS).filter((f): f is Framework => f !== undefined);

/** Every name a user may write for a framework: the ids, then the aliases. */
export const frameworkNames = (): string[] => [...Object.keys(FRAMEWORKS), ...Object.keys(FRAMEWORK_ALIASES)];

/** The framework a user-written id or alias names, or undefined. */
export function frameworkByName(name: string): Framework | undefined {
  const id = (FRAMEWORK_ALIASES[name] ?? name) as FrameworkId;
  return Object.prototype.hasOwnProperty.call(FRAMEWORKS, id) ? FRAMEWORKS[id] : undefined;
}

export type { Framework, FrameworkId } from './types.ts';

/** The framework with its version, as the status bar, the hover, `summary` and the graph header name it. */
export function frameworkTitle(f: Framework): string {
  if (f.label.includes(f.version)) return f.label;
  return `${f.label}, ${/^\d+\.\d+/.test(f.version) ? 'version' : 'commit'} ${f.version}`;
}
