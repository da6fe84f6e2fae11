//! Horizontal flips of frames and of mixed outputs.
//!
//! A mixed value is a function of one pixel position's values across frames (docs/contract.md:
//! `N = sum n_t v_t`, then one rounding and the epilogue, per element), so moving pixels
//! before the mix or after it gives the same bits. The pipeline flips the mixed output: S
//! frames instead of F.

use mixcore::{Geometry, Layout};

use super::error::TransformError;

/// Reverses the order of the pixels in each row of `rows` (rows of `width * channels`
/// elements, one after another), keeping each pixel's channels in order.
fn flip_rows<T>(rows: &mut [T], row_len: usize, channels: usize) {
    if row_len == 0 {
        return;
    }
    for row in rows.chunks_exact_mut(row_len) {
        row.reverse();
        if channels > 1 {
            for pixel in row.chunks_exact_mut(channels) {
                pixel.reverse();
            }
        }
    }
}

/// Flips a mixed output horizontally in place: `out` is the `f32` tensor of `segments` mixed
/// frames of `geometry` in `layout` (as [`mixcore::mix()`] writes it).
///
/// ```
/// use mixcore::{Geometry, Layout};
/// // One segment, 3 channels, 1 row of 2 pixels, tchw: [c][x].
/// let mut out = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// mixdata::transform::flip_output(&mut out, Layout::Tchw, 1, Geometry::new(2, 1, 3).unwrap())?;
/// assert_eq!(out, [2.0, 1.0, 4.0, 3.0, 6.0, 5.0]);
/// # Ok::<(), mixdata::transform::TransformError>(())
/// ```
///
/// # Errors
/// [`TransformError::OutputLength`] when `out` does not hold exactly
/// `segments * channels * height * width` values (or that product overflows).
pub fn flip_output(
    out: &mut [f32],
    layout: Layout,
    segments: u32,
    geometry: Geometry,
) -> Result<(), TransformError> {
    let expected =
        Layout::output_len(segments, geometry).map_err(|_| TransformError::OutputLength {
            given: out.len(),
            expected: usize::MAX,
        })?;
    if out.len() != expected {
        return Err(TransformError::OutputLength {
            given: out.len(),
            expected,
        });
    }
    let (w, c) = (geometry.width as usize, geometry.channels as usize);
    if layout.is_interleaved() {
        flip_rows(out, w * c, c);
    } else {
        flip_rows(out, w, 1);
    }
    Ok(())
}

/// Flips one interleaved `u8` frame (rows of `geometry.width * geometry.channels` bytes,
/// `stride` bytes apart) horizontally in place.
///
/// # Errors
/// [`TransformError::BadFrame`] when `stride` is shorter than a row or `data` shorter than
/// the frame.
pub fn flip_frame(
    data: &mut [u8],
    geometry: Geometry,
    stride: usize,
) -> Result<(), TransformError> {
    let c = geometry.channels as usize;
    let row = geometry.width as usize * c;
    let rows = geometry.height as usize;
    let needed = stride
        .checked_mul(rows.saturating_sub(1))
        .and_then(|n| n.checked_add(row));
    if stride < row || needed.is_none_or(|n| data.len() < n) {
        return Err(TransformError::BadFrame {
            reason: format!(
                "{} bytes with stride {stride} cannot hold {rows} rows of {row} bytes",
                data.len()
            ),
        });
    }
    if row == 0 {
        return Ok(());
    }
    for y in 0..rows {
        flip_rows(&mut data[y * stride..y * stride + row], row, c);
    }
    Ok(())
}
