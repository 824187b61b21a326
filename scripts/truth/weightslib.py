"""Shared helpers of the checkpoint and transfer truth scripts (checkpoints.py, transfer.py, check_remap.py).

Every script runs one upstream code base per Python process (they all own top-level packages named `models`,
`utils` or `ultralytics`), so a script re-runs itself as a worker with that tree on PYTHONPATH. The trees are
given by environment variables, never written into a committed file:

  YOLOV5_TREE        a checkout of ultralytics/yolov5 (HEAD)
  GSCONV_TREE        a checkout of AlanLi1997/slim-neck-by-gsconv (its gsconv-yolov5/ and gsconv-yolov8_9_10_11/)
  ULTRALYTICS_TREE   a checkout whose ultralytics/ package is ultralytics 8.4.33

yolov5 HEAD imports helpers from the `ultralytics` package (intersect_dicts, torch_load): ULTRALYTICS_TREE goes
on its PYTHONPATH after the yolov5 tree. Run with Debian's python3-torch (/usr/bin/python3, torch 1.13).
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "test" / "fixtures"

FRAMEWORKS = {
    # id: (env var, sub-directory, extra trees on PYTHONPATH after it)
    "yolov5": ("YOLOV5_TREE", "", ["ULTRALYTICS_TREE"]),
    "yolov5-gsconv": ("GSCONV_TREE", "gsconv-yolov5", []),
    "ultralytics-8.3": ("GSCONV_TREE", "gsconv-yolov8_9_10_11", []),
    "ultralytics-8.4": ("ULTRALYTICS_TREE", "", []),
}


def tree(framework):
    var, sub, _ = FRAMEWORKS[framework]
    root = os.environ.get(var)
    if not root:
        sys.exit(f"set {var} to the upstream checkout (see {Path(__file__).name})")
    return Path(root) / sub if sub else Path(root)


def git_commit(path):
    try:
        return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
    except OSError:
        return None


def run_worker(script, framework, args):
    """Re-run `script` as a worker for one framework with its tree on PYTHONPATH, in a scratch working directory
    (the trainers write runs/ and settings files), and with a config dir holding a local font: the Slim-neck
    YOLOv5 fork downloads Arial.ttf at import otherwise, and there is no network."""
    _, _, extra = FRAMEWORKS[framework]
    paths = [str(tree(framework))] + [os.environ[v] for v in extra if os.environ.get(v)]
    with tempfile.TemporaryDirectory() as scratch:
        font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        if font.exists():
            (Path(scratch) / "Arial.ttf").symlink_to(font)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(paths),
            "YOLOV5_CONFIG_DIR": scratch,
            "YOLO_CONFIG_DIR": scratch,
            "YOLO_OFFLINE": "1",
        }
        cmd = [sys.executable, str(Path(script).resolve()), "--worker", framework, *args]
        r = subprocess.run(cmd, env=env, cwd=scratch)
        if r.returncode:
            print(f"worker {framework} failed ({r.returncode})", file=sys.stderr)
            sys.exit(r.returncode)


def dtype_name(dtype):
    return str(dtype).replace("torch.", "")


def state_dict_entries(sd):
    """[key, shape, dtype] in order: what `module.state_dict()` (or a saved state_dict) holds."""
    return [[k, list(v.shape), dtype_name(v.dtype)] for k, v in sd.items()]


def plain(value, depth=0):
    """A JSON value for a checkpoint field, by the rules the TypeScript reader's `toPlain` follows: containers as
    JSON containers (dict keys as strings), paths as strings, tensors as {tensor: shape, dtype}, any other object as
    {object: "module.Name"}."""
    if depth > 64:
        return {"object": "<too deep>"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, torch.Tensor):
        return {"tensor": list(value.shape), "dtype": dtype_name(value.dtype)}
    if hasattr(value, "__dict__") and type(value).__name__ == "IterableSimpleNamespace":
        return plain(vars(value), depth + 1)
    t = type(value)
    return {"object": f"{t.__module__}.{t.__qualname__}"}


def write_json(path, data):
    Path(path).write_text(json.dumps(data, indent=1) + "\n")


def assert_no_local_paths(path):
    """Committed fixtures must not carry this machine's paths (a trainer pickles its arguments and git info): the
    upstream trees, the temp and home directories."""
    blob = Path(path).read_bytes()
    roots = [os.environ.get(v) for v, _, _ in FRAMEWORKS.values()] + [tempfile.gettempdir(), str(Path.home())]
    for root in filter(None, roots):
        needle = str(Path(root).resolve()).encode()
        if len(needle) >= 4 and needle in blob:
            sys.exit(f"{path}: contains a local path; sanitise what is saved")


def break_gsconv_import_cycle():
    """The Slim-neck ultralytics 8.3 tree cannot be imported as committed: nn/modules/block.py imports .conv, whose
    line 9 (`from .block import C2f`, for VoVGSCSP) imports the half-initialised block back. As the reference
    records were built: while block.py runs, a module __getattr__ hands conv.py a stand-in for C2f, replaced by the
    real class once block.py has finished (C2f is only called inside VoVGSCSP.__init__). No file is edited."""
    import importlib.abc
    import importlib.machinery

    target = "ultralytics.nn.modules.block"

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target_module=None):
            if name != target:
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            real_exec = spec.loader.exec_module

            def exec_module(module):
                placeholder = object()
                module.__getattr__ = lambda attr: placeholder if attr == "C2f" else _missing(attr)
                real_exec(module)
                del module.__getattr__
                conv = sys.modules["ultralytics.nn.modules.conv"]
                if getattr(conv, "C2f", None) is placeholder:
                    conv.C2f = module.C2f

            spec.loader.exec_module = exec_module
            return spec

    def _missing(attr):
        raise AttributeError(attr)

    sys.meta_path.insert(0, Finder())
