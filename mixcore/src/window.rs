//! Windows: which frames belong to segment i (docs/contract.md section 3).

use core::ops::Range;

/// The frames `[lo, hi)` of one segment's temporal window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// First frame of the window.
    pub lo: u32,
    /// One past the last frame of the window (`hi > lo`).
    pub hi: u32,
}

impl Window {
    /// Frames in the window, `n_i = hi - lo` (at least 1).
    #[must_use]
    pub fn len(&self) -> u32 {
        self.hi - self.lo
    }

    /// Always false: a window holds at least one frame. (Present for clippy's `len` rule.)
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.hi <= self.lo
    }

    /// The window's frames as a range.
    #[must_use]
    pub fn range(&self) -> Range<u32> {
        self.lo..self.hi
    }
}

/// `floor(a * b / c)` without overflow for `u32` operands (`c > 0`).
#[inline]
pub(crate) fn mul_div_floor(a: u64, b: u64, c: u64) -> u64 {
    ((a as u128 * b as u128) / c as u128) as u64
}

/// Window `i` of `segments` windows over `frames` frames:
/// `lo = floor(i*F/S)`, `hi = max(floor((i+1)*F/S), lo + 1)`.
///
/// The caller guarantees `frames >= 1`, `segments >= 1` and `i < segments`.
#[must_use]
pub(crate) fn window(frames: u32, segments: u32, i: u32) -> Window {
    let (f, s) = (u64::from(frames), u64::from(segments));
    let lo = mul_div_floor(u64::from(i), f, s) as u32;
    let hi = (mul_div_floor(u64::from(i) + 1, f, s) as u32).max(lo + 1);
    Window { lo, hi }
}

/// The segments whose windows contain frame `f` (`f < frames`): exactly one when `F >= S`,
/// one or more consecutive segments when `F < S`.
#[must_use]
pub(crate) fn segments_containing(frames: u32, segments: u32, f: u32) -> Range<u32> {
    // The last segment whose window starts at or before f: the largest i with
    // floor(i*F/S) <= f, i.e. i*F < (f+1)*S.
    let last = |f: u32| -> u32 {
        let i = (u64::from(f) + 1) * u64::from(segments) - 1;
        (i / u64::from(frames)).min(u64::from(segments) - 1) as u32
    };
    let hi = last(f);
    if frames >= segments {
        hi..hi + 1
    } else {
        // Windows are single frames {lo_i}; those with lo_i == f follow those with lo_i < f.
        let lo = if f == 0 { 0 } else { last(f - 1) + 1 };
        lo..hi + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_spec_example_f3_s8() {
        let los: [u32; 8] = core::array::from_fn(|i| window(3, 8, i as u32).lo);
        assert_eq!(los, [0, 0, 0, 1, 1, 1, 2, 2]);
        for i in 0..8 {
            assert_eq!(window(3, 8, i).len(), 1);
        }
    }

    #[test]
    fn segments_containing_matches_windows() {
        for frames in 1..40 {
            for segments in 1..40 {
                for f in 0..frames {
                    let r = segments_containing(frames, segments, f);
                    for i in 0..segments {
                        let w = window(frames, segments, i);
                        assert_eq!(
                            w.range().contains(&f),
                            r.contains(&i),
                            "F={frames} S={segments} f={f} i={i}"
                        );
                    }
                }
            }
        }
    }
}
