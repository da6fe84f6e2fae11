#!/usr/bin/env bash
# mixdata's Loader against the decode floor (issue 12's benchmark, issue 15's decode-bound
# pipeline), in one run on the six real clips of ../shared/realdata/fetch.sh:
#   floor: the ffmpeg program decoding each clip to rgb24 on one thread, nothing written
#          (`ffmpeg -threads 1 -benchmark -i F -f rawvideo -pix_fmt rgb24 -y /dev/null`,
#          its own rtime, which leaves out its start-up and probing), summed over the clips;
#   loaderbench --workers 1 and --workers 2: every clip decoded and mixed through the Loader
#          (default plan, no resize, f32), timed from the loader's creation to the epoch's end.
# The three are run in turn in each of $REPS rounds; the medians give clips/s and the ratio
# to the target: with W workers, at least 0.9 x W x the floor's clips/s. Clips are passed
# largest first, so that two workers share them as evenly as whole clips allow.
# CPU seconds (every thread, user + system; ffmpeg's utime + stime) are reported beside them:
# on a host that other work keeps busy, wall-clock ratios say little about two threads.
# Then the peak RSS of loaderbench (VmHWM) with every clip once, 10 and 30 times: memory is
# bounded by the batch buffers in flight and recycled (each grows to the largest clip it has
# held, so the first rounds of clips raise it) and flat in the number of clips after that.
# Last, mixcli's start-up: `mixcli --version` against `true`, wall and CPU time.
# Usage: scripts/loader-bench.sh [REPS]   (default 5; builds loaderbench and mixcli in release mode)
# Clips: $FRAMEMIX_REALDATA, else target/realdata (DEST=target/realdata bash
# ../shared/realdata/fetch.sh fetches them).
set -euo pipefail

REPS=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
who=loader-bench
source "$root/scripts/realdata-clips.sh"
cargo build --release --quiet --bin loaderbench --manifest-path "$root/Cargo.toml"
cargo build --release --quiet -p mixcli --manifest-path "$root/Cargo.toml"
bin="$target/release/loaderbench"

python3 - "$bin" "$target/release/mixcli" "$REPS" "${clips[@]}" <<'PY'
import json, os, re, statistics, subprocess, sys, time

bin, mixcli, reps, clips = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
# Largest first (bytes), for an even split between workers.
clips.sort(key=lambda c: -os.path.getsize(c))

def floor_seconds():
    """Sums over the clips of the ffmpeg program's -benchmark rtime and utime + stime, one
    decoder thread."""
    total, cpu = 0.0, 0.0
    for c in clips:
        p = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-threads", "1", "-benchmark",
                            "-i", c, "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", "/dev/null"],
                           capture_output=True, text=True, check=True)
        m = re.search(r"utime=([0-9.]+)s stime=([0-9.]+)s rtime=([0-9.]+)s", p.stderr)
        if not m:
            sys.exit(f"loader-bench: no rtime in ffmpeg's output for {c}")
        total += float(m.group(3))
        cpu += float(m.group(1)) + float(m.group(2))
    return total, cpu

def loaderbench(workers, repeat=1):
    p = subprocess.run([bin, "--workers", str(workers), "--repeat", str(repeat), "--json", *clips],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"loader-bench: loaderbench failed: {p.stderr.strip()}")
    return json.loads(p.stdout.strip().splitlines()[-1])

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu}, {os.cpu_count()} CPUs, "
      f"{len(clips)} clips, {reps} rounds (floor, W=1, W=2 in turn)")
floor_seconds(); loaderbench(1)  # warm the page cache and the binaries
rounds = {"floor": [], 1: [], 2: []}
cpu = {"floor": [], 1: [], 2: []}
for r in range(reps):
    t, c = floor_seconds()
    rounds["floor"].append(t); cpu["floor"].append(c)
    for w in (1, 2):
        j = loaderbench(w)
        rounds[w].append(j["seconds"]); cpu[w].append(j["cpu_seconds"] or float("nan"))
    print(f"  round {r + 1}: floor {rounds['floor'][-1]:.3f} s, W=1 {rounds[1][-1]:.3f} s, "
          f"W=2 {rounds[2][-1]:.3f} s", flush=True)
n = len(clips)
floor_cps = n / statistics.median(rounds["floor"])
print(f"\nmedians of {reps}:")
print(f"  floor (ffmpeg -threads 1, rgb24)  {statistics.median(rounds['floor']):6.3f} s  "
      f"{floor_cps:6.2f} clips/s  (CPU {statistics.median(cpu['floor']):.2f} s)")
for w in (1, 2):
    cps = n / statistics.median(rounds[w])
    ratio = cps / (w * floor_cps)
    verdict = "met" if ratio >= 0.9 else "NOT met"
    print(f"  loaderbench --workers {w}          {statistics.median(rounds[w]):6.3f} s  "
          f"{cps:6.2f} clips/s  = {ratio:.2f} x {w} x floor (target 0.90: {verdict}); "
          f"CPU {statistics.median(cpu[w]):.2f} s = {statistics.median(cpu[w]) / statistics.median(cpu['floor']):.2f} x the floor's")

runs = [loaderbench(1, k) for k in (1, 10, 30)]
if all(r["max_rss_kib"] for r in runs):
    print("\npeak RSS, W=1: " + ", ".join(
        f"{r['clips']} clips {r['max_rss_kib'] / 1024:.1f} MiB" for r in runs)
        + f" (30x over 10x: x{runs[2]['max_rss_kib'] / runs[1]['max_rss_kib']:.2f})")
def start_up(cmd, n=20):
    """Median wall and CPU (user + system) milliseconds of running cmd n times."""
    wall, cpu = [], []
    for _ in range(n):
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, ru = os.wait4(p.pid, 0)
        wall.append(time.perf_counter() - t); cpu.append(ru.ru_utime + ru.ru_stime)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000

print("\nstart-up, medians of 20 (wall, CPU):")
for name, cmd in [("mixcli --version", [mixcli, "--version"]), ("true (a trivial program)", ["true"])]:
    w, c = start_up(cmd)
    print(f"  {name:26s} {w:6.1f} ms  {c:5.1f} ms CPU")
print("load average (1, 5, 15 min) at the end: %.2f %.2f %.2f (other work skews timings)"
      % os.getloadavg())
PY
