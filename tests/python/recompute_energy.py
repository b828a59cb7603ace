#!/usr/bin/env python3
"""Recomputes the Hopfield-Kuramoto energy of every recorded state of an hkam trace from /model
alone (numpy, independently of the C++ code) and compares it with /trace/energy and its parts.

usage: recompute_energy.py TRACE      exit 0 when all agree to 1e-9 relative, 1 otherwise
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


def main(path):
    with h5py.File(path, "r") as f:
        m = f["model"]
        at = {k: text(v) for k, v in m.attrs.items()}
        W, bias = m["W"][()], m["b"][()]
        A, B = m["A"][()], m["B"][()]
        pairing = m["pairing"][()]
        kappa_h, kappa_k = at["kappa_h"], at["kappa_k"]
        xs, sigmas = f["trace/x"][()], f["trace/sigma"][()]
        energies = f["trace/energy"][()]
        parts = {k: f["trace/energy_parts"][k][()] for k in f["trace/energy_parts"]}
        n = W.shape[0]
        worst = 0.0
        for k in range(len(energies)):
            x, sig = xs[k], sigmas[k]
            L, g = lagrangian(at["lagrangian"], at["beta"], x)
            e_h = (x - bias) @ g - L - 0.5 * g @ W @ g
            gram = sig @ sig.T
            if at["kuramoto_graph"] == "complete":
                iu = np.triu_indices(len(sig), 1)
                e_k = np.sum(pair(at["pair_potential"], A[0], B[0], gram[iu]))
            else:
                ed = m["kuramoto_edges"][()]
                s = gram[ed[:, 0], ed[:, 1]]
                a = A if A.size > 1 else A[0]
                bb = B if B.size > 1 else B[0]
                e_k = np.sum(pair(at["pair_potential"], a, bb, s))
            sp = gram[np.ix_(pairing, pairing)]
            if at["hk_graph"] == "complete":
                if at["coupling"] == "additive":
                    w = np.full((n, n), at["alpha"])
                else:
                    w = at["alpha"] * W
                np.fill_diagonal(w, 0.0)
                e_hk = -0.5 * np.sum(w * sp * np.outer(g, g))
            else:
                ed = m["hk_edges"][()]
                i, j = ed[:, 0], ed[:, 1]
                if at["coupling"] == "general":
                    w = m["hk_weights"][()]
                elif at["coupling"] == "additive":
                    w = at["alpha"]
                else:
                    w = at["alpha"] * W[i, j]
                e_hk = -np.sum(w * sp[i, j] * g[i] * g[j])
            total = kappa_h * e_h + kappa_k * e_k + e_hk
            worst = max(worst, abs(total - energies[k]) / max(1.0, abs(energies[k])))
            part_sum = sum(p[k] for p in parts.values())
            worst = max(worst, abs(part_sum - energies[k]) / max(1.0, abs(energies[k])))
            worst = max(worst, abs(parts["coupling"][k] - e_hk) / max(1.0, abs(e_hk)))
        print(f"{path}: {len(energies)} recorded states, worst relative energy mismatch {worst:.3g}")
        return 0 if worst < 1e-9 and len(energies) > 1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
