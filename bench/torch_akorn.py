#!/usr/bin/python3
"""Times the AKOrN reference computations in PyTorch at the shapes of bench/bench_akorn.cpp.

usage: /usr/bin/python3 bench/torch_akorn.py [--threads 2] [--repeats 5] [--json FILE]

Needs Debian's python3-torch (optional for hkam; install it with libopenblas0-pthread, without
which torch falls back to the reference BLAS). The reference repository is not packaged, so its
modules (source/layers/klayer.py KLayer, OmegaLayer; common_layers.py Attention with GTA,
ReadOutConv, FF; models/objs/knet.py AKOrN; models/sudoku/knet.py SudokuAKOrN) are written out
below with the same torch operations in the same order (nn.Conv2d, GroupNorm, einops'
"b (c nh) h w -> b nh (h w) c" as reshape/permute, the GTA 2x2 products, softmax attention —
torch 1.13 has no F.scaled_dot_product_attention, so it is spelled out as in its math kernel).
Every timing is the median of --repeats runs under torch.no_grad() after one warm-up run.
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def reshape(x, n):
    return x.unflatten(1, (-1, n))


def reshape_back(x):
    return x.flatten(1, 2)


def normalize(x, n):
    return reshape_back(F.normalize(reshape(x, n), dim=2))


class OmegaLayer(nn.Module):
    def __init__(self, n, ch, init_omg=0.1, global_omg=False):
        super().__init__()
        self.global_omg = global_omg
        shape = (2,) if global_omg else (ch // 2, 2)
        self.omg_param = nn.Parameter(init_omg / math.sqrt(2) * torch.ones(shape))

    def forward(self, x):
        _x = reshape(x, 2)
        if self.global_omg:
            omg = torch.linalg.norm(self.omg_param).repeat(_x.shape[1])
        else:
            omg = torch.linalg.norm(self.omg_param, dim=1)
        omg = omg[None]
        for _ in range(_x.ndim - 3):
            omg = omg.unsqueeze(-1)
        return reshape_back(torch.stack([omg * _x[:, :, 1], -omg * _x[:, :, 0]], dim=2))


def so2_mats(h, w, head_dim):
    F_ = head_dim // 4 + (1 if head_dim % 4 else 0)
    freqs = torch.exp(torch.arange(0.0, 2 * F_, 2) * -(math.log(10000.0) / (2 * F_)))
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    coord = torch.stack([ys.flatten(), xs.flatten()], -1).float()
    mats = []
    for d in range(2):
        th = coord[:, d:d + 1] * freqs
        m = torch.stack([th.cos(), -th.sin(), th.sin(), th.cos()], -1).reshape(h * w, F_, 2, 2)
        mats.append(m)
    mat = torch.stack(mats, 2).flatten(1, 2)  # [hw, 2F, 2, 2], pair = f*2 + d
    return mat[:, : head_dim // 2]


def rep_mul_x(rep, x):
    shape = x.shape
    return (rep[None, None] * (x.unflatten(-1, (-1, 2))[..., None, :])).sum(-1).view(shape)


class Attention(nn.Module):
    def __init__(self, ch, heads, gta, hw):
        super().__init__()
        self.heads, self.head_dim = heads, ch // heads
        self.W_qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.W_o = nn.Conv2d(ch, ch, 1)
        self.gta = gta
        if gta:
            m = so2_mats(hw[0], hw[1], self.head_dim)
            self.mat_q = nn.Parameter(m.clone())
            self.mat_k = nn.Parameter(m.clone())
            self.mat_v = nn.Parameter(m.clone())
            self.mat_o = nn.Parameter(m.transpose(-2, -1).clone())

    def forward(self, x):
        B, C, h, w = x.shape
        q, k, v = self.W_qkv(x).chunk(3, dim=1)
        # einops "b (c nh) h w -> b nh (h w) c"
        q, k, v = (t.reshape(B, C // self.heads, self.heads, h * w).permute(0, 2, 3, 1)
                   for t in (q, k, v))
        if self.gta:
            q, k, v = rep_mul_x(self.mat_q, q), rep_mul_x(self.mat_k, k), rep_mul_x(self.mat_v, v)
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)
        o = a @ v
        if self.gta:
            o = rep_mul_x(self.mat_o, o)
        o = o.permute(0, 3, 1, 2).reshape(B, C, h, w)  # "b nh (h w) c -> b (c nh) h w"
        return self.W_o(o)


class KLayer(nn.Module):
    def __init__(self, n, ch, J, ksize=1, heads=8, gta=True, hw=None, c_norm="gn",
                 use_omega=False, init_omg=1.0, global_omg=False):
        super().__init__()
        self.n = n
        self.omg = OmegaLayer(n, ch, init_omg, global_omg) if use_omega else nn.Identity()
        self.connectivity = nn.Conv2d(ch, ch, ksize, 1, ksize // 2) if J == "conv" else \
            Attention(ch, heads, gta, hw)
        self.c_norm = nn.GroupNorm(ch // n, ch, affine=True) if c_norm == "gn" else nn.Identity()

    def kupdate(self, x, c):
        y = self.connectivity(x) + c
        omg_x = self.omg(x)
        y, x = reshape(y, self.n), reshape(x, self.n)
        sim = x * y
        y_yxx = y - torch.sum(sim, 2, keepdim=True) * x
        return omg_x + reshape_back(y_yxx), reshape_back(sim)

    def forward(self, x, c, T, gamma):
        xs, es = [], []
        c = self.c_norm(c)
        x = normalize(x, self.n)
        es.append(torch.zeros(x.shape[0]))
        for _ in range(T):
            dxdt, sim = self.kupdate(x, c)
            x = normalize(x + gamma * dxdt, self.n)
            xs.append(x)
            es.append((-sim).reshape(x.shape[0], -1).sum(-1))
        return xs, es


class ReadOutConv(nn.Module):
    def __init__(self, inch, outch, out_dim, kernel_size=1, padding=0):
        super().__init__()
        self.outch = outch
        self.invconv = nn.Conv2d(inch, outch * out_dim, kernel_size, 1, padding)
        self.bias = nn.Parameter(torch.zeros(outch))

    def forward(self, x):
        x = self.invconv(x).unflatten(1, (self.outch, -1))
        return torch.linalg.norm(x, dim=2) + self.bias[None, :, None, None]


class ObjectAKOrN(nn.Module):
    def __init__(self, J, ch=256, n=4, T=8, psize=4, imsize=128, ksize=3):
        super().__init__()
        self.T = T
        self.patchfy = nn.Conv2d(3, ch, psize, psize)
        hw = [imsize // psize] * 2
        self.k = KLayer(n, ch, J, ksize=ksize, hw=hw)
        self.ro = ReadOutConv(ch, ch, n)
        self.out = nn.Sequential(nn.AdaptiveMaxPool2d((1, 1)), nn.Flatten(),
                                 nn.Linear(ch, 4 * ch), nn.ReLU(), nn.Linear(4 * ch, ch))

    def forward(self, img, x):
        c = self.patchfy((img - 0.5) / 0.5)
        xs, es = self.k(x, c, self.T, 1.0)
        c = self.ro(xs[-1])
        return self.out(c), c


class SudokuAKOrN(nn.Module):
    def __init__(self, ch=512, n=4, T=16):
        super().__init__()
        self.T = T
        self.embedding = nn.Embedding(10, ch)
        self.k = KLayer(n, ch, "attn", heads=8, gta=True, hw=[9, 9], c_norm=None,
                        use_omega=True, init_omg=0.1, global_omg=True)
        self.ro = ReadOutConv(ch, ch, n)
        self.ff1, self.ff2, self.post = (nn.Conv2d(ch, ch, 1) for _ in range(3))
        self.outc = nn.Conv2d(ch, 9, 1)

    def forward(self, boards, noise):
        c = self.embedding(boards).permute(0, 3, 1, 2)
        is_input = (boards > 0).float()[:, None]
        x = is_input * c + (1 - is_input) * noise
        xs, es = self.k(x, c, self.T, 1.0)
        c = self.ro(xs[-1])
        c = c + self.ff2(F.relu(self.ff1(F.relu(c))))
        c = self.post(F.relu(c))
        return self.outc(F.relu(c)).permute(0, 2, 3, 1), es


class CifarAKOrN(nn.Module):
    """classification/knet.py::AKOrN as released (C = 64/128/256, n = 2, conv J 9/7/5, T = 3)."""

    def __init__(self, ch=64, n=2, T=3, ksizes=(9, 7, 5)):
        super().__init__()
        self.T = T
        chs = [ch, 2 * ch, 4 * ch]
        self.conv0 = nn.Conv2d(3, ch, 3, 1, 1, bias=False)
        self.trans = nn.ModuleList([nn.Identity()] + [nn.Conv2d(chs[l - 1], chs[l], 3, 2, 1)
                                                      for l in (1, 2)])
        self.k = nn.ModuleList([KLayer(n, chs[l], "conv", ksize=ksizes[l], use_omega=True,
                                       init_omg=1.0, global_omg=True) for l in range(3)])
        self.ro = nn.ModuleList()
        for l in range(3):
            c = chs[l]
            self.ro.append(nn.ModuleList([
                ReadOutConv(c, c, 2, 3, 1),
                nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1),
                              nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1)),
                nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1))]))
        self.out = nn.Linear(chs[-1], 10)

    def forward(self, img, x):
        c = self.conv0((img - 0.5) / 0.5)
        for l in range(3):
            x, c = self.trans[l](x), self.trans[l](c)
            xs, es = self.k[l](x, c, self.T, 1.0)
            x = xs[-1]
            ro, ff, post = self.ro[l]
            c = ro(x)
            c = c + ff(c)
            c = post(c)
        return self.out(c.mean((2, 3)))


def median_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"BLAS: {torch.__config__.show().count('BLAS_INFO=open') and 'openblas' or 'see torch.__config__'}")
    results = {}
    with torch.no_grad():
        for J, label in (("conv", "conv k=3"), ("attn", "attn 8 heads GTA")):
            k = KLayer(4, 256, J, ksize=3, hw=[32, 32]).eval()
            for B in (1, 8):
                x, c = torch.randn(B, 256, 32, 32), torch.randn(B, 256, 32, 32)
                ms = median_ms(lambda: k(x, c, 8, 1.0), a.repeats)
                results[f"BM_ObjectKLayer/{0 if J == 'conv' else 1}/{B}"] = ms
                print(f"K-layer {label:18s} B={B}: {ms:9.1f} ms (T = 8)")
            net = ObjectAKOrN(J).eval()
            for B in (1, 8):
                img, x = torch.rand(B, 3, 128, 128), torch.randn(B, 256, 32, 32)
                ms = median_ms(lambda: net(img, x), a.repeats)
                results[f"BM_ObjectNetForward/{0 if J == 'conv' else 1}/{B}"] = ms
                print(f"object net {label:15s} B={B}: {ms:9.1f} ms")
        net = CifarAKOrN().eval()
        for B in (1, 8):
            img, x = torch.rand(B, 3, 32, 32), torch.randn(B, 64, 32, 32)
            ms = median_ms(lambda: net(img, x), a.repeats)
            results[f"BM_CifarForward/{B}"] = ms
            print(f"CIFAR net                  B={B}: {ms:9.1f} ms")
        for T in (16, 128):
            net = SudokuAKOrN(T=T).eval()
            for B in (1, 8):
                boards = torch.randint(0, 10, (B, 9, 9))
                noise = torch.randn(B, 512, 9, 9)
                ms = median_ms(lambda: net(boards, noise), max(3, a.repeats // (2 if T > 16 else 1)))
                results[f"BM_SudokuForward/{T}/{B}"] = ms
                print(f"Sudoku T={T:<4d}             B={B}: {ms:9.1f} ms")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
