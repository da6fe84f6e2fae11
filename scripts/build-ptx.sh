#!/usr/bin/env bash
# Regenerates mixcuda/kernels/mix.ptx from mixcuda/kernels/*.cu with Debian's clang-16, no CUDA
# toolkit needed. The output is deterministic: the same source and clang give the same bytes
# (the script drops any `.ident`/version comment lines clang might add and fixes the locale).
#
#   scripts/build-ptx.sh           rewrite mixcuda/kernels/mix.ptx
#   scripts/build-ptx.sh --check   fail (exit 1) if the committed mix.ptx is stale
#
# Environment: CLANG (default clang-16), CUDA_ARCH (default sm_70: the oldest GPU the PTX
# serves; the driver JIT-compiles it for newer ones).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kernels="$root/mixcuda/kernels"
ptx="$kernels/mix.ptx"
clang="${CLANG:-clang-16}"
arch="${CUDA_ARCH:-sm_70}"
mode="${1:-write}"

case "$mode" in
  write|--check) ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if ! command -v "$clang" >/dev/null 2>&1; then
  echo "build-ptx: $clang not found (Debian: apt-get install clang-16, or set CLANG=...)" >&2
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

export LC_ALL=C
# -ffp-contract=off: no a*b+c fusion anywhere (docs/contract.md sections 6 and 7); the kernels also use
# explicit round-to-nearest intrinsics. Paths are relative so no absolute path can leak into
# the output.
(cd "$kernels" && "$clang" --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch="$arch" \
  -O3 -S -std=c++17 -ffp-contract=off -fno-fast-math -DFRAMEMIX_CLANG_NOCUDAINC \
  -Wall -Wextra -Werror -o "$tmp/raw.ptx" mix.cu)

# Drop lines that name the compiler version, if this clang emits any.
grep -v -E '^\s*\.ident|clang version|LLVM [0-9]' "$tmp/raw.ptx" > "$tmp/mix.ptx" || true

# Guard the numeric contract on the generated code: no fused multiply-add, no flush-to-zero,
# no approximate division.
if grep -n -E '\b(fma|mad)\.[a-z0-9.]*f(32|64)|\.ftz|\.approx' "$tmp/mix.ptx" >&2; then
  echo "build-ptx: generated PTX contains fused, flush-to-zero or approximate float operations" >&2
  exit 1
fi

if [ "$mode" = "--check" ]; then
  # nvcc compatibility as far as it can be checked without nvcc: the kernels must compile with
  # only the CUDA toolkit's standard names (kernels/nvcc_api.h), none of the clang shims, and
  # name no NVVM builtin outside contract.cuh's guarded shim block.
  (cd "$kernels" && "$clang" --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch="$arch" \
    -fsyntax-only -std=c++17 -Wall -Wextra -Werror -include nvcc_api.h mix.cu)
  if cat "$kernels/mix.cu" "$kernels/contract.cuh" |
     awk '/---- begin clang shims/ { skip = 1 } !skip { print } /---- end clang shims/ { skip = 0 }' |
     grep -n '__nvvm_\|__builtin_' >&2; then
    echo "build-ptx: compiler builtins outside contract.cuh's clang shim block (nvcc lacks them)" >&2
    exit 1
  fi
  if ! cmp -s "$tmp/mix.ptx" "$ptx"; then
    echo "build-ptx: mixcuda/kernels/mix.ptx is stale; run scripts/build-ptx.sh and commit it" >&2
    diff -u "$ptx" "$tmp/mix.ptx" | head -40 >&2 || true
    exit 1
  fi
  echo "build-ptx: mixcuda/kernels/mix.ptx is up to date"
else
  cp "$tmp/mix.ptx" "$ptx"
  echo "build-ptx: wrote mixcuda/kernels/mix.ptx ($(wc -l < "$ptx") lines)"
fi
