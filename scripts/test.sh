#!/usr/bin/env bash
# The whole test suite, from a clean clone on Debian bookworm (as root): installs what it
# needs, then checks formatting and lints, runs every test, proves the no_std claim, checks
# the committed PTX, runs the Python module's tests (scripts/python-test.sh: a venv in
# target/pyvenv, `pip install ./python`, pytest), builds the benches, and runs a short pass
# of every fuzz target (45 s each, two at a time; `scripts/fuzz.sh SECONDS` or
# fuzz/README.md for longer runs).
# `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$(date +%s)
step() { printf '\n==> [%4d s] %s\n' "$(($(date +%s) - t0))" "$*"; }

step "system packages"
bash scripts/setup.sh
export CUDA_LIBRARY_PATH=/opt/framemix-cuda
# mixcuda's kernels run on a CPU emulator when there is no GPU; fail rather than skip it.
export FRAMEMIX_REQUIRE_EMULATOR=1

step "cargo fmt --check"
cargo fmt --all --check
cargo fmt --manifest-path fuzz/Cargo.toml --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace (the example trainer's one-epoch smoke run included)"
cargo test --workspace

step "no_std proof: mixcore in a #![no_std] staticlib with its own panic handler"
cargo build --release --manifest-path ci/nostd-check/Cargo.toml --target-dir target/nostd

step "mixcore and the property tests again with AVX2 compiled in (wide's AVX paths)"
RUSTFLAGS="-C target-cpu=x86-64-v3" cargo test --target-dir target/v3 -p mixcore -p framemix-tests \
  --test mix_props --test kernel_props --test errors --test paper_examples --lib

step "mixcuda: committed PTX is fresh and nvcc-clean"
bash scripts/build-ptx.sh --check

step "mixcuda with the cuda feature (device tests print 'skipped' without a GPU)"
cargo clippy -p mixcuda -p mixcli --all-targets --features mixcuda/cuda,mixcli/cuda -- -D warnings
cargo test -p mixcuda --features cuda
cargo test -p mixcli --features cuda

step "Python module: pip install ./python in target/pyvenv, pytest python/tests (bit for bit against mixcli)"
bash scripts/python-test.sh

step "benches build"
cargo bench -p framemix-benches --no-run

step "fuzz: a short pass of every cargo-fuzz target (fails on any crash)"
bash scripts/fuzz.sh 45

printf '\nall checks passed in %d s\n' "$(($(date +%s) - t0))"
