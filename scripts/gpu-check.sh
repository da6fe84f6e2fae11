#!/usr/bin/env bash
# The GPU check of mixcuda, in two halves.
#
#   scripts/gpu-check.sh build [DIR]
#       On a machine with Rust (no GPU needed): checks that mixcuda/kernels/mix.ptx is fresh,
#       builds the mixcuda test binaries and the `mixcuda-bench` program in release with the
#       `cuda` feature, and puts them, this script and a manifest into DIR (default: gpu-out/ at
#       the repository root, which git ignores).
#
#   DIR/gpu-check.sh run [DIR]          (or scripts/gpu-check.sh run DIR)
#       On a machine with an NVIDIA GPU and driver, without Rust or network: runs every test
#       binary with FRAMEMIX_REQUIRE_GPU=1 (a missing device fails instead of skipping), then the
#       benchmark, and writes DIR/report/REPORT.md (plus the logs and bench.json next to it).
#       The report lists the f16/bf16 output tests (docs/contract.md section 10) on their own, and
#       the benchmark measures f16 outputs beside f32. Exits non-zero when a test fails, when no
#       half-output test ran, or when the benchmark cannot run.
#
# Environment for `build`: CARGO (default cargo), CARGO_TARGET_DIR (default target/ at the
# root), CUDA_LIBRARY_PATH (default /opt/framemix-cuda; cust's build script needs it).
set -euo pipefail

usage() {
  echo "usage: $0 build [DIR] | $0 run [DIR]" >&2
  exit 2
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode="${1:-}"
[ -n "$mode" ] || usage

build() {
  local root out target cargo
  root="$(cd "$here/.." && pwd)"
  out="${1:-$root/gpu-out}"
  target="${CARGO_TARGET_DIR:-$root/target}"
  cargo="${CARGO:-cargo}"
  export CUDA_LIBRARY_PATH="${CUDA_LIBRARY_PATH:-/opt/framemix-cuda}"
  export CARGO_TARGET_DIR="$target"

  "$root/scripts/build-ptx.sh" --check

  rm -rf "$out"
  mkdir -p "$out/bin"
  local json
  json="$(mktemp)"
  (cd "$root" && "$cargo" test -p mixcuda --features cuda --release --no-run --message-format=json) > "$json"
  (cd "$root" && "$cargo" build -p framemix-benches --features cuda --release --bin mixcuda-bench)

  # Test executables: compiler-artifact messages built with the test profile
  # ("profile":{...,"test":true}) carry "executable":"PATH".
  local exes
  exes="$(grep -E '"profile":\{[^}]*"test":true' "$json" | grep -o '"executable":"[^"]*"' |
    sed 's/^"executable":"//; s/"$//' | sort -u)"
  rm -f "$json"
  if [ -z "$exes" ]; then
    echo "gpu-check: cargo built no test executables" >&2
    exit 1
  fi
  local exe name
  for exe in $exes; do
    name="$(basename "$exe")"
    # Cargo names test binaries NAME-HASH; keep the name, drop the hash.
    cp "$exe" "$out/bin/test-${name%-*}"
  done
  cp "$target/release/mixcuda-bench" "$out/bin/mixcuda-bench"
  if command -v strip >/dev/null 2>&1; then
    strip --strip-debug "$out"/bin/* || true
  fi
  cp "$here/gpu-check.sh" "$out/gpu-check.sh"
  {
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(cd "$root" && git rev-parse HEAD 2>/dev/null || echo unknown)$(cd "$root" && git diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "rustc: $(rustc --version 2>/dev/null || echo unknown)"
    echo "glibc: $( (ldd --version 2>/dev/null || true) | head -1)"
    echo "mix.ptx sha256: $(sha256sum "$root/mixcuda/kernels/mix.ptx" | cut -d' ' -f1)"
    echo "binaries:"
    (cd "$out/bin" && ls -l)
    echo "needs at run time: an NVIDIA driver providing libcuda.so.1 (nothing else):"
    ldd "$out/bin/mixcuda-bench" 2>/dev/null | sed 's/^/  /' || true
  } > "$out/MANIFEST"
  echo "gpu-check: built $(ls "$out/bin" | wc -l) binaries into $out"
  echo "gpu-check: on the GPU machine run: $out/gpu-check.sh run"
}

run() {
  local out report status=0
  if [ -n "${1:-}" ]; then
    out="$(cd "$1" && pwd)"
  elif [ -d "$here/bin" ]; then
    out="$here"
  else
    out="$(cd "$here/.." && pwd)/gpu-out"
  fi
  [ -d "$out/bin" ] || { echo "gpu-check: no binaries in $out/bin (run '$0 build' first)" >&2; exit 2; }
  report="$out/report"
  rm -rf "$report"
  mkdir -p "$report"
  local device driver
  device="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)"
  driver="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1 || true)"
  {
    echo "# mixcuda GPU check"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- device: ${device:-unknown (nvidia-smi unavailable)}"
    echo "- driver: ${driver:-unknown}"
    echo "- build: $(head -2 "$out/MANIFEST" 2>/dev/null | tr '\n' ' ')"
    echo
    echo "## Tests (FRAMEMIX_REQUIRE_GPU=1: a missing device fails)"
    echo
    echo "| binary | result |"
    echo "|---|---|"
  } > "$report/REPORT.md"

  local t name log line
  for t in "$out"/bin/test-*; do
    name="$(basename "$t")"
    log="$report/$name.log"
    if FRAMEMIX_REQUIRE_GPU=1 "$t" --test-threads=1 > "$log" 2>&1; then
      line="$(grep -E '^test result:' "$log" | tail -1 || true)"
      echo "| $name | pass: ${line#test result: } |" >> "$report/REPORT.md"
    else
      status=1
      line="$(grep -E '^test result:' "$log" | tail -1 || true)"
      echo "| $name | **FAIL**: ${line:-no summary (crashed?)}; see $name.log |" >> "$report/REPORT.md"
      grep -E -- '--- .* stdout ---|panicked at|^failures:' "$log" | head -20 | sed 's/^/    /' >> "$report/REPORT.md" || true
    fi
  done
  # The half-precision outputs: every device test of them, by name, passed or failed.
  local half
  half="$(grep -h -E '^test .*half.* \.\.\. ' "$report"/test-*.log 2>/dev/null | grep -E 'device_' || true)"
  {
    echo
    echo "### f16 / bf16 outputs (bit-identical to mixcore::mix_half and mixcore::half)"
    echo
    if [ -n "$half" ]; then
      echo "$half" | sed 's/^test /    /'
    else
      echo "**No half-output device test ran.**"
    fi
  } >> "$report/REPORT.md"
  [ -n "$half" ] || status=1
  # Any test that skipped would say so; with FRAMEMIX_REQUIRE_GPU=1 only emulator tests may.
  if grep -h 'skipped:' "$report"/test-*.log > "$report/skipped.txt" 2>/dev/null; then
    {
      echo
      echo "Skipped (expected only for the host-emulator tests, which need a C++ compiler and the source tree):"
      echo
      sed 's/^/    /' "$report/skipped.txt"
    } >> "$report/REPORT.md"
  fi

  {
    echo
    echo "## Benchmark (mixcuda-bench)"
    echo
  } >> "$report/REPORT.md"
  if "$out/bin/mixcuda-bench" > "$report/bench.txt" 2> "$report/bench.err" &&
     "$out/bin/mixcuda-bench" --json > "$report/bench.json" 2>> "$report/bench.err"; then
    {
      echo '```'
      cat "$report/bench.txt"
      echo '```'
      echo
      echo "Goals: kernel >= 0.7 of the device copy, end to end >= 0.8 of the pinned copy (cases a, b, c);"
      echo "f16 output at least as fast as f32 (speedup >= 1)."
      echo "Raw numbers: bench.json."
    } >> "$report/REPORT.md"
  else
    status=1
    {
      echo "**The benchmark failed:**"
      echo '```'
      cat "$report/bench.err"
      echo '```'
    } >> "$report/REPORT.md"
  fi
  echo
  cat "$report/REPORT.md"
  return $status
}

case "$mode" in
  build) shift; build "$@" ;;
  run) shift; run "$@" ;;
  *) usage ;;
esac
