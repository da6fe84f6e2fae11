//! # mixcore — exact Frame Mix-up
//!
//! Frame Mix-up folds every frame of a segment's temporal window into one image, a weighted
//! sum whose weights ignore order (`Average`) or grow with it (`Linear`), so a video model
//! trained on `S` segments sees the whole video at the cost of `S` frames.
//!
//! This crate implements the numeric contract `docs/contract.md` completely and without allocation:
//! windows ([`Window`]), selection ([`Selection`], [`Mode`]), schedules ([`Schedule`]) and the
//! [`Plan`] they make; the exact path (integer numerators, one correctly rounded division,
//! [`round::round_ratio`]) and the float path ([`MixPath`]); epilogues ([`Epilogue`]),
//! layouts ([`Layout`]); the in-memory [`mix()`], the streaming [`Mixer`] and, with `rayon`,
//! `mix_par`. Every backend ([`Backend`]) gives the same bits.
//!
//! Features: `std` (runtime CPU detection), `alloc` (allocating conveniences: `mix_to_vec`,
//! `ScheduleBuf`), `rayon` (parallel mixing), `check-ref` (re-run the scalar reference after
//! every fast kernel and panic on a difference). None is on by default: the crate is `no_std`.
//! `unstable-internals` makes the kernel tables (`kernel`) and the rounding routes
//! (`round::round_ratio_*`) public for the workspace's tests, fuzzers and benches; they may
//! change in any release.
//!
//! Memory: nothing is allocated; [`mix()`] and [`Mixer`]'s finish keep one tile of
//! accumulators ([`TILE_ELEMENTS`] `u32`s, 32 KiB) on the stack, the portable kernels 4 KiB
//! more; everything else lives in the caller's buffers.
//!
//! ```
//! use mixcore::{FrameView, Geometry, MixSpec, Plan, PlanConfig, Schedule, mix};
//! // A 48-frame clip of 8x8 RGB frames, 8 segments of 6 frames, linear weights 1..6 / 21.
//! let g = Geometry::new(8, 8, 3)?;
//! let video: Vec<Vec<u8>> = (0..48).map(|f| vec![f as u8; 8 * 8 * 3]).collect();
//! let frames: Vec<FrameView> = video.iter().map(|v| FrameView::packed(v, g)).collect::<Result<_, _>>()?;
//! let plan = Plan::new(48, &PlanConfig { schedule: Schedule::Linear, ..PlanConfig::default() })?;
//! let mut out = vec![0.0f32; mixcore::output_len(&plan, g)?];
//! mix(&plan, &frames, &MixSpec::default(), &mut out)?;
//! // Segment 0 mixes frames 0..6: (0*1 + 1*2 + 2*3 + 3*4 + 4*5 + 5*6) / 21 = 70/21.
//! assert_eq!(out[0], 70.0f32 / 21.0);
//! # Ok::<(), mixcore::Error>(())
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod accumulator;
pub mod admit;
pub mod epilogue;
pub mod error;
pub mod frame;
pub mod half;
#[cfg(feature = "unstable-internals")]
pub mod kernel;
#[cfg(not(feature = "unstable-internals"))]
mod kernel;
pub mod layout;
pub mod mix;
pub mod mixer;
#[cfg(feature = "rayon")]
pub mod par;
pub mod plan;
pub mod round;
pub mod schedule;
pub mod select;
pub mod sink;
pub mod text;
pub mod window;

pub use accumulator::Accumulator;
pub use admit::{Admission, Admitted};
pub use epilogue::Epilogue;
pub use error::{Error, Result};
pub use frame::{FrameView, Geometry};
pub use half::{Dtype, Half};
pub use kernel::Backend;
#[cfg(feature = "unstable-internals")]
pub use kernel::Kernels;
pub use layout::Layout;
#[cfg(feature = "alloc")]
pub use mix::mix_to_vec;
pub use mix::{FloatWeights, MixPath, MixSpec, TILE_ELEMENTS, mix, mix_half, output_len};
pub use mixer::Mixer;
#[cfg(feature = "alloc")]
pub use mixer::scratch_vec;
#[cfg(feature = "rayon")]
pub use par::mix_par;
pub use plan::{Feed, Feeds, FramesPerSegment, MAX_MIXED_FRAMES, Plan, PlanConfig, Segment};
pub use schedule::Schedule;
#[cfg(feature = "alloc")]
pub use schedule::ScheduleBuf;
pub use select::{Mode, Selection, SplitMix64};
pub use sink::FrameSink;
pub use text::ParseError;
pub use window::Window;

/// The workspace README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// This crate's README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
