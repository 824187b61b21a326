/**
 * The settings that decide a file's diagnostics, wherever they come from (the editor's `yolo.*` settings, the
 * `settings` part of `.yolo-lens.json`, `yolo-lens check`'s flags): one shape and one precedence, so the editor and
 * the command line say the same about the same text. A file's own `# yolo-lens:` comment wins over every setting.
 */
import { CODES, type SeverityOverride } from './diagnostics.ts';
import { modeline } from './framework/detect.ts';
import { frameworkByName, frameworkNames } from './framework/index.ts';
import type { ResolveOptions } from './resolve/options.ts';

export interface LensSettings {
  /** a framework id or alias; absent (or 'auto'): chosen from the workspace's code or the file */
  readonly framework?: string;
  /** the `scales:` row; absent: the file name's letter, else the first row */
  readonly scale?: string;
  /** image size for shapes, per-layer FLOPs and the image-size checks; absent: 640 */
  readonly imgsz?: number;
  /** per code: another severity, or 'off' */
  readonly severity?: Readonly<Record<string, SeverityOverride>>;
}

export const SEVERITY_LEVELS: readonly SeverityOverride[] = ['error', 'warning', 'information', 'hint', 'off'];
export const MIN_IMGSZ = 32;
export const MAX_IMGSZ = 8192;
export const CODE_PATTERN = /^YOLO\d{3}$/;

/** Layers of settings, the later winning field by field; severity overrides merge code by code. */
export function mergeSettings(...layers: readonly (LensSettings | null | undefined)[]): LensSettings {
  let out: LensSettings = {};
  for (const s of layers) {
    if (!s) continue;
    out = {
      ...out,
      ...(s.framework !== undefined ? { framework: s.framework } : {}),
      ...(s.scale !== undefined ? { scale: s.scale } : {}),
      ...(s.imgsz !== undefined ? { imgsz: s.imgsz } : {}),
      ...(s.severity ? { severity: { ...out.severity, ...s.severity } } : {}),
    };
  }
  return out;
}

/** The resolve options the settings give for this text: a key the file's `# yolo-lens:` comment names is the file's. */
export function settingsOptions(text: string, s: LensSettings): Pick<ResolveOptions, 'framework' | 'scale' | 'imgsz'> {
  const ml = modeline(text);
  return {
    ...(s.framework && s.framework !== 'auto' && !ml.framework ? { framework: s.framework } : {}),
    ...(s.scale && !ml.scale ? { scale: s.scale } : {}),
    ...(s.imgsz !== undefined && !ml.imgsz ? { imgsz: s.imgsz } : {}),
  };
}

export interface SettingsProblem {
  /** the field at fault (`framework`, `severity.YOLO099`...), or '' for the whole object */
  readonly key: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

/** Why a severity override is refused, or null: the same rule for `.yolo-lens.json` and `--severity CODE=level`. */
export function severityProblem(code: string, level: unknown): string | null {
  if (!CODE_PATTERN.test(code)) return `'${code}' is not a diagnostic code (YOLO followed by three digits)`;
  if (!Object.prototype.hasOwnProperty.call(CODES, code)) return `there is no diagnostic ${code}`;
  if (typeof level !== 'string' || !(SEVERITY_LEVELS as readonly string[]).includes(level))
    return `the severity of ${code} must be one of ${SEVERITY_LEVELS.join(', ')}, got ${JSON.stringify(level)}`;
  return null;
}

/** Why a framework name is refused, or null. */
export function frameworkProblem(v: unknown): string | null {
  if (v === 'auto' || (typeof v === 'string' && frameworkByName(v))) return null;
  return `framework must be auto or one of ${frameworkNames().join(', ')}, got ${JSON.stringify(v)}`;
}

/** Why an image size is refused, or null. */
export function imgszProblem(v: unknown): string | null {
  if (typeof v === 'number' && Number.isInteger(v) && v >= MIN_IMGSZ && v <= MAX_IMGSZ) return null;
  return `imgsz must be an integer from ${MIN_IMGSZ} to ${MAX_IMGSZ}, got ${JSON.stringify(v)}`;
}

/** A settings object as JSON gives it: the valid fields kept, each bad one a problem (and left out). */
export function parseLensSettings(raw: unknown): { settings: LensSettings; problems: SettingsProblem[] } {
  const problems: SettingsProblem[] = [];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    return { settings: {}, problems: [{ key: '', message: '"settings" must be an object', severity: 'error' }] };
  const r = raw as Record<string, unknown>;
  const out: { -readonly [K in keyof LensSettings]: LensSettings[K] } = {};
  for (const [key, v] of Object.entries(r)) {
    const bad = (message: string, severity: 'error' | 'warning' = 'error') => problems.push({ key, message, severity });
    switch (key) {
      case 'framework': {
        const p = frameworkProblem(v);
        if (p) bad(p);
        else out.framework = v as string;
        break;
      }
      case 'scale':
        if (typeof v === 'string' && v.trim()) out.scale = v.trim();
        else bad(`scale must be a scales: key such as "s", got ${JSON.stringify(v)}`);
        break;
      case 'imgsz': {
        const p = imgszProblem(v);
        if (p) bad(p);
        else out.imgsz = v as number;
        break;
      }
      case 'severity': {
        if (!v || typeof v !== 'object' || Array.isArray(v)) {
          bad('severity must be an object: code → error, warning, information, hint or off');
          break;
        }
        const sev: Record<string, SeverityOverride> = {};
        for (const [code, level] of Object.entries(v as Record<string, unknown>)) {
          const p = severityProblem(code, level);
          if (p) problems.push({ key: `severity.${code}`, message: p, severity: 'error' });
          else sev[code] = level as SeverityOverride;
        }
        out.severity = sev;
        break;
      }
      default:
        bad(`unknown setting '${key}' (ignored): the settings are framework, scale, imgsz and severity`, 'warning');
    }
  }
  return { settings: out, problems };
}
