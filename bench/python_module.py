#!/usr/bin/python3
"""The `hkam` Python package: call overhead, and hkam from Python against numpy/SciPy on the
research note's problem (docs/performance.md, "Python").

    build/test/bench/hkam_bench_batch --export=/tmp/hk_note
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=2 PYTHONPATH=build/test/python \\
        /usr/bin/python3 bench/python_module.py /tmp/hk_note [--rounds 3] [--hkam build/test/hkam]

Per round, interleaved (the VMs' speed drifts between minutes):
- call overhead: model.rhs(z) from Python on a small model (N = 64 units and oscillators, S^2)
  against the same evaluation called from C++ in a loop (Model._time_rhs);
- the note's problem (N = 2000, D = 4, Watts-Strogatz graphs, relu): one right-hand side from
  Python and in numpy (bench/numpy_hk.py), checked equal first; a dopri5 solve on [0, 1] at
  rtol 1e-3, atol 1e-6 from Python against SciPy's solve_ivp RK45 on the numpy right-hand side;
- the default experiment (experiments/demo.toml): hkam.load_config(...).simulate() against the
  integration time `hkam run` reports for the same run (its summary's wall_seconds), and the
  whole `hkam run` process (which also writes the trace).
Medians of --repeats calls per round; the ratios are printed per round.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
from scipy.integrate import solve_ivp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hk_problem import load, peer_at_its_best  # noqa: E402
from numpy_hk import make_rhs, median_time  # noqa: E402

import hkam  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def per_call(f, calls, repeats=7):
    """Median over `repeats` of the mean time of `calls` back-to-back calls."""
    return median_time(lambda: [f() for _ in range(calls)], repeats) / calls


def small_model():
    rng = np.random.default_rng(1)
    n, d = 64, 3
    xi = rng.choice([-1.0, 1.0], size=(4, n))
    w = xi.T @ xi / n
    np.fill_diagonal(w, 0)
    m = hkam.HopfieldKuramoto(W=w, b=np.zeros(n), lagrangian="tanh", beta=4, oscillators=n,
                              dim=d, graph=hkam.Graph.ring(n, 10), A=-0.1, coupling="additive",
                              coupling_graph=hkam.Graph.complete(n), alpha=0.002)
    return m, hkam.random_state(m, seed=2)


def note_model(p):
    n, d = p["N"], p["D"]
    return hkam.HopfieldKuramoto(
        W=p["w"], b=p["b"], lagrangian="relu", oscillators=n, dim=d,
        graph=hkam.Graph.from_edges(n, p["k_edges"].astype(np.int64)), potential="relu",
        A=p["k_a"], B=p["k_b"], omega=p["omega"], coupling="additive",
        coupling_graph=hkam.Graph.from_edges(n, p["hk_edges"].astype(np.int64)),
        alpha=p["alpha"], kappa_h=p["kappa_h"], kappa_k=p["kappa_k"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("problem", help="folder written by hkam_bench_batch --export=DIR")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--hkam", default=os.path.join(ROOT, "build", "test", "hkam"))
    args = ap.parse_args()
    peer_at_its_best()

    small, zs = small_model()
    p = load(args.problem)
    note = note_model(p)
    rhs_np = make_rhs(p)
    z0 = p["z100"][0].copy()
    err = max(np.max(np.abs(note.rhs(p["z100"][r]) - p["rhs2"][r])) for r in range(2))
    err_np = max(np.max(np.abs(rhs_np(0.0, p["z100"][r]) - p["rhs2"][r])) for r in range(2))
    scale = np.max(np.abs(p["rhs2"]))
    print(f"check: max |f_python - f_hkam| = {err:.2e}, max |f_numpy - f_hkam| = {err_np:.2e} "
          f"(max |f| = {scale:.2e})")
    if not (err <= 1e-12 * scale and err_np <= 1e-10 * scale):
        sys.exit("python_module: the right-hand sides do not match")
    demo = os.path.join(ROOT, "experiments", "demo.toml")
    exp = hkam.load_config(demo)
    out = "/tmp/hkam_bench_python_demo.h5"

    for r in range(args.rounds):
        # call overhead on the small model
        t_py = per_call(lambda: small.rhs(zs), 20000)
        t_cpp = small._m._time_rhs(zs, 20000)
        print(f"round {r + 1}: N = 64 rhs round trip from Python {t_py * 1e6:.2f} us, from C++ "
              f"{t_cpp * 1e6:.2f} us: overhead {(t_py - t_cpp) * 1e6:.2f} us per call")
        # the note's problem: one right-hand side, and a solve
        t_hk = median_time(lambda: note.rhs(z0), args.repeats)
        t_np = median_time(lambda: rhs_np(0.0, z0), args.repeats)
        sol = None

        def solve_hkam():
            nonlocal sol
            sol = hkam.simulate(note, z0, t_end=1.0, rtol=1e-3, atol=1e-6, audit_rtol=1e-4,
                                record_every=10**9)

        ivp = None

        def solve_scipy():
            nonlocal ivp
            ivp = solve_ivp(rhs_np, (0.0, 1.0), z0, method="RK45", rtol=1e-3, atol=1e-6)

        t_sh = median_time(solve_hkam, max(3, args.repeats // 10))
        t_ss = median_time(solve_scipy, max(3, args.repeats // 10))
        print(f"round {r + 1}: note N = 2000 rhs: hkam from Python {t_hk * 1e3:.3f} ms, numpy "
              f"{t_np * 1e3:.3f} ms ({t_np / t_hk:.1f}x); solve [0, 1]: hkam dopri5 "
              f"{t_sh * 1e3:.1f} ms ({sol.steps} steps, {sol.evaluations} evaluations), scipy "
              f"RK45 {t_ss * 1e3:.1f} ms ({len(ivp.t) - 1} steps, {ivp.nfev} evaluations) "
              f"({t_ss / t_sh:.1f}x)")
        # the default experiment
        t0 = time.perf_counter()
        s = exp.simulate()
        t_sim = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = subprocess.run([args.hkam, "run", demo, "-o", out, "--force", "--quiet"],
                             env={**os.environ, "OMP_NUM_THREADS": "2"})
        t_cli = time.perf_counter() - t0
        if run.returncode != 0:
            sys.exit("python_module: hkam run failed")
        rep = hkam.load_trace(out).summary_attrs
        t_int = float(rep["wall_seconds"])
        print(f"round {r + 1}: demo: simulate from Python {t_sim:.3f} s ({s.steps} steps; its own "
              f"integration {s.wall_seconds:.3f} s), hkam run's integration {t_int:.3f} s "
              f"(Python / C++ {t_sim / t_int:.3f}), whole hkam run process {t_cli:.3f} s")


if __name__ == "__main__":
    main()
