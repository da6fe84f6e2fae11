//! Pixels: an RGB24 frame through a [`ClipGeometry`] with swscale.

use std::os::raw::c_int;
use std::ptr;

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame;
use ffmpeg_next as ffmpeg;

use super::error::TransformError;
use super::geometry::{ClipGeometry, fits};

/// Bytes past the last pixel of a row that swscale's input readers may touch. Its x86 RGB24
/// readers load 16 bytes for every 8 pixels (24 bytes), so they read up to 25 bytes past a
/// row whose width is not a multiple of 8; FFmpeg pads its own frames by
/// `AV_INPUT_BUFFER_PADDING_SIZE` (64) bytes for that reason.
const READ_PADDING: usize = 64;

/// The swscale flags of every resample: bicubic, with swscale's default parameters
/// (`B = 0`, `C = 0.6`; the kernel is widened by the scale factor when shrinking), which is
/// what the `ffmpeg` program's scale filter (5.1) uses when no flags are given.
pub const SWS_FLAGS: scaling::Flags = scaling::Flags::BICUBIC;

/// Turns RGB24 frames into the RGB24 frames of a [`ClipGeometry`]: `pre_crop`, resampled to
/// `resized` with swscale ([`SWS_FLAGS`]), then `crop`. The flip is left to the pipeline
/// ([`flip_output`](super::flip_output)).
///
/// The result is bit for bit what the `ffmpeg` program gives for the same RGB24 frames
/// with `-vf crop=PRE,scale=W:H:flags=bicubic,crop=CROP` (see the module docs for how close
/// that is to an exact bicubic and to the `ffmpeg` program scaling the video itself).
///
/// One `Resampler` serves a clip (or a whole dataset): its swscale context and buffers are
/// made when the geometry's sizes change and reused for every frame after that, so a clip's
/// frames cost no allocation. A geometry whose `pre_crop` already has the `resized` size only
/// copies pixels. The source is read in place, except for its last rows when they end too
/// close to the end of the caller's slice for swscale's vector reads: those are copied.
///
/// ```
/// use mixcore::Mode;
/// use mixdata::transform::{Crop, CropMode, Resampler, Resize, Transform};
/// let t = Transform {
///     resize: Resize::Short(4),
///     crop: Some(Crop { width: 4, height: 4, mode: CropMode::Center }),
///     flip: false,
/// };
/// let g = t.plan((16, 8), Mode::Test)?[0];
/// let frame = vec![128u8; 16 * 8 * 3];
/// let mut resampler = Resampler::new();
/// let out = resampler.resample(&frame, 16 * 3, (16, 8), &g)?;
/// assert_eq!(out.len(), 4 * 4 * 3);
/// assert!(out.iter().all(|&v| v == 128));
/// # Ok::<(), mixdata::transform::TransformError>(())
/// ```
pub struct Resampler {
    scaler: Option<Scaler>,
    /// Source rows too close to the end of the caller's slice for swscale's readers, copied
    /// with [`READ_PADDING`] bytes after them.
    tail: Vec<u8>,
    /// [`Resampler::resample`]'s output.
    out: Vec<u8>,
}

/// A swscale context from RGB24 of one size to RGB24 of another, and the frame it writes
/// into.
struct Scaler {
    from: (u32, u32),
    to: (u32, u32),
    context: scaling::Context,
    /// RGB24 at `to`, allocated by FFmpeg (aligned and padded as swscale expects).
    scaled: frame::Video,
}

impl Default for Resampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Resampler {
    /// A resampler with nothing allocated yet.
    #[must_use]
    pub fn new() -> Self {
        Resampler {
            scaler: None,
            tail: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Resamples one RGB24 frame of `size` (width, height), rows `stride` bytes apart, into
    /// the resampler's own buffer, and returns the view's packed RGB24 pixels (rows of
    /// `geometry.crop.width * 3` bytes).
    ///
    /// # Errors
    /// As [`Resampler::resample_into`].
    pub fn resample(
        &mut self,
        data: &[u8],
        stride: usize,
        size: (u32, u32),
        geometry: &ClipGeometry,
    ) -> Result<&[u8], TransformError> {
        let mut out = std::mem::take(&mut self.out);
        out.resize(output_len(geometry)?, 0);
        let done = self.resample_into(data, stride, size, geometry, &mut out);
        self.out = out;
        done.map(|()| self.out.as_slice())
    }

    /// Resamples one RGB24 frame of `size` (width, height), rows `stride` bytes apart, into
    /// `out`: the view's packed RGB24 pixels, `geometry.crop.height` rows of
    /// `geometry.crop.width * 3` bytes (what [`mixcore::FrameView::packed`] reads, and what
    /// [`mixcore::Mixer::push_with`] hands out).
    ///
    /// # Errors
    /// [`TransformError::BadFrame`] when `size` is not `geometry.source`, the rectangles of
    /// the geometry do not fit, `geometry.resized` is beyond [`MAX_SIDE`](super::MAX_SIDE) or
    /// FFmpeg's frame bound, `stride` is shorter than a row or above `i32::MAX`, or `data`
    /// is shorter than the frame; [`TransformError::OutputLength`] when `out` is not the
    /// view's size; [`TransformError::Ffmpeg`] when swscale refuses the sizes.
    pub fn resample_into(
        &mut self,
        data: &[u8],
        stride: usize,
        size: (u32, u32),
        geometry: &ClipGeometry,
        out: &mut [u8],
    ) -> Result<(), TransformError> {
        check_frame(data, stride, size, geometry)?;
        let expected = output_len(geometry)?;
        if out.len() != expected {
            return Err(TransformError::OutputLength {
                given: out.len(),
                expected,
            });
        }
        let pre = geometry.pre_crop;
        let crop = geometry.crop;
        let row_out = crop.width as usize * 3;
        if !geometry.resamples() {
            // Same size: a crop of the pre-crop, straight from the source.
            let x = (pre.x as usize + crop.x as usize) * 3;
            let y = pre.y as usize + crop.y as usize;
            for (r, dst) in out.chunks_exact_mut(row_out).enumerate() {
                let start = (y + r) * stride + x;
                dst.copy_from_slice(&data[start..start + row_out]);
            }
            return Ok(());
        }
        let from = (pre.width, pre.height);
        let to = geometry.resized;
        if self
            .scaler
            .as_ref()
            .is_none_or(|s| s.from != from || s.to != to)
        {
            self.scaler = None;
            self.scaler = Some(Scaler::new(from, to)?);
        }
        let Some(scaler) = self.scaler.as_mut() else {
            return Err(TransformError::Ffmpeg {
                reason: "no scaling context".into(),
            });
        };
        scaler.scale(&mut self.tail, data, stride, geometry)?;
        let scaled_stride = scaler.scaled.stride(0);
        let scaled = scaler.scaled.data(0);
        let x = crop.x as usize * 3;
        for (r, dst) in out.chunks_exact_mut(row_out).enumerate() {
            let start = (crop.y as usize + r) * scaled_stride + x;
            dst.copy_from_slice(&scaled[start..start + row_out]);
        }
        Ok(())
    }
}

/// Bytes of one view's packed RGB24 output.
fn output_len(geometry: &ClipGeometry) -> Result<usize, TransformError> {
    (geometry.crop.width as usize)
        .checked_mul(geometry.crop.height as usize)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| TransformError::BadFrame {
            reason: "the crop's size overflows".into(),
        })
}

/// Checks the frame against the geometry: its size, the rectangles, the stride, the bytes.
fn check_frame(
    data: &[u8],
    stride: usize,
    size: (u32, u32),
    g: &ClipGeometry,
) -> Result<(), TransformError> {
    let bad = |reason: String| Err(TransformError::BadFrame { reason });
    if size != g.source {
        return bad(format!(
            "a {}x{} frame for a geometry planned for {}x{}",
            size.0, size.1, g.source.0, g.source.1
        ));
    }
    if !g.pre_crop.fits_in(g.source) || !g.crop.fits_in(g.resized) {
        return bad(format!("a geometry whose rectangles do not fit: {g:?}"));
    }
    if !fits(u64::from(g.resized.0), u64::from(g.resized.1)) {
        return bad(format!(
            "a geometry resized to {}x{}, beyond the size limits",
            g.resized.0, g.resized.1
        ));
    }
    let row = size.0 as usize * 3;
    if stride < row || c_int::try_from(stride).is_err() {
        return bad(format!(
            "stride {stride} for rows of {row} bytes (at least a row, at most {})",
            c_int::MAX
        ));
    }
    let needed = (size.1 as usize - 1)
        .checked_mul(stride)
        .and_then(|n| n.checked_add(row));
    if needed.is_none_or(|n| data.len() < n) {
        return bad(format!(
            "{} bytes cannot hold {} rows of {row} bytes {stride} bytes apart",
            data.len(),
            size.1
        ));
    }
    Ok(())
}

impl Scaler {
    /// A context from RGB24 at `from` to RGB24 at `to`, with the frame it writes into.
    fn new(from: (u32, u32), to: (u32, u32)) -> Result<Self, TransformError> {
        let context = scaling::Context::get(
            Pixel::RGB24,
            from.0,
            from.1,
            Pixel::RGB24,
            to.0,
            to.1,
            SWS_FLAGS,
        )
        .map_err(|e| ffmpeg_error("creating the scaling context", &e))?;
        let scaled = frame::Video::new(Pixel::RGB24, to.0, to.1);
        // SAFETY: `as_ptr` is the live AVFrame owned by `scaled`; `data[0]` is a plain
        // pointer field, null when av_frame_get_buffer failed.
        if unsafe { (*scaled.as_ptr()).data[0].is_null() } {
            return Err(TransformError::Ffmpeg {
                reason: format!("cannot allocate a {}x{} RGB24 frame", to.0, to.1),
            });
        }
        Ok(Scaler {
            from,
            to,
            context,
            scaled,
        })
    }

    /// Scales the geometry's `pre_crop` of `data` into `scaled`. The caller checked the frame
    /// ([`check_frame`]) and that `pre_crop` has this scaler's `from` size.
    ///
    /// Rows are read in place, except the last ones whose end lies less than
    /// [`READ_PADDING`] bytes before the end of `data`: those are copied into `tail`
    /// (padded) and given to swscale as a second slice, so its readers never touch memory
    /// past `data`.
    fn scale(
        &mut self,
        tail: &mut Vec<u8>,
        data: &[u8],
        stride: usize,
        g: &ClipGeometry,
    ) -> Result<(), TransformError> {
        let pre = g.pre_crop;
        let row = pre.width as usize * 3;
        let rows = pre.height as usize;
        let first = pre.y as usize * stride + pre.x as usize * 3;
        // Row r of the pre-crop ends at `first + r * stride + row`.
        let end0 = first + row;
        let in_place = if data.len() < end0 + READ_PADDING {
            0
        } else {
            ((data.len() - end0 - READ_PADDING) / stride + 1).min(rows)
        };
        let copied = rows - in_place;
        tail.clear();
        tail.resize(copied * row + READ_PADDING, 0);
        for r in 0..copied {
            let start = first + (in_place + r) * stride;
            tail[r * row..(r + 1) * row].copy_from_slice(&data[start..start + row]);
        }
        let dst_stride =
            c_int::try_from(self.scaled.stride(0)).map_err(|_| TransformError::Ffmpeg {
                reason: "the scaled frame's stride does not fit an int".into(),
            })?;
        // SAFETY: `as_mut_ptr` is the live AVFrame owned by `scaled`, allocated by FFmpeg for
        // RGB24 at `to` (checked non-null in `new`); `data[0]` is its only plane.
        let dst_plane = unsafe { (*self.scaled.as_mut_ptr()).data[0] };
        let dst: [*mut u8; 4] = [dst_plane, ptr::null_mut(), ptr::null_mut(), ptr::null_mut()];
        let dst_strides: [c_int; 4] = [dst_stride, 0, 0, 0];
        let mut produced: c_int = 0;
        // (first row, rows, first byte, bytes from row to row); `stride` fits an int
        // (checked with the frame) and `row` is at most `stride`.
        let slices = [
            (0, in_place, data[first..].as_ptr(), stride as c_int),
            (in_place, copied, tail.as_ptr(), row as c_int),
        ];
        for (y, height, base, slice_stride) in slices {
            if height == 0 {
                continue;
            }
            let src: [*const u8; 4] = [base, ptr::null(), ptr::null(), ptr::null()];
            let src_strides: [c_int; 4] = [slice_stride, 0, 0, 0];
            // SAFETY: the context converts RGB24 at `from` (= the pre-crop's size, checked
            // by the caller) to RGB24 at `to`. This slice is rows `y..y + height` of the
            // pre-crop: `base` points at the first, and each row `r` of it is `row` readable
            // bytes at `base + r * slice_stride` followed by at least READ_PADDING readable
            // bytes (in `data`, by the count of in-place rows above; in `tail`, padded, for
            // the copied ones), which covers swscale's reads past a row. Slices come top to
            // bottom, the first at row 0, as sws_scale requires. `dst` is the scaled frame's
            // plane and stride, which FFmpeg allocated for this size with its alignment and
            // padding; swscale writes only there. No buffer moves or is freed meanwhile.
            let n = unsafe {
                ffmpeg::ffi::sws_scale(
                    self.context.as_mut_ptr(),
                    src.as_ptr(),
                    src_strides.as_ptr(),
                    y as c_int,
                    height as c_int,
                    dst.as_ptr(),
                    dst_strides.as_ptr(),
                )
            };
            if n < 0 {
                return Err(ffmpeg_error("scaling", &ffmpeg::Error::from(n)));
            }
            produced += n;
        }
        if u32::try_from(produced).ok() != Some(self.to.1) {
            return Err(TransformError::Ffmpeg {
                reason: format!("swscale produced {produced} of {} rows", self.to.1),
            });
        }
        Ok(())
    }
}

fn ffmpeg_error(action: &str, e: &ffmpeg::Error) -> TransformError {
    TransformError::Ffmpeg {
        reason: format!("{action}: {e}"),
    }
}
