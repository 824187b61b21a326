"""What the real upstream YOLO code says about a model YAML: shared by record.py, verdicts.py and mutants_extra.py.

Needs (never committed, never copied into the repo):
  - the upstream trees, in a folder `upstream/` beside or above this checkout, or named by $YOLO_UPSTREAM:
      ultralytics+yolov5/                                  ultralytics/yolov5 HEAD (5081342)
      AlanLi1997+slim-neck-by-gsconv/                      Slim-neck (8357ef6): gsconv-yolov5, gsconv-scaled-yolov4,
                                                           gsconv-yolov8_9_10_11 (ultralytics 8.3.0 + GSConv modules)
      3dEYE+ultralytics/                                   ultralytics 8.4.33 (8d4e6e8)
      thop-0.1.1/thop                                      Lyken17/pytorch-OpCounter @ 43c064a (version 0.1.1)
      ultralytics-thop-2.1.6/thop                          ultralytics/thop @ v2.1.6 (only for gflops_ultralytics_thop)
  - Debian's python3-torch (1.13) at /usr/bin/python3 ($YOLO_TRUTH_PYTHON overrides).
yolov5 HEAD imports its summary printer (model_info) from the ultralytics package: the 8.4.33 tree is put on its path.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

FRAMEWORKS = {
    # id: (tree folder under upstream/, sub-folder of the tree, code.repo, origin repo, family, extra path entries)
    "yolov5": ("ultralytics+yolov5", "", "ultralytics/yolov5", "ultralytics/yolov5", "yolov5", ["3dEYE+ultralytics"]),
    "yolov5-gsconv": ("AlanLi1997+slim-neck-by-gsconv", "gsconv-yolov5", "AlanLi1997/slim-neck-by-gsconv",
                      "AlanLi1997/slim-neck-by-gsconv", "yolov5", []),
    "scaled-yolov4": ("AlanLi1997+slim-neck-by-gsconv", "gsconv-scaled-yolov4", "AlanLi1997/slim-neck-by-gsconv",
                      "AlanLi1997/slim-neck-by-gsconv", "yolov5", []),
    "ultralytics-8.3": ("AlanLi1997+slim-neck-by-gsconv", "gsconv-yolov8_9_10_11", "AlanLi1997/slim-neck-by-gsconv",
                        "AlanLi1997/slim-neck-by-gsconv", "ultralytics", []),
    "ultralytics-8.4": ("3dEYE+ultralytics", "", "3dEYE/ultralytics", "ultralytics/ultralytics", "ultralytics", []),
}


def upstream_dir():
    env = os.environ.get("YOLO_UPSTREAM")
    if env:
        return Path(env)
    for parent in [REPO, *REPO.parents]:
        cand = parent / "upstream"
        if (cand / "ultralytics+yolov5").is_dir():
            return cand
    sys.exit("upstream trees not found: set YOLO_UPSTREAM to the folder holding ultralytics+yolov5/ etc.")


def code_of(framework):
    tree, sub, repo, _origin, _family, _extra = FRAMEWORKS[framework]
    root = upstream_dir() / tree
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {"repo": repo, "commit": commit or None, "dir": sub}


def run_jobs(framework, jobs, timeout=1800):
    """Build every job's YAML with the framework's own code; returns one result dict per job (see worker.py)."""
    if not jobs:
        return []
    tree, sub, _repo, _origin, _family, extra = FRAMEWORKS[framework]
    up = upstream_dir()
    path = [str(up / tree / sub)] + [str(up / e) for e in extra] + [str(up / "thop-0.1.1")]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave the upstream trees as they are
    env["YOLO_OFFLINE"] = "1"
    env["YOLO_VERBOSE"] = "True"
    # settings folders of their own; the Slim-neck YOLOv5 fork loads Arial.ttf at import (downloading it when
    # absent, and there is no network): any TrueType font under that name will do
    config = Path(tempfile.mkdtemp(prefix="yolo-truth-config-"))
    env["YOLO_CONFIG_DIR"] = str(config)
    env["YOLOV5_CONFIG_DIR"] = str(config)
    font = next((p for p in [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                             Path("/usr/share/matplotlib/mpl-data/fonts/ttf/DejaVuSans.ttf")] if p.exists()), None)
    if font is not None:
        (config / "Arial.ttf").symlink_to(font)
    alt = up / "ultralytics-thop-2.1.6"
    if alt.is_dir():
        env["ULTRALYTICS_THOP_DIR"] = str(alt)
    python = os.environ.get("YOLO_TRUTH_PYTHON", "/usr/bin/python3")
    try:
        with tempfile.TemporaryDirectory(prefix="yolo-truth-") as tmp:
            jobs_path, results_path = Path(tmp) / "jobs.json", Path(tmp) / "results.json"
            jobs_path.write_text(json.dumps(jobs))
            log = Path(tmp) / "worker.log"
            with open(log, "w") as logf:
                proc = subprocess.run([python, str(HERE / "worker.py"), framework, str(jobs_path), str(results_path)],
                                      env=env, cwd=tmp, stdout=logf, stderr=subprocess.STDOUT, timeout=timeout)
            if proc.returncode != 0 or not results_path.exists():
                sys.exit(f"worker for {framework} failed:\n" + log.read_text()[-3000:])
            results = json.loads(results_path.read_text())
    finally:
        shutil.rmtree(config, ignore_errors=True)
    for job, res in zip(jobs, results):
        if "internal_error" in res:
            sys.exit(f"internal error building {job['yaml']}: {res['internal_error']}\n" + "\n".join(res["traceback"]))
    return results


UNIFY = r"(\d+)([nslmx])(.+)?$"  # ultralytics yaml_model_load: yolov8x.yaml -> yolov8.yaml, over the WHOLE path


def scratch_dir():
    """A temporary folder whose path has no digit followed by n/s/m/l/x: ultralytics' unify regex runs over the
    whole path string and would otherwise rewrite a folder name instead of the file name."""
    import re

    while True:
        d = tempfile.mkdtemp(prefix="yolo-truth-")
        if not re.search(r"\d[nslmx]", d):
            return Path(d)
        os.rmdir(d)


def job_dir_name(k):
    """a, b, ..., z, ba, bb, ...: folder names without digits."""
    s = ""
    while True:
        s = "abcdefghijklmnopqrstuvwxyz"[k % 26] + s
        k //= 26
        if k == 0:
            return "job" + s


def stage_yaml(text, file_name, folder, framework):
    """Writes a YAML where the framework will load it under `file_name`. For ultralytics a scaled name
    (`yolov8n-x.yaml`) is first looked up under its unified name (`yolov8-x.yaml`) and, when that file does not exist,
    in the package's own cfg folder: the same text is written under both names so the file given is the one built."""
    import re

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file_name
    target.write_text(text)
    if FRAMEWORKS[framework][4] == "ultralytics":
        unified = Path(re.sub(UNIFY, r"\1\3", str(target)))
        if unified.parent != folder:
            sys.exit(f"cannot stage {file_name}: the unify regex would rewrite the folder {folder}")
        if unified != target:
            unified.write_text(text)
    return str(target)


def scaled_file_name(base_name, scale):
    """The name ultralytics must be given to build `base_name` at `scale` (yolov8-seg.yaml @ s -> yolov8s-seg.yaml)."""
    import re

    stem = base_name[: -len(".yaml")] if base_name.endswith(".yaml") else base_name
    if not scale or re.search(r"yolo[v]?\d+[nslmx]", stem):
        return base_name
    m = re.match(r"^(.*?\d+)(.*)$", stem)
    return f"{m.group(1)}{scale}{m.group(2)}.yaml" if m else base_name


RECORD_TAIL_YOLOV5 = ["code", "params_fused", "gflops_fused", "summary_fused", "fused_error"]


def make_record(framework, res, yaml_ref, origin, with_code=True, real=True, extra=None):
    """A SCHEMA.md record (same keys, same order as ../shared/reference) from a worker result."""
    family = FRAMEWORKS[framework][4]
    rec = {
        "schema": 1,
        "yaml": yaml_ref,
        "origin": origin,
        "framework": family,
        "scale": res.get("scale"),
        "ch": res.get("ch", 3),
        "imgsz": res.get("imgsz") or 640,
        "nc": res.get("nc"),
        "ok": res["ok"],
        "stage": res["stage"],
        "error": res["error"],
        "layers": res["layers"],
        "params": res["params"] if res["ok"] else None,
        "gflops": res["gflops"] if res["ok"] else None,
        "gflops_imgsz": res["gflops_imgsz"] if res["ok"] else None,
        "summary": res["summary"] if res["ok"] else None,
    }
    if with_code:
        rec["code"] = code_of(framework)
    if res["ok"] and real:
        if "fused_error" in res:
            rec.update({"params_fused": None, "gflops_fused": None, "summary_fused": None,
                        "fused_error": res["fused_error"]})
        else:
            rec.update({k: res.get(k) for k in ("params_fused", "gflops_fused", "summary_fused")})
        alt = res.get("gflops_ultralytics_thop")
        if family == "ultralytics" and alt is not None and alt != rec["gflops"]:
            rec["gflops_ultralytics_thop"] = alt
    if extra:
        rec.update(extra)
    return rec


def dump(obj, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
