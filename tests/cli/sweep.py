#!/usr/bin/env python3
"""`hkam sweep` end to end, checked with Debian's python3 + h5py.

usage: sweep.py HKAM_BINARY PYTHON_DIR WORKDIR

* expansion: grid x zip x replicates gives the documented runs, names, order and derived seeds;
  every trace's stored config holds its swept values and seed;
* -j 2 gives results identical to -j 1;
* resume: a second call reuses every run (files untouched); a deleted trace and one whose
  /summary is gone (a killed run) are redone, the others kept;
* a changed config is refused (exit 2, nothing touched) unless --force, which redoes the runs
  whose config changed;
* bad input: exit 2, the message names the key and line, no folder is made;
* SIGTERM to the sweep: exit 143, manifest marks the unfinished runs; the next call continues
  them from their checkpoints (hkam resume) and finishes;
* hkam analyze: table values equal a numpy aggregate of the manifest, the PNG is written.
"""
import csv
import os
import signal
import subprocess
import sys
import time
import tomllib

import h5py
import numpy as np

from testlib import expect, fresh_workdir, md5, text

CONFIG = """\
title = "sweep test"
seed = 5
[model]
kind = "hopfield"
[hopfield]
units = 60
beta = 8.0
[patterns]
count = 3
[initial]
x = "pattern"
flip = 0.1
[integrator]
t_end = 5.0
[record]
interval = 1.0
[sweep]
replicates = 2
[sweep.grid]
patterns.count = [2, 4]
[sweep.zip]
initial.flip = [0.05, 0.2]
hopfield.lagrangian = ["tanh", "sigmoid"]
"""

LONG = """\
[model]
kind = "kuramoto"
[kuramoto]
oscillators = 3000
dim = 3
graph = "watts_strogatz"
degree = 20
rewire = 0.1
a = -0.01
[integrator]
t_end = 40.0
rtol = 1e-10
[sweep]
replicates = 3
"""

M64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def sweep_seed(master, index):
    """docs/sweeps.md: Rng::derive(master, 1_000_000 + index) >> 33."""
    state = master ^ ((0xD1B54A32D192ED03 * (1_000_000 + index + 1)) & M64)
    state, _ = splitmix64(state)
    state, z = splitmix64(state)
    return z >> 33



def run(binary, *args, check=None):
    p = subprocess.run([binary, *args], capture_output=True, text=True)
    if check is not None and p.returncode != check:
        raise SystemExit(f"{' '.join(args)}: exit {p.returncode}, expected {check}\n{p.stdout}\n{p.stderr}")
    return p


def manifest(folder):
    with open(os.path.join(folder, "manifest.csv"), newline="") as f:
        return list(csv.DictReader(f))




def main(binary, pydir, work):
    cfg = fresh_workdir(work, CONFIG)
    a, b = os.path.join(work, "a"), os.path.join(work, "b")

    # --- expansion, names, seeds, stored configs
    run(binary, "sweep", cfg, "-o", a, "-q", check=0)
    rows = manifest(a)
    expect(len(rows) == 8, "2 counts x 2 zipped x 2 replicates = 8 runs")
    names = [r["name"] for r in rows]
    expect(names[:4] == ["count=2-flip=0.05-lagrangian=tanh-rep0", "count=2-flip=0.05-lagrangian=tanh-rep1",
                         "count=2-flip=0.2-lagrangian=sigmoid-rep0", "count=2-flip=0.2-lagrangian=sigmoid-rep1"],
           "names from the swept values; last axis and replicate vary fastest")
    expect(all(r["status"] == "done" and r["exit_code"] == "0" for r in rows), "every run done, exit 0")
    expect([int(r["seed"]) for r in rows] == [sweep_seed(5, k) for k in range(8)],
           "seeds derived from the master seed and the run index")
    for r in rows:
        with h5py.File(r["trace"], "r") as f:
            c = tomllib.loads(text(f.attrs["config_resolved"]))
            expect("sweep" not in c and c["seed"] == int(r["seed"])
                   and c["patterns"]["count"] == int(r["patterns.count"])
                   and c["hopfield"]["lagrangian"] == r["hopfield.lagrangian"]
                   and abs(c["initial"]["flip"] - float(r["initial.flip"])) == 0
                   and text(f["summary"].attrs["end_reason"]) in ("t_end", "converged"),
                   f"{r['name']}: the trace's resolved config holds its swept values and seed")

    # --- -j 2 equals -j 1
    run(binary, "sweep", cfg, "-o", b, "-j", "2", "-q", check=0)
    expect([r["energy_final"] for r in manifest(b)] == [r["energy_final"] for r in rows]
           and [r["cue_overlap"] for r in manifest(b)] == [r["cue_overlap"] for r in rows],
           "-j 2 gives the same final energies and overlaps as -j 1 (to the last digit)")

    # --- resume
    before = {r["trace"]: md5(r["trace"]) for r in rows}
    p = run(binary, "sweep", cfg, "-o", a, check=0)
    expect("8 finished earlier, 0 to run" in p.stdout and all(md5(t) == h for t, h in before.items()),
           "a second call reuses all 8 runs and touches no trace")
    os.remove(rows[1]["trace"])
    with h5py.File(rows[5]["trace"], "a") as f:
        del f["summary"]  # what a killed run leaves
    p = run(binary, "sweep", cfg, "-o", a, check=0)
    again = manifest(a)
    expect("6 finished earlier, 2 to run" in p.stdout, "a deleted and an unfinished trace are redone")
    expect([r["reused"] for r in again] == ["1", "0", "1", "1", "1", "0", "1", "1"]
           and all(r["status"] == "done" for r in again), "manifest: reused flags and status")
    expect(all(md5(rows[k]["trace"]) == before[rows[k]["trace"]] for k in (0, 2, 3, 4, 6, 7)),
           "finished runs kept byte for byte")
    expect([r["energy_final"] for r in again] == [r["energy_final"] for r in rows],
           "redone runs give the same results")

    # --- changed config
    m = md5(os.path.join(a, "manifest.csv"))
    p = run(binary, "sweep", cfg, "-o", a, "--set", "hopfield.beta=3.0", check=2)
    expect("made from another config" in p.stderr and "--force" in p.stderr
           and md5(os.path.join(a, "manifest.csv")) == m, "a changed config is refused, nothing touched")
    p = run(binary, "sweep", cfg, "-o", a, "--set", "integrator.t_end=4.0", "--force", check=0)
    expect("0 finished earlier, 8 to run" in p.stdout, "--force redoes the runs whose config changed")
    with h5py.File(manifest(a)[0]["trace"], "r") as f:
        expect(tomllib.loads(text(f.attrs["config_resolved"]))["integrator"]["t_end"] == 4.0, "with the new value")

    # --- bad input
    bad = os.path.join(work, "bad.toml")
    open(bad, "w").write(CONFIG.replace("patterns.count = [2, 4]", "patterns.count = 4"))
    p = run(binary, "sweep", bad, "-o", os.path.join(work, "bad"), check=2)
    expect("bad.toml:" in p.stderr and "sweep.grid.patterns.count" in p.stderr
           and not os.path.exists(os.path.join(work, "bad")), "a scalar sweep value: exit 2, key named, nothing made")
    open(bad, "w").write(CONFIG.replace("initial.flip = [0.05, 0.2]", "initial.flip = [0.05, 0.2, 0.3]"))
    p = run(binary, "sweep", bad, "-o", os.path.join(work, "bad"), check=2)
    expect("expected 3 values" in p.stderr and "bad.toml:23:" in p.stderr, "zip lists of unequal length: line named")
    open(bad, "w").write(CONFIG.replace("patterns.count = [2, 4]", "patterns.cuont = [2, 4]"))
    p = run(binary, "sweep", bad, "-o", os.path.join(work, "bad"), check=2)
    expect("did you mean 'count'" in p.stderr and "bad.toml:20:" in p.stderr
           and not os.path.exists(os.path.join(work, "bad")), "a misspelled swept key is found before anything runs")
    p = run(binary, "run", cfg, "-o", os.path.join(work, "x.h5"), check=2)
    expect("hkam sweep" in p.stderr, "hkam run on a sweep config says to use hkam sweep")
    run(binary, "run", cfg, "--ignore-sweep", "-o", os.path.join(work, "x.h5"), "-q", check=0)

    # --- SIGTERM to the sweep
    long_cfg = os.path.join(work, "long.toml")
    open(long_cfg, "w").write(LONG)
    c = os.path.join(work, "c")
    proc = subprocess.Popen([binary, "sweep", long_cfg, "-o", c, "-j", "2", "-q"])
    runs = os.path.join(c, "runs")
    end = time.time() + 30
    while time.time() < end:
        if os.path.isdir(runs) and len([n for n in os.listdir(runs) if n.endswith(".h5")]) == 2:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    statuses = [r["status"] for r in manifest(c)]
    expect(code == 143, f"SIGTERM: the sweep exits 143 (got {code})")
    expect(statuses.count("interrupted") == 2 and statuses.count("pending") == 1,
           f"manifest: 2 interrupted, 1 pending ({statuses})")
    p = run(binary, "sweep", long_cfg, "-o", c, "-j", "2", check=0)
    expect("2 continue from their checkpoints" in p.stdout, "the next call continues the interrupted runs")
    expect([r["status"] for r in manifest(c)] == ["done"] * 3, "and finishes all three")
    for r in manifest(c)[:2]:
        with h5py.File(r["trace"], "r") as f:
            expect("resumed_utc" in f.attrs and text(f["summary"].attrs["end_reason"]) == "t_end",
                   f"{r['name']}: continued by hkam resume to t_end")

    # --- hkam analyze
    env = dict(os.environ, HKAM_PYTHON_DIR=pydir)
    p = subprocess.run([binary, "analyze", b, "--x", "patterns.count/hopfield.units", "--y", "cue_overlap",
                        "--success", "0.9"], capture_output=True, text=True, env=env)
    expect(p.returncode == 0, f"hkam analyze exits 0 ({p.stderr})")
    lines = p.stdout.strip().splitlines()
    table = [l.split("\t") for l in lines[1:-1]]
    rb = manifest(b)
    for xval, row in zip((2 / 60, 4 / 60), table):
        ys = np.array([float(r["cue_overlap"]) for r in rb if int(r["patterns.count"]) / 60 == xval])
        expect(abs(float(row[0]) - xval) < 1e-5 and int(row[1]) == 4 and abs(float(row[2]) - ys.mean()) < 1e-5 * max(1, abs(ys.mean()))
               and abs(float(row[6]) - np.mean(ys >= 0.9)) < 1e-3,
               f"analyze at P/N = {xval:.4f}: n, mean and success fraction match the manifest")
    png = lines[-1]
    expect(os.path.getsize(png) > 5000, "analyze wrote a non-empty PNG")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
