#!/usr/bin/python3
"""Checkpoint fixtures for the weights reader: randomly initialised models saved, with real PyTorch and the upstream
code, the way each framework saves its weights, and next to each `<name>.expected.json`: what torch.load and the
framework's own state_dict derivation give.

  YOLOV5_TREE=... GSCONV_TREE=... ULTRALYTICS_TREE=... /usr/bin/python3 scripts/truth/checkpoints.py [--only NAME ...]
  ULTRALYTICS_TREE=... /usr/bin/python3 scripts/truth/checkpoints.py --bench-out PATH   (bench/checkpoint.ts's 6 MB file)

Writes test/fixtures/checkpoints/. What each file is:
- yolov5n.pt                 yolov5 HEAD, models/yolov5n.yaml, as released: train.py's `ckpt = {...}` (model and ema
                             as deepcopy(...).half(), optimizer, opt, git, date), then utils.general.strip_optimizer
- yolov5t-last.pt            yolov5 HEAD, a narrow yolov5 (yolov5t.yaml here), train.py's ckpt mid-training (model, ema,
                             an SGD state after one step), not stripped
- yolov5t-legacy.pt          the same dict saved with _use_new_zipfile_serialization=False (the pre-1.6 format)
- yolov5t-state-dict.pt      a plain fp16 state_dict of that model (torch.save(model.half().state_dict()))
- gsconv-yolov5t.pt          the Slim-neck YOLOv5 fork, yolov5t.yaml, its train.py ckpt + its strip_optimizer
- gsconv-slimneck-yolov5t.pt the fork, slimneck-yolov5t.yaml (GSConv/VoVGSCSP neck), same save path
- yolo11t.pt                 ultralytics 8.4.33, yolo11t.yaml, as released: the trainer's save_model() dict (model None,
                             ema half, fp16 optimizer, train_args, ...), then utils.torch_utils.strip_optimizer
- yolov8t-last.pt            ultralytics 8.4.33, yolov8t.yaml, save_model()'s dict as written mid-training
- gsconv-yolov8t.pt          ultralytics 8.3.0 (Slim-neck tree), yolov8t.yaml, save_model() + strip_optimizer
- gsconv-yolov8t-sn.pt       the same tree, yolov8t-sn.yaml (the neck swapped to GSConv/VoVGSCSP), same save path
The `t` YAMLs are the upstream n models with a 1/16 width (channels 8..64; the ultralytics ones also nc 8, their
class branch being min(nc, 100) channels wide at any width) so the fixtures stay small (~11 MB in all; yolov5n.pt is
the one n-scale file, and bench/checkpoint.ts makes a 6 MB one when torch is there); they are written next to the
checkpoints. Random initialisation is seeded; dates are fixed so the files are reproducible.
"""
import argparse
import copy
import datetime as _dt
import os
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
import weightslib as truthlib  # noqa: E402

OUT = truthlib.FIXTURES / "checkpoints"
DATE = "2025-01-01T00:00:00"


class FixedDatetime(_dt.datetime):
    """datetime.now() frozen, so a re-run writes the same bytes."""

    @classmethod
    def now(cls, tz=None):
        return cls(2025, 1, 1)


def narrow_yaml(src, dst, width, nc=None):
    """The upstream YAML with a narrower width (a `t` scale for ultralytics), written as the fixture's model file;
    `nc` smaller too for ultralytics, whose class branch is at least min(nc, 100) channels wide at any width."""
    import yaml

    d = yaml.safe_load(Path(src).read_text())
    if nc:
        d["nc"] = nc
    if "scales" in d:
        n = d["scales"]["n"]
        d["scales"] = {"t": [n[0], width, n[2]]}
    else:
        d["width_multiple"] = width
    what = f"width {width}" + (f" and nc {nc}" if nc else "")
    head = f"# {Path(src).name} with {what}: a small model for checkpoint fixtures (scripts/truth/checkpoints.py)\n"
    Path(dst).write_text(head + dump_yaml(d))
    return dst


def dump_yaml(d):
    """Model YAML in the upstream layout: header keys, `scales:` one line per scale, one flow-style line per layer."""
    lines = []
    for k, v in d.items():
        if k in ("backbone", "head"):
            lines.append(f"{k}:")
            lines.extend(f"  - {flow(layer)}" for layer in v)
        elif isinstance(v, dict):
            lines.append(f"{k}:")
            lines.extend(f"  {kk}: {flow(vv)}" for kk, vv in v.items())
        else:
            lines.append(f"{k}: {flow(v)}")
    return "\n".join(lines) + "\n"


def flow(v):
    import yaml

    text = yaml.safe_dump(v, default_flow_style=True, width=1000).strip()
    return text[: -len("...")].strip() if text.endswith("...") else text


def expected(path, framework, yaml_name, notes):
    """<name>.expected.json: torch.load's view of the file and each module's state_dict()."""
    import torch

    ckpt = torch.load(path, map_location="cpu")
    out = {
        "schema": 1,
        "file": Path(path).name,
        "framework": framework,
        "code_commit": truthlib.git_commit(truthlib.tree(framework)),
        "torch": torch.__version__,
        "model_yaml": yaml_name,
        "notes": notes,
        "format": "zip" if _is_zip(path) else "legacy",
        "top_type": type(ckpt).__module__ + "." + type(ckpt).__qualname__,
        "top_keys": None,
    }
    modules = {}
    if isinstance(ckpt, dict) and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        out["state_dict_source"] = "root"  # a plain state_dict: its keys are the state_dict's
        out["state_dict"] = truthlib.state_dict_entries(ckpt)
    else:
        out["top_keys"] = [str(k) for k in ckpt.keys()]
        for k in ("model", "ema"):
            m = ckpt.get(k)
            if isinstance(m, torch.nn.Module):
                modules[k] = m
        # what the loaders take: ultralytics load_checkpoint and yolov5 attempt_load use `ckpt.get("ema") or
        # ckpt["model"]`; yolov5's train.py reads ckpt["model"] for the transfer
        preferred = "ema" if ckpt.get("ema") else "model"
        out["state_dict_source"] = preferred
        out["state_dict"] = truthlib.state_dict_entries(ckpt[preferred].state_dict())
        out["state_dicts"] = {k: truthlib.state_dict_entries(m.state_dict()) for k, m in modules.items()}
        m = ckpt[preferred]
        out["model_class"] = type(m).__module__ + "." + type(m).__qualname__
        out["model_info"] = {k: truthlib.plain(getattr(m, k)) for k in ("yaml", "nc", "names", "args", "stride") if hasattr(m, k)}
        out["non_persistent_buffers"] = sorted(
            f"{name}.{b}" if name else b for name, sub in m.named_modules() for b in sub._non_persistent_buffers_set
        )
        out["checkpoint_info"] = {
            k: truthlib.plain(ckpt[k])
            for k in ("epoch", "best_fitness", "date", "version", "train_args", "opt", "git", "license", "docs", "updates")
            if k in ckpt
        }
    truthlib.write_json(Path(path).with_suffix(".expected.json"), out)
    truthlib.assert_no_local_paths(path)
    print(f"{Path(path).name}: {Path(path).stat().st_size / 1e6:.2f} MB, {len(out['state_dict'])} keys")


def _is_zip(path):
    return Path(path).read_bytes()[:4] == b"PK\x03\x04"


def one_step(model, optimizer, imgsz=64):
    """One optimizer step on a random batch so the optimizer state holds tensors, as any saved mid-training state does."""
    import torch

    model.train()
    out, tensors = [model(torch.rand(1, 3, imgsz, imgsz))], []
    while out:  # training outputs are tensors, lists of them, or (8.4) dicts of them
        o = out.pop()
        if isinstance(o, torch.Tensor):
            tensors.append(o)
        elif isinstance(o, (list, tuple)):
            out.extend(o)
        elif isinstance(o, dict):
            out.extend(o.values())
    loss = sum(o.float().mean() for o in tensors)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()


# --- yolov5 HEAD and the Slim-neck YOLOv5 fork: train.py's checkpoint ---------------------------------------------


def yolov5_worker(framework, only):
    import torch
    import yaml

    root = truthlib.tree(framework)
    from models.yolo import Model
    from utils import general
    from utils.torch_utils import ModelEMA, de_parallel

    general.datetime = FixedDatetime
    opt = {}
    if framework == "yolov5":  # the fork's train.py needs tensorboard to import, and its ckpt has no `opt`
        sys.argv = ["train.py"]
        import train  # the real train.py's parse_opt: `opt` as a default run saves it

        opt = vars(train.parse_opt(True))
        # parse_opt resolves paths against the tree: keep them relative (and of the same types) so no local path is saved
        opt = {k: (type(v)(Path(v).name) if isinstance(v, Path) else v) for k, v in opt.items()}
    hyp = yaml.safe_load((root / "data/hyps/hyp.scratch-low.yaml").read_text()) if (root / "data/hyps").exists() else (
        yaml.safe_load((root / "data/hyps/hyp.scratch.yaml").read_text()) if (root / "data/hyps/hyp.scratch.yaml").exists() else {}
    )
    names = yaml.safe_load((root / "data/coco128.yaml").read_text())["names"]
    git = {"remote": "https://github.com/ultralytics/yolov5.git", "branch": "master", "commit": truthlib.git_commit(root)}
    prefix = "" if framework == "yolov5" else "gsconv-"

    def build(cfg):
        torch.manual_seed(0)
        model = Model(str(cfg), ch=3, nc=80)
        model.nc, model.hyp, model.names = 80, hyp, names
        model.class_weights = torch.ones(80)  # train.py attaches a plain tensor: in the pickle, not in state_dict
        return model

    def ckpt_of(model, ema, optimizer, epoch):
        c = {
            "epoch": epoch,
            "best_fitness": 0.0,
            "model": copy.deepcopy(de_parallel(model)).half(),
            "ema": copy.deepcopy(ema.ema).half(),
            "updates": ema.updates,
            "optimizer": optimizer.state_dict(),
        }
        if framework == "yolov5":
            c.update({"opt": opt, "git": git, "date": DATE})
        else:  # the fork's train.py keys
            c.update({"wandb_id": None, "date": DATE})
        return c

    def optimizer_of(model):
        from utils import torch_utils

        if hasattr(torch_utils, "smart_optimizer"):  # yolov5 HEAD's train.py builds its optimizer with it
            return torch_utils.smart_optimizer(model, "SGD", hyp["lr0"], hyp["momentum"], hyp["weight_decay"])
        return torch.optim.SGD(model.parameters(), lr=hyp["lr0"], momentum=hyp["momentum"], nesterov=True)

    def released(cfg, name, yaml_name):
        model = build(cfg)
        ema = ModelEMA(model)
        last = OUT / f".{name}.last.pt"
        torch.save(ckpt_of(model, ema, optimizer_of(model), 0), last)
        general.strip_optimizer(str(last), str(OUT / name))
        last.unlink()
        expected(OUT / name, framework, yaml_name, "released: train.py's ckpt, then utils.general.strip_optimizer")

    t_yaml = OUT / f"{prefix}yolov5t.yaml"
    narrow_yaml(root / "models/yolov5n.yaml", t_yaml, 0.0625)
    if framework == "yolov5":
        if want(only, "yolov5n.pt"):
            released(root / "models/yolov5n.yaml", "yolov5n.pt", "models/yolov5n.yaml (upstream)")
        if want(only, "yolov5t-last.pt") or want(only, "yolov5t-legacy.pt") or want(only, "yolov5t-state-dict.pt"):
            model = build(t_yaml)
            ema = ModelEMA(model)
            optimizer = optimizer_of(model)
            one_step(model, optimizer)
            ema.update(model)
            ckpt = ckpt_of(model, ema, optimizer, 3)
            torch.save(ckpt, OUT / "yolov5t-last.pt")
            expected(OUT / "yolov5t-last.pt", framework, t_yaml.name, "mid-training: train.py's ckpt after one step, not stripped")
            # the legacy format stores, for every nn.Module class, its source file path and source text (checked on
            # load); torch writes None for both when it cannot get the source, as here: no upstream code and no local
            # path goes into the fixture, and the format is otherwise the same
            import torch.serialization as ts

            def no_source(obj):
                raise OSError("source not stored in this fixture")

            ts.get_source_lines_and_file = no_source
            torch.save(copy.deepcopy(model).half().state_dict(), OUT / "yolov5t-state-dict.pt")
            expected(OUT / "yolov5t-state-dict.pt", framework, t_yaml.name, "a plain fp16 state_dict")
            # legacy: the released form (strip_optimizer's output, small) re-saved in the pre-1.6 format
            stripped = OUT / ".yolov5t-stripped.pt"
            general.strip_optimizer(str(OUT / "yolov5t-last.pt"), str(stripped))
            torch.save(torch.load(stripped, map_location="cpu"), OUT / "yolov5t-legacy.pt", _use_new_zipfile_serialization=False)
            stripped.unlink()
            expected(OUT / "yolov5t-legacy.pt", framework, t_yaml.name, "released ckpt in the legacy (non-zip) format, no module sources")
    else:
        sn_yaml = OUT / "gsconv-slimneck-yolov5t.yaml"
        narrow_yaml(root / "models/slimneck-yolov5n.yaml", sn_yaml, 0.0625)
        if want(only, "gsconv-yolov5t.pt"):
            released(t_yaml, "gsconv-yolov5t.pt", t_yaml.name)
        if want(only, "gsconv-slimneck-yolov5t.pt"):
            released(sn_yaml, "gsconv-slimneck-yolov5t.pt", sn_yaml.name)


# --- ultralytics 8.4.33 and 8.3.0 (Slim-neck tree): the trainer's save_model ------------------------------------------


def ultralytics_worker(framework, only):
    import torch
    import yaml

    if framework == "ultralytics-8.3":
        truthlib.break_gsconv_import_cycle()
    from ultralytics import __version__
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.tasks import DetectionModel, yaml_model_load
    from ultralytics.utils import DEFAULT_CFG
    from ultralytics.utils import torch_utils
    from ultralytics.utils.torch_utils import ModelEMA, strip_optimizer

    torch_utils.datetime = FixedDatetime
    root = truthlib.tree(framework)
    cfg_dir = root / "ultralytics/cfg"
    names = yaml.safe_load((cfg_dir / "datasets/coco8.yaml").read_text())["names"]

    def save_model_dict(model_yaml, name, epoch):
        """The dict BaseTrainer.save_model() writes, from a freshly built model as the trainer holds it."""
        torch.manual_seed(0)
        nc = yaml_model_load(model_yaml)["nc"]  # `yolo11n.yaml` names yolo11.yaml at scale n, as ultralytics reads it
        args = get_cfg(DEFAULT_CFG, {"model": Path(model_yaml).name, "data": "coco8.yaml", "epochs": 1, "name": "train"})
        model = DetectionModel(str(model_yaml), nc=nc, verbose=False)
        # yaml_model_load records the path it was given; released weights carry the bare name ("yolo11n.yaml")
        model.yaml["yaml_file"] = Path(model_yaml).name
        model.nc, model.names, model.args = nc, {i: names[i] for i in range(nc)}, args  # set_model_attributes
        ema = ModelEMA(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.937, nesterov=True)
        one_step(model, optimizer)
        ema.update(model)
        if hasattr(torch_utils, "convert_optimizer_state_dict_to_fp16"):
            opt_state = torch_utils.convert_optimizer_state_dict_to_fp16(copy.deepcopy(optimizer.state_dict()))
        else:
            opt_state = optimizer.state_dict()
        unwrap = getattr(torch_utils, "unwrap_model", None) or torch_utils.de_parallel
        ckpt = {
            "epoch": epoch,
            "best_fitness": 0.0,
            "model": None,
            "ema": copy.deepcopy(unwrap(ema.ema)).half(),
            "updates": ema.updates,
            "optimizer": opt_state,
        }
        if framework == "ultralytics-8.4":
            ckpt["scaler"] = torch.cuda.amp.GradScaler(enabled=False).state_dict()
        ckpt.update(
            {
                "train_args": vars(args),
                "train_metrics": {"metrics/mAP50(B)": 0.0, "fitness": 0.0},
                "train_results": {},
                "date": DATE,
                "version": __version__,
            }
        )
        if framework == "ultralytics-8.4":
            ckpt["git"] = {"root": None, "branch": None, "commit": None, "origin": None}
        ckpt.update({"license": "AGPL-3.0 (https://ultralytics.com/license)", "docs": "https://docs.ultralytics.com"})
        return ckpt

    def released(model_yaml, name, yaml_name):
        last = OUT / f".{name}.last.pt"
        torch.save(save_model_dict(model_yaml, name, 0), last)
        strip_optimizer(str(last), str(OUT / name))
        last.unlink()
        expected(OUT / name, framework, yaml_name, "released: save_model()'s dict, then utils.torch_utils.strip_optimizer")

    if framework == "ultralytics-8.4" and os.environ.get("BENCH_OUT"):
        # bench/checkpoint.ts: a released-style yolov8n.pt (6.3 MB), written where it says, not a fixture
        out = Path(os.environ["BENCH_OUT"])
        last = out.with_suffix(".last.pt")
        torch.save(save_model_dict(cfg_dir / "models/v8/yolov8n.yaml", out.name, 0), last)
        strip_optimizer(str(last), str(out))
        last.unlink()
        return
    if framework == "ultralytics-8.4":
        if want(only, "yolo11t.pt"):
            # width 1/8: C2PSA has c // 64 attention heads, none at 1/16
            t11 = narrow_yaml(cfg_dir / "models/11/yolo11.yaml", OUT / "yolo11t.yaml", 0.125, nc=8)
            released(t11, "yolo11t.pt", t11.name)
        if want(only, "yolov8t-last.pt"):
            t_yaml = narrow_yaml(cfg_dir / "models/v8/yolov8.yaml", OUT / "yolov8t.yaml", 0.0625, nc=8)
            torch.save(save_model_dict(t_yaml, "yolov8t-last.pt", 3), OUT / "yolov8t-last.pt")
            expected(OUT / "yolov8t-last.pt", framework, t_yaml.name, "mid-training: save_model()'s dict, not stripped")
    else:
        t_yaml = narrow_yaml(cfg_dir / "models/v8/yolov8.yaml", OUT / "gsconv-yolov8t.yaml", 0.0625, nc=8)
        sn_yaml = OUT / "gsconv-yolov8t-sn.yaml"
        sn_yaml.write_text(
            f"# yolov8t with its neck swapped to Slim-neck modules (downsampling Conv -> GSConv, C2f -> VoVGSCSP)\n"
            + dump_yaml(slimneck_swap_ultralytics(yaml.safe_load(Path(t_yaml).read_text())))
        )
        if want(only, "gsconv-yolov8t.pt"):
            released(t_yaml, "gsconv-yolov8t.pt", t_yaml.name)
        if want(only, "gsconv-yolov8t-sn.pt"):
            released(sn_yaml, "gsconv-yolov8t-sn.pt", sn_yaml.name)


def slimneck_swap_ultralytics(d):
    """The Slim-neck paper's neck for a v8 head: every Conv of the head -> GSConv, every C2f -> VoVGSCSP."""
    d = copy.deepcopy(d)
    for layer in d["head"]:
        if layer[2] == "Conv":
            layer[2] = "GSConv"
        elif layer[2] == "C2f":
            layer[2] = "VoVGSCSP"
            layer[3] = layer[3][:1]  # VoVGSCSP(c1, c2, n, shortcut=True): the v8 head's C2f args are [c2] already
    return d


def want(only, name):
    return not only or name in only


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--bench-out", help="write only bench/checkpoint.ts's yolov8n.pt (ultralytics 8.4, 6.3 MB) there")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if a.worker:
        (yolov5_worker if a.worker.startswith("yolov5") else ultralytics_worker)(a.worker, a.only)
        return
    if a.bench_out:  # only the bench's 6 MB checkpoint
        os.environ["BENCH_OUT"] = str(Path(a.bench_out).resolve())
        truthlib.run_worker(__file__, "ultralytics-8.4", [])
        return
    for fw in truthlib.FRAMEWORKS:
        truthlib.run_worker(__file__, fw, ["--only", *a.only] if a.only else [])
    total = sum(p.stat().st_size for p in OUT.glob("*.pt"))
    print(f"total {total / 1e6:.2f} MB in {OUT}")


if __name__ == "__main__":
    main()
