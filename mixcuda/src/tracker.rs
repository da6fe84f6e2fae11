//! Streaming bookkeeping in plain Rust: which frames arrived, whether a push is allowed, which
//! frames are missing at the end. The same rules and errors as `mixcore::Mixer`.

use crate::error::Result;
use crate::pack::Packed;
use crate::params::Arith;

/// What a push turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// No segment mixes the frame: it is only marked as seen.
    NotNeeded,
    /// The frame is needed; `global` is its index in the batch.
    Needed {
        /// Global frame index.
        global: u32,
    },
}

/// Per-batch streaming state: one bit per frame and, for the float path, the next `t` each job
/// may accept.
#[derive(Clone, Debug)]
pub(crate) struct Tracker {
    seen: Vec<u64>,
    next_t: Vec<u32>,
}

impl Tracker {
    pub(crate) fn new(packed: &Packed) -> Self {
        Tracker {
            seen: vec![0; (packed.total_frames as usize).div_ceil(64)],
            next_t: vec![0; packed.jobs.len()],
        }
    }

    fn is_seen(&self, g: u32) -> bool {
        self.seen
            .get(g as usize / 64)
            .is_some_and(|w| (w >> (g % 64)) & 1 == 1)
    }

    /// The batch-wide index of frame `f` of `video`, if it may still be pushed: mixcore's
    /// first two checks, in its order (the geometry comes next, then [`Tracker::admit`]).
    ///
    /// # Errors
    /// [`crate::Error::VideoOutOfRange`]; mixcore's `FrameOutOfRange`, `FramePushedTwice`.
    pub(crate) fn unseen(&self, packed: &Packed, video: usize, f: u32) -> Result<u32> {
        let g = packed.global_frame(video, f)?;
        if self.is_seen(g) {
            return Err(packed.video_error(video, mixcore::Error::FramePushedTwice { frame: f }));
        }
        Ok(g)
    }

    /// Checks a push of frame `f` of `video` and records it. A refused push changes nothing.
    ///
    /// # Errors
    /// As [`Tracker::unseen`], and on the float path mixcore's `FloatOutOfOrder` (a job's frames
    /// must arrive in increasing `t`).
    pub(crate) fn admit(&mut self, packed: &Packed, video: usize, f: u32) -> Result<Admit> {
        let g = self.unseen(packed, video, f)?;
        let feeds = packed.feeds_of(g);
        if packed.arith == Arith::F32 {
            for &(job, t) in feeds {
                if self.next_t.get(job as usize).is_some_and(|&next| t < next) {
                    return Err(
                        packed.video_error(video, mixcore::Error::FloatOutOfOrder { frame: f })
                    );
                }
            }
        }
        if let Some(w) = self.seen.get_mut(g as usize / 64) {
            *w |= 1 << (g % 64);
        }
        for &(job, t) in feeds {
            if let Some(next) = self.next_t.get_mut(job as usize) {
                *next = (*next).max(t + 1);
            }
        }
        Ok(if feeds.is_empty() {
            Admit::NotNeeded
        } else {
            Admit::Needed { global: g }
        })
    }

    /// The error `finish` reports when needed frames never arrived (the first video with any).
    pub(crate) fn missing(&self, packed: &Packed) -> Option<crate::Error> {
        for (b, v) in packed.videos.iter().enumerate() {
            let mut missing = 0u32;
            let mut first = None;
            for f in 0..v.frames {
                let g = v.frame_offset + f;
                if !self.is_seen(g) && !packed.feeds_of(g).is_empty() {
                    missing += 1;
                    first.get_or_insert(f);
                }
            }
            if let Some(first) = first {
                return Some(
                    packed.video_error(b, mixcore::Error::FramesMissing { missing, first }),
                );
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::pack::pack;
    use mixcore::{FloatWeights, FramesPerSegment, MixPath, MixSpec, Plan, PlanConfig};

    fn packed(frames: u32, config: PlanConfig<'_>, spec: MixSpec<'_>) -> Packed {
        pack(&[Plan::new(frames, &config).unwrap()], &spec).unwrap()
    }

    #[test]
    fn tracker_admits_refuses_and_reports_like_mixcore() {
        let tsn = PlanConfig {
            k: FramesPerSegment::Fixed(1),
            ..PlanConfig::default()
        };
        let p = packed(48, tsn, MixSpec::default());
        let mut t = Tracker::new(&p);
        assert_eq!(t.admit(&p, 0, 0).unwrap(), Admit::NotNeeded);
        assert_eq!(
            t.admit(&p, 0, 0),
            Err(Error::Mix(mixcore::Error::FramePushedTwice { frame: 0 }))
        );
        assert_eq!(
            t.admit(&p, 0, 48),
            Err(Error::Mix(mixcore::Error::FrameOutOfRange {
                frame: 48,
                frames: 48
            }))
        );
        assert!(matches!(
            t.admit(&p, 1, 0),
            Err(Error::VideoOutOfRange { .. })
        ));
        // Centre frames: 3, 9, 15, ...
        assert_eq!(t.admit(&p, 0, 9).unwrap(), Admit::Needed { global: 9 });
        assert_eq!(
            t.missing(&p),
            Some(Error::Mix(mixcore::Error::FramesMissing {
                missing: 7,
                first: 3
            }))
        );
        for f in (3..48).step_by(6) {
            if f != 9 {
                t.admit(&p, 0, f).unwrap();
            }
        }
        assert_eq!(t.missing(&p), None);
    }

    #[test]
    fn tracker_float_path_needs_increasing_order_per_segment() {
        let float = MixSpec {
            path: MixPath::Float(FloatWeights::Schedule),
            ..MixSpec::default()
        };
        let p = packed(48, PlanConfig::default(), float);
        let mut t = Tracker::new(&p);
        // Segments are independent: 12 (segment 2) before 0 (segment 0) is fine.
        t.admit(&p, 0, 12).unwrap();
        t.admit(&p, 0, 0).unwrap();
        t.admit(&p, 0, 2).unwrap();
        assert_eq!(
            t.admit(&p, 0, 1),
            Err(Error::Mix(mixcore::Error::FloatOutOfOrder { frame: 1 }))
        );
        // The refused push changed nothing: frame 1 is still missing, not "pushed twice".
        assert!(matches!(
            t.missing(&p),
            Some(Error::Mix(mixcore::Error::FramesMissing { first: 1, .. }))
        ));
        // The exact path takes any order.
        let p = packed(48, PlanConfig::default(), MixSpec::default());
        let mut t = Tracker::new(&p);
        for f in (0..48).rev() {
            t.admit(&p, 0, f).unwrap();
        }
        assert_eq!(t.missing(&p), None);
    }

    #[test]
    fn tracker_names_the_video_in_a_batch() {
        let a = Plan::new(10, &PlanConfig::default()).unwrap();
        let p = pack(&[a, a], &MixSpec::default()).unwrap();
        let mut t = Tracker::new(&p);
        for f in 0..10 {
            t.admit(&p, 0, f).unwrap();
        }
        assert_eq!(
            t.admit(&p, 1, 10),
            Err(Error::Video {
                video: 1,
                error: mixcore::Error::FrameOutOfRange {
                    frame: 10,
                    frames: 10
                }
            })
        );
        assert_eq!(
            t.missing(&p),
            Some(Error::Video {
                video: 1,
                error: mixcore::Error::FramesMissing {
                    missing: 10,
                    first: 0
                }
            })
        );
    }
}
