//! Finishing: every segment into the output, by where its values are ([`Stage`]): copied when
//! mixed whole, divided from its sums otherwise.

use core::ops::Range;

use super::Mixer;
use super::state::Stage;
use crate::accumulator::Accumulators;
use crate::half::{self, Half};
use crate::layout::Layout;
use crate::mix::{HalfSink, Prepared, Sink, SliceSink};
use crate::plan::Segment;

/// The output a mixer finishes into: `f32` values, or a half format's bits.
pub(super) enum Dest<'o> {
    F32(&'o mut [f32]),
    Half(Half, &'o mut [u16]),
}

impl Dest<'_> {
    /// Writes `from` (finished `f32` values) to elements `r` (as long as `from`), rounded for
    /// a half output; nothing if `r` leaves the output.
    fn put(&mut self, r: Range<usize>, from: &[f32]) {
        match self {
            Dest::F32(out) => {
                if let Some(to) = out.get_mut(r) {
                    to.copy_from_slice(from);
                }
            }
            Dest::Half(h, out) => {
                if let Some(to) = out.get_mut(r) {
                    half::convert(from, to, *h);
                }
            }
        }
    }
}

impl Mixer<'_, '_> {
    /// Copies the segments mixed whole into the output given up front ([`Stage::InOutput`])
    /// from there into `out` (checked to be long enough), when that is another buffer.
    pub(super) fn copy_from_own_output(&mut self, out: &mut Dest<'_>) {
        let Some(own) = self.out.take() else {
            return;
        };
        for (i, stage) in (0u32..).zip(self.stages.iter()) {
            if *stage == Stage::InOutput {
                for r in segment_runs(&self.prepared, i) {
                    if let Some(from) = own.get(r.clone()) {
                        out.put(r, from);
                    }
                }
            }
        }
    }

    /// Writes every segment not yet in its final place into `out` (checked to be long enough):
    /// copies of those mixed whole into the accumulator region, the rest finished from their
    /// sums.
    pub(super) fn finish_rest(&mut self, out: &mut Dest<'_>) {
        let p = self.prepared;
        let elements = p.output_len / p.segments as usize;
        let words = p.accumulator.bytes() / 4;
        for seg in self.plan.iter() {
            let i = seg.index();
            match self.stages.get(i as usize) {
                Some(Stage::InOutput) => {}
                // Finished whole from the buffer: its block is in the order of its runs in the
                // output.
                Some(Stage::Finished) => {
                    let region: &[f32] = bytemuck::cast_slice(&*self.acc);
                    let start = i as usize * elements * words;
                    let Some(mut src) = region.get(start..start + elements) else {
                        debug_assert!(false, "segment {i}'s block is out of the scratch");
                        continue;
                    };
                    for r in segment_runs(&p, i) {
                        let (run, rest) = src.split_at(r.len());
                        out.put(r, run);
                        src = rest;
                    }
                }
                Some(Stage::Summing) => match out {
                    Dest::F32(o) => self.finish_sums(&seg, &mut SliceSink(o)),
                    Dest::Half(h, o) => self.finish_sums(&seg, &mut HalfSink::new(o, *h)),
                },
                // Complete (checked before finishing), so every segment received its frames.
                Some(Stage::Empty) | None => {
                    debug_assert!(false, "segment {i} is complete but has no values");
                }
            }
        }
    }
}

impl Mixer<'_, '_> {
    /// Finishes segment `seg` from its sums into `sink`, tile by tile.
    fn finish_sums(&mut self, seg: &Segment<'_, '_>, sink: &mut impl Sink) {
        let p = self.prepared;
        let ch = p.geometry.channels as usize;
        let rb = p.row_bytes;
        let seg_len = rb * p.geometry.height as usize;
        let tile_px = p.tile_pixels();
        let fin = p.finish();
        let (i, d) = (seg.index(), seg.denominator());
        let acc = &mut *self.acc;
        for y in 0..p.geometry.height {
            let row_start = i as usize * seg_len + y as usize * rb;
            let mut x0 = 0usize;
            while x0 < p.geometry.width as usize {
                let px = tile_px.min(p.geometry.width as usize - x0);
                let start = row_start + x0 * ch;
                sink.with_runs(
                    &p,
                    i,
                    y,
                    x0 as u32,
                    px,
                    &mut |dst| match Accumulators::over(p.accumulator, acc, start, px * ch) {
                        Some(sums) => sums.finish(&p.kernels, d, &fin, dst),
                        None => debug_assert!(false, "sums out of the scratch"),
                    },
                );
                x0 += px;
            }
        }
    }
}

/// Where segment `i` lies in the output: one run of its `H * W * C` values for `Tchw` and
/// `Thwc`, one run per channel plane for `Cthw`; in that order, they are the segment's values
/// in `Tchw` (or `Thwc`) order.
fn segment_runs(p: &Prepared<'_>, i: u32) -> impl Iterator<Item = Range<usize>> {
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
