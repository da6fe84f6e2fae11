//! What a mix writes and how: [`MixSpec`], and the tile engine every entry point shares
//! (in-memory [`mix`], the streaming [`crate::Mixer`], the parallel `mix_par`).
//!
//! A tile is a run of up to [`TILE_ELEMENTS`] bytes of one row of one segment. Its
//! accumulators live on the stack, every selected frame's row is added into them in order
//! `t = 0..m`, and the finished values go through the epilogue into the layout.

use crate::epilogue::Epilogue;
use crate::error::{Error, Result};
use crate::frame::{FrameView, Geometry};
use crate::kernel::{Backend, Kernels};
use crate::layout::Layout;
use crate::plan::{FramesPerSegment, Plan, Segment};

/// Elements (bytes of a row) in one tile: 4 KiB of `u32` accumulators.
pub const TILE_ELEMENTS: usize = 1024;

/// Float weights for the float path (SPEC.md section 7).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum FloatWeights<'w> {
    /// The plan's schedule weights `n_t / D_i`, each correctly rounded to `f32`. Default.
    #[default]
    Schedule,
    /// The caller's weights, one per mixed frame (the plan needs a fixed `k` of this
    /// length), used as given; each finite and `>= 0`.
    Given(&'w [f32]),
}

/// Which arithmetic produces the mixed value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum MixPath<'w> {
    /// Exact integer sums and one correctly rounded division (SPEC.md section 6). Default.
    #[default]
    Exact,
    /// `acc = acc + w_t * v` in `f32`, in increasing `t`, never fused (SPEC.md section 7).
    Float(FloatWeights<'w>),
}

/// Everything about a mix besides the plan and the frames. `Default`: `Tchw`, `Raw`,
/// exact path, fastest backend.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MixSpec<'w> {
    /// Output layout. Default: [`Layout::Tchw`].
    pub layout: Layout,
    /// Output scale. Default: [`Epilogue::Raw`].
    pub epilogue: Epilogue,
    /// Exact or float. Default: [`MixPath::Exact`].
    pub path: MixPath<'w>,
    /// Kernel implementation. Default: [`Backend::Auto`]; every backend gives the same bits.
    pub backend: Backend,
}

/// Accumulator arithmetic chosen for a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arith {
    /// `u32` sums (`255 * D <= u32::MAX`).
    Narrow,
    /// `u64` sums.
    Wide,
    /// `f32` sums, the float path.
    Float,
}

/// A spec checked against a plan and a geometry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prepared<'w> {
    pub kernels: Kernels,
    pub layout: Layout,
    pub epilogue: Epilogue,
    pub arith: Arith,
    pub weights: FloatWeights<'w>,
    pub geometry: Geometry,
    pub segments: u32,
    pub row_bytes: usize,
    pub output_len: usize,
}

impl<'w> Prepared<'w> {
    pub(crate) fn new(plan: &Plan<'_>, geometry: Geometry, spec: &MixSpec<'w>) -> Result<Self> {
        geometry.validate()?;
        spec.epilogue.validate(geometry.channels)?;
        let (arith, weights) = match spec.path {
            MixPath::Exact if plan.needs_wide_accumulator() => {
                (Arith::Wide, FloatWeights::Schedule)
            }
            MixPath::Exact => (Arith::Narrow, FloatWeights::Schedule),
            MixPath::Float(w) => {
                if let FloatWeights::Given(given) = w {
                    check_given_weights(plan, given)?;
                }
                (Arith::Float, w)
            }
        };
        Ok(Prepared {
            kernels: Kernels::for_backend(spec.backend),
            layout: spec.layout,
            epilogue: spec.epilogue,
            arith,
            weights,
            geometry,
            segments: plan.segments(),
            row_bytes: geometry.row_bytes()?,
            output_len: Layout::output_len(plan.segments(), geometry)?,
        })
    }

    /// Pixels per tile for this geometry.
    pub(crate) fn tile_pixels(&self) -> usize {
        TILE_ELEMENTS / self.geometry.channels as usize
    }

    /// Float weight of mixed frame `t` of `seg`.
    pub(crate) fn weight(&self, seg: &Segment<'_, '_>, t: u32) -> f32 {
        match self.weights {
            FloatWeights::Schedule => seg.weight_f32(t),
            FloatWeights::Given(w) => w.get(t as usize).copied().unwrap_or(0.0),
        }
    }
}

fn check_given_weights(plan: &Plan<'_>, given: &[f32]) -> Result<()> {
    let FramesPerSegment::Fixed(k) = plan.config().k else {
        return Err(Error::CustomNeedsFixedK);
    };
    if given.len() != k as usize {
        return Err(Error::WeightsLength {
            given: given.len(),
            expected: k,
        });
    }
    if let Some(index) = given.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(Error::WeightInvalid { index });
    }
    // Segment 0 has the smallest window (see Plan::new).
    let seg = plan.segment(0)?;
    if seg.window().len() < k {
        return Err(Error::WindowShorterThanK {
            segment: 0,
            window: seg.window().len(),
            k,
        });
    }
    Ok(())
}

/// The mixed values `V` (before the epilogue) of bytes `j0..j0 + values.len()` of row `y` of
/// segment `seg`, reading each mixed frame's row through `row(frame)`.
pub(crate) fn tile_values<'f>(
    p: &Prepared<'_>,
    seg: &Segment<'_, '_>,
    row: impl Fn(u32) -> &'f [u8],
    j0: usize,
    values: &mut [f32],
) {
    tile_values_with(&p.kernels, p, seg, &row, j0, values);
    #[cfg(feature = "check-ref")]
    if p.kernels.backend != Backend::Reference {
        let mut check = [0f32; TILE_ELEMENTS];
        let check = &mut check[..values.len()];
        let reference = Kernels::for_backend(Backend::Reference);
        tile_values_with(&reference, p, seg, &row, j0, check);
        for (a, b) in values.iter().zip(check.iter()) {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "check-ref: fast kernel differs from the reference"
            );
        }
    }
}

fn tile_values_with<'f>(
    k: &Kernels,
    p: &Prepared<'_>,
    seg: &Segment<'_, '_>,
    row: &impl Fn(u32) -> &'f [u8],
    j0: usize,
    values: &mut [f32],
) {
    let len = values.len();
    let src = |t: u32| row(seg.position(t)).get(j0..j0 + len).unwrap_or(&[]);
    match p.arith {
        Arith::Narrow => {
            let mut acc = [0u32; TILE_ELEMENTS];
            let acc = &mut acc[..len];
            for t in 0..seg.mixed() {
                (k.accumulate_u32)(acc, src(t), seg.numerator(t));
            }
            (k.divide_u32)(acc, seg.denominator(), values);
        }
        Arith::Wide => {
            let mut acc = [0u64; TILE_ELEMENTS];
            let acc = &mut acc[..len];
            for t in 0..seg.mixed() {
                (k.accumulate_u64)(acc, src(t), seg.numerator(t));
            }
            (k.divide_u64)(acc, seg.denominator(), values);
        }
        Arith::Float => {
            values.fill(0.0);
            for t in 0..seg.mixed() {
                (k.accumulate_f32)(values, src(t), p.weight(seg, t));
            }
        }
    }
}

/// Applies the epilogue to the values of pixels `x0..` of row `y` of segment `i` (channels
/// interleaved) and hands each contiguous output run to `store(index, run)`.
pub(crate) fn emit(
    p: &Prepared<'_>,
    i: u32,
    y: u32,
    x0: u32,
    values: &[f32],
    store: &mut impl FnMut(usize, &[f32]),
) {
    let g = p.geometry;
    let ch = g.channels as usize;
    let mut run = [0f32; TILE_ELEMENTS];
    if p.layout.is_interleaved() {
        let run = &mut run[..values.len()];
        for (px_out, px_in) in run.chunks_exact_mut(ch).zip(values.chunks_exact(ch)) {
            for c in 0..ch {
                px_out[c] = p.epilogue.apply(px_in[c], c);
            }
        }
        store(p.layout.index(p.segments, g, i, y, x0, 0), run);
    } else {
        let pixels = values.len() / ch;
        for c in 0..ch {
            let run = &mut run[..pixels];
            for (o, px) in run.iter_mut().zip(values.chunks_exact(ch)) {
                *o = p.epilogue.apply(px[c], c);
            }
            store(p.layout.index(p.segments, g, i, y, x0, c as u32), run);
        }
    }
}

/// Mixes row `y` of segment `seg` from in-memory frames and stores it.
pub(crate) fn mix_row(
    p: &Prepared<'_>,
    seg: &Segment<'_, '_>,
    frames: &[FrameView<'_>],
    y: u32,
    store: &mut impl FnMut(usize, &[f32]),
) {
    let ch = p.geometry.channels as usize;
    let tile_px = p.tile_pixels();
    let mut values = [0f32; TILE_ELEMENTS];
    let row = |f: u32| frames.get(f as usize).map_or(&[][..], |fr| fr.row(y));
    let mut x0 = 0usize;
    while x0 < p.geometry.width as usize {
        let px = tile_px.min(p.geometry.width as usize - x0);
        let v = &mut values[..px * ch];
        tile_values(p, seg, row, x0 * ch, v);
        emit(p, seg.index(), y, x0 as u32, v, store);
        x0 += px;
    }
}

/// Checks in-memory frames against a plan: one per frame index, all of one geometry.
pub(crate) fn check_frames(plan: &Plan<'_>, frames: &[FrameView<'_>]) -> Result<Geometry> {
    if frames.len() != plan.frames() as usize {
        return Err(Error::FrameCountMismatch {
            expected: plan.frames(),
            found: frames.len(),
        });
    }
    let g = frames[0].geometry();
    for f in frames {
        f.expect_geometry(g)?;
    }
    Ok(g)
}

/// Checks an output buffer's length.
pub(crate) fn check_output(p: &Prepared<'_>, out: &[f32]) -> Result<()> {
    if out.len() < p.output_len {
        return Err(Error::BufferTooSmall {
            len: out.len(),
            needed: p.output_len,
        });
    }
    Ok(())
}

/// Elements of the output a plan writes for `geometry`: `S * H * W * C`.
///
/// # Errors
/// [`Error::SizeOverflow`].
pub fn output_len(plan: &Plan<'_>, geometry: Geometry) -> Result<usize> {
    Layout::output_len(plan.segments(), geometry)
}

/// Mixes frames already in memory: `frames[f]` is frame `f`, `out` receives
/// [`output_len`] values in `spec.layout`.
///
/// # Errors
/// [`Error::FrameCountMismatch`], [`Error::FrameGeometryMismatch`],
/// [`Error::BufferTooSmall`], and the spec's errors (weights, normalisation).
///
/// ```
/// use mixcore::{FrameView, Geometry, MixSpec, Plan, PlanConfig, mix};
/// let g = Geometry::new(2, 1, 1)?;
/// let bytes: Vec<[u8; 2]> = (0..4).map(|f| [f * 10, 255]).collect();
/// let frames: Vec<FrameView> = bytes.iter().map(|b| FrameView::packed(b, g)).collect::<Result<_, _>>()?;
/// let plan = Plan::new(4, &PlanConfig { segments: 1, ..PlanConfig::default() })?;
/// let mut out = vec![0.0; 2];
/// mix(&plan, &frames, &MixSpec::default(), &mut out)?;
/// // Linear weights 1,2,3,4 over 10: (0*1 + 10*2 + 20*3 + 30*4) / 10 = 20.
/// assert_eq!(out, [20.0, 255.0]);
/// # Ok::<(), mixcore::Error>(())
/// ```
pub fn mix(
    plan: &Plan<'_>,
    frames: &[FrameView<'_>],
    spec: &MixSpec<'_>,
    out: &mut [f32],
) -> Result<()> {
    let g = check_frames(plan, frames)?;
    let p = Prepared::new(plan, g, spec)?;
    check_output(&p, out)?;
    let mut store = |idx: usize, run: &[f32]| {
        if let Some(dst) = out.get_mut(idx..idx + run.len()) {
            dst.copy_from_slice(run);
        }
    };
    for seg in plan.iter() {
        for y in 0..g.height {
            mix_row(&p, &seg, frames, y, &mut store);
        }
    }
    Ok(())
}

/// [`mix`] into a new vector of [`output_len`] values.
///
/// # Errors
/// As [`mix`].
#[cfg(feature = "alloc")]
pub fn mix_to_vec(
    plan: &Plan<'_>,
    frames: &[FrameView<'_>],
    spec: &MixSpec<'_>,
) -> Result<alloc::vec::Vec<f32>> {
    let g = check_frames(plan, frames)?;
    let mut out = alloc::vec![0.0; output_len(plan, g)?];
    mix(plan, frames, spec, &mut out)?;
    Ok(out)
}
