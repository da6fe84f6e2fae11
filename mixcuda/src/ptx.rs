//! The kernels' PTX, generated from `kernels/mix.cu` by `scripts/build-ptx.sh` (clang-16,
//! `sm_70`, contraction off) and committed; CI regenerates it and fails when it is stale.

/// PTX of every kernel in `kernels/mix.cu`, loaded once per [`crate::Gpu`].
pub const MIX_PTX: &str = include_str!("../kernels/mix.ptx");
