//! The one correct rounding of the exact path: `N / D` to the nearest `f32`, ties to even
//! (docs/contract.md section 6).

/// Denominators below this take the fast route: `(N as f64 / D as f64) as f32`.
///
/// Why that is exact: let `x = N/D` with `D < 2^29` lie strictly between two neighbouring
/// `f32` values `a < b` whose midpoint is `mu = M * 2^-g` (`M` odd, 25 significant bits).
/// `mu` is an `f64`, so rounding `x` to `f64` (monotone) cannot cross it and only double
/// rounding *onto* `mu` could go wrong. But `x != mu` gives `|x - mu| = |N*2^g - M*D| /
/// (D*2^g) >= 1 / (D*2^g)`, while half an `f64` ulp at `mu` is `2^(-29-g)`; with
/// `D < 2^29` the distance is larger, so `x` never rounds to `mu`. A true tie (`x = mu`) is
/// an `f64` and rounds to even both ways. `N <= 255*D < 2^37` converts to `f64` exactly.
pub const FAST_DIVISOR_LIMIT: u64 = 1 << 29;

/// Denominators below this take the fastest route: `(N as f64 * recip) as f32` with
/// `recip = 1.0 / D as f64` computed once per segment.
///
/// Why that is exact: `y = RN64(N * RN64(1/D)) = x (1 + e)` with `|e| < 2^-51.9`, so `y` is
/// within `2^(E-51)` of `x` for `x < 2^(E+1)`. An `f32` midpoint `mu` in `[2^E, 2^(E+1))`
/// that `x` does not equal is at least `2^(E-24) / D` away (as above), more than `2^(E-51)`
/// for `D < 2^27`, so `y` stays on `x`'s side of every midpoint and of every `f32`
/// neighbour's own midpoints: converting `y` gives `RN32(x)`. What remains is an exact tie
/// `x = mu`, which the product could push either way; but a reduced `N/D = a/b` equal to
/// `M * 2^-g` with `M` odd and `M >= 2^24` needs `b = 2^g` and `a = M`, and `a <= 255 b`
/// then forces `b >= 2^17`. So below `2^17` there are no ties and the route is exact.
/// Linear schedules up to 511 frames and average up to 65,536 frames take it.
pub const RECIP_DIVISOR_LIMIT: u64 = 1 << 17;

/// `n / d` correctly rounded to `f32` (round to nearest, ties to even), for any
/// `n` and `d > 0`. `d = 0` gives NaN.
///
/// Clear rather than fast: this is the reference the kernels are checked against.
///
/// ```
/// use mixcore::round::round_ratio;
/// assert_eq!(round_ratio(1, 3), 1.0f32 / 3.0);
/// assert_eq!(round_ratio(255 * 21, 21), 255.0);
/// ```
#[must_use]
pub fn round_ratio(n: u64, d: u64) -> f32 {
    if d == 0 {
        return f32::NAN;
    }
    if n == 0 {
        return 0.0;
    }
    let ln = 64 - n.leading_zeros() as i32;
    let ld = 64 - d.leading_zeros() as i32;
    // n*2^s/d lies in [2^(24), 2^(26)) for this s.
    let mut s = 25 - ln + ld;
    let (num, den) = if s >= 0 {
        (u128::from(n) << s, u128::from(d))
    } else {
        (u128::from(n), u128::from(d) << -s)
    };
    let mut q = num / den;
    let mut sticky = num % den != 0;
    if q >= 1 << 25 {
        sticky |= q & 1 != 0;
        q >>= 1;
        s -= 1;
    }
    // q has 25 bits: 24 of mantissa and the rounding bit.
    let mut mant = (q >> 1) as u32;
    if q & 1 != 0 && (sticky || mant & 1 != 0) {
        mant += 1; // may reach 2^24, still exact in f32
    }
    // value = mant * 2^-(s-1); s - 1 lies in [-40, 88] so the power of two is a normal f32.
    let e = 1 - s;
    mant as f32 * f32::from_bits(((e + 127) as u32) << 23)
}

/// Denominators below this may take the single-precision route with a split reciprocal:
/// `y_hi = RN32(1/D)`, `y_lo = RN32(RN64(1/D) - y_hi)`, `V = RN32(N*y_hi + RN32(N*y_lo))`
/// (one multiply, then one fused multiply-add), for `N <= 255*D < 2^24`.
///
/// Why that is exact: `y_hi + y_lo = (1/D)(1 + d1)` with `|d1| < 2^-47.9` (the `f64`
/// reciprocal is within `2^-53`, the difference `RN64(1/D) - y_hi` is exact in `f64`, and
/// rounding it to `f32` costs at most `2^-24 |y_lo| <= 2^-48 y_hi`); `RN32(N*y_lo)` is within
/// `2^-24 |N y_lo| <= 2^-48 N/D` of `N*y_lo`. So the one value the FMA rounds is
/// `x (1 + e)` with `x = N/D` and `|e| < 2^-46.9`. An `f32` midpoint `mu` in `[2^E, 2^(E+1))`
/// is an odd multiple of `2^(E-24)`; `x - mu = (N 2^(24-E) - (2k+1) D) / (D 2^(24-E))` has a
/// non-zero integer numerator (it could only vanish if `2^(24-E)` divided `D`, which forces
/// `N >= 2^24`), so `|x - mu| / x > 2^-25 / D`, which is more than `|e|` for `D < 2^21`.
/// Hence no midpoint separates `x` from `x (1 + e)` and `V = RN32(x)`; no tie ever occurs.
/// Checked exhaustively for every `D <= 257` (the one-pass kernel's range) by
/// `mixcore/tests/markstein.rs` on every test run, and for every `D < 2^16` and every
/// `N <= 255*D` by its ignored test (about two minutes). This is the division itself, not the
/// epilogue or the float path, so docs/contract.md's ban on fused operations does not apply: any
/// method that yields the correctly rounded quotient yields the same bits.
pub const FMA_DIVISOR_LIMIT: u64 = 1 << 16;

/// The fast routes, each exact within its limit above, that the kernels round with: internals,
/// public only with the `unstable-internals` feature (for the tests that check them), with no
/// promise of stability.
#[cfg(feature = "unstable-internals")]
pub use routes::*;
#[cfg(not(feature = "unstable-internals"))]
pub(crate) use routes::*;

#[cfg_attr(not(feature = "unstable-internals"), allow(dead_code))]
mod routes {
    use super::{FAST_DIVISOR_LIMIT, RECIP_DIVISOR_LIMIT, round_ratio};

    /// `n / d` correctly rounded to `f32` through one `f64` division.
    ///
    /// Exact when `d < FAST_DIVISOR_LIMIT` and `n < 2^53` (see [`FAST_DIVISOR_LIMIT`]); callers
    /// route larger denominators to [`round_ratio`].
    #[inline(always)]
    #[must_use]
    pub fn round_ratio_fast(n: u64, d: u64) -> f32 {
        (n as f64 / d as f64) as f32
    }

    /// The split reciprocal `(y_hi, y_lo)` of `d` for `round_ratio_fma` (with `std`; see
    /// [`FMA_DIVISOR_LIMIT`](super::FMA_DIVISOR_LIMIT)).
    #[inline]
    #[must_use]
    pub fn split_reciprocal(d: u32) -> (f32, f32) {
        let r = 1.0 / f64::from(d);
        let hi = r as f32;
        (hi, (r - f64::from(hi)) as f32)
    }

    /// `n / d` correctly rounded through the split-reciprocal route (see
    /// [`FMA_DIVISOR_LIMIT`](super::FMA_DIVISOR_LIMIT)); `(y_hi, y_lo)` is [`split_reciprocal`]`(d)`. Exact for
    /// `d < FMA_DIVISOR_LIMIT` and `n <= 255 * d`. Uses `f32::mul_add` (a software fused
    /// multiply-add where the CPU has none).
    #[cfg(feature = "std")]
    #[inline]
    #[must_use]
    pub fn round_ratio_fma(n: u32, (y_hi, y_lo): (f32, f32)) -> f32 {
        let nf = n as f32;
        nf.mul_add(y_hi, nf * y_lo)
    }

    /// `n / d` correctly rounded to `f32` through one `f64` multiply by `recip = 1.0 / d as f64`.
    ///
    /// Exact when `d < RECIP_DIVISOR_LIMIT` and `n <= 255 * d` (see [`RECIP_DIVISOR_LIMIT`]).
    #[inline(always)]
    #[must_use]
    pub fn round_ratio_recip(n: u64, recip: f64) -> f32 {
        (n as f64 * recip) as f32
    }

    /// `n / d` correctly rounded, by the fastest route that is exact for `d`: reciprocal
    /// multiply, `f64` division, or the integer route. Requires `n <= 255 * d`.
    #[inline]
    #[must_use]
    pub fn round_ratio_auto(n: u64, d: u64) -> f32 {
        if d < RECIP_DIVISOR_LIMIT {
            round_ratio_recip(n, 1.0 / d as f64)
        } else if d < FAST_DIVISOR_LIMIT {
            round_ratio_fast(n, d)
        } else {
            round_ratio(n, d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_ratio_small_cases_match_f64_route() {
        for d in 1..300u64 {
            for n in 0..=255 * d {
                assert_eq!(
                    round_ratio(n, d).to_bits(),
                    round_ratio_fast(n, d).to_bits()
                );
            }
        }
    }

    #[test]
    fn recip_route_exact_below_limit() {
        // Exhaustive for small denominators; strided plus both ends near the limit. (Run
        // once exhaustively for d < 2000 and the 300 largest d below the limit: no mismatch.)
        let check = |n: u64, d: u64| {
            let r = 1.0 / d as f64;
            assert_eq!(
                round_ratio(n, d).to_bits(),
                round_ratio_recip(n, r).to_bits(),
                "{n}/{d}"
            );
        };
        for d in 1..300u64 {
            (0..=255 * d).for_each(|n| check(n, d));
        }
        for d in (RECIP_DIVISOR_LIMIT - 8)..RECIP_DIVISOR_LIMIT {
            let ends = (0..2000).chain(255 * d - 2000..=255 * d);
            ends.chain((0..=255 * d).step_by(4099))
                .for_each(|n| check(n, d));
        }
    }

    #[test]
    fn round_ratio_ties_to_even() {
        // 2^24 + 1 is a tie between 2^24 and 2^24 + 2; even mantissa is 2^24.
        assert_eq!(round_ratio((1 << 24) + 1, 1), 16_777_216.0);
        assert_eq!(round_ratio((1 << 24) + 3, 1), 16_777_220.0);
        assert_eq!(round_ratio(3 << 40, 1 << 40), 3.0);
    }
}
