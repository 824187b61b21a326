#!/usr/bin/python3
"""Per-layer forward times of an upstream model in PyTorch, for the profile's PyTorch estimate (torch-cost.ts).

  /usr/bin/python3 torch_layer_times.py FRAMEWORK ROOT CFG IMGSZ THREADS RUNS

FRAMEWORK is yolov5 (a YOLOv5 code base: models.yolo.Model) or ultralytics (ultralytics.nn.tasks.DetectionModel),
ROOT the tree put on sys.path, CFG the YAML (a path, or a name ultralytics resolves, e.g. yolov8s.yaml). The model is
built by the upstream code (bench/torch_upstream.py's build_model), fused, eval, no_grad, with its own random init;
a pre-hook and a hook on each layer time it. Prints one JSON line: per thread count (THREADS: comma-separated), the
per-layer minimum over RUNS runs after 2 warm-ups (the minimum: the machine's other work only ever adds time), the
layers' module names and the torch version.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from torch_upstream import build_model, fuse, hooked_passes  # noqa: E402 (sets the env the upstream imports need)

import torch  # noqa: E402


def layer_times(model, x, threads, runs):
    per_run, walls = hooked_passes(model, x, runs, 2, threads)
    return {"layer_ms": [min(column) for column in zip(*per_run)], "wall_ms": min(walls)}


def main():
    framework, root, cfg, imgsz, threads, runs = sys.argv[1:7]
    model = build_model(framework, root, cfg)
    model.eval()
    model, _ = fuse(model)
    model.eval()
    torch.manual_seed(0)
    x = torch.rand(1, 3, int(imgsz), int(imgsz))
    out = {"torch": torch.__version__, "modules": [type(m).__name__ for m in model.model], "threads": {}}
    for t in threads.split(","):
        out["threads"][t] = layer_times(model, x, int(t), int(runs))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
