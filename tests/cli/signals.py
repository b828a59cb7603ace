#!/usr/bin/env python3
"""What a signal does to a running `hkam run`, checked with Debian's python3 + h5py.

usage: signals.py HKAM_BINARY CONFIG WORKDIR

* SIGTERM and SIGINT: the run ends cleanly with exit status 128 + signal, end reason
  `interrupted` in /summary, and a complete trace.
* SIGKILL at random moments (12 times): the file opens with h5py, every dataset reads back whole,
  the time axis and the energies have the same length, and the energies are finite — all data up
  to the last flush.
"""
import os
import random
import signal
import subprocess
import sys
import time

import h5py
import numpy as np


def start(binary, config, out, *extra):
    args = [binary, "run", config, "-o", out, "--force", "-q",
            "--set", "record.flush_seconds=0.05", *extra]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for_file(path, proc, timeout=20.0):
    end = time.time() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None or time.time() > end:
            raise SystemExit(f"the run did not create {path} (exit {proc.poll()})")
        time.sleep(0.01)


def main(binary, config, workdir):
    if os.path.isdir(workdir):
        for name in os.listdir(workdir):
            os.remove(os.path.join(workdir, name))
    os.makedirs(workdir, exist_ok=True)
    failures = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        out = os.path.join(workdir, f"sig{int(sig)}.h5")
        proc = start(binary, config, out)
        wait_for_file(out, proc)
        time.sleep(0.5)
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
        with h5py.File(out, "r") as f:
            reason = f["summary"].attrs["end_reason"]
            reason = reason.decode() if isinstance(reason, bytes) else reason
            n = len(f["trace/time"])
        print(f"{sig.name}: exit {code}, end reason {reason}, {n} records")
        if code != 128 + int(sig) or reason != "interrupted" or n < 2:
            failures.append(f"{sig.name}: exit {code}, end reason {reason}, {n} records")
    rng = random.Random(1)
    for k in range(12):
        out = os.path.join(workdir, f"kill{k}.h5")
        proc = start(binary, config, out)
        wait_for_file(out, proc)
        time.sleep(rng.uniform(0.0, 1.5))
        proc.kill()
        proc.wait(timeout=30)
        try:
            with h5py.File(out, "r") as f:
                t = f["trace/time"][()]
                e = f["trace/energy"][()]
                audit = f["audit/energy"][()]
                # Every dataset reads back whole (states included: a compressed chunk rewritten
                # during the kill used to lose already flushed rows), with at least len(t) rows
                # for those that grow with time.
                short = []

                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset) and name.startswith("trace/"):
                        v = obj[()]
                        if obj.maxshape and obj.maxshape[0] is None and v.shape[0] < len(t):
                            short.append(f"{name}: {v.shape[0]} rows < {len(t)}")

                f.visititems(visit)
                if short:
                    failures.append(f"SIGKILL {k}: {short}")
                # Killed before the first record is legitimate: then there is no data yet.
                ok = len(t) == len(e) and np.all(np.isfinite(e)) \
                    and np.all(np.diff(t) > 0)
                print(f"SIGKILL {k}: {len(t)} records, {len(audit)} audited steps, "
                      f"t up to {t[-1] if len(t) else float('nan'):.4g}")
                if not ok:
                    failures.append(f"SIGKILL {k}: inconsistent data ({len(t)} vs {len(e)})")
        except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
            failures.append(f"SIGKILL {k}: h5py cannot read the file: {exc}")
    stray = [n for n in os.listdir(workdir) if ".partial-" in n]
    print(f"{len(stray)} unpublished staging files left by kills during start-up: {stray}")
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
