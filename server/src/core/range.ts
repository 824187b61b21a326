/**
 * Where something is in a document: offsets in UTF-16 code units, end exclusive. Every core module speaks in
 * these; `server/src/convert.ts` alone turns them into LSP line/character ranges.
 */
export interface Range {
  readonly start: number;
  readonly end: number;
}
