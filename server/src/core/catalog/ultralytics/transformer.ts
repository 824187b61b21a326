/**
 * ultralytics/nn/modules/transformer.py (vendored 8.3.x, see conv.ts).
 */
import type { ModuleDef } from '../types.ts';

export const ULTRALYTICS_TRANSFORMER_MODULES: readonly ModuleDef[] = [];
