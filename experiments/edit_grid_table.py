"""The table of the memory-editing grid (experiments/train_edit_grid): one row per training file
in out/grid (or the directory given), read from its evaluations.

usage: /usr/bin/python3 experiments/edit_grid_table.py [DIR]

Columns: the edit, coupling, D and k (from the file's resolved config); test accuracy on the
first 500 test images before (the frozen base with the untrained oscillator side) and after
the 300 updates; the same on the edited examples (the images of the edited classes whose label
the edit changes) and on the unedited ones; the final accuracy on the first 1,000 test images;
the training's wall time (log/wall_seconds, excluding the final evaluation).
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
    return ((list(EDITS.values()).index(edit) if edit in EDITS.values() else 9, coupling, dims, k),
            f"| {edit} | {coupling}, {dims}, {k} | {pct(100 * first['accuracy'])} | "
            f"{pct(100 * last['accuracy'])}{steps} | "
            f"{pct(100 * first['accuracy_edited'])} → {pct(100 * last['accuracy_edited'])} | "
            f"{pct(100 * first['accuracy_unedited'])} → {pct(100 * last['accuracy_unedited'])} | "
            f"{pct(100 * final)} | {wall:.0f} s | {os.path.basename(path)} |")


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "out", "grid")
    rows = sorted(r for r in map(row, glob.glob(os.path.join(folder, "*.h5"))) if r)
    if not rows:
        sys.exit(f"edit_grid_table: no training files in {folder}")
    print("| edit | coupling, D, k | frozen | after training | edited examples | unedited | "
          "final test (1,000) | wall | file |")
    print("|---|---|---|---|---|---|---|---|---|")
    for _, line in rows:
        print(line)


if __name__ == "__main__":
    main()
