/** The top-level YAML keys a framework reads, from its header rules (what `keys.ts` and `versions.ts` check against). */
import type { Framework } from './types.ts';

/** Every key the framework reads from the top level of the YAML, given the head module (the model class follows it). */
export function keysRead(framework: Framework, head: string | null): Set<string> {
  const h = framework.header;
  const keys = new Set(['nc', 'depth_multiple', 'width_multiple', 'backbone', 'head', ...h.required, ...h.otherKeys]);
  if (h.scales) keys.add('scales');
  if (h.anchors) keys.add('anchors');
  if (h.activation) keys.add('activation');
  if (h.channelMultiple) keys.add('channel_multiple');
  if (h.headKeys) keys.add('reg_max').add('end2end');
  const ch = h.chKey(head);
  if (ch) keys.add(ch);
  return keys;
}
