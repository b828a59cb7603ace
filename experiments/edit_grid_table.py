"""The table of the memory-editing grid (experiments/train_edit_grid): one row per training file
in out/grid (or the directory given), read from its evaluations.

usage: /usr/bin/python3 experiments/edit_grid_table.py [DIR] [--plot PNG]

Columns: the edit, coupling, D and k (from the file's resolved config); test accuracy on the
first 500 test images before (the frozen base with the untrained oscillator side) and after
the 300 updates; the same on the edited examples (the images of the edited classes whose label
the edit changes) and on the unedited ones; the final accuracy on the first 1,000 test images;
the training's wall time (log/wall_seconds, excluding the final evaluation). With --plot, a
figure of the edited examples' accuracy after training, one panel per edit.
"""

import glob
import os
import sys
import tomllib

import h5py

EDITS = {("swap", False): "swap", ("conflation", False): "conflation",
         ("swap", True): "associative swap", ("conflation", True): "associative conflation"}


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def row(path):
    with h5py.File(path, "r") as f:
        if text(f.attrs.get("file_kind", "")) != "training" or "eval" not in f:
            return None
        cfg = tomllib.loads(text(f.attrs["config_resolved"]))
        ev = f["eval"]
        first, last = dict(ev[sorted(ev)[0]].attrs), dict(ev[sorted(ev)[-1]].attrs)
        final = f["final/test"].attrs["accuracy"] if "final/test" in f else float("nan")
        done = int(f["train"].attrs["step"]), int(f["train"].attrs["steps"])
        wall = f["log/wall_seconds"][-1] if len(f["log/wall_seconds"]) else float("nan")
    data = cfg["data"]
    if data.get("edit", "none") == "none":
        return None  # a base training, not an edit
    edit = EDITS.get((data.get("edit"), bool(data.get("associative"))), data.get("edit"))
    coupling = cfg["coupling"]["kind"]
    dims, k = cfg["kuramoto"]["dim"], cfg["kuramoto"]["degree"]
    pct = "{:.1f} %".format
    steps = "" if done[0] == done[1] else f" (stopped at {done[0]} of {done[1]})"
    key = (list(EDITS.values()).index(edit) if edit in EDITS.values() else 9, coupling, dims, k)
    data = dict(edit=edit, coupling=coupling, D=dims, k=k, edited=100 * last["accuracy_edited"],
                unedited=100 * (last["accuracy_unedited"] - first["accuracy_unedited"]))
    return (key, data,
            f"| {edit} | {coupling}, {dims}, {k} | {pct(100 * first['accuracy'])} | "
            f"{pct(100 * last['accuracy'])}{steps} | "
            f"{pct(100 * first['accuracy_edited'])} → {pct(100 * last['accuracy_edited'])} | "
            f"{pct(100 * first['accuracy_unedited'])} → {pct(100 * last['accuracy_unedited'])} | "
            f"{pct(100 * final)} | {wall:.0f} s | {os.path.basename(path)} |")


def plot(rows, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    edits = [e for e in EDITS.values() if any(d["edit"] == e for _, d, _ in rows)]
    fig, axes = plt.subplots(1, len(edits), figsize=(3.6 * len(edits), 3.8), sharey=True,
                             squeeze=False)
    for ax, edit in zip(axes[0], edits):
        cells = [d for _, d, _ in rows if d["edit"] == edit]
        x = range(len(cells))
        colors = ["tab:blue" if d["coupling"] == "additive" else "tab:red" for d in cells]
        ax.bar(x, [d["edited"] for d in cells], color=colors)
        for i, d in enumerate(cells):
            ax.text(i, d["edited"] + 1.5, f"{d['edited']:.0f}", ha="center", fontsize=7)
        ax.set_xticks(list(x))
        ax.set_xticklabels([f"{d['coupling'][:3]} D{d['D']} k{d['k']}" for d in cells],
                           rotation=60, ha="right", fontsize=7)
        ax.set_title(edit, fontsize=10)
        ax.set_ylim(0, 105)
    axes[0][0].set_ylabel("edited examples correct after training (%)")
    fig.suptitle("Memory editing, small variants (300 updates): frozen base 0 % on every edited "
                 "example; blue additive, red multiplicative coupling", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")


def main():
    args = sys.argv[1:]
    png = None
    if "--plot" in args:
        i = args.index("--plot")
        png = args[i + 1]
        del args[i:i + 2]
    folder = args[0] if args else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "out", "grid")
    rows = sorted((r for r in map(row, glob.glob(os.path.join(folder, "*.h5"))) if r),
                  key=lambda r: r[0])
    if not rows:
        sys.exit(f"edit_grid_table: no training files in {folder}")
    print("| edit | coupling, D, k | frozen | after training | edited examples | unedited | "
          "final test (1,000) | wall | file |")
    print("|---|---|---|---|---|---|---|---|---|")
    for _, _, line in rows:
        print(line)
    if png:
        plot(rows, png)


if __name__ == "__main__":
    main()
