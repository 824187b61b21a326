#!/usr/bin/env python3
"""The real upstream code's verdict on every real-issue fixture (test/fixtures/real-issues/<id>/).

  verdicts.py [--check] [id ...]

Each case.json names its framework (yolov5 | yolov5-gsconv | scaled-yolov4 | ultralytics-8.3 | ultralytics-8.4), the
file name the user would have had (`fileName`: ultralytics takes the scale from it) and, for image-size traps, the
image size that fails (`imgsz`). broken.yaml and fixed.yaml are built under that file name exactly as the framework
builds a model (see truthlib.py / worker.py), then run forward once at imgsz (default 640, 224 for classifiers), and
the result is written to case.json as
  "verdict": {"broken": {ok, stage, error, params, gflops}, "fixed": {...}}
(stage parse | build | forward; error "<Type>: <first line>"; params and gflops, the summary line's GFLOPs or null,
only when ok). --check rebuilds and reports any difference from the committed verdicts instead of writing them.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import truthlib  # noqa: E402

CASES = truthlib.REPO / "test" / "fixtures" / "real-issues"


def verdict_of(res):
    v = {"ok": res["ok"], "stage": res["stage"], "error": res["error"]}
    if res["ok"]:
        v["params"] = res["params"]
        v["gflops"] = res["gflops"]
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the committed verdicts, write nothing")
    ap.add_argument("ids", nargs="*", help="only these cases")
    args = ap.parse_args()

    cases = []
    for d in sorted(p for p in CASES.iterdir() if (p / "case.json").exists()):
        if args.ids and d.name not in args.ids:
            continue
        cases.append((d, json.loads((d / "case.json").read_text())))
    if not cases:
        sys.exit("no cases")

    tmp = truthlib.scratch_dir()
    try:
        jobs = {}
        for k, (d, case) in enumerate(cases):
            fw = case["framework"]
            name = case.get("fileName") or f"{case['id']}.yaml"
            for variant in ("broken", "fixed"):
                folder = tmp / truthlib.job_dir_name(2 * k + (variant == "fixed"))
                path = truthlib.stage_yaml((d / f"{variant}.yaml").read_text(), name, folder, fw)
                jobs.setdefault(fw, []).append((k, variant, {"yaml": path, "imgsz": case.get("imgsz"), "record": False}))
        results = {}
        for fw, items in jobs.items():
            print(f"{fw}: {len(items)} builds", file=sys.stderr)
            for (k, variant, _), res in zip(items, truthlib.run_jobs(fw, [job for _, _, job in items])):
                results[(k, variant)] = res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    differ = 0
    for k, (d, case) in enumerate(cases):
        broken, fixed = results[(k, "broken")], results[(k, "fixed")]
        verdict = {"broken": verdict_of(broken), "fixed": verdict_of(fixed)}
        scale = broken.get("scale") or fixed.get("scale")
        line = (f"{case['id']:<44} broken {'ok' if broken['ok'] else broken['stage']:<8} "
                f"fixed {'ok' if fixed['ok'] else fixed['stage']:<8} {broken['error'] or ''}")
        if args.check:
            same = case.get("verdict") == verdict and (not scale or case.get("scale") == scale)
            differ += not same
            print(("same  " if same else "DIFF  ") + line)
            if not same:
                print(f"      committed {json.dumps(case.get('verdict'))}\n      now       {json.dumps(verdict)}")
            continue
        if scale:
            case["scale"] = scale
        case["verdict"] = verdict
        (d / "case.json").write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n")
        print(line)
    if args.check:
        print(f"{len(cases) - differ} of {len(cases)} verdicts reproduced")
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
