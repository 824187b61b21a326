/**
 * What a bench model name means on both sides: the YAML text YOLO Lens resolves, and how the upstream code builds it.
 * `slimneck` is the bundled example, built by the Slim-neck YOLOv5 fork; other names (yolov8n, yolo11n, yolo26n, …)
 * come from the ultralytics tree's cfg folder, scale from the name as ultralytics takes it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

export interface ModelSpec {
  readonly name: string;
  readonly text: string;
  readonly fileName: string;
  readonly upstream: { framework: 'yolov5' | 'ultralytics'; root: string; cfg: string; label: string };
}

/** The upstream checkouts a bench was given (flags or environment); either may be absent. */
export interface UpstreamTrees {
  readonly ultralyticsDir: string | undefined;
  readonly gsconvDir: string | undefined;
}

function findYaml(dir: string, file: string): string | null {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      const hit = findYaml(p, file);
      if (hit) return hit;
    } else if (e === file) return p;
  }
  return null;
}

/** The model a name means, or why it cannot be built here (one line). */
export function specOf(name: string, { ultralyticsDir, gsconvDir }: UpstreamTrees): ModelSpec | string {
  if (name === 'slimneck') {
    if (!gsconvDir) return 'needs the Slim-neck YOLOv5 fork: --gsconv-yolov5 DIR or YOLO_LENS_GSCONV_YOLOV5';
    const file = join(root, 'examples/slimneck-yolov5n.yaml');
    return {
      name,
      text: readFileSync(file, 'utf8'),
      fileName: 'slimneck-yolov5n.yaml',
      upstream: { framework: 'yolov5', root: gsconvDir, cfg: file, label: 'Slim-neck YOLOv5 (gsconv-yolov5) models.yolo.Model' },
    };
  }
  if (!ultralyticsDir) return 'needs the ultralytics tree: --ultralytics DIR or YOLO_LENS_ULTRALYTICS';
  const cfgDir = join(ultralyticsDir, 'ultralytics/cfg/models');
  if (!existsSync(cfgDir)) return `${cfgDir} does not exist`;
  // yolov8n.yaml is the n scale of yolov8.yaml (ultralytics's own rule: one scale letter after the family)
  const m = /^(.+?\d+)([nslmx])(-.*)?$/.exec(name);
  const file = findYaml(cfgDir, `${name}.yaml`) ?? (m ? findYaml(cfgDir, `${m[1]}${m[3] ?? ''}.yaml`) : null);
  if (!file) return `no ${name}.yaml in ${cfgDir}`;
  const version = /__version__\s*=\s*"([^"]+)"/.exec(readFileSync(join(ultralyticsDir, 'ultralytics/__init__.py'), 'utf8'))?.[1] ?? '?';
  return {
    name,
    text: readFileSync(file, 'utf8'),
    fileName: `${name}.yaml`,
    upstream: { framework: 'ultralytics', root: ultralyticsDir, cfg: `${name}.yaml`, label: `ultralytics ${version} DetectionModel` },
  };
}
