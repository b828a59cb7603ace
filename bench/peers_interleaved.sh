#!/bin/bash
# hkam and the numpy/SciPy peer interleaved, round by round (the VMs' speed drifts by up to 1.5x
# between minutes, so timings taken minutes apart are not comparable). Each round runs hkam's
# RHS (B = 1, B = 100 double and float) and plain solve, then bench/numpy_hk.py, and prints both
# and their ratios. Usage (after a build with -DHKAM_BUILD_BENCH=ON, from the repository root):
#   build/test/bench/hkam_bench_batch --export=/tmp/hk_note
#   bash bench/peers_interleaved.sh ROUNDS [EXPORT_DIR] [BENCH_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
export_dir=${2:-/tmp/hk_note}
bench=${3:-build/test/bench/hkam_bench_batch}
for _ in $(seq "$rounds"); do
  h=$(OMP_NUM_THREADS=2 "$bench" --benchmark_min_time=0.5 \
        --benchmark_filter='NoteRhs<double>/(1|100)/|NoteRhs<float>/100/|NoteSolve<double>/1/0' 2>/dev/null |
      grep '^BM' | awk '{v = $2; if ($3 == "us") v /= 1000; printf "%s ", v}')
  p=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=2 \
        /usr/bin/python3 bench/numpy_hk.py "$export_dir" |
      grep -E '^numpy rhs B=1|^scipy solve_ivp' |
      sed -E 's/^numpy rhs B=1: ([0-9.]+) ms.*/\1/; s/^scipy solve_ivp.*: ([0-9.]+) ms.*/\1/' |
      tr '\n' ' ')
  fmt='hkam ms: rhs B=1 %.3f, B=100 double %.2f, float %.2f, solve %.1f | numpy rhs %.3f, '
  fmt+='scipy solve %.1f | ratios: B=1 %.1fx, B=100 double %.1fx, float %.1fx, solve %.1fx\n'
  echo "$h $p" | awk -v fmt="$fmt" \
    '{printf fmt, $1, $2, $3, $4, $5, $6, $5 / $1, 100 * $5 / $2, 100 * $5 / $3, $6 / $4}'
done
