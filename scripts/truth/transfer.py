#!/usr/bin/python3
"""Transfer truth: for edit cases (a checkpoint fixture + an edited model YAML), what each framework's own loading
code transfers, and the log line it prints.

  YOLOV5_TREE=... GSCONV_TREE=... ULTRALYTICS_TREE=... /usr/bin/python3 scripts/truth/transfer.py [--only CASE ...]

Writes test/fixtures/transfer/<case>/model.yaml and expected.json. The code that runs, per framework:
- yolov5 (HEAD) and yolov5-gsconv (the Slim-neck fork): the lines of the tree's own train.py from
  `ckpt = torch_load(weights, ...)` / `torch.load` through the `LOGGER.info(f"Transferred ...")` line, read from
  train.py and executed as they are (Model(cfg, ch=3, nc=nc, anchors=hyp.get("anchors")), exclude=["anchor"] since a
  cfg is given, intersect_dicts(csd, model.state_dict(), exclude=exclude), load_state_dict(strict=False)). HEAD's
  intersect_dicts is the ultralytics package's (8.4.33 here).
- ultralytics-8.4 / ultralytics-8.3: the trainer path: weights = load_checkpoint(w) (8.3: attempt_load_one_weight),
  then DetectionTrainer.get_model(cfg, weights) = DetectionModel(cfg, nc, ch) + BaseModel.load(weights), whose
  LOGGER.info line is captured. 8.4's BaseModel.load also copies a partial first conv (model.0.conv.weight): when
  its shape differs but the kernel size matches, the [:min(c_out), :min(c_in)] slice is copied and counted.
The per-key statuses are derived from the same state_dicts (the framework's own intersect_dicts decides `loaded`)
and checked against the counts in the captured log line, so a wrong derivation fails here, not in the lead's test.

expected.json (schema 1):
  case, framework, description, checkpoint (path relative to the case folder), checkpoint_entry ("model": train.py
  reads ckpt["model"]; "ema-or-model": ckpt.get("ema") or ckpt["model"]), yaml ("model.yaml"), nc, ch,
  error (null, or "ExceptionType: message" when the real code raised: then no counts),
  log (the exact line), transferred and total (its N/M), items (the new model's state_dict in order:
  {key, shape, status: loaded | partial | shape-mismatch | excluded | new, checkpoint_shape (partial, mismatch),
  copied (partial: the slice sizes)}), unused (checkpoint keys not loaded, in the checkpoint's order: {key, shape,
  reason: not-in-model | shape-mismatch | excluded}; a partly copied key is not unused), code_path (what ran).
"""
import argparse
import copy
import inspect
import logging
import os
import re
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
import weightslib as truthlib  # noqa: E402
from checkpoints import dump_yaml  # noqa: E402

OUT = truthlib.FIXTURES / "transfer"
CKPTS = truthlib.FIXTURES / "checkpoints"


# --- YAML edits -----------------------------------------------------------------------------------------------------


def layers(d):
    return d["backbone"] + d["head"]


def set_layers(d, all_layers, n_backbone):
    d["backbone"], d["head"] = all_layers[:n_backbone], all_layers[n_backbone:]


def renumber(all_layers, index, delta):
    """After inserting (delta +1) or deleting (delta -1) the layer at `index`, every layer's `from` still names the
    layer it named before (the layer after an insertion chains through it): absolute indices past the edit move,
    relative ones that reach across it grow or shrink. A reference to a deleted layer goes to its input."""
    for i, layer in enumerate(all_layers):
        if delta > 0 and i == index:
            continue  # the inserted layer itself
        old_i = i if i < index else i - delta
        fs = layer[0] if isinstance(layer[0], list) else [layer[0]]
        out = []
        for x in fs:
            old_target = old_i + x if x < 0 else x
            if delta > 0:
                target = old_target + 1 if old_target >= index else old_target
            else:
                target = old_target - 1 if old_target > index else index - 1 if old_target == index else old_target
            if delta > 0 and x == -1 and i == index + 1:
                target = index  # the layer after an insertion now takes the inserted layer's output
            out.append(target - i if x < 0 else target)
        layer[0] = out if isinstance(layer[0], list) else out[0]


def insert(d, index, layer, renumbered=True):
    d = copy.deepcopy(d)
    nb = len(d["backbone"]) + (1 if index <= len(d["backbone"]) else 0)
    all_layers = layers(d)
    all_layers.insert(index, layer)
    if renumbered:  # else the `from` values stay as written, as when a line is pasted in and nothing else touched
        renumber(all_layers, index, +1)
    set_layers(d, all_layers, nb)
    return d


def delete(d, index, renumbered=True):
    d = copy.deepcopy(d)
    nb = len(d["backbone"]) - (1 if index < len(d["backbone"]) else 0)
    all_layers = layers(d)
    del all_layers[index]
    if renumbered:
        renumber(all_layers, index, -1)
    set_layers(d, all_layers, nb)
    return d


def set_args(d, index, args):
    d = copy.deepcopy(d)
    all_layers = layers(d)
    all_layers[index][3] = args
    set_layers(d, all_layers, len(d["backbone"]))
    return d


def with_header(d, **keys):
    d = copy.deepcopy(d)
    out = {}
    for k, v in d.items():
        if k == "backbone":
            out.update(keys)
        out[k] = v
    return out


def with_scale(d, depth, width, max_channels):
    d = copy.deepcopy(d)
    if "scales" in d:
        d["scales"] = {"t": [depth, width, max_channels]}
    else:
        d["depth_multiple"], d["width_multiple"] = depth, width
    return d


def slimneck_swap_v5(d):
    """The Slim-neck paper's neck for a YOLOv5 head: Conv -> GSConv, C3 -> VoVGSCSP (as the fork's
    slimneck-yolov5n.yaml)."""
    d = copy.deepcopy(d)
    for layer in d["head"]:
        layer[2] = {"Conv": "GSConv", "C3": "VoVGSCSP"}.get(layer[2], layer[2])
    return d


# --- cases ------------------------------------------------------------------------------------------------------------


def cases():
    """(case, framework, checkpoint fixture, base YAML (a fixture or an upstream file), edit, nc, ch, description)"""
    import yaml

    def fixture_yaml(name):
        return yaml.safe_load((CKPTS / name).read_text())

    def upstream_yaml(framework, rel):
        return yaml.safe_load((truthlib.tree(framework) / rel).read_text())

    v5 = lambda: upstream_yaml("yolov5", "models/yolov5n.yaml")  # noqa: E731
    fork = lambda: fixture_yaml("gsconv-yolov5t.yaml")  # noqa: E731
    y11 = lambda: fixture_yaml("yolo11t.yaml")  # noqa: E731
    v8_83 = lambda: fixture_yaml("gsconv-yolov8t.yaml")  # noqa: E731
    v8_84 = lambda: fixture_yaml("yolov8t.yaml")  # noqa: E731
    conv = lambda c2, k=3, s=1: [-1, 1, "Conv", [c2, k, s]]  # noqa: E731
    return [
        # yolov5 HEAD, the released-style yolov5n.pt
        ("v5-identical", "yolov5", "yolov5n.pt", v5, None, 80, 3, "models/yolov5n.yaml as the checkpoint was built"),
        ("v5-nc-20", "yolov5", "yolov5n.pt", v5, None, 20, 3, "a 20-class dataset: Detect's output convs change"),
        ("v5-bigger-scale", "yolov5", "yolov5n.pt", lambda: with_scale(v5(), 0.33, 0.50, None), None, 80, 3, "yolov5s widths (0.50)"),
        (
            "v5-insert-renumbered",
            "yolov5",
            "yolov5n.pt",
            lambda: insert(v5(), 5, conv(256)),
            None,
            80,
            3,
            "a Conv inserted at index 5 (after the P3 C3), later `from` indices renumbered",
        ),
        (
            "v5-insert-not-renumbered",
            "yolov5",
            "yolov5n.pt",
            lambda: insert(v5(), 5, conv(256), renumbered=False),
            None,
            80,
            3,
            "the same Conv inserted, `from` indices left as they were",
        ),
        ("v5-delete-layer", "yolov5", "yolov5n.pt", lambda: delete(v5(), 8), None, 80, 3, "the C3 at index 8 deleted, renumbered"),
        (
            "v5-delete-not-renumbered",
            "yolov5",
            "yolov5n.pt",
            lambda: delete(v5(), 8, renumbered=False),
            None,
            80,
            3,
            "the C3 at index 8 deleted, `from` indices left as they were: the model does not build",
        ),
        (
            "v5-activation",
            "yolov5",
            "yolov5n.pt",
            lambda: with_header(v5(), activation="nn.ReLU()"),
            None,
            80,
            3,
            "activation: nn.ReLU() (activations have no weights)",
        ),
        ("v5-channel-change", "yolov5", "yolov5n.pt", lambda: set_args(v5(), 7, [768, 3, 2]), None, 80, 3, "layer 7 Conv 1024 -> 768"),
        # the Slim-neck YOLOv5 fork
        ("fork-identical", "yolov5-gsconv", "gsconv-yolov5t.pt", fork, None, 80, 3, "gsconv-yolov5t.yaml as built"),
        (
            "fork-slimneck-swap",
            "yolov5-gsconv",
            "gsconv-yolov5t.pt",
            lambda: slimneck_swap_v5(fork()),
            None,
            80,
            3,
            "the neck swapped: Conv -> GSConv, C3 -> VoVGSCSP (slimneck-yolov5n.yaml's layout)",
        ),
        ("fork-nc-3", "yolov5-gsconv", "gsconv-yolov5t.pt", fork, None, 3, 3, "a 3-class dataset"),
        # ultralytics 8.4.33
        ("u84-identical", "ultralytics-8.4", "yolo11t.pt", y11, None, 8, 3, "yolo11t.yaml as built"),
        ("u84-nc-80", "ultralytics-8.4", "yolo11t.pt", y11, None, 80, 3, "an 80-class dataset: the class branch changes"),
        ("u84-bigger-scale", "ultralytics-8.4", "yolo11t.pt", lambda: with_scale(y11(), 0.50, 0.25, 1024), None, 8, 3, "width 0.25 (n)"),
        (
            "u84-insert-renumbered",
            "ultralytics-8.4",
            "yolo11t.pt",
            lambda: insert(y11(), 5, conv(512)),
            None,
            8,
            3,
            "a Conv inserted at index 5, renumbered",
        ),
        ("u84-delete-layer", "ultralytics-8.4", "yolo11t.pt", lambda: delete(y11(), 8), None, 8, 3, "the C3k2 at index 8 deleted"),
        (
            "u84-activation",
            "ultralytics-8.4",
            "yolo11t.pt",
            lambda: with_header(y11(), activation="nn.ReLU()"),
            None,
            8,
            3,
            "activation: nn.ReLU()",
        ),
        ("u84-ch-4", "ultralytics-8.4", "yolo11t.pt", y11, None, 8, 4, "a 4-channel dataset: the first conv loads partly"),
        (
            "u84-first-conv-width",
            "ultralytics-8.4",
            "yolo11t.pt",
            lambda: set_args(y11(), 0, [96, 3, 2]),
            None,
            8,
            3,
            "layer 0 Conv 64 -> 96: the first conv loads partly",
        ),
        (
            "u84-first-conv-kernel",
            "ultralytics-8.4",
            "yolo11t.pt",
            lambda: set_args(y11(), 0, [96, 5, 2]),
            None,
            8,
            3,
            "layer 0 Conv 64 k3 -> 96 k5: kernels differ, no partial load",
        ),
        ("u84-channel-change", "ultralytics-8.4", "yolo11t.pt", lambda: set_args(y11(), 7, [768, 3, 2]), None, 8, 3, "Conv 7: 1024 -> 768"),
        ("u84-from-last", "ultralytics-8.4", "yolov8t-last.pt", v8_84, None, 8, 3, "a mid-training last.pt (model None, ema)"),
        # ultralytics 8.3.0, the Slim-neck tree
        ("u83-identical", "ultralytics-8.3", "gsconv-yolov8t.pt", v8_83, None, 8, 3, "gsconv-yolov8t.yaml as built"),
        (
            "u83-slimneck-swap",
            "ultralytics-8.3",
            "gsconv-yolov8t.pt",
            lambda: fixture_yaml("gsconv-yolov8t-sn.yaml"),
            None,
            8,
            3,
            "the neck swapped: Conv -> GSConv, C2f -> VoVGSCSP",
        ),
        (
            "u83-first-conv-width",
            "ultralytics-8.3",
            "gsconv-yolov8t.pt",
            lambda: set_args(v8_83(), 0, [256, 3, 2]),
            None,
            8,
            3,
            "layer 0 Conv 64 -> 256 (8 -> 16 channels at this width): 8.3 has no partial load",
        ),
        (
            "u83-insert-renumbered",
            "ultralytics-8.3",
            "gsconv-yolov8t.pt",
            lambda: insert(v8_83(), 5, conv(512)),
            None,
            8,
            3,
            "a Conv inserted at index 5, renumbered",
        ),
    ]


# --- running the real loaders -------------------------------------------------------------------------------------


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def train_py_block(train_py):
    """The transfer lines of a yolov5 train.py, from the checkpoint load to the `Transferred` log line, dedented."""
    lines = Path(train_py).read_text().splitlines()
    start = next(i for i, x in enumerate(lines) if re.match(r"\s*ckpt = torch(_load|\.load)\(weights", x))
    end = next(i for i, x in enumerate(lines) if i > start and "Transferred" in x)
    return textwrap.dedent("\n".join(lines[start : end + 1])), f"train.py:{start + 1}-{end + 1}"


def run_yolov5(framework, weights_rel, nc, cfg="model.yaml"):
    import torch
    import yaml
    from models.yolo import Model
    from utils import general

    root = truthlib.tree(framework)
    block, where = train_py_block(root / "train.py")
    namespace = {
        "torch": torch,
        "Model": Model,
        "intersect_dicts": general.intersect_dicts,
        "LOGGER": general.LOGGER,
        "weights": weights_rel,
        "cfg": cfg,
        "nc": nc,
        "hyp": yaml.safe_load((root / "data/hyps/hyp.scratch-low.yaml").read_text()),
        "resume": False,
        "device": torch.device("cpu"),
    }
    if framework == "yolov5":
        from ultralytics.utils.patches import torch_load  # what HEAD's train.py imports

        namespace["torch_load"] = torch_load
    capture = Capture()
    general.LOGGER.addHandler(capture)
    try:
        exec(compile(block, str(root / "train.py"), "exec"), namespace)  # noqa: S102 - the upstream lines, as they are
    finally:
        general.LOGGER.removeHandler(capture)
    ckpt_sd = torch.load(weights_rel, map_location="cpu")["model"].float().state_dict()
    model_sd = namespace["model"].state_dict()
    loaded = set(namespace["csd"])
    excluded = {k for k in ckpt_sd if k in model_sd and ckpt_sd[k].shape == model_sd[k].shape and k not in loaded}
    log = next(x for x in capture.lines if "Transferred" in x)
    # where the lines are, not the lines: upstream code is not copied into the fixtures
    code = f"{where} (ckpt load, Model(cfg, ch=3, nc=nc), intersect_dicts with exclude=['anchor'], the Transferred line), as written"
    return log, ckpt_sd, model_sd, loaded, excluded, {}, code


def run_ultralytics(framework, weights_rel, nc, ch, cfg="model.yaml"):
    import torch
    from ultralytics.models.yolo.detect.train import DetectionTrainer
    from ultralytics.nn import tasks
    from ultralytics.utils import LOGGER
    from ultralytics.utils.torch_utils import intersect_dicts

    load = getattr(tasks, "load_checkpoint", None) or tasks.attempt_load_one_weight
    capture = Capture()
    LOGGER.addHandler(capture)
    try:
        weights, _ = load(weights_rel)
        trainer = SimpleNamespace(data={"nc": nc, "channels": ch})
        model = DetectionTrainer.get_model(trainer, cfg=cfg, weights=weights, verbose=True)
    finally:
        LOGGER.removeHandler(capture)
    ckpt_sd = weights.float().state_dict()
    model_sd = model.state_dict()
    loaded = set(intersect_dicts(ckpt_sd, model_sd))
    partial = {}
    first = "model.0.conv.weight"
    if "first_conv" in inspect.getsource(tasks.BaseModel.load) and first not in loaded and first in model_sd:
        (c1, c2, h, w), (cc1, cc2, ch_, cw) = model_sd[first].shape, ckpt_sd[first].shape
        if (ch_, cw) == (h, w):
            partial[first] = [min(c1, cc1), min(c2, cc2)]
    log = next(x for x in capture.lines if "Transferred" in x)
    code = (
        f"weights, _ = {load.__name__}(w); DetectionTrainer.get_model(cfg, weights): DetectionModel(cfg, nc=data['nc']"
        + (", ch=data['channels']" if "channels" in inspect.getsource(DetectionTrainer.get_model) else "")
        + "); model.load(weights)"
        + (" (with the partial first-conv copy)" if partial or "first_conv" in inspect.getsource(tasks.BaseModel.load) else "")
    )
    return log, ckpt_sd, model_sd, loaded, set(), partial, code


def run_case(framework, case, ckpt_name, yaml_dict, nc, ch, description):
    case_dir = OUT / case
    case_dir.mkdir(parents=True, exist_ok=True)
    (case_dir / "model.yaml").write_text(f"# transfer case {case}: {description}\n" + dump_yaml(yaml_dict))
    weights_rel = os.path.relpath(CKPTS / ckpt_name, case_dir)
    os.chdir(case_dir)
    out = {
        "schema": 1,
        "case": case,
        "framework": framework,
        "description": description,
        "checkpoint": weights_rel,
        "checkpoint_entry": "model" if framework.startswith("yolov5") else "ema-or-model",
        "yaml": "model.yaml",
        "nc": nc,
        "ch": ch,
        "error": None,
    }
    try:
        if framework.startswith("yolov5"):
            log, ckpt_sd, model_sd, loaded, excluded, partial, code = run_yolov5(framework, weights_rel, nc)
        else:
            log, ckpt_sd, model_sd, loaded, excluded, partial, code = run_ultralytics(framework, weights_rel, nc, ch)
    except Exception as e:  # the model would not build (or the loader raised): the truth is that error
        out["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        truthlib.write_json(case_dir / "expected.json", out)
        print(f"{case}: {out['error']}")
        return
    m = re.search(r"Transferred (\d+)/(\d+) items", log)
    transferred, total = int(m.group(1)), int(m.group(2))
    items = []
    for k, v in model_sd.items():
        item = {"key": k, "shape": list(v.shape)}
        if k in loaded:
            item["status"] = "loaded"
        elif k in partial:
            item.update(status="partial", checkpoint_shape=list(ckpt_sd[k].shape), copied=partial[k])
        elif k in excluded:
            item["status"] = "excluded"
        elif k in ckpt_sd:
            item.update(status="shape-mismatch", checkpoint_shape=list(ckpt_sd[k].shape))
        else:
            item["status"] = "new"
        items.append(item)
    unused = []
    for k, v in ckpt_sd.items():
        if k in loaded or k in partial:
            continue
        reason = "not-in-model" if k not in model_sd else "excluded" if k in excluded else "shape-mismatch"
        unused.append({"key": k, "shape": list(v.shape), "reason": reason})
    # the derivation must give the framework's own numbers
    counted = sum(1 for i in items if i["status"] in ("loaded", "partial"))
    assert counted == transferred, f"{case}: {counted} loaded/partial but the log says {transferred}"
    assert len(model_sd) == total, f"{case}: {len(model_sd)} keys but the log says {total}"
    out.update(log=log, transferred=transferred, total=total, code_path=code, items=items, unused=unused)
    truthlib.write_json(case_dir / "expected.json", out)
    print(f"{case}: {log}")


def worker(framework, only):
    if framework == "ultralytics-8.3":
        truthlib.break_gsconv_import_cycle()
    for case, fw, ckpt, base, _, nc, ch, description in cases():
        if fw != framework or (only and case not in only):
            continue
        run_case(fw, case, ckpt, base(), nc, ch, description)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    if a.worker:
        worker(a.worker, a.only)
        return
    for fw in truthlib.FRAMEWORKS:
        truthlib.run_worker(__file__, fw, ["--only", *a.only] if a.only else [])


if __name__ == "__main__":
    main()
