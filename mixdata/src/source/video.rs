//! Videos through FFmpeg (`ffmpeg-next`): probing, a cheap frame count by demuxing, and
//! decoding frame by frame, with the damage the decoder meets counted.
//!
//! Nothing here trusts the container header for the number of frames: [`count_packets`]
//! demuxes every packet of the video stream (no decoding), and the [`super::Reader`] of a
//! video reports the number of frames that actually decode.

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg::codec;
use ffmpeg::util::frame;
use ffmpeg::{Packet, media};
use ffmpeg_next as ffmpeg;

use super::FrameDecoder;
use super::orient::Orientation;
use crate::damage::Damage;
use crate::error::{Error, Problem, Result};

/// Initialises FFmpeg once per process and silences its log (errors are reported by mixdata
/// itself, naming the file); `verbose` keeps FFmpeg's warnings on stderr. Every entry point
/// that opens an input calls it (with `verbose` false) when nothing has yet.
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
    INITIALISED.store(true, Ordering::Release);
}

/// Set once [`init`] has run.
static INITIALISED: AtomicBool = AtomicBool::new(false);

/// [`init`] with FFmpeg's log silenced, unless it has run already (a caller's own choice of
/// `verbose` stands).
pub(crate) fn ensure_init() {
    if !INITIALISED.load(Ordering::Acquire) {
        init(false);
    }
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
    ensure_init();
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

/// What [`VideoDecoder`] counts while it decodes: the damage seen so far, and the timestamps
/// of packets found damaged before decoding (MJPEG without EOI), to name their frames.
#[derive(Default)]
struct DamageLog {
    damage: Damage,
    /// Timestamps of packets damaged before decoding, not yet matched to a frame.
    suspect: Vec<i64>,
    /// The last packet's decoding timestamp and duration, for the gap check.
    last: Option<(i64, i64)>,
}

/// Decodes a video's frames in presentation order (the video side of [`super::Reader`]).
pub(crate) struct VideoDecoder {
    path: PathBuf,
    input: ffmpeg::format::context::Input,
    stream: usize,
    decoder: ffmpeg::decoder::Video,
    orientation: Orientation,
    /// The index of the frame being decoded (for error messages).
    index: u32,
    eof_sent: bool,
    done: bool,
    /// The codec is MJPEG: every packet must end with the JPEG EOI marker.
    mjpeg: bool,
    /// The container's timestamps count real time with packet durations (not AVI's chunk
    /// numbers, where a skipped number is a deliberate repeat): a jump past a packet's
    /// duration means packets were lost.
    check_gaps: bool,
    log: DamageLog,
}

impl VideoDecoder {
    /// Opens `path` for decoding with `threads` decoder threads (0: FFmpeg picks); the
    /// stream's display matrix is reported by [`FrameDecoder::orientation`] when `autorotate`.
    ///
    /// # Errors
    /// Not found, not a video, no video stream, no decoder for the codec.
    pub(crate) fn open(path: &Path, threads: usize, autorotate: bool) -> Result<Self> {
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
        Ok(VideoDecoder {
            path: path.to_path_buf(),
            input,
            stream,
            decoder,
            orientation,
            index: 0,
            eof_sent: false,
            done: false,
            mjpeg: codec_id == codec::Id::MJPEG,
            check_gaps,
            log: DamageLog::default(),
        })
    }

    /// Records a decoding error the decoder recovers from: the packet's frame is lost.
    fn recovered_error(&mut self) -> Result<()> {
        let d = &mut self.log.damage;
        d.errors = d.errors.saturating_add(1);
        d.lost = d.lost.saturating_add(1);
        // A decoder that fails on everything still ends: the packets run out. Beyond that,
        // errors without end (a decoder stuck on one error) stop here.
        if u64::from(d.errors) > u64::from(self.index) + 100_000 {
            return Err(self.unreadable("the decoder keeps failing".into()));
        }
        Ok(())
    }

    fn unreadable(&self, reason: String) -> Error {
        Error::at(
            &self.path,
            Problem::UnreadableFrame {
                frame: self.index,
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
                        return Err(truncated(&self.path, self.index, "a packet is cut short"));
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
                Err(e) => return Err(read_error(&self.path, self.index, e)),
            }
        }
    }
}

impl FrameDecoder for VideoDecoder {
    fn path(&self) -> &Path {
        &self.path
    }

    fn orientation(&self) -> Orientation {
        self.orientation
    }

    /// The damage seen so far; damaged packets never matched to a frame count as lost.
    fn damage(&self) -> Damage {
        let mut damage = self.log.damage.clone();
        damage.lost = damage
            .lost
            .saturating_add(u32::try_from(self.log.suspect.len()).unwrap_or(u32::MAX));
        damage
    }

    /// Damage the decoder recovers from is recorded ([`FrameDecoder::damage`]), not returned
    /// as an error.
    fn decode_next(&mut self, frame: &mut frame::Video, index: u32) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        self.index = index;
        loop {
            match self.decoder.receive_frame(frame) {
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
        let mut damaged = frame_is_damaged(frame);
        if !self.log.suspect.is_empty() {
            let stamps = [frame.pts(), frame.timestamp(), Some(frame.packet().dts)];
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
        Ok(true)
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
