"""Bad input raises (never crashes): the right exception class, mixcli's message, the path as
`filename`, the problem's `kind`; the same input makes `mixcli mix` fail with that message."""

import errno
import os
import pickle
import subprocess
import sys

import pytest

import framemix


def cli_message(cli, path, flags=()):
    stderr, status = cli.error(path, flags)
    assert status == 1, stderr
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("mixcli: error: "), stderr
    return line[len("mixcli: error: "):]


def check_input_error(e, path, kind, cli, flags=()):
    assert isinstance(e, framemix.InputError) and isinstance(e, OSError)
    assert isinstance(e, framemix.FramemixError)
    assert e.kind == kind, (e.kind, str(e))
    assert e.filename == str(path) and e.path == str(path)
    assert str(e).startswith(f"{path}: ")
    assert e.strerror == str(e)[len(f"{path}: "):]
    assert str(e) == cli_message(cli, path, flags)


def test_missing_file_raises_file_not_found(tmp_path, cli):
    path = tmp_path / "nope.mp4"
    with pytest.raises(FileNotFoundError) as e:
        framemix.mix(path)
    assert isinstance(e.value, framemix.InputNotFoundError)
    assert e.value.errno == errno.ENOENT
    check_input_error(e.value, path, "not_found", cli)
    with pytest.raises(FileNotFoundError):
        framemix.info(path)


def test_not_a_video_raises_input_error(tmp_path, cli):
    path = tmp_path / "notes.mp4"
    path.write_text("these are not frames\n" * 50)
    with pytest.raises(framemix.InputError) as e:
        framemix.mix(path)
    check_input_error(e.value, path, "not_a_video", cli)
    assert e.value.errno is None


def test_empty_file_raises_input_error(tmp_path, cli):
    path = tmp_path / "empty.webm"
    path.write_bytes(b"")
    with pytest.raises(OSError) as e:
        framemix.mix(path)
    check_input_error(e.value, path, e.value.kind, cli)


def test_truncated_video_raises_input_error(media, tmp_path, cli):
    data = media["long"].read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])  # moov at the end: unopenable
    with pytest.raises(framemix.InputError) as e:
        framemix.mix(path)
    check_input_error(e.value, path, e.value.kind, cli)


def test_damaged_input_raises_unless_allowed(media, cli):
    path = media["damaged"]
    with pytest.raises(framemix.InputError) as e:
        framemix.mix(path)
    check_input_error(e.value, path, "damaged", cli)
    assert "frame 3 decoded with errors" in str(e.value)
    with pytest.warns(framemix.DamagedInputWarning, match=r"frame 3") as w:
        framemix.mix(path, allow_damaged=True)
    assert str(path) in str(w[0].message)


def test_empty_folder_raises_zero_frames(tmp_path, cli):
    path = tmp_path / "empty"
    path.mkdir()
    with pytest.raises(framemix.InputError) as e:
        framemix.mix(path)
    check_input_error(e.value, path, "zero_frames", cli)


def test_folder_with_a_stray_file_raises_not_a_frame(media, tmp_path, cli):
    path = tmp_path / "frames"
    path.mkdir()
    for f in sorted(media["jpeg_folder"].iterdir())[:3]:
        (path / f.name).write_bytes(f.read_bytes())
    (path / "notes.txt").write_text("hi")
    with pytest.raises(framemix.InputError) as e:
        framemix.mix(path)
    check_input_error(e.value, path, "not_a_frame", cli)


def test_folder_of_mixed_sizes_raises_unless_resized(media, tmp_path, cli):
    path = tmp_path / "sizes"
    path.mkdir()
    for i, f in enumerate(sorted(media["jpeg_folder"].iterdir(), key=lambda p: int(p.stem))[:4]):
        (path / f"{i + 1}.jpg").write_bytes(f.read_bytes())
    other = sorted(media["damaged"].iterdir(), key=lambda p: int(p.stem))[0]
    (path / "5.jpg").write_bytes(other.read_bytes())
    with pytest.raises(framemix.InputError) as e:
        framemix.mix(path)
    check_input_error(e.value, path, "frame_size_mismatch", cli)
    assert framemix.mix(path, size=(32, 24)).shape == (8, 3, 24, 32)


def test_fifo_raises_pipe(tmp_path, cli):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    with pytest.raises(framemix.InputError) as e:
        framemix.mix(path)
    check_input_error(e.value, path, "pipe", cli)


def test_unavailable_device_raises_device_error(media):
    if framemix.CUDA_SUPPORT:
        pytest.skip("this build has CUDA support")
    with pytest.raises(framemix.DeviceError) as e:
        framemix.mix(media["h264"], device="cuda")
    assert isinstance(e.value, RuntimeError) and e.value.kind == "device"
    assert "CUDA" in str(e.value)


def test_plan_refused_by_mixcore_raises_option_error(media, cli):
    # 12 frames in 8 segments: windows of one frame, fewer than the two weights need.
    path = media["png_folder"]
    with pytest.raises(framemix.OptionError) as e:
        framemix.mix(path, schedule=[1, 2])
    assert isinstance(e.value, ValueError) and e.value.kind == "mix"
    assert e.value.path == str(path)
    assert str(e.value) == cli_message(cli, path, ["--schedule", "custom:1,2"])
    assert "fewer than the 2 the weights need" in str(e.value)


def test_errors_pickle_and_keep_their_fields(tmp_path):
    for call in (lambda: framemix.mix(tmp_path / "nope"), lambda: framemix.mix(tmp_path, frames=0)):
        with pytest.raises(framemix.FramemixError) as e:
            call()
        back = pickle.loads(pickle.dumps(e.value))
        assert type(back) is type(e.value)
        for a in ("message", "kind", "path", "reason"):
            assert getattr(back, a) == getattr(e.value, a)
        if isinstance(e.value, OSError):
            assert (back.errno, back.filename, back.strerror) == (
                e.value.errno, e.value.filename, e.value.strerror)


def test_bad_input_in_a_subprocess_does_not_crash(tmp_path):
    # Garbage of every kind, in a child process: it must end with exceptions, not a signal.
    junk = tmp_path / "junk.avi"
    junk.write_bytes(bytes(range(256)) * 64)
    code = (
        "import framemix, sys\n"
        "for p in sys.argv[1:]:\n"
        "    for kw in ({}, {'size': (7, 5)}, {'frames': 2}):\n"
        "        try:\n"
        "            framemix.mix(p, **kw)\n"
        "        except (OSError, ValueError):\n"
        "            pass\n"
        "print('survived')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(junk), str(tmp_path / "missing"),
                           "/dev/null", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "survived" in done.stdout, done.stderr
