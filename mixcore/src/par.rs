//! Parallel in-memory mixing over (segment, row) items with rayon.

use rayon::prelude::*;

use crate::error::Result;
use crate::frame::FrameView;
use crate::mix::{MixSpec, Prepared, check_frames, check_output, mix_row};
use crate::plan::Plan;

/// The output buffer shared by the workers.
struct SharedOut {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: workers only write through `SharedOut::store`, and distinct work items write
// disjoint element sets (see `mix_par`), so sharing the pointer across threads is sound.
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// Copies `run` to `idx..idx + run.len()`, ignoring runs that would leave the buffer.
    ///
    /// # Safety
    /// No other thread may access `idx..idx + run.len()` during the call.
    unsafe fn store(&self, idx: usize, run: &[f32]) {
        if idx
            .checked_add(run.len())
            .is_some_and(|end| end <= self.len)
        {
            // SAFETY: in bounds (checked above) of the live `&mut [f32]` that `mix_par`
            // borrows for the whole parallel loop; exclusive per the caller's promise.
            unsafe { core::ptr::copy_nonoverlapping(run.as_ptr(), self.ptr.add(idx), run.len()) };
        }
    }
}

/// [`crate::mix`] on every rayon worker: one work item per (segment, row), same bits as the
/// single-threaded mix.
///
/// # Errors
/// As [`crate::mix`].
pub fn mix_par(
    plan: &Plan<'_>,
    frames: &[FrameView<'_>],
    spec: &MixSpec<'_>,
    out: &mut [f32],
) -> Result<()> {
    let g = check_frames(plan, frames)?;
    let p = Prepared::new(plan, g, spec)?;
    check_output(&p, out)?;
    let shared = SharedOut {
        ptr: out.as_mut_ptr(),
        len: out.len(),
    };
    let height = g.height as usize;
    (0..plan.segments() as usize * height)
        .into_par_iter()
        .for_each(|item| {
            let (i, y) = ((item / height) as u32, (item % height) as u32);
            if let Ok(seg) = plan.segment(i) {
                // SAFETY: item (i, y) stores only the elements (i, y, x, c) of the output,
                // whose layout index is injective in (i, y, x, c); so no two items store to
                // the same element, and `out` is not otherwise touched until the loop ends.
                mix_row(&p, &seg, frames, y, &mut |idx, run| unsafe {
                    shared.store(idx, run)
                });
            }
        });
    Ok(())
}
