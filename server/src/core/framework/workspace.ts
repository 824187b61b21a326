/**
 * Which code builds a file when the file alone cannot tell: the code base in the user's workspace. The language
 * server and the CLI read the files (as text, never run) and pass the facts in; here they decide the framework and
 * which module names that code can build (a name it lacks is an error naming the file that lacks it, YOLO046).
 */
import type { Dialect, Framework, FrameworkId } from './types.ts';
import type { WorkspaceFacts, Yolov5Tree } from './workspace-facts.ts';

export type { UltralyticsTree, WorkspaceFacts, Yolov5Tree } from './workspace-facts.ts';

/** The Slim-neck YOLOv5 fork's and Scaled-YOLOv4's own blocks: a tree that defines them is that fork. */
const SLIMNECK = ['GSConv', 'VoVGSCSP', 'VoVGSCSPC', 'GSBottleneck'];
const SCALED_YOLOV4 = ['BottleneckCSP2', 'SPPCSP', 'VoVCSP', 'SPPCSPC'];

/** The names parse_model of a YOLOv5 tree can `eval`: what yolo.py imports from common.py, and its own. */
function yolov5Names(t: Yolov5Tree): Set<string> {
  return new Set([...(t.imported ?? t.defined), ...t.own]);
}

/** A short description of the tree for the "how it was chosen" line. */
export function workspaceLabel(facts: WorkspaceFacts): string {
  const at = facts.root === '.' ? 'in the workspace folder' : `at ${facts.root}`;
  if (facts.kind === 'yolov5') return `the YOLOv5 tree ${at}`;
  return `ultralytics ${facts.version ?? '(version unknown)'}, the ${facts.source} ${at}`;
}

/**
 * The framework the workspace's code is, for a file of this dialect; null when the workspace does not decide (an
 * installed ultralytics next to a YOLOv5-dialect file: the environment is not the file's code base).
 */
export function frameworkOfWorkspace(facts: WorkspaceFacts, dialect: Dialect): { id: FrameworkId; reason: string } | null {
  if (facts.kind === 'yolov5') {
    const names = new Set([...facts.defined, ...facts.own]);
    const from = `the workspace's code: ${workspaceLabel(facts)}`;
    if (SCALED_YOLOV4.some((n) => names.has(n))) return { id: 'scaled-yolov4', reason: `${from} defines Scaled-YOLOv4's blocks` };
    if (SLIMNECK.some((n) => names.has(n))) return { id: 'yolov5-gsconv', reason: `${from} defines the Slim-neck blocks (GSConv)` };
    return { id: 'yolov5', reason: from };
  }
  if (dialect !== 'ultralytics') return null;
  const m = /^(\d+)\.(\d+)/.exec(facts.version ?? '');
  if (!m) return null;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  // 8.3 and older build as 8.3.0 does; 8.4 and newer as 8.4.33, the newest YOLO Lens models
  const id: FrameworkId = major > 8 || (major === 8 && minor >= 4) ? 'ultralytics-8.4' : 'ultralytics-8.3';
  return { id, reason: `the workspace's code: ${workspaceLabel(facts)}` };
}

/**
 * Why the workspace's code cannot build a module name, or null when it can: the message of YOLO046. `nn.X` and
 * `torchvision.ops.X` come from torch, not from the workspace.
 */
export function missingInWorkspace(facts: WorkspaceFacts, name: string): string | null {
  if (/^(torch\.)?nn\.|torchvision\.ops\./.test(name)) return null;
  if (facts.kind === 'yolov5') {
    if (yolov5Names(facts).has(name)) return null;
    if (facts.defined.includes(name))
      return (
        `${name} is defined in ${facts.moduleFile} but models/yolo.py does not import it (its \`from models.common import (...)\` ` +
        `list): parse_model's eval raises NameError: name '${name}' is not defined; add it to that list`
      );
    return (
      `${name} is not defined in ${facts.moduleFile} (${workspaceLabel(facts)}): the workspace's models/yolo.py cannot build it ` +
      `(NameError: name '${name}' is not defined); add the class to ${facts.moduleFile} and import it in models/yolo.py`
    );
  }
  if (!facts.names || facts.names.includes(name)) return null;
  return (
    `${name} is not imported or defined in ${facts.tasksFile} (${workspaceLabel(facts)}): its parse_model looks module names ` +
    `up in that file's globals (KeyError: '${name}')`
  );
}

/** The framework with the workspace's module names as the ones that exist (YOLO046 for the others). */
export function withWorkspace(framework: Framework, facts: WorkspaceFacts): Framework {
  return { ...framework, workspace: facts };
}
