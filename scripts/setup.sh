#!/usr/bin/env bash
# Installs, idempotently, every system package framemix needs on Debian bookworm (run as root):
# FFmpeg 5.1 development files for ffmpeg-next, libclang for its bindgen, the ffmpeg program
# (tests synthesise media with it), clang-16 (CUDA C -> PTX without the CUDA toolkit), g++
# (with AddressSanitizer, for mixcuda's host emulator of its kernels), Debian's libcuda1 from
# non-free, which cust links against, the aarch64 cross linker, C library and qemu-user that
# run mixcore's tests on the NEON path (scripts/test.sh), Python 3 with venv and its
# development files (python/, the Python module, builds with pyo3 and maturin in a venv), and
# SLURM with munge (slurm-wlm, munge: scripts/slurm-test.sh starts a one-node cluster of its
# own, from a temporary folder, and uses none of their services or /etc files). Safe to run
# again: it does nothing once everything is present.
set -euo pipefail

pkgs=(pkg-config libclang-dev clang-16 g++ ffmpeg
      libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
      libavfilter-dev libavdevice-dev libcuda1 python3 python3-venv python3-dev
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user slurm-wlm munge)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
  # libcuda1 lives in non-free (its helper nvidia-support in contrib). The source for those
  # components is derived from the machine's own Debian sources (same mirror, suites and
  # keyring), so no package host is named here.
  src=/etc/apt/sources.list.d/framemix-nonfree.sources
  want=$(bash "$(dirname "$0")/apt-nonfree-sources.sh")
  if [ ! -f "$src" ] || [ "$(cat "$src")" != "$want" ]; then
    printf '%s\n' "$want" > "$src"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# cust's build script wants $CUDA_LIBRARY_PATH/lib64; point a folder's lib64 at the system's
# library directory, where libcuda1 put libcuda.so.
cuda_root=/opt/framemix-cuda
if [ ! -e "$cuda_root/lib64" ]; then
  mkdir -p "$cuda_root"
  ln -s "/usr/lib/$(gcc -print-multiarch)" "$cuda_root/lib64"
fi
