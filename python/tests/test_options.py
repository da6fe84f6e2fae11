"""Every option of framemix.mix and framemix.info maps to the same result as the CLI's flag,
and a value the CLI refuses is refused with the same parser's message."""

import numpy as np
import pytest

import framemix
from conftest import assert_bits_equal

# (framemix keyword arguments, the same as mixcli flags, input)
MIX_CASES = [
    ({}, [], "h264"),
    ({"segments": 3}, ["--segments", "3"], "h264"),
    ({"segments": 16}, ["--segments", "16"], "h264"),
    # More segments than frames: windows of one frame repeat.
    ({"segments": 60}, ["--segments", "60"], "png_folder"),
    ({"frames": 5}, ["--frames", "5"], "h264"),
    ({"frames": 1}, ["--frames", "1"], "vp9"),
    ({"frames": "all"}, ["--frames", "all"], "h264"),
    ({"frames": "ALL"}, ["--frames", "ALL"], "h264"),
    ({"frames": np.int64(4)}, ["--frames", "4"], "h264"),
    ({"schedule": "average"}, ["--schedule", "average"], "h264"),
    ({"schedule": "linear"}, ["--schedule", "linear"], "h264"),
    ({"schedule": "linear0"}, ["--schedule", "linear0"], "mjpeg"),
    ({"schedule": "Average"}, ["--schedule", "Average"], "h264"),
    ({"schedule": "custom:1,2,3"}, ["--schedule", "custom:1,2,3"], "h264"),
    ({"schedule": "custom:0, 5"}, ["--schedule", "custom:0, 5"], "h264"),
    ({"schedule": [1, 2, 3]}, ["--schedule", "custom:1,2,3"], "h264"),
    ({"schedule": (4, 0, 1, 9), "segments": 4}, ["--schedule", "custom:4,0,1,9", "--segments", "4"],
     "jpeg_folder"),
    ({"schedule": [7, 1], "frames": 2}, ["--schedule", "custom:7,1", "--frames", "2"], "h264"),
    ({"select": "consecutive", "frames": 3}, ["--select", "consecutive", "--frames", "3"], "h264"),
    ({"select": "spread", "frames": 3}, ["--select", "spread", "--frames", "3"], "h264"),
    ({"train": True, "seed": 0}, ["--train", "--seed", "0"], "h264"),
    ({"train": True, "seed": 42, "frames": 2}, ["--train", "--seed", "42", "--frames", "2"], "vp9"),
    ({"train": True, "seed": 2**64 - 1}, ["--train", "--seed", str(2**64 - 1)], "h264"),
    ({"layout": "tchw"}, ["--layout", "tchw"], "h264"),
    ({"layout": "cthw"}, ["--layout", "cthw"], "h264"),
    ({"layout": "thwc"}, ["--layout", "thwc"], "jpeg_folder"),
    ({"scale": "raw"}, ["--scale", "raw"], "h264"),
    ({"scale": "unit"}, ["--scale", "unit"], "h264"),
    ({"scale": "imagenet"}, ["--scale", "imagenet"], "png_folder"),
    ({"size": (40, 30)}, ["--size", "40x30"], "h264"),
    ({"size": [33, 17]}, ["--size", "33x17"], "vp9"),
    ({"size": "80x60"}, ["--size", "80x60"], "jpeg_folder"),
    ({"size": "80X60"}, ["--size", "80X60"], "mjpeg"),
    ({"threads": 0}, ["--threads", "0"], "long"),
    ({"threads": 1}, ["--threads", "1"], "long"),
    ({"threads": 2}, ["--threads", "2"], "vp9"),
    ({"autorotate": True}, [], "rot90"),
    ({"autorotate": False}, ["--no-autorotate"], "rot90"),
    ({"autorotate": True, "size": (20, 30)}, ["--size", "20x30"], "rot90"),
    ({"allow_damaged": True}, ["--allow-damaged"], "damaged"),
    ({"device": "cpu"}, ["--device", "cpu"], "h264"),
    # The epoch: the seed of clip 0 of a one-clip list in epoch E (--epoch E).
    ({"train": True, "seed": 3, "epoch": 0}, ["--train", "--seed", "3", "--epoch", "0"], "h264"),
    ({"train": True, "seed": 3, "epoch": 5, "frames": 2},
     ["--train", "--seed", "3", "--epoch", "5", "--frames", "2"], "vp9"),
    # The transforms.
    ({"resize_short": 40}, ["--resize-short", "40"], "h264"),
    ({"resize_short": np.int32(100)}, ["--resize-short", "100"], "mjpeg"),
    ({"crop": (32, 24)}, ["--crop", "32x24"], "h264"),
    ({"crop": "40x30", "resize_short": 36}, ["--crop", "40x30", "--resize-short", "36"], "vp9"),
    ({"crop": [30, 20], "size": (50, 40)}, ["--crop", "30x20", "--size", "50x40"], "jpeg_folder"),
    ({"crop": (32, 24), "crop_mode": "center"}, ["--crop", "32x24", "--crop-mode", "center"], "png_folder"),
    ({"crop": (32, 32), "crop_mode": "random", "train": True, "seed": 5},
     ["--crop", "32x32", "--crop-mode", "random", "--train", "--seed", "5"], "h264"),
    ({"crop": (32, 32), "crop_mode": "multiscale", "train": True, "seed": 6, "resize_short": 44},
     ["--crop", "32x32", "--crop-mode", "multiscale", "--train", "--seed", "6",
      "--resize-short", "44"], "vp9"),
    ({"flip": True, "train": True, "seed": 1}, ["--flip", "--train", "--seed", "1"], "h264"),
    ({"flip": True, "train": True, "seed": 2}, ["--flip", "--train", "--seed", "2"], "h264"),
    ({"flip": True, "train": True, "seed": 4, "epoch": 1, "crop": (40, 40), "crop_mode": "random",
      "layout": "thwc"},
     ["--flip", "--train", "--seed", "4", "--epoch", "1", "--crop", "40x40", "--crop-mode",
      "random", "--layout", "thwc"], "jpeg_folder"),
    ({"flip": False}, [], "h264"),
    # Three crops: a leading axis of three views (mmaction2's ThreeCrop offsets).
    ({"crop": (32, 24), "crop_mode": "three"}, ["--crop", "32x24", "--crop-mode", "three"], "h264"),
    ({"crop": (24, 24), "crop_mode": "three", "resize_short": 30, "layout": "thwc"},
     ["--crop", "24x24", "--crop-mode", "three", "--resize-short", "30", "--layout", "thwc"],
     "png_folder"),
    # Frame templates.
    ({"template": "img_{:05}.jpg"}, ["--template", "img_{:05}.jpg"], "rawframes"),
    ({"template": "img_{:05}.jpg", "start": 1}, ["--template", "img_{:05}.jpg", "--start", "1"],
     "rawframes"),
    ({"template": "{}.jpg", "segments": 4}, ["--template", "{}.jpg", "--segments", "4"],
     "jpeg_folder"),
    ({"template": "f_{:03}.jpg", "start": 0}, ["--template", "f_{:03}.jpg", "--start", "0"],
     "from0"),
]


@pytest.mark.parametrize(
    "kwargs,flags,kind", MIX_CASES, ids=[f"{k}-{' '.join(f)}" for _, f, k in MIX_CASES]
)
def test_mix_option_matches_cli(kwargs, flags, kind, media, cli):
    if kwargs.get("allow_damaged"):
        with pytest.warns(framemix.DamagedInputWarning, match="damaged input mixed anyway"):
            got = framemix.mix(media[kind], **kwargs)
    else:
        got = framemix.mix(media[kind], **kwargs)
    assert_bits_equal(got, cli.mix(media[kind], flags), f"{kwargs}")


def test_rotation_turns_the_frames(media):
    turned = framemix.mix(media["rot90"])
    stored = framemix.mix(media["rot90"], autorotate=False)
    assert turned.shape == (8, 3, 64, 48) and stored.shape == (8, 3, 48, 64)


def test_schedule_list_equals_its_custom_spelling(media):
    a = framemix.mix(media["h264"], schedule=[3, 1, 2])
    b = framemix.mix(media["h264"], schedule="custom:3,1,2")
    assert_bits_equal(a, b)


def test_train_seeds_draw_different_frames(media):
    a = framemix.mix(media["long"], train=True, seed=1, frames=2)
    b = framemix.mix(media["long"], train=True, seed=2, frames=2)
    c = framemix.mix(media["long"], train=True, seed=1, frames=2)
    assert not np.array_equal(a, b)
    assert_bits_equal(a, c, "same seed")


INFO_CASES = [
    ({}, []),
    ({"segments": 4, "frames": 3}, ["--segments", "4", "--frames", "3"]),
    ({"schedule": [1, 2]}, ["--schedule", "custom:1,2"]),
    ({"schedule": "average", "select": "consecutive", "frames": 2},
     ["--schedule", "average", "--select", "consecutive", "--frames", "2"]),
    ({"train": True, "seed": 9}, ["--train", "--seed", "9"]),
    ({"quick": True}, ["--quick"]),
    ({"autorotate": False}, ["--no-autorotate"]),
    ({"train": True, "seed": 9, "epoch": 4}, ["--train", "--seed", "9", "--epoch", "4"]),
]


@pytest.mark.parametrize("kind", ["h264", "jpeg_folder", "rot90"])
@pytest.mark.parametrize(
    "kwargs,flags", INFO_CASES, ids=[" ".join(f) or "default" for _, f in INFO_CASES]
)
def test_info_matches_cli_json(kwargs, flags, kind, media, cli):
    assert framemix.info(media[kind], **kwargs) == cli.info(media[kind], flags)


@pytest.mark.parametrize("kind,kwargs,flags,frames", [
    ("rawframes", {"template": "img_{:05}.jpg"}, ["--template", "img_{:05}.jpg"], 16),
    ("from0", {"template": "f_{:03}.jpg", "start": 0, "segments": 3},
     ["--template", "f_{:03}.jpg", "--start", "0", "--segments", "3"], 12),
])
def test_info_template_matches_cli_json(kind, kwargs, flags, frames, media, cli):
    got = framemix.info(media[kind], **kwargs)
    assert got == cli.info(media[kind], flags)
    assert got["frames"] == frames


def test_template_start_above_the_first_frame_fails_as_the_cli_does(media, cli):
    with pytest.raises(framemix.InputError) as e:
        framemix.mix(media["rawframes"], template="img_{:05}.jpg", start=3)
    stderr, status = cli.error(media["rawframes"], ["--template", "img_{:05}.jpg", "--start", "3"])
    assert "below the start index 3" in str(e.value) and str(e.value) in stderr and status == 1


def test_epoch_changes_the_draw_and_seed_alone_is_epochless(media):
    base = {"train": True, "seed": 7, "frames": 2}
    plain = framemix.mix(media["long"], **base)
    e0 = framemix.mix(media["long"], epoch=0, **base)
    e1 = framemix.mix(media["long"], epoch=1, **base)
    assert not np.array_equal(e0, e1) and not np.array_equal(plain, e0)
    assert_bits_equal(e1, framemix.mix(media["long"], epoch=1, **base), "same epoch")


def test_flip_mirrors_some_clips(media):
    # Each seed draws the flip with probability 1/2: among 8 seeds some flip and some do not,
    # and a flipped result is the unflipped one mirrored.
    flipped = 0
    for seed in range(8):
        plain = framemix.mix(media["h264"], train=True, seed=seed)
        f = framemix.mix(media["h264"], train=True, seed=seed, flip=True)
        if np.array_equal(f, plain):
            continue
        assert_bits_equal(f, np.ascontiguousarray(plain[..., ::-1]), f"seed {seed}")
        flipped += 1
    assert 0 < flipped < 8, flipped


def test_crop_mode_reaches_mixdatas_parser(media):
    # The mode's name goes to mixdata's own parser: every mode it names is taken or refused
    # there, with its message. Three crops give three views on a leading axis, the middle
    # one the centre crop.
    three = framemix.mix(media["h264"], crop=(32, 24), crop_mode="three")
    centre = framemix.mix(media["h264"], crop=(32, 24))
    assert three.shape == (3,) + centre.shape
    assert three.flags["C_CONTIGUOUS"]
    assert_bits_equal(three[2], centre, "the middle view is the centre crop")
    with pytest.raises(framemix.OptionError, match="unknown mode"):
        framemix.mix(media["h264"], crop=(32, 32), crop_mode="Centre")


def test_crop_larger_than_the_frame_fails_as_the_cli_does(media, cli):
    with pytest.raises(framemix.FramemixError) as e:
        framemix.mix(media["h264"], crop=(500, 500))
    stderr, status = cli.error(media["h264"], ["--crop", "500x500"])
    assert "is larger than the 64x48 frame" in str(e.value) and str(e.value) in stderr
    assert isinstance(e.value, framemix.OptionError) == (status == 2), (type(e.value), status)


def test_info_describes_the_plan(media):
    d = framemix.info(media["h264"], segments=4, frames=2, schedule="average")
    assert d["frames"] == 48 and (d["width"], d["height"]) == (64, 48)
    assert d["kind"] == "video" and d["codec"] == "h264"
    assert [s["numerators"] for s in d["segments"]] == [[1, 1]] * 4
    assert [s["window"] for s in d["segments"]] == [[0, 12], [12, 24], [24, 36], [36, 48]]


# (framemix keyword arguments, the same as mixcli flags, a piece of the message both give)
BAD_OPTIONS = [
    ({"frames": 0}, ["--frames", "0"], "must be at least 1 (or 'all')"),
    ({"frames": -3}, ["--frames=-3"], "'-3' is neither 'all' nor a positive integer"),
    ({"frames": "some"}, ["--frames", "some"], "'some' is neither 'all' nor a positive integer"),
    ({"schedule": "cubic"}, ["--schedule", "cubic"], "not a schedule: use average, linear, linear0 or custom:N,N,..."),
    ({"schedule": "custom:"}, ["--schedule", "custom:"], "numerator 1 is not a non-negative"),
    ({"schedule": [0, 0]}, ["--schedule", "custom:0,0"], "at least one numerator must be positive"),
    ({"schedule": [1, -2]}, ["--schedule", "custom:1,-2"], "numerator 2 is not a non-negative"),
    ({"schedule": [2**32]}, ["--schedule", f"custom:{2**32}"], "below 2^32"),
    ({"schedule": []}, ["--schedule", "custom:"], "numerator 1 is not"),
    ({"schedule": [1, 2], "frames": 3}, ["--schedule", "custom:1,2", "--frames", "3"],
     "custom has 2 numerators but --frames is 3"),
    ({"schedule": [1, 2], "frames": "all"}, ["--schedule", "custom:1,2", "--frames", "all"],
     "needs --frames N, not all"),
    ({"train": True}, ["--train"], None),
    ({"seed": 3}, ["--seed", "3"], None),
    ({"size": (0, 10)}, ["--size", "0x10"], "each side must be an integer from 1 to 16384"),
    ({"size": (-4, 10)}, ["--size=-4x10"], "each side must be an integer from 1 to 16384"),
    ({"size": (16384, 16384)}, ["--size", "16384x16384"], "larger than FFmpeg can convert"),
    ({"size": "224"}, ["--size", "224"], "'224' is not WIDTHxHEIGHT"),
    ({"threads": 65}, ["--threads", "65"], "65 decoder threads is more than the limit of 64"),
    ({"threads": -1}, ["--threads=-1"], "'-1' is not a thread count"),
    ({"segments": 0}, ["--segments", "0"], None),
    ({"segments": 2**32}, ["--segments", str(2**32)], None),
    ({"seed": -1, "train": True}, ["--seed=-1", "--train"], None),
    ({"select": "middle"}, ["--select", "middle"], None),
    ({"layout": "nchw"}, ["--layout", "nchw"], None),
    ({"layout": "thcw"}, ["--layout", "thcw"], None),
    ({"scale": "percent"}, ["--scale", "percent"], None),
    ({"device": "tpu"}, ["--device", "tpu"], None),
    ({"epoch": 2}, ["--epoch", "2"], None),
    ({"epoch": -1, "train": True, "seed": 1}, ["--epoch=-1", "--train", "--seed", "1"], None),
    ({"crop": (0, 10)}, ["--crop", "0x10"], "each side must be an integer from 1 to 16384"),
    ({"crop": "32"}, ["--crop", "32"], "'32' is not WIDTHxHEIGHT"),
    ({"crop": (32, 32), "crop_mode": "random"}, ["--crop", "32x32", "--crop-mode", "random"],
     "--crop-mode random: a training augmentation"),
    ({"crop": (32, 32), "crop_mode": "sideways"}, ["--crop", "32x32", "--crop-mode", "sideways"],
     'unknown mode "sideways" (expected center, three, random or multiscale)'),
    ({"crop_mode": "random"}, ["--crop-mode", "random"], None),
    ({"flip": True}, ["--flip"], "--flip: a training augmentation"),
    ({"resize_short": 0}, ["--resize-short", "0"], "--resize-short: sizes must be at least 1 pixel"),
    ({"resize_short": 99999}, ["--resize-short", "99999"], "99999x99999 is too large"),
    ({"resize_short": -2}, ["--resize-short=-2"], None),
    ({"size": (40, 30), "resize_short": 30}, ["--size", "40x30", "--resize-short", "30"], None),
    ({"template": "img.jpg"}, ["--template", "img.jpg"], "'img.jpg' is not a frame template"),
    ({"start": 2}, ["--start", "2"], "--start N numbers the frames of a --template"),
]


@pytest.mark.parametrize(
    "kwargs,flags,message", BAD_OPTIONS, ids=[" ".join(f) for _, f, _ in BAD_OPTIONS]
)
def test_bad_option_raises_option_error_as_cli_refuses_it(kwargs, flags, message, media, cli):
    with pytest.raises(framemix.OptionError) as e:
        framemix.mix(media["h264"], **kwargs)
    assert isinstance(e.value, ValueError) and e.value.kind == "usage"
    stderr, status = cli.error(media["h264"], flags)
    assert status == 2, stderr
    if message is not None:
        assert message in str(e.value), str(e.value)
        assert message in stderr, stderr


@pytest.mark.parametrize(
    "kwargs",
    [{"frames": 1.5}, {"frames": None, "segments": "8"}, {"segments": True}, {"seed": 1.0},
     {"schedule": 3}, {"schedule": [1, "2"]}, {"size": (1, 2, 3)}, {"size": 224},
     {"threads": "2"}, {"train": 1}, {"layout": None}, {"crop": 32}, {"crop": (1.5, 2)},
     {"resize_short": "40"}, {"flip": "yes"}, {"template": 5}, {"epoch": 1.0, "train": True,
                                                                "seed": 1}],
    ids=repr,
)
def test_wrong_type_raises_type_error(kwargs, media):
    with pytest.raises(TypeError):
        framemix.mix(media["h264"], **kwargs)


def test_options_are_keyword_only(media):
    with pytest.raises(TypeError):
        framemix.mix(media["h264"], 8)  # type: ignore[misc]
