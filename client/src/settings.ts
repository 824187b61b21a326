/**
 * The `yolo.*` settings as the client uses them (the graph panel's debounce and FLOPs convention, the options of
 * each model request). The language server reads the same section itself through `workspace/configuration`.
 */
import * as vscode from 'vscode';
import type { ModelRequestParams, ProfileBackend } from '../../server/src/protocol.ts';
import { DEFAULT_FLOPS_CONVENTION, flopsConvention, type FlopsConvention } from '../../common/src/format.ts';

export const SECTION = 'yolo';

export interface ClientSettings {
  imgsz: number;
  scale: string;
  framework: string;
  convention: FlopsConvention;
  profileBackend: ProfileBackend;
  memoryLimitMB: number;
  graphDebounceMs: number;
}

export function settingsFor(uri?: vscode.Uri): ClientSettings {
  const c = vscode.workspace.getConfiguration(SECTION, uri);
  const imgsz = c.get<number>('imgsz', 640);
  return {
    imgsz: Number.isInteger(imgsz) && imgsz >= 32 && imgsz <= 8192 ? imgsz : 640,
    scale: c.get<string>('scale', '') ?? '',
    framework: c.get<string>('framework', 'auto') ?? 'auto',
    convention: flopsConvention(c.get<string>('gflops', DEFAULT_FLOPS_CONVENTION)),
    profileBackend: c.get<ProfileBackend>('profile.backend', 'auto') ?? 'auto',
    memoryLimitMB: c.get<number>('profile.memoryLimitMB', 2048) ?? 2048,
    graphDebounceMs: Math.max(0, Math.min(5000, c.get<number>('graph.debounceMs', 150) ?? 150)),
  };
}

/** The options of a `yolo/*` request for a document. */
export function modelParams(uri: vscode.Uri): ModelRequestParams {
  const s = settingsFor(uri);
  const p: ModelRequestParams = { uri: uri.toString(), imgsz: s.imgsz };
  if (s.scale) p.scale = s.scale;
  return p;
}
