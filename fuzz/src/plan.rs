//! The `plan` target: `Plan::new` on any F, S, k, schedule, selection, mode and seed never
//! panics, refuses exactly the requests docs/contract.md section 9 calls malformed (with an error that
//! names a problem the request really has), and when it accepts, every checked segment has
//! the the contract's window, `m_i`, positions (inside the window, strictly increasing, equal to the
//! formulas of section 4), numerators summing to the denominator, correctly rounded weights,
//! and `feeds(f)` agrees with the positions.
//!
//! Work is bounded so one input stays fast: at most about 70 segments and 4,096 positions are
//! checked per input, whatever F and S are.

use arbitrary::Arbitrary;
use mixcore::{Error, Mode, Plan, Schedule};

use crate::inputs::{OwnedPlan, PlanGen};
use crate::oracle;

/// One input of the `plan` target.
#[derive(Arbitrary, Clone, Debug)]
pub struct PlanInput {
    /// The request.
    pub plan: PlanGen,
    /// Extra segments and frames to check (taken modulo S and F).
    pub probes: Vec<u32>,
}

/// Positions checked per input, at most (numerator sums may add up to 65,536 more).
const POSITION_BUDGET: usize = 4096;

/// Runs the checks on one input; panics on any violation. Returns true when the plan was
/// accepted (and checked), false when it was refused.
pub fn check(input: &PlanInput) -> bool {
    let req = input.plan.build();
    let cfg = req.config();
    let problems = oracle::plan_problems(req.frames, req.segments, req.k, cfg.schedule);
    match Plan::new(req.frames, &cfg) {
        Err(e) => {
            assert!(
                !problems.none(),
                "Plan::new refused a valid request with {e:?}: {req:?}"
            );
            check_error_names_a_problem(e, &problems, &req);
            let text = e.to_string();
            assert!(!text.is_empty(), "empty error message for {e:?}");
            false
        }
        Ok(plan) => {
            assert!(
                problems.none(),
                "Plan::new accepted a malformed request ({problems:?}): {req:?}"
            );
            check_plan(&plan, &req, &input.probes);
            true
        }
    }
}

fn check_error_names_a_problem(e: Error, p: &oracle::PlanProblems, req: &OwnedPlan) {
    let ok = match e {
        Error::ZeroSegments => p.zero_segments,
        Error::ZeroFrames => p.zero_frames,
        Error::ZeroFramesPerSegment => p.zero_k,
        Error::CustomNeedsFixedK => p.custom_needs_fixed_k,
        Error::WeightsLength { given, expected } => p.weights_length == Some((given, expected)),
        Error::WeightsAllZero => p.weights_all_zero,
        Error::WindowShorterThanK { segment, window, k } => {
            let (lo, hi) = oracle::window(req.frames, req.segments, segment);
            segment < req.segments
                && hi - lo == window
                && window < k
                && p.window_shorter.is_some_and(|(_, pk)| pk == k)
        }
        Error::WindowTooLarge {
            segment,
            frames,
            limit,
        } => {
            let m_of = |i: u32| {
                let (lo, hi) = oracle::window(req.frames, req.segments, i);
                oracle::mixed(hi - lo, req.k)
            };
            // The first segment that mixes the most frames.
            let first = segment < req.segments
                && (segment.saturating_sub(4096)..segment).all(|j| u64::from(m_of(j)) < frames);
            limit == oracle::LIMIT
                && p.too_large == Some(frames as u32)
                && u64::from(m_of(segment)) == frames
                && first
        }
        _ => false,
    };
    assert!(
        ok,
        "Plan::new returned {e:?}, a problem the request does not have ({p:?}): {req:?}"
    );
}

/// The segments to check: all when S <= 64, else both ends, the middle and the probes.
fn segments_to_check(s: u32, probes: &[u32]) -> Vec<u32> {
    let mut v: Vec<u32> = if s <= 64 {
        (0..s).collect()
    } else {
        let mut v = vec![0, 1, 2, s / 2, s - 3, s - 2, s - 1];
        v.extend(probes.iter().take(16).map(|p| p % s));
        v
    };
    v.sort_unstable();
    v.dedup();
    v
}

/// The `t`s to check of a segment mixing `m` frames: all when they fit the budget, else both
/// ends and an even spread.
fn ts_to_check(m: u32, budget: usize) -> Vec<u32> {
    if (m as usize) <= budget.max(64) {
        return (0..m).collect();
    }
    let mut v: Vec<u32> = (0..32).chain(m - 32..m).collect();
    let step = (m / 64).max(1);
    v.extend((0..m).step_by(step as usize));
    v.sort_unstable();
    v.dedup();
    v
}

fn check_plan(plan: &Plan<'_>, req: &OwnedPlan, probes: &[u32]) {
    let (f, s) = (req.frames, req.segments);
    assert_eq!(plan.frames(), f);
    assert_eq!(plan.segments(), s);
    let schedule = req.schedule();
    let seed = match req.mode {
        Mode::Test => None,
        Mode::Train { seed } => Some(seed),
    };
    let mut budget = POSITION_BUDGET;
    let mut max_m_seen = 0;
    for i in segments_to_check(s, probes) {
        let seg = plan
            .segment(i)
            .unwrap_or_else(|e| panic!("segment({i}) of {s} refused: {e:?}"));
        assert_eq!(seg.index(), i);
        let (lo, hi) = oracle::window(f, s, i);
        let w = seg.window();
        assert_eq!((w.lo, w.hi), (lo, hi), "window of segment {i}: {req:?}");
        assert_eq!(w.len(), hi - lo);
        assert!(!w.is_empty());
        let n = hi - lo;
        let m = oracle::mixed(n, req.k);
        assert_eq!(seg.mixed(), m, "m of segment {i}: {req:?}");
        assert!(m >= 1 && m <= n);
        max_m_seen = max_m_seen.max(m);
        let d = oracle::denominator(schedule, m);
        assert_eq!(seg.denominator(), d, "denominator of segment {i}: {req:?}");
        assert!(d > 0, "zero denominator in segment {i}: {req:?}");
        assert!(plan.max_denominator() >= d);
        assert_eq!(
            plan.needs_wide_accumulator(),
            u128::from(plan.max_denominator()) * 255 > u128::from(u32::MAX)
        );

        let train = seed.map(|sd| (sd, oracle::draws_before(f, s, req.k, req.selection, i)));
        let ts = ts_to_check(m, budget);
        budget = budget.saturating_sub(ts.len());
        let mut prev: Option<(u32, u32)> = None;
        for &t in &ts {
            let p = seg.position(t);
            let expected = oracle::position(req.selection, lo, n, m, t, train);
            assert_eq!(p, expected, "position t={t} of segment {i}: {req:?}");
            assert!((lo..hi).contains(&p), "position {p} outside [{lo}, {hi})");
            if let Some((pt, pp)) = prev {
                // Strictly increasing: consecutive integers at least t - pt apart.
                assert!(
                    p > pp && p - pp >= t - pt,
                    "positions not strictly increasing at t={t} of segment {i}: {req:?}"
                );
            }
            prev = Some((t, p));
            let num = seg.numerator(t);
            assert_eq!(
                u64::from(num),
                oracle::numerator(schedule, t, m),
                "numerator t={t} of segment {i}"
            );
            assert_eq!(
                seg.index_of(p),
                Some(t),
                "index_of({p}) in segment {i}: {req:?}"
            );
            let w = oracle::round_ratio(u64::from(num), d);
            assert_eq!(
                seg.weight_f32(t).to_bits(),
                w.to_bits(),
                "weight t={t} of segment {i}"
            );
            // The frame feeds this segment at t. `feeds` lists the segments holding the frame
            // in increasing order (many only when F < S): look when this one is among the
            // first 4,096.
            if i - oracle::first_segment_holding(f, s, p) < 4096 {
                let found = plan
                    .feeds(p)
                    .take(4096)
                    .find(|feed| feed.segment == i)
                    .unwrap_or_else(|| panic!("feeds({p}) lacks segment {i}: {req:?}"));
                assert_eq!(found.t, t);
                assert_eq!(found.numerator, num);
            }
            assert!(plan.is_needed(p));
        }
        assert_eq!(seg.positions().len(), m as usize);
        assert_eq!(seg.numerators().len(), m as usize);
        // Numerators sum to the denominator and their f32 weights to 1 within m * 2^-24
        // (docs/contract.md section 5), when the whole window fits the budget.
        if (m as usize) <= budget.max(512) {
            budget = budget.saturating_sub(m as usize);
            let sum: u64 = seg.numerators().map(u64::from).sum();
            assert_eq!(sum, d, "numerators of segment {i} sum to {sum}, not {d}");
            let wsum = (0..m).fold(0.0f32, |acc, t| acc + seg.weight_f32(t));
            assert!(
                (f64::from(wsum) - 1.0).abs() <= f64::from(m) * 2f64.powi(-24),
                "weights of segment {i} sum to {wsum}"
            );
            check_schedule_shape(schedule, &seg.numerators().collect::<Vec<_>>(), m);
        }
        // Frames of the window that are not selected are not fed into this segment.
        for p in [lo, hi - 1, lo + n / 2] {
            let selected = seg.index_of(p);
            if let Some(t) = selected {
                assert_eq!(seg.position(t), p);
            } else {
                assert!(plan.feeds(p).take(4096).all(|feed| feed.segment != i));
            }
        }
        // Out-of-range index_of.
        if hi < f {
            assert_eq!(seg.index_of(hi), None);
        }
    }
    assert!(plan.max_mixed() >= max_m_seen);
    assert!(plan.segment(s).is_err(), "segment(S) accepted");
    assert!(plan.feeds(f).next().is_none(), "feeds(F) not empty");
    assert!(!plan.is_needed(f));
    check_probe_frames(plan, req, probes);
    if u64::from(f) * u64::from(s) <= 4096 {
        check_small_plan_exhaustively(plan, req);
    }
}

fn check_schedule_shape(schedule: Schedule<'_>, n: &[u32], m: u32) {
    match schedule {
        Schedule::Average => assert!(n.iter().all(|&x| x == 1)),
        Schedule::Linear => assert!(n.windows(2).all(|w| w[0] < w[1])),
        Schedule::Linear0 if m == 1 => assert_eq!(n, [1]),
        Schedule::Linear0 => {
            assert_eq!(n[0], 0);
            assert!(n.windows(2).all(|w| w[0] < w[1]));
        }
        Schedule::Custom(c) => assert_eq!(n, &c[..m as usize]),
        other => unimplemented!("the fuzz oracle has no rule for {other:?}"),
    }
}

/// `feeds(f)` for probe frames: every entry is a segment whose window holds `f` and selects it
/// at that `t`; no segment holding `f` that selects it is left out (first 64 checked).
fn check_probe_frames(plan: &Plan<'_>, req: &OwnedPlan, probes: &[u32]) {
    let (f, s) = (req.frames, req.segments);
    let seed = match req.mode {
        Mode::Test => None,
        Mode::Train { seed } => Some(seed),
    };
    let mut frames: Vec<u32> = probes.iter().take(8).map(|p| p % f).collect();
    frames.extend([0, f - 1, f / 2]);
    for frame in frames {
        // The segments whose windows hold `frame`: from the first, while lo_i <= frame.
        let mut expected = Vec::new();
        let mut i = oracle::first_segment_holding(f, s, frame);
        while i < s && expected.len() < 64 {
            let (lo, hi) = oracle::window(f, s, i);
            if lo > frame {
                break;
            }
            assert!(frame < hi, "window search broke at segment {i}");
            let n = hi - lo;
            let m = oracle::mixed(n, req.k);
            let train = seed.map(|sd| (sd, oracle::draws_before(f, s, req.k, req.selection, i)));
            // Positions increase: binary search t with position(t) == frame.
            let (mut ta, mut tb) = (0u32, m);
            while ta < tb {
                let mid = ta + (tb - ta) / 2;
                if oracle::position(req.selection, lo, n, m, mid, train) < frame {
                    ta = mid + 1;
                } else {
                    tb = mid;
                }
            }
            if ta < m && oracle::position(req.selection, lo, n, m, ta, train) == frame {
                let num = oracle::numerator(req.schedule(), ta, m);
                expected.push((i, ta, num));
            }
            i += 1;
        }
        let got: Vec<(u32, u32, u64)> = plan
            .feeds(frame)
            .take(expected.len().max(1) + 1)
            .map(|feed| (feed.segment, feed.t, u64::from(feed.numerator)))
            .collect();
        let prefix = &got[..got.len().min(expected.len())];
        assert_eq!(prefix, &expected[..], "feeds({frame}): {req:?}");
        if expected.len() < 64 {
            // The walk above saw every segment holding the frame: nothing more is fed.
            assert_eq!(
                got.len(),
                expected.len(),
                "feeds({frame}) too long: {req:?}"
            );
        }
        assert_eq!(plan.is_needed(frame), !expected.is_empty());
    }
}

/// For small plans: every (segment, t) appears exactly once over all `feeds(f)`, and nowhere
/// else.
fn check_small_plan_exhaustively(plan: &Plan<'_>, req: &OwnedPlan) {
    let mut fed = Vec::new();
    for f in 0..req.frames {
        for feed in plan.feeds(f) {
            let seg = plan.segment(feed.segment).expect("segment of a feed");
            assert_eq!(seg.position(feed.t), f);
            fed.push((feed.segment, feed.t));
        }
    }
    fed.sort_unstable();
    let mut all = Vec::new();
    for seg in plan.iter() {
        all.extend((0..seg.mixed()).map(|t| (seg.index(), t)));
    }
    assert_eq!(
        fed, all,
        "feeds do not cover every mixed frame once: {req:?}"
    );
}
