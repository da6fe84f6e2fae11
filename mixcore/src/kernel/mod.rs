//! Kernels: the per-tile primitives every mix is built from, one table per backend. Public
//! (apart from [`Backend`]) only with the `unstable-internals` feature, without a promise of
//! stability.
//!
//! `reference.rs` is the contract in code; `wide.rs` (portable SIMD), `avx2.rs` and
//! `avx512.rs` (x86-64, chosen at run time) give the same bits. [`Kernels::for_backend`] is the one dispatch point.
//!
//! A mix works on tiles: a run of at most [`crate::TILE_ELEMENTS`] bytes of one row. The
//! window's frames are added into the tile's accumulators in groups of at most
//! [`MAX_GROUP`] rows (so the accumulators are loaded and stored once per group), then a
//! `finish` kernel rounds, applies the epilogue and lays the values out.

use crate::epilogue::Epilogue;
use crate::half::{self, Half};

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod reference;
pub mod wide;

/// The most rows one accumulate call takes.
pub const MAX_GROUP: usize = 16;

/// Which implementation of the kernels runs a mix. Every backend gives the same bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// The fastest backend this CPU runs. Default.
    #[default]
    Auto,
    /// The scalar reference, one element at a time.
    Reference,
    /// Portable SIMD through `wide` (SSE2/AVX2/NEON as compiled).
    Wide,
    /// x86-64 AVX2 with FMA and F16C (every AVX2 CPU has it), detected at run time (with `std`) or compiled in (`target-cpu`).
    Avx2,
    /// x86-64 AVX-512 F, BW, VL and DQ with FMA (VNNI used where present), detected at run
    /// time (with `std`) or compiled in (`target-cpu`).
    Avx512,
}

/// How a tile's values are finished: epilogue, channel count and layout of the destination.
///
/// A finish kernel writes a tile of `pixels` pixels to `dst`: when `planar`, `dst[c]` is
/// channel `c`'s run of `pixels` values; otherwise `dst[0]` holds `pixels * channels`
/// values interleaved like the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Finish {
    /// The epilogue.
    pub epilogue: Epilogue,
    /// Interleaved channels per pixel.
    pub channels: usize,
    /// One destination run per channel (`Tchw`, `Cthw`) or one interleaved run (`Thwc`).
    pub planar: bool,
}

/// Adds a group of rows into a tile's accumulators:
/// `acc[j] = (init ? 0 : acc[j]) + sum over g of n[g] * rows[g][j]`.
pub type AccumulateFn<A, W> = fn(acc: &mut [A], rows: &[&[u8]], n: &[W], init: bool);

/// A one-pass exact mix of a window: `(rows, numerators, d, finish, dst) -> elements done`.
pub type FusedFn =
    fn(rows: &[&[u8]], n: &[u32], d: u64, fin: &Finish, dst: &mut [&mut [f32]]) -> usize;

/// Finishes exact sums into a half-precision output: `(sums, d, finish, half, dst)`, each
/// value the `f32` finish's rounded to `half` (docs/contract.md section 10), stored as bits.
pub type FinishHalfFn<A> = fn(acc: &[A], d: u64, fin: &Finish, half: Half, dst: &mut [&mut [u16]]);

/// A one-pass exact mix of a window into a half-precision output (`u16` bit patterns, each the
/// [`FusedFn`] value rounded to `half`, docs/contract.md section 10): `(rows, numerators, d,
/// finish, half, dst) -> elements done`.
pub type FusedHalfFn = fn(
    rows: &[&[u8]],
    n: &[u32],
    d: u64,
    fin: &Finish,
    half: Half,
    dst: &mut [&mut [u16]],
) -> usize;

/// One backend's tile primitives. Rows hold at least `acc.len()` bytes; groups hold at most
/// [`MAX_GROUP`] rows; tiles at most [`crate::TILE_ELEMENTS`] elements.
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    /// Which backend this table is (read by `check-ref` and the tests).
    #[cfg_attr(
        not(any(feature = "unstable-internals", feature = "check-ref")),
        allow(dead_code)
    )]
    pub backend: Backend,
    /// Exact sums in `u32` (the plan guarantees `255 * D` fits).
    pub accumulate_u32: AccumulateFn<u32, u32>,
    /// Exact sums in `u64`.
    pub accumulate_u64: AccumulateFn<u64, u32>,
    /// Float path: `acc = acc + w * v` per row in order, unfused.
    pub accumulate_f32: AccumulateFn<f32, f32>,
    /// `V = N / d` correctly rounded, epilogue, layout into the destination runs.
    pub finish_u32: fn(acc: &[u32], d: u64, fin: &Finish, dst: &mut [&mut [f32]]),
    /// As `finish_u32` for `u64` sums.
    pub finish_u64: fn(acc: &[u64], d: u64, fin: &Finish, dst: &mut [&mut [f32]]),
    /// Epilogue and layout of float-path values.
    pub finish_f32: fn(acc: &[f32], fin: &Finish, dst: &mut [&mut [f32]]),
    /// As `finish_u32`, each value then rounded to the half format (docs/contract.md
    /// section 10) and stored as its bits.
    pub finish_u32_half: FinishHalfFn<u32>,
    /// As `finish_u64`, rounded to the half format.
    pub finish_u64_half: FinishHalfFn<u64>,
    /// As `finish_f32`, rounded to the half format.
    pub finish_f32_half: fn(acc: &[f32], fin: &Finish, half: Half, dst: &mut [&mut [u16]]),
    /// Optional one-pass exact mix of a whole window given as one group: returns how many
    /// leading elements (of `rows[0].len()`) it finished into `dst`, possibly 0; the engine
    /// does the rest with the kernels above.
    pub mix_fused: Option<FusedFn>,
    /// As `mix_fused`, into a half-precision output: the same elements done for the same
    /// arguments, each value rounded to the half format.
    pub mix_fused_half: Option<FusedHalfFn>,
    /// How many leading frames of a run (given by their numerators, at most [`MAX_GROUP`])
    /// `accumulate_u32` and `mix_fused` take as one group: a backend whose fast path has
    /// limits (AVX2's 16-bit pair sums) ends a group where they would be crossed. Every backend
    /// is exact for any grouping, so this only sets speed. At least 1 for a non-empty run.
    pub exact_group: fn(nums: &[u32]) -> usize,
}

/// Pixels a [`staged`] finish rounds per step (its `f32` values live on the stack: at most
/// 4 channels, so 4 KiB).
const STAGE_PIXELS: usize = 256;

/// A half-precision finish from an `f32` one: the elements of `acc` are finished by
/// `finish(part, runs)` a few pixels at a time into an `f32` buffer on the stack, then each
/// value is rounded by [`half::convert`] into the matching part of `dst`, exactly as if the
/// `f32` finish had run over all of `acc` and its output were converted (runs shorter than
/// the layout asks get only the values that fit, as the reference's finish does).
pub(crate) fn staged<A>(
    acc: &[A],
    fin: &Finish,
    half: Half,
    dst: &mut [&mut [u16]],
    mut finish: impl FnMut(&[A], &mut [&mut [f32]]),
) {
    let ch = fin.channels.clamp(1, 4);
    let used = if fin.planar {
        dst.len().min(4)
    } else {
        dst.len().min(1)
    };
    let mut buf = [0f32; STAGE_PIXELS * 4];
    let mut p0 = 0;
    while p0 * ch < acc.len() {
        let (e0, e1) = (p0 * ch, ((p0 + STAGE_PIXELS) * ch).min(acc.len()));
        // Where the part lands in each run, and its values' length there.
        let (from, per) = if fin.planar {
            (p0, (e1 - e0).div_ceil(ch))
        } else {
            (e0, e1 - e0)
        };
        let mut runs: [&mut [f32]; 4] = [&mut [], &mut [], &mut [], &mut []];
        for (slot, chunk) in runs.iter_mut().zip(buf.chunks_mut(per)).take(used) {
            *slot = chunk;
        }
        finish(&acc[e0..e1], &mut runs[..used]);
        let n = e1 - e0;
        for (c, (run, out)) in runs.iter().zip(dst.iter_mut()).take(used).enumerate() {
            // A planar run holds only its channel's values (fewer when the part ends inside
            // a pixel).
            let len = if fin.planar {
                n / ch + usize::from(c < n % ch)
            } else {
                n
            };
            let start = from.min(out.len());
            half::convert(&run[..len.min(run.len())], &mut out[start..], half);
        }
        p0 += STAGE_PIXELS;
    }
}

/// `Kernels::exact_group` for backends without group limits: the whole run.
fn whole_group(nums: &[u32]) -> usize {
    nums.len()
}

const REFERENCE: Kernels = Kernels {
    backend: Backend::Reference,
    accumulate_u32: reference::accumulate_u32,
    accumulate_u64: reference::accumulate_u64,
    accumulate_f32: reference::accumulate_f32,
    finish_u32: reference::finish_u32,
    finish_u64: reference::finish_u64,
    finish_f32: reference::finish_f32,
    finish_u32_half: reference::finish_u32_half,
    finish_u64_half: reference::finish_u64_half,
    finish_f32_half: reference::finish_f32_half,
    mix_fused: None,
    mix_fused_half: None,
    exact_group: whole_group,
};

const WIDE: Kernels = Kernels {
    backend: Backend::Wide,
    accumulate_u32: wide::accumulate_u32,
    accumulate_u64: reference::accumulate_u64,
    accumulate_f32: wide::accumulate_f32,
    finish_u32: wide::finish_u32,
    finish_u64: wide::finish_u64,
    finish_f32: reference::finish_f32,
    finish_u32_half: wide::finish_u32_half,
    finish_u64_half: wide::finish_u64_half,
    finish_f32_half: reference::finish_f32_half,
    mix_fused: None,
    mix_fused_half: None,
    exact_group: whole_group,
};

#[cfg(target_arch = "x86_64")]
const AVX2: Kernels = Kernels {
    backend: Backend::Avx2,
    accumulate_u32: avx2::accumulate_u32,
    accumulate_u64: reference::accumulate_u64,
    accumulate_f32: avx2::accumulate_f32,
    finish_u32: avx2::finish_u32,
    finish_u64: wide::finish_u64,
    finish_f32: avx2::finish_f32,
    finish_u32_half: avx2::finish_u32_half,
    finish_u64_half: wide::finish_u64_half,
    finish_f32_half: avx2::finish_f32_half,
    mix_fused: Some(avx2::mix_fused_u16),
    mix_fused_half: Some(avx2::mix_fused_u16_half),
    exact_group: avx2::exact_group,
};

#[cfg(target_arch = "x86_64")]
const AVX512: Kernels = Kernels {
    backend: Backend::Avx512,
    accumulate_u32: avx512::accumulate_u32,
    accumulate_u64: avx512::accumulate_u64,
    accumulate_f32: avx512::accumulate_f32,
    finish_u32: avx512::finish_u32,
    finish_u64: avx512::finish_u64,
    finish_f32: avx512::finish_f32,
    finish_u32_half: avx512::finish_u32_half,
    finish_u64_half: avx512::finish_u64_half,
    finish_f32_half: avx512::finish_f32_half,
    mix_fused: Some(avx512::mix_fused_u16),
    mix_fused_half: Some(avx512::mix_fused_u16_half),
    // The AVX-512 kernels take the 16-bit pair route under the same limits as AVX2's.
    exact_group: avx2::exact_group,
};

/// [`AVX512`] with the VNNI route for groups the 16-bit pair route cannot take.
#[cfg(target_arch = "x86_64")]
const AVX512_VNNI: Kernels = Kernels {
    accumulate_u32: avx512::accumulate_u32_vnni,
    exact_group: avx512::exact_group_vnni,
    ..AVX512
};

impl Backend {
    /// True when this CPU (and build) can run the backend.
    #[must_use]
    pub fn is_available(self) -> bool {
        match self {
            Backend::Auto | Backend::Reference | Backend::Wide => true,
            Backend::Avx2 => has_avx2(),
            Backend::Avx512 => has_avx512(),
        }
    }
}

/// True when the CPU runs the AVX2 backend (AVX2, FMA and F16C).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
pub(crate) fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("f16c")
}

/// True when the CPU runs the AVX2 backend (compiled-in target features without `std`).
#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
pub(crate) fn has_avx2() -> bool {
    cfg!(all(
        target_feature = "avx2",
        target_feature = "fma",
        target_feature = "f16c"
    ))
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx2() -> bool {
    false
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn has_avx512() -> bool {
    has_avx2()
        && std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512dq")
}

#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn has_avx512() -> bool {
    has_avx2()
        && cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512vl",
            target_feature = "avx512dq"
        ))
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx512() -> bool {
    false
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn has_avx512_vnni() -> bool {
    has_avx512() && std::is_x86_feature_detected!("avx512vnni")
}

#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn has_avx512_vnni() -> bool {
    has_avx512() && cfg!(target_feature = "avx512vnni")
}

impl Kernels {
    /// The table for `backend`. `Auto` picks AVX-512 when the CPU has it, else AVX2, else
    /// `Wide`; asking for a backend the CPU lacks gives `Wide` (check [`Kernels::backend`] or
    /// [`Backend::is_available`]).
    #[must_use]
    pub fn for_backend(backend: Backend) -> Kernels {
        match backend {
            Backend::Reference => REFERENCE,
            Backend::Wide => WIDE,
            Backend::Avx512 => {
                #[cfg(target_arch = "x86_64")]
                if has_avx512() {
                    // The AVX-512 tables may only be handed out here, after detection: their
                    // functions run AVX-512 instructions, and VNNI ones in the VNNI table (see
                    // `avx512.rs`).
                    return if has_avx512_vnni() {
                        AVX512_VNNI
                    } else {
                        AVX512
                    };
                }
                WIDE
            }
            Backend::Auto if has_avx512() => Kernels::for_backend(Backend::Avx512),
            Backend::Auto | Backend::Avx2 => {
                #[cfg(target_arch = "x86_64")]
                if has_avx2() {
                    // The AVX2 table may only be handed out here, after detection: its
                    // functions run AVX2 instructions (see `avx2.rs`).
                    return AVX2;
                }
                WIDE
            }
        }
    }
}
