//! The streaming [`Mixer`]: frames pushed one at a time, in any order, into caller-provided
//! scratch; memory is the accumulators (the size of the output) plus one bit per frame.

use crate::error::{Error, Result};
use crate::frame::{FrameView, Geometry};
use crate::mix::{Arith, MixSpec, Prepared, TILE_ELEMENTS, check_output, store_run};
use crate::plan::Plan;

/// Streams frames into accumulators and finishes into an output buffer.
///
/// ```
/// use mixcore::{FrameView, Geometry, MixSpec, Mixer, Plan, PlanConfig};
/// let g = Geometry::new(4, 2, 3)?;
/// let plan = Plan::new(16, &PlanConfig { segments: 2, ..PlanConfig::default() })?;
/// let spec = MixSpec::default();
/// let mut scratch = vec![0u64; Mixer::scratch_len(&plan, g, &spec)?];
/// let mut mixer = Mixer::new(&plan, g, spec, &mut scratch)?;
/// let frame = vec![7u8; 4 * 2 * 3];
/// for f in (0..16).rev() {
///     if mixer.is_needed(f) {
///         mixer.push(f, &FrameView::packed(&frame, g)?)?;
///     }
/// }
/// let mut out = vec![0.0; mixcore::output_len(&plan, g)?];
/// mixer.finish(&mut out)?;
/// assert!(out.iter().all(|&v| v == 7.0));
/// # Ok::<(), mixcore::Error>(())
/// ```
#[derive(Debug)]
pub struct Mixer<'m, 'a> {
    plan: &'m Plan<'a>,
    prepared: Prepared<'m>,
    /// Accumulators, `[S][H][W*C]`: `u32` (or `f32` bits) two to a word, or `u64`.
    acc: &'m mut [u64],
    /// One bit per frame: pushed already.
    seen: &'m mut [u64],
    /// Per segment: frames accumulated (low 32 bits), last `t` + 1 (high 32 bits).
    counts: &'m mut [u64],
}

struct ScratchSizes {
    acc: usize,
    seen: usize,
    counts: usize,
}

fn sizes(plan: &Plan<'_>, p: &Prepared<'_>) -> Result<ScratchSizes> {
    let acc = match p.arith {
        Arith::Wide => p.output_len,
        Arith::Narrow | Arith::Float => p.output_len.div_ceil(2),
    };
    Ok(ScratchSizes {
        acc,
        seen: (plan.frames() as usize).div_ceil(64),
        counts: plan.segments() as usize,
    })
}

impl<'m, 'a> Mixer<'m, 'a> {
    /// `u64` words of scratch a mixer needs for this plan, geometry and spec.
    ///
    /// # Errors
    /// The spec's errors and [`Error::SizeOverflow`].
    pub fn scratch_len(plan: &Plan<'_>, geometry: Geometry, spec: &MixSpec<'_>) -> Result<usize> {
        let p = Prepared::new(plan, geometry, spec)?;
        let s = sizes(plan, &p)?;
        s.acc
            .checked_add(s.seen)
            .and_then(|n| n.checked_add(s.counts))
            .ok_or(Error::SizeOverflow)
    }

    /// A mixer over `scratch` (at least [`Mixer::scratch_len`] words; it is zeroed here).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`], and the spec's errors.
    pub fn new(
        plan: &'m Plan<'a>,
        geometry: Geometry,
        spec: MixSpec<'m>,
        scratch: &'m mut [u64],
    ) -> Result<Self> {
        let prepared = Prepared::new(plan, geometry, &spec)?;
        let s = sizes(plan, &prepared)?;
        let needed = Self::scratch_len(plan, geometry, &spec)?;
        if scratch.len() < needed {
            return Err(Error::BufferTooSmall {
                len: scratch.len(),
                needed,
            });
        }
        let scratch = &mut scratch[..needed];
        scratch.fill(0);
        let (acc, rest) = scratch.split_at_mut(s.acc);
        let (seen, counts) = rest.split_at_mut(s.seen);
        Ok(Mixer {
            plan,
            prepared,
            acc,
            seen,
            counts,
        })
    }

    /// The plan.
    #[must_use]
    pub fn plan(&self) -> &Plan<'a> {
        self.plan
    }

    /// True when frame `f` is mixed into some segment. Pushing a frame that is not needed is
    /// allowed and cheap (it is only marked as seen).
    #[must_use]
    pub fn is_needed(&self, f: u32) -> bool {
        self.plan.is_needed(f)
    }

    fn is_seen(&self, f: u32) -> bool {
        self.seen
            .get(f as usize / 64)
            .is_some_and(|w| w >> (f % 64) & 1 == 1)
    }

    /// Adds frame `f` to every segment that mixes it.
    ///
    /// # Errors
    /// [`Error::FrameOutOfRange`], [`Error::FramePushedTwice`],
    /// [`Error::FrameGeometryMismatch`], [`Error::FloatOutOfOrder`]. A refused push changes
    /// nothing.
    pub fn push(&mut self, f: u32, frame: &FrameView<'_>) -> Result<()> {
        if f >= self.plan.frames() {
            return Err(Error::FrameOutOfRange {
                frame: f,
                frames: self.plan.frames(),
            });
        }
        if self.is_seen(f) {
            return Err(Error::FramePushedTwice { frame: f });
        }
        frame.expect_geometry(self.prepared.geometry)?;
        if self.prepared.arith == Arith::Float {
            for feed in self.plan.feeds(f) {
                let last = (self.counts[feed.segment as usize] >> 32) as u32;
                if feed.t < last {
                    return Err(Error::FloatOutOfOrder { frame: f });
                }
            }
        }
        self.seen[f as usize / 64] |= 1 << (f % 64);
        let p = self.prepared;
        let rb = p.row_bytes;
        let seg_len = rb * p.geometry.height as usize;
        for feed in self.plan.feeds(f) {
            let i = feed.segment as usize;
            let c = &mut self.counts[i];
            *c = ((*c & 0xFFFF_FFFF) + 1) | (u64::from(feed.t + 1) << 32);
            let base = i * seg_len;
            let w = match p.arith {
                Arith::Float => p.weight(&self.plan.segment(feed.segment)?, feed.t),
                Arith::Narrow | Arith::Wide => 0.0,
            };
            for y in 0..p.geometry.height {
                let start = base + y as usize * rb;
                let src = frame.row(y);
                match p.arith {
                    Arith::Narrow => {
                        let acc: &mut [u32] = bytemuck::cast_slice_mut(self.acc);
                        let n = [feed.numerator];
                        (p.kernels.accumulate_u32)(&mut acc[start..start + rb], &[src], &n, false);
                    }
                    Arith::Wide => {
                        let n = [feed.numerator];
                        let acc = &mut self.acc[start..start + rb];
                        (p.kernels.accumulate_u64)(acc, &[src], &n, false);
                    }
                    Arith::Float => {
                        let acc: &mut [f32] = bytemuck::cast_slice_mut(self.acc);
                        (p.kernels.accumulate_f32)(
                            &mut acc[start..start + rb],
                            &[src],
                            &[w],
                            false,
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Divides, applies the epilogue and writes every segment into `out` (at least
    /// [`crate::output_len`] values).
    ///
    /// # Errors
    /// [`Error::FramesMissing`] when a needed frame was never pushed,
    /// [`Error::BufferTooSmall`].
    pub fn finish(self, out: &mut [f32]) -> Result<()> {
        let p = self.prepared;
        check_output(&p, out)?;
        let complete = self
            .plan
            .iter()
            .all(|seg| self.counts[seg.index() as usize] & 0xFFFF_FFFF == u64::from(seg.mixed()));
        if !complete {
            let mut missing = 0u32;
            let mut first = None;
            for f in 0..self.plan.frames() {
                if !self.is_seen(f) && self.plan.is_needed(f) {
                    missing += 1;
                    first.get_or_insert(f);
                }
            }
            return Err(Error::FramesMissing {
                missing,
                first: first.unwrap_or(0),
            });
        }
        let mut store = |idx: usize, run: &[f32]| {
            if let Some(dst) = out.get_mut(idx..idx + run.len()) {
                dst.copy_from_slice(run);
            }
        };
        let ch = p.geometry.channels as usize;
        let rb = p.row_bytes;
        let seg_len = rb * p.geometry.height as usize;
        let tile_px = p.tile_pixels();
        let fin = p.finish();
        let mut run = [0f32; TILE_ELEMENTS];
        for seg in self.plan.iter() {
            let d = seg.denominator();
            for y in 0..p.geometry.height {
                let row_start = seg.index() as usize * seg_len + y as usize * rb;
                let mut x0 = 0usize;
                while x0 < p.geometry.width as usize {
                    let px = tile_px.min(p.geometry.width as usize - x0);
                    let (a, b) = (row_start + x0 * ch, row_start + (x0 + px) * ch);
                    let r = &mut run[..px * ch];
                    match p.arith {
                        Arith::Narrow => {
                            let acc: &[u32] = bytemuck::cast_slice(self.acc);
                            (p.kernels.finish_u32)(&acc[a..b], d, &fin, r);
                        }
                        Arith::Wide => (p.kernels.finish_u64)(&self.acc[a..b], d, &fin, r),
                        Arith::Float => {
                            let acc: &[f32] = bytemuck::cast_slice(self.acc);
                            (p.kernels.finish_f32)(&acc[a..b], &fin, r);
                        }
                    }
                    store_run(&p, seg.index(), y, x0 as u32, px, r, &mut store);
                    x0 += px;
                }
            }
        }
        Ok(())
    }
}

/// A scratch vector of [`Mixer::scratch_len`] words.
///
/// # Errors
/// As [`Mixer::scratch_len`].
#[cfg(feature = "alloc")]
pub fn scratch_vec(
    plan: &Plan<'_>,
    geometry: Geometry,
    spec: &MixSpec<'_>,
) -> Result<alloc::vec::Vec<u64>> {
    Ok(alloc::vec![0; Mixer::scratch_len(plan, geometry, spec)?])
}
