#!/usr/bin/env python3
"""`mpirun -n 2 hkam sweep --mpi` gives the same runs and manifest as the local `hkam sweep -j 2`,
and resumes like it.

usage: mpi_sweep.py MPIEXEC HKAM_BINARY WORKDIR
(run as root in CI: OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1, as OpenMPI documents)
"""
import csv
import os
import subprocess
import sys

from testlib import expect, fresh_workdir

CONFIG = """\
seed = 3
[model]
kind = "hopfield"
[hopfield]
units = 80
beta = 8.0
[initial]
x = "pattern"
flip = 0.1
[patterns]
count = 4
[integrator]
t_end = 5.0
[sweep]
replicates = 3
[sweep.grid]
patterns.count = [2, 6, 12]
"""


def manifest(folder):
    with open(os.path.join(folder, "manifest.csv"), newline="") as f:
        return [{k: v for k, v in r.items() if k not in ("wall_seconds", "trace", "reused")}
                for r in csv.DictReader(f)]



def main(mpiexec, binary, work):
    cfg = fresh_workdir(work, CONFIG)
    local, mpi = os.path.join(work, "local"), os.path.join(work, "mpi")
    subprocess.run([binary, "sweep", cfg, "-o", local, "-j", "2", "-q"], check=True)
    p = subprocess.run([mpiexec, "--oversubscribe", "-n", "2", binary, "sweep", cfg, "--mpi", "-o", mpi],
                       capture_output=True, text=True)
    expect(p.returncode == 0, f"mpirun -n 2 hkam sweep --mpi exits 0 ({p.stderr[-500:]})")
    expect("2 MPI ranks" in p.stdout, "rank 0 reports 2 ranks")
    expect(manifest(mpi) == manifest(local) and len(manifest(mpi)) == 9,
           "the manifest equals the local -j 2 one (all 9 runs, every result to the last digit)")
    p = subprocess.run([mpiexec, "--oversubscribe", "-n", "2", binary, "sweep", cfg, "--mpi", "-o", mpi],
                       capture_output=True, text=True)
    expect(p.returncode == 0 and "9 finished earlier, 0 to run" in p.stdout, "a second call reuses every run")
    os.remove(os.path.join(mpi, "runs", "count=6-rep1.h5"))
    p = subprocess.run([mpiexec, "--oversubscribe", "-n", "3", binary, "sweep", cfg, "--mpi", "-o", mpi],
                       capture_output=True, text=True)
    expect(p.returncode == 0 and "8 finished earlier, 1 to run" in p.stdout
           and manifest(mpi) == manifest(local), "3 ranks redo the missing run, same results")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
