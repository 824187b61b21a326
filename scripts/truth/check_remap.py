#!/usr/bin/python3
"""Loads a checkpoint into a model YAML with the real framework's loading code and prints what it transfers: the
framework's own log line, then one JSON line. Made to verify `yolo-lens transfer ... --remap out.pt`: the remapped
file must load, with the count the CLI predicted.

  YOLOV5_TREE=... GSCONV_TREE=... ULTRALYTICS_TREE=... /usr/bin/python3 scripts/truth/check_remap.py CKPT CFG \\
      [--framework yolov5|yolov5-gsconv|ultralytics-8.3|ultralytics-8.4] [--nc N] [--ch C] [--expect N]

The code paths are transfer.py's (yolov5: train.py's transfer lines as written; ultralytics: load_checkpoint +
DetectionTrainer.get_model + BaseModel.load). JSON: {"log", "transferred", "total", "loaded", "partial",
"shape_mismatch", "excluded", "new", "unused"} (counts). Exit status 1 when --expect N differs from the count, 2
when the framework raised (the message is printed).
"""
import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import weightslib as truthlib  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ckpt")
    ap.add_argument("cfg")
    ap.add_argument("--framework", default="ultralytics-8.4", choices=list(truthlib.FRAMEWORKS))
    ap.add_argument("--nc", type=int, help="the dataset's class count (default: the YAML's nc)")
    ap.add_argument("--ch", type=int, default=3, help="input channels (ultralytics 8.4 trainers pass the dataset's)")
    ap.add_argument("--expect", type=int, help="the transferred count the CLI predicted")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    ckpt, cfg = str(Path(a.ckpt).resolve()), str(Path(a.cfg).resolve())
    if not a.worker:
        args = [ckpt, cfg, "--framework", a.framework, "--ch", str(a.ch)]
        args += ["--nc", str(a.nc)] if a.nc is not None else []
        args += ["--expect", str(a.expect)] if a.expect is not None else []
        truthlib.run_worker(__file__, a.framework, args)
        return
    import yaml

    import transfer

    nc = a.nc if a.nc is not None else yaml.safe_load(Path(cfg).read_text()).get("nc", 80)
    try:
        if a.framework.startswith("yolov5"):
            log, ckpt_sd, model_sd, loaded, excluded, partial, _ = transfer.run_yolov5(a.framework, ckpt, nc, cfg)
        else:
            if a.framework == "ultralytics-8.3":
                truthlib.break_gsconv_import_cycle()
            log, ckpt_sd, model_sd, loaded, excluded, partial, _ = transfer.run_ultralytics(a.framework, ckpt, nc, a.ch, cfg)
    except Exception as e:
        print(f"{a.framework} raised {type(e).__name__}: {e}")
        sys.exit(2)
    m = re.search(r"Transferred (\d+)/(\d+) items", log)
    mismatch = sum(1 for k in model_sd if k in ckpt_sd and k not in loaded and k not in partial and k not in excluded)
    out = {
        "log": log,
        "transferred": int(m.group(1)),
        "total": int(m.group(2)),
        "loaded": len(loaded),
        "partial": len(partial),
        "shape_mismatch": mismatch,
        "excluded": len(excluded),
        "new": sum(1 for k in model_sd if k not in ckpt_sd),
        "unused": sum(1 for k in ckpt_sd if k not in loaded and k not in partial),
    }
    print(log)
    print(json.dumps(out))
    if a.expect is not None and a.expect != out["transferred"]:
        print(f"expected {a.expect} transferred, the framework transferred {out['transferred']}")
        sys.exit(1)


if __name__ == "__main__":
    main()
