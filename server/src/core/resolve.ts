/**
 * The resolver's public face: `resolve(text)` → Model. The phases live in `resolve/` (header, plan, build, run,
 * probe, totals); the frameworks they read in `framework/`.
 */
export { resolve, resolveDoc, clearResolveCaches, lookupModule, MAX_MODULES, type ResolveOptions } from './resolve/index.ts';
export { detectFramework, guessScaleFromFileName, modeline } from './framework/detect.ts';
