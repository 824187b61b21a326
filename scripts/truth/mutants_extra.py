#!/usr/bin/env python3
"""Mutants for kinds the shared mutants lack, with the real code's verdict (test/fixtures/mutants-extra/<framework>/).

  mutants_extra.py [--check]

Each mutant is one edit of a corpus YAML (../shared/corpus): a channel count of 0 or below, a bool or float where the
module needs an int, a groups count that does not divide the channels, width/depth multiples at the floor, and
model-wide activations with arguments (`activation: nn.LeakyReLU(0.1)`, `nn.SiLU(inplace=True)`, `nn.Hardswish()`,
...) and without the parentheses or the `nn.` prefix. Every mutant is built with record.py's machinery and stored as
<name>.yaml + <name>.json in the SCHEMA.md record format (mutant records: no fused figures), plus a MANIFEST.json per
folder in the format of ../shared/reference/mutants-ultralytics*/MANIFEST.json. --check rebuilds and compares.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import record  # noqa: E402
import truthlib  # noqa: E402

OUT = truthlib.REPO / "test" / "fixtures" / "mutants-extra"

BASES = {
    "yolov5": ("yolov5/models/yolov5n.yaml", {"repo": "ultralytics/yolov5", "path": "models/yolov5n.yaml"}),
    "ultralytics-8.3": ("slimneck/gsconv-yolov8_9_10_11/ultralytics/cfg/models/v8/yolov8.yaml",
                        {"repo": "AlanLi1997/slim-neck-by-gsconv",
                         "path": "gsconv-yolov8_9_10_11/ultralytics/cfg/models/v8/yolov8.yaml"}),
    "ultralytics-8.4": ("ultralytics-8.4.33/ultralytics/cfg/models/11/yolo11.yaml",
                        {"repo": "ultralytics/ultralytics", "path": "ultralytics/cfg/models/11/yolo11.yaml"}),
}

# (kind, line containing, replace what, with what, description). A `None` line inserts `with` after the nc: line.
YOLOV5 = [
    ("channel_zero", "[-1, 1, Conv, [256, 3, 2]], # 3-P3/8", "[256,", "[0,", "layer 3 (Conv): channels 256 -> 0"),
    ("channel_negative", "[-1, 1, Conv, [256, 3, 2]], # 3-P3/8", "[256,", "[-256,", "layer 3 (Conv): channels 256 -> -256"),
    ("channel_zero", "[-1, 6, C3, [256]],", "[256]", "[0]", "layer 4 (C3): channels 256 -> 0"),
    ("channel_negative", "[-1, 1, SPPF, [1024, 5]]", "[1024,", "[-8,", "layer 9 (SPPF): channels 1024 -> -8"),
    ("channel_float", "[-1, 1, Conv, [256, 3, 2]], # 3-P3/8", "[256,", "[250.5,", "layer 3 (Conv): channels 256 -> 250.5"),
    ("bool_groups", "[-1, 3, C3, [512, False]], # 13", "[512, False]", "[512, False, True]",
     "layer 13 (C3): args [512, False] -> [512, False, True] (g=True)"),
    ("bool_stride", "[-1, 1, Conv, [128, 3, 2]], # 1-P2/4", "[128, 3, 2]", "[128, 3, True]",
     "layer 1 (Conv): stride 2 -> True"),
    ("bool_kernel", "[-1, 1, Conv, [512, 1, 1]],", "[512, 1, 1]", "[512, True, 1]", "layer 10 (Conv): kernel 1 -> True"),
    ("float_kernel", "[-1, 1, Conv, [128, 3, 2]], # 1-P2/4", "[128, 3, 2]", "[128, 3.0, 2]",
     "layer 1 (Conv): kernel 3 -> 3.0"),
    ("float_stride", "[-1, 1, Conv, [128, 3, 2]], # 1-P2/4", "[128, 3, 2]", "[128, 3, 2.0]",
     "layer 1 (Conv): stride 2 -> 2.0"),
    ("float_kernel", "[-1, 1, SPPF, [1024, 5]]", "[1024, 5]", "[1024, 5.0]", "layer 9 (SPPF): k 5 -> 5.0"),
    ("float_shortcut", "[-1, 3, C3, [256, False]], # 17", "[256, False]", "[256, 0.5]",
     "layer 17 (C3): shortcut False -> 0.5"),
    ("groups_remainder", "[-1, 1, Conv, [512, 1, 1]],", "[512, 1, 1]", "[512, 3, 1, None, 3]",
     "layer 10 (Conv): [512, 1, 1] -> [512, 3, 1, None, 3] (groups 3 on 128 channels)"),
    ("groups_remainder", "[-1, 1, Conv, [512, 1, 1]],", "[512, 1, 1]", "[512, 3, 1, None, 4]",
     "layer 10 (Conv): [512, 1, 1] -> [512, 3, 1, None, 4] (groups 4 on 128 channels)"),
    ("width_floor", "width_multiple: 0.25", "0.25", "0.01", "width_multiple 0.25 -> 0.01"),
    ("width_zero", "width_multiple: 0.25", "0.25", "0.0", "width_multiple 0.25 -> 0.0"),
    ("activation_args", None, None, "activation: nn.LeakyReLU(0.1)", "activation: nn.LeakyReLU(0.1) added"),
    ("activation_args", None, None, "activation: nn.SiLU(inplace=True)", "activation: nn.SiLU(inplace=True) added"),
    ("activation_args", None, None, "activation: nn.Hardswish()", "activation: nn.Hardswish() added"),
    ("activation_args", None, None, "activation: nn.LeakyReLU(negative_slope=0.2, inplace=True)",
     "activation: nn.LeakyReLU(negative_slope=0.2, inplace=True) added"),
    ("activation_args", None, None, "activation: nn.PReLU()", "activation: nn.PReLU() added (one shared parameter)"),
    ("activation_args", None, None, "activation: torch.nn.GELU(approximate='tanh')",
     "activation: torch.nn.GELU(approximate='tanh') added"),
    ("activation_class", None, None, "activation: nn.ReLU", "activation: nn.ReLU (class, no call) added"),
    ("activation_name", None, None, "activation: LeakyReLU(0.1)", "activation: LeakyReLU(0.1) (no nn.) added"),
]

ULTRALYTICS_COMMON = [
    ("channel_zero", "- [-1, 1, Conv, [256, 3, 2]] # 3-P3/8", "[256,", "[0,", "layer 3 (Conv): channels 256 -> 0"),
    ("channel_negative", "- [-1, 1, Conv, [256, 3, 2]] # 3-P3/8", "[256,", "[-256,",
     "layer 3 (Conv): channels 256 -> -256"),
    ("channel_negative", "- [-1, 1, SPPF, [1024, 5]]", "[1024,", "[-8,", "layer 9 (SPPF): channels 1024 -> -8"),
    ("channel_float", "- [-1, 1, Conv, [256, 3, 2]] # 3-P3/8", "[256,", "[250.5,",
     "layer 3 (Conv): channels 256 -> 250.5"),
    ("bool_stride", "- [-1, 1, Conv, [128, 3, 2]] # 1-P2/4", "[128, 3, 2]", "[128, 3, True]",
     "layer 1 (Conv): stride 2 -> True"),
    ("bool_kernel", "- [-1, 1, Conv, [128, 3, 2]] # 1-P2/4", "[128, 3, 2]", "[128, True, 2]",
     "layer 1 (Conv): kernel 3 -> True"),
    ("float_kernel", "- [-1, 1, Conv, [128, 3, 2]] # 1-P2/4", "[128, 3, 2]", "[128, 3.0, 2]",
     "layer 1 (Conv): kernel 3 -> 3.0"),
    ("float_stride", "- [-1, 1, Conv, [128, 3, 2]] # 1-P2/4", "[128, 3, 2]", "[128, 3, 2.0]",
     "layer 1 (Conv): stride 2 -> 2.0"),
    ("float_kernel", "- [-1, 1, SPPF, [1024, 5]]", "[1024, 5]", "[1024, 5.0]", "layer 9 (SPPF): k 5 -> 5.0"),
    ("groups_remainder", "- [-1, 1, Conv, [256, 3, 2]] # 3-P3/8", "[256, 3, 2]", "[256, 3, 2, None, 3]",
     "layer 3 (Conv): [256, 3, 2] -> [256, 3, 2, None, 3] (groups 3)"),
    ("activation_args", None, None, "activation: nn.LeakyReLU(0.1)", "activation: nn.LeakyReLU(0.1) added"),
    ("activation_args", None, None, "activation: nn.SiLU(inplace=True)", "activation: nn.SiLU(inplace=True) added"),
    ("activation_args", None, None, "activation: nn.Hardswish()", "activation: nn.Hardswish() added"),
    ("activation_args", None, None, "activation: nn.ReLU6(inplace=True)", "activation: nn.ReLU6(inplace=True) added"),
    ("activation_args", None, None, "activation: nn.PReLU()", "activation: nn.PReLU() added (one shared parameter)"),
    ("activation_args", None, None, "activation: torch.nn.GELU(approximate='tanh')",
     "activation: torch.nn.GELU(approximate='tanh') added"),
    ("activation_class", None, None, "activation: nn.ReLU", "activation: nn.ReLU (class, no call) added"),
    ("activation_name", None, None, "activation: LeakyReLU(0.1)", "activation: LeakyReLU(0.1) (no nn.) added"),
]

ULTRALYTICS_83 = ULTRALYTICS_COMMON + [
    ("channel_zero", "- [-1, 6, C2f, [256, True]]", "[256,", "[0,", "layer 4 (C2f): channels 256 -> 0"),
    ("float_shortcut", "- [-1, 6, C2f, [256, True]]", "[256, True]", "[256, 0.5]", "layer 4 (C2f): shortcut True -> 0.5"),
    ("bool_groups", "- [-1, 3, C2f, [512]] # 12", "[512]", "[512, False, True]",
     "layer 12 (C2f): args [512] -> [512, False, True] (g=True)"),
    ("width_floor", "  n: [0.33, 0.25, 1024]", "0.25", "0.01", "scales n: width 0.25 -> 0.01"),
    ("width_zero", "  n: [0.33, 0.25, 1024]", "0.25", "0.0", "scales n: width 0.25 -> 0.0"),
]

ULTRALYTICS_84 = ULTRALYTICS_COMMON + [
    ("channel_zero", "- [-1, 2, C3k2, [512, False, 0.25]]", "[512,", "[0,", "layer 4 (C3k2): channels 512 -> 0"),
    ("float_for_bool", "- [-1, 2, C3k2, [512, False, 0.25]]", "[512, False, 0.25]", "[512, 0.25]",
     "layer 4 (C3k2): args [512, False, 0.25] -> [512, 0.25] (c3k=0.25)"),
    ("bool_positional", "- [-1, 2, C3k2, [512, False]] # 13", "[512, False]", "[512, False, 0.5, True]",
     "layer 13 (C3k2): args [512, False] -> [512, False, 0.5, True] (8.4's C3k2 is (c1, c2, n, c3k, e, attn, g, "
     "shortcut): attn=True)"),
    ("bool_groups", "- [-1, 2, C3k2, [512, False]] # 13", "[512, False]", "[512, False, 0.5, False, True]",
     "layer 13 (C3k2): args [512, False] -> [512, False, 0.5, False, True] (g=True)"),
    ("width_floor", "  n: [0.50, 0.25, 1024]", "0.25", "0.01", "scales n: width 0.25 -> 0.01"),
    ("width_zero", "  n: [0.50, 0.25, 1024]", "0.25", "0.0", "scales n: width 0.25 -> 0.0"),
]

PLAN = {"yolov5": YOLOV5, "ultralytics-8.3": ULTRALYTICS_83, "ultralytics-8.4": ULTRALYTICS_84}


def mutate(text, where, old, new):
    lines = text.split("\n")
    if where is None:  # a top-level key after nc:
        k = next(i for i, l in enumerate(lines) if l.startswith("nc:"))
        lines.insert(k + 1, new)
        return "\n".join(lines), k + 2, "", new
    k = next(i for i, l in enumerate(lines) if where in l)
    before = lines[k]
    if old not in before:
        raise SystemExit(f"{old!r} not in {before!r}")
    lines[k] = before.replace(old, new, 1)
    return "\n".join(lines), k + 1, before, lines[k]


def plan():
    corpus = record.shared_dir() / "corpus"
    items, meta = [], []
    for framework, mutations in PLAN.items():
        base_path, origin = BASES[framework]
        base_text = (corpus / base_path).read_text()
        stem = Path(base_path).stem
        code = truthlib.code_of(framework)
        for k, (kind, where, old, new, description) in enumerate(mutations, start=1):
            text, line, before, after = mutate(base_text, where, old, new)
            if framework == "yolov5":
                name, scale = f"x{k:03d}-{stem}", None
            else:
                name, scale = f"{stem}-xmut{k:03d}", "n"
            mutation = {"id": name, "base": base_path, "kind": kind, "line": line, "description": description,
                        "before": before, "after": after}
            items.append({"framework": framework, "text": text, "file_name": f"{name}.yaml", "scale": scale,
                          "yaml_ref": f"mutants-extra/{framework}/{name}.yaml", "mutant": True,
                          "origin": {"repo": origin["repo"], "commit": code["commit"], "path": origin["path"]},
                          "extra": {"mutation": mutation}})
            meta.append((framework, name, scale, text, mutation))
    return items, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    items, meta = plan()
    records = record.build_many(items)
    manifests, differ = {}, 0
    for (framework, name, scale, text, mutation), rec in zip(meta, records):
        folder = OUT / framework
        json_name = f"{name}@{scale}.json" if scale else f"{name}.json"
        summary = f"{framework:<16} {name:<22} {'ok' if rec['ok'] else rec['stage']:<8} {rec['error'] or ''}"
        if args.check:
            old = json.loads((folder / json_name).read_text()) if (folder / json_name).exists() else None
            same = old == rec and (folder / f"{name}.yaml").read_text() == text
            differ += not same
            print(("same  " if same else "DIFF  ") + summary)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.yaml").write_text(text)
        truthlib.dump(rec, folder / json_name)
        manifests.setdefault(framework, []).append({
            "name": name, "base": mutation["base"], "kind": mutation["kind"], "line": mutation["line"],
            "description": mutation["description"], "original": mutation["before"], "edited": mutation["after"],
            "ok": rec["ok"], "stage": rec["stage"], "error": rec["error"]})
        print(summary)
    if args.check:
        print(f"{len(records) - differ} of {len(records)} mutant records reproduced")
        sys.exit(1 if differ else 0)
    for framework, entries in manifests.items():
        truthlib.dump({"scale": None if framework == "yolov5" else "n", "count": len(entries),
                       "failing": sum(not e["ok"] for e in entries), "mutants": entries},
                      OUT / framework / "MANIFEST.json")


if __name__ == "__main__":
    main()
