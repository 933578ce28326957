# Shared by scripts/test and scripts/demo: installs missing Debian packages, or names them.
# shellcheck shell=bash

OHQ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# What building and testing ohq needs, all from Debian.
OHQ_PACKAGES=(cmake make g++ clang libclang-rt-14-dev python3 libeigen3-dev libxsimd-dev libboost-dev doctest-dev
              libbenchmark-dev zlib1g-dev glpk-utils dataset-fashion-mnist
              python3-torch python3-torchvision python3-onnx libopenblas0-pthread
              qemu-user  # qemu-user: tests/kernels run the kernels under qemu-x86_64 -cpu Haswell
              libdnnl-dev)  # oneDNN 2.6 (7 MB, ~10 s): benchmarks/kernels/bench_onednn compares against it

ohq_missing_packages() {
  local missing=()
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  echo "${missing[@]}"
}

# ohq_ensure_packages pkg...: installs what is missing when root, else stops with the list.
ohq_ensure_packages() {
  local missing
  missing=$(ohq_missing_packages "$@")
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "ohq: installing missing Debian packages: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || { echo "ohq: apt-get update failed" >&2; exit 1; }
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
      { echo "ohq: apt-get install failed for: $missing" >&2; exit 1; }
  else
    echo "ohq: missing Debian packages: $missing" >&2
    echo "     install them with: sudo apt-get install -y $missing" >&2
    exit 1
  fi
}

ohq_jobs() { nproc 2>/dev/null || echo 2; }
