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
                scaling::Flags::BILINEAR,
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
    let stream = input
        .streams()
        .best(media::Type::Video)
        .ok_or_else(|| Error::at(path, Problem::NoVideoStream))?;
    let index = stream.index();
    Ok((input, index))
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

/// Decodes a video frame by frame, in presentation order, holding one frame at a time.
pub struct VideoReader {
    path: PathBuf,
    input: ffmpeg::format::context::Input,
    stream: usize,
    decoder: ffmpeg::decoder::Video,
    converter: Converter,
    frame: frame::Video,
    next_index: u32,
    first_size: Option<(u32, u32)>,
    eof_sent: bool,
    done: bool,
    pending: bool,
}

impl VideoReader {
    /// Opens `path` for decoding with `threads` decoder threads (0: FFmpeg picks), frames
    /// converted to RGB24 at `size` (their own size when `None`).
    ///
    /// # Errors
    /// Not found, not a video, no video stream, no decoder for the codec.
    pub fn open(path: &Path, threads: usize, size: Option<(u32, u32)>) -> Result<Self> {
        let (input, stream) = open_input(path)?;
        let Some(st) = input.stream(stream) else {
            return Err(Error::at(path, Problem::NoVideoStream));
        };
        let params = st.parameters();
        let codec_name = params.id().name().to_string();
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
        let decoder = context
            .decoder()
            .video()
            .map_err(|_| Error::at(path, Problem::UnsupportedCodec { codec: codec_name }))?;
        Ok(VideoReader {
            path: path.to_path_buf(),
            input,
            stream,
            decoder,
            converter: Converter::new(size),
            frame: frame::Video::empty(),
            next_index: 0,
            first_size: None,
            eof_sent: false,
            done: false,
            pending: false,
        })
    }

    /// Frames decoded so far.
    #[must_use]
    pub fn decoded(&self) -> u32 {
        self.next_index
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
    /// Returns `None` after the last frame.
    ///
    /// # Errors
    /// Truncated or corrupt data, an unreadable frame, a frame whose size differs from the
    /// first frame's (unless a fixed output size was given), more than `u32::MAX` frames.
    pub fn next_frame(&mut self, want: impl FnOnce(u32) -> bool) -> Result<Option<Decoded<'_>>> {
        if self.pending {
            self.pending = false;
        } else if !self.advance()? {
            return Ok(None);
        }
        let index = self.next_index - 1;
        let (width, height) = self
            .converter
            .output_size(self.frame.width(), self.frame.height());
        let rgb = if want(index) {
            match self.converter.convert(&self.frame) {
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
                Err(e) => return Err(self.unreadable(e.to_string())),
            }
        }
        let index = self.next_index;
        self.next_index = index
            .checked_add(1)
            .ok_or_else(|| Error::at(&self.path, Problem::TooManyFrames))?;
        if self.frame.is_corrupt() {
            return Err(Error::at(
                &self.path,
                Problem::UnreadableFrame {
                    frame: index,
                    file: None,
                    reason: "it decodes with errors (damaged data)".into(),
                },
            ));
        }
        let size = (self.frame.width(), self.frame.height());
        if size.0 == 0 || size.1 == 0 {
            return Err(self.unreadable("the decoder returned an empty frame".into()));
        }
        let first = *self.first_size.get_or_insert(size);
        if size != first && self.converter.fixed_size().is_none() {
            return Err(Error::at(
                &self.path,
                Problem::FrameSizeMismatch {
                    frame: index,
                    file: None,
                    found: size,
                    expected: first,
                },
            ));
        }
        Ok(true)
    }

    /// The output size of the frames: the fixed size, or the first frame's.
    #[must_use]
    pub fn output_size(&self) -> Option<(u32, u32)> {
        self.first_size
            .map(|(w, h)| self.converter.output_size(w, h))
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
                    return match self.decoder.send_packet(&packet) {
                        Ok(()) => Ok(()),
                        Err(e) => Err(self.unreadable(e.to_string())),
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
