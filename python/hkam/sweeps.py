"""Sweep folders written by `hkam sweep`: the manifest's rows, swept keys and each run's resolved
config; results aggregated over replicates, Wilson intervals of success fractions, the analytic
lines of the shipped sweeps, and the figures of `python3 -m hkam analyze`
(docs/sweeps.md). Re-exported by hkam.analysis; hkam.load_sweep is `load_sweep`."""

import csv
import math
import os
import re
import tomllib

import h5py
import numpy as np

from ._util import text as _text


class Sweep:
    """A sweep folder: the rows of its manifest.csv (dicts of strings), its swept keys, and each
    run's resolved config (read from its trace on demand)."""

    FIXED = ("index", "name", "status", "exit_code", "reused", "seed", "replicate", "end_reason",
             "trace")

    def __init__(self, folder):
        self.folder = folder
        path = os.path.join(folder, "manifest.csv")
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            self.columns = reader.fieldnames or []
            self.rows = list(reader)
        # Swept keys sit between the fixed leading columns and end_reason.
        head = self.columns[: self.columns.index("end_reason")] if "end_reason" in self.columns else []
        self.swept = [c for c in head if c not in self.FIXED]
        self._configs = {}

    def config(self, k):
        """The resolved config (dict) of row k, from its trace's config_resolved attribute."""
        if k not in self._configs:
            path = self.rows[k]["trace"]
            if not os.path.isabs(path) and not os.path.exists(path):
                path = os.path.join(self.folder, "runs", os.path.basename(path))
            with h5py.File(path, "r") as f:
                self._configs[k] = tomllib.loads(_text(f.attrs["config_resolved"]))
        return self._configs[k]

    def value(self, k, name):
        """A manifest column or a dotted config key of row k, as a float (nan when empty)."""
        if name in self.rows[k]:
            v = self.rows[k][name]
        else:
            v = self.config(k)
            for part in name.split("."):
                if not isinstance(v, dict) or part not in v:
                    raise KeyError(f"{name}: neither a manifest column nor a config key")
                v = v[part]
        try:
            return float(v) if v != "" else math.nan
        except (TypeError, ValueError):
            return v

    def evaluate(self, expr):
        """Values of an arithmetic expression over columns and config keys, one per row
        (e.g. "patterns.count/hopfield.units", "-kuramoto.a*kuramoto.oscillators")."""
        names = sorted(set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", expr)), key=len, reverse=True)
        code = expr
        for j, n in enumerate(names):
            code = re.sub(r"(?<![A-Za-z0-9_.])" + re.escape(n) + r"(?![A-Za-z0-9_.])", f"v{j}", code)
        out = []
        for k in range(len(self.rows)):
            env = {f"v{j}": self.value(k, n) for j, n in enumerate(names)}
            if len(names) == 1 and code == "v0":
                out.append(env["v0"])
            else:
                out.append(eval(code, {"__builtins__": {}}, env))  # expressions from the user's own command line
        return out


def load_sweep(folder):
    return Sweep(folder)


def aggregate(sw, x, y, by=None, success=None, only_done=True):
    """Rows (by_value, x, n, mean, std, min, max, success_fraction) over the runs sharing x (and by),
    e.g. the replicates of a load. Runs whose status is not `done` are left out when only_done."""
    xs, ys = sw.evaluate(x), sw.evaluate(y)
    bs = sw.evaluate(by) if by else [None] * len(xs)
    groups = {}
    for k, row in enumerate(sw.rows):
        if only_done and row.get("status") != "done":
            continue
        groups.setdefault((bs[k], xs[k]), []).append(float(ys[k]))
    out = []
    def order(kv):  # numbers numerically, names in order of first appearance
        b, xv = kv[0]
        return (str(b), xv if isinstance(xv, float) else first.index(xv))
    first = []
    for xv in xs:
        if not isinstance(xv, float) and xv not in first:
            first.append(xv)
    for (b, xv), v in sorted(groups.items(), key=order):
        a = np.array(v)
        frac = float(np.mean(a >= success)) if success is not None else math.nan
        out.append((b, xv, len(a), float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0,
                    float(a.min()), float(a.max()), frac))
    return out


def wilson_interval(successes, n, z=1.96):
    """Wilson score interval (95 % for z = 1.96) of a success fraction from n runs: unlike
    p +- sqrt(p(1-p)/n) it stays inside [0, 1] and is not empty at p = 0 or 1 (5 of 5 runs:
    [0.57, 1])."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    d = 1 + z * z / n
    center = (p + z * z / (2 * n)) / d
    half = z / d * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, center - half), min(1.0, center + half))


CAPACITY_ALPHA_C = 0.138  # Amit, Gutfreund & Sompolinsky (1985): Hebbian Hopfield network, N -> inf


def lorentzian_order_parameter(K, gamma):
    """Kuramoto's self-consistent r(K) for Lorentzian frequencies of half-width gamma:
    sqrt(1 - 2 gamma / K) above K_c = 2 gamma, 0 below."""
    K = np.asarray(K, dtype=float)
    return np.where(K > 2 * gamma, np.sqrt(np.clip(1 - 2 * gamma / np.maximum(K, 1e-300), 0, None)), 0.0)


def plot_sweep(sw, x, y, by=None, theory=None, success=None, outdir=None):
    """Mean +- std of y against x (one line per value of `by`), with the analytic line of
    `theory` ("capacity" or "lorentzian"); returns the PNG's path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = aggregate(sw, x, y, by, success)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for b in sorted({r[0] for r in rows}, key=str):
        sel = [r for r in rows if r[0] == b]
        xv = [r[1] for r in sel]
        yv = [r[7] if success is not None else r[3] for r in sel]
        if success is not None:  # 95 % Wilson intervals of the fractions
            iv = [wilson_interval(round(r[7] * r[2]), r[2]) for r in sel]
            err = [[f - lo for f, (lo, hi) in zip(yv, iv)], [hi - f for f, (lo, hi) in zip(yv, iv)]]
        else:
            err = [r[4] for r in sel]
        label = f"{by} = {b}" if by else ("fraction " + y + f" >= {success}" if success is not None else y)
        if success is not None:
            label += " (bars: 95 % Wilson interval)"
        ax.errorbar(xv, yv, yerr=err, marker="o", capsize=3, label=label)
    if theory == "capacity":
        ax.axvline(CAPACITY_ALPHA_C, color="k", ls="--", label=f"alpha_c = {CAPACITY_ALPHA_C} (N -> inf)")
    elif theory == "lorentzian":
        gamma = sw.value(0, "kuramoto.frequency_width")
        xs = [r[1] for r in rows]
        grid = np.linspace(min(xs), max(xs), 400)
        ax.plot(grid, lorentzian_order_parameter(grid, gamma), "k--",
                label=f"r = sqrt(1 - 2 gamma / K), gamma = {gamma:g}")
    elif theory:
        raise ValueError(f"unknown theory {theory!r} (capacity, lorentzian)")
    ax.set_xlabel(x)
    ax.set_ylabel(("fraction " + y + f" >= {success}") if success is not None else y + " (mean +- std)")
    ax.set_title(os.path.basename(os.path.normpath(sw.folder)))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    outdir = outdir or os.path.join(sw.folder, "figures")
    os.makedirs(outdir, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"{y}_vs_{x}")
    path = os.path.join(outdir, safe + ".png")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sweep_table(sw, x, y, by=None, success=None):
    rows = aggregate(sw, x, y, by, success)
    head = ([by] if by else []) + [x, "n", f"mean {y}", "std", "min", "max"]
    if success is not None:
        head += [f"fraction >= {success}", "95% interval"]
    lines = ["\t".join(head)]
    for b, xv, n, mean, std, lo, hi, frac in rows:
        cells = ([str(b)] if by else []) + [f"{xv:g}" if isinstance(xv, float) else str(xv), str(n), f"{mean:.6g}", f"{std:.3g}", f"{lo:.6g}", f"{hi:.6g}"]
        if success is not None:
            wl, wh = wilson_interval(round(frac * n), n)
            cells += [f"{frac:.3g}", f"[{wl:.2f}, {wh:.2f}]"]
        lines.append("\t".join(cells))
    return "\n".join(lines)
