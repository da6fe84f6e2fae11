//! What a mix writes and how: [`MixSpec`], and the tile engine every entry point shares
//! (in-memory [`mix`], the streaming [`crate::Mixer`], the parallel `mix_par`).
//!
//! A tile is a run of up to [`TILE_ELEMENTS`] bytes of one row of one segment. Its
//! accumulators live on the stack, every selected frame's row is added into them in order
//! `t = 0..m`, and the finished values go through the epilogue into the layout.

use crate::accumulator::{Accumulator, Accumulators, Group};
use crate::epilogue::Epilogue;
use crate::error::{Error, Result};
use crate::frame::{FrameView, Geometry};
use crate::half::Half;
use crate::kernel::{Backend, Finish, Kernels, MAX_GROUP};
use crate::layout::Layout;
use crate::plan::{FramesPerSegment, Plan, Segment};

/// Elements (bytes of a line) in one tile: 32 KiB of `u32` (or `f32`) accumulators. Tiles of
/// `u64` sums (windows too large for `u32`) hold half as many, in the same 32 KiB.
///
/// Long tiles matter when windows are long: each frame's row is then read in runs of this
/// many bytes, and 8 KiB runs from dozens of frames stream from DRAM nearly as fast as one
/// sequential read, where 2 KiB runs did not (`mixbench` case b: 0.77 -> 0.9 of the read).
pub const TILE_ELEMENTS: usize = 8192;

/// Float weights for the float path (docs/contract.md section 7).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
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
#[non_exhaustive]
pub enum MixPath<'w> {
    /// Exact integer sums and one correctly rounded division (docs/contract.md section 6). Default.
    #[default]
    Exact,
    /// `acc = acc + w_t * v` in `f32`, in increasing `t`, never fused (docs/contract.md section 7).
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

impl MixSpec<'_> {
    /// Checks this spec against a plan and a frame geometry, as every mix does before it
    /// starts: the geometry, the normalisation constants, and float weights (fixed `k` of
    /// the same length, finite and non-negative, no window shorter than `k`).
    ///
    /// # Errors
    /// The geometry's errors, [`Error::BadNormalization`], [`Error::CustomNeedsFixedK`],
    /// [`Error::WeightsLength`], [`Error::WeightInvalid`], [`Error::WindowShorterThanK`],
    /// [`Error::SizeOverflow`].
    pub fn validate(&self, plan: &Plan<'_>, geometry: Geometry) -> Result<()> {
        Prepared::new(plan, geometry, self).map(|_| ())
    }

    /// Checks what of this spec depends on the plan alone, for frames whose geometry is not
    /// known yet (a device plan uploaded before any frame): float weights against the plan's
    /// `k` and windows. [`MixSpec::validate`] adds the geometry and the normalisation.
    ///
    /// # Errors
    /// [`Error::CustomNeedsFixedK`], [`Error::WeightsLength`], [`Error::WeightInvalid`],
    /// [`Error::WindowShorterThanK`].
    pub fn validate_plan(&self, plan: &Plan<'_>) -> Result<()> {
        match self.path {
            MixPath::Float(FloatWeights::Given(given)) => check_given_weights(plan, given),
            MixPath::Float(FloatWeights::Schedule) | MixPath::Exact => Ok(()),
        }
    }

    /// The accumulators this spec sums `plan`'s windows in: `u32` on the exact path while
    /// `255 * D_i` fits for every segment, else `u64`; `f32` on the float path.
    #[must_use]
    pub fn accumulator(&self, plan: &Plan<'_>) -> Accumulator {
        match self.path {
            MixPath::Exact if plan.needs_wide_accumulator() => Accumulator::U64,
            MixPath::Exact => Accumulator::U32,
            MixPath::Float(_) => Accumulator::F32,
        }
    }
}

/// A spec checked against a plan and a geometry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prepared<'w> {
    pub kernels: Kernels,
    pub layout: Layout,
    pub epilogue: Epilogue,
    pub accumulator: Accumulator,
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
        spec.validate_plan(plan)?;
        let weights = match spec.path {
            MixPath::Exact => FloatWeights::Schedule,
            MixPath::Float(w) => w,
        };
        Ok(Prepared {
            kernels: Kernels::for_backend(spec.backend),
            layout: spec.layout,
            epilogue: spec.epilogue,
            accumulator: spec.accumulator(plan),
            weights,
            geometry,
            segments: plan.segments(),
            row_bytes: geometry.row_bytes()?,
            output_len: Layout::output_len(plan.segments(), geometry)?,
        })
    }

    /// The same mix seen as one line per segment of `height * width` pixels, for frames
    /// without row padding: every layout's index of (i, 0, y*W + x, c) equals that of
    /// (i, y, x, c), so the output is identical while tiles run across row ends. `None` when
    /// the pixel count does not fit a `u32`.
    pub(crate) fn flattened(&self) -> Option<Self> {
        let g = self.geometry;
        let width = g.width.checked_mul(g.height)?;
        let geometry = Geometry {
            width,
            height: 1,
            channels: g.channels,
        };
        Some(Prepared {
            geometry,
            row_bytes: self.row_bytes * g.height as usize,
            ..*self
        })
    }

    /// Pixels per tile for this geometry: a multiple of 32 pixels (so SIMD kernels see whole
    /// vectors) whose accumulators fit [`TileScratch`]: at most [`TILE_ELEMENTS`] bytes, half
    /// that for `u64` sums.
    pub(crate) fn tile_pixels(&self) -> usize {
        let elements = match self.accumulator {
            Accumulator::U64 => TILE_ELEMENTS / 2,
            Accumulator::U32 | Accumulator::F32 => TILE_ELEMENTS,
        };
        (elements / self.geometry.channels as usize) / 32 * 32
    }

    /// How a run of `pixels` pixels is laid out in the output: `(runs, values per run)`, one
    /// interleaved run of `pixels * C` values (`Thwc`) or `C` runs of `pixels` (planar).
    #[cfg_attr(not(any(feature = "rayon", feature = "check-ref")), allow(dead_code))]
    pub(crate) fn runs_of(&self, pixels: usize) -> (usize, usize) {
        let ch = self.geometry.channels as usize;
        if self.layout.is_interleaved() {
            (1, pixels * ch)
        } else {
            (ch, pixels)
        }
    }

    /// How finish kernels lay out a tile's run for this spec.
    pub(crate) fn finish(&self) -> Finish {
        Finish {
            epilogue: self.epilogue,
            channels: self.geometry.channels as usize,
            planar: !self.layout.is_interleaved(),
        }
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

/// Per-tile accumulators, reused from tile to tile (never needs zeroing: the first group of
/// every tile initialises them): [`TILE_ELEMENTS`] `u32` or `f32` sums, or half as many `u64`
/// sums. 32 KiB.
pub(crate) struct TileScratch([u64; TILE_ELEMENTS / 2]);

impl TileScratch {
    pub(crate) fn new() -> Self {
        TileScratch([0; TILE_ELEMENTS / 2])
    }
}

/// The destination runs of one finish: `f32` values, or a half format's bit patterns.
pub(crate) enum Runs<'a, 'b> {
    /// `f32` values.
    F32(&'a mut [&'b mut [f32]]),
    /// Values rounded to `Half` (docs/contract.md section 10), as bits.
    Half(Half, &'a mut [&'b mut [u16]]),
}

impl<'b> Runs<'_, 'b> {
    /// The same runs, borrowed for a shorter time.
    pub(crate) fn reborrow(&mut self) -> Runs<'_, 'b> {
        match self {
            Runs::F32(r) => Runs::F32(r),
            Runs::Half(h, r) => Runs::Half(*h, r),
        }
    }
}

/// Where finished tiles go: the output runs of pixels `x0..x0 + pixels` of row `y` of
/// segment `i` (one per channel for planar layouts, one interleaved run for `Thwc`).
pub(crate) trait Sink {
    /// Calls `f` with the runs; does nothing if they would leave the output (never the case
    /// for an output of at least [`output_len`] values).
    fn with_runs(
        &mut self,
        p: &Prepared<'_>,
        i: u32,
        y: u32,
        x0: u32,
        pixels: usize,
        f: &mut dyn FnMut(Runs<'_, '_>),
    );
}

/// A sink over a whole half-precision output (`u16` bit patterns): the kernels round each
/// finished value in registers and store the bits (docs/contract.md section 10).
pub(crate) struct HalfSink<'o> {
    out: &'o mut [u16],
    half: Half,
}

impl<'o> HalfSink<'o> {
    pub(crate) fn new(out: &'o mut [u16], half: Half) -> Self {
        HalfSink { out, half }
    }
}

impl Sink for HalfSink<'_> {
    fn with_runs(
        &mut self,
        p: &Prepared<'_>,
        i: u32,
        y: u32,
        x0: u32,
        pixels: usize,
        f: &mut dyn FnMut(Runs<'_, '_>),
    ) {
        let half = self.half;
        runs_in(p, self.out, i, y, x0, pixels, |r| f(Runs::Half(half, r)));
    }
}

/// Calls `f` with the output runs of pixels `x0..x0 + pixels` of row `y` of segment `i` in
/// `out` (laid out as `p.layout`); does nothing if they would leave `out`.
fn runs_in<T>(
    p: &Prepared<'_>,
    out: &mut [T],
    i: u32,
    y: u32,
    x0: u32,
    pixels: usize,
    f: impl FnOnce(&mut [&mut [T]]),
) {
    let g = p.geometry;
    let ch = g.channels as usize;
    if p.layout.is_interleaved() {
        let start = p.layout.index(p.segments, g, i, y, x0, 0);
        if let Some(run) = out.get_mut(start..start + pixels * ch) {
            f(&mut [run]);
        }
        return;
    }
    // Channel runs lie at increasing offsets: split them off one after another.
    let mut runs: [&mut [T]; 4] = [&mut [], &mut [], &mut [], &mut []];
    let mut rest: &mut [T] = out;
    let mut consumed = 0;
    for (c, slot) in runs.iter_mut().enumerate().take(ch) {
        let idx = p.layout.index(p.segments, g, i, y, x0, c as u32);
        let Some((_, tail)) = rest.split_at_mut_checked(idx - consumed) else {
            return;
        };
        let Some((run, tail)) = tail.split_at_mut_checked(pixels) else {
            return;
        };
        *slot = run;
        rest = tail;
        consumed = idx + pixels;
    }
    f(&mut runs[..ch]);
}

/// A sink over a whole output slice.
pub(crate) struct SliceSink<'o>(pub &'o mut [f32]);

impl Sink for SliceSink<'_> {
    fn with_runs(
        &mut self,
        p: &Prepared<'_>,
        i: u32,
        y: u32,
        x0: u32,
        pixels: usize,
        f: &mut dyn FnMut(Runs<'_, '_>),
    ) {
        runs_in(p, self.0, i, y, x0, pixels, |r| f(Runs::F32(r)));
    }
}

/// Mixes the tile of bytes `j0..j0 + len` of one row of segment `seg` (reading each mixed
/// frame's row through `row(frame)`) and finishes it into `dst`.
pub(crate) fn tile<'f>(
    p: &Prepared<'_>,
    seg: &Segment<'_, '_>,
    row: impl Fn(u32) -> &'f [u8],
    j0: usize,
    len: usize,
    scratch: &mut TileScratch,
    #[cfg_attr(not(feature = "check-ref"), allow(unused_mut))] mut dst: Runs<'_, '_>,
) {
    tile_with(&p.kernels, p, seg, &row, j0, len, scratch, dst.reborrow());
    #[cfg(feature = "check-ref")]
    if p.kernels.backend != Backend::Reference {
        let mut check = [0f32; TILE_ELEMENTS];
        let mut scratch = TileScratch::new();
        let reference = Kernels::for_backend(Backend::Reference);
        let ch = p.geometry.channels as usize;
        let mut runs: [&mut [f32]; 4] = [&mut [], &mut [], &mut [], &mut []];
        let (n, per) = p.runs_of(len / ch);
        for (slot, chunk) in runs.iter_mut().zip(check[..len].chunks_mut(per)) {
            *slot = chunk;
        }
        tile_with(
            &reference,
            p,
            seg,
            &row,
            j0,
            len,
            &mut scratch,
            Runs::F32(&mut runs[..n]),
        );
        check_against(&dst, &runs[..n]);
    }
}

/// `check-ref`: panics unless the fast kernels' runs hold the reference's values `want`
/// (rounded to the half format for a half output: the reference's half finish is exactly
/// that).
#[cfg(feature = "check-ref")]
pub(crate) fn check_against(got: &Runs<'_, '_>, want: &[&mut [f32]]) {
    match got {
        Runs::F32(runs) => {
            for (fast, slow) in runs.iter().zip(want) {
                for (a, b) in fast.iter().zip(slow.iter()) {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "check-ref: fast kernel differs from the reference"
                    );
                }
            }
        }
        Runs::Half(half, runs) => {
            for (fast, slow) in runs.iter().zip(want) {
                for (&a, &b) in fast.iter().zip(slow.iter()) {
                    assert_eq!(
                        a,
                        half.bits(b),
                        "check-ref: fast {half:?} kernel differs from the reference"
                    );
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn tile_with<'f>(
    k: &Kernels,
    p: &Prepared<'_>,
    seg: &Segment<'_, '_>,
    row: &impl Fn(u32) -> &'f [u8],
    j0: usize,
    len: usize,
    scratch: &mut TileScratch,
    dst: Runs<'_, '_>,
) {
    let Some(mut acc) = Accumulators::over(p.accumulator, &mut scratch.0, 0, len) else {
        debug_assert!(false, "a tile of {len} elements is larger than its scratch");
        return;
    };
    let m = seg.mixed();
    let mut t = 0;
    while t < m {
        let group = Group::at(p, seg, t, m);
        let mut rows: [&[u8]; MAX_GROUP] = [&[]; MAX_GROUP];
        for (r, u) in rows.iter_mut().zip(group.frames()) {
            *r = row(seg.position(u)).get(j0..j0 + len).unwrap_or(&[]);
        }
        acc.add(k, &rows[..group.len()], &group, t == 0);
        t = group.end();
    }
    acc.finish(k, seg.denominator(), &p.finish(), dst);
}

/// Tiles of one line.
pub(crate) fn tiles_per_line(p: &Prepared<'_>) -> usize {
    (p.geometry.width as usize).div_ceil(p.tile_pixels())
}

/// Mixes tiles `tiles` of line `y` of segment `seg` into `sink`, reading frame `f`'s line
/// through `line(f)`.
pub(crate) fn mix_line<'f>(
    p: &Prepared<'_>,
    seg: &Segment<'_, '_>,
    line: impl Fn(u32) -> &'f [u8] + Copy,
    y: u32,
    tiles: core::ops::Range<usize>,
    scratch: &mut TileScratch,
    sink: &mut impl Sink,
) {
    let ch = p.geometry.channels as usize;
    let tile_px = p.tile_pixels();
    let width = p.geometry.width as usize;
    let mut x0 = (tiles.start * tile_px).min(width);
    let x_end = (tiles.end * tile_px).min(width);
    // A window that fits one 16-bit group goes through the one-pass kernel over the whole
    // range at once (no accumulators, so no tile limit); the rest by tiles.
    let m = seg.mixed();
    if p.accumulator == Accumulator::U32
        && m as usize <= MAX_GROUP
        && Group::at(p, seg, 0, m).end() == m
        && (p.kernels.mix_fused.is_some() || p.kernels.mix_fused_half.is_some())
    {
        let mut nums = [0u32; MAX_GROUP];
        for t in 0..m {
            nums[t as usize] = seg.numerator(t);
        }
        let nums = &nums[..m as usize];
        let fin = p.finish();
        let d = seg.denominator();
        let (j0, j1) = (x0 * ch, x_end * ch);
        let mut rows: [&[u8]; MAX_GROUP] = [&[]; MAX_GROUP];
        for t in 0..m {
            rows[t as usize] = line(seg.position(t)).get(j0..j1).unwrap_or(&[]);
        }
        let rows = &rows[..m as usize];
        let mut done = 0;
        sink.with_runs(p, seg.index(), y, x0 as u32, x_end - x0, &mut |dst| {
            done = match dst {
                Runs::F32(dst) => p
                    .kernels
                    .mix_fused
                    .map_or(0, |f| f(rows, nums, d, &fin, dst)),
                Runs::Half(half, dst) => p
                    .kernels
                    .mix_fused_half
                    .map_or(0, |f| f(rows, nums, d, &fin, half, dst)),
            };
        });
        // The rest of the range (the kernel's tail, if any) goes by tiles below.
        x0 += done / ch;
    }
    while x0 < x_end {
        let px = tile_px.min(x_end - x0);
        sink.with_runs(p, seg.index(), y, x0 as u32, px, &mut |dst| {
            tile(p, seg, line, x0 * ch, px * ch, scratch, dst);
        });
        x0 += px;
    }
}

/// How in-memory frames are read: whole frames as one line each when none has row padding,
/// else row by row.
pub(crate) fn line_view<'f>(p: &Prepared<'f>, frames: &[FrameView<'f>]) -> (Prepared<'f>, bool) {
    let packed = frames.iter().all(|f| f.packed_bytes().is_some());
    match p.flattened() {
        Some(flat) if packed => (flat, true),
        _ => (*p, false),
    }
}

/// Line `y` of frame `f` (the whole frame when `flat`).
pub(crate) fn frame_line<'f>(frames: &[FrameView<'f>], flat: bool, f: u32, y: u32) -> &'f [u8] {
    let Some(frame) = frames.get(f as usize) else {
        return &[];
    };
    if flat {
        frame.packed_bytes().unwrap_or(&[])
    } else {
        frame.row(y)
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
    mix_all(plan, frames, &p, &mut SliceSink(out));
    Ok(())
}

/// Every tile of every line of every segment of in-memory `frames` into `sink`.
fn mix_all(plan: &Plan<'_>, frames: &[FrameView<'_>], p: &Prepared<'_>, sink: &mut impl Sink) {
    let (p, flat) = line_view(p, frames);
    let mut scratch = TileScratch::new();
    for seg in plan.iter() {
        for y in 0..p.geometry.height {
            let line = |f: u32| frame_line(frames, flat, f, y);
            mix_line(&p, &seg, line, y, 0..tiles_per_line(&p), &mut scratch, sink);
        }
    }
}

/// [`mix`] into a half-precision output: `out` receives [`output_len`] values of `half`, as
/// bit patterns, each the value [`mix`] gives rounded to the nearest `half` value, ties to
/// even (docs/contract.md section 10). The kernels round each finished vector in registers
/// and store the bits, so the output is written once, at half the bytes.
///
/// # Errors
/// As [`mix`].
///
/// ```
/// use mixcore::{FrameView, Geometry, Half, MixSpec, Plan, PlanConfig, mix_half};
/// let g = Geometry::new(1, 1, 1)?;
/// let bytes = [[0u8], [10], [20], [30]];
/// let frames: Vec<FrameView> = bytes.iter().map(|b| FrameView::packed(b, g)).collect::<Result<_, _>>()?;
/// let plan = Plan::new(4, &PlanConfig { segments: 1, ..PlanConfig::default() })?;
/// let mut out = [0u16; 1];
/// mix_half(&plan, &frames, &MixSpec::default(), Half::F16, &mut out)?;
/// assert_eq!(out[0], 0x4d00); // 20.0 in f16
/// # Ok::<(), mixcore::Error>(())
/// ```
pub fn mix_half(
    plan: &Plan<'_>,
    frames: &[FrameView<'_>],
    spec: &MixSpec<'_>,
    half: Half,
    out: &mut [u16],
) -> Result<()> {
    let g = check_frames(plan, frames)?;
    let p = Prepared::new(plan, g, spec)?;
    if out.len() < p.output_len {
        return Err(Error::BufferTooSmall {
            len: out.len(),
            needed: p.output_len,
        });
    }
    mix_all(plan, frames, &p, &mut HalfSink::new(out, half));
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
