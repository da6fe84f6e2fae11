//! docs/contract.md written a second time, independently of mixcore and as plainly as possible: the
//! targets compare mixcore against these functions, so a mistake shared by every backend (the
//! tile engine, a layout index, the rounding) still shows.
//!
//! Nothing here calls into mixcore except for its plain data types.

use mixcore::{Epilogue, FramesPerSegment, Layout, Schedule, Selection};

/// The SplitMix64 increment (docs/contract.md section 4).
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The most frames one window may mix (docs/contract.md section 6).
pub const LIMIT: u32 = 65_536;

/// Window `i`: `lo = floor(i*F/S)`, `hi = max(floor((i+1)*F/S), lo + 1)` (docs/contract.md section 3).
#[must_use]
pub fn window(frames: u32, segments: u32, i: u32) -> (u32, u32) {
    let (f, s) = (u128::from(frames), u128::from(segments));
    let lo = (u128::from(i) * f / s) as u32;
    let hi = ((u128::from(i) + 1) * f / s) as u32;
    (lo, hi.max(lo + 1))
}

/// The first segment whose window holds frame `frame < F`: windows' bounds do not decrease
/// with `i`, so binary search the first `i` with `hi_i > frame`.
#[must_use]
pub fn first_segment_holding(frames: u32, segments: u32, frame: u32) -> u32 {
    let (mut a, mut b) = (0u32, segments);
    while a < b {
        let mid = a + (b - a) / 2;
        if window(frames, segments, mid).1 <= frame {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    a
}

/// `m_i` for a window of `n` frames.
#[must_use]
pub fn mixed(n: u32, k: FramesPerSegment) -> u32 {
    match k {
        FramesPerSegment::All => n,
        FramesPerSegment::Fixed(k) => k.min(n),
    }
}

/// Output number `draw` (0-based) of SplitMix64 started at `seed`: the state after `draw + 1`
/// increments, mixed.
#[must_use]
pub fn splitmix(seed: u64, draw: u64) -> u64 {
    let mut z = seed.wrapping_add(GAMMA.wrapping_mul(draw.wrapping_add(1)));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `U(r)` from the 64-bit draw `x`.
#[must_use]
pub fn uniform(x: u64, r: u64) -> u64 {
    ((u128::from(x) * u128::from(r)) >> 64) as u64
}

/// Numerator `n_t` of `m` mixed frames.
#[must_use]
pub fn numerator(schedule: Schedule<'_>, t: u32, m: u32) -> u64 {
    match schedule {
        Schedule::Average => 1,
        Schedule::Linear => u64::from(t) + 1,
        Schedule::Linear0 if m == 1 => 1,
        Schedule::Linear0 => u64::from(t),
        Schedule::Custom(n) => u64::from(n[t as usize]),
        other => unimplemented!("the fuzz oracle has no rule for {other:?}"),
    }
}

/// Denominator `D` of `m` mixed frames, from the closed forms of docs/contract.md section 5.
#[must_use]
pub fn denominator(schedule: Schedule<'_>, m: u32) -> u64 {
    let m = u64::from(m);
    match schedule {
        Schedule::Average => m,
        Schedule::Linear => m * (m + 1) / 2,
        Schedule::Linear0 if m == 1 => 1,
        Schedule::Linear0 => m * (m - 1) / 2,
        Schedule::Custom(n) => n.iter().map(|&x| u64::from(x)).sum(),
        other => unimplemented!("the fuzz oracle has no rule for {other:?}"),
    }
}

/// What docs/contract.md section 9 says is wrong with a plan request, each condition on its own (a
/// request may have several; mixcore reports one of them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanProblems {
    /// S = 0.
    pub zero_segments: bool,
    /// F = 0.
    pub zero_frames: bool,
    /// k = 0.
    pub zero_k: bool,
    /// Custom numerators with k = All.
    pub custom_needs_fixed_k: bool,
    /// Custom numerators not one per mixed frame: (given, k).
    pub weights_length: Option<(usize, u32)>,
    /// Custom numerators all zero.
    pub weights_all_zero: bool,
    /// A window shorter than a custom schedule's k: (smallest window, k).
    pub window_shorter: Option<(u32, u32)>,
    /// The largest m_i, when it exceeds [`LIMIT`].
    pub too_large: Option<u32>,
}

impl PlanProblems {
    /// True when the request is valid.
    #[must_use]
    pub fn none(&self) -> bool {
        *self == PlanProblems::default()
    }
}

/// Checks a plan request against docs/contract.md sections 3 to 6 and 9.
#[must_use]
pub fn plan_problems(
    frames: u32,
    segments: u32,
    k: FramesPerSegment,
    schedule: Schedule<'_>,
) -> PlanProblems {
    let mut p = PlanProblems {
        zero_segments: segments == 0,
        zero_frames: frames == 0,
        zero_k: k == FramesPerSegment::Fixed(0),
        ..PlanProblems::default()
    };
    if p.zero_segments || p.zero_frames {
        return p;
    }
    // Windows hold floor(F/S) or floor(F/S) + 1 frames when F >= S, one frame otherwise.
    let (smallest, largest) = if frames < segments {
        (1, 1)
    } else if frames.is_multiple_of(segments) {
        (frames / segments, frames / segments)
    } else {
        (frames / segments, frames / segments + 1)
    };
    if let Schedule::Custom(n) = schedule {
        match k {
            FramesPerSegment::All => p.custom_needs_fixed_k = true,
            FramesPerSegment::Fixed(k) => {
                if n.len() != k as usize {
                    p.weights_length = Some((n.len(), k));
                }
                if k > 0 && smallest < k {
                    p.window_shorter = Some((smallest, k));
                }
            }
        }
        if n.iter().all(|&x| x == 0) {
            p.weights_all_zero = true;
        }
    }
    if !p.zero_k {
        let m = mixed(largest, k);
        if m > LIMIT {
            p.too_large = Some(m);
        }
    }
    p
}

/// SplitMix64 draws made before segment `i` in train mode: one per mixed frame (`Spread`) or
/// one per window (`Consecutive`) of every earlier segment. Counted window by window up to
/// `i = 4096`, by the telescoping sum `sum of n_j = lo_i` beyond.
#[must_use]
pub fn draws_before(
    frames: u32,
    segments: u32,
    k: FramesPerSegment,
    selection: Selection,
    i: u32,
) -> u64 {
    if selection == Selection::Consecutive {
        return u64::from(i);
    }
    if i <= 4096 {
        return (0..i)
            .map(|j| {
                let (lo, hi) = window(frames, segments, j);
                u64::from(mixed(hi - lo, k))
            })
            .sum();
    }
    if frames < segments {
        return u64::from(i);
    }
    let q = u64::from(frames / segments);
    let (lo, _) = window(frames, segments, i);
    let big = u64::from(lo) - u64::from(i) * q;
    let small = u64::from(i) - big;
    big * u64::from(mixed(q as u32 + 1, k)) + small * u64::from(mixed(q as u32, k))
}

/// Position `p_{i,t}` in the window `[lo, lo + n)` of `m` mixed frames (docs/contract.md section 4).
/// `train` is `Some((seed, draws before this segment))`.
#[must_use]
pub fn position(
    selection: Selection,
    lo: u32,
    n: u32,
    m: u32,
    t: u32,
    train: Option<(u64, u64)>,
) -> u32 {
    let (n, m, t) = (u128::from(n), u128::from(m), u128::from(t));
    let offset = match (selection, train) {
        (Selection::Spread, None) => (2 * t + 1) * n / (2 * m),
        (Selection::Consecutive, None) => (n - m) / 2 + t,
        (Selection::Spread, Some((seed, before))) => {
            let a = t * n / m;
            let b = (t + 1) * n / m;
            let x = splitmix(seed, before + t as u64);
            a + u128::from(uniform(x, (b - a) as u64))
        }
        (Selection::Consecutive, Some((seed, before))) => {
            u128::from(uniform(splitmix(seed, before), (n - m + 1) as u64)) + t
        }
        (other, _) => unimplemented!("the fuzz oracle has no rule for {other:?}"),
    };
    lo + offset as u32
}

/// `n / d` rounded to the nearest `f32`, ties to even, by exact integer comparison with the
/// midpoints next to a first estimate (`n <= 255 * d`, `d > 0`, `d < 2^64`).
#[must_use]
pub fn round_ratio(n: u64, d: u64) -> f32 {
    assert!(d > 0, "oracle round_ratio: zero denominator");
    if n == 0 {
        return 0.0;
    }
    // The f64 quotient is within 2^-52 relative of n/d, so its f32 rounding is at most one
    // f32 step away from the correct one.
    let approx = (n as f64 / d as f64) as f32;
    let down = f32::from_bits(approx.to_bits() - 1);
    let up = f32::from_bits(approx.to_bits() + 1);
    // Where n/d lies relative to the midpoint of two neighbouring positive f32 values.
    let side = |a: f32, b: f32| compare_with(n, d, (f64::from(a) + f64::from(b)) / 2.0);
    let even = |a: f32, b: f32| if a.to_bits().is_multiple_of(2) { a } else { b };
    use core::cmp::Ordering::{Equal, Greater, Less};
    if approx.to_bits() > 0 {
        match side(down, approx) {
            Less => return down,
            Equal => return even(down, approx),
            Greater => {}
        }
    }
    match side(approx, up) {
        Less => approx,
        Equal => even(approx, up),
        Greater => up,
    }
}

/// Compares `n / d` with the positive finite `f64` `mu`, exactly.
fn compare_with(n: u64, d: u64, mu: f64) -> core::cmp::Ordering {
    // mu = mant * 2^exp with an integer mant < 2^53.
    let bits = mu.to_bits();
    let biased = ((bits >> 52) & 0x7FF) as i32;
    let (mant, exp) = if biased == 0 {
        (bits & ((1 << 52) - 1), -1074)
    } else {
        ((bits & ((1 << 52) - 1)) | (1 << 52), biased - 1075)
    };
    let rhs = u128::from(mant) * u128::from(d); // < 2^117
    if exp >= 0 {
        // n / d vs mant * 2^exp: n vs rhs * 2^exp.
        let shifted = rhs.checked_shl(exp as u32).filter(|v| v >> exp == rhs);
        return match shifted {
            Some(r) => u128::from(n).cmp(&r),
            None => core::cmp::Ordering::Less,
        };
    }
    // n * 2^-exp vs rhs.
    let s = (-exp) as u32;
    if s >= 128 || u128::from(n).leading_zeros() < s {
        return core::cmp::Ordering::Greater; // n * 2^s >= 2^128 > rhs
    }
    (u128::from(n) << s).cmp(&rhs)
}

/// The epilogue of docs/contract.md section 6, exactly these `f32` operations in this order.
#[must_use]
pub fn epilogue(e: &Epilogue, v: f32, c: usize) -> f32 {
    match e {
        Epilogue::Raw => v,
        Epilogue::Unit => v / 255.0,
        Epilogue::Normalize { mean, std } => (v / 255.0 - mean[c]) / std[c],
        other => unimplemented!("the fuzz oracle has no rule for {other:?}"),
    }
}

/// Index of element (segment `i`, row `y`, column `x`, channel `c`) in an output of
/// `segments` segments of `h` rows, `w` columns, `ch` channels (docs/contract.md section 8).
#[must_use]
#[allow(clippy::too_many_arguments)]
pub fn output_index(
    layout: Layout,
    segments: usize,
    ch: usize,
    h: usize,
    w: usize,
    i: usize,
    y: usize,
    x: usize,
    c: usize,
) -> usize {
    match layout {
        Layout::Tchw => ((i * ch + c) * h + y) * w + x,
        Layout::Cthw => ((c * segments + i) * h + y) * w + x,
        Layout::Thwc => ((i * h + y) * w + x) * ch + c,
        other => unimplemented!("the fuzz oracle has no rule for {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_ratio_matches_f64_for_small_denominators() {
        for d in 1..200u64 {
            for n in 0..=255 * d {
                assert_eq!(
                    round_ratio(n, d).to_bits(),
                    ((n as f64 / d as f64) as f32).to_bits(),
                    "{n}/{d}"
                );
            }
        }
    }

    #[test]
    fn round_ratio_ties_to_even() {
        // 2^24 + 1 lies halfway between 2^24 and 2^24 + 2.
        assert_eq!(round_ratio((1 << 24) + 1, 1), 16_777_216.0);
        assert_eq!(round_ratio((1 << 24) + 3, 1), 16_777_220.0);
        // (2^24 + 1) / 2^20 is a tie at a smaller scale; so is 3 * 2^40 / 2^40 exactly 3.
        assert_eq!(round_ratio((1 << 24) + 1, 1 << 20), 16.0);
        assert_eq!(round_ratio(3 << 40, 1 << 40), 3.0);
    }

    #[test]
    fn round_ratio_large_denominators() {
        // 1/3 and 2/3 at large scales, checked against f64 where f64 is exact enough.
        let d = (1u64 << 47) * 3;
        assert_eq!(round_ratio(1 << 47, d), 1.0f32 / 3.0);
        assert_eq!(round_ratio(255 * d, d), 255.0);
        assert_eq!(round_ratio(1, 1 << 48), 2.0f32.powi(-48));
    }

    #[test]
    fn splitmix_first_output() {
        assert_eq!(splitmix(0, 0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn windows_of_spec_example() {
        let los: Vec<u32> = (0..8).map(|i| window(3, 8, i).0).collect();
        assert_eq!(los, [0, 0, 0, 1, 1, 1, 2, 2]);
    }
}
