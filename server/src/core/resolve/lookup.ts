/** How a framework's parse_model turns the module string of a layer into a class. */
import type { Code } from '../diagnostics.ts';
import { allFrameworks } from '../framework/index.ts';
import type { Framework, ModuleEntry } from '../framework/types.ts';
import { didYouMean } from '../suggest.ts';
import { missingInWorkspace } from '../framework/workspace.ts';

export type Lookup = { entry: ModuleEntry } | { code: Code; message: string; suggestion?: string; framework?: string };

/** The name after `nn.` (or `torch.nn.` in YOLOv5, whose parse_model evals the string), or null. */
function nnName(framework: Framework, name: string): string | null {
  // ultralytics: `getattr(torch.nn, m[3:]) if "nn." in m else globals()[m]`
  if (framework.dialect === 'ultralytics') return name.includes('nn.') ? name.slice(3) : null;
  return /^(?:torch\.)?nn\.(.+)$/.exec(name)?.[1] ?? null;
}

const notFound = (framework: Framework, name: string): string =>
  framework.dialect === 'ultralytics' ? `KeyError: '${name}'` : `NameError: name '${name}' is not defined`;

export function lookupModule(framework: Framework, name: string): Lookup {
  const nn = nnName(framework, name);
  // 8.4: `getattr(torchvision.ops, m[16:]) if "torchvision.ops." in m` after the `nn.` test
  if (nn === null && framework.torchvisionOps.size && name.includes('torchvision.ops.')) {
    const op = framework.torchvisionOps.get(name.slice(16));
    if (op) return { entry: op };
    const s = didYouMean(name.slice(16), [...framework.torchvisionOps.keys()]);
    return {
      code: 'YOLO010',
      message:
        `module 'torchvision.ops' has no attribute '${name.slice(16)}' that YOLO Lens ` +
        `knows${s ? ` — did you mean 'torchvision.ops.${s}'?` : ''}`,
      ...(s ? { suggestion: `torchvision.ops.${s}` } : {}),
    };
  }
  if (nn !== null) {
    const e = framework.nn.get(nn);
    if (e) return { entry: e };
    const s = didYouMean(nn, [...framework.nn.keys()]);
    return {
      code: 'YOLO010',
      message: `module 'torch.nn' has no attribute '${nn}' that YOLO Lens knows${s ? ` — did you mean 'nn.${s}'?` : ''}`,
      ...(s ? { suggestion: `nn.${s}` } : {}),
    };
  }
  // a workspace whose code is known: a name it lacks is a NameError/KeyError there, whatever the catalog has
  const missing = framework.workspace ? missingInWorkspace(framework.workspace, name) : null;
  if (missing) return { code: 'YOLO046', message: missing };
  const e = framework.modules.get(name);
  if (e) return { entry: e };
  const others = allFrameworks().filter((f) => f !== framework && f.modules.has(name));
  // another version of the same code base first: switching the framework is then the fix
  const sibling = others.find((f) => f.codeBase === framework.codeBase);
  if (sibling)
    return {
      code: 'YOLO034',
      message: `${name} exists in ${sibling.label}; this file is checked against ${framework.label} (${notFound(framework, name)})`,
      framework: sibling.id,
    };
  if (others[0])
    return {
      code: 'YOLO011',
      message: `${name} is a ${others[0].label} module; ${framework.label} cannot build it (${notFound(framework, name)})`,
    };
  const s = didYouMean(name, [...framework.modules.keys(), ...[...framework.nn.keys()].map((k) => `nn.${k}`)]);
  return {
    code: 'YOLO010',
    message: `unknown module '${name}' (${notFound(framework, name)})${s ? ` — did you mean '${s}'?` : ''}`,
    ...(s ? { suggestion: s } : {}),
  };
}
