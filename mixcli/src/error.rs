//! The CLI's error: every failure names the file and the problem.

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
        damage: crate::decode::Damage,
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
    /// Two paths of one run clash: an output is an input or another output (the same file by
    /// device and inode, or by canonical path when it does not exist yet), an output lies
    /// inside an input frame folder, or two inputs would be written to one output. Found
    /// before anything is decoded or written; a usage error (exit status 2).
    Collision {
        /// The path claimed first (an input, or an output).
        first: PathBuf,
        /// The path that clashes with it.
        second: PathBuf,
        /// The whole message, naming both paths and what they are.
        message: String,
    },
}

/// An error of the CLI: the file it concerns (where there is one) and the [`Problem`].
///
/// `Display` writes `FILE: problem`, one line, causes included (an I/O error's, mixcore's), so
/// [`std::error::Error::source`] is `None` and a printed chain names each cause once; the
/// cause itself is in [`Error::problem`].
#[derive(Debug)]
pub struct Error {
    /// The file or folder the error concerns.
    pub path: Option<PathBuf>,
    /// What went wrong.
    pub problem: Problem,
}

/// `Result` with the CLI's [`Error`].
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
            Problem::Collision { .. } => "collision",
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
            Problem::Usage(message) | Problem::Collision { message, .. } => f.write_str(message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}: {}", path.display(), self.problem),
            None => write!(f, "{}", self.problem),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A printed chain (the message, then each source's) names every cause once.
    fn chain(e: &dyn std::error::Error) -> String {
        let mut s = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            s += &format!(": {c}");
            cause = c.source();
        }
        s
    }

    #[test]
    fn error_chains_name_each_cause_once() {
        let path = Path::new("clip.mp4");
        let io = Error::io(path, "reading", io::Error::other("disk on fire"));
        assert_eq!(chain(&io), "clip.mp4: reading failed: disk on fire");
        let mix = Error::mix(path, mixcore::Error::ZeroFrames);
        assert_eq!(
            chain(&mix),
            format!("clip.mp4: {}", mixcore::Error::ZeroFrames)
        );
    }
}
