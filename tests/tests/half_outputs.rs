//! docs/contract.md section 10: half-precision outputs.
//!
//! - mixcore's conversions ([`mixcore::half::f16_bits`], [`bf16_bits`], and [`convert`] with
//!   its F16C path) equal the `half` crate's round-to-nearest-even conversions for every one
//!   of the 2^32 `f32` bit patterns (NaNs: both quiet NaNs of the same sign);
//! - the double-rounding argument: for every `D <= 257` and `N <= 255 * D`, rounding the `f32`
//!   quotient `N / D` to f16 or bf16 gives `N / D` correctly rounded to that format, by an
//!   exact integer oracle;
//! - `mix_half` equals `mix` followed by the conversion, bit for bit, on every backend, also
//!   for outputs large enough that the one-pass kernels use streaming stores;
//! - the streaming `Mixer`'s `finish_half` equals `mix_half`, for every buffer size, push
//!   order, spec and backend, with and without an output given up front;
//! - every backend's half kernels (`finish_*_half`, `mix_fused_half`, which round in
//!   registers) equal its `f32` kernels followed by the conversion, at every alignment.

use framemix_tests::{arbitrary_epilogue, backends};
use mixcore::half::{Half, bf16_bits, convert, f16_bits};
use mixcore::kernel::{Backend, Finish, Kernels};
use mixcore::{
    Epilogue, FrameView, Geometry, Layout, MixPath, MixSpec, Mixer, Plan, PlanConfig, Schedule,
    TILE_ELEMENTS, mix, mix_half,
};
use proptest::prelude::*;

/// Runs `check(lo, hi)` over the bit patterns `0..2^32` split among the CPU's threads.
fn all_bit_patterns(check: impl Fn(u32, u32) + Sync) {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let span = (1u64 << 32).div_ceil(threads);
    std::thread::scope(|s| {
        for t in 0..threads {
            let check = &check;
            s.spawn(move || {
                let lo = t * span;
                let hi = ((t + 1) * span).min(1 << 32);
                if lo < hi {
                    check(lo as u32, (hi - 1) as u32);
                }
            });
        }
    });
}

/// `got == want`, but for NaNs, whose payloads may differ between implementations (their
/// sign and quietness may not). `inf` is the format's infinity pattern.
fn same_half(got: u16, want: u16, inf: u16, x: u32, what: &str) {
    let is_nan = |h: u16| h & 0x7fff > inf;
    let quiet = inf | (inf >> 1) & !inf; // the top fraction bit set
    if got != want || is_nan(got) {
        assert!(
            !is_nan(got) || got & quiet == quiet,
            "{what}: f32 bits {x:#010x}: {got:#06x} is a signalling NaN"
        );
        // NaN payloads may differ between implementations; quietness and sign may not.
        assert!(
            got == want || (is_nan(got) && is_nan(want) && (got ^ want) & 0x8000 == 0),
            "{what}: f32 bits {x:#010x}: got {got:#06x}, want {want:#06x}"
        );
    }
}

/// `f16_bits`/`bf16_bits` (`one`) and `convert` for `half` equal `oracle` (the `half` crate)
/// on every `f32` bit pattern; `inf` is the format's infinity.
fn every_f32_converts_as(half: Half, one: fn(f32) -> u16, oracle: fn(f32) -> u16, inf: u16) {
    all_bit_patterns(|lo, hi| {
        let mut src = [0f32; 4096];
        let mut fast = [0u16; 4096];
        let mut x = u64::from(lo);
        while x <= u64::from(hi) {
            let n = ((u64::from(hi) - x + 1) as usize).min(src.len());
            for (i, s) in src[..n].iter_mut().enumerate() {
                *s = f32::from_bits((x + i as u64) as u32);
            }
            convert(&src[..n], &mut fast[..n], half);
            for i in 0..n {
                let bits = (x + i as u64) as u32;
                let want = oracle(src[i]);
                same_half(one(src[i]), want, inf, bits, "one value");
                same_half(fast[i], want, inf, bits, "convert");
            }
            x += n as u64;
        }
    });
}

#[test]
fn f16_conversion_equals_the_half_crate_for_every_f32() {
    every_f32_converts_as(
        Half::F16,
        f16_bits,
        |x| half::f16::from_f32(x).to_bits(),
        0x7c00,
    );
}

#[test]
fn bf16_conversion_equals_the_half_crate_for_every_f32() {
    every_f32_converts_as(
        Half::Bf16,
        bf16_bits,
        |x| half::bf16::from_f32(x).to_bits(),
        0x7f80,
    );
}

#[test]
fn widening_equals_the_half_crate_for_every_16_bit_pattern() {
    for bits in 0..=u16::MAX {
        let f16 = half::f16::from_bits(bits).to_f32();
        let bf16 = half::bf16::from_bits(bits).to_f32();
        assert_eq!(
            Half::F16.to_f32(bits).to_bits(),
            f16.to_bits(),
            "f16 {bits:#06x}"
        );
        assert_eq!(
            Half::Bf16.to_f32(bits).to_bits(),
            bf16.to_bits(),
            "bf16 {bits:#06x}"
        );
        // And back: every value, NaNs aside, rounds to itself.
        if !f16.is_nan() {
            assert_eq!(f16_bits(Half::F16.to_f32(bits)), bits);
        }
        if !bf16.is_nan() {
            assert_eq!(bf16_bits(Half::Bf16.to_f32(bits)), bits);
        }
    }
}

/// `n / d` (`n > 0`) correctly rounded to `p` significant bits, ties to even, by integer
/// arithmetic, as `f64` (exact: `p <= 11`). No subnormals: `n / d >= 1 / 257` is a normal
/// number of both formats.
fn oracle(n: u64, d: u64, p: u32) -> f64 {
    // e with 2^e <= n/d < 2^(e+1).
    let mut e = (63 - n.leading_zeros()) as i32 - (63 - d.leading_zeros()) as i32;
    let ge = |e: i32| -> bool {
        // n/d >= 2^e ?
        if e >= 0 { n >= d << e } else { n << -e >= d }
    };
    while !ge(e) {
        e -= 1;
    }
    while ge(e + 1) {
        e += 1;
    }
    // q = floor(n * 2^(p-1-e) / d), r the remainder.
    let shift = p as i32 - 1 - e;
    let (num, den) = if shift >= 0 {
        (u128::from(n) << shift, u128::from(d))
    } else {
        (u128::from(n), u128::from(d) << -shift)
    };
    let (mut q, r) = (num / den, num % den);
    if 2 * r > den || (2 * r == den && q & 1 == 1) {
        q += 1;
    }
    q as f64 * 2f64.powi(-shift)
}

fn f16_value(h: u16) -> f64 {
    f64::from(half::f16::from_bits(h).to_f32())
}

fn bf16_value(h: u16) -> f64 {
    f64::from(half::bf16::from_bits(h).to_f32())
}

#[test]
fn rounding_the_f32_quotient_to_half_is_the_correctly_rounded_quotient() {
    let mut checked = 0u64;
    for d in 1u64..=257 {
        for n in 1..=255 * d {
            let q = n as f32 / d as f32; // correctly rounded: n and d are exact in f32
            let (h, b) = (f16_bits(q), bf16_bits(q));
            assert_eq!(f16_value(h), oracle(n, d, 11), "f16: {n}/{d}");
            assert_eq!(bf16_value(b), oracle(n, d, 8), "bf16: {n}/{d}");
            checked += 1;
        }
        assert_eq!(
            (f16_bits(0.0 / d as f32), bf16_bits(0.0 / d as f32)),
            (0, 0)
        );
    }
    assert_eq!(checked, (1..=257u64).map(|d| 255 * d).sum::<u64>());
}

#[test]
fn mix_half_equals_mix_then_convert_on_every_backend() {
    let g = Geometry::new(83, 5, 3).unwrap();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let video: Vec<Vec<u8>> = (0..40)
        .map(|_| {
            (0..g.elements().unwrap())
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 56) as u8
                })
                .collect()
        })
        .collect();
    let frames: Vec<FrameView<'_>> = video
        .iter()
        .map(|v| FrameView::packed(v, g).unwrap())
        .collect();
    for schedule in [Schedule::Average, Schedule::Linear] {
        let plan = Plan::new(
            40,
            &PlanConfig {
                segments: 3,
                schedule,
                ..PlanConfig::default()
            },
        )
        .unwrap();
        for layout in [Layout::Tchw, Layout::Cthw, Layout::Thwc] {
            for epilogue in [Epilogue::Raw, Epilogue::Unit, Epilogue::IMAGENET] {
                for backend in framemix_tests::backends() {
                    let spec = MixSpec {
                        layout,
                        epilogue,
                        backend,
                        ..MixSpec::default()
                    };
                    let mut f32s = vec![0f32; mixcore::output_len(&plan, g).unwrap()];
                    mix(&plan, &frames, &spec, &mut f32s).unwrap();
                    for half in [Half::F16, Half::Bf16] {
                        let mut want = vec![0u16; f32s.len()];
                        for (w, &v) in want.iter_mut().zip(&f32s) {
                            *w = half.bits(v);
                        }
                        let mut got = vec![0u16; f32s.len()];
                        mix_half(&plan, &frames, &spec, half, &mut got).unwrap();
                        assert!(
                            got == want,
                            "{half:?} {schedule:?} {layout:?} {epilogue:?} {backend:?}"
                        );
                    }
                }
            }
        }
    }
}

/// Random frames of geometry `g`.
fn random_video(frames: usize, g: Geometry, seed: u64) -> Vec<Vec<u8>> {
    let mut x = seed;
    (0..frames)
        .map(|_| {
            (0..g.elements().unwrap())
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 56) as u8
                })
                .collect()
        })
        .collect()
}

/// `len` elements of `T` in `buf`, starting `skew` elements past a 64-byte boundary.
fn skewed<T: Copy>(buf: &mut Vec<T>, len: usize, skew: usize, fill: T) -> &mut [T] {
    let size = std::mem::size_of::<T>();
    buf.clear();
    buf.resize(len + 64 / size + skew, fill);
    let lead = (64 - (buf.as_ptr() as usize) % 64) % 64 / size;
    &mut buf[lead + skew..lead + skew + len]
}

/// Outputs of several MB per call: the one-pass kernels write them with streaming stores
/// (AVX2's only into runs aligned to 8 values or 4 past that, so outputs at those skews and
/// one that streams nowhere).
#[test]
fn mix_half_of_large_outputs_equals_mix_then_convert() {
    let g = Geometry::new(1280, 720, 3).unwrap();
    let video = random_video(8, g, 0x9E37_79B9_7F4A_7C15);
    let frames: Vec<FrameView<'_>> = video
        .iter()
        .map(|v| FrameView::packed(v, g).unwrap())
        .collect();
    let plan = Plan::new(
        8,
        &PlanConfig {
            segments: 2,
            ..PlanConfig::default()
        },
    )
    .unwrap();
    let n = mixcore::output_len(&plan, g).unwrap();
    let (mut buf32, mut buf16) = (Vec::new(), Vec::new());
    for (layout, epilogue) in [
        (Layout::Tchw, Epilogue::Raw),
        (Layout::Thwc, Epilogue::IMAGENET),
    ] {
        let spec = |backend| MixSpec {
            layout,
            epilogue,
            backend,
            ..MixSpec::default()
        };
        let mut want = vec![0f32; n];
        mix(&plan, &frames, &spec(Backend::Reference), &mut want).unwrap();
        for backend in backends() {
            for skew in [0, 1, 4] {
                let got = skewed(&mut buf32, n, skew, f32::NAN);
                mix(&plan, &frames, &spec(backend), got).unwrap();
                let first = (0..n).find(|&j| got[j].to_bits() != want[j].to_bits());
                assert!(
                    first.is_none(),
                    "f32 {layout:?} {epilogue:?} {backend:?} skew {skew}: first difference at {first:?}"
                );
                for half in [Half::F16, Half::Bf16] {
                    let got = skewed(&mut buf16, n, skew, UNSET);
                    mix_half(&plan, &frames, &spec(backend), half, got).unwrap();
                    let first = (0..n).find(|&j| got[j] != half.bits(want[j]));
                    assert!(
                        first.is_none(),
                        "{half:?} {layout:?} {epilogue:?} {backend:?} skew {skew}: first difference at {first:?}"
                    );
                }
            }
        }
    }
}

/// Destination runs for `n` elements of `fin`'s layout, each `offset` elements into its own
/// buffer, filled with `fill`.
fn runs_of<T: Clone>(n: usize, fin: &Finish, offset: usize, fill: T) -> Vec<Vec<T>> {
    let (count, per) = if fin.planar {
        (fin.channels, n / fin.channels)
    } else {
        (1, n)
    };
    vec![vec![fill; offset + per]; count]
}

/// A mark no kernel writes: a NaN in both formats, and no mix gives a NaN.
const UNSET: u16 = 0xffff;

/// Rounds each run of `f32`s (past `offset`) to `half`.
fn rounded(runs: &[Vec<f32>], offset: usize, half: Half) -> Vec<Vec<u16>> {
    runs.iter()
        .map(|r| r[offset..].iter().map(|&v| half.bits(v)).collect())
        .collect()
}

proptest! {
    #![proptest_config(framemix_tests::cases(192))]

    /// Every backend's half kernels equal its own `f32` kernels followed by the rounding (and
    /// so the reference's, which `kernel_props` pins the `f32` kernels to), for any tile,
    /// layout, epilogue, numerators and alignment of the destination.
    #[test]
    fn half_kernels_equal_f32_kernels_then_rounding(
        channels in 1usize..=4,
        pixels in 1usize..=TILE_ELEMENTS / 4,
        m in 1usize..=16,
        small in any::<bool>(),
        epilogue in arbitrary_epilogue(),
        planar in any::<bool>(),
        offset in 0usize..16,
        seed in any::<u64>(),
    ) {
        let len = pixels * channels;
        let g = Geometry::new(len as u32, 1, 1).unwrap();
        let rows = random_video(m, g, seed | 1);
        let rows: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
        let hi = if small { 16 } else { 4000 };
        let nums: Vec<u32> = (0..m).map(|t| 1 + (seed >> (t % 48)) as u32 % hi).collect();
        let d: u64 = nums.iter().map(|&n| u64::from(n)).sum();
        let planar = planar && channels > 1;
        let fin = Finish { epilogue, channels, planar };
        let reference = Kernels::for_backend(Backend::Reference);
        let mut acc = vec![0u32; len];
        (reference.accumulate_u32)(&mut acc, &rows, &nums, true);
        let acc64: Vec<u64> = acc.iter().map(|&n| u64::from(n)).collect();
        let floats: Vec<f32> = acc.iter().map(|&n| n as f32 / 7.0).collect();
        for backend in backends() {
            let k = Kernels::for_backend(backend);
            for half in [Half::F16, Half::Bf16] {
                let what = format!("{backend:?} {half:?} {fin:?} offset {offset}");
                // finish_u32
                let mut want = runs_of(len, &fin, 0, f32::NAN);
                (k.finish_u32)(&acc, d, &fin, &mut want.iter_mut().map(|b| &mut b[..]).collect::<Vec<_>>());
                let want = rounded(&want, 0, half);
                let mut got = runs_of(len, &fin, offset, UNSET);
                (k.finish_u32_half)(&acc, d, &fin, half, &mut got.iter_mut().map(|b| &mut b[offset..]).collect::<Vec<_>>());
                for (g, w) in got.iter().zip(&want) {
                    prop_assert!(g[..offset].iter().all(|&v| v == UNSET), "{} finish_u32_half wrote before", what);
                    prop_assert_eq!(&g[offset..], &w[..], "{} finish_u32_half", what);
                }
                // finish_u64
                let mut want = runs_of(len, &fin, 0, f32::NAN);
                (k.finish_u64)(&acc64, d, &fin, &mut want.iter_mut().map(|b| &mut b[..]).collect::<Vec<_>>());
                let want = rounded(&want, 0, half);
                let mut got = runs_of(len, &fin, offset, UNSET);
                (k.finish_u64_half)(&acc64, d, &fin, half, &mut got.iter_mut().map(|b| &mut b[offset..]).collect::<Vec<_>>());
                for (g, w) in got.iter().zip(&want) {
                    prop_assert_eq!(&g[offset..], &w[..], "{} finish_u64_half", what);
                }
                // finish_f32
                let mut want = runs_of(len, &fin, 0, f32::NAN);
                (k.finish_f32)(&floats, &fin, &mut want.iter_mut().map(|b| &mut b[..]).collect::<Vec<_>>());
                let want = rounded(&want, 0, half);
                let mut got = runs_of(len, &fin, offset, UNSET);
                (k.finish_f32_half)(&floats, &fin, half, &mut got.iter_mut().map(|b| &mut b[offset..]).collect::<Vec<_>>());
                for (g, w) in got.iter().zip(&want) {
                    prop_assert_eq!(&g[offset..], &w[..], "{} finish_f32_half", what);
                }
                // mix_fused: the same elements done, each rounded.
                prop_assert_eq!(k.mix_fused.is_some(), k.mix_fused_half.is_some(), "{}", what);
                if let (Some(fused), Some(fused_half)) = (k.mix_fused, k.mix_fused_half) {
                    let mut want = runs_of(len, &fin, 0, f32::NAN);
                    let done = fused(&rows, &nums, d, &fin, &mut want.iter_mut().map(|b| &mut b[..]).collect::<Vec<_>>());
                    let mut got = runs_of(len, &fin, offset, UNSET);
                    let done_half = fused_half(&rows, &nums, d, &fin, half, &mut got.iter_mut().map(|b| &mut b[offset..]).collect::<Vec<_>>());
                    prop_assert_eq!(done, done_half, "{} mix_fused_half done", what);
                    let per = if planar { done / channels } else { done };
                    for (g, w) in got.iter().zip(&want) {
                        let w: Vec<u16> = w[..per].iter().map(|&v| half.bits(v)).collect();
                        prop_assert!(g[..offset].iter().all(|&v| v == UNSET), "{} mix_fused_half wrote before", what);
                        prop_assert_eq!(&g[offset..offset + per], &w[..], "{} mix_fused_half", what);
                        prop_assert!(g[offset + per..].iter().all(|&v| v == UNSET), "{} mix_fused_half wrote past {}", what, done);
                    }
                }
            }
        }
    }
}

#[test]
fn mixer_finish_half_equals_mix_half() {
    // Wide enough for whole one-pass blocks and a tail; few frames, so windows fit a buffer.
    let g = Geometry::new(150, 3, 3).unwrap();
    let video = random_video(24, g, 0x0123_4567_89ab_cdef);
    let frames: Vec<FrameView<'_>> = video
        .iter()
        .map(|v| FrameView::packed(v, g).unwrap())
        .collect();
    let plan = Plan::new(
        24,
        &PlanConfig {
            segments: 4,
            schedule: Schedule::Linear,
            ..PlanConfig::default()
        },
    )
    .unwrap();
    let specs = [
        MixSpec::default(),
        MixSpec {
            layout: Layout::Cthw,
            epilogue: Epilogue::IMAGENET,
            ..MixSpec::default()
        },
        MixSpec {
            layout: Layout::Thwc,
            path: MixPath::Float(mixcore::FloatWeights::Schedule),
            ..MixSpec::default()
        },
    ];
    for base in specs {
        for backend in backends() {
            let spec = MixSpec { backend, ..base };
            for half in [Half::F16, Half::Bf16] {
                let n = mixcore::output_len(&plan, g).unwrap();
                let mut want = vec![0u16; n];
                mix_half(&plan, &frames, &spec, half, &mut want).unwrap();
                for buffered in [0, 3, Mixer::RECOMMENDED_BUFFER] {
                    for (order, reverse) in [("in order", false), ("reversed", true)] {
                        // The float path takes its frames in order only (contract 7).
                        if reverse && matches!(spec.path, MixPath::Float(_)) {
                            continue;
                        }
                        for given_output in [false, true] {
                            let words =
                                Mixer::scratch_len_buffered(&plan, g, &spec, buffered).unwrap();
                            let mut scratch = vec![0u64; words];
                            let mut own = vec![0f32; n];
                            let mut mixer = if given_output {
                                Mixer::with_output(&plan, g, spec, buffered, &mut scratch, &mut own)
                                    .unwrap()
                            } else {
                                Mixer::with_buffer(&plan, g, spec, buffered, &mut scratch).unwrap()
                            };
                            let mut order_of: Vec<u32> = (0..24).collect();
                            if reverse {
                                order_of.reverse();
                            }
                            for f in order_of {
                                if mixer.is_needed(f) {
                                    mixer.push(f, &frames[f as usize]).unwrap();
                                }
                            }
                            let mut got = vec![UNSET; n];
                            mixer.finish_half(half, &mut got).unwrap();
                            assert!(
                                got == want,
                                "{half:?} {spec:?} buffer {buffered} {order} output given {given_output}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn mixer_finish_half_refuses_a_short_output() {
    let g = Geometry::new(4, 2, 3).unwrap();
    let plan = Plan::new(4, &PlanConfig::default()).unwrap();
    let spec = MixSpec::default();
    let mut scratch = vec![0u64; Mixer::scratch_len(&plan, g, &spec).unwrap()];
    let mut mixer = Mixer::new(&plan, g, spec, &mut scratch).unwrap();
    let frame = vec![1u8; 24];
    for f in 0..4 {
        if mixer.is_needed(f) {
            mixer
                .push(f, &FrameView::packed(&frame, g).unwrap())
                .unwrap();
        }
    }
    let n = mixcore::output_len(&plan, g).unwrap();
    let mut out = vec![UNSET; n - 1];
    assert_eq!(
        mixer.finish_half(Half::F16, &mut out),
        Err(mixcore::Error::BufferTooSmall {
            len: n - 1,
            needed: n
        })
    );
    assert!(
        out.iter().all(|&h| h == UNSET),
        "wrote into a refused output"
    );
}

/// Frames with row padding (and starts off alignment) are mixed row by row, not as one flat
/// line: the half path there too equals `mix` then the conversion.
#[test]
fn mix_half_of_padded_frames_equals_mix_then_convert() {
    let g = Geometry::new(131, 4, 3).unwrap();
    let (row, stride) = (131 * 3, 131 * 3 + 9);
    let packed = random_video(20, Geometry::new(131, 4, 3).unwrap(), 0x51ed_2701_0000_0001);
    let padded: Vec<Vec<u8>> = packed
        .iter()
        .map(|p| {
            let mut v = vec![0xAAu8; 1 + stride * 4];
            for y in 0..4 {
                v[1 + y * stride..1 + y * stride + row].copy_from_slice(&p[y * row..(y + 1) * row]);
            }
            v
        })
        .collect();
    let frames: Vec<FrameView<'_>> = padded
        .iter()
        .map(|v| FrameView::new(&v[1..], g, stride).unwrap())
        .collect();
    let plan = Plan::new(
        20,
        &PlanConfig {
            segments: 3,
            ..PlanConfig::default()
        },
    )
    .unwrap();
    for layout in [Layout::Tchw, Layout::Thwc] {
        for backend in backends() {
            let spec = MixSpec {
                layout,
                backend,
                ..MixSpec::default()
            };
            let mut f32s = vec![0f32; mixcore::output_len(&plan, g).unwrap()];
            mix(&plan, &frames, &spec, &mut f32s).unwrap();
            for half in [Half::F16, Half::Bf16] {
                let mut got = vec![UNSET; f32s.len()];
                mix_half(&plan, &frames, &spec, half, &mut got).unwrap();
                let want: Vec<u16> = f32s.iter().map(|&v| half.bits(v)).collect();
                assert!(got == want, "{half:?} {layout:?} {backend:?}");
            }
        }
    }
}
