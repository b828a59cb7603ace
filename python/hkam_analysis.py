#!/usr/bin/env python3
"""Post-analysis of hkam traces with Debian's python3, numpy, h5py and matplotlib (no PyPI).

As a module:
    import hkam_analysis as ha
    tr = ha.load("out/demo/trace.h5")          # arrays + config + summary of one trace
    runs = ha.load_folder("out/")              # every *.h5 trace in a folder
    ha.summary(tr)                              # dict of key results
    ha.plot(tr, "figures/")                     # the standard figures as PNG, returns their paths

From the shell (what `hkam plot` runs):
    python3 hkam_analysis.py plot TRACE [-o DIR]
    python3 hkam_analysis.py summary TRACE...
"""
import argparse
import os
import sys

import h5py
import numpy as np


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


class Trace:
    """Everything of one trace as numpy arrays (states are loaded lazily by `states`)."""

    def __init__(self, path):
        self.path = path
        with h5py.File(path, "r") as f:
            self.attrs = {k: _text(v) for k, v in f.attrs.items()}
            self.kind = _text(f["model"].attrs["kind"]) if "model" in f else "?"
            tr = f["trace"]
            self.time = tr["time"][()]
            self.energy = tr["energy"][()]
            self.parts = {k: tr["energy_parts"][k][()] for k in tr["energy_parts"]}
            self.observables = {k: tr["observables"][k][()] for k in tr["observables"]}
            self.has_x = "x" in tr
            self.has_sigma = "sigma" in tr
            self.audit = f["audit/energy"][()] if "audit/energy" in f else np.zeros((0, 2))
            self.audit_attrs = ({k: _text(v) for k, v in f["audit/energy"].attrs.items()}
                                if "audit/energy" in f else {})
            self.summary_attrs = ({k: _text(v) for k, v in f["summary"].attrs.items()}
                                  if "summary" in f else {})
        self.config = self.attrs.get("config_resolved", "")

    def states(self, name, index=-1):
        """x or sigma at record `index` (default: the last)."""
        with h5py.File(self.path, "r") as f:
            return f["trace"][name][index]

    def violations(self):
        """(t, increase) of every audited step whose energy rose beyond the stored tolerance."""
        if len(self.audit) < 2:
            return np.zeros((0, 2))
        t, e = self.audit[:, 0], self.audit[:, 1]
        tol = float(self.audit_attrs.get("tolerance", 1e-6))
        inc = np.diff(e)
        bad = inc > tol * np.maximum(np.abs(e[:-1]), 1.0)
        return np.column_stack([t[1:][bad], inc[bad]])


def load(path):
    return Trace(path)


def load_folder(folder):
    return [Trace(os.path.join(folder, n)) for n in sorted(os.listdir(folder)) if n.endswith(".h5")]


def summary(tr):
    """Key results of one trace as a flat dict."""
    s = {
        "path": tr.path,
        "kind": tr.kind,
        "records": len(tr.time),
        "t_last": float(tr.time[-1]) if len(tr.time) else float("nan"),
        "energy_first": float(tr.energy[0]) if len(tr.energy) else float("nan"),
        "energy_last": float(tr.energy[-1]) if len(tr.energy) else float("nan"),
        "end_reason": tr.summary_attrs.get("end_reason", "unfinished"),
        "violations": len(tr.violations()),
        "guaranteed": bool(tr.audit_attrs.get("guaranteed", 0)),
    }
    if "order_parameter" in tr.observables and len(tr.time):
        s["order_parameter_last"] = float(tr.observables["order_parameter"][-1])
    if "overlap" in tr.observables and len(tr.time):
        last = tr.observables["overlap"][-1]
        s["overlap_max_last"] = float(last.max())
        s["overlap_argmax_last"] = int(last.argmax())
    if "norm_drift" in tr.observables and len(tr.time):
        s["norm_drift_max"] = float(tr.observables["norm_drift"].max())
    return s


def plot(tr, outdir):
    """Writes the standard figures of a trace as PNG into outdir; returns their paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(outdir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(tr.path))[0]
    paths = []

    def save(fig, name):
        p = os.path.join(outdir, f"{stem}_{name}.png")
        fig.tight_layout()
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)

    title = tr.attrs.get("title") or tr.kind
    # Energy: E - E_final on a log scale (per audited step when available), parts below.
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    t, e = (tr.audit[:, 0], tr.audit[:, 1]) if len(tr.audit) > 1 else (tr.time, tr.energy)
    gap = e - e.min()
    pos = gap > 0
    a1.semilogy(t[pos], gap[pos], lw=1.2, label="E − E_min (every step)" if len(tr.audit) > 1
                else "E − E_min")
    bad = tr.violations()
    if len(bad):
        idx = np.searchsorted(t, bad[:, 0])
        idx = np.clip(idx, 0, len(t) - 1)
        a1.plot(bad[:, 0], np.maximum(gap[idx], gap[pos].min() if pos.any() else 1e-16), "rx",
                ms=4, label=f"{len(bad)} audit violations")
    a1.set_ylabel("E − E_min")
    a1.set_title(title)
    a1.legend(loc="best", fontsize=8)
    for name, v in tr.parts.items():
        a2.plot(tr.time, v, lw=1.0, label=name)
    a2.plot(tr.time, tr.energy, "k--", lw=1.0, label="total")
    a2.set_xlabel("t")
    a2.set_ylabel("energy parts")
    a2.legend(loc="best", fontsize=7)
    save(fig, "energy")

    def time_series(name, ylabel, curves, log=False, ylim=None):
        """One figure of observables against t; curves: [(values, label or None)]."""
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for y, label in curves:
            keep = y > 0 if log else np.ones(len(y), bool)
            (ax.semilogy if log else ax.plot)(tr.time[keep], y[keep], label=label)
        ax.set_xlabel("t")
        ax.set_ylabel(ylabel)
        if ylim:
            ax.set_ylim(*ylim)
        if any(label for _, label in curves):
            ax.legend(loc="best", fontsize=8)
        save(fig, name)

    obs = tr.observables
    if "order_parameter" in obs:
        time_series("order_parameter", "r = |mean σ_i|", [(obs["order_parameter"], None)],
                    ylim=(0, 1.02))
    if "overlap" in obs:
        m = obs["overlap"]
        top = np.argsort(-np.abs(m[-1]))[:5]
        time_series("overlaps", "overlap m_μ", [(m[:, mu], f"pattern {mu}") for mu in top])
    if "norm_drift" in obs:
        time_series("norm_drift", "max |‖σ_i‖ − 1| before renormalising",
                    [(obs["norm_drift"], None)], log=True)
    if tr.has_sigma:
        s = tr.states("sigma")
        dim = s.shape[1]
        if dim == 2:
            fig, ax = plt.subplots(figsize=(4.5, 4.5))
            circle = np.linspace(0, 2 * np.pi, 200)
            ax.plot(np.cos(circle), np.sin(circle), color="0.8")
            ax.plot(s[:, 0], s[:, 1], ".", ms=3)
            ax.set_aspect("equal")
            ax.set_title(f"final phases (t = {tr.time[-1]:.4g})")
            save(fig, "oscillators")
        elif dim >= 3:
            fig = plt.figure(figsize=(5, 5))
            ax = fig.add_subplot(projection="3d")
            ax.scatter(s[:, 0], s[:, 1], s[:, 2], s=4)
            ax.set_title(f"final σ_i (first 3 components, t = {tr.time[-1]:.4g})")
            save(fig, "oscillators")
    return paths


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plot", help="standard figures of a trace as PNG")
    p.add_argument("trace")
    p.add_argument("-o", "--out", default=None, help="folder (default: next to the trace)")
    s = sub.add_parser("summary", help="key results of traces")
    s.add_argument("traces", nargs="+")
    a = ap.parse_args(argv)
    for path in [a.trace] if a.cmd == "plot" else a.traces:
        try:
            with h5py.File(path, "r") as f:
                if "trace/time" not in f:
                    raise OSError("no /trace/time")
        except OSError as exc:
            print(f"hkam_analysis: {path}: not a readable hkam trace ({exc})", file=sys.stderr)
            return 2
    if a.cmd == "plot":
        out = a.out or os.path.splitext(a.trace)[0] + "_figures"
        for path in plot(load(a.trace), out):
            print(path)
    else:
        for path in a.traces:
            print(summary(load(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
