//! Kernels: the per-row primitives every mix is built from, one table per backend.
//!
//! `reference.rs` is the contract in code; `wide.rs` (portable SIMD) gives the same bits.
//! [`Kernels::for_backend`] is the one dispatch point.

pub mod reference;
pub mod wide;

/// Which implementation of the kernels runs a mix.
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
}

/// One backend's row primitives.
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    /// Which backend this table is.
    pub backend: Backend,
    /// `acc[j] += n * src[j]` in `u32`.
    pub accumulate_u32: fn(&mut [u32], &[u8], u32),
    /// `acc[j] += n * src[j]` in `u64`.
    pub accumulate_u64: fn(&mut [u64], &[u8], u32),
    /// `acc[j] = acc[j] + w * src[j]`, unfused `f32`.
    pub accumulate_f32: fn(&mut [f32], &[u8], f32),
    /// `out[j] = N_j / d` correctly rounded, `u32` numerators.
    pub divide_u32: fn(&[u32], u64, &mut [f32]),
    /// `out[j] = N_j / d` correctly rounded, `u64` numerators.
    pub divide_u64: fn(&[u64], u64, &mut [f32]),
}

impl Kernels {
    /// The table for `backend`; `Auto` resolves to the fastest available.
    #[must_use]
    pub fn for_backend(backend: Backend) -> Kernels {
        match backend {
            Backend::Reference => Kernels {
                backend: Backend::Reference,
                accumulate_u32: reference::accumulate_u32,
                accumulate_u64: reference::accumulate_u64,
                accumulate_f32: reference::accumulate_f32,
                divide_u32: reference::divide_u32,
                divide_u64: reference::divide_u64,
            },
            Backend::Auto | Backend::Wide => Kernels {
                backend: Backend::Wide,
                accumulate_u32: wide::accumulate_u32,
                accumulate_u64: reference::accumulate_u64,
                accumulate_f32: wide::accumulate_f32,
                divide_u32: wide::divide_u32,
                divide_u64: wide::divide_u64,
            },
        }
    }
}
