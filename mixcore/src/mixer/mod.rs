//! The streaming [`Mixer`]: frames pushed one at a time, in any order, into caller-provided
//! scratch; memory is the accumulators (the size of the output), one bit per frame, nine
//! bytes per segment, and optionally a buffer of a few frames.
//!
//! Without a buffer every needed frame is added to its segment's accumulators as it arrives.
//! With a buffer of `B` frames ([`Mixer::with_buffer`]), frames that arrive in order (as a
//! decoder delivers them) are copied into the buffer and added `B` at a time with the same
//! grouped tile kernels as the in-memory mix, so the accumulators are read and written once
//! per `B` frames instead of once per frame. A window whose frames all fit the buffer is
//! mixed whole in one pass (the fused kernels, no accumulators): into the output itself when
//! it was given up front ([`Mixer::with_output`]), else into the segment's accumulator region,
//! copied out at [`Mixer::finish`]. Out-of-order frames still work: they flush the buffer and
//! start a new run. The result is the same bits either way.
//!
//! [`Mixer::push`] copies the caller's frame into the buffer (except a packed frame that ends
//! a run, which is mixed from the caller's memory during the push); [`Mixer::push_with`]
//! instead lets a decoder write the frame straight into the buffer, so a frame that goes from
//! a decoder to the mixer is written once and read once, as in the in-memory mix.
//!
//! The files: this one holds the mixer's API; `state.rs` the scratch layout and where each
//! segment's values are; `run.rs` the buffer of in-order frames and the whole windows mixed
//! from it; `add.rs` the accumulation of frames; `finish.rs` the division into the output.
//! Which pushes are accepted is decided by [`crate::Admission`], shared with every
//! [`crate::FrameSink`].

mod add;
mod finish;
mod run;
mod state;

use crate::admit::Admission;
use crate::error::{Error, Result};
use crate::frame::{FrameView, Geometry};
use crate::half::Half;
use crate::kernel::MAX_GROUP;
use crate::mix::{MixSpec, Prepared, check_output};
use crate::plan::Plan;
use crate::sink::FrameSink;

use add::Source;
use finish::Dest;
use run::Run;
use state::{Parts, Stage};

/// Streams frames into accumulators and finishes into an output buffer.
///
/// ```
/// use mixcore::{FrameView, Geometry, MixSpec, Mixer, Plan, PlanConfig};
/// let g = Geometry::new(4, 2, 3)?;
/// let plan = Plan::new(16, &PlanConfig { segments: 2, ..PlanConfig::default() })?;
/// let spec = MixSpec::default();
/// let mut scratch = vec![0u64; Mixer::scratch_len(&plan, g, &spec)?];
/// let mut mixer = Mixer::new(&plan, g, spec, &mut scratch)?;
/// let frame = vec![7u8; 4 * 2 * 3];
/// for f in (0..16).rev() {
///     if mixer.is_needed(f) {
///         mixer.push(f, &FrameView::packed(&frame, g)?)?;
///     }
/// }
/// let mut out = vec![0.0; mixcore::output_len(&plan, g)?];
/// mixer.finish(&mut out)?;
/// assert!(out.iter().all(|&v| v == 7.0));
/// # Ok::<(), mixcore::Error>(())
/// ```
#[derive(Debug)]
pub struct Mixer<'m, 'a> {
    plan: &'m Plan<'a>,
    prepared: Prepared<'m>,
    /// Accumulators, `[S][H][W*C]`: `u32` (or `f32` bits) two to a word, or `u64`.
    acc: &'m mut [u64],
    /// Which frames were pushed, how far each segment got, and the rule for the next push.
    admission: Admission<'a, &'m mut [u64]>,
    /// Per segment: where its values are.
    stages: &'m mut [Stage],
    /// Buffered frames, each `H * W * C` packed bytes.
    slots: &'m mut [u8],
    /// How many frames the buffer holds.
    capacity: usize,
    /// Bytes of one packed frame.
    frame_bytes: usize,
    /// The run of frames in the buffer.
    run: Run,
    /// The output given up front ([`Mixer::with_output`]): whole windows are mixed straight
    /// into it.
    out: Option<&'m mut [f32]>,
}

impl<'m, 'a> Mixer<'m, 'a> {
    /// The buffer size [`Mixer::with_buffer`] is tuned for: 8 frames.
    pub const RECOMMENDED_BUFFER: u32 = 8;

    /// `u64` words of scratch an unbuffered mixer needs for this plan, geometry and spec.
    ///
    /// # Errors
    /// The spec's errors and [`Error::SizeOverflow`].
    pub fn scratch_len(plan: &Plan<'_>, geometry: Geometry, spec: &MixSpec<'_>) -> Result<usize> {
        Self::scratch_len_buffered(plan, geometry, spec, 0)
    }

    /// `u64` words of scratch a mixer with a buffer of `buffered` frames needs (at most
    /// 16 frames are buffered; larger values count as that).
    ///
    /// # Errors
    /// The spec's errors and [`Error::SizeOverflow`].
    pub fn scratch_len_buffered(
        plan: &Plan<'_>,
        geometry: Geometry,
        spec: &MixSpec<'_>,
        buffered: u32,
    ) -> Result<usize> {
        let p = Prepared::new(plan, geometry, spec)?;
        Parts::new(plan, &p, (buffered as usize).min(MAX_GROUP))?.total()
    }

    /// An unbuffered mixer over `scratch` (at least [`Mixer::scratch_len`] words).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`], and the spec's errors.
    pub fn new(
        plan: &'m Plan<'a>,
        geometry: Geometry,
        spec: MixSpec<'m>,
        scratch: &'m mut [u64],
    ) -> Result<Self> {
        Self::with_buffer(plan, geometry, spec, 0, scratch)
    }

    /// A mixer that buffers up to `buffered` in-order frames (see the module docs), over
    /// `scratch` of at least [`Mixer::scratch_len_buffered`] words.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`], and the spec's errors.
    pub fn with_buffer(
        plan: &'m Plan<'a>,
        geometry: Geometry,
        spec: MixSpec<'m>,
        buffered: u32,
        scratch: &'m mut [u64],
    ) -> Result<Self> {
        let prepared = Prepared::new(plan, geometry, &spec)?;
        let capacity = (buffered as usize).min(MAX_GROUP);
        let parts = Parts::new(plan, &prepared, capacity)?;
        let needed = parts.total()?;
        let len = scratch.len();
        let Some(scratch) = scratch.get_mut(..needed) else {
            return Err(Error::BufferTooSmall { len, needed });
        };
        // Accumulators need no zeroing: each segment's first accumulate initialises them.
        let (acc, rest) = scratch.split_at_mut(parts.acc);
        let (admission, rest) = rest.split_at_mut(parts.admission);
        let (stages, slots) = rest.split_at_mut(parts.stages);
        let segments = plan.segments() as usize;
        let Some(stages) = state::stages(stages, segments) else {
            debug_assert!(
                false,
                "{} words hold fewer than {segments} stages",
                parts.stages
            );
            return Err(Error::SizeOverflow);
        };
        Ok(Mixer {
            plan,
            admission: Admission::new(*plan, geometry, prepared.accumulator, admission)?,
            prepared,
            acc,
            stages,
            slots: bytemuck::cast_slice_mut(slots),
            capacity,
            frame_bytes: state::frame_bytes(&prepared)?,
            run: Run::default(),
            out: None,
        })
    }

    /// As [`Mixer::with_buffer`], with the output given up front: a window that arrives whole
    /// in the buffer is mixed straight into `out` (at least [`crate::output_len`] values), so
    /// finishing copies nothing for it. Finish with [`Mixer::finish_output`]. When every
    /// window fits the buffer and frames arrive in order, the accumulator part of `scratch`
    /// is never touched (a lazily zeroed allocation then costs no memory for it).
    ///
    /// ```
    /// use mixcore::{FrameView, Geometry, MixSpec, Mixer, Plan, PlanConfig};
    /// let g = Geometry::new(4, 2, 3)?;
    /// let plan = Plan::new(16, &PlanConfig { segments: 4, ..PlanConfig::default() })?;
    /// let spec = MixSpec::default();
    /// let b = Mixer::RECOMMENDED_BUFFER;
    /// let mut scratch = vec![0u64; Mixer::scratch_len_buffered(&plan, g, &spec, b)?];
    /// let mut out = vec![0.0; mixcore::output_len(&plan, g)?];
    /// let mut mixer = Mixer::with_output(&plan, g, spec, b, &mut scratch, &mut out)?;
    /// let frame = vec![9u8; 4 * 2 * 3];
    /// for f in 0..16 {
    ///     mixer.push(f, &FrameView::packed(&frame, g)?)?;
    /// }
    /// mixer.finish_output()?;
    /// assert!(out.iter().all(|&v| v == 9.0));
    /// # Ok::<(), mixcore::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Mixer::with_buffer`]; [`Error::BufferTooSmall`] for a short `out`.
    pub fn with_output(
        plan: &'m Plan<'a>,
        geometry: Geometry,
        spec: MixSpec<'m>,
        buffered: u32,
        scratch: &'m mut [u64],
        out: &'m mut [f32],
    ) -> Result<Self> {
        let mut mixer = Self::with_buffer(plan, geometry, spec, buffered, scratch)?;
        check_output(&mixer.prepared, out)?;
        mixer.out = Some(out);
        Ok(mixer)
    }

    /// The plan.
    #[must_use]
    pub fn plan(&self) -> &Plan<'a> {
        self.plan
    }

    /// True when frame `f` is mixed into some segment. Pushing a frame that is not needed is
    /// allowed and cheap (it is only marked as seen).
    #[must_use]
    pub fn is_needed(&self, f: u32) -> bool {
        self.plan.is_needed(f)
    }

    /// Adds frame `f` to every segment that mixes it.
    ///
    /// # Errors
    /// [`Error::FrameOutOfRange`], [`Error::FramePushedTwice`],
    /// [`Error::FrameGeometryMismatch`], [`Error::FloatOutOfOrder`] ([`crate::Admission`]'s
    /// rule). A refused push changes nothing.
    pub fn push(&mut self, f: u32, frame: &FrameView<'_>) -> Result<()> {
        self.admission.admit(f, Some(frame))?;
        let mut feeds = self.plan.feeds(f);
        match (feeds.next(), feeds.next()) {
            (None, _) => {}
            (Some(feed), None) if self.capacity > 0 => {
                let rb = self.prepared.row_bytes;
                let packed = frame.packed_bytes();
                self.buffer(feed.segment, feed.t, packed, |slot| match packed {
                    Some(bytes) => slot.copy_from_slice(bytes),
                    None => {
                        for (y, dst) in slot.chunks_exact_mut(rb).enumerate() {
                            dst.copy_from_slice(frame.row(y as u32));
                        }
                    }
                });
            }
            // No buffer, or needed by several segments (F < S): added directly.
            _ => {
                for feed in self.plan.feeds(f) {
                    self.accumulate(feed.segment, &[Source::View(*frame)], feed.t);
                }
            }
        }
        Ok(())
    }

    /// Adds frame `f` to every segment that mixes it, having `fill` write the frame's bytes
    /// straight into the mixer's buffer: the zero-copy form of [`Mixer::push`], for decoders
    /// and converters that can write into memory they are given (an image decoder's output
    /// buffer, `sws_scale`'s destination). `fill` receives `H * W * C` bytes, the frame
    /// packed (rows of `W * C` bytes, no padding), and must write all of them.
    ///
    /// `fill` is called once when the frame is needed and not at all when it is not (skip its
    /// conversion then; [`Mixer::is_needed`] says so up front). The mixer needs a buffer
    /// ([`Mixer::with_buffer`] or [`Mixer::with_output`] with at least one frame).
    ///
    /// ```
    /// use mixcore::{Geometry, MixSpec, Mixer, Plan, PlanConfig};
    /// let g = Geometry::new(4, 2, 3)?;
    /// let plan = Plan::new(16, &PlanConfig { segments: 2, ..PlanConfig::default() })?;
    /// let spec = MixSpec::default();
    /// let b = Mixer::RECOMMENDED_BUFFER;
    /// let mut scratch = vec![0u64; Mixer::scratch_len_buffered(&plan, g, &spec, b)?];
    /// let mut out = vec![0.0; mixcore::output_len(&plan, g)?];
    /// let mut mixer = Mixer::with_output(&plan, g, spec, b, &mut scratch, &mut out)?;
    /// for f in 0..16 {
    ///     // A decoder would write frame f here; this one paints it in f's colour.
    ///     mixer.push_with(f, |bytes| bytes.fill(f as u8))?;
    /// }
    /// mixer.finish_output()?;
    /// // Segment 0 mixes frames 0..8 with linear weights 1..8 over 36: 168 / 36.
    /// assert_eq!(out[0], 168.0f32 / 36.0);
    /// # Ok::<(), mixcore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::FrameOutOfRange`], [`Error::FramePushedTwice`], [`Error::FloatOutOfOrder`];
    /// [`Error::BufferTooSmall`] (`len: 0`) when the mixer has no buffer. A refused push
    /// changes nothing and does not call `fill`.
    pub fn push_with(&mut self, f: u32, fill: impl FnOnce(&mut [u8])) -> Result<()> {
        self.admission.check(f, None)?;
        if self.capacity == 0 {
            return Err(Error::BufferTooSmall {
                len: 0,
                needed: self.frame_bytes,
            });
        }
        self.admission.record(f);
        let mut feeds = self.plan.feeds(f);
        match (feeds.next(), feeds.next()) {
            (None, _) => {}
            (Some(feed), None) => self.buffer(feed.segment, feed.t, None, fill),
            // Needed by several segments (F < S): the buffer's first slot holds the frame
            // while it is added to each.
            (Some(_), Some(_)) => {
                self.flush();
                let slots = core::mem::take(&mut self.slots);
                if let Some(slot) = slots.get_mut(..self.frame_bytes) {
                    fill(slot);
                    for feed in self.plan.feeds(f) {
                        self.accumulate(feed.segment, &[Source::Packed(slot)], feed.t);
                    }
                } else {
                    debug_assert!(false, "a buffer of {} bytes holds no frame", slots.len());
                }
                self.slots = slots;
            }
        }
        Ok(())
    }

    /// Divides, applies the epilogue and writes every segment into `out` (at least
    /// [`crate::output_len`] values).
    ///
    /// # Errors
    /// [`Error::FramesMissing`] when a needed frame was never pushed,
    /// [`Error::BufferTooSmall`].
    pub fn finish(mut self, out: &mut [f32]) -> Result<()> {
        self.flush();
        check_output(&self.prepared, out)?;
        self.admission.check_complete()?;
        let mut out = Dest::F32(out);
        self.copy_from_own_output(&mut out);
        self.finish_rest(&mut out);
        Ok(())
    }

    /// [`Mixer::finish`] into a half-precision output: `out` receives the output's values
    /// rounded to `half` (docs/contract.md section 10), as bit patterns, the same bits as
    /// [`Mixer::finish`] followed by [`crate::half::convert`] (and as [`crate::mix_half`]).
    /// Segments still in their sums are finished by the kernels straight into `out`; those
    /// mixed whole (into the mixer's scratch, or the output given to
    /// [`Mixer::with_output`], which is left as it is) are rounded from there.
    ///
    /// # Errors
    /// As [`Mixer::finish`].
    ///
    /// ```
    /// use mixcore::{FrameView, Geometry, Half, MixSpec, Mixer, Plan, PlanConfig};
    /// let g = Geometry::new(4, 2, 3)?;
    /// let plan = Plan::new(16, &PlanConfig { segments: 2, ..PlanConfig::default() })?;
    /// let spec = MixSpec::default();
    /// let mut scratch = vec![0u64; Mixer::scratch_len(&plan, g, &spec)?];
    /// let mut mixer = Mixer::new(&plan, g, spec, &mut scratch)?;
    /// let frame = vec![7u8; 4 * 2 * 3];
    /// for f in 0..16 {
    ///     if mixer.is_needed(f) {
    ///         mixer.push(f, &FrameView::packed(&frame, g)?)?;
    ///     }
    /// }
    /// let mut out = vec![0u16; mixcore::output_len(&plan, g)?];
    /// mixer.finish_half(Half::F16, &mut out)?;
    /// assert!(out.iter().all(|&h| h == 0x4700)); // 7.0 in f16
    /// # Ok::<(), mixcore::Error>(())
    /// ```
    pub fn finish_half(mut self, half: Half, out: &mut [u16]) -> Result<()> {
        self.flush();
        if out.len() < self.prepared.output_len {
            return Err(Error::BufferTooSmall {
                len: out.len(),
                needed: self.prepared.output_len,
            });
        }
        self.admission.check_complete()?;
        let mut out = Dest::Half(half, out);
        self.copy_from_own_output(&mut out);
        self.finish_rest(&mut out);
        Ok(())
    }

    /// Finishes a mixer made by [`Mixer::with_output`] into its output.
    ///
    /// # Errors
    /// [`Error::FramesMissing`] when a needed frame was never pushed;
    /// [`Error::BufferTooSmall`] (with `len` 0) when the mixer was not given an output.
    pub fn finish_output(mut self) -> Result<()> {
        self.flush();
        self.admission.check_complete()?;
        let Some(out) = self.out.take() else {
            return Err(Error::BufferTooSmall {
                len: 0,
                needed: self.prepared.output_len,
            });
        };
        self.finish_rest(&mut Dest::F32(out));
        Ok(())
    }
}

/// The CPU's [`FrameSink`]: [`Mixer::push`] and [`Mixer::finish`].
impl FrameSink for Mixer<'_, '_> {
    type Error = Error;
    type Output = [f32];

    fn is_needed(&self, f: u32) -> bool {
        Mixer::is_needed(self, f)
    }

    fn push(&mut self, f: u32, frame: &FrameView<'_>) -> Result<()> {
        Mixer::push(self, f, frame)
    }

    fn can_fill(&self) -> bool {
        self.capacity > 0
    }

    fn push_with(&mut self, f: u32, fill: &mut dyn FnMut(&mut [u8])) -> Result<()> {
        Mixer::push_with(self, f, fill)
    }

    fn finish(self, out: &mut [f32]) -> Result<()> {
        Mixer::finish(self, out)
    }
}

/// A scratch vector of [`Mixer::scratch_len`] words.
///
/// # Errors
/// As [`Mixer::scratch_len`].
#[cfg(feature = "alloc")]
pub fn scratch_vec(
    plan: &Plan<'_>,
    geometry: Geometry,
    spec: &MixSpec<'_>,
) -> Result<alloc::vec::Vec<u64>> {
    Ok(alloc::vec![0; Mixer::scratch_len(plan, geometry, spec)?])
}
