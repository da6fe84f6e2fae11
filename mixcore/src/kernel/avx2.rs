//! AVX2 kernels for x86-64 (`core::arch` intrinsics inside `#[target_feature]` functions),
//! chosen at run time by [`crate::Kernels::for_backend`] only when the CPU has AVX2, FMA and
//! F16C.
//!
//! Lanes are pixels; the sum over a window's frames keeps its order (and the exact path's
//! integer sums do not depend on order at all), so every function gives the reference's bits.
//!
//! - Exact sums: frames are taken two at a time, their bytes interleaved and multiplied by
//!   their numerators with `vpmaddubsw` into 16-bit sums, when the group's numerators allow
//!   it (each pair sums to at most 128, the group to at most 257, so no 16-bit sum can
//!   saturate or wrap); otherwise bytes are widened to 32 bits and multiplied there.
//! - Rounding: the split-reciprocal route of [`crate::round::FMA_DIVISOR_LIMIT`] (eight `f32`
//!   lanes, one multiply and one FMA) for sums below `2^24`, else the reciprocal route of
//!   [`crate::round::RECIP_DIVISOR_LIMIT`], four `f64` lanes at a time; larger denominators
//!   use the portable kernel.
//! - Epilogue and layout: `vdivps`/`vsubps` exactly as docs/contract.md orders them. Three-channel
//!   planar output is deinterleaved by blends and permutes of finished values after the
//!   accumulator tiles, and by byte shuffles of the 16-bit sums (which widen them too) in the
//!   one-pass kernel.
//!
//! - Half-precision outputs: each finished vector of eight values is rounded in registers
//!   before its store, f16 by F16C's `vcvtps2ph` (round to nearest even by its immediate, not
//!   MXCSR; this code never sets DAZ or FTZ, so subnormals are kept) and bf16 by integer
//!   arithmetic on the `f32` bits, `(bits + 0x7fff + lsb) >> 16` (NaNs quieted), both giving
//!   exactly `crate::half`'s bits.
//!
//! FMA appears only inside the exact division (where the result is the correctly rounded
//! quotient whatever the method); the float path and the epilogue are never fused, as docs/contract.md
//! requires.

#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::epilogue::Epilogue;
use crate::half::Half;
use crate::kernel::{Finish, MAX_GROUP, reference, staged, wide};
use crate::round::{FMA_DIVISOR_LIMIT, RECIP_DIVISOR_LIMIT, split_reciprocal};

/// The largest numerator of the 16-bit pair path: `vpmaddubsw` multiplies unsigned bytes by
/// signed bytes, so a numerator must fit an `i8`.
const PAIR_NUMERATOR_MAX: u32 = 127;
/// The largest sum of one pair of numerators (frames 0+1, 2+3, ... of a group, as the kernel
/// pairs them): `255 * 128 = 32_640` fits the `i16` that `vpmaddubsw` saturates to.
const PAIR_SUM_MAX: u32 = 128;
/// The largest sum of a whole group's numerators: `255 * 257 = 65_535` fits the `u16` lanes the
/// pair sums are added in.
const GROUP_SUM_MAX: u32 = 257;

/// How many leading numerators of `nums` fit one 16-bit pair group (each at most
/// [`PAIR_NUMERATOR_MAX`], each pair at most [`PAIR_SUM_MAX`], all at most [`GROUP_SUM_MAX`]).
fn u16_pair_prefix(nums: &[u32]) -> usize {
    let mut sum = 0;
    for (u, &n) in nums.iter().enumerate() {
        let pair_ok = u % 2 == 0 || nums[u - 1] + n <= PAIR_SUM_MAX;
        if n > PAIR_NUMERATOR_MAX || sum + n > GROUP_SUM_MAX || !pair_ok {
            return u;
        }
        sum += n;
    }
    nums.len()
}

/// True when the numerators of a group can use 16-bit pair sums (see [`u16_pair_prefix`]); the
/// AVX-512 kernels share the rule.
pub(crate) fn fits_u16_pairs(nums: &[u32]) -> bool {
    u16_pair_prefix(nums) == nums.len()
}

/// This backend's `Kernels::exact_group`: a run that starts with a numerator the pair path
/// takes is cut where the pair limits would be crossed (so it is summed in 16 bits); one that
/// starts with a larger numerator is taken whole (it is summed in 32 bits anyway).
pub(crate) fn exact_group(nums: &[u32]) -> usize {
    match u16_pair_prefix(nums) {
        0 => nums.len(),
        n => n,
    }
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

/// Byte-pair weights (`n_a` low, `n_b` high, as `vpmaddubsw` wants them) and row pointers for
/// the pairs (0,1), (2,3), ... of a group. An odd last frame pairs with itself at weight 0.
#[target_feature(enable = "avx2")]
fn pair_up(
    rows: &[&[u8]],
    nums: &[u32],
) -> (
    [__m256i; MAX_GROUP / 2],
    [(*const u8, *const u8); MAX_GROUP / 2],
) {
    let mut weights = [_mm256_setzero_si256(); MAX_GROUP / 2];
    let mut ptrs = [(core::ptr::null(), core::ptr::null()); MAX_GROUP / 2];
    for (p, (w, ab)) in weights
        .iter_mut()
        .zip(ptrs.iter_mut())
        .enumerate()
        .take(rows.len().div_ceil(2))
    {
        let a = nums[2 * p] as i16;
        let b = nums.get(2 * p + 1).copied().unwrap_or(0) as i16;
        *w = _mm256_set1_epi16((b << 8) | a);
        let pa = rows[2 * p].as_ptr();
        *ab = (pa, rows.get(2 * p + 1).map_or(pa, |r| r.as_ptr()));
    }
    (weights, ptrs)
}

/// How far ahead (bytes) the pair kernel prefetches each row: a few tiles' worth of lines in
/// flight per stream helps when the frames come from DRAM.
const PREFETCH_AHEAD: usize = 512;

/// The 16-bit pair sums of bytes `off..off + 32` of every pair of rows: `lo` holds bytes 0-7
/// and 16-23, `hi` bytes 8-15 and 24-31 (per 128-bit lane, as `vpunpck*bw` leave them).
/// Prefetches each row `PREFETCH_AHEAD` bytes ahead when `prefetch`. The first pair
/// initialises the sums (no add to zero); no pairs give zeros.
///
/// # Safety
/// AVX2 is available, and `weights` and `ptrs` come from [`pair_up`] over rows holding at
/// least `off + 32` bytes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn pair_sums(
    weights: &[__m256i],
    ptrs: &[(*const u8, *const u8)],
    off: usize,
    prefetch: bool,
) -> (__m256i, __m256i) {
    let mut lo = _mm256_setzero_si256();
    let mut hi = _mm256_setzero_si256();
    for (p, (w, &(pa, pb))) in weights.iter().zip(ptrs).enumerate() {
        // SAFETY: off + 32 <= every row's length (the caller's promise). Prefetches never
        // fault; their addresses are only formed with wrapping arithmetic.
        let (a, b) = unsafe {
            if prefetch {
                _mm_prefetch::<_MM_HINT_T0>(pa.wrapping_add(off + PREFETCH_AHEAD).cast());
                _mm_prefetch::<_MM_HINT_T0>(pb.wrapping_add(off + PREFETCH_AHEAD).cast());
            }
            (
                _mm256_loadu_si256(pa.add(off).cast()),
                _mm256_loadu_si256(pb.add(off).cast()),
            )
        };
        let l = _mm256_maddubs_epi16(_mm256_unpacklo_epi8(a, b), *w);
        let h = _mm256_maddubs_epi16(_mm256_unpackhi_epi8(a, b), *w);
        (lo, hi) = if p == 0 {
            (l, h)
        } else {
            (_mm256_add_epi16(lo, l), _mm256_add_epi16(hi, h))
        };
    }
    (lo, hi)
}

/// The 32 sums of [`pair_sums`] widened to 32 bits, in element order: bytes 0-7, 8-15, 16-23,
/// 24-31 of the 32-byte column.
#[inline]
#[target_feature(enable = "avx2")]
fn widen_pair_sums(lo: __m256i, hi: __m256i) -> [__m256i; 4] {
    [
        _mm256_cvtepu16_epi32(_mm256_castsi256_si128(lo)),
        _mm256_cvtepu16_epi32(_mm256_castsi256_si128(hi)),
        _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(lo)),
        _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(hi)),
    ]
}

#[target_feature(enable = "avx2")]
unsafe fn accumulate_u32_pairs(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool) {
    let len = acc.len();
    let full = len - len % 32;
    let pairs = rows.len().div_ceil(2);
    let (weights, ptrs) = pair_up(rows, nums);
    let (weights, ptrs) = (&weights[..pairs], &ptrs[..pairs]);
    let mut j = 0;
    while j < full {
        // One prefetch per 64-byte line of each row (every other 32-byte step).
        // SAFETY: j + 32 <= full <= every row's length (checked by the caller).
        let (lo, hi) = unsafe { pair_sums(weights, ptrs, j, j % 64 == 0) };
        for (q, part) in widen_pair_sums(lo, hi).into_iter().enumerate() {
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
    // SAFETY: reachable only after AVX2, FMA and F16C were detected (see `accumulate_u32`);
    // `fits` checked the destination lengths.
    unsafe { finish_u32_to::<F32s>(acc, d, fin, dst) }
}

/// [`finish_u32`] into a half-precision output, each vector rounded in registers.
pub(crate) fn finish_u32_half(
    acc: &[u32],
    d: u64,
    fin: &Finish,
    half: Half,
    dst: &mut [&mut [u16]],
) {
    if d >= RECIP_DIVISOR_LIMIT || !fits(acc.len(), fin, dst) {
        return staged(acc, fin, half, dst, |part, runs| {
            wide::finish_u32(part, d, fin, runs);
        });
    }
    // SAFETY: as in `finish_u32`.
    unsafe {
        match half {
            Half::F16 => finish_u32_to::<F16s>(acc, d, fin, dst),
            Half::Bf16 => finish_u32_to::<Bf16s>(acc, d, fin, dst),
        }
    }
}

/// # Safety
/// AVX2, FMA and F16C available; `d < RECIP_DIVISOR_LIMIT`; `fits(acc.len(), fin, dst)`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn finish_u32_to<P: Put>(acc: &[u32], d: u64, fin: &Finish, dst: &mut [&mut [P::Elem]]) {
    // SAFETY: forwarded from the caller.
    unsafe {
        if d < FMA_DIVISOR_LIMIT {
            finish_by_epilogue::<_, P>(
                &SumsFma {
                    acc,
                    d: d as u32,
                    y: split_reciprocal(d as u32),
                },
                fin,
                dst,
            );
        } else {
            finish_by_epilogue::<_, P>(
                &SumsRecip {
                    acc,
                    recip: 1.0 / d as f64,
                },
                fin,
                dst,
            );
        }
    }
}

/// Float-path epilogue and layout into `dst`.
pub(crate) fn finish_f32(acc: &[f32], fin: &Finish, dst: &mut [&mut [f32]]) {
    if !fits(acc.len(), fin, dst) {
        return reference::finish_f32(acc, fin, dst);
    }
    // SAFETY: as in `finish_u32`.
    unsafe { finish_by_epilogue::<_, F32s>(&Values(acc), fin, dst) }
}

/// [`finish_f32`] into a half-precision output.
pub(crate) fn finish_f32_half(acc: &[f32], fin: &Finish, half: Half, dst: &mut [&mut [u16]]) {
    if !fits(acc.len(), fin, dst) {
        return reference::finish_f32_half(acc, fin, half, dst);
    }
    // SAFETY: as in `finish_u32`.
    unsafe {
        match half {
            Half::F16 => finish_by_epilogue::<_, F16s>(&Values(acc), fin, dst),
            Half::Bf16 => finish_by_epilogue::<_, Bf16s>(&Values(acc), fin, dst),
        }
    }
}

/// How finished vectors are stored: as `f32`, or rounded to a half format (bits).
trait Put {
    type Elem: Copy;
    /// One value, as [`Put::put8`] stores its lane.
    fn scalar(y: f32) -> Self::Elem;
    /// Stores eight values at `p`.
    ///
    /// # Safety
    /// `p..p + 8` is writable; AVX2, FMA and F16C available.
    unsafe fn put8(p: *mut Self::Elem, y: __m256);
    /// Bytes of eight values: the alignment [`Put::stream8`] needs.
    const BYTES8: usize = 8 * core::mem::size_of::<Self::Elem>();
    /// As [`Put::put8`], by a streaming store.
    ///
    /// # Safety
    /// As [`Put::put8`], and `p` is aligned to [`Put::BYTES8`].
    unsafe fn stream8(p: *mut Self::Elem, y: __m256);
    /// Stores four of the eight values at `p`: the first four, or the last four when `HI`.
    ///
    /// # Safety
    /// `p..p + 4` is writable; AVX2, FMA and F16C available.
    unsafe fn put4<const HI: bool>(p: *mut Self::Elem, y: __m256);
}

/// `f32` output.
struct F32s;
/// f16 output (`vcvtps2ph`).
struct F16s;
/// bf16 output (integer rounding).
struct Bf16s;

impl Put for F32s {
    type Elem = f32;
    fn scalar(y: f32) -> f32 {
        y
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn put8(p: *mut f32, y: __m256) {
        // SAFETY: the caller's promise.
        unsafe { _mm256_storeu_ps(p, y) }
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn stream8(p: *mut f32, y: __m256) {
        // SAFETY: the caller's promise (32-byte aligned).
        unsafe { _mm256_stream_ps(p, y) }
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn put4<const HI: bool>(p: *mut f32, y: __m256) {
        let v = if HI {
            _mm256_extractf128_ps::<1>(y)
        } else {
            _mm256_castps256_ps128(y)
        };
        // SAFETY: the caller's promise.
        unsafe { _mm_storeu_ps(p, v) }
    }
}

/// Four of eight halves (`h`, 16 bytes) at `p`: the first four, or the last four when `HI`.
///
/// # Safety
/// `p..p + 4` is writable; AVX2 available.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn put4_halves<const HI: bool>(p: *mut u16, h: __m128i) {
    // SAFETY: the caller's promise (8 bytes, unaligned).
    unsafe {
        if HI {
            _mm_storeh_pd(p.cast(), _mm_castsi128_pd(h));
        } else {
            _mm_storel_epi64(p.cast(), h);
        }
    }
}

impl Put for F16s {
    type Elem = u16;
    fn scalar(y: f32) -> u16 {
        crate::half::f16_bits(y)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn put8(p: *mut u16, y: __m256) {
        // The immediate rounds to nearest even whatever MXCSR says (see `crate::half`).
        let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(y);
        // SAFETY: the caller's promise (16 bytes, unaligned).
        unsafe { _mm_storeu_si128(p.cast(), h) }
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn stream8(p: *mut u16, y: __m256) {
        let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(y);
        // SAFETY: the caller's promise (16 bytes, 16-byte aligned).
        unsafe { _mm_stream_si128(p.cast(), h) }
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn put4<const HI: bool>(p: *mut u16, y: __m256) {
        let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(y);
        // SAFETY: the caller's promise.
        unsafe { put4_halves::<HI>(p, h) }
    }
}

impl Put for Bf16s {
    type Elem = u16;
    fn scalar(y: f32) -> u16 {
        crate::half::bf16_bits(y)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn put8(p: *mut u16, y: __m256) {
        // SAFETY: the caller's promise (16 bytes, unaligned).
        unsafe { _mm_storeu_si128(p.cast(), bf16x8(y)) }
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn stream8(p: *mut u16, y: __m256) {
        // SAFETY: the caller's promise (16 bytes, 16-byte aligned).
        unsafe { _mm_stream_si128(p.cast(), bf16x8(y)) }
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn put4<const HI: bool>(p: *mut u16, y: __m256) {
        // SAFETY: the caller's promise.
        unsafe { put4_halves::<HI>(p, bf16x8(y)) }
    }
}

/// Eight values rounded to bf16 as `crate::half::bf16_bits` does: `(b + 0x7fff + lsb) >> 16`
/// on the bits `b` (ties to even; a carry rounds up into the exponent, to infinity at the
/// top), and a NaN's upper half with the quiet bit set.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn bf16x8(y: __m256) -> __m128i {
    let b = _mm256_castps_si256(y);
    let hi = _mm256_srli_epi32::<16>(b);
    let lsb = _mm256_and_si256(hi, _mm256_set1_epi32(1));
    let r = _mm256_srli_epi32::<16>(_mm256_add_epi32(
        b,
        _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)),
    ));
    let abs = _mm256_and_si256(b, _mm256_set1_epi32(0x7fff_ffff));
    let nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7f80_0000));
    let quiet = _mm256_or_si256(hi, _mm256_set1_epi32(0x0040));
    let r = _mm256_blendv_epi8(r, quiet, nan);
    // Every lane is at most 0xffff: the unsigned saturating pack keeps it.
    _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256::<1>(r))
}

/// [`crate::half::convert`] to bf16, eight values at a time with [`bf16x8`] (the same bits
/// as `crate::half::bf16_bits`), the tail in software.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C (`super::has_avx2`).
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn convert_bf16(src: &[f32], dst: &mut [u16]) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    let mut chunks = src.chunks_exact(8).zip(dst.chunks_exact_mut(8));
    for (s, d) in &mut chunks {
        // SAFETY: `s` holds 8 f32 and `d` 8 u16 (16 bytes); both unaligned accesses.
        unsafe { _mm_storeu_si128(d.as_mut_ptr().cast(), bf16x8(_mm256_loadu_ps(s.as_ptr()))) }
    }
    let done = n - n % 8;
    for (d, &s) in dst[done..].iter_mut().zip(&src[done..]) {
        *d = crate::half::bf16_bits(s);
    }
}

/// True when `dst` has the runs a fused finish of `n` elements writes, and the layout is one
/// the fused path handles (interleaved, or planar with 1 or 3 channels).
fn fits<T>(n: usize, fin: &Finish, dst: &[&mut [T]]) -> bool {
    let ch = fin.channels;
    if !fin.planar || ch == 1 {
        dst.first().is_some_and(|r| r.len() >= n)
    } else {
        ch == 3 && dst.len() >= 3 && dst[..3].iter().all(|r| r.len() >= n / 3)
    }
}

/// What a fused finish reads, eight mixed values `V` at a time.
trait Load {
    fn len(&self) -> usize;
    /// Element `j` as `V`, scalar.
    fn value(&self, j: usize) -> f32;
    /// Elements `j..j + 8` as `V`.
    ///
    /// # Safety
    /// AVX2 and FMA are available and `j + 8 <= self.len()`.
    unsafe fn load8(&self, j: usize) -> __m256;
}

/// Exact sums below `2^24` with `d < FMA_DIVISOR_LIMIT`: the split-reciprocal route.
struct SumsFma<'a> {
    acc: &'a [u32],
    d: u32,
    /// `split_reciprocal(d)`.
    y: (f32, f32),
}

/// Exact sums below `255 * 2^17 < 2^31`: the `f64` reciprocal route.
struct SumsRecip<'a> {
    acc: &'a [u32],
    recip: f64,
}

/// Float-path values.
struct Values<'a>(&'a [f32]);

impl Load for SumsFma<'_> {
    fn len(&self) -> usize {
        self.acc.len()
    }
    fn value(&self, j: usize) -> f32 {
        crate::round::round_ratio_recip(u64::from(self.acc[j]), 1.0 / f64::from(self.d))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8(&self, j: usize) -> __m256 {
        // SAFETY: j + 8 <= len (the caller's promise). Sums below 2^24 convert to f32
        // exactly; see FMA_DIVISOR_LIMIT for why these two steps round correctly.
        let n = unsafe { _mm256_loadu_si256(self.acc.as_ptr().add(j).cast()) };
        divide(n, _mm256_set1_ps(self.y.0), _mm256_set1_ps(self.y.1))
    }
}

impl Load for SumsRecip<'_> {
    fn len(&self) -> usize {
        self.acc.len()
    }
    fn value(&self, j: usize) -> f32 {
        crate::round::round_ratio_recip(u64::from(self.acc[j]), self.recip)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8(&self, j: usize) -> __m256 {
        // SAFETY: j + 8 <= len (the caller's promise); sums below 2^31 convert exactly.
        let v = unsafe { _mm256_loadu_si256(self.acc.as_ptr().add(j).cast()) };
        let rv = _mm256_set1_pd(self.recip);
        let lo = _mm256_cvtpd_ps(_mm256_mul_pd(
            _mm256_cvtepi32_pd(_mm256_castsi256_si128(v)),
            rv,
        ));
        let hi = _mm256_cvtpd_ps(_mm256_mul_pd(
            _mm256_cvtepi32_pd(_mm256_extracti128_si256::<1>(v)),
            rv,
        ));
        _mm256_set_m128(hi, lo)
    }
}

impl Load for Values<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn value(&self, j: usize) -> f32 {
        self.0[j]
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8(&self, j: usize) -> __m256 {
        // SAFETY: j + 8 <= len (the caller's promise).
        unsafe { _mm256_loadu_ps(self.0.as_ptr().add(j)) }
    }
}

/// The epilogue on eight lanes, exactly docs/contract.md's operations (`vdivps`, `vsubps`).
trait Epi {
    /// # Safety
    /// AVX2 is available.
    unsafe fn apply(v: __m256, mean: __m256, std: __m256) -> __m256;
}

struct RawEpi;
struct UnitEpi;
struct NormEpi;

impl Epi for RawEpi {
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn apply(v: __m256, _: __m256, _: __m256) -> __m256 {
        v
    }
}

impl Epi for UnitEpi {
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn apply(v: __m256, _: __m256, _: __m256) -> __m256 {
        _mm256_div_ps(v, _mm256_set1_ps(255.0))
    }
}

impl Epi for NormEpi {
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn apply(v: __m256, mean: __m256, std: __m256) -> __m256 {
        _mm256_div_ps(
            _mm256_sub_ps(_mm256_div_ps(v, _mm256_set1_ps(255.0)), mean),
            std,
        )
    }
}

/// Picks the epilogue's instantiation of [`finish_fused`].
///
/// # Safety
/// AVX2 and FMA are available and `fits(src.len(), fin, dst)`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn finish_by_epilogue<L: Load, P: Put>(src: &L, fin: &Finish, dst: &mut [&mut [P::Elem]]) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match fin.epilogue {
            Epilogue::Raw => finish_fused::<L, RawEpi, P>(src, fin, dst),
            Epilogue::Unit => finish_fused::<L, UnitEpi, P>(src, fin, dst),
            Epilogue::Normalize { .. } => finish_fused::<L, NormEpi, P>(src, fin, dst),
        }
    }
}

/// The fused finish, monomorphised per source and epilogue so the loops hold no branches.
///
/// # Safety
/// AVX2 and FMA are available and `fits(src.len(), fin, dst)`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn finish_fused<L: Load, E: Epi, P: Put>(src: &L, fin: &Finish, dst: &mut [&mut [P::Elem]]) {
    let ch = fin.channels;
    let n = src.len();
    let e = &fin.epilogue;
    let (mean, std) = match fin.epilogue {
        Epilogue::Normalize { mean, std } => (mean, std),
        Epilogue::Raw | Epilogue::Unit => ([0.0; 4], [1.0; 4]),
    };
    if !fin.planar || ch == 1 {
        let out = &mut *dst[0];
        // Constants for 24 consecutive interleaved elements (24 is a multiple of 1 to 4).
        let m: [f32; 24] = core::array::from_fn(|k| mean[k % ch]);
        let s: [f32; 24] = core::array::from_fn(|k| std[k % ch]);
        // SAFETY: each load reads 8 of the 24 elements.
        let (pm, ps) = unsafe {
            (
                [0, 8, 16].map(|o| _mm256_loadu_ps(m.as_ptr().add(o))),
                [0, 8, 16].map(|o| _mm256_loadu_ps(s.as_ptr().add(o))),
            )
        };
        let full = n - n % 24;
        let o = out.as_mut_ptr();
        let mut j = 0;
        while j < full {
            // SAFETY: j + 24 <= full <= n <= out.len() (fits); AVX2 and FMA available.
            unsafe {
                for q in 0..3 {
                    let y = E::apply(src.load8(j + 8 * q), pm[q], ps[q]);
                    P::put8(o.add(j + 8 * q), y);
                }
            }
            j += 24;
        }
        for (k, o) in out.iter_mut().enumerate().take(n).skip(full) {
            *o = P::scalar(e.apply(src.value(k), k % ch));
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
    let outs = [
        dst[0].as_mut_ptr(),
        dst[1].as_mut_ptr(),
        dst[2].as_mut_ptr(),
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
            let x = E::apply(_mm256_permutevar8x32_ps(x, idx[0]), m[0], s[0]);
            let y = E::apply(_mm256_permutevar8x32_ps(y, idx[1]), m[1], s[1]);
            let z = E::apply(_mm256_permutevar8x32_ps(z, idx[2]), m[2], s[2]);
            P::put8(outs[0].add(p), x);
            P::put8(outs[1].add(p), y);
            P::put8(outs[2].add(p), z);
        }
        p += 8;
    }
    for (c, run) in dst.iter_mut().enumerate().take(3) {
        for (p, o) in run.iter_mut().enumerate().take(pixels).skip(full) {
            *o = P::scalar(e.apply(src.value(3 * p + c), c));
        }
    }
}

/// `N / d` of eight sums below `2^24` by the split-reciprocal route (see
/// `FMA_DIVISOR_LIMIT`): `(hv, lv)` broadcast `split_reciprocal(d)`. Sums below `2^24` are
/// exact in `f32`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn divide(n: __m256i, hv: __m256, lv: __m256) -> __m256 {
    let n = _mm256_cvtepi32_ps(n);
    _mm256_fmadd_ps(n, hv, _mm256_mul_ps(n, lv))
}

/// Byte-shuffle masks that pick one channel of 8 pixels out of 24 interleaved 16-bit sums and
/// widen them to 32 bits: `DEINTERLEAVE.0[c]` applies to a register holding chunks
/// (3g | 3g+2) in its two 128-bit lanes, `.1[c]` to one holding (3g+1 | 3g+1), where chunk q
/// is elements 8q..8q+8 of a 96-element block. Lane 0 of the result is pixels 0-3 of the
/// group (elements `3p + c` < 12), lane 1 pixels 4-7; bytes a mask does not fill are zero
/// (-128), so OR-ing the two shuffles gives the channel's eight sums in pixel order.
const DEINTERLEAVE: ([[i8; 32]; 3], [[i8; 32]; 3]) = deinterleave_masks();

const fn deinterleave_masks() -> ([[i8; 32]; 3], [[i8; 32]; 3]) {
    let mut p = [[-128i8; 32]; 3];
    let mut q = [[-128i8; 32]; 3];
    let mut c = 0;
    while c < 3 {
        let mut slot = 0;
        while slot < 8 {
            let (lane, k) = (slot / 4, slot % 4);
            // Element of the 24-element group: pixel 4 lane + k, channel c.
            let e = 12 * lane + 3 * k + c;
            // Which register holds it, and its 16-bit index within the lane.
            let (in_p, i) = if lane == 0 {
                if e < 8 { (true, e) } else { (false, e - 8) }
            } else if e < 16 {
                (false, e - 8)
            } else {
                (true, e - 16)
            };
            let b = 16 * lane + 4 * k;
            if in_p {
                p[c][b] = (2 * i) as i8;
                p[c][b + 1] = (2 * i + 1) as i8;
            } else {
                q[c][b] = (2 * i) as i8;
                q[c][b + 1] = (2 * i + 1) as i8;
            }
            slot += 1;
        }
        c += 1;
    }
    (p, q)
}

/// Exact mix of a whole window in one pass, for windows whose numerators all fit one 16-bit
/// pair group (`fits_u16_pairs`) and `d < FMA_DIVISOR_LIMIT`: pair sums stay in registers,
/// are converted, divided, laid out and stored, with no accumulator in memory. Handles the
/// first `len - len % 96` elements (whole 96-byte blocks: 32 pixels of 3 channels) and returns
/// how many it did; 0 when the case is not one it handles.
pub(crate) fn mix_fused_u16(
    rows: &[&[u8]],
    nums: &[u32],
    d: u64,
    fin: &Finish,
    dst: &mut [&mut [f32]],
) -> usize {
    let done = fused_len(rows, nums, d, fin, dst);
    if done > 0 {
        // SAFETY: reachable only after AVX2, FMA and F16C were detected (see
        // `accumulate_u32`); `fused_len` checked the rows and the destination.
        unsafe { fused_by_epilogue::<F32s>(rows, nums, d, fin, dst, done) };
    }
    done
}

/// [`mix_fused_u16`] into a half-precision output, each vector rounded in registers.
pub(crate) fn mix_fused_u16_half(
    rows: &[&[u8]],
    nums: &[u32],
    d: u64,
    fin: &Finish,
    half: Half,
    dst: &mut [&mut [u16]],
) -> usize {
    let done = fused_len(rows, nums, d, fin, dst);
    if done > 0 {
        // SAFETY: as in `mix_fused_u16`.
        unsafe {
            match half {
                Half::F16 => fused_by_epilogue::<F16s>(rows, nums, d, fin, dst, done),
                Half::Bf16 => fused_by_epilogue::<Bf16s>(rows, nums, d, fin, dst, done),
            }
        }
    }
    done
}

/// The elements a one-pass call does (whole 96-byte blocks), 0 when it cannot take the case.
fn fused_len<T>(rows: &[&[u8]], nums: &[u32], d: u64, fin: &Finish, dst: &[&mut [T]]) -> usize {
    let len = rows.first().map_or(0, |r| r.len());
    let done = len - len % 96;
    let ok = d < FMA_DIVISOR_LIMIT
        && done > 0
        && rows.len() <= MAX_GROUP
        && nums.len() >= rows.len()
        && rows.iter().all(|r| r.len() >= len)
        && fits_u16_pairs(&nums[..rows.len()])
        && fits(done, fin, dst);
    if ok { done } else { 0 }
}

/// # Safety
/// As [`fused`].
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn fused_by_epilogue<P: Put>(
    rows: &[&[u8]],
    nums: &[u32],
    d: u64,
    fin: &Finish,
    dst: &mut [&mut [P::Elem]],
    done: usize,
) {
    // Streaming stores need aligned stores: every run's start aligned to eight values' bytes
    // (each store is a multiple of eight values from it), or every run's start four values
    // past such a boundary (where a large `Vec<f32>` from malloc starts), whose stores are
    // shifted by four values (see `fused`).
    let runs = if fin.planar && fin.channels == 3 {
        3
    } else {
        1
    };
    let phase = |r: &&mut [P::Elem]| (r.as_ptr() as usize) % P::BYTES8;
    let large = done.saturating_mul(core::mem::size_of::<P::Elem>()) >= STREAM_MIN_BYTES;
    let stream = if !large || dst.len() < runs {
        None
    } else if dst.iter().take(runs).all(|r| phase(r) == 0) {
        Some(false)
    } else if dst.iter().take(runs).all(|r| phase(r) == P::BYTES8 / 2) {
        Some(true)
    } else {
        None
    };
    // SAFETY: forwarded from the caller; streaming only with runs of the phase it assumes.
    unsafe {
        match stream {
            None => fused_epi::<P, false, false>(rows, nums, d, fin, dst, done),
            Some(false) => fused_epi::<P, true, false>(rows, nums, d, fin, dst, done),
            Some(true) => fused_epi::<P, true, true>(rows, nums, d, fin, dst, done),
        }
    }
}

/// # Safety
/// As [`fused`].
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn fused_epi<P: Put, const STREAM: bool, const SHIFT: bool>(
    rows: &[&[u8]],
    nums: &[u32],
    d: u64,
    fin: &Finish,
    dst: &mut [&mut [P::Elem]],
    done: usize,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match fin.epilogue {
            Epilogue::Raw => fused::<RawEpi, P, STREAM, SHIFT>(rows, nums, d, fin, dst, done),
            Epilogue::Unit => fused::<UnitEpi, P, STREAM, SHIFT>(rows, nums, d, fin, dst, done),
            Epilogue::Normalize { .. } => {
                fused::<NormEpi, P, STREAM, SHIFT>(rows, nums, d, fin, dst, done);
            }
        }
    }
}

/// # Safety
/// AVX2, FMA and F16C available; rows hold at least `done` bytes (a multiple of 96);
/// `fits(done, fin, dst)`; the numerators pass `fits_u16_pairs`; with `STREAM`, every run
/// `dst` has starts aligned to `P::BYTES8`, or with `SHIFT` half that past an aligned boundary.
/// Shifted, a run's first four values are stored alone, then each aligned store takes the last
/// four values of the previous vector and the first four of the current one (one
/// `vperm2f128`), and the last four are stored alone at the end.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn fused<E: Epi, P: Put, const STREAM: bool, const SHIFT: bool>(
    rows: &[&[u8]],
    nums: &[u32],
    d: u64,
    fin: &Finish,
    dst: &mut [&mut [P::Elem]],
    done: usize,
) {
    let pairs = rows.len().div_ceil(2);
    let (weights, ptrs) = pair_up(rows, nums);
    let (weights, ptrs) = (&weights[..pairs], &ptrs[..pairs]);
    let (y_hi, y_lo) = split_reciprocal(d as u32);
    let (hv, lv) = (_mm256_set1_ps(y_hi), _mm256_set1_ps(y_lo));
    let ch = fin.channels;
    let (mean, std) = match fin.epilogue {
        Epilogue::Normalize { mean, std } => (mean, std),
        Epilogue::Raw | Epilogue::Unit => ([0.0; 4], [1.0; 4]),
    };
    let planar = fin.planar && ch == 3;
    // Interleaved: the channel of element k is k % ch; 96-element blocks start at channel 0.
    let m24: [f32; 24] = core::array::from_fn(|k| mean[k % ch]);
    let s24: [f32; 24] = core::array::from_fn(|k| std[k % ch]);
    // SAFETY: each load reads 8 of the 24 elements.
    let (pm, ps) = unsafe {
        (
            [0, 8, 16].map(|o| _mm256_loadu_ps(m24.as_ptr().add(o))),
            [0, 8, 16].map(|o| _mm256_loadu_ps(s24.as_ptr().add(o))),
        )
    };
    let cm = [0, 1, 2].map(|c| _mm256_set1_ps(mean[c]));
    let cs = [0, 1, 2].map(|c| _mm256_set1_ps(std[c]));
    let (mp, mq) = DEINTERLEAVE;
    // SAFETY: each array holds 32 bytes.
    let (mp, mq) = unsafe {
        (
            mp.map(|m| _mm256_loadu_si256(m.as_ptr().cast())),
            mq.map(|m| _mm256_loadu_si256(m.as_ptr().cast())),
        )
    };
    let outs: [*mut P::Elem; 3] = core::array::from_fn(|c| {
        dst.get_mut(c)
            .map_or(core::ptr::null_mut(), |r| r.as_mut_ptr())
    });
    // The previous vector stored to each run (shifted streaming).
    let mut prev = [_mm256_setzero_ps(); 3];
    let mut j = 0;
    while j < done {
        // 16-bit sums of the block's 96 elements, by 8-element chunk q (elements 8q..8q+8):
        // sums[2c] holds chunks (4c | 4c+2) in its two 128-bit lanes, sums[2c+1] (4c+1 | 4c+3).
        let mut sums = [_mm256_setzero_si256(); 6];
        for col in 0..3 {
            // SAFETY: j + 32 col + 32 <= done <= every row's length. Columns 0 and 2 prefetch:
            // the lines 512 and 576 bytes ahead cover the 96 bytes a block advances.
            let (lo, hi) = unsafe { pair_sums(weights, ptrs, j + 32 * col, col != 1) };
            sums[2 * col] = lo;
            sums[2 * col + 1] = hi;
        }
        if planar {
            // Pixels 8g..8g+8 (elements 24g..24g+24, chunks 3g..3g+3) of each channel: lane 0
            // takes chunk 3g and the front of chunk 3g+1, lane 1 the back of 3g+1 and chunk
            // 3g+2; `p` holds (3g | 3g+2), `q` (3g+1 | 3g+1), and one byte shuffle of each
            // (see DEINTERLEAVE) picks a channel's sums, widened to 32 bits, in pixel order.
            let [s0, s1, s2, s3, s4, s5] = sums;
            let groups = [
                (s0, _mm256_permute4x64_epi64::<0x44>(s1)),
                (
                    _mm256_permute2x128_si256::<0x21>(s1, s3),
                    _mm256_permute4x64_epi64::<0x44>(s2),
                ),
                (
                    _mm256_permute2x128_si256::<0x21>(s2, s4),
                    _mm256_permute4x64_epi64::<0xEE>(s3),
                ),
                (s5, _mm256_permute4x64_epi64::<0xEE>(s4)),
            ];
            let p0 = j / 3;
            for (g, (p, q)) in groups.into_iter().enumerate() {
                for c in 0..3 {
                    let n = _mm256_or_si256(
                        _mm256_shuffle_epi8(p, mp[c]),
                        _mm256_shuffle_epi8(q, mq[c]),
                    );
                    // SAFETY: p0 + 8g + 8 <= done / 3 <= dst[c].len() (fits); AVX2 available;
                    // with STREAM, the run has the phase `store` takes.
                    unsafe {
                        let y = E::apply(divide(n, hv, lv), cm[c], cs[c]);
                        store::<P, STREAM, SHIFT>(outs[c], p0 + 8 * g, y, &mut prev[c]);
                    }
                }
            }
        } else {
            for (col, pair) in sums.chunks_exact(2).enumerate() {
                for (k, n) in widen_pair_sums(pair[0], pair[1]).into_iter().enumerate() {
                    let q = 4 * col + k;
                    // SAFETY: j + 8q + 8 <= done <= dst[0].len() (fits); AVX2 available; with
                    // STREAM, the run has the phase `store` takes.
                    unsafe {
                        let y = E::apply(divide(n, hv, lv), pm[q % 3], ps[q % 3]);
                        store::<P, STREAM, SHIFT>(outs[0], j + 8 * q, y, &mut prev[0]);
                    }
                }
            }
        }
        j += 96;
    }
    if STREAM && SHIFT && done > 0 {
        // Each run's last four values.
        let (count, per) = if planar { (3, done / 3) } else { (1, done) };
        for (&o, &y) in outs.iter().zip(&prev).take(count) {
            // SAFETY: the run holds `per >= 8` values (fits); its last four are y's last four.
            unsafe { P::put4::<true>(o.add(per - 4), y) };
        }
    }
    if STREAM {
        // Streaming stores are weakly ordered: make them visible before anything after.
        _mm_sfence();
    }
}

/// Stores the vector `y` of values `at..at + 8` of the run at `run` (`at` a multiple of 8):
/// by a regular store; by a streaming one (`STREAM`, the run aligned to `P::BYTES8`); or,
/// `SHIFT`ed (the run half that past an aligned boundary), the first four values alone at
/// `at == 0`, then each aligned store the previous vector's last four values and y's first
/// four. `prev` is the run's previous vector.
///
/// # Safety
/// `run + at .. run + at + 8` is writable, and the values before it were stored by this
/// function in order; the run's alignment is as `STREAM` and `SHIFT` say; AVX2 available.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn store<P: Put, const STREAM: bool, const SHIFT: bool>(
    run: *mut P::Elem,
    at: usize,
    y: __m256,
    prev: &mut __m256,
) {
    // SAFETY: the caller's promise; shifted, `run + at - 4` is aligned and its first four
    // values (the previous vector's last four) are the run's.
    unsafe {
        let o = run.add(at);
        if !STREAM {
            P::put8(o, y);
        } else if !SHIFT {
            P::stream8(o, y);
        } else if at == 0 {
            P::put4::<false>(o, y);
        } else {
            P::stream8(o.sub(4), _mm256_permute2f128_ps::<0x21>(*prev, y));
        }
    }
    if SHIFT {
        *prev = y;
    }
}

/// Output bytes from which a one-pass call whose runs are aligned writes them with streaming
/// stores (`vmovntps`, `vmovntdq`), as the AVX-512 kernel does (see its `STREAM_MIN_BYTES`):
/// regular stores first read every output line for ownership; streaming stores only write.
const STREAM_MIN_BYTES: usize = 4 << 20;
