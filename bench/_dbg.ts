import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS, REFERENCE } from '../test/support/reference.ts';
import { fastYamlOrOffset } from '../server/src/core/yaml-fast.ts';
function yamlFiles(dir: string, out: string[] = []): string[] { for (const e of readdirSync(dir)) { const p = join(dir, e); if (statSync(p).isDirectory()) yamlFiles(p, out); else if (e.endsWith('.yaml')) out.push(p); } return out; }
const counts = new Map<string, number>();
for (const f of [...yamlFiles(CORPUS), ...yamlFiles(REFERENCE)]) {
  const t = readFileSync(f, 'utf8');
  const r = fastYamlOrOffset(t);
  if (r.root === null) {
    const at = r.gaveUpAt!;
    const ls = t.lastIndexOf('\n', at - 1) + 1; const le = t.indexOf('\n', at);
    const key = JSON.stringify(t.slice(ls, at) + '⟨' + t.slice(at, le < 0 ? undefined : le));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
}
console.log([...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30));
