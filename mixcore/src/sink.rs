//! [`FrameSink`]: where a decoder's frames go, whatever mixes them.

use crate::error::Error;
use crate::frame::FrameView;

/// A streaming mix on some device: frames pushed one at a time as a decoder produces them,
/// then finished into an output. mixcore's [`crate::Mixer`] is one (on the CPU, into
/// `[f32]`); mixcuda's `StreamMixer` is another (on a GPU, into device memory).
///
/// Every implementation admits pushes by one rule, [`crate::Admission`]'s: a frame out of
/// range, pushed twice, of the wrong geometry or (float path) out of order is refused with
/// the same [`Error`] on every device, a frame no segment mixes costs next to nothing, and
/// finishing before every needed frame arrived is [`Error::FramesMissing`]. A decoder written
/// against `&mut dyn FrameSink<Error = E>` feeds any of them.
///
/// ```
/// use mixcore::{FrameSink, FrameView, Geometry, MixSpec, Mixer, Plan, PlanConfig};
///
/// /// A stand-in decoder: frame f is painted f's colour; frames no segment mixes are skipped.
/// fn decode<S: FrameSink + ?Sized>(sink: &mut S, frames: u32, g: Geometry) -> Result<(), S::Error> {
///     let mut bytes = vec![0u8; g.elements()?];
///     for f in 0..frames {
///         if sink.is_needed(f) {
///             bytes.fill(f as u8);
///             sink.push(f, &FrameView::packed(&bytes, g)?)?;
///         }
///     }
///     Ok(())
/// }
///
/// let g = Geometry::new(4, 2, 3)?;
/// let plan = Plan::new(16, &PlanConfig { segments: 2, ..PlanConfig::default() })?;
/// let spec = MixSpec::default();
/// let mut scratch = vec![0u64; Mixer::scratch_len(&plan, g, &spec)?];
/// let mut mixer = Mixer::new(&plan, g, spec, &mut scratch)?;
/// decode(&mut mixer, 16, g)?;
/// let mut out = vec![0.0; mixcore::output_len(&plan, g)?];
/// FrameSink::finish(mixer, &mut out)?;
/// // Segment 0: frames 0..8, linear weights 1..8 over 36: 168 / 36.
/// assert_eq!(out[0], 168.0f32 / 36.0);
/// # Ok::<(), mixcore::Error>(())
/// ```
pub trait FrameSink {
    /// Why a push or the finish failed: mixcore's [`Error`] for the admission rule's refusals,
    /// or a device's error that carries them.
    type Error: From<Error>;

    /// What the mix is finished into (`[f32]` on the CPU, a device buffer on a GPU).
    type Output: ?Sized
    where
        Self: Sized;

    /// True when some segment mixes frame `f`: a decoder may skip converting the others
    /// (pushing them is allowed, and only records them).
    fn is_needed(&self, f: u32) -> bool;

    /// Adds frame `f`. The frame is consumed (mixed or copied) before this returns, so the
    /// caller may reuse its memory at once.
    ///
    /// # Errors
    /// The admission rule's refusals ([`Error::FrameOutOfRange`], [`Error::FramePushedTwice`],
    /// [`Error::FrameGeometryMismatch`], [`Error::FloatOutOfOrder`]), which change nothing;
    /// a device's own failures.
    fn push(&mut self, f: u32, frame: &FrameView<'_>) -> Result<(), Self::Error>;

    /// True when [`FrameSink::push_with`] takes frames: the sink holds a buffer a frame can be
    /// written into (the CPU [`crate::Mixer`] with a buffer). Default: false.
    fn can_fill(&self) -> bool {
        false
    }

    /// Adds frame `f`, having `fill` write it straight into the sink's own buffer, packed
    /// (`H * W * C` bytes, rows of `W * C`, no padding): [`FrameSink::push`] without the copy
    /// of a frame a converter could have written there itself ([`crate::Mixer::push_with`]).
    /// `fill` is called once for a needed frame and not at all for another.
    ///
    /// # Errors
    /// As [`FrameSink::push`]; [`Error::BufferTooSmall`] (`len: 0`) from a sink that cannot
    /// fill ([`FrameSink::can_fill`] false), which changes nothing.
    fn push_with(&mut self, f: u32, fill: &mut dyn FnMut(&mut [u8])) -> Result<(), Self::Error> {
        let _ = (f, fill);
        Err(Error::BufferTooSmall { len: 0, needed: 1 }.into())
    }

    /// Finishes the mix into `out`.
    ///
    /// # Errors
    /// [`Error::FramesMissing`] when a needed frame was never pushed, an output too small,
    /// a device's own failures.
    fn finish(self, out: &mut Self::Output) -> Result<(), Self::Error>
    where
        Self: Sized;
}
