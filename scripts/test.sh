#!/usr/bin/env bash
# The whole test suite, from a clean clone on Debian bookworm (as root): installs what it
# needs, then checks formatting and lints, runs every test, proves the no_std claim (also on
# two bare-metal targets), runs mixcore's and the property tests on aarch64 under qemu (the
# NEON path), checks that mixcore publishes and mixcuda packages its PTX, checks the
# committed PTX, runs the Python module's tests (scripts/python-test.sh: a venv in
# target/pyvenv, `pip install ./python`, pytest), runs mixcli batch as a SLURM array job on a
# one-node cluster it starts (scripts/slurm-test.sh), builds the benches, and runs a short pass of
# every fuzz target (30 s each, two at a time; `scripts/fuzz.sh SECONDS` or fuzz/README.md for
# longer runs).
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

step "Rust targets: aarch64 Linux (run under qemu) and two bare-metal ones (the no_std proof)"
for t in aarch64-unknown-linux-gnu aarch64-unknown-none thumbv7em-none-eabihf; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done

step "cargo fmt --check"
cargo fmt --all --check
cargo fmt --manifest-path fuzz/Cargo.toml --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace (the example trainer's one-epoch smoke run included)"
cargo test --workspace

# The workspace steps above already build mixdata with its `candle` feature (the example
# trainer enables it), so its tests ran there; this step adds the `burn` feature alone, which
# rebuilds neither candle nor FFmpeg's bindings.
step "mixdata's burn feature (clippy, unit, integration and doc tests)"
cargo clippy -p mixdata --all-targets --features burn -- -D warnings
cargo test -p mixdata --features burn --lib --test integrations
cargo test -p mixdata --features burn --doc integrations

step "no_std proof: mixcore in a #![no_std] staticlib with its own panic handler (host, and bare-metal aarch64 and 32-bit Cortex-M4F)"
for t in "" aarch64-unknown-none thumbv7em-none-eabihf; do
  cargo build --release --manifest-path ci/nostd-check/Cargo.toml --target-dir target/nostd ${t:+--target "$t"}
done

step "aarch64 under qemu: mixcore and the property tests on the NEON path (wide); tests/ and benches/ compile"
(
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
  a64=(--target aarch64-unknown-linux-gnu --target-dir target/aarch64)
  # One package and target set for the check and both runs, so they share one build. The CLI's
  # end-to-end tests are left out: they run mixcli over FFmpeg, which is not cross-built.
  props=(-p mixcore -p framemix-tests --lib --test mix_props --test kernel_props --test errors
         --test paper_examples --test contract_readings --test plan_props)
  cargo check "${a64[@]}" "${props[@]}"
  cargo check "${a64[@]}" -p framemix-benches --benches
  # Full case counts, but for the one property whose cases take seconds each under qemu
  # (about 2 s a case here): 32 of its 64 cases.
  heavy=backends_agree_on_wide_frames_and_long_windows
  cargo test "${a64[@]}" "${props[@]}" -- --skip "$heavy"
  PROPTEST_CASES=32 cargo test "${a64[@]}" "${props[@]}" -- --exact "$heavy"
)

step "packaging: mixcore publishes (dry run); mixcuda packages its CUDA sources and PTX"
# --allow-dirty: what is checked is the package's content, also before a commit.
cargo publish --dry-run --allow-dirty -p mixcore
cargo package --allow-dirty --no-verify -p mixcore -p mixcuda
listed=$(cargo package --allow-dirty --no-verify --list -p mixcuda)
for f in kernels/mix.ptx kernels/mix.cu kernels/contract.cuh LICENSE-MIT LICENSE-APACHE; do
  grep -qx "$f" <<<"$listed" || { echo "test.sh: mixcuda's package lacks $f" >&2; exit 1; }
done
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tar -xOzf "target/package/mixcuda-$version.crate" "mixcuda-$version/kernels/mix.ptx" |
  cmp - mixcuda/kernels/mix.ptx
# Builds and tests mixcuda from its own package (the embedded PTX included) against mixcore's
# package, both unpacked afresh. Not `cargo package`'s own verification: it unpacks a
# workspace member's package into CARGO_HOME under a name that depends only on the clone's
# path and the version, and reuses what an earlier run left there, so a runner that clones
# to the same path verified against a stale mixcore (CI's run of 25eff83 failed so).
verify=target/package/verify
rm -rf "$verify" && mkdir -p "$verify"
for c in mixcore mixcuda; do tar -xzf "target/package/$c-$version.crate" -C "$verify"; done
cat >"$verify/Cargo.toml" <<EOF
[workspace]
resolver = "3"
members = ["mixcuda-$version"]

[patch.crates-io]
mixcore = { path = "mixcore-$version" }
EOF
cp Cargo.lock "$verify/"
cargo build --manifest-path "$verify/Cargo.toml" --target-dir target/package/verify-target -p mixcuda

step "mixcore and the property tests again with AVX2 compiled in (wide's AVX paths)"
RUSTFLAGS="-C target-cpu=x86-64-v3" cargo test --target-dir target/v3 -p mixcore -p framemix-tests \
  --test mix_props --test kernel_props --test errors --test paper_examples --lib

step "the same again with AVX-512 compiled in (x86-64-v4), where the CPU has AVX-512 BW and VL"
if grep -qw avx512bw /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo; then
  RUSTFLAGS="-C target-cpu=x86-64-v4" cargo test --target-dir target/v4 -p mixcore -p framemix-tests \
    --test mix_props --test kernel_props --test errors --test paper_examples --lib
else
  echo "SKIPPED: this CPU has no AVX-512 BW/VL: the x86-64-v4 pass did NOT run (Avx512 untested)" >&2
fi

step "mixcuda: committed PTX is fresh and nvcc-clean"
bash scripts/build-ptx.sh --check

step "mixcuda with the cuda feature (device tests print 'skipped' without a GPU)"
cargo clippy -p mixcuda -p mixdata -p mixcli -p framemix-benches --all-targets \
  --features mixcuda/cuda,mixcli/cuda,framemix-benches/cuda -- -D warnings
cargo test -p mixcuda --features cuda
cargo test -p mixdata --features cuda
# mixcli's unit and end-to-end tests again, against the binary built with the cuda feature
# (cli_cuda checks that build mixes exactly on a GPU or names the missing device).
cargo test -p mixcli --features cuda --lib --test cli_cuda

step "Python module: pip install ./python in target/pyvenv, pytest python/tests (bit for bit against mixcli)"
bash scripts/python-test.sh

step "SLURM array job: a one-node cluster, sbatch --wait --array=0-2 scripts/slurm-batch.sh, equal to one process bit for bit"
bash scripts/slurm-test.sh

step "benches build"
cargo bench -p framemix-benches --no-run

step "fuzz: a short pass of every cargo-fuzz target (fails on any crash)"
bash scripts/fuzz.sh 30

printf '\nall checks passed in %d s\n' "$(($(date +%s) - t0))"
