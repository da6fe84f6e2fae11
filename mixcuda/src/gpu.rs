//! The device, plans on it, and device/pinned buffers; mixing frames already on the device.

use std::sync::Arc;

use mixcore::{Dtype, FrameView, Geometry, Half, MixSpec, Plan};

use crate::backend::{Backend, DeviceMem, PinnedMem, Queue};
use crate::error::{Error, Result};
use crate::launch::{Addresses, PoolLayout, frame_pixels, mix_launches};
use crate::pack::{Packed, pack};
use crate::params::{Store, encode_jobs};

/// One CUDA device: a context, two streams (kernels; uploads that overlap them) and the loaded
/// kernels. Every buffer made from a `Gpu` keeps its context alive.
///
/// Without the `cuda` feature, [`Gpu::new`] and [`Gpu::device_count`] return
/// [`Error::NotCompiledWithCudaSupport`], so code written against this API builds and runs (and
/// reports that) on machines without CUDA.
pub struct Gpu {
    pub(crate) backend: Arc<dyn Backend>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").finish_non_exhaustive()
    }
}

pub(crate) fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl Gpu {
    /// Opens device `ordinal` (0 is the first), retains its primary context (the one cust's
    /// `quick_init` and the CUDA runtime use) and loads the kernels.
    ///
    /// # Errors
    /// [`Error::NotCompiledWithCudaSupport`] without the `cuda` feature; [`Error::Cuda`] when
    /// there is no such device or the driver refuses (`no CUDA-capable device is detected` on a
    /// machine without a GPU: see [`Error::is_no_device`]).
    pub fn new(ordinal: u32) -> Result<Gpu> {
        #[cfg(feature = "cuda")]
        {
            Ok(Gpu {
                backend: Arc::new(crate::cuda::CudaBackend::new(ordinal)?),
            })
        }
        #[cfg(not(feature = "cuda"))]
        {
            let _ = ordinal;
            Err(Error::NotCompiledWithCudaSupport)
        }
    }

    /// How many CUDA devices the driver sees.
    ///
    /// # Errors
    /// [`Error::NotCompiledWithCudaSupport`] without the `cuda` feature; [`Error::Cuda`] when the
    /// driver cannot be initialised (for example `no CUDA-capable device is detected`).
    pub fn device_count() -> Result<u32> {
        #[cfg(feature = "cuda")]
        {
            crate::cuda::device_count()
        }
        #[cfg(not(feature = "cuda"))]
        {
            Err(Error::NotCompiledWithCudaSupport)
        }
    }

    /// A `Gpu` on the host emulator (tests).
    #[cfg(test)]
    pub(crate) fn emulated() -> Gpu {
        Gpu {
            backend: Arc::new(crate::emulate::device::EmuBackend::default()),
        }
    }

    /// The device's name, for example `NVIDIA H100 80GB HBM3`.
    ///
    /// # Errors
    /// [`Error::Cuda`].
    pub fn name(&self) -> Result<String> {
        self.backend.device_name()
    }

    pub(crate) fn check_same(&self, other: &Arc<dyn Backend>, what: &'static str) -> Result<()> {
        if Arc::ptr_eq(&self.backend, other) {
            Ok(())
        } else {
            Err(Error::Mismatch { what })
        }
    }

    /// Packs `plan` with `spec` and uploads it: positions, numerators, denominators (and float
    /// weights on the float path) go to the device once, for any number of mixes.
    ///
    /// # Errors
    /// mixcore's errors for a spec the plan does not accept (float weights of the wrong length,
    /// negative, ...); [`Error::Cuda`].
    pub fn upload_plan(&self, plan: &Plan<'_>, spec: &MixSpec<'_>) -> Result<DevicePlan> {
        self.upload_batch(std::slice::from_ref(plan), spec)
    }

    /// Packs a batch: one plan per video (their frame counts and segment counts may differ),
    /// mixed in one launch into one output, video after video (each video's block is
    /// `S_b * C * H * W` values in `spec.layout`). Frame `f` of video `b` is frame
    /// [`DevicePlan::frame_index`]`(b, f)` of the batch.
    ///
    /// # Errors
    /// [`Error::EmptyBatch`]; mixcore's errors wrapped in [`Error::Video`]; [`Error::Cuda`].
    pub fn upload_batch(&self, plans: &[Plan<'_>], spec: &MixSpec<'_>) -> Result<DevicePlan> {
        let packed = pack(plans, spec)?;
        let b = &*self.backend;
        let upload = |bytes: Vec<u8>| -> Result<Box<dyn DeviceMem>> {
            let mem = b.alloc(bytes.len().max(1))?;
            b.upload(&*mem, 0, &bytes)?;
            Ok(mem)
        };
        Ok(DevicePlan {
            backend: Arc::clone(&self.backend),
            jobs: upload(encode_jobs(&packed.jobs))?,
            term_frame: upload(u32_bytes(&packed.term_frame))?,
            term_slot: upload(u32_bytes(&packed.term_slot))?,
            term_numer: upload(u32_bytes(&packed.term_numer))?,
            term_weight: upload(f32_bytes(&packed.term_weight))?,
            packed,
        })
    }

    /// Device memory for `count` frames of `geometry`, rows packed (`row_stride = W * C`,
    /// `frame_pitch = H * W * C`), zeroed.
    ///
    /// # Errors
    /// The geometry's errors, [`Error::FrameTooLarge`], [`Error::Cuda`] (out of memory).
    pub fn alloc_frames(&self, geometry: Geometry, count: usize) -> Result<DeviceFrames> {
        frame_pixels(geometry)?;
        let pitch = geometry.elements()?;
        let bytes = pitch
            .checked_mul(count)
            .ok_or(mixcore::Error::SizeOverflow)?;
        let mem = self.backend.alloc(bytes.max(1))?;
        DeviceFrames::wrap(
            &self.backend,
            mem,
            geometry,
            geometry.row_bytes()?,
            pitch,
            count,
        )
    }

    /// Device memory for `len` `f32` output values, zeroed.
    ///
    /// # Errors
    /// [`Error::Cuda`] (out of memory), size overflow.
    pub fn alloc_output(&self, len: usize) -> Result<DeviceOutput> {
        self.alloc_output_typed(len, Dtype::F32)
    }

    /// Device memory for `len` output values of `dtype`, zeroed. Every mix into it
    /// ([`Gpu::mix_device`], [`crate::HostMixer`], [`crate::StreamMixer::finish`]) stores that
    /// type: `f16` and `bf16` are the `f32` result rounded to nearest, ties to even
    /// (docs/contract.md section 10; `mixcore::mix_half`'s bits), written as 2 bytes each.
    ///
    /// # Errors
    /// [`Error::Cuda`] (out of memory), size overflow.
    pub fn alloc_output_typed(&self, len: usize, dtype: Dtype) -> Result<DeviceOutput> {
        let store = Store::of(dtype);
        let bytes = len
            .checked_mul(store.bytes())
            .ok_or(mixcore::Error::SizeOverflow)?;
        Ok(DeviceOutput {
            backend: Arc::clone(&self.backend),
            mem: self.backend.alloc(bytes.max(1))?,
            len,
            store,
        })
    }

    /// An `f32` output buffer of exactly the size `plan` writes for frames of `geometry`.
    ///
    /// # Errors
    /// As [`Gpu::alloc_output`], and the geometry's errors.
    pub fn alloc_output_for(&self, plan: &DevicePlan, geometry: Geometry) -> Result<DeviceOutput> {
        self.alloc_output(plan.output_len(geometry)?)
    }

    /// As [`Gpu::alloc_output_for`], of `dtype` elements ([`Gpu::alloc_output_typed`]).
    ///
    /// # Errors
    /// As [`Gpu::alloc_output_typed`], and the geometry's errors.
    pub fn alloc_output_for_typed(
        &self,
        plan: &DevicePlan,
        geometry: Geometry,
        dtype: Dtype,
    ) -> Result<DeviceOutput> {
        self.alloc_output_typed(plan.output_len(geometry)?, dtype)
    }

    /// [`mixcore::mix_half`] on the GPU, in one call: packs and uploads `plan`, uploads the
    /// frames it mixes, mixes them into a device output of `half` and downloads it into `out`
    /// ([`mixcore::output_len`] values, as bit patterns). The same bits as `mixcore::mix_half`.
    /// For repeated mixes, keep a [`DevicePlan`], a [`crate::HostMixer`] and an output from
    /// [`Gpu::alloc_output_for_typed`] instead.
    ///
    /// # Errors
    /// mixcore's `FrameCountMismatch`, `FrameGeometryMismatch`, `BufferTooSmall` (when `out`
    /// is shorter than the output) and the spec's errors; [`Error::Unsupported`]; [`Error::Cuda`].
    ///
    /// ```
    /// use mixcore::{FrameView, Geometry, Half, MixSpec, Plan, PlanConfig};
    /// use mixcuda::Gpu;
    ///
    /// let gpu = match Gpu::new(0) {
    ///     Ok(gpu) => gpu,
    ///     Err(e) if e.is_no_device() => return Ok(()), // no GPU here: nothing to show
    ///     Err(e) => return Err(e.into()),
    /// };
    /// let g = Geometry::new(1, 1, 1)?;
    /// let bytes = [[0u8], [10], [20], [30]];
    /// let frames: Vec<FrameView> = bytes.iter().map(|b| FrameView::packed(b, g)).collect::<Result<_, _>>()?;
    /// let plan = Plan::new(4, &PlanConfig { segments: 1, ..PlanConfig::default() })?;
    /// let mut out = [0u16; 1];
    /// gpu.mix_half(&plan, &frames, &MixSpec::default(), Half::F16, &mut out)?;
    /// assert_eq!(out[0], 0x4d00); // 20.0 in f16, as mixcore::mix_half gives
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mix_half(
        &self,
        plan: &Plan<'_>,
        frames: &[FrameView<'_>],
        spec: &MixSpec<'_>,
        half: Half,
        out: &mut [u16],
    ) -> Result<()> {
        let store = Store::of_half(half);
        let Some(first) = frames.first() else {
            return Err(mixcore::Error::FrameCountMismatch {
                expected: plan.frames(),
                found: 0,
            }
            .into());
        };
        let g = first.geometry();
        let len = mixcore::output_len(plan, g)?;
        if out.len() < len {
            return Err(mixcore::Error::BufferTooSmall {
                len: out.len(),
                needed: len,
            }
            .into());
        }
        let on_gpu = self.upload_plan(plan, spec)?;
        let mut device = self.alloc_output_typed(len, store.dtype())?;
        self.host_mixer().mix(&on_gpu, frames, &mut device)?;
        device.download_half(&mut out[..len])
    }

    /// Page-locked host memory for `count` packed frames of `geometry`: fill it (for example
    /// straight from a decoder) and [`crate::HostMixer::mix_pinned`] uploads it with no extra
    /// host copy.
    ///
    /// # Errors
    /// The geometry's errors, [`Error::Cuda`].
    pub fn alloc_pinned_frames(&self, geometry: Geometry, count: usize) -> Result<PinnedFrames> {
        frame_pixels(geometry)?;
        let frame_bytes = geometry.elements()?;
        let bytes = frame_bytes
            .checked_mul(count)
            .ok_or(mixcore::Error::SizeOverflow)?;
        Ok(PinnedFrames {
            backend: Arc::clone(&self.backend),
            mem: self.backend.alloc_pinned(bytes.max(1))?,
            geometry,
            count,
            frame_bytes,
        })
    }

    /// Checks a device mix: same device, frames enough and of one geometry, output large
    /// enough, epilogue valid for the channel count. Returns the pixels per frame.
    pub(crate) fn check_device_mix(
        &self,
        plan: &DevicePlan,
        frames: &DeviceFrames,
        out: &DeviceOutput,
    ) -> Result<u32> {
        self.check_same(&plan.backend, "the plan was uploaded to another Gpu")?;
        self.check_same(&frames.backend, "the frames live on another Gpu")?;
        self.check_same(&out.backend, "the output lives on another Gpu")?;
        let g = frames.geometry;
        let pixels = frame_pixels(g)?;
        plan.packed.epilogue.validate(g.channels)?;
        let needed = plan.packed.total_frames as usize;
        if frames.count < needed {
            return Err(Error::NotEnoughFrames {
                count: frames.count,
                needed,
            });
        }
        let out_len = plan.output_len(g)?;
        if out.len < out_len {
            return Err(Error::DeviceBufferTooSmall {
                len: out.len,
                needed: out_len,
            });
        }
        Ok(pixels)
    }

    /// Mixes frames already on the device: frame `i` of `frames` is frame `i` of the plan (of
    /// the batch: see [`DevicePlan::frame_index`]); `out` receives [`DevicePlan::output_len`]
    /// values. One launch (or one per 65,535 segments) and one synchronisation, where CUDA's
    /// errors are reported.
    ///
    /// # Errors
    /// [`Error::NotEnoughFrames`], [`Error::DeviceBufferTooSmall`], [`Error::Mismatch`],
    /// mixcore's `BadNormalization`, [`Error::Cuda`].
    pub fn mix_device(
        &self,
        plan: &DevicePlan,
        frames: &DeviceFrames,
        out: &mut DeviceOutput,
    ) -> Result<()> {
        self.enqueue_mix_device(plan, frames, out)?;
        self.backend.synchronize(Queue::Compute)
    }

    /// Queues [`Gpu::mix_device`]'s launches without waiting (the caller synchronises).
    pub(crate) fn enqueue_mix_device(
        &self,
        plan: &DevicePlan,
        frames: &DeviceFrames,
        out: &mut DeviceOutput,
    ) -> Result<()> {
        self.check_device_mix(plan, frames, out)?;
        let addr = Addresses {
            frames: frames.mem.addr(),
            out: out.mem.addr(),
            acc: 0,
            ..plan.addresses(false)
        };
        let pool = PoolLayout {
            row_stride: frames.row_stride,
            frame_pitch: frames.frame_pitch,
        };
        let launches = mix_launches(
            &plan.packed,
            frames.geometry,
            pool,
            addr,
            0..plan.jobs(),
            out.store,
        )?;
        for l in &launches {
            // SAFETY: check_device_mix proved that `frames` holds every frame a term indexes
            // (term_frame < total_frames <= count, each frame's rows inside the allocation by
            // DeviceFrames' invariant), that `out` holds output_len values, and the plan's
            // arrays were sized by `pack` for exactly these jobs and terms. Our callers
            // synchronise the compute queue before `plan`, `frames` or `out` can be dropped or
            // touched again (they are borrowed for the whole call).
            unsafe { self.backend.launch(Queue::Compute, l)? };
        }
        Ok(())
    }
}

/// A plan (or a batch of plans) packed and uploaded with its spec; reusable for any number of
/// mixes of frames of any geometry.
pub struct DevicePlan {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) packed: Packed,
    pub(crate) jobs: Box<dyn DeviceMem>,
    pub(crate) term_frame: Box<dyn DeviceMem>,
    pub(crate) term_slot: Box<dyn DeviceMem>,
    pub(crate) term_numer: Box<dyn DeviceMem>,
    pub(crate) term_weight: Box<dyn DeviceMem>,
}

impl std::fmt::Debug for DevicePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevicePlan")
            .field("videos", &self.packed.videos.len())
            .field("frames", &self.packed.total_frames)
            .field("segments", &self.packed.total_segments)
            .finish_non_exhaustive()
    }
}

impl DevicePlan {
    pub(crate) fn jobs(&self) -> u32 {
        self.packed.jobs.len() as u32
    }

    /// The plan's arrays; `compact`: terms index the needed-frames pool instead of all frames.
    pub(crate) fn addresses(&self, compact: bool) -> Addresses {
        Addresses {
            jobs: self.jobs.addr(),
            term_frame: if compact {
                self.term_slot.addr()
            } else {
                self.term_frame.addr()
            },
            term_numer: self.term_numer.addr(),
            term_weight: self.term_weight.addr(),
            ..Addresses::default()
        }
    }

    /// Videos in the batch (1 for [`Gpu::upload_plan`]).
    #[must_use]
    pub fn videos(&self) -> usize {
        self.packed.videos.len()
    }

    /// `F` of video `video`.
    #[must_use]
    pub fn frames(&self, video: usize) -> Option<u32> {
        self.packed.videos.get(video).map(|v| v.frames)
    }

    /// `S` of video `video`.
    #[must_use]
    pub fn segments(&self, video: usize) -> Option<u32> {
        self.packed.videos.get(video).map(|v| v.segments)
    }

    /// Frames of the whole batch: the count a [`DeviceFrames`] for [`Gpu::mix_device`] needs.
    #[must_use]
    pub fn total_frames(&self) -> usize {
        self.packed.total_frames as usize
    }

    /// Output segments of the whole batch (`sum of S`).
    #[must_use]
    pub fn total_segments(&self) -> usize {
        self.packed.total_segments as usize
    }

    /// Frames some segment mixes: what [`crate::HostMixer`] uploads.
    #[must_use]
    pub fn needed_frames(&self) -> usize {
        self.packed.slot_frames.len()
    }

    /// The batch-wide index of frame `f` of video `video`.
    ///
    /// # Errors
    /// [`Error::VideoOutOfRange`], mixcore's `FrameOutOfRange`.
    pub fn frame_index(&self, video: usize, f: u32) -> Result<usize> {
        Ok(self.packed.global_frame(video, f)? as usize)
    }

    /// True when some segment mixes frame `f` of `video` (a decoder may skip the others).
    #[must_use]
    pub fn is_needed(&self, video: usize, f: u32) -> bool {
        self.packed
            .global_frame(video, f)
            .is_ok_and(|g| !self.packed.feeds_of(g).is_empty())
    }

    /// Output values for frames of `geometry`: `sum over videos of S * H * W * C`.
    ///
    /// # Errors
    /// The geometry's errors, size overflow.
    pub fn output_len(&self, geometry: Geometry) -> Result<usize> {
        geometry.validate()?;
        self.packed.output_len(geometry)
    }

    /// Bytes a device mix reads (one frame per mixed term) and writes (`f32` output), for
    /// throughput figures.
    ///
    /// # Errors
    /// As [`DevicePlan::output_len`].
    pub fn traffic(&self, geometry: Geometry) -> Result<(u64, u64)> {
        self.traffic_typed(geometry, Dtype::F32)
    }

    /// As [`DevicePlan::traffic`], for an output of `dtype` (2 bytes a value for `f16` and
    /// `bf16`).
    ///
    /// # Errors
    /// As [`DevicePlan::output_len`].
    pub fn traffic_typed(&self, geometry: Geometry, dtype: Dtype) -> Result<(u64, u64)> {
        let e = geometry.elements()? as u64;
        let read = self.packed.term_frame.len() as u64 * e;
        Ok((read, (self.output_len(geometry)? * dtype.size()) as u64))
    }
}

/// Frames in device memory: `count` frames of one geometry, frame `i` at byte
/// `i * frame_pitch`, its row `y` at `y * row_stride` from there.
pub struct DeviceFrames {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) mem: Box<dyn DeviceMem>,
    pub(crate) geometry: Geometry,
    pub(crate) count: usize,
    pub(crate) row_stride: usize,
    pub(crate) frame_pitch: usize,
}

impl std::fmt::Debug for DeviceFrames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceFrames")
            .field("geometry", &self.geometry)
            .field("count", &self.count)
            .field("row_stride", &self.row_stride)
            .field("frame_pitch", &self.frame_pitch)
            .finish_non_exhaustive()
    }
}

impl DeviceFrames {
    /// Checks the layout against the allocation (the invariant every launch relies on).
    pub(crate) fn wrap(
        backend: &Arc<dyn Backend>,
        mem: Box<dyn DeviceMem>,
        geometry: Geometry,
        row_stride: usize,
        frame_pitch: usize,
        count: usize,
    ) -> Result<Self> {
        frame_pixels(geometry)?;
        let row_bytes = geometry.row_bytes()?;
        if row_stride < row_bytes {
            return Err(mixcore::Error::StrideTooSmall {
                stride: row_stride,
                row_bytes,
            }
            .into());
        }
        let frame_bytes = row_stride
            .checked_mul(geometry.height as usize - 1)
            .and_then(|b| b.checked_add(row_bytes))
            .ok_or(mixcore::Error::SizeOverflow)?;
        if frame_pitch < frame_bytes {
            return Err(Error::PitchTooSmall {
                pitch: frame_pitch,
                frame_bytes,
            });
        }
        let needed = match count {
            0 => 0,
            n => frame_pitch
                .checked_mul(n - 1)
                .and_then(|b| b.checked_add(frame_bytes))
                .ok_or(mixcore::Error::SizeOverflow)?,
        };
        if mem.len() < needed {
            return Err(Error::DeviceBufferTooSmall {
                len: mem.len(),
                needed,
            });
        }
        Ok(DeviceFrames {
            backend: Arc::clone(backend),
            mem,
            geometry,
            count,
            row_stride,
            frame_pitch,
        })
    }

    /// The frames' geometry.
    #[must_use]
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// How many frames the buffer holds.
    #[must_use]
    pub fn count(&self) -> usize {
        self.count
    }

    /// Bytes from one row to the next.
    #[must_use]
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }

    /// Bytes from one frame to the next.
    #[must_use]
    pub fn frame_pitch(&self) -> usize {
        self.frame_pitch
    }

    /// The device address of frame 0, for handing the buffer to other CUDA code in the same
    /// context (a decoder writing frames in place). Valid while `self` lives.
    #[must_use]
    pub fn device_address(&self) -> u64 {
        self.mem.addr()
    }

    /// Copies `frame` (any row stride) into slot `index`, synchronously.
    ///
    /// # Errors
    /// [`Error::FrameIndexOutOfRange`], mixcore's `FrameGeometryMismatch`, [`Error::Cuda`].
    pub fn upload(&mut self, index: usize, frame: &FrameView<'_>) -> Result<()> {
        if index >= self.count {
            return Err(Error::FrameIndexOutOfRange {
                index,
                count: self.count,
            });
        }
        frame.expect_geometry(self.geometry)?;
        let g = self.geometry;
        let row = g.row_bytes()?;
        let span = self.row_stride * (g.height as usize - 1) + row;
        let mut bytes = vec![0u8; span];
        for y in 0..g.height {
            let at = y as usize * self.row_stride;
            bytes[at..at + row].copy_from_slice(frame.row(y));
        }
        // Padding bytes between rows are overwritten with zeros; they are never read.
        self.backend
            .upload(&*self.mem, index * self.frame_pitch, &bytes)
    }

    /// Copies frame `index` back to the host, rows packed.
    ///
    /// # Errors
    /// [`Error::FrameIndexOutOfRange`], [`Error::Cuda`].
    pub fn download(&self, index: usize) -> Result<Vec<u8>> {
        if index >= self.count {
            return Err(Error::FrameIndexOutOfRange {
                index,
                count: self.count,
            });
        }
        let g = self.geometry;
        let row = g.row_bytes()?;
        let mut out = Vec::with_capacity(g.elements()?);
        let mut line = vec![0u8; row];
        for y in 0..g.height as usize {
            let at = index * self.frame_pitch + y * self.row_stride;
            self.backend.download(&*self.mem, at, &mut line)?;
            out.extend_from_slice(&line);
        }
        Ok(out)
    }
}

/// Mixed output in device memory: `len` values of one element type ([`DeviceOutput::dtype`]:
/// `f32` from [`Gpu::alloc_output`], `f16` or `bf16` from [`Gpu::alloc_output_typed`]).
pub struct DeviceOutput {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) mem: Box<dyn DeviceMem>,
    pub(crate) len: usize,
    pub(crate) store: Store,
}

impl std::fmt::Debug for DeviceOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceOutput")
            .field("len", &self.len)
            .field("dtype", &self.store.dtype())
            .finish_non_exhaustive()
    }
}

impl DeviceOutput {
    /// Values it holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it holds no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element type the mixes store.
    #[must_use]
    pub fn dtype(&self) -> Dtype {
        self.store.dtype()
    }

    /// The device address of value 0 (`float *`, or `__half *` / `__nv_bfloat16 *` for the
    /// half types), for handing the output to a model in the same context without a copy.
    /// Valid while `self` lives.
    #[must_use]
    pub fn device_address(&self) -> u64 {
        self.mem.addr()
    }

    /// Copies the first `out.len()` values of an `f32` output to the host.
    ///
    /// # Errors
    /// [`Error::Mismatch`] for an `f16` or `bf16` output (use [`DeviceOutput::download_half`]),
    /// [`Error::DeviceBufferTooSmall`] when `out` is longer than the output, [`Error::Cuda`].
    pub fn download(&self, out: &mut [f32]) -> Result<()> {
        if self.store != Store::F32 {
            return Err(Error::Mismatch {
                what: "the output holds f16 or bf16 values (use download_half)",
            });
        }
        self.download_values(out, |v| f32::from_bits(u32::from_le(v.to_bits())))
    }

    /// All values, copied to a new vector.
    ///
    /// # Errors
    /// [`Error::Cuda`].
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        let mut v = vec![0.0; self.len];
        self.download(&mut v)?;
        Ok(v)
    }

    /// Copies the first `out.len()` values of an `f16` or `bf16` output to the host, as bit
    /// patterns (2 bytes a value cross the bus).
    ///
    /// # Errors
    /// [`Error::Mismatch`] for an `f32` output (use [`DeviceOutput::download`]),
    /// [`Error::DeviceBufferTooSmall`] when `out` is longer than the output, [`Error::Cuda`].
    pub fn download_half(&self, out: &mut [u16]) -> Result<()> {
        if self.store == Store::F32 {
            return Err(Error::Mismatch {
                what: "the output holds f32 values (use download)",
            });
        }
        self.download_values(out, u16::from_le)
    }

    /// Copies the first `out.len()` values to the host straight into `out`'s memory (no
    /// staging buffer): the device writes its values little-endian, so a big-endian host
    /// converts each with `from_le` after the copy.
    fn download_values<T: bytemuck::Pod>(&self, out: &mut [T], from_le: fn(T) -> T) -> Result<()> {
        if out.len() > self.len {
            return Err(Error::DeviceBufferTooSmall {
                len: self.len,
                needed: out.len(),
            });
        }
        self.backend
            .download(&*self.mem, 0, bytemuck::cast_slice_mut(out))?;
        if cfg!(target_endian = "big") {
            out.iter_mut().for_each(|v| *v = from_le(*v));
        }
        Ok(())
    }

    /// All values of an `f16` or `bf16` output, as bit patterns in a new vector.
    ///
    /// # Errors
    /// As [`DeviceOutput::download_half`].
    pub fn to_vec_half(&self) -> Result<Vec<u16>> {
        let mut v = vec![0; self.len];
        self.download_half(&mut v)?;
        Ok(v)
    }
}

/// Page-locked host memory for `count` packed frames (`H * W * C` bytes each), the fastest
/// source for uploads.
pub struct PinnedFrames {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) mem: Box<dyn PinnedMem>,
    pub(crate) geometry: Geometry,
    pub(crate) count: usize,
    pub(crate) frame_bytes: usize,
}

impl std::fmt::Debug for PinnedFrames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedFrames")
            .field("geometry", &self.geometry)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl PinnedFrames {
    /// The frames' geometry.
    #[must_use]
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Frames it holds.
    #[must_use]
    pub fn count(&self) -> usize {
        self.count
    }

    fn range(&self, index: usize) -> Result<std::ops::Range<usize>> {
        if index >= self.count {
            return Err(Error::FrameIndexOutOfRange {
                index,
                count: self.count,
            });
        }
        Ok(index * self.frame_bytes..(index + 1) * self.frame_bytes)
    }

    /// Frame `index`'s bytes, rows packed, to fill in place.
    ///
    /// # Errors
    /// [`Error::FrameIndexOutOfRange`].
    pub fn frame_mut(&mut self, index: usize) -> Result<&mut [u8]> {
        let r = self.range(index)?;
        Ok(&mut self.mem.bytes_mut()[r])
    }

    /// Frame `index` as a view.
    ///
    /// # Errors
    /// [`Error::FrameIndexOutOfRange`].
    pub fn frame(&self, index: usize) -> Result<FrameView<'_>> {
        let r = self.range(index)?;
        Ok(FrameView::packed(&self.mem.bytes()[r], self.geometry)?)
    }

    /// Copies `frame` (any row stride) into slot `index`.
    ///
    /// # Errors
    /// [`Error::FrameIndexOutOfRange`], mixcore's `FrameGeometryMismatch`.
    pub fn write(&mut self, index: usize, frame: &FrameView<'_>) -> Result<()> {
        frame.expect_geometry(self.geometry)?;
        let row = self.geometry.row_bytes()?;
        let dst = self.frame_mut(index)?;
        for (y, chunk) in dst.chunks_exact_mut(row).enumerate() {
            chunk.copy_from_slice(frame.row(y as u32));
        }
        Ok(())
    }
}

#[cfg(feature = "cuda")]
impl DeviceFrames {
    /// Wraps frames that are already in a cust buffer (decoded on the GPU, or uploaded by other
    /// code): frame `i` at byte `i * frame_pitch`, rows `row_stride` apart. The buffer must
    /// belong to the primary context of `gpu`'s device (cust's `quick_init` and `Context::new`
    /// make that one). Only with the `cuda` feature.
    ///
    /// # Errors
    /// mixcore's `StrideTooSmall`, [`Error::PitchTooSmall`], [`Error::DeviceBufferTooSmall`]
    /// when the buffer cannot hold `count` frames so laid out, [`Error::FrameTooLarge`].
    pub fn from_device_buffer(
        gpu: &Gpu,
        buffer: cust::memory::DeviceBuffer<u8>,
        geometry: Geometry,
        row_stride: usize,
        frame_pitch: usize,
        count: usize,
    ) -> Result<DeviceFrames> {
        let Some(backend) = gpu
            .backend
            .as_any()
            .downcast_ref::<crate::cuda::CudaBackend>()
        else {
            return Err(Error::Mismatch {
                what: "this Gpu has no CUDA backend",
            });
        };
        let mem = crate::cuda::CudaMem::from_buffer(backend, buffer);
        DeviceFrames::wrap(
            &gpu.backend,
            Box::new(mem),
            geometry,
            row_stride,
            frame_pitch,
            count,
        )
    }

    /// The cust buffer holding the frames. Only with the `cuda` feature.
    ///
    /// # Errors
    /// [`Error::Mismatch`] if the frames do not live in a cust buffer (never with the CUDA
    /// backend).
    pub fn into_device_buffer(self) -> Result<cust::memory::DeviceBuffer<u8>> {
        let mismatch = Error::Mismatch {
            what: "the frames are not in a cust buffer",
        };
        let mem = self
            .mem
            .into_any()
            .downcast::<crate::cuda::CudaMem>()
            .map_err(|_| mismatch.clone())?;
        mem.into_buffer().ok_or(mismatch)
    }
}
