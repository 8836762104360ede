#!/usr/bin/env python3
"""Golden values for one pre-norm ViT block (timm layout), forward and backward, from PyTorch.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/golden/transformer_block.py
Writes test/fixtures/transformer-block.json. Weights and inputs are drawn in float32 (so the
TypeScript side loads them exactly); the reference is then computed in float64 from those values,
so the fixture's own rounding error is far below the f32 error being measured.
"""
import json
import math
import os

import torch

B, T, E, H, HIDDEN, EPS = 2, 7, 16, 4, 64, 1e-6


def block(p, x):
    """timm VisionTransformer Block: x + attn(norm1(x)); x + mlp(norm2(x))."""
    dh = E // H
    h = torch.nn.functional.layer_norm(x, (E,), p["norm1.weight"], p["norm1.bias"], EPS)
    qkv = h @ p["attn.qkv.weight"].T + p["attn.qkv.bias"]
    qkv = qkv.reshape(B, T, 3, H, dh).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = torch.softmax((q @ k.transpose(-2, -1)) * dh ** -0.5, dim=-1)
    o = (attn @ v).transpose(1, 2).reshape(B, T, E)
    x = x + o @ p["attn.proj.weight"].T + p["attn.proj.bias"]
    h = torch.nn.functional.layer_norm(x, (E,), p["norm2.weight"], p["norm2.bias"], EPS)
    h = torch.nn.functional.gelu(h @ p["mlp.fc1.weight"].T + p["mlp.fc1.bias"])  # exact erf GELU
    return x + h @ p["mlp.fc2.weight"].T + p["mlp.fc2.bias"]


def main():
    g = torch.Generator().manual_seed(1234)
    shapes = {
        "norm1.weight": [E], "norm1.bias": [E],
        "attn.qkv.weight": [3 * E, E], "attn.qkv.bias": [3 * E],
        "attn.proj.weight": [E, E], "attn.proj.bias": [E],
        "norm2.weight": [E], "norm2.bias": [E],
        "mlp.fc1.weight": [HIDDEN, E], "mlp.fc1.bias": [HIDDEN],
        "mlp.fc2.weight": [E, HIDDEN], "mlp.fc2.bias": [E],
    }
    params = {}
    for name, shape in shapes.items():
        if name.startswith("norm") and name.endswith("weight"):
            t = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            t = torch.randn(shape, generator=g) / math.sqrt(shape[-1])
        params[name] = t.float().double().requires_grad_()
    x = torch.randn(B, T, E, generator=g).float().double().requires_grad_()
    grad_out = torch.randn(B, T, E, generator=g).float().double()

    y = block(params, x)
    y.backward(grad_out)

    flat = lambda t: [float(v) for v in t.detach().reshape(-1)]
    fixture = {
        "config": {"B": B, "T": T, "E": E, "heads": H, "hidden": HIDDEN, "eps": EPS},
        "torch_version": torch.__version__,
        "params": {n: {"shape": shapes[n], "data": flat(t)} for n, t in params.items()},
        "x": flat(x), "grad_out": flat(grad_out), "y": flat(y),
        "grad_x": flat(x.grad),
        "grad_params": {n: flat(t.grad) for n, t in params.items()},
    }
    out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "transformer-block.json")
    with open(out, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
