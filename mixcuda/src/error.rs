//! mixcuda's error type: mixcore's errors, CUDA's errors with CUDA's own message, and the few
//! problems only a device mix can have.

use std::fmt;

/// Why a device mix (or setting one up) failed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// mixcuda was built without its `cuda` feature, so there is no device backend.
    NotCompiledWithCudaSupport,
    /// The CUDA driver reported an error.
    Cuda {
        /// What mixcuda was doing (for example `"launch fm_mix_u32"`).
        operation: &'static str,
        /// The driver's error code (`CUresult`).
        code: u32,
        /// The driver's message, for example `no CUDA-capable device is detected`.
        message: String,
    },
    /// The plan, the frames or the spec were refused by mixcore's checks (docs/contract.md
    /// section 9). Transparent: `Display` is mixcore's message.
    Mix(mixcore::Error),
    /// As [`Error::Mix`], for one video of a batch: `Display` names the video, and
    /// [`std::error::Error::source`] is mixcore's error.
    Video {
        /// The video's index in the batch.
        video: usize,
        /// What was wrong with it.
        error: mixcore::Error,
    },
    /// A batch with no videos.
    EmptyBatch,
    /// A choice of a newer mixcore (a layout, an epilogue or a mix path) that these CUDA
    /// kernels do not implement.
    Unsupported {
        /// The choice, as mixcore spells it (`Debug`).
        what: String,
    },
    /// A video index at or past the batch size.
    VideoOutOfRange {
        /// The index asked for.
        video: usize,
        /// Videos in the batch.
        videos: usize,
    },
    /// A frame larger than the kernels address: `width * height * channels` must fit in 32 bits.
    FrameTooLarge {
        /// `width * height * channels`.
        elements: u64,
    },
    /// A denominator at or above 2^48 (mixcore's plans never make one).
    DenominatorTooLarge {
        /// The denominator.
        denominator: u64,
    },
    /// A frame buffer (device or pinned) holds fewer frames than the mix reads.
    NotEnoughFrames {
        /// Frames in the buffer.
        count: usize,
        /// Frames the plan indexes.
        needed: usize,
    },
    /// A frame index at or past the frames a buffer holds.
    FrameIndexOutOfRange {
        /// The index.
        index: usize,
        /// Frames in the buffer.
        count: usize,
    },
    /// A device buffer is shorter than its frames' geometry, stride and pitch need.
    DeviceBufferTooSmall {
        /// Bytes or elements given.
        len: usize,
        /// Bytes or elements needed.
        needed: usize,
    },
    /// A frame pitch shorter than one frame (`stride * (height - 1) + width * channels`).
    PitchTooSmall {
        /// The pitch given.
        pitch: usize,
        /// The bytes one frame needs.
        frame_bytes: usize,
    },
    /// Frames of a different geometry than the mix, or buffers from a different [`crate::Gpu`].
    Mismatch {
        /// What does not match.
        what: &'static str,
    },
}

/// `Result` with mixcuda's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when the error says there is no usable CUDA device here: the crate was built
    /// without CUDA, the driver found no device, or no driver is installed. Tests use it to
    /// skip (with a printed line) instead of failing on machines without a GPU.
    #[must_use]
    pub fn is_no_device(&self) -> bool {
        match self {
            Error::NotCompiledWithCudaSupport => true,
            // CUDA_ERROR_NO_DEVICE (100), CUDA_ERROR_INVALID_DEVICE (101),
            // CUDA_ERROR_INSUFFICIENT_DRIVER (35), CUDA_ERROR_NOT_INITIALIZED (3),
            // CUDA_ERROR_STUB_LIBRARY (34), CUDA_ERROR_SYSTEM_DRIVER_MISMATCH (803),
            // CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE (804).
            Error::Cuda { code, .. } => matches!(code, 3 | 34 | 35 | 100 | 101 | 803 | 804),
            _ => false,
        }
    }
}

impl From<mixcore::Error> for Error {
    fn from(e: mixcore::Error) -> Self {
        Error::Mix(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotCompiledWithCudaSupport => {
                f.write_str("mixcuda was built without CUDA support (enable its `cuda` feature)")
            }
            Error::Cuda {
                operation,
                code,
                message,
            } => write!(f, "CUDA error {code} during {operation}: {message}"),
            Error::Mix(e) => e.fmt(f),
            Error::Video { video, .. } => write!(f, "video {video} of the batch"),
            Error::EmptyBatch => f.write_str("the batch has no videos"),
            Error::Unsupported { what } => {
                write!(f, "{what} is not implemented by mixcuda's kernels")
            }
            Error::VideoOutOfRange { video, videos } => {
                write!(f, "video {video} is out of range (the batch has {videos})")
            }
            Error::FrameTooLarge { elements } => write!(
                f,
                "a frame of {elements} bytes is too large for the CUDA kernels (at most 2^32 - 1)"
            ),
            Error::DenominatorTooLarge { denominator } => write!(
                f,
                "denominator {denominator} is too large for the CUDA kernels (at most 2^48 - 1)"
            ),
            Error::NotEnoughFrames { count, needed } => write!(
                f,
                "the frame buffer holds {count} frames but the plan reads {needed}"
            ),
            Error::FrameIndexOutOfRange { index, count } => write!(
                f,
                "frame {index} is out of range (the buffer holds {count} frames)"
            ),
            Error::DeviceBufferTooSmall { len, needed } => write!(
                f,
                "device buffer holds {len} elements but {needed} are needed"
            ),
            Error::PitchTooSmall { pitch, frame_bytes } => write!(
                f,
                "frame pitch {pitch} is shorter than a frame of {frame_bytes} bytes"
            ),
            Error::Mismatch { what } => write!(f, "mismatch: {what}"),
        }
    }
}

/// Each cause is printed once along the chain: [`Error::Mix`] is transparent (its message is
/// mixcore's, and it has no source of its own), [`Error::Video`]'s source is mixcore's error.
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Mix(e) => std::error::Error::source(e),
            Error::Video { error, .. } => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_name_the_problem() {
        let e = Error::Cuda {
            operation: "context creation",
            code: 100,
            message: "no CUDA-capable device is detected".into(),
        };
        assert_eq!(
            e.to_string(),
            "CUDA error 100 during context creation: no CUDA-capable device is detected"
        );
        assert!(e.is_no_device());
        assert!(Error::NotCompiledWithCudaSupport.is_no_device());
        assert!(!Error::EmptyBatch.is_no_device());
        let v = Error::Video {
            video: 3,
            error: mixcore::Error::ZeroFrames,
        };
        // Each cause once along the chain.
        assert_eq!(v.to_string(), "video 3 of the batch");
        let source = std::error::Error::source(&v).map(ToString::to_string);
        assert_eq!(source, Some(mixcore::Error::ZeroFrames.to_string()));
        let m = Error::Mix(mixcore::Error::ZeroFrames);
        assert_eq!(m.to_string(), mixcore::Error::ZeroFrames.to_string());
        assert!(std::error::Error::source(&m).is_none());
    }
}
