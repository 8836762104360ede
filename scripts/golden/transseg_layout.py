#!/usr/bin/env python3
"""The authors' TransSeg segmenter (yuhui-zh15/TransSeg: model.py SegmentationModel with
backbones/encoders/beit3d.py BEiT3D and backbones/decoders/upernet.py UPerHead), rebuilt module for
module in plain torch, so its state_dict has exactly the original names and shapes:

  encoder.patch_embed.proj.{weight,bias}        Conv3d, kernel = stride = (D, P, P)
  encoder.cls_token                             no pos_embed (use_abs_pos_emb=False)
  encoder.blocks.i.norm1/norm2.*, attn.qkv.weight (no bias), attn.q_bias, attn.v_bias,
  attn.relative_position_bias_table, attn.relative_position_index (an int64 buffer), attn.proj.*,
  mlp.fc1/fc2.*, gamma_1, gamma_2
  decoder.conv_seg.*, decoder.fpn1.{0,1,3}.*, decoder.fpn2.0.*, decoder.psp_modules.i.1.{conv,bn}.*,
  decoder.bottleneck.*, decoder.lateral_convs.i.*, decoder.fpn_convs.i.*, decoder.fpn_bottleneck.*
  (mmcv ConvModule: conv without bias, then `bn`; BatchNorm's num_batches_tracked included)

No mmcv, mmseg, timm or MONAI is needed: ConvModule and SyncBatchNorm are replaced by modules with
the same state and the same eval-mode forward (SyncBatchNorm only differs in training, across
processes). Run with Debian's python3-torch.

    /usr/bin/python3 scripts/golden/transseg_layout.py
        writes test/fixtures/transseg-torch/model.safetensors (the state_dict as the authors' code
        saves it, converted to safetensors with the Lightning hyper_parameters in __metadata__) and
        golden.json (the input, [B, C, D, H, W], and the eval-mode logits, [B, K, H, W]).

    /usr/bin/python3 scripts/golden/transseg_layout.py --check EXPORTED.safetensors IO.safetensors
        builds SegmentationModel from EXPORTED's hyper_parameters, loads EXPORTED with
        load_state_dict(strict=True), runs IO's `input` and compares with IO's `logits` (written
        by `transseg export` and our forward in test/transseg-torch.test.ts). Prints a JSON line;
        exits 1 beyond the tolerance (1e-5 of the largest |logit|).

The model is small (E=16, 2 heads, 12 blocks so that UPerHead reads blocks [3, 5, 7, 11] as
model.py has it, MLP 32, 2 channels, windows of 3 slices, 64x64, 3 classes) but keeps patch 16:
the authors' heads resize by fixed factors (UPerHead: x4 from the 4x level) that fit patch 16 only.
Weights are drawn in float32 and stored as such; the forward runs in float64 from those values.
"""
import base64
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from checkpoints import write_safetensors  # noqa: E402

HPARAMS = {"force_2d": False, "use_pretrained": False, "bootstrap_method": "centering", "in_channels": 2,
           "out_channels": 3, "patch_size": 16, "img_size": [64, 64, 3], "hidden_size": 16, "mlp_dim": 32,
           "num_heads": 2, "num_layers": 12, "encoder": "beit", "decoder": "upernet", "loss_type": "dicefocal"}
BATCH = 2
TOLERANCE = 1e-5  # of the largest |logit|: our f32 GPU forward against this f64 one


# ------------------------------------------------------------------ BEiT3D (beit3d.py)

class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    """qkv without bias plus q_bias / v_bias (k has none); a relative position table over the
    (h, w, d) window with its int64 index buffer, CLS rows last."""

    def __init__(self, dim, num_heads, window):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        wh, ww, wd = window
        self.window = window
        rows = (2 * wh - 1) * (2 * ww - 1) * (2 * wd - 1) + 3
        self.relative_position_bias_table = nn.Parameter(torch.zeros(rows, num_heads))
        coords = torch.stack(torch.meshgrid([torch.arange(wh), torch.arange(ww), torch.arange(wd)], indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += wh - 1
        rel[:, :, 1] += ww - 1
        rel[:, :, 2] += wd - 1
        rel[:, :, 0] *= (2 * ww - 1) * (2 * wd - 1)
        rel[:, :, 1] *= 2 * wd - 1
        tokens = wh * ww * wd + 1
        index = torch.zeros((tokens, tokens), dtype=rel.dtype)
        index[1:, 1:] = rel.sum(-1)
        index[0, 0:] = rows - 3
        index[0:, 0] = rows - 2
        index[0, 0] = rows - 1
        self.register_buffer("relative_position_index", index)
        self.attn_drop = nn.Dropout(0.0)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, x):
        B, N, _ = x.shape
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        rel = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
        attn = (attn + rel.permute(2, 0, 1).unsqueeze(0)).softmax(dim=-1)
        return self.proj_drop(self.proj((self.attn_drop(attn) @ v).transpose(1, 2).reshape(B, N, -1)))


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio, window):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, window)
        self.drop_path = nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.gamma_1 = nn.Parameter(torch.ones(dim))  # init_values=1 in model.py
        self.gamma_2 = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        x = x + self.drop_path(self.gamma_1 * self.attn(self.norm1(x)))
        return x + self.drop_path(self.gamma_2 * self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.patch_shape = tuple(i // p for i, p in zip(img_size, patch_size))  # (h, w, d)
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=(patch_size[2], patch_size[0], patch_size[1]),
                              stride=(patch_size[2], patch_size[0], patch_size[1]))

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class BEiT3D(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim, depth, num_heads, mlp_ratio):
        super().__init__()
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_drop = nn.Dropout(0.0)
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio, self.patch_embed.patch_shape) for _ in range(depth)])

    def forward(self, x):
        x = self.patch_embed(x)
        x = self.pos_drop(torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1))
        features = []
        for blk in self.blocks:
            x = blk(x)
            features.append(x[:, 1:, :].contiguous())
        return features


# ------------------------------------------------------------------ UPerHead (upernet.py)

def resize(x, size):
    """mmseg.ops.resize as UPerHead calls it: bilinear, align_corners=None (i.e. False)."""
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ConvModule(nn.Module):
    """mmcv.cnn.ConvModule(norm_cfg=SyncBN, act_cfg=ReLU): conv (no bias: a norm follows) → bn → ReLU."""

    def __init__(self, cin, cout, kernel, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.activate = nn.ReLU()

    def forward(self, x):
        return self.activate(self.bn(self.conv(x)))


class PPM(nn.ModuleList):
    def __init__(self, pool_scales, cin, channels):
        super().__init__()
        for scale in pool_scales:
            self.append(nn.Sequential(nn.AdaptiveAvgPool2d(scale), ConvModule(cin, channels, 1)))

    def forward(self, x):
        return [resize(ppm(x), x.shape[2:]) for ppm in self]


class UPerHead(nn.Module):
    def __init__(self, layer_idxs, in_channels, channels, num_classes, pool_scales=(1, 2, 3, 6)):
        super().__init__()
        self.layer_idxs = layer_idxs
        self.dropout = nn.Dropout2d(0.1)
        self.conv_seg = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.fpn1 = nn.Sequential(nn.ConvTranspose2d(channels, channels, 2, 2), nn.BatchNorm2d(channels), nn.GELU(),
                                  nn.ConvTranspose2d(channels, channels, 2, 2))
        self.fpn2 = nn.Sequential(nn.ConvTranspose2d(channels, channels, 2, 2))
        self.fpn3 = nn.Identity()
        self.fpn4 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.psp_modules = PPM(pool_scales, in_channels[-1], channels)
        self.bottleneck = ConvModule(in_channels[-1] + len(pool_scales) * channels, channels, 3, padding=1)
        self.lateral_convs = nn.ModuleList([ConvModule(c, channels, 1) for c in in_channels[:-1]])
        self.fpn_convs = nn.ModuleList([ConvModule(channels, channels, 3, padding=1) for _ in in_channels[:-1]])
        self.fpn_bottleneck = ConvModule(len(in_channels) * channels, channels, 3, padding=1)

    def forward(self, inputs):
        inputs = [op(inputs[i]) for op, i in zip([self.fpn1, self.fpn2, self.fpn3, self.fpn4], self.layer_idxs)]
        laterals = [conv(inputs[i]) for i, conv in enumerate(self.lateral_convs)]
        x = inputs[-1]
        laterals.append(self.bottleneck(torch.cat([x] + self.psp_modules(x), dim=1)))
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + resize(laterals[i], laterals[i - 1].shape[2:])
        outs = [self.fpn_convs[i](laterals[i]) for i in range(len(laterals) - 1)] + [laterals[-1]]
        outs = [outs[0]] + [resize(o, outs[0].shape[2:]) for o in outs[1:]]
        output = self.conv_seg(self.dropout(self.fpn_bottleneck(torch.cat(outs, dim=1))))
        return F.interpolate(output, size=output.shape[-1] * 4, mode="bilinear", align_corners=False)


# ------------------------------------------------------------------ SegmentationModel (model.py)

class SegmentationModel(nn.Module):
    """model.py's LightningModule, reduced to its modules and forward (encoder 'beit', decoder 'upernet')."""

    def __init__(self, force_2d=False, in_channels=1, out_channels=14, patch_size=16, img_size=(512, 512, 5),
                 hidden_size=768, mlp_dim=3072, num_heads=12, num_layers=12, decoder="upernet", **_unused):
        super().__init__()
        if decoder != "upernet":
            raise ValueError(f"this rebuild has the upernet decoder only, not {decoder}")
        depth = 1 if force_2d else img_size[-1]
        self.feat_size = (img_size[0] // patch_size, img_size[1] // patch_size, 1)
        self.encoder = BEiT3D((img_size[0], img_size[1], depth), (patch_size, patch_size, depth), in_channels,
                              hidden_size, num_layers, num_heads, mlp_dim // hidden_size)
        self.decoder = UPerHead([3, 5, 7, 11], [hidden_size] * 4, hidden_size, out_channels)

    def forward(self, inputs):  # B x C x H x W x D
        x = inputs.permute(0, 1, 4, 2, 3).contiguous()
        xs = [t.view(inputs.shape[0], self.feat_size[0], self.feat_size[1], -1).permute(0, 3, 1, 2).contiguous()
              for t in self.encoder(x)]
        return self.decoder(xs)


# ------------------------------------------------------------------ fixture

def f32(t):
    return base64.b64encode(t.detach().to(torch.float32).numpy().astype("<f4").tobytes()).decode()


def fill(model, gen):
    """Every parameter and BN statistic at a scale that suits its kind (float32 values)."""
    def draw(shape, scale=1.0, offset=0.0):
        return offset + scale * torch.randn(shape, generator=gen)

    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith(("relative_position_index", "num_batches_tracked")):
                continue
            shape = list(t.shape)
            if name.endswith("running_var"):
                value = draw(shape, 0.2, 1.0).abs()
            elif name.endswith(("bias", "running_mean")):
                value = draw(shape, 0.1)
            elif name.endswith(("cls_token", "relative_position_bias_table")):
                value = draw(shape, 0.5)
            elif name.endswith(("gamma_1", "gamma_2")):
                value = draw(shape, 0.1, 0.5)
            elif len(shape) == 1:  # LayerNorm and BatchNorm weights
                value = draw(shape, 0.1, 1.0)
            elif ".fpn1." in name or ".fpn2." in name:  # ConvTranspose2d [in, out, 2, 2]: fan-in = in
                value = draw(shape, 1 / math.sqrt(shape[0]))
            else:
                value = draw(shape, 1 / math.sqrt(math.prod(shape[1:])))
            t.copy_(value)
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                t.fill_(1234)  # as after training; it only matters with momentum=None


def make_fixture():
    gen = torch.Generator().manual_seed(16)
    model = SegmentationModel(**HPARAMS)
    fill(model, gen)
    state = {n: t.clone() for n, t in model.state_dict().items()}
    H, W, D = HPARAMS["img_size"]
    x = torch.randn([BATCH, HPARAMS["in_channels"], D, H, W], generator=gen)  # our layout [B, C, D, H, W]
    model = model.double().eval()
    with torch.no_grad():
        logits = model(x.double().permute(0, 1, 3, 4, 2))  # the authors' layout B x C x H x W x D
    out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "transseg-torch")
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), state, {"hyper_parameters": json.dumps(HPARAMS)})
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump({"torch_version": torch.__version__, "hyper_parameters": HPARAMS,
                   "input": {"shape": list(x.shape), "f32": f32(x)},
                   "logits": {"shape": list(logits.shape), "f32": f32(logits)}}, f)
    print(f"wrote {os.path.normpath(out)}: model.safetensors ({len(state)} tensors), golden.json")


# ------------------------------------------------------------------ --check

DTYPES = {"F32": (torch.float32, "f", 4), "I64": (torch.int64, "q", 8)}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        dtype, fmt, size = DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        values = struct.unpack(f"<{(end - begin) // size}{fmt}", raw[8 + n + begin:8 + n + end])
        tensors[name] = torch.tensor(values, dtype=dtype).reshape(info["shape"])
    return tensors, metadata


def check(exported, io):
    state, metadata = read_safetensors(exported)
    hparams = json.loads(metadata["hyper_parameters"])
    model = SegmentationModel(**hparams)
    model.load_state_dict(state, strict=True)
    model = model.double().eval()
    tensors, _ = read_safetensors(io)
    with torch.no_grad():
        logits = model(tensors["input"].double().permute(0, 1, 3, 4, 2))
    expected = tensors["logits"].double()
    max_abs = (logits - expected).abs().max().item()
    normalized = max_abs / expected.abs().max().item()
    print(json.dumps({"tensors": len(state), "max_abs": max_abs, "normalized": normalized, "tolerance": TOLERANCE}))
    return 0 if normalized <= TOLERANCE else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    make_fixture()
