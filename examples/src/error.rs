//! The one error type of the example: every failure names what went wrong and where.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong while generating data, training or writing results.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// mixcore refused a plan or a mix (a bug in the example if it ever happens: the dataset
    /// only makes valid clips).
    Mix(mixcore::Error),
    /// candle failed (shapes, allocation).
    Candle(candle_core::Error),
    /// mixdata failed to read a list or to decode and mix a clip (the message names the
    /// file).
    Data(mixdata::Error),
    /// FFmpeg could not write a video file.
    Video {
        /// The video being written.
        path: PathBuf,
        /// What failed, and FFmpeg's message.
        message: String,
    },
    /// A file or folder could not be written.
    Io {
        /// The path being written.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A PNG could not be encoded.
    Png {
        /// The path being written.
        path: PathBuf,
        /// What the encoder said.
        source: png::EncodingError,
    },
    /// A setting is out of range (the message names it and the allowed range).
    Config(String),
    /// Training diverged: the loss became NaN or infinite.
    Diverged {
        /// The variant being trained.
        variant: &'static str,
        /// The training seed.
        seed: u64,
        /// The epoch (0-based) in which the loss stopped being finite.
        epoch: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Mix(e) => write!(f, "mixcore: {e}"),
            Error::Candle(e) => write!(f, "candle: {e}"),
            Error::Data(e) => write!(f, "mixdata: {e}"),
            Error::Video { path, message } => {
                write!(f, "{}: writing the video: {message}", path.display())
            }
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Png { path, source } => write!(f, "{}: PNG encoding: {source}", path.display()),
            Error::Config(msg) => write!(f, "bad setting: {msg}"),
            Error::Diverged {
                variant,
                seed,
                epoch,
            } => write!(
                f,
                "training diverged (loss not finite) for variant {variant}, seed {seed}, epoch {epoch}; try a lower --lr"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Mix(e) => Some(e),
            Error::Candle(e) => Some(e),
            Error::Data(e) => Some(e),
            Error::Io { source, .. } => Some(source),
            Error::Png { source, .. } => Some(source),
            Error::Config(_) | Error::Video { .. } | Error::Diverged { .. } => None,
        }
    }
}

impl From<mixcore::Error> for Error {
    fn from(e: mixcore::Error) -> Self {
        Error::Mix(e)
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Candle(e)
    }
}

impl From<mixdata::Error> for Error {
    fn from(e: mixdata::Error) -> Self {
        Error::Data(e)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
