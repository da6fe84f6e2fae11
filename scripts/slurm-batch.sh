#!/usr/bin/env bash
# An example SLURM array job: `mixcli batch` over an annotation list, one shard per array task.
#
# Submit it with one array task per shard, numbered from 0 (N tasks: --array=0-(N-1)):
#
#   sbatch --array=0-15 scripts/slurm-batch.sh LIST FORMAT ROOT OUT_DIR [mixcli batch options...]
#
#   LIST     the annotation list (`--list`)
#   FORMAT   its format: video, rawframes, sthv1 or sthv2 (`--list-format`)
#   ROOT     the folder the list's paths are relative to (`--root`)
#   OUT_DIR  the output folder, on storage every node sees (`--out-dir`)
#   the rest goes to `mixcli batch` as is, e.g. `--labels labels.json` (sthv1, sthv2),
#   `--resize-short 256 --crop 224x224 --crop-mode three`, `--train --seed 1 --epoch 3`.
#
# Array task I of N runs `mixcli batch --list LIST ... --shard I/N`: it takes the clips whose
# position in the list, sorted by output name, is I modulo N, and writes their `.npy` files
# under OUT_DIR and its part of the index as `OUT_DIR/index-shard-I-of-N.jsonl`. The shards
# together write exactly what one `mixcli batch` run without `--shard` writes (the same bits;
# the index lines of all shards are those of its `index.jsonl`); `cat
# OUT_DIR/index-shard-*-of-N.jsonl | sort` by index gives it back. A clip's train-mode seed
# depends on its index in the list, never on the shard. Resubmitting the job resumes: each task
# skips the outputs whose record says they are current.
#
# The shard is the task's position in the array, so the array's ids must be consecutive
# (`--array=0-15` or `--array=1-16`; a step like `0-15:2` or a list is refused). `%N` limits
# how many run at once (`--array=0-15%4`). Each task mixes with as many workers as it has
# CPUs (`#SBATCH --cpus-per-task`, below). The program is `$MIXCLI` when set, else `mixcli`
# on the PATH: sbatch passes the submitting shell's environment to the job, so
# `MIXCLI=/path/to/mixcli sbatch ...` works.
#
# Exit status: mixcli's (0 only when every clip of the shard was mixed; a failed clip is
# listed in OUT_DIR/mixcli-failures-shard-I-of-N.jsonl), 2 for a wrong submission.
#
#SBATCH --job-name=mixcli-batch
#SBATCH --cpus-per-task=4
#SBATCH --output=mixcli-batch-%A_%a.log
set -euo pipefail

usage() {
  echo "slurm-batch.sh: $*" >&2
  echo "usage: sbatch --array=0-(N-1) slurm-batch.sh LIST FORMAT ROOT OUT_DIR [mixcli batch options...]" >&2
  exit 2
}

[ $# -ge 4 ] || usage "expected LIST FORMAT ROOT OUT_DIR, got $# arguments"
list=$1 format=$2 root=$3 out=$4
shift 4

[ -n "${SLURM_ARRAY_TASK_ID:-}" ] || usage "not an array task (submit it with sbatch --array=0-(N-1))"
task=$SLURM_ARRAY_TASK_ID
min=${SLURM_ARRAY_TASK_MIN:?SLURM_ARRAY_TASK_MIN unset}
max=${SLURM_ARRAY_TASK_MAX:?SLURM_ARRAY_TASK_MAX unset}
count=${SLURM_ARRAY_TASK_COUNT:?SLURM_ARRAY_TASK_COUNT unset}
if [ "$((max - min + 1))" != "$count" ]; then
  usage "the array's ids ($min..$max, $count tasks) are not consecutive; use --array=$min-$((min + count - 1))"
fi
shard="$((task - min))/$count"

mixcli=${MIXCLI:-mixcli}
jobs=${SLURM_CPUS_PER_TASK:-1}
echo "slurm-batch.sh: job ${SLURM_ARRAY_JOB_ID:-?} task $task on $(hostname -s): shard $shard, $jobs workers" >&2
exec "$mixcli" batch --list "$list" --list-format "$format" --root "$root" --out-dir "$out" \
  --shard "$shard" --jobs "$jobs" "$@"
