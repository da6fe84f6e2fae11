//! The CUDA backend on cust (feature `cuda`): the only code that talks to the driver, and the
//! only raw `unsafe` FFI in the crate. Every call makes the context current first (so any
//! thread may use a `Gpu`), every driver error becomes [`Error::Cuda`] with the driver's own
//! message, and every copy checks its range before it is issued.

use std::any::Any;
use std::ffi::{CStr, c_void};
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::Arc;

use cust::context::{Context, CurrentContext};
use cust::device::Device;
use cust::error::CudaError;
use cust::event::{Event as CuEvent, EventFlags};
use cust::function::{BlockSize, GridSize};
use cust::memory::{DeviceBuffer, LockedBuffer};
use cust::module::Module;
use cust::stream::{Stream, StreamFlags, StreamWaitEventFlags};
use cust::sys as ffi;

use crate::backend::{Backend, DeviceMem, Event, PinnedMem, Queue, check_range};
use crate::error::{Error, Result};
use crate::launch::Launch;
use crate::ptx::MIX_PTX;

/// A cust error as ours, with the driver's message.
fn cuda_error(operation: &'static str) -> impl Fn(CudaError) -> Error {
    move |e| {
        // cust's Display asks the driver for the message; it can fail, so fall back to the
        // variant name rather than let `to_string` panic.
        let mut message = String::new();
        if write!(message, "{e}").is_err() {
            message.clear();
            let _ = write!(message, "{e:?}");
        }
        Error::Cuda {
            operation,
            code: e as u32,
            message: message.trim_matches('"').to_string(),
        }
    }
}

/// A raw driver result as ours.
fn check(operation: &'static str, r: ffi::CUresult) -> Result<()> {
    if r == ffi::cudaError_enum::CUDA_SUCCESS {
        return Ok(());
    }
    let mut ptr: *const std::os::raw::c_char = std::ptr::null();
    // SAFETY: cuGetErrorString only writes a pointer to a static NUL-terminated string (or
    // leaves it null for an unknown code), which we read once and copy.
    let known = unsafe { ffi::cuGetErrorString(r, &mut ptr) } == ffi::cudaError_enum::CUDA_SUCCESS;
    let message = if known && !ptr.is_null() {
        // SAFETY: see above: a valid static C string.
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    } else {
        format!("{r:?}")
    };
    Err(Error::Cuda {
        operation,
        code: r as u32,
        message,
    })
}

/// How many devices the driver sees.
pub(crate) fn device_count() -> Result<u32> {
    cust::init(cust::CudaFlags::empty()).map_err(cuda_error("driver initialisation"))?;
    Device::num_devices().map_err(cuda_error("device count"))
}

/// The primary context, shared by the backend and every allocation so that it outlives them.
struct Ctx {
    context: Context,
}

impl Ctx {
    fn make_current(&self) -> Result<()> {
        CurrentContext::set_current(&self.context).map_err(cuda_error("making the context current"))
    }
}

/// A device allocation.
pub(crate) struct CudaMem {
    // Declared before `ctx`: dropped while the context is still alive. `None` only after
    // `into_buffer` handed it back.
    buf: Option<DeviceBuffer<u8>>,
    len: usize,
    ctx: Arc<Ctx>,
}

impl Drop for CudaMem {
    fn drop(&mut self) {
        // cuMemFree needs the owning context current on this thread.
        let _ = self.ctx.make_current();
    }
}

impl DeviceMem for CudaMem {
    fn addr(&self) -> u64 {
        self.buf.as_ref().map_or(0, |b| b.as_device_ptr().as_raw())
    }
    fn len(&self) -> usize {
        self.len
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

impl CudaMem {
    /// Wraps a caller's cust buffer (it must belong to the primary context of the same device).
    pub(crate) fn from_buffer(backend: &CudaBackend, buf: DeviceBuffer<u8>) -> CudaMem {
        let len = buf.len();
        CudaMem {
            buf: Some(buf),
            len,
            ctx: Arc::clone(&backend.ctx),
        }
    }

    /// The cust buffer back.
    pub(crate) fn into_buffer(mut self) -> Option<DeviceBuffer<u8>> {
        self.buf.take()
    }
}

/// A page-locked host allocation.
struct CudaPinned {
    buf: LockedBuffer<u8>,
    ctx: Arc<Ctx>,
}

impl Drop for CudaPinned {
    fn drop(&mut self) {
        let _ = self.ctx.make_current();
    }
}

impl PinnedMem for CudaPinned {
    fn bytes(&self) -> &[u8] {
        self.buf.as_slice()
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buf.as_mut_slice()
    }
}

struct CudaEvent(CuEvent);

impl Event for CudaEvent {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// The backend: the module and two streams of one device's primary context.
pub(crate) struct CudaBackend {
    // Declared before `ctx`: module and streams are destroyed while the context is alive.
    module: Module,
    compute: Stream,
    copy: Stream,
    name: String,
    ctx: Arc<Ctx>,
}

impl Drop for CudaBackend {
    fn drop(&mut self) {
        let _ = self.ctx.make_current();
    }
}

impl CudaBackend {
    /// Opens device `ordinal` and loads `mix.ptx`.
    pub(crate) fn new(ordinal: u32) -> Result<CudaBackend> {
        cust::init(cust::CudaFlags::empty()).map_err(cuda_error("driver initialisation"))?;
        let device = Device::get_device(ordinal).map_err(cuda_error("opening the device"))?;
        let name = device
            .name()
            .map_err(cuda_error("reading the device name"))?;
        let ctx = Arc::new(Ctx {
            context: Context::new(device).map_err(cuda_error("creating the context"))?,
        });
        ctx.make_current()?;
        let module = Module::from_ptx(MIX_PTX, &[]).map_err(cuda_error("loading mix.ptx"))?;
        let stream = || {
            Stream::new(StreamFlags::NON_BLOCKING, None).map_err(cuda_error("creating a stream"))
        };
        Ok(CudaBackend {
            module,
            compute: stream()?,
            copy: stream()?,
            name,
            ctx,
        })
    }

    fn stream(&self, q: Queue) -> &Stream {
        match q {
            Queue::Compute => &self.compute,
            Queue::Copy => &self.copy,
        }
    }
}

fn event(e: &dyn Event) -> Result<&CuEvent> {
    e.as_any()
        .downcast_ref::<CudaEvent>()
        .map(|e| &e.0)
        .ok_or(Error::Mismatch {
            what: "an event from another backend",
        })
}

impl Backend for CudaBackend {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn device_name(&self) -> Result<String> {
        Ok(self.name.clone())
    }

    fn alloc(&self, bytes: usize) -> Result<Box<dyn DeviceMem>> {
        self.ctx.make_current()?;
        let len = bytes.max(1);
        let buf =
            DeviceBuffer::<u8>::zeroed(len).map_err(cuda_error("allocating device memory"))?;
        Ok(Box::new(CudaMem {
            buf: Some(buf),
            len,
            ctx: Arc::clone(&self.ctx),
        }))
    }

    fn alloc_pinned(&self, bytes: usize) -> Result<Box<dyn PinnedMem>> {
        self.ctx.make_current()?;
        let buf = LockedBuffer::new(&0u8, bytes.max(1))
            .map_err(cuda_error("allocating pinned memory"))?;
        Ok(Box::new(CudaPinned {
            buf,
            ctx: Arc::clone(&self.ctx),
        }))
    }

    fn upload(&self, dst: &dyn DeviceMem, offset: usize, src: &[u8]) -> Result<()> {
        self.ctx.make_current()?;
        let r = check_range(offset, src.len(), dst.len())?;
        if r.is_empty() {
            return Ok(());
        }
        // SAFETY: the destination range lies inside the live allocation `dst` (checked above)
        // and `src` is a live host slice of exactly that length; the copy is synchronous.
        check("copying to the device", unsafe {
            ffi::cuMemcpyHtoD_v2(
                dst.addr() + r.start as u64,
                src.as_ptr().cast::<c_void>(),
                src.len(),
            )
        })
    }

    fn download(&self, src: &dyn DeviceMem, offset: usize, dst: &mut [u8]) -> Result<()> {
        self.ctx.make_current()?;
        let r = check_range(offset, dst.len(), src.len())?;
        if r.is_empty() {
            return Ok(());
        }
        // SAFETY: the source range lies inside the live allocation `src` (checked above) and
        // `dst` is a live, exclusively borrowed host slice of that length; synchronous.
        check("copying from the device", unsafe {
            ffi::cuMemcpyDtoH_v2(
                dst.as_mut_ptr().cast::<c_void>(),
                src.addr() + r.start as u64,
                dst.len(),
            )
        })
    }

    unsafe fn upload_async(
        &self,
        queue: Queue,
        dst: &dyn DeviceMem,
        offset: usize,
        src: &dyn PinnedMem,
        range: Range<usize>,
    ) -> Result<()> {
        self.ctx.make_current()?;
        let len = src.bytes().len();
        let bytes = src
            .bytes()
            .get(range.clone())
            .ok_or(Error::DeviceBufferTooSmall {
                len,
                needed: range.end,
            })?;
        let r = check_range(offset, bytes.len(), dst.len())?;
        if r.is_empty() {
            return Ok(());
        }
        // SAFETY: both ranges are inside their allocations (checked above); `src` is pinned
        // memory from cuMemAllocHost; the caller keeps both alive and the source unmodified
        // until the queue is synchronised (this method's contract).
        check("queueing an upload", unsafe {
            ffi::cuMemcpyHtoDAsync_v2(
                dst.addr() + r.start as u64,
                bytes.as_ptr().cast::<c_void>(),
                bytes.len(),
                self.stream(queue).as_inner(),
            )
        })
    }

    unsafe fn copy_async(
        &self,
        queue: Queue,
        dst: &dyn DeviceMem,
        src: &dyn DeviceMem,
        bytes: usize,
    ) -> Result<()> {
        self.ctx.make_current()?;
        check_range(0, bytes, dst.len())?;
        check_range(0, bytes, src.len())?;
        // SAFETY: both ranges are inside live allocations (checked above), kept alive by the
        // caller until the queue is synchronised.
        check("queueing a device copy", unsafe {
            ffi::cuMemcpyDtoDAsync_v2(dst.addr(), src.addr(), bytes, self.stream(queue).as_inner())
        })
    }

    unsafe fn launch(&self, queue: Queue, launch: &Launch) -> Result<()> {
        self.ctx.make_current()?;
        let function = self
            .module
            .get_function(launch.kernel.name())
            .map_err(cuda_error("finding a kernel in mix.ptx"))?;
        // The argument struct's image, little-endian as the device reads it, 8-aligned.
        let mut image: Vec<u64> = launch.params.iter().map(|w| w.to_le()).collect();
        let args = [image.as_mut_ptr().cast::<c_void>()];
        let [gx, gy, gz] = launch.grid;
        let [bx, by, bz] = launch.block;
        // SAFETY: the one kernel launch of the crate. Every kernel of mix.ptx takes exactly one
        // by-value struct argument, whose image `image` is (its size is checked against the
        // header by the unit and emulator tests); `args` and `image` outlive the call, which
        // copies them. The device addresses inside and their sizes are the caller's contract.
        let r = unsafe {
            self.stream(queue).launch(
                &function,
                GridSize::xyz(gx, gy, gz),
                BlockSize::xyz(bx, by, bz),
                0,
                &args,
            )
        };
        r.map_err(cuda_error(launch.kernel.name()))
    }

    fn record(&self, queue: Queue, timing: bool) -> Result<Box<dyn Event>> {
        self.ctx.make_current()?;
        let flags = if timing {
            EventFlags::DEFAULT
        } else {
            EventFlags::DISABLE_TIMING
        };
        let e = CuEvent::new(flags).map_err(cuda_error("creating an event"))?;
        e.record(self.stream(queue))
            .map_err(cuda_error("recording an event"))?;
        Ok(Box::new(CudaEvent(e)))
    }

    fn wait(&self, queue: Queue, event: Box<dyn Event>) -> Result<()> {
        self.ctx.make_current()?;
        let e = event
            .into_any()
            .downcast::<CudaEvent>()
            .map_err(|_| Error::Mismatch {
                what: "an event from another backend",
            })?;
        // cust's wait_event takes the event; CUDA lets it be destroyed once the wait is queued.
        self.stream(queue)
            .wait_event(e.0, StreamWaitEventFlags::DEFAULT)
            .map_err(cuda_error("queueing an event wait"))
    }

    fn event_synchronize(&self, e: &dyn Event) -> Result<()> {
        self.ctx.make_current()?;
        event(e)?
            .synchronize()
            .map_err(cuda_error("waiting for an event"))
    }

    fn elapsed_ms(&self, start: &dyn Event, end: &dyn Event) -> Result<f32> {
        self.ctx.make_current()?;
        event(end)?
            .elapsed_time_f32(event(start)?)
            .map_err(cuda_error("reading an event timer"))
    }

    fn synchronize(&self, queue: Queue) -> Result<()> {
        self.ctx.make_current()?;
        self.stream(queue).synchronize().map_err(cuda_error(
            "stream synchronisation (errors of queued copies and kernels)",
        ))
    }
}
