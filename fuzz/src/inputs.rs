//! Typed fuzz inputs (`arbitrary`), shared by the targets: counts biased toward the small
//! values where the edge cases are, schedules with custom numerators, selections, modes,
//! layouts, epilogues and mixing paths.

use arbitrary::Arbitrary;
use mixcore::{
    Backend, Epilogue, FloatWeights, FramesPerSegment, Layout, MixPath, Mode, PlanConfig, Schedule,
    Selection,
};

/// A `u32` biased toward small values: most edge cases of windows and selection sit near 0,
/// near `S`, and near `2^32`.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Count {
    /// 0 to 15.
    Tiny(u8),
    /// 0 to 255.
    Small(u8),
    /// 0 to 65,535.
    Medium(u16),
    /// Around the 65,536-frame limit: 65,536 + (value - 128).
    NearLimit(u8),
    /// `u32::MAX - value`.
    NearMax(u16),
    /// Anything.
    Any(u32),
}

impl Count {
    /// The value.
    #[must_use]
    pub fn get(self) -> u32 {
        match self {
            Count::Tiny(v) => u32::from(v % 16),
            Count::Small(v) => u32::from(v),
            Count::Medium(v) => u32::from(v),
            Count::NearLimit(v) => 65_536 + u32::from(v) - 128,
            Count::NearMax(v) => u32::MAX - u32::from(v),
            Count::Any(v) => v,
        }
    }
}

/// A custom numerator: mostly small (the 16-bit pair path of the AVX2 kernel), sometimes
/// anything (denominators past `2^32 / 255` need the wide accumulators).
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Numerator {
    /// 0 to 255.
    Small(u8),
    /// Anything.
    Any(u32),
}

impl Numerator {
    /// The value.
    #[must_use]
    pub fn get(self) -> u32 {
        match self {
            Numerator::Small(v) => u32::from(v),
            Numerator::Any(v) => v,
        }
    }
}

/// The schedule's kind; custom numerators are carried separately (they are borrowed).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleKind {
    /// `average`.
    Average,
    /// `linear`.
    Linear,
    /// `linear0`.
    Linear0,
    /// `custom`.
    Custom,
}

/// `k`.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum KGen {
    /// All frames of the window.
    All,
    /// A fixed k.
    Fixed(Count),
    /// k = the number of custom numerators (the usual valid custom request).
    MatchCustom,
    /// k = the number of custom numerators plus a small offset (a wrong length).
    CustomOffBy(i8),
}

impl KGen {
    /// The `k` for `custom_len` numerators.
    #[must_use]
    pub fn get(self, custom_len: usize) -> FramesPerSegment {
        let len = u32::try_from(custom_len).unwrap_or(u32::MAX);
        match self {
            KGen::All => FramesPerSegment::All,
            KGen::Fixed(c) => FramesPerSegment::Fixed(c.get()),
            KGen::MatchCustom => FramesPerSegment::Fixed(len),
            KGen::CustomOffBy(d) => FramesPerSegment::Fixed(len.saturating_add_signed(d.into())),
        }
    }
}

/// `Selection`.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum SelectionGen {
    /// Spread.
    Spread,
    /// Consecutive.
    Consecutive,
}

impl From<SelectionGen> for Selection {
    fn from(s: SelectionGen) -> Selection {
        match s {
            SelectionGen::Spread => Selection::Spread,
            SelectionGen::Consecutive => Selection::Consecutive,
        }
    }
}

/// `Mode`.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ModeGen {
    /// Test mode.
    Test,
    /// Train mode with this seed.
    Train(u64),
}

impl From<ModeGen> for Mode {
    fn from(m: ModeGen) -> Mode {
        match m {
            ModeGen::Test => Mode::Test,
            ModeGen::Train(seed) => Mode::Train { seed },
        }
    }
}

/// A plan request of any size.
#[derive(Arbitrary, Clone, Debug)]
pub struct PlanGen {
    /// F.
    pub frames: Count,
    /// S.
    pub segments: Count,
    /// k.
    pub k: KGen,
    /// Selection.
    pub selection: SelectionGen,
    /// Mode.
    pub mode: ModeGen,
    /// Schedule kind.
    pub schedule: ScheduleKind,
    /// Custom numerators (used when `schedule` is `Custom`).
    pub numerators: Vec<Numerator>,
}

/// A plan request small enough to mix: F in 1..=48, S in 1..=12.
#[derive(Arbitrary, Clone, Debug)]
pub struct SmallPlanGen {
    /// F - 1, modulo 48.
    pub frames: u8,
    /// S - 1, modulo 12.
    pub segments: u8,
    /// k.
    pub k: SmallK,
    /// Selection.
    pub selection: SelectionGen,
    /// Mode.
    pub mode: ModeGen,
    /// Schedule kind.
    pub schedule: ScheduleKind,
    /// Custom numerators (used when `schedule` is `Custom`; at most 48 are kept).
    pub numerators: Vec<Numerator>,
}

/// `k` of a small plan.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum SmallK {
    /// All frames.
    All,
    /// 1 + value % 48.
    Fixed(u8),
    /// The number of custom numerators.
    MatchCustom,
}

/// A plan request with its numerators owned, ready to borrow as a [`PlanConfig`].
#[derive(Clone, Debug)]
pub struct OwnedPlan {
    /// F.
    pub frames: u32,
    /// S.
    pub segments: u32,
    /// k.
    pub k: FramesPerSegment,
    /// Selection.
    pub selection: Selection,
    /// Mode.
    pub mode: Mode,
    /// Schedule kind.
    pub kind: ScheduleKind,
    /// Custom numerators.
    pub numerators: Vec<u32>,
}

impl OwnedPlan {
    /// The schedule, borrowing the numerators.
    #[must_use]
    pub fn schedule(&self) -> Schedule<'_> {
        match self.kind {
            ScheduleKind::Average => Schedule::Average,
            ScheduleKind::Linear => Schedule::Linear,
            ScheduleKind::Linear0 => Schedule::Linear0,
            ScheduleKind::Custom => Schedule::Custom(&self.numerators),
        }
    }

    /// The configuration, borrowing the numerators.
    #[must_use]
    pub fn config(&self) -> PlanConfig<'_> {
        PlanConfig {
            segments: self.segments,
            k: self.k,
            selection: self.selection,
            mode: self.mode,
            schedule: self.schedule(),
        }
    }
}

impl PlanGen {
    /// The request.
    #[must_use]
    pub fn build(&self) -> OwnedPlan {
        let numerators: Vec<u32> = self.numerators.iter().map(|n| n.get()).collect();
        OwnedPlan {
            frames: self.frames.get(),
            segments: self.segments.get(),
            k: self.k.get(numerators.len()),
            selection: self.selection.into(),
            mode: self.mode.into(),
            kind: self.schedule,
            numerators,
        }
    }
}

impl SmallPlanGen {
    /// The request.
    #[must_use]
    pub fn build(&self) -> OwnedPlan {
        let mut numerators: Vec<u32> = self.numerators.iter().map(|n| n.get()).collect();
        numerators.truncate(48);
        let k = match self.k {
            SmallK::All => FramesPerSegment::All,
            SmallK::Fixed(v) => FramesPerSegment::Fixed(1 + u32::from(v) % 48),
            SmallK::MatchCustom => FramesPerSegment::Fixed(numerators.len() as u32),
        };
        OwnedPlan {
            frames: 1 + u32::from(self.frames) % 48,
            segments: 1 + u32::from(self.segments) % 12,
            k,
            selection: self.selection.into(),
            mode: self.mode.into(),
            kind: self.schedule,
            numerators,
        }
    }
}

/// An `f32`: mostly ordinary non-negative values, sometimes any bit pattern (negative, NaN,
/// infinite, subnormal).
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum FloatGen {
    /// `value / 256`: 0 to about 256.
    Ordinary(u16),
    /// A small probability-like value, `value / 65535`.
    Unit(u16),
    /// Any bits.
    Bits(u32),
}

impl FloatGen {
    /// The value.
    #[must_use]
    pub fn get(self) -> f32 {
        match self {
            FloatGen::Ordinary(v) => f32::from(v) / 256.0,
            FloatGen::Unit(v) => f32::from(v) / 65535.0,
            FloatGen::Bits(b) => f32::from_bits(b),
        }
    }
}

/// `Layout`.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum LayoutGen {
    /// `tchw`.
    Tchw,
    /// `cthw`.
    Cthw,
    /// `thwc`.
    Thwc,
}

impl From<LayoutGen> for Layout {
    fn from(l: LayoutGen) -> Layout {
        match l {
            LayoutGen::Tchw => Layout::Tchw,
            LayoutGen::Cthw => Layout::Cthw,
            LayoutGen::Thwc => Layout::Thwc,
        }
    }
}

/// `Epilogue`.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum EpilogueGen {
    /// `raw`.
    Raw,
    /// `unit`.
    Unit,
    /// `imagenet`.
    Imagenet,
    /// Any mean and std (invalid ones must be refused).
    Normalize([FloatGen; 4], [FloatGen; 4]),
}

impl EpilogueGen {
    /// The epilogue.
    #[must_use]
    pub fn get(self) -> Epilogue {
        match self {
            EpilogueGen::Raw => Epilogue::Raw,
            EpilogueGen::Unit => Epilogue::Unit,
            EpilogueGen::Imagenet => Epilogue::IMAGENET,
            EpilogueGen::Normalize(mean, std) => Epilogue::Normalize {
                mean: mean.map(FloatGen::get),
                std: std.map(FloatGen::get),
            },
        }
    }
}

/// The mixing path; given float weights are carried separately (they are borrowed).
#[derive(Arbitrary, Clone, Debug)]
pub enum PathGen {
    /// The exact path.
    Exact,
    /// The float path with the schedule's weights.
    FloatSchedule,
    /// The float path with these weights, cycled or cut to `k` when `fit` (else as given).
    FloatGiven {
        /// The weights.
        weights: Vec<FloatGen>,
        /// Make them one per mixed frame.
        fit: bool,
    },
}

impl PathGen {
    /// The given float weights for a plan with this `k` (empty unless `FloatGiven`).
    #[must_use]
    pub fn weights(&self, k: FramesPerSegment) -> Vec<f32> {
        let PathGen::FloatGiven { weights, fit } = self else {
            return Vec::new();
        };
        let mut w: Vec<f32> = weights.iter().map(|g| g.get()).collect();
        if let (true, FramesPerSegment::Fixed(k)) = (*fit, k) {
            let k = k as usize;
            if w.is_empty() {
                w.push(1.0);
            }
            w = w.iter().copied().cycle().take(k).collect();
        }
        w
    }

    /// The path, borrowing `weights` (from [`PathGen::weights`]).
    #[must_use]
    pub fn get<'w>(&self, weights: &'w [f32]) -> MixPath<'w> {
        match self {
            PathGen::Exact => MixPath::Exact,
            PathGen::FloatSchedule => MixPath::Float(FloatWeights::Schedule),
            PathGen::FloatGiven { .. } => MixPath::Float(FloatWeights::Given(weights)),
        }
    }
}

/// `Backend`.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum BackendGen {
    /// Auto.
    Auto,
    /// Reference.
    Reference,
    /// Wide.
    Wide,
    /// Avx2 (Wide where the CPU lacks it).
    Avx2,
    /// Avx512 (Wide where the CPU lacks it).
    Avx512,
}

impl From<BackendGen> for Backend {
    fn from(b: BackendGen) -> Backend {
        match b {
            BackendGen::Auto => Backend::Auto,
            BackendGen::Reference => Backend::Reference,
            BackendGen::Wide => Backend::Wide,
            BackendGen::Avx2 => Backend::Avx2,
            BackendGen::Avx512 => Backend::Avx512,
        }
    }
}

/// Every backend this CPU runs besides the reference (`Auto` included: it is what users get).
/// Says once, loudly, when AVX-512 cannot be run here.
#[must_use]
pub fn fast_backends() -> Vec<Backend> {
    if !Backend::Avx512.is_available() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            eprintln!("SKIPPED: this CPU has no AVX-512 BW/VL: backend Avx512 was NOT tested");
        });
    }
    [Backend::Wide, Backend::Avx2, Backend::Avx512, Backend::Auto]
        .into_iter()
        .filter(|b| b.is_available())
        .collect()
}

/// Frame content.
#[derive(Arbitrary, Clone, Debug)]
pub enum PixelGen {
    /// These bytes, cycled (zeros when empty), shifted by the frame index.
    Bytes(Vec<u8>),
    /// Every byte this value (255: the largest sums).
    Constant(u8),
    /// xorshift noise from this seed.
    Noise(u64),
}

impl PixelGen {
    /// Fills `out` with frame `f`'s bytes.
    pub fn fill(&self, f: u32, out: &mut [u8]) {
        match self {
            PixelGen::Bytes(b) if b.is_empty() => out.fill(0),
            PixelGen::Bytes(b) => {
                let shift = f as usize * 7;
                for (j, v) in out.iter_mut().enumerate() {
                    *v = b[(j + shift) % b.len()];
                }
            }
            PixelGen::Constant(c) => out.fill(*c),
            PixelGen::Noise(seed) => {
                let mut s = seed ^ (u64::from(f) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for v in out.iter_mut() {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    *v = (s >> 24) as u8;
                }
            }
        }
    }
}

/// Frame width: mostly narrow, sometimes several tiles wide.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum WidthGen {
    /// 1 to 70 pixels (around the 32-pixel SIMD blocks).
    Narrow(u8),
    /// 1 to 1,300 pixels (several 1,024-byte tiles).
    Wide(u16),
}

impl WidthGen {
    /// The width in pixels.
    #[must_use]
    pub fn get(self) -> u32 {
        match self {
            WidthGen::Narrow(v) => 1 + u32::from(v) % 70,
            WidthGen::Wide(v) => 1 + u32::from(v) % 1300,
        }
    }
}

/// How one frame sits in memory: row padding and an offset from its buffer's start.
#[derive(Arbitrary, Clone, Copy, Debug, Default)]
pub struct FrameLayoutGen {
    /// Extra bytes at the end of each row, modulo 9 (0: packed).
    pub pad: u8,
    /// Bytes before the first row, modulo 4 (an unaligned start).
    pub offset: u8,
}

/// A frame's bytes laid out with padding and an offset, in a buffer with no slack after the
/// last pixel (so a kernel that reads past it hits the sanitizer).
#[derive(Clone, Debug)]
pub struct PaddedFrame {
    /// The buffer.
    pub buf: Vec<u8>,
    /// Where the first row starts.
    pub offset: usize,
    /// Bytes from one row to the next.
    pub stride: usize,
}

impl PaddedFrame {
    /// Lays out `packed` (rows of `row_bytes`) with `layout`.
    #[must_use]
    pub fn new(packed: &[u8], row_bytes: usize, rows: usize, layout: FrameLayoutGen) -> Self {
        let pad = usize::from(layout.pad % 9);
        let offset = usize::from(layout.offset % 4);
        let stride = row_bytes + pad;
        let len = offset + stride * (rows - 1) + row_bytes;
        let mut buf = vec![0xA5u8; len];
        for y in 0..rows {
            let dst = offset + y * stride;
            buf[dst..dst + row_bytes].copy_from_slice(&packed[y * row_bytes..(y + 1) * row_bytes]);
        }
        PaddedFrame {
            buf,
            offset,
            stride,
        }
    }

    /// The bytes from the first row on.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.offset..]
    }
}

/// The bits of a NaN no mixing produces: output slots that still hold it were never written.
pub const SENTINEL: u32 = 0x7FC0_DEAD;

/// The `u16` that fills half-precision outputs before a mix: an f16 signalling NaN, which no
/// rounding gives (NaNs come out quiet), and a bf16 value far beyond any mix of this crate's
/// inputs.
pub const HALF_SENTINEL: u16 = 0x7C01;

/// An output buffer of `len` values plus `extra`, all [`SENTINEL`].
#[must_use]
pub fn sentinel_output(len: usize, extra: usize) -> Vec<f32> {
    vec![f32::from_bits(SENTINEL); len + extra]
}
