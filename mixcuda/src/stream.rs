//! The streaming mixer: frames pushed as a decoder produces them, uploaded in small groups and
//! added into accumulators on the device; memory does not grow with the number of frames
//! (beyond one bit per frame for bookkeeping).

use mixcore::{Admission, Admitted, FrameSink, FrameView, Geometry};

use crate::backend::{DeviceMem, Event, PinnedMem, Queue};
use crate::error::{Error, Result};
use crate::gpu::{DeviceOutput, DevicePlan, Gpu, f32_bytes, u32_bytes};
use crate::launch::{
    Addresses, PoolLayout, accumulate_launches, build_group, finish_launches, frame_pixels,
};
use crate::params::encode_jobs;

/// Bytes of frames per upload group (between 2 and 16 frames).
const GROUP_BYTES: usize = 8 << 20;

/// One of the two alternating upload buffers: frames and the group's job/term arrays, pinned
/// on the host and mirrored on the device.
struct Half {
    ring_host: Box<dyn PinnedMem>,
    ring_dev: Box<dyn DeviceMem>,
    desc_host: Option<Box<dyn PinnedMem>>,
    desc_dev: Option<Box<dyn DeviceMem>>,
    /// Completes when this half's last uploads have finished (its host memory is free).
    uploaded: Option<Box<dyn Event>>,
}

/// Streams frames into device accumulators and finishes into a [`DeviceOutput`]; the device
/// counterpart of `mixcore::Mixer`, and like it a [`FrameSink`] that admits pushes by
/// mixcore's rule ([`Admission`], one per video): frames in any order on the exact path (in
/// increasing order per segment on the float path), a frame pushed twice or missing at the
/// end is an error, frames no segment mixes cost nothing but a bit.
///
/// Work is queued asynchronously; [`StreamMixer::finish`] waits for it and reports CUDA errors.
/// After an error the mixer refuses further pushes with that error.
pub struct StreamMixer<'g> {
    gpu: &'g Gpu,
    plan: &'g DevicePlan,
    geometry: Geometry,
    /// Per video of the batch: its pushes so far, and the rule for the next.
    admissions: Vec<Admission<'g, Vec<u64>>>,
    acc: Box<dyn DeviceMem>,
    halves: [Half; 2],
    /// Which half the current group fills.
    current: usize,
    /// Batch-wide frame indices of the current group, in ring slot order.
    pending: Vec<u32>,
    group_frames: usize,
    failed: Option<Error>,
}

impl std::fmt::Debug for StreamMixer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamMixer")
            .field("geometry", &self.geometry)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Gpu {
    /// A streaming mixer for `plan` and frames of `geometry`.
    ///
    /// # Errors
    /// The geometry's errors, mixcore's `BadNormalization`, [`Error::Mismatch`],
    /// [`Error::Cuda`] (out of memory: the accumulators take 4 or 8 bytes per output value).
    pub fn stream_mixer<'g>(
        &'g self,
        plan: &'g DevicePlan,
        geometry: Geometry,
    ) -> Result<StreamMixer<'g>> {
        self.stream_mixer_grouped(plan, geometry, None)
    }

    /// As [`Gpu::stream_mixer`], with `group` frames per upload (tests), else by size.
    pub(crate) fn stream_mixer_grouped<'g>(
        &'g self,
        plan: &'g DevicePlan,
        geometry: Geometry,
        group: Option<usize>,
    ) -> Result<StreamMixer<'g>> {
        self.check_same(&plan.backend, "the plan was uploaded to another Gpu")?;
        frame_pixels(geometry)?;
        plan.packed.epilogue.validate(geometry.channels)?;
        let frame_bytes = geometry.elements()?;
        let acc_bytes = plan
            .output_len(geometry)?
            .checked_mul(plan.packed.arith.bytes())
            .ok_or(mixcore::Error::SizeOverflow)?;
        let group_frames = match group {
            Some(n) => n.clamp(1, 16),
            None => (GROUP_BYTES / frame_bytes).clamp(2, 16),
        };
        let ring = frame_bytes * group_frames;
        let b = &*self.backend;
        let half = || -> Result<Half> {
            Ok(Half {
                ring_host: b.alloc_pinned(ring)?,
                ring_dev: b.alloc(ring)?,
                desc_host: None,
                desc_dev: None,
                uploaded: None,
            })
        };
        let halves = [half()?, half()?];
        let packed = &plan.packed;
        let admissions = packed
            .videos
            .iter()
            .map(|v| {
                let p = v.plan()?;
                let words = vec![0; Admission::words(&p)?];
                Admission::new(p, geometry, packed.arith, words)
            })
            .collect::<mixcore::Result<_>>()?;
        Ok(StreamMixer {
            gpu: self,
            plan,
            geometry,
            admissions,
            // Zeroed at allocation: the sums start at 0 (and +0.0 on the float path).
            acc: b.alloc(acc_bytes.max(1))?,
            halves,
            current: 0,
            pending: Vec::with_capacity(group_frames),
            group_frames,
            failed: None,
        })
    }
}

impl StreamMixer<'_> {
    /// True when some segment mixes frame `f` of `video`; others may be skipped (or pushed,
    /// which only marks them).
    #[must_use]
    pub fn is_needed(&self, video: usize, f: u32) -> bool {
        self.plan.is_needed(video, f)
    }

    /// Pushes frame `f` of a single-video plan.
    ///
    /// # Errors
    /// As [`StreamMixer::push_video`].
    pub fn push(&mut self, f: u32, frame: &FrameView<'_>) -> Result<()> {
        self.push_video(0, f, frame)
    }

    /// Pushes frame `f` of video `video` of the batch. The frame is copied before this returns;
    /// the caller may reuse its memory at once.
    ///
    /// # Errors
    /// mixcore's `FrameOutOfRange`, `FramePushedTwice`, `FloatOutOfOrder`,
    /// `FrameGeometryMismatch` (wrapped in [`Error::Video`] for batches),
    /// [`Error::VideoOutOfRange`], [`Error::Cuda`]. A refused push changes nothing; a CUDA error
    /// ends the mix.
    pub fn push_video(&mut self, video: usize, f: u32, frame: &FrameView<'_>) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let packed = &self.plan.packed;
        let videos = self.admissions.len();
        let admission = self
            .admissions
            .get_mut(video)
            .ok_or(Error::VideoOutOfRange { video, videos })?;
        match admission.admit(f, Some(frame)) {
            Ok(Admitted::NotNeeded) => Ok(()),
            Ok(Admitted::Needed) => {
                let result = packed
                    .global_frame(video, f)
                    .and_then(|global| self.stage(global, frame));
                self.fail_on(result)
            }
            Err(e) => Err(packed.video_error(video, e)),
        }
    }

    fn fail_on(&mut self, result: Result<()>) -> Result<()> {
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    /// Copies a needed frame into the current half's pinned ring; uploads the group when full.
    fn stage(&mut self, global: u32, frame: &FrameView<'_>) -> Result<()> {
        let g = self.geometry;
        let frame_bytes = g.elements()?;
        let row = g.row_bytes()?;
        let half = &mut self.halves[self.current];
        if self.pending.is_empty() {
            // The half's host memory is reused: its previous uploads must have finished.
            if let Some(e) = half.uploaded.take() {
                self.gpu.backend.event_synchronize(&*e)?;
            }
        }
        let base = self.pending.len() * frame_bytes;
        let dst = half.ring_host.bytes_mut();
        for y in 0..g.height {
            let at = base + y as usize * row;
            dst[at..at + row].copy_from_slice(frame.row(y));
        }
        self.pending.push(global);
        if self.pending.len() == self.group_frames {
            self.flush()?;
        }
        Ok(())
    }

    /// Uploads the current group and queues its accumulate kernel; switches halves.
    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let backend = &*self.gpu.backend;
        let packed = &self.plan.packed;
        let g = self.geometry;
        let frame_bytes = g.elements()?;
        let group = build_group(packed, &self.pending);
        // Descriptor image: jobs, then term frames, numerators, weights (each 8-aligned).
        let mut desc = encode_jobs(&group.jobs);
        let section = |bytes: Vec<u8>, desc: &mut Vec<u8>| {
            desc.resize(desc.len().next_multiple_of(8), 0);
            let at = desc.len();
            desc.extend(bytes);
            at
        };
        let at_frame = section(u32_bytes(&group.term_frame), &mut desc);
        let at_numer = section(u32_bytes(&group.term_numer), &mut desc);
        let at_weight = section(f32_bytes(&group.term_weight), &mut desc);
        let half = &mut self.halves[self.current];
        if half
            .desc_host
            .as_ref()
            .is_none_or(|d| d.bytes().len() < desc.len())
        {
            // Growing: the old descriptor buffers may still be in use by queued work.
            backend.synchronize(Queue::Compute)?;
            let cap = desc.len().next_power_of_two().max(256);
            half.desc_host = None;
            half.desc_dev = None;
            half.desc_host = Some(backend.alloc_pinned(cap)?);
            half.desc_dev = Some(backend.alloc(cap)?);
        }
        let (Some(desc_host), Some(desc_dev)) =
            (half.desc_host.as_deref_mut(), half.desc_dev.as_deref())
        else {
            return Err(mixcore::Error::SizeOverflow.into());
        };
        desc_host.bytes_mut()[..desc.len()].copy_from_slice(&desc);
        let frames_len = self.pending.len() * frame_bytes;
        // SAFETY: the pinned and device buffers belong to this mixer, which synchronises the
        // compute queue before dropping them (Drop, finish); their host bytes are not written
        // again until `half.uploaded` (recorded below, after these copies) has completed.
        unsafe {
            backend.upload_async(
                Queue::Compute,
                &*half.ring_dev,
                0,
                &*half.ring_host,
                0..frames_len,
            )?;
            backend.upload_async(Queue::Compute, desc_dev, 0, desc_host, 0..desc.len())?;
        }
        half.uploaded = Some(backend.record(Queue::Compute, false)?);
        let base = desc_dev.addr();
        let addr = Addresses {
            frames: half.ring_dev.addr(),
            out: 0,
            jobs: base,
            term_frame: base + at_frame as u64,
            term_numer: base + at_numer as u64,
            term_weight: base + at_weight as u64,
            acc: self.acc.addr(),
        };
        let ring = PoolLayout {
            row_stride: g.row_bytes()?,
            frame_pitch: frame_bytes,
        };
        let launches = accumulate_launches(packed, g, ring, addr, group.jobs.len() as u32)?;
        for l in &launches {
            // SAFETY: the ring holds the group's frames (term frames are ring slots below
            // `pending.len()`), the descriptor arrays were just uploaded in the same queue, the
            // accumulators hold `jobs * H*W*C` values of the plan's width and every job's
            // `acc_block` is a job index; all are owned by this mixer and outlive the queued
            // work (see above).
            unsafe { backend.launch(Queue::Compute, l)? };
        }
        self.pending.clear();
        self.current ^= 1;
        Ok(())
    }

    /// Uploads what is pending, checks that every needed frame arrived, divides, applies the
    /// epilogue and writes `out` (at least [`DevicePlan::output_len`] values, of its element
    /// type: `f16` and `bf16` outputs get the `f32` results rounded to nearest, ties to even);
    /// waits for all of it and reports CUDA errors.
    ///
    /// # Errors
    /// mixcore's `FramesMissing` (wrapped for batches), [`Error::DeviceBufferTooSmall`],
    /// [`Error::Mismatch`], [`Error::Cuda`], or the error that ended the mix earlier.
    pub fn finish(mut self, out: &mut DeviceOutput) -> Result<()> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.gpu
            .check_same(&out.backend, "the output lives on another Gpu")?;
        let needed = self.plan.output_len(self.geometry)?;
        if out.len < needed {
            return Err(Error::DeviceBufferTooSmall {
                len: out.len,
                needed,
            });
        }
        for (video, admission) in self.admissions.iter().enumerate() {
            admission
                .check_complete()
                .map_err(|e| self.plan.packed.video_error(video, e))?;
        }
        let flushed = self.flush();
        let result = flushed.and_then(|()| {
            let addr = Addresses {
                jobs: self.plan.jobs.addr(),
                acc: self.acc.addr(),
                out: out.mem.addr(),
                ..Addresses::default()
            };
            let launches = finish_launches(&self.plan.packed, self.geometry, addr, out.store)?;
            for l in &launches {
                // SAFETY: the plan's job array covers every job; the accumulators hold all of
                // them; `out` holds output_len values (checked above) and is borrowed until the
                // synchronisation below.
                unsafe { self.gpu.backend.launch(Queue::Compute, l)? };
            }
            Ok(())
        });
        let sync = self.gpu.backend.synchronize(Queue::Compute);
        result.and(sync)
    }
}

/// The GPU's [`FrameSink`] for a single-video plan: [`StreamMixer::push`] and
/// [`StreamMixer::finish`].
impl FrameSink for StreamMixer<'_> {
    type Error = Error;
    type Output = DeviceOutput;

    fn is_needed(&self, f: u32) -> bool {
        StreamMixer::is_needed(self, 0, f)
    }

    fn push(&mut self, f: u32, frame: &FrameView<'_>) -> Result<()> {
        StreamMixer::push(self, f, frame)
    }

    fn finish(self, out: &mut DeviceOutput) -> Result<()> {
        StreamMixer::finish(self, out)
    }
}

impl Drop for StreamMixer<'_> {
    fn drop(&mut self) {
        // Queued copies read this mixer's pinned memory and kernels its device memory: wait
        // for them before any of it is freed. An error here was, or would have been, reported
        // by `finish`; a dropped mixer has nobody left to report it to.
        let _ = self.gpu.backend.synchronize(Queue::Compute);
    }
}
