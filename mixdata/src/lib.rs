//! # mixdata — the data side of Frame Mix-up
//!
//! What happens to a clip between the decoder and the mixer.
//!
//! - [`transform`]: spatial transforms of the decoded RGB24 frames (resize the short side or
//!   to an exact size; centre, three, random or TSN multi-scale crops; the horizontal flip),
//!   one geometry per clip, resampled with swscale's bicubic.
#![warn(missing_docs)]

pub mod transform;
