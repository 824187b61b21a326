/**
 * What kind of block a module is: the graph colours its nodes by it, the catalog gives each module one, and a
 * user's `.yolo-lens.json` may name one for its own modules.
 */
export const CATEGORIES = [
  'conv',
  'csp',
  'slimneck',
  'attention',
  'transformer',
  'pooling',
  'upsample',
  'concat',
  'head',
  'norm',
  'activation',
  'misc',
] as const;

export type Category = (typeof CATEGORIES)[number];

export const isCategory = (v: unknown): v is Category => (CATEGORIES as readonly unknown[]).includes(v);
