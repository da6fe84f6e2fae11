//! Videos through FFmpeg (`ffmpeg-next`): probing, a cheap frame count by demuxing, and
//! decoding to RGB24 with swscale, converting only the frames the caller asks for.
//!
//! Nothing here trusts the container header for the number of frames: [`count_packets`]
//! demuxes every packet of the video stream (no decoding), and [`VideoReader`] reports the
//! number of frames that actually decode.

use std::path::{Path, PathBuf};
use std::sync::Once;

use ffmpeg::codec;
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame;
use ffmpeg::{Packet, media};
use ffmpeg_next as ffmpeg;

use crate::error::{Error, Problem, Result};

/// Initialises FFmpeg once per process and silences its log (errors are reported by mixcli
/// itself, naming the file); `verbose` keeps FFmpeg's warnings on stderr.
pub fn init(verbose: bool) {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // `init` only registers formats; it cannot fail on FFmpeg >= 4 (the result is
        // always Ok), and a failure would surface as an open error below anyway.
        let _ = ffmpeg::init();
    });
    ffmpeg::util::log::set_level(if verbose {
        ffmpeg::util::log::Level::Warning
    } else {
        ffmpeg::util::log::Level::Quiet
    });
}

/// What was wrong with an input that decoded: frames the decoder reported errors in or
/// concealed, and frames lost. `Damage::default()` is clean.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Damage {
    /// Indices (0-based, in decoding order) of the frames that decoded with errors or
    /// concealment, ascending.
    pub frames: Vec<u32>,
    /// Frames lost: packets that produced no frame, or files that did not decode.
    pub lost: u32,
    /// Errors the decoder reported and recovered from (packets it refused, failed receives).
    pub errors: u32,
}

impl Damage {
    /// True when nothing was damaged.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.frames.is_empty() && self.lost == 0 && self.errors == 0
    }

    /// A short description: "frames 3, 4 decoded with errors; 2 frames lost".
    #[must_use]
    pub fn description(&self) -> String {
        let mut parts = Vec::new();
        if !self.frames.is_empty() {
            const SHOWN: usize = 10;
            let mut list: Vec<String> =
                self.frames.iter().take(SHOWN).map(u32::to_string).collect();
            if self.frames.len() > SHOWN {
                list.push(format!("... ({} in all)", self.frames.len()));
            }
            parts.push(format!(
                "{} {} decoded with errors or concealment",
                if self.frames.len() == 1 {
                    "frame"
                } else {
                    "frames"
                },
                list.join(", ")
            ));
        }
        if self.lost > 0 {
            parts.push(format!(
                "{} {} lost",
                self.lost,
                if self.lost == 1 { "frame" } else { "frames" }
            ));
        }
        if self.errors > 0 && self.frames.is_empty() && self.lost == 0 {
            parts.push(format!("{} decoder errors", self.errors));
        }
        if parts.is_empty() {
            "no damage".into()
        } else {
            parts.join("; ")
        }
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description())
    }
}

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
}

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
        let key = ScalerKey {
            format: input.format(),
            width: input.width(),
            height: input.height(),
            space: input.color_space(),
            range: input.color_range(),
        };
        if self.scaler.as_ref().is_none_or(|(k, _)| *k != key) {
            self.scaler = None;
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

/// What the container and the codec say about a video, before decoding.
#[derive(Clone, Debug)]
pub struct VideoInfo {
    /// The container format FFmpeg detected ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", ...).
    pub container: String,
    /// The video codec ("h264", "vp9", "mjpeg", ...).
    pub codec: String,
    /// Width of the coded frames, from the codec parameters.
    pub width: u32,
    /// Height of the coded frames, from the codec parameters.
    pub height: u32,
    /// Average frame rate as a fraction, when the container knows it.
    pub frame_rate: Option<(i32, i32)>,
    /// The frame count the container header states (never used for the plan).
    pub header_frames: Option<u64>,
    /// Duration in seconds, when known.
    pub duration_s: Option<f64>,
    /// How the stream's display matrix turns the frames (applied unless autorotation is off).
    pub orientation: Orientation,
}

/// The result of demuxing every packet of the video stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketCount {
    /// Packets of the video stream that carry data.
    pub packets: u32,
}

fn open_input(path: &Path) -> Result<(ffmpeg::format::context::Input, usize)> {
    match std::fs::metadata(path) {
        Err(e) => return Err(Error::io(path, "opening", e)),
        Ok(m) if m.is_dir() => {
            return Err(Error::at(
                path,
                Problem::NotAnInput {
                    reason: "is a directory, not a video".into(),
                },
            ));
        }
        Ok(m) if m.len() == 0 => {
            return Err(Error::at(
                path,
                Problem::NotAVideo {
                    reason: "the file is empty".into(),
                },
            ));
        }
        Ok(_) => {}
    }
    // FFmpeg takes a URL: `file:` keeps a name like `clip:1.mp4` or `http:x` a local file.
    // A path that is not UTF-8 (which ffmpeg-next cannot pass) is opened here and handed over
    // as /proc/self/fd/N.
    let (url, _keep_open) = match path.to_str() {
        Some(p) => (format!("file:{p}"), None),
        None => {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, "opening", e))?;
            let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
            (format!("file:/proc/self/fd/{fd}"), Some(file))
        }
    };
    let input = ffmpeg::format::input(&url).map_err(|e| {
        Error::at(
            path,
            Problem::NotAVideo {
                reason: e.to_string(),
            },
        )
    })?;
    let index = best_video_stream(&input).map_err(|p| Error::at(path, p))?;
    Ok((input, index))
}

/// The video stream to decode: FFmpeg's best video stream among those that are not an
/// attached picture (cover art, disposition `attached_pic`: one still image, not video).
fn best_video_stream(input: &ffmpeg::format::context::Input) -> Result<usize, Problem> {
    let is_video = |s: &ffmpeg::format::stream::Stream<'_>| {
        s.parameters().medium() == media::Type::Video
            && !s
                .disposition()
                .contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC)
    };
    if let Some(best) = input.streams().best(media::Type::Video).filter(is_video) {
        return Ok(best.index());
    }
    if let Some(first) = input.streams().find(is_video) {
        return Ok(first.index());
    }
    if input
        .streams()
        .any(|s| s.parameters().medium() == media::Type::Video)
    {
        return Err(Problem::OnlyCoverArt);
    }
    Err(Problem::NoVideoStream)
}

/// Opens `path` and reads what its header says, without reading packets.
///
/// # Errors
/// Not found, not a video, no video stream.
pub fn probe(path: &Path) -> Result<VideoInfo> {
    let (input, index) = open_input(path)?;
    let Some(stream) = input.stream(index) else {
        return Err(Error::at(path, Problem::NoVideoStream));
    };
    let params = stream.parameters();
    let codec = params.id().name().to_string();
    let video = codec::context::Context::from_parameters(params)
        .ok()
        .and_then(|c| c.decoder().video().ok());
    let (width, height) = video.as_ref().map_or((0, 0), |v| (v.width(), v.height()));
    let rate = stream.avg_frame_rate();
    let frame_rate = (rate.numerator() > 0 && rate.denominator() > 0)
        .then(|| (rate.numerator(), rate.denominator()));
    let header_frames = u64::try_from(stream.frames()).ok().filter(|&n| n > 0);
    let duration_s = if stream.duration() > 0 {
        Some(stream.duration() as f64 * f64::from(stream.time_base()))
    } else if input.duration() > 0 {
        Some(input.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE))
    } else {
        None
    };
    Ok(VideoInfo {
        container: input.format().name().to_string(),
        codec,
        width,
        height,
        frame_rate,
        header_frames,
        duration_s,
        orientation: Orientation::of_stream(&stream),
    })
}

/// Counts the packets of the video stream by demuxing the whole file, without decoding.
/// This is the cheap estimate of F that the plan starts from; the decoder has the last word.
///
/// # Errors
/// Open errors, and [`Problem::Truncated`] when the demuxer meets damaged data.
pub fn count_packets(path: &Path) -> Result<PacketCount> {
    let (mut input, index) = open_input(path)?;
    let time_bases: Vec<f64> = input.streams().map(|s| f64::from(s.time_base())).collect();
    let mut packets: u32 = 0;
    // The latest end time of any packet of any stream, in seconds.
    let mut data_end = f64::NEG_INFINITY;
    let mut frame_duration = 0.0f64;
    loop {
        // A fresh packet per read: `av_read_frame` overwrites a packet without releasing the
        // buffer it held, so reusing one leaks every packet (memory would grow with F).
        let mut packet = Packet::empty();
        match packet.read(&mut input) {
            Ok(()) => {
                if let (Some(pts), Some(tb)) = (packet.pts(), time_bases.get(packet.stream())) {
                    let end = pts.saturating_add(packet.duration().max(0)) as f64 * tb;
                    data_end = data_end.max(end);
                    if packet.stream() == index {
                        frame_duration = frame_duration.max(packet.duration().max(0) as f64 * tb);
                    }
                }
                if packet.stream() != index || packet.size() == 0 {
                    continue;
                }
                if packet.is_corrupt() {
                    return Err(truncated(path, packets, "a packet is cut short"));
                }
                packets = packets
                    .checked_add(1)
                    .ok_or_else(|| Error::at(path, Problem::TooManyFrames))?;
            }
            Err(ffmpeg::Error::Eof) => break,
            Err(e) => return Err(read_error(path, packets, e)),
        }
    }
    // Matroska/WebM is read as a stream: a file cut between two blocks demuxes cleanly up to
    // the cut, and FFmpeg only logs "File ended prematurely". Its header's duration is
    // written when the file is finished, so data (of any stream: audio may outlast video)
    // ending well before it means the file was cut. Only a check for damage: the plan never
    // uses the header.
    if input.format().name().contains("matroska") && input.duration() > 0 {
        let stated = input.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE);
        let ends = data_end.max(0.0);
        if ends + 0.1 + 2.0 * frame_duration < stated {
            return Err(truncated(
                path,
                packets,
                format!("the data ends at {ends:.2} s but the header states {stated:.2} s"),
            ));
        }
    }
    Ok(PacketCount { packets })
}

fn truncated(path: &Path, decoded: u32, reason: impl Into<String>) -> Error {
    Error::at(
        path,
        Problem::Truncated {
            decoded,
            reason: reason.into(),
        },
    )
}

fn read_error(path: &Path, decoded: u32, e: ffmpeg::Error) -> Error {
    match e {
        ffmpeg::Error::InvalidData => truncated(path, decoded, e.to_string()),
        other => Error::at(
            path,
            Problem::Ffmpeg {
                action: "reading",
                reason: other.to_string(),
            },
        ),
    }
}

/// One decoded frame, as [`VideoReader::next_frame`] hands it out.
pub struct Decoded<'a> {
    /// Its index in presentation order, from 0.
    pub index: u32,
    /// Its width at the output size.
    pub width: u32,
    /// Its height at the output size.
    pub height: u32,
    /// The frame as RGB24 at the output size, when the caller asked for it.
    pub rgb: Option<Rgb<'a>>,
}

/// The error-recognition flags mixcli's decoders run with: `AV_EF_CRCCHECK | AV_EF_BITSTREAM |
/// AV_EF_BUFFER`. Decoders check checksums and bitstream and buffer bounds and report what
/// they find (an error, or `decode_error_flags` on the frame) while still recovering;
/// `AV_EF_EXPLODE` is left off, so one bad slice does not abort a frame that conceals well.
pub const ERROR_RECOGNITION: i32 =
    ffmpeg::ffi::AV_EF_CRCCHECK | ffmpeg::ffi::AV_EF_BITSTREAM | ffmpeg::ffi::AV_EF_BUFFER;

/// Sets [`ERROR_RECOGNITION`] on a codec context before it is opened.
pub fn set_error_recognition(context: &mut codec::context::Context) {
    // SAFETY: `as_mut_ptr` is the live AVCodecContext owned by `context`, not yet opened;
    // `err_recognition` is a plain int field FFmpeg reads when decoding.
    unsafe {
        (*context.as_mut_ptr()).err_recognition = ERROR_RECOGNITION;
    }
}

/// True when a decoded frame is marked damaged: `AV_FRAME_FLAG_CORRUPT`, or any of the
/// `FF_DECODE_ERROR_*` bits (invalid bitstream, missing reference, concealment, slices).
#[must_use]
pub fn frame_is_damaged(frame: &frame::Video) -> bool {
    // SAFETY: `as_ptr` is the live AVFrame owned by `frame`; `decode_error_flags` is a plain
    // int field the decoder sets.
    let flags = unsafe { (*frame.as_ptr()).decode_error_flags };
    frame.is_corrupt() || flags != 0
}

/// True when `data` is a JPEG image cut short: it does not end with the EOI marker `FF D9`.
/// Zero bytes after the marker are allowed: AVI pads chunks to an even size and capture
/// devices pad JPEG buffers with zeros; anything else after the end is not a whole image.
#[must_use]
pub fn jpeg_lacks_eoi(data: &[u8]) -> bool {
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    !data[..end].ends_with(&[0xFF, 0xD9])
}

/// What [`VideoReader`] counts while it decodes: the damage seen so far, and the timestamps
/// of packets found damaged before decoding (MJPEG without EOI), to name their frames.
#[derive(Default)]
struct DamageLog {
    damage: Damage,
    /// Timestamps of packets damaged before decoding, not yet matched to a frame.
    suspect: Vec<i64>,
    /// The last packet's decoding timestamp and duration, for the gap check.
    last: Option<(i64, i64)>,
}

/// Decodes a video frame by frame, in presentation order, holding one frame at a time.
pub struct VideoReader {
    path: PathBuf,
    input: ffmpeg::format::context::Input,
    stream: usize,
    decoder: ffmpeg::decoder::Video,
    converter: Converter,
    reorienter: Reorienter,
    frame: frame::Video,
    next_index: u32,
    first_size: Option<(u32, u32)>,
    eof_sent: bool,
    done: bool,
    pending: bool,
    /// The codec is MJPEG: every packet must end with the JPEG EOI marker.
    mjpeg: bool,
    /// The container's timestamps count real time with packet durations (not AVI's chunk
    /// numbers, where a skipped number is a deliberate repeat): a jump past a packet's
    /// duration means packets were lost.
    check_gaps: bool,
    log: DamageLog,
}

impl VideoReader {
    /// Opens `path` for decoding with `threads` decoder threads (0: FFmpeg picks), frames
    /// turned by the display matrix when `autorotate`, converted to RGB24 at `size` (their own
    /// displayed size when `None`).
    ///
    /// # Errors
    /// Not found, not a video, no video stream, no decoder for the codec.
    pub fn open(
        path: &Path,
        threads: usize,
        size: Option<(u32, u32)>,
        autorotate: bool,
    ) -> Result<Self> {
        let (input, stream) = open_input(path)?;
        let Some(st) = input.stream(stream) else {
            return Err(Error::at(path, Problem::NoVideoStream));
        };
        let orientation = if autorotate {
            Orientation::of_stream(&st)
        } else {
            Orientation::IDENTITY
        };
        let params = st.parameters();
        let codec_id = params.id();
        let codec_name = codec_id.name().to_string();
        let mut context = codec::context::Context::from_parameters(params).map_err(|e| {
            Error::at(
                path,
                Problem::Ffmpeg {
                    action: "reading the codec parameters",
                    reason: e.to_string(),
                },
            )
        })?;
        context.set_threading(codec::threading::Config {
            kind: if threads == 1 {
                codec::threading::Type::None
            } else {
                codec::threading::Type::Frame
            },
            count: threads,
            ..Default::default()
        });
        set_error_recognition(&mut context);
        let decoder = context
            .decoder()
            .video()
            .map_err(|_| Error::at(path, Problem::UnsupportedCodec { codec: codec_name }))?;
        let check_gaps = !input.format().name().contains("avi");
        Ok(VideoReader {
            path: path.to_path_buf(),
            input,
            stream,
            decoder,
            converter: Converter::new(size),
            reorienter: Reorienter::new(orientation),
            frame: frame::Video::empty(),
            next_index: 0,
            first_size: None,
            eof_sent: false,
            done: false,
            pending: false,
            mjpeg: codec_id == codec::Id::MJPEG,
            check_gaps,
            log: DamageLog::default(),
        })
    }

    /// Frames decoded so far.
    #[must_use]
    pub fn decoded(&self) -> u32 {
        self.next_index
    }

    /// The orientation applied to the frames.
    #[must_use]
    pub fn orientation(&self) -> Orientation {
        self.reorienter.orientation()
    }

    /// The damage seen so far; complete once [`VideoReader::next_frame`] has returned `None`.
    /// Damaged packets never matched to a frame count as lost.
    #[must_use]
    pub fn damage(&self) -> Damage {
        let mut damage = self.log.damage.clone();
        damage.lost = damage
            .lost
            .saturating_add(u32::try_from(self.log.suspect.len()).unwrap_or(u32::MAX));
        damage
    }

    /// Decodes the first frame, if it has not been decoded yet, and returns the output size of
    /// the frames (`None` for a video without frames). The frame stays pending: the next
    /// [`VideoReader::next_frame`] hands it out.
    ///
    /// # Errors
    /// As [`VideoReader::next_frame`].
    pub fn peek_size(&mut self) -> Result<Option<(u32, u32)>> {
        if !self.pending && self.next_index == 0 {
            if !self.advance()? {
                return Ok(None);
            }
            self.pending = true;
        }
        Ok(self.output_size())
    }

    /// Decodes the next frame; converts it to RGB24 only when `want(index)` is true.
    /// Returns `None` after the last frame. Damage the decoder recovers from is recorded
    /// ([`VideoReader::damage`]), not returned as an error.
    ///
    /// # Errors
    /// Truncated data, an unreadable frame, a frame whose size differs from the first frame's
    /// (unless a fixed output size was given), more than `u32::MAX` frames.
    pub fn next_frame(&mut self, want: impl FnOnce(u32) -> bool) -> Result<Option<Decoded<'_>>> {
        if self.pending {
            self.pending = false;
        } else if !self.advance()? {
            return Ok(None);
        }
        let index = self.next_index - 1;
        let (dw, dh) = self
            .reorienter
            .orientation()
            .display_size(self.frame.width(), self.frame.height());
        let (width, height) = self.converter.output_size(dw, dh);
        let rgb = if want(index) {
            let converted = match self.reorienter.apply(&self.frame) {
                Ok(turned) => self.converter.convert(turned),
                Err(e) => Err(e),
            };
            match converted {
                Ok(rgb) => Some(rgb),
                Err(e) => {
                    return Err(Error::at(
                        &self.path,
                        Problem::UnreadableFrame {
                            frame: index,
                            file: None,
                            reason: format!("conversion to RGB24 failed: {e}"),
                        },
                    ));
                }
            }
        } else {
            None
        };
        Ok(Some(Decoded {
            index,
            width,
            height,
            rgb,
        }))
    }

    /// Records a decoding error the decoder recovers from: the packet's frame is lost.
    fn recovered_error(&mut self) -> Result<()> {
        let d = &mut self.log.damage;
        d.errors = d.errors.saturating_add(1);
        d.lost = d.lost.saturating_add(1);
        // A decoder that fails on everything still ends: the packets run out. Beyond that,
        // errors without end (a decoder stuck on one error) stop here.
        if u64::from(d.errors) > u64::from(self.next_index) + 100_000 {
            return Err(self.unreadable("the decoder keeps failing".into()));
        }
        Ok(())
    }

    /// Decodes the next frame into `self.frame`; false at the end of the stream.
    fn advance(&mut self) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        loop {
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => break,
                Err(ffmpeg::Error::Eof) => {
                    self.done = true;
                    return Ok(false);
                }
                Err(ffmpeg::Error::Other {
                    errno: ffmpeg::util::error::EAGAIN,
                }) => self.feed()?,
                Err(e) if is_fatal(&e) => return Err(self.unreadable(e.to_string())),
                Err(_) => self.recovered_error()?,
            }
        }
        let index = self.next_index;
        self.next_index = index
            .checked_add(1)
            .ok_or_else(|| Error::at(&self.path, Problem::TooManyFrames))?;
        let mut damaged = frame_is_damaged(&self.frame);
        if !self.log.suspect.is_empty() {
            let stamps = [
                self.frame.pts(),
                self.frame.timestamp(),
                Some(self.frame.packet().dts),
            ];
            if let Some(at) = self
                .log
                .suspect
                .iter()
                .position(|t| stamps.contains(&Some(*t)))
            {
                self.log.suspect.swap_remove(at);
                damaged = true;
            }
        }
        if damaged {
            self.log.damage.frames.push(index);
        }
        let size = (self.frame.width(), self.frame.height());
        if size.0 == 0 || size.1 == 0 {
            return Err(self.unreadable("the decoder returned an empty frame".into()));
        }
        let first = *self.first_size.get_or_insert(size);
        if size != first && self.converter.fixed_size().is_none() {
            let o = self.reorienter.orientation();
            return Err(Error::at(
                &self.path,
                Problem::FrameSizeMismatch {
                    frame: index,
                    file: None,
                    found: o.display_size(size.0, size.1),
                    expected: o.display_size(first.0, first.1),
                },
            ));
        }
        Ok(true)
    }

    /// The output size of the frames: the fixed size, or the first frame's displayed size.
    #[must_use]
    pub fn output_size(&self) -> Option<(u32, u32)> {
        let o = self.reorienter.orientation();
        self.first_size.map(|(w, h)| {
            let (w, h) = o.display_size(w, h);
            self.converter.output_size(w, h)
        })
    }

    fn unreadable(&self, reason: String) -> Error {
        Error::at(
            &self.path,
            Problem::UnreadableFrame {
                frame: self.next_index,
                file: None,
                reason,
            },
        )
    }

    /// Checks a packet before decoding: timestamps that jump past the previous packet's
    /// duration (packets lost in the container), an MJPEG packet without its EOI marker.
    fn inspect(&mut self, packet: &Packet) {
        let stamp = packet.dts().or(packet.pts());
        if self.check_gaps
            && let (Some(t), Some((last, duration))) = (stamp, self.log.last)
            && duration > 0
        {
            let step = t.saturating_sub(last);
            // More than one and a half durations: round(step / duration) - 1 frames lost.
            if step.saturating_mul(2) > duration.saturating_mul(3) {
                let missing = (step.saturating_add(duration / 2) / duration).saturating_sub(1);
                let d = &mut self.log.damage;
                d.lost = d
                    .lost
                    .saturating_add(u32::try_from(missing).unwrap_or(u32::MAX));
            }
        }
        if let Some(t) = stamp {
            self.log.last = Some((t, packet.duration()));
        }
        if self.mjpeg
            && packet.data().is_some_and(jpeg_lacks_eoi)
            && let Some(t) = packet.pts().or(packet.dts())
        {
            self.log.suspect.push(t);
        }
    }

    /// Sends the next packet of the video stream to the decoder, or the end of stream.
    fn feed(&mut self) -> Result<()> {
        if self.eof_sent {
            // The decoder asked for more input after the end of stream: a decoder bug;
            // end instead of spinning.
            self.done = true;
            return Err(
                self.unreadable("the decoder wants data after the end of the stream".into())
            );
        }
        loop {
            // A fresh packet per read (see `count_packets`).
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) => {
                    if packet.stream() != self.stream || packet.size() == 0 {
                        continue;
                    }
                    if packet.is_corrupt() {
                        return Err(truncated(
                            &self.path,
                            self.next_index,
                            "a packet is cut short",
                        ));
                    }
                    self.inspect(&packet);
                    return match self.decoder.send_packet(&packet) {
                        Ok(()) => Ok(()),
                        Err(e) if is_fatal(&e) => Err(self.unreadable(e.to_string())),
                        // The decoder dropped the packet and goes on with the next one.
                        Err(_) => self.recovered_error(),
                    };
                }
                Err(ffmpeg::Error::Eof) => {
                    self.eof_sent = true;
                    return self
                        .decoder
                        .send_eof()
                        .map_err(|e| self.unreadable(e.to_string()));
                }
                Err(e) => return Err(read_error(&self.path, self.next_index, e)),
            }
        }
    }
}

/// Decoder errors that are not damage in the data: out of memory, a missing feature, an
/// FFmpeg bug. Everything else (invalid data, a missing reference, ...) is damage the decoder
/// recovers from by dropping the packet.
fn is_fatal(e: &ffmpeg::Error) -> bool {
    matches!(
        e,
        ffmpeg::Error::Bug
            | ffmpeg::Error::Bug2
            | ffmpeg::Error::PatchWelcome
            | ffmpeg::Error::DecoderNotFound
            | ffmpeg::Error::Exit
            | ffmpeg::Error::Other {
                errno: ffmpeg::util::error::ENOMEM
            }
    )
}
