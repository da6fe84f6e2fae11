//! Worked examples from the Frame Mix-up paper (docs/contract.md sections 1 and 5).

use mixcore::{FramesPerSegment, Plan, PlanConfig, Schedule};

#[test]
fn paper_48_frames_8_segments_linear_1_to_6_over_21() {
    let plan = Plan::new(48, &PlanConfig::default()).unwrap();
    for seg in plan.iter() {
        let i = seg.index();
        assert_eq!(
            seg.positions().collect::<Vec<_>>(),
            (6 * i..6 * i + 6).collect::<Vec<_>>()
        );
        assert_eq!(seg.numerators().collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(seg.denominator(), 21);
    }
}

#[test]
fn paper_5_frames_coefficient_gap_2_over_30() {
    // k = 5: weights (t+1)/15; the gap between consecutive coefficients is 1/15 = 2/(5*6).
    let cfg = PlanConfig {
        k: FramesPerSegment::Fixed(5),
        ..PlanConfig::default()
    };
    let plan = Plan::new(48, &cfg).unwrap();
    let seg = plan.segment(0).unwrap();
    assert_eq!(seg.denominator(), 15);
    for t in 0..4 {
        let gap = seg.weight_f32(t + 1) - seg.weight_f32(t);
        assert!((gap - 2.0 / 30.0).abs() < 1e-6, "gap {gap}");
    }
    assert!((2.0f32 / 30.0 - 0.0667).abs() < 1e-4);
    // Spread picks the centres of 5 sub-bins of the 6-frame window.
    assert_eq!(seg.positions().collect::<Vec<_>>(), vec![0, 1, 3, 4, 5]);
}

#[test]
fn paper_48_frames_in_one_window_gap_2_over_48x49() {
    let cfg = PlanConfig {
        segments: 1,
        schedule: Schedule::Linear,
        ..PlanConfig::default()
    };
    let seg_plan = Plan::new(48, &cfg).unwrap();
    let seg = seg_plan.segment(0).unwrap();
    assert_eq!(seg.denominator(), 48 * 49 / 2);
    let gap = seg.weight_f32(10) - seg.weight_f32(9);
    assert!((gap - 2.0 / (48.0 * 49.0)).abs() < 1e-7, "gap {gap}");
    assert!((2.0f32 / (48.0 * 49.0) - 0.00085).abs() < 1e-5);
}

#[test]
fn paper_linear0_first_frame_weight_zero() {
    let cfg = PlanConfig {
        schedule: Schedule::Linear0,
        ..PlanConfig::default()
    };
    let plan = Plan::new(48, &cfg).unwrap();
    let seg = plan.segment(0).unwrap();
    assert_eq!(seg.numerators().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(seg.denominator(), 15);
}

#[test]
fn paper_tsn_is_k1_centre_frame() {
    let cfg = PlanConfig {
        k: FramesPerSegment::Fixed(1),
        ..PlanConfig::default()
    };
    let plan = Plan::new(48, &cfg).unwrap();
    let centres: Vec<u32> = plan.iter().map(|s| s.position(0)).collect();
    assert_eq!(centres, vec![3, 9, 15, 21, 27, 33, 39, 45]);
}
