//! Adding frames to a segment's accumulators, a tile of a line at a time, in the groups the
//! in-memory engine uses ([`Group::at`]) through the same dispatch ([`Accumulators`]).

use super::Mixer;
use super::state::Stage;
use crate::accumulator::{Accumulators, Group};
use crate::frame::FrameView;
use crate::kernel::MAX_GROUP;

/// A frame to add: a pushed view, or a packed frame in the buffer.
#[derive(Clone, Copy)]
pub(super) enum Source<'f> {
    View(FrameView<'f>),
    Packed(&'f [u8]),
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

impl Mixer<'_, '_> {
    /// Adds frames `t0, t0 + 1, ...` of segment `i` (given by `sources`) to its accumulators,
    /// a tile of a line at a time, in groups.
    pub(super) fn accumulate(&mut self, i: u32, sources: &[Source<'_>], t0: u32) {
        let p = self.prepared;
        let Ok(seg) = self.plan.segment(i) else {
            debug_assert!(
                false,
                "frames added to segment {i}, which is not in the plan"
            );
            return;
        };
        let Some(stage) = self.stages.get_mut(i as usize) else {
            debug_assert!(false, "segment {i} has no stage");
            return;
        };
        debug_assert!(
            matches!(stage, Stage::Empty | Stage::Summing),
            "frames added to segment {i}, which is {stage:?}"
        );
        let mut init = *stage == Stage::Empty;
        *stage = Stage::Summing;
        let rb = p.row_bytes;
        let seg_len = rb * p.geometry.height as usize;
        let base = i as usize * seg_len;
        // Packed sources are read as one line; any padded source makes it row by row.
        let flat = sources.iter().all(|s| s.packed().is_some());
        let (lines, line_len) = if flat {
            (1, seg_len)
        } else {
            (p.geometry.height as usize, rb)
        };
        let tile = crate::TILE_ELEMENTS / 32 * 32;
        let end = t0 + sources.len() as u32;
        let mut t = t0;
        while t < end {
            let group = Group::at(&p, &seg, t, end);
            let frames = &sources[(t - t0) as usize..(group.end() - t0) as usize];
            for line in 0..lines {
                let mut j = 0;
                while j < line_len {
                    let len = tile.min(line_len - j);
                    let mut rows: [&[u8]; MAX_GROUP] = [&[]; MAX_GROUP];
                    for (r, src) in rows.iter_mut().zip(frames) {
                        *r = src
                            .line(flat, line as u32, rb)
                            .get(j..j + len)
                            .unwrap_or(&[]);
                    }
                    let start = base + line * line_len + j;
                    let Some(mut acc) = Accumulators::over(p.accumulator, self.acc, start, len)
                    else {
                        debug_assert!(false, "segment {i}'s accumulators leave the scratch");
                        return;
                    };
                    acc.add(&p.kernels, &rows[..frames.len()], &group, init);
                    j += len;
                }
            }
            t = group.end();
            init = false;
        }
    }
}
