//! AVX-512 kernels for x86-64 (`core::arch` intrinsics inside `#[target_feature]` functions),
//! chosen at run time by [`crate::Kernels::for_backend`] only when the CPU has AVX-512 F, BW,
//! VL and DQ (every CPU with BW and VL has DQ) and FMA; VNNI is used where present.
//!
//! Lanes are pixels; the sum over a window's frames keeps its order (and the exact path's
//! integer sums do not depend on order at all), so every function gives the reference's bits.
//! A vector is 64 bytes of a row: 64 elements as bytes, 32 as 16-bit sums, 16 as `u32` or `f32`.
//!
//! - Exact sums, 16-bit pair route (AVX-512 BW): as in `avx2.rs`, frames two at a time, bytes
//!   interleaved (`vpunpck{l,h}bw`) and multiplied by their numerators with `vpmaddubsw` into
//!   16-bit sums, when the group's numerators allow it (each pair sums to at most 128, the
//!   group to at most 257: no 16-bit sum can saturate or wrap). The sums are widened to 32
//!   bits, put in element order and, for planar output, deinterleaved, all in one zero-masking
//!   word permute (`vpermt2w`) per 16 values.
//! - Exact sums, VNNI route (AVX-512 VNNI, for groups the pair route cannot take): the same
//!   interleaved byte pairs go to `vpdpbusd`, which adds four `u8 x i8` products into each
//!   32-bit lane in one instruction; with the numerators of a pair in bytes (0, 1) or (2, 3) of
//!   the weight, one `vpdpbusd` sums a pair of frames for the even elements and one for the
//!   odd, straight into 32-bit sums, with no limit on the group's total. Numerators up to 127
//!   are the signed operand; a group with one up to 255 swaps the operands (numerators
//!   unsigned) and flips the pixel bytes' top bit, `v - 128` as `i8`, then starts every sum at
//!   `128 * sum(n)`: `sum n (v - 128) + 128 sum n = N`. All adds wrap modulo `2^32`, so the
//!   result is `N` exactly whenever `N` fits a `u32`, which the plan guarantees. Larger
//!   numerators (and groups without VNNI that the pair route cannot take) widen bytes to 32
//!   bits and multiply there (`vpmulld`).
//! - Rounding: the split-reciprocal route of [`crate::round::FMA_DIVISOR_LIMIT`] (16 `f32`
//!   lanes, one multiply and one FMA) for denominators below `2^16`, the reciprocal route of
//!   [`crate::round::RECIP_DIVISOR_LIMIT`] below `2^17`, and one `f64` division
//!   ([`crate::round::FAST_DIVISOR_LIMIT`]) below `2^29`, eight `f64` lanes at a time; larger
//!   denominators (`u64` sums only) use the reference.
//! - Epilogue and layout: `vdivps`/`vsubps` exactly as docs/contract.md orders them, never
//!   fused. Planar output of 2 to 4 channels is deinterleaved by `vpermt2ps` on finished values
//!   after the accumulator tiles, and by the widening permute in the one-pass kernel.
//! - Stores: every output run is written in whole 64-byte lines ([`LineWriter`]), however the
//!   caller's buffer is aligned, and a one-pass call writing [`STREAM_MIN_BYTES`] or more
//!   writes them with streaming stores, which skip reading each line before overwriting it.
//! - Half-precision outputs (docs/contract.md section 10): the same kernels, each finished
//!   vector rounded in registers before its store: f16 by `vcvtps2ph` with its immediate
//!   round-to-nearest-even (MXCSR's DAZ and FTZ are never set, so subnormals go through
//!   exactly), bf16 by integer rounding of the bits (not AVX512-BF16's `vcvtneps2bf16`, which
//!   flushes subnormals), then narrowed by `vpmovdw`. Lines are 32 bytes of halves; streamed,
//!   two of them go out as one 64-byte store.
//! - A row's last partial 64-byte column goes through the same code with masked loads and
//!   stores; only the finish kernels' last partial 16 values are finished one at a time.
//!
//! Where the time goes (Intel Xeon, AVX-512 with VNNI, 2 MiB L2, 3.6 GHz; 2026-12-01): in L1
//! and L2 the one-pass kernel takes about 112 cycles per block of 64 RGB pixels of a
//! six-frame window into planar output (1152 input bytes, 768 output bytes: 0.15 cycles per
//! output byte), as the AVX2 kernel does (114; interleaved output 109 against AVX2's 95).
//! Its vectors are twice as wide, but 512-bit instructions leave the
//! core two vector ports instead of three and byte shuffles stay at one per cycle, and the
//! pair route is shuffle-bound (two `vpunpck*bw` per pair of frames and column, one
//! `vpermt2w`, two uops, per 16 values). That is 10 input bytes per cycle, about 36 GB/s,
//! above every case's memory bound, so the gains are in memory traffic: whole-line stores
//! (a 64-byte store to a run 16 bytes past a line boundary straddles two lines) and
//! streaming stores for large outputs. Long windows are bound by reading many frames' rows
//! at once from DRAM (16 streams per group); the engine groups them by the 16-bit pair limits
//! (16/11/8/3 frames for a 38-frame linear window), where the VNNI route could take 16 frames a
//! group, and a one-pass kernel with VNNI sums in registers could take windows longer than 16
//! frames whole. See the README's performance section for the cases.
//!
//! FMA appears only inside the exact division (where the result is the correctly rounded
//! quotient whatever the method); the float path and the epilogue are never fused, as
//! docs/contract.md requires.

#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::epilogue::Epilogue;
use crate::half::Half;
use crate::kernel::avx2::fits_u16_pairs;
use crate::kernel::{Finish, MAX_GROUP, reference, staged};
use crate::round::{
    FAST_DIVISOR_LIMIT, FMA_DIVISOR_LIMIT, RECIP_DIVISOR_LIMIT, round_ratio_fast,
    round_ratio_recip, split_reciprocal,
};

/// How far ahead (bytes) the sum loops prefetch each row: one prefetch per 64-byte line.
const PREFETCH_AHEAD: usize = 512;

/// The even 16-bit lanes of a vector: a zero-masking word permute with this mask leaves each
/// 32-bit lane holding one 16-bit value, zero-extended.
const EVEN_WORDS: __mmask32 = 0x5555_5555;

// ---------------------------------------------------------------------------------------------
// Index tables (built at compile time).

/// Where element `rel` (0..64) of a 64-byte column sits in the two 16-bit pair-sum vectors
/// `(lo, hi)` that `vpunpck{l,h}bw` and `vpmaddubsw` leave (per 128-bit lane `L`: `lo` holds
/// elements `16L..16L+8`, `hi` elements `16L+8..16L+16`), as an index of `vpermt2w` with `lo`
/// as its first table (0..32) and `hi` as its second (32..64).
const fn pair_sum_word(rel: usize) -> i16 {
    let (lane, w) = (rel / 16, rel % 16);
    if w < 8 {
        (8 * lane + w) as i16
    } else {
        (32 + 8 * lane + w - 8) as i16
    }
}

/// `vpermt2w` indices that widen the 16 elements `rel[i]` of a column's pair sums into
/// 32-bit lanes `i` (odd words are masked to zero, so their indices are 0).
const fn widen_index(rel: [usize; 16]) -> [i16; 32] {
    let mut idx = [0i16; 32];
    let mut i = 0;
    while i < 16 {
        idx[2 * i] = pair_sum_word(rel[i]);
        i += 1;
    }
    idx
}

/// Interleaved output: elements `16r..16r+16` of a column, in order, for `r` in 0..4.
const INTERLEAVED_WIDEN: [[i16; 32]; 4] = {
    let mut t = [[0i16; 32]; 4];
    let mut r = 0;
    while r < 4 {
        let mut rel = [0usize; 16];
        let mut i = 0;
        while i < 16 {
            rel[i] = 16 * r + i;
            i += 1;
        }
        t[r] = widen_index(rel);
        r += 1;
    }
    t
};

/// Planar output of `ch` (2 to 4) channels from a block of 64 pixels (`ch` columns of 64
/// bytes): group `g` (pixels `16g..16g+16`) starts at element `base = 16 ch g`. Returns the
/// column holding `base` and, when the group's `16 ch` elements run past that column's end,
/// the number of 64-bit words (`valignq`) by which the column and the next are shifted so that
/// the group starts at element 0 of the shifted pair; 0 when the group lies in one column.
const fn planar_source(ch: usize, g: usize) -> (usize, usize) {
    let base = 16 * ch * g;
    let (col, off) = (base / 64, base % 64);
    if off + 16 * ch <= 64 {
        (col, 0)
    } else {
        // `off` is a multiple of 16 elements: whole 128-bit lanes of two 64-bit words.
        (col, off / 8)
    }
}

/// `vpermt2w` indices for channel `c`, group `g` of a planar block of `ch` channels (see
/// [`planar_source`]): pixel `16g + i` is element `ch (16g + i) + c`.
const fn planar_widen(ch: usize, c: usize, g: usize) -> [i16; 32] {
    let (col, shift) = planar_source(ch, g);
    // Element the shifted (or unshifted) pair of vectors starts at.
    let start = if shift == 0 { 64 * col } else { 16 * ch * g };
    let mut rel = [0usize; 16];
    let mut i = 0;
    while i < 16 {
        let e = ch * (16 * g + i) + c;
        rel[i] = e - start;
        assert!(rel[i] < 64);
        i += 1;
    }
    widen_index(rel)
}

/// [`planar_widen`] for every channel and group of `ch` channels (rows past `ch` unused).
const fn planar_widen_table(ch: usize) -> [[[i16; 32]; 4]; 4] {
    let mut t = [[[0i16; 32]; 4]; 4];
    let mut c = 0;
    while c < ch {
        let mut g = 0;
        while g < 4 {
            t[c][g] = planar_widen(ch, c, g);
            g += 1;
        }
        c += 1;
    }
    t
}

const PLANAR_WIDEN: [[[[i16; 32]; 4]; 4]; 3] = [
    planar_widen_table(2),
    planar_widen_table(3),
    planar_widen_table(4),
];

/// Deinterleaving finished values: channel `c` of 16 pixels from `ch` vectors of 16 values
/// (elements `0..16 ch`). `first` indexes the first two vectors (`vpermt2ps`, 0..32); `second`
/// indexes the rest (element minus 32: the third vector alone for 3 channels, the third and
/// fourth for 4); `mask` has bit `i` set where pixel `i`'s element lies past 32.
#[derive(Clone, Copy)]
struct Deinterleave {
    first: [i32; 16],
    second: [i32; 16],
    mask: u16,
}

const fn deinterleave(ch: usize, c: usize) -> Deinterleave {
    let mut d = Deinterleave {
        first: [0; 16],
        second: [0; 16],
        mask: 0,
    };
    let mut i = 0;
    while i < 16 {
        let e = ch * i + c;
        if e < 32 {
            d.first[i] = e as i32;
        } else {
            d.second[i] = (e - 32) as i32;
            d.mask |= 1 << i;
        }
        i += 1;
    }
    d
}

const fn deinterleave_table(ch: usize) -> [Deinterleave; 4] {
    let mut t = [deinterleave(ch, 0); 4];
    let mut c = 1;
    while c < ch {
        t[c] = deinterleave(ch, c);
        c += 1;
    }
    t
}

const DEINTERLEAVE: [[Deinterleave; 4]; 3] = [
    deinterleave_table(2),
    deinterleave_table(3),
    deinterleave_table(4),
];

// ---------------------------------------------------------------------------------------------
// Exact sums.

/// Row pointers for the pairs (0,1), (2,3), ... of a group; an odd last frame pairs with
/// itself (its partner gets weight 0). Returns the pointers and the number of pairs.
fn pair_rows(rows: &[&[u8]]) -> ([(*const u8, *const u8); MAX_GROUP / 2], usize) {
    let mut ptrs = [(core::ptr::null(), core::ptr::null()); MAX_GROUP / 2];
    let pairs = rows.len().div_ceil(2).min(MAX_GROUP / 2);
    for (p, ab) in ptrs.iter_mut().enumerate().take(pairs) {
        let pa = rows[2 * p].as_ptr();
        *ab = (pa, rows.get(2 * p + 1).map_or(pa, |r| r.as_ptr()));
    }
    (ptrs, pairs)
}

/// The numerators of pair `p`: `(n_a, n_b)`, `n_b = 0` for a frame paired with itself.
fn pair_nums(nums: &[u32], p: usize) -> (u32, u32) {
    (nums[2 * p], nums.get(2 * p + 1).copied().unwrap_or(0))
}

/// `vpmaddubsw` weights of each pair: `n_a` in the low byte of every 16-bit lane, `n_b` in
/// the high byte (both at most 127 when the group fits the pair route).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
fn pair_weights16(nums: &[u32], pairs: usize) -> [__m512i; MAX_GROUP / 2] {
    let mut w = [_mm512_setzero_si512(); MAX_GROUP / 2];
    for (p, wp) in w.iter_mut().enumerate().take(pairs) {
        let (a, b) = pair_nums(nums, p);
        *wp = _mm512_set1_epi16(((b << 8) | a) as i16);
    }
    w
}

/// Which bytes of a 64-byte column a step covers: all of them (`None`, the loops' body), or
/// those a mask selects (a row's last partial column: masked bytes are neither read nor
/// written, so a partial column never touches memory past the row).
type Part = Option<__mmask64>;

/// The mask of the first `n` bytes of a column (`n < 64`).
fn first_bytes(n: usize) -> __mmask64 {
    (1u64 << n.min(63)) - 1
}

/// The mask of 16 elements `16r..16r + 16` of a column within `part` (all when `None`).
fn quarter(part: Part, r: usize) -> Option<__mmask16> {
    part.map(|k| (k >> (16 * r)) as __mmask16)
}

/// 64 bytes of a row at `p`, or the bytes `part` selects (zeros elsewhere).
///
/// # Safety
/// The selected bytes at `p` are readable; AVX-512 BW available.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn load_col(p: *const u8, part: Part) -> __m512i {
    // SAFETY: the caller's promise; a masked load does not touch unselected bytes.
    unsafe {
        match part {
            None => _mm512_loadu_si512(p.cast()),
            Some(k) => _mm512_maskz_loadu_epi8(k, p.cast()),
        }
    }
}

/// 16 bytes of a row at `p`, or the first of them `k` selects (zeros elsewhere).
///
/// # Safety
/// The selected bytes at `p` are readable; AVX-512 BW/VL available.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn load16b(p: *const u8, k: Option<__mmask16>) -> __m128i {
    // SAFETY: the caller's promise.
    unsafe {
        match k {
            None => _mm_loadu_si128(p.cast()),
            Some(k) => _mm_maskz_loadu_epi8(k, p.cast()),
        }
    }
}

/// `acc[0..16] = (init ? 0 : acc) + part` at `dst`, for the elements `k` selects (all when
/// `None`).
///
/// # Safety
/// The selected elements at `dst` are writable; AVX-512 F available.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn add_store16(dst: *mut u32, part: __m512i, init: bool, k: Option<__mmask16>) {
    // SAFETY: the caller's promise; masked loads and stores touch the selected lanes only.
    unsafe {
        match k {
            None => {
                let v = if init {
                    part
                } else {
                    _mm512_add_epi32(_mm512_loadu_si512(dst.cast()), part)
                };
                _mm512_storeu_si512(dst.cast(), v);
            }
            Some(k) => {
                let v = if init {
                    part
                } else {
                    _mm512_add_epi32(_mm512_maskz_loadu_epi32(k, dst.cast()), part)
                };
                _mm512_mask_storeu_epi32(dst.cast(), k, v);
            }
        }
    }
}

/// The 16-bit pair sums of bytes `off..off + 64` (or those `part` selects, zeros elsewhere)
/// of every pair of rows: `lo` holds, per 128-bit lane `L`, elements `16L..16L+8`, `hi`
/// elements `16L+8..16L+16` (as `vpunpck*bw` leave them). Whole columns prefetch each row
/// `PREFETCH_AHEAD` bytes ahead. The first pair initialises the sums; no pairs give zeros.
///
/// # Safety
/// AVX-512 BW is available; `ptrs` come from [`pair_rows`] over rows holding at least
/// `off + 64` bytes (or the bytes `part` selects past `off`), `weights` from
/// [`pair_weights16`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn pair_sums(
    weights: &[__m512i],
    ptrs: &[(*const u8, *const u8)],
    off: usize,
    part: Part,
) -> (__m512i, __m512i) {
    let mut lo = _mm512_setzero_si512();
    let mut hi = _mm512_setzero_si512();
    for (p, (w, &(pa, pb))) in weights.iter().zip(ptrs).enumerate() {
        // SAFETY: the selected bytes at `off` are within every row (the caller's promise).
        // Prefetches never fault; their addresses are only formed with wrapping arithmetic.
        let (a, b) = unsafe {
            if part.is_none() {
                _mm_prefetch::<_MM_HINT_T0>(pa.wrapping_add(off + PREFETCH_AHEAD).cast());
                _mm_prefetch::<_MM_HINT_T0>(pb.wrapping_add(off + PREFETCH_AHEAD).cast());
            }
            (load_col(pa.add(off), part), load_col(pb.add(off), part))
        };
        let l = _mm512_maddubs_epi16(_mm512_unpacklo_epi8(a, b), *w);
        let h = _mm512_maddubs_epi16(_mm512_unpackhi_epi8(a, b), *w);
        (lo, hi) = if p == 0 {
            (l, h)
        } else {
            (_mm512_add_epi16(lo, l), _mm512_add_epi16(hi, h))
        };
    }
    (lo, hi)
}

/// Loads a `vpermt2w` index table.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
fn load_words(t: &[i16; 32]) -> __m512i {
    // SAFETY: the array holds 64 bytes.
    unsafe { _mm512_loadu_si512(t.as_ptr().cast()) }
}

/// Exact group accumulation (see the module docs), for CPUs without VNNI.
pub(crate) fn accumulate_u32(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool) {
    accumulate_u32_with(acc, rows, nums, init, false);
}

/// Exact group accumulation with the VNNI route for groups the pair route cannot take.
pub(crate) fn accumulate_u32_vnni(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool) {
    accumulate_u32_with(acc, rows, nums, init, true);
}

fn accumulate_u32_with(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool, vnni: bool) {
    let len = acc.len();
    if rows.is_empty()
        || rows.len() > MAX_GROUP
        || nums.len() < rows.len()
        || rows.iter().any(|r| r.len() < len)
    {
        return reference::accumulate_u32(acc, rows, nums, init);
    }
    let nums = &nums[..rows.len()];
    // SAFETY: this function is only reachable through the tables that `Kernels::for_backend`
    // returns after `is_x86_feature_detected!` (or compile-time target features) said the
    // CPU has AVX-512 F/BW/VL/DQ and FMA, and the VNNI table (`vnni`) only when it also has
    // AVX-512 VNNI; every row holds at least `acc.len()` bytes (checked).
    unsafe {
        if fits_u16_pairs(nums) {
            accumulate_u32_pairs(acc, rows, nums, init);
        } else if vnni && nums.iter().all(|&n| n <= 127) {
            accumulate_u32_dot::<false>(acc, rows, nums, init);
        } else if vnni && nums.iter().all(|&n| n <= 255) {
            accumulate_u32_dot::<true>(acc, rows, nums, init);
        } else {
            accumulate_u32_wide(acc, rows, nums, init);
        }
    }
}

/// `Kernels::exact_group` of the VNNI table: a run the 16-bit pair route takes is cut where
/// its limits would be crossed (as AVX2's rule), unless its numerators all fit the VNNI dot
/// route (at most 255): then the whole run, up to [`MAX_GROUP`] frames, is one group, so a long
/// window is read in fewer, fuller groups (16/16/6 frames instead of 16/11/8/3 for a
/// 38-frame linear window).
pub(crate) fn exact_group_vnni(nums: &[u32]) -> usize {
    let pairs = crate::kernel::avx2::exact_group(nums);
    if pairs < nums.len() && nums.iter().all(|&n| n <= 255) {
        nums.len()
    } else {
        pairs
    }
}

/// The 64-byte columns of `len` bytes: whole ones, then the last partial one with its mask.
/// (Loops over it keep their bodies in the kernels' own functions, where closures passed to
/// a helper would not inline under the kernels' target features.)
fn columns(len: usize) -> impl Iterator<Item = (usize, Part)> {
    let full = len - len % 64;
    (0..full)
        .step_by(64)
        .map(|j| (j, None))
        .chain((full < len).then(|| (full, Some(first_bytes(len - full)))))
}

/// # Safety
/// AVX-512 F/BW/VL/DQ available; rows hold at least `acc.len()` bytes; the numerators pass
/// `fits_u16_pairs`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn accumulate_u32_pairs(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool) {
    let (ptrs, pairs) = pair_rows(rows);
    let weights = pair_weights16(nums, pairs);
    let (weights, ptrs) = (&weights[..pairs], &ptrs[..pairs]);
    let idx = INTERLEAVED_WIDEN.map(|t| load_words(&t));
    let a = acc.as_mut_ptr();
    for (j, part) in columns(acc.len()) {
        // SAFETY: the column's selected bytes lie within acc.len() <= every row's length
        // (checked by the caller), and so do its selected sums in `acc`.
        unsafe {
            let (lo, hi) = pair_sums(weights, ptrs, j, part);
            for (r, ix) in idx.iter().enumerate() {
                let k = quarter(part, r);
                if k == Some(0) {
                    break;
                }
                let sums = _mm512_maskz_permutex2var_epi16(EVEN_WORDS, lo, *ix, hi);
                add_store16(a.add(j + 16 * r), sums, init, k);
            }
        }
    }
}

/// The VNNI route (see the module docs): `BIASED` when a numerator exceeds 127.
///
/// # Safety
/// AVX-512 F/BW/VL/DQ and VNNI available; rows hold at least `acc.len()` bytes; every
/// numerator is at most 127 (`!BIASED`) or 255 (`BIASED`).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma")]
unsafe fn accumulate_u32_dot<const BIASED: bool>(
    acc: &mut [u32],
    rows: &[&[u8]],
    nums: &[u32],
    init: bool,
) {
    let (ptrs, pairs) = pair_rows(rows);
    let ptrs = &ptrs[..pairs];
    // Pair p's numerators in bytes 0-1 (even elements) or 2-3 (odd elements) of each lane.
    let mut even = [_mm512_setzero_si512(); MAX_GROUP / 2];
    let mut odd = [_mm512_setzero_si512(); MAX_GROUP / 2];
    for p in 0..pairs {
        let (a, b) = pair_nums(nums, p);
        even[p] = _mm512_set1_epi32((a | (b << 8)) as i32);
        odd[p] = _mm512_set1_epi32(((a << 16) | (b << 24)) as i32);
    }
    // 128 * sum(n) <= 128 * 16 * 255 fits easily.
    let bias = if BIASED {
        128 * nums.iter().sum::<u32>()
    } else {
        0
    };
    let start = _mm512_set1_epi32(bias as i32);
    let flip = _mm512_set1_epi8(-128);
    let a = acc.as_mut_ptr();
    for (j, part) in columns(acc.len()) {
        // Sums of elements 16L + 2t (e0), 16L + 2t + 1 (o0), 16L + 8 + 2t (e1) and
        // 16L + 9 + 2t (o1) in 32-bit lane t of 128-bit lane L.
        let (mut e0, mut o0, mut e1, mut o1) = (start, start, start, start);
        for (p, &(pa, pb)) in ptrs.iter().enumerate() {
            // SAFETY: the column's selected bytes lie within every row; prefetches never
            // fault.
            let (x, y) = unsafe {
                if part.is_none() {
                    _mm_prefetch::<_MM_HINT_T0>(pa.wrapping_add(j + PREFETCH_AHEAD).cast());
                    _mm_prefetch::<_MM_HINT_T0>(pb.wrapping_add(j + PREFETCH_AHEAD).cast());
                }
                (load_col(pa.add(j), part), load_col(pb.add(j), part))
            };
            let u0 = _mm512_unpacklo_epi8(x, y);
            let u1 = _mm512_unpackhi_epi8(x, y);
            if BIASED {
                let (u0, u1) = (_mm512_xor_si512(u0, flip), _mm512_xor_si512(u1, flip));
                e0 = _mm512_dpbusd_epi32(e0, even[p], u0);
                o0 = _mm512_dpbusd_epi32(o0, odd[p], u0);
                e1 = _mm512_dpbusd_epi32(e1, even[p], u1);
                o1 = _mm512_dpbusd_epi32(o1, odd[p], u1);
            } else {
                e0 = _mm512_dpbusd_epi32(e0, u0, even[p]);
                o0 = _mm512_dpbusd_epi32(o0, u0, odd[p]);
                e1 = _mm512_dpbusd_epi32(e1, u1, even[p]);
                o1 = _mm512_dpbusd_epi32(o1, u1, odd[p]);
            }
        }
        // Element order: 128-bit lane L of p0..p3 holds elements 16L + 4k .. 16L + 4k + 4
        // (k = 0..3); a 4x4 transpose of 128-bit lanes puts elements 16r..16r+16 in n[r].
        // (Unselected bytes loaded as zeros; in a biased group their sums are garbage, but
        // they are not stored.)
        let p0 = _mm512_unpacklo_epi32(e0, o0);
        let p1 = _mm512_unpackhi_epi32(e0, o0);
        let p2 = _mm512_unpacklo_epi32(e1, o1);
        let p3 = _mm512_unpackhi_epi32(e1, o1);
        let q0 = _mm512_shuffle_i32x4::<0x88>(p0, p1);
        let q1 = _mm512_shuffle_i32x4::<0xDD>(p0, p1);
        let q2 = _mm512_shuffle_i32x4::<0x88>(p2, p3);
        let q3 = _mm512_shuffle_i32x4::<0xDD>(p2, p3);
        let n = [
            _mm512_shuffle_i32x4::<0x88>(q0, q2),
            _mm512_shuffle_i32x4::<0x88>(q1, q3),
            _mm512_shuffle_i32x4::<0xDD>(q0, q2),
            _mm512_shuffle_i32x4::<0xDD>(q1, q3),
        ];
        for (r, sums) in n.into_iter().enumerate() {
            let k = quarter(part, r);
            if k == Some(0) {
                break;
            }
            // SAFETY: the selected sums lie within acc.len().
            unsafe { add_store16(a.add(j + 16 * r), sums, init, k) };
        }
    }
}

/// Bytes widened to 32 bits and multiplied there, for any numerators.
///
/// # Safety
/// AVX-512 F/BW/VL/DQ available; rows hold at least `acc.len()` bytes.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn accumulate_u32_wide(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool) {
    let a = acc.as_mut_ptr();
    for (j, part) in columns(acc.len()) {
        let mut s = [_mm512_setzero_si512(); 4];
        for (row, &n) in rows.iter().zip(nums) {
            let nv = _mm512_set1_epi32(n as i32);
            for (q, sv) in s.iter_mut().enumerate() {
                // SAFETY: the selected bytes lie within acc.len() <= row.len().
                let b = unsafe { load16b(row.as_ptr().add(j + 16 * q), quarter(part, q)) };
                *sv = _mm512_add_epi32(*sv, _mm512_mullo_epi32(_mm512_cvtepu8_epi32(b), nv));
            }
        }
        for (q, sv) in s.into_iter().enumerate() {
            let k = quarter(part, q);
            if k == Some(0) {
                break;
            }
            // SAFETY: the selected sums lie within acc.len().
            unsafe { add_store16(a.add(j + 16 * q), sv, init, k) };
        }
    }
}

/// Exact group accumulation in `u64`: bytes widened to 64 bits, `vpmuludq` by the numerator
/// (a byte times a `u32` is exact in 64 bits), added.
pub(crate) fn accumulate_u64(acc: &mut [u64], rows: &[&[u8]], nums: &[u32], init: bool) {
    let len = acc.len();
    if rows.len() > MAX_GROUP || nums.len() < rows.len() || rows.iter().any(|r| r.len() < len) {
        return reference::accumulate_u64(acc, rows, nums, init);
    }
    // SAFETY: reachable only after AVX-512 was detected (see `accumulate_u32_with`); rows are
    // long enough (checked).
    unsafe { accumulate_u64_avx512(acc, rows, nums, init) }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn accumulate_u64_avx512(acc: &mut [u64], rows: &[&[u8]], nums: &[u32], init: bool) {
    let a = acc.as_mut_ptr();
    // Columns of 32 elements, as four vectors of 8 `u64` sums (masks: 8 elements each).
    let len = acc.len();
    let mut j = 0;
    while j < len {
        let left = len - j;
        let k: [Option<__mmask8>; 4] = core::array::from_fn(|q| {
            (left < 32).then(|| (((1u32 << left.min(31)) - 1) >> (8 * q)) as __mmask8)
        });
        let mut s = [_mm512_setzero_si512(); 4];
        // SAFETY (every block below): the selected elements lie within acc.len() <=
        // every row's length (checked by the caller).
        if !init {
            for (q, sv) in s.iter_mut().enumerate() {
                *sv = unsafe {
                    match k[q] {
                        None => _mm512_loadu_si512(a.add(j + 8 * q).cast()),
                        Some(m) => _mm512_maskz_loadu_epi64(m, a.add(j + 8 * q).cast()),
                    }
                };
            }
        }
        for (row, &n) in rows.iter().zip(nums) {
            let nv = _mm512_set1_epi64(i64::from(n));
            for (q, sv) in s.iter_mut().enumerate() {
                let p = unsafe { row.as_ptr().add(j + 8 * q) };
                let b = unsafe {
                    match k[q] {
                        None => _mm_loadl_epi64(p.cast()),
                        Some(m) => _mm_maskz_loadu_epi8(__mmask16::from(m), p.cast()),
                    }
                };
                *sv = _mm512_add_epi64(*sv, _mm512_mul_epu32(_mm512_cvtepu8_epi64(b), nv));
            }
        }
        for (q, sv) in s.into_iter().enumerate() {
            unsafe {
                match k[q] {
                    None => _mm512_storeu_si512(a.add(j + 8 * q).cast(), sv),
                    Some(m) => _mm512_mask_storeu_epi64(a.add(j + 8 * q).cast(), m, sv),
                }
            }
        }
        j += 32;
    }
}

// ---------------------------------------------------------------------------------------------
// Float path.

/// Float-path group accumulation: `acc = acc + w * v` per frame in order, `vmulps` then
/// `vaddps`.
pub(crate) fn accumulate_f32(acc: &mut [f32], rows: &[&[u8]], weights: &[f32], init: bool) {
    let len = acc.len();
    if rows.len() > MAX_GROUP || weights.len() < rows.len() || rows.iter().any(|r| r.len() < len) {
        return reference::accumulate_f32(acc, rows, weights, init);
    }
    // SAFETY: reachable only after AVX-512 was detected (see `accumulate_u32_with`); rows are
    // long enough (checked).
    unsafe { accumulate_f32_avx512(acc, rows, weights, init) }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn accumulate_f32_avx512(acc: &mut [f32], rows: &[&[u8]], weights: &[f32], init: bool) {
    let a = acc.as_mut_ptr();
    for (j, part) in columns(acc.len()) {
        // SAFETY (every block below): the selected elements lie within acc.len() <= every
        // row's length (checked by the caller).
        let mut s = [_mm512_setzero_ps(); 4];
        if !init {
            for (q, sv) in s.iter_mut().enumerate() {
                *sv = unsafe {
                    match quarter(part, q) {
                        None => _mm512_loadu_ps(a.add(j + 16 * q)),
                        Some(k) => _mm512_maskz_loadu_ps(k, a.add(j + 16 * q)),
                    }
                };
            }
        }
        for (row, &w) in rows.iter().zip(weights) {
            let wv = _mm512_set1_ps(w);
            for (q, sv) in s.iter_mut().enumerate() {
                let b = unsafe { load16b(row.as_ptr().add(j + 16 * q), quarter(part, q)) };
                let v = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));
                *sv = _mm512_add_ps(*sv, _mm512_mul_ps(wv, v));
            }
        }
        for (q, sv) in s.into_iter().enumerate() {
            unsafe {
                match quarter(part, q) {
                    None => _mm512_storeu_ps(a.add(j + 16 * q), sv),
                    Some(k) => _mm512_mask_storeu_ps(a.add(j + 16 * q), k, sv),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Finishing accumulator tiles.

/// `V = N / d`, epilogue and layout into `dst`, fused: sums are converted, divided, laid out
/// and stored without an intermediate buffer.
pub(crate) fn finish_u32(acc: &[u32], d: u64, fin: &Finish, dst: &mut [&mut [f32]]) {
    if d == 0 || d >= FAST_DIVISOR_LIMIT || !fits(acc.len(), fin, dst) {
        return reference::finish_u32(acc, d, fin, dst);
    }
    // SAFETY: reachable only after AVX-512 and FMA were detected (see
    // `accumulate_u32_with`); `fits` checked the destination lengths.
    unsafe { finish_u32_to::<F32s>(acc, d, fin, dst) }
}

/// [`finish_u32`] into a half-precision output, each vector rounded in registers before its
/// store.
pub(crate) fn finish_u32_half(
    acc: &[u32],
    d: u64,
    fin: &Finish,
    half: Half,
    dst: &mut [&mut [u16]],
) {
    if d == 0 || d >= FAST_DIVISOR_LIMIT || !fits(acc.len(), fin, dst) {
        return reference::finish_u32_half(acc, d, fin, half, dst);
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
/// AVX-512 F/BW/VL/DQ and FMA available; `0 < d < FAST_DIVISOR_LIMIT`;
/// `fits(acc.len(), fin, dst)`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn finish_u32_to<O: Out>(acc: &[u32], d: u64, fin: &Finish, dst: &mut [&mut [O::Elem]]) {
    // SAFETY: forwarded from the caller.
    unsafe {
        if d < FMA_DIVISOR_LIMIT {
            finish_by_epilogue::<_, O>(
                &SumsFma {
                    acc,
                    y: split_reciprocal(d as u32),
                    recip: 1.0 / d as f64,
                },
                fin,
                dst,
            );
        } else if d < RECIP_DIVISOR_LIMIT {
            finish_by_epilogue::<_, O>(
                &SumsRecip {
                    acc,
                    recip: 1.0 / d as f64,
                },
                fin,
                dst,
            );
        } else {
            finish_by_epilogue::<_, O>(&SumsDiv { acc, d }, fin, dst);
        }
    }
}

/// As [`finish_u32`] for `u64` sums (whose denominators are above `2^24`): one `f64`
/// division below [`FAST_DIVISOR_LIMIT`], else the reference.
pub(crate) fn finish_u64(acc: &[u64], d: u64, fin: &Finish, dst: &mut [&mut [f32]]) {
    if d == 0 || d >= FAST_DIVISOR_LIMIT || !fits(acc.len(), fin, dst) {
        return reference::finish_u64(acc, d, fin, dst);
    }
    // SAFETY: as in `finish_u32`.
    unsafe { finish_by_epilogue::<_, F32s>(&Sums64Div { acc, d }, fin, dst) }
}

/// [`finish_u64`] into a half-precision output.
pub(crate) fn finish_u64_half(
    acc: &[u64],
    d: u64,
    fin: &Finish,
    half: Half,
    dst: &mut [&mut [u16]],
) {
    if d == 0 || d >= FAST_DIVISOR_LIMIT || !fits(acc.len(), fin, dst) {
        return staged(acc, fin, half, dst, |part, runs| {
            reference::finish_u64(part, d, fin, runs);
        });
    }
    let src = Sums64Div { acc, d };
    // SAFETY: as in `finish_u32`.
    unsafe {
        match half {
            Half::F16 => finish_by_epilogue::<_, F16s>(&src, fin, dst),
            Half::Bf16 => finish_by_epilogue::<_, Bf16s>(&src, fin, dst),
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

/// What an output element is and how sixteen finished values are stored: `f32`, or rounded
/// to a half format in registers and stored as bits.
trait Out {
    type Elem: Copy;
    /// Values a writer holds back between stores (streamed halves wait for the other half of
    /// their 64-byte line).
    type Pending: Copy;
    /// Nothing held back.
    const NONE: Self::Pending;
    /// One value, as [`Out::store`] stores its lane.
    fn scalar(y: f32) -> Self::Elem;
    /// Stores the lanes `own` of `v` at `line` (16 elements, aligned to their size), by a
    /// streaming store when `STREAM` and all sixteen are stored (possibly held back in
    /// `pending` until the next call, which stores at `line + 16`, or [`Out::drain`]).
    ///
    /// # Safety
    /// The lanes `own` of `line` are writable; `line` is aligned to 16 elements;
    /// AVX-512 F/BW/VL/DQ available.
    unsafe fn store<const STREAM: bool>(
        line: *mut Self::Elem,
        own: __mmask16,
        v: __m512,
        pending: &mut Self::Pending,
    );
    /// Stores what `pending` holds back.
    ///
    /// # Safety
    /// As [`Out::store`], for the stores that held it.
    unsafe fn drain(pending: &mut Self::Pending);
}

/// `f32` output.
struct F32s;
/// f16 output: `vcvtps2ph`, round to nearest even by its immediate (not MXCSR; this code
/// never sets DAZ or FTZ, so subnormals are converted and produced, never flushed).
struct F16s;
/// bf16 output: integer rounding of the `f32` bits (not AVX512-BF16's `vcvtneps2bf16`, which
/// flushes subnormals; docs/contract.md section 10).
struct Bf16s;

impl Out for F32s {
    type Elem = f32;
    type Pending = ();
    const NONE: () = ();
    fn scalar(y: f32) -> f32 {
        y
    }
    unsafe fn drain(_: &mut ()) {}
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn store<const STREAM: bool>(line: *mut f32, own: __mmask16, v: __m512, _: &mut ()) {
        // SAFETY: the caller's promise.
        unsafe {
            if STREAM && own == !0 {
                _mm512_stream_ps(line, v);
            } else {
                _mm512_mask_storeu_ps(line, own, v);
            }
        }
    }
}

/// A half writer's held-back store: sixteen halves (32 bytes) for the first half of the
/// 64-byte line at the pointer.
type HalfPending = Option<(*mut u16, __m256i)>;

/// Stores sixteen half values (32 bytes, aligned). Streamed, a first half of a 64-byte line
/// waits in `pending` for the second, and the two go as one 64-byte streaming store: whole
/// lines leave the write-combining buffers as one write, not two partial ones.
///
/// # Safety
/// As [`Out::store`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn store_halves<const STREAM: bool>(
    line: *mut u16,
    own: __mmask16,
    h: __m256i,
    pending: &mut HalfPending,
) {
    // SAFETY: the caller's promise; a held first half is the line's bytes 0..32 and `line`
    // its bytes 32..64 (the next store of the same run), so the 64-byte store is aligned and
    // the run's.
    unsafe {
        if !STREAM || own != !0 {
            _mm256_mask_storeu_epi16(line.cast(), own, h);
        } else if (line as usize).is_multiple_of(64) {
            *pending = Some((line, h));
        } else if let Some((first, lo)) = pending.take() {
            let whole = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), h);
            _mm512_stream_si512(first.cast(), whole);
        } else {
            _mm256_stream_si256(line.cast(), h);
        }
    }
}

/// Stores a held-back first half of a line.
///
/// # Safety
/// As [`store_halves`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn drain_halves(pending: &mut HalfPending) {
    if let Some((first, lo)) = pending.take() {
        // SAFETY: the store that held it was allowed to write there.
        unsafe { _mm256_stream_si256(first.cast(), lo) };
    }
}

impl Out for F16s {
    type Elem = u16;
    type Pending = HalfPending;
    const NONE: HalfPending = None;
    fn scalar(y: f32) -> u16 {
        crate::half::f16_bits(y)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn store<const STREAM: bool>(
        line: *mut u16,
        own: __mmask16,
        v: __m512,
        pending: &mut HalfPending,
    ) {
        let h = _mm512_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
        // SAFETY: the caller's promise.
        unsafe { store_halves::<STREAM>(line, own, h, pending) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn drain(pending: &mut HalfPending) {
        // SAFETY: the caller's promise.
        unsafe { drain_halves(pending) }
    }
}

impl Out for Bf16s {
    type Elem = u16;
    type Pending = HalfPending;
    const NONE: HalfPending = None;
    fn scalar(y: f32) -> u16 {
        crate::half::bf16_bits(y)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn store<const STREAM: bool>(
        line: *mut u16,
        own: __mmask16,
        v: __m512,
        pending: &mut HalfPending,
    ) {
        // SAFETY: the caller's promise.
        unsafe { store_halves::<STREAM>(line, own, bf16x16(v), pending) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn drain(pending: &mut HalfPending) {
        // SAFETY: the caller's promise.
        unsafe { drain_halves(pending) }
    }
}

/// Sixteen values rounded to bf16 as `crate::half::bf16_bits` does: `(b + 0x7fff + lsb) >> 16`
/// on the bits `b` (ties to even; a carry rounds up into the exponent, to infinity at the
/// top), and a NaN's upper half with the quiet bit set.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
fn bf16x16(v: __m512) -> __m256i {
    let b = _mm512_castps_si512(v);
    let hi = _mm512_srli_epi32::<16>(b);
    let lsb = _mm512_and_si512(hi, _mm512_set1_epi32(1));
    let r = _mm512_srli_epi32::<16>(_mm512_add_epi32(
        b,
        _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)),
    ));
    // QNaN (0x01) or SNaN (0x80).
    let nan = _mm512_fpclass_ps_mask::<0x81>(v);
    let r = _mm512_mask_or_epi32(r, nan, hi, _mm512_set1_epi32(0x0040));
    _mm512_cvtepi32_epi16(r)
}

/// A destination run written sixteen values at a time in whole, aligned lines (64 bytes of
/// `f32`; 32 bytes of halves, streamed in pairs as whole 64-byte lines) whatever the run's own
/// alignment: a vector of values straddles two lines unless the run is aligned, and each such
/// store would cost two (measured on this backend's development host:
/// output 16 bytes past a line boundary made case a about 10% slower and case b up to 20%).
/// So each line is assembled from the last `lag` values of the previous vector and the first
/// `16 - lag` of the current one (one `vpermt2ps`), where `lag` is how many values the run
/// starts past a line boundary; the run's first and last lines, which it only partly covers,
/// get masked stores of the values that are its own. Whole lines may be streaming stores.
struct LineWriter<O: Out> {
    /// The line the next store fills (the boundary at or before the run's next value; the
    /// first one may lie before the run, and only the run's own values are ever written).
    line: *mut O::Elem,
    /// Values the run starts past a line boundary, 0 to 15.
    lag: usize,
    /// `vpermt2ps` indices `16 - lag + i`: lanes below `lag` from the previous vector, the
    /// rest from the current one (all from the current one when `lag` is 0).
    idx: __m512i,
    /// The previous vector pushed.
    prev: __m512,
    /// The lanes of the next line that are the run's: those from `lag` on for the first
    /// line, all after it.
    own: __mmask16,
    /// A store held back (see [`Out::store`]).
    pending: O::Pending,
}

impl<O: Out> LineWriter<O> {
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    fn new(run: *mut O::Elem) -> Self {
        let lag = (run as usize / core::mem::size_of::<O::Elem>()) % 16;
        LineWriter {
            line: run.wrapping_sub(lag),
            lag,
            idx: _mm512_add_epi32(
                _mm512_set1_epi32(16 - lag as i32),
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            ),
            prev: _mm512_setzero_ps(),
            own: !((1u16 << lag) - 1),
            pending: O::NONE,
        }
    }

    /// Writes the run's next sixteen values; whole lines by streaming stores when `STREAM`.
    ///
    /// # Safety
    /// The run holds them (its next 16 values are writable); AVX-512 F available.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn push<const STREAM: bool>(&mut self, y: __m512) {
        // An aligned run (`lag` 0, as `y` itself) needs no permute.
        let v = if self.lag == 0 {
            y
        } else {
            _mm512_permutex2var_ps(self.prev, self.idx, y)
        };
        // SAFETY: `line` is 64-byte aligned and holds the last `lag` values pushed (none
        // before the first push: `own` leaves those lanes out) and the first `16 - lag` of
        // `y`, all the run's.
        unsafe { O::store::<STREAM>(self.line, self.own, v, &mut self.pending) };
        self.own = !0;
        self.prev = y;
        self.line = self.line.wrapping_add(16);
    }

    /// Writes the last `lag` values pushed (the run's part of the line after the last one
    /// filled).
    ///
    /// # Safety
    /// As [`LineWriter::push`]; call once, after the last push.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn flush(&mut self) {
        // SAFETY: held back by a push, which was allowed to write there.
        unsafe { O::drain(&mut self.pending) };
        if self.lag != 0 && self.own == !0 {
            let v = _mm512_permutex2var_ps(self.prev, self.idx, self.prev);
            let mut none = O::NONE;
            // SAFETY: the line's first `lag` values are the last `lag` pushed, the run's.
            unsafe { O::store::<false>(self.line, (1u16 << self.lag) - 1, v, &mut none) };
        }
    }
}

/// True when `dst` has the runs a fused finish of `n` elements writes: one interleaved run of
/// `n` (or one channel), or `channels` runs of `n / channels` for 2 to 4 channels and whole
/// pixels.
fn fits<T>(n: usize, fin: &Finish, dst: &[&mut [T]]) -> bool {
    let ch = fin.channels;
    if !(1..=4).contains(&ch) {
        return false;
    }
    if !fin.planar || ch == 1 {
        dst.first().is_some_and(|r| r.len() >= n)
    } else {
        n.is_multiple_of(ch) && dst.len() >= ch && dst[..ch].iter().all(|r| r.len() >= n / ch)
    }
}

/// What a fused finish reads, sixteen mixed values `V` at a time.
trait Load {
    fn len(&self) -> usize;
    /// Element `j` as `V`, scalar (the same bits as [`Load::load16`]'s lane).
    fn value(&self, j: usize) -> f32;
    /// Elements `j..j + 16` as `V`.
    ///
    /// # Safety
    /// AVX-512 F/BW/VL/DQ and FMA are available and `j + 16 <= self.len()`.
    unsafe fn load16(&self, j: usize) -> __m512;
}

/// Sums with `d < FMA_DIVISOR_LIMIT` (so below `2^24`): the split-reciprocal route.
struct SumsFma<'a> {
    acc: &'a [u32],
    /// `split_reciprocal(d)`.
    y: (f32, f32),
    /// `1 / d` for the scalar tail (the reciprocal route, exact below `2^17`).
    recip: f64,
}

/// Sums with `d < RECIP_DIVISOR_LIMIT`: the `f64` reciprocal route.
struct SumsRecip<'a> {
    acc: &'a [u32],
    recip: f64,
}

/// Sums with `d < FAST_DIVISOR_LIMIT`: one `f64` division.
struct SumsDiv<'a> {
    acc: &'a [u32],
    d: u64,
}

/// `u64` sums with `d < FAST_DIVISOR_LIMIT` (so below `255 * 2^29 < 2^53`): one `f64`
/// division.
struct Sums64Div<'a> {
    acc: &'a [u64],
    d: u64,
}

/// Float-path values.
struct Values<'a>(&'a [f32]);

/// Two vectors of eight `f64` quotients, rounded to `f32` and joined in order.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
fn join_pd(lo: __m512d, hi: __m512d) -> __m512 {
    _mm512_insertf32x8::<1>(
        _mm512_castps256_ps512(_mm512_cvtpd_ps(lo)),
        _mm512_cvtpd_ps(hi),
    )
}

/// Sixteen `u32` sums as two vectors of eight `f64` (exact).
///
/// # Safety
/// `j + 16 <= acc.len()`; AVX-512 F available.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn load_u32_pd(acc: &[u32], j: usize) -> (__m512d, __m512d) {
    // SAFETY: j + 16 <= acc.len() (the caller's promise).
    let v = unsafe { _mm512_loadu_si512(acc.as_ptr().add(j).cast()) };
    (
        _mm512_cvtepu32_pd(_mm512_castsi512_si256(v)),
        _mm512_cvtepu32_pd(_mm512_extracti64x4_epi64::<1>(v)),
    )
}

impl Load for SumsFma<'_> {
    fn len(&self) -> usize {
        self.acc.len()
    }
    fn value(&self, j: usize) -> f32 {
        round_ratio_recip(u64::from(self.acc[j]), self.recip)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn load16(&self, j: usize) -> __m512 {
        // SAFETY: j + 16 <= len (the caller's promise). Sums below 2^24 convert to f32
        // exactly; see FMA_DIVISOR_LIMIT for why the two steps of `divide` round correctly.
        let n = unsafe { _mm512_loadu_si512(self.acc.as_ptr().add(j).cast()) };
        divide(n, _mm512_set1_ps(self.y.0), _mm512_set1_ps(self.y.1))
    }
}

impl Load for SumsRecip<'_> {
    fn len(&self) -> usize {
        self.acc.len()
    }
    fn value(&self, j: usize) -> f32 {
        round_ratio_recip(u64::from(self.acc[j]), self.recip)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn load16(&self, j: usize) -> __m512 {
        // SAFETY: j + 16 <= len (the caller's promise).
        let (lo, hi) = unsafe { load_u32_pd(self.acc, j) };
        let r = _mm512_set1_pd(self.recip);
        join_pd(_mm512_mul_pd(lo, r), _mm512_mul_pd(hi, r))
    }
}

impl Load for SumsDiv<'_> {
    fn len(&self) -> usize {
        self.acc.len()
    }
    fn value(&self, j: usize) -> f32 {
        round_ratio_fast(u64::from(self.acc[j]), self.d)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn load16(&self, j: usize) -> __m512 {
        // SAFETY: j + 16 <= len (the caller's promise).
        let (lo, hi) = unsafe { load_u32_pd(self.acc, j) };
        let d = _mm512_set1_pd(self.d as f64);
        join_pd(_mm512_div_pd(lo, d), _mm512_div_pd(hi, d))
    }
}

impl Load for Sums64Div<'_> {
    fn len(&self) -> usize {
        self.acc.len()
    }
    fn value(&self, j: usize) -> f32 {
        round_ratio_fast(self.acc[j], self.d)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn load16(&self, j: usize) -> __m512 {
        // SAFETY: j + 16 <= len (the caller's promise). Sums below 2^53 convert exactly.
        let (lo, hi) = unsafe {
            (
                _mm512_loadu_si512(self.acc.as_ptr().add(j).cast()),
                _mm512_loadu_si512(self.acc.as_ptr().add(j + 8).cast()),
            )
        };
        let d = _mm512_set1_pd(self.d as f64);
        join_pd(
            _mm512_div_pd(_mm512_cvtepu64_pd(lo), d),
            _mm512_div_pd(_mm512_cvtepu64_pd(hi), d),
        )
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
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn load16(&self, j: usize) -> __m512 {
        // SAFETY: j + 16 <= len (the caller's promise).
        unsafe { _mm512_loadu_ps(self.0.as_ptr().add(j)) }
    }
}

/// `N / d` of sixteen sums below `2^24` by the split-reciprocal route (see
/// `FMA_DIVISOR_LIMIT`): `(hv, lv)` broadcast `split_reciprocal(d)`. Sums below `2^24` are
/// exact in `f32`. The same two operations as `avx2.rs` and `mixcore/tests/markstein.rs`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
fn divide(n: __m512i, hv: __m512, lv: __m512) -> __m512 {
    let n = _mm512_cvtepi32_ps(n);
    _mm512_fmadd_ps(n, hv, _mm512_mul_ps(n, lv))
}

/// The epilogue on sixteen lanes, exactly docs/contract.md's operations (`vdivps`, `vsubps`).
trait Epi {
    /// # Safety
    /// AVX-512 F is available.
    unsafe fn apply(v: __m512, mean: __m512, std: __m512) -> __m512;
}

struct RawEpi;
struct UnitEpi;
struct NormEpi;

impl Epi for RawEpi {
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn apply(v: __m512, _: __m512, _: __m512) -> __m512 {
        v
    }
}

impl Epi for UnitEpi {
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn apply(v: __m512, _: __m512, _: __m512) -> __m512 {
        _mm512_div_ps(v, _mm512_set1_ps(255.0))
    }
}

impl Epi for NormEpi {
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn apply(v: __m512, mean: __m512, std: __m512) -> __m512 {
        _mm512_div_ps(
            _mm512_sub_ps(_mm512_div_ps(v, _mm512_set1_ps(255.0)), mean),
            std,
        )
    }
}

/// An epilogue's constants as vectors: by channel (`cm`, `cs`, for planar runs) and by phase
/// (`pm[k]`, `ps[k]`: lane `i` holds channel `(k + i) % ch`'s, for interleaved runs whose
/// first element is of channel `k`).
struct EpiConsts {
    cm: [__m512; 4],
    cs: [__m512; 4],
    pm: [__m512; 4],
    ps: [__m512; 4],
}

impl EpiConsts {
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    fn new(e: &Epilogue, ch: usize) -> Self {
        let (mean, std) = match *e {
            Epilogue::Normalize { mean, std } => (mean, std),
            Epilogue::Raw | Epilogue::Unit => ([0.0; 4], [1.0; 4]),
        };
        let ch = ch.clamp(1, 4);
        let m: [f32; 20] = core::array::from_fn(|k| mean[k % ch]);
        let s: [f32; 20] = core::array::from_fn(|k| std[k % ch]);
        // SAFETY: each load reads 16 of the 20 values from offset k <= 3.
        let (pm, ps) = unsafe {
            (
                [0, 1, 2, 3].map(|k| _mm512_loadu_ps(m.as_ptr().add(k))),
                [0, 1, 2, 3].map(|k| _mm512_loadu_ps(s.as_ptr().add(k))),
            )
        };
        EpiConsts {
            cm: mean.map(|v| _mm512_set1_ps(v)),
            cs: std.map(|v| _mm512_set1_ps(v)),
            pm,
            ps,
        }
    }
}

/// Picks the epilogue's and the layout's instantiation of the fused finish.
///
/// # Safety
/// AVX-512 F/BW/VL/DQ and FMA are available and `fits(src.len(), fin, dst)`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn finish_by_epilogue<L: Load, O: Out>(src: &L, fin: &Finish, dst: &mut [&mut [O::Elem]]) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match fin.epilogue {
            Epilogue::Raw => finish_by_layout::<L, RawEpi, O>(src, fin, dst),
            Epilogue::Unit => finish_by_layout::<L, UnitEpi, O>(src, fin, dst),
            Epilogue::Normalize { .. } => finish_by_layout::<L, NormEpi, O>(src, fin, dst),
        }
    }
}

/// # Safety
/// As [`finish_by_epilogue`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn finish_by_layout<L: Load, E: Epi, O: Out>(
    src: &L,
    fin: &Finish,
    dst: &mut [&mut [O::Elem]],
) {
    // SAFETY: forwarded from the caller; `fits` allows planar runs for 2 to 4 channels only.
    unsafe {
        match (fin.planar, fin.channels) {
            (true, 2) => finish_planar::<L, E, O, 2>(src, fin, dst),
            (true, 3) => finish_planar::<L, E, O, 3>(src, fin, dst),
            (true, 4) => finish_planar::<L, E, O, 4>(src, fin, dst),
            _ => finish_interleaved::<L, E, O>(src, fin, dst),
        }
    }
}

/// One interleaved run (or one channel).
///
/// # Safety
/// As [`finish_by_epilogue`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn finish_interleaved<L: Load, E: Epi, O: Out>(
    src: &L,
    fin: &Finish,
    dst: &mut [&mut [O::Elem]],
) {
    let ch = fin.channels;
    let n = src.len();
    let k = EpiConsts::new(&fin.epilogue, ch);
    let out = &mut *dst[0];
    let mut w = LineWriter::<O>::new(out.as_mut_ptr());
    // Blocks of 16 ch elements: vector q of a block starts at channel (16 q) % ch.
    let block = 16 * ch;
    let pm: [__m512; 4] = core::array::from_fn(|q| k.pm[(16 * q) % ch]);
    let ps: [__m512; 4] = core::array::from_fn(|q| k.ps[(16 * q) % ch]);
    let full = n - n % block;
    let mut j = 0;
    while j < full {
        for (q, (m, s)) in pm.iter().zip(&ps).enumerate().take(ch) {
            // SAFETY: j + 16q + 16 <= full <= n <= out.len() (fits), so the run holds the
            // values pushed; AVX-512 available.
            unsafe { w.push::<false>(E::apply(src.load16(j + 16 * q), *m, *s)) };
        }
        j += block;
    }
    // SAFETY: as above.
    unsafe { w.flush() };
    for (i, slot) in out.iter_mut().enumerate().take(n).skip(full) {
        *slot = O::scalar(fin.epilogue.apply(src.value(i), i % ch));
    }
}

/// `CH` (2 to 4) planar runs: each 16 pixels' `16 CH` values are finished in order, then
/// deinterleaved by `vpermt2ps` (see [`Deinterleave`]).
///
/// # Safety
/// As [`finish_by_epilogue`], with `fin.channels == CH`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn finish_planar<L: Load, E: Epi, O: Out, const CH: usize>(
    src: &L,
    fin: &Finish,
    dst: &mut [&mut [O::Elem]],
) {
    let n = src.len();
    let pixels = n / CH;
    let full = pixels - pixels % 16;
    let k = EpiConsts::new(&fin.epilogue, CH);
    let t = &DEINTERLEAVE[CH - 2];
    // SAFETY: each table holds 16 i32s.
    let (first, second) = unsafe {
        (
            t.map(|d| _mm512_loadu_si512(d.first.as_ptr().cast())),
            t.map(|d| _mm512_loadu_si512(d.second.as_ptr().cast())),
        )
    };
    let mut w: [LineWriter<O>; CH] = core::array::from_fn(|c| {
        LineWriter::new(
            dst.get_mut(c)
                .map_or(core::ptr::null_mut(), |r| r.as_mut_ptr()),
        )
    });
    let mut p = 0;
    while p < full {
        // SAFETY: CH p + 16 CH <= CH full <= n, so every load is in bounds; p + 16 <= full
        // <= dst[c].len() for c < CH (fits), so run c holds the values pushed; AVX-512
        // available.
        unsafe {
            // (A loop, not `array::from_fn`: a closure there would not inline into this
            // function's target features.)
            let mut v = [_mm512_setzero_ps(); CH];
            for (q, vq) in v.iter_mut().enumerate() {
                *vq = src.load16(CH * p + 16 * q);
            }
            for c in 0..CH {
                let x = _mm512_permutex2var_ps(v[0], first[c], v[1]);
                // (The indices `2 % CH` and `3 % CH` are 2 and 3 wherever they are used.)
                let x = if CH == 2 {
                    x
                } else if CH == 3 {
                    _mm512_mask_permutexvar_ps(x, t[c].mask, second[c], v[2 % CH])
                } else {
                    let z = _mm512_permutex2var_ps(v[2 % CH], second[c], v[3 % CH]);
                    _mm512_mask_blend_ps(t[c].mask, x, z)
                };
                w[c].push::<false>(E::apply(x, k.cm[c], k.cs[c]));
            }
        }
        p += 16;
    }
    for run in &mut w {
        // SAFETY: as above.
        unsafe { run.flush() };
    }
    for (c, run) in dst.iter_mut().enumerate().take(CH) {
        for (q, slot) in run.iter_mut().enumerate().take(pixels).skip(full) {
            *slot = O::scalar(fin.epilogue.apply(src.value(CH * q + c), c));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One pass.

/// Output bytes from which a one-pass call writes past the caches with streaming stores
/// (`vmovntps`, whole lines; see [`LineWriter`]): twice the 2 MiB L2 of the AVX-512 server
/// cores this was measured on, so the first lines a call writes would have left L2 before it
/// ends anyway. Regular stores first read every output line (read for ownership) and then
/// write it back; streaming stores only write, which on the development host made `mixbench`
/// case c (48 x 1280x720, one call of 11 MB per segment) about twice as fast, and made case a
/// (0.6 MB per call, output hot in L3) slower, hence the threshold.
const STREAM_MIN_BYTES: usize = 4 << 20;

/// Exact mix of a whole window in one pass, for windows whose numerators all fit one 16-bit
/// pair group (`fits_u16_pairs`) and `d < FMA_DIVISOR_LIMIT`: pair sums stay in registers and
/// are widened (and deinterleaved), divided, finished and stored, with no accumulator in
/// memory. Handles the first `len - len % (64 ch)` elements (whole blocks of 64 pixels) and
/// returns how many it did; 0 when the case is not one it handles. A call writing at least
/// [`STREAM_MIN_BYTES`] uses streaming stores.
pub(crate) fn mix_fused_u16(
    rows: &[&[u8]],
    nums: &[u32],
    d: u64,
    fin: &Finish,
    dst: &mut [&mut [f32]],
) -> usize {
    mix_fused_with::<F32s>(rows, nums, d, fin, dst, STREAM_MIN_BYTES)
}

/// [`mix_fused_u16`] into a half-precision output: each vector is rounded in registers and
/// stored as bits (streaming stores from [`STREAM_MIN_BYTES`] of output, as for `f32`).
pub(crate) fn mix_fused_u16_half(
    rows: &[&[u8]],
    nums: &[u32],
    d: u64,
    fin: &Finish,
    half: Half,
    dst: &mut [&mut [u16]],
) -> usize {
    match half {
        Half::F16 => mix_fused_with::<F16s>(rows, nums, d, fin, dst, STREAM_MIN_BYTES),
        Half::Bf16 => mix_fused_with::<Bf16s>(rows, nums, d, fin, dst, STREAM_MIN_BYTES),
    }
}

/// [`mix_fused_u16`] into elements `O`, with streaming stores from `stream_min` output bytes.
fn mix_fused_with<O: Out>(
    rows: &[&[u8]],
    nums: &[u32],
    d: u64,
    fin: &Finish,
    dst: &mut [&mut [O::Elem]],
    stream_min: usize,
) -> usize {
    let ch = fin.channels;
    if !(1..=4).contains(&ch) {
        return 0;
    }
    let len = rows.first().map_or(0, |r| r.len());
    let done = len - len % (64 * ch);
    let ok = d > 0
        && d < FMA_DIVISOR_LIMIT
        && done > 0
        && rows.len() <= MAX_GROUP
        && nums.len() >= rows.len()
        && rows.iter().all(|r| r.len() >= len)
        && fits_u16_pairs(&nums[..rows.len()])
        && fits(done, fin, dst);
    if !ok {
        return 0;
    }
    let stream = done.saturating_mul(core::mem::size_of::<O::Elem>()) >= stream_min;
    // SAFETY: reachable only after AVX-512 and FMA were detected (see `accumulate_u32_with`);
    // every row holds `len >= done` bytes, `done` is a multiple of 64 ch, `fits` checked the
    // destination, and the planar instantiations get their own channel count.
    unsafe {
        match fin.epilogue {
            Epilogue::Raw => fused_by_layout::<RawEpi, O>(rows, nums, d, fin, dst, done, stream),
            Epilogue::Unit => fused_by_layout::<UnitEpi, O>(rows, nums, d, fin, dst, done, stream),
            Epilogue::Normalize { .. } => {
                fused_by_layout::<NormEpi, O>(rows, nums, d, fin, dst, done, stream);
            }
        }
    }
    done
}

/// # Safety
/// As [`fused_planar`] and [`fused_interleaved`], for any channel count of 1 to 4.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn fused_by_layout<E: Epi, O: Out>(
    rows: &[&[u8]],
    nums: &[u32],
    d: u64,
    fin: &Finish,
    dst: &mut [&mut [O::Elem]],
    done: usize,
    stream: bool,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match (stream, fin.planar, fin.channels) {
            (false, true, 2) => fused_planar::<E, O, 2, false>(rows, nums, d, fin, dst, done),
            (false, true, 3) => fused_planar::<E, O, 3, false>(rows, nums, d, fin, dst, done),
            (false, true, 4) => fused_planar::<E, O, 4, false>(rows, nums, d, fin, dst, done),
            (false, ..) => fused_interleaved::<E, O, false>(rows, nums, d, fin, dst, done),
            (true, true, 2) => fused_planar::<E, O, 2, true>(rows, nums, d, fin, dst, done),
            (true, true, 3) => fused_planar::<E, O, 3, true>(rows, nums, d, fin, dst, done),
            (true, true, 4) => fused_planar::<E, O, 4, true>(rows, nums, d, fin, dst, done),
            (true, ..) => fused_interleaved::<E, O, true>(rows, nums, d, fin, dst, done),
        }
    }
}

/// What every one-pass kernel sets up: the pairs' weights and rows, and the split reciprocal.
struct OnePass<'r> {
    weights: [__m512i; MAX_GROUP / 2],
    ptrs: [(*const u8, *const u8); MAX_GROUP / 2],
    pairs: usize,
    hv: __m512,
    lv: __m512,
    _rows: core::marker::PhantomData<&'r [u8]>,
}

impl OnePass<'_> {
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    fn new<'r>(rows: &'r [&'r [u8]], nums: &[u32], d: u64) -> OnePass<'r> {
        let (ptrs, pairs) = pair_rows(rows);
        let (y_hi, y_lo) = split_reciprocal(d as u32);
        OnePass {
            weights: pair_weights16(nums, pairs),
            ptrs,
            pairs,
            hv: _mm512_set1_ps(y_hi),
            lv: _mm512_set1_ps(y_lo),
            _rows: core::marker::PhantomData,
        }
    }

    /// The pair sums of the 64-byte column at `off` (see [`pair_sums`]).
    ///
    /// # Safety
    /// Every row holds at least `off + 64` bytes; AVX-512 BW available.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    unsafe fn column(&self, off: usize) -> (__m512i, __m512i) {
        let n = self.pairs;
        // SAFETY: the caller's promise.
        unsafe { pair_sums(&self.weights[..n], &self.ptrs[..n], off, None) }
    }

    /// `N / d` of sixteen 32-bit sums (see [`divide`]).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    fn divide(&self, n: __m512i) -> __m512 {
        divide(n, self.hv, self.lv)
    }
}

/// One-pass kernel, `CH` (2 to 4) planar runs: blocks of 64 pixels (`CH` columns of 64
/// bytes) over elements `0..done`, four groups of 16 pixels per block.
///
/// # Safety
/// AVX-512 F/BW/VL/DQ and FMA available; rows hold at least `done` bytes, a multiple of
/// `64 CH`; `fits(done, fin, dst)` with `fin.channels == CH` and `fin.planar`; the numerators
/// pass `fits_u16_pairs`; `0 < d < FMA_DIVISOR_LIMIT`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn fused_planar<E: Epi, O: Out, const CH: usize, const STREAM: bool>(
    rows: &[&[u8]],
    nums: &[u32],
    d: u64,
    fin: &Finish,
    dst: &mut [&mut [O::Elem]],
    done: usize,
) {
    let one = OnePass::new(rows, nums, d);
    let k = EpiConsts::new(&fin.epilogue, CH);
    let mut w: [LineWriter<O>; CH] = core::array::from_fn(|c| {
        LineWriter::new(
            dst.get_mut(c)
                .map_or(core::ptr::null_mut(), |r| r.as_mut_ptr()),
        )
    });
    let t = &PLANAR_WIDEN[CH - 2];
    // idx[g][c]: channel c of group g.
    let idx: [[__m512i; CH]; 4] =
        core::array::from_fn(|g| core::array::from_fn(|c| load_words(&t[c][g])));
    let mut j = 0;
    while j < done {
        // (A loop, not `array::from_fn`: a closure there would not inline into this
        // function's target features.)
        let mut sums = [(_mm512_setzero_si512(), _mm512_setzero_si512()); CH];
        for (q, s) in sums.iter_mut().enumerate() {
            // SAFETY: j + 64q + 64 <= j + 64 CH <= done <= every row's length.
            *s = unsafe { one.column(j + 64 * q) };
        }
        // SAFETY: the block's 64 pixels lie below done / CH, within every run (fits), and
        // are each run's next values; AVX-512 available.
        unsafe {
            planar_group::<E, O, CH, 0, STREAM>(&one, &sums, &idx[0], &k, &mut w);
            planar_group::<E, O, CH, 1, STREAM>(&one, &sums, &idx[1], &k, &mut w);
            planar_group::<E, O, CH, 2, STREAM>(&one, &sums, &idx[2], &k, &mut w);
            planar_group::<E, O, CH, 3, STREAM>(&one, &sums, &idx[3], &k, &mut w);
        }
        j += 64 * CH;
    }
    for run in &mut w {
        // SAFETY: as above.
        unsafe { run.flush() };
    }
    if STREAM {
        // Streaming stores are weakly ordered: make them visible before anything after.
        _mm_sfence();
    }
}

/// Group `G` (pixels `16G..16G + 16` of a block) of every channel: widened and deinterleaved
/// from the block's pair sums (see [`planar_source`]), divided, finished, pushed.
///
/// # Safety
/// Every run holds the group's 16 values as its next ones; AVX-512 F/BW available.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn planar_group<E: Epi, O: Out, const CH: usize, const G: usize, const STREAM: bool>(
    one: &OnePass<'_>,
    sums: &[(__m512i, __m512i); CH],
    idx: &[__m512i; CH],
    k: &EpiConsts,
    w: &mut [LineWriter<O>; CH],
) {
    let (col, shift) = const { planar_source(CH, G) };
    let next = (col + 1) % CH;
    let ((lo, hi), (lo1, hi1)) = (sums[col], sums[next]);
    let (a, b) = match shift {
        0 => (lo, hi),
        2 => (
            _mm512_alignr_epi64::<2>(lo1, lo),
            _mm512_alignr_epi64::<2>(hi1, hi),
        ),
        4 => (
            _mm512_alignr_epi64::<4>(lo1, lo),
            _mm512_alignr_epi64::<4>(hi1, hi),
        ),
        _ => (
            _mm512_alignr_epi64::<6>(lo1, lo),
            _mm512_alignr_epi64::<6>(hi1, hi),
        ),
    };
    for (c, (ix, run)) in idx.iter().zip(w.iter_mut()).enumerate() {
        let n = _mm512_maskz_permutex2var_epi16(EVEN_WORDS, a, *ix, b);
        // SAFETY: the caller's promise; AVX-512 available.
        unsafe { run.push::<STREAM>(E::apply(one.divide(n), k.cm[c], k.cs[c])) };
    }
}

/// One-pass kernel, one interleaved run of `fin.channels` (1 to 4) channels (or one channel):
/// blocks of 64 pixels over elements `0..done`, each 64-byte column widened in order.
///
/// # Safety
/// AVX-512 F/BW/VL/DQ and FMA available; rows hold at least `done` bytes, a multiple of
/// `64 fin.channels`; `fits(done, fin, dst)`; the numerators pass `fits_u16_pairs`;
/// `0 < d < FMA_DIVISOR_LIMIT`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn fused_interleaved<E: Epi, O: Out, const STREAM: bool>(
    rows: &[&[u8]],
    nums: &[u32],
    d: u64,
    fin: &Finish,
    dst: &mut [&mut [O::Elem]],
    done: usize,
) {
    let ch = fin.channels;
    let one = OnePass::new(rows, nums, d);
    let k = EpiConsts::new(&fin.epilogue, ch);
    let mut w = LineWriter::<O>::new(
        dst.get_mut(0)
            .map_or(core::ptr::null_mut(), |r| r.as_mut_ptr()),
    );
    let idx = INTERLEAVED_WIDEN.map(|t| load_words(&t));
    // A block is `ch` columns; output vector o of a block starts at channel (16 o) % ch.
    let pm: [__m512; 16] = core::array::from_fn(|o| k.pm[(16 * o) % ch]);
    let ps: [__m512; 16] = core::array::from_fn(|o| k.ps[(16 * o) % ch]);
    let mut j = 0;
    let mut o = 0;
    while j < done {
        // SAFETY: j + 64 <= done <= every row's length.
        let (lo, hi) = unsafe { one.column(j) };
        for ix in &idx {
            let n = _mm512_maskz_permutex2var_epi16(EVEN_WORDS, lo, *ix, hi);
            // SAFETY: elements j .. j + 64 lie below done, within the run (fits), and are its
            // next values; AVX-512 available.
            unsafe { w.push::<STREAM>(E::apply(one.divide(n), pm[o], ps[o])) };
            o += 1;
            if o == 4 * ch {
                o = 0;
            }
        }
        j += 64;
    }
    // SAFETY: as above.
    unsafe { w.flush() };
    if STREAM {
        // Streaming stores are weakly ordered: make them visible before anything after.
        _mm_sfence();
    }
}

#[cfg(test)]
mod tests {
    //! The routes the kernel tables do not reach on every CPU: the table without VNNI on a CPU
    //! with it, and each accumulation route on its own, against the reference.
    extern crate std;

    use super::*;
    use std::vec::Vec;
    use std::{eprintln, vec};

    fn has_avx512() -> bool {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("fma")
    }

    /// xorshift64* bytes and numerators.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    /// Each accumulation route against the reference: lengths around the 64-byte vector,
    /// 1 to 16 rows, numerators for every route, init and add.
    #[test]
    fn accumulate_routes_match_reference() {
        if !has_avx512() {
            eprintln!("SKIPPED: this CPU has no AVX-512 BW/VL: the AVX-512 routes were not tested");
            return;
        }
        let vnni = std::is_x86_feature_detected!("avx512vnni");
        if !vnni {
            eprintln!("SKIPPED: this CPU has no AVX-512 VNNI: the VNNI route was not tested");
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut routes = [0usize; 4];
        for case in 0..600 {
            let len = [1, 63, 64, 65, 127, 128, 200, 1000][case % 8];
            let m = 1 + (rng.next() % 16) as usize;
            let top = [16u64, 127, 255, 4000, u32::MAX as u64 / (255 * 16)][case % 5];
            let nums: Vec<u32> = (0..m).map(|_| (rng.next() % (top + 1)) as u32).collect();
            let rows: Vec<Vec<u8>> = (0..m)
                .map(|_| (0..len).map(|_| rng.next() as u8).collect())
                .collect();
            let rows: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
            let prior: Vec<u32> = (0..len).map(|_| (rng.next() % 1000) as u32).collect();
            for init in [true, false] {
                let mut want = prior.clone();
                reference::accumulate_u32(&mut want, &rows, &nums, init);
                for with_vnni in [false, true] {
                    if with_vnni && !vnni {
                        continue;
                    }
                    let mut got = prior.clone();
                    accumulate_u32_with(&mut got, &rows, &nums, init, with_vnni);
                    assert_eq!(got, want, "m={m} len={len} nums={nums:?} vnni={with_vnni}");
                }
                let route = if fits_u16_pairs(&nums) {
                    0
                } else if nums.iter().all(|&n| n <= 127) {
                    1
                } else if nums.iter().all(|&n| n <= 255) {
                    2
                } else {
                    3
                };
                routes[route] += 1;
            }
        }
        // Every route ran.
        assert!(routes.iter().all(|&r| r > 0), "routes taken: {routes:?}");
    }

    /// Float-path sums against the reference, bit for bit.
    #[test]
    fn accumulate_f32_matches_reference() {
        if !has_avx512() {
            eprintln!("SKIPPED: this CPU has no AVX-512 BW/VL: the AVX-512 routes were not tested");
            return;
        }
        let mut rng = Rng(11);
        for case in 0..200 {
            let len = [1, 15, 16, 17, 63, 64, 65, 100, 257][case % 9];
            let m = 1 + (rng.next() % 16) as usize;
            let weights: Vec<f32> = (0..m)
                .map(|_| (rng.next() % 100_000) as f32 / 7919.0)
                .collect();
            let rows: Vec<Vec<u8>> = (0..m)
                .map(|_| (0..len).map(|_| rng.next() as u8).collect())
                .collect();
            let rows: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
            let prior: Vec<f32> = (0..len).map(|_| (rng.next() % 5000) as f32 / 3.0).collect();
            for init in [true, false] {
                let mut want = prior.clone();
                reference::accumulate_f32(&mut want, &rows, &weights, init);
                let mut got = prior.clone();
                accumulate_f32(&mut got, &rows, &weights, init);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "len={len} m={m} init={init}");
            }
        }
    }

    /// `u64` sums against the reference.
    #[test]
    fn accumulate_u64_matches_reference() {
        if !has_avx512() {
            eprintln!("SKIPPED: this CPU has no AVX-512 BW/VL: the AVX-512 routes were not tested");
            return;
        }
        let mut rng = Rng(7);
        for case in 0..200 {
            let len = [1, 31, 32, 33, 100, 257][case % 6];
            let m = 1 + (rng.next() % 16) as usize;
            let nums: Vec<u32> = (0..m).map(|_| rng.next() as u32).collect();
            let rows: Vec<Vec<u8>> = (0..m)
                .map(|_| (0..len).map(|_| rng.next() as u8).collect())
                .collect();
            let rows: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
            let prior: Vec<u64> = (0..len).map(|_| rng.next() >> 20).collect();
            for init in [true, false] {
                let mut want = prior.clone();
                reference::accumulate_u64(&mut want, &rows, &nums, init);
                let mut got = prior.clone();
                accumulate_u64(&mut got, &rows, &nums, init);
                assert_eq!(got, want);
            }
        }
    }

    /// The one-pass kernel with streaming stores forced on (and off) for small windows: every
    /// layout, channel count, epilogue and destination alignment (each run its own), against
    /// the reference; the values past what it says it did are untouched.
    #[test]
    fn one_pass_matches_reference_at_every_alignment() {
        if !has_avx512() {
            eprintln!("SKIPPED: this CPU has no AVX-512 BW/VL: the AVX-512 routes were not tested");
            return;
        }
        let mut rng = Rng(0xF00D);
        let epilogues = [
            Epilogue::Raw,
            Epilogue::Unit,
            Epilogue::IMAGENET,
            Epilogue::Normalize {
                mean: [0.1, 0.9, 0.5, 0.25],
                std: [0.3, 0.01, 2.0, 1.5],
            },
        ];
        for case in 0..400 {
            let ch = 1 + case % 4;
            let planar = ch > 1 && (case / 4) % 2 == 0;
            let epilogue = epilogues[(case / 8) % 4];
            let pixels = 64 + (rng.next() % 300) as usize;
            let len = pixels * ch;
            let m = 1 + (rng.next() % 16) as usize;
            // Numerators the pair route takes: at most 16 each, 257 in all.
            let nums: Vec<u32> = (0..m).map(|_| 1 + (rng.next() % 16) as u32).collect();
            let d: u64 = nums.iter().map(|&n| u64::from(n)).sum();
            let rows: Vec<Vec<u8>> = (0..m)
                .map(|_| (0..len).map(|_| rng.next() as u8).collect())
                .collect();
            let rows: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
            let fin = Finish {
                epilogue,
                channels: ch,
                planar,
            };
            let mut acc = vec![0u32; len];
            reference::accumulate_u32(&mut acc, &rows, &nums, true);
            let (count, per) = if planar { (ch, pixels) } else { (1, len) };
            let mut want = vec![vec![f32::NAN; per]; count];
            {
                let mut w: Vec<&mut [f32]> = want.iter_mut().map(Vec::as_mut_slice).collect();
                reference::finish_u32(&acc, d, &fin, &mut w);
            }
            // Runs at float offsets 0..16 from a line boundary, the same or different ones.
            let offsets: Vec<usize> = (0..count)
                .map(|c| (case / 3 + c * (case % 3)) % 16)
                .collect();
            for stream_min in [0, usize::MAX] {
                let mut bufs: Vec<Vec<f32>> = vec![vec![f32::NAN; per + 32]; count];
                let mut dst: Vec<&mut [f32]> = bufs
                    .iter_mut()
                    .zip(&offsets)
                    .map(|(b, &o)| {
                        let skew = (16 - (b.as_ptr() as usize / 4) % 16) % 16;
                        &mut b[skew + o..skew + o + per]
                    })
                    .collect();
                let done = mix_fused_with::<F32s>(&rows, &nums, d, &fin, &mut dst, stream_min);
                assert_eq!(done, len - len % (64 * ch));
                let upto = if planar { done / ch } else { done };
                for (c, (got, w)) in dst.iter().zip(&want).enumerate() {
                    for i in 0..per {
                        if i < upto {
                            assert_eq!(
                                got[i].to_bits(),
                                w[i].to_bits(),
                                "case {case}: ch={ch} planar={planar} run {c} value {i} \
                                 (done {done}, stream_min {stream_min}, offsets {offsets:?})"
                            );
                        } else {
                            assert!(got[i].is_nan(), "case {case}: wrote past {done}");
                        }
                    }
                }
                // Nothing before the runs either.
                for (b, &o) in bufs.iter().zip(&offsets) {
                    let skew = (16 - (b.as_ptr() as usize / 4) % 16) % 16;
                    assert!(
                        b[..skew + o].iter().all(|v| v.is_nan()),
                        "case {case}: wrote before"
                    );
                }
            }
        }
    }

    /// The planar tables: every group's 16 pixels come from the two vectors the kernel
    /// permutes (checked when the tables are built), and the shifted pairs stay within the
    /// block's columns.
    /// As `one_pass_matches_reference_at_every_alignment`, into f16 and bf16 runs at every
    /// offset from a 32-byte boundary, with streaming stores forced on and off.
    #[test]
    fn one_pass_into_halves_matches_reference_at_every_alignment() {
        if !has_avx512() {
            eprintln!("SKIPPED: this CPU has no AVX-512 BW/VL: the AVX-512 routes were not tested");
            return;
        }
        let mut rng = Rng(0xBEEF);
        let epilogues = [
            Epilogue::Raw,
            Epilogue::Unit,
            Epilogue::IMAGENET,
            Epilogue::Normalize {
                mean: [0.1, 0.9, 0.5, 0.25],
                std: [0.3, 1e-4, 2.0, 1.5],
            },
        ];
        const UNSET: u16 = 0xffff; // a NaN in both formats, which no mix produces
        for case in 0..240 {
            let half = if case % 2 == 0 { Half::F16 } else { Half::Bf16 };
            let ch = 1 + (case / 2) % 4;
            let planar = ch > 1 && (case / 8) % 2 == 0;
            let epilogue = epilogues[(case / 16) % 4];
            let pixels = 64 + (rng.next() % 300) as usize;
            let len = pixels * ch;
            let m = 1 + (rng.next() % 16) as usize;
            let nums: Vec<u32> = (0..m).map(|_| 1 + (rng.next() % 16) as u32).collect();
            let d: u64 = nums.iter().map(|&n| u64::from(n)).sum();
            let rows: Vec<Vec<u8>> = (0..m)
                .map(|_| (0..len).map(|_| rng.next() as u8).collect())
                .collect();
            let rows: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
            let fin = Finish {
                epilogue,
                channels: ch,
                planar,
            };
            let mut acc = vec![0u32; len];
            reference::accumulate_u32(&mut acc, &rows, &nums, true);
            let (count, per) = if planar { (ch, pixels) } else { (1, len) };
            let mut want = vec![vec![0f32; per]; count];
            {
                let mut w: Vec<&mut [f32]> = want.iter_mut().map(Vec::as_mut_slice).collect();
                reference::finish_u32(&acc, d, &fin, &mut w);
            }
            let offsets: Vec<usize> = (0..count)
                .map(|c| (case / 3 + c * (case % 3)) % 16)
                .collect();
            let skew_of = |b: &Vec<u16>| (16 - (b.as_ptr() as usize / 2) % 16) % 16;
            for stream_min in [0, usize::MAX] {
                let mut bufs: Vec<Vec<u16>> = vec![vec![UNSET; per + 32]; count];
                let mut dst: Vec<&mut [u16]> = bufs
                    .iter_mut()
                    .zip(&offsets)
                    .map(|(b, &o)| {
                        let skew = skew_of(b);
                        &mut b[skew + o..skew + o + per]
                    })
                    .collect();
                let done = match half {
                    Half::F16 => {
                        mix_fused_with::<F16s>(&rows, &nums, d, &fin, &mut dst, stream_min)
                    }
                    Half::Bf16 => {
                        mix_fused_with::<Bf16s>(&rows, &nums, d, &fin, &mut dst, stream_min)
                    }
                };
                assert_eq!(done, len - len % (64 * ch));
                let upto = if planar { done / ch } else { done };
                for (c, (got, w)) in dst.iter().zip(&want).enumerate() {
                    for i in 0..per {
                        let expect = if i < upto { half.bits(w[i]) } else { UNSET };
                        assert_eq!(
                            got[i], expect,
                            "case {case}: {half:?} ch={ch} planar={planar} run {c} value {i} \
                             (done {done}, stream_min {stream_min}, offsets {offsets:?})"
                        );
                    }
                }
                for (b, &o) in bufs.iter().zip(&offsets) {
                    let skew = skew_of(b);
                    assert!(
                        b[..skew + o].iter().all(|&v| v == UNSET),
                        "case {case}: wrote before"
                    );
                }
            }
        }
    }

    /// The half finishes round every `f32` the way `crate::half` does, edge values included:
    /// subnormals (kept, never flushed), ties, overflow to infinity, NaNs, at every alignment.
    #[test]
    fn half_finish_rounds_edge_values_as_the_reference() {
        if !has_avx512() {
            eprintln!("SKIPPED: this CPU has no AVX-512 BW/VL: the AVX-512 routes were not tested");
            return;
        }
        let mut rng = Rng(0x5EED);
        let mut values: Vec<f32> = [
            0x0000_0001u32, // smallest f32 subnormal
            0x0000_8000,
            0x0000_8001,
            0x0001_8000,
            0x3300_0000, // 2^-25: f16 tie to 0
            0x3300_0001,
            0x3380_0000,
            0x33c0_0000,
            0x387f_e000,
            0x387f_f000,
            0x3880_0000, // smallest normal f16
            0x3f80_8000, // bf16 tie, to even
            0x3f81_8000, // bf16 tie, up
            0x3f80_1000, // f16 tie
            0x477f_efff,
            0x477f_f000, // 65520: f16 overflow
            0x7f7f_ffff, // f32::MAX: bf16 rounds to infinity
            0x7f80_0000,
            0x7f80_0001, // signalling NaN
            0x7fc0_0000,
            0x7fff_ffff,
        ]
        .iter()
        .flat_map(|&b| [f32::from_bits(b), -f32::from_bits(b)])
        .collect();
        values.extend((0..3000).map(|_| f32::from_bits(rng.next() as u32)));
        for half in [Half::F16, Half::Bf16] {
            for offset in 0..16 {
                for start in 0..3 {
                    let src = &values[start..];
                    let fin = Finish {
                        epilogue: Epilogue::Raw,
                        channels: 1,
                        planar: false,
                    };
                    let mut want = vec![0u16; src.len()];
                    reference::finish_f32_half(src, &fin, half, &mut [&mut want]);
                    let mut buf = vec![0u16; src.len() + 32];
                    let skew = (16 - (buf.as_ptr() as usize / 2) % 16) % 16;
                    let got = &mut buf[skew + offset..skew + offset + src.len()];
                    finish_f32_half(src, &fin, half, &mut [&mut *got]);
                    for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                        assert_eq!(
                            g,
                            w,
                            "{half:?}: f32 bits {:#010x} (offset {offset})",
                            src[i].to_bits()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn planar_sources_stay_in_the_block() {
        for ch in 2..=4 {
            for g in 0..4 {
                let (col, shift) = planar_source(ch, g);
                assert!(col < ch);
                assert!(shift == 0 || col + 1 < ch, "ch={ch} g={g}");
            }
        }
    }
}
