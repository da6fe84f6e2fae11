"""The array is float32, C-contiguous and holds the mixed values without a copy; torch shares
it; the GIL is released while a clip is decoded and mixed."""

import threading
import time

import numpy as np
import pytest

import framemix


def test_array_is_float32_c_contiguous_and_not_copied(media):
    x = framemix.mix(media["h264"])
    assert x.dtype == np.float32 and x.shape == (8, 3, 48, 64)
    assert x.flags.c_contiguous and x.flags.aligned and x.flags.writeable
    # The values live in the allocation the mix wrote: the array's base is the object that
    # owns that Rust allocation, not another array (numpy made no copy).
    assert not isinstance(x.base, np.ndarray)
    assert type(x.base).__name__ == "PySliceContainer"
    x[0, 0, 0, 0] = -1.0  # writable, and owned by the array's base
    assert x[0, 0, 0, 0] == -1.0


@pytest.mark.parametrize("layout,shape", [("tchw", (8, 3, 48, 64)), ("cthw", (3, 8, 48, 64)),
                                          ("thwc", (8, 48, 64, 3))])
def test_layouts_give_their_shapes(layout, shape, media):
    x = framemix.mix(media["h264"], layout=layout)
    assert x.shape == shape and x.flags.c_contiguous


def test_torch_from_numpy_shares_memory(media):
    torch = pytest.importorskip(
        "torch", reason="TORCH NOT INSTALLED: the zero-copy torch test did not run "
        "(pip install torch to run it; CI does not install it)")
    x = framemix.mix(media["h264"])
    t = torch.from_numpy(x)
    assert t.dtype == torch.float32 and tuple(t.shape) == x.shape
    assert t.data_ptr() == x.ctypes.data
    t[0, 0, 0, 0] = 1234.5
    assert x[0, 0, 0, 0] == np.float32(1234.5)


def ran_inside(call, n: int = 4) -> tuple:
    """Makes `n` calls of `call` in another thread while this thread loops, and returns in how
    many of them this thread ran Python code during the middle half of the call, and the
    calls' shortest length. A call that held the GIL would let it run at no time inside (the
    interpreter's switch interval lets it in only between calls); a loaded host's scheduler
    can keep it off a core for tens of milliseconds, not for the middle of several calls. A
    call that releases the GIL gives 3 or 4 of 4 here, one that holds it 0 or 1 (the
    control below)."""
    done = threading.Event()
    spans = []

    def work():
        for _ in range(n):
            start = time.perf_counter()
            call()
            spans.append((start, time.perf_counter()))
        done.set()

    t = threading.Thread(target=work)
    stamps = []
    t.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
    t.join()
    stamps = np.array(stamps)
    inside = 0
    for start, end in spans:
        q = (end - start) / 4
        inside += bool(((stamps > start + q) & (stamps < end - q)).any())
    return inside, min(end - start for start, end in spans)


def test_gil_released_while_mixing(media):
    # Mixes of 300 frames of 320x240 in another thread: this thread keeps running.
    clip = media["long"]
    inside, shortest = ran_inside(lambda: framemix.mix(clip))
    assert shortest > 0.04, f"a mix took only {shortest:.3f} s: too fast to tell"
    assert inside >= 3, f"this thread ran inside only {inside} of 4 mixes"


def test_gil_measure_sees_a_held_gil():
    # The control: sorting a long list of floats is one C call that holds the GIL.
    import random

    values = [random.random() for _ in range(300_000)]
    inside, shortest = ran_inside(lambda: sorted(values))
    assert shortest > 0.04, f"a sort took only {shortest:.3f} s: too fast to tell"
    # At most one: a loaded host can delay the start of a call after its clock was read (the
    # GIL handed over between the two), which lets this thread run early in its span.
    assert inside <= 1, f"this thread ran inside {inside} of 4 sorts, which hold the GIL"


def test_threads_mix_in_parallel_with_the_same_result(media):
    from concurrent.futures import ThreadPoolExecutor

    clips = [media[k] for k in ("h264", "vp9", "mjpeg", "jpeg_folder")] * 3
    want = [framemix.mix(c) for c in clips]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(framemix.mix, clips))
    for g, w in zip(got, want):
        assert np.array_equal(g.view(np.uint32), w.view(np.uint32))
