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

    /// True when [`FrameSink::push_with`] takes frames: the sink has a frame buffer that a
    /// decoder may convert straight into. Default: false.
    fn can_fill(&self) -> bool {
        false
    }

    /// Adds frame `f` by having `fill` write it, packed (`H * W * C` bytes, rows of `W * C`),
    /// straight into the sink's own buffer: no copy of a converted frame. `fill` is called at
    /// most once, and not at all for a refused push or a frame no segment mixes.
    ///
    /// # Errors
    /// As [`FrameSink::push`]; [`Error::BufferTooSmall`] (`len: 0`) from a sink without a
    /// frame buffer (the default: check [`FrameSink::can_fill`] first).
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

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use alloc::vec;

    use super::FrameSink;
    use crate::{Error, FrameView, Geometry, MixSpec, Mixer, Plan, PlanConfig};

    /// A decoder that fills frame `f` with byte `f`, through `push_with` when the sink can
    /// fill, else `push`.
    fn feed(
        sink: &mut dyn FrameSink<Error = Error>,
        frames: u32,
        g: Geometry,
    ) -> Result<(), Error> {
        let mut bytes = vec![0u8; g.elements()?];
        for f in 0..frames {
            if sink.can_fill() {
                sink.push_with(f, &mut |slot| slot.fill(f as u8))?;
            } else {
                bytes.fill(f as u8);
                sink.push(f, &FrameView::packed(&bytes, g)?)?;
            }
        }
        Ok(())
    }

    #[test]
    fn push_with_through_the_trait_equals_push() {
        let g = Geometry::new(5, 3, 3).unwrap();
        let plan = Plan::new(
            20,
            &PlanConfig {
                segments: 3,
                ..PlanConfig::default()
            },
        )
        .unwrap();
        let spec = MixSpec::default();
        let len = crate::output_len(&plan, g).unwrap();
        // Unbuffered: no frame buffer, so frames go by `push`; `push_with` is refused.
        let mut scratch = vec![0u64; Mixer::scratch_len(&plan, g, &spec).unwrap()];
        let mut plain = Mixer::new(&plan, g, spec, &mut scratch).unwrap();
        assert!(!plain.can_fill());
        assert!(matches!(
            FrameSink::push_with(&mut plain, 0, &mut |_| {}),
            Err(Error::BufferTooSmall { len: 0, .. })
        ));
        feed(&mut plain, 20, g).unwrap();
        let mut want = vec![0f32; len];
        FrameSink::finish(plain, &mut want).unwrap();
        // Buffered: frames are written straight into the mixer's buffer.
        let b = Mixer::RECOMMENDED_BUFFER;
        let mut scratch = vec![0u64; Mixer::scratch_len_buffered(&plan, g, &spec, b).unwrap()];
        let mut got = vec![0f32; len];
        let mut buffered = Mixer::with_output(&plan, g, spec, b, &mut scratch, &mut got).unwrap();
        assert!(buffered.can_fill());
        feed(&mut buffered, 20, g).unwrap();
        buffered.finish_output().unwrap();
        assert!(
            got.iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }
}
