//! Measurements on the device, for `mixcuda-bench` and for users who want their own numbers:
//! kernel time with CUDA events around back-to-back launches, and the copies they are judged
//! against (a device-to-device copy, a pinned host-to-device upload).

use std::time::Instant;

use crate::backend::Queue;
use crate::error::Result;
use crate::gpu::{DeviceFrames, DeviceOutput, DevicePlan, Gpu, PinnedFrames};

/// Runs `f` between two timing events on the compute queue and returns the milliseconds
/// between them; always synchronises before returning.
fn timed(gpu: &Gpu, f: impl FnOnce() -> Result<()>) -> Result<f64> {
    let b = &*gpu.backend;
    let start = b.record(Queue::Compute, true)?;
    let work = f();
    let end = b.record(Queue::Compute, true);
    let sync = b.synchronize(Queue::Compute);
    work?;
    sync?;
    let end = end?;
    Ok(f64::from(b.elapsed_ms(&*start, &*end)?))
}

/// Seconds per mix of [`Gpu::mix_device`], measured by CUDA events around `repeats`
/// back-to-back mixes (launch overhead included, host synchronisation excluded).
///
/// # Errors
/// As [`Gpu::mix_device`].
pub fn mix_device_seconds(
    gpu: &Gpu,
    plan: &DevicePlan,
    frames: &DeviceFrames,
    out: &mut DeviceOutput,
    repeats: u32,
) -> Result<f64> {
    let repeats = repeats.max(1);
    let ms = timed(gpu, || {
        for _ in 0..repeats {
            gpu.enqueue_mix_device(plan, frames, out)?;
        }
        Ok(())
    })?;
    Ok(ms / 1e3 / f64::from(repeats))
}

/// Seconds per device-to-device copy of `bytes` bytes (CUDA events, `repeats` copies).
///
/// # Errors
/// [`crate::Error::Cuda`] (out of memory).
pub fn device_copy_seconds(gpu: &Gpu, bytes: usize, repeats: u32) -> Result<f64> {
    let repeats = repeats.max(1);
    let b = &*gpu.backend;
    let src = b.alloc(bytes.max(1))?;
    let dst = b.alloc(bytes.max(1))?;
    let ms = timed(gpu, || {
        for _ in 0..repeats {
            // SAFETY: both allocations live until `timed` has synchronised the queue.
            unsafe { b.copy_async(Queue::Compute, &*dst, &*src, bytes)? };
        }
        Ok(())
    })?;
    Ok(ms / 1e3 / f64::from(repeats))
}

/// Wall-clock seconds of one upload of the first `bytes` bytes of `frames` (pinned) to the
/// device, including the synchronisation: the baseline for end-to-end host mixes.
///
/// # Errors
/// [`crate::Error::Cuda`], [`crate::Error::DeviceBufferTooSmall`] when `bytes` exceeds the
/// pinned buffer.
pub fn pinned_upload_seconds(gpu: &Gpu, frames: &PinnedFrames, bytes: usize) -> Result<f64> {
    gpu.check_same(&frames.backend, "the pinned frames belong to another Gpu")?;
    let b = &*gpu.backend;
    let dst = b.alloc(bytes.max(1))?;
    let t = Instant::now();
    // SAFETY: `frames` is borrowed and `dst` owned until the synchronisation below.
    let queued = unsafe { b.upload_async(Queue::Copy, &*dst, 0, &*frames.mem, 0..bytes) };
    let sync = b.synchronize(Queue::Copy);
    queued?;
    sync?;
    Ok(t.elapsed().as_secs_f64())
}
