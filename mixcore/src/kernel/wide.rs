//! Portable SIMD kernels on `wide`: lanes are pixels (bytes of a row), never a reordering of
//! the sum over frames, so they give the reference's bits.
//!
//! `wide` picks SSE2, AVX2 or NEON code at compile time from the build's target features.

use wide::{f32x8, f64x4, i32x4, i32x8, u8x16, u16x8, u16x16, u32x8};

use crate::kernel::reference;
use crate::round::{FAST_DIVISOR_LIMIT, round_ratio, round_ratio_fast};

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

/// `acc[j] += n * src[j]` in `u32`, 16 bytes a step.
pub fn accumulate_u32(acc: &mut [u32], src: &[u8], n: u32) {
    let len = acc.len().min(src.len());
    let (acc, src) = (&mut acc[..len], &src[..len]);
    let nv = u32x8::splat(n);
    let mut a_chunks = acc.chunks_exact_mut(16);
    let mut s_chunks = src.chunks_exact(16);
    for (a, s) in (&mut a_chunks).zip(&mut s_chunks) {
        let (lo, hi) = widen16(s);
        let (a0, a1) = a.split_at_mut(8);
        let r0 = load8(a0) + lo * nv;
        let r1 = load8(a1) + hi * nv;
        a0.copy_from_slice(r0.as_array());
        a1.copy_from_slice(r1.as_array());
    }
    reference::accumulate_u32(a_chunks.into_remainder(), s_chunks.remainder(), n);
}

/// `acc[j] = acc[j] + w * src[j]` in `f32`, multiply and add rounded separately.
pub fn accumulate_f32(acc: &mut [f32], src: &[u8], w: f32) {
    let len = acc.len().min(src.len());
    let (acc, src) = (&mut acc[..len], &src[..len]);
    let wv = f32x8::splat(w);
    let mut a_chunks = acc.chunks_exact_mut(16);
    let mut s_chunks = src.chunks_exact(16);
    for (a, s) in (&mut a_chunks).zip(&mut s_chunks) {
        let (lo, hi) = widen16(s);
        let (a0, a1) = a.split_at_mut(8);
        for (dst, v) in [(a0, lo), (a1, hi)] {
            let mut cur = [0f32; 8];
            cur.copy_from_slice(dst);
            // Bytes widened to u32 are below 256, so the i32 reinterpretation is exact.
            let vf = f32x8::from_i32x8(bytemuck::cast::<u32x8, i32x8>(v));
            let r = f32x8::new(cur) + wv * vf;
            dst.copy_from_slice(r.as_array());
        }
    }
    reference::accumulate_f32(a_chunks.into_remainder(), s_chunks.remainder(), w);
}

/// `out[j] = N_j / d` correctly rounded, four lanes of `f64` division at a time when `d` is
/// below [`FAST_DIVISOR_LIMIT`] and every `N` fits an `i32` (the plan bounds `N <= 255*d`).
pub fn divide_u32(acc: &[u32], d: u64, out: &mut [f32]) {
    if d >= FAST_DIVISOR_LIMIT {
        for (o, &n) in out.iter_mut().zip(acc) {
            *o = round_ratio(u64::from(n), d);
        }
        return;
    }
    if 255 * d > i32::MAX as u64 {
        for (o, &n) in out.iter_mut().zip(acc) {
            *o = round_ratio_fast(u64::from(n), d);
        }
        return;
    }
    let len = acc.len().min(out.len());
    let dv = f64x4::splat(d as f64);
    let mut a_chunks = acc[..len].chunks_exact(4);
    let mut o_chunks = out[..len].chunks_exact_mut(4);
    for (a, o) in (&mut a_chunks).zip(&mut o_chunks) {
        let n = i32x4::new([a[0] as i32, a[1] as i32, a[2] as i32, a[3] as i32]);
        let q = (f64x4::from_i32x4(n) / dv).to_array();
        for (dst, v) in o.iter_mut().zip(q) {
            *dst = v as f32;
        }
    }
    for (o, &n) in o_chunks
        .into_remainder()
        .iter_mut()
        .zip(a_chunks.remainder())
    {
        *o = round_ratio_fast(u64::from(n), d);
    }
}

/// `out[j] = N_j / d` correctly rounded for `u64` numerators (windows too large for `u32`).
pub fn divide_u64(acc: &[u64], d: u64, out: &mut [f32]) {
    if d >= FAST_DIVISOR_LIMIT {
        reference::divide_u64(acc, d, out);
    } else {
        for (o, &n) in out.iter_mut().zip(acc) {
            *o = round_ratio_fast(n, d);
        }
    }
}
