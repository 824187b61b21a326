"""Truth for the ultralytics 8.4 model YAMLs the reference records do not cover.

Builds each YAML the way `YOLO("<name><scale>.yaml")` would (model class by file name and head, scale from the file
name) with the ultralytics package found on PYTHONPATH (8.4.33), runs one eval forward pass with hooks on every layer,
then `model.fuse()`, and prints JSON: per layer the constructor args parse_model printed, the parameters and the
output shapes (dicts and tuples flattened in order, None skipped); per model the summary figures before and after
fuse (layers = leaf modules, parameters, gradients). No FLOPs: thop is not installed here.

Usage: PYTHONPATH=<ultralytics 8.4.33 tree> python3 scripts/truth/ultralytics-8.4-more.py <cfg/models dir> \
           <reference dir of the 8.4 records> > test/catalog/data/ultralytics-8.4.33-more.json

TorchVision layers are built with weights=None: weights never change a structure, and nothing is downloaded.
"""

import ast
import contextlib
import json
import logging
import re
import sys
from copy import deepcopy
from pathlib import Path

import torch

import ultralytics
from ultralytics.nn import tasks
from ultralytics.utils import LOGGER

# every scale of the families whose heads or blocks are new in 8.4; the first scale of the others
ALL_SCALES = re.compile(r"(^|/)(26/|12/|11/yoloe|11/yolo11-(pose|obb|cls)|v8/yoloe)")


def flat_shapes(o):
    if o is None:
        return []
    if isinstance(o, torch.Tensor):
        return [list(o.shape)]
    if isinstance(o, dict):
        return [s for v in o.values() for s in flat_shapes(v)]
    if isinstance(o, (list, tuple)):
        return [s for v in o for s in flat_shapes(v)]
    return []


def figures(model):
    leaves = [m for _, m in model.named_modules() if len(m._modules) == 0]
    params = sum(p.numel() for p in model.parameters())
    grads = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"layers": len(leaves), "params": params, "gradients": grads}


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def model_class(d, stem):
    head = d["head"][-1][2]
    if head == "RTDETRDecoder":
        return tasks.RTDETRDetectionModel
    if "-world" in stem:
        return tasks.WorldModel
    task = tasks.guess_model_task(d)
    if "yoloe" in stem:
        return tasks.YOLOESegModel if task == "segment" else tasks.YOLOEModel
    return {
        "detect": tasks.DetectionModel,
        "segment": tasks.SegmentationModel,
        "pose": tasks.PoseModel,
        "obb": tasks.OBBModel,
        "classify": tasks.ClassificationModel,
    }[task]


def scaled_name(path, scale):
    stem = path.stem
    if not scale:
        return path.name
    m = re.match(r"^(.*?\d+)(.*)$", stem)
    return f"{m.group(1)}{scale}{m.group(2)}.yaml" if m else path.name


def run(path, rel, scale):
    d = ultralytics.utils.YAML.load(str(path))
    name = scaled_name(path, scale)
    d["scale"] = scale or tasks.guess_model_scale(name)
    d["yaml_file"] = name
    cls = model_class(d, Path(name).stem)
    handler = Lines()
    LOGGER.addHandler(handler)
    out = {"yaml": rel, "scale": scale, "file": name, "model": cls.__name__}
    try:
        model = cls(deepcopy(d), ch=3, verbose=True)
    except Exception as e:  # noqa: BLE001 - the verdict is the data
        out.update(ok=False, stage="build", error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        return out
    finally:
        LOGGER.removeHandler(handler)
    layers = []
    table = [ln for ln in handler.lines if re.match(r"^\s*\d+[\s[]", ln)]
    for i, m in enumerate(model.model):
        line = next(ln for ln in table if re.match(rf"^\s*{i}[\s[]", ln) and m.type in ln)
        args = ast.literal_eval(line.split(m.type, 1)[1].strip())
        name = m.type.split(".")[-1]
        wrapped = isinstance(m, torch.nn.Sequential) and name != "Sequential"
        layers.append({"i": i, "from": m.f, "n": len(m) if wrapped else 1,
                       "module": "nn." + name if m.type.startswith("torch.nn.") else name, "args": args, "params": m.np})
    imgsz = 224 if cls is tasks.ClassificationModel else 640
    shapes = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, k=k: shapes.__setitem__(k, flat_shapes(o)))
             for k, m in enumerate(model.model)]
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, imgsz, imgsz))
    except Exception as e:  # noqa: BLE001
        out.update(ok=False, stage="forward", error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        return out
    for h in hooks:
        h.remove()
    for k, l in enumerate(layers):
        l["out_shapes"] = shapes.get(k)
    out.update(ok=True, imgsz=imgsz, layers=layers, summary=figures(model))
    try:
        model.fuse(verbose=False)
        out["fused"] = figures(model)
    except Exception as e:  # noqa: BLE001
        out["fused_error"] = f"{type(e).__name__}: {e}"
    return out


def main():
    models_dir, reference = Path(sys.argv[1]), Path(sys.argv[2])
    for h in LOGGER.handlers:  # the model tables go to stderr, stdout is the JSON
        if isinstance(h, logging.StreamHandler):
            h.setStream(sys.stderr)
    import torchvision

    real = torchvision.models.get_model
    torchvision.models.get_model = lambda name, weights=None, **kw: real(name, weights=None, **kw)
    done = {p.relative_to(reference).as_posix() for p in reference.rglob("*.json")}
    results = []
    for path in sorted(models_dir.rglob("*.yaml")):
        rel = path.relative_to(models_dir.parent.parent.parent).as_posix()  # ultralytics/cfg/models/...
        d = ultralytics.utils.YAML.load(str(path))
        scales = list(d.get("scales") or [None])
        if not ALL_SCALES.search(path.relative_to(models_dir).as_posix()):
            scales = scales[:1]
        for s in scales:
            key = rel.replace(".yaml", f"@{s}.json" if s else ".json")
            if key in done:
                continue
            with contextlib.redirect_stdout(sys.stderr):
                results.append(run(path, rel, s))
            print(key, results[-1].get("ok"), results[-1].get("error", ""), file=sys.stderr)
    json.dump({"code": {"ultralytics": ultralytics.__version__, "torch": torch.__version__}, "models": results},
              sys.stdout, indent=None, separators=(",", ":"))


if __name__ == "__main__":
    main()
