"""Training files of `hkam train` (docs/training.md) with Debian's python3, numpy, h5py and
matplotlib (part of the `hkam` package: hkam.load_training is `load`). Used by hkam.analysis
(`hkam plot`, `summary`); as a module:

    from hkam import training as ht
    t = ht.load("out/train_edit_small.h5")
    t.loss, t.evals["accuracy"], t.final["test"]["confusion"]
    ht.plot(t, "figures/")      # learning curves, accuracy per class, confusion matrices
"""
import os

import h5py
import numpy as np

from ._util import text as _text


def is_training(path):
    """Whether `path` is a training file (root attribute file_kind = "training")."""
    with h5py.File(path, "r") as f:
        return _text(f.attrs.get("file_kind", "")) == "training"


def _evaluation(g):
    e = {k: (float(v) if np.ndim(v) == 0 else v) for k, v in g.attrs.items()}
    e["per_class"] = g["per_class"][()]
    e["confusion"] = g["confusion"][()]
    return e


class Training:
    """One training file: per-update logs, evaluations (dict of arrays over evaluations, plus
    per_class [E, 10] and confusion [E, 10, 10]), final evaluations, the trained parameters."""

    def __init__(self, path):
        self.path = path
        with h5py.File(path, "r") as f:
            self.attrs = {k: _text(v) for k, v in f.attrs.items()}
            t = f["train"]
            self.train_attrs = {k: _text(v) for k, v in t.attrs.items()}
            self.trainable = self.train_attrs.get("trainable", "").split()
            self.theta = t["theta"][()]
            log = f["log"]
            self.loss = log["loss"][()]
            self.learning_rate = log["learning_rate"][()]
            self.wall_seconds = log["wall_seconds"][()]
            self.solver_steps = log["solver_steps"][()]
            evs = [_evaluation(f["eval"][k]) for k in sorted(f["eval"])]
            self.evals = {k: np.array([e[k] for e in evs])
                          for k in (evs[0].keys() if evs else [])}
            self.final = ({k: _evaluation(f["final"][k]) for k in f["final"]}
                          if "final" in f else {})
            self.kind = _text(f["model"].attrs.get("kind", "?"))
        self.config = self.attrs.get("config_resolved", "")

    @property
    def finished(self):
        return bool(int(self.train_attrs.get("finished", 0)))


def load(path):
    return Training(path)


def summary(t):
    s = {
        "path": t.path,
        "kind": "training",
        "model": t.kind,
        "trainable": " ".join(t.trainable),
        "updates": len(t.loss),
        "finished": t.finished,
        "loss_first": float(t.loss[0]) if len(t.loss) else float("nan"),
        "loss_last": float(t.loss[-1]) if len(t.loss) else float("nan"),
        "wall_seconds": float(t.wall_seconds[-1]) if len(t.wall_seconds) else 0.0,
    }
    if t.evals:
        s["test_accuracy_first"] = float(t.evals["accuracy"][0])
        s["test_accuracy_last"] = float(t.evals["accuracy"][-1])
        if t.evals["edited"][-1] > 0:
            s["edited_accuracy_first"] = float(t.evals["accuracy_edited"][0])
            s["edited_accuracy_last"] = float(t.evals["accuracy_edited"][-1])
    for split, e in t.final.items():
        s[f"final_{split}_accuracy"] = e["accuracy"]
    return s


def plot(t, outdir):
    """learning.png (loss per update with a running mean, learning rate, test accuracy with the
    edited / unedited examples), per_class.png (accuracy per class, first vs last evaluation),
    confusion.png (the final — or last — evaluation's confusion matrix). Returns the paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(outdir, exist_ok=True)
    written = []
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    steps = np.arange(1, len(t.loss) + 1)
    axes[0].plot(steps, t.loss, lw=0.6, alpha=0.5, label="per update")
    if len(t.loss) >= 10:
        w = max(1, len(t.loss) // 30)
        axes[0].plot(steps[w - 1:], np.convolve(t.loss, np.ones(w) / w, mode="valid"), lw=2,
                     label=f"mean of {w}")
    axes[0].set(xlabel="update", ylabel="training loss", title="loss")
    axes[0].legend()
    axes[1].plot(steps, t.learning_rate)
    axes[1].set(xlabel="update", title="learning rate")
    if t.evals:
        e = t.evals
        axes[2].plot(e["step"], 100 * e["accuracy"], "o-", label="all")
        if e["edited"][-1] > 0:
            axes[2].plot(e["step"], 100 * e["accuracy_edited"], "s-", label="edited labels")
            axes[2].plot(e["step"], 100 * e["accuracy_unedited"], "^-", label="unedited")
        axes[2].set(xlabel="update", ylabel="%", ylim=(0, 100),
                    title=f"test accuracy (first {int(e['examples'][-1])})")
        axes[2].legend()
    fig.suptitle(t.attrs.get("title", ""))
    fig.tight_layout()
    out = os.path.join(outdir, "learning.png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    written.append(out)
    if t.evals:
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
        x = np.arange(10)
        for k, (row, name) in enumerate(((0, "before training"), (-1, "last evaluation"))):
            ax.bar(x + (k - 0.5) * 0.4, 100 * np.nan_to_num(t.evals["per_class"][row]), 0.4,
                   label=f"{name} (update {int(t.evals['step'][row])})")
        ax.set(xticks=x, xlabel="target class", ylabel="accuracy %", ylim=(0, 100))
        ax.legend()
        fig.tight_layout()
        out = os.path.join(outdir, "per_class.png")
        fig.savefig(out, dpi=110)
        plt.close(fig)
        written.append(out)
        conf = t.final["test"]["confusion"] if "test" in t.final else t.evals["confusion"][-1]
        fig, ax = plt.subplots(figsize=(4.8, 4.2))
        im = ax.imshow(conf, cmap="Blues")
        for i in range(10):
            for j in range(10):
                if conf[i, j]:
                    ax.text(j, i, int(conf[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if conf[i, j] > conf.max() / 2 else "black")
        ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="target",
               title="confusion (test, " + ("final" if "test" in t.final else "last") + ")")
        fig.colorbar(im, ax=ax, fraction=0.046)
        fig.tight_layout()
        out = os.path.join(outdir, "confusion.png")
        fig.savefig(out, dpi=110)
        plt.close(fig)
        written.append(out)
    return written
