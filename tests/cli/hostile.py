#!/usr/bin/env python3
"""Hostile input at the command line (docs/hostile-input.md), checked with Debian's python3 + h5py.

usage: hostile.py HKAM_BINARY WORKDIR

* command-line errors exit 2 (CLI11's own codes 105..109 used to leak out);
* a folder as config, an output that is the run's own config: exit 2, nothing touched;
* traces edited in h5py (variable-length UTF-8 strings, h5py's default): info and resume work;
  an infinite audit tolerance written into a trace: check-energy exits 2, never "monotone";
* plot / analyze on bad paths end with a message and exit 2, never a Python traceback;
* SIGINT while one adaptive step spans very many samples stops the run within seconds, with a
  checkpoint to resume from; SIGINT during a network run ends it with 130 and a message.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

from testlib import expect

HOP = """\
[model]
kind = "hopfield"
[hopfield]
units = 8
[patterns]
count = 2
[integrator]
stepper = "rk4"
t_end = 2.0
dt = 0.01
[record]
checkpoint_seconds = 1e-9
"""

# Relaxes to its fixed point, after which dopri5's steps grow to thousands of time units: each
# step then spans millions of sample times.
FLOOD = """\
[model]
kind = "hopfield"
[hopfield]
units = 4
lagrangian = "relu"
weights = "zero"
[integrator]
t_end = 1e9
rtol = 1e-6
[record]
interval = 1e-3
states = false
audit_steps = false
checkpoint_seconds = 0.2
[limits]
output_gb = 1e9
"""


def run(*args, check=None, timeout=120):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check is not None and p.returncode != check:
        raise SystemExit(f"FAILED: {' '.join(args)} exited {p.returncode}, expected {check}\n"
                         f"{p.stdout}\n{p.stderr}")
    return p


def main(hkam, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cfg = os.path.join(work, "hop.toml")
    with open(cfg, "w") as f:
        f.write(HOP)

    # --- command line and paths
    p = run(hkam, "sweep", "-j", "0", cfg, check=2)
    expect("--jobs" in p.stderr, "-j 0: exit 2 with a message naming --jobs")
    run(hkam, "run", cfg, "--no-such-flag", check=2)
    p = run(hkam, "run", work, check=2)
    expect("is a folder, not a config file" in p.stderr, "a folder as config: says so, exit 2")
    p = run(hkam, "run", cfg, "-o", cfg, "--force", check=2)
    expect("is an input of this run" in p.stderr and open(cfg).read() == HOP,
           "-o CONFIG --force: refused, the config untouched")

    # --- traces edited in h5py
    trace = os.path.join(work, "t.h5")
    run(hkam, "run", cfg, "-o", trace, "-q", check=0)
    with h5py.File(trace, "r+") as f:
        f.attrs["title"] = "édité – Kuramoto"           # variable-length UTF-8, h5py's default
        text = f.attrs["config_resolved"]
        text = text.decode() if isinstance(text, bytes) else text
        del f.attrs["config_resolved"]
        f.attrs["config_resolved"] = text               # now variable-length UTF-8 too
        del f["summary"]                                # as if the run had been killed
    p = run(hkam, "info", trace, check=0)
    expect("édité – Kuramoto" in p.stdout, "info reads a variable-length UTF-8 title")
    p = run(hkam, "resume", trace, "-q", check=0)
    expect(True, "resume reads a variable-length UTF-8 config_resolved")

    run(hkam, "run", cfg, "-o", trace, "-q", "--force", check=0)
    with h5py.File(trace, "r+") as f:
        f["audit/energy"].attrs["tolerance"] = np.inf
    p = run(hkam, "check-energy", trace, check=2)
    expect("must be finite and at most 0.01" in p.stderr and "monotone" not in p.stdout,
           "check-energy: an infinite stored tolerance is refused (exit 2), no verdict")

    # --- Python post-analysis: messages, not tracebacks
    ro = os.path.join(work, "file_not_folder")
    open(ro, "w").write("x")
    for args, what in [(("plot", trace, "-o", os.path.join(ro, "sub")), "an unwritable -o"),
                       (("plot", os.path.join(work, "moved.h5")), "a missing trace")]:
        p = run(hkam, *args)
        expect(p.returncode == 2 and "Traceback" not in p.stderr, f"hkam plot, {what}: exit 2, no traceback")
    empty = os.path.join(work, "empty_sweep")
    os.makedirs(empty)
    open(os.path.join(empty, "manifest.csv"), "w").write("index,name,status\n")
    p = run(hkam, "analyze", empty)
    expect(p.returncode == 2 and "Traceback" not in p.stderr and "no finished run" in p.stderr,
           "hkam analyze on an empty manifest: exit 2 with a message")

    # --- SIGINT while one step writes millions of samples
    flood = os.path.join(work, "flood.toml")
    with open(flood, "w") as f:
        f.write(FLOOD)
    out = os.path.join(work, "flood.h5")
    proc = subprocess.Popen([hkam, "run", flood, "-o", out, "-q"], stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)
    sent = time.time()
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=60)
    waited = time.time() - sent
    expect(code == 130, f"SIGINT inside a many-sample step: exit 130 (got {code})")
    expect(waited < 5, f"... within seconds of the signal ({waited:.2f} s)")
    with h5py.File(out, "r") as f:
        rows = f["trace/time"].shape[0]
        current = f["checkpoint"].attrs["current"]
        current = current.decode() if isinstance(current, bytes) else current
        t_ck = f["checkpoint"][current].attrs["t"]
        ck_rows = f["checkpoint"][current].attrs["rows"]
    expect(rows > 1000 and ck_rows <= rows, f"the trace keeps the samples written ({rows} rows, checkpoint at {ck_rows})")
    expect(0 < t_ck < 1e9, f"a checkpoint to resume from (t = {t_ck:g})")

    # --- SIGINT during a network run with an absurd T (within the limits: no states kept)
    net = os.path.join(work, "long_net.toml")
    with open(net, "w") as f:
        f.write('[network]\nkind = "sudoku"\nchannels = 64\nheads = 4\nsteps = 100000000\n'
                '[input]\nbatch = 1\n[record]\nstates = false\n')
    out = os.path.join(work, "long_net.h5")
    proc = subprocess.Popen([hkam, "run", net, "-o", out, "-q"], stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=60)
    err = proc.stderr.read()
    expect(code == 130 and "interrupted by signal 2" in err,
           f"SIGINT during a network run: exit 130 with a message (got {code})")
    with h5py.File(out + ".partial", "r") as f:
        reason = f.attrs["end_reason"]
        reason = reason.decode() if isinstance(reason, bytes) else reason
    expect(reason == "interrupted" and not os.path.exists(out),
           "... the partial file says interrupted; no trace under the final name")
    print("all hostile-input CLI checks passed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
