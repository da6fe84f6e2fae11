"""framemix.Loader: mixdata's loader threads over a VideoDataset. The same batches whatever the
number of threads, each batch the dataset's items stacked, a seeded order per epoch, new
train-mode draws per epoch, the error policies, numpy owning the batches, and the GIL released
while it waits."""

from __future__ import annotations

import os
import pathlib
import shutil
import threading
import time

import numpy as np
import pytest

import framemix
from conftest import assert_bits_equal

TRAIN = dict(segments=4, frames=2, train=True, seed=11, resize_short=36, crop=(32, 24),
             crop_mode="random", flip=True)
EVAL = dict(segments=4, crop=(32, 24))


@pytest.fixture(scope="session")
def clip_list(media, tmp_path_factory) -> pathlib.Path:
    """Seven clips of four sizes (relative and absolute paths)."""
    d = tmp_path_factory.mktemp("loader")
    (d / "clips").mkdir()
    for name, kind in [("a.mp4", "h264"), ("b.avi", "mjpeg"), ("c.webm", "vp9")]:
        shutil.copy(media[kind], d / "clips" / name)
    lines = ["clips/a.mp4 3", "clips/b.avi 1", f"{media['rot90']} 4", "clips/c.webm 0",
             f"{media['h264']} 2", f"{media['mjpeg']} 6", f"{media['vp9']} 5"]
    (d / "train.txt").write_text("\n".join(lines) + "\n")
    return d / "train.txt"


def dataset(clip_list, **options):
    return framemix.VideoDataset(clip_list, clip_list.parent, **(options or TRAIN))


def run(loader):
    """Every batch of one iteration, as numpy arrays."""
    return [(b, lab, idx) for b, lab, idx in loader]


def assert_same_batches(a, b, what=""):
    assert len(a) == len(b), what
    for n, ((xa, la, ia), (xb, lb, ib)) in enumerate(zip(a, b)):
        assert np.array_equal(ia, ib) and np.array_equal(la, lb), f"{what} batch {n}"
        assert_bits_equal(xa, xb, f"{what} batch {n}")


def test_same_batches_whatever_the_number_of_threads(clip_list):
    ds = dataset(clip_list)
    runs = {}
    for workers in (0, 1, 2, 3):
        loader = framemix.Loader(ds, 3, workers, seed=5, epoch=1)
        runs[workers] = run(loader)
    for workers in (0, 2, 3):
        assert_same_batches(runs[workers], runs[1], f"{workers} threads against 1")
    assert [len(i) for _, _, i in runs[1]] == [3, 3, 1]


def test_batches_are_the_datasets_items_stacked(clip_list):
    ds = dataset(clip_list)
    loader = framemix.Loader(ds, 2, 2, seed=9)
    for epoch in (0, 3):
        loader.set_epoch(epoch)
        ds.set_epoch(epoch)
        assert loader.epoch == epoch
        seen = []
        for batch, labels, indices in loader:
            assert batch.shape == (len(indices), 4, 3, 24, 32)
            assert labels.dtype == np.int64 and indices.dtype == np.int64
            items = [ds[int(i)] for i in indices]
            assert_bits_equal(batch, np.stack([x for x, _ in items]), f"epoch {epoch}")
            assert labels.tolist() == [label for _, label in items]
            seen.extend(indices.tolist())
        assert seen == loader.order(epoch)
        assert sorted(seen) == list(range(len(ds)))


def test_shuffled_order_gives_the_same_bits_per_index(clip_list):
    ds = dataset(clip_list)
    ds.set_epoch(2)
    want = {i: ds[i][0] for i in range(len(ds))}
    orders = []
    for shuffle, seed in [(True, 0), (True, 1), (False, 0)]:
        loader = framemix.Loader(ds, 4, 2, shuffle=shuffle, seed=seed, epoch=2)
        order = []
        for batch, _, indices in loader:
            for x, i in zip(batch, indices):
                assert_bits_equal(x, want[int(i)], f"sample {i} (shuffle={shuffle}, seed={seed})")
            order.extend(indices.tolist())
        orders.append(order)
    assert orders[2] == list(range(len(ds)))
    assert orders[0] != orders[1] and sorted(orders[0]) == sorted(orders[1]) == orders[2]


def test_epoch_changes_order_and_train_draws_not_eval(clip_list):
    train = framemix.Loader(dataset(clip_list), 7, 2, seed=3)
    e0 = run(train)[0]
    train.set_epoch(1)
    e1 = run(train)[0]
    assert e0[2].tolist() != e1[2].tolist()  # the order
    by_index0 = {int(i): x for x, i in zip(e0[0], e0[2])}
    by_index1 = {int(i): x for x, i in zip(e1[0], e1[2])}
    redrawn = [i for i in by_index0 if not np.array_equal(by_index0[i], by_index1[i])]
    assert len(redrawn) >= 5, f"epoch 1 redrew only {redrawn}"

    ev = framemix.Loader(dataset(clip_list, **EVAL), 7, 2, shuffle=False)
    a = run(ev)
    ev.set_epoch(9)
    assert_same_batches(run(ev), a, "eval, epoch 9 against epoch 0")


def test_len_and_drop_last(clip_list):
    ds = dataset(clip_list)
    assert len(framemix.Loader(ds, 3, 1)) == 3
    dropping = framemix.Loader(ds, 3, 1, drop_last=True)
    assert len(dropping) == 2
    assert [len(i) for _, _, i in dropping] == [3, 3]
    assert len(framemix.Loader(ds, 100, 1)) == 1


def test_batches_are_owned_by_numpy_without_a_copy(clip_list):
    loader = framemix.Loader(dataset(clip_list, **EVAL), 4, 1)
    batch, labels, indices = next(iter(loader))
    assert batch.dtype == np.float32 and batch.flags.c_contiguous and batch.flags.writeable
    assert type(batch.base).__name__ == "PySliceContainer"
    assert loader.sample_shape == (4, 3, 24, 32) and batch.shape[1:] == loader.sample_shape
    assert labels.shape == indices.shape == (4,)


def test_layouts_give_their_batch_shapes(clip_list):
    for layout, shape in [("cthw", (3, 4, 24, 32)), ("thwc", (4, 24, 32, 3))]:
        ds = dataset(clip_list, **dict(EVAL, layout=layout))
        batch, _, _ = next(iter(framemix.Loader(ds, 2, 1)))
        assert batch.shape == (2, *shape)


def test_torch_shares_the_batch(clip_list):
    torch = pytest.importorskip(
        "torch", reason="TORCH NOT INSTALLED: the zero-copy torch batch test did not run "
        "(pip install torch to run it; CI does not install it)")
    batch, labels, _ = next(iter(framemix.Loader(dataset(clip_list), 2, 1)))
    t = torch.from_numpy(batch)
    assert t.data_ptr() == batch.ctypes.data and torch.from_numpy(labels).dtype == torch.int64


def test_skip_policy_leaves_failed_samples_out(clip_list, tmp_path):
    lines = clip_list.read_text().splitlines()
    lines.insert(2, "clips/missing.mp4 9")
    lines.insert(5, f"{clip_list} 8")  # a text file, not a video
    lst = tmp_path / "l.txt"
    lst.write_text("\n".join(lines) + "\n")
    ds = framemix.VideoDataset(lst, clip_list.parent, **TRAIN)
    loader = framemix.Loader(ds, 3, 2, shuffle=False, on_error="skip")
    got = run(loader)
    assert [i.tolist() for _, _, i in got] == [[0, 1, 3], [4, 6, 7], [8]]
    skipped = loader.skipped
    assert [i for i, _ in skipped] == [2, 5]
    assert isinstance(skipped[0][1], framemix.InputNotFoundError)
    assert skipped[0][1].filename == str(clip_list.parent / "clips" / "missing.mp4")
    assert isinstance(skipped[1][1], framemix.InputError)
    for x, _, idx in got:
        for row, i in zip(x, idx):
            assert_bits_equal(row, ds[int(i)][0], f"sample {i}")

    # The default policy: the first batch holds the missing clip, and raises its error.
    it = iter(framemix.Loader(ds, 3, 2, shuffle=False))
    with pytest.raises(framemix.InputNotFoundError) as e:
        next(it)
    assert "missing.mp4" in str(e.value)
    # The epoch ended with the error; the next one starts afresh.
    with pytest.raises(StopIteration):
        next(it)
    assert len(run(framemix.Loader(ds, 2, 1, shuffle=False, on_error="skip"))) == 4


def test_fail_policy_raises_at_the_first_failed_sample(clip_list, tmp_path):
    lst = tmp_path / "l.txt"
    lst.write_text(f"{clip_list.parent / 'clips' / 'a.mp4'} 0\n{tmp_path / 'gone.mp4'} 1\n")
    loader = framemix.Loader(framemix.VideoDataset(lst, tmp_path, **TRAIN), 1, 1, shuffle=False)
    it = iter(loader)
    assert next(it)[2].tolist() == [0]
    with pytest.raises(framemix.InputNotFoundError) as e:
        next(it)
    assert e.value.filename == str(tmp_path / "gone.mp4")


def test_a_clip_of_another_shape_is_an_error_naming_it(clip_list, tmp_path):
    # Without a crop every clip keeps its size; the first clip's shape is the batch's.
    loader = framemix.Loader(dataset(clip_list, segments=2), 7, 1, shuffle=False)
    with pytest.raises(framemix.FramemixError) as e:
        run(loader)
    assert "b.avi" in str(e.value)


def test_multi_label_clips_give_a_label_matrix(media, tmp_path):
    lst = tmp_path / "l.txt"
    lst.write_text(f"{media['h264']} 3\n{media['vp9']} 4 5 6\n{media['h264']} 7 8\n")
    loader = framemix.Loader(framemix.VideoDataset(lst, tmp_path, **EVAL), 3, 1, shuffle=False)
    _, labels, _ = next(iter(loader))
    assert labels.dtype == np.int64
    assert labels.tolist() == [[3, -1, -1], [4, 5, 6], [7, 8, -1]]


def test_breaking_off_an_epoch_stops_its_threads(clip_list):
    def threads():  # the process's threads, Rust ones included
        return len(os.listdir("/proc/self/task"))

    loader = framemix.Loader(dataset(clip_list), 1, 3, prefetch=2)
    before = threads()
    for n, _ in enumerate(loader):
        during = threads()
        if n == 1:
            break
    assert during == before + 3
    # The abandoned iterator's threads end when it is dropped (at the break); a new epoch
    # gives the whole epoch.
    assert threads() == before
    assert sum(len(i) for _, _, i in loader) == 7


def test_gil_released_while_waiting(media, tmp_path):
    # A Python thread keeps running while the loader waits for a long clip's batch.
    from test_interop import ran_inside

    lst = tmp_path / "l.txt"
    lst.write_text(f"{media['long']} 0\n" * 4)
    # One batch in flight: the thread starts a batch when the previous one is taken, so each
    # wait lasts about a clip's decoding.
    ds = framemix.VideoDataset(lst, tmp_path, segments=2, size=(64, 48))
    epoch = iter(framemix.Loader(ds, 1, 1, prefetch=1))
    inside, shortest = ran_inside(lambda: next(epoch))
    assert shortest > 0.04, f"a batch came in only {shortest:.3f} s: too fast to tell"
    assert inside >= 3, f"this thread ran inside only {inside} of 4 waits for a batch"


@pytest.mark.parametrize("args,kwargs,exc,piece", [
    ((0, 1), {}, framemix.OptionError, "batch_size"),
    ((2, 257), {}, framemix.OptionError, "more than the limit of 256"),
    ((2, -1), {}, framemix.OptionError, "workers"),
    ((2, 1), {"on_error": "ignore"}, framemix.OptionError, "'ignore' is not an error policy"),
    ((2, 1), {"seed": -1}, framemix.OptionError, "seed"),
    ((2, 1), {"prefetch": 0}, framemix.OptionError, "prefetch"),
    ((2, 1), {"epoch": 2**64}, framemix.OptionError, "epoch"),
    ((2.0, 1), {}, TypeError, None),
    ((2, 1), {"shuffle": "yes"}, TypeError, None),
])
def test_bad_options_raise(args, kwargs, exc, piece, clip_list):
    with pytest.raises(exc) as e:
        framemix.Loader(dataset(clip_list), *args, **kwargs)
    if piece:
        assert piece in str(e.value)


def test_a_loader_needs_a_video_dataset():
    with pytest.raises(TypeError, match="must be a framemix.VideoDataset, not list"):
        framemix.Loader([1, 2, 3], 2, 1)


EXIT_CHILD = r"""
import sys, threading, time
import framemix

lst, mode = sys.argv[1:]
ds = framemix.VideoDataset(lst, ".", segments=2, size=(64, 48))
it = iter(framemix.Loader(ds, 1, 2))
next(it)
if mode == "waiting":
    # Another thread waits for a batch (without the GIL) while the interpreter exits.
    threading.Thread(target=lambda: [b for b in it], daemon=True).start()
    time.sleep(0.05)
print("exiting", mode)
"""


@pytest.mark.parametrize("mode", ["live", "waiting"])
def test_exit_with_an_unfinished_epoch_is_clean(mode, media, tmp_path):
    # The interpreter exits with an epoch half read (its threads still mixing): the epoch's
    # threads are stopped, or the process ends around them, without a crash or a hang.
    import subprocess
    import sys

    lst = tmp_path / "l.txt"
    lst.write_text(f"{media['long']} 0\n" * 6)
    done = subprocess.run([sys.executable, "-c", EXIT_CHILD, str(lst), mode],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"exiting {mode}"
