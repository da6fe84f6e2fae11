//! The scalar reference: SPEC.md sections 6 and 7 written for clarity, one element at a time.
//!
//! Every fast kernel is checked against these functions bit for bit (tolerance 0). They are
//! also a complete backend: [`crate::Backend::Reference`] runs them.

use crate::round::round_ratio;

/// `acc[j] += n * src[j]` in `u32` (the plan guarantees no overflow).
pub fn accumulate_u32(acc: &mut [u32], src: &[u8], n: u32) {
    for (a, &v) in acc.iter_mut().zip(src) {
        *a += n * u32::from(v);
    }
}

/// `acc[j] += n * src[j]` in `u64`.
pub fn accumulate_u64(acc: &mut [u64], src: &[u8], n: u32) {
    for (a, &v) in acc.iter_mut().zip(src) {
        *a += u64::from(n) * u64::from(v);
    }
}

/// The float path's step: `acc[j] = acc[j] + (w * (src[j] as f32))`, each operation rounded,
/// never fused.
pub fn accumulate_f32(acc: &mut [f32], src: &[u8], w: f32) {
    for (a, &v) in acc.iter_mut().zip(src) {
        *a += w * f32::from(v);
    }
}

/// `out[j] = N_j / d` correctly rounded, for `u32` numerators.
pub fn divide_u32(acc: &[u32], d: u64, out: &mut [f32]) {
    for (o, &n) in out.iter_mut().zip(acc) {
        *o = round_ratio(u64::from(n), d);
    }
}

/// `out[j] = N_j / d` correctly rounded, for `u64` numerators.
pub fn divide_u64(acc: &[u64], d: u64, out: &mut [f32]) {
    for (o, &n) in out.iter_mut().zip(acc) {
        *o = round_ratio(n, d);
    }
}
