"""An independent numpy re-implementation of the reference AKOrN modules
(github.com/autonomousvision/akorn, source/layers and source/models), written from their PyTorch
semantics in the channel-first [B, C, H, W] layout, to check hkam's network runs.

Nothing here shares code or layout with hkam's C++ (which works channels-last with heads
regrouped): the weights are read by their state_dict names and applied as torch would.
"""

import numpy as np


def conv2d(x, w, b=None, stride=1, padding=0):
    """torch.nn.functional.conv2d: cross-correlation, zero padding. x [B,I,H,W], w [O,I,k,k]."""
    B, I, H, W = x.shape
    O, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (H + 2 * padding - k) // stride + 1
    ow = (W + 2 * padding - k) // stride + 1
    out = np.zeros((B, O, oh, ow), dtype=np.float64)
    for ky in range(k):
        for kx in range(k):
            patch = xp[:, :, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
            out += np.einsum("oi,bihw->bohw", w[:, :, ky, kx], patch)
    if b is not None:
        out += b[None, :, None, None]
    return out


def group_norm(x, groups, weight, bias, eps=1e-5):
    B, C, H, W = x.shape
    g = x.reshape(B, groups, -1)
    mean = g.mean(-1, keepdims=True)
    var = g.var(-1, keepdims=True)  # biased
    y = ((g - mean) / np.sqrt(var + eps)).reshape(B, C, H, W)
    return y * weight[None, :, None, None] + bias[None, :, None, None]


def normalize(x, n):
    B, C = x.shape[:2]
    g = x.reshape(B, C // n, n, *x.shape[2:])
    norm = np.sqrt((g * g).sum(2, keepdims=True))
    return (g / np.maximum(norm, 1e-12)).reshape(x.shape)


def omega_term(x, omg_param, global_omg):
    B, C = x.shape[:2]
    p = x.reshape(B, C // 2, 2, *x.shape[2:])
    if global_omg:
        om = np.full(C // 2, np.linalg.norm(omg_param))
    else:
        om = np.linalg.norm(omg_param, axis=1)
    om = om[None, :, None, None]
    return np.stack([om * p[:, :, 1], -om * p[:, :, 0]], axis=2).reshape(x.shape)


def rep_mul_x(rep, x):
    """gta.rep_mul_x: rep [T, F, 2, 2], x [B, nh, T, 2F]: each pair multiplied by its matrix."""
    B, nh, T, d = x.shape
    xp = x.reshape(B, nh, T, d // 2, 2)
    return np.einsum("tfij,bhtfj->bhtfi", rep, xp).reshape(x.shape)


def bilinear(a, oh, ow):
    """F.interpolate(a, (oh, ow), mode="bilinear") (align_corners=False): a [..., h, w]."""
    h, w = a.shape[-2:]

    def taps(n, o):
        src = np.maximum(n / o * (np.arange(o) + 0.5) - 0.5, 0.0)
        i0 = src.astype(np.int64)
        return i0, np.where(i0 < n - 1, i0 + 1, i0), 1 - (src - i0), src - i0

    y0, y1, a0, a1 = taps(h, oh)
    x0, x1, b0, b1 = taps(w, ow)
    r0, r1 = a[..., y0, :], a[..., y1, :]
    return (a0[:, None] * (b0 * r0[..., x0] + b1 * r0[..., x1]) +
            a1[:, None] * (b0 * r1[..., x0] + b1 * r1[..., x1]))


def rescale_gta_mat(mat, hw, H, Wd):
    """Attention.rescale_gta_mat: [h*w, f, 2, 2] made for the hw grid, resized to H x Wd."""
    if (H, Wd) == tuple(hw):
        return mat
    f = mat.shape[1]
    m = mat.reshape(hw[0], hw[1], f * 4).transpose(2, 0, 1)  # (h w) f c d -> (f c d) h w
    return bilinear(m, H, Wd).transpose(1, 2, 0).reshape(H * Wd, f, 2, 2)


def attention(x, W, prefix, heads, gta, hw=None):
    B, C, H, Wd = x.shape
    hw = hw or (H, Wd)
    qkv = conv2d(x, W[prefix + "W_qkv.weight"], W[prefix + "W_qkv.bias"])
    q, k, v = qkv[:, :C], qkv[:, C:2 * C], qkv[:, 2 * C:]

    def split(t):  # "b (c nh) h w -> b nh (h w) c"
        d = C // heads
        return t.reshape(B, d, heads, H * Wd).transpose(0, 2, 3, 1)

    q, k, v = split(q), split(k), split(v)
    if gta:
        q = rep_mul_x(rescale_gta_mat(W[prefix + "mat_q"], hw, H, Wd), q)
        k = rep_mul_x(rescale_gta_mat(W[prefix + "mat_k"], hw, H, Wd), k)
        v = rep_mul_x(rescale_gta_mat(W[prefix + "mat_v"], hw, H, Wd), v)
    d = C // heads
    s = np.einsum("bhtc,bhsc->bhts", q, k) / np.sqrt(d)
    s = s - s.max(-1, keepdims=True)
    a = np.exp(s)
    a = a / a.sum(-1, keepdims=True)
    o = np.einsum("bhts,bhsc->bhtc", a, v)
    if gta:
        o = rep_mul_x(rescale_gta_mat(W[prefix + "mat_o"], hw, H, Wd), o)
    o = o.transpose(0, 3, 1, 2).reshape(B, C, H, Wd)  # "b nh (h w) c -> b (c nh) h w"
    return conv2d(o, W[prefix + "W_o.weight"], W[prefix + "W_o.bias"])


def klayer(x, c, W, prefix, cfg, T, gamma):
    """KLayer.forward: returns (xs, es) like the reference, plus the true energies E(x_0..x_T)."""
    n = cfg["n"]
    C = x.shape[1]
    if cfg["c_norm"] == "gn":
        c = group_norm(c, C // n, W[prefix + "c_norm.weight"], W[prefix + "c_norm.bias"])
    elif cfg["c_norm"] == "sandb":
        c = c * W[prefix + "c_norm.scale"][None, :, None, None] + \
            W[prefix + "c_norm.bias"][None, :, None, None]

    def J(x):
        if cfg["J"] == "conv":
            k = cfg["kernel"]
            return conv2d(x, W[prefix + "connectivity.weight"], W[prefix + "connectivity.bias"],
                          1, k // 2)
        return attention(x, W, prefix + "connectivity.", cfg["heads"], cfg["gta"], cfg.get("hw"))

    bias = W[prefix + ("connectivity.bias" if cfg["J"] == "conv" else "connectivity.W_o.bias")]

    def true_energy(x, y):  # y = J(x) + c; E = -1/2 x.(Jx - b) - x.(b + c)
        drive = bias[None, :, None, None] + c
        return (-0.5 * (x * (y - c - bias[None, :, None, None])).sum((1, 2, 3))
                - (x * drive).sum((1, 2, 3)))

    x = normalize(x, n)
    xs, es, energies = [x], [np.zeros(x.shape[0])], []
    for _ in range(T):
        y = J(x) + c
        om = omega_term(x, W[prefix + "omg.omg_param"], cfg["global_omg"]) if cfg["use_omega"] \
            else x
        B = x.shape[0]
        yg = y.reshape(B, C // n, n, *x.shape[2:])
        xg = x.reshape(B, C // n, n, *x.shape[2:])
        sim = xg * yg
        if cfg["project"]:
            proj = yg - sim.sum(2, keepdims=True) * xg
        else:
            proj = yg
        dxdt = om + proj.reshape(x.shape)
        energies.append(true_energy(x, y))
        es.append(-sim.reshape(B, -1).sum(-1))
        x = normalize(x + gamma * dxdt, n)
        xs.append(x)
    energies.append(true_energy(x, J(x) + c))
    return xs, np.array(es), np.array(energies)


def readout(x, W, prefix, out, N):
    z = conv2d(x, W[prefix + "invconv.weight"], W[prefix + "invconv.bias"])
    B, _, H, Wd = z.shape
    z = z.reshape(B, out, N, H, Wd)
    return np.sqrt((z * z).sum(2)) + W[prefix + "bias"][None, :, None, None]


def object_net(images, noise, W, cfg):
    """objs/knet.py::AKOrN.feature + out head. images [B,3,S,S] in [0,1], noise [B,C,h,w].
    cfg["imsize"] (default S): the K-layers' GTA matrices are for the imsize // psize grid;
    cfg["autorescale"]: images of another side are first resized bilinearly to imsize."""
    ps = cfg["psize"]
    imsize = cfg.get("imsize", images.shape[-1])
    if cfg.get("autorescale") and images.shape[-1] != imsize:
        images = bilinear(images, imsize, imsize)
    cfg = dict(cfg, hw=(imsize // ps, imsize // ps))
    x_in = (images - 0.5) / 0.5
    c = conv2d(x_in, W["patchfy.1.weight"], W["patchfy.1.bias"], stride=ps)
    x = noise.copy()
    if "pemb_c" in W:  # learned positional encodings (models without GTA)
        c = c + W["pemb_c"][None]
        x = x + W["pemb_x"][None]
    gamma = W["gamma"][0]
    layers = []
    Js = cfg["J"] if isinstance(cfg["J"], list) else [cfg["J"]] * cfg["L"]
    for l in range(cfg["L"]):
        xs, es, en = klayer(x, c, W, f"layers.{l}.0.", dict(cfg, J=Js[l]), cfg["T"][l], gamma)
        x = xs[-1]
        # no_ro: nn.Identity() instead of the ReadOutConv; use_ro_x: Conv1x1 on x between blocks
        c = x if cfg.get("no_ro") else readout(x, W, f"layers.{l}.1.", x.shape[1], cfg["n"])
        if cfg.get("use_ro_x") and l < cfg["L"] - 1:
            x = conv2d(x, W[f"layers.{l}.2.weight"], W[f"layers.{l}.2.bias"])
        layers.append((xs, es, en))
    pooled = c.max((2, 3)) if cfg.get("maxpool", True) else c.mean((2, 3))
    h = np.maximum(pooled @ W["out.3.weight"].T + W["out.3.bias"], 0)
    head = h @ W["out.5.weight"].T + W["out.5.bias"]
    return c, x, layers, head


def sudoku_net(boards, noise, W, cfg, T):
    """sudoku/knet.py::SudokuAKOrN.forward. boards [B,9,9] digits (0 blank), noise [B,C,9,9]."""
    emb = W["embedding.weight"]  # [10, C]
    c = emb[boards].transpose(0, 3, 1, 2)
    is_input = (boards > 0)[:, None, :, :].astype(np.float64)
    x = is_input * c + (1 - is_input) * noise
    gamma = W["gamma"][0]
    layers = []
    for l in range(cfg["L"]):
        p = f"layers.{l}."
        xs, es, en = klayer(x, c, W, p + "0.", cfg, T, gamma)
        layers.append((xs, es, en))
        x = xs[-1]
        c = readout(x, W, p + "1.0.", x.shape[1], cfg["n"])
        if not cfg.get("nl", True):  # nl=False: nn.Identity() for the ResBlock and BNReLUConv2d
            continue
        h = conv2d(np.maximum(c, 0), W[p + "1.1.fn.fn.0.fn.2.weight"], W[p + "1.1.fn.fn.0.fn.2.bias"])
        h = conv2d(np.maximum(h, 0), W[p + "1.1.fn.fn.1.fn.2.weight"], W[p + "1.1.fn.fn.1.fn.2.bias"])
        c = c + h
        c = conv2d(np.maximum(c, 0), W[p + "1.2.fn.2.weight"], W[p + "1.2.fn.2.bias"])
    logits = conv2d(np.maximum(c, 0), W["out.1.weight"], W["out.1.bias"]).transpose(0, 2, 3, 1)
    return logits, layers


def block_norm(x, W, prefix, kind):
    """common_layers.BNReLUConv2d's norm: BatchNorm2d in eval mode, GroupNorm(8, C), or none."""
    if kind == "bn":
        scale = W[prefix + "weight"] / np.sqrt(W[prefix + "running_var"] + 1e-5)
        return (x - W[prefix + "running_mean"][None, :, None, None]) * scale[None, :, None, None] \
            + W[prefix + "bias"][None, :, None, None]
    if kind == "gn":
        return group_norm(x, 8, W[prefix + "weight"], W[prefix + "bias"])
    return x


def cifar_net(images, noise, W, cfg):
    """classification/knet.py::AKOrN.feature + out (one noise draw per row of noise)."""
    relu = lambda t: np.maximum(t, 0)  # noqa: E731
    c = conv2d((images - 0.5) / 0.5, W["conv0.weight"], None, 1, 1)
    x = noise.copy()
    gamma = W["gamma"][0]
    pad = cfg["ro_kernel"] // 2
    layers = []
    for l in range(cfg["L"]):
        p = f"layers.{l}."
        if l > 0:
            stride = 2 if l < 3 else 1
            x = conv2d(x, W[p + "0.0.weight"], W[p + "0.0.bias"], stride, pad)
            c = conv2d(c, W[p + "0.1.weight"], W[p + "0.1.bias"], stride, pad)
        # per-block J (attention: the KLayer defaults, 8 heads, no GTA), n and ro_N
        Js, ns, ros = (cfg.get(k, d) for k, d in (("Js", ["conv"] * cfg["L"]),
                                                  ("ns", [cfg["n"]] * cfg["L"]),
                                                  ("ro_groups", [cfg["ro_group"]] * cfg["L"])))
        kcfg = dict(cfg, J=Js[l], n=ns[l], kernel=cfg["kernels"][l], heads=8, gta=False)
        xs, es, en = klayer(x, c, W, p + "2.", kcfg, cfg["T"], gamma)
        layers.append((xs, es, en))
        x = xs[-1]
        q = p + "3."
        z = conv2d(x, W[q + "0.invconv.weight"], W[q + "0.invconv.bias"], 1, pad)
        B, _, H, Wd = z.shape
        C = z.shape[1] // ros[l]
        c = np.sqrt((z.reshape(B, C, ros[l], H, Wd) ** 2).sum(2)) + \
            W[q + "0.bias"][None, :, None, None]
        h = conv2d(relu(block_norm(c, W, q + "1.fn.fn.0.fn.0.", cfg["norm"])),
                   W[q + "1.fn.fn.0.fn.2.weight"], W[q + "1.fn.fn.0.fn.2.bias"], 1, pad)
        h = conv2d(relu(block_norm(h, W, q + "1.fn.fn.1.fn.0.", cfg["norm"])),
                   W[q + "1.fn.fn.1.fn.2.weight"], W[q + "1.fn.fn.1.fn.2.bias"], 1, pad)
        c = c + h
        c = conv2d(relu(block_norm(c, W, q + "2.fn.0.", cfg["norm"])),
                   W[q + "2.fn.2.weight"], W[q + "2.fn.2.bias"], 1, pad)
    pooled = c.mean((2, 3))
    return pooled @ W["out.weight"].T + W["out.bias"], layers
