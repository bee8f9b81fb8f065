#!/bin/bash
# Compares kernels_bench binaries on a noisy machine: runs each in turn, ROUNDS
# times, and prints the median GB/s of every benchmark per binary.
#   bench/ab_kernels.sh 3 '^matvec/F8_E4M3/.*/T:1/threads:1' /tmp/kb-before /tmp/kb-after
set -euo pipefail
if [ $# -lt 3 ]; then echo "usage: $0 ROUNDS FILTER BINARY..." >&2; exit 2; fi
rounds=$1 filter=$2
shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$rounds"); do
  for b in "$@"; do
    "$b" --benchmark_filter="$filter" 2>/dev/null |
      grep -o '^[a-z]*/[A-Za-z0-9_]*/[0-9x]*/T:[0-9]*/threads:[0-9]*\|GB/s=[0-9.]*' | paste - - |
      sed "s|^|$b |" >>"$out"
  done
done
/usr/bin/python3 - "$out" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
binaries = []
for line in open(sys.argv[1]):
    b, name, gbs = line.split()
    runs[(name, b)].append(float(gbs.split("=")[1]))
    if b not in binaries: binaries.append(b)
for name in sorted({n for n, _ in runs}):
    cells = [f"{statistics.median(runs[(name, b)]):6.1f}" for b in binaries if (name, b) in runs]
    print(f"{name:44s}", "  ".join(cells))
print("columns:", "  ".join(binaries))
PY
