/**
 * What the language server or the CLI found on disk about the code that builds a file, read as text and never run:
 * the input of framework/workspace.ts.
 */

/** A YOLOv5-style tree found above the file: `models/yolo.py` and `models/common.py`. */
export interface Yolov5Tree {
  readonly kind: 'yolov5';
  /** the folder holding `models/`, as the user would name it */
  readonly root: string;
  /** the file the blocks are defined in, as shown in messages: `models/common.py` (relative to `root`) */
  readonly moduleFile: string;
  /** classes `models/common.py` defines (`class X(` at the start of a line) */
  readonly defined: readonly string[];
  /** what `models/yolo.py` imports from it by name; null when it imports everything (`from models.common import *`) */
  readonly imported: readonly string[] | null;
  /** classes `models/yolo.py` defines itself (Detect, Segment, Model...) and names it imports from elsewhere */
  readonly own: readonly string[];
}

/** An ultralytics source tree or installed package found above the file (a virtual environment's site-packages). */
export interface UltralyticsTree {
  readonly kind: 'ultralytics';
  /** the package folder, as the user would name it */
  readonly root: string;
  readonly source: 'source tree' | 'installed package';
  /** `__version__` of `ultralytics/__init__.py`, null when it has none */
  readonly version: string | null;
  /** where parse_model looks module names up, as shown in messages: `ultralytics/nn/tasks.py` */
  readonly tasksFile: string;
  /** the names `tasks.py` imports or defines (parse_model's `globals()[m]`); null when it could not be read */
  readonly names: readonly string[] | null;
}

export type WorkspaceFacts = Yolov5Tree | UltralyticsTree;
