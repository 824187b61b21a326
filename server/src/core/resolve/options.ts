/** What a caller may choose about a resolve, and the limits that keep a resolve bounded on any input. */
import type { Framework } from '../framework/types.ts';
import type { WorkspaceFacts } from '../framework/workspace.ts';

export interface ResolveOptions {
  /** force a framework (an id or an alias such as `ultralytics`) instead of detecting it */
  readonly framework?: string;
  /** ultralytics `scales:` key to use */
  readonly scale?: string;
  /** image size for shapes and per-layer FLOPs (default 640) */
  readonly imgsz?: number;
  /** input channels (default: the YAML's `ch:` or 3) */
  readonly ch?: number;
  /** the class count a trainer passes over the YAML's `nc` (the dataset's; `Model(cfg, nc=...)`) */
  readonly nc?: number;
  /** the file name: the scale rule and the summary line's model name use it */
  readonly fileName?: string;
  /** skip the fused figures (faster, for callers that never show them) */
  readonly skipFused?: boolean;
  /**
   * Modules the user declared (`.yolo-lens.json`, see declaredModules.ts): `extend` adds them to the namespace of
   * the framework the file is built with. Catalog modules of the same name win.
   */
  readonly userModules?: { extend(framework: Framework): Framework };
  /**
   * the code base found in the workspace (read by the server or the CLI, never run): it chooses the framework when no
   * setting or `# yolo-lens:` comment does, and then only the modules it defines exist
   */
  readonly workspace?: WorkspaceFacts;
}

/** Largest repeat count we build: beyond it no real model exists and building would hang. */
export const MAX_REPEATS = 4096;
export const MAX_LAYERS = 20_000;
/**
 * Modules built over all layers (counted per layer, as built): the largest corpus model builds ~900 and a
 * 5,000-layer file ~30,000. Twenty lines of `[-1, 4096, C3, [...]]` would otherwise build 300,000 and take
 * seconds per keystroke; a few hundred such lines, minutes.
 */
export const MAX_MODULES = 50_000;
/** Largest tensor dimension we report (2^31 - 1): one beyond is no allocation any device makes. */
export const MAX_DIM = 2 ** 31 - 1;
/** Largest value (through YAML aliases) a layer may take: nothing a constructor takes is anywhere near it. */
export const MAX_VALUE_SIZE = 10_000;
