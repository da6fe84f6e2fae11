//! Frames: H x W x C bytes, channels interleaved, rows possibly padded (docs/contract.md section 2).

use crate::error::{Error, Result};

/// The size of every frame of a mix: width, height and interleaved channels (1 to 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Interleaved channels per pixel, 1 to 4 (RGB24 from a decoder: 3).
    pub channels: u32,
}

impl Geometry {
    /// A geometry, checked: width and height at least 1, channels 1 to 4, and every product
    /// the kernels use fits in `usize`.
    ///
    /// # Errors
    /// [`Error::EmptyFrame`], [`Error::BadChannels`] or [`Error::SizeOverflow`].
    pub fn new(width: u32, height: u32, channels: u32) -> Result<Self> {
        let g = Geometry {
            width,
            height,
            channels,
        };
        g.validate()?;
        Ok(g)
    }

    /// Checks the invariants of [`Geometry::new`] on a value built by hand.
    ///
    /// # Errors
    /// As [`Geometry::new`].
    pub fn validate(&self) -> Result<()> {
        if !(1..=4).contains(&self.channels) {
            return Err(Error::BadChannels {
                channels: self.channels,
            });
        }
        if self.width == 0 || self.height == 0 {
            return Err(Error::EmptyFrame);
        }
        self.elements().map(|_| ())
    }

    /// Bytes of one unpadded row: `width * channels`.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`].
    pub fn row_bytes(&self) -> Result<usize> {
        (self.width as usize)
            .checked_mul(self.channels as usize)
            .ok_or(Error::SizeOverflow)
    }

    /// Elements (bytes of input, values of output) of one frame: `height * width * channels`.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`].
    pub fn elements(&self) -> Result<usize> {
        self.row_bytes()?
            .checked_mul(self.height as usize)
            .ok_or(Error::SizeOverflow)
    }

    /// The tuple `(width, height, channels)`, as errors report it.
    #[must_use]
    pub fn as_tuple(&self) -> (u32, u32, u32) {
        (self.width, self.height, self.channels)
    }
}

/// A borrowed frame: its bytes, its geometry and its row stride.
///
/// Row `y` starts at byte `y * stride`; the last row needs only `width * channels` bytes,
/// so a view may end right after its last pixel.
#[derive(Clone, Copy, Debug)]
pub struct FrameView<'a> {
    data: &'a [u8],
    geometry: Geometry,
    stride: usize,
}

impl<'a> FrameView<'a> {
    /// A view of `data` with the given geometry and row stride in bytes.
    ///
    /// # Errors
    /// The geometry's errors, [`Error::StrideTooSmall`] when `stride < width * channels`,
    /// [`Error::FrameBufferTooSmall`] when `data` cannot hold every row.
    ///
    /// ```
    /// use mixcore::{FrameView, Geometry};
    /// let g = Geometry::new(3, 2, 3)?;
    /// let bytes = [0u8; 2 * 12]; // rows padded to 12 bytes
    /// let frame = FrameView::new(&bytes, g, 12)?;
    /// assert_eq!(frame.row(1).len(), 9);
    /// # Ok::<(), mixcore::Error>(())
    /// ```
    pub fn new(data: &'a [u8], geometry: Geometry, stride: usize) -> Result<Self> {
        geometry.validate()?;
        let row_bytes = geometry.row_bytes()?;
        if stride < row_bytes {
            return Err(Error::StrideTooSmall { stride, row_bytes });
        }
        let needed = stride
            .checked_mul(geometry.height as usize - 1)
            .and_then(|b| b.checked_add(row_bytes))
            .ok_or(Error::SizeOverflow)?;
        if data.len() < needed {
            return Err(Error::FrameBufferTooSmall {
                len: data.len(),
                needed,
            });
        }
        Ok(FrameView {
            data,
            geometry,
            stride,
        })
    }

    /// A view of tightly packed rows (stride = `width * channels`).
    ///
    /// # Errors
    /// As [`FrameView::new`].
    pub fn packed(data: &'a [u8], geometry: Geometry) -> Result<Self> {
        Self::new(data, geometry, geometry.row_bytes()?)
    }

    /// The frame's geometry.
    #[must_use]
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Bytes from the start of one row to the next.
    #[must_use]
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Row `y`: `width * channels` bytes. Rows past the last one are empty slices.
    #[must_use]
    pub fn row(&self, y: u32) -> &'a [u8] {
        let row_bytes = self.geometry.width as usize * self.geometry.channels as usize;
        (y as usize)
            .checked_mul(self.stride)
            .and_then(|start| self.data.get(start..start.checked_add(row_bytes)?))
            .unwrap_or(&[])
    }

    /// All pixels as one run of `height * width * channels` bytes, when rows are not padded
    /// (`stride == width * channels`).
    #[must_use]
    pub fn packed_bytes(&self) -> Option<&'a [u8]> {
        let row_bytes = self.geometry.width as usize * self.geometry.channels as usize;
        if self.stride != row_bytes {
            return None;
        }
        self.data.get(..row_bytes * self.geometry.height as usize)
    }

    /// Checks that this frame has the geometry `expected`.
    ///
    /// # Errors
    /// [`Error::FrameGeometryMismatch`].
    pub fn expect_geometry(&self, expected: Geometry) -> Result<()> {
        if self.geometry == expected {
            Ok(())
        } else {
            Err(Error::FrameGeometryMismatch {
                expected: expected.as_tuple(),
                found: self.geometry.as_tuple(),
            })
        }
    }
}
