//! The scalar reference: docs/contract.md sections 6 and 7 written for clarity, one element at a time.
//!
//! Every fast kernel is checked against these functions bit for bit (tolerance 0). They are
//! also a complete backend: [`crate::Backend::Reference`] runs them.

use crate::epilogue::Epilogue;
use crate::half::Half;
use crate::kernel::Finish;
use crate::round::round_ratio;

/// `acc[j] = (init ? 0 : acc[j]) + sum over g of nums[g] * rows[g][j]`, in `u32` (the plan
/// guarantees no overflow).
pub fn accumulate_u32(acc: &mut [u32], rows: &[&[u8]], nums: &[u32], init: bool) {
    for (j, a) in acc.iter_mut().enumerate() {
        let mut sum = if init { 0 } else { *a };
        for (row, &n) in rows.iter().zip(nums) {
            sum += n * u32::from(row[j]);
        }
        *a = sum;
    }
}

/// As [`accumulate_u32`], in `u64`.
pub fn accumulate_u64(acc: &mut [u64], rows: &[&[u8]], nums: &[u32], init: bool) {
    for (j, a) in acc.iter_mut().enumerate() {
        let mut sum = if init { 0 } else { *a };
        for (row, &n) in rows.iter().zip(nums) {
            sum += u64::from(n) * u64::from(row[j]);
        }
        *a = sum;
    }
}

/// The float path's steps, in the order of `rows`: `acc[j] = acc[j] + (w * (v as f32))`,
/// each operation rounded, never fused. `init` starts from `0.0`.
pub fn accumulate_f32(acc: &mut [f32], rows: &[&[u8]], weights: &[f32], init: bool) {
    for (j, a) in acc.iter_mut().enumerate() {
        let mut sum = if init { 0.0 } else { *a };
        for (row, &w) in rows.iter().zip(weights) {
            sum += w * f32::from(row[j]);
        }
        *a = sum;
    }
}

/// Writes `y = epilogue(V)` of every element (channels interleaved) to `dst` as `put(y)`:
/// one slice per channel when the finish is planar, else one interleaved slice.
fn write_out<T>(
    values: impl Iterator<Item = f32>,
    fin: &Finish,
    dst: &mut [&mut [T]],
    put: impl Fn(f32) -> T,
) {
    let ch = fin.channels;
    for (j, v) in values.enumerate() {
        let (p, c) = (j / ch, j % ch);
        let y = apply(&fin.epilogue, v, c);
        let slot = if fin.planar {
            dst.get_mut(c).and_then(|run| run.get_mut(p))
        } else {
            dst.get_mut(0).and_then(|run| run.get_mut(j))
        };
        if let Some(slot) = slot {
            *slot = put(y);
        }
    }
}

fn apply(e: &Epilogue, v: f32, c: usize) -> f32 {
    e.apply(v, c)
}

/// `V_j = N_j / d` correctly rounded, then the epilogue, into `dst`.
pub fn finish_u32(acc: &[u32], d: u64, fin: &Finish, dst: &mut [&mut [f32]]) {
    write_out(
        acc.iter().map(|&n| round_ratio(u64::from(n), d)),
        fin,
        dst,
        |y| y,
    );
}

/// As [`finish_u32`] for `u64` sums.
pub fn finish_u64(acc: &[u64], d: u64, fin: &Finish, dst: &mut [&mut [f32]]) {
    write_out(acc.iter().map(|&n| round_ratio(n, d)), fin, dst, |y| y);
}

/// The epilogue of float-path values `V_j = acc[j]`, into `dst`.
pub fn finish_f32(acc: &[f32], fin: &Finish, dst: &mut [&mut [f32]]) {
    write_out(acc.iter().copied(), fin, dst, |y| y);
}

/// [`finish_u32`] into a half-precision output: each `y` rounded by [`Half::bits`]
/// (docs/contract.md section 10).
pub fn finish_u32_half(acc: &[u32], d: u64, fin: &Finish, half: Half, dst: &mut [&mut [u16]]) {
    let values = acc.iter().map(|&n| round_ratio(u64::from(n), d));
    write_out(values, fin, dst, |y| half.bits(y));
}

/// [`finish_u64`] into a half-precision output.
pub fn finish_u64_half(acc: &[u64], d: u64, fin: &Finish, half: Half, dst: &mut [&mut [u16]]) {
    let values = acc.iter().map(|&n| round_ratio(n, d));
    write_out(values, fin, dst, |y| half.bits(y));
}

/// [`finish_f32`] into a half-precision output.
pub fn finish_f32_half(acc: &[f32], fin: &Finish, half: Half, dst: &mut [&mut [u16]]) {
    write_out(acc.iter().copied(), fin, dst, |y| half.bits(y));
}
