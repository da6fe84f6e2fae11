#!/usr/bin/env bash
# The main job on the embedded default input, from a clean clone on Debian bookworm (as
# root): installs what it needs, builds mixcli in release and runs `mixcli demo`, which
# synthesises a clip with moving objects, mixes it with the default plan (8 segments, all
# frames, linear weights) and writes the tensor, a preview PNG and the plan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --release -p mixcli -- demo "$@"
