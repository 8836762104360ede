#!/usr/bin/env python3
"""Small random 2-D ViT checkpoints in five foreign layouts, with their forward passes, from torch.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/golden/checkpoints.py
No timm / transformers / vit-pytorch needed: each architecture's forward is written out below in
plain torch, following the original code (names, op order, quirks), so the TypeScript adapters in
src/checkpoint/ are checked against what those libraries compute, not against themselves.

Every model: embed 32, depth 2, 4 heads, patch 4, image 16x16 (a 4x4 token grid), 5 classes,
3 input channels (1 for vit-pytorch). Weights are drawn in float32 and written as they are; the
forwards run in float64 from those f32 values, so the golden numbers carry no f32 rounding.

Writes test/fixtures/checkpoints/<name>.safetensors (the state dict under that layout's exact
names: F32 tensors, plus I64 `relative_position_index` buffers where the original saves them) and
test/fixtures/checkpoints/golden.json:

  torch_version              the torch that made the file
  models.<name>              one entry per fixture, <name> one of:
                               timm-vit            timm VisionTransformer (ViT/DeiT/DINO names)
                               timm-vit-distilled  timm VisionTransformerDistilled (DeiT, dist token)
                               timm-beit           timm / unilm Beit: q_bias/v_bias, per-block
                                                   relative position tables, gamma_1/2, mean pool + fc_norm
                               hf-vit              transformers ViTForImageClassification (prefix vit.)
                               hf-beit             transformers BeitForImageClassification (prefix beit.):
                                                   a shared relative position table, lambda_1/2,
                                                   mean pool + pooler.layernorm
                               vit-pytorch         lucidrains vit-pytorch, early 2021 (vit4mnist's layout)
    .file                    the safetensors file name, next to golden.json
    .format                  the CheckpointFormat its names should be detected as
    .model_json              the Partial<VitConfig> to pass as `config` (what weights cannot tell)
    .config                  facts: embed_dim, depth, heads, mlp_hidden, patch_size, image_size [H, W],
                             in_channels, prefix_tokens (1 CLS, 2 CLS + distillation), eps (LayerNorm),
                             attention_scale (what multiplies q.k), classes
    .input                   {shape: [1, C, 16, 16], data}: the image fed to the patch embedding
                             (already normalised; no mean/std applied)
    .blocks                  one {shape: [1, prefix + 16, 32], data} per block: the tokens after that
                             block, prefix tokens first (C order, float64)
    .logits                  {shape: [1, 5], data}: the classifier output (float64)
"""
import json
import os
import struct

import torch
import torch.nn.functional as F

E, DEPTH, HEADS, PATCH, IMAGE, CLASSES = 32, 2, 4, 4, 16, 5
GRID = IMAGE // PATCH
TOKENS = GRID * GRID
DH = E // HEADS
OUT_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "checkpoints")


class Draw:
    """Float32 random tensors from one seeded generator."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def normal(self, *shape, std=1.0, mean=0.0):
        return (mean + std * torch.randn(*shape, generator=self.g)).float()

    def linear(self, rows, cols):
        return self.normal(rows, cols, std=cols ** -0.5)

    def ln(self, n):
        return self.normal(n, std=0.1, mean=1.0), self.normal(n, std=0.1)


def beit_relative_position_index(h, w):
    """BEiT's gen_relative_position_index, as in timm beit.py and unilm."""
    rows = (2 * h - 1) * (2 * w - 1) + 3
    coords = torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += h - 1
    rel[:, :, 1] += w - 1
    rel[:, :, 0] *= 2 * w - 1
    index = torch.zeros((h * w + 1,) * 2, dtype=torch.int64)
    index[1:, 1:] = rel.sum(-1)
    index[0, 0:] = rows - 3
    index[0:, 0] = rows - 2
    index[0, 0] = rows - 1
    return index


def d(t):
    return t.double()


def ln(x, sd, name, eps):
    return F.layer_norm(x, (x.shape[-1],), d(sd[name + ".weight"]), d(sd[name + ".bias"]), eps)


def lin(x, sd, name, bias=True):
    return F.linear(x, d(sd[name + ".weight"]), d(sd[name + ".bias"]) if bias else None)


def conv_patches(img, sd, name):
    """timm PatchEmbed / HF *PatchEmbeddings: Conv2d with stride P, flattened row-major to tokens."""
    x = F.conv2d(img, d(sd[name + ".weight"]), d(sd[name + ".bias"]), stride=PATCH)
    return x.flatten(2).transpose(1, 2)


# ---------------------------------------------------------------- timm VisionTransformer (+ DeiT)

def timm_vit_weights(draw, distilled):
    prefix = 2 if distilled else 1
    sd = {"cls_token": draw.normal(1, 1, E)}
    if distilled:
        sd["dist_token"] = draw.normal(1, 1, E)
    sd["pos_embed"] = draw.normal(1, prefix + TOKENS, E, std=0.5)
    sd["patch_embed.proj.weight"] = draw.normal(E, 3, PATCH, PATCH, std=(3 * PATCH * PATCH) ** -0.5)
    sd["patch_embed.proj.bias"] = draw.normal(E, std=0.1)
    for i in range(DEPTH):
        b = f"blocks.{i}."
        sd[b + "norm1.weight"], sd[b + "norm1.bias"] = draw.ln(E)
        sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"] = draw.linear(3 * E, E), draw.normal(3 * E, std=0.1)
        sd[b + "attn.proj.weight"], sd[b + "attn.proj.bias"] = draw.linear(E, E), draw.normal(E, std=0.1)
        sd[b + "norm2.weight"], sd[b + "norm2.bias"] = draw.ln(E)
        sd[b + "mlp.fc1.weight"], sd[b + "mlp.fc1.bias"] = draw.linear(4 * E, E), draw.normal(4 * E, std=0.1)
        sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"] = draw.linear(E, 4 * E), draw.normal(E, std=0.1)
    sd["norm.weight"], sd["norm.bias"] = draw.ln(E)
    sd["head.weight"], sd["head.bias"] = draw.linear(CLASSES, E), draw.normal(CLASSES, std=0.1)
    if distilled:
        sd["head_dist.weight"], sd["head_dist.bias"] = draw.linear(CLASSES, E), draw.normal(CLASSES, std=0.1)
    return sd


def timm_attention(x, sd, b, scale):
    """timm Attention: one qkv Linear, reshape (B, N, 3, heads, dh), q scaled before q.k."""
    B, N, _ = x.shape
    qkv = lin(x, sd, b + "attn.qkv").reshape(B, N, 3, HEADS, DH).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    attn = ((q * scale) @ k.transpose(-2, -1)).softmax(dim=-1)
    return lin((attn @ v).transpose(1, 2).reshape(B, N, E), sd, b + "attn.proj")


def timm_vit_forward(sd, img, distilled, eps=1e-6):
    x = conv_patches(img, sd, "patch_embed.proj")
    prefix = [d(sd["cls_token"])] + ([d(sd["dist_token"])] if distilled else [])
    x = torch.cat(prefix + [x], dim=1) + d(sd["pos_embed"])
    blocks = []
    for i in range(DEPTH):
        b = f"blocks.{i}."
        x = x + timm_attention(ln(x, sd, b + "norm1", eps), sd, b, DH ** -0.5)
        x = x + lin(F.gelu(lin(ln(x, sd, b + "norm2", eps), sd, b + "mlp.fc1")), sd, b + "mlp.fc2")
        blocks.append(x)
    x = ln(x, sd, "norm", eps)
    logits = lin(x[:, 0], sd, "head")
    if distilled:  # VisionTransformerDistilled at inference: the mean of the two heads
        logits = (logits + lin(x[:, 1], sd, "head_dist")) / 2
    return blocks, logits


# ---------------------------------------------------------------- timm / unilm Beit

def timm_beit_weights(draw):
    rows = (2 * GRID - 1) ** 2 + 3
    sd = {"cls_token": draw.normal(1, 1, E)}
    sd["patch_embed.proj.weight"] = draw.normal(E, 3, PATCH, PATCH, std=(3 * PATCH * PATCH) ** -0.5)
    sd["patch_embed.proj.bias"] = draw.normal(E, std=0.1)
    for i in range(DEPTH):
        b = f"blocks.{i}."
        sd[b + "gamma_1"], sd[b + "gamma_2"] = draw.normal(E, std=0.2, mean=0.5), draw.normal(E, std=0.2, mean=0.5)
        sd[b + "norm1.weight"], sd[b + "norm1.bias"] = draw.ln(E)
        sd[b + "attn.q_bias"], sd[b + "attn.v_bias"] = draw.normal(E, std=0.1), draw.normal(E, std=0.1)
        sd[b + "attn.relative_position_bias_table"] = draw.normal(rows, HEADS, std=0.5)
        sd[b + "attn.relative_position_index"] = beit_relative_position_index(GRID, GRID)
        sd[b + "attn.qkv.weight"] = draw.linear(3 * E, E)
        sd[b + "attn.proj.weight"], sd[b + "attn.proj.bias"] = draw.linear(E, E), draw.normal(E, std=0.1)
        sd[b + "norm2.weight"], sd[b + "norm2.bias"] = draw.ln(E)
        sd[b + "mlp.fc1.weight"], sd[b + "mlp.fc1.bias"] = draw.linear(4 * E, E), draw.normal(4 * E, std=0.1)
        sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"] = draw.linear(E, 4 * E), draw.normal(E, std=0.1)
    sd["fc_norm.weight"], sd["fc_norm.bias"] = draw.ln(E)
    sd["head.weight"], sd["head.bias"] = draw.linear(CLASSES, E), draw.normal(CLASSES, std=0.1)
    return sd


def beit_bias(table, index):
    """table[index] viewed (T, T, heads), permuted to (heads, T, T)."""
    T = index.shape[0]
    return d(table)[index.reshape(-1)].reshape(T, T, -1).permute(2, 0, 1)


def timm_beit_forward(sd, img, eps=1e-6):
    x = torch.cat([d(sd["cls_token"]), conv_patches(img, sd, "patch_embed.proj")], dim=1)  # no pos_embed
    blocks = []
    for i in range(DEPTH):
        b = f"blocks.{i}."
        h = ln(x, sd, b + "norm1", eps)
        B, N, _ = h.shape
        qkv_bias = torch.cat([d(sd[b + "attn.q_bias"]), torch.zeros(E, dtype=torch.float64), d(sd[b + "attn.v_bias"])])
        qkv = F.linear(h, d(sd[b + "attn.qkv.weight"]), qkv_bias).reshape(B, N, 3, HEADS, DH).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q * DH ** -0.5) @ k.transpose(-2, -1)
        attn = attn + beit_bias(sd[b + "attn.relative_position_bias_table"], sd[b + "attn.relative_position_index"])
        o = lin((attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, N, E), sd, b + "attn.proj")
        x = x + d(sd[b + "gamma_1"]) * o
        x = x + d(sd[b + "gamma_2"]) * lin(F.gelu(lin(ln(x, sd, b + "norm2", eps), sd, b + "mlp.fc1")), sd, b + "mlp.fc2")
        blocks.append(x)
    pooled = ln(x[:, 1:].mean(dim=1), sd, "fc_norm", eps)  # global_pool 'avg': norm is Identity
    return blocks, lin(pooled, sd, "head")


# ---------------------------------------------------------------- transformers ViT / BEiT

def hf_layer_weights(draw, sd, b, key_bias, lambdas):
    for part in ("query", "key", "value"):
        p = f"{b}attention.attention.{part}."
        sd[p + "weight"] = draw.linear(E, E)
        if part != "key" or key_bias:
            sd[p + "bias"] = draw.normal(E, std=0.1)
    sd[b + "attention.output.dense.weight"], sd[b + "attention.output.dense.bias"] = draw.linear(E, E), draw.normal(E, std=0.1)
    sd[b + "intermediate.dense.weight"], sd[b + "intermediate.dense.bias"] = draw.linear(4 * E, E), draw.normal(4 * E, std=0.1)
    sd[b + "output.dense.weight"], sd[b + "output.dense.bias"] = draw.linear(E, 4 * E), draw.normal(E, std=0.1)
    sd[b + "layernorm_before.weight"], sd[b + "layernorm_before.bias"] = draw.ln(E)
    sd[b + "layernorm_after.weight"], sd[b + "layernorm_after.bias"] = draw.ln(E)
    if lambdas:
        sd[b + "lambda_1"], sd[b + "lambda_2"] = draw.normal(E, std=0.2, mean=0.5), draw.normal(E, std=0.2, mean=0.5)


def hf_self_attention(h, sd, p, key_bias, bias=None):
    """ViTSelfAttention / BeitSelfAttention: three Linears, scores / sqrt(dh) after q.k."""
    B, N, _ = h.shape
    split = lambda t: t.reshape(B, N, HEADS, DH).permute(0, 2, 1, 3)  # transpose_for_scores
    q = split(lin(h, sd, p + "query"))
    k = split(lin(h, sd, p + "key", bias=key_bias))
    v = split(lin(h, sd, p + "value"))
    scores = (q @ k.transpose(-1, -2)) / DH ** 0.5
    if bias is not None:
        scores = scores + bias
    return (scores.softmax(dim=-1) @ v).permute(0, 2, 1, 3).reshape(B, N, E)


def hf_layer(x, sd, b, eps, key_bias, bias=None, lambdas=False):
    """ViTLayer / BeitLayer: pre-norm, residuals added in the layer."""
    a = lin(hf_self_attention(ln(x, sd, b + "layernorm_before", eps), sd, b + "attention.attention.", key_bias, bias),
            sd, b + "attention.output.dense")
    if lambdas:
        a = d(sd[b + "lambda_1"]) * a
    x = a + x
    y = lin(F.gelu(lin(ln(x, sd, b + "layernorm_after", eps), sd, b + "intermediate.dense")), sd, b + "output.dense")
    if lambdas:
        y = d(sd[b + "lambda_2"]) * y
    return y + x


def hf_vit_weights(draw):
    sd = {"vit.embeddings.cls_token": draw.normal(1, 1, E),
          "vit.embeddings.position_embeddings": draw.normal(1, 1 + TOKENS, E, std=0.5),
          "vit.embeddings.patch_embeddings.projection.weight": draw.normal(E, 3, PATCH, PATCH, std=(3 * PATCH * PATCH) ** -0.5),
          "vit.embeddings.patch_embeddings.projection.bias": draw.normal(E, std=0.1)}
    for i in range(DEPTH):
        hf_layer_weights(draw, sd, f"vit.encoder.layer.{i}.", key_bias=True, lambdas=False)
    sd["vit.layernorm.weight"], sd["vit.layernorm.bias"] = draw.ln(E)
    sd["classifier.weight"], sd["classifier.bias"] = draw.linear(CLASSES, E), draw.normal(CLASSES, std=0.1)
    return sd


def hf_vit_forward(sd, img, eps=1e-12):
    x = conv_patches(img, sd, "vit.embeddings.patch_embeddings.projection")
    x = torch.cat([d(sd["vit.embeddings.cls_token"]), x], dim=1) + d(sd["vit.embeddings.position_embeddings"])
    blocks = []
    for i in range(DEPTH):
        x = hf_layer(x, sd, f"vit.encoder.layer.{i}.", eps, key_bias=True)
        blocks.append(x)
    x = ln(x, sd, "vit.layernorm", eps)
    return blocks, lin(x[:, 0], sd, "classifier")


def hf_beit_weights(draw):
    rows = (2 * GRID - 1) ** 2 + 3
    shared = "beit.encoder.relative_position_bias."
    sd = {"beit.embeddings.cls_token": draw.normal(1, 1, E),
          "beit.embeddings.patch_embeddings.projection.weight": draw.normal(E, 3, PATCH, PATCH, std=(3 * PATCH * PATCH) ** -0.5),
          "beit.embeddings.patch_embeddings.projection.bias": draw.normal(E, std=0.1),
          shared + "relative_position_bias_table": draw.normal(rows, HEADS, std=0.5),
          shared + "relative_position_index": beit_relative_position_index(GRID, GRID)}
    for i in range(DEPTH):
        hf_layer_weights(draw, sd, f"beit.encoder.layer.{i}.", key_bias=False, lambdas=True)
    sd["beit.pooler.layernorm.weight"], sd["beit.pooler.layernorm.bias"] = draw.ln(E)
    sd["classifier.weight"], sd["classifier.bias"] = draw.linear(CLASSES, E), draw.normal(CLASSES, std=0.1)
    return sd


def hf_beit_forward(sd, img, eps=1e-12):
    # use_absolute_position_embeddings False; use_shared_relative_position_bias True: one table,
    # gathered once, added in every layer (HF resizes it bilinearly to the same grid: identity).
    x = torch.cat([d(sd["beit.embeddings.cls_token"]), conv_patches(img, sd, "beit.embeddings.patch_embeddings.projection")], dim=1)
    shared = "beit.encoder.relative_position_bias."
    bias = beit_bias(sd[shared + "relative_position_bias_table"], sd[shared + "relative_position_index"])
    blocks = []
    for i in range(DEPTH):
        x = hf_layer(x, sd, f"beit.encoder.layer.{i}.", eps, key_bias=False, bias=bias, lambdas=True)
        blocks.append(x)
    # use_mean_pooling: beit.layernorm is Identity; BeitPooler norms the mean of the patch tokens.
    pooled = ln(x[:, 1:].mean(dim=1), sd, "beit.pooler.layernorm", eps)
    return blocks, lin(pooled, sd, "classifier")


# ---------------------------------------------------------------- lucidrains vit-pytorch (early 2021)

VP_CHANNELS, VP_MLP = 1, 2 * E


def vit_pytorch_weights(draw):
    patch_dim = VP_CHANNELS * PATCH * PATCH
    sd = {"pos_embedding": draw.normal(1, 1 + TOKENS, E, std=0.5),
          "patch_to_embedding.weight": draw.linear(E, patch_dim),
          "patch_to_embedding.bias": draw.normal(E, std=0.1),
          "cls_token": draw.normal(1, 1, E)}
    for i in range(DEPTH):
        a, f = f"transformer.layers.{i}.0.fn.", f"transformer.layers.{i}.1.fn."
        sd[a + "norm.weight"], sd[a + "norm.bias"] = draw.ln(E)
        sd[a + "fn.to_qkv.weight"] = draw.linear(3 * E, E)
        sd[a + "fn.to_out.weight"], sd[a + "fn.to_out.bias"] = draw.linear(E, E), draw.normal(E, std=0.1)
        sd[f + "norm.weight"], sd[f + "norm.bias"] = draw.ln(E)
        sd[f + "fn.net.0.weight"], sd[f + "fn.net.0.bias"] = draw.linear(VP_MLP, E), draw.normal(VP_MLP, std=0.1)
        sd[f + "fn.net.2.weight"], sd[f + "fn.net.2.bias"] = draw.linear(E, VP_MLP), draw.normal(E, std=0.1)
    sd["mlp_head.0.weight"], sd["mlp_head.0.bias"] = draw.linear(VP_MLP, E), draw.normal(VP_MLP, std=0.1)
    sd["mlp_head.2.weight"], sd["mlp_head.2.bias"] = draw.linear(CLASSES, VP_MLP), draw.normal(CLASSES, std=0.1)
    return sd


def vit_pytorch_forward(sd, img, eps=1e-5):
    B, C = img.shape[:2]
    # rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)')
    x = img.reshape(B, C, GRID, PATCH, GRID, PATCH).permute(0, 2, 4, 3, 5, 1).reshape(B, TOKENS, PATCH * PATCH * C)
    x = lin(x, sd, "patch_to_embedding")
    x = torch.cat([d(sd["cls_token"]), x], dim=1) + d(sd["pos_embedding"])
    blocks = []
    for i in range(DEPTH):
        a, f = f"transformer.layers.{i}.0.fn.", f"transformer.layers.{i}.1.fn."
        h = ln(x, sd, a + "norm", eps)
        B, N, _ = h.shape
        # rearrange(qkv, 'b n (qkv h d) -> qkv b h n d'); the early release scales by dim ** -0.5.
        q, k, v = lin(h, sd, a + "fn.to_qkv", bias=False).reshape(B, N, 3, HEADS, DH).permute(2, 0, 3, 1, 4)
        dots = (q @ k.transpose(-1, -2)) * E ** -0.5
        x = lin((dots.softmax(dim=-1) @ v).permute(0, 2, 1, 3).reshape(B, N, E), sd, a + "fn.to_out") + x
        x = lin(F.gelu(lin(ln(x, sd, f + "norm", eps), sd, f + "fn.net.0")), sd, f + "fn.net.2") + x
        blocks.append(x)
    return blocks, lin(F.gelu(lin(x[:, 0], sd, "mlp_head.0")), sd, "mlp_head.2")  # no final norm


# ---------------------------------------------------------------- output

DTYPES = {torch.float32: ("F32", "f"), torch.int64: ("I64", "q")}


def write_safetensors(path, sd, metadata=None):
    """u64 LE header length, JSON header padded with spaces to a multiple of 8, then the data,
    sorted by descending dtype size and then by name, as the reference writer does. `metadata`
    (str -> str) joins {"format": "pt"} in __metadata__."""
    items = sorted(sd.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header, chunks, offset = {"__metadata__": {"format": "pt", **(metadata or {})}}, [], 0
    for name, t in items:
        dtype, fmt = DTYPES[t.dtype]
        values = t.contiguous().reshape(-1).tolist()
        data = struct.pack(f"<{len(values)}{fmt}", *values)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def tensor_json(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1)]}


MODELS = [
    # name, format, weights, forward, in-channels, prefix tokens, eps, attention scale, model JSON
    ("timm-vit", "timm-vit", lambda g: timm_vit_weights(g, False), lambda sd, x: timm_vit_forward(sd, x, False),
     3, 1, 1e-6, DH ** -0.5, {"heads": HEADS, "eps": 1e-6}),
    ("timm-vit-distilled", "timm-vit", lambda g: timm_vit_weights(g, True), lambda sd, x: timm_vit_forward(sd, x, True),
     3, 2, 1e-6, DH ** -0.5, {"heads": HEADS, "eps": 1e-6}),
    ("timm-beit", "timm-beit", timm_beit_weights, timm_beit_forward, 3, 1, 1e-6, DH ** -0.5, {"heads": HEADS, "eps": 1e-6}),
    ("hf-vit", "hf-vit", hf_vit_weights, hf_vit_forward, 3, 1, 1e-12, DH ** -0.5, {"heads": HEADS, "eps": 1e-12}),
    ("hf-beit", "hf-beit", hf_beit_weights, hf_beit_forward, 3, 1, 1e-12, DH ** -0.5, {"heads": HEADS, "eps": 1e-12}),
    ("vit-pytorch", "vit-pytorch", vit_pytorch_weights, vit_pytorch_forward, VP_CHANNELS, 1, 1e-5, E ** -0.5,
     {"heads": HEADS, "eps": 1e-5, "attentionScale": E ** -0.5}),
]


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    golden = {"torch_version": torch.__version__, "models": {}}
    for seed, (name, fmt, weights, forward, channels, prefix, eps, scale, model_json) in enumerate(MODELS):
        draw = Draw(100 + seed)
        sd = weights(draw)
        img = draw.normal(1, channels, IMAGE, IMAGE)
        with torch.no_grad():
            blocks, logits = forward(sd, d(img))
        assert all(b.shape == (1, prefix + TOKENS, E) for b in blocks) and logits.shape == (1, CLASSES)
        write_safetensors(os.path.join(OUT_DIR, name + ".safetensors"), sd)
        golden["models"][name] = {
            "file": name + ".safetensors",
            "format": fmt,
            "model_json": model_json,
            "config": {"embed_dim": E, "depth": DEPTH, "heads": HEADS,
                       "mlp_hidden": VP_MLP if name == "vit-pytorch" else 4 * E, "patch_size": PATCH,
                       "image_size": [IMAGE, IMAGE], "in_channels": channels, "prefix_tokens": prefix,
                       "eps": eps, "attention_scale": scale, "classes": CLASSES},
            "input": tensor_json(img),
            "blocks": [tensor_json(b) for b in blocks],
            "logits": tensor_json(logits),
        }
    out = os.path.join(OUT_DIR, "golden.json")
    with open(out, "w") as f:
        json.dump(golden, f)
    print(f"wrote {os.path.normpath(OUT_DIR)}: golden.json and {len(MODELS)} safetensors files")


if __name__ == "__main__":
    main()
