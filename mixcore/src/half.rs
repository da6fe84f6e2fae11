//! Half-precision outputs (docs/contract.md section 10): the mixed `f32` value rounded to the
//! nearest IEEE binary16 (`f16`) or bfloat16 (`bf16`) value, ties to even.
//!
//! The rounding is done once, from the `f32` result; on the exact path with the raw epilogue
//! the result is also `N / D` correctly rounded to the half format, since `f32` carries at
//! least `2p + 2` bits for both formats' `p` (11 and 8), so rounding the quotient twice is
//! innocuous (docs/contract.md section 10 gives the argument; the workspace's tests check it
//! for every `D <= 257` and `N <= 255 * D`).
//!
//! [`f16_bits`] and [`bf16_bits`] are the contract in code; [`convert`] does slices, with the
//! CPU's F16C conversion on x86-64 where present (the same bits, checked exhaustively).
//!
//! ```
//! use mixcore::half::{Half, bf16_bits, f16_bits};
//! assert_eq!(f16_bits(1.0), 0x3c00);
//! assert_eq!(f16_bits(65520.0), 0x7c00); // above the largest f16 midpoint: infinity
//! assert_eq!(bf16_bits(1.0 + 1.0 / 256.0), 0x3f80); // a tie, to even
//! assert_eq!(Half::Bf16.bits(255.0), 0x437f);
//! ```

use core::fmt;
use core::str::FromStr;

use crate::text::ParseError;

/// The element type of a mix's output: what front ends offer (`--dtype`).
///
/// Exhaustive on purpose: every front end matches on it to name a type for numpy, `.npy`,
/// safetensors or a tensor library, and a type added here must fail to compile there rather
/// than fall into a wildcard that names it wrongly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// IEEE binary32. Default.
    #[default]
    F32,
    /// IEEE binary16 ([`Half::F16`]).
    F16,
    /// bfloat16 ([`Half::Bf16`]).
    Bf16,
}

impl Dtype {
    /// Bytes per element.
    #[must_use]
    pub const fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::Bf16 => 2,
        }
    }

    /// The half format, `None` for `F32`.
    #[must_use]
    pub const fn half(self) -> Option<Half> {
        match self {
            Dtype::F32 => None,
            Dtype::F16 => Some(Half::F16),
            Dtype::Bf16 => Some(Half::Bf16),
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dtype::F32 => "f32",
            Dtype::F16 => "f16",
            Dtype::Bf16 => "bf16",
        })
    }
}

impl FromStr for Dtype {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let is = |names: [&str; 2]| names.iter().any(|n| s.eq_ignore_ascii_case(n));
        if is(["f32", "float32"]) {
            Ok(Dtype::F32)
        } else if is(["f16", "float16"]) {
            Ok(Dtype::F16)
        } else if is(["bf16", "bfloat16"]) {
            Ok(Dtype::Bf16)
        } else {
            Err(ParseError::Unknown {
                what: "dtype",
                expected: "f32, f16 or bf16",
            })
        }
    }
}

/// A 16-bit output format; values are stored as their bit patterns (`u16`).
///
/// Exhaustive, as [`Dtype`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Half {
    /// IEEE binary16: 1 sign, 5 exponent, 10 fraction bits (`p = 11`).
    F16,
    /// bfloat16: 1 sign, 8 exponent, 7 fraction bits (`p = 8`), `f32`'s upper half.
    Bf16,
}

impl Half {
    /// `x` rounded to this format, ties to even, as bits.
    #[must_use]
    pub fn bits(self, x: f32) -> u16 {
        match self {
            Half::F16 => f16_bits(x),
            Half::Bf16 => bf16_bits(x),
        }
    }

    /// The value of `bits` in this format as an `f32`: exact, since `f32` holds every f16 and
    /// bf16 value; a NaN stays a NaN with its sign and fraction bits, made quiet (as
    /// `vcvtph2ps` does).
    #[must_use]
    pub fn to_f32(self, bits: u16) -> f32 {
        match self {
            Half::F16 => f16_to_f32(bits),
            Half::Bf16 if bits & 0x7fff > 0x7f80 => f32::from_bits(u32::from(bits | 0x0040) << 16),
            Half::Bf16 => f32::from_bits(u32::from(bits) << 16),
        }
    }

    /// The element type whose values are in this format.
    #[must_use]
    pub const fn dtype(self) -> Dtype {
        match self {
            Half::F16 => Dtype::F16,
            Half::Bf16 => Dtype::Bf16,
        }
    }
}

/// The IEEE binary16 value `bits` as an `f32` (exact; a NaN made quiet, as
/// [`Half::to_f32`]).
#[must_use]
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits & 0x8000) << 16;
    let exp = u32::from(bits >> 10) & 0x1f;
    let frac = u32::from(bits & 0x03ff);
    let abs = match exp {
        // Zero and subnormals: frac * 2^-24, exact in f32.
        0 => (frac as f32 * f32::from_bits(0x3380_0000)).to_bits(),
        0x1f if frac == 0 => 0x7f80_0000,
        0x1f => 0x7fc0_0000 | (frac << 13),
        _ => ((exp + 112) << 23) | (frac << 13),
    };
    f32::from_bits(sign | abs)
}

/// `x` rounded to the nearest IEEE binary16 value, ties to even: overflow to infinity,
/// gradual underflow to subnormals and zero (sign kept), NaN to a quiet NaN with the top
/// fraction bits kept.
#[must_use]
pub fn f16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let abs = b & 0x7fff_ffff;
    if abs > 0x7f80_0000 {
        return sign | 0x7e00 | ((abs >> 13) & 0x03ff) as u16;
    }
    // 65520 = 65504 + half an ulp: from there up (a tie rounds to the even 2^16), infinity.
    if abs >= 0x477f_f000 {
        return sign | 0x7c00;
    }
    // Normal f16 (>= 2^-14): rebias the exponent (127 -> 15) and round off 13 fraction bits;
    // a carry moves into the exponent, as it should.
    if abs >= 0x3880_0000 {
        let e = abs - 0x3800_0000;
        return sign | ((e + 0x0fff + ((e >> 13) & 1)) >> 13) as u16;
    }
    // At most 2^-25 (half the smallest subnormal, a tie to even 0): zero.
    if abs <= 0x3300_0000 {
        return sign;
    }
    // Subnormal f16: the significand in units of 2^-24, rounded to nearest even.
    let m = (abs & 0x007f_ffff) | 0x0080_0000;
    let shift = 126 - (abs >> 23);
    let q = m >> shift;
    let rem = m & ((1 << shift) - 1);
    let halfway = 1 << (shift - 1);
    let up = rem > halfway || (rem == halfway && q & 1 == 1);
    sign | (q + u32::from(up)) as u16
}

/// `x` rounded to the nearest bfloat16 value, ties to even (overflow to infinity; subnormals
/// kept, never flushed); NaN to a quiet NaN.
#[must_use]
pub fn bf16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    if b & 0x7fff_ffff > 0x7f80_0000 {
        return (b >> 16) as u16 | 0x0040;
    }
    ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// Rounds every value of `src` into `dst` (the shorter length's worth): [`f16_bits`] or
/// [`bf16_bits`] of each, eight at a time where the CPU allows (f16: F16C's `vcvtps2ph`;
/// bf16: the AVX2 backend's integer rounding), the same bits on every path.
pub fn convert(src: &[f32], dst: &mut [u16], half: Half) {
    match half {
        Half::F16 => {
            #[cfg(all(target_arch = "x86_64", feature = "std"))]
            if std::is_x86_feature_detected!("f16c") && std::is_x86_feature_detected!("avx") {
                // SAFETY: the CPU has F16C and AVX, checked just above.
                unsafe { f16c::convert(src, dst) };
                return;
            }
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = f16_bits(s);
            }
        }
        Half::Bf16 => {
            #[cfg(target_arch = "x86_64")]
            if crate::kernel::has_avx2() {
                // SAFETY: the CPU has AVX2, FMA and F16C, checked just above.
                unsafe { crate::kernel::avx2::convert_bf16(src, dst) };
                return;
            }
            // Branch-free integer arithmetic: compilers vectorise this loop.
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = bf16_bits(s);
            }
        }
    }
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
mod f16c {
    use core::arch::x86_64::{
        __m128i, _MM_FROUND_TO_NEAREST_INT, _mm_storeu_si128, _mm256_cvtps_ph, _mm256_loadu_ps,
    };

    /// [`super::convert`] to f16 with `vcvtps2ph`, round to nearest even (the instruction's
    /// immediate rounding, not MXCSR's), eight values at a time; the tail in software.
    ///
    /// # Safety
    /// The CPU must have F16C and AVX.
    #[target_feature(enable = "avx,f16c")]
    pub(super) unsafe fn convert(src: &[f32], dst: &mut [u16]) {
        let n = src.len().min(dst.len());
        let (src, dst) = (&src[..n], &mut dst[..n]);
        let mut chunks = src.chunks_exact(8).zip(dst.chunks_exact_mut(8));
        for (s, d) in &mut chunks {
            // SAFETY: `s` holds 8 f32 and `d` 8 u16 (16 bytes); both unaligned accesses.
            unsafe {
                let v = _mm256_loadu_ps(s.as_ptr());
                let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
                _mm_storeu_si128(d.as_mut_ptr().cast::<__m128i>(), h);
            }
        }
        let done = n - n % 8;
        for (d, &s) in dst[done..].iter_mut().zip(&src[done..]) {
            *d = super::f16_bits(s);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::string::ToString;

    #[test]
    fn f16_edges() {
        assert_eq!(f16_bits(0.0), 0);
        assert_eq!(f16_bits(-0.0), 0x8000);
        assert_eq!(f16_bits(65504.0), 0x7bff);
        assert_eq!(f16_bits(65519.996), 0x7bff);
        assert_eq!(f16_bits(65520.0), 0x7c00);
        assert_eq!(f16_bits(f32::INFINITY), 0x7c00);
        assert_eq!(f16_bits(f32::from_bits(0x3300_0000)), 0); // 2^-25: a tie, to 0
        assert_eq!(f16_bits(f32::from_bits(0x3300_0001)), 1); // just above: 2^-24
        assert_eq!(f16_bits(f32::from_bits(0x3380_0000)), 1); // 2^-24
        assert_eq!(f16_bits(f32::from_bits(0x33c0_0000)), 2); // 1.5 * 2^-24: a tie, to 2
        assert_eq!(f16_bits(f32::from_bits(0x3880_0000)), 0x0400); // 2^-14, smallest normal
        assert_eq!(f16_bits(1.0 + 1.0 / 2048.0), 0x3c00); // a tie, to even
        assert_eq!(f16_bits(1.0 + 3.0 / 2048.0), 0x3c02); // a tie, to even (up)
        assert_eq!(f16_bits(f32::NAN) & 0x7e00, 0x7e00);
    }

    #[test]
    fn bf16_edges() {
        assert_eq!(bf16_bits(1.0), 0x3f80);
        assert_eq!(bf16_bits(1.0 + 3.0 / 256.0), 0x3f82);
        assert_eq!(bf16_bits(f32::MAX), 0x7f80);
        assert_eq!(bf16_bits(f32::from_bits(1)), 0); // smallest subnormal: to 0, not flushed by rule
        assert_eq!(bf16_bits(f32::from_bits(0x0000_8001)), 1); // above the tie: kept subnormal
        assert_eq!(bf16_bits(f32::NAN) & 0x7fc0, 0x7fc0);
    }

    #[test]
    fn dtype_spellings_round_trip() {
        for d in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
            assert_eq!(d.to_string().parse::<Dtype>(), Ok(d));
        }
        assert!("f64".parse::<Dtype>().is_err());
    }
}
