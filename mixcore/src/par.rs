//! Parallel in-memory mixing with rayon over (segment, band of rows) items.

use rayon::prelude::*;

use crate::error::Result;
use crate::frame::FrameView;
use crate::mix::{
    MixSpec, Prepared, Sink, TileScratch, check_frames, check_output, frame_line, line_view,
    mix_line, tiles_per_line,
};
use crate::plan::Plan;

/// Tiles per work item: enough work to amortise scheduling, enough items to balance.
const ITEM_TILES: usize = 2;

/// The output buffer shared by the workers. Each worker only forms runs of the tiles of its
/// own item.
struct SharedSink {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: workers only touch the buffer through `SharedSink::with_runs`, and distinct work
// items touch disjoint element sets (see `mix_par`), so sharing the pointer is sound.
unsafe impl Sync for SharedSink {}

/// A worker's view of the shared sink.
struct ItemSink<'s>(&'s SharedSink);

impl Sink for ItemSink<'_> {
    fn with_runs(
        &mut self,
        p: &Prepared<'_>,
        i: u32,
        y: u32,
        x0: u32,
        pixels: usize,
        f: &mut dyn FnMut(&mut [&mut [f32]]),
    ) {
        let g = p.geometry;
        let ch = g.channels as usize;
        let (n, per) = if p.layout.is_interleaved() {
            (1, pixels * ch)
        } else {
            (ch, pixels)
        };
        let mut runs: [&mut [f32]; 4] = [&mut [], &mut [], &mut [], &mut []];
        for (c, slot) in runs.iter_mut().enumerate().take(n) {
            let idx = p.layout.index(p.segments, g, i, y, x0, c as u32);
            if idx.checked_add(per).is_none_or(|end| end > self.0.len) {
                return;
            }
            // SAFETY: in bounds (checked above) of the `&mut [f32]` that `mix_par` borrows for
            // the whole parallel loop. The run holds elements (i, y, x0..x0+pixels, c) (or all
            // channels of those pixels), distinct channels' runs are disjoint, and no other
            // item forms runs of these pixels of line y of segment i (see `mix_par`), so this
            // is the only reference to these elements while it lives.
            *slot = unsafe { core::slice::from_raw_parts_mut(self.0.ptr.add(idx), per) };
        }
        f(&mut runs[..n]);
    }
}

/// [`crate::mix()`] on every rayon worker: one work item per segment and band of rows, the
/// same bits as the single-threaded mix.
///
/// # Errors
/// As [`crate::mix()`].
pub fn mix_par(
    plan: &Plan<'_>,
    frames: &[FrameView<'_>],
    spec: &MixSpec<'_>,
    out: &mut [f32],
) -> Result<()> {
    let g = check_frames(plan, frames)?;
    let p = Prepared::new(plan, g, spec)?;
    check_output(&p, out)?;
    let shared = SharedSink {
        ptr: out.as_mut_ptr(),
        len: out.len(),
    };
    let (p, flat) = line_view(&p, frames);
    let lines = p.geometry.height as usize;
    let blocks = tiles_per_line(&p).div_ceil(ITEM_TILES);
    let per_segment = lines * blocks;
    // Item (i, y, block) forms only runs of tiles block*ITEM_TILES.. of line y of segment i;
    // a run's elements (i, y, x, c) have injective layout indices, so items never overlap,
    // and `out` is not otherwise touched until the loop ends.
    (0..plan.segments() as usize * per_segment)
        .into_par_iter()
        // One tile scratch per rayon job, not per item (it is 32 KiB to initialise).
        .for_each_init(TileScratch::new, |scratch, item| {
            let i = (item / per_segment) as u32;
            let (y, block) = ((item % per_segment / blocks) as u32, item % blocks);
            let Ok(seg) = plan.segment(i) else { return };
            let mut sink = ItemSink(&shared);
            let line = |f: u32| frame_line(frames, flat, f, y);
            let tiles = block * ITEM_TILES..(block + 1) * ITEM_TILES;
            mix_line(&p, &seg, line, y, tiles, scratch, &mut sink);
        });
    Ok(())
}
