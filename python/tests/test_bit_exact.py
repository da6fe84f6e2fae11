"""framemix.mix equals `mixcli mix` bit for bit: synthetic media of every input kind, and the
real clips of ../shared/realdata when they were fetched."""

import pytest

import framemix
from conftest import REAL_CLIPS, assert_bits_equal, ffmpeg, real_clip


@pytest.mark.parametrize("kind", ["h264", "vp9", "mjpeg", "jpeg_folder", "png_folder", "long"])
def test_mix_matches_cli_on_synthetic_media(kind, media, cli):
    path = media[kind]
    assert_bits_equal(framemix.mix(path), cli.mix(path), kind)


@pytest.mark.parametrize("kind", ["h264", "jpeg_folder"])
def test_mix_matches_cli_with_every_option_changed(kind, media, cli):
    path = media[kind]
    got = framemix.mix(
        path, segments=5, frames=3, schedule="linear0", select="consecutive", train=True,
        seed=7, layout="thwc", scale="imagenet", size=(40, 30), threads=1,
    )
    want = cli.mix(path, [
        "--segments", "5", "--frames", "3", "--schedule", "linear0", "--select",
        "consecutive", "--train", "--seed", "7", "--layout", "thwc", "--scale", "imagenet",
        "--size", "40x30", "--threads", "1",
    ])
    assert_bits_equal(got, want, kind)


@pytest.mark.parametrize("name", REAL_CLIPS)
def test_mix_matches_cli_on_real_clips(name, cli):
    path = real_clip(name)
    assert_bits_equal(framemix.mix(path), cli.mix(path), name)


@pytest.mark.parametrize("name", REAL_CLIPS)
def test_mix_matches_cli_on_real_clips_resized_imagenet(name, cli):
    path = real_clip(name)
    got = framemix.mix(path, frames=5, scale="imagenet", size=(224, 224), layout="cthw")
    want = cli.mix(path, ["--frames", "5", "--scale", "imagenet", "--size", "224x224",
                          "--layout", "cthw"])
    assert_bits_equal(got, want, name)


@pytest.mark.parametrize("name", REAL_CLIPS)
def test_info_matches_cli_on_real_clips(name, cli):
    path = real_clip(name)
    assert framemix.info(path) == cli.info(path)


def test_mix_matches_cli_on_a_frame_folder_from_a_real_clip(tmp_path, cli):
    # Something-Something-V1 ships JPEG frame folders: one made from a real clip.
    clip = real_clip("mecavideo_balle1_vp9.avi")
    folder = tmp_path / "balle1"
    folder.mkdir()
    ffmpeg("-i", str(clip), "-fps_mode", "passthrough", "-q:v", "2", "-start_number", "1",
           str(folder / "%05d.jpg"))
    assert len(list(folder.iterdir())) == 295
    for kwargs, flags in [({}, []), ({"frames": 3, "scale": "unit"}, ["--frames", "3", "--scale", "unit"])]:
        assert_bits_equal(framemix.mix(folder, **kwargs), cli.mix(folder, flags), str(kwargs))
    assert framemix.info(folder) == cli.info(folder)
