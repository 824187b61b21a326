"""Builds model YAMLs with an upstream YOLO code base and reports what it did (runs INSIDE that code base's Python).

Started by truthlib.py as `python3 worker.py <framework-id> <jobs.json> <results.json>` with PYTHONPATH holding the
upstream tree (and thop). Imports torch and the framework once, then forks one child per job, so a class attribute
that a YAML rebinds (`activation:` sets `Conv.default_act` for the whole process) never leaks into the next job.

A job: {"yaml": path to build, "imgsz": int or null, "record": bool (layers, shapes, FLOPs, fused figures) }.
A result: {"ok", "stage", "error", "layers", "params", "gflops", "gflops_imgsz", "summary", "scale", "ch", "nc",
"imgsz", ...}. Stages follow ../shared/reference/QUIRKS-*.md: `parse` (YAML loading and parse_model's own
bookkeeping), `build` (a module constructor, or the rest of the model's __init__; for the yolov5 family also the
256x256 stride forward), `forward` (a module's forward: the 640 forward here, and for ultralytics the stride probe).
"""

import contextlib
import copy
import importlib.abc
import importlib.util
import inspect
import io
import json
import logging
import math
import os
import re
import signal
import sys
import traceback

FAMILY = {
    "yolov5": "yolov5",
    "yolov5-gsconv": "yolov5",
    "scaled-yolov4": "yolov5",
    "ultralytics-8.3": "ultralytics",
    "ultralytics-8.4": "ultralytics",
}


class _LateC2fFinder(importlib.abc.MetaPathFinder):
    """The Slim-neck ultralytics 8.3 tree has an import cycle (block.py imports conv.py, which imports C2f from the
    half-run block.py). While block.py runs, hand conv.py a stand-in that builds the real C2f, and swap the real class
    in as soon as block.py has finished. No upstream file is changed."""

    NAME = "ultralytics.nn.modules.block"

    def find_spec(self, name, path, target=None):
        if name != self.NAME:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        inner = spec.loader

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return inner.create_module(spec)

            def exec_module(self, module):
                class LateC2f:
                    def __new__(cls, *args, **kwargs):
                        return module.C2f(*args, **kwargs)

                def module_getattr(attr):
                    if attr == "C2f":
                        return LateC2f
                    raise AttributeError(attr)

                module.__getattr__ = module_getattr
                inner.exec_module(module)
                del module.__dict__["__getattr__"]
                conv = sys.modules.get("ultralytics.nn.modules.conv")
                if conv is not None and getattr(conv, "C2f", None) is LateC2f:
                    conv.C2f = module.C2f

        spec.loader = Loader()
        return spec


# --------------------------------------------------------------------------------------------------------------
# Output capture: tables and summary lines go through print() (Scaled-YOLOv4) or logging (the others).


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []
        self._seen = {}  # id -> record, kept alive so an id is never reused while we dedupe

    def emit(self, record):
        if id(record) in self._seen:
            return
        self._seen[id(record)] = record
        self.lines.extend(str(record.getMessage()).splitlines())

    def add_text(self, text):
        self.lines.extend(text.splitlines())


def attach_capture(capture):
    for logger in [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]:
        if isinstance(logger, logging.Logger):
            logger.addHandler(capture)


def summary_line(lines):
    found = None
    for line in lines:
        if "Model Summary:" in line:
            found = line[line.index("Model Summary:") :].strip()
        elif re.search(r"\ssummary( \(fused\))?: ", line):
            found = line.strip()
    return found


def summary_gflops(line):
    if not line:
        return None
    m = re.search(r"([0-9.]+) GFLOP[Ss]\b", line)
    return float(m.group(1)) if m else None


# --------------------------------------------------------------------------------------------------------------
# JSON conversion of what parse_model printed


def jsonable(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return str(v)


def error_text(exc):
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}:" + (f" {msg[0]}" if msg and msg[0] else "")


def shapes_of(out):
    """Every tensor of a layer's output, depth first (tuples, lists and dict values in order, None skipped)."""
    import torch

    if isinstance(out, torch.Tensor):
        return [list(out.shape)]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        found = []
        for x in out:
            found.extend(shapes_of(x))
        return found
    return []


# --------------------------------------------------------------------------------------------------------------


class Framework:
    def __init__(self, framework_id):
        self.id = framework_id
        self.family = FAMILY[framework_id]
        if framework_id == "ultralytics-8.3":
            sys.meta_path.insert(0, _LateC2fFinder())
        import torch  # noqa: F401

        if self.family == "yolov5":
            import models.yolo as yolo

            self.yolo = yolo
            self.parse_model = yolo.parse_model
        else:
            import ultralytics.nn.tasks as tasks
            import ultralytics.utils.torch_utils as torch_utils

            self.tasks = tasks
            self.torch_utils = torch_utils
            self.parse_model = tasks.parse_model
        src, first = inspect.getsourcelines(self.parse_model)
        self.print_lines = {first + k for k, s in enumerate(src) if re.search(r"\{i:>3\}|\(i, f, n, np, t, args\)", s)}
        self.build_lines = {first + k for k, s in enumerate(src) if "m(*args)" in s}
        if not self.print_lines or not self.build_lines:
            raise RuntimeError("cannot find the table row / constructor lines of parse_model")

    # ---- model class and scale, as the framework chooses them
    def model_class(self, d, path):
        if self.family == "yolov5":
            return self.yolo.Model
        t = self.tasks
        try:  # the head's last module name, as Model._new / RTDETR pick the class (guess_model_task never raises)
            head = str(d["head"][-1][-2])
        except Exception:  # noqa: BLE001
            head = ""
        stem = os.path.splitext(os.path.basename(path))[0]
        if "RTDETRDecoder" in head:
            return t.RTDETRDetectionModel
        if "-world" in stem and hasattr(t, "WorldModel"):
            return t.WorldModel
        task = t.guess_model_task(d)
        if "yoloe" in stem and hasattr(t, "YOLOEModel"):
            return t.YOLOESegModel if task == "segment" else t.YOLOEModel
        return {
            "classify": t.ClassificationModel,
            "segment": t.SegmentationModel,
            "pose": t.PoseModel,
            "obb": t.OBBModel,
        }.get(task, t.DetectionModel)

    def run(self, job):
        import torch

        torch.set_num_threads(1)
        path = job["yaml"]
        capture = Capture()
        attach_capture(capture)
        res = {"ok": False, "stage": None, "error": None, "layers": [], "params": None, "gflops": None,
               "gflops_imgsz": None, "summary": None, "scale": None, "ch": 3, "nc": None, "imgsz": job.get("imgsz")}
        rows = res["layers"]
        state = {"entered_parse": False}
        pm_code = self.parse_model.__code__

        def local_trace(frame, event, arg):
            if event == "line" and frame.f_lineno in self.print_lines:
                loc = frame.f_locals
                d = loc["d"]
                entries = list(d["backbone"]) + list(d["head"])
                i = loc["i"]
                module = entries[i][2] if i < len(entries) else None
                n_ = loc["n_"] if "n_" in loc else loc["n"]
                m_ = loc["m_"]
                rows.append({"i": i, "from": jsonable(loc["f"]), "n": jsonable(n_), "module": module,
                             "args": jsonable(copy.deepcopy(loc["args"])),
                             "params": sum(p.numel() for p in m_.parameters()),
                             "out_shape": None, "out_shapes": None, "flops": None})
            return local_trace

        def global_trace(frame, event, arg):
            if event == "call" and frame.f_code is pm_code:
                state["entered_parse"] = True
                return local_trace
            return None

        model = None
        d = None
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                if self.family == "yolov5":
                    import yaml

                    try:  # only for the record's nc/ch: the model class reads the file itself (sv4 with FullLoader)
                        with open(path, encoding="ascii", errors="ignore") as f:
                            d = yaml.safe_load(f)
                    except Exception:  # noqa: BLE001
                        d = None
                    cls = self.model_class(d, path)
                else:
                    d = self.tasks.yaml_model_load(path)
                    cls = self.model_class(d, path)
                if isinstance(d, dict):
                    res["nc"] = d.get("nc")
                    if self.id in ("yolov5", "yolov5-gsconv", "ultralytics-8.3"):
                        res["ch"] = d.get("ch", 3)
                    if self.family == "ultralytics" and d.get("scales"):
                        res["scale"] = d.get("scale") or next(iter(d["scales"].keys()))
                sys.settrace(global_trace)
                try:
                    # ultralytics' Model._new hands the loaded dict to the model class; yolov5 Model reads the file
                    model = cls(d if self.family == "ultralytics" else path)
                finally:
                    sys.settrace(None)
            except BaseException as exc:  # noqa: BLE001 - every failure of the upstream code is a verdict
                res["stage"] = self.stage_of(exc, state)
                res["error"] = error_text(exc)
                res["traceback"] = traceback.format_exc().splitlines()[-6:]
                return res
            finally:
                capture.add_text(out.getvalue())
        res["summary"] = summary_line(capture.lines)
        res["gflops"] = summary_gflops(res["summary"])
        if self.family == "ultralytics":
            res["ch"] = model.yaml.get("channels", model.yaml.get("ch", 3))
        classify = self.family == "ultralytics" and isinstance(model, self.tasks.ClassificationModel)
        imgsz = job.get("imgsz") or (224 if classify else 640)
        res["imgsz"] = imgsz
        ch = res["ch"]

        # our own forward at imgsz, with a hook on every top-level layer
        layers = model.model
        hooks = []

        def hook_for(k):
            def hook(mod, inp, output):
                if k < len(rows):
                    if isinstance(output, torch.Tensor):
                        rows[k]["out_shape"] = list(output.shape)
                    else:
                        rows[k]["out_shapes"] = shapes_of(output)

            return hook

        for k, layer in enumerate(layers):
            hooks.append(layer.register_forward_hook(hook_for(k)))
        model.eval()
        try:
            with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
                model(torch.zeros(1, ch, imgsz, imgsz))
        except BaseException as exc:  # noqa: BLE001
            res["stage"] = "forward"
            res["error"] = error_text(exc)
            res["traceback"] = traceback.format_exc().splitlines()[-6:]
            return res
        finally:
            for h in hooks:
                h.remove()
        res["ok"] = True
        res["params"] = sum(p.numel() for p in model.parameters())
        if not job.get("record"):
            return res

        # per-layer FLOPs (thop 0.1.1 rules, x2) at imgsz
        import thop

        with contextlib.redirect_stdout(io.StringIO()):
            _, _, info = thop.profile(copy.deepcopy(model), inputs=[torch.zeros(1, ch, imgsz, imgsz)],
                                      verbose=False, ret_layer_info=True)
        per_layer = info["model"][2]
        total = 0
        for k, row in enumerate(rows):
            ops = per_layer.get(str(k))
            row["flops"] = int(round(ops[0] * 2)) if ops is not None else None
            total += row["flops"] or 0
        res["gflops_imgsz"] = round(total / 1e9, 6)

        if self.family == "ultralytics":
            res["gflops_ultralytics_thop"] = self.gflops_with_ultralytics_thop(model)

        # fused figures: the tree's own fuse(), which prints a summary again
        capture.lines = []
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                fused = model.fuse()
            capture.add_text(out.getvalue())
            fused = fused if fused is not None else model
            res["params_fused"] = sum(p.numel() for p in fused.parameters())
            res["summary_fused"] = summary_line(capture.lines)
            res["gflops_fused"] = summary_gflops(res["summary_fused"])
        except BaseException as exc:  # noqa: BLE001
            res["fused_error"] = error_text(exc)
        return res

    def gflops_with_ultralytics_thop(self, model):
        """The build summary's GFLOPs as an install with ultralytics-thop would print them (None when not available)."""
        alt_dir = os.environ.get("ULTRALYTICS_THOP_DIR")
        if not alt_dir:
            return None
        saved = {k: v for k, v in sys.modules.items() if k == "thop" or k.startswith("thop.")}
        for k in saved:
            del sys.modules[k]
        sys.path.insert(0, alt_dir)
        old_attr = getattr(self.torch_utils, "thop", None)
        try:
            import thop as alt

            if hasattr(self.torch_utils, "thop"):
                self.torch_utils.thop = alt
            with contextlib.redirect_stdout(io.StringIO()):
                flops = self.torch_utils.get_flops(model, 640)
            return round(flops, 1) if flops else None
        finally:
            sys.path.remove(alt_dir)
            for k in [k for k in sys.modules if k == "thop" or k.startswith("thop.")]:
                del sys.modules[k]
            sys.modules.update(saved)
            if old_attr is not None:
                self.torch_utils.thop = old_attr

    def stage_of(self, exc, state):
        frames = traceback.extract_tb(exc.__traceback__)
        tb = exc.__traceback__
        pm_code = self.parse_model.__code__
        while tb is not None:
            if tb.tb_frame.f_code is pm_code:
                return "build" if tb.tb_lineno in self.build_lines else "parse"
            tb = tb.tb_next
        if not state["entered_parse"]:
            return "parse"
        if self.family == "ultralytics" and any(f.name in ("forward", "_forward_once", "predict") for f in frames):
            return "forward"
        return "build"


def main():
    framework_id, jobs_path, results_path = sys.argv[1:4]
    os.environ.setdefault("YOLO_OFFLINE", "1")
    fw = Framework(framework_id)
    with open(jobs_path) as f:
        jobs = json.load(f)
    results = []
    for job in jobs:
        r_fd, w_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r_fd)
            signal.alarm(int(os.environ.get("YOLO_TRUTH_JOB_TIMEOUT", "900")))  # a hung build must not stall the batch
            try:
                res = fw.run(job)
            except BaseException as exc:  # noqa: BLE001 - a bug here must not look like a verdict
                res = {"internal_error": error_text(exc), "traceback": traceback.format_exc().splitlines()[-8:]}
            data = json.dumps(res).encode()
            with os.fdopen(w_fd, "wb") as w:
                w.write(data)
            os._exit(0)
        os.close(w_fd)
        with os.fdopen(r_fd, "rb") as r:
            data = r.read()
        _, status = os.waitpid(pid, 0)
        results.append(json.loads(data) if data else {
            "internal_error": f"child died without a result (wait status {status})", "traceback": []})
    with open(results_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
