//! Packing plans for the device: one job per output segment, one term per mixed frame.
//!
//! Everything numeric comes from mixcore: positions, numerators and denominators from
//! [`mixcore::Segment`], float weights from [`mixcore::Segment::weight_f32`] or the caller's,
//! the accumulator width from [`mixcore::MixSpec::accumulator`], and the checks of the spec
//! from [`mixcore::MixSpec::validate_plan`]. This module only lays those values out in arrays
//! (and keeps each plan's configuration, so streaming can ask mixcore's plan again).

use mixcore::{
    Epilogue, FloatWeights, FramesPerSegment, Geometry, Layout, MixPath, MixSpec, Mode, Plan,
    PlanConfig, ScheduleBuf, Selection,
};

use crate::error::{Error, Result};
use crate::params::{Job, MAX_DENOMINATOR};
use mixcore::Accumulator;

/// Where one video of a batch sits in the packed arrays, and its plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Video {
    /// `F` of its plan.
    pub frames: u32,
    /// Global index of its frame 0 (frames of a batch are numbered video after video).
    pub frame_offset: u32,
    /// `S` of its plan.
    pub segments: u32,
    /// Global index of its segment 0 (= its first job).
    pub first_segment: u32,
    /// Its plan's `k`.
    pub k: FramesPerSegment,
    /// Its plan's selection.
    pub selection: Selection,
    /// Its plan's mode.
    pub mode: Mode,
    /// Its plan's schedule, numerators owned.
    pub schedule: ScheduleBuf,
}

impl Video {
    /// The video's mixcore plan, made again from its configuration.
    pub(crate) fn plan(&self) -> mixcore::Result<Plan<'_>> {
        let config = PlanConfig {
            segments: self.segments,
            k: self.k,
            selection: self.selection,
            mode: self.mode,
            schedule: self.schedule.as_schedule(),
        };
        Plan::new(self.frames, &config)
    }
}

/// Plans of a batch laid out for the kernels.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Packed {
    pub arith: Accumulator,
    pub layout: Layout,
    pub epilogue: Epilogue,
    pub videos: Vec<Video>,
    /// One per output segment, video after video; `acc_block` is the job's own index.
    pub jobs: Vec<Job>,
    /// Global frame index of each term.
    pub term_frame: Vec<u32>,
    /// Slot of each term's frame among the needed frames (the compact upload order).
    pub term_slot: Vec<u32>,
    /// `n_t` of each term.
    pub term_numer: Vec<u32>,
    /// `w_t` of each term (float path; all zero on the exact path).
    pub term_weight: Vec<f32>,
    /// Global frame index of each slot, increasing: the frames some segment mixes.
    pub slot_frames: Vec<u32>,
    /// Sum of `F` over the batch.
    pub total_frames: u32,
    /// Sum of `S` over the batch (= jobs).
    pub total_segments: u32,
    /// For each global frame, the range of `feeds` that lists where it is mixed (CSR).
    pub feed_start: Vec<u32>,
    /// `(job, t)` pairs, grouped by frame.
    pub feeds: Vec<(u32, u32)>,
}

fn add_u32(a: u32, b: u32) -> Result<u32> {
    a.checked_add(b)
        .ok_or(Error::Mix(mixcore::Error::SizeOverflow))
}

fn to_u32(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::Mix(mixcore::Error::SizeOverflow))
}

/// Packs a batch of plans (one per video) with one spec.
///
/// # Errors
/// [`Error::EmptyBatch`]; mixcore's errors for a bad spec, wrapped in [`Error::Video`] for
/// batches of more than one video; [`Error::DenominatorTooLarge`]; size overflows.
pub(crate) fn pack(plans: &[Plan<'_>], spec: &MixSpec<'_>) -> Result<Packed> {
    if plans.is_empty() {
        return Err(Error::EmptyBatch);
    }
    // Choices of a newer mixcore these kernels lack are refused before anything is uploaded.
    crate::params::layout_code(spec.layout)?;
    crate::params::epilogue_code(&spec.epilogue)?;
    let wrap = |video: usize| {
        let single = plans.len() == 1;
        move |e: mixcore::Error| {
            if single {
                Error::Mix(e)
            } else {
                Error::Video { video, error: e }
            }
        }
    };
    // The width every plan of the batch fits (mixcore's choice per plan, the largest).
    let arith = plans
        .iter()
        .map(|p| spec.accumulator(p))
        .max()
        .unwrap_or(Accumulator::U32);
    let mut videos = Vec::with_capacity(plans.len());
    let mut jobs = Vec::new();
    let mut term_frame = Vec::new();
    let mut term_numer = Vec::new();
    let mut term_weight = Vec::new();
    let (mut total_frames, mut total_segments) = (0u32, 0u32);
    for (b, plan) in plans.iter().enumerate() {
        // The weight rules; the epilogue is checked per mix, once the channel count is known.
        spec.validate_plan(plan).map_err(wrap(b))?;
        let config = plan.config();
        let video = Video {
            frames: plan.frames(),
            frame_offset: total_frames,
            segments: plan.segments(),
            first_segment: total_segments,
            k: config.k,
            selection: config.selection,
            mode: config.mode,
            schedule: ScheduleBuf::from(config.schedule),
        };
        for seg in plan.iter() {
            let d = seg.denominator();
            if d >= MAX_DENOMINATOR {
                return Err(Error::DenominatorTooLarge { denominator: d });
            }
            let job = to_u32(jobs.len())?;
            jobs.push(Job {
                denominator: d,
                term_first: to_u32(term_frame.len())?,
                term_count: seg.mixed(),
                segment: seg.index(),
                segments: video.segments,
                first_segment: video.first_segment,
                acc_block: job,
            });
            for (t, (p, n)) in seg.positions().zip(seg.numerators()).enumerate() {
                term_frame.push(add_u32(video.frame_offset, p)?);
                term_numer.push(n);
                term_weight.push(match spec.path {
                    MixPath::Exact => 0.0,
                    MixPath::Float(FloatWeights::Schedule) => seg.weight_f32(to_u32(t)?),
                    MixPath::Float(FloatWeights::Given(w)) => w.get(t).copied().unwrap_or(0.0),
                    other => return Err(crate::params::unsupported(&other)),
                });
            }
        }
        total_frames = add_u32(total_frames, video.frames)?;
        total_segments = add_u32(total_segments, video.segments)?;
        videos.push(video);
    }
    to_u32(term_frame.len())?;

    // Slots: the needed frames in increasing order; feeds: the inverse of the term arrays.
    let mut uses = vec![0u32; total_frames as usize + 1];
    for &f in &term_frame {
        uses[f as usize + 1] += 1;
    }
    let mut slot_of = vec![u32::MAX; total_frames as usize];
    let mut slot_frames = Vec::new();
    for f in 0..total_frames as usize {
        if uses[f + 1] > 0 {
            slot_of[f] = to_u32(slot_frames.len())?;
            slot_frames.push(f as u32);
        }
        uses[f + 1] += uses[f];
    }
    let feed_start = uses;
    let mut fill = feed_start.clone();
    let mut feeds = vec![(0u32, 0u32); term_frame.len()];
    for (j, job) in jobs.iter().enumerate() {
        for t in 0..job.term_count {
            let f = term_frame[(job.term_first + t) as usize] as usize;
            feeds[fill[f] as usize] = (j as u32, t);
            fill[f] += 1;
        }
    }
    let term_slot = term_frame.iter().map(|&f| slot_of[f as usize]).collect();
    Ok(Packed {
        arith,
        layout: spec.layout,
        epilogue: spec.epilogue,
        videos,
        jobs,
        term_frame,
        term_slot,
        term_numer,
        term_weight,
        slot_frames,
        total_frames,
        total_segments,
        feed_start,
        feeds,
    })
}

impl Packed {
    /// The `(job, t)` pairs frame `global` is mixed into (empty for frames nobody needs).
    pub(crate) fn feeds_of(&self, global: u32) -> &[(u32, u32)] {
        let g = global as usize;
        match (self.feed_start.get(g), self.feed_start.get(g + 1)) {
            (Some(&a), Some(&b)) => self.feeds.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Output elements for frames of `geometry`: `sum of S * H * W * C`.
    pub(crate) fn output_len(&self, geometry: Geometry) -> Result<usize> {
        Ok(geometry
            .elements()?
            .checked_mul(self.total_segments as usize)
            .ok_or(mixcore::Error::SizeOverflow)?)
    }

    /// Global frame index of frame `f` of `video`.
    pub(crate) fn global_frame(&self, video: usize, f: u32) -> Result<u32> {
        let v = self.videos.get(video).ok_or(Error::VideoOutOfRange {
            video,
            videos: self.videos.len(),
        })?;
        if f >= v.frames {
            let e = mixcore::Error::FrameOutOfRange {
                frame: f,
                frames: v.frames,
            };
            return Err(self.video_error(video, e));
        }
        Ok(v.frame_offset + f)
    }

    /// A mixcore error about `video`: plain for a single plan, tagged for batches.
    pub(crate) fn video_error(&self, video: usize, e: mixcore::Error) -> Error {
        if self.videos.len() == 1 {
            Error::Mix(e)
        } else {
            Error::Video { video, error: e }
        }
    }

    /// Highest slot (+1) the terms of job `j` read.
    pub(crate) fn job_slot_end(&self, j: usize) -> u32 {
        self.jobs.get(j).map_or(0, |job| {
            let a = job.term_first as usize;
            let b = a + job.term_count as usize;
            self.term_slot
                .get(a..b)
                .and_then(|s| s.iter().max())
                .map_or(0, |&m| m + 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mixcore::{FramesPerSegment, Mode, PlanConfig, Schedule, Selection};

    fn plan(frames: u32, config: PlanConfig<'_>) -> Plan<'_> {
        Plan::new(frames, &config).unwrap()
    }

    #[test]
    fn pack_matches_mixcore_plan_term_by_term() {
        let p = plan(48, PlanConfig::default());
        let packed = pack(&[p], &MixSpec::default()).unwrap();
        assert_eq!(packed.arith, Accumulator::U32);
        assert_eq!(packed.jobs.len(), 8);
        assert_eq!(packed.term_frame.len(), 48);
        for (j, seg) in p.iter().enumerate() {
            let job = packed.jobs[j];
            assert_eq!(job.denominator, seg.denominator());
            assert_eq!(job.term_count, seg.mixed());
            assert_eq!(
                (job.segment, job.segments, job.first_segment),
                (j as u32, 8, 0)
            );
            assert_eq!(job.acc_block, j as u32);
            let r = job.term_first as usize..(job.term_first + job.term_count) as usize;
            assert!(
                packed.term_frame[r.clone()]
                    .iter()
                    .copied()
                    .eq(seg.positions())
            );
            assert!(packed.term_numer[r].iter().copied().eq(seg.numerators()));
        }
        // Every frame is needed, so slots are frames.
        assert_eq!(packed.term_slot, packed.term_frame);
        assert_eq!(packed.slot_frames, (0..48).collect::<Vec<_>>());
    }

    #[test]
    fn pack_batch_offsets_frames_and_segments() {
        let a = plan(48, PlanConfig::default());
        let b = plan(
            5,
            PlanConfig {
                segments: 3,
                k: FramesPerSegment::Fixed(1),
                ..PlanConfig::default()
            },
        );
        let packed = pack(&[a, b], &MixSpec::default()).unwrap();
        assert_eq!(packed.total_frames, 53);
        assert_eq!(packed.total_segments, 11);
        let v = &packed.videos[1];
        assert_eq!(
            (v.frames, v.frame_offset, v.segments, v.first_segment),
            (5, 48, 3, 8)
        );
        assert_eq!(v.plan().unwrap(), b);
        for (i, seg) in b.iter().enumerate() {
            let job = packed.jobs[8 + i];
            assert_eq!(
                (job.segment, job.segments, job.first_segment),
                (i as u32, 3, 8)
            );
            assert_eq!(
                packed.term_frame[job.term_first as usize],
                48 + seg.position(0)
            );
        }
        assert_eq!(packed.global_frame(1, 4).unwrap(), 52);
        assert!(matches!(
            packed.global_frame(1, 5),
            Err(Error::Video { video: 1, .. })
        ));
        assert!(matches!(
            packed.global_frame(2, 0),
            Err(Error::VideoOutOfRange {
                video: 2,
                videos: 2
            })
        ));
    }

    #[test]
    fn pack_slots_skip_frames_nobody_needs() {
        // TSN: one centre frame per segment out of 6.
        let p = plan(
            48,
            PlanConfig {
                k: FramesPerSegment::Fixed(1),
                ..PlanConfig::default()
            },
        );
        let packed = pack(&[p], &MixSpec::default()).unwrap();
        assert_eq!(packed.slot_frames.len(), 8);
        for (t, (&f, &s)) in packed.term_frame.iter().zip(&packed.term_slot).enumerate() {
            assert_eq!(packed.slot_frames[s as usize], f, "term {t}");
        }
        for f in 0..48 {
            assert_eq!(packed.feeds_of(f).is_empty(), !p.is_needed(f), "frame {f}");
        }
    }

    #[test]
    fn pack_feeds_invert_terms_when_frames_repeat() {
        // F < S: windows {0},{0},{0},{1},{1},{1},{2},{2}.
        let p = plan(3, PlanConfig::default());
        let packed = pack(&[p], &MixSpec::default()).unwrap();
        assert_eq!(packed.feeds_of(0), &[(0, 0), (1, 0), (2, 0)]);
        assert_eq!(packed.feeds_of(2), &[(6, 0), (7, 0)]);
        for f in 0..3 {
            let ours: Vec<(u32, u32)> = packed.feeds_of(f).to_vec();
            let theirs: Vec<(u32, u32)> = p.feeds(f).map(|x| (x.segment, x.t)).collect();
            assert_eq!(ours, theirs);
        }
        assert_eq!(packed.slot_frames, vec![0, 1, 2]);
        assert_eq!(packed.job_slot_end(5), 2);
    }

    #[test]
    fn pack_chooses_mixcore_arithmetic() {
        let wide = plan(
            4 * 65_536,
            PlanConfig {
                segments: 4,
                ..PlanConfig::default()
            },
        );
        assert!(wide.needs_wide_accumulator());
        let narrow = plan(48, PlanConfig::default());
        assert_eq!(
            pack(&[narrow], &MixSpec::default()).unwrap().arith,
            Accumulator::U32
        );
        assert_eq!(
            pack(&[narrow, wide], &MixSpec::default()).unwrap().arith,
            Accumulator::U64
        );
        let float = MixSpec {
            path: MixPath::Float(FloatWeights::Schedule),
            ..MixSpec::default()
        };
        let packed = pack(&[narrow], &float).unwrap();
        assert_eq!(packed.arith, Accumulator::F32);
        let seg = narrow.segment(3).unwrap();
        let first = packed.jobs[3].term_first as usize;
        for t in 0..seg.mixed() {
            assert_eq!(
                packed.term_weight[first + t as usize].to_bits(),
                seg.weight_f32(t).to_bits()
            );
        }
    }

    #[test]
    fn pack_uses_given_weights_and_reports_bad_ones() {
        let config = PlanConfig {
            k: FramesPerSegment::Fixed(3),
            selection: Selection::Consecutive,
            mode: Mode::Train { seed: 7 },
            schedule: Schedule::Average,
            ..PlanConfig::default()
        };
        let p = plan(48, config);
        let w = [0.25f32, 0.5, 0.25];
        let spec = MixSpec {
            path: MixPath::Float(FloatWeights::Given(&w)),
            ..MixSpec::default()
        };
        let packed = pack(&[p], &spec).unwrap();
        assert_eq!(&packed.term_weight[3..6], &w);
        let bad = [0.25f32, f32::NAN, 0.25];
        let spec = MixSpec {
            path: MixPath::Float(FloatWeights::Given(&bad)),
            ..MixSpec::default()
        };
        assert_eq!(
            pack(&[p], &spec),
            Err(Error::Mix(mixcore::Error::WeightInvalid { index: 1 }))
        );
        assert_eq!(
            pack(&[p, p], &spec),
            Err(Error::Video {
                video: 0,
                error: mixcore::Error::WeightInvalid { index: 1 }
            })
        );
        let short = [1.0f32];
        let spec = MixSpec {
            path: MixPath::Float(FloatWeights::Given(&short)),
            ..MixSpec::default()
        };
        assert!(matches!(
            pack(&[p], &spec),
            Err(Error::Mix(mixcore::Error::WeightsLength {
                given: 1,
                expected: 3
            }))
        ));
        assert_eq!(pack(&[], &MixSpec::default()), Err(Error::EmptyBatch));
    }

    #[test]
    fn pack_output_len_counts_every_video() {
        let a = plan(48, PlanConfig::default());
        let b = plan(
            10,
            PlanConfig {
                segments: 2,
                ..PlanConfig::default()
            },
        );
        let packed = pack(&[a, b], &MixSpec::default()).unwrap();
        let g = Geometry::new(7, 5, 3).unwrap();
        assert_eq!(packed.output_len(g).unwrap(), 10 * 7 * 5 * 3);
    }
}
