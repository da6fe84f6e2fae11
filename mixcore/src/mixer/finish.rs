//! Finishing: every segment into the output, by where its values are ([`Stage`]): copied when
//! mixed whole, divided from its sums otherwise.

use core::ops::Range;

use super::Mixer;
use super::state::Stage;
use crate::accumulator::Accumulators;
use crate::layout::Layout;
use crate::mix::{Prepared, Sink, SliceSink};

impl Mixer<'_, '_> {
    /// Copies the segments mixed whole into the output given up front ([`Stage::InOutput`])
    /// from there into `out` (checked to be long enough), when that is another buffer.
    pub(super) fn copy_from_own_output(&mut self, out: &mut [f32]) {
        let Some(own) = self.out.take() else {
            return;
        };
        for (i, stage) in (0u32..).zip(self.stages.iter()) {
            if *stage == Stage::InOutput {
                for r in segment_runs(&self.prepared, i) {
                    if let (Some(to), Some(from)) = (out.get_mut(r.clone()), own.get(r)) {
                        to.copy_from_slice(from);
                    }
                }
            }
        }
    }

    /// Writes every segment not yet in its final place into `out` (checked to be long enough):
    /// copies of those mixed whole into the accumulator region, the rest finished from their
    /// sums.
    pub(super) fn finish_rest(&mut self, out: &mut [f32]) {
        let p = self.prepared;
        let ch = p.geometry.channels as usize;
        let rb = p.row_bytes;
        let seg_len = rb * p.geometry.height as usize;
        let tile_px = p.tile_pixels();
        let fin = p.finish();
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
                        if let Some(to) = out.get_mut(r) {
                            to.copy_from_slice(run);
                        }
                        src = rest;
                    }
                }
                Some(Stage::Summing) => {
                    let d = seg.denominator();
                    let acc = &mut *self.acc;
                    let mut sink = SliceSink(&mut *out);
                    for y in 0..p.geometry.height {
                        let row_start = i as usize * seg_len + y as usize * rb;
                        let mut x0 = 0usize;
                        while x0 < p.geometry.width as usize {
                            let px = tile_px.min(p.geometry.width as usize - x0);
                            let start = row_start + x0 * ch;
                            sink.with_runs(&p, i, y, x0 as u32, px, &mut |dst| {
                                match Accumulators::over(p.accumulator, acc, start, px * ch) {
                                    Some(sums) => sums.finish(&p.kernels, d, &fin, dst),
                                    None => debug_assert!(false, "sums out of the scratch"),
                                }
                            });
                            x0 += px;
                        }
                    }
                }
                // Complete (checked before finishing), so every segment received its frames.
                Some(Stage::Empty) | None => {
                    debug_assert!(false, "segment {i} is complete but has no values");
                }
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
