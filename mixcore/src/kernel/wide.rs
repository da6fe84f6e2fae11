//! Portable SIMD kernels on `wide`: lanes are pixels (bytes of a row), never a reordering of
//! the sum over frames, so they give the reference's bits.
//!
//! `wide` picks SSE2, AVX2 or NEON code at compile time from the build's target features.

use wide::{f32x8, f64x4, i32x4, i32x8, u8x16, u16x8, u16x16, u32x8};

use crate::half::Half;
use crate::kernel::{Finish, reference, staged};
use crate::round::{FAST_DIVISOR_LIMIT, RECIP_DIVISOR_LIMIT, round_ratio_auto};

#[inline(always)]
fn widen16(src: &[u8]) -> (u32x8, u32x8) {
    let mut b = [0u8; 16];
    b.copy_from_slice(&src[..16]);
    let w: [u16x8; 2] = bytemuck::cast(u16x16::from(u8x16::new(b)));
    (u32x8::from(w[0]), u32x8::from(w[1]))
}

#[inline(always)]
fn load8(acc: &[u32]) -> u32x8 {
    let mut a = [0u32; 8];
    a.copy_from_slice(&acc[..8]);
    u32x8::new(a)
}

/// Group accumulation in `u32`, 16 bytes a step, the group's frames summed in registers.
pub fn accumulate_u32(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool) {
    let len = acc.len();
    let full = len - len % 16;
    for j in (0..full).step_by(16) {
        let (mut s0, mut s1) = if init {
            (u32x8::ZERO, u32x8::ZERO)
        } else {
            (load8(&acc[j..]), load8(&acc[j + 8..]))
        };
        for (row, &n) in rows.iter().zip(nums) {
            let (lo, hi) = widen16(&row[j..j + 16]);
            let nv = u32x8::splat(n);
            s0 += lo * nv;
            s1 += hi * nv;
        }
        acc[j..j + 8].copy_from_slice(s0.as_array());
        acc[j + 8..j + 16].copy_from_slice(s1.as_array());
    }
    let tails: [&[u8]; crate::kernel::MAX_GROUP] =
        core::array::from_fn(|g| rows.get(g).map_or(&[][..], |r| &r[full..]));
    reference::accumulate_u32(&mut acc[full..], &tails[..rows.len()], nums, init);
}

/// Group accumulation on the float path, in the order of `rows`, multiply and add rounded
/// separately.
pub fn accumulate_f32(acc: &mut [f32], rows: &[&[u8]], weights: &[f32], init: bool) {
    let len = acc.len();
    let full = len - len % 16;
    for j in (0..full).step_by(16) {
        let mut s = [f32x8::ZERO; 2];
        if !init {
            for (h, sv) in s.iter_mut().enumerate() {
                let mut cur = [0f32; 8];
                cur.copy_from_slice(&acc[j + 8 * h..j + 8 * h + 8]);
                *sv = f32x8::new(cur);
            }
        }
        for (row, &w) in rows.iter().zip(weights) {
            let (lo, hi) = widen16(&row[j..j + 16]);
            let wv = f32x8::splat(w);
            // Bytes widened to u32 are below 256, so the i32 reinterpretation is exact.
            for (sv, v) in s.iter_mut().zip([lo, hi]) {
                let vf = f32x8::from_i32x8(bytemuck::cast::<u32x8, i32x8>(v));
                *sv += wv * vf;
            }
        }
        acc[j..j + 8].copy_from_slice(s[0].as_array());
        acc[j + 8..j + 16].copy_from_slice(s[1].as_array());
    }
    let tails: [&[u8]; crate::kernel::MAX_GROUP] =
        core::array::from_fn(|g| rows.get(g).map_or(&[][..], |r| &r[full..]));
    reference::accumulate_f32(&mut acc[full..], &tails[..rows.len()], weights, init);
}

/// `V = N / d` four lanes at a time (reciprocal or division route, both exact for their
/// ranges), into `values`.
fn divide_u32(acc: &[u32], d: u64, values: &mut [f32]) {
    let recip = d < RECIP_DIVISOR_LIMIT;
    if d >= FAST_DIVISOR_LIMIT || 255 * d > i32::MAX as u64 {
        for (o, &n) in values.iter_mut().zip(acc) {
            *o = round_ratio_auto(u64::from(n), d);
        }
        return;
    }
    let dv = f64x4::splat(d as f64);
    let rv = f64x4::splat(1.0 / d as f64);
    let mut a_chunks = acc.chunks_exact(4);
    let mut o_chunks = values.chunks_exact_mut(4);
    for (a, o) in (&mut a_chunks).zip(&mut o_chunks) {
        // N <= 255 * d fits an i32 (checked above).
        let n = f64x4::from_i32x4(i32x4::new([
            a[0] as i32,
            a[1] as i32,
            a[2] as i32,
            a[3] as i32,
        ]));
        let q = if recip { n * rv } else { n / dv }.to_array();
        for (dst, v) in o.iter_mut().zip(q) {
            *dst = v as f32;
        }
    }
    for (o, &n) in o_chunks
        .into_remainder()
        .iter_mut()
        .zip(a_chunks.remainder())
    {
        *o = round_ratio_auto(u64::from(n), d);
    }
}

/// `V = N / d` correctly rounded, then the epilogue, into `dst`.
pub fn finish_u32(acc: &[u32], d: u64, fin: &Finish, dst: &mut [&mut [f32]]) {
    finish_chunked(acc.len(), fin, dst, |range, values| {
        divide_u32(&acc[range], d, values);
    });
}

/// As [`finish_u32`] for `u64` sums (windows too large for `u32`).
pub fn finish_u64(acc: &[u64], d: u64, fin: &Finish, dst: &mut [&mut [f32]]) {
    finish_chunked(acc.len(), fin, dst, |range, values| {
        for (v, &n) in values.iter_mut().zip(&acc[range]) {
            *v = round_ratio_auto(n, d);
        }
    });
}

/// [`finish_u32`] into a half-precision output (each value rounded, docs/contract.md
/// section 10), through an `f32` stage on the stack.
pub fn finish_u32_half(acc: &[u32], d: u64, fin: &Finish, half: Half, dst: &mut [&mut [u16]]) {
    staged(acc, fin, half, dst, |part, runs| {
        finish_u32(part, d, fin, runs)
    });
}

/// [`finish_u64`] into a half-precision output.
pub fn finish_u64_half(acc: &[u64], d: u64, fin: &Finish, half: Half, dst: &mut [&mut [u16]]) {
    staged(acc, fin, half, dst, |part, runs| {
        finish_u64(part, d, fin, runs)
    });
}

/// Pixels finished per chunk: the values of one chunk live on the stack (at most 4 channels,
/// so 4 KiB of `f32`).
const CHUNK_PIXELS: usize = 256;

/// Finishes `n` values chunk by chunk: `fill(range, values)` computes the values of elements
/// `range` into `values` (as long as the range), which then go through the reference epilogue
/// and layout into the matching part of `dst`, exactly as one call over all `n` would.
fn finish_chunked(
    n: usize,
    fin: &Finish,
    dst: &mut [&mut [f32]],
    mut fill: impl FnMut(core::ops::Range<usize>, &mut [f32]),
) {
    let ch = fin.channels.clamp(1, 4);
    let mut buf = [0f32; CHUNK_PIXELS * 4];
    let mut p0 = 0;
    while p0 * ch < n {
        let (e0, e1) = (p0 * ch, ((p0 + CHUNK_PIXELS) * ch).min(n));
        let values = &mut buf[..e1 - e0];
        fill(e0..e1, values);
        // The part of each destination run these elements land in (reference semantics:
        // slots past a run's end are skipped).
        let (from, to) = if fin.planar {
            (p0, p0 + (e1 - e0).div_ceil(ch))
        } else {
            (e0, e1)
        };
        let mut runs: [&mut [f32]; 4] = [&mut [], &mut [], &mut [], &mut []];
        let used = if fin.planar {
            dst.len().min(4)
        } else {
            dst.len().min(1)
        };
        for (slot, run) in runs.iter_mut().zip(dst.iter_mut()).take(used) {
            let len = run.len();
            *slot = &mut run[from.min(len)..to.min(len)];
        }
        reference::finish_f32(values, fin, &mut runs[..used]);
        p0 += CHUNK_PIXELS;
    }
}
