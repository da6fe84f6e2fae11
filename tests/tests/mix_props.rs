//! Properties of the mixed values (docs/contract.md sections 6 to 8): every backend and entry point
//! equals the independent oracle bit for bit.

use framemix_tests::{
    Video, arbitrary_config, arbitrary_epilogue, arbitrary_layout, arbitrary_video, oracle_index,
    oracle_mix, oracle_round, prop_bits_eq,
};
use mixcore::{
    FloatWeights, FramesPerSegment, Geometry, Layout, MixPath, MixSpec, Mixer, Plan, PlanConfig,
    Schedule, mix, mix_par, output_len,
};
use proptest::prelude::*;

fn run_mix(plan: &Plan<'_>, video: &Video, spec: &MixSpec<'_>) -> Vec<f32> {
    let mut out = vec![f32::NAN; output_len(plan, video.geometry).unwrap()];
    mix(plan, &video.views(), spec, &mut out).unwrap();
    out
}

fn run_stream(plan: &Plan<'_>, video: &Video, spec: MixSpec<'_>, order: &[u32]) -> Vec<f32> {
    run_stream_buffered(plan, video, spec, order, 0)
}

fn run_stream_buffered(
    plan: &Plan<'_>,
    video: &Video,
    spec: MixSpec<'_>,
    order: &[u32],
    buffered: u32,
) -> Vec<f32> {
    let finished = run_stream_finishing(plan, video, spec, order, buffered, Finishing::Into, false);
    // The output given up front (`with_output`) gives the same bits, finished in place or
    // into another buffer, and so do frames written into the buffer by `push_with`.
    let mut others = vec![(Finishing::InPlace, false), (Finishing::CopiedOut, false)];
    if buffered > 0 {
        others.extend([(Finishing::InPlace, true), (Finishing::Into, true)]);
    }
    for (how, fill) in others {
        let other = run_stream_finishing(plan, video, spec, order, buffered, how, fill);
        let same = other
            .iter()
            .zip(&finished)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(
            same,
            "{how:?} (push_with: {fill}) differs from Mixer::finish (buffer {buffered})"
        );
    }
    finished
}

#[derive(Clone, Copy, Debug)]
enum Finishing {
    /// `with_buffer`, then `finish(out)`.
    Into,
    /// `with_output`, then `finish_output()`.
    InPlace,
    /// `with_output`, then `finish(other)`.
    CopiedOut,
}

fn run_stream_finishing(
    plan: &Plan<'_>,
    video: &Video,
    spec: MixSpec<'_>,
    order: &[u32],
    buffered: u32,
    how: Finishing,
    fill: bool,
) -> Vec<f32> {
    let g = video.geometry;
    let words = Mixer::scratch_len_buffered(plan, g, &spec, buffered).unwrap();
    let mut scratch = vec![0xDEAD_BEEF_u64; words];
    let views = video.views();
    let len = output_len(plan, g).unwrap();
    let mut out = vec![f32::NAN; len];
    let mut own = vec![f32::NAN; len];
    let mut mixer = match how {
        Finishing::Into => Mixer::with_buffer(plan, g, spec, buffered, &mut scratch).unwrap(),
        Finishing::InPlace | Finishing::CopiedOut => {
            Mixer::with_output(plan, g, spec, buffered, &mut scratch, &mut own).unwrap()
        }
    };
    let row = (g.width * g.channels) as usize;
    for &f in order {
        let view = &views[f as usize];
        // With `fill`, two frames in three are written into the mixer's buffer (packed rows).
        if fill && f % 3 != 0 {
            let mut called = false;
            mixer
                .push_with(f, |bytes| {
                    called = true;
                    for (y, dst) in bytes.chunks_exact_mut(row).enumerate() {
                        dst.copy_from_slice(&view.row(y as u32)[..row]);
                    }
                })
                .unwrap();
            assert_eq!(
                called,
                plan.is_needed(f),
                "push_with calls fill for needed frames only"
            );
        } else {
            mixer.push(f, view).unwrap();
        }
    }
    match how {
        Finishing::Into | Finishing::CopiedOut => mixer.finish(&mut out).unwrap(),
        Finishing::InPlace => {
            mixer.finish_output().unwrap();
            out = own;
        }
    }
    out
}

proptest! {
    #![proptest_config(framemix_tests::cases(256))]

    #[test]
    fn exact_matches_oracle_every_backend(
        video in arbitrary_video(1..=40, 1..=37, 1..=4),
        cfg in arbitrary_config(40, 1..=12),
        layout in arbitrary_layout(),
        epilogue in arbitrary_epilogue(),
    ) {
        let Ok(plan) = Plan::new(video.frames.len() as u32, &cfg.config()) else { return Ok(()); };
        let base = MixSpec { layout, epilogue, ..MixSpec::default() };
        let oracle = oracle_mix(&plan, &video, &base);
        for backend in framemix_tests::backends() {
            let spec = MixSpec { backend, ..base };
            prop_bits_eq(&run_mix(&plan, &video, &spec), &oracle, &format!("mix {backend:?}"))?;
        }
        let mut par = vec![f32::NAN; oracle.len()];
        mix_par(&plan, &video.views(), &base, &mut par).unwrap();
        prop_bits_eq(&par, &oracle, "mix_par")?;
    }

    #[test]
    fn float_path_matches_oracle_every_backend(
        video in arbitrary_video(1..=30, 1..=37, 1..=3),
        cfg in arbitrary_config(30, 1..=8),
        layout in arbitrary_layout(),
        epilogue in arbitrary_epilogue(),
        given in prop::collection::vec(0.0f32..3.0, 1..6),
    ) {
        let Ok(plan) = Plan::new(video.frames.len() as u32, &cfg.config()) else { return Ok(()); };
        let given_ok = cfg.k == Some(given.len() as u32);
        for weights in [FloatWeights::Schedule, FloatWeights::Given(&given)] {
            if matches!(weights, FloatWeights::Given(_)) && !given_ok { continue; }
            let base = MixSpec { layout, epilogue, path: MixPath::Float(weights), ..MixSpec::default() };
            if plan.segment(0).unwrap().window().len() < given.len() as u32 && matches!(weights, FloatWeights::Given(_)) { continue; }
            let oracle = oracle_mix(&plan, &video, &base);
            for backend in framemix_tests::backends() {
                let spec = MixSpec { backend, ..base };
                prop_bits_eq(&run_mix(&plan, &video, &spec), &oracle, &format!("float {backend:?}"))?;
            }
            // Streaming in increasing order gives the same bits too, buffered or not.
            let order: Vec<u32> = (0..plan.frames()).collect();
            for buffered in [0, 1, 3, 16] {
                prop_bits_eq(&run_stream_buffered(&plan, &video, base, &order, buffered), &oracle, "float stream")?;
            }
        }
    }

    #[test]
    fn streaming_any_order_equals_in_memory(
        video in arbitrary_video(1..=40, 1..=20, 1..=3),
        cfg in arbitrary_config(40, 1..=12),
        layout in arbitrary_layout(),
        shuffle_seed: u64,
        skip_unneeded: bool,
    ) {
        let Ok(plan) = Plan::new(video.frames.len() as u32, &cfg.config()) else { return Ok(()); };
        let spec = MixSpec { layout, ..MixSpec::default() };
        let in_memory = run_mix(&plan, &video, &spec);
        let mut order: Vec<u32> = (0..plan.frames()).filter(|&f| !skip_unneeded || plan.is_needed(f)).collect();
        let in_order = run_stream(&plan, &video, spec, &order);
        for buffered in [1, 2, 5, 8, 16, 40] {
            let b = run_stream_buffered(&plan, &video, spec, &order, buffered);
            prop_bits_eq(&b, &in_memory, &format!("stream in order, buffer {buffered}"))?;
        }
        // Fisher-Yates with SplitMix64.
        let mut rng = mixcore::SplitMix64::new(shuffle_seed);
        for j in (1..order.len()).rev() {
            let r = ((rng.next_u64() as u128 * (j as u128 + 1)) >> 64) as usize;
            order.swap(j, r);
        }
        let shuffled = run_stream(&plan, &video, spec, &order);
        let shuffled_buffered = run_stream_buffered(&plan, &video, spec, &order, 4);
        prop_bits_eq(&shuffled_buffered, &in_memory, "stream shuffled, buffer 4")?;
        prop_bits_eq(&in_order, &in_memory, "stream in order vs in memory")?;
        prop_bits_eq(&shuffled, &in_memory, "stream shuffled vs in memory")?;
    }

    #[test]
    fn layouts_are_transposes(
        video in arbitrary_video(1..=20, 1..=20, 1..=4),
        segments in 1u32..=10,
    ) {
        let plan = Plan::new(video.frames.len() as u32, &PlanConfig { segments, ..PlanConfig::default() }).unwrap();
        let g = video.geometry;
        let outs: Vec<Vec<f32>> = [Layout::Tchw, Layout::Cthw, Layout::Thwc]
            .iter()
            .map(|&layout| run_mix(&plan, &video, &MixSpec { layout, ..MixSpec::default() }))
            .collect();
        let (s, ch, h, w) = (segments as usize, g.channels as usize, g.height as usize, g.width as usize);
        for i in 0..s { for y in 0..h { for x in 0..w { for c in 0..ch {
            let a = outs[0][oracle_index(Layout::Tchw, s, g, i, y, x, c)];
            let b = outs[1][oracle_index(Layout::Cthw, s, g, i, y, x, c)];
            let d = outs[2][oracle_index(Layout::Thwc, s, g, i, y, x, c)];
            prop_assert_eq!(a.to_bits(), b.to_bits());
            prop_assert_eq!(a.to_bits(), d.to_bits());
        }}}}
    }

    #[test]
    fn round_ratio_matches_oracle(n in any::<u64>(), d in 1u64..(1 << 48)) {
        let n = n % (255 * d + 1);
        prop_assert_eq!(mixcore::round::round_ratio(n, d).to_bits(), oracle_round(n, d).to_bits());
        if d < mixcore::round::FAST_DIVISOR_LIMIT {
            prop_assert_eq!(mixcore::round::round_ratio_fast(n, d).to_bits(), oracle_round(n, d).to_bits());
        }
    }
}

/// One pixel column of a huge window: frames whose bytes are chosen to produce sums near
/// ties and extremes, checked against the oracle for every backend.
fn huge_window_case(
    m: u32,
    schedule: Schedule<'_>,
    k: FramesPerSegment,
    pattern: impl Fn(u32) -> [u8; 3],
) {
    let g = Geometry::new(1, 1, 3).unwrap();
    let video = Video {
        geometry: g,
        stride: 3,
        frames: (0..m).map(|f| pattern(f).to_vec()).collect(),
    };
    let plan = Plan::new(
        m,
        &PlanConfig {
            segments: 1,
            k,
            schedule,
            ..PlanConfig::default()
        },
    )
    .unwrap();
    let oracle = oracle_mix(&plan, &video, &MixSpec::default());
    for backend in framemix_tests::backends() {
        let spec = MixSpec {
            backend,
            ..MixSpec::default()
        };
        framemix_tests::assert_bits_eq(
            &run_mix(&plan, &video, &spec),
            &oracle,
            &format!("m={m} {backend:?}"),
        );
        let order: Vec<u32> = (0..m).rev().collect();
        framemix_tests::assert_bits_eq(&run_stream(&plan, &video, spec, &order), &oracle, "stream");
        let order: Vec<u32> = (0..m).collect();
        framemix_tests::assert_bits_eq(
            &run_stream_buffered(&plan, &video, spec, &order, 8),
            &oracle,
            "stream buffered",
        );
    }
}

#[test]
fn exact_huge_windows_near_limit() {
    // 65,536 frames, linear: D = 2,147,516,416 >= 2^29 (exact integer route, u64 sums).
    huge_window_case(65_536, Schedule::Linear, FramesPerSegment::All, |f| {
        [255, (f % 256) as u8, (f * 7919 % 251) as u8]
    });
    // Just below and above the f64 route's limit (D = m(m+1)/2 vs 2^29).
    huge_window_case(32_767, Schedule::Linear, FramesPerSegment::All, |f| {
        [(f % 2) as u8 * 255, 1, (f % 3) as u8]
    });
    huge_window_case(32_768, Schedule::Linear, FramesPerSegment::All, |f| {
        [(f % 2) as u8 * 255, 1, (f % 3) as u8]
    });
    // Either side of D = 2^24: linear m = 5792 gives D = 16,776,528, m = 5793 gives
    // D = 16,782,321, which no f32 holds exactly.
    huge_window_case(5_792, Schedule::Linear, FramesPerSegment::All, |_| {
        [255, 254, 0]
    });
    huge_window_case(5_793, Schedule::Linear, FramesPerSegment::All, |_| {
        [255, 254, 0]
    });
    // The u32/u64 switch for built-in schedules: u32 sums while 255 * D <= 2^32 - 1, so
    // linear m <= 5803 (D = 16,840,306) and linear0 m <= 5804 (the same D); one more frame
    // needs u64 sums. Bytes of 255 make the largest sum, 255 * D, in every channel-0 value.
    for (m, schedule, wide) in [
        (5_803, Schedule::Linear, false),
        (5_804, Schedule::Linear, true),
        (5_804, Schedule::Linear0, false),
        (5_805, Schedule::Linear0, true),
    ] {
        let m64 = u64::from(m);
        let d = match schedule {
            Schedule::Linear => m64 * (m64 + 1) / 2,
            _ => m64 * (m64 - 1) / 2,
        };
        let cfg = PlanConfig {
            segments: 1,
            schedule,
            ..PlanConfig::default()
        };
        let plan = Plan::new(m, &cfg).unwrap();
        assert_eq!(plan.max_denominator(), d, "{schedule:?} m={m}");
        assert_eq!(
            wide,
            255 * d > u64::from(u32::MAX),
            "{schedule:?} m={m}: D = {d}"
        );
        assert_eq!(plan.needs_wide_accumulator(), wide, "{schedule:?} m={m}");
        huge_window_case(m, schedule, FramesPerSegment::All, |f| {
            [255, (f % 2) as u8 * 255, (f % 256) as u8]
        });
    }
    huge_window_case(65_536, Schedule::Average, FramesPerSegment::All, |f| {
        [(f % 256) as u8, 255, (f / 256) as u8]
    });
    huge_window_case(65_536, Schedule::Linear0, FramesPerSegment::All, |f| {
        [(f % 5) as u8, 255, 0]
    });
}

#[test]
fn exact_custom_huge_numerators() {
    // Custom numerators up to u32::MAX: D near 2^34, u64 sums, exact integer rounding.
    let nums = [u32::MAX, 1, u32::MAX - 2, 3];
    huge_window_case(
        4,
        Schedule::Custom(&nums),
        FramesPerSegment::Fixed(4),
        |f| [f as u8 * 60, 255, 1],
    );
}

#[test]
fn fast_backend_runs_on_this_machine() {
    // Make sure the fast path is really the one tested (and the default), not a silent
    // fallback: AVX-512 where the CPU has BW and VL, else AVX2 where it has that (the
    // development and CI machines do), else `wide`.
    let auto = mixcore::Kernels::for_backend(mixcore::Backend::Auto).backend;
    #[cfg(target_arch = "x86_64")]
    {
        let has_avx2 =
            std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        let has_avx512 = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512dq");
        if has_avx2 && has_avx512 {
            assert_eq!(auto, mixcore::Backend::Avx512);
            assert_eq!(
                mixcore::Kernels::for_backend(mixcore::Backend::Avx512).backend,
                mixcore::Backend::Avx512
            );
        } else if has_avx2 {
            eprintln!("SKIPPED: this CPU has no AVX-512 BW/VL: backend Avx512 was NOT tested");
            assert_eq!(auto, mixcore::Backend::Avx2);
        } else {
            eprintln!("skipped: this CPU has no AVX2");
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        assert_eq!(auto, mixcore::Backend::Wide);
        eprintln!("not x86-64: Auto is the portable backend (NEON on aarch64)");
    }
}

proptest! {
    #![proptest_config(framemix_tests::cases(64))]

    /// Wide frames (several tiles per row, remainders: rows up to 9,600 bytes against tiles of
    /// `TILE_ELEMENTS` bytes, half that for `u64` sums) and long windows whose numerators
    /// leave the 16-bit pair path (linear m > 22, custom numerators > 127), or the `u32` sums
    /// altogether (custom numerators shifted up 20 bits make `255 * D > u32::MAX`).
    #[test]
    fn backends_agree_on_wide_frames_and_long_windows(
        video in arbitrary_video(30..=60, 300..=2400, 1..=2),
        segments in 1u32..=3,
        custom in prop::collection::vec(0u32..300, 5),
        layout in arbitrary_layout(),
        epilogue in arbitrary_epilogue(),
        use_custom: bool,
        u64_sums: bool,
    ) {
        let custom: Vec<u32> = if u64_sums { custom.iter().map(|&n| n << 20).collect() } else { custom };
        let k = if use_custom { FramesPerSegment::Fixed(5) } else { FramesPerSegment::All };
        let schedule = if use_custom && custom.iter().any(|&n| n > 0) { Schedule::Custom(&custom) } else { Schedule::Linear };
        let k = if matches!(schedule, Schedule::Custom(_)) { k } else { FramesPerSegment::All };
        let plan = Plan::new(video.frames.len() as u32, &PlanConfig { segments, k, schedule, ..PlanConfig::default() }).unwrap();
        let reference = run_mix(&plan, &video, &MixSpec { layout, epilogue, backend: mixcore::Backend::Reference, ..MixSpec::default() });
        for backend in framemix_tests::backends() {
            let spec = MixSpec { layout, epilogue, backend, ..MixSpec::default() };
            prop_bits_eq(&run_mix(&plan, &video, &spec), &reference, &format!("{backend:?}"))?;
            let fspec = MixSpec { path: MixPath::Float(FloatWeights::Schedule), ..spec };
            let fref = run_mix(&plan, &video, &MixSpec { backend: mixcore::Backend::Reference, ..fspec });
            prop_bits_eq(&run_mix(&plan, &video, &fspec), &fref, &format!("float {backend:?}"))?;
        }
    }
}

proptest! {
    #![proptest_config(framemix_tests::cases(96))]

    /// Windows of up to 64 frames with small numerators take the one-pass fused kernel (one to
    /// four 16-bit groups) on whole 96-byte blocks and the tile kernels on the rest; longer
    /// windows take the tiles. All must match the oracle.
    #[test]
    fn fused_window_kernel_matches_oracle(
        video in arbitrary_video(4..=140, 33..=250, 1..=3),
        segments in 1u32..=6,
        k in prop::option::of(1u32..=70),
        average: bool,
        layout in arbitrary_layout(),
        epilogue in arbitrary_epilogue(),
    ) {
        let schedule = if average { Schedule::Average } else { Schedule::Linear };
        let k = k.map_or(FramesPerSegment::All, FramesPerSegment::Fixed);
        let Ok(plan) = Plan::new(video.frames.len() as u32, &PlanConfig { segments, k, schedule, ..PlanConfig::default() }) else { return Ok(()); };
        let base = MixSpec { layout, epilogue, ..MixSpec::default() };
        let oracle = oracle_mix(&plan, &video, &base);
        for backend in framemix_tests::backends() {
            let spec = MixSpec { backend, ..base };
            prop_bits_eq(&run_mix(&plan, &video, &spec), &oracle, &format!("{backend:?}"))?;
        }
    }
}
