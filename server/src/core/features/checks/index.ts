/**
 * The model-level checks, in the order their diagnostics are listed: each takes the resolved model and returns what
 * the framework would accept without a word but the user would regret. One family per file.
 */
import type { Diagnostic } from '../../diagnostics.ts';
import type { Model } from '../../model.ts';
import { argKinds, multipleFloors, rawChannelArgs } from './channels.ts';
import { staleIndexComments } from './comments.ts';
import { dataflowChecks } from './dataflow.ts';
import { dialectMismatches } from './dialect.ts';
import { gflopsChecks } from './gflops.ts';
import { headOrderChecks } from './heads.ts';
import { imageSizeChecks } from './image-size.ts';
import { keyChecks } from './keys.ts';
import { repeatsChecks } from './repeats.ts';
import { scaleChecks } from './scales.ts';
import { versionChecks } from './versions.ts';

export type ModelCheck = (model: Model) => Diagnostic[];

export const MODEL_CHECKS: readonly ModelCheck[] = [
  keyChecks,
  scaleChecks,
  multipleFloors,
  staleIndexComments,
  dataflowChecks,
  versionChecks,
  dialectMismatches,
  rawChannelArgs,
  argKinds,
  repeatsChecks,
  headOrderChecks,
  imageSizeChecks,
  gflopsChecks,
];
