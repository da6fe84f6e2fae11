//! Shared strategies and independent oracles for framemix's workspace tests.
//!
//! The oracles here do not call mixcore's rounding, layout or kernel code: they recompute
//! docs/contract.md from its text (wide integers, explicit index formulas), so a bug in mixcore cannot
//! hide behind itself.

use mixcore::{
    Epilogue, FloatWeights, FrameView, Geometry, Layout, MixPath, MixSpec, Mode, Plan, PlanConfig,
    Schedule, Selection,
};
use proptest::prelude::*;

/// `ProptestConfig::with_cases(n)`, but at most `PROPTEST_CASES` cases when that variable is
/// set: each property keeps its own count, and a slow runner (scripts/test.sh's aarch64 step,
/// under qemu) lowers them all at once. proptest itself lets an explicit count override the
/// variable.
#[must_use]
pub fn cases(n: u32) -> ProptestConfig {
    let cap = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(u32::MAX);
    ProptestConfig::with_cases(n.min(cap))
}

/// A video held in memory: `frames[f]` has `height` rows of `stride` bytes.
#[derive(Clone, Debug)]
pub struct Video {
    /// Frame size.
    pub geometry: Geometry,
    /// Bytes from one row to the next (>= width * channels).
    pub stride: usize,
    /// One buffer per frame.
    pub frames: Vec<Vec<u8>>,
}

impl Video {
    /// Views of every frame.
    pub fn views(&self) -> Vec<FrameView<'_>> {
        self.frames
            .iter()
            .map(|b| FrameView::new(b, self.geometry, self.stride).expect("valid test frame"))
            .collect()
    }

    /// Byte (y, x, c) of frame f.
    pub fn byte(&self, f: usize, y: usize, x: usize, c: usize) -> u8 {
        self.frames[f][y * self.stride + x * self.geometry.channels as usize + c]
    }
}

/// A random video: F frames in `frames`, width, height, channels 1..=4, row padding 0..8.
pub fn arbitrary_video(
    frames: std::ops::RangeInclusive<usize>,
    width: std::ops::RangeInclusive<u32>,
    height: std::ops::RangeInclusive<u32>,
) -> impl Strategy<Value = Video> {
    (frames, width, height, 1u32..=4, 0usize..8).prop_flat_map(|(f, w, h, c, pad)| {
        let stride = (w * c) as usize + pad;
        let len = stride * (h as usize - 1) + (w * c) as usize;
        // Some videos use only a few byte values so sums hit ties and extremes often.
        let byte = prop_oneof![
            any::<u8>(),
            prop::sample::select(vec![0u8, 1, 127, 128, 254, 255])
        ];
        prop::collection::vec(prop::collection::vec(byte, len), f).prop_map(move |frames| Video {
            geometry: Geometry::new(w, h, c).expect("valid geometry"),
            stride,
            frames,
        })
    })
}

/// Every schedule kind; `Custom` numerators are drawn for a fixed `k` by [`arbitrary_config`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleKind {
    /// [`Schedule::Average`].
    Average,
    /// [`Schedule::Linear`].
    Linear,
    /// [`Schedule::Linear0`].
    Linear0,
    /// [`Schedule::Custom`].
    Custom,
}

/// A plan configuration that owns its custom numerators.
#[derive(Clone, Debug)]
pub struct OwnedConfig {
    /// S.
    pub segments: u32,
    /// `None` = All, `Some(k)` = Fixed(k).
    pub k: Option<u32>,
    /// Selection.
    pub selection: Selection,
    /// Mode.
    pub mode: Mode,
    /// Which schedule.
    pub schedule: ScheduleKind,
    /// Custom numerators (used when `schedule` is `Custom`).
    pub custom: Vec<u32>,
}

impl OwnedConfig {
    /// The borrowed config.
    pub fn config(&self) -> PlanConfig<'_> {
        PlanConfig {
            segments: self.segments,
            k: match self.k {
                None => mixcore::FramesPerSegment::All,
                Some(k) => mixcore::FramesPerSegment::Fixed(k),
            },
            selection: self.selection,
            mode: self.mode,
            schedule: match self.schedule {
                ScheduleKind::Average => Schedule::Average,
                ScheduleKind::Linear => Schedule::Linear,
                ScheduleKind::Linear0 => Schedule::Linear0,
                ScheduleKind::Custom => Schedule::Custom(&self.custom),
            },
        }
    }
}

/// A random valid-looking configuration for `frames` frames: S in `segments`, any k,
/// selection, mode and schedule (custom only with a k no window is shorter than).
pub fn arbitrary_config(
    frames: u32,
    segments: std::ops::RangeInclusive<u32>,
) -> impl Strategy<Value = OwnedConfig> {
    (
        segments,
        prop_oneof![Just(None), (1u32..12).prop_map(Some)],
        prop_oneof![Just(Selection::Spread), Just(Selection::Consecutive)],
        prop_oneof![
            Just(Mode::Test),
            any::<u64>().prop_map(|seed| Mode::Train { seed })
        ],
        prop_oneof![
            Just(ScheduleKind::Average),
            Just(ScheduleKind::Linear),
            Just(ScheduleKind::Linear0),
            Just(ScheduleKind::Custom)
        ],
        prop::collection::vec(0u32..1000, 12),
    )
        .prop_map(
            move |(segments, k, selection, mode, schedule, mut custom)| {
                let mut k = k;
                if schedule == ScheduleKind::Custom {
                    let smallest = (frames / segments).max(1);
                    let kk = k.unwrap_or(3).min(smallest);
                    k = Some(kk);
                    custom.truncate(kk as usize);
                    if custom.iter().all(|&n| n == 0) {
                        custom[0] = 1;
                    }
                }
                OwnedConfig {
                    segments,
                    k,
                    selection,
                    mode,
                    schedule,
                    custom,
                }
            },
        )
}

/// Every epilogue: raw, unit, ImageNet and an odd normalisation.
pub fn arbitrary_epilogue() -> impl Strategy<Value = Epilogue> {
    prop_oneof![
        Just(Epilogue::Raw),
        Just(Epilogue::Unit),
        Just(Epilogue::IMAGENET),
        Just(Epilogue::Normalize {
            mean: [0.5, 0.25, 0.125, 0.1],
            std: [0.3, 0.7, 0.11, 2.0]
        }),
    ]
}

/// Every layout.
pub fn arbitrary_layout() -> impl Strategy<Value = Layout> {
    prop_oneof![Just(Layout::Tchw), Just(Layout::Cthw), Just(Layout::Thwc)]
}

/// `n / d` rounded to the nearest `f32`, ties to even, found by comparing candidates with
/// exact integer arithmetic (independent of mixcore's `round_ratio`). `n < 2^56`,
/// `0 < d < 2^48`, and `n / d` at most 2^24 (or zero).
pub fn oracle_round(n: u64, d: u64) -> f32 {
    assert!(d > 0);
    if n == 0 {
        return 0.0;
    }
    let guess = (n as f64 / d as f64) as f32;
    let candidates = [
        f32::from_bits(guess.to_bits() - 1),
        guess,
        f32::from_bits(guess.to_bits() + 1),
    ];
    // c = mant * 2^exp exactly.
    let parts = |c: f32| -> (i128, i32) {
        let bits = c.to_bits();
        let e = ((bits >> 23) & 0xFF) as i32;
        let m = (bits & 0x7F_FFFF) | 0x80_0000;
        (m as i128, e - 127 - 23)
    };
    let k = candidates
        .iter()
        .map(|&c| -parts(c).1)
        .max()
        .unwrap()
        .max(0);
    assert!(
        64 - n.leading_zeros() as i32 + k < 126,
        "oracle_round: n/d too small for i128"
    );
    // |n - c*d| * 2^k, exactly.
    let dist = |c: f32| -> i128 {
        let (m, e) = parts(c);
        let lhs = (n as i128) << k;
        let rhs = (m * d as i128) << (k + e);
        (lhs - rhs).abs()
    };
    let mut best = candidates[0];
    for &c in &candidates[1..] {
        let (db, dc) = (dist(best), dist(c));
        if dc < db || (dc == db && c.to_bits() % 2 == 0) {
            best = c;
        }
    }
    best
}

/// docs/contract.md section 6's epilogue, written out.
pub fn oracle_epilogue(e: &Epilogue, v: f32, c: usize) -> f32 {
    match e {
        Epilogue::Raw => v,
        Epilogue::Unit => v / 255.0,
        Epilogue::Normalize { mean, std } => {
            let u = v / 255.0;
            let centred = u - mean[c];
            centred / std[c]
        }
        // A new epilogue needs its rule here before any test can pass with it.
        other => unimplemented!("the oracle has no rule for {other:?}"),
    }
}

/// Output index of (segment i, y, x, c), from docs/contract.md section 8's shapes.
pub fn oracle_index(
    layout: Layout,
    s: usize,
    g: Geometry,
    i: usize,
    y: usize,
    x: usize,
    c: usize,
) -> usize {
    let (ch, h, w) = (g.channels as usize, g.height as usize, g.width as usize);
    match layout {
        Layout::Tchw => i * ch * h * w + c * h * w + y * w + x,
        Layout::Cthw => c * s * h * w + i * h * w + y * w + x,
        Layout::Thwc => i * h * w * ch + y * w * ch + x * ch + c,
        other => unimplemented!("the oracle has no shape for {other:?}"),
    }
}

/// The whole mix, element by element: `u128` sums of the plan's positions and numerators,
/// [`oracle_round`], [`oracle_epilogue`], [`oracle_index`]. Float path as docs/contract.md section 7.
pub fn oracle_mix(plan: &Plan<'_>, video: &Video, spec: &MixSpec<'_>) -> Vec<f32> {
    let g = video.geometry;
    let s = plan.segments() as usize;
    let (w, h, ch) = (g.width as usize, g.height as usize, g.channels as usize);
    let mut out = vec![f32::NAN; s * h * w * ch];
    for seg in plan.iter() {
        let pos: Vec<u32> = seg.positions().collect();
        let num: Vec<u32> = seg.numerators().collect();
        let d = seg.denominator();
        let weights: Vec<f32> = match spec.path {
            MixPath::Exact | MixPath::Float(FloatWeights::Schedule) => {
                num.iter().map(|&n| oracle_round(u64::from(n), d)).collect()
            }
            MixPath::Float(FloatWeights::Given(wts)) => wts.to_vec(),
            other => unimplemented!("the oracle has no weights for {other:?}"),
        };
        for y in 0..h {
            for x in 0..w {
                for c in 0..ch {
                    let v = match spec.path {
                        MixPath::Exact => {
                            let n: u128 = pos
                                .iter()
                                .zip(&num)
                                .map(|(&p, &n)| n as u128 * video.byte(p as usize, y, x, c) as u128)
                                .sum();
                            oracle_round(n as u64, d)
                        }
                        MixPath::Float(_) => {
                            let mut acc = 0.0f32;
                            for (&p, &wt) in pos.iter().zip(&weights) {
                                let prod = wt * video.byte(p as usize, y, x, c) as f32;
                                acc += prod;
                            }
                            acc
                        }
                        other => unimplemented!("the oracle has no path {other:?}"),
                    };
                    let idx = oracle_index(spec.layout, s, g, seg.index() as usize, y, x, c);
                    out[idx] = oracle_epilogue(&spec.epilogue, v, c);
                }
            }
        }
    }
    out
}

/// Every concrete backend this CPU runs; prints a line for each one it cannot run, so a
/// skipped backend is never a silent pass.
pub fn backends() -> Vec<mixcore::Backend> {
    use mixcore::Backend;
    let mut v = Vec::new();
    for b in [
        Backend::Reference,
        Backend::Wide,
        Backend::Avx2,
        Backend::Avx512,
        Backend::Auto,
    ] {
        if b.is_available() {
            v.push(b);
        } else if b == Backend::Avx512 {
            eprintln!("SKIPPED: this CPU has no AVX-512 BW/VL: backend Avx512 was NOT tested");
        } else {
            eprintln!("skipped: backend {b:?} is not available on this CPU");
        }
    }
    v
}

/// Asserts two float slices are equal bit for bit, naming the first difference.
pub fn assert_bits_eq(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    if let Some(j) = (0..a.len()).find(|&j| a[j].to_bits() != b[j].to_bits()) {
        panic!(
            "{what}: element {j} differs: {} ({:#x}) vs {} ({:#x})",
            a[j],
            a[j].to_bits(),
            b[j],
            b[j].to_bits()
        );
    }
}

/// Like [`assert_bits_eq`], returning a proptest failure instead of panicking.
pub fn prop_bits_eq(a: &[f32], b: &[f32], what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len(), "{}: lengths differ", what);
    if let Some(j) = (0..a.len()).find(|&j| a[j].to_bits() != b[j].to_bits()) {
        return Err(TestCaseError::fail(format!(
            "{what}: element {j} differs: {} ({:#x}) vs {} ({:#x})",
            a[j],
            a[j].to_bits(),
            b[j],
            b[j].to_bits()
        )));
    }
    Ok(())
}
