//! The few device primitives the mixing code needs: allocations, copies, launches, events and
//! synchronisation, on two in-order queues. The CUDA backend (`cuda.rs`, feature `cuda`)
//! implements them on cust; the tests implement them on the host emulator, so the pipelines in
//! `gpu.rs`, `host.rs` and `stream.rs` run, bit-checked, without a GPU.
//!
//! Contract: operations on one queue run in the order they were issued; operations on different
//! queues are ordered only through events. Every method checks its ranges and returns an error
//! rather than touching memory outside an allocation; the `unsafe` methods state what the caller
//! must keep alive.

use std::any::Any;
use std::ops::Range;

use crate::error::Result;
use crate::launch::Launch;

/// The two in-order queues (CUDA streams) of a [`crate::Gpu`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Queue {
    /// Kernels, and everything of the streaming path.
    Compute,
    /// Host-to-device uploads that overlap kernels on `Compute`.
    Copy,
}

/// A device allocation (freed on drop).
pub(crate) trait DeviceMem: Send + Sync {
    /// Device address of byte 0.
    fn addr(&self) -> u64;
    /// Bytes.
    fn len(&self) -> usize;
    /// For backend-specific accessors (the CUDA backend's cust buffer).
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// A page-locked host allocation (freed on drop).
pub(crate) trait PinnedMem: Send + Sync {
    /// Its bytes.
    fn bytes(&self) -> &[u8];
    /// Its bytes, writable.
    fn bytes_mut(&mut self) -> &mut [u8];
}

/// A point in a queue's work.
pub(crate) trait Event: Send + Sync {
    /// For the backend that made it.
    #[cfg_attr(not(any(feature = "cuda", test)), allow(dead_code))]
    fn as_any(&self) -> &dyn Any;
    /// As [`Event::as_any`], by value.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// Checks `offset..offset + n` against an allocation of `len` bytes.
#[cfg(any(feature = "cuda", test))]
pub(crate) fn check_range(offset: usize, n: usize, len: usize) -> Result<Range<usize>> {
    let end = offset.checked_add(n).ok_or(mixcore::Error::SizeOverflow)?;
    if end > len {
        return Err(crate::Error::DeviceBufferTooSmall { len, needed: end });
    }
    Ok(offset..end)
}

/// The device primitives.
pub(crate) trait Backend: Send + Sync {
    /// For backend-specific accessors.
    #[cfg_attr(not(any(feature = "cuda", test)), allow(dead_code))]
    fn as_any(&self) -> &dyn Any;
    /// The device's name.
    fn device_name(&self) -> Result<String>;
    /// A zeroed device allocation of `bytes` (at least 1) bytes.
    fn alloc(&self, bytes: usize) -> Result<Box<dyn DeviceMem>>;
    /// A zeroed pinned host allocation.
    fn alloc_pinned(&self, bytes: usize) -> Result<Box<dyn PinnedMem>>;
    /// Copies `src` to `dst[offset..]` and waits for it (after all issued work).
    fn upload(&self, dst: &dyn DeviceMem, offset: usize, src: &[u8]) -> Result<()>;
    /// Copies `src[offset..offset + dst.len()]` to `dst` and waits for it.
    fn download(&self, src: &dyn DeviceMem, offset: usize, dst: &mut [u8]) -> Result<()>;
    /// Queues a copy of `src.bytes()[range]` to `dst[offset..]`.
    ///
    /// # Safety
    /// `src` and `dst` must stay allocated, and `src.bytes()[range]` unmodified, until `queue`
    /// has been synchronised (or an event recorded after this copy has completed).
    unsafe fn upload_async(
        &self,
        queue: Queue,
        dst: &dyn DeviceMem,
        offset: usize,
        src: &dyn PinnedMem,
        range: Range<usize>,
    ) -> Result<()>;
    /// Queues a device-to-device copy of `bytes` bytes from `src` to `dst` (both from offset 0).
    ///
    /// # Safety
    /// Both allocations must stay allocated until `queue` has been synchronised.
    unsafe fn copy_async(
        &self,
        queue: Queue,
        dst: &dyn DeviceMem,
        src: &dyn DeviceMem,
        bytes: usize,
    ) -> Result<()>;
    /// Queues a kernel launch.
    ///
    /// # Safety
    /// Every device address in `launch.params` must point into allocations that hold every
    /// byte the kernel reads or writes for these parameters and grid (see `kernels/mix.cu`),
    /// and they must stay allocated until `queue` has been synchronised.
    unsafe fn launch(&self, queue: Queue, launch: &Launch) -> Result<()>;
    /// Records an event after the work issued so far on `queue` (`timing`: usable with
    /// [`Backend::elapsed_ms`]).
    fn record(&self, queue: Queue, timing: bool) -> Result<Box<dyn Event>>;
    /// Makes later work on `queue` wait for `event`.
    fn wait(&self, queue: Queue, event: Box<dyn Event>) -> Result<()>;
    /// Blocks the host until `event` has completed.
    fn event_synchronize(&self, event: &dyn Event) -> Result<()>;
    /// Milliseconds between two timing events (both completed).
    fn elapsed_ms(&self, start: &dyn Event, end: &dyn Event) -> Result<f32>;
    /// Blocks until all work on `queue` has finished; reports errors of that work.
    fn synchronize(&self, queue: Queue) -> Result<()>;
}
