//! The streaming [`Mixer`]: frames pushed one at a time, in any order, into caller-provided
//! scratch; memory is the accumulators (the size of the output), one bit per frame, and
//! optionally a buffer of a few frames.
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

use crate::error::{Error, Result};
use crate::frame::{FrameView, Geometry};
use crate::kernel::MAX_GROUP;
use crate::layout::Layout;
use crate::mix::{
    Arith, MixSpec, Prepared, Sink, SliceSink, TileScratch, check_output, exact_group_end,
    mix_line, tiles_per_line,
};
use crate::plan::{Plan, Segment};

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
    /// One bit per frame: pushed already.
    seen: &'m mut [u64],
    /// Per segment: frames received (low 32 bits), last `t` + 1 (bits 32-62), and [`DONE`]:
    /// the segment was mixed whole from the buffer and its accumulators hold finished values.
    counts: &'m mut [u64],
    /// Buffered frames, each `H * W * C` packed bytes.
    slots: &'m mut [u8],
    /// How many frames the buffer holds.
    capacity: usize,
    /// Bytes of one packed frame.
    frame_bytes: usize,
    /// The run in the buffer: segment, `t` of its first frame, frames buffered.
    run: Run,
    /// The output given up front ([`Mixer::with_output`]): whole windows are mixed straight
    /// into it.
    out: Option<&'m mut [f32]>,
}

/// Flag in `counts`: the segment's accumulator region holds its finished output.
const DONE: u64 = 1 << 63;
/// Flag in `counts`: the segment's accumulators were initialised by a first accumulate (the
/// scratch is not zeroed up front, so a 10-minute clip costs no memset of its output size).
const STARTED: u64 = 1 << 62;
/// Flag in `counts`: the segment was mixed whole from the buffer straight into the output
/// given up front.
const OUTPUT: u64 = 1 << 61;
const FLAGS: u64 = DONE | STARTED | OUTPUT;

#[derive(Clone, Copy, Debug, Default)]
struct Run {
    segment: u32,
    t0: u32,
    len: usize,
}

struct ScratchSizes {
    acc: usize,
    seen: usize,
    counts: usize,
    slots: usize,
}

impl ScratchSizes {
    fn new(plan: &Plan<'_>, p: &Prepared<'_>, buffered: usize) -> Result<Self> {
        let acc = match p.arith {
            Arith::Wide => p.output_len,
            Arith::Narrow | Arith::Float => p.output_len.div_ceil(2),
        };
        let frame_bytes = p
            .row_bytes
            .checked_mul(p.geometry.height as usize)
            .ok_or(Error::SizeOverflow)?;
        let slots = frame_bytes
            .checked_mul(buffered)
            .ok_or(Error::SizeOverflow)?
            .div_ceil(8);
        Ok(ScratchSizes {
            acc,
            seen: (plan.frames() as usize).div_ceil(64),
            counts: plan.segments() as usize,
            slots,
        })
    }

    fn total(&self) -> Result<usize> {
        self.acc
            .checked_add(self.seen)
            .and_then(|n| n.checked_add(self.counts))
            .and_then(|n| n.checked_add(self.slots))
            .ok_or(Error::SizeOverflow)
    }
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
    /// [`MAX_GROUP`] frames are buffered; larger values count as that).
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
        ScratchSizes::new(plan, &p, (buffered as usize).min(MAX_GROUP))?.total()
    }

    /// An unbuffered mixer over `scratch` (at least [`Mixer::scratch_len`] words; it is
    /// zeroed here).
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
    /// `scratch` of at least [`Mixer::scratch_len_buffered`] words (zeroed here).
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
        let s = ScratchSizes::new(plan, &prepared, capacity)?;
        let needed = s.total()?;
        if scratch.len() < needed {
            return Err(Error::BufferTooSmall {
                len: scratch.len(),
                needed,
            });
        }
        let scratch = &mut scratch[..needed];
        let (acc, rest) = scratch.split_at_mut(s.acc);
        let (seen, rest) = rest.split_at_mut(s.seen);
        let (counts, slots) = rest.split_at_mut(s.counts);
        // Accumulators need no zeroing: each segment's first accumulate initialises them.
        seen.fill(0);
        counts.fill(0);
        Ok(Mixer {
            plan,
            prepared,
            acc,
            seen,
            counts,
            slots: bytemuck::cast_slice_mut(slots),
            capacity,
            frame_bytes: prepared.row_bytes * prepared.geometry.height as usize,
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

    fn is_seen(&self, f: u32) -> bool {
        self.seen
            .get(f as usize / 64)
            .is_some_and(|w| w >> (f % 64) & 1 == 1)
    }

    /// Adds frame `f` to every segment that mixes it.
    ///
    /// # Errors
    /// [`Error::FrameOutOfRange`], [`Error::FramePushedTwice`],
    /// [`Error::FrameGeometryMismatch`], [`Error::FloatOutOfOrder`]. A refused push changes
    /// nothing.
    pub fn push(&mut self, f: u32, frame: &FrameView<'_>) -> Result<()> {
        self.admit(f, Some(frame))?;
        self.seen[f as usize / 64] |= 1 << (f % 64);
        let mut feeds = self.plan.feeds(f);
        let (Some(first), None) = (feeds.next(), feeds.clone().next()) else {
            // Not needed, or needed by several segments (F < S): add directly.
            for feed in self.plan.feeds(f) {
                self.received(feed.segment, feed.t);
                self.accumulate(feed.segment, &[frame_source(frame)], feed.t);
            }
            return Ok(());
        };
        self.received(first.segment, first.t);
        if self.capacity == 0 {
            self.accumulate(first.segment, &[frame_source(frame)], first.t);
            return Ok(());
        }
        let rb = self.prepared.row_bytes;
        let packed = frame.packed_bytes();
        self.buffer(first.segment, first.t, packed, |slot| match packed {
            Some(bytes) => slot.copy_from_slice(bytes),
            None => {
                for (y, dst) in slot.chunks_exact_mut(rb).enumerate() {
                    dst.copy_from_slice(frame.row(y as u32));
                }
            }
        });
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
        self.admit(f, None)?;
        if self.capacity == 0 {
            return Err(Error::BufferTooSmall {
                len: 0,
                needed: self.frame_bytes,
            });
        }
        self.seen[f as usize / 64] |= 1 << (f % 64);
        let mut feeds = self.plan.feeds(f);
        let Some(first) = feeds.next() else {
            return Ok(());
        };
        if feeds.next().is_none() {
            self.received(first.segment, first.t);
            self.buffer(first.segment, first.t, None, fill);
            return Ok(());
        }
        // Needed by several segments (F < S): the buffer's first slot holds the frame while
        // it is added to each.
        self.flush();
        let fb = self.frame_bytes;
        let slots = core::mem::take(&mut self.slots);
        if let Some(slot) = slots.get_mut(..fb) {
            fill(slot);
            for feed in self.plan.feeds(f) {
                self.received(feed.segment, feed.t);
                self.accumulate(feed.segment, &[Source::Packed(slot)], feed.t);
            }
        }
        self.slots = slots;
        Ok(())
    }

    /// The checks every push makes before it changes anything, in order: range, a second
    /// push, the frame's geometry (when given), and the float path's order.
    fn admit(&self, f: u32, frame: Option<&FrameView<'_>>) -> Result<()> {
        if f >= self.plan.frames() {
            return Err(Error::FrameOutOfRange {
                frame: f,
                frames: self.plan.frames(),
            });
        }
        if self.is_seen(f) {
            return Err(Error::FramePushedTwice { frame: f });
        }
        if let Some(frame) = frame {
            frame.expect_geometry(self.prepared.geometry)?;
        }
        if self.prepared.arith == Arith::Float {
            for feed in self.plan.feeds(f) {
                let last = ((self.counts[feed.segment as usize] & !FLAGS) >> 32) as u32;
                if feed.t < last {
                    return Err(Error::FloatOutOfOrder { frame: f });
                }
            }
        }
        Ok(())
    }

    /// Puts mixed frame `t` of `segment` into the buffer (`fill` writes it into its slot):
    /// it extends the run in the buffer when it follows it, else the run is flushed and a new
    /// one starts; a full buffer or a window's last frame flushes. A frame that ends its run
    /// and is given `packed` (the caller's packed bytes) is mixed from there, not copied.
    /// Needs a buffer.
    fn buffer(
        &mut self,
        segment: u32,
        t: u32,
        packed: Option<&[u8]>,
        fill: impl FnOnce(&mut [u8]),
    ) {
        let continues = self.run.len > 0
            && self.run.segment == segment
            && self.run.t0 + self.run.len as u32 == t;
        if !continues {
            self.flush();
            self.run = Run {
                segment,
                t0: t,
                len: 0,
            };
        }
        let mixed = self.plan.segment(segment).map_or(0, |s| s.mixed());
        let ends = self.run.len + 1 == self.capacity || t + 1 == mixed;
        if let Some(bytes) = packed.filter(|_| ends) {
            self.flush_with(Some(bytes));
            return;
        }
        let fb = self.frame_bytes;
        let Some(slot) = self
            .slots
            .get_mut(self.run.len * fb..(self.run.len + 1) * fb)
        else {
            return;
        };
        fill(slot);
        self.run.len += 1;
        if ends {
            self.flush();
        }
    }

    fn received(&mut self, segment: u32, t: u32) {
        let c = &mut self.counts[segment as usize];
        *c = ((*c & 0xFFFF_FFFF) + 1) | (u64::from(t + 1) << 32) | (*c & FLAGS);
    }

    /// Adds the buffered run to its segment's accumulators and empties the buffer.
    fn flush(&mut self) {
        self.flush_with(None);
    }

    /// As [`Mixer::flush`], the run ending with `last` (a packed frame not copied into the
    /// buffer) when given.
    fn flush_with(&mut self, last: Option<&[u8]>) {
        let run = core::mem::take(&mut self.run);
        let n = run.len + usize::from(last.is_some());
        if n == 0 || self.capacity == 0 {
            return;
        }
        let fb = self.frame_bytes;
        let whole = self
            .plan
            .segment(run.segment)
            .is_ok_and(|s| run.t0 == 0 && n as u32 == s.mixed());
        let base = self.prepared;
        let layout = if base.layout == Layout::Thwc {
            Layout::Thwc
        } else {
            Layout::Tchw
        };
        let local = Prepared {
            segments: 1,
            layout,
            ..base
        };
        if let Some(flat) = base.flattened().filter(|_| whole && self.out.is_some()) {
            self.mix_whole_into_output(run.segment, &flat, run.len, last);
            return;
        }
        if let Some(local) = local.flattened().filter(|_| whole) {
            self.mix_whole(run.segment, &local, run.len, last);
            return;
        }
        let slots = core::mem::take(&mut self.slots);
        {
            let mut sources = [Source::Packed(&[]); MAX_GROUP];
            for (k, src) in sources.iter_mut().enumerate().take(n) {
                *src = Source::Packed(buffered_frame(slots, fb, run.len, last, k));
            }
            self.accumulate(run.segment, &sources[..n], run.t0);
        }
        self.slots = slots;
    }

    /// Mixes segment `i`, whose whole window is in the buffer, with the in-memory tile engine
    /// (the fused kernels included) straight into its accumulator region, as finished values
    /// in the segment's own block of the output layout (`Thwc` for `Thwc`, else `Tchw`).
    /// `local` is the mix seen as that one flat segment; the window is the buffer's first
    /// `len` frames, then `last` when given.
    fn mix_whole(&mut self, i: u32, local: &Prepared<'_>, len: usize, last: Option<&[u8]>) {
        let Ok(seg) = self.plan.segment(i) else {
            return;
        };
        let base = self.prepared;
        let elements = base.output_len / base.segments as usize;
        let stride = if base.arith == Arith::Wide { 2 } else { 1 };
        let region: &mut [f32] = bytemuck::cast_slice_mut(&mut *self.acc);
        let start = i as usize * elements * stride;
        let Some(region) = region.get_mut(start..start + elements) else {
            return;
        };
        let mut sink = SegmentSink(SliceSink(region));
        let frames = |k| buffered_frame(self.slots, self.frame_bytes, len, last, k);
        mix_buffered(frames, &seg, local, &mut sink);
        self.counts[i as usize] |= DONE;
    }

    /// Mixes segment `i`, whose whole window is in the buffer, straight into the output given
    /// up front, in its final layout. `flat` is the mix seen with flat frames.
    fn mix_whole_into_output(
        &mut self,
        i: u32,
        flat: &Prepared<'_>,
        len: usize,
        last: Option<&[u8]>,
    ) {
        let Ok(seg) = self.plan.segment(i) else {
            return;
        };
        let Some(out) = self.out.as_deref_mut() else {
            return;
        };
        let frames = |k| buffered_frame(self.slots, self.frame_bytes, len, last, k);
        mix_buffered(frames, &seg, flat, &mut SliceSink(out));
        self.counts[i as usize] |= OUTPUT;
    }

    /// Adds frames `t0, t0 + 1, ...` of segment `i` (given by `sources`) to its accumulators,
    /// a tile of a line at a time, in groups.
    fn accumulate(&mut self, i: u32, sources: &[Source<'_>], t0: u32) {
        let p = self.prepared;
        let Ok(seg) = self.plan.segment(i) else {
            return;
        };
        let rb = p.row_bytes;
        let seg_len = rb * p.geometry.height as usize;
        let base = i as usize * seg_len;
        // Packed sources are read as one line; any padded source makes it row by row.
        let flat = sources
            .iter()
            .all(|s| matches!(s, Source::Packed(_)) || s.packed().is_some());
        let (lines, line_len) = if flat {
            (1, seg_len)
        } else {
            (p.geometry.height as usize, rb)
        };
        let tile = crate::TILE_ELEMENTS / 32 * 32;
        let mut init = self.counts[i as usize] & STARTED == 0;
        self.counts[i as usize] |= STARTED;
        let mut t = 0usize;
        while t < sources.len() {
            let end = match p.arith {
                Arith::Narrow => (exact_group_end(&seg, t0 + t as u32) - t0) as usize,
                Arith::Wide | Arith::Float => sources.len(),
            }
            .min(sources.len())
            .max(t + 1);
            let group = &sources[t..end];
            let mut weights_u = [0u32; MAX_GROUP];
            let mut weights_f = [0f32; MAX_GROUP];
            for (k, _) in group.iter().enumerate() {
                let u = t0 + (t + k) as u32;
                weights_u[k] = seg.numerator(u);
                weights_f[k] = p.weight(&seg, u);
            }
            for line in 0..lines {
                let mut j = 0;
                while j < line_len {
                    let len = tile.min(line_len - j);
                    let mut rows: [&[u8]; MAX_GROUP] = [&[]; MAX_GROUP];
                    for (r, src) in rows.iter_mut().zip(group) {
                        *r = src
                            .line(flat, line as u32, rb)
                            .get(j..j + len)
                            .unwrap_or(&[]);
                    }
                    let a = base + line * line_len + j;
                    let rows = &rows[..group.len()];
                    match p.arith {
                        Arith::Narrow => {
                            let acc: &mut [u32] = bytemuck::cast_slice_mut(self.acc);
                            (p.kernels.accumulate_u32)(
                                &mut acc[a..a + len],
                                rows,
                                &weights_u[..rows.len()],
                                init,
                            );
                        }
                        Arith::Wide => {
                            (p.kernels.accumulate_u64)(
                                &mut self.acc[a..a + len],
                                rows,
                                &weights_u[..rows.len()],
                                init,
                            );
                        }
                        Arith::Float => {
                            let acc: &mut [f32] = bytemuck::cast_slice_mut(self.acc);
                            (p.kernels.accumulate_f32)(
                                &mut acc[a..a + len],
                                rows,
                                &weights_f[..rows.len()],
                                init,
                            );
                        }
                    }
                    j += len;
                }
            }
            t = end;
            init = false;
        }
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
        self.check_complete()?;
        // Segments already mixed into the output given up front are copied from there.
        if let Some(own) = self.out.take() {
            for seg in self.plan.iter() {
                if self.counts[seg.index() as usize] & OUTPUT != 0 {
                    for r in segment_runs(&self.prepared, seg.index()) {
                        out[r.clone()].copy_from_slice(&own[r]);
                    }
                }
            }
        }
        self.finish_rest(out);
        Ok(())
    }

    /// Finishes a mixer made by [`Mixer::with_output`] into its output.
    ///
    /// # Errors
    /// [`Error::FramesMissing`] when a needed frame was never pushed;
    /// [`Error::BufferTooSmall`] (with `len` 0) when the mixer was not given an output.
    pub fn finish_output(mut self) -> Result<()> {
        self.flush();
        self.check_complete()?;
        let Some(out) = self.out.take() else {
            return Err(Error::BufferTooSmall {
                len: 0,
                needed: self.prepared.output_len,
            });
        };
        self.finish_rest(out);
        Ok(())
    }

    /// [`Error::FramesMissing`] unless every segment received all its frames.
    fn check_complete(&self) -> Result<()> {
        let complete = self
            .plan
            .iter()
            .all(|seg| self.counts[seg.index() as usize] & 0xFFFF_FFFF == u64::from(seg.mixed()));
        if !complete {
            let mut missing = 0u32;
            let mut first = None;
            for f in 0..self.plan.frames() {
                if !self.is_seen(f) && self.plan.is_needed(f) {
                    missing += 1;
                    first.get_or_insert(f);
                }
            }
            return Err(Error::FramesMissing {
                missing,
                first: first.unwrap_or(0),
            });
        }
        Ok(())
    }

    /// Writes every segment not yet in its final place into `out` (checked to be long enough):
    /// copies of those mixed whole into the accumulator region, the rest finished from their
    /// sums.
    fn finish_rest(&mut self, out: &mut [f32]) {
        let p = self.prepared;
        let ch = p.geometry.channels as usize;
        let rb = p.row_bytes;
        let seg_len = rb * p.geometry.height as usize;
        let tile_px = p.tile_pixels();
        let fin = p.finish();
        let elements = p.output_len / p.segments as usize;
        let stride = if p.arith == Arith::Wide { 2 } else { 1 };
        for seg in self.plan.iter() {
            let i = seg.index() as usize;
            if self.counts[i] & DONE == 0 {
                continue;
            }
            // Finished whole from the buffer: its block is in `Tchw` (or `Thwc`) order, the
            // order of its runs in the output.
            let region: &[f32] = bytemuck::cast_slice(&*self.acc);
            let mut src = &region[i * elements * stride..][..elements];
            for r in segment_runs(&p, seg.index()) {
                let (run, rest) = src.split_at(r.len());
                out[r].copy_from_slice(run);
                src = rest;
            }
        }
        let mut sink = SliceSink(out);
        for seg in self
            .plan
            .iter()
            .filter(|s| self.counts[s.index() as usize] & (DONE | OUTPUT) == 0)
        {
            let d = seg.denominator();
            for y in 0..p.geometry.height {
                let row_start = seg.index() as usize * seg_len + y as usize * rb;
                let mut x0 = 0usize;
                while x0 < p.geometry.width as usize {
                    let px = tile_px.min(p.geometry.width as usize - x0);
                    let (a, b) = (row_start + x0 * ch, row_start + (x0 + px) * ch);
                    let acc = &*self.acc;
                    sink.with_runs(
                        &p,
                        seg.index(),
                        y,
                        x0 as u32,
                        px,
                        &mut |dst| match p.arith {
                            Arith::Narrow => {
                                let acc: &[u32] = bytemuck::cast_slice(acc);
                                (p.kernels.finish_u32)(&acc[a..b], d, &fin, dst);
                            }
                            Arith::Wide => (p.kernels.finish_u64)(&acc[a..b], d, &fin, dst),
                            Arith::Float => {
                                let acc: &[f32] = bytemuck::cast_slice(acc);
                                (p.kernels.finish_f32)(&acc[a..b], &fin, dst);
                            }
                        },
                    );
                    x0 += px;
                }
            }
        }
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

/// Where segment `i` lies in the output: one run of its `H * W * C` values for `Tchw` and
/// `Thwc`, one run per channel plane for `Cthw`; in that order, they are the segment's values
/// in `Tchw` (or `Thwc`) order.
fn segment_runs(p: &Prepared<'_>, i: u32) -> impl Iterator<Item = core::ops::Range<usize>> {
    let (s, i) = (p.segments as usize, i as usize);
    let elements = p.output_len / s;
    let plane = p.geometry.width as usize * p.geometry.height as usize;
    let (runs, len) = match p.layout {
        Layout::Tchw | Layout::Thwc => (1, elements),
        Layout::Cthw => (p.geometry.channels as usize, plane),
    };
    (0..runs).map(move |c| {
        let at = match p.layout {
            Layout::Tchw | Layout::Thwc => i * elements,
            Layout::Cthw => (c * s + i) * plane,
        };
        at..at + len
    })
}

/// Frame `k` of a buffered run: the buffer's slot `k` for `k < len`, then `last` (a frame the
/// run ends with that was not copied into the buffer).
fn buffered_frame<'a>(
    slots: &'a [u8],
    fb: usize,
    len: usize,
    last: Option<&'a [u8]>,
    k: usize,
) -> &'a [u8] {
    if k < len {
        slots.get(k * fb..(k + 1) * fb).unwrap_or(&[])
    } else {
        last.unwrap_or(&[])
    }
}

/// Mixes a whole window of `seg`, mixed frame `t` being `frames(t)`, into `sink` with the
/// in-memory tile engine (`p` sees the frames as one flat line).
fn mix_buffered<'f>(
    frames: impl Fn(usize) -> &'f [u8] + Copy,
    seg: &Segment<'_, '_>,
    p: &Prepared<'_>,
    sink: &mut impl Sink,
) {
    let line = |f: u32| -> &'f [u8] { frames(seg.index_of(f).unwrap_or(0) as usize) };
    let mut scratch = TileScratch::new();
    mix_line(p, seg, line, 0, 0..tiles_per_line(p), &mut scratch, sink);
}

/// A frame to add: a pushed view, or a packed frame in the buffer.
#[derive(Clone, Copy)]
enum Source<'f> {
    View(FrameView<'f>),
    Packed(&'f [u8]),
}

fn frame_source<'f>(frame: &FrameView<'f>) -> Source<'f> {
    Source::View(*frame)
}

impl<'f> Source<'f> {
    fn packed(&self) -> Option<&'f [u8]> {
        match self {
            Source::View(v) => v.packed_bytes(),
            Source::Packed(b) => Some(b),
        }
    }

    /// Line `y` (the whole frame when `flat`) of a frame with rows of `rb` bytes.
    fn line(&self, flat: bool, y: u32, rb: usize) -> &'f [u8] {
        match (self, flat) {
            (_, true) => self.packed().unwrap_or(&[]),
            (Source::View(v), false) => v.row(y),
            (Source::Packed(b), false) => {
                b.get(y as usize * rb..(y as usize + 1) * rb).unwrap_or(&[])
            }
        }
    }
}

/// A sink for one segment's block: the engine names the real segment, the block holds only it.
struct SegmentSink<'o>(SliceSink<'o>);

impl Sink for SegmentSink<'_> {
    fn with_runs(
        &mut self,
        p: &Prepared<'_>,
        _segment: u32,
        y: u32,
        x0: u32,
        pixels: usize,
        f: &mut dyn FnMut(&mut [&mut [f32]]),
    ) {
        self.0.with_runs(p, 0, y, x0, pixels, f);
    }
}
