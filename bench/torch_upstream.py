#!/usr/bin/python3
"""The baseline of bench/forward.ts: the model a user would run, built from the YAML by the upstream code itself
(its parse_model and module classes), BatchNorm folded by its own fuse(), in eval mode under no_grad, with the
weights YOLO Lens seeded (so the outputs can be compared). Nothing of the upstream trees is copied: the tree is put
on sys.path and imported.

  /usr/bin/python3 bench/torch_upstream.py --serve     JSON commands on stdin, one per line, one JSON answer each:
    {"build": {"framework": "yolov5"|"ultralytics", "root": DIR, "cfg": YAML, "imgsz": 640, "batch": 1,
               "weights": DIR}}
        builds and fuses the model, loads DIR/weights.json + weights.bin (state_dict names -> float32 arrays) and
        DIR/input.bin; answers the names that did not load and the number of layers
    {"outputs": PATH}                          writes the model's output tensors (float32, depth-first) -> shapes
    {"time": {"runs": 5, "warmup": 1, "threads": 1}}    -> times_ms, median_ms
    {"layers": {"runs": 5, "warmup": 1, "threads": 1}}  -> runs_ms: per run, per layer, ms from forward hooks on
                                                           model.model[i]

framework "yolov5": a YOLOv5 code base (ultralytics/yolov5 or a fork such as the Slim-neck one): models.yolo.Model(cfg).
framework "ultralytics": the ultralytics package: ultralytics.nn.tasks.DetectionModel(cfg); cfg may be a name the
package resolves itself (yolov8n.yaml takes the n scale of its yolov8.yaml).
"""
import json
import os
import sys
import time
import types

import numpy as np

# the YOLOv5 code bases draw with a TrueType font they download at import time unless RANK says this is not the
# main process; nothing here draws
os.environ.setdefault("RANK", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")

import torch  # noqa: E402


def stub_missing(*names):
    """Plotting packages the model code imports but never calls (seaborn is not in Debian's default install)."""
    for name in names:
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)


def build_model(framework, root, cfg):
    sys.path.insert(0, root)
    if framework == "yolov5":
        stub_missing("seaborn")
        from models.yolo import Model  # noqa: E402 (the tree's own module)

        return Model(cfg)
    from ultralytics.nn.tasks import DetectionModel  # noqa: E402

    return DetectionModel(cfg, verbose=False)


def fuse(model):
    try:
        return model.fuse(verbose=False), None
    except TypeError:
        return model.fuse(), None
    except Exception as e:  # upstream's fuse() raises for a few models: they run unfused, as ours do
        return model, f"{type(e).__name__}: {e}"


def load_weights(model, d):
    """Our seeded weights by state_dict name; answers what did not match (names, shapes, parameters not given)."""
    with open(os.path.join(d, "weights.json")) as f:
        index = json.load(f)
    blob = np.fromfile(os.path.join(d, "weights.bin"), dtype=np.float32)
    sd = model.state_dict()
    params = {n for n, _ in model.named_parameters()}
    unknown, shape, given = [], [], set()
    with torch.no_grad():
        for name, t in index["tensors"].items():
            if name not in sd:
                unknown.append(name)
                continue
            values = torch.from_numpy(blob[t["offset"] // 4:t["offset"] // 4 + t["length"]].copy()).reshape(t["shape"])
            if tuple(sd[name].shape) != tuple(values.shape):
                shape.append(f"{name}: ours {list(values.shape)}, upstream {list(sd[name].shape)}")
                continue
            sd[name].copy_(values)
            given.add(name)
    return {"unknown": unknown, "shape": shape, "not_given": sorted(params - given)}


def flatten(o):
    if isinstance(o, torch.Tensor):
        return [o]
    if isinstance(o, dict):
        return [t for v in o.values() for t in flatten(v)]
    if isinstance(o, (list, tuple)):
        return [t for v in o for t in flatten(v)]
    return []


class Upstream:
    def __init__(self, spec):
        self.model = build_model(spec["framework"], spec["root"], spec["cfg"])
        self.model.eval()
        self.model, self.fuse_error = fuse(self.model)
        self.model.eval()
        self.loaded = load_weights(self.model, spec["weights"])
        b, s = spec.get("batch", 1), spec.get("imgsz", 640)
        raw = np.fromfile(os.path.join(spec["weights"], "input.bin"), dtype=np.float32)
        self.x = torch.from_numpy(raw.copy()).reshape(b, 3, s, s)
        self.layers = list(self.model.model)

    def run(self):
        return self.model(self.x)

    def time(self, runs, warmup, threads):
        torch.set_num_threads(threads)
        with torch.no_grad():
            for _ in range(warmup):
                self.run()
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                self.run()
                times.append((time.perf_counter() - t0) * 1000)
        return {"times_ms": times, "median_ms": float(np.median(times)), "threads": torch.get_num_threads()}

    def layer_times(self, runs, warmup, threads):
        """Per-layer ms of each run: a pre-hook and a hook on each layer module."""
        per_run, _ = hooked_passes(self.model, self.x, runs, warmup, threads)
        return {"runs_ms": per_run}


def hooked_passes(model, x, runs, warmup, threads):
    """Forward passes timed layer by layer (a pre-hook and a hook on each model.model[i]): per run the per-layer ms,
    and per run the whole pass's wall ms. The calibration (scripts/truth/torch_layer_times.py) times the same way."""
    torch.set_num_threads(threads)
    layers = list(model.model)
    start, current = {}, [0.0] * len(layers)
    handles = []
    for i, m in enumerate(layers):
        handles.append(m.register_forward_pre_hook(lambda mod, inp, i=i: start.__setitem__(i, time.perf_counter())))
        handles.append(m.register_forward_hook(lambda mod, inp, out, i=i: current.__setitem__(i, current[i] + time.perf_counter() - start[i])))
    per_run, walls = [], []
    try:
        with torch.no_grad():
            for r in range(warmup + runs):
                current[:] = [0.0] * len(layers)
                t0 = time.perf_counter()
                model(x)
                wall = time.perf_counter() - t0
                if r >= warmup:
                    per_run.append([v * 1000 for v in current])
                    walls.append(wall * 1000)
    finally:
        for h in handles:
            h.remove()
    return per_run, walls


def main():
    if "--serve" not in sys.argv:
        print(__doc__)
        return
    up = None
    print(json.dumps({"ready": True, "torch": torch.__version__, "cores": os.cpu_count(), "default_threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if "build" in cmd:
                up = Upstream(cmd["build"])
                answer = {"layers": len(up.layers), "fuse_error": up.fuse_error, **up.loaded}
            elif "outputs" in cmd:
                with torch.no_grad():
                    outs = flatten(up.run())
                with open(cmd["outputs"], "wb") as f:
                    for o in outs:
                        f.write(o.detach().contiguous().float().numpy().tobytes())
                answer = {"shapes": [list(o.shape) for o in outs]}
            elif "time" in cmd:
                answer = up.time(**cmd["time"])
            elif "layers" in cmd:
                answer = up.layer_times(**cmd["layers"])
            else:
                answer = {"error": f"unknown command {sorted(cmd)}"}
        except Exception as e:  # one line back, the bench prints it
            answer = {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
