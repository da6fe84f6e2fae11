#!/usr/bin/env bash
# mixcli end to end: a video file to a tensor, against the decode floor.
#
# Part 1 (issue 15), on the six real clips of ../shared/realdata/fetch.sh, in one run:
#   floor:   the ffmpeg program decoding the clip to rgb24 on one thread, nothing written
#            (`ffmpeg -threads 1 -benchmark -i F -f rawvideo -pix_fmt rgb24 -y /dev/null`), its
#            own rtime, which leaves out its start-up and probing;
#   start-up: `mixcli --version`, median wall of 20 runs (dynamic linking of FFmpeg's
#            libraries, mostly: see the README);
#   mix:     `mixcli mix F -o OUT --threads 1` (default plan: 8 segments, every frame, linear;
#            f32 .npy), wall clock, start-up included.
#            The same with `--dtype f16` (half the bytes written) is reported beside it.
#   Target: mix <= 1.10 x (floor + start-up) per clip.
#   batch:   `mixcli batch --threads 1 --jobs J` over three copies of the six clips (18 inputs),
#            wall clock; clips/s against the floor's (18 / three times the summed rtimes).
#            Targets: --jobs 1 >= 0.95 x the floor's clips/s, --jobs 2 >= 1.8 x.
#   Floor, mix and batch runs alternate within each of $REPS rounds; medians are reported,
#   with CPU seconds (user + system) beside wall times: on a shared host a wall-clock ratio of
#   two threads says little by itself. Outputs go to /dev/shm where it exists (the floor
#   writes nothing either), else to the temporary folder.
# Part 2 (issue 4, with --synthetic), on media made here with the ffmpeg program:
#   1. `mixcli mix` wall time over the decode-only time of the same input (the ffmpeg program
#      decoding every frame to RGB24, nothing written), for a 300-frame 320x240 H.264 clip and
#      a 48-frame 224x224 JPEG folder; both on one decoder thread, best of $REPS runs each,
#      measured alternately in the same run. Goal: <= 1.10.
#   2. Peak RSS of `mixcli mix` on a 60 s clip against a 6 s clip. Goal: within 10%.
#   3. `mixcli batch --jobs 2` against `--jobs 1` over 20 clips. Goal: >= 1.7x.
# Usage: scripts/cli-bench.sh [--synthetic] [REPS]   (default 5; builds mixcli in release mode)
# Clips: $FRAMEMIX_REALDATA, else target/realdata (DEST=target/realdata bash
# ../shared/realdata/fetch.sh fetches them).
set -euo pipefail

synthetic=0
if [[ "${1:-}" == "--synthetic" ]]; then synthetic=1; shift; fi
REPS=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
who=cli-bench
source "$root/scripts/realdata-clips.sh"
cargo build --release --quiet -p mixcli --manifest-path "$root/Cargo.toml"
bin="$target/release/mixcli"
work=$(mktemp -d "${TMPDIR:-/tmp}/mixcli-bench.XXXXXX")
shm=""
if [[ -d /dev/shm && -w /dev/shm ]]; then shm=$(mktemp -d /dev/shm/mixcli-bench.XXXXXX); fi
trap 'rm -rf "$work" ${shm:+"$shm"}' EXIT
outs=${shm:-$work}

python3 - "$bin" "$outs" "$REPS" "${clips[@]}" <<'PY'
import os, re, statistics, subprocess, sys, time

bin, outs, reps, clips = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
med = statistics.median

def run(cmd):
    """Wall and CPU (user + system) seconds of cmd, which must succeed."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        sys.exit(f"cli-bench: {' '.join(cmd)} failed: {err.decode(errors='replace').strip()}")
    return wall, ru.ru_utime + ru.ru_stime

def floor(c):
    """The ffmpeg program's own rtime and CPU for decoding c to rgb24 on one thread."""
    p = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-threads", "1", "-benchmark",
                        "-i", c, "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", "/dev/null"],
                       capture_output=True, text=True, check=True)
    m = re.search(r"utime=([0-9.]+)s stime=([0-9.]+)s rtime=([0-9.]+)s", p.stderr)
    if not m:
        sys.exit(f"cli-bench: no rtime in ffmpeg's output for {c}")
    return float(m.group(3)), float(m.group(1)) + float(m.group(2))

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu}, {os.cpu_count()} CPUs, "
      f"load {os.getloadavg()[0]:.2f} at the start, {reps} rounds")

out = os.path.join(outs, "out.npy")
mix_cmd = lambda c: [bin, "mix", c, "-o", out, "--threads", "1"]
half_cmd = lambda c: mix_cmd(c) + ["--dtype", "f16"]
copies = 3
batch_in = os.path.join(outs, "batch-in")
for k in range(copies):
    os.makedirs(os.path.join(batch_in, f"copy{k}"))
    for c in clips:
        dst = os.path.join(batch_in, f"copy{k}", os.path.basename(c))
        with open(c, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
n_batch = copies * len(clips)

def batch(jobs):
    od = os.path.join(outs, f"batch-out-{jobs}")
    subprocess.run(["rm", "-rf", od], check=True)
    r = run([bin, "batch", batch_in, "--out-dir", od, "--jobs", str(jobs), "--threads", "1"])
    made = sum(len([f for f in fs if f.endswith(".npy")]) for _, _, fs in os.walk(od))
    if made != n_batch:
        sys.exit(f"cli-bench: batch --jobs {jobs} wrote {made} outputs, expected {n_batch}")
    subprocess.run(["rm", "-rf", od], check=True)
    return r

startup = [run([bin, "--version"]) for _ in range(20)]
st_wall, st_cpu = med(w for w, _ in startup), med(c for _, c in startup)
print(f"start-up (mixcli --version, median of 20): {st_wall * 1000:.1f} ms wall, {st_cpu * 1000:.1f} ms CPU")

for c in clips:  # warm the page cache and the binary
    floor(c); run(mix_cmd(c))
fl = {c: [] for c in clips}; mx = {c: [] for c in clips}; hx = {c: [] for c in clips}
b1, b2 = [], []
for r in range(reps):
    for c in clips:
        fl[c].append(floor(c))
        mx[c].append(run(mix_cmd(c)))
        hx[c].append(run(half_cmd(c)))
    b1.append(batch(1)); b2.append(batch(2))
    print(f"  round {r + 1} done: batch --jobs 1 {b1[-1][0]:.2f} s, --jobs 2 {b2[-1][0]:.2f} s", flush=True)

print(f"\nmedians of {reps} rounds; times in ms")
print("| clip | floor rtime | floor + start-up | `mixcli mix` | ratio (target <= 1.10) | mix / floor | mix CPU / floor CPU | `--dtype f16` | its ratio |")
print("|---|---|---|---|---|---|---|---|---|")
worst = 0.0
for c in clips:
    f = med(w for w, _ in fl[c]); fc = med(x for _, x in fl[c])
    m = med(w for w, _ in mx[c]); mc = med(x for _, x in mx[c])
    h = med(w for w, _ in hx[c])
    ratio = m / (f + st_wall)
    worst = max(worst, ratio)
    print(f"| {os.path.basename(c)} | {f * 1000:.1f} | {(f + st_wall) * 1000:.1f} | {m * 1000:.1f} | "
          f"{ratio:.2f} {'met' if ratio <= 1.10 else 'NOT met'} | {m / f:.2f} | {mc / fc:.2f} | "
          f"{h * 1000:.1f} | {h / (f + st_wall):.2f} |")
print(f"worst ratio: {worst:.2f}")

floor_total = copies * sum(med(w for w, _ in fl[c]) for c in clips)
floor_cpu = copies * sum(med(x for _, x in fl[c]) for c in clips)
floor_cps = n_batch / floor_total
print(f"\nbatch over {n_batch} clips ({copies} copies of each), --threads 1, outputs in {outs}")
print("| | wall s | clips/s | / floor's clips/s | target | CPU s / floor's CPU |")
print("|---|---|---|---|---|---|")
print(f"| floor (summed rtime) | {floor_total:.2f} | {floor_cps:.2f} | 1 | | 1 |")
for jobs, runs, goal in [(1, b1, 0.95), (2, b2, 1.8)]:
    w = med(x for x, _ in runs); cpu_s = med(x for _, x in runs)
    ratio = (n_batch / w) / floor_cps
    print(f"| `batch --jobs {jobs}` | {w:.2f} | {n_batch / w:.2f} | {ratio:.2f} | >= {goal} "
          f"{'met' if ratio >= goal else 'NOT met'} | {cpu_s / floor_cpu:.2f} |")
print("load average (1, 5, 15 min) at the end: %.2f %.2f %.2f (other work skews timings)"
      % os.getloadavg())
PY

[[ $synthetic == 1 ]] || exit 0

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
