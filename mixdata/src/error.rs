//! mixdata's error: every failure names the file (and the line of a list) and the problem.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What went wrong, without the file it concerns (see [`Error`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Problem {
    /// The path does not exist.
    NotFound,
    /// FFmpeg could not open the file as media (not a video, or damaged beyond its header).
    NotAVideo {
        /// FFmpeg's reason.
        reason: String,
    },
    /// The file opened as media but holds no video stream (audio only, subtitles, ...).
    NoVideoStream,
    /// The only video stream is an attached picture (cover art of an audio file).
    OnlyCoverArt,
    /// The input decoded with damage: decoder errors, concealed or lost frames (accepted
    /// only with `--allow-damaged`).
    Damaged {
        /// What was damaged.
        damage: crate::damage::Damage,
    },
    /// A pipe, FIFO or standard input, which mixcli cannot read (it reads an input twice).
    Pipe,
    /// No decoder for the stream's codec is available in this FFmpeg.
    UnsupportedCodec {
        /// The codec's name.
        codec: String,
    },
    /// The data ends (or turns to garbage) in the middle of the stream.
    Truncated {
        /// Frames read before the damage.
        decoded: u32,
        /// What FFmpeg reported.
        reason: String,
    },
    /// Nothing decodes: the input has no frames.
    ZeroFrames,
    /// One frame does not decode.
    UnreadableFrame {
        /// The frame's index (0-based, in presentation order).
        frame: u32,
        /// The file of that frame, for frame folders.
        file: Option<PathBuf>,
        /// Why.
        reason: String,
    },
    /// A frame's size differs from the first frame's.
    FrameSizeMismatch {
        /// The frame's index.
        frame: u32,
        /// The file of that frame, for frame folders.
        file: Option<PathBuf>,
        /// Its width and height.
        found: (u32, u32),
        /// The first frame's width and height.
        expected: (u32, u32),
    },
    /// A frame folder holds a file that is not a numbered JPEG or PNG frame.
    NotAFrame {
        /// The offending file.
        file: PathBuf,
        /// Why it is not a frame.
        reason: &'static str,
    },
    /// Two files in a frame folder carry the same frame number.
    DuplicateFrameNumber {
        /// The number.
        number: u128,
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
    /// A directory that is neither a frame folder nor a folder of inputs.
    NotAnInput {
        /// Why.
        reason: String,
    },
    /// The decoded frame count changed between two passes over the same input.
    UnstableFrameCount {
        /// Frames in the first decoding pass.
        first: u32,
        /// Frames in the second.
        second: u32,
    },
    /// More frames than the 2^32 - 1 a plan can index.
    TooManyFrames,
    /// An I/O operation failed.
    Io {
        /// What was being done ("reading", "creating", ...).
        action: &'static str,
        /// The error.
        source: io::Error,
    },
    /// mixcore refused the plan or a frame.
    Mix(mixcore::Error),
    /// FFmpeg failed in a way not covered above.
    Ffmpeg {
        /// What was being done.
        action: &'static str,
        /// FFmpeg's error.
        reason: String,
    },
    /// The requested device is not available.
    Device {
        /// Why.
        reason: String,
    },
    /// A request that makes no sense (bad option combination, bad value).
    Usage(String),
    /// A frame template matches no file of the folder.
    NoMatchingFrames {
        /// The template, as it parses.
        template: String,
        /// Its start index.
        start: u64,
    },
    /// A frame template's numbers have a gap: this frame is missing.
    MissingFrame {
        /// The missing file (the template's name for it, in the folder).
        file: PathBuf,
        /// Its number.
        number: u64,
        /// The number of the next frame that is there.
        next: u64,
    },
    /// A file matches the frame template with a number below the start index.
    FrameBeforeStart {
        /// The file.
        file: PathBuf,
        /// Its number.
        number: u64,
        /// The start index.
        start: u64,
    },
    /// A frame folder holds another number of frames than its list says (`total_frames`).
    FrameCountMismatch {
        /// What the list says.
        listed: u32,
        /// What the folder holds.
        found: u32,
    },
    /// A line of an annotation list does not parse; the error's path is the list file.
    List {
        /// The line, from 1 (for a JSON list, the entry's line in the file).
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A label text of an annotation list is not in its label file; the error's path is the
    /// list file.
    UnknownLabel {
        /// The line of the list, from 1.
        line: usize,
        /// The label text.
        label: String,
        /// The label file it was looked up in.
        labels: PathBuf,
    },
    /// A caller's buffer does not hold exactly a clip's output.
    BufferLength {
        /// The buffer's length in values.
        len: usize,
        /// The clip's output shape.
        shape: Vec<usize>,
    },
    /// A clip's tensor has another shape than the others of its batch.
    ShapeMismatch {
        /// The shape the batch (or buffer) has.
        expected: Vec<usize>,
        /// The clip's shape.
        found: Vec<usize>,
    },
}

/// An error of mixdata: the file it concerns (where there is one) and the [`Problem`].
///
/// `Display` writes `FILE: problem`, one line; for a problem on a line of a list,
/// `LIST:LINE: problem`.
#[derive(Debug)]
pub struct Error {
    /// The file or folder the error concerns.
    pub path: Option<PathBuf>,
    /// What went wrong.
    pub problem: Problem,
}

/// `Result` with mixdata's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error about `path`.
    #[must_use]
    pub fn at(path: &Path, problem: Problem) -> Self {
        Error {
            path: Some(path.to_path_buf()),
            problem,
        }
    }

    /// An error that concerns no file.
    #[must_use]
    pub fn bare(problem: Problem) -> Self {
        Error {
            path: None,
            problem,
        }
    }

    /// A usage error (bad option value or combination).
    #[must_use]
    pub fn usage(message: impl Into<String>) -> Self {
        Error::bare(Problem::Usage(message.into()))
    }

    /// An I/O error while doing `action` on `path`; a missing path becomes [`Problem::NotFound`].
    #[must_use]
    pub fn io(path: &Path, action: &'static str, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound && action == "opening" {
            return Error::at(path, Problem::NotFound);
        }
        Error::at(path, Problem::Io { action, source })
    }

    /// A mixcore error about `path`.
    #[must_use]
    pub fn mix(path: &Path, source: mixcore::Error) -> Self {
        Error::at(path, Problem::Mix(source))
    }
}

impl Problem {
    /// A short, stable name of the kind of problem, for machine-readable reports
    /// (`"not_found"`, `"truncated"`, ...).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::NotFound => "not_found",
            Problem::NotAVideo { .. } => "not_a_video",
            Problem::NoVideoStream | Problem::OnlyCoverArt => "no_video_stream",
            Problem::Damaged { .. } => "damaged",
            Problem::Pipe => "pipe",
            Problem::UnsupportedCodec { .. } => "unsupported_codec",
            Problem::Truncated { .. } => "truncated",
            Problem::ZeroFrames => "zero_frames",
            Problem::UnreadableFrame { .. } => "unreadable_frame",
            Problem::FrameSizeMismatch { .. } => "frame_size_mismatch",
            Problem::NotAFrame { .. } => "not_a_frame",
            Problem::DuplicateFrameNumber { .. } => "duplicate_frame_number",
            Problem::NotAnInput { .. } => "not_an_input",
            Problem::UnstableFrameCount { .. } => "unstable_frame_count",
            Problem::TooManyFrames => "too_many_frames",
            Problem::Io { .. } => "io",
            Problem::Mix(_) => "mix",
            Problem::Ffmpeg { .. } => "ffmpeg",
            Problem::Device { .. } => "device",
            Problem::Usage(_) => "usage",
            Problem::NoMatchingFrames { .. } => "zero_frames",
            Problem::MissingFrame { .. } => "missing_frame",
            Problem::FrameBeforeStart { .. } => "not_a_frame",
            Problem::FrameCountMismatch { .. } => "frame_count_mismatch",
            Problem::List { .. } => "list",
            Problem::UnknownLabel { .. } => "unknown_label",
            Problem::BufferLength { .. } | Problem::ShapeMismatch { .. } => "shape_mismatch",
        }
    }
}

fn frame_name(frame: u32, file: Option<&PathBuf>) -> String {
    match file {
        Some(file) => format!("frame {frame} ({})", file.display()),
        None => format!("frame {frame}"),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotFound => f.write_str("not found"),
            Problem::NotAVideo { reason } => {
                write!(f, "not a video, or damaged beyond repair ({reason})")
            }
            Problem::NoVideoStream => f.write_str("no video stream (audio only or data only)"),
            Problem::OnlyCoverArt => {
                f.write_str("no video stream: only an attached picture (cover art)")
            }
            Problem::Damaged { damage } => write!(
                f,
                "damaged: {damage} (pass --allow-damaged to mix it anyway)"
            ),
            Problem::Pipe => f.write_str(
                "pipes and standard input are not supported: mixcli reads an input twice (it counts the frames, then decodes them), which a pipe allows only once; save the video to a file first",
            ),
            Problem::UnsupportedCodec { codec } => {
                write!(f, "no decoder for codec '{codec}' in this FFmpeg")
            }
            Problem::Truncated { decoded, reason } => write!(
                f,
                "truncated or corrupt: the data breaks off at frame {decoded} ({reason})"
            ),
            Problem::ZeroFrames => f.write_str("zero frames: nothing decodes"),
            Problem::UnreadableFrame {
                frame,
                file,
                reason,
            } => write!(
                f,
                "unreadable {}: {reason}",
                frame_name(*frame, file.as_ref())
            ),
            Problem::FrameSizeMismatch {
                frame,
                file,
                found,
                expected,
            } => write!(
                f,
                "mismatched frame sizes: {} is {}x{} but frame 0 is {}x{} (pass --size WxH to resize every frame)",
                frame_name(*frame, file.as_ref()),
                found.0,
                found.1,
                expected.0,
                expected.1
            ),
            Problem::NotAFrame { file, reason } => write!(
                f,
                "'{}' is not a frame: {reason}",
                file.file_name().map_or_else(
                    || file.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            ),
            Problem::DuplicateFrameNumber {
                number,
                first,
                second,
            } => write!(
                f,
                "'{}' and '{}' both carry frame number {number}",
                first.display(),
                second.display()
            ),
            Problem::NotAnInput { reason } => f.write_str(reason),
            Problem::UnstableFrameCount { first, second } => write!(
                f,
                "the number of decoded frames changed between two passes ({first}, then {second})"
            ),
            Problem::TooManyFrames => f.write_str("more than 4,294,967,295 frames"),
            Problem::Io { action, source } => write!(f, "{action} failed: {source}"),
            Problem::Mix(e) => write!(f, "{e}"),
            Problem::Ffmpeg { action, reason } => write!(f, "{action} failed: {reason}"),
            Problem::Device { reason } => f.write_str(reason),
            Problem::Usage(message) => f.write_str(message),
            Problem::NoMatchingFrames { template, start } => write!(
                f,
                "no file matches the frame template '{template}' (frames numbered from {start})"
            ),
            Problem::MissingFrame { file, number, next } => write!(
                f,
                "frame {number} is missing: there is no '{}' (the frames must be numbered without a gap; the next one is {next})",
                file.display()
            ),
            Problem::FrameBeforeStart {
                file,
                number,
                start,
            } => write!(
                f,
                "'{}' matches the frame template with number {number}, below the start index {start} (give the start index the frames are numbered from)",
                file.display()
            ),
            Problem::FrameCountMismatch { listed, found } => write!(
                f,
                "the list says {listed} frames but the folder holds {found}"
            ),
            Problem::List { message, .. } => f.write_str(message),
            Problem::UnknownLabel { label, labels, .. } => write!(
                f,
                "unknown label '{label}' (not in {})",
                labels.display()
            ),
            Problem::BufferLength { len, shape } => write!(
                f,
                "a buffer of {len} values does not hold the clip's output of shape {shape:?} ({} values)",
                shape.iter().product::<usize>()
            ),
            Problem::ShapeMismatch { expected, found } => write!(
                f,
                "the clip's shape {found:?} differs from {expected:?}, the shape of its batch (clips of one batch must share a shape: give every clip one size, e.g. a resize)"
            ),
        }
    }
}

/// Writes `path: problem` as [`Error`]'s `Display` does (`LIST:LINE: problem` for a problem on
/// a line of a list), for front ends that wrap mixdata's problems in their own error.
///
/// # Errors
/// The formatter's.
pub fn display(path: Option<&Path>, problem: &Problem, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let line = match problem {
        Problem::List { line, .. } | Problem::UnknownLabel { line, .. } => Some(*line),
        _ => None,
    };
    match (path, line) {
        (Some(path), Some(line)) => write!(f, "{}:{line}: {problem}", path.display()),
        (Some(path), None) => write!(f, "{}: {problem}", path.display()),
        (None, Some(line)) => write!(f, "line {line}: {problem}"),
        (None, None) => write!(f, "{problem}"),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display(self.path.as_deref(), &self.problem, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Io { source, .. } => Some(source),
            Problem::Mix(e) => Some(e),
            _ => None,
        }
    }
}
