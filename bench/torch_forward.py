#!/usr/bin/python3
"""The same network in PyTorch, for bench/forward.ts: replays the op trace YOLO Lens exports from the resolved model
(trace.json: ops with shapes; tensors.bin: the seeded weights, constants and input, float32) with torch.nn.functional
ops, in eval mode under no_grad, and times it.

  /usr/bin/python3 bench/torch_forward.py DIR [--threads N] [--runs N] [--warmup N]   one measurement, JSON on stdout
  /usr/bin/python3 bench/torch_forward.py DIR --serve                                  JSON commands on stdin, one per line:
      {"runs": 5, "warmup": 1, "threads": 1}  -> {"times_ms": [...], "layer_ms": [...]}
      {"outputs": "path.bin"}                 -> writes the outputs (float32, in order) and answers their shapes
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load(d):
    with open(f"{d}/trace.json") as f:
        trace = json.load(f)
    blob = np.fromfile(f"{d}/tensors.bin", dtype=np.float32)
    tensors = {}
    for name, t in trace["tensors"].items():
        start = t["offset"] // 4
        tensors[name] = torch.from_numpy(blob[start:start + t["length"]].copy()).reshape(t["shape"])
    return trace, tensors


ACTS = {
    "SiLU": F.silu, "ReLU": F.relu, "ReLU6": F.relu6, "Mish": F.mish, "Hardswish": F.hardswish,
    "Hardsigmoid": F.hardsigmoid, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "ELU": F.elu, "Softplus": F.softplus,
}


def leaf_fn(leaf, p):
    """A closure computing one torch layer from its traced description and parameters."""
    op = leaf["op"]
    w, b = p.get("weight"), p.get("bias")
    if op == "conv2d":
        s, pad, d, g = tuple(leaf["s"]), tuple(leaf["p"]), tuple(leaf["d"]), leaf["g"]
        return lambda x: F.conv2d(x, w, b, s, pad, d, g)
    if op == "convTranspose2d":
        return lambda x: F.conv_transpose2d(x, w, b, tuple(leaf["s"]), tuple(leaf["p"]), tuple(leaf["outputPadding"]), leaf["g"], tuple(leaf["d"]))
    if op == "batchNorm2d":
        m, v, eps = p["running_mean"], p["running_var"], leaf["eps"]
        return lambda x: F.batch_norm(x, m, v, w, b, False, 0.0, eps)
    if op == "layerNorm":
        return lambda x: F.layer_norm(x, leaf["shape"], w, b, leaf["eps"])
    if op == "groupNorm":
        return lambda x: F.group_norm(x, leaf["groups"], w, b, leaf["eps"])
    if op == "act":
        fn = leaf["fn"]
        if fn in ACTS:
            return ACTS[fn]
        if fn == "LeakyReLU":
            slope = leaf.get("slope", 0.01)
            return lambda x: F.leaky_relu(x, slope)
        if fn == "GELU":
            approx = leaf.get("approximate", "none")
            return lambda x: F.gelu(x, approximate=approx)
        if fn == "PReLU":
            return lambda x: F.prelu(x, w)
    if op in ("identity", "dropout"):
        return lambda x: x
    if op == "maxPool2d":
        return lambda x: F.max_pool2d(x, tuple(leaf["k"]), tuple(leaf["s"]), tuple(leaf["p"]), tuple(leaf["d"]), leaf["ceil"])
    if op == "avgPool2d":
        return lambda x: F.avg_pool2d(x, tuple(leaf["k"]), tuple(leaf["s"]), tuple(leaf["p"]), leaf["ceil"], leaf["countIncludePad"])
    if op == "adaptiveAvgPool2d":
        return lambda x: F.adaptive_avg_pool2d(x, tuple(leaf["out"]))
    if op == "adaptiveMaxPool2d":
        return lambda x: F.adaptive_max_pool2d(x, tuple(leaf["out"]))
    if op == "upsample":
        size = tuple(leaf["size"]) if leaf["size"] else None
        scale = tuple(float(v) for v in leaf["scale"]) if leaf["scale"] else None
        mode, ac = leaf["mode"], leaf["alignCorners"]
        return lambda x: F.interpolate(x, size=size, scale_factor=scale, mode=mode, align_corners=ac)
    if op == "linear":
        return lambda x: F.linear(x, w, b)
    if op == "zeroPad2d":
        return lambda x: F.pad(x, tuple(leaf["pad"]))
    if op == "flatten":
        return lambda x: torch.flatten(x, leaf["start"], leaf["end"])
    if op == "softmax":
        return lambda x: F.softmax(x, leaf["dim"])
    if op == "mha":
        e, h, bf = leaf["embed"], leaf["heads"], leaf["batchFirst"]
        ow, ob, ib = p["out_proj.weight"], p.get("out_proj.bias"), p.get("in_proj_bias")

        def mha(q, k, v):
            if bf:
                q, k, v = (t.transpose(0, 1) for t in (q, k, v))
            out, weights = F.multi_head_attention_forward(q, k, v, e, h, p["in_proj_weight"], ib, None, None, False, 0.0, ow, ob, training=False, need_weights=True)
            return (out.transpose(0, 1) if bf else out), weights
        return mha
    if op == "pixelShuffle":
        return lambda x: F.pixel_shuffle(x, leaf["r"])
    raise NotImplementedError(f"leaf {op}")


def op_fn(o, tensors):
    op, a = o["op"], o["attrs"]
    if op == "cat":
        return lambda *xs: torch.cat(xs, a["dim"])
    if op in ("add", "sub", "mul", "div"):
        return {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}[op]
    if op == "scale":
        return lambda x: x * a["factor"]
    if op == "split":
        return lambda x: torch.split(x, a["sizes"], a["dim"])
    if op == "reshape":
        return lambda x: x.reshape(a["shape"])
    if op == "permute":
        return lambda x: x.permute(*a["dims"])
    if op == "sigmoid":
        return torch.sigmoid
    if op == "softmax":
        return lambda x: x.softmax(a["dim"])
    if op == "relu":
        return torch.relu
    if op == "matmul":
        return torch.matmul
    if op == "max":
        return lambda x: x.max(a["dim"], keepdim=a["keepdim"])[0]
    if op == "mean":
        return lambda x: x.mean(a["dims"], keepdim=a["keepdim"])
    if op == "expand":
        return lambda x: x.expand(a["shape"])
    if op == "constant":
        t = tensors[o["tensor"]]
        return lambda: t
    if op == "interpolate":
        return lambda x: F.interpolate(x, size=tuple(a["size"]), mode=a["mode"])
    if op == "pad":
        return lambda x: F.pad(x, tuple(a["pad"]), value=a["value"])
    if op == "maxpool":
        return lambda x: F.max_pool2d(x, a["k"], a["s"], a["p"])
    if op == "einsum":
        return lambda *xs: torch.einsum(a["eq"], *xs)
    if op == "slice":
        dim, start, end, step = a["dim"], a["start"], a["end"], a["step"]
        return lambda x: x.narrow(dim, start, end - start) if step == 1 else x[(slice(None),) * dim + (slice(start, end, step),)]
    if op == "avgpool":
        return lambda x: F.avg_pool2d(x, a["k"], a["s"], a["p"], a["ceil"], a["countIncludePad"])
    if op in ("exp", "log", "sqrt", "sin", "cos"):
        return getattr(torch, op)
    if op == "clamp":
        return lambda x: torch.clamp(x, a["min"], a["max"])
    if op == "sum":
        return lambda x: x.sum(a["dims"], keepdim=a["keepdim"])
    if op == "topk":
        return lambda x: torch.topk(x, a["k"], a["dim"], a["largest"])
    if op == "gather":
        return lambda x, i: torch.gather(x, a["dim"], i)
    if op == "floordiv":
        return lambda x: torch.div(x, a["d"], rounding_mode="floor")
    if op == "remainder":
        return lambda x: torch.remainder(x, a["d"])
    if op == "float":
        return lambda x: x.float()
    if op == "gridsample":
        return lambda x, g: F.grid_sample(x, g, a["mode"], a["paddingMode"], a["alignCorners"])
    raise NotImplementedError(f"op {op}")


class Program:
    """The trace compiled into closures; values are dropped after their last use, as eager PyTorch would."""

    def __init__(self, trace, tensors):
        self.trace = trace
        self.steps = []  # (id, fn, input ids, kind, layer)
        last_use = {}
        for o in trace["ops"]:
            for i in o.get("inputs", []):
                last_use[i] = o["id"]
            if o["kind"] == "item":
                last_use[o["of"]] = o["id"]
        keep = set(trace["outputs"])
        self.free_after = {}
        for i, at in last_use.items():
            if i not in keep:
                self.free_after.setdefault(at, []).append(i)
        for o in trace["ops"]:
            kind = o["kind"]
            if kind == "input":
                t = tensors[o["tensor"]]
                self.steps.append((o["id"], (lambda t=t: t), (), -1))
            elif kind == "leaf":
                params = {k: tensors[v] for k, v in o["params"].items()}
                self.steps.append((o["id"], leaf_fn(o["leaf"], params), tuple(o["inputs"]), o["layer"]))
            elif kind == "op":
                self.steps.append((o["id"], op_fn(o, tensors), tuple(o["inputs"]), o["layer"]))
            else:
                index = o["index"]
                self.steps.append((o["id"], (lambda x, index=index: x[index]), (o["of"],), o["layer"]))
        self.layers = len(trace["layerOutputs"])

    def run(self, layer_ms=None):
        vals = {}
        free_after = self.free_after
        cur, t_layer = None, time.perf_counter()
        for sid, fn, ins, layer in self.steps:
            if layer_ms is not None and layer != cur:
                now = time.perf_counter()
                if cur is not None and cur >= 0:
                    layer_ms[cur] += (now - t_layer) * 1000
                cur, t_layer = layer, now
            vals[sid] = fn(*[vals[i] for i in ins])
            for i in free_after.get(sid, ()):
                del vals[i]
        if layer_ms is not None and cur is not None and cur >= 0:
            layer_ms[cur] += (time.perf_counter() - t_layer) * 1000
        return [vals[i] for i in self.trace["outputs"]]


def measure(prog, runs, warmup, threads):
    torch.set_num_threads(threads)
    with torch.no_grad():
        for _ in range(warmup):
            prog.run()
        times, layer_runs = [], []
        for _ in range(runs):
            lm = [0.0] * prog.layers
            t0 = time.perf_counter()
            prog.run(lm)
            times.append((time.perf_counter() - t0) * 1000)
            layer_runs.append(lm)
    layer_ms = [float(np.median([r[k] for r in layer_runs])) for k in range(prog.layers)]
    return {"times_ms": times, "median_ms": float(np.median(times)), "layer_ms": layer_ms, "threads": torch.get_num_threads()}


def main():
    args = sys.argv[1:]
    d = args[0]
    opt = lambda name, default: int(args[args.index(name) + 1]) if name in args else default
    trace, tensors = load(d)
    prog = Program(trace, tensors)
    if "--serve" not in args:
        print(json.dumps({"torch": torch.__version__, **measure(prog, opt("--runs", 10), opt("--warmup", 3), opt("--threads", 1))}))
        return
    print(json.dumps({"ready": True, "torch": torch.__version__, "default_threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if "outputs" in cmd:
            with torch.no_grad():
                outs = prog.run()
            with open(cmd["outputs"], "wb") as f:
                for o in outs:
                    f.write(o.contiguous().numpy().astype(np.float32).tobytes())
            print(json.dumps({"shapes": [list(o.shape) for o in outs]}), flush=True)
        else:
            print(json.dumps(measure(prog, cmd.get("runs", 5), cmd.get("warmup", 1), cmd.get("threads", 1))), flush=True)


if __name__ == "__main__":
    main()
