//! Accumulators: the width a mix sums in ([`Accumulator`]), and the one place that dispatches
//! on it. The in-memory tile engine (`mix`, `mix_par`) and the streaming [`crate::Mixer`] both
//! add groups of frames into accumulators and finish them through `Accumulators`, and both
//! cut a window into groups with `Group::at`, so the three widths are matched once.

use core::ops::Range;

use crate::kernel::{Finish, Kernels, MAX_GROUP};
use crate::mix::{Prepared, Runs};
use crate::plan::Segment;

/// The arithmetic a mix sums in, chosen from the plan and the spec by
/// [`crate::MixSpec::accumulator`]; mixcuda's kernels use the same choice.
///
/// Ordered by what the sums hold, `U32 < U64`: a batch of plans mixed with one exact spec sums
/// in the largest any of them needs (`max`). `F32`, the float path's, only ever meets itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Accumulator {
    /// Exact sums in `u32`: `255 * D_i` fits for every segment.
    U32,
    /// Exact sums in `u64`: some `255 * D_i` does not fit a `u32`.
    U64,
    /// The float path's `f32` sums.
    F32,
}

impl Accumulator {
    /// Bytes of one accumulator: 4, or 8 for `U64`.
    #[must_use]
    pub fn bytes(self) -> usize {
        match self {
            Accumulator::U32 | Accumulator::F32 => 4,
            Accumulator::U64 => 8,
        }
    }
}

/// A run of accumulators of one width, laid over `u64` words (a tile's scratch, or a
/// segment's region of the streaming mixer's scratch).
pub(crate) enum Accumulators<'a> {
    U32(&'a mut [u32]),
    U64(&'a mut [u64]),
    F32(&'a mut [f32]),
}

impl<'a> Accumulators<'a> {
    /// Accumulators `start..start + len` of width `width` over `words`; `None` when they
    /// would leave `words`.
    pub(crate) fn over(
        width: Accumulator,
        words: &'a mut [u64],
        start: usize,
        len: usize,
    ) -> Option<Self> {
        let range = start..start.checked_add(len)?;
        Some(match width {
            Accumulator::U32 => {
                Accumulators::U32(bytemuck::cast_slice_mut::<u64, u32>(words).get_mut(range)?)
            }
            Accumulator::U64 => Accumulators::U64(words.get_mut(range)?),
            Accumulator::F32 => {
                Accumulators::F32(bytemuck::cast_slice_mut::<u64, f32>(words).get_mut(range)?)
            }
        })
    }

    /// Adds `rows` (mixed frames `group.frames()`, one row each) with `group`'s weights:
    /// `acc = (init ? 0 : acc) + sum of w_t * row_t`.
    pub(crate) fn add(&mut self, k: &Kernels, rows: &[&[u8]], group: &Group, init: bool) {
        let n = rows.len().min(group.len());
        let rows = &rows[..n];
        match self {
            Accumulators::U32(acc) => {
                (k.accumulate_u32)(acc, rows, &group.numerators[..n], init);
            }
            Accumulators::U64(acc) => {
                (k.accumulate_u64)(acc, rows, &group.numerators[..n], init);
            }
            Accumulators::F32(acc) => (k.accumulate_f32)(acc, rows, &group.weights[..n], init),
        }
    }

    /// Finishes the sums (exact: divided by `d`, correctly rounded), applies the epilogue and
    /// lays the values out into `dst` (rounded to the half format for a half output).
    pub(crate) fn finish(&self, k: &Kernels, d: u64, fin: &Finish, dst: Runs<'_, '_>) {
        match (self, dst) {
            (Accumulators::U32(acc), Runs::F32(dst)) => (k.finish_u32)(acc, d, fin, dst),
            (Accumulators::U64(acc), Runs::F32(dst)) => (k.finish_u64)(acc, d, fin, dst),
            (Accumulators::F32(acc), Runs::F32(dst)) => (k.finish_f32)(acc, fin, dst),
            (Accumulators::U32(acc), Runs::Half(h, dst)) => {
                (k.finish_u32_half)(acc, d, fin, h, dst)
            }
            (Accumulators::U64(acc), Runs::Half(h, dst)) => {
                (k.finish_u64_half)(acc, d, fin, h, dst)
            }
            (Accumulators::F32(acc), Runs::Half(h, dst)) => (k.finish_f32_half)(acc, fin, h, dst),
        }
    }
}

/// Consecutive mixed frames of one segment added by one accumulate call, with their weights:
/// numerators on the exact path, float weights on the float path.
pub(crate) struct Group {
    frames: Range<u32>,
    numerators: [u32; MAX_GROUP],
    weights: [f32; MAX_GROUP],
}

impl Group {
    /// The group of mixed frames of `seg` that starts at `t` and ends by `end` (`t < end`):
    /// at most [`MAX_GROUP`] frames, and on `u32` sums as many as the backend's
    /// `exact_group` takes at once.
    pub(crate) fn at(p: &Prepared<'_>, seg: &Segment<'_, '_>, t: u32, end: u32) -> Group {
        let n = end.saturating_sub(t).min(MAX_GROUP as u32) as usize;
        let mut g = Group {
            frames: t..t,
            numerators: [0; MAX_GROUP],
            weights: [0.0; MAX_GROUP],
        };
        let len = match p.accumulator {
            Accumulator::F32 => {
                for (k, w) in g.weights.iter_mut().enumerate().take(n) {
                    *w = p.weight(seg, t + k as u32);
                }
                n
            }
            Accumulator::U32 | Accumulator::U64 => {
                for (k, w) in g.numerators.iter_mut().enumerate().take(n) {
                    *w = seg.numerator(t + k as u32);
                }
                if p.accumulator == Accumulator::U32 {
                    (p.kernels.exact_group)(&g.numerators[..n]).clamp(n.min(1), n)
                } else {
                    n
                }
            }
        };
        g.frames = t..t + len as u32;
        g
    }

    /// The mixed frames `t` of the group.
    pub(crate) fn frames(&self) -> Range<u32> {
        self.frames.clone()
    }

    /// How many frames the group holds.
    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    /// One past the group's last mixed frame.
    pub(crate) fn end(&self) -> u32 {
        self.frames.end
    }
}
