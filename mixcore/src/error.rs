//! The one error type of mixcore: every malformed request of docs/contract.md section 9.

use core::fmt;

/// Why a plan, a frame or a mix was refused.
///
/// Small, `Copy` and allocation-free, so it works in `no_std` builds; payloads are integers
/// that name the offending value. `Display` writes one sentence naming the problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The plan asked for zero segments (S = 0).
    ZeroSegments,
    /// The video has no frames (F = 0).
    ZeroFrames,
    /// `k`, the number of frames to mix per segment, is zero.
    ZeroFramesPerSegment,
    /// A segment would mix more frames than the exact path supports (65,536).
    WindowTooLarge {
        /// The segment.
        segment: u32,
        /// How many frames it would mix.
        frames: u64,
        /// The largest supported count.
        limit: u32,
    },
    /// A custom schedule or float weights need a fixed `k`, not `All`.
    CustomNeedsFixedK,
    /// Custom numerators or float weights are not one per mixed frame.
    WeightsLength {
        /// How many weights were given.
        given: usize,
        /// How many the plan's `k` asks for.
        expected: u32,
    },
    /// Every custom numerator is zero, so the denominator would be zero.
    WeightsAllZero,
    /// A float weight is negative, NaN or infinite.
    WeightInvalid {
        /// Index of the weight.
        index: usize,
    },
    /// A custom schedule or float weights need `k` frames but a window holds fewer.
    WindowShorterThanK {
        /// The segment.
        segment: u32,
        /// Frames in its window.
        window: u32,
        /// The fixed `k`.
        k: u32,
    },
    /// A segment index at or past S.
    SegmentOutOfRange {
        /// The index asked for.
        segment: u32,
        /// S.
        segments: u32,
    },
    /// A frame index at or past F.
    FrameOutOfRange {
        /// The index pushed.
        frame: u32,
        /// F.
        frames: u32,
    },
    /// The same frame index was pushed twice.
    FramePushedTwice {
        /// The frame index.
        frame: u32,
    },
    /// `finish` was called while frames the plan needs were never pushed.
    FramesMissing {
        /// How many needed frames are missing.
        missing: u32,
        /// The first missing frame index.
        first: u32,
    },
    /// The float path sums frames in increasing order, so a streaming float mix needs each
    /// segment's frames pushed in increasing order.
    FloatOutOfOrder {
        /// The frame pushed too late.
        frame: u32,
    },
    /// A frame's channel count is not 1 to 4.
    BadChannels {
        /// The channel count given.
        channels: u32,
    },
    /// A frame with zero width or height.
    EmptyFrame,
    /// A row stride shorter than one row of pixels (`width * channels` bytes).
    StrideTooSmall {
        /// The stride given.
        stride: usize,
        /// The bytes one row needs.
        row_bytes: usize,
    },
    /// A frame's byte buffer is shorter than its geometry and stride need.
    FrameBufferTooSmall {
        /// Bytes given.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// A frame's width, height or channels differ from the mix's.
    FrameGeometryMismatch {
        /// Width, height, channels expected.
        expected: (u32, u32, u32),
        /// Width, height, channels given.
        found: (u32, u32, u32),
    },
    /// An output or scratch buffer is shorter than the plan needs.
    BufferTooSmall {
        /// Elements given.
        len: usize,
        /// Elements needed.
        needed: usize,
    },
    /// The number of frames handed to an in-memory mix differs from the plan's F.
    FrameCountMismatch {
        /// F of the plan.
        expected: u32,
        /// Frames given.
        found: usize,
    },
    /// A product of sizes (frames, segments, pixels, channels) overflows `usize`.
    SizeOverflow,
    /// A normalisation standard deviation is zero, negative or not finite, or a mean is not
    /// finite.
    BadNormalization {
        /// The channel.
        channel: u32,
    },
}

/// `Result` with mixcore's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::ZeroSegments => f.write_str("the number of segments S must be at least 1"),
            Error::ZeroFrames => f.write_str("the video has no frames (F = 0)"),
            Error::ZeroFramesPerSegment => {
                f.write_str("frames per segment k must be at least 1 (or All)")
            }
            Error::WindowTooLarge {
                segment,
                frames,
                limit,
            } => write!(
                f,
                "segment {segment} would mix {frames} frames; the exact path supports at most {limit}"
            ),
            Error::CustomNeedsFixedK => f.write_str(
                "custom numerators and float weights need a fixed number of frames per segment, not All",
            ),
            Error::WeightsLength { given, expected } => write!(
                f,
                "{given} weights given but the plan mixes {expected} frames per segment"
            ),
            Error::WeightsAllZero => f.write_str("custom numerators are all zero"),
            Error::WeightInvalid { index } => {
                write!(f, "float weight {index} is negative, NaN or infinite")
            }
            Error::WindowShorterThanK { segment, window, k } => write!(
                f,
                "segment {segment} has a window of {window} frames, fewer than the {k} the weights need"
            ),
            Error::SegmentOutOfRange { segment, segments } => {
                write!(f, "segment {segment} is out of range (S = {segments})")
            }
            Error::FrameOutOfRange { frame, frames } => {
                write!(f, "frame {frame} is out of range (F = {frames})")
            }
            Error::FramePushedTwice { frame } => write!(f, "frame {frame} was pushed twice"),
            Error::FramesMissing { missing, first } => write!(
                f,
                "{missing} needed frames were never pushed (the first is frame {first})"
            ),
            Error::FloatOutOfOrder { frame } => write!(
                f,
                "frame {frame} arrived after a later frame of its segment; the float path needs increasing order"
            ),
            Error::BadChannels { channels } => {
                write!(f, "a frame has {channels} channels; 1 to 4 are supported")
            }
            Error::EmptyFrame => f.write_str("a frame has zero width or height"),
            Error::StrideTooSmall { stride, row_bytes } => write!(
                f,
                "row stride {stride} is shorter than a row of {row_bytes} bytes"
            ),
            Error::FrameBufferTooSmall { len, needed } => write!(
                f,
                "frame buffer holds {len} bytes but its geometry and stride need {needed}"
            ),
            Error::FrameGeometryMismatch { expected, found } => write!(
                f,
                "frame is {}x{}x{} but the mix expects {}x{}x{} (width x height x channels)",
                found.0, found.1, found.2, expected.0, expected.1, expected.2
            ),
            Error::BufferTooSmall { len, needed } => write!(
                f,
                "buffer holds {len} elements but {needed} are needed"
            ),
            Error::FrameCountMismatch { expected, found } => write!(
                f,
                "{found} frames given but the plan was made for F = {expected}"
            ),
            Error::SizeOverflow => f.write_str("sizes overflow: the product of the dimensions is too large"),
            Error::BadNormalization { channel } => write!(
                f,
                "normalisation of channel {channel}: the std must be positive and finite, and the mean finite"
            ),
        }
    }
}

impl core::error::Error for Error {}
