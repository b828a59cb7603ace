#!/usr/bin/env python3
"""Exact restart: a run interrupted and continued with `hkam resume` equals the run never
interrupted, bit for bit (Debian's python3 + h5py + numpy).

usage: restart.py HKAM_BINARY EXPERIMENTS_DIR WORKDIR [small]

`small` (the sanitizer build) runs shorter versions of the same cases: every check is the same,
only the runs are shorter, because a sanitized binary is ~25x slower.

For an adaptive stepper (dopri5, the Hopfield-Kuramoto demo) and a fixed-step one (the discrete
AKOrN update): (1) SIGTERM, then resume; (2) SIGKILL once checkpoints exist, then resume. Every
dataset of /trace and /audit and the /summary numbers (wall time aside) must be identical.
Also: resuming a finished run, or a file without a checkpoint, exits 2 and changes nothing.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

from testlib import expect, md5, text

CASES = {
    "dopri5": ("demo.toml", ["--set", "integrator.t_end=120", "--set", "hopfield.units=256",
                             "--set", "patterns.count=12"]),
    "akorn": ("akorn_symmetric.toml", ["--set", "integrator.steps=8000"]),
}
# Shorter runs for the sanitized build: still long enough for several checkpoints before a kill.
SMALL = {
    "dopri5": ["--set", "integrator.t_end=60"],
    "akorn": [],
}
COMMON = ["--set", "record.checkpoint_seconds=0.05", "--set", "record.flush_seconds=0.05", "-q", "--force"]


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and (name.startswith("trace") or name.startswith("audit")):
                out[name] = obj[()]
        f.visititems(visit)
        summary = {k: v for k, v in f["summary"].attrs.items() if k != "wall_seconds"}
    return out, summary



def identical(ref, path, what):
    a, sa = ref
    b, sb = datasets(path)
    expect(sorted(a) == sorted(b), f"{what}: the same datasets")
    for k in a:
        if not np.array_equal(a[k], b[k]):
            raise SystemExit(f"FAILED: {what}: {k} differs (shapes {a[k].shape} / {b[k].shape})")
    for k in sa:
        if not np.array_equal(np.asarray(sa[k]), np.asarray(sb[k])):
            raise SystemExit(f"FAILED: {what}: /summary {k}: {sa[k]} vs {sb[k]}")
    expect(True, f"{what}: {len(a)} datasets and {len(sa)} summary values bit-identical")


def interrupted(binary, args, out, sig, full_size, fraction):
    """Starts the run and sends `sig` once its file has grown by `fraction` of what the
    uninterrupted run's file grew after it appeared (its model data come first): a signal at a
    point of progress, however fast or slow the machine is."""
    if os.path.exists(out):
        os.remove(out)
    p = subprocess.Popen([binary, "run", *args, "-o", out], stderr=subprocess.PIPE)
    end = time.time() + 600
    first = None
    while p.poll() is None and time.time() < end:
        if os.path.exists(out):
            size = os.path.getsize(out)
            first = size if first is None else first
            if size > first and size >= first + fraction * (full_size - first):
                break
        time.sleep(0.005)
    if p.poll() is not None:
        raise SystemExit(f"FAILED: the run ended before the signal ({p.returncode}); make it longer")
    p.send_signal(sig)
    p.wait(timeout=120)
    return p.returncode


def history(path):
    with h5py.File(path, "r") as f:
        return text(f.attrs.get("git_revision_history", ""))


def main(binary, experiments, work, scale="full"):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    revision = version.split("(")[1].split(")")[0]
    for name, (config, extra) in CASES.items():
        extra = extra + (SMALL[name] if scale == "small" else [])
        args = [os.path.join(experiments, config), *extra, *COMMON]
        full = os.path.join(work, f"{name}_full.h5")
        subprocess.run([binary, "run", *args, "-o", full], check=True)
        size = os.path.getsize(full)
        ref = datasets(full)

        term = os.path.join(work, f"{name}_term.h5")
        code = interrupted(binary, args, term, signal.SIGTERM, size, 0.3)
        expect(code == 143, f"{name}: SIGTERM ends the run with 143")
        with h5py.File(term, "r") as f:
            expect(f["summary"].attrs["end_reason"] in (b"interrupted", "interrupted")
                   and "checkpoint" in f, f"{name}: interrupted, with a checkpoint")
        r = subprocess.run([binary, "resume", term, "-q"])
        expect(r.returncode == 0, f"{name}: hkam resume exits 0")
        identical(ref, term, f"{name}: SIGTERM + resume")
        expect(history(term) == f"{revision}@0",
               f"{name}: resumed by the binary that began it, one entry: {history(term)!r}")
        info = subprocess.run([binary, "info", term], capture_output=True, text=True).stdout
        expect(f"binaries         {revision}@0" in info, f"{name}: hkam info shows the binaries")

        kill = os.path.join(work, f"{name}_kill.h5")
        interrupted(binary, args, kill, signal.SIGKILL, size, 0.5)
        with h5py.File(kill, "r") as f:
            expect("summary" not in f and "checkpoint" in f, f"{name}: killed, checkpoints on disk")
        # As if a build without the history had begun it and another had resumed it once: the
        # history is made from git_revision and resume_git_revision, then this binary appended
        # at the checkpoint's step.
        with h5py.File(kill, "r+") as f:
            expect(history(kill) == f"{revision}@0", f"{name}: a new trace says who began it")
            del f.attrs["git_revision_history"]
            f.attrs["git_revision"] = "0123456789ab"
            f.attrs["resume_git_revision"] = "fedcba987654"
            steps = int(f["checkpoint"][text(f["checkpoint"].attrs["current"])].attrs["steps"])
        r = subprocess.run([binary, "resume", kill, "-q"])
        expect(r.returncode == 0, f"{name}: hkam resume after SIGKILL exits 0")
        identical(ref, kill, f"{name}: SIGKILL + resume")
        wanted = f"0123456789ab@0 fedcba987654@? {revision}@{steps}"
        expect(history(kill) == wanted,
               f"{name}: resume extends an old trace's history: {history(kill)!r} ({wanted!r})")

        before = md5(full)
        r = subprocess.run([binary, "resume", full], capture_output=True, text=True)
        expect(r.returncode == 2 and "has finished" in r.stderr
               and md5(full) == before,
               f"{name}: resuming a finished run exits 2 and leaves it untouched")

    # A run killed before its first checkpoint cannot be resumed: said, nothing changed.
    none = os.path.join(work, "no_checkpoint.h5")
    args = [os.path.join(experiments, "demo.toml"), "--set", "integrator.t_end=120",
            "--set", "record.checkpoint_seconds=0", "--set", "record.flush_seconds=0.05", "-q", "--force"]
    interrupted(binary, args, none, signal.SIGKILL, size, 0.2)
    before = md5(none)
    r = subprocess.run([binary, "resume", none], capture_output=True, text=True)
    expect(r.returncode == 2 and "no checkpoint" in r.stderr
           and md5(none) == before,
           "no checkpoint: exit 2 with the reason, file untouched")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
