//! Output layouts: f32, C-contiguous (docs/contract.md section 8).

use crate::error::{Error, Result};
use crate::frame::Geometry;

/// The order of the output tensor's axes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layout {
    /// `[S][C][H][W]`: TSN / TSM in PyTorch. Default.
    #[default]
    Tchw,
    /// `[C][S][H][W]`: I3D and other 3D CNNs.
    Cthw,
    /// `[S][H][W][C]`: viewing, TF/JAX.
    Thwc,
}

impl Layout {
    /// The output's shape for `segments` mixed frames of `geometry`, outermost axis first.
    #[must_use]
    pub fn shape(&self, segments: u32, geometry: Geometry) -> [usize; 4] {
        let (s, c, h, w) = (
            segments as usize,
            geometry.channels as usize,
            geometry.height as usize,
            geometry.width as usize,
        );
        match self {
            Layout::Tchw => [s, c, h, w],
            Layout::Cthw => [c, s, h, w],
            Layout::Thwc => [s, h, w, c],
        }
    }

    /// Elements of the output: `S * C * H * W`.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`].
    pub fn output_len(segments: u32, geometry: Geometry) -> Result<usize> {
        geometry
            .elements()?
            .checked_mul(segments as usize)
            .ok_or(Error::SizeOverflow)
    }

    /// Index of element (segment `i`, row `y`, column `x`, channel `c`) in the output.
    /// The caller keeps every coordinate in range and the total size checked.
    #[inline]
    #[must_use]
    pub fn index(&self, segments: u32, g: Geometry, i: u32, y: u32, x: u32, c: u32) -> usize {
        let (s, ch, h, w) = (
            segments as usize,
            g.channels as usize,
            g.height as usize,
            g.width as usize,
        );
        let (i, y, x, c) = (i as usize, y as usize, x as usize, c as usize);
        match self {
            Layout::Tchw => ((i * ch + c) * h + y) * w + x,
            Layout::Cthw => ((c * s + i) * h + y) * w + x,
            Layout::Thwc => ((i * h + y) * w + x) * ch + c,
        }
    }

    /// True when one output row of a segment holds its channels interleaved (`Thwc`);
    /// false when each channel's row is its own contiguous run (`Tchw`, `Cthw`).
    #[must_use]
    pub fn is_interleaved(&self) -> bool {
        matches!(self, Layout::Thwc)
    }
}
