#!/usr/bin/env python3
"""Golden values for the whole segmentation model and the two single-block decoders, from PyTorch.

Run with Debian's python3-torch (no timm, mmseg or MONAI needed):
    /usr/bin/python3 scripts/golden/segmenter.py
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

# The UPerNet model.
B, C, D, IMG, P = 2, 1, 3, 32, 4
E, DEPTH, HEADS, MLP = 32, 4, 4, 64
CH, K = 16, 3
FEATURES = [0, 1, 2, 3]
POOL_SCALES = [1, 2, 3, 6]
LN_EPS, BN_EPS, MOMENTUM = 1e-6, 1e-5, 0.1
GRID = IMG // P
TOKENS = GRID * GRID + 1
ROWS = (2 * GRID - 1) ** 2 + 3

# The single-block decoders.
DEC_E, DEC_CH, DEC_K, DEC_GRID = 8, 6, 2, (2, 3)
IN_EPS = 1e-5

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


def bn_params(params, buffers, name, n):
    params[f"{name}.weight"] = draw([n], 0.1, 1.0)
    params[f"{name}.bias"] = draw([n], 0.1)
    buffers[f"{name}.running_mean"] = draw([n], 0.1)
    buffers[f"{name}.running_var"] = draw([n], 0.1, 1.0).abs()


def conv_module_params(params, buffers, name, cin, cout, k):
    params[f"{name}.conv.weight"] = conv_weight([cout, cin, k, k])
    bn_params(params, buffers, f"{name}.bn", cout)


def upernet_model():
    """Parameters and BN buffers under our names (TransSeg's for the decoder)."""
    p, buf = {}, {}
    p["encoder.patch_embed.proj.weight"] = conv_weight([E, C, D, P, P])
    p["encoder.patch_embed.proj.bias"] = draw([E], 0.1)
    p["encoder.cls_token"] = draw([1, 1, E], 0.5)
    for i in range(DEPTH):
        b = f"encoder.blocks.{i}"
        for norm in ("norm1", "norm2"):
            p[f"{b}.{norm}.weight"] = draw([E], 0.1, 1.0)
            p[f"{b}.{norm}.bias"] = draw([E], 0.1)
        p[f"{b}.attn.qkv.weight"] = draw([3 * E, E], 1 / math.sqrt(E))
        p[f"{b}.attn.qkv.bias"] = draw([3 * E], 0.1)
        p[f"{b}.attn.relative_position_bias_table"] = draw([ROWS, HEADS], 0.5)
        p[f"{b}.attn.proj.weight"] = draw([E, E], 1 / math.sqrt(E))
        p[f"{b}.attn.proj.bias"] = draw([E], 0.1)
        p[f"{b}.mlp.fc1.weight"] = draw([MLP, E], 1 / math.sqrt(E))
        p[f"{b}.mlp.fc1.bias"] = draw([MLP], 0.1)
        p[f"{b}.mlp.fc2.weight"] = draw([E, MLP], 1 / math.sqrt(MLP))
        p[f"{b}.mlp.fc2.bias"] = draw([E], 0.1)
        p[f"{b}.ls1.gamma"] = draw([E], 0.1, 0.5)
        p[f"{b}.ls2.gamma"] = draw([E], 0.1, 0.5)
    d = "decoder"
    p[f"{d}.conv_seg.weight"] = conv_weight([K, CH, 1, 1])
    p[f"{d}.conv_seg.bias"] = draw([K], 0.1)
    for name in ("fpn1.0", "fpn1.3", "fpn2.0"):
        p[f"{d}.{name}.weight"] = draw([E, E, 2, 2], 1 / math.sqrt(E))
        p[f"{d}.{name}.bias"] = draw([E], 0.1)
    bn_params(p, buf, f"{d}.fpn1.1", E)
    for i in range(len(POOL_SCALES)):
        conv_module_params(p, buf, f"{d}.psp_modules.{i}.1", E, CH, 1)
    conv_module_params(p, buf, f"{d}.bottleneck", E + len(POOL_SCALES) * CH, CH, 3)
    for i in range(3):
        conv_module_params(p, buf, f"{d}.lateral_convs.{i}", E, CH, 1)
        conv_module_params(p, buf, f"{d}.fpn_convs.{i}", CH, CH, 3)
    conv_module_params(p, buf, f"{d}.fpn_bottleneck", 4 * CH, CH, 3)
    return p, buf


def relative_position_index(h, w):
    """BEiT's index for an h x w grid plus CLS (timm beit.py gen_relative_position_index)."""
    coords = torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    rel[:, :, 0] += h - 1
    rel[:, :, 1] += w - 1
    rel[:, :, 0] *= 2 * w - 1
    index = torch.zeros(h * w + 1, h * w + 1, dtype=torch.long)
    index[1:, 1:] = rel.sum(-1)
    index[0, 1:] = ROWS - 3
    index[1:, 0] = ROWS - 2
    index[0, 0] = ROWS - 1
    return index


def encoder_features(p, x):
    """The outputs of blocks FEATURES as [B, E, h, w] maps (CLS dropped, no norm)."""
    t = F.conv3d(x, p["encoder.patch_embed.proj.weight"], p["encoder.patch_embed.proj.bias"], stride=(D, P, P))
    t = t.flatten(2).transpose(1, 2)
    t = torch.cat([p["encoder.cls_token"].expand(B, 1, E), t], dim=1)
    index = relative_position_index(GRID, GRID)
    dh = E // HEADS
    outs = []
    for i in range(DEPTH):
        b = f"encoder.blocks.{i}."
        g = lambda n: p[b + n]
        h = F.layer_norm(t, (E,), g("norm1.weight"), g("norm1.bias"), LN_EPS)
        qkv = (h @ g("attn.qkv.weight").T + g("attn.qkv.bias")).reshape(B, TOKENS, 3, HEADS, dh).permute(2, 0, 3, 1, 4)
        bias = g("attn.relative_position_bias_table")[index.reshape(-1)].reshape(TOKENS, TOKENS, HEADS).permute(2, 0, 1)
        attn = torch.softmax(qkv[0] @ qkv[1].transpose(-2, -1) * dh ** -0.5 + bias, dim=-1)
        o = (attn @ qkv[2]).transpose(1, 2).reshape(B, TOKENS, E)
        t = t + g("ls1.gamma") * (o @ g("attn.proj.weight").T + g("attn.proj.bias"))
        h = F.layer_norm(t, (E,), g("norm2.weight"), g("norm2.bias"), LN_EPS)
        m = F.gelu(h @ g("mlp.fc1.weight").T + g("mlp.fc1.bias")) @ g("mlp.fc2.weight").T + g("mlp.fc2.bias")
        t = t + g("ls2.gamma") * m
        outs.append(t)
    return [outs[i][:, 1:].transpose(1, 2).reshape(B, E, GRID, GRID) for i in FEATURES]


def upernet(p, buf, feats, training):
    """TransSeg's UPerHead with its BEiT feature-pyramid neck (fpns=True)."""
    d = "decoder."

    def bn(x, name):
        return F.batch_norm(x, buf[d + name + ".running_mean"], buf[d + name + ".running_var"],
                            p[d + name + ".weight"], p[d + name + ".bias"], training, MOMENTUM, BN_EPS)

    def conv_module(x, name, padding=0):
        return F.relu(bn(F.conv2d(x, p[d + name + ".conv.weight"], padding=padding), name + ".bn"))

    def convt(x, name):
        return F.conv_transpose2d(x, p[d + name + ".weight"], p[d + name + ".bias"], stride=2)

    def resize(x, size):
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    levels = [convt(F.gelu(bn(convt(feats[0], "fpn1.0"), "fpn1.1")), "fpn1.3"),
              convt(feats[1], "fpn2.0"), feats[2], F.max_pool2d(feats[3], 2, 2)]
    laterals = [conv_module(levels[i], f"lateral_convs.{i}") for i in range(3)]
    x = levels[3]
    psp = [x] + [resize(conv_module(F.adaptive_avg_pool2d(x, s), f"psp_modules.{i}.1"), x.shape[2:])
                 for i, s in enumerate(POOL_SCALES)]
    laterals.append(conv_module(torch.cat(psp, 1), "bottleneck", 1))
    for i in range(3, 0, -1):
        laterals[i - 1] = laterals[i - 1] + resize(laterals[i], laterals[i - 1].shape[2:])
    outs = [conv_module(laterals[i], f"fpn_convs.{i}", 1) for i in range(3)] + [laterals[3]]
    outs = [outs[0]] + [resize(o, outs[0].shape[2:]) for o in outs[1:]]
    fused = conv_module(torch.cat(outs, 1), "fpn_bottleneck", 1)
    logits = F.conv2d(fused, p[d + "conv_seg.weight"], p[d + "conv_seg.bias"])  # Dropout2d p = 0
    return resize(logits, (IMG, IMG))


def upernet_case():
    params, buffers = upernet_model()
    for t in params.values():
        t.requires_grad_()
    start = {n: t.clone() for n, t in buffers.items()}
    x = draw([B, C, D, IMG, IMG]).requires_grad_()
    labels = torch.randint(0, K, (B, IMG, IMG), generator=gen)

    logits = upernet(params, buffers, encoder_features(params, x), training=True)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    with torch.no_grad():
        eval_logits = upernet(params, buffers, encoder_features(params, x), training=False)

    return {
        "config": {"B": B, "C": C, "D": D, "image": IMG, "patch": P, "embed": E, "depth": DEPTH, "heads": HEADS,
                   "mlp": MLP, "channels": CH, "classes": K, "features": FEATURES, "eps": LN_EPS},
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


def main():
    fixture = {
        "torch_version": torch.__version__,
        "upernet": upernet_case(),
        "setr-pup": decoder_case("setr-pup"),
        "convtrans": decoder_case("convtrans"),
    }
    out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "segmenter.json")
    with open(out, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {os.path.normpath(out)} ({os.path.getsize(out) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
