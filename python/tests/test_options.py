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
]


@pytest.mark.parametrize("kind", ["h264", "jpeg_folder", "rot90"])
@pytest.mark.parametrize(
    "kwargs,flags", INFO_CASES, ids=[" ".join(f) or "default" for _, f in INFO_CASES]
)
def test_info_matches_cli_json(kwargs, flags, kind, media, cli):
    assert framemix.info(media[kind], **kwargs) == cli.info(media[kind], flags)


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
     {"threads": "2"}, {"train": 1}, {"layout": None}],
    ids=repr,
)
def test_wrong_type_raises_type_error(kwargs, media):
    with pytest.raises(TypeError):
        framemix.mix(media["h264"], **kwargs)


def test_options_are_keyword_only(media):
    with pytest.raises(TypeError):
        framemix.mix(media["h264"], 8)  # type: ignore[misc]
