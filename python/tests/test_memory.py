"""Memory stays flat over many clips: in a fresh process, the resident set after 200 more
mixes (or 800 failed calls) is within a bound of the resident set after a warm-up of 20. The
same measurement, keeping every output instead, is shown to exceed the bound, so the test
can fail.

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

clip, damaged, mode = sys.argv[1:]
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
    x = framemix.mix(clip, frames="all" if i % 2 else 5)
    assert x.shape == (8, 3, 48, 64)
    if mode == "keep":
        kept.append(x)

for i in range(20):
    step(i)
before = rss()
for i in range(200):
    step(i)
print(rss() - before)
"""


def growth(media, mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(media["h264"]), str(media["damaged"]), mode],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def test_memory_flat_over_many_mixes(media):
    grown = growth(media, "flat")
    assert grown < BOUND, f"resident set grew by {grown / 2**20:.1f} MiB over 200 mixes"


def test_memory_flat_over_many_failures(media):
    grown = growth(media, "fail")
    assert grown < BOUND, f"resident set grew by {grown / 2**20:.1f} MiB over 800 failed calls"


def test_memory_measure_sees_a_leak(media):
    # The control: keeping every output (a leak of 295 KB per call) must grow past the bound.
    grown = growth(media, "keep")
    assert grown > BOUND, f"keeping 200 outputs grew the resident set by only {grown} bytes"
