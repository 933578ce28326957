#!/usr/bin/env bash
# Compile time and peak compiler memory of benchmarks/compile/*.cpp with g++ and clang++ at -O2.
#   benchmarks/compile/measure.sh [g++|clang++ ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
compilers=("$@")
[ ${#compilers[@]} -eq 0 ] && compilers=(g++ clang++)
flags=(-std=c++20 -O2 -I"$root/include" -I"$root" -I/usr/include/eigen3)
for src in "$root"/benchmarks/compile/*.cpp; do
  for cxx in "${compilers[@]}"; do
    # A warm-up run of the same command first, so file caches do not count.
    "$cxx" "${flags[@]}" -c "$src" -o /dev/null
    /usr/bin/time -f "%e %M" -o /tmp/ohq_compile_time "$cxx" "${flags[@]}" -c "$src" -o /dev/null
    read -r seconds kib < /tmp/ohq_compile_time
    printf '%-16s %-8s %6.1f s  %6d MiB peak\n' "$(basename "$src")" "$cxx" "$seconds" $((kib / 1024))
  done
done
