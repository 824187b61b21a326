#!/usr/bin/env python3
"""Reference records (../shared/reference/SCHEMA.md) for any model YAML, made with the real upstream code.

  record.py build --framework yolov5 --yaml my.yaml --out my.json [--file-name yolov5s-x.yaml] [--scale n]
                  [--imgsz 640] [--yaml-ref path/recorded/in/the/record] [--mutant]
      builds the YAML as the framework does (yolov5 family: models/yolo.py Model(cfg); ultralytics: the model
      class Model._new would pick, fed the dict yaml_model_load returns for the scaled file name), runs one forward
      with a hook on every layer, counts FLOPs with thop 0.1.1, fuses, and writes the record.
  record.py check <record.json>...
      rebuilds shared reference records from their corpus YAML and prints any field that differs.

Frameworks: yolov5 | yolov5-gsconv | scaled-yolov4 | ultralytics-8.3 | ultralytics-8.4. See truthlib.py for what
must be installed beside the checkout.
"""

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import truthlib  # noqa: E402


def shared_dir():
    env = os.environ.get("YOLO_LENS_SHARED")
    if env:
        return Path(env)
    for parent in truthlib.REPO.parents:
        if (parent / "shared" / "reference").is_dir():
            return parent / "shared"
    sys.exit("../shared not found: set YOLO_LENS_SHARED")


def framework_of_reference(name, rec):
    """Which code base made a shared record (SCHEMA.md, 'Which code built a record')."""
    if rec["framework"] == "ultralytics":
        if name.startswith("ultralytics-8.4.33/") or name.startswith("mutants-ultralytics-8.4/"):
            return "ultralytics-8.4"
        return "ultralytics-8.3"
    d = (rec.get("code") or {}).get("dir", "")
    return {"gsconv-yolov5": "yolov5-gsconv", "gsconv-scaled-yolov4": "scaled-yolov4"}.get(d, "yolov5")


def build_many(items):
    """items: dicts with framework, text, file_name and optionally scale, imgsz, yaml_ref, origin, mutant, extra,
    with_code. Builds them batched per framework (one worker each) and returns the records in order."""
    records = [None] * len(items)
    tmp = truthlib.scratch_dir()
    try:
        by_framework = {}
        for k, it in enumerate(items):
            name = truthlib.scaled_file_name(it["file_name"], it.get("scale")) if it.get("scale") else it["file_name"]
            path = truthlib.stage_yaml(it["text"], name, tmp / truthlib.job_dir_name(k), it["framework"])
            by_framework.setdefault(it["framework"], []).append((k, {"yaml": path, "imgsz": it.get("imgsz"),
                                                                     "record": True}))
        for framework, jobs in by_framework.items():
            results = truthlib.run_jobs(framework, [job for _, job in jobs])
            for (k, _), res in zip(jobs, results):
                it = items[k]
                with_code = it.get("with_code")
                if with_code is None:
                    with_code = framework != "ultralytics-8.3"
                origin = it.get("origin") or {"repo": None, "commit": None, "path": None}
                records[k] = truthlib.make_record(framework, res, it.get("yaml_ref") or it["file_name"], origin,
                                                  with_code=with_code, real=not it.get("mutant"),
                                                  extra=it.get("extra"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return records


def diff(a, b, path=""):
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict):
        out = []
        if list(a.keys()) != list(b.keys()):
            out.append(f"{path}: keys {list(a.keys())} != {list(b.keys())}")
        for k in a:
            if k in b:
                out.extend(diff(a[k], b[k], f"{path}.{k}"))
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        out = []
        for k, (x, y) in enumerate(zip(a, b)):
            out.extend(diff(x, y, f"{path}[{k}]"))
        return out
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} != {b!r}"]


def check(paths):
    shared = shared_dir()
    ref_root = shared / "reference"
    items, names, refs = [], [], []
    for p in paths:
        p = Path(p).resolve()
        name = str(p.relative_to(ref_root))
        rec = json.loads(p.read_text())
        framework = framework_of_reference(name, rec)
        mutant = name.startswith("mutants")
        yaml_path = p.parent / rec["yaml"].split("/")[-1] if mutant else shared / "corpus" / rec["yaml"]
        items.append({"framework": framework, "text": yaml_path.read_text(), "file_name": yaml_path.name,
                      "scale": rec.get("scale"), "imgsz": rec.get("imgsz"), "yaml_ref": rec["yaml"],
                      "origin": rec.get("origin"), "mutant": mutant, "with_code": "code" in rec,
                      "extra": {"mutation": rec["mutation"]} if "mutation" in rec else None})
        names.append(f"{name}  ({framework})")
        refs.append(rec)
    failed = 0
    for name, rec, mine in zip(names, refs, build_many(items)):
        problems = diff(rec, mine)
        failed += bool(problems)
        print(f"{'DIFF' if problems else 'same'}  {name}")
        for line in problems[:20]:
            print("      " + line)
    print(f"{len(paths) - failed} of {len(paths)} records reproduced exactly")
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--framework", required=True, choices=sorted(truthlib.FRAMEWORKS))
    b.add_argument("--yaml", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--file-name", help="the name the framework is given (scale from the name, summary title)")
    b.add_argument("--scale")
    b.add_argument("--imgsz", type=int)
    b.add_argument("--yaml-ref", help="the `yaml` field (default: the file name)")
    b.add_argument("--origin", help='JSON for the `origin` field, e.g. {"repo":..., "commit":..., "path":...}')
    b.add_argument("--mutant", action="store_true", help="a mutant record: no fused figures")
    c = sub.add_parser("check")
    c.add_argument("records", nargs="+")
    args = ap.parse_args()
    if args.cmd == "check":
        sys.exit(1 if check(args.records) else 0)
    [rec] = build_many([{"framework": args.framework, "text": Path(args.yaml).read_text(),
                         "file_name": args.file_name or Path(args.yaml).name, "scale": args.scale,
                         "imgsz": args.imgsz, "yaml_ref": args.yaml_ref,
                         "origin": json.loads(args.origin) if args.origin else None, "mutant": args.mutant}])
    truthlib.dump(rec, args.out)
    print(f"{args.out}: ok={rec['ok']} stage={rec['stage']} error={rec['error']} params={rec['params']} "
          f"gflops={rec['gflops']}")


if __name__ == "__main__":
    main()
