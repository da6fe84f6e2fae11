//! Properties of windows, selection, schedules and plans (docs/contract.md sections 3 to 5).

use framemix_tests::{ScheduleKind, arbitrary_config};
use mixcore::{Error, FramesPerSegment, Mode, Plan, PlanConfig, Schedule, Selection, SplitMix64};
use proptest::prelude::*;

fn config(
    segments: u32,
    k: FramesPerSegment,
    selection: Selection,
    mode: Mode,
) -> PlanConfig<'static> {
    PlanConfig {
        segments,
        k,
        selection,
        mode,
        schedule: Schedule::Linear,
    }
}

proptest! {
    #![proptest_config(framemix_tests::cases(512))]

    #[test]
    fn windows_partition_frames_when_f_ge_s(frames in 1u32..5000, segments in 1u32..=64) {
        prop_assume!(frames >= segments);
        let plan = Plan::new(frames, &PlanConfig { segments, ..PlanConfig::default() }).unwrap();
        let mut next = 0;
        let (mut min, mut max) = (u32::MAX, 0);
        for seg in plan.iter() {
            let w = seg.window();
            prop_assert_eq!(w.lo, next, "windows must tile [0, F) in order");
            next = w.hi;
            min = min.min(w.len());
            max = max.max(w.len());
        }
        prop_assert_eq!(next, frames);
        prop_assert!(max - min <= 1, "sizes differ by at most one: {}..{}", min, max);
    }

    #[test]
    fn windows_repeat_frames_in_order_when_f_lt_s(frames in 1u32..64, segments in 2u32..=64) {
        prop_assume!(frames < segments);
        let plan = Plan::new(frames, &PlanConfig { segments, ..PlanConfig::default() }).unwrap();
        let mut prev = 0;
        let mut seen = vec![false; frames as usize];
        for seg in plan.iter() {
            let w = seg.window();
            prop_assert_eq!(w.len(), 1);
            prop_assert!(w.lo >= prev, "windows go forward");
            prop_assert_eq!(w.lo, seg.index() * frames / segments);
            prev = w.lo;
            seen[w.lo as usize] = true;
        }
        prop_assert!(seen.iter().all(|&s| s), "every frame is used");
    }

    #[test]
    fn positions_increase_inside_window(frames in 1u32..5000, cfg in arbitrary_config(5000, 1..=64)) {
        let Ok(plan) = Plan::new(frames, &cfg.config()) else {
            // Custom k may exceed this F's windows: that must be the error, nothing else.
            let err = Plan::new(frames, &cfg.config()).unwrap_err();
            prop_assert!(matches!(err, Error::WindowShorterThanK { .. }), "unexpected {:?}", err);
            return Ok(());
        };
        for seg in plan.iter() {
            let w = seg.window();
            let pos: Vec<u32> = seg.positions().collect();
            prop_assert_eq!(pos.len() as u32, seg.mixed());
            let expect_m = match cfg.k { None => w.len(), Some(k) => k.min(w.len()) };
            prop_assert_eq!(seg.mixed(), expect_m);
            prop_assert!(pos.windows(2).all(|p| p[0] < p[1]), "strictly increasing: {:?}", pos);
            prop_assert!(pos.iter().all(|p| w.range().contains(p)), "inside {:?}: {:?}", w, pos);
        }
    }

    #[test]
    fn feeds_inverts_positions(frames in 1u32..400, cfg in arbitrary_config(400, 1..=64)) {
        let Ok(plan) = Plan::new(frames, &cfg.config()) else { return Ok(()); };
        let mut expected = Vec::new();
        for seg in plan.iter() {
            for (t, p) in seg.positions().enumerate() {
                expected.push((p, seg.index(), t as u32, seg.numerator(t as u32)));
            }
        }
        expected.sort();
        let mut got = Vec::new();
        for f in 0..frames {
            for feed in plan.feeds(f) {
                got.push((f, feed.segment, feed.t, feed.numerator));
            }
            prop_assert_eq!(plan.is_needed(f), plan.feeds(f).next().is_some());
        }
        prop_assert_eq!(got, expected);
        prop_assert_eq!(plan.feeds(frames).next(), None);
    }

    #[test]
    fn test_spread_is_centre_of_sub_bins(frames in 1u32..5000, segments in 1u32..=64, k in 1u32..20) {
        let plan = Plan::new(frames, &config(segments, FramesPerSegment::Fixed(k), Selection::Spread, Mode::Test)).unwrap();
        for seg in plan.iter() {
            let (lo, n, m) = (seg.window().lo as u64, seg.window().len() as u64, seg.mixed() as u64);
            for t in 0..m {
                prop_assert_eq!(seg.position(t as u32) as u64, lo + (2 * t + 1) * n / (2 * m));
            }
        }
    }

    #[test]
    fn test_consecutive_is_centred(frames in 1u32..5000, segments in 1u32..=64, k in 1u32..20) {
        let plan = Plan::new(frames, &config(segments, FramesPerSegment::Fixed(k), Selection::Consecutive, Mode::Test)).unwrap();
        for seg in plan.iter() {
            let (lo, n, m) = (seg.window().lo, seg.window().len(), seg.mixed());
            let pos: Vec<u32> = seg.positions().collect();
            let expected: Vec<u32> = (0..m).map(|t| lo + (n - m) / 2 + t).collect();
            prop_assert_eq!(pos, expected);
        }
    }

    #[test]
    fn train_same_seed_same_plan(frames in 1u32..5000, segments in 1u32..=64, k in 1u32..20, seed: u64, consecutive: bool) {
        let sel = if consecutive { Selection::Consecutive } else { Selection::Spread };
        let c = config(segments, FramesPerSegment::Fixed(k), sel, Mode::Train { seed });
        let a = Plan::new(frames, &c).unwrap();
        let b = Plan::new(frames, &c).unwrap();
        for (sa, sb) in a.iter().zip(b.iter()) {
            prop_assert!(sa.positions().eq(sb.positions()));
        }
    }

    #[test]
    fn train_draws_follow_splitmix_stream(frames in 1u32..3000, segments in 1u32..=64, k in prop::option::of(1u32..20), seed: u64, consecutive: bool) {
        // Replay the spec's draw order with a sequential generator and compare.
        let sel = if consecutive { Selection::Consecutive } else { Selection::Spread };
        let kk = k.map_or(FramesPerSegment::All, FramesPerSegment::Fixed);
        let plan = Plan::new(frames, &config(segments, kk, sel, Mode::Train { seed })).unwrap();
        let mut rng = SplitMix64::new(seed);
        let u = |x: u64, r: u64| ((x as u128 * r as u128) >> 64) as u64;
        for seg in plan.iter() {
            let (lo, n, m) = (seg.window().lo as u64, seg.window().len() as u64, seg.mixed() as u64);
            let expected: Vec<u64> = if consecutive {
                let off = u(rng.next_u64(), n - m + 1);
                (0..m).map(|t| lo + off + t).collect()
            } else {
                (0..m).map(|t| {
                    let (a, b) = (t * n / m, (t + 1) * n / m);
                    lo + a + u(rng.next_u64(), b - a)
                }).collect()
            };
            let got: Vec<u64> = seg.positions().map(u64::from).collect();
            prop_assert_eq!(got, expected, "segment {}", seg.index());
        }
    }

    #[test]
    fn train_positions_inside_sub_bins(frames in 1u32..5000, segments in 1u32..=64, k in 1u32..20, seed: u64) {
        let plan = Plan::new(frames, &config(segments, FramesPerSegment::Fixed(k), Selection::Spread, Mode::Train { seed })).unwrap();
        for seg in plan.iter() {
            let (lo, n, m) = (seg.window().lo as u64, seg.window().len() as u64, seg.mixed() as u64);
            for t in 0..m {
                let p = seg.position(t as u32) as u64 - lo;
                prop_assert!(t * n / m <= p && p < (t + 1) * n / m, "t={} p={} n={} m={}", t, p, n, m);
            }
        }
    }

    #[test]
    fn schedule_numerators_sum_to_denominator(frames in 1u32..5000, cfg in arbitrary_config(5000, 1..=64)) {
        let Ok(plan) = Plan::new(frames, &cfg.config()) else { return Ok(()); };
        for seg in plan.iter() {
            let n: Vec<u64> = seg.numerators().map(u64::from).collect();
            prop_assert_eq!(n.iter().sum::<u64>(), seg.denominator());
            let m = n.len();
            match cfg.schedule {
                ScheduleKind::Average => prop_assert!(n.iter().all(|&x| x == 1)),
                ScheduleKind::Linear => prop_assert!(n.windows(2).all(|w| w[0] < w[1]) && n[0] == 1),
                ScheduleKind::Linear0 if m > 1 => prop_assert!(n.windows(2).all(|w| w[0] < w[1]) && n[0] == 0),
                ScheduleKind::Linear0 => prop_assert_eq!(&n, &vec![1]),
                ScheduleKind::Custom => prop_assert_eq!(&n, &cfg.custom.iter().map(|&x| u64::from(x)).collect::<Vec<_>>()),
            }
            // f32 weights: correctly rounded n_t/D, sum within m * 2^-24 of 1, never decreasing
            // for the monotone schedules.
            let w: Vec<f32> = (0..m as u32).map(|t| seg.weight_f32(t)).collect();
            for (t, &wt) in w.iter().enumerate() {
                prop_assert_eq!(wt.to_bits(), framemix_tests::oracle_round(n[t], seg.denominator()).to_bits());
            }
            let sum: f32 = w.iter().sum();
            prop_assert!((sum - 1.0).abs() <= m as f32 * 2f32.powi(-24), "sum {} for m {}", sum, m);
            if cfg.schedule != ScheduleKind::Custom {
                prop_assert!(w.windows(2).all(|p| p[0] <= p[1]), "weights never decrease: {:?}", w);
            }
        }
    }
}

#[test]
fn train_several_seeds_differ() {
    let plans: Vec<Vec<u32>> = (0..8u64)
        .map(|seed| {
            let plan = Plan::new(
                300,
                &config(
                    8,
                    FramesPerSegment::Fixed(5),
                    Selection::Spread,
                    Mode::Train { seed },
                ),
            )
            .unwrap();
            plan.iter()
                .flat_map(|s| s.positions().collect::<Vec<_>>())
                .collect()
        })
        .collect();
    for a in 0..plans.len() {
        for b in a + 1..plans.len() {
            assert_ne!(
                plans[a], plans[b],
                "seeds {a} and {b} chose the same frames"
            );
        }
    }
}

#[test]
fn window_limit_is_65536_mixed_frames() {
    let one = Plan::new(
        65_536,
        &PlanConfig {
            segments: 1,
            ..PlanConfig::default()
        },
    )
    .unwrap();
    assert_eq!(one.max_mixed(), 65_536);
    assert_eq!(
        Plan::new(
            65_537,
            &PlanConfig {
                segments: 1,
                ..PlanConfig::default()
            }
        ),
        Err(Error::WindowTooLarge {
            segment: 0,
            frames: 65_537,
            limit: 65_536
        })
    );
    // A large window is fine when only a few of its frames are mixed.
    let k5 = PlanConfig {
        segments: 1,
        k: FramesPerSegment::Fixed(5),
        ..PlanConfig::default()
    };
    assert_eq!(Plan::new(1_000_000, &k5).unwrap().max_mixed(), 5);
}

#[test]
fn plan_is_o1_for_huge_videos() {
    // 2^32 - 1 frames in 4 billion segments: every query answers without iterating.
    let c = config(
        u32::MAX - 1,
        FramesPerSegment::Fixed(3),
        Selection::Spread,
        Mode::Train { seed: 9 },
    );
    let plan = Plan::new(u32::MAX, &c).unwrap();
    let last = plan.segment(u32::MAX - 2).unwrap();
    assert_eq!(last.window().hi, u32::MAX);
    let f = last.position(0);
    assert!(plan.feeds(f).any(|feed| feed.segment == u32::MAX - 2));
}

#[test]
fn plan_train_spread_one_segment_of_max_frames() {
    // Found by the `plan` fuzz target: counting the draws before a segment overflowed u32
    // for S = 1, F = u32::MAX (a panic with overflow checks on).
    let cfg = PlanConfig {
        segments: 1,
        k: FramesPerSegment::Fixed(1),
        selection: Selection::Spread,
        mode: Mode::Train { seed: 0 },
        schedule: Schedule::Average,
    };
    let plan = Plan::new(u32::MAX, &cfg).expect("a valid plan");
    let seg = plan.segment(0).expect("segment 0");
    assert_eq!((seg.window().lo, seg.window().hi), (0, u32::MAX));
    let p = seg.position(0);
    assert!(p < u32::MAX);
    assert_eq!(seg.index_of(p), Some(0));
    assert_eq!(plan.feeds(p).next().map(|f| (f.segment, f.t)), Some((0, 0)));
}
