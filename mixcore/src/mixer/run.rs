//! The buffer of in-order frames: runs of a segment's consecutive mixed frames, added to its
//! accumulators a run at a time, or mixed whole (the fused kernels, no accumulators) when the
//! run is the segment's whole window.

use super::Mixer;
use super::add::Source;
use super::state::Stage;
use crate::kernel::MAX_GROUP;
use crate::layout::Layout;
use crate::mix::{Prepared, Runs, Sink, SliceSink, TileScratch, mix_line, tiles_per_line};
use crate::plan::Segment;

/// The run in the buffer: mixed frames `t0 .. t0 + len` of one segment, in slots `0 .. len`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Run {
    pub segment: u32,
    pub t0: u32,
    pub len: usize,
}

impl Mixer<'_, '_> {
    /// Puts mixed frame `t` of `segment` into the buffer (`fill` writes it into its slot):
    /// it extends the run in the buffer when it follows it, else the run is flushed and a new
    /// one starts; a full buffer or a window's last frame flushes. A frame that ends its run
    /// and is given `packed` (the caller's packed bytes) is mixed from there, not copied.
    /// Needs a buffer.
    pub(super) fn buffer(
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
            debug_assert!(
                false,
                "slot {} of a {}-frame buffer",
                self.run.len, self.capacity
            );
            return;
        };
        fill(slot);
        self.run.len += 1;
        if ends {
            self.flush();
        }
    }

    /// Adds the buffered run to its segment's accumulators and empties the buffer.
    pub(super) fn flush(&mut self) {
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
        let whole = self
            .plan
            .segment(run.segment)
            .is_ok_and(|s| run.t0 == 0 && n as u32 == s.mixed());
        let base = self.prepared;
        if whole {
            if let Some(flat) = base.flattened().filter(|_| self.out.is_some()) {
                self.mix_whole_into_output(run.segment, &flat, run.len, last);
                return;
            }
            // The segment's own block, in the order of its runs in the output.
            let layout = match base.layout {
                Layout::Thwc => Layout::Thwc,
                Layout::Tchw | Layout::Cthw => Layout::Tchw,
            };
            let local = Prepared {
                segments: 1,
                layout,
                ..base
            };
            if let Some(local) = local.flattened() {
                self.mix_whole(run.segment, &local, run.len, last);
                return;
            }
        }
        let slots = core::mem::take(&mut self.slots);
        {
            let mut sources = [Source::Packed(&[]); MAX_GROUP];
            for (k, src) in sources.iter_mut().enumerate().take(n) {
                *src = Source::Packed(buffered_frame(slots, self.frame_bytes, run.len, last, k));
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
            debug_assert!(false, "segment {i} of a run is not in the plan");
            return;
        };
        let elements = self.prepared.output_len / self.prepared.segments as usize;
        let words = self.prepared.accumulator.bytes() / 4;
        let region: &mut [f32] = bytemuck::cast_slice_mut(&mut *self.acc);
        let start = i as usize * elements * words;
        let Some(region) = region.get_mut(start..start + elements) else {
            debug_assert!(
                false,
                "segment {i}'s accumulator region is out of the scratch"
            );
            return;
        };
        let mut sink = SegmentSink(SliceSink(region));
        let frames = |k| buffered_frame(self.slots, self.frame_bytes, len, last, k);
        mix_buffered(frames, &seg, local, &mut sink);
        self.stages[i as usize] = Stage::Finished;
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
        let (Ok(seg), Some(out)) = (self.plan.segment(i), self.out.as_deref_mut()) else {
            debug_assert!(false, "segment {i} mixed into an output that is not there");
            return;
        };
        let frames = |k| buffered_frame(self.slots, self.frame_bytes, len, last, k);
        mix_buffered(frames, &seg, flat, &mut SliceSink(out));
        self.stages[i as usize] = Stage::InOutput;
    }
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
        f: &mut dyn FnMut(Runs<'_, '_>),
    ) {
        self.0.with_runs(p, 0, y, x0, pixels, f);
    }
}
