//! Why a transform, a geometry or a resample was refused.

use std::fmt;

use super::geometry::CropMode;

/// The option a [`TransformError`] is about, named as the command line names it
/// (`--resize-short`, `--size`, `--crop`, `--crop-mode`, `--flip`; Python: `resize_short`,
/// `size`, `crop`, `crop_mode`, `flip`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransformOption {
    /// [`Resize::Short`](super::Resize::Short): `--resize-short N`.
    ResizeShort,
    /// [`Resize::Exact`](super::Resize::Exact): `--size WxH`.
    Size,
    /// [`Crop`](super::Crop)'s size: `--crop WxH`.
    Crop,
    /// [`Crop`](super::Crop)'s mode: `--crop-mode`.
    CropMode,
    /// [`Transform::flip`](super::Transform::flip): `--flip`.
    Flip,
}

impl TransformOption {
    /// The command-line name without its dashes: `resize-short`, `size`, `crop`,
    /// `crop-mode`, `flip`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            TransformOption::ResizeShort => "resize-short",
            TransformOption::Size => "size",
            TransformOption::Crop => "crop",
            TransformOption::CropMode => "crop-mode",
            TransformOption::Flip => "flip",
        }
    }
}

impl fmt::Display for TransformOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a [`Transform`](super::Transform), a [`ClipGeometry`](super::ClipGeometry) or a
/// [`Resampler`](super::Resampler) call was refused. `Display` writes one sentence that names
/// the option or the value at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransformError {
    /// A size option has a zero side.
    ZeroSize {
        /// The option.
        option: TransformOption,
    },
    /// A size option has a side above [`MAX_SIDE`](super::MAX_SIDE), or a frame of that
    /// size is beyond FFmpeg's frame bound.
    SizeTooLarge {
        /// The option.
        option: TransformOption,
        /// The width asked for.
        width: u64,
        /// The height asked for.
        height: u64,
    },
    /// Resizing a clip's frames would make them larger than [`MAX_SIDE`](super::MAX_SIDE) or
    /// FFmpeg's frame bound (a short side resized to `N` on a very elongated source).
    ResizedTooLarge {
        /// The option that resizes.
        option: TransformOption,
        /// The decoded frame size.
        source: (u32, u32),
        /// The size the resize asks for.
        resized: (u64, u64),
    },
    /// A centre, three or random crop larger than the (resized) frame it is taken from.
    CropLargerThanFrame {
        /// The crop size.
        crop: (u32, u32),
        /// The frame size it is taken from, after the resize.
        frame: (u32, u32),
    },
    /// A centre, three or random crop whose sides both exceed the short side a
    /// [`Resize::Short`](super::Resize::Short) gives: it fits no frame.
    CropLargerThanShortSide {
        /// The crop size.
        crop: (u32, u32),
        /// The short side after the resize.
        short: u32,
    },
    /// A random draw asked for in test mode: random and multi-scale crops and the flip are
    /// training augmentations, drawn per clip from its seed.
    NeedsTrainMode {
        /// [`TransformOption::CropMode`] or [`TransformOption::Flip`].
        option: TransformOption,
        /// The crop mode, for [`TransformOption::CropMode`].
        mode: Option<CropMode>,
    },
    /// A crop mode name that is not `center`, `three`, `random` or `multiscale`.
    UnknownCropMode {
        /// The name given.
        given: String,
    },
    /// A decoded frame with a zero side.
    EmptySource,
    /// A frame handed to the resampler does not hold what its size and stride say, or does
    /// not match the geometry.
    BadFrame {
        /// What is wrong.
        reason: String,
    },
    /// An output buffer of the wrong length.
    OutputLength {
        /// Bytes (or elements) given.
        given: usize,
        /// Bytes (or elements) needed.
        expected: usize,
    },
    /// swscale refused a conversion.
    Ffmpeg {
        /// What FFmpeg said.
        reason: String,
    },
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransformError::ZeroSize { option } => {
                write!(f, "--{option}: sizes must be at least 1 pixel")
            }
            TransformError::SizeTooLarge {
                option,
                width,
                height,
            } => write!(
                f,
                "--{option}: {width}x{height} is too large (at most {} per side, and within \
                 FFmpeg's frame bound)",
                super::MAX_SIDE
            ),
            TransformError::ResizedTooLarge {
                option,
                source,
                resized,
            } => write!(
                f,
                "--{option}: resizing the {}x{} frames gives {}x{}, too large (at most {} per \
                 side, and within FFmpeg's frame bound)",
                source.0,
                source.1,
                resized.0,
                resized.1,
                super::MAX_SIDE
            ),
            TransformError::CropLargerThanFrame { crop, frame } => write!(
                f,
                "--crop: {}x{} is larger than the {}x{} frame it is taken from (resize with \
                 --resize-short or --size first, or crop less)",
                crop.0, crop.1, frame.0, frame.1
            ),
            TransformError::CropLargerThanShortSide { crop, short } => write!(
                f,
                "--crop: {}x{} cannot fit: both sides exceed the short side {short} that \
                 --resize-short gives",
                crop.0, crop.1
            ),
            TransformError::NeedsTrainMode { option, mode } => match mode {
                Some(mode) => write!(
                    f,
                    "--{option} {mode}: a training augmentation, drawn per clip from its seed; \
                     it needs train mode (in test mode use center or three)"
                ),
                None => write!(
                    f,
                    "--{option}: a training augmentation, drawn per clip from its seed; it \
                     needs train mode"
                ),
            },
            TransformError::UnknownCropMode { given } => write!(
                f,
                "--crop-mode: unknown mode {given:?} (expected center, three, random or \
                 multiscale)"
            ),
            TransformError::EmptySource => f.write_str("the decoded frames have a zero side"),
            TransformError::BadFrame { reason } => write!(f, "bad frame: {reason}"),
            TransformError::OutputLength { given, expected } => {
                write!(f, "output buffer of {given} elements, {expected} needed")
            }
            TransformError::Ffmpeg { reason } => write!(f, "swscale: {reason}"),
        }
    }
}

impl std::error::Error for TransformError {}
