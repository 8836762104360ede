"""Our segmentation model (src/model/segmenter.ts) in plain PyTorch, over a dict of tensors named
as ours: a ViT encoder with a 3-D patch embedding (timm-style absolute position embedding, or
BEiT-style relative position bias and layer scale), TransSeg's UPerNet decoder, and MONAI's
DiceFocal loss. No timm, mmseg or MONAI needed.

scripts/golden/segmenter.py computes the golden values of the tests with it (float64), and
bench/torch_peer.py times it on the CPU (float32) as the PyTorch peer of `npm run bench`.
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

POOL_SCALES = (1, 2, 3, 6)
BN_EPS, MOMENTUM = 1e-5, 0.1


@dataclass(frozen=True)
class Config:
    embed: int
    depth: int
    heads: int
    mlp: int
    patch: int
    image: int
    in_channels: int
    slices: int
    eps: float
    features: tuple
    channels: int
    classes: int
    # BEiT (TransSeg's default encoder): a relative position bias table and layer scale in every
    # block, no absolute position embedding. timm's ViT: the opposite.
    beit: bool

    @property
    def grid(self):
        return self.image // self.patch

    @property
    def tokens(self):
        return self.grid * self.grid + 1

    @property
    def rows(self):
        """Rows of BEiT's relative position table: every offset in the grid, plus three for CLS."""
        return (2 * self.grid - 1) ** 2 + 3


def state_shapes(c):
    """(name, shape, is_buffer) for every parameter and BatchNorm statistic, in a fixed order."""
    E = c.embed
    out = [("encoder.patch_embed.proj.weight", [E, c.in_channels, c.slices, c.patch, c.patch], False),
           ("encoder.patch_embed.proj.bias", [E], False),
           ("encoder.cls_token", [1, 1, E], False)]
    if not c.beit:
        out.append(("encoder.pos_embed", [1, c.tokens, E], False))
    for i in range(c.depth):
        b = f"encoder.blocks.{i}"
        out += [(f"{b}.{norm}.{kind}", [E], False) for norm in ("norm1", "norm2") for kind in ("weight", "bias")]
        out += [(f"{b}.attn.qkv.weight", [3 * E, E], False), (f"{b}.attn.qkv.bias", [3 * E], False)]
        if c.beit:
            out.append((f"{b}.attn.relative_position_bias_table", [c.rows, c.heads], False))
        out += [(f"{b}.attn.proj.weight", [E, E], False), (f"{b}.attn.proj.bias", [E], False),
                (f"{b}.mlp.fc1.weight", [c.mlp, E], False), (f"{b}.mlp.fc1.bias", [c.mlp], False),
                (f"{b}.mlp.fc2.weight", [E, c.mlp], False), (f"{b}.mlp.fc2.bias", [E], False)]
        if c.beit:
            out += [(f"{b}.ls1.gamma", [E], False), (f"{b}.ls2.gamma", [E], False)]

    def bn(name, n):
        return [(f"{name}.weight", [n], False), (f"{name}.bias", [n], False),
                (f"{name}.running_mean", [n], True), (f"{name}.running_var", [n], True)]

    def conv_module(name, cin, cout, k):
        return [(f"{name}.conv.weight", [cout, cin, k, k], False)] + bn(f"{name}.bn", cout)

    d, CH = "decoder", c.channels
    out += [(f"{d}.conv_seg.weight", [c.classes, CH, 1, 1], False), (f"{d}.conv_seg.bias", [c.classes], False)]
    for name in ("fpn1.0", "fpn1.3", "fpn2.0"):
        out += [(f"{d}.{name}.weight", [E, E, 2, 2], False), (f"{d}.{name}.bias", [E], False)]
    out += bn(f"{d}.fpn1.1", E)
    for i in range(len(POOL_SCALES)):
        out += conv_module(f"{d}.psp_modules.{i}.1", E, CH, 1)
    out += conv_module(f"{d}.bottleneck", E + len(POOL_SCALES) * CH, CH, 3)
    for i in range(3):
        out += conv_module(f"{d}.lateral_convs.{i}", E, CH, 1)
        out += conv_module(f"{d}.fpn_convs.{i}", CH, CH, 3)
    out += conv_module(f"{d}.fpn_bottleneck", 4 * CH, CH, 3)
    return out


def relative_position_index(h, w):
    """BEiT's index for an h x w grid plus CLS (timm beit.py gen_relative_position_index)."""
    rows = (2 * h - 1) * (2 * w - 1) + 3
    coords = torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    rel[:, :, 0] += h - 1
    rel[:, :, 1] += w - 1
    rel[:, :, 0] *= 2 * w - 1
    index = torch.zeros(h * w + 1, h * w + 1, dtype=torch.long)
    index[1:, 1:] = rel.sum(-1)
    index[0, 1:] = rows - 3
    index[1:, 0] = rows - 2
    index[0, 0] = rows - 1
    return index


def encoder_features(p, x, c):
    """The outputs of blocks c.features as [B, E, h, w] maps (CLS dropped, no norm)."""
    B, E, T = x.shape[0], c.embed, c.tokens
    t = F.conv3d(x, p["encoder.patch_embed.proj.weight"], p["encoder.patch_embed.proj.bias"], stride=(c.slices, c.patch, c.patch))
    t = t.flatten(2).transpose(1, 2)
    t = torch.cat([p["encoder.cls_token"].expand(B, 1, E), t], dim=1)
    if not c.beit:
        t = t + p["encoder.pos_embed"]
    index = relative_position_index(c.grid, c.grid) if c.beit else None
    dh = E // c.heads
    outs = []
    for i in range(c.depth):
        b = f"encoder.blocks.{i}."
        g = lambda n: p[b + n]
        h = F.layer_norm(t, (E,), g("norm1.weight"), g("norm1.bias"), c.eps)
        qkv = (h @ g("attn.qkv.weight").T + g("attn.qkv.bias")).reshape(B, T, 3, c.heads, dh).permute(2, 0, 3, 1, 4)
        logits = qkv[0] @ qkv[1].transpose(-2, -1) * dh ** -0.5
        if c.beit:
            logits = logits + g("attn.relative_position_bias_table")[index.reshape(-1)].reshape(T, T, c.heads).permute(2, 0, 1)
        o = (torch.softmax(logits, dim=-1) @ qkv[2]).transpose(1, 2).reshape(B, T, E)
        o = o @ g("attn.proj.weight").T + g("attn.proj.bias")
        t = t + (g("ls1.gamma") * o if c.beit else o)
        h = F.layer_norm(t, (E,), g("norm2.weight"), g("norm2.bias"), c.eps)
        m = F.gelu(h @ g("mlp.fc1.weight").T + g("mlp.fc1.bias")) @ g("mlp.fc2.weight").T + g("mlp.fc2.bias")
        t = t + (g("ls2.gamma") * m if c.beit else m)
        outs.append(t)
    return [outs[i][:, 1:].transpose(1, 2).reshape(B, E, c.grid, c.grid) for i in c.features]


def upernet(p, buf, feats, training, size, dropout=0.0):
    """TransSeg's UPerHead with its BEiT feature-pyramid neck (fpns=True): logits at `size`."""
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
    if training and dropout > 0:
        fused = F.dropout2d(fused, dropout)
    logits = F.conv2d(fused, p[d + "conv_seg.weight"], p[d + "conv_seg.bias"])
    return resize(logits, size)


def pixel_skip(p, buf, x, logits, training):
    """src/model/pixel-skip.ts: logits + classifier(fuse([logits, input.1(input.0(x))])), x [B, C, D, H, W]."""
    def conv_module(h, name):
        h = F.conv2d(h, p[name + ".conv.weight"], padding=1)
        return F.relu(F.batch_norm(h, buf[name + ".bn.running_mean"], buf[name + ".bn.running_var"],
                                   p[name + ".bn.weight"], p[name + ".bn.bias"], training, MOMENTUM, BN_EPS))

    B, C, D, H, W = x.shape
    pixels = conv_module(conv_module(x.reshape(B, C * D, H, W), "input.0"), "input.1")
    fused = conv_module(torch.cat([logits, pixels], 1), "fuse")
    return logits + F.conv2d(fused, p["classifier.weight"], p["classifier.bias"])


def segmenter(p, buf, x, c, training, dropout=0.0):
    """x [B, C, D, H, W] -> logits [B, classes, H, W] for the centre slice."""
    return upernet(p, buf, encoder_features(p, x, c), training, (c.image, c.image), dropout)


def dice_focal_loss(logits, labels, smooth=1e-5, gamma=2.0):
    """MONAI DiceFocalLoss(to_onehot_y=True, softmax=True) as src/ops/loss.ts: Dice + focal, weight 1 each."""
    t = F.one_hot(labels, logits.shape[1]).permute(0, 3, 1, 2).to(logits.dtype)
    prob = torch.softmax(logits, 1)
    inter, total = (prob * t).sum((2, 3)), (prob + t).sum((2, 3))
    dice = (1 - (2 * inter + smooth) / (total + smooth)).mean()
    # MONAI 0.6 FocalLoss: sigmoid BCE-with-logits on the one-hot target, weighted per element.
    bce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    focal = (torch.exp(gamma * F.logsigmoid(-logits * (2 * t - 1))) * bce).mean()
    return dice + focal
