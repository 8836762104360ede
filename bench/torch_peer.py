#!/usr/bin/env python3
"""The PyTorch CPU peer of `npm run bench` (bench/peers/torch.ts starts it).

Reads a JSON request on stdin:
    {"policy": {"warmup": 2, "repeats": 5, "budgetMs": 30000},
     "cases": [{"name": ..., "kind": "matmul", "m": ..., "k": ..., "n": ...},
               {"name": ..., "kind": "model", "mode": "forward" | "train", "batch": ..., "config": {Config fields}}]}
and writes {"version": torch version, "threads": n, "cases": {name: {"firstMs", "samplesMs"} or {"error"}}}
on stdout; progress goes to stderr. The model is scripts/golden/torch_models.py, the same
architecture as ours; float32, all CPU cores. Cases are timed as bench/timing.ts times ours.
"""
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "golden"))
from torch_models import Config, dice_focal_loss, segmenter, state_shapes  # noqa: E402

# TransSeg's optimiser settings, as src/train/trainer.ts DEFAULT_SETTINGS.
LR, WEIGHT_DECAY, CLIP, DROPOUT = 3e-5, 0.05, 1.0, 0.1


def measure(step, policy):
    """bench/timing.ts measure(): a first run, then as many timed runs as fit the budget."""
    def timed():
        t0 = time.perf_counter()
        step()
        return (time.perf_counter() - t0) * 1000

    first = timed()
    repeats = max(1, min(policy["repeats"], int(policy["budgetMs"] // max(first, 1e-3))))
    for _ in range(policy["warmup"] - 1 if repeats == policy["repeats"] else 0):
        timed()
    return {"firstMs": first, "samplesMs": [timed() for _ in range(repeats)]}


def random_state(c):
    """Parameters at fan-in scale (no denormals or overflow to slow the CPU), BN statistics 0 and 1."""
    params, buffers = {}, {}
    for name, shape, is_buffer in state_shapes(c):
        if is_buffer:
            buffers[name] = torch.ones(shape) if name.endswith("running_var") else torch.zeros(shape)
        elif len(shape) == 1:
            params[name] = torch.ones(shape) if name.endswith("weight") else torch.zeros(shape)
        else:
            fan_in = shape[0] if name.split(".")[1] in ("fpn1", "fpn2") else torch.Size(shape[1:]).numel()
            params[name] = torch.randn(shape) * fan_in ** -0.5
        if not is_buffer:
            params[name].requires_grad_()
    return params, buffers


def model_step(case):
    c = Config(**{**case["config"], "features": tuple(case["config"]["features"])})
    params, buffers = random_state(c)
    x = torch.randn(case["batch"], c.in_channels, c.slices, c.image, c.image)
    labels = torch.randint(0, c.classes, (case["batch"], c.image, c.image))
    if case["mode"] == "forward":
        def forward():
            with torch.no_grad():
                segmenter(params, buffers, x, c, training=False)
        return forward

    # TransSeg's no-decay rule (src/train/trainer.ts decays()).
    decay = [t for n, t in params.items() if not ("bias" in n or "LayerNorm.weight" in n)]
    rest = [t for n, t in params.items() if "bias" in n or "LayerNorm.weight" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": rest, "weight_decay": 0.0}], lr=LR)

    def train():
        opt.zero_grad(set_to_none=True)
        dice_focal_loss(segmenter(params, buffers, x, c, training=True, dropout=DROPOUT), labels).backward()
        torch.nn.utils.clip_grad_norm_(params.values(), CLIP)
        opt.step()
    return train


def matmul_step(case):
    a, b = torch.randn(case["m"], case["k"]), torch.randn(case["k"], case["n"])
    return lambda: torch.mm(a, b)


def main():
    request = json.load(sys.stdin)
    torch.set_num_threads(os.cpu_count())
    results = {}
    for case in request["cases"]:
        try:
            step = matmul_step(case) if case["kind"] == "matmul" else model_step(case)
            results[case["name"]] = measure(step, request["policy"])
            ms = statistics.median(results[case["name"]]["samplesMs"])
            print(f"torch {case['name']}: {ms:.1f} ms", file=sys.stderr, flush=True)
        except Exception as e:  # one failing case (out of memory, say) must not lose the others
            results[case["name"]] = {"error": f"{type(e).__name__}: {e}"}
    json.dump({"version": torch.__version__, "threads": torch.get_num_threads(), "cases": results}, sys.stdout)


if __name__ == "__main__":
    main()
