//! mixcuda's error type: mixcore's errors, CUDA's errors with CUDA's own message, and the few
//! problems only a device mix can have. Each cause is printed once along the chain:
//! [`Error::Mix`] is transparent (its message and source are mixcore's), [`Error::Video`]'s
//! source is mixcore's error.

/// Why a device mix (or setting one up) failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// mixcuda was built without its `cuda` feature, so there is no device backend.
    #[error("mixcuda was built without CUDA support (enable its `cuda` feature)")]
    NotCompiledWithCudaSupport,
    /// The CUDA driver reported an error.
    #[error("CUDA error {code} during {operation}: {message}")]
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
    #[error(transparent)]
    Mix(#[from] mixcore::Error),
    /// As [`Error::Mix`], for one video of a batch: `Display` names the video, and
    /// [`std::error::Error::source`] is mixcore's error.
    #[error("video {video} of the batch")]
    Video {
        /// The video's index in the batch.
        video: usize,
        /// What was wrong with it.
        #[source]
        error: mixcore::Error,
    },
    /// A batch with no videos.
    #[error("the batch has no videos")]
    EmptyBatch,
    /// A choice of a newer mixcore (a layout, an epilogue or a mix path) that these CUDA
    /// kernels do not implement.
    #[error("{what} is not implemented by mixcuda's kernels")]
    Unsupported {
        /// The choice, as mixcore spells it (`Debug`).
        what: String,
    },
    /// A video index at or past the batch size.
    #[error("video {video} is out of range (the batch has {videos})")]
    VideoOutOfRange {
        /// The index asked for.
        video: usize,
        /// Videos in the batch.
        videos: usize,
    },
    /// A frame larger than the kernels address: `width * height * channels` must fit in 32 bits.
    #[error("a frame of {elements} bytes is too large for the CUDA kernels (at most 2^32 - 1)")]
    FrameTooLarge {
        /// `width * height * channels`.
        elements: u64,
    },
    /// A denominator at or above 2^48 (mixcore's plans never make one).
    #[error("denominator {denominator} is too large for the CUDA kernels (at most 2^48 - 1)")]
    DenominatorTooLarge {
        /// The denominator.
        denominator: u64,
    },
    /// A frame buffer (device or pinned) holds fewer frames than the mix reads.
    #[error("the frame buffer holds {count} frames but the plan reads {needed}")]
    NotEnoughFrames {
        /// Frames in the buffer.
        count: usize,
        /// Frames the plan indexes.
        needed: usize,
    },
    /// A frame index at or past the frames a buffer holds.
    #[error("frame {index} is out of range (the buffer holds {count} frames)")]
    FrameIndexOutOfRange {
        /// The index.
        index: usize,
        /// Frames in the buffer.
        count: usize,
    },
    /// A device buffer is shorter than its frames' geometry, stride and pitch need.
    #[error("device buffer holds {len} elements but {needed} are needed")]
    DeviceBufferTooSmall {
        /// Bytes or elements given.
        len: usize,
        /// Bytes or elements needed.
        needed: usize,
    },
    /// A frame pitch shorter than one frame (`stride * (height - 1) + width * channels`).
    #[error("frame pitch {pitch} is shorter than a frame of {frame_bytes} bytes")]
    PitchTooSmall {
        /// The pitch given.
        pitch: usize,
        /// The bytes one frame needs.
        frame_bytes: usize,
    },
    /// Frames of a different geometry than the mix, or buffers from a different [`crate::Gpu`].
    #[error("mismatch: {what}")]
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
