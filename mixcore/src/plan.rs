//! The plan: for each segment its window, the positions of its mixed frames, their numerators
//! and the denominator; for each frame which segments it feeds.
//!
//! A plan is a few words and allocates nothing: every answer is computed on demand in O(1)
//! (O(log m) for test-mode `Spread` lookups by frame), so a 10-minute video costs no memory.

use core::ops::Range;

use crate::error::{Error, Result};
use crate::schedule::Schedule;
use crate::select::{self, Mode, Selection};
use crate::window::{self, Window};

/// The most frames one segment may mix on the exact path (docs/contract.md section 6).
pub const MAX_MIXED_FRAMES: u32 = 65_536;

/// `k`: how many frames of each window are mixed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FramesPerSegment {
    /// Every frame of the window (`m_i = n_i`). Default.
    #[default]
    All,
    /// `m_i = min(k, n_i)` frames (`k >= 1`). `Fixed(1)` is TSN.
    Fixed(u32),
}

/// What a plan is made from, besides the frame count. `Default` is docs/contract.md's default:
/// 8 segments, all frames, `Spread`, test mode, `Linear`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlanConfig<'a> {
    /// `S`, the number of segments. Default: 8.
    pub segments: u32,
    /// `k`. Default: [`FramesPerSegment::All`].
    pub k: FramesPerSegment,
    /// Default: [`Selection::Spread`].
    pub selection: Selection,
    /// Default: [`Mode::Test`].
    pub mode: Mode,
    /// Default: [`Schedule::Linear`].
    pub schedule: Schedule<'a>,
}

impl Default for PlanConfig<'_> {
    fn default() -> Self {
        PlanConfig {
            segments: 8,
            k: FramesPerSegment::All,
            selection: Selection::Spread,
            mode: Mode::Test,
            schedule: Schedule::Linear,
        }
    }
}

/// A checked plan for `F` frames.
///
/// ```
/// use mixcore::{Plan, PlanConfig};
/// // 48 frames, 8 segments, linear weights 1..6 over 21 (the paper's sthv1 setting).
/// let plan = Plan::new(48, &PlanConfig::default())?;
/// let seg = plan.segment(2)?;
/// assert_eq!(seg.positions().collect::<Vec<_>>(), vec![12, 13, 14, 15, 16, 17]);
/// assert_eq!(seg.numerators().collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
/// assert_eq!(seg.denominator(), 21);
/// # Ok::<(), mixcore::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan<'a> {
    frames: u32,
    config: PlanConfig<'a>,
    max_mixed: u32,
    max_denominator: u64,
}

impl<'a> Plan<'a> {
    /// Checks `config` against `frames` (docs/contract.md sections 3 to 5 and 9).
    ///
    /// # Errors
    /// [`Error::ZeroFrames`], [`Error::ZeroSegments`], [`Error::ZeroFramesPerSegment`],
    /// [`Error::CustomNeedsFixedK`], [`Error::WeightsLength`], [`Error::WeightsAllZero`],
    /// [`Error::WindowShorterThanK`], [`Error::WindowTooLarge`].
    pub fn new(frames: u32, config: &PlanConfig<'a>) -> Result<Self> {
        let s = config.segments;
        if s == 0 {
            return Err(Error::ZeroSegments);
        }
        if frames == 0 {
            return Err(Error::ZeroFrames);
        }
        if config.k == FramesPerSegment::Fixed(0) {
            return Err(Error::ZeroFramesPerSegment);
        }
        // Window sizes are q or q+1 (1 when F < S); segment 0 always has the smallest.
        let smallest = window::window(frames, s, 0).len();
        let largest = if frames < s || frames.is_multiple_of(s) {
            smallest
        } else {
            smallest + 1
        };
        if let Schedule::Custom(numerators) = config.schedule {
            let FramesPerSegment::Fixed(k) = config.k else {
                return Err(Error::CustomNeedsFixedK);
            };
            if numerators.len() != k as usize {
                return Err(Error::WeightsLength {
                    given: numerators.len(),
                    expected: k,
                });
            }
            if numerators.iter().all(|&n| n == 0) {
                return Err(Error::WeightsAllZero);
            }
            if smallest < k {
                return Err(Error::WindowShorterThanK {
                    segment: 0,
                    window: smallest,
                    k,
                });
            }
        }
        let mixed = |n: u32| match config.k {
            FramesPerSegment::All => n,
            FramesPerSegment::Fixed(k) => k.min(n),
        };
        let max_mixed = mixed(largest);
        if max_mixed > MAX_MIXED_FRAMES {
            // Report the first segment that mixes that many.
            let segment = (0..s)
                .find(|&i| mixed(window::window(frames, s, i).len()) == max_mixed)
                .unwrap_or(0);
            return Err(Error::WindowTooLarge {
                segment,
                frames: u64::from(max_mixed),
                limit: MAX_MIXED_FRAMES,
            });
        }
        let max_denominator = config
            .schedule
            .denominator(mixed(smallest))
            .max(config.schedule.denominator(max_mixed));
        Ok(Plan {
            frames,
            config: *config,
            max_mixed,
            max_denominator,
        })
    }

    /// `F`, the frame count the plan was made for.
    #[must_use]
    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// `S`, the number of segments.
    #[must_use]
    pub fn segments(&self) -> u32 {
        self.config.segments
    }

    /// The configuration the plan was made from.
    #[must_use]
    pub fn config(&self) -> &PlanConfig<'a> {
        &self.config
    }

    /// The schedule.
    #[must_use]
    pub fn schedule(&self) -> Schedule<'a> {
        self.config.schedule
    }

    /// The largest `m_i` of any segment.
    #[must_use]
    pub fn max_mixed(&self) -> u32 {
        self.max_mixed
    }

    /// The largest denominator `D_i` of any segment.
    #[must_use]
    pub fn max_denominator(&self) -> u64 {
        self.max_denominator
    }

    /// True when some numerator sum `255 * D_i` does not fit a `u32` accumulator.
    #[must_use]
    pub fn needs_wide_accumulator(&self) -> bool {
        self.max_denominator * 255 > u64::from(u32::MAX)
    }

    fn mixed_of(&self, n: u32) -> u32 {
        match self.config.k {
            FramesPerSegment::All => n,
            FramesPerSegment::Fixed(k) => k.min(n),
        }
    }

    /// SplitMix64 draws made before segment `i` (train mode): `sum of m_j, j < i` for
    /// `Spread`, `i` for `Consecutive`.
    fn draws_before(&self, i: u32) -> u64 {
        let (f, s) = (u64::from(self.frames), u64::from(self.config.segments));
        match self.config.selection {
            Selection::Consecutive => u64::from(i),
            Selection::Spread if f < s => u64::from(i),
            Selection::Spread => {
                // Windows before i cover [0, lo_i); `big` of them hold q+1 frames.
                let q = f / s;
                let lo = window::mul_div_floor(u64::from(i), f, s);
                let big = lo - u64::from(i) * q;
                let small = u64::from(i) - big;
                // In u64: q + 1 overflows u32 when S = 1 and F = u32::MAX (then big = 0).
                let mixed = |n: u64| match self.config.k {
                    FramesPerSegment::All => n,
                    FramesPerSegment::Fixed(k) => u64::from(k).min(n),
                };
                big * mixed(q + 1) + small * mixed(q)
            }
        }
    }

    /// Segment `i`.
    ///
    /// # Errors
    /// [`Error::SegmentOutOfRange`] when `i >= S`.
    pub fn segment(&self, i: u32) -> Result<Segment<'_, 'a>> {
        if i >= self.config.segments {
            return Err(Error::SegmentOutOfRange {
                segment: i,
                segments: self.config.segments,
            });
        }
        let window = window::window(self.frames, self.config.segments, i);
        let mixed = self.mixed_of(window.len());
        let draw_base = match self.config.mode {
            Mode::Test => None,
            Mode::Train { seed } => Some((seed, self.draws_before(i))),
        };
        Ok(Segment {
            plan: self,
            index: i,
            window,
            mixed,
            denominator: self.config.schedule.denominator(mixed),
            draw_base,
        })
    }

    /// Every segment, in order.
    pub fn iter(&self) -> impl Iterator<Item = Segment<'_, 'a>> + '_ {
        (0..self.config.segments).filter_map(move |i| self.segment(i).ok())
    }

    /// The segments frame `f` is mixed into, with its `t` and numerator there. Empty for a
    /// frame nobody needs and for `f >= F`. Several entries only when `F < S`.
    #[must_use]
    pub fn feeds(&self, f: u32) -> Feeds<'_, 'a> {
        let segments = if f < self.frames {
            window::segments_containing(self.frames, self.config.segments, f)
        } else {
            0..0
        };
        Feeds {
            plan: self,
            frame: f,
            segments,
        }
    }

    /// True when some segment mixes frame `f`; a decoder may skip the colour conversion of the
    /// others.
    #[must_use]
    pub fn is_needed(&self, f: u32) -> bool {
        self.feeds(f).next().is_some()
    }
}

/// One segment of a plan: its window, mixed positions, numerators and denominator.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'p, 'a> {
    plan: &'p Plan<'a>,
    index: u32,
    window: Window,
    mixed: u32,
    denominator: u64,
    draw_base: Option<(u64, u64)>,
}

impl Segment<'_, '_> {
    /// The segment's index `i`.
    #[must_use]
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Its temporal window `[lo_i, hi_i)`.
    #[must_use]
    pub fn window(&self) -> Window {
        self.window
    }

    /// `m_i`, how many frames it mixes.
    #[must_use]
    pub fn mixed(&self) -> u32 {
        self.mixed
    }

    /// `D_i`, the sum of its numerators.
    #[must_use]
    pub fn denominator(&self) -> u64 {
        self.denominator
    }

    /// Frame index `p_{i,t}` of mixed frame `t` (`t < m_i`; larger `t` are clamped to the last).
    #[must_use]
    pub fn position(&self, t: u32) -> u32 {
        let t = t.min(self.mixed - 1);
        let cfg = self.plan.config;
        let draw = self.draw_base.map(|(seed, base)| match cfg.selection {
            Selection::Spread => (seed, base + u64::from(t)),
            Selection::Consecutive => (seed, base),
        });
        select::position(
            cfg.selection,
            self.window.lo,
            self.window.len(),
            self.mixed,
            t,
            draw,
        )
    }

    /// The positions `p_{i,0} < p_{i,1} < ...`, increasing.
    pub fn positions(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        (0..self.mixed).map(move |t| self.position(t))
    }

    /// Numerator `n_t`.
    #[must_use]
    pub fn numerator(&self, t: u32) -> u32 {
        self.plan.config.schedule.numerator(t, self.mixed)
    }

    /// The numerators `n_0, n_1, ...`.
    pub fn numerators(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        (0..self.mixed).map(move |t| self.numerator(t))
    }

    /// Weight `n_t / D_i` correctly rounded to `f32`.
    #[must_use]
    pub fn weight_f32(&self, t: u32) -> f32 {
        crate::round::round_ratio(u64::from(self.numerator(t)), self.denominator)
    }

    /// The `t` at which frame `f` is mixed into this segment, if it is.
    #[must_use]
    pub fn index_of(&self, f: u32) -> Option<u32> {
        if !self.window.range().contains(&f) {
            return None;
        }
        select::index_of(
            self.plan.config.selection,
            self.window.lo,
            self.window.len(),
            self.mixed,
            f,
            self.draw_base,
        )
    }
}

/// Where one frame goes: segment, its `t` there, and its numerator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feed {
    /// The segment `i`.
    pub segment: u32,
    /// The frame's index `t` among the segment's mixed frames.
    pub t: u32,
    /// `n_t`.
    pub numerator: u32,
}

/// Iterator returned by [`Plan::feeds`].
#[derive(Clone, Debug)]
pub struct Feeds<'p, 'a> {
    plan: &'p Plan<'a>,
    frame: u32,
    segments: Range<u32>,
}

impl Iterator for Feeds<'_, '_> {
    type Item = Feed;

    fn next(&mut self) -> Option<Feed> {
        for i in self.segments.by_ref() {
            let Ok(seg) = self.plan.segment(i) else {
                continue;
            };
            if let Some(t) = seg.index_of(self.frame) {
                return Some(Feed {
                    segment: i,
                    t,
                    numerator: seg.numerator(t),
                });
            }
        }
        None
    }
}
