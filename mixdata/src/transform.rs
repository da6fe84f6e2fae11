//! The spatial transform of each clip: today an exact resize, nothing else.
//!
//! A [`Transform`] is decided once per clip, from the clip's own frame size and the sample's
//! seed, into a [`ClipTransform`] that the pipeline ([`crate::mixing`]) applies to every frame
//! of that clip. This is the slot spatial augmentations are meant to fill; where each kind
//! fits, so that the mix stays exact and the same for every frame:
//!
//! - **resize** (what exists: [`Transform::size`]): the size the reader's converter writes
//!   every frame at ([`crate::Reader::set_size`]), in the same swscale pass as the colour
//!   conversion;
//! - **crop**: a rectangle of the converted frame, handed to the mixer as a
//!   [`mixcore::FrameView`] that starts at the rectangle's first pixel and keeps the frame's
//!   row stride (no copy);
//! - **horizontal flip**: of the mixed output. A flip moves pixels and the mix is per pixel,
//!   so flipping the `S` mixed frames gives the same bits as flipping every decoded frame.
//!
//! Only the resize is implemented; crop and flip are not (and nothing here pretends to do
//! them). Until they arrive, clips of one batch must share their size (give [`Transform::size`]
//! for datasets whose clips differ), and the loader refuses a clip of another shape, naming it.

/// The per-clip spatial transform of a dataset. Default: none (every frame at its own size).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Transform {
    /// Resize every frame to (width, height) before mixing (bilinear, as `--size`); `None`
    /// keeps each clip's own size. Default: `None`.
    pub size: Option<(u32, u32)>,
}

/// What a [`Transform`] decided for one clip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClipTransform {
    /// The size every frame of the clip is converted to; `None`: its own.
    pub size: Option<(u32, u32)>,
}

impl Transform {
    /// The transform of a clip whose frames are `source_size` (width, height, as displayed),
    /// for the sample whose seed is `seed` (its train-mode seed, [`crate::seed::sample_seed`];
    /// 0 in test mode). A transform that draws at random derives its draws from `seed`, so a
    /// sample's bits stay a function of `(seed, epoch, index)`; the resize draws nothing.
    #[must_use]
    pub fn for_clip(&self, source_size: (u32, u32), seed: u64) -> ClipTransform {
        let _ = (source_size, seed);
        ClipTransform { size: self.size }
    }

    /// Checks the transform: each side from 1 and a frame FFmpeg can allocate
    /// ([`frame_fits`]).
    ///
    /// # Errors
    /// A message naming the size.
    pub fn validate(&self) -> Result<(), String> {
        match self.size {
            Some((w, h)) if w == 0 || h == 0 => Err(format!(
                "the resize {w}x{h} has an empty side (each side must be at least 1)"
            )),
            Some((w, h)) if !frame_fits(w, h) => Err(format!(
                "the resize {w}x{h} is larger than FFmpeg can convert a frame to: it requires (8 x width + 1024) x (height + 128) below 2^31 - 1 (the largest square is 16255x16255)"
            )),
            _ => Ok(()),
        }
    }
}

/// True when FFmpeg can allocate an RGB24 frame of `width` x `height`: its
/// `av_image_check_size` (called by `av_frame_get_buffer` for every frame swscale writes)
/// requires `(8 * width + 1024) * (height + 128) < 2^31 - 1`. The same bound as mixcli's
/// `--size` (`mixcli::args::frame_fits`; a mixcli test checks that the two agree).
#[must_use]
pub fn frame_fits(width: u32, height: u32) -> bool {
    (8 * u64::from(width) + 1024) * (u64::from(height) + 128) < (1u64 << 31) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_resizes_every_clip_alike_and_checks_the_size() {
        let t = Transform {
            size: Some((224, 224)),
        };
        assert_eq!(t.for_clip((320, 240), 1).size, Some((224, 224)));
        assert_eq!(t.for_clip((1920, 1080), 2), t.for_clip((320, 240), 3));
        assert_eq!(Transform::default().for_clip((320, 240), 0).size, None);
        assert!(t.validate().is_ok());
        assert!(Transform { size: Some((0, 4)) }.validate().is_err());
        assert!(
            Transform {
                size: Some((16384, 16384))
            }
            .validate()
            .is_err()
        );
        assert!(frame_fits(16384, 16128) && !frame_fits(16384, 16129));
    }
}
