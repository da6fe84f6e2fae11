#!/usr/bin/env bash
# A short pass of every fuzz target (fuzz/, cargo-fuzz, libFuzzer + AddressSanitizer):
#   1. installs cargo-fuzz if it is missing (`cargo install cargo-fuzz --locked`);
#   2. builds every target with the nightly toolchain, debug assertions and overflow checks on;
#   3. runs each target for SECONDS seconds (default 30) on a temporary corpus seeded from
#      fuzz/seeds/<target>, two targets at a time, and fails on any crash, timeout, leak or
#      out-of-memory. A failing input is kept under fuzz/artifacts/<target>/.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]     (default: every target)
# Environment:
#   FUZZ_CLI=0    skip the mixcli and mixdata targets (decode, schedule_arg, shard_arg, cli_args,
#                 template, lists, tensor_headers), which need FFmpeg's development files (scripts/setup.sh
#                 installs them)
#   FUZZ_JOBS=N   targets run at once (default: 2, or 1 on a one-core machine)
# Longer runs and single targets: fuzz/README.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fuzz="$root/fuzz"
seconds=${1:-30}
shift || true
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: SECONDS must be a positive integer, not '$seconds'" >&2
  exit 2
fi

core_targets=(plan kernels mixer)
cli_targets=(decode schedule_arg shard_arg cli_args template lists tensor_headers)
features=()
if [ "${FUZZ_CLI:-1}" = 0 ]; then
  available=("${core_targets[@]}")
else
  available=("${core_targets[@]}" "${cli_targets[@]}")
  features=(--features cli)
fi
if [ $# -gt 0 ]; then
  targets=("$@")
  for t in "${targets[@]}"; do
    if ! printf '%s\n' "${available[@]}" | grep -qx -- "$t"; then
      echo "fuzz.sh: unknown target '$t' (targets: ${available[*]})" >&2
      exit 2
    fi
  done
else
  targets=("${available[@]}")
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$fuzz/target}"
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin="$CARGO_TARGET_DIR/$host/release"

start=$(date +%s)
echo "fuzz.sh: building ${targets[*]} (nightly, AddressSanitizer, debug assertions)"
(cd "$fuzz" && nice -n 10 cargo +nightly fuzz build --debug-assertions "${features[@]}")
echo "fuzz.sh: built in $(( $(date +%s) - start )) s"

work=$(mktemp -d "${TMPDIR:-/tmp}/framemix-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Limits per target: memory (MiB, AddressSanitizer included), seconds per input, input size.
limits() {
  case "$1" in
    decode) echo "-rss_limit_mb=4096 -timeout=30 -max_len=16384" ;;
    schedule_arg | shard_arg | cli_args | template | lists | tensor_headers) echo "-rss_limit_mb=2048 -timeout=10 -max_len=4096" ;;
    *) echo "-rss_limit_mb=2048 -timeout=10 -max_len=4096" ;;
  esac
}

run_target() {
  local t=$1
  local corpus="$work/corpus/$t" log="$work/$t.log" art="$fuzz/artifacts/$t"
  mkdir -p "$corpus" "$art" "$work/tmp/$t"
  local status=0
  # shellcheck disable=SC2046 # the limits are separate words on purpose
  TMPDIR="$work/tmp/$t" nice -n 10 "$bin/$t" "$corpus" "$fuzz/seeds/$t" \
    -max_total_time="$seconds" $(limits "$t") -print_final_stats=1 \
    -artifact_prefix="$art/" >"$log" 2>&1 || status=$?
  echo "$status" >"$work/$t.status"
}

jobs=${FUZZ_JOBS:-$( (($(nproc) >= 2)) && echo 2 || echo 1)}
echo "fuzz.sh: running ${#targets[@]} targets for $seconds s each, $jobs at a time"
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait || true

failed=()
for t in "${targets[@]}"; do
  log="$work/$t.log"
  status=$(cat "$work/$t.status" 2>/dev/null || echo missing)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  if [ "$status" = 0 ]; then
    printf 'fuzz.sh: %-13s ok      %10s runs  %7s/s  peak %s MiB\n' "$t" "${runs:-?}" "${rate:-?}" "${rss:-?}"
  else
    printf 'fuzz.sh: %-13s FAILED  (exit %s)\n' "$t" "$status"
    failed+=("$t")
  fi
done
for t in "${failed[@]}"; do
  echo
  echo "==== $t: the end of libFuzzer's log ===="
  grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse|RELOAD)' "$work/$t.log" | tail -60
  echo "==== failing inputs kept in fuzz/artifacts/$t/ ; replay one with:"
  echo "     (cd fuzz && cargo +nightly fuzz run --debug-assertions ${features[*]} $t artifacts/$t/<file>)"
done
echo "fuzz.sh: done in $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
