/**
 * Which YAML documents are YOLO models, and so get any feature at all: a top-level `backbone` with a `head` (or a
 * backbone ending in a classifier head). Every other YAML file in the editor is left alone — no squiggles, no
 * suggestions.
 */
import type { ModelDoc } from '../document.ts';

const CLASSIFIER = /^(?:Classify|nn\.Linear)$/;

export function isModelDoc(doc: ModelDoc): boolean {
  if (doc.top.has('backbone')) {
    if (doc.top.has('head')) return true;
    const last = doc.layers[doc.layers.length - 1];
    if (last && typeof last.module?.value === 'string' && CLASSIFIER.test(last.module.value)) return true;
  }
  // text the YAML parser gave up on: look for the two keys at the start of a line (NULs removed: a model saved as
  // UTF-16 is still a model file, one the frameworks cannot load)
  if (!doc.loadable || doc.top.size === 0) {
    const text = doc.text.includes('\0') ? doc.text.replace(/\0/g, '') : doc.text;
    return /^backbone[ \t]*:/m.test(text) && /^head[ \t]*:/m.test(text);
  }
  return false;
}
