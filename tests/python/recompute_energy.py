#!/usr/bin/env python3
"""Recomputes the energy of every recorded state of an hkam trace from /model alone (numpy,
independently of the C++ code) and compares it with /trace/energy and its parts. Works for every
model kind: hopfield, kuramoto, akorn_kuramoto, hopfield_kuramoto.

usage: recompute_energy.py TRACE [--xarray]
  exit 0 when all agree to 1e-9 relative, 1 otherwise. With --xarray, also opens the trace with
  xarray + h5netcdf and checks the named dimensions.
"""
import sys

import h5py
import numpy as np


def lagrangian(name, beta, x):
    y = beta * x
    if name == "tanh":
        return np.sum(np.logaddexp(y, -y) - np.log(2.0)) / beta, np.tanh(y)
    if name == "sigmoid":
        return np.sum(np.logaddexp(0.0, y)) / beta, 1.0 / (1.0 + np.exp(-y))
    if name == "relu":
        r = np.maximum(y, 0.0)
        return 0.5 * np.sum(r * r) / beta, r
    if name == "lse":
        m = y.max()
        g = np.exp(y - m)
        return (m + np.log(g.sum())) / beta, g / g.sum()
    raise ValueError(name)


def pair(name, a, b, s):
    if name == "linear":
        return a * s
    if name == "relu":
        return a * s + 0.5 * b * np.maximum(s, 0.0) ** 2
    if name == "tanh":
        return a * s + b * (np.logaddexp(s, -s) - np.log(2.0))
    if name == "sigmoid":
        return a * s + b * np.logaddexp(0.0, s)
    raise ValueError(name)


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def attrs(group):
    return {k: text(v) for k, v in group.attrs.items()}


def hopfield_energy(h, x):
    at = attrs(h)
    W, bias = h["W"][()], h["b"][()]
    L, g = lagrangian(at["lagrangian"], at["beta"], x)
    return (x - bias) @ g - L - 0.5 * g @ W @ g, g


def kuramoto_energy(k, sig):
    at = attrs(k)
    A, B = k["A"][()], k["B"][()]
    gram = sig @ sig.T
    if at["graph"] == "complete":
        i, j = np.triu_indices(len(sig), 1)
    else:
        ed = k["edges"][()]
        i, j = ed[:, 0], ed[:, 1]
    a = A if A.size > 1 else A[0]
    b = (B if B.size > 1 else B[0]) if B.size else 0.0
    e = np.sum(pair(at["potential"], a, b, gram[i, j]))
    if "stimulus" in k:
        e -= np.sum(k["stimulus"][()] * sig)
    return e


def coupling_energy(c, W, g, sig):
    at = attrs(c)
    pairing = c["pairing"][()] if c["pairing"].size else np.arange(len(g))
    sp = sig[pairing] @ sig[pairing].T
    n = len(g)
    if at["graph"] == "complete":
        w = np.full((n, n), at["alpha"]) if at["kind"] == "additive" else at["alpha"] * W
        w = w.copy()
        np.fill_diagonal(w, 0.0)
        return -0.5 * np.sum(w * sp * np.outer(g, g))
    ed = c["edges"][()]
    i, j = ed[:, 0], ed[:, 1]
    if at["kind"] == "general":
        w = c["weights"][()]
    elif at["kind"] == "additive":
        w = at["alpha"]
    else:
        w = at["alpha"] * W[i, j]
    return -np.sum(w * sp[i, j] * g[i] * g[j])


def conv_layer(a):
    """The AKOrN conv layer of /model/akorn_conv as numpy functions on [C, H, W] arrays."""
    W, b, c = a["weight"][()], a["bias"][()], a["stimulus"][()]
    C, H, Wd, k = (int(a.attrs[n]) for n in ("channels", "height", "width", "kernel"))
    n = int(a.attrs["dim"])
    r = k // 2
    omega = a["omega"][()] if "omega" in a else None

    def conv(x):  # PyTorch Conv2d: cross-correlation with zero padding k // 2, no bias
        xp = np.pad(x, ((0, 0), (r, r), (r, r)))
        out = np.zeros_like(x)
        for ky in range(k):
            for kx in range(k):
                out += np.einsum("oi,ihw->ohw", W[:, :, ky, kx], xp[:, ky:ky + H, kx:kx + Wd])
        return out

    def to_chw(sig):  # state rows: oscillator p*G + g, n components = channels g*n.. at p
        return sig.reshape(H * Wd, C).T.reshape(C, H, Wd)

    def energy(x):
        return -0.5 * np.sum(x * conv(x)) - np.sum((b[:, None, None] + c) * x)

    def rhs(x):
        y = conv(x) + b[:, None, None] + c
        g = x.reshape(C // n, n, H, Wd)
        yg = y.reshape(C // n, n, H, Wd)
        f = yg - np.sum(g * yg, axis=1, keepdims=True) * g if int(a.attrs["project"]) else yg
        f = f.reshape(C, H, Wd)
        if int(a.attrs["omega_identity"]):
            f = f + x
        if omega is not None:
            w = np.broadcast_to(omega, (C // 2,)) if omega.size == 1 else omega
            pairs = f.reshape(C // 2, 2, H, Wd).copy()
            xp = x.reshape(C // 2, 2, H, Wd)
            pairs[:, 0] += w[:, None, None] * xp[:, 1]
            pairs[:, 1] -= w[:, None, None] * xp[:, 0]
            f = pairs.reshape(C, H, Wd)
        return f

    def normalize(x):
        g = x.reshape(C // n, n, H, Wd)
        return (g / np.linalg.norm(g, axis=1, keepdims=True)).reshape(C, H, Wd)

    return to_chw, energy, rhs, normalize


def main(path, check_xarray):
    with h5py.File(path, "r") as f:
        m = f["model"]
        kind = text(m.attrs["kind"])
        energies = f["trace/energy"][()]
        xs = f["trace/x"][()] if "x" in f["trace"] else None
        sigmas = f["trace/sigma"][()] if "sigma" in f["trace"] else None
        parts = {k: f["trace/energy_parts"][k][()] for k in f["trace/energy_parts"]}
        worst = 0.0
        for t in range(len(energies)):
            if kind == "hopfield":
                e, _ = hopfield_energy(m["hopfield"], xs[t])
            elif kind == "kuramoto":
                e = kuramoto_energy(m["kuramoto"], sigmas[t])
            elif kind == "akorn_kuramoto":
                a = m["akorn"]
                s = sigmas[t].reshape(-1)
                e = -0.5 * s @ a["J"][()] @ s
                if "c" in a:
                    e -= np.sum(a["c"][()].reshape(-1) * s)
            elif kind == "akorn_conv":
                to_chw, conv_energy, _, _ = conv_layer(m["akorn_conv"])
                e = conv_energy(to_chw(sigmas[t]))
            elif kind == "hopfield_kuramoto":
                c = m["coupling"]
                e_h, g = hopfield_energy(m["hopfield"], xs[t])
                e_k = kuramoto_energy(m["kuramoto"], sigmas[t])
                e_hk = coupling_energy(c, m["hopfield/W"][()], g, sigmas[t])
                e = c.attrs["kappa_h"] * e_h + c.attrs["kappa_k"] * e_k + e_hk
                worst = max(worst, abs(parts["coupling"][t] - e_hk) / max(1.0, abs(e_hk)))
            else:
                raise ValueError(kind)
            worst = max(worst, abs(e - energies[t]) / max(1.0, abs(energies[t])))
            part_sum = sum(p[t] for p in parts.values())
            worst = max(worst, abs(part_sum - energies[t]) / max(1.0, abs(energies[t])))
        print(f"{path}: {kind}, {len(energies)} recorded states, "
              f"worst relative energy mismatch {worst:.3g}")
        ok = worst < 1e-9 and len(energies) > 1
        # The discrete AKOrN update itself, x <- normalize(x + gamma f(x)), where consecutive
        # records are one step apart.
        stepper = text(f["summary"].attrs.get("stepper", "")) if "summary" in f else ""
        if kind == "akorn_conv" and stepper == "akorn":
            import tomllib
            gamma = tomllib.loads(text(f.attrs["config_resolved"]))["integrator"]["gamma"]
            to_chw, _, rhs, normalize = conv_layer(m["akorn_conv"])
            times = f["trace/time"][()]
            checked, step_worst = 0, 0.0
            for t in range(len(times) - 1):
                if abs(times[t + 1] - times[t] - gamma) > 1e-9:
                    continue
                x = to_chw(sigmas[t])
                want = normalize(x + gamma * rhs(x))
                step_worst = max(step_worst, float(np.max(np.abs(want - to_chw(sigmas[t + 1])))))
                checked += 1
            print(f"{path}: {checked} discrete AKOrN steps recomputed with numpy, worst "
                  f"difference {step_worst:.3g}")
            ok = ok and checked > 0 and step_worst < 1e-12
    if check_xarray:
        import xarray as xr
        ds = xr.open_dataset(path, engine="h5netcdf", group="trace", phony_dims="access")
        dims = set(ds["energy"].dims)
        want = {"x": ("time", "unit"), "sigma": ("time", "oscillator", "component")}
        for name, d in want.items():
            if name in ds and tuple(ds[name].dims) != d:
                print(f"xarray: /trace/{name} has dims {ds[name].dims}, expected {d}")
                ok = False
        if dims != {"time"}:
            print(f"xarray: /trace/energy has dims {dims}, expected ('time',)")
            ok = False
        for c in ("unit", "oscillator", "component"):
            if c in ds.coords and ds[c].dtype.kind != "i":
                print(f"xarray: coordinate {c} is {ds[c].dtype}, expected integers")
                ok = False
        # The documented recipe (docs/trace-format.md): observables merged onto the states.
        obs = xr.open_dataset(path, engine="h5netcdf", group="trace/observables",
                              phony_dims="access")
        both = xr.merge([ds, obs])
        if "overlap" in both:
            if tuple(both["overlap"].dims) != ("time", "pattern"):
                print(f"xarray: overlap has dims {both['overlap'].dims}, expected (time, pattern)")
                ok = False
            if both["pattern"].dtype.kind != "i" or both.sizes["time"] != ds.sizes["time"]:
                print(f"xarray: pattern {both['pattern'].dtype}, time {both.sizes['time']}")
                ok = False
        print(f"xarray: /trace with its observables opens with dims {dict(both.sizes)}, "
              f"variables {sorted(both.data_vars)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--xarray" in sys.argv[2:]))
