#!/usr/bin/python3
"""Peer benchmark: the note's Hopfield-Kuramoto right-hand side in vectorised numpy/scipy.sparse,
and a SciPy solve_ivp RK45 solve of it (docs/performance.md "Batched core").

    build/test/bench/hkam_bench_batch --export=/tmp/hk_note
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=2 \\
        /usr/bin/python3 bench/numpy_hk.py /tmp/hk_note

Per-edge terms are gathered with fancy indexing (s_e = sum_d sig_i,d sig_j,d), scattered to the
nodes by a CSR matrix whose data is replaced every call (the structure is built once). The
right-hand side is checked against hkam's (rhs2.npy) before anything is timed.
"""
import argparse
import sys
import time

import numpy as np
import scipy.sparse
from scipy.integrate import solve_ivp

from hk_problem import load, peer_at_its_best


def scatter_matrix(n, edges):
    """A CSR matrix with both directions of every edge, and the edge id of each stored entry."""
    i, j = edges[:, 0], edges[:, 1]
    rows = np.concatenate([i, j])
    cols = np.concatenate([j, i])
    ids = np.concatenate([np.arange(len(i)), np.arange(len(i))])
    m = scipy.sparse.csr_matrix((ids.astype(np.float64) + 1.0, (rows, cols)), shape=(n, n))
    m.sort_indices()
    order = (m.data - 1.0).astype(np.int64)  # edge id of each CSR entry
    return m, order


def make_rhs(p):
    n, d = p["N"], p["D"]
    w, b, omega = p["w"], p["b"], p["omega"]
    # Contiguous intp index arrays: fancy indexing with a strided int32 column is 40x slower.
    ki, kj, hi, hj = (np.ascontiguousarray(e[:, c], dtype=np.intp)
                      for e in (p["k_edges"], p["hk_edges"]) for c in (0, 1))
    a, bb, alpha = p["k_a"], p["k_b"], p["alpha"]
    kh, kk = p["kappa_h"], p["kappa_k"]
    kmat, korder = scatter_matrix(n, p["k_edges"])
    hmat, horder = scatter_matrix(n, p["hk_edges"])
    hw = hmat.copy()
    hw.data[:] = alpha

    def rhs(t, z):
        x = z[:n]
        sig = z[n:].reshape(n, d)
        g = np.maximum(x, 0.0)
        s_k = np.einsum("ed,ed->e", sig[ki], sig[kj])
        kmat.data = (a + bb * np.maximum(s_k, 0.0))[korder]
        y = kmat @ sig
        s_h = np.einsum("ed,ed->e", sig[hi], sig[hj])
        hmat.data = (alpha * s_h)[horder]
        h = hmat @ g
        y -= (g[:, None] * (hw @ (g[:, None] * sig))) / kk
        fx = w @ g - x + b + h / kh
        dot = np.einsum("nd,nd->n", sig, y)
        fs = -(y - dot[:, None] * sig) + sig @ omega.T
        return np.concatenate([fx, fs.reshape(-1)])

    return rhs


def median_time(f, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("problem", help="folder written by hkam_bench_batch --export=DIR")
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    peer_at_its_best()
    p = load(args.problem)
    rhs = make_rhs(p)
    z0 = p["z100"][0].copy()
    err = max(np.max(np.abs(rhs(0.0, p["z100"][r]) - p["rhs2"][r])) for r in range(2))
    scale = np.max(np.abs(p["rhs2"]))
    print(f"check: max |f_numpy - f_hkam| = {err:.2e} (max |f| = {scale:.2e})")
    if not err <= 1e-10 * max(scale, 1.0):
        sys.exit("numpy_hk: the right-hand side does not match hkam's")
    rhs(0.0, z0)
    t_rhs = median_time(lambda: rhs(0.0, z0), args.repeats)
    print(f"numpy rhs B=1: {t_rhs * 1e3:.3f} ms (median of {args.repeats})")
    sol = None

    def solve():
        nonlocal sol
        sol = solve_ivp(rhs, (0.0, 1.0), z0, method="RK45", rtol=1e-3, atol=1e-6)

    t_solve = median_time(solve, max(3, args.repeats // 10))
    print(f"scipy solve_ivp RK45 t in [0, 1], rtol 1e-3, atol 1e-6: {t_solve * 1e3:.1f} ms, "
          f"{sol.nfev} evaluations, {len(sol.t) - 1} steps")


if __name__ == "__main__":
    main()
