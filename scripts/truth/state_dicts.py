#!/usr/bin/python3
"""Truth for the static state_dict: build every reference model with the upstream code that built its record and
write the names, shapes and dtypes of `model.state_dict()` (no values) to test/data/state-dicts/.

For every `ok: true` record under <shared>/reference (not the mutants folders) this builds the model with the tree
SCHEMA.md names for the record's folder, with the record's scale (through the file name the framework loads, as
test/support/reference.ts chooses it), ch and nc, checks that its parameter count equals the record's `params`, and
writes test/data/state-dicts/<record path without .json>.json:

    {"record": "<record path>", "params": N, "keys": [[name, [shape...], dtype], ...]}   in state_dict() order

It also builds every YAML under test/data/state-dicts/zoo/<framework id>/ (models written to build, one layer each,
the modules no corpus YAML builds) and writes <name>.json next to it: {"yaml", "framework", "params", "keys"}.

Every tree is a package named `models` or `ultralytics`, so each one is built in its own Python process.

  /usr/bin/python3 scripts/truth/state_dicts.py --shared DIR --upstream DIR [--only SUBSTRING] [--out DIR]

--shared: the folder holding reference/ and corpus/; --upstream: the folder holding the upstream checkouts
(ultralytics+yolov5, AlanLi1997+slim-neck-by-gsconv, 3dEYE+ultralytics), read and run, never copied.
Runs with Debian's python3-torch (1.13), as the reference records were made.
"""
import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# framework id (as YOLO Lens names them) -> the tree that is that code, under --upstream (SCHEMA.md "Which code built
# a record")
TREES = {
    "yolov5": "ultralytics+yolov5",
    "yolov5-gsconv": "AlanLi1997+slim-neck-by-gsconv/gsconv-yolov5",
    "scaled-yolov4": "AlanLi1997+slim-neck-by-gsconv/gsconv-scaled-yolov4",
    "ultralytics-8.3": "AlanLi1997+slim-neck-by-gsconv/gsconv-yolov8_9_10_11",
    "ultralytics-8.4": "3dEYE+ultralytics",
}


def tree_of(name):
    """The framework that built a record, from its path under reference/."""
    if name.startswith("yolov5/"):
        return "yolov5"
    if name.startswith("seed/") or name.startswith("slimneck/gsconv-yolov5/"):
        return "yolov5-gsconv"
    if name.startswith("slimneck/gsconv-scaled-yolov4/"):
        return "scaled-yolov4"
    if name.startswith("slimneck/gsconv-yolov8_9_10_11/"):
        return "ultralytics-8.3"
    if name.startswith("ultralytics-8.4.33/"):
        return "ultralytics-8.4"
    raise SystemExit(f"no tree known for {name}")


def loaded_file_name(record, yaml_path):
    """The file name the reference run gave the framework (test/support/reference.ts loadedFileName)."""
    base = os.path.basename(yaml_path)
    if record["framework"] != "ultralytics" or not record.get("scale"):
        return base
    stem = base[: -len(".yaml")] if base.endswith(".yaml") else base
    if re.search(r"yolo[v]?\d+[nslmx]", stem):
        return base
    m = re.match(r"^(.*?\d+)(.*)$", stem)
    return f"{m.group(1)}{record['scale']}{m.group(2)}.yaml" if m else base


def records(shared, only):
    ref = Path(shared) / "reference"
    out = []
    for p in sorted(ref.rglob("*.json")):
        name = p.relative_to(ref).as_posix()
        if name.startswith("mutants") or p.name == "MANIFEST.json":
            continue
        r = json.loads(p.read_text())
        if not r.get("ok"):
            continue
        if only and only not in name:
            continue
        out.append((name, r))
    return out


# ---------------------------------------------------------------------------------------------------------------
# worker: runs inside one tree's process


def task_class(tasks, head):
    """The ultralytics model class a head belongs to (what the trainers of each task build)."""
    table = [
        ("YOLOESegment", "YOLOESegModel"),
        ("YOLOEDetect", "YOLOEModel"),
        ("WorldDetect", "WorldModel"),
        ("RTDETRDecoder", "RTDETRDetectionModel"),
        ("Classify", "ClassificationModel"),
        ("Segment", "SegmentationModel"),
        ("Pose", "PoseModel"),
        ("OBB", "OBBModel"),
    ]
    for prefix, cls in table:
        if head.startswith(prefix):
            return getattr(tasks, cls)
    return tasks.DetectionModel


def build(tree, job):
    """The model as the tree builds it for one job, from a YAML file under its loaded name in the working folder."""
    if tree.startswith("ultralytics"):
        from ultralytics.nn import tasks

        return task_class(tasks, job["head"])(job["file"], ch=job["ch"], nc=job["nc"], verbose=False)
    from models.yolo import Model

    return Model(job["file"], ch=job["ch"], nc=job["nc"])


class _CircularImportFix:
    """The Slim-neck fork's ultralytics/nn/modules/conv.py imports C2f from block.py, which imports conv.py first: a
    circular import that fails before any model is built. This import hook loads conv.py without that line (nothing
    is written to the tree); `bind_c2f` then gives conv.py the C2f it names, which it only uses inside a
    constructor, once block.py has loaded."""

    MODULE = "ultralytics.nn.modules.conv"
    LINE = "from .block import C2f\n"

    def find_spec(self, fullname, path, target=None):
        if fullname != self.MODULE:
            return None
        import importlib.machinery
        import importlib.util

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or self.LINE not in Path(spec.origin).read_text():
            return None
        return importlib.util.spec_from_file_location(fullname, spec.origin, loader=self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        origin = module.__spec__.origin
        source = Path(origin).read_text().replace(self.LINE, "", 1)
        exec(compile(source, origin, "exec"), module.__dict__)

    @classmethod
    def bind_c2f(cls):
        conv = sys.modules.get(cls.MODULE)
        if conv is not None and not hasattr(conv, "C2f"):
            conv.C2f = sys.modules["ultralytics.nn.modules.block"].C2f


def worker(tree, out_dir, jobs):
    sys.dont_write_bytecode = True  # the trees are read-only here: no __pycache__ written into them
    if tree == "ultralytics-8.3":
        sys.meta_path.insert(0, _CircularImportFix())
        from ultralytics.nn import tasks  # noqa: F401

        _CircularImportFix.bind_c2f()
    import torch

    torch.manual_seed(0)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        # parse_model's scale guess reads digits and size letters from the whole path: build from a folder whose
        # name has none, and give it a bare file name (yaml_model_load also looks for the unscaled name there)
        work = Path(tmp) / "yolo-lens-state-dicts"
        work.mkdir()
        os.chdir(work)
        for job in jobs:
            src = Path(job["yaml"]).read_text()
            for f in work.iterdir():
                f.unlink()
            (work / os.path.basename(job["yaml"])).write_text(src)
            (work / job["file"]).write_text(src)
            log = io.StringIO()
            try:
                with redirect_stdout(log):
                    model = build(tree, job)
            except Exception as e:  # report and go on with the other jobs
                failures += 1
                print(f"FAIL {job['out']}: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            params = sum(p.numel() for p in model.parameters())
            if job["params"] is not None and params != job["params"]:
                failures += 1
                print(f"FAIL {job['out']}: built {params:,} parameters, the record says {job['params']:,}", file=sys.stderr)
                continue
            keys = [[k, list(t.shape), str(t.dtype).replace("torch.", "")] for k, t in model.state_dict().items()]
            dest = Path(out_dir) / job["out"]
            dest.parent.mkdir(parents=True, exist_ok=True)
            lines = ",\n".join("    " + json.dumps(k) for k in keys)
            head = "".join(f"  {json.dumps(k)}: {json.dumps(v)},\n" for k, v in job["describe"].items())
            dest.write_text(f'{{\n{head}  "params": {params},\n  "keys": [\n{lines}\n  ]\n}}\n')
            print(f"ok   {job['out']}: {len(keys)} keys, {params:,} params", file=sys.stderr)
    return failures


def record_jobs(shared, only):
    """One job per ok real record: its YAML from the corpus, built as the record was."""
    jobs = []
    for name, r in records(shared, only):
        jobs.append(
            {
                "tree": tree_of(name),
                "out": name,
                "describe": {"record": name},
                "yaml": str(Path(shared) / "corpus" / r["yaml"]),
                "file": loaded_file_name(r, r["yaml"]),
                "head": r["layers"][-1]["module"] if r["layers"] else "",
                "ch": r["ch"],
                "nc": r["nc"],
                "params": r["params"],
            }
        )
    return jobs


def zoo_jobs(out_dir, only):
    """One job per YAML under <out>/zoo/<framework id>/: models written to build the modules no corpus YAML builds,
    with their file name, ch 3 and their own nc (no record to check the parameter count against)."""
    jobs = []
    zoo = Path(out_dir) / "zoo"
    for p in sorted(zoo.glob("*/*.yaml")):
        name = p.relative_to(out_dir).as_posix()
        if only and only not in name:
            continue
        tree = p.parent.name
        if tree not in TREES:
            raise SystemExit(f"{name}: the folder must be a framework id ({', '.join(TREES)})")
        layers = [line for line in p.read_text().splitlines() if re.match(r"^\s*-?\s*\[", line)]
        head = re.search(r"\b([A-Za-z0-9_]+)\s*,\s*\[[^\]]*\]\s*\]", layers[-1]) if layers else None
        jobs.append(
            {
                "tree": tree,
                "out": name[: -len(".yaml")] + ".json",
                "describe": {"yaml": name, "framework": tree},
                "yaml": str(p),
                "file": p.name,
                "head": head.group(1) if head else "",
                "ch": 3,
                "nc": None,
                "params": None,
            }
        )
    return jobs


# ---------------------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=os.environ.get("YOLO_LENS_SHARED", str(REPO.parent / "shared")))
    ap.add_argument("--upstream", default=os.environ.get("YOLO_LENS_UPSTREAM"), required="YOLO_LENS_UPSTREAM" not in os.environ)
    ap.add_argument("--out", default=str(REPO / "test" / "data" / "state-dicts"))
    ap.add_argument("--only", default=None, help="records whose path contains this")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("names", nargs="*", help=argparse.SUPPRESS)
    a = ap.parse_args()
    shared = os.path.abspath(a.shared)
    upstream = os.path.abspath(a.upstream)

    if a.worker:
        tree_dir = os.path.join(upstream, TREES[a.worker])
        sys.path.insert(0, tree_dir)
        if a.worker == "yolov5":
            # YOLOv5 HEAD imports helpers from the `ultralytics` package; the 8.4 tree provides it (no model code)
            sys.path.insert(1, os.path.join(upstream, TREES["ultralytics-8.4"]))
        jobs = json.loads(Path(a.names[0]).read_text())
        sys.exit(1 if worker(a.worker, os.path.abspath(a.out), jobs) else 0)

    out = os.path.abspath(a.out)
    groups = {}
    for job in record_jobs(shared, a.only) + zoo_jobs(out, a.only):
        groups.setdefault(job["tree"], []).append(job)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for tree, jobs in groups.items():
            print(f"== {tree}: {len(jobs)} models", file=sys.stderr)
            env = dict(os.environ)
            # ultralytics writes its settings file into YOLO_CONFIG_DIR on import: keep it out of the user's home
            env["YOLO_CONFIG_DIR"] = os.path.join(tmp, "ultralytics-config")
            if tree == "yolov5-gsconv":
                # the Slim-neck YOLOv5 fork downloads a font when utils.plots is imported, unless it runs as a secondary
                # rank (RANK only gates logging and that download there, nothing the model build reads)
                env["RANK"] = "1"
            job_file = os.path.join(tmp, f"{tree}.json")
            Path(job_file).write_text(json.dumps(jobs))
            cmd = [sys.executable, __file__, "--shared", shared, "--upstream", upstream, "--out", out, "--worker", tree, job_file]
            if subprocess.run(cmd, env=env).returncode != 0:
                failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
