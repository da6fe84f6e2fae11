#!/usr/bin/env bash
# mixcli end-to-end benchmarks (issue 4), on media made here with the ffmpeg program:
#   1. `mixcli mix` wall time over the decode-only time of the same input (the ffmpeg program
#      decoding every frame to RGB24, nothing written), for a 300-frame 320x240 H.264 clip and
#      a 48-frame 224x224 JPEG folder; both on one decoder thread, best of $REPS runs each,
#      measured alternately in the same run. Goal: <= 1.10.
#   2. Peak RSS of `mixcli mix` on a 60 s clip against a 6 s clip. Goal: within 10%.
#   3. `mixcli batch --jobs 2` against `--jobs 1` over 20 clips. Goal: >= 1.7x.
# Usage: scripts/cli-bench.sh [REPS]   (builds mixcli in release mode first)
set -euo pipefail

REPS=${1:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --release --quiet -p mixcli --manifest-path "$root/Cargo.toml"
bin="$target/release/mixcli"
work=$(mktemp -d "${TMPDIR:-/tmp}/mixcli-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

ff() { ffmpeg -hide_banner -v error -nostdin -y "$@"; }

echo "making media in $work ..."
ff -f lavfi -i testsrc2=size=320x240:rate=30 -frames:v 300 -c:v libx264 -preset medium \
   -pix_fmt yuv420p "$work/clip300.mp4"
mkdir -p "$work/jpeg48"
ff -f lavfi -i testsrc2=size=224x224:rate=12 -frames:v 48 -q:v 3 "$work/jpeg48/%05d.jpg"
ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 6 -c:v libx264 -pix_fmt yuv420p "$work/clip6s.mp4"
ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 60 -c:v libx264 -pix_fmt yuv420p "$work/clip60s.mp4"
mkdir -p "$work/batch"
for i in $(seq -w 1 20); do
  ff -f lavfi -i "testsrc2=size=320x240:rate=25,hue=h=$((10#$i * 17))" -frames:v 150 \
     -c:v libx264 -pix_fmt yuv420p "$work/batch/clip$i.mp4"
done

python3 - "$bin" "$work" "$REPS" <<'PY'
import os, resource, subprocess, sys, time

bin, work, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = os.path.join(work, "out.npy")

def wall(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t

def best_pair(a, b):
    """Best-of-reps wall times of two commands, run alternately."""
    ta, tb = [], []
    wall(a); wall(b)  # warm the page cache and the binaries
    for _ in range(reps):
        ta.append(wall(a)); tb.append(wall(b))
    return min(ta), min(tb)

def decode_only(inp, image_seq=False):
    src = ["-f", "image2", "-i", os.path.join(inp, "%05d.jpg")] if image_seq else ["-i", inp]
    return ["ffmpeg", "-hide_banner", "-v", "error", "-nostdin", "-threads", "1", *src,
            "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-y", "/dev/null"]

print("\n1. mixcli mix / decode-only (one decoder thread, best of %d)" % reps)
for name, inp, seq in [("300-frame 320x240 H.264", os.path.join(work, "clip300.mp4"), False),
                       ("48-frame 224x224 JPEG folder", os.path.join(work, "jpeg48"), True)]:
    mix, dec = best_pair([bin, "mix", inp, "-o", out, "--threads", "1"], decode_only(inp, seq))
    print(f"   {name:30s} mix {mix*1000:7.1f} ms  decode {dec*1000:7.1f} ms  ratio {mix/dec:.3f}")

print("\n2. peak RSS of mixcli mix (default plan, raw scale)")
rss = {}
for name in ["clip6s", "clip60s"]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run(["python3", "-c",
        "import resource,subprocess,sys;subprocess.run(sys.argv[1:],check=True,stderr=subprocess.DEVNULL);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
        bin, "mix", os.path.join(work, name + ".mp4"), "-o", out], check=True, capture_output=True, text=True)
    rss[name] = int(p.stdout.strip())
    print(f"   {name:8s} {rss[name]/1024:7.1f} MiB")
print(f"   60 s / 6 s = {rss['clip60s']/rss['clip6s']:.3f}")

print("\n3. batch over 20 clips (150 frames each, 320x240), best of %d, runs alternated" % reps)
# Outputs on the disk (each .npy is fsynced) and in memory (/dev/shm: CPU scaling alone).
dests = [("disk", work)] + ([("tmpfs", "/dev/shm")] if os.path.isdir("/dev/shm") else [])
for where, base in dests:
    times = {1: [], 2: []}
    for _ in range(reps):
        for jobs in [1, 2]:
            od = os.path.join(base, f"mixcli-bench-out{os.getpid()}-{jobs}")
            subprocess.run(["rm", "-rf", od], check=True)
            times[jobs].append(wall([bin, "batch", os.path.join(work, "batch"), "--out-dir", od,
                                     "--jobs", str(jobs)]))
            subprocess.run(["rm", "-rf", od], check=True)
    t1, t2 = min(times[1]), min(times[2])
    print(f"   outputs on {where:5s}: --jobs 1 {t1:6.2f} s, --jobs 2 {t2:6.2f} s, speed-up {t1/t2:.2f}x")
print("\nload average (1, 5, 15 min) at the end: %.2f %.2f %.2f (2 cores; other work skews timings)"
      % os.getloadavg())
PY
