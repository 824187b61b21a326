/** The core's public surface, bundled as dist/core.js for benchmarks and embedders. */
export { resolve, resolveDoc, detectFramework, type ResolveOptions } from './resolve.ts';
export { parseModelDoc } from './document.ts';
export { fastYaml } from './yaml-fast.ts';
export { summaryTable, referenceRecord, recordJson } from './summary.ts';
export { graphOf } from './features/graph.ts';
export { modelDiagnostics } from './features/diagnostics.ts';
export { LineIndex } from './lines.ts';
export { FRAMEWORKS } from './framework/index.ts';
export type { Model, ResolvedLayer } from './model.ts';
export type { Diagnostic } from './diagnostics.ts';
