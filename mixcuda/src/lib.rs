//! # mixcuda — Frame Mix-up on NVIDIA GPUs, bit-identical to mixcore
//!
//! The exact path (integer sums, one correctly rounded division, the epilogues) and the float
//! path of `docs/contract.md`, in CUDA C (`kernels/mix.cu`) compiled to PTX with clang-16
//! (`scripts/build-ptx.sh`) and loaded through [cust](https://docs.rs/cust). Every weight,
//! window, position and the accumulator width come from mixcore; the kernels reproduce
//! mixcore's arithmetic step for step, so the output is the same bits as
//! [`mixcore::mix`](https://docs.rs/mixcore) for every schedule, layout, epilogue and shape.
//!
//! - [`Gpu`]: one device (context, two streams, the kernels). [`Gpu::upload_plan`] /
//!   [`Gpu::upload_batch`] pack plans once into a [`DevicePlan`].
//! - [`Gpu::mix_device`]: frames already on the device ([`DeviceFrames`]) to a
//!   [`DeviceOutput`]; a batch of videos in one launch.
//! - [`HostMixer`]: frames in host memory, uploaded chunk by chunk from pinned memory on one
//!   stream while the kernels of earlier chunks run on the other; [`PinnedFrames`] avoids even
//!   the staging copy. Only frames some segment mixes are uploaded.
//! - [`StreamMixer`]: frames pushed as a decoder produces them, accumulated on the device.
//! - Half-precision outputs (docs/contract.md section 10): every path above writes `f16` or
//!   `bf16` into an output from [`Gpu::alloc_output_typed`], the `f32` result rounded to
//!   nearest, ties to even, with `mixcore::mix_half`'s bits ([`DeviceOutput::download_half`]);
//!   [`Gpu::mix_half`] mirrors `mixcore::mix_half` in one call.
//! - [`bench`](mod@bench): the measurements `mixcuda-bench` (in `benches/`) reports.
//!
//! Errors: every CUDA failure becomes [`Error::Cuda`] with the driver's message, every bad
//! request a named [`Error`]; nothing panics. Launches are asynchronous, so each call that
//! finishes work synchronises and reports what the GPU did.
//!
//! ## Without CUDA
//! The `cuda` feature (off by default) pulls in cust, which needs the NVIDIA driver's
//! `libcuda` to link. Without it the crate builds anywhere with the same API, and [`Gpu::new`]
//! returns [`Error::NotCompiledWithCudaSupport`]. With it, on a machine without a GPU,
//! [`Gpu::new`] returns the driver's `no CUDA-capable device is detected`
//! ([`Error::is_no_device`]).
//!
//! ```
//! use mixcore::{FrameView, Geometry, MixSpec, Plan, PlanConfig};
//! use mixcuda::Gpu;
//!
//! let gpu = match Gpu::new(0) {
//!     Ok(gpu) => gpu,
//!     Err(e) if e.is_no_device() => return Ok(()), // no GPU here: nothing to show
//!     Err(e) => return Err(e.into()),
//! };
//! let g = Geometry::new(8, 8, 3)?;
//! let video: Vec<Vec<u8>> = (0..48).map(|f| vec![f as u8; 8 * 8 * 3]).collect();
//! let frames: Vec<FrameView> = video.iter().map(|v| FrameView::packed(v, g)).collect::<Result<_, _>>()?;
//! let plan = Plan::new(48, &PlanConfig::default())?;
//! let spec = MixSpec::default();
//!
//! let on_gpu = gpu.upload_plan(&plan, &spec)?;
//! let mut out = gpu.alloc_output_for(&on_gpu, g)?;
//! gpu.host_mixer().mix(&on_gpu, &frames, &mut out)?;
//!
//! let want = mixcore::mix_to_vec(&plan, &frames, &spec)?;
//! assert!(out.to_vec()?.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Verification
//! Without a GPU, the tests run the kernels' own CUDA C source on the CPU (a host emulator,
//! compiled with AddressSanitizer when available) through the same packing, parameters, launch
//! geometry and pipelines, and compare with mixcore bit for bit; the device tests
//! (`tests/device.rs`) do the same on a GPU and print `skipped: no CUDA device found` without
//! one. `scripts/gpu-check.sh` builds them for, and runs them on, a GPU machine.
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod backend;
pub mod bench;
#[cfg(feature = "cuda")]
mod cuda;
mod error;
mod gpu;
mod host;
mod launch;
mod pack;
mod params;
pub mod ptx;
mod stream;

#[cfg(all(test, feature = "cuda"))]
mod device_tests;
#[cfg(test)]
mod emulate;

/// cust, the CUDA driver bindings mixcuda uses (with the `cuda` feature), for
/// [`DeviceFrames::from_device_buffer`] and interop.
#[cfg(feature = "cuda")]
pub use cust;
pub use error::{Error, Result};
pub use gpu::{DeviceFrames, DeviceOutput, DevicePlan, Gpu, PinnedFrames};
pub use host::HostMixer;
pub use stream::StreamMixer;
