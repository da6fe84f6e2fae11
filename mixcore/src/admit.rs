//! Admission: the one rule that decides what a frame pushed into a streaming mix is (needed,
//! not needed, or refused: out of range, pushed twice, of the wrong geometry, out of order on
//! the float path), and the record of the pushes so far that it needs. The streaming
//! [`crate::Mixer`] and mixcuda's `StreamMixer` both admit frames through [`Admission`], so
//! every [`crate::FrameSink`] accepts and refuses the same pushes with the same errors.

use crate::accumulator::Accumulator;
use crate::error::{Error, Result};
use crate::frame::{FrameView, Geometry};
use crate::plan::Plan;

/// What an admitted frame is to the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Admitted {
    /// No segment mixes the frame; it is only recorded as pushed.
    NotNeeded,
    /// Some segment mixes the frame ([`Plan::feeds`] says which, and where).
    Needed,
}

/// How far one segment's frames have arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
struct Progress {
    /// Mixed frames of the segment pushed so far.
    received: u32,
    /// One past the largest `t` pushed so far (0 before any).
    next_t: u32,
}

// SAFETY: `Progress` is `repr(C)` with two `u32` fields: no padding, and every bit pattern is
// a valid value, so it may be viewed as plain words and back (bytemuck's requirements).
unsafe impl bytemuck::Zeroable for Progress {}
// SAFETY: as above; it is `Copy` and `'static`.
unsafe impl bytemuck::Pod for Progress {}

/// The pushes of one streaming mix so far and the rule that admits the next one.
///
/// The checks of a push, in order: the frame index is below `F`
/// ([`Error::FrameOutOfRange`]); the frame was not pushed before ([`Error::FramePushedTwice`]);
/// its geometry is the mix's, when the frame is given ([`Error::FrameGeometryMismatch`]); and
/// on the float path, which sums each segment's frames in increasing order, no later frame of
/// a segment it feeds came first ([`Error::FloatOutOfOrder`]). The exact path takes frames in
/// any order. At the end, [`Admission::check_complete`] reports needed frames that never came
/// ([`Error::FramesMissing`]).
///
/// The record lives in `W`, at least [`Admission::words`] `u64`s (one bit per frame, one word
/// per segment): a borrowed `&mut [u64]` (no allocation, as [`crate::Mixer`] uses it) or an
/// owned `Vec<u64>`.
///
/// ```
/// use mixcore::{Accumulator, Admission, Admitted, Error, FrameView, Geometry, Plan, PlanConfig};
/// use mixcore::FramesPerSegment::Fixed;
/// let g = Geometry::new(2, 2, 1)?;
/// // TSN: the centre frame of each of 2 windows of 4 frames, frames 2 and 6.
/// let plan = Plan::new(8, &PlanConfig { segments: 2, k: Fixed(1), ..PlanConfig::default() })?;
/// let mut words = vec![0u64; Admission::words(&plan)?];
/// let mut admission = Admission::new(plan, g, Accumulator::U32, &mut words[..])?;
/// let frame = [0u8; 4];
/// let view = FrameView::packed(&frame, g)?;
/// assert_eq!(admission.admit(0, Some(&view))?, Admitted::NotNeeded);
/// assert_eq!(admission.admit(0, Some(&view)), Err(Error::FramePushedTwice { frame: 0 }));
/// assert_eq!(admission.admit(2, Some(&view))?, Admitted::Needed);
/// assert_eq!(admission.check_complete(), Err(Error::FramesMissing { missing: 1, first: 6 }));
/// # Ok::<(), mixcore::Error>(())
/// ```
#[derive(Debug)]
pub struct Admission<'a, W> {
    plan: Plan<'a>,
    geometry: Geometry,
    /// Float sums: each segment's frames in increasing `t`.
    in_order: bool,
    /// Words of the frame bits; the segments' progress follows them.
    seen_words: usize,
    words: W,
}

impl Admission<'_, ()> {
    /// `u64` words an admission for `plan` records its pushes in: one bit per frame and one
    /// word per segment.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`].
    pub fn words(plan: &Plan<'_>) -> Result<usize> {
        let (seen, segments) = Self::sizes(plan);
        seen.checked_add(segments).ok_or(Error::SizeOverflow)
    }

    fn sizes(plan: &Plan<'_>) -> (usize, usize) {
        (
            (plan.frames() as usize).div_ceil(64),
            plan.segments() as usize,
        )
    }
}

impl<'a, W: AsRef<[u64]> + AsMut<[u64]>> Admission<'a, W> {
    /// A record of no pushes yet for `plan` and frames of `geometry`, summed in
    /// `accumulator` ([`crate::MixSpec::accumulator`]: `F32` sums, the float path's, depend
    /// on the order of the frames, so they must arrive in it), kept in `words` (at least
    /// [`Admission::words`] of them; zeroed here).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] for too few words, [`Error::SizeOverflow`].
    pub fn new(
        plan: Plan<'a>,
        geometry: Geometry,
        accumulator: Accumulator,
        mut words: W,
    ) -> Result<Self> {
        let needed = Admission::words(&plan)?;
        let given = words.as_mut();
        let len = given.len();
        let Some(used) = given.get_mut(..needed) else {
            return Err(Error::BufferTooSmall { len, needed });
        };
        used.fill(0);
        Ok(Admission {
            plan,
            geometry,
            in_order: accumulator == Accumulator::F32,
            seen_words: Admission::sizes(&plan).0,
            words,
        })
    }

    /// The plan the pushes are for.
    #[must_use]
    pub fn plan(&self) -> &Plan<'a> {
        &self.plan
    }

    fn parts(&self) -> (&[u64], &[Progress]) {
        let (seen, progress) = self.words.as_ref().split_at(self.seen_words);
        let segments = self.plan.segments() as usize;
        let progress: &[Progress] = bytemuck::cast_slice(progress);
        (seen, progress.get(..segments).unwrap_or(progress))
    }

    fn parts_mut(&mut self) -> (&mut [u64], &mut [Progress]) {
        let (seen, progress) = self.words.as_mut().split_at_mut(self.seen_words);
        let segments = self.plan.segments() as usize;
        let progress: &mut [Progress] = bytemuck::cast_slice_mut(progress);
        let len = progress.len().min(segments);
        (seen, &mut progress[..len])
    }

    /// True when frame `f` has been pushed (admitted and recorded).
    #[must_use]
    pub fn is_pushed(&self, f: u32) -> bool {
        self.parts()
            .0
            .get(f as usize / 64)
            .is_some_and(|w| w >> (f % 64) & 1 == 1)
    }

    /// Applies the rule to a push of frame `f` (`frame` when the caller has it; a push that
    /// writes into the mixer's memory has none yet) and says what the frame is, recording
    /// nothing: [`Admission::record`] does that once the push has succeeded.
    ///
    /// # Errors
    /// [`Error::FrameOutOfRange`], [`Error::FramePushedTwice`],
    /// [`Error::FrameGeometryMismatch`], [`Error::FloatOutOfOrder`], checked in this order.
    pub fn check(&self, f: u32, frame: Option<&FrameView<'_>>) -> Result<Admitted> {
        let frames = self.plan.frames();
        if f >= frames {
            return Err(Error::FrameOutOfRange { frame: f, frames });
        }
        if self.is_pushed(f) {
            return Err(Error::FramePushedTwice { frame: f });
        }
        if let Some(frame) = frame {
            frame.expect_geometry(self.geometry)?;
        }
        let progress = self.parts().1;
        let mut needed = Admitted::NotNeeded;
        for feed in self.plan.feeds(f) {
            needed = Admitted::Needed;
            let next_t = progress.get(feed.segment as usize).map_or(0, |p| p.next_t);
            if self.in_order && feed.t < next_t {
                return Err(Error::FloatOutOfOrder { frame: f });
            }
        }
        Ok(needed)
    }

    /// Records frame `f` as pushed: its bit, and for each segment it feeds one more frame
    /// received. Does nothing for a frame out of range or recorded already, so only pushes
    /// that [`Admission::check`] admitted should be recorded, once each.
    pub fn record(&mut self, f: u32) {
        if f >= self.plan.frames() || self.is_pushed(f) {
            return;
        }
        let plan = self.plan;
        let (seen, progress) = self.parts_mut();
        if let Some(w) = seen.get_mut(f as usize / 64) {
            *w |= 1 << (f % 64);
        }
        for feed in plan.feeds(f) {
            let Some(p) = progress.get_mut(feed.segment as usize) else {
                debug_assert!(false, "segment {} has no progress word", feed.segment);
                continue;
            };
            p.received += 1;
            p.next_t = p.next_t.max(feed.t + 1);
        }
    }

    /// [`Admission::check`], then [`Admission::record`] when the push is admitted.
    ///
    /// # Errors
    /// As [`Admission::check`]; a refused push records nothing.
    pub fn admit(&mut self, f: u32, frame: Option<&FrameView<'_>>) -> Result<Admitted> {
        let admitted = self.check(f, frame)?;
        self.record(f);
        Ok(admitted)
    }

    /// Checks that every frame the plan mixes has been pushed.
    ///
    /// # Errors
    /// [`Error::FramesMissing`], with how many needed frames are missing and the first.
    pub fn check_complete(&self) -> Result<()> {
        let progress = self.parts().1;
        let complete = self.plan.iter().all(|seg| {
            progress
                .get(seg.index() as usize)
                .is_some_and(|p| p.received == seg.mixed())
        });
        if complete {
            return Ok(());
        }
        let mut missing = 0u32;
        let mut first = None;
        for f in 0..self.plan.frames() {
            if !self.is_pushed(f) && self.plan.is_needed(f) {
                missing += 1;
                first.get_or_insert(f);
            }
        }
        Err(Error::FramesMissing {
            missing,
            first: first.unwrap_or(0),
        })
    }
}
