#!/usr/bin/python3
"""Peer benchmark: loss + gradient of a Dormand-Prince solve of the note's Hopfield-Kuramoto
model with PyTorch autograd (discretise-then-optimise, as hkam's solve_backward), batch B,
float32, 2 threads (docs/performance.md "Batched core").

    build/test/bench/hkam_bench_batch --export=/tmp/hk_note
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch_hk.py /tmp/hk_note

The solver is hkam's: Dormand-Prince 5(4), one step size for the batch (largest RMS error norm
over the trajectories), SciPy's controller and first step, oscillators renormalised after every
accepted step; rejected attempts are computed without building a graph. Loss L = 1/2 |z(1)|^2;
gradients w.r.t. the oscillator side (A, B, Omega, alpha), as the note trains. The right-hand
side is checked in float64 against hkam's (rhs2.npy) before anything is timed.
"""
import argparse
import sys
import time

import numpy as np

from hk_problem import load, peer_at_its_best

import torch  # noqa: E402

A_TAB = [[], [1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9],
         [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
         [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656]]
B_TAB = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]
E_TAB = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40]


class Model:
    def __init__(self, p, dtype):
        t = lambda a: torch.tensor(a, dtype=dtype)  # noqa: E731
        self.n, self.d = p["N"], p["D"]
        self.w, self.b = t(p["w"]), t(p["b"])
        idx = lambda a: torch.tensor(np.ascontiguousarray(a), dtype=torch.long)  # noqa: E731
        self.ki, self.kj = idx(p["k_edges"][:, 0]), idx(p["k_edges"][:, 1])
        self.hi, self.hj = idx(p["hk_edges"][:, 0]), idx(p["hk_edges"][:, 1])
        self.a = t(p["k_a"]).requires_grad_()
        self.bb = t(p["k_b"]).requires_grad_()
        self.omega = t(p["omega"]).requires_grad_()
        self.alpha = t(p["alpha"]).requires_grad_()
        self.kh, self.kk = p["kappa_h"], p["kappa_k"]

    def params(self):
        return [self.a, self.bb, self.omega, self.alpha]

    def rhs(self, z):
        bsz, n, d = z.shape[0], self.n, self.d
        x, sig = z[:, :n], z[:, n:].reshape(bsz, n, d)
        g = torch.relu(x)
        si, sj = sig[:, self.ki], sig[:, self.kj]
        fp = self.a + self.bb * torch.relu((si * sj).sum(-1))
        y = torch.zeros_like(sig).index_add(1, self.ki, fp[..., None] * sj) \
            .index_add(1, self.kj, fp[..., None] * si)
        hi, hj = sig[:, self.hi], sig[:, self.hj]
        sh = self.alpha * (hi * hj).sum(-1)
        h = torch.zeros_like(x).index_add(1, self.hi, sh * g[:, self.hj]) \
            .index_add(1, self.hj, sh * g[:, self.hi])
        gs = g[..., None] * sig
        u = torch.zeros_like(sig).index_add(1, self.hi, self.alpha * gs[:, self.hj]) \
            .index_add(1, self.hj, self.alpha * gs[:, self.hi])
        y = y - g[..., None] * u / self.kk
        fx = g @ self.w - x + self.b + h / self.kh
        dot = (sig * y).sum(-1, keepdim=True)
        fs = -(y - dot * sig) + sig @ self.omega.T
        return torch.cat([fx, fs.reshape(bsz, n * d)], 1)

    def normalize(self, z):
        n, d = self.n, self.d
        sig = z[:, n:].reshape(z.shape[0], n, d)
        return torch.cat([z[:, :n], (sig / sig.norm(dim=-1, keepdim=True)).reshape(z.shape[0], -1)], 1)


def err_norm(err, y0, y1, atol, rtol):
    scale = atol + rtol * torch.maximum(y0.abs(), y1.abs())
    return ((err / scale) ** 2).mean(1).sqrt().max().item()


def solve(model, z, atol=1e-6, rtol=1e-3, t_end=1.0):
    """Returns z(t_end), accepted steps, evaluations."""
    evals = 1
    k0 = model.rhs(z)
    with torch.no_grad():  # SciPy's first step
        zero = torch.zeros_like(z)
        d0, d1 = err_norm(z, z, zero, atol, rtol), err_norm(k0, z, zero, atol, rtol)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        d2 = err_norm(model.rhs(z + h0 * k0) - k0, z, zero, atol, rtol) / h0
        evals += 1
        h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else (0.01 / max(d1, d2)) ** 0.2
        h = min(100 * h0, h1)
    t, steps, rejected_last = 0.0, 0, False
    while t_end - t > 1e-14:
        h = min(h, t_end - t)
        ks = [k0]
        for s in range(1, 6):
            ks.append(model.rhs(z + h * sum(a * k for a, k in zip(A_TAB[s], ks))))
        znew = z + h * sum(b * k for b, k in zip(B_TAB, ks) if b != 0)
        with torch.no_grad():
            k7 = model.rhs(znew)
            err = h * sum(e * k for e, k in zip(E_TAB, ks + [k7]) if e != 0)
            en = err_norm(err, z, znew, atol, rtol)
        evals += 6
        if not en <= 1.0:
            h *= max(0.2, 0.9 * en ** -0.2) if np.isfinite(en) else 0.2
            rejected_last = True
            continue
        factor = 10.0 if en == 0 else min(10.0, 0.9 * en ** -0.2)
        if rejected_last:
            factor = min(1.0, factor)
        rejected_last = False
        z = model.normalize(znew)
        t += h
        h *= factor
        steps += 1
        k0 = model.rhs(z)
        evals += 1
    return z, steps, evals


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("problem", help="folder written by hkam_bench_batch --export=DIR")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    peer_at_its_best()
    torch.set_num_threads(args.threads)
    p = load(args.problem)
    check = Model(p, torch.float64)
    with torch.no_grad():
        err = (check.rhs(torch.tensor(p["z100"][:2])) - torch.tensor(p["rhs2"])).abs().max().item()
    print(f"check: max |f_torch - f_hkam| = {err:.2e} (float64)")
    if not err <= 1e-10 * max(float(np.abs(p["rhs2"]).max()), 1.0):
        sys.exit("torch_hk: the right-hand side does not match hkam's")
    model = Model(p, torch.float32)
    print(f"torch {torch.__version__}, float32, {torch.get_num_threads()} threads")
    for bsz in args.batch:
        z0 = torch.tensor(p["z100"][:bsz], dtype=torch.float32)
        fwd, both = [], []
        for _ in range(args.repeats + 1):  # the first is a warm-up
            t0 = time.perf_counter()
            with torch.no_grad():
                _, steps, evals = solve(model, z0)
            fwd.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for q in model.params():
                q.grad = None
            z, steps, evals = solve(model, z0)
            (0.5 * (z ** 2).sum()).backward()
            both.append(time.perf_counter() - t0)
        f, g = np.median(fwd[1:]) * 1e3, np.median(both[1:]) * 1e3
        print(f"B={bsz}: forward solve {f:.1f} ms, forward + backward {g:.1f} ms "
              f"({steps} steps, {evals} evaluations; median of {args.repeats})")


if __name__ == "__main__":
    main()
