"""framemix.VideoDataset: the clips of an annotation list mixed as `mixcli batch --list` mixes
them (bit for bit), the same bits whatever the order, thread or process that fetches a
sample, new train-mode draws each epoch, pickling for DataLoader worker processes, and bad
input raised as exceptions.

torch is not installed in the test venv (too heavy for CI): DataLoader's use of a dataset is
exercised through what it relies on, pickling into spawned worker processes and forked
workers, with multiprocessing itself.
"""

from __future__ import annotations

import json
import multiprocessing
import operator
import pathlib
import pickle
import random
import shutil
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import framemix
from conftest import assert_bits_equal

#: Train-mode options: every draw (positions, random crop, flip) depends on the seed rule.
TRAIN = dict(segments=4, frames=2, train=True, seed=11, resize_short=36, crop=(32, 24),
             crop_mode="random", flip=True)
TRAIN_FLAGS = ["--segments", "4", "--frames", "2", "--train", "--seed", "11", "--resize-short",
               "36", "--crop", "32x24", "--crop-mode", "random", "--flip"]
#: Test-mode options.
EVAL = dict(segments=4, crop=(32, 24))
EVAL_FLAGS = ["--segments", "4", "--crop", "32x24"]


def write_list(path: pathlib.Path, lines) -> pathlib.Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


@pytest.fixture(scope="session")
def video_list(media, tmp_path_factory) -> pathlib.Path:
    """Six clips of four sizes in a list whose folder is the root: relative paths (copies of
    the media under clips/) and absolute ones."""
    d = tmp_path_factory.mktemp("lists")
    (d / "clips").mkdir()
    for name, kind in [("a.mp4", "h264"), ("b.avi", "mjpeg"), ("c.mp4", "h264"),
                       ("d.webm", "vp9")]:
        shutil.copy(media[kind], d / "clips" / name)
    return write_list(d / "train.txt", [
        "clips/a.mp4 3",
        f"{media['vp9']} 1",
        "clips/b.avi 4",
        f"{media['rot90']} 0",
        "clips/c.mp4 2",
        "clips/d.webm 5",
    ])


def root_of(media) -> pathlib.Path:
    return media["h264"].parent


def items(ds, order=None):
    return {i: ds[i] for i in (order if order is not None else range(len(ds)))}


def test_len_paths_and_labels(video_list, media):
    ds = framemix.VideoDataset(video_list, video_list.parent, **EVAL)
    assert len(ds) == 6 and ds.epoch == 0 and ds.sample_shape == (4, 3, 24, 32)
    clips = video_list.parent / "clips"
    assert [pathlib.Path(p) for p in ds.paths] == [
        clips / "a.mp4", media["vp9"], clips / "b.avi", media["rot90"], clips / "c.mp4",
        clips / "d.webm"]
    x, label = ds[2]
    assert x.shape == (4, 3, 24, 32) and x.dtype == np.float32 and x.flags.c_contiguous
    assert type(x.base).__name__ == "PySliceContainer"  # numpy owns the values, no copy
    assert label == 4 and type(label) is int
    assert [ds[i][1] for i in range(6)] == [3, 1, 4, 0, 2, 5]


@pytest.mark.parametrize("options,flags,epoch", [
    (EVAL, EVAL_FLAGS, None),
    (TRAIN, TRAIN_FLAGS, 0),
    (TRAIN, TRAIN_FLAGS, 2),
    (dict(TRAIN, crop_mode="multiscale", layout="cthw", scale="imagenet"),
     [f if f != "random" else "multiscale" for f in TRAIN_FLAGS] + ["--layout", "cthw",
                                                                    "--scale", "imagenet"], 1),
    (dict(EVAL, crop_mode="three"), EVAL_FLAGS + ["--crop-mode", "three"], None),
], ids=["eval", "train-epoch0", "train-epoch2", "train-multiscale-cthw", "eval-three-crops"])
def test_items_equal_mixcli_batch_list(options, flags, epoch, video_list, media, cli, tmp_path):
    ds = framemix.VideoDataset(video_list, video_list.parent, **options)
    epoch_flags = []
    if epoch is not None:
        ds.set_epoch(epoch)
        epoch_flags = ["--epoch", str(epoch)]
    out = tmp_path / "out"
    done = cli.run(["batch", "--list", str(video_list), "--root", str(video_list.parent),
                    "--out-dir", str(out), *flags, *epoch_flags])
    assert done.returncode == 0, done.stderr
    lines = [json.loads(t) for t in (out / "index.jsonl").read_text().splitlines()]
    assert sorted(line["index"] for line in lines) == list(range(6))
    for line in lines:
        x, label = ds[line["index"]]
        assert [label] == line["labels"]
        assert_bits_equal(x, np.load(out / line["output"]), f"sample {line['index']}")


def test_rawframes_list_matches_mixcli_batch(media, cli, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(media["rawframes"], copy)
    lst = write_list(tmp_path / "frames.txt", [f"{media['rawframes'].name} 16 7",
                                               f"{copy} 16 8 9"])
    ds = framemix.VideoDataset(lst, root_of(media), "rawframes", segments=3, train=True, seed=2)
    ds.set_epoch(4)
    out = tmp_path / "out"
    done = cli.run(["batch", "--list", str(lst), "--list-format", "rawframes", "--root",
                    str(root_of(media)), "--out-dir", str(out), "--segments", "3", "--train",
                    "--seed", "2", "--epoch", "4"])
    assert done.returncode == 0, done.stderr
    lines = [json.loads(t) for t in (out / "index.jsonl").read_text().splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert_bits_equal(ds[line["index"]][0], np.load(out / line["output"]))
    # The second line has two labels: a tuple.
    assert ds[0][1] == 7 and ds[1][1] == (8, 9)


def test_sthv2_list_with_its_label_file(media, tmp_path):
    root = tmp_path / "videos"
    root.mkdir()
    for vid in ("101", "102"):
        shutil.copy(media["vp9"], root / f"{vid}.webm")
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"Holding something next to something": "35"}))
    lst = tmp_path / "train.json"
    lst.write_text(json.dumps([
        {"id": "101", "label": "holding a cup next to a pen",
         "template": "Holding [something] next to [something]", "placeholders": ["a cup", "a pen"]},
        {"id": "102"},  # the test split: no label
    ]))
    ds = framemix.VideoDataset(lst, root, list_format="sthv2", labels=labels, segments=2)
    assert len(ds) == 2 and ds[0][1] == 35 and ds[1][1] == -1
    assert_bits_equal(ds[0][0], framemix.mix(media["vp9"], segments=2))
    with pytest.raises(framemix.OptionError, match="needs its label file"):
        framemix.VideoDataset(lst, root, list_format="sthv2")


def test_same_bits_whatever_the_fetch_order_or_thread(video_list, media):
    ds = framemix.VideoDataset(video_list, video_list.parent, **TRAIN)
    ds.set_epoch(3)
    want = items(ds)
    order = list(range(len(ds))) * 2
    random.Random(5).shuffle(order)
    for i in order:
        assert_bits_equal(ds[i][0], want[i][0], f"sample {i} fetched again")
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(lambda i: (i, ds[i][0]), order))
    for i, x in got:
        assert_bits_equal(x, want[i][0], f"sample {i} from a thread")


def test_epoch_changes_train_draws_and_not_eval(video_list, media):
    train = framemix.VideoDataset(video_list, video_list.parent, **TRAIN)
    e0 = items(train)
    train.set_epoch(1)
    assert train.epoch == 1
    e1 = items(train)
    changed = [i for i in e0 if not np.array_equal(e0[i][0], e1[i][0])]
    assert len(changed) >= 4, f"epoch 1 redrew only samples {changed}"
    train.set_epoch(0)
    for i, (x, _) in items(train).items():
        assert_bits_equal(x, e0[i][0], f"epoch 0 again, sample {i}")
    # The epoch keyword starts the dataset there.
    started = framemix.VideoDataset(video_list, video_list.parent, epoch=1, **TRAIN)
    assert started.epoch == 1
    assert_bits_equal(started[2][0], e1[2][0])

    ev = framemix.VideoDataset(video_list, video_list.parent, **EVAL)
    before = items(ev)
    ev.set_epoch(7)
    for i, (x, _) in items(ev).items():
        assert_bits_equal(x, before[i][0], f"eval sample {i} in epoch 7")


def test_index_out_of_range_raises_index_error(video_list, media):
    ds = framemix.VideoDataset(video_list, video_list.parent, **EVAL)
    for bad in (-1, -6, 6, 2**40, 2**70, -(2**70)):
        with pytest.raises(IndexError, match=f"index {bad} is out of range"):
            ds[bad]
    for bad in ("0", 1.0, True, slice(0, 2)):
        with pytest.raises(TypeError, match="indices must be integers"):
            ds[bad]
    # Iteration by __getitem__ ends at the IndexError.
    assert len(list(ds)) == 6
    assert ds[np.int64(1)][1] == 1


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip_gives_equal_items(protocol, video_list, media):
    ds = framemix.VideoDataset(str(video_list), video_list.parent, "video", None, **TRAIN)
    ds.set_epoch(5)
    back = pickle.loads(pickle.dumps(ds, protocol=protocol))
    assert type(back) is framemix.VideoDataset and len(back) == len(ds) and back.epoch == 5
    assert repr(back) == repr(ds) and back.paths == ds.paths
    for i in (0, 3):
        a, b = ds[i], back[i]
        assert a[1] == b[1]
        assert_bits_equal(b[0], a[0], f"sample {i}")


def _fetch_in_child(ds, indices, queue):
    queue.put([(i, ds[i][0], ds[i][1]) for i in indices])


def test_spawned_worker_processes_fetch_the_same_bits(video_list, media):
    # As DataLoader with multiprocessing_context="spawn": the dataset is pickled into each
    # worker process, rebuilt there, and fetches indices the sampler hands out.
    ds = framemix.VideoDataset(video_list, video_list.parent, **TRAIN)
    ds.set_epoch(2)
    want = items(ds)
    order = [5, 0, 3, 1, 4, 2]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        got = list(pool.map(operator.getitem, [ds] * len(order), order))
    for i, (x, label) in zip(order, got):
        assert label == want[i][1]
        assert_bits_equal(x, want[i][0], f"sample {i} from a spawned process")


def test_forked_worker_process_fetches_the_same_bits(video_list, media):
    # As DataLoader's default on Linux: workers are forked with the dataset in their memory.
    ds = framemix.VideoDataset(video_list, video_list.parent, **TRAIN)
    ds.set_epoch(1)
    want = items(ds)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_fetch_in_child, args=(ds, [4, 1], queue))
    child.start()
    got = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    for i, x, label in got:
        assert label == want[i][1]
        assert_bits_equal(x, want[i][0], f"sample {i} from a forked process")


# --- bad input -------------------------------------------------------------------------------


def test_missing_list_raises_file_not_found(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(framemix.InputNotFoundError) as e:
        framemix.VideoDataset(missing, tmp_path)
    assert isinstance(e.value, FileNotFoundError) and e.value.filename == str(missing)
    assert str(missing) in str(e.value)


@pytest.mark.parametrize("fmt,text,line,piece", [
    ("video", "a.mp4 3\nb.mp4 x\n", 2, "the label 'x' is not a non-negative integer"),
    ("video", "a.mp4 3\n\nc.mp4\n", 3, "'c.mp4' has no label"),
    ("rawframes", "dir 12 3\ndir twelve 3\n", 2, None),
])
def test_malformed_line_names_the_file_and_line(fmt, text, line, piece, tmp_path):
    lst = tmp_path / "bad.txt"
    lst.write_text(text)
    with pytest.raises(framemix.InputError) as e:
        framemix.VideoDataset(lst, tmp_path, fmt)
    assert str(e.value).startswith(f"{lst}:{line}: "), str(e.value)
    assert e.value.filename == str(lst) and e.value.kind == "list"
    if piece:
        assert piece in str(e.value)


@pytest.mark.parametrize("kwargs,exc,piece", [
    ({"list_format": "csv"}, framemix.OptionError, "'csv' is not a list format"),
    ({"frames": 0}, framemix.OptionError, "must be at least 1 (or 'all')"),
    ({"train": True}, framemix.OptionError, None),
    ({"seed": 3}, framemix.OptionError, "a seed is for train mode"),
    ({"crop": (32, 32), "crop_mode": "random"}, framemix.OptionError, "needs train mode"),
    ({"flip": True}, framemix.OptionError, "--flip: a training augmentation"),
    ({"layout": "nchw"}, framemix.OptionError, None),
    ({"template": "img.jpg"}, framemix.OptionError, "is not a frame template"),
    ({"threads": 65}, framemix.OptionError, "more than the limit of 64"),
    ({"epoch": -1}, framemix.OptionError, "epoch"),
    ({"device": "tpu"}, framemix.OptionError, None),
    ({"segments": "8"}, TypeError, "argument 'segments'"),
    ({"layout": None}, TypeError, "argument 'layout'"),
    ({"crop": 32}, TypeError, "argument 'crop'"),
    ({"bogus": 1}, TypeError, "unexpected keyword argument 'bogus'"),
])
def test_bad_options_raise(kwargs, exc, piece, video_list, media):
    with pytest.raises(exc) as e:
        framemix.VideoDataset(video_list, video_list.parent, **kwargs)
    if piece:
        assert piece in str(e.value)


def test_bad_clips_raise_on_fetch_and_the_rest_still_mix(media, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a video")
    lst = write_list(tmp_path / "l.txt", [f"{media['h264']} 0", "missing.mp4 1", f"{text} 2",
                                          f"{media['damaged']} 3"])
    ds = framemix.VideoDataset(lst, tmp_path, segments=4)
    assert len(ds) == 4
    with pytest.raises(framemix.InputNotFoundError) as e:
        ds[1]
    assert e.value.filename == str(tmp_path / "missing.mp4")
    with pytest.raises(framemix.InputError) as e:
        ds[2]
    assert e.value.filename == str(text)
    with pytest.raises(framemix.InputError):
        ds[3]  # a frame folder in a video list
    assert_bits_equal(ds[0][0], framemix.mix(media["h264"], segments=4))


def test_damaged_clip_allowed_warns(media, tmp_path):
    lst = write_list(tmp_path / "l.txt", [f"{media['damaged']} 10 0"])
    ds = framemix.VideoDataset(lst, tmp_path, "rawframes", template="{}.jpg", allow_damaged=True)
    with pytest.warns(framemix.DamagedInputWarning, match="damaged input mixed anyway"):
        x, _ = ds[0]
    strict = framemix.VideoDataset(lst, tmp_path, "rawframes", template="{}.jpg")
    with pytest.raises(framemix.InputError):
        strict[0]
    assert x.shape[0] == 8


def test_empty_list_is_an_empty_dataset(tmp_path):
    lst = write_list(tmp_path / "empty.txt", [])
    ds = framemix.VideoDataset(lst, tmp_path)
    assert len(ds) == 0
    with pytest.raises(IndexError):
        ds[0]
    with pytest.raises(framemix.OptionError, match="no clips"):
        framemix.Loader(ds, 2, 1)


def test_set_epoch_refuses_a_bad_epoch(video_list, media):
    ds = framemix.VideoDataset(video_list, video_list.parent, **EVAL)
    with pytest.raises(framemix.OptionError):
        ds.set_epoch(-1)
    with pytest.raises(TypeError):
        ds.set_epoch(1.5)
    assert ds.epoch == 0
