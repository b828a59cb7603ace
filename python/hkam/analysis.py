"""Post-analysis of hkam traces with Debian's python3, numpy, h5py and matplotlib (no PyPI).

Part of the `hkam` package (hkam.load_trace, hkam.load_sweep, hkam.load_training are these);
it needs neither the compiled core nor a build. As a module:
    from hkam import analysis as ha
    tr = ha.load("out/demo/trace.h5")          # arrays + config + summary of one trace
    ds = ha.to_xarray("out/demo/trace.h5")     # the same as an xarray Dataset (time, unit, ...)
    runs = ha.load_folder("out/")              # every *.h5 trace in a folder
    ha.summary(tr)                              # dict of key results
    ha.plot(tr, "figures/")                     # the standard figures as PNG, returns their paths
    t = ha.load_training("out/train.h5")        # a training file of `hkam train` (hkam.training)

    sw = ha.load_sweep("out/hopfield_capacity")  # a sweep's manifest.csv + each run's config
    rows = ha.aggregate(sw, x="patterns.count/hopfield.units", y="cue_overlap")
    ha.plot_sweep(sw, "patterns.count/hopfield.units", "cue_overlap", theory="capacity")

From the shell (what `hkam plot` and `hkam analyze` run, with the folder holding the package
on PYTHONPATH):
    python3 -m hkam plot TRACE [-o DIR]
    python3 -m hkam summary TRACE...
    python3 -m hkam analyze SWEEP_DIR [--x EXPR] [--y EXPR] [--by KEY] [--theory T]
                                      [--success THRESHOLD] [-o DIR]
"""
import argparse
import os
import sys

import h5py
import numpy as np

from . import training as hkam_training
from ._util import text as _text
from .sweeps import (CAPACITY_ALPHA_C, Sweep, aggregate, load_sweep, lorentzian_order_parameter,
                     plot_sweep, sweep_table, wilson_interval)

# The sweep readers live in hkam.sweeps and are part of this module's interface too.
__all__ = ["Trace", "load", "to_xarray", "load_folder", "summary", "plot", "energy_figure",
           "conv_states", "pca_rgb", "cluster_map", "is_network", "network_energies",
           "network_summary", "plot_network", "CAPACITY_ALPHA_C", "Sweep", "aggregate",
           "load_sweep", "lorentzian_order_parameter", "plot_sweep", "sweep_table",
           "wilson_interval"]


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


load_training = hkam_training.load


def to_xarray(path, lazy=False):
    """The trace's /trace group as one xarray Dataset (python3-xarray, python3-h5netcdf):
    energy(time), x(time, unit), sigma(time, oscillator, component), the observables
    (overlap(time, pattern), order_parameter(time), ...), each energy part as
    "energy_part.<name>"(time), and the file's attributes (title, config, ...) as attrs.
    Loaded into memory and the file closed, unless lazy=True (then close the Dataset)."""
    import xarray as xr
    groups = ["trace", "trace/observables", "trace/energy_parts"]
    with h5py.File(path, "r") as f:
        attrs = {k: _text(v) for k, v in f.attrs.items()}
        groups = [g for g in groups if g in f and len(f[g])]
    opened = [xr.open_dataset(path, engine="h5netcdf", group=g, phony_dims="access")
              for g in groups]
    parts = [d for g, d in zip(groups, opened) if g.endswith("energy_parts")]
    for d in parts:
        opened[opened.index(d)] = d.rename({k: f"energy_part.{k}" for k in d.data_vars})
    ds = xr.merge(opened, combine_attrs="drop")
    ds.attrs.update(attrs)
    if not lazy:
        ds = ds.load()
        for d in opened:
            d.close()
    return ds


def load_folder(folder):
    """Every model trace in `folder` (network runs, which have their own layout, are left out:
    see network_energies / network_summary)."""
    paths = [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".h5")]
    return [Trace(p) for p in paths if not is_network(p)]


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
    save(energy_figure(tr, plt, title), "energy")

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
            u, v = np.mgrid[0:2 * np.pi:24j, 0:np.pi:12j]
            ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v),
                              color="0.85", lw=0.4)
            ax.scatter(s[:, 0], s[:, 1], s[:, 2], s=4)
            for set_lim in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
                set_lim(-1.05, 1.05)
            ax.set_box_aspect((1, 1, 1))  # equal axes: the unit sphere looks round
            ax.set_title(f"final σ_i (first 3 components, t = {tr.time[-1]:.4g})")
            save(fig, "oscillators")
    if tr.kind == "akorn_conv" and tr.has_sigma:
        save(cluster_map(tr, plt), "cluster_map")
    return paths


def energy_figure(tr, plt, title):
    """Convergence shown honestly (per audited step when the trace has them):
    top, the dissipation rate -dE/dt on a log scale (a run still descending at a steady rate
    shows a plateau, not a plunge), rises marked; middle, E(t) - E(t_end), whose final segment
    goes to 0 by construction and is drawn faded; bottom, every energy part on its own axes."""
    t, e = (tr.audit[:, 0], tr.audit[:, 1]) if len(tr.audit) > 1 else (tr.time, tr.energy)
    parts = list(tr.parts.items())
    ncol = max(1, len(parts) + 1)
    fig = plt.figure(figsize=(max(7.0, 2.6 * ncol), 7.5))
    grid = fig.add_gridspec(3, ncol, height_ratios=[1.1, 1.0, 0.9])
    a1 = fig.add_subplot(grid[0, :])
    a2 = fig.add_subplot(grid[1, :], sharex=a1)
    per_step = "per audited step" if len(tr.audit) > 1 else "per record"
    if len(t) > 1:
        dt = np.diff(t)
        ok = dt > 0
        tm = 0.5 * (t[1:] + t[:-1])[ok]
        rate = -(np.diff(e)[ok] / dt[ok])
        down, up = rate > 0, rate < 0
        a1.semilogy(tm[down], rate[down], lw=1.0, label=f"−dE/dt ({per_step})")
        if up.any():
            a1.semilogy(tm[up], -rate[up], "r.", ms=3, label=f"{int(up.sum())} rises: dE/dt shown")
    bad = tr.violations()
    if len(bad):
        for tv in bad[:, 0]:
            a1.axvline(tv, color="r", lw=0.6, alpha=0.5)
        a1.plot([], [], "r-", lw=0.6, label=f"{len(bad)} audit violations")
    a1.set_ylabel("dissipation rate")
    a1.set_title(title)
    a1.legend(loc="upper right", fontsize=7, framealpha=0.8)
    gap = e - e[-1]
    pos = gap > 0
    tail = t >= t[0] + 0.9 * (t[-1] - t[0])  # the last tenth: E − E(t_end) → 0 by definition
    a2.semilogy(t[pos & ~tail], gap[pos & ~tail], lw=1.2, label="E(t) − E(t_end)")
    if (pos & tail).any():
        a2.semilogy(t[pos & tail], gap[pos & tail], lw=1.2, color="0.7",
                    label="last tenth (→ 0 at t_end by construction)")
    a2.set_ylabel("E − E(t_end)")
    a2.set_xlabel("t")
    a2.legend(loc="upper right", fontsize=7, framealpha=0.8)
    for k, (name, v) in enumerate(parts + [("total", tr.energy)]):
        ax = fig.add_subplot(grid[2, k])
        ax.plot(tr.time, v, lw=1.0, color="k" if name == "total" else f"C{k}")
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("t", fontsize=7)
        ax.yaxis.get_offset_text().set_fontsize(7)
    return fig


def conv_states(tr, index=-1):
    """The oscillator states of an akorn_conv trace as an H × W × C array (record `index`)."""
    with h5py.File(tr.path, "r") as f:
        a = f["model/akorn_conv"].attrs
        h, w, c = int(a["height"]), int(a["width"]), int(a["channels"])
    return tr.states("sigma", index).reshape(h, w, c)


def pca_rgb(x):
    """H × W × C features -> H × W × 3 colours: the first three principal components, scaled."""
    h, w, c = x.shape
    flat = x.reshape(-1, c) - x.reshape(-1, c).mean(axis=0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    comp = flat @ vt[:3].T
    if comp.shape[1] < 3:
        comp = np.pad(comp, ((0, 0), (0, 3 - comp.shape[1])))
    comp = (comp - comp.min(axis=0)) / np.maximum(np.ptp(comp, axis=0), 1e-12)
    return comp.reshape(h, w, 3)


def cluster_map(tr, plt):
    """AKOrN cluster map: the scene, its object mask, and the oscillator states at the start and
    the end as colours (PCA of each position's C channels)."""
    with h5py.File(tr.path, "r") as f:
        scene = f["model/scene"] if "model/scene" in f else None
        rgb = np.clip(scene["rgb"][()], 0, 1) if scene is not None else None
        mask = scene["mask"][()] if scene is not None else None
        results = {k: v for k, v in f["summary"].attrs.items()} if "summary" in f else {}
    panels = [("image", rgb), ("object mask", mask), (f"states t = {tr.time[0]:.3g}", pca_rgb(conv_states(tr, 0))),
              (f"states t = {tr.time[-1]:.3g}", pca_rgb(conv_states(tr, -1)))]
    panels = [(t, p) for t, p in panels if p is not None]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4))
    for ax, (name, img) in zip(np.atleast_1d(axes), panels):
        ax.imshow(img, interpolation="nearest", cmap="tab10" if img.ndim == 2 else None)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    if "fg_ari" in results:
        fig.suptitle(f"k-means FG-ARI: states {results['fg_ari']:.3f}, stimulus "
                     f"{results['fg_ari_stimulus']:.3f}", fontsize=10)
    return fig


def is_network(path):
    """Whether the file is a network run (docs/trace-format.md#network-runs)."""
    with h5py.File(path, "r") as f:
        return _text(f.attrs.get("format", "")) == "hkam-akorn-network"


def network_energies(path):
    """{block: (true energy [B, T+1], logged proxy [B, T+1])} of a network run."""
    with h5py.File(path, "r") as f:
        return {int(l): (f["layers"][l]["energy"][()], f["layers"][l]["proxy_energy"][()])
                for l in f["layers"]}


def network_summary(path):
    with h5py.File(path, "r") as f:
        attrs = {k: _text(v) for k, v in f["summary"].attrs.items()} if "summary" in f else {}
        head = f"{path}: {_text(f.attrs.get('network', '?'))} network, " \
               f"{_text(f.attrs.get('precision', '?'))}, {_text(f.attrs.get('end_reason', '?'))}"
    return head + "".join(f"\n  {k:<16} {v}" for k, v in attrs.items())


def plot_network(path, outdir):
    """Per block: true energy and logged proxy per step (mean and every chain); objects with a
    segmentation: image, mask and predicted segments of the first images."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(outdir, exist_ok=True)
    written = []
    en = network_energies(path)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), squeeze=False)
    for l, (e, p) in sorted(en.items()):
        for ax, v, name in ((axes[0, 0], e, "true energy E(x_t)"),
                            (axes[0, 1], p[:, 1:], "logged proxy (reference)")):
            steps = np.arange(v.shape[1]) + (1 if v is not e else 0)
            ax.plot(steps, v.T, color=f"C{l}", alpha=0.25, lw=0.8)
            ax.plot(steps, v.mean(0), color=f"C{l}", lw=2, label=f"block {l}")
            ax.set_title(name)
            ax.set_xlabel("step t")
    axes[0, 0].legend()
    fig.tight_layout()
    out = os.path.join(outdir, "network_energy.png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    written.append(out)
    with h5py.File(path, "r") as f:
        if "output/labels" in f and "input/images" in f:
            imgs, labels = f["input/images"][()], f["output/labels"][()]
            masks = f["input/masks"][()] if "input/masks" in f else None
            ari = f["output/fg_ari"][()] if "output/fg_ari" in f else None
            n = min(4, len(imgs))
            fig, axes = plt.subplots(n, 3, figsize=(7.5, 2.5 * n), squeeze=False)
            for i in range(n):
                axes[i, 0].imshow(np.clip(imgs[i].transpose(1, 2, 0), 0, 1))
                if masks is not None:
                    axes[i, 1].imshow(masks[i], cmap="tab10", interpolation="nearest")
                axes[i, 2].imshow(labels[i], cmap="tab10", interpolation="nearest")
                axes[i, 2].set_title(f"FG-ARI {ari[i]:.2f}" if ari is not None else "segments")
                for ax in axes[i]:
                    ax.axis("off")
            axes[0, 0].set_title("image")
            axes[0, 1].set_title("mask")
            fig.tight_layout()
            out = os.path.join(outdir, "segmentation.png")
            fig.savefig(out, dpi=110)
            plt.close(fig)
            written.append(out)
    return written


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plot", help="standard figures of a trace as PNG")
    p.add_argument("trace")
    p.add_argument("-o", "--out", default=None, help="folder (default: next to the trace)")
    s = sub.add_parser("summary", help="key results of traces")
    s.add_argument("traces", nargs="+")
    w = sub.add_parser("analyze", help="a sweep's results against its swept keys: table and PNG")
    w.add_argument("folder")
    w.add_argument("--x", default=None, help="expression over columns / config keys (default: first swept key)")
    w.add_argument("--y", default=None, help="result (default: cue_overlap, order_parameter or energy_final)")
    w.add_argument("--by", default=None, help="one line per value of this key")
    w.add_argument("--theory", default=None, choices=["capacity", "lorentzian"])
    w.add_argument("--success", type=float, default=None, help="also the fraction of runs with y >= this")
    w.add_argument("-o", "--out", default=None, help="folder for the PNG (default: SWEEP_DIR/figures)")
    a = ap.parse_args(argv)
    if a.cmd == "analyze":
        try:
            sw = load_sweep(a.folder)
        except OSError as exc:
            print(f"hkam analysis: {a.folder}: no readable manifest.csv ({exc})", file=sys.stderr)
            return 2
        if not any(row.get("status") == "done" for row in sw.rows):
            print(f"hkam analysis: {a.folder}: the manifest lists no finished run: nothing to analyse",
                  file=sys.stderr)
            return 2
        x = a.x or (sw.swept[0] if sw.swept else "index")
        y = a.y or next((c for c in ("cue_overlap", "order_parameter", "energy_final") if c in sw.columns), "energy_final")
        try:
            print(sweep_table(sw, x, y, a.by, a.success))
            print(plot_sweep(sw, x, y, a.by, a.theory, a.success, a.out))
        except (KeyError, SyntaxError, NameError, TypeError, ZeroDivisionError) as exc:
            print(f"hkam analysis: {exc}", file=sys.stderr)
            return 2
        return 0
    for path in [a.trace] if a.cmd == "plot" else a.traces:
        try:
            with h5py.File(path, "r") as f:
                if "trace/time" not in f and "layers" not in f and "train" not in f:
                    raise OSError("no /trace/time")
        except OSError as exc:
            print(f"hkam analysis: {path}: not a readable hkam trace ({exc})", file=sys.stderr)
            return 2
    if a.cmd == "plot":
        out = a.out or os.path.splitext(a.trace)[0] + "_figures"
        if hkam_training.is_training(a.trace):
            figures = hkam_training.plot(hkam_training.load(a.trace), out)
        elif is_network(a.trace):
            figures = plot_network(a.trace, out)
        else:
            figures = plot(load(a.trace), out)
        for path in figures:
            print(path)
    else:
        for path in a.traces:
            if hkam_training.is_training(path):
                print(hkam_training.summary(hkam_training.load(path)))
            else:
                print(network_summary(path) if is_network(path) else summary(load(path)))
    return 0


def _main_or_message(argv):
    """main() with every failure (an unwritable -o, a trace moved away or missing optional groups,
    an unknown --y) turned into one line on stderr and exit status 2, never a traceback."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place where any failure becomes a message
        what = argv[0] if argv else "analysis"
        print(f"hkam {what}: error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_main_or_message(sys.argv[1:]))
