#!/usr/bin/env python3
"""Golden values for the whole segmentation model and the two single-block decoders, from PyTorch.

Run with Debian's python3-torch (no timm, mmseg or MONAI needed):
    /usr/bin/python3 scripts/golden/segmenter.py
The model itself (encoder, UPerNet) is in torch_models.py, shared with the benchmark's PyTorch peer.
Writes test/fixtures/segmenter.json with three cases:

- "upernet": a small TransSeg model. The encoder is BEiT-style as TransSeg's (3-D patch embedding
  over D=3 slices, CLS token, relative position bias, layer scale, no absolute position
  embedding), E=32, depth 4, 4 heads, MLP 64, patch 4, one channel, 32x32 images; UPerNet reads
  blocks [0, 1, 2, 3] with 16 head channels and 3 classes. Training mode: BatchNorm uses batch
  statistics and updates its running ones; Dropout2d has p=0 (its masks come from our own hash,
  not torch's RNG, and are tested separately). Stored: the weights, the input [2, 1, 3, 32, 32],
  labels, the logits, the plain cross-entropy loss, the gradient of the loss for every parameter
  and the input, the running statistics after the forward, and the eval-mode logits that a
  second forward with those statistics gives.
- "setr-pup" and "convtrans": each decoder alone on a random last-block map [2, 8, 2, 3] (a
  non-square grid) with 6 channels and 2 classes, output 32x48; the objective is sum(y * g).
- "pixel-skip": the full-resolution branch alone (src/model/pixel-skip.ts), width 4, on a window
  [3, 2, 3, 12, 10] (C=2 channels, D=3 slices, non-square) and decoder logits [3, 3, 12, 10], in
  training mode (batch statistics); the classifier is drawn, not zero, so every gradient flows.
  The objective is sum(y * g).

Inputs (weights, buffers, x, g) are drawn in float32 and rounded to float16, so the fixture stores
them exactly in two bytes each; everything is then computed in float64. Results are rounded to
float32 for storage (relative error 6e-8, far below the tolerances of the tests). Arrays are
base64 strings of little-endian float16 ("f16") or float32 ("f32") values; labels are integers.
"""
import base64
import json
import math
import os

import torch
import torch.nn.functional as F

from torch_models import Config, pixel_skip, segmenter, state_shapes

# The UPerNet model. B = 3, not 2: with 2 windows the pyramid pool's 1×1 bin gives BatchNorm two
# values per channel, and its backward cancels almost exactly, amplifying f32 rounding upstream
# (PyTorch's own f32 misses the f64 gradients by 1e-4 there); with 3 both stay near 1e-6.
B = 3
CFG = Config(embed=32, depth=4, heads=4, mlp=64, patch=4, image=32, in_channels=1, slices=3, eps=1e-6,
             features=(0, 1, 2, 3), channels=16, classes=3, beit=True)

# The single-block decoders.
DEC_E, DEC_CH, DEC_K, DEC_GRID = 8, 6, 2, (2, 3)
IN_EPS = 1e-5

# The pixel skip: channels, slices, classes, width, and a non-square plane.
SKIP_C, SKIP_D, SKIP_K, SKIP_WIDTH, SKIP_SIZE = 2, 3, 3, 4, (12, 10)

gen = torch.Generator().manual_seed(2024)


def draw(shape, scale=1.0, offset=0.0):
    """offset + scale * N(0, 1), rounded to float16 and returned as float64 (exact)."""
    t = offset + scale * torch.randn(shape, generator=gen)
    return t.half().double()


def f16(t):
    return base64.b64encode(t.detach().numpy().astype("<f2").tobytes()).decode()


def f32(t):
    return base64.b64encode(t.detach().numpy().astype("<f4").tobytes()).decode()


def conv_weight(shape):
    """A conv weight at PyTorch's fan-in scale (fan-in = everything but the first axis)."""
    return draw(shape, 1 / math.sqrt(math.prod(shape[1:])))


def draw_state(name, shape):
    """A value for one tensor of the model, at a scale that suits its kind."""
    if name.endswith("running_var"):
        return draw(shape, 0.1, 1.0).abs()
    if name.endswith(("bias", "running_mean")):
        return draw(shape, 0.1)
    if name.endswith(("cls_token", "relative_position_bias_table")):
        return draw(shape, 0.5)
    if name.endswith("gamma"):
        return draw(shape, 0.1, 0.5)
    if len(shape) == 1:  # LayerNorm and BatchNorm weights
        return draw(shape, 0.1, 1.0)
    if name.split(".")[1] in ("fpn1", "fpn2"):  # ConvTranspose2d: [in, out, 2, 2], fan-in = in
        return draw(shape, 1 / math.sqrt(shape[0]))
    return conv_weight(shape)  # Linear and Conv weights


def upernet_model():
    """Parameters and BN buffers under our names (TransSeg's for the decoder)."""
    p, buf = {}, {}
    for name, shape, is_buffer in state_shapes(CFG):
        (buf if is_buffer else p)[name] = draw_state(name, shape)
    return p, buf


def upernet_case():
    params, buffers = upernet_model()
    for t in params.values():
        t.requires_grad_()
    start = {n: t.clone() for n, t in buffers.items()}
    c = CFG
    x = draw([B, c.in_channels, c.slices, c.image, c.image]).requires_grad_()
    labels = torch.randint(0, c.classes, (B, c.image, c.image), generator=gen)

    # Dropout2d has p = 0 here: its masks come from our own hash (tested separately).
    logits = segmenter(params, buffers, x, c, training=True)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    with torch.no_grad():
        eval_logits = segmenter(params, buffers, x, c, training=False)

    return {
        "config": {"B": B, "C": c.in_channels, "D": c.slices, "image": c.image, "patch": c.patch, "embed": c.embed,
                   "depth": c.depth, "heads": c.heads, "mlp": c.mlp, "channels": c.channels, "classes": c.classes,
                   "features": list(c.features), "eps": c.eps},
        "weights": {n: {"shape": list(t.shape), "f16": f16(t)} for n, t in {**params, **start}.items()},
        "x": f16(x), "labels": labels.reshape(-1).tolist(),
        "logits": f32(logits), "loss": loss.item(), "eval_logits": f32(eval_logits),
        "grad_x": f32(x.grad),
        "grads": {n: f32(t.grad) for n, t in params.items()},
        "running": {n: f32(t) for n, t in buffers.items()},
    }


def instance_norm(x):
    return F.instance_norm(x, eps=IN_EPS)


def setr_pup(p, x, size):
    h = x
    for i in range(4):
        h = F.relu(instance_norm(F.conv2d(h, p[f"decoder{i}.weight"], p[f"decoder{i}.bias"], padding=1)))
        if i < 3:
            h = F.interpolate(h, size=(2 * h.shape[2], 2 * h.shape[3]), mode="bilinear", align_corners=False)
    h = F.conv2d(h, p["decoder4.weight"], p["decoder4.bias"])
    return F.interpolate(h, size=size, mode="bilinear", align_corners=False)


def convtrans(p, x, size):
    h = F.relu(instance_norm(x))
    for i in range(1, 4):
        h = F.relu(instance_norm(F.conv_transpose2d(h, p[f"decoder{i}.weight"], p[f"decoder{i}.bias"], stride=2)))
    return F.conv_transpose2d(h, p["decoder4.weight"], p["decoder4.bias"], stride=2)


def decoder_case(kind):
    params = {}
    if kind == "setr-pup":
        for i in range(4):
            params[f"decoder{i}.weight"] = conv_weight([DEC_CH, DEC_E if i == 0 else DEC_CH, 3, 3])
            params[f"decoder{i}.bias"] = draw([DEC_CH], 0.1)
        params["decoder4.weight"] = conv_weight([DEC_K, DEC_CH, 1, 1])
        params["decoder4.bias"] = draw([DEC_K], 0.1)
    else:
        widths = [DEC_E, DEC_CH, DEC_CH, DEC_CH, DEC_K]
        for i in range(1, 5):
            params[f"decoder{i}.weight"] = draw([widths[i - 1], widths[i], 2, 2], 1 / math.sqrt(widths[i - 1]))
            params[f"decoder{i}.bias"] = draw([widths[i]], 0.1)
    for t in params.values():
        t.requires_grad_()
    h, w = DEC_GRID
    size = (16 * h, 16 * w)
    x = draw([B, DEC_E, h, w]).requires_grad_()
    y = (setr_pup if kind == "setr-pup" else convtrans)(params, x, size)
    g = draw(list(y.shape))
    (y * g).sum().backward()
    return {
        "config": {"B": B, "embed": DEC_E, "channels": DEC_CH, "classes": DEC_K, "grid": list(DEC_GRID), "size": list(size)},
        "weights": {n: {"shape": list(t.shape), "f16": f16(t)} for n, t in params.items()},
        "x": f16(x), "g": f16(g), "y": f32(y),
        "grad_x": f32(x.grad),
        "grads": {n: f32(t.grad) for n, t in params.items()},
    }


def pixel_skip_case():
    C, D, K, N = SKIP_C, SKIP_D, SKIP_K, SKIP_WIDTH
    params, buffers = {}, {}
    for name, cin in (("input.0", C * D), ("input.1", N), ("fuse", K + N)):
        params[f"{name}.conv.weight"] = conv_weight([N, cin, 3, 3])
        params[f"{name}.bn.weight"] = draw([N], 0.1, 1.0)
        params[f"{name}.bn.bias"] = draw([N], 0.1)
        buffers[f"{name}.bn.running_mean"] = draw([N], 0.1)
        buffers[f"{name}.bn.running_var"] = draw([N], 0.1, 1.0).abs()
    params["classifier.weight"] = conv_weight([K, N, 1, 1])
    params["classifier.bias"] = draw([K], 0.1)
    for t in params.values():
        t.requires_grad_()
    start = {n: t.clone() for n, t in buffers.items()}
    h, w = SKIP_SIZE
    x = draw([B, C, D, h, w]).requires_grad_()
    logits = draw([B, K, h, w]).requires_grad_()
    y = pixel_skip(params, buffers, x, logits, training=True)
    g = draw(list(y.shape))
    (y * g).sum().backward()
    return {
        "config": {"B": B, "C": C, "D": D, "classes": K, "width": N, "size": list(SKIP_SIZE)},
        "weights": {n: {"shape": list(t.shape), "f16": f16(t)} for n, t in {**params, **start}.items()},
        "x": f16(x), "logits": f16(logits), "g": f16(g), "y": f32(y),
        "grad_x": f32(x.grad), "grad_logits": f32(logits.grad),
        "grads": {n: f32(t.grad) for n, t in params.items()},
    }


def main():
    fixture = {
        "torch_version": torch.__version__,
        "upernet": upernet_case(),
        "setr-pup": decoder_case("setr-pup"),
        "convtrans": decoder_case("convtrans"),
        "pixel-skip": pixel_skip_case(),
    }
    out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "segmenter.json")
    with open(out, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {os.path.normpath(out)} ({os.path.getsize(out) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
