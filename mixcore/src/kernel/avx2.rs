//! AVX2 kernels for x86-64 (`core::arch` intrinsics inside `#[target_feature]` functions),
//! chosen at run time by [`crate::Kernels::for_backend`] only when the CPU has AVX2.
//!
//! Lanes are pixels; the sum over a window's frames keeps its order (and the exact path's
//! integer sums do not depend on order at all), so every function gives the reference's bits.
//!
//! - Exact sums: frames are taken two at a time, their bytes interleaved and multiplied by
//!   their numerators with `vpmaddubsw` into 16-bit sums, when the group's numerators allow
//!   it (each pair sums to at most 128, the group to at most 257, so no 16-bit sum can
//!   saturate or wrap); otherwise bytes are widened to 32 bits and multiplied there.
//! - Rounding: the reciprocal route of [`crate::round::RECIP_DIVISOR_LIMIT`], four `f64`
//!   lanes at a time; larger denominators use the portable kernel.
//! - Epilogue and layout: `vdivps`/`vsubps` exactly as SPEC.md orders them, and a
//!   blend-and-permute deinterleave for three-channel planar output.
//!
//! FMA appears only inside the exact division (where the result is the correctly rounded
//! quotient whatever the method); the float path and the epilogue are never fused, as SPEC.md
//! requires.

#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::epilogue::Epilogue;
use crate::kernel::{Finish, MAX_GROUP, reference, wide};
use crate::round::{FMA_DIVISOR_LIMIT, RECIP_DIVISOR_LIMIT};

/// True when the numerators of a group can use 16-bit pair sums: each fits an `i8`, every
/// adjacent pair (as the kernel pairs them: 0+1, 2+3, ...) sums to at most 128, so `255 * pair <= 32_640` fits `i16`
/// without saturation, and the whole group at most 257, so `255 * sum <= 65_535` fits `u16`.
fn fits_u16_pairs(nums: &[u32]) -> bool {
    let total: u64 = nums.iter().map(|&n| u64::from(n)).sum();
    total <= 257
        && nums.iter().all(|&n| n <= 127)
        && nums.chunks(2).all(|p| p.iter().sum::<u32>() <= 128)
}

/// Exact group accumulation (see the module docs).
pub(crate) fn accumulate_u32(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool) {
    let len = acc.len();
    if rows.len() > MAX_GROUP || nums.len() < rows.len() || rows.iter().any(|r| r.len() < len) {
        return reference::accumulate_u32(acc, rows, nums, init);
    }
    // SAFETY: this function is only reachable through the table that `Kernels::for_backend`
    // returns after `is_x86_feature_detected!` (or compile-time target features) said the
    // CPU has AVX2 and FMA; every row holds at least `acc.len()` bytes (checked).
    unsafe {
        if fits_u16_pairs(&nums[..rows.len()]) {
            accumulate_u32_pairs(acc, rows, nums, init);
        } else {
            accumulate_u32_wide(acc, rows, nums, init);
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn accumulate_u32_pairs(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool) {
    let len = acc.len();
    let full = len - len % 32;
    let zero = _mm256_setzero_si256();
    let mut weights = [zero; MAX_GROUP / 2];
    for (w, pair) in weights.iter_mut().zip(nums[..rows.len()].chunks(2)) {
        let a = pair[0] as i16;
        let b = pair.get(1).copied().unwrap_or(0) as i16;
        *w = _mm256_set1_epi16((b << 8) | a);
    }
    let pairs = rows.len().div_ceil(2);
    let mut j = 0;
    while j < full {
        let mut lo = zero;
        let mut hi = zero;
        for (p, w) in weights.iter().enumerate().take(pairs) {
            // SAFETY: j + 32 <= full <= row length for every row (checked by the caller).
            let a = unsafe { _mm256_loadu_si256(rows[2 * p].as_ptr().add(j).cast()) };
            let b = match rows.get(2 * p + 1) {
                // SAFETY: as above.
                Some(r) => unsafe { _mm256_loadu_si256(r.as_ptr().add(j).cast()) },
                None => zero,
            };
            // Bytes 0-7 and 16-23 go to `lo`, 8-15 and 24-31 to `hi` (per 128-bit lane).
            lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(_mm256_unpacklo_epi8(a, b), *w));
            hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(_mm256_unpackhi_epi8(a, b), *w));
        }
        let parts = [
            _mm256_cvtepu16_epi32(_mm256_castsi256_si128(lo)), // bytes 0-7
            _mm256_cvtepu16_epi32(_mm256_castsi256_si128(hi)), // bytes 8-15
            _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(lo)), // bytes 16-23
            _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(hi)), // bytes 24-31
        ];
        for (q, part) in parts.into_iter().enumerate() {
            // SAFETY: j + 8q + 8 <= full <= acc.len().
            unsafe {
                let dst = acc.as_mut_ptr().add(j + 8 * q).cast::<__m256i>();
                let v = if init {
                    part
                } else {
                    _mm256_add_epi32(_mm256_loadu_si256(dst), part)
                };
                _mm256_storeu_si256(dst, v);
            }
        }
        j += 32;
    }
    tail(acc, rows, nums, init, full);
}

#[target_feature(enable = "avx2")]
unsafe fn accumulate_u32_wide(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool) {
    let len = acc.len();
    let full = len - len % 32;
    let mut j = 0;
    while j < full {
        let mut s = [_mm256_setzero_si256(); 4];
        if !init {
            for (q, sv) in s.iter_mut().enumerate() {
                // SAFETY: j + 8q + 8 <= full <= acc.len().
                *sv = unsafe { _mm256_loadu_si256(acc.as_ptr().add(j + 8 * q).cast()) };
            }
        }
        for (row, &n) in rows.iter().zip(nums) {
            let nv = _mm256_set1_epi32(n as i32);
            for (q, sv) in s.iter_mut().enumerate() {
                // SAFETY: j + 8q + 8 <= full <= row.len().
                let b = unsafe { _mm_loadl_epi64(row.as_ptr().add(j + 8 * q).cast()) };
                *sv = _mm256_add_epi32(*sv, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(b), nv));
            }
        }
        for (q, sv) in s.iter().enumerate() {
            // SAFETY: as above.
            unsafe { _mm256_storeu_si256(acc.as_mut_ptr().add(j + 8 * q).cast(), *sv) };
        }
        j += 32;
    }
    tail(acc, rows, nums, init, full);
}

fn tail(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool, from: usize) {
    let tails: [&[u8]; MAX_GROUP] = core::array::from_fn(|g| {
        rows.get(g)
            .map_or(&[][..], |r| r.get(from..).unwrap_or(&[]))
    });
    reference::accumulate_u32(&mut acc[from..], &tails[..rows.len()], nums, init);
}

/// Float-path group accumulation: `acc = acc + w * v` per frame in order, `vmulps` then
/// `vaddps`.
pub(crate) fn accumulate_f32(acc: &mut [f32], rows: &[&[u8]], weights: &[f32], init: bool) {
    let len = acc.len();
    if rows.len() > MAX_GROUP || weights.len() < rows.len() || rows.iter().any(|r| r.len() < len) {
        return reference::accumulate_f32(acc, rows, weights, init);
    }
    // SAFETY: reachable only after AVX2 was detected (see `accumulate_u32`); rows are long
    // enough (checked).
    unsafe { accumulate_f32_avx2(acc, rows, weights, init) }
}

#[target_feature(enable = "avx2")]
unsafe fn accumulate_f32_avx2(acc: &mut [f32], rows: &[&[u8]], weights: &[f32], init: bool) {
    let len = acc.len();
    let full = len - len % 32;
    let mut j = 0;
    while j < full {
        let mut s = [_mm256_setzero_ps(); 4];
        if !init {
            for (q, sv) in s.iter_mut().enumerate() {
                // SAFETY: j + 8q + 8 <= full <= acc.len().
                *sv = unsafe { _mm256_loadu_ps(acc.as_ptr().add(j + 8 * q)) };
            }
        }
        for (row, &w) in rows.iter().zip(weights) {
            let wv = _mm256_set1_ps(w);
            for (q, sv) in s.iter_mut().enumerate() {
                // SAFETY: j + 8q + 8 <= full <= row.len().
                let b = unsafe { _mm_loadl_epi64(row.as_ptr().add(j + 8 * q).cast()) };
                let v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
                *sv = _mm256_add_ps(*sv, _mm256_mul_ps(wv, v));
            }
        }
        for (q, sv) in s.iter().enumerate() {
            // SAFETY: as above.
            unsafe { _mm256_storeu_ps(acc.as_mut_ptr().add(j + 8 * q), *sv) };
        }
        j += 32;
    }
    let tails: [&[u8]; MAX_GROUP] = core::array::from_fn(|g| {
        rows.get(g)
            .map_or(&[][..], |r| r.get(full..).unwrap_or(&[]))
    });
    reference::accumulate_f32(&mut acc[full..], &tails[..rows.len()], weights, init);
}

/// `V = N / d`, epilogue and layout into `dst`, fused: sums are converted, scaled, laid out
/// and stored without an intermediate buffer.
pub(crate) fn finish_u32(acc: &[u32], d: u64, fin: &Finish, dst: &mut [&mut [f32]]) {
    if d >= RECIP_DIVISOR_LIMIT || !fits(acc.len(), fin, dst) {
        return wide::finish_u32(acc, d, fin, dst);
    }
    // SAFETY: reachable only after AVX2 and FMA were detected (see `accumulate_u32`); `fits`
    // checked the destination lengths.
    let src = if d < FMA_DIVISOR_LIMIT {
        Source::SumsFma(acc, d as f32, 1.0 / d as f32)
    } else {
        Source::Sums(acc, 1.0 / d as f64)
    };
    unsafe { finish_avx2(src, fin, dst) }
}

/// Float-path epilogue and layout into `dst`.
pub(crate) fn finish_f32(acc: &[f32], fin: &Finish, dst: &mut [&mut [f32]]) {
    if !fits(acc.len(), fin, dst) {
        return reference::finish_f32(acc, fin, dst);
    }
    // SAFETY: as in `finish_u32`.
    unsafe { finish_avx2(Source::Values(acc), fin, dst) }
}

/// True when `dst` has the runs a fused finish of `n` elements writes, and the layout is one
/// the fused path handles (interleaved, or planar with 1 or 3 channels).
fn fits(n: usize, fin: &Finish, dst: &[&mut [f32]]) -> bool {
    let ch = fin.channels;
    if !fin.planar || ch == 1 {
        dst.first().is_some_and(|r| r.len() >= n)
    } else {
        ch == 3 && dst.len() >= 3 && dst[..3].iter().all(|r| r.len() >= n / 3)
    }
}

/// What a fused finish reads: exact sums with the reciprocal of their denominator, or
/// float-path values.
#[derive(Clone, Copy)]
enum Source<'a> {
    Sums(&'a [u32], f64),
    SumsFma(&'a [u32], f32, f32),
    Values(&'a [f32]),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Sums(a, _) | Source::SumsFma(a, _, _) => a.len(),
            Source::Values(v) => v.len(),
        }
    }

    /// Element `j` as `V`, scalar.
    fn value(&self, j: usize) -> f32 {
        match *self {
            Source::Sums(a, r) => crate::round::round_ratio_recip(u64::from(a[j]), r),
            Source::SumsFma(a, d, _) => {
                crate::round::round_ratio_recip(u64::from(a[j]), 1.0 / f64::from(d))
            }
            Source::Values(v) => v[j],
        }
    }

    /// Elements `j..j + 8` as `V`. Sums are below `255 * 2^17 < 2^31`, so the signed
    /// conversion is exact, and the reciprocal route is exact for them.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load8(&self, j: usize) -> __m256 {
        match *self {
            // SAFETY (both arms): the caller keeps j + 8 <= self.len().
            Source::Sums(a, r) => unsafe {
                let v = _mm256_loadu_si256(a.as_ptr().add(j).cast());
                let rv = _mm256_set1_pd(r);
                let lo = _mm256_cvtpd_ps(_mm256_mul_pd(
                    _mm256_cvtepi32_pd(_mm256_castsi256_si128(v)),
                    rv,
                ));
                let hi = _mm256_cvtpd_ps(_mm256_mul_pd(
                    _mm256_cvtepi32_pd(_mm256_extracti128_si256::<1>(v)),
                    rv,
                ));
                _mm256_set_m128(hi, lo)
            },
            // Sums below 2^24 convert to f32 exactly; see FMA_DIVISOR_LIMIT for the proof.
            Source::SumsFma(a, d, y) => unsafe {
                let n = _mm256_cvtepi32_ps(_mm256_loadu_si256(a.as_ptr().add(j).cast()));
                let (dv, yv) = (_mm256_set1_ps(d), _mm256_set1_ps(y));
                let q = _mm256_mul_ps(n, yv);
                let r = _mm256_fnmadd_ps(q, dv, n);
                _mm256_fmadd_ps(r, yv, q)
            },
            Source::Values(v) => unsafe { _mm256_loadu_ps(v.as_ptr().add(j)) },
        }
    }
}

/// Epilogue constants for 24 consecutive interleaved elements (24 is a multiple of 1 to 4
/// channels), starting at channel 0.
struct Pattern {
    mean: [__m256; 3],
    std: [__m256; 3],
}

#[target_feature(enable = "avx2")]
fn pattern(mean: &[f32; 4], std: &[f32; 4], ch: usize) -> Pattern {
    let m: [f32; 24] = core::array::from_fn(|k| mean[k % ch]);
    let s: [f32; 24] = core::array::from_fn(|k| std[k % ch]);
    // SAFETY: each load reads 8 of the 24 elements.
    unsafe {
        Pattern {
            mean: [0, 8, 16].map(|o| _mm256_loadu_ps(m.as_ptr().add(o))),
            std: [0, 8, 16].map(|o| _mm256_loadu_ps(s.as_ptr().add(o))),
        }
    }
}

#[inline]
#[target_feature(enable = "avx2")]
fn epi(e: &Epilogue, v: __m256, mean: __m256, std: __m256, k255: __m256) -> __m256 {
    match e {
        Epilogue::Raw => v,
        Epilogue::Unit => _mm256_div_ps(v, k255),
        Epilogue::Normalize { .. } => {
            _mm256_div_ps(_mm256_sub_ps(_mm256_div_ps(v, k255), mean), std)
        }
    }
}

/// The fused finish. The caller checked `fits(src.len(), fin, dst)`.
#[target_feature(enable = "avx2,fma")]
unsafe fn finish_avx2(src: Source<'_>, fin: &Finish, dst: &mut [&mut [f32]]) {
    let ch = fin.channels;
    let n = src.len();
    let e = &fin.epilogue;
    let k255 = _mm256_set1_ps(255.0);
    let (mean, std) = match fin.epilogue {
        Epilogue::Normalize { mean, std } => (mean, std),
        Epilogue::Raw | Epilogue::Unit => ([0.0; 4], [1.0; 4]),
    };
    if !fin.planar || ch == 1 {
        let out = &mut *dst[0];
        let pat = pattern(&mean, &std, ch);
        let full = n - n % 24;
        let mut j = 0;
        while j < full {
            for q in 0..3 {
                // SAFETY: j + 8q + 8 <= full <= n <= out.len() (fits).
                unsafe {
                    let y = epi(e, src.load8(j + 8 * q), pat.mean[q], pat.std[q], k255);
                    _mm256_storeu_ps(out.as_mut_ptr().add(j + 8 * q), y);
                }
            }
            j += 24;
        }
        for (k, o) in out.iter_mut().enumerate().take(n).skip(full) {
            *o = e.apply(src.value(k), k % ch);
        }
        return;
    }
    // Planar, three channels.
    let pixels = n / 3;
    let full = pixels - pixels % 8;
    let m = [0, 1, 2].map(|c| _mm256_set1_ps(mean[c]));
    let s = [0, 1, 2].map(|c| _mm256_set1_ps(std[c]));
    let idx = [
        _mm256_setr_epi32(0, 3, 6, 1, 4, 7, 2, 5),
        _mm256_setr_epi32(1, 4, 7, 2, 5, 0, 3, 6),
        _mm256_setr_epi32(2, 5, 0, 3, 6, 1, 4, 7),
    ];
    let mut p = 0;
    while p < full {
        // SAFETY: 3p + 24 <= 3 * full <= n, and p + 8 <= full <= dst[c].len() (fits).
        unsafe {
            let a = src.load8(3 * p);
            let b = src.load8(3 * p + 8);
            let c = src.load8(3 * p + 16);
            // Channel 0 sits at lanes {0,3,6} of a, {1,4,7} of b, {2,5} of c; channels 1 and
            // 2 at the rotations of those sets. Blend them together, then permute in order.
            let x = _mm256_blend_ps::<0b0010_0100>(_mm256_blend_ps::<0b1001_0010>(a, b), c);
            let y = _mm256_blend_ps::<0b0100_1001>(_mm256_blend_ps::<0b0010_0100>(a, b), c);
            let z = _mm256_blend_ps::<0b1001_0010>(_mm256_blend_ps::<0b0100_1001>(a, b), c);
            for (ci, v) in [x, y, z].into_iter().enumerate() {
                let v = _mm256_permutevar8x32_ps(v, idx[ci]);
                _mm256_storeu_ps(dst[ci].as_mut_ptr().add(p), epi(e, v, m[ci], s[ci], k255));
            }
        }
        p += 8;
    }
    for (c, run) in dst.iter_mut().enumerate().take(3) {
        for (p, o) in run.iter_mut().enumerate().take(pixels).skip(full) {
            *o = e.apply(src.value(3 * p + c), c);
        }
    }
}
