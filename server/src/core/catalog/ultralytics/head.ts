/**
 * ultralytics/nn/modules/head.py (vendored 8.3.x, see conv.ts).
 */
import type { ModuleDef } from '../types.ts';

export const ULTRALYTICS_HEAD_MODULES: readonly ModuleDef[] = [];
