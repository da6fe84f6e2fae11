//! Rotation: a stream's display matrix applied to decoded frames plane by plane, as the
//! `ffmpeg` program's autorotation does.

use ffmpeg::codec;
use ffmpeg::format::Pixel;
use ffmpeg::util::frame;
use ffmpeg_next as ffmpeg;

use super::convert::Converter;

/// How a stream's display matrix turns its stored frames for display, as the `ffmpeg` program
/// applies it by default (autorotation): a transpose for 90 and 270 degrees, flips for 180 and
/// for mirrored matrices. Other angles are not applied (the frames keep their stored
/// orientation and [`Orientation::degrees`] is 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Orientation {
    /// The rotation in degrees clockwise: 0, 90, 180 or 270.
    pub degrees: i32,
    /// Output (x, y) reads input (y, x) before the flips below.
    transpose: bool,
    /// Input x is counted from the right.
    flip_x: bool,
    /// Input y is counted from the bottom.
    flip_y: bool,
}

impl Orientation {
    /// The stored orientation: nothing to do.
    pub const IDENTITY: Orientation = Orientation {
        degrees: 0,
        transpose: false,
        flip_x: false,
        flip_y: false,
    };

    /// The orientation of a display matrix (nine 16.16/2.30 fixed-point values), mapped to
    /// the filters fftools 5.1 inserts (`transpose=clock|cclock|clock_flip|cclock_flip`,
    /// `hflip`, `vflip`) from the same angle, `-round(av_display_rotation_get(m))` modulo 360.
    #[must_use]
    pub fn from_display_matrix(m: &[i32; 9]) -> Self {
        // SAFETY: `m` points at nine readable i32 values, all av_display_rotation_get reads;
        // it returns NaN for a degenerate matrix instead of failing.
        let ccw = unsafe { ffmpeg::ffi::av_display_rotation_get(m.as_ptr()) };
        if !ccw.is_finite() {
            return Orientation::IDENTITY;
        }
        let mut theta = -ccw.round();
        theta -= 360.0 * (theta / 360.0 + 0.9 / 360.0).floor();
        let near = |a: f64| (theta - a).abs() < 1.0;
        let o = |degrees, transpose, flip_x, flip_y| Orientation {
            degrees,
            transpose,
            flip_x,
            flip_y,
        };
        if near(90.0) {
            // transpose=cclock_flip (a plain transpose) or transpose=clock.
            if m[3] > 0 {
                o(90, true, false, false)
            } else {
                o(90, true, false, true)
            }
        } else if near(180.0) {
            o(180, false, m[0] < 0, m[4] < 0)
        } else if near(270.0) {
            // transpose=clock_flip or transpose=cclock.
            if m[3] < 0 {
                o(270, true, true, true)
            } else {
                o(270, true, true, false)
            }
        } else if near(0.0) || near(360.0) {
            o(0, false, false, m[4] < 0)
        } else {
            Orientation::IDENTITY
        }
    }

    /// The orientation of `stream` (its display matrix side data), or the identity.
    #[must_use]
    pub fn of_stream(stream: &ffmpeg::format::stream::Stream<'_>) -> Self {
        for side in stream.side_data() {
            if side.kind() == codec::packet::side_data::Type::DisplayMatrix {
                let bytes = side.data();
                if bytes.len() >= 36 {
                    let mut m = [0i32; 9];
                    for (v, c) in m.iter_mut().zip(bytes.chunks_exact(4)) {
                        *v = i32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
                    }
                    return Orientation::from_display_matrix(&m);
                }
            }
        }
        Orientation::IDENTITY
    }

    /// True when frames are used as stored.
    #[must_use]
    pub fn is_identity(&self) -> bool {
        !self.transpose && !self.flip_x && !self.flip_y
    }

    /// The displayed size of a stored `width` x `height` frame.
    #[must_use]
    pub fn display_size(&self, width: u32, height: u32) -> (u32, u32) {
        if self.transpose {
            (height, width)
        } else {
            (width, height)
        }
    }
}

/// Applies an [`Orientation`] to decoded frames in their own pixel format, plane by plane, as
/// FFmpeg's transpose/hflip/vflip filters do before the conversion to RGB24, so the colour
/// conversion sees the same samples as in the `ffmpeg` program. Formats whose planes cannot be
/// moved sample by sample (palettes, bitstreams, packed 4:2:2, unequal chroma subsampling
/// under a transpose) are converted to RGB24 first and the RGB frame is turned instead.
pub struct Reorienter {
    orientation: Orientation,
    out: frame::Video,
    rgb: Converter,
    rgb_frame: frame::Video,
}

/// One plane's geometry: element bytes, width and height in elements.
#[derive(Clone, Copy)]
struct PlaneShape {
    bytes: usize,
    width: usize,
    height: usize,
}

/// The planes of a `width` x `height` frame of `format`, or `None` when they cannot be
/// moved element by element (see [`Reorienter`]).
fn plane_shapes(
    format: Pixel,
    width: u32,
    height: u32,
    transpose: bool,
) -> Option<Vec<PlaneShape>> {
    use ffmpeg::ffi;
    // SAFETY: av_pix_fmt_desc_get returns null or a pointer to a static descriptor.
    let desc = unsafe { ffi::av_pix_fmt_desc_get(format.into()).as_ref()? };
    let refused = (ffi::AV_PIX_FMT_FLAG_PAL
        | ffi::AV_PIX_FMT_FLAG_BITSTREAM
        | ffi::AV_PIX_FMT_FLAG_HWACCEL) as u64;
    if desc.flags & refused != 0 || desc.nb_components == 0 {
        return None;
    }
    if transpose && desc.log2_chroma_w != desc.log2_chroma_h {
        return None;
    }
    let rgb = desc.flags & ffi::AV_PIX_FMT_FLAG_RGB as u64 != 0;
    let mut planes: Vec<Option<(usize, bool)>> = vec![None; 4];
    for (i, c) in desc
        .comp
        .iter()
        .take(usize::from(desc.nb_components))
        .enumerate()
    {
        let plane = usize::try_from(c.plane).ok().filter(|&p| p < 4)?;
        let step = usize::try_from(c.step).ok().filter(|&s| s > 0)?;
        let chroma = !rgb && (i == 1 || i == 2);
        match planes[plane] {
            None => planes[plane] = Some((step, chroma)),
            Some((s, ch)) if s == step && ch == chroma => {}
            Some(_) => return None,
        }
    }
    let shift = |v: u32, s: u8| -> usize { (v as usize + (1 << s) - 1) >> s };
    let mut out = Vec::new();
    for p in planes.iter() {
        let Some((bytes, chroma)) = *p else { break };
        let (w, h) = if chroma {
            (
                shift(width, desc.log2_chroma_w),
                shift(height, desc.log2_chroma_h),
            )
        } else {
            (width as usize, height as usize)
        };
        out.push(PlaneShape {
            bytes,
            width: w,
            height: h,
        });
    }
    Some(out)
}

impl Reorienter {
    /// A reorienter for `orientation`.
    #[must_use]
    pub fn new(orientation: Orientation) -> Self {
        Reorienter {
            orientation,
            out: frame::Video::empty(),
            rgb: Converter::new(None),
            rgb_frame: frame::Video::empty(),
        }
    }

    /// The orientation applied.
    #[must_use]
    pub fn orientation(&self) -> Orientation {
        self.orientation
    }

    /// `input` turned to its displayed orientation (`input` itself when nothing is to do).
    ///
    /// # Errors
    /// FFmpeg's error when the fallback conversion to RGB24 fails.
    pub fn apply<'a>(
        &'a mut self,
        input: &'a frame::Video,
    ) -> Result<&'a frame::Video, ffmpeg::Error> {
        let o = self.orientation;
        if o.is_identity() {
            return Ok(input);
        }
        let forward = (0..input.planes()).all(|p| isize::try_from(input.stride(p)).is_ok());
        let shapes = plane_shapes(input.format(), input.width(), input.height(), o.transpose);
        if let (true, Some(shapes)) = (forward, shapes) {
            turn(input, &shapes, o, &mut self.out)?;
            return Ok(&self.out);
        }
        // Fallback: RGB24 at the stored size, then turn the RGB frame.
        let (w, h) = (input.width(), input.height());
        let rgb = self.rgb.convert(input)?;
        if self.rgb_frame.format() != Pixel::RGB24
            || self.rgb_frame.width() != w
            || self.rgb_frame.height() != h
        {
            self.rgb_frame = frame::Video::new(Pixel::RGB24, w, h);
        }
        if self.rgb_frame.planes() == 0 {
            self.rgb_frame = frame::Video::empty();
            return Err(ffmpeg::Error::Bug);
        }
        let row = w as usize * 3;
        let stride = self.rgb_frame.stride(0);
        let dst = self.rgb_frame.data_mut(0);
        for y in 0..h as usize {
            let from = rgb
                .data
                .get(y * rgb.stride..y * rgb.stride + row)
                .ok_or(ffmpeg::Error::Bug)?;
            dst.get_mut(y * stride..y * stride + row)
                .ok_or(ffmpeg::Error::Bug)?
                .copy_from_slice(from);
        }
        let shapes = [PlaneShape {
            bytes: 3,
            width: w as usize,
            height: h as usize,
        }];
        turn(&self.rgb_frame, &shapes, o, &mut self.out)?;
        Ok(&self.out)
    }
}

/// Writes `input` turned by `o` into `out` (reallocated when its format or size differs).
///
/// # Errors
/// [`ffmpeg::Error::Bug`] when FFmpeg cannot allocate the frame (too large).
fn turn(
    input: &frame::Video,
    shapes: &[PlaneShape],
    o: Orientation,
    out: &mut frame::Video,
) -> Result<(), ffmpeg::Error> {
    let (w, h) = o.display_size(input.width(), input.height());
    if out.format() != input.format() || out.width() != w || out.height() != h {
        *out = frame::Video::new(input.format(), w, h);
    }
    if out.planes() < shapes.len() || input.planes() < shapes.len() {
        // `av_frame_get_buffer` failed (FFmpeg leaves the frame without planes).
        *out = frame::Video::empty();
        return Err(ffmpeg::Error::Bug);
    }
    out.set_color_space(input.color_space());
    out.set_color_range(input.color_range());
    for (p, shape) in shapes.iter().enumerate() {
        let (src_stride, dst_stride) = (input.stride(p), out.stride(p));
        let src = input.data(p);
        let (ow, oh) = if o.transpose {
            (shape.height, shape.width)
        } else {
            (shape.width, shape.height)
        };
        let e = shape.bytes;
        let dst = out.data_mut(p);
        for y in 0..oh {
            let Some(line) = dst.get_mut(y * dst_stride..y * dst_stride + ow * e) else {
                return Err(ffmpeg::Error::Bug);
            };
            for x in 0..ow {
                let (a, b) = if o.transpose { (y, x) } else { (x, y) };
                let sx = if o.flip_x { shape.width - 1 - a } else { a };
                let sy = if o.flip_y { shape.height - 1 - b } else { b };
                let at = sy * src_stride + sx * e;
                if let Some(from) = src.get(at..at + e) {
                    line[x * e..x * e + e].copy_from_slice(from);
                }
            }
        }
    }
    Ok(())
}
