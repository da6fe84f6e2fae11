//! The "Readings" of docs/contract.md that no other test pins: where the upstream spec is
//! silent or ambiguous, the reading framemix takes, checked against values derived here
//! independently (decimal parsing, wide integers, plain `f32` steps), on every backend.

use framemix_tests::{
    Video, assert_bits_eq, backends, oracle_epilogue, oracle_index, oracle_mix, oracle_round,
};
use mixcore::{
    Epilogue, Error, FloatWeights, FrameView, FramesPerSegment, Geometry, Layout, MixPath, MixSpec,
    Mixer, Mode, Plan, PlanConfig, Schedule, SplitMix64, mix, mix_par, output_len,
};

const LAYOUTS: [Layout; 3] = [Layout::Tchw, Layout::Cthw, Layout::Thwc];

/// ImageNet's statistics as the contract writes them: decimal strings.
const IMAGENET_MEAN: [&str; 3] = ["0.485", "0.456", "0.406"];
const IMAGENET_STD: [&str; 3] = ["0.229", "0.224", "0.225"];

fn plan(frames: u32, config: PlanConfig<'_>) -> Plan<'_> {
    Plan::new(frames, &config).expect("valid test plan")
}

fn packed_views<'v>(frames: &'v [Vec<u8>], g: Geometry) -> Vec<FrameView<'v>> {
    frames
        .iter()
        .map(|b| FrameView::packed(b, g).expect("valid test frame"))
        .collect()
}

/// `mix` into a fresh buffer of exactly [`output_len`] values.
fn run_mix(plan: &Plan<'_>, frames: &[FrameView<'_>], spec: &MixSpec<'_>) -> Vec<f32> {
    let g = frames[0].geometry();
    let mut out = vec![f32::NAN; output_len(plan, g).unwrap()];
    mix(plan, frames, spec, &mut out).unwrap();
    out
}

/// `mix_par` into a fresh buffer of exactly [`output_len`] values.
fn run_par(plan: &Plan<'_>, frames: &[FrameView<'_>], spec: &MixSpec<'_>) -> Vec<f32> {
    let g = frames[0].geometry();
    let mut out = vec![f32::NAN; output_len(plan, g).unwrap()];
    mix_par(plan, frames, spec, &mut out).unwrap();
    out
}

/// A streaming mix, every frame pushed in increasing order, `buffered` frames of buffer.
fn run_stream(
    plan: &Plan<'_>,
    frames: &[FrameView<'_>],
    spec: MixSpec<'_>,
    buffered: u32,
) -> Vec<f32> {
    let g = frames[0].geometry();
    let mut scratch = vec![0u64; Mixer::scratch_len_buffered(plan, g, &spec, buffered).unwrap()];
    let mut mixer = Mixer::with_buffer(plan, g, spec, buffered, &mut scratch).unwrap();
    for (f, frame) in frames.iter().enumerate() {
        mixer.push(f as u32, frame).unwrap();
    }
    let mut out = vec![f32::NAN; output_len(plan, g).unwrap()];
    mixer.finish(&mut out).unwrap();
    out
}

/// Every entry point on every backend, each compared bit for bit with `expected`.
fn assert_all_paths(
    plan: &Plan<'_>,
    frames: &[FrameView<'_>],
    base: MixSpec<'_>,
    expected: &[f32],
    what: &str,
) {
    for backend in backends() {
        let spec = MixSpec { backend, ..base };
        assert_bits_eq(
            &run_mix(plan, frames, &spec),
            expected,
            &format!("{what}: mix {backend:?}"),
        );
        for buffered in [0, 8] {
            assert_bits_eq(
                &run_stream(plan, frames, spec, buffered),
                expected,
                &format!("{what}: stream {backend:?}, buffer {buffered}"),
            );
        }
    }
    assert_bits_eq(
        &run_par(plan, frames, &base),
        expected,
        &format!("{what}: mix_par"),
    );
}

/// `F` packed frames of `g` filled with SplitMix64 bytes.
fn random_frames(seed: u64, frames: usize, g: Geometry) -> Vec<Vec<u8>> {
    let mut rng = SplitMix64::new(seed);
    let len = g.elements().unwrap();
    (0..frames)
        .map(|_| (0..len).map(|_| rng.next_u64() as u8).collect())
        .collect()
}

/// The float path's weights given by the caller.
fn given(w: &[f32]) -> MixSpec<'_> {
    MixSpec {
        path: MixPath::Float(FloatWeights::Given(w)),
        ..MixSpec::default()
    }
}

/// A plan with a fixed `k`, `S` segments, default everything else.
fn fixed_k(frames: u32, segments: u32, k: u32) -> Plan<'static> {
    plan(
        frames,
        PlanConfig {
            segments,
            k: FramesPerSegment::Fixed(k),
            ..PlanConfig::default()
        },
    )
}

/// docs/contract.md §2, Readings: each frame carries its own row stride and the frames of one
/// mix agree on `W, H, C` only; frames of different strides (padded, packed, with and without
/// padding after the last row, padding full of junk) give the same bits as packed frames, on
/// every backend and entry point.
#[test]
fn frames_of_different_strides_mix_like_packed_frames() {
    const F: usize = 13;
    let pads = [0usize, 1, 5, 16, 3, 64, 0, 7];
    let custom = [3u32, 0, 200];
    let configs = [
        PlanConfig {
            segments: 3,
            ..PlanConfig::default()
        },
        PlanConfig {
            segments: 2,
            k: FramesPerSegment::Fixed(5),
            schedule: Schedule::Average,
            ..PlanConfig::default()
        },
        PlanConfig {
            segments: 4,
            k: FramesPerSegment::Fixed(3),
            schedule: Schedule::Custom(&custom),
            mode: Mode::Train { seed: 7 },
            ..PlanConfig::default()
        },
        PlanConfig {
            segments: 2,
            schedule: Schedule::Linear0,
            ..PlanConfig::default()
        },
    ];
    let specs = [
        MixSpec::default(),
        MixSpec {
            layout: Layout::Thwc,
            epilogue: Epilogue::IMAGENET,
            ..MixSpec::default()
        },
        MixSpec {
            layout: Layout::Cthw,
            path: MixPath::Float(FloatWeights::Schedule),
            ..MixSpec::default()
        },
    ];
    for (gi, &(w, h, c)) in [(5, 3, 1), (37, 4, 3), (67, 3, 4), (300, 2, 2)]
        .iter()
        .enumerate()
    {
        let g = Geometry::new(w, h, c).unwrap();
        let row = g.row_bytes().unwrap();
        let packed = random_frames(gi as u64 + 100, F, g);
        // The same pixels at each frame's own stride, padding bytes set to junk; odd frames
        // end right after their last pixel, even ones carry the last row's padding too.
        let strides: Vec<usize> = (0..F).map(|f| row + pads[f % pads.len()]).collect();
        let padded: Vec<Vec<u8>> = (0..F)
            .map(|f| {
                let stride = strides[f];
                let tail = if f % 2 == 1 { row } else { stride };
                let mut b =
                    vec![0xA5 ^ (f as u8).wrapping_mul(37); stride * (h as usize - 1) + tail];
                for y in 0..h as usize {
                    b[y * stride..y * stride + row]
                        .copy_from_slice(&packed[f][y * row..(y + 1) * row]);
                }
                b
            })
            .collect();
        let padded_views: Vec<FrameView<'_>> = padded
            .iter()
            .zip(&strides)
            .map(|(b, &s)| FrameView::new(b, g, s).unwrap())
            .collect();
        let distinct: std::collections::BTreeSet<usize> =
            padded_views.iter().map(FrameView::stride).collect();
        assert!(distinct.len() > 2, "the frames should have several strides");
        let packed_views = packed_views(&packed, g);
        let video = Video {
            geometry: g,
            stride: row,
            frames: packed.clone(),
        };
        for config in configs {
            let plan = plan(F as u32, config);
            for base in specs {
                let oracle = oracle_mix(&plan, &video, &base);
                let what = format!("{g:?} {config:?} {base:?}");
                assert_bits_eq(
                    &run_mix(&plan, &packed_views, &base),
                    &oracle,
                    &format!("{what}: packed"),
                );
                assert_all_paths(&plan, &padded_views, base, &oracle, &what);
            }
        }
    }
}

/// docs/contract.md §5, Readings: a zero numerator (`linear0` at `t = 0`, a zero in `custom`)
/// still marks a mixed frame, so a streaming `Mixer` that never receives it reports
/// `FramesMissing` at finish, buffered or not, exact or float, `finish` or `finish_output`.
#[test]
fn zero_numerator_frame_is_still_required_by_the_mixer() {
    let g = Geometry::new(4, 2, 3).unwrap();
    let custom = [2u32, 0, 1];
    let linear0 = plan(
        48,
        PlanConfig {
            schedule: Schedule::Linear0,
            ..PlanConfig::default()
        },
    );
    let custom_plan = plan(
        9,
        PlanConfig {
            segments: 3,
            k: FramesPerSegment::Fixed(3),
            schedule: Schedule::Custom(&custom),
            ..PlanConfig::default()
        },
    );
    // linear0, F = 48, S = 8: windows [6i, 6i+6), n_t = t, so frames 0 and 18 (t = 0 of
    // segments 0 and 3) have numerator 0. custom [2, 0, 1], F = 9, S = 3, k = 3: segment 1
    // mixes 3, 4, 5, so frame 4 has numerator 0.
    let cases: [(&Plan<'_>, &[u32], Error); 2] = [
        (
            &linear0,
            &[0, 18],
            Error::FramesMissing {
                missing: 2,
                first: 0,
            },
        ),
        (
            &custom_plan,
            &[4],
            Error::FramesMissing {
                missing: 1,
                first: 4,
            },
        ),
    ];
    let float = MixSpec {
        path: MixPath::Float(FloatWeights::Schedule),
        ..MixSpec::default()
    };
    for (plan, skipped, missing) in cases {
        for &f in skipped {
            let feeds: Vec<_> = plan.feeds(f).collect();
            assert_eq!(feeds.len(), 1, "frame {f}");
            assert_eq!(feeds[0].numerator, 0, "frame {f} has a zero numerator");
            assert!(plan.is_needed(f), "frame {f} is needed");
        }
        let bytes = random_frames(5, plan.frames() as usize, g);
        let views = packed_views(&bytes, g);
        for spec in [MixSpec::default(), float] {
            let expected = run_mix(plan, &views, &spec);
            for buffered in [0, 1, 8] {
                let words = Mixer::scratch_len_buffered(plan, g, &spec, buffered).unwrap();
                let len = output_len(plan, g).unwrap();
                let what = format!("{:?} {spec:?} buffer {buffered}", plan.schedule());
                // Without the zero-numerator frames: finish reports them missing.
                let mut scratch = vec![0u64; words];
                let mut mixer = Mixer::with_buffer(plan, g, spec, buffered, &mut scratch).unwrap();
                for f in (0..plan.frames()).filter(|f| !skipped.contains(f)) {
                    mixer.push(f, &views[f as usize]).unwrap();
                }
                let mut out = vec![0.0; len];
                assert_eq!(mixer.finish(&mut out), Err(missing), "{what}");
                if buffered > 0 {
                    let mut scratch = vec![0u64; words];
                    let mut own = vec![0.0; len];
                    let mut mixer =
                        Mixer::with_output(plan, g, spec, buffered, &mut scratch, &mut own)
                            .unwrap();
                    for f in (0..plan.frames()).filter(|f| !skipped.contains(f)) {
                        mixer.push(f, &views[f as usize]).unwrap();
                    }
                    assert_eq!(mixer.finish_output(), Err(missing), "{what}: finish_output");
                }
                // With them: the mix completes and equals the in-memory mix.
                let got = run_stream(plan, &views, spec, buffered);
                assert_bits_eq(&got, &expected, &what);
            }
        }
    }
}

/// Nearest-`f32` check independent of Rust's parser: `x` is no farther from the decimal than
/// either neighbour (`f64` resolves distances of ~1e-9 exactly enough here).
fn assert_nearest_f32(x: f32, decimal: &str) {
    let d: f64 = decimal.parse().unwrap();
    let dist = |v: f32| (f64::from(v) - d).abs();
    let below = f32::from_bits(x.to_bits() - 1);
    let above = f32::from_bits(x.to_bits() + 1);
    assert!(
        dist(x) < dist(below) && dist(x) < dist(above),
        "{x:?} ({:#010X}) is not the nearest f32 of {decimal}",
        x.to_bits()
    );
}

/// The hex words of the line of docs/contract.md §6 that starts with `label` (e.g. "mean bits").
fn contract_bits(label: &str) -> Vec<u32> {
    let doc = include_str!("../../docs/contract.md");
    let line = doc
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("docs/contract.md has no line starting {label:?}"));
    line[label.len()..]
        .split_whitespace()
        .map(|w| u32::from_str_radix(w, 16).unwrap())
        .collect()
}

/// docs/contract.md §6, Readings: `Epilogue::IMAGENET` holds the nearest `f32` of ImageNet's
/// decimal mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), with mean 0 and std 1 for
/// a 4th channel; the bit table printed in §6 says the same.
#[test]
fn imagenet_constants_are_nearest_f32_of_the_decimals() {
    let Epilogue::Normalize { mean, std } = Epilogue::IMAGENET else {
        panic!("IMAGENET is not a normalisation");
    };
    for c in 0..3 {
        let m: f32 = IMAGENET_MEAN[c].parse().unwrap();
        let s: f32 = IMAGENET_STD[c].parse().unwrap();
        assert_nearest_f32(m, IMAGENET_MEAN[c]);
        assert_nearest_f32(s, IMAGENET_STD[c]);
        assert_eq!(mean[c].to_bits(), m.to_bits(), "mean[{c}]");
        assert_eq!(std[c].to_bits(), s.to_bits(), "std[{c}]");
    }
    assert_eq!(mean[3].to_bits(), 0.0f32.to_bits(), "mean[3] is +0.0");
    assert_eq!(std[3].to_bits(), 1.0f32.to_bits(), "std[3] is 1.0");
    let doc_mean = contract_bits("mean bits");
    let doc_std = contract_bits("std  bits");
    assert_eq!(doc_mean, mean.map(f32::to_bits), "§6 mean bit table");
    assert_eq!(doc_std, std.map(f32::to_bits), "§6 std bit table");
}

/// docs/contract.md §6, Readings: ImageNet with `C != 3` uses entry `c` of the 4-entry arrays,
/// so `C = 1` gets red's constants, `C = 2` red's and green's, and a 4th channel gets
/// `y = V/255` exactly. Expected values: `V` from the integer oracle, then the §6 steps in
/// `f32` with the constants parsed from ImageNet's decimals.
#[test]
fn imagenet_channel_c_uses_entry_c() {
    let mean: Vec<f32> = IMAGENET_MEAN.iter().map(|s| s.parse().unwrap()).collect();
    let std: Vec<f32> = IMAGENET_STD.iter().map(|s| s.parse().unwrap()).collect();
    // F = 3, S = 1, linear: N = v0 + 2 v1 + 3 v2, D = 6.
    let plan = plan(
        3,
        PlanConfig {
            segments: 1,
            ..PlanConfig::default()
        },
    );
    for channels in 1..=4u32 {
        let g = Geometry::new(259, 2, channels).unwrap();
        let (w, h, ch) = (259usize, 2usize, channels as usize);
        let byte = |f: usize, y: usize, x: usize, c: usize| {
            ((x * 7 + y * 131 + c * 53 + f * 29) % 256) as u8
        };
        let bytes: Vec<Vec<u8>> = (0..3)
            .map(|f| {
                let mut b = Vec::with_capacity(w * h * ch);
                for y in 0..h {
                    for x in 0..w {
                        for c in 0..ch {
                            b.push(byte(f, y, x, c));
                        }
                    }
                }
                b
            })
            .collect();
        let views = packed_views(&bytes, g);
        for layout in LAYOUTS {
            let mut expected = vec![f32::NAN; w * h * ch];
            for y in 0..h {
                for x in 0..w {
                    for c in 0..ch {
                        let n: u64 = (0..3)
                            .map(|f| (f as u64 + 1) * u64::from(byte(f, y, x, c)))
                            .sum();
                        let v = oracle_round(n, 6);
                        let unit = v / 255.0;
                        let e = if c < 3 {
                            (unit - mean[c]) / std[c]
                        } else {
                            unit
                        };
                        expected[oracle_index(layout, 1, g, 0, y, x, c)] = e;
                    }
                }
            }
            let spec = MixSpec {
                layout,
                epilogue: Epilogue::IMAGENET,
                ..MixSpec::default()
            };
            assert_all_paths(
                &plan,
                &views,
                spec,
                &expected,
                &format!("C={channels} {layout:?}"),
            );
            // Channel 3 equals the unit epilogue's value bit for bit.
            if channels == 4 {
                let unit = run_mix(
                    &plan,
                    &views,
                    &MixSpec {
                        layout,
                        epilogue: Epilogue::Unit,
                        ..MixSpec::default()
                    },
                );
                let imagenet = run_mix(&plan, &views, &spec);
                for y in 0..h {
                    for x in 0..w {
                        let j = oracle_index(layout, 1, g, 0, y, x, 3);
                        assert_eq!(imagenet[j].to_bits(), unit[j].to_bits(), "({y}, {x})");
                    }
                }
            }
        }
    }
}

/// docs/contract.md §6, Readings: for channels `< C`, a `normalize` std that is not finite and
/// `> 0` (negative, -0.0, ±inf) or a mean that is not finite (NaN, ±inf) is refused with
/// `BadNormalization { channel }`, by `mix` and by `Mixer`; entries at or past `C` are ignored.
#[test]
fn normalize_refuses_bad_std_and_mean_below_c() {
    let g = Geometry::new(4, 2, 3).unwrap();
    let bytes = random_frames(9, 4, g);
    let views = packed_views(&bytes, g);
    let plan = plan(
        4,
        PlanConfig {
            segments: 2,
            ..PlanConfig::default()
        },
    );
    let mut out = vec![0.0; output_len(&plan, g).unwrap()];
    let bad_std = [
        -1.0,
        -0.0,
        -f32::MIN_POSITIVE,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let bad_mean = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
    let good = ([0.5f32, 0.25, 0.125, 0.0], [0.3f32, 0.7, 0.11, 1.0]);
    let spec_of = |mean, std| MixSpec {
        epilogue: Epilogue::Normalize { mean, std },
        ..MixSpec::default()
    };
    let mut cases = Vec::new();
    for c in 0..3 {
        for s in bad_std {
            let mut std = good.1;
            std[c] = s;
            cases.push((c, spec_of(good.0, std)));
        }
        for m in bad_mean {
            let mut mean = good.0;
            mean[c] = m;
            cases.push((c, spec_of(mean, good.1)));
        }
    }
    for (c, spec) in cases {
        let err = Err(Error::BadNormalization { channel: c as u32 });
        assert_eq!(mix(&plan, &views, &spec, &mut out), err, "{spec:?}");
        let mut scratch = vec![0u64; 1 << 12];
        assert_eq!(
            Mixer::new(&plan, g, spec, &mut scratch).map(|_| ()),
            err,
            "Mixer: {spec:?}"
        );
    }
    // Past C: the 4th entry of a 3-channel mix, entries 1.. of a 1-channel mix.
    let past = spec_of([0.5, 0.25, 0.125, f32::NAN], [0.3, 0.7, 0.11, -1.0]);
    assert_eq!(mix(&plan, &views, &past, &mut out), Ok(()));
    let g1 = Geometry::new(4, 2, 1).unwrap();
    let bytes1 = random_frames(10, 4, g1);
    let views1 = packed_views(&bytes1, g1);
    let past1 = spec_of(
        [0.5, f32::NAN, f32::INFINITY, f32::NAN],
        [0.3, 0.0, -1.0, f32::NEG_INFINITY],
    );
    assert_eq!(mix(&plan, &views1, &past1, &mut out), Ok(()));
}

/// docs/contract.md §7, Readings: NaN and ±inf given float weights are refused with
/// `WeightInvalid { index }` (the first bad one), by `mix` and by `Mixer`.
#[test]
fn nan_and_infinite_float_weights_are_refused() {
    let g = Geometry::new(4, 2, 3).unwrap();
    let bytes = random_frames(11, 6, g);
    let views = packed_views(&bytes, g);
    let plan = fixed_k(6, 2, 3);
    let mut out = vec![0.0; output_len(&plan, g).unwrap()];
    let bad = [
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7F80_0001), // signalling NaN
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    for x in bad {
        for index in 0..3 {
            let mut w = [0.25f32, 0.5, 0.25];
            w[index] = x;
            let spec = given(&w);
            let err = Err(Error::WeightInvalid { index });
            assert_eq!(mix(&plan, &views, &spec, &mut out), err, "{w:?}");
            assert_eq!(
                mix_par(&plan, &views, &spec, &mut out),
                err,
                "mix_par {w:?}"
            );
            let mut scratch = vec![0u64; 1 << 12];
            assert_eq!(
                Mixer::new(&plan, g, spec, &mut scratch).map(|_| ()),
                err,
                "Mixer {w:?}"
            );
        }
    }
    // The first bad weight is named.
    let w = [0.5, f32::INFINITY, f32::NAN];
    assert_eq!(
        mix(&plan, &views, &given(&w), &mut out),
        Err(Error::WeightInvalid { index: 1 })
    );
}

/// docs/contract.md §7, Readings: all-zero given float weights are accepted (the upstream spec's "all zero"
/// error is the custom numerators'), and every value is `+0.0`, on every backend.
#[test]
fn all_zero_float_weights_are_accepted() {
    let g = Geometry::new(67, 2, 3).unwrap();
    let bytes = random_frames(12, 12, g);
    let views = packed_views(&bytes, g);
    for k in [1u32, 2, 5] {
        let w = vec![0.0f32; k as usize];
        let plan = fixed_k(12, 2, k);
        let zeros = vec![0.0f32; output_len(&plan, g).unwrap()];
        for epilogue in [Epilogue::Raw, Epilogue::Unit] {
            let spec = MixSpec {
                epilogue,
                ..given(&w)
            };
            assert_all_paths(&plan, &views, spec, &zeros, &format!("k={k} {epilogue:?}"));
        }
    }
}

/// docs/contract.md §7, Readings: a `-0.0` float weight passes the `>= 0` check, and because
/// `acc` starts at `+0.0` the result is `+0.0` (bits 0), not `-0.0`, on every backend, even
/// when every weight is `-0.0`.
#[test]
fn negative_zero_weights_give_positive_zero() {
    let g = Geometry::new(67, 2, 3).unwrap();
    let mut bytes = random_frames(13, 12, g);
    bytes[0].fill(0); // products -0.0 * 0.0 too
    let views = packed_views(&bytes, g);
    for k in [1u32, 2, 5] {
        let w = vec![-0.0f32; k as usize];
        assert!(w.iter().all(|x| x.to_bits() == 0x8000_0000));
        let plan = fixed_k(12, 2, k);
        let zeros = vec![0.0f32; output_len(&plan, g).unwrap()];
        for epilogue in [Epilogue::Raw, Epilogue::Unit] {
            let spec = MixSpec {
                epilogue,
                ..given(&w)
            };
            assert_all_paths(&plan, &views, spec, &zeros, &format!("k={k} {epilogue:?}"));
        }
    }
}

/// docs/contract.md §7, Readings: `V` is not bounded; huge given weights overflow the `f32`
/// sum to `+inf`, which is written (through the epilogue) rather than refused. Expected
/// values: the §7 loop written out in plain `f32`.
#[test]
fn huge_float_weights_overflow_to_positive_infinity() {
    let g = Geometry::new(81, 1, 1).unwrap();
    // Frame 0's byte is x % 9 * 31 (0..=248), frame 1's is x / 9 * 31: every pair.
    let bytes: Vec<Vec<u8>> = vec![
        (0..81).map(|x| (x % 9 * 31) as u8).collect(),
        (0..81).map(|x| (x / 9 * 31) as u8).collect(),
    ];
    let views = packed_views(&bytes, g);
    let plan = fixed_k(2, 1, 2);
    for w in [[f32::MAX, f32::MAX], [3.0e38, 3.0e38], [1.0, f32::MAX]] {
        for epilogue in [Epilogue::Raw, Epilogue::Unit, Epilogue::IMAGENET] {
            let mut expected = vec![f32::NAN; 81];
            for (x, e) in expected.iter_mut().enumerate() {
                let mut acc = 0.0f32;
                for (f, &wt) in w.iter().enumerate() {
                    let prod = wt * f32::from(bytes[f][x]);
                    acc += prod;
                }
                *e = oracle_epilogue(&epilogue, acc, 0);
            }
            let infinities = expected.iter().filter(|v| **v == f32::INFINITY).count();
            assert!(infinities > 0, "{w:?}: no value overflows");
            assert!(
                expected
                    .iter()
                    .all(|v| !v.is_nan() && *v != f32::NEG_INFINITY)
            );
            // Both bytes 248: the sum (or a product) overflows.
            assert_eq!(expected[80].to_bits(), f32::INFINITY.to_bits());
            let spec = MixSpec {
                epilogue,
                ..given(&w)
            };
            assert_all_paths(
                &plan,
                &views,
                spec,
                &expected,
                &format!("{w:?} {epilogue:?}"),
            );
        }
    }
}

/// docs/contract.md §8, Readings: an output longer than `S*C*H*W` is accepted and nothing past
/// that is written, by `mix`, `mix_par`, `Mixer::finish` and `Mixer::finish_output`, in every
/// layout and on every backend.
#[test]
fn longer_output_is_accepted_and_its_tail_untouched() {
    const SENTINEL: f32 = -1234.5;
    const EXTRA: usize = 37;
    let g = Geometry::new(45, 3, 3).unwrap();
    let bytes = random_frames(14, 10, g);
    let views = packed_views(&bytes, g);
    let plan = plan(
        10,
        PlanConfig {
            segments: 3,
            ..PlanConfig::default()
        },
    );
    let len = output_len(&plan, g).unwrap();
    let check = |out: &[f32], expected: &[f32], what: &str| {
        assert_bits_eq(&out[..len], expected, what);
        assert!(
            out[len..].iter().all(|v| v.to_bits() == SENTINEL.to_bits()),
            "{what}: the tail was written"
        );
    };
    for layout in LAYOUTS {
        for path in [MixPath::Exact, MixPath::Float(FloatWeights::Schedule)] {
            let base = MixSpec {
                layout,
                path,
                ..MixSpec::default()
            };
            for backend in backends() {
                let spec = MixSpec { backend, ..base };
                let what = format!("{layout:?} {path:?} {backend:?}");
                let expected = run_mix(&plan, &views, &spec);
                let mut out = vec![SENTINEL; len + EXTRA];
                assert_eq!(mix(&plan, &views, &spec, &mut out), Ok(()));
                check(&out, &expected, &format!("mix {what}"));
                let mut out = vec![SENTINEL; len + EXTRA];
                assert_eq!(mix_par(&plan, &views, &spec, &mut out), Ok(()));
                check(&out, &expected, &format!("mix_par {what}"));
                for buffered in [0, 8] {
                    let words = Mixer::scratch_len_buffered(&plan, g, &spec, buffered).unwrap();
                    let mut scratch = vec![0u64; words];
                    let mut mixer =
                        Mixer::with_buffer(&plan, g, spec, buffered, &mut scratch).unwrap();
                    for (f, v) in views.iter().enumerate() {
                        mixer.push(f as u32, v).unwrap();
                    }
                    let mut out = vec![SENTINEL; len + EXTRA];
                    assert_eq!(mixer.finish(&mut out), Ok(()));
                    check(&out, &expected, &format!("finish {what} buffer {buffered}"));
                    let mut scratch = vec![0u64; words];
                    let mut out = vec![SENTINEL; len + EXTRA];
                    let mut mixer =
                        Mixer::with_output(&plan, g, spec, buffered, &mut scratch, &mut out)
                            .unwrap();
                    for (f, v) in views.iter().enumerate() {
                        mixer.push(f as u32, v).unwrap();
                    }
                    assert_eq!(mixer.finish_output(), Ok(()));
                    check(
                        &out,
                        &expected,
                        &format!("finish_output {what} buffer {buffered}"),
                    );
                }
            }
        }
    }
}

/// docs/contract.md §9, Readings: with several things wrong at once, the first check in the
/// documented order wins. Plan: `S = 0`, `F = 0`, `k = 0`, custom (fixed `k`, length, all zero,
/// segment 0 too short), then the limit. Mix: frame count, geometry against frame 0,
/// normalisation, float weights, output length. Push: range, pushed twice, geometry, float
/// order. Each step also checks that, with the winning problem removed, the next one is
/// reported, so every combination really has two problems.
#[test]
fn first_documented_check_wins() {
    // Plan.
    let k0 = FramesPerSegment::Fixed(0);
    let zeros = [0u32, 0];
    let zeros3 = [0u32, 0, 0];
    let steps: [(u32, PlanConfig<'_>, Error); 7] = [
        (
            0,
            PlanConfig {
                segments: 0,
                k: k0,
                ..PlanConfig::default()
            },
            Error::ZeroSegments,
        ),
        (
            0,
            PlanConfig {
                k: k0,
                schedule: Schedule::Custom(&zeros),
                ..PlanConfig::default()
            },
            Error::ZeroFrames,
        ),
        (
            10,
            PlanConfig {
                k: k0,
                schedule: Schedule::Custom(&zeros),
                ..PlanConfig::default()
            },
            Error::ZeroFramesPerSegment,
        ),
        (
            10,
            PlanConfig {
                schedule: Schedule::Custom(&zeros),
                ..PlanConfig::default()
            },
            Error::CustomNeedsFixedK,
        ),
        (
            10,
            PlanConfig {
                segments: 8,
                k: FramesPerSegment::Fixed(2),
                schedule: Schedule::Custom(&zeros3),
                ..PlanConfig::default()
            },
            Error::WeightsLength {
                given: 3,
                expected: 2,
            },
        ),
        (
            10,
            PlanConfig {
                segments: 8,
                k: FramesPerSegment::Fixed(2),
                schedule: Schedule::Custom(&zeros),
                ..PlanConfig::default()
            },
            Error::WeightsAllZero,
        ),
        (
            10,
            PlanConfig {
                segments: 8,
                k: FramesPerSegment::Fixed(2),
                schedule: Schedule::Custom(&[1, 0]),
                ..PlanConfig::default()
            },
            Error::WindowShorterThanK {
                segment: 0,
                window: 1,
                k: 2,
            },
        ),
    ];
    for (frames, config, err) in steps {
        assert_eq!(Plan::new(frames, &config), Err(err), "{frames} {config:?}");
    }
    // Segment 0 too short and over the limit at once: F = 2 * 65537 + 1, S = 2 gives windows of
    // 65,537 and 65,538 frames; k = 65,538 is one too many for segment 0 and, in segment 1,
    // more than the 65,536 mixed frames allowed.
    let frames = 2 * 65_537 + 1;
    let k = FramesPerSegment::Fixed(65_538);
    let ones = vec![1u32; 65_538];
    let custom = PlanConfig {
        segments: 2,
        k,
        schedule: Schedule::Custom(&ones),
        ..PlanConfig::default()
    };
    assert_eq!(
        Plan::new(frames, &custom),
        Err(Error::WindowShorterThanK {
            segment: 0,
            window: 65_537,
            k: 65_538
        })
    );
    let linear = PlanConfig {
        schedule: Schedule::Linear,
        ..custom
    };
    assert_eq!(
        Plan::new(frames, &linear),
        Err(Error::WindowTooLarge {
            segment: 1,
            frames: 65_538,
            limit: mixcore::MAX_MIXED_FRAMES
        })
    );

    // Mix: every entry point in memory, problems removed one at a time.
    let g = Geometry::new(4, 2, 3).unwrap();
    let odd_g = Geometry::new(4, 2, 1).unwrap();
    let good = vec![9u8; 24];
    let frame = FrameView::packed(&good, g).unwrap();
    let odd = FrameView::packed(&good[..8], odd_g).unwrap();
    let plan = fixed_k(4, 2, 2);
    let nan_w = [0.5f32, f32::NAN];
    let ok_w = [0.5f32, 0.5];
    let bad_norm = Epilogue::Normalize {
        mean: [0.0; 4],
        std: [1.0, 1.0, -1.0, 1.0],
    };
    let bad_spec = MixSpec {
        epilogue: bad_norm,
        ..given(&nan_w)
    };
    let weights_only = given(&nan_w);
    let short_only = given(&ok_w);
    let too_few = [odd, frame, frame];
    let mismatched = [frame, frame, odd, frame];
    let all_good = [frame; 4];
    let steps: [(&[FrameView<'_>], MixSpec<'_>, Error); 5] = [
        (
            &too_few,
            bad_spec,
            Error::FrameCountMismatch {
                expected: 4,
                found: 3,
            },
        ),
        (
            &mismatched,
            bad_spec,
            Error::FrameGeometryMismatch {
                expected: (4, 2, 3),
                found: (4, 2, 1),
            },
        ),
        (&all_good, bad_spec, Error::BadNormalization { channel: 2 }),
        (&all_good, weights_only, Error::WeightInvalid { index: 1 }),
        (
            &all_good,
            short_only,
            Error::BufferTooSmall {
                len: 47,
                needed: 48,
            },
        ),
    ];
    for (frames, spec, err) in steps {
        let mut short = vec![0.0f32; 47];
        assert_eq!(mix(&plan, frames, &spec, &mut short), Err(err), "mix");
        assert_eq!(mix_par(&plan, frames, &spec, &mut short), Err(err), "par");
    }
    let mut out = vec![0.0f32; 48];
    assert_eq!(mix(&plan, &all_good, &short_only, &mut out), Ok(()));

    // Push: a float mixer (F = 6, S = 2, windows {0,1,2}, {3,4,5}) that has received frame 1.
    let plan = plan_default(6, 2);
    let float = MixSpec {
        path: MixPath::Float(FloatWeights::Schedule),
        ..MixSpec::default()
    };
    let mut scratch = vec![0u64; Mixer::scratch_len(&plan, g, &float).unwrap()];
    let mut mixer = Mixer::new(&plan, g, float, &mut scratch).unwrap();
    mixer.push(1, &frame).unwrap();
    // Out of range and the wrong geometry.
    assert_eq!(
        mixer.push(6, &odd),
        Err(Error::FrameOutOfRange {
            frame: 6,
            frames: 6
        })
    );
    // Pushed twice, the wrong geometry, and (t = 1 after t = 1) no longer in order.
    assert_eq!(
        mixer.push(1, &odd),
        Err(Error::FramePushedTwice { frame: 1 })
    );
    // The wrong geometry and out of order (t = 0 after t = 1).
    assert_eq!(
        mixer.push(0, &odd),
        Err(Error::FrameGeometryMismatch {
            expected: (4, 2, 3),
            found: (4, 2, 1)
        })
    );
    assert_eq!(
        mixer.push(0, &frame),
        Err(Error::FloatOutOfOrder { frame: 0 })
    );
    mixer.push(2, &frame).unwrap();
}

fn plan_default(frames: u32, segments: u32) -> Plan<'static> {
    plan(
        frames,
        PlanConfig {
            segments,
            ..PlanConfig::default()
        },
    )
}

/// docs/contract.md §6: custom numerators `[1, 131071]` (`D = 2^17`) produce exact ties, and
/// they round to even: `v = (129, 128)` gives `128.0` (`0x43000000`), `v = (131, 128)` gives
/// `0x43000002`. Every pair of bytes is mixed; the expected value is `N / 2^17` computed
/// exactly in `f64` (`N < 2^25`, a power-of-two divisor) and rounded once to `f32`.
#[test]
fn custom_ties_round_to_even() {
    let nums = [1u32, 131_071];
    assert_eq!(u64::from(nums[0]) + u64::from(nums[1]), 1 << 17);
    let plan = plan(
        2,
        PlanConfig {
            segments: 1,
            k: FramesPerSegment::Fixed(2),
            schedule: Schedule::Custom(&nums),
            ..PlanConfig::default()
        },
    );
    assert_eq!(
        plan.segment(0).unwrap().positions().collect::<Vec<_>>(),
        [0, 1]
    );
    // Pixel (y, x): frame 0 holds x, frame 1 holds y.
    let g = Geometry::new(256, 256, 1).unwrap();
    let bytes: Vec<Vec<u8>> = vec![
        (0..65_536u32).map(|j| (j % 256) as u8).collect(),
        (0..65_536u32).map(|j| (j / 256) as u8).collect(),
    ];
    let views = packed_views(&bytes, g);
    let (mut ties_down, mut ties_up) = (0, 0);
    let expected: Vec<f32> = (0..65_536u64)
        .map(|j| {
            let (v0, v1) = (j % 256, j / 256);
            let n = u128::from(nums[0]) * u128::from(v0) + u128::from(nums[1]) * u128::from(v1);
            let exact = n as f64 / 131_072.0; // exact: n < 2^25
            assert_eq!((exact * 131_072.0) as u128, n);
            let r = exact as f32; // one rounding, to nearest, ties to even
            // A tie: N's odd part has exactly 25 bits, one more than f32 keeps.
            if n > 0 && 128 - (n >> n.trailing_zeros()).leading_zeros() == 25 {
                assert_eq!(r.to_bits() % 2, 0, "tie at {v0}, {v1} not to even");
                if f64::from(r) < exact {
                    ties_down += 1;
                } else {
                    ties_up += 1;
                }
            }
            r
        })
        .collect();
    assert!(
        ties_down > 0 && ties_up > 0,
        "ties down {ties_down}, up {ties_up}"
    );
    // The doc's two examples.
    assert_eq!(expected[128 * 256 + 129].to_bits(), 0x4300_0000);
    assert_eq!(expected[128 * 256 + 131].to_bits(), 0x4300_0002);
    assert_all_paths(
        &plan,
        &views,
        MixSpec::default(),
        &expected,
        "custom [1, 131071]",
    );
}
