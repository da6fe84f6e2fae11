//! Colour conversion: decoded frames of any pixel format and size to RGB24 with swscale, as
//! the `ffmpeg` program converts them.

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame;
use ffmpeg_next as ffmpeg;

/// An RGB24 image borrowed from a decoder or converter: `height` rows of `width * 3` bytes,
/// row `y` starting at `y * stride`.
#[derive(Clone, Copy, Debug)]
pub struct Rgb<'a> {
    /// The bytes, at least `stride * (height - 1) + width * 3` of them.
    pub data: &'a [u8],
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Bytes from one row to the next.
    pub stride: usize,
}

/// Converts decoded frames of any pixel format and size to RGB24, optionally resized.
///
/// A frame that is already RGB24 at the wanted size is passed through without a copy.
/// The swscale context is cached and rebuilt only when the source format or size changes.
/// The source's colour matrix (BT.601, BT.709, ...) and range (limited or full) come from the
/// frame, as the `ffmpeg` program does.
pub struct Converter {
    size: Option<(u32, u32)>,
    scaler: Option<(ScalerKey, scaling::Context)>,
    out: frame::Video,
    /// Whether swscale, for the current scaler, writes packed rows ([`Converter::convert_packed`])
    /// exactly as it writes the padded ones of `out`, and nothing past them; `None` until
    /// checked.
    packed_ok: Option<bool>,
}

/// Bytes past the end of a packed frame that [`Converter::convert_packed`]'s check watches:
/// more than any SIMD loop of swscale overruns a row by (a block of up to 32 pixels).
const GUARD: usize = 256;

#[derive(Clone, Copy, PartialEq, Eq)]
struct ScalerKey {
    format: Pixel,
    width: u32,
    height: u32,
    space: ffmpeg::color::Space,
    range: ffmpeg::color::Range,
}

impl Converter {
    /// A converter to RGB24 at `size` (width, height), or at each frame's own size when `None`.
    #[must_use]
    pub fn new(size: Option<(u32, u32)>) -> Self {
        Converter {
            size,
            scaler: None,
            out: frame::Video::empty(),
            packed_ok: None,
        }
    }

    /// The fixed output size, if one was given.
    #[must_use]
    pub fn fixed_size(&self) -> Option<(u32, u32)> {
        self.size
    }

    /// The size a frame of `width` x `height` comes out at.
    #[must_use]
    pub fn output_size(&self, width: u32, height: u32) -> (u32, u32) {
        self.size.unwrap_or((width, height))
    }

    /// Converts `input` to RGB24.
    ///
    /// # Errors
    /// FFmpeg's error when swscale cannot convert this format or size.
    pub fn convert<'a>(&'a mut self, input: &'a frame::Video) -> Result<Rgb<'a>, ffmpeg::Error> {
        let (width, height) = self.output_size(input.width(), input.height());
        if input.width() == 0 || input.height() == 0 || input.planes() == 0 {
            return Err(ffmpeg::Error::InvalidData);
        }
        // A decoder may hand out bottom-up rows (a negative line size, which ffmpeg-next
        // reports as a huge `usize`); only swscale reads those.
        let forward_rows = isize::try_from(input.stride(0)).is_ok();
        if input.format() == Pixel::RGB24
            && forward_rows
            && (width, height) == (input.width(), input.height())
        {
            return Ok(Rgb {
                data: input.data(0),
                width,
                height,
                stride: input.stride(0),
            });
        }
        self.prepare(input)?;
        let Some((_, scaler)) = self.scaler.as_mut() else {
            return Err(ffmpeg::Error::Bug);
        };
        scaler.run(input, &mut self.out)?;
        if self.out.planes() == 0 {
            return Err(ffmpeg::Error::Bug);
        }
        Ok(Rgb {
            data: self.out.data(0),
            width,
            height,
            stride: self.out.stride(0),
        })
    }
}

impl Converter {
    /// Makes the swscale context for `input`'s format, size and colours, unless the current
    /// one is for them.
    fn prepare(&mut self, input: &frame::Video) -> Result<(), ffmpeg::Error> {
        let (width, height) = self.output_size(input.width(), input.height());
        let key = ScalerKey {
            format: input.format(),
            width: input.width(),
            height: input.height(),
            space: input.color_space(),
            range: input.color_range(),
        };
        if self.scaler.as_ref().is_none_or(|(k, _)| *k != key) {
            self.scaler = None;
            self.packed_ok = None;
            let mut scaler = scaling::Context::get(
                key.format,
                key.width,
                key.height,
                Pixel::RGB24,
                width,
                height,
                scaler_flags((key.width, key.height), (width, height)),
            )?;
            set_colorspace(&mut scaler, key);
            self.scaler = Some((key, scaler));
            self.out = frame::Video::empty();
        }
        Ok(())
    }

    /// Converts `input` to RGB24 straight into `dst`, packed: `height` rows of `width * 3`
    /// bytes, no padding (`dst` holds exactly that). The same bytes as [`Converter::convert`]
    /// gives, without its copy: for a mixer's frame buffer ([`mixcore::Mixer::push_with`]).
    ///
    /// swscale's SIMD loops may write whole blocks of pixels past a row's end (into the
    /// padding of the frames FFmpeg allocates) or leave a row's last pixels to a padded
    /// stride, so packed rows are used only once checked for this scaler: the first frame is
    /// converted both ways, packed into a buffer followed by [`GUARD`] watched bytes (twice,
    /// over two fillings, so that no written byte can pass for the filling), and packed rows are
    /// taken only when every byte equals the padded conversion's and the guard is untouched.
    /// Returns false, writing nothing, when packed rows are not taken (the frame is already
    /// RGB24 at the output size, which [`Converter::convert`] hands out without converting, or
    /// the check failed): convert and copy then.
    ///
    /// # Errors
    /// FFmpeg's error when swscale cannot convert this format or size;
    /// [`ffmpeg::Error::InvalidData`] when `dst` is not the packed frame's length.
    pub fn convert_packed(
        &mut self,
        input: &frame::Video,
        dst: &mut [u8],
    ) -> Result<bool, ffmpeg::Error> {
        let (width, height) = self.output_size(input.width(), input.height());
        if input.width() == 0 || input.height() == 0 || input.planes() == 0 {
            return Err(ffmpeg::Error::InvalidData);
        }
        let row = width as usize * 3;
        if dst.len() != row * height as usize || i32::try_from(row).is_err() {
            return Err(ffmpeg::Error::InvalidData);
        }
        if input.format() == Pixel::RGB24 && (width, height) == (input.width(), input.height()) {
            return Ok(false);
        }
        self.prepare(input)?;
        if self.packed_ok.is_none() {
            let ok = self.check_packed(input, row, height as usize)?;
            self.packed_ok = Some(ok);
        }
        if self.packed_ok != Some(true) {
            return Ok(false);
        }
        let Some((_, scaler)) = self.scaler.as_mut() else {
            return Err(ffmpeg::Error::Bug);
        };
        scale_packed(scaler, input, dst, row, height)?;
        Ok(true)
    }

    /// [`Converter::convert_packed`]'s check for the current scaler, on `input`.
    fn check_packed(
        &mut self,
        input: &frame::Video,
        row: usize,
        height: usize,
    ) -> Result<bool, ffmpeg::Error> {
        let Some((_, scaler)) = self.scaler.as_mut() else {
            return Err(ffmpeg::Error::Bug);
        };
        scaler.run(input, &mut self.out)?;
        let stride = self.out.stride(0);
        let padded = self.out.data(0);
        let len = row * height;
        for filling in [0x00u8, 0xFF] {
            let mut trial = vec![filling; len + GUARD];
            let (frame, guard) = trial.split_at_mut(len);
            let out_h = u32::try_from(height).map_err(|_| ffmpeg::Error::InvalidData)?;
            scale_packed(scaler, input, frame, row, out_h)?;
            let same_rows = frame
                .chunks_exact(row)
                .enumerate()
                .all(|(y, r)| padded.get(y * stride..y * stride + row) == Some(r));
            if !same_rows || guard.iter().any(|&b| b != filling) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Runs `scaler` on `input` into `dst` (`height` packed rows of `row` bytes).
fn scale_packed(
    scaler: &mut scaling::Context,
    input: &frame::Video,
    dst: &mut [u8],
    row: usize,
    height: u32,
) -> Result<(), ffmpeg::Error> {
    let stride = i32::try_from(row).map_err(|_| ffmpeg::Error::InvalidData)?;
    let rows = i32::try_from(input.height()).map_err(|_| ffmpeg::Error::InvalidData)?;
    let planes: [*mut u8; 4] = [
        dst.as_mut_ptr(),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    ];
    let strides: [i32; 4] = [stride, 0, 0, 0];
    // SAFETY: the context is live and was made for `input`'s format and size (`prepare`)
    // with an RGB24 output of `row / 3` x `height`; the source pointers and line sizes
    // are the live frame's own. The destination is one packed plane of `height` rows of
    // `row` bytes, which `dst` holds: where swscale might write past a row or leave a
    // row short, `check_packed` found so on this very scaler (with the guard) before any
    // caller's memory is written (it runs this on a buffer with the guard behind it).
    let written = unsafe {
        ffmpeg::ffi::sws_scale(
            scaler.as_mut_ptr(),
            (*input.as_ptr()).data.as_ptr() as *const *const u8,
            (*input.as_ptr()).linesize.as_ptr(),
            0,
            rows,
            planes.as_ptr(),
            strides.as_ptr(),
        )
    };
    if written < 0 {
        return Err(ffmpeg::Error::from(written));
    }
    if u32::try_from(written) != Ok(height) {
        return Err(ffmpeg::Error::Bug);
    }
    Ok(())
}

/// The swscale flags of a conversion from `from` to `to` (width, height).
///
/// At equal size (a pure format conversion) this is `SWS_BICUBIC`, what the `ffmpeg` program
/// (5.1) gives the scale filter it inserts for `-pix_fmt rgb24` (fftools sets the filtergraph's
/// `sws_flags` to `bicubic`), so frames come out bit for bit as `ffmpeg -pix_fmt rgb24` decodes
/// them: for even-sized yuv420p swscale takes its unscaled YUV-to-RGB path whatever the flag,
/// while odd heights and 10-bit formats go through the generic scaler, where the flag picks
/// the chroma upsampling (bilinear differed from the ffmpeg program by up to 5 levels on
/// smooth content and about 200 on fine detail). A resize (`--size`) stays bilinear, as the
/// README documents.
#[must_use]
pub fn scaler_flags(from: (u32, u32), to: (u32, u32)) -> scaling::Flags {
    if from == to {
        scaling::Flags::BICUBIC
    } else {
        scaling::Flags::BILINEAR
    }
}

/// Tells swscale the source's YCbCr matrix and range, taken from the frame (unspecified
/// matrix: BT.601, swscale's default; unspecified range: limited, unless the pixel format is
/// one of the full-range `yuvj` formats). Output RGB is full range.
fn set_colorspace(scaler: &mut scaling::Context, key: ScalerKey) {
    use ffmpeg::ffi;
    if !is_yuv(key.format) {
        return;
    }
    let space = ffi::AVColorSpace::from(key.space) as libc_int;
    let full = match key.range {
        ffmpeg::color::Range::JPEG => 1,
        ffmpeg::color::Range::MPEG => 0,
        _ => i32::from(matches!(
            key.format,
            Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P | Pixel::YUVJ440P | Pixel::YUVJ411P
        )),
    };
    // SAFETY: `scaler.as_mut_ptr()` is the live SwsContext owned by `scaler` (non-null: the
    // constructor checked). `sws_getCoefficients` returns a pointer to a static table of four
    // ints for any argument (out-of-range values select the default table).
    // `sws_setColorspaceDetails` only reads those tables and writes fields of the context; on
    // an unsupported combination it returns -1 and leaves the defaults, which is what we want.
    unsafe {
        let src = ffi::sws_getCoefficients(space);
        let dst = ffi::sws_getCoefficients(ffi::SWS_CS_DEFAULT as libc_int);
        ffi::sws_setColorspaceDetails(scaler.as_mut_ptr(), src, full, dst, 1, 0, 1 << 16, 1 << 16);
    }
}

#[allow(non_camel_case_types)]
type libc_int = std::os::raw::c_int;

fn is_yuv(format: Pixel) -> bool {
    format.descriptor().is_some_and(|d| {
        let name = d.name();
        name.starts_with("yuv")
            || name.starts_with("nv")
            || name.starts_with("p0")
            || name.starts_with("p2")
    })
}
