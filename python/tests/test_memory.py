"""Memory stays flat over many clips: in a fresh process, the resident set after 200 more
mixes (or 800 failed calls) is within a bound of the resident set after a warm-up of 20, and
after 100 more loader batches (50 epochs, a failed clip skipped in each) within a bound of
the resident set after 10, for float32 and the half dtypes. The same measurements, keeping
every output instead, are shown to exceed the bounds, so the tests can fail.

Each measurement runs in its own process: in the test process the allocator keeps the memory
earlier tests freed (large outputs) and would hide a leak of that size.
"""

import subprocess
import sys

import pytest

#: The growth allowed after the warm-up: a leak of 32 KB per call over 200 calls passes it.
#: One output of the clip below (8 x 3 x 48 x 64 float32) is 295 KB.
BOUND = 6 * 2**20

CHILD = r"""
import gc, os, sys
import framemix

clip, damaged, mode, dtype = sys.argv[1:]
PAGE = os.sysconf("SC_PAGE_SIZE")

def rss():
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE

def fail_all():
    for call in (lambda: framemix.mix(clip + ".missing"), lambda: framemix.mix(damaged),
                 lambda: framemix.mix("/proc/self/statm"),
                 lambda: framemix.mix(clip, frames=0)):
        try:
            call()
        except framemix.FramemixError:
            pass

kept = []
def step(i):
    if mode == "fail":
        fail_all()
        return
    x = framemix.mix(clip, frames="all" if i % 2 else 5, dtype=dtype)
    assert x.shape == (8, 3, 48, 64) and x.dtype.itemsize == (4 if dtype == "float32" else 2)
    if mode == "keep":
        kept.append(x)

for i in range(20):
    step(i)
before = rss()
for i in range(200):
    step(i)
print(rss() - before)
"""


def growth(media, mode: str, dtype: str = "float32") -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(media["h264"]), str(media["damaged"]), mode, dtype],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def test_memory_flat_over_many_mixes(media):
    grown = growth(media, "flat")
    assert grown < BOUND, f"resident set grew by {grown / 2**20:.1f} MiB over 200 mixes"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_memory_flat_over_many_half_mixes(media, dtype):
    grown = growth(media, "flat", dtype)
    assert grown < BOUND, f"resident set grew by {grown / 2**20:.1f} MiB over 200 {dtype} mixes"


def test_memory_flat_over_many_failures(media):
    grown = growth(media, "fail")
    assert grown < BOUND, f"resident set grew by {grown / 2**20:.1f} MiB over 800 failed calls"


def test_memory_measure_sees_a_leak(media):
    # The control: keeping every output (a leak of 295 KB per call) must grow past the bound.
    grown = growth(media, "keep")
    assert grown > BOUND, f"keeping 200 outputs grew the resident set by only {grown} bytes"


LOADER_CHILD = r"""
import gc, os, sys
import framemix

lst, mode, dtype = sys.argv[1:]
PAGE = os.sysconf("SC_PAGE_SIZE")

def rss():
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE

ds = framemix.VideoDataset(lst, os.path.dirname(lst), segments=4, frames=2, train=True, seed=1,
                           crop=(32, 24), crop_mode="random")
loader = framemix.Loader(ds, 4, 2, on_error="skip", dtype=dtype)
kept = []
def epochs(n, start):
    for e in range(start, start + n):
        loader.set_epoch(e)
        for batch, labels, indices in loader:
            assert batch.shape == (4, 4, 3, 24, 32), batch.shape
            if mode == "keep":
                kept.append(batch)
        assert [i for i, _ in loader.skipped] == [3]

epochs(5, 0)  # warm-up: 10 batches
before = rss()
epochs(50, 5)  # 100 batches, 400 clips (one missing clip skipped each epoch)
print(rss() - before)
"""

#: One batch is 4 x 4 x 3 x 24 x 32 float32 (147 KB): keeping 100 of them is 14.7 MB.
LOADER_BOUND = 6 * 2**20


def loader_growth(media, tmp_path, mode: str, dtype: str = "float32") -> int:
    lst = tmp_path / "list.txt"
    lines = [f"{media[k]} {n}" for n, k in enumerate(["h264", "mjpeg", "vp9"])]
    lines += [f"{tmp_path / 'missing.mp4'} 3"] + [f"{media['mjpeg']} {n}" for n in range(4, 9)]
    lst.write_text("\n".join(lines) + "\n")
    done = subprocess.run([sys.executable, "-c", LOADER_CHILD, str(lst), mode, dtype],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def test_memory_flat_over_many_loader_batches(media, tmp_path):
    grown = loader_growth(media, tmp_path, "flat")
    assert grown < LOADER_BOUND, f"resident set grew by {grown / 2**20:.1f} MiB over 100 batches"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_memory_flat_over_many_half_loader_batches(media, tmp_path, dtype):
    # The half batches are new buffers; the float32 ones are freed when rounded.
    grown = loader_growth(media, tmp_path, "flat", dtype)
    assert grown < LOADER_BOUND, \
        f"resident set grew by {grown / 2**20:.1f} MiB over 100 {dtype} batches"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_kept_half_batches_take_half_the_memory(media, tmp_path, dtype):
    # Keeping 100 batches grows the resident set by about their size: half as much for a half
    # dtype (measured: 5.5 to 9.3 MiB against 12.8 to 14.1 MiB for float32), since no float32
    # copy of a batch outlives its rounding; one that did would make it at least as much.
    f32 = loader_growth(media, tmp_path, "keep")
    half = loader_growth(media, tmp_path, "keep", dtype)
    assert half < 0.85 * f32, f"100 kept batches: {half} bytes in {dtype}, {f32} in float32"


def test_loader_memory_measure_sees_a_leak(media, tmp_path):
    grown = loader_growth(media, tmp_path, "keep")
    assert grown > LOADER_BOUND, f"keeping 100 batches grew the resident set by only {grown} bytes"
