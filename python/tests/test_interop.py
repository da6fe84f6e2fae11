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


def test_gil_released_while_mixing(media):
    # A Python thread keeps running while another thread is inside framemix.mix: the longest
    # pause between its loop iterations is far shorter than the mix. A mix that held the GIL
    # would stop the loop for its whole length.
    clip = media["long"]  # 300 frames of 320x240
    start = time.perf_counter()
    framemix.mix(clip)
    alone = time.perf_counter() - start
    done = threading.Event()
    span = {}

    def work():
        span["start"] = time.perf_counter()
        framemix.mix(clip)
        span["end"] = time.perf_counter()
        done.set()

    t = threading.Thread(target=work)
    stamps = []
    t.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
    t.join()
    inside = [s for s in stamps if span["start"] <= s <= span["end"]]
    edges = [span["start"], *inside, span["end"]]
    longest = max(b - a for a, b in zip(edges, edges[1:]))
    mix_time = span["end"] - span["start"]
    assert mix_time > 0.05, f"the clip mixed too fast ({mix_time:.3f} s) to tell"
    assert longest < mix_time / 3, (
        f"the other thread stopped for {longest:.3f} s of a {mix_time:.3f} s mix "
        f"({alone:.3f} s alone)")


def test_threads_mix_in_parallel_with_the_same_result(media):
    from concurrent.futures import ThreadPoolExecutor

    clips = [media[k] for k in ("h264", "vp9", "mjpeg", "jpeg_folder")] * 3
    want = [framemix.mix(c) for c in clips]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(framemix.mix, clips))
    for g, w in zip(got, want):
        assert np.array_equal(g.view(np.uint32), w.view(np.uint32))
