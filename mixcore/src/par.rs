//! Parallel in-memory mixing with rayon over (segment, line, two tiles) items.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Result;
use crate::frame::FrameView;
use crate::mix::{
    MixSpec, Prepared, Runs, Sink, TileScratch, check_frames, check_output, frame_line, line_view,
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
        f: &mut dyn FnMut(Runs<'_, '_>),
    ) {
        let g = p.geometry;
        let (n, per) = p.runs_of(pixels);
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
        f(Runs::F32(&mut runs[..n]));
    }
}

/// [`crate::mix()`] on the calling thread and every other thread of the current rayon pool:
/// work items of two tiles of one line of one segment, taken from a shared counter, the same
/// bits as the single-threaded mix. The caller works from the start, so a pool thread that
/// is slow to wake (or a core the host is using for someone else) costs no more than the items
/// it does not take; calls from inside a pool (a trainer mixing several videos at once) work
/// too.
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
    // and `out` is not otherwise touched until the scope ends.
    //
    // The calling thread works too: it and one job per other pool thread take items from a
    // shared counter until none are left. The caller starts at once (no wake-up on its part
    // of the work), and a helper that is slow to wake, or whose core the host has lent to
    // someone else, only finds fewer items: the mix never waits for work it has not started.
    let items = plan.segments() as usize * per_segment;
    let next = AtomicUsize::new(0);
    let work = || {
        let mut scratch = TileScratch::new();
        loop {
            let item = next.fetch_add(1, Ordering::Relaxed);
            if item >= items {
                break;
            }
            let i = (item / per_segment) as u32;
            let (y, block) = ((item % per_segment / blocks) as u32, item % blocks);
            let Ok(seg) = plan.segment(i) else { continue };
            let mut sink = ItemSink(&shared);
            let line = |f: u32| frame_line(frames, flat, f, y);
            let tiles = block * ITEM_TILES..(block + 1) * ITEM_TILES;
            mix_line(&p, &seg, line, y, tiles, &mut scratch, &mut sink);
        }
    };
    let helpers = rayon::current_num_threads()
        .saturating_sub(1)
        .min(items.saturating_sub(1));
    rayon::in_place_scope(|s| {
        for _ in 0..helpers {
            s.spawn(|_| work());
        }
        work();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use rayon::prelude::*;

    use super::mix_par;
    use crate::{FrameView, Geometry, MixSpec, Plan, PlanConfig, mix};

    /// `mix_par` equals `mix` whoever calls it: a thread outside any pool, the workers of a
    /// pool running several mixes at once (the caller is then a worker itself), and a pool of
    /// one thread (no helpers).
    #[test]
    fn same_bits_from_any_caller() {
        // 8,000 pixels a frame: three tiles per (flat) line, two items per segment.
        let g = Geometry::new(200, 40, 3).unwrap();
        let n = g.elements().unwrap();
        let mut x = 0x2545_F491_u32;
        let bytes: Vec<u8> = (0..n * 30)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        let frames: Vec<FrameView<'_>> = bytes
            .chunks_exact(n)
            .map(|c| FrameView::packed(c, g).unwrap())
            .collect();
        let plan = Plan::new(30, &PlanConfig::default()).unwrap();
        let spec = MixSpec::default();
        let len = crate::output_len(&plan, g).unwrap();
        let mut expected = vec![0.0; len];
        mix(&plan, &frames, &spec, &mut expected).unwrap();
        let run = || {
            let mut out = vec![f32::NAN; len];
            mix_par(&plan, &frames, &spec, &mut out).unwrap();
            out.iter()
                .zip(&expected)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        };
        assert!(run(), "mix_par from a plain thread differs from mix");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let all = pool.install(|| (0..6).into_par_iter().map(|_| run()).collect::<Vec<_>>());
        assert!(
            all.iter().all(|&ok| ok),
            "mix_par inside a pool differs from mix"
        );
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        assert!(
            one.install(run),
            "mix_par on a one-thread pool differs from mix"
        );
    }
}
