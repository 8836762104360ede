#!/usr/bin/env python3
"""Golden values for the 2D->3D weight transfer (src/inflate/), from PyTorch and SciPy.

Run with Debian's python3-torch and python3-scipy (SciPy 1.10 still has interp2d):
    /usr/bin/python3 scripts/golden/inflation.py
Writes test/fixtures/inflation.json. Inputs are seeded float32; every oracle below follows the
original code literally (TransSeg beit3d.py:load_checkpoint, timm beit.py, F.interpolate).
"""
import json
import os
import warnings

import numpy as np
import scipy
import torch
import torch.nn.functional as F
from scipy import interpolate

G = torch.Generator().manual_seed(2022)


def randn(*shape):
    return torch.randn(*shape, generator=G, dtype=torch.float32)


def flat(t):
    """f32 values as the shortest decimals that round-trip in f32 (keeps the file small)."""
    return [float(str(np.float32(v))) for v in t.detach().reshape(-1).tolist()]


# --- patch embedding (beit3d.py:load_checkpoint, the inflate/center block) -------------------

def inflate_patch_embed(emb, n_chans, n_slices, bootstrap_method):
    emb = emb.sum(1, keepdim=True)  # from colored to grayed
    emb = emb.repeat(1, n_chans, 1, 1) / n_chans  # from 1-channel grayed to n-channel grayed
    emb = emb.unsqueeze(2).repeat(1, 1, n_slices, 1, 1)  # from 2D to 3D
    if bootstrap_method == "inflation":
        emb = emb / n_slices
    elif bootstrap_method == "centering":
        center_idx = n_slices // 2
        all_idxs = list(range(n_slices))
        all_idxs.pop(center_idx)
        emb[:, :, all_idxs, :, :] = 0
    else:
        raise ValueError(bootstrap_method)
    return emb


def patch_cases():
    cases = []
    for E, cin, P, C, D in [(3, 3, 4, 2, 5), (2, 3, 3, 1, 4), (1, 1, 2, 3, 1)]:
        w = randn(E, cin, P, P)
        gray = w.sum(1, keepdim=True).repeat(1, C, 1, 1) / C
        case = {"shape": [E, cin, P, P], "channels": C, "depth": D, "w": flat(w), "gray": flat(gray)}
        for method in ("centering", "inflation"):
            case[method] = flat(inflate_patch_embed(w.clone(), C, D, method))
        cases.append(case)
    return cases


def linear_patch_case():
    """vit-pytorch: Linear over (p1 p2 c)-flattened patches == Conv2d(stride P) with this kernel."""
    E, P, C = 3, 4, 2
    lin = randn(E, P * P * C)
    conv = lin.view(E, P, P, C).permute(0, 3, 1, 2).contiguous()
    x = randn(1, C, 2 * P, 3 * P).double()
    patches = x.view(1, C, 2, P, 3, P).permute(0, 2, 4, 3, 5, 1).reshape(1, 6, P * P * C)  # b (h w) (p1 p2 c)
    by_conv = F.conv2d(x, conv.double(), stride=P).flatten(2).transpose(1, 2)
    assert torch.allclose(patches @ lin.double().T, by_conv, rtol=0, atol=1e-12)
    return {"E": E, "patch": P, "channels": C, "linear": flat(lin), "conv": flat(conv)}


# --- absolute position embedding (timm resample_abs_pos_embed, antialias=False) --------------

def resize_pos(pos, prefix, src, dst, mode):
    E = pos.shape[-1]
    grid = pos[:, prefix:].reshape(1, src[0], src[1], E).permute(0, 3, 1, 2)
    if mode == "bicubic":
        grid = F.interpolate(grid, size=dst, mode="bicubic", align_corners=False, antialias=False)
    else:
        grid = F.interpolate(grid, size=dst, mode="nearest")
    grid = grid.permute(0, 2, 3, 1).reshape(1, dst[0] * dst[1], E)
    return torch.cat((pos[:, :prefix], grid), dim=1)


def position_cases():
    cases = []
    E = 2
    sizes = [((14, 14), (15, 15), 1), ((14, 14), (32, 32), 2), ((4, 4), (4, 4), 1),
             ((4, 4), (3, 3), 2), ((2, 2), (5, 5), 1), ((3, 5), (7, 2), 2), ((10, 6), (6, 4), 1)]
    for src, dst, prefix in sizes:
        pos = randn(1, prefix + src[0] * src[1], E)
        case = {"from": list(src), "to": list(dst), "prefix": prefix, "E": E, "pos": flat(pos)}
        case["nearest"] = flat(resize_pos(pos, prefix, src, dst, "nearest"))
        # torch's float64 path evaluates the bicubic formula exactly (then rounded to f32 here);
        # its float32 path also rounds the source positions and weights to f32 on the way.
        case["bicubic"] = flat(resize_pos(pos.double(), prefix, src, dst, "bicubic").float())
        case["bicubic_torch_f32"] = flat(resize_pos(pos, prefix, src, dst, "bicubic"))
        cases.append(case)
    return cases


# --- BEiT relative position index (timm beit.py gen_relative_position_index) -----------------

def gen_relative_position_index(window_size):
    num_relative_distance = (2 * window_size[0] - 1) * (2 * window_size[1] - 1) + 3
    window_area = window_size[0] * window_size[1]
    coords = torch.stack(torch.meshgrid([torch.arange(window_size[0]), torch.arange(window_size[1])], indexing="ij"))
    coords_flatten = torch.flatten(coords, 1)
    relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
    relative_coords = relative_coords.permute(1, 2, 0).contiguous()
    relative_coords[:, :, 0] += window_size[0] - 1
    relative_coords[:, :, 1] += window_size[1] - 1
    relative_coords[:, :, 0] *= 2 * window_size[1] - 1
    relative_position_index = torch.zeros(size=(window_area + 1,) * 2, dtype=relative_coords.dtype)
    relative_position_index[1:, 1:] = relative_coords.sum(-1)
    relative_position_index[0, 0:] = num_relative_distance - 3
    relative_position_index[0:, 0] = num_relative_distance - 2
    relative_position_index[0, 0] = num_relative_distance - 1
    return relative_position_index


def index_cases():
    small = gen_relative_position_index((3, 4)).reshape(-1)
    big = gen_relative_position_index((14, 14)).reshape(-1)
    positions = torch.randint(0, big.numel(), (24,), generator=G).tolist() + [0, 1, 197, 198, big.numel() - 1]
    weights = torch.arange(1, big.numel() + 1, dtype=torch.int64)
    return {
        "3x4": small.tolist(),
        "14x14": {
            "length": big.numel(),
            "sum": int(big.sum()),
            "weighted_sum": int((big * weights).sum()),  # sum of index[i] * (i + 1)
            "samples": [[p, int(big[p])] for p in positions],
        },
    }


# --- relative position bias resize (beit3d.py:load_checkpoint, literally) --------------------

def geometric_q(src_size, dst_size):
    def geometric_progression(a, r, n):
        return a * (1.0 - r**n) / (1.0 - r)

    left, right = 1.01, 1.5
    while right - left > 1e-6:
        q = (left + right) / 2.0
        gp = geometric_progression(1, q, src_size // 2)
        if gp > dst_size // 2:
            right = q
        else:
            left = q
    return q


def axis_grid(src_size, dst_size):
    """Source offsets and integer targets along one axis, as the original builds x and dx."""
    q = geometric_q(src_size, dst_size)
    dis = []
    cur = 1
    for i in range(src_size // 2):
        dis.append(cur)
        cur += q ** (i + 1)
    r_ids = [-_ for _ in reversed(dis)]
    t = dst_size // 2.0
    return r_ids + [0] + dis, np.arange(-t, t + 0.1, 1.0)


def resize_square(rel_pos_bias, dst_size):
    """The original loop for a square grid (num_extra_tokens = 3, depth patch = window depth)."""
    num_extra_tokens = 3
    src_num_pos, num_attn_heads = rel_pos_bias.size()
    src_size = round((src_num_pos - num_extra_tokens) ** 0.5)
    extra_tokens = rel_pos_bias[-num_extra_tokens:, :]
    rel_pos_bias = rel_pos_bias[:-num_extra_tokens, :]
    x, dx = axis_grid(src_size, dst_size)
    y, dy = x, dx
    all_rel_pos_bias = []
    for i in range(num_attn_heads):
        z = rel_pos_bias[:, i].view(src_size, src_size).float().numpy()
        f = interpolate.interp2d(x, y, z, kind="cubic")
        all_rel_pos_bias.append(torch.Tensor(f(dx, dy)).contiguous().view(-1, 1))
    rel_pos_bias = torch.cat(all_rel_pos_bias, dim=-1)
    return torch.cat((rel_pos_bias, extra_tokens), dim=0)


def resize_per_axis(table, src_hw, dst_hw, use_interp2d):
    """The same on each axis separately (our extension to non-square grids): an axis whose size
    changes gets its own geometric grid, one that keeps its size keeps its integer offsets."""
    sh, sw = 2 * src_hw[0] - 1, 2 * src_hw[1] - 1
    dh, dw = 2 * dst_hw[0] - 1, 2 * dst_hw[1] - 1

    def grid(src, dst):
        if src == dst:
            ids = np.arange(src) - src // 2
            return ids.astype(np.float64), ids.astype(np.float64)
        return axis_grid(src, dst)

    y, dy = grid(sh, dh)
    x, dx = grid(sw, dw)
    heads = []
    for i in range(table.shape[1]):
        z = table[:-3, i].reshape(sh, sw).float().numpy()
        if use_interp2d:
            v = interpolate.interp2d(x, y, z, kind="cubic")(dx, dy)
        else:  # interp2d's documented equivalent: the transposed z
            v = interpolate.RectBivariateSpline(x, y, z.T, kx=3, ky=3, s=0)(dx, dy).T
        heads.append(torch.Tensor(v).reshape(-1, 1))
    return torch.cat((torch.cat(heads, dim=-1), table[-3:]), dim=0)


def rel_pos_cases():
    cases = []
    worst = 0.0
    for src, dst, heads in [((4, 4), (6, 6), 2), ((6, 6), (4, 4), 2), ((4, 4), (5, 5), 2), ((14, 14), (16, 16), 2),
                            ((4, 4), (5, 7), 2), ((4, 4), (4, 6), 1), ((3, 5), (4, 4), 1),
                            ((14, 14), (32, 32), 1)]:
        rows = (2 * src[0] - 1) * (2 * src[1] - 1) + 3
        table = randn(rows, heads)
        out = resize_per_axis(table, src, dst, use_interp2d=True)
        out_rbs = resize_per_axis(table, src, dst, use_interp2d=False)
        worst = max(worst, float((out - out_rbs).abs().max()))
        if src[0] == src[1] and dst[0] == dst[1]:
            literal = resize_square(table, 2 * dst[0] - 1)
            assert torch.equal(literal, out), (src, dst)
        cases.append({"from": list(src), "to": list(dst), "heads": heads, "table": flat(table), "out": flat(out)})
    print(f"interp2d vs RectBivariateSpline: max |diff| {worst:.3e}")
    assert worst < 1e-6
    return cases, worst


def main():
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # interp2d
    rel_pos, agreement = rel_pos_cases()
    fixture = {
        "torch_version": torch.__version__,
        "scipy_version": scipy.__version__,
        "patch_embed": patch_cases(),
        "linear_patch": linear_patch_case(),
        "position_embedding": position_cases(),
        "relative_position_index": index_cases(),
        "geometric_q": [[src, dst, geometric_q(src, dst)] for src, dst in [(27, 63), (27, 39), (27, 29), (27, 31), (7, 11), (11, 7)]],
        "relative_position_bias": rel_pos,
        "interp2d_vs_rect_bivariate_spline": agreement,
    }
    out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "inflation.json")
    with open(out, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {os.path.normpath(out)} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
