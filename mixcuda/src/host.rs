//! Mixing frames that are in host memory: uploads through pinned memory, chunk by chunk, on the
//! copy stream, while the kernels of earlier chunks run on the compute stream.

use mixcore::{FrameView, Geometry};

use crate::backend::{DeviceMem, PinnedMem, Queue};
use crate::error::{Error, Result};
use crate::gpu::{DeviceOutput, DevicePlan, Gpu, PinnedFrames};
use crate::launch::{Chunk, PoolLayout, frame_pixels, frame_runs, mix_launches, upload_chunks};

/// Upload per chunk: large enough that a copy dwarfs its launch overhead, small enough that
/// the first kernel starts early and the last one finishes soon after the last copy.
pub(crate) const CHUNK_BYTES: usize = 2 << 20;

/// Mixes host frames on a [`Gpu`]. Keeps its pinned staging memory and its device frame pool
/// between calls (they grow to the largest mix seen), so repeated mixes allocate nothing.
///
/// Only the frames some segment mixes are uploaded (with `k = 1`, 8 of 48). Each call returns
/// when the output is complete and every CUDA error has been checked.
pub struct HostMixer<'g> {
    gpu: &'g Gpu,
    staging: Option<Box<dyn PinnedMem>>,
    pool: Option<Box<dyn DeviceMem>>,
    /// Upload bytes per chunk ([`CHUNK_BYTES`]; tests make it small).
    pub(crate) chunk_bytes: usize,
}

impl std::fmt::Debug for HostMixer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostMixer").finish_non_exhaustive()
    }
}

/// Where a chunk's frames come from.
enum Source<'a> {
    /// Pageable frames, staged through the mixer's pinned buffer (slot order).
    Views(&'a [&'a [FrameView<'a>]]),
    /// The caller's pinned frames (frame order), uploaded directly.
    Pinned(&'a PinnedFrames),
}

impl Gpu {
    /// A mixer for frames in host memory.
    #[must_use]
    pub fn host_mixer(&self) -> HostMixer<'_> {
        HostMixer {
            gpu: self,
            staging: None,
            pool: None,
            chunk_bytes: CHUNK_BYTES,
        }
    }
}

impl HostMixer<'_> {
    /// Mixes one video's frames (`frames[f]` is frame `f`, any row strides) with a single-video
    /// plan into `out`.
    ///
    /// # Errors
    /// mixcore's `FrameCountMismatch`, `FrameGeometryMismatch`, `BadNormalization`;
    /// [`Error::DeviceBufferTooSmall`], [`Error::Mismatch`], [`Error::Cuda`]. Use
    /// [`HostMixer::mix_batch`] for a batch plan.
    pub fn mix(
        &mut self,
        plan: &DevicePlan,
        frames: &[FrameView<'_>],
        out: &mut DeviceOutput,
    ) -> Result<()> {
        self.mix_batch(plan, &[frames], out)
    }

    /// Mixes a batch: `videos[b][f]` is frame `f` of video `b`; all frames of one geometry.
    ///
    /// # Errors
    /// As [`HostMixer::mix`], with mixcore's errors wrapped in [`Error::Video`] for batches.
    pub fn mix_batch(
        &mut self,
        plan: &DevicePlan,
        videos: &[&[FrameView<'_>]],
        out: &mut DeviceOutput,
    ) -> Result<()> {
        if videos.len() != plan.videos() {
            return Err(Error::Mismatch {
                what: "the number of videos differs from the plan's batch size",
            });
        }
        let mut geometry = None;
        for (b, frames) in videos.iter().enumerate() {
            let expected = plan.packed.videos[b].frames;
            if frames.len() != expected as usize {
                let e = mixcore::Error::FrameCountMismatch {
                    expected,
                    found: frames.len(),
                };
                return Err(plan.packed.video_error(b, e));
            }
            for f in frames.iter() {
                let g = *geometry.get_or_insert(f.geometry());
                f.expect_geometry(g)
                    .map_err(|e| plan.packed.video_error(b, e))?;
            }
        }
        let Some(g) = geometry else {
            return Err(mixcore::Error::ZeroFrames.into());
        };
        self.run(plan, g, Source::Views(videos), out)
    }

    /// Mixes frames already in pinned memory (frame `i` of `frames` is batch frame `i`): the
    /// uploads read the caller's buffer directly, so this is as fast as a plain pinned copy of
    /// the needed frames plus the last chunk's kernel.
    ///
    /// # Errors
    /// [`Error::NotEnoughFrames`], [`Error::DeviceBufferTooSmall`], [`Error::Mismatch`],
    /// mixcore's `BadNormalization`, [`Error::Cuda`].
    pub fn mix_pinned(
        &mut self,
        plan: &DevicePlan,
        frames: &PinnedFrames,
        out: &mut DeviceOutput,
    ) -> Result<()> {
        self.gpu
            .check_same(&frames.backend, "the pinned frames belong to another Gpu")?;
        let needed = plan.total_frames();
        if frames.count < needed {
            return Err(Error::NotEnoughFrames {
                count: frames.count,
                needed,
            });
        }
        self.run(plan, frames.geometry, Source::Pinned(frames), out)
    }

    /// Grows the staging and pool buffers to `bytes`.
    fn reserve(&mut self, bytes: usize, staging: bool) -> Result<()> {
        let backend = &self.gpu.backend;
        if self.pool.as_ref().is_none_or(|p| p.len() < bytes) {
            self.pool = None;
            self.pool = Some(backend.alloc(bytes.max(1))?);
        }
        if staging
            && self
                .staging
                .as_ref()
                .is_none_or(|s| s.bytes().len() < bytes)
        {
            self.staging = None;
            self.staging = Some(backend.alloc_pinned(bytes.max(1))?);
        }
        Ok(())
    }

    fn run(
        &mut self,
        plan: &DevicePlan,
        g: Geometry,
        source: Source<'_>,
        out: &mut DeviceOutput,
    ) -> Result<()> {
        let gpu = self.gpu;
        gpu.check_same(&plan.backend, "the plan was uploaded to another Gpu")?;
        gpu.check_same(&out.backend, "the output lives on another Gpu")?;
        frame_pixels(g)?;
        plan.packed.epilogue.validate(g.channels)?;
        let out_len = plan.output_len(g)?;
        if out.len < out_len {
            return Err(Error::DeviceBufferTooSmall {
                len: out.len,
                needed: out_len,
            });
        }
        let frame_bytes = g.elements()?;
        let slots = plan.packed.slot_frames.len();
        let bytes = frame_bytes
            .checked_mul(slots)
            .ok_or(mixcore::Error::SizeOverflow)?;
        self.reserve(bytes, matches!(source, Source::Views(_)))?;
        let chunks = upload_chunks(&plan.packed, frame_bytes, self.chunk_bytes);
        let result = self.issue(plan, g, &source, out, &chunks);
        // Whatever happened, nothing may still be reading the staging memory or writing the
        // output when this call returns. (Compute first: it waited for every upload it needs,
        // and the emulated device runs nothing of the copy queue that it was not told to wait
        // for, so a missing wait shows up in the tests.)
        let compute = gpu.backend.synchronize(Queue::Compute);
        let copy = gpu.backend.synchronize(Queue::Copy);
        result.and(compute).and(copy)
    }

    fn issue(
        &mut self,
        plan: &DevicePlan,
        g: Geometry,
        source: &Source<'_>,
        out: &mut DeviceOutput,
        chunks: &[Chunk],
    ) -> Result<()> {
        let backend = &*self.gpu.backend;
        let frame_bytes = g.elements()?;
        let row = g.row_bytes()?;
        let Some(pool) = self.pool.as_deref() else {
            return Err(mixcore::Error::SizeOverflow.into());
        };
        let layout = PoolLayout {
            row_stride: row,
            frame_pitch: frame_bytes,
        };
        let addr = crate::launch::Addresses {
            frames: pool.addr(),
            out: out.mem.addr(),
            ..plan.addresses(true)
        };
        for chunk in chunks {
            let slot_range =
                chunk.slots.start as usize * frame_bytes..chunk.slots.end as usize * frame_bytes;
            match source {
                Source::Views(videos) => {
                    let Some(staging) = self.staging.as_deref_mut() else {
                        return Err(mixcore::Error::SizeOverflow.into());
                    };
                    // The host copies this chunk while the GPU uploads and mixes earlier ones.
                    let dst = staging.bytes_mut();
                    for s in chunk.slots.clone() {
                        let global = plan.packed.slot_frames[s as usize];
                        let (b, f) = locate(plan, global);
                        let view = &videos[b][f as usize];
                        let base = s as usize * frame_bytes;
                        for y in 0..g.height {
                            let at = base + y as usize * row;
                            dst[at..at + row].copy_from_slice(view.row(y));
                        }
                    }
                    if !slot_range.is_empty() {
                        // SAFETY: `staging` and `pool` are owned by `self`, which stays
                        // mutably borrowed until `run` has synchronised both queues; the
                        // staged bytes of this chunk are not written again in this call.
                        unsafe {
                            backend.upload_async(
                                Queue::Copy,
                                pool,
                                slot_range.start,
                                staging,
                                slot_range.clone(),
                            )?;
                        }
                    }
                }
                Source::Pinned(frames) => {
                    for (f, s, n) in frame_runs(&plan.packed.slot_frames, chunk.slots.clone()) {
                        let src = f as usize * frame_bytes..(f + n) as usize * frame_bytes;
                        // SAFETY: `frames` is borrowed (shared, so unmodified) for the whole
                        // call and `pool` owned by the mutably borrowed `self`; `run`
                        // synchronises both queues before returning.
                        unsafe {
                            backend.upload_async(
                                Queue::Copy,
                                pool,
                                s as usize * frame_bytes,
                                &*frames.mem,
                                src,
                            )?;
                        }
                    }
                }
            }
            let uploaded = backend.record(Queue::Copy, false)?;
            backend.wait(Queue::Compute, uploaded)?;
            let launches =
                mix_launches(&plan.packed, g, layout, addr, chunk.jobs.clone(), out.store)?;
            for l in &launches {
                // SAFETY: the pool holds `slots * frame_bytes` bytes (reserved in `run`) and
                // every term's slot is below `slots`; the compute queue waits for this chunk's
                // uploads, which complete every slot its jobs read (`upload_chunks`); `out`
                // holds output_len values (checked in `run`); the plan's arrays match `pack`.
                // All of it stays alive and borrowed until `run` synchronises.
                unsafe { backend.launch(Queue::Compute, l)? };
            }
        }
        Ok(())
    }
}

/// (video, frame) of a batch-wide frame index.
fn locate(plan: &DevicePlan, global: u32) -> (usize, u32) {
    let videos = &plan.packed.videos;
    let b = videos
        .partition_point(|v| v.frame_offset <= global)
        .saturating_sub(1);
    (b, global - videos.get(b).map_or(0, |v| v.frame_offset))
}
