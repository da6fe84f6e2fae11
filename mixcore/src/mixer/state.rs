//! The mixer's state in the caller's scratch: the parts it is cut into, and where each
//! segment's values are ([`Stage`]).

use crate::accumulator::Accumulator;
use crate::admit::Admission;
use crate::error::{Error, Result};
use crate::mix::Prepared;
use crate::plan::Plan;

/// Where a segment's values are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Stage {
    /// No frame added yet: its accumulators are not initialised (the scratch is not zeroed up
    /// front, so a mixer whose windows all arrive whole never touches them).
    #[default]
    Empty,
    /// Its accumulators hold the sums of the frames added so far.
    Summing,
    /// Mixed whole from the buffer: its accumulator region holds its finished values, in the
    /// order of its runs in the output (see `segment_runs`).
    Finished,
    /// Mixed whole from the buffer straight into the output given up front.
    InOutput,
}

/// `n` stages, each [`Stage::Empty`], laid over the start of `words`; `None` when `words`
/// holds fewer than `n` bytes.
pub(super) fn stages(words: &mut [u64], n: usize) -> Option<&mut [Stage]> {
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(words);
    let bytes = bytes.get_mut(..n)?;
    bytes.fill(Stage::Empty as u8);
    // SAFETY: `Stage` is `repr(u8)`: one byte, alignment 1. Each of the `n` bytes now holds
    // `Stage::Empty as u8`, a valid `Stage`. The new slice takes over the unique borrow of
    // those bytes for its whole lifetime, and only valid `Stage`s (initialised bytes) are ever
    // written through it, so when the borrow ends `words` holds initialised bytes, valid
    // `u64`s, again.
    Some(unsafe { core::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<Stage>(), n) })
}

/// Words of each part of a mixer's scratch, in the order they are laid out.
pub(super) struct Parts {
    /// Accumulators, `[S][H][W*C]`: `u32` (or `f32`) two to a word, or `u64`.
    pub acc: usize,
    /// The [`Admission`]'s record: a bit per frame, a word per segment.
    pub admission: usize,
    /// A [`Stage`] per segment, eight to a word.
    pub stages: usize,
    /// The buffer of frames, each `H * W * C` packed bytes.
    pub slots: usize,
}

impl Parts {
    pub(super) fn new(plan: &Plan<'_>, p: &Prepared<'_>, buffered: usize) -> Result<Self> {
        let acc = match p.accumulator {
            Accumulator::U64 => p.output_len,
            Accumulator::U32 | Accumulator::F32 => p.output_len.div_ceil(2),
        };
        let slots = frame_bytes(p)?
            .checked_mul(buffered)
            .ok_or(Error::SizeOverflow)?
            .div_ceil(8);
        Ok(Parts {
            acc,
            admission: Admission::words(plan)?,
            stages: (plan.segments() as usize).div_ceil(8),
            slots,
        })
    }

    pub(super) fn total(&self) -> Result<usize> {
        self.acc
            .checked_add(self.admission)
            .and_then(|n| n.checked_add(self.stages))
            .and_then(|n| n.checked_add(self.slots))
            .ok_or(Error::SizeOverflow)
    }
}

/// Bytes of one packed frame.
pub(super) fn frame_bytes(p: &Prepared<'_>) -> Result<usize> {
    p.row_bytes
        .checked_mul(p.geometry.height as usize)
        .ok_or(Error::SizeOverflow)
}
