//! The geometry of a clip: which part of the decoded frames is resampled to which size, which
//! part of that is kept, and whether the result is flipped. Pure integer arithmetic; the
//! rules are stated in the module docs of [`transform`](super).

use std::fmt;
use std::str::FromStr;

use mixcore::Mode;
use mixcore::select::{SplitMix64, uniform};

use super::error::{TransformError, TransformOption};

/// The largest side a resize or a crop may ask for (as mixcli's `--size`).
pub const MAX_SIDE: u32 = 16384;

/// The scales of TSN's multi-scale crop, `(1, 0.875, 0.75, 0.66)`, as exact fractions
/// `(numerator, denominator)`: a candidate side is `floor(base * n / d)`, which equals
/// Python's `int(base * s)` for every base (0.875 and 0.75 are exact binary fractions, and
/// `base * 0.66` is never within rounding distance of an integer it does not reach).
pub const MULTISCALE_SCALES: [(u32, u32); 4] = [(1, 1), (7, 8), (3, 4), (33, 50)];

/// TSN's `max_distort` (mmaction2's `max_wh_scale_gap`): the width's and the height's scale
/// indices differ by at most this much.
pub const MULTISCALE_MAX_DISTORT: usize = 1;

/// TSN's fixed crop offsets (`fix_crop=True, more_fix_crop=True`; mmaction2's
/// `num_fixed_crops=13`), in TSN's order, as multiples `(i, j)` of
/// `(w_step, h_step) = ((W - w) / 4, (H - h) / 4)`: the four corners, the centre, then the
/// centre of each side and the four quarter points. mmaction2's default `num_fixed_crops=5`
/// is the first five.
pub const MULTISCALE_OFFSETS: [(u32, u32); 13] = [
    (0, 0),
    (4, 0),
    (0, 4),
    (4, 4),
    (2, 2),
    (0, 2),
    (4, 2),
    (2, 4),
    (2, 0),
    (1, 1),
    (3, 1),
    (1, 3),
    (3, 3),
];

/// Train-mode draws start from the clip's seed XOR this constant (ASCII "geometry"), so a
/// clip's [`mixcore::Plan`] (whose SplitMix64 stream starts at the seed itself) and its
/// geometry can share one seed without sharing draws.
pub const GEOMETRY_STREAM: u64 = 0x6765_6F6D_6574_7279;

/// Draw numbers in the clip's geometry stream: SplitMix64 output `n` (0-based) of the
/// generator started at `seed ^ GEOMETRY_STREAM`. Every draw is taken whether or not the
/// transform uses it, so each one's meaning never depends on the others.
pub mod draw {
    /// Random crop: the x offset. Multi-scale crop: the crop size.
    pub const CROP_A: u64 = 0;
    /// Random crop: the y offset. Multi-scale crop: the fixed offset.
    pub const CROP_B: u64 = 1;
    /// The flip: flipped when the draw's top bit is set (`U(x, 2) = 1`).
    pub const FLIP: u64 = 2;
}

/// How a clip's decoded frames are resized before cropping. Default: [`Resize::Keep`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Resize {
    /// Keep the decoded size.
    #[default]
    Keep,
    /// Resize the short side to `N`, keeping the aspect ratio: the long side becomes
    /// `round(long * N / short)`, halves rounded up (mmaction2's `Resize(scale=(-1, N))`);
    /// a square frame becomes `N x N`. `--resize-short N`.
    Short(u32),
    /// Resize to exactly `width x height`, stretching if the aspect ratio differs.
    /// `--size WxH`.
    Exact {
        /// Output width.
        width: u32,
        /// Output height.
        height: u32,
    },
}

impl Resize {
    /// The size a `source` (width, height) frame is resized to.
    ///
    /// # Errors
    /// [`TransformError::EmptySource`] for a zero side; [`TransformError::ResizedTooLarge`]
    /// when a short-side resize makes a side larger than [`MAX_SIDE`] or the frame larger
    /// than FFmpeg's frame bound; the option's own errors ([`Transform::validate`]).
    pub fn apply(&self, source: (u32, u32)) -> Result<(u32, u32), TransformError> {
        if source.0 == 0 || source.1 == 0 {
            return Err(TransformError::EmptySource);
        }
        match *self {
            Resize::Keep => Ok(source),
            Resize::Exact { width, height } => {
                check_size(TransformOption::Size, width, height)?;
                Ok((width, height))
            }
            Resize::Short(n) => {
                check_size(TransformOption::ResizeShort, n, n)?;
                let (w, h) = (u64::from(source.0), u64::from(source.1));
                let n = u64::from(n);
                let (short, long) = (w.min(h), w.max(h));
                // round(long * n / short), halves up, in exact integers.
                let scaled = (2 * long * n + short) / (2 * short);
                let resized = if w <= h { (n, scaled) } else { (scaled, n) };
                if !fits(resized.0, resized.1) {
                    return Err(TransformError::ResizedTooLarge {
                        option: TransformOption::ResizeShort,
                        source,
                        resized,
                    });
                }
                Ok((resized.0 as u32, resized.1 as u32))
            }
        }
    }
}

/// Where a crop is taken. Default: [`CropMode::Center`]. Names (`FromStr`, `Display`):
/// `center`, `three`, `random`, `multiscale`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CropMode {
    /// The centre: offsets `floor((W - w) / 2)`, `floor((H - h) / 2)` (mmaction2's
    /// `CenterCrop`). Test and train mode.
    #[default]
    Center,
    /// Three views for testing, along the axis with more room: offsets `0`, `2 * step`,
    /// `step` with `step = floor((W - w) / 2)` (left, right, middle: mmaction2's
    /// `ThreeCrop`, in its order), centred on the other axis. Test and train mode.
    Three,
    /// Uniform offsets, `x` in `0..=W-w` and `y` in `0..=H-h`, drawn once per clip. Train
    /// mode only.
    Random,
    /// TSN's multi-scale crop, drawn once per clip: a crop size from
    /// [`MULTISCALE_SCALES`] of the short side, a fixed offset from
    /// [`MULTISCALE_OFFSETS`], the region resized to the crop size. Train mode only.
    MultiScale,
}

impl CropMode {
    /// Every mode, in the order of their names in the docs.
    pub const ALL: [CropMode; 4] = [
        CropMode::Center,
        CropMode::Three,
        CropMode::Random,
        CropMode::MultiScale,
    ];

    /// The mode's name: `center`, `three`, `random`, `multiscale`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            CropMode::Center => "center",
            CropMode::Three => "three",
            CropMode::Random => "random",
            CropMode::MultiScale => "multiscale",
        }
    }

    /// True for the modes drawn from the clip's seed ([`CropMode::Random`],
    /// [`CropMode::MultiScale`]).
    #[must_use]
    pub fn is_random(self) -> bool {
        matches!(self, CropMode::Random | CropMode::MultiScale)
    }
}

impl fmt::Display for CropMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CropMode {
    type Err = TransformError;

    /// Parses `center`, `three`, `random` or `multiscale` (exactly these, lower case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CropMode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| TransformError::UnknownCropMode { given: s.into() })
    }
}

/// A crop of `width x height` pixels of the resized frame, taken as `mode` says.
/// For [`CropMode::MultiScale`] the size is the output size the drawn region is resized to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Crop {
    /// Crop (output) width.
    pub width: u32,
    /// Crop (output) height.
    pub height: u32,
    /// Where the crop is taken. Default (of [`CropMode`]): centre.
    pub mode: CropMode,
}

/// The spatial transform of a clip: one geometry per clip, the same for every frame.
/// `Default`: keep the size, no crop, no flip (the identity).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Transform {
    /// The resize. Default: [`Resize::Keep`].
    pub resize: Resize,
    /// The crop, if any. Default: `None` (the whole resized frame).
    pub crop: Option<Crop>,
    /// Flip horizontally with probability 1/2, drawn once per clip (mmaction2's
    /// `Flip(flip_ratio=0.5)`); train mode only. Default: `false`, because
    /// Something-Something has left/right classes ("Pushing something from left to right")
    /// that a flip turns into their opposite; flipping such data needs the labels swapped
    /// too, which [`ClipGeometry::flip`] lets the caller do.
    pub flip: bool,
}

/// A rectangle of pixels: columns `x..x + width`, rows `y..y + height`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rect {
    /// First column.
    pub x: u32,
    /// First row.
    pub y: u32,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

impl Rect {
    /// The whole of a `(width, height)` frame.
    #[must_use]
    pub fn full((width, height): (u32, u32)) -> Self {
        Rect {
            x: 0,
            y: 0,
            width,
            height,
        }
    }

    /// True when the rectangle is not empty and lies inside a `(width, height)` frame.
    #[must_use]
    pub fn fits_in(&self, (width, height): (u32, u32)) -> bool {
        self.width > 0
            && self.height > 0
            && u64::from(self.x) + u64::from(self.width) <= u64::from(width)
            && u64::from(self.y) + u64::from(self.height) <= u64::from(height)
    }
}

/// One view of one clip: take `pre_crop` of the decoded `source` frame, resample it to
/// `resized`, keep `crop` of that, and flip horizontally when `flip`. The same for every
/// frame of the clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClipGeometry {
    /// The decoded frame size (width, height) this geometry was planned for.
    pub source: (u32, u32),
    /// The part of the decoded frame that is resampled: all of it, except for a multi-scale
    /// crop, whose region is mapped back to source pixels so that it is resampled once.
    pub pre_crop: Rect,
    /// The size `pre_crop` is resampled to (equal to its size: no resampling).
    pub resized: (u32, u32),
    /// The part of the resampled image that is kept, in its coordinates.
    pub crop: Rect,
    /// Flip the result horizontally. [`Resampler`](super::Resampler) does not flip: the
    /// pipeline flips the mixed output ([`flip_output`](super::flip_output)), which gives
    /// the same bits (a flip commutes with the per-pixel mix) for one pass over S frames
    /// instead of F.
    pub flip: bool,
}

impl ClipGeometry {
    /// The size of the frames this view produces: the crop's.
    #[must_use]
    pub fn output_size(&self) -> (u32, u32) {
        (self.crop.width, self.crop.height)
    }

    /// True when `pre_crop` is resampled (its size differs from `resized`); false when the
    /// view only copies pixels.
    #[must_use]
    pub fn resamples(&self) -> bool {
        (self.pre_crop.width, self.pre_crop.height) != self.resized
    }

    /// True when the view gives the decoded frame unchanged.
    #[must_use]
    pub fn is_identity(&self) -> bool {
        !self.flip
            && self.pre_crop == Rect::full(self.source)
            && self.resized == self.source
            && self.crop == Rect::full(self.resized)
    }
}

impl Transform {
    /// Checks the options on their own, before any clip is seen.
    ///
    /// # Errors
    /// [`TransformError::ZeroSize`] and [`TransformError::SizeTooLarge`] for a resize or crop
    /// size with a zero side or a side above [`MAX_SIDE`] (or beyond FFmpeg's frame bound);
    /// [`TransformError::CropLargerThanFrame`] for a centre, three or random crop larger than
    /// an exact resize; [`TransformError::CropLargerThanShortSide`] for such a crop whose
    /// sides both exceed a short-side resize (it fits no frame).
    pub fn validate(&self) -> Result<(), TransformError> {
        match self.resize {
            Resize::Keep => {}
            Resize::Short(n) => check_size(TransformOption::ResizeShort, n, n)?,
            Resize::Exact { width, height } => check_size(TransformOption::Size, width, height)?,
        }
        if let Some(crop) = self.crop {
            check_size(TransformOption::Crop, crop.width, crop.height)?;
            if crop.mode != CropMode::MultiScale {
                match self.resize {
                    Resize::Keep => {}
                    Resize::Short(n) => {
                        if crop.width > n && crop.height > n {
                            return Err(TransformError::CropLargerThanShortSide {
                                crop: (crop.width, crop.height),
                                short: n,
                            });
                        }
                    }
                    Resize::Exact { width, height } => {
                        if crop.width > width || crop.height > height {
                            return Err(TransformError::CropLargerThanFrame {
                                crop: (crop.width, crop.height),
                                frame: (width, height),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks that the transform can run in `mode`: random and multi-scale crops and the
    /// flip need train mode.
    ///
    /// # Errors
    /// [`TransformError::NeedsTrainMode`] naming the option.
    pub fn check_mode(&self, mode: Mode) -> Result<(), TransformError> {
        if mode != Mode::Test {
            return Ok(());
        }
        if let Some(crop) = self.crop
            && crop.mode.is_random()
        {
            return Err(TransformError::NeedsTrainMode {
                option: TransformOption::CropMode,
                mode: Some(crop.mode),
            });
        }
        if self.flip {
            return Err(TransformError::NeedsTrainMode {
                option: TransformOption::Flip,
                mode: None,
            });
        }
        Ok(())
    }

    /// The number of views per clip: 3 for [`CropMode::Three`], else 1.
    #[must_use]
    pub fn views(&self) -> usize {
        match self.crop {
            Some(Crop {
                mode: CropMode::Three,
                ..
            }) => 3,
            _ => 1,
        }
    }

    /// The output frame size (width, height) of a clip whose decoded frames are `source`,
    /// the same for every view and every draw.
    ///
    /// # Errors
    /// As [`Transform::plan`], except [`TransformError::NeedsTrainMode`].
    pub fn output_size(&self, source: (u32, u32)) -> Result<(u32, u32), TransformError> {
        self.validate()?;
        let resized = self.resize.apply(source)?;
        let Some(crop) = self.crop else {
            return Ok(resized);
        };
        if crop.mode != CropMode::MultiScale && (crop.width > resized.0 || crop.height > resized.1)
        {
            return Err(TransformError::CropLargerThanFrame {
                crop: (crop.width, crop.height),
                frame: resized,
            });
        }
        Ok((crop.width, crop.height))
    }

    /// The geometry of each view (one, or three for [`CropMode::Three`]) of a clip whose
    /// decoded frames are `source` (width, height). `mode` is the clip's mode, as its
    /// [`mixcore::PlanConfig::mode`]: in [`Mode::Train`] the random crops and the flip are
    /// drawn from the seed ([`GEOMETRY_STREAM`], [`draw`]); [`Mode::Test`] refuses them.
    ///
    /// ```
    /// use mixcore::Mode;
    /// use mixdata::transform::{Crop, CropMode, Rect, Resize, Transform};
    /// let t = Transform {
    ///     resize: Resize::Short(224),
    ///     crop: Some(Crop { width: 224, height: 224, mode: CropMode::Center }),
    ///     flip: false,
    /// };
    /// let views = t.plan((640, 272), Mode::Test)?;
    /// assert_eq!(views[0].resized, (527, 224));
    /// assert_eq!(views[0].crop, Rect { x: 151, y: 0, width: 224, height: 224 });
    /// # Ok::<(), mixdata::transform::TransformError>(())
    /// ```
    ///
    /// # Errors
    /// [`Transform::validate`]'s and [`Transform::check_mode`]'s errors;
    /// [`TransformError::EmptySource`]; [`TransformError::ResizedTooLarge`];
    /// [`TransformError::CropLargerThanFrame`] for a centre, three or random crop larger than
    /// the resized frame.
    pub fn plan(
        &self,
        source: (u32, u32),
        mode: Mode,
    ) -> Result<Vec<ClipGeometry>, TransformError> {
        self.validate()?;
        self.check_mode(mode)?;
        let resized = self.resize.apply(source)?;
        let draws = match mode {
            Mode::Test => None,
            Mode::Train { seed } => Some(seed ^ GEOMETRY_STREAM),
        };
        let drawn = |n: u64, range: u64| -> u64 {
            // `check_mode` refused the draws in test mode; 0 keeps this total anyway.
            draws.map_or(0, |s| uniform(SplitMix64::nth_output(s, n), range))
        };
        let flip = self.flip && drawn(draw::FLIP, 2) == 1;
        let view = |crop: Rect| ClipGeometry {
            source,
            pre_crop: Rect::full(source),
            resized,
            crop,
            flip,
        };
        let Some(crop) = self.crop else {
            return Ok(vec![view(Rect::full(resized))]);
        };
        let (cw, ch) = (crop.width, crop.height);
        if crop.mode != CropMode::MultiScale && (cw > resized.0 || ch > resized.1) {
            return Err(TransformError::CropLargerThanFrame {
                crop: (cw, ch),
                frame: resized,
            });
        }
        let (slack_w, slack_h) = (resized.0 - cw.min(resized.0), resized.1 - ch.min(resized.1));
        let at = |x: u32, y: u32| Rect {
            x,
            y,
            width: cw,
            height: ch,
        };
        Ok(match crop.mode {
            CropMode::Center => vec![view(at(slack_w / 2, slack_h / 2))],
            CropMode::Three => three_offsets(slack_w, slack_h)
                .into_iter()
                .map(|(x, y)| view(at(x, y)))
                .collect(),
            CropMode::Random => {
                let x = drawn(draw::CROP_A, u64::from(slack_w) + 1) as u32;
                let y = drawn(draw::CROP_B, u64::from(slack_h) + 1) as u32;
                vec![view(at(x, y))]
            }
            CropMode::MultiScale => {
                let region = multiscale_region(
                    resized,
                    (cw, ch),
                    drawn(
                        draw::CROP_A,
                        multiscale_sizes(resized.0.min(resized.1)).len() as u64,
                    ) as usize,
                    drawn(draw::CROP_B, MULTISCALE_OFFSETS.len() as u64) as usize,
                );
                vec![ClipGeometry {
                    source,
                    pre_crop: map_to_source(region, resized, source),
                    resized: (cw, ch),
                    crop: Rect::full((cw, ch)),
                    flip,
                }]
            }
        })
    }
}

/// The three crop offsets of [`CropMode::Three`] given the room left around the crop:
/// along the axis with more room (the width on a tie), `0`, `2 * step`, `step` with
/// `step = room / 2`; centred (`room / 2`) on the other axis.
fn three_offsets(slack_w: u32, slack_h: u32) -> [(u32, u32); 3] {
    if slack_w >= slack_h {
        let (step, y) = (slack_w / 2, slack_h / 2);
        [(0, y), (2 * step, y), (step, y)]
    } else {
        let (step, x) = (slack_h / 2, slack_w / 2);
        [(x, 0), (x, 2 * step), (x, step)]
    }
}

/// TSN's candidate crop sizes (width, height) for a frame whose short side is `base`, in
/// TSN's order: heights outer, widths inner, scale indices at most
/// [`MULTISCALE_MAX_DISTORT`] apart. Sides are at least 1.
#[must_use]
pub fn multiscale_sizes(base: u32) -> Vec<(u32, u32)> {
    let sides: Vec<u32> = MULTISCALE_SCALES
        .iter()
        .map(|&(n, d)| ((u64::from(base) * u64::from(n) / u64::from(d)) as u32).max(1))
        .collect();
    let mut pairs = Vec::new();
    for (i, &h) in sides.iter().enumerate() {
        for (j, &w) in sides.iter().enumerate() {
            if i.abs_diff(j) <= MULTISCALE_MAX_DISTORT {
                pairs.push((w, h));
            }
        }
    }
    pairs
}

/// The region (in resized-frame coordinates) of a multi-scale crop: candidate size `pick`
/// of [`multiscale_sizes`], each side snapped to the output side when within 2 pixels of it
/// (TSN) and kept inside the frame, at fixed offset `offset` of [`MULTISCALE_OFFSETS`].
fn multiscale_region(frame: (u32, u32), out: (u32, u32), pick: usize, offset: usize) -> Rect {
    let sizes = multiscale_sizes(frame.0.min(frame.1));
    let (w, h) = sizes[pick.min(sizes.len() - 1)];
    let snap = |side: u32, target: u32, limit: u32| {
        let side = if side.abs_diff(target) < 3 {
            target
        } else {
            side
        };
        side.min(limit)
    };
    let (w, h) = (snap(w, out.0, frame.0), snap(h, out.1, frame.1));
    let (w_step, h_step) = ((frame.0 - w) / 4, (frame.1 - h) / 4);
    let (i, j) = MULTISCALE_OFFSETS[offset.min(MULTISCALE_OFFSETS.len() - 1)];
    Rect {
        x: i * w_step,
        y: j * h_step,
        width: w,
        height: h,
    }
}

/// Maps a rectangle of the `resized` frame to source pixels: each edge `e` goes to
/// `round(e * source / resized)` (halves up), and the result keeps at least one pixel.
fn map_to_source(r: Rect, resized: (u32, u32), source: (u32, u32)) -> Rect {
    let span = |start: u32, len: u32, from: u32, to: u32| -> (u32, u32) {
        let (from, to) = (u64::from(from), u64::from(to));
        let edge = |e: u32| ((2 * u64::from(e) * to + from) / (2 * from)) as u32;
        let a = edge(start).min(to as u32 - 1);
        let b = edge(start + len).clamp(a + 1, to as u32);
        (a, b - a)
    };
    let (x, width) = span(r.x, r.width, resized.0, source.0);
    let (y, height) = span(r.y, r.height, resized.1, source.1);
    Rect {
        x,
        y,
        width,
        height,
    }
}

/// True when a `w x h` frame is within [`MAX_SIDE`] and FFmpeg's frame bound
/// (`av_image_check_size`: `(8w + 1024)(h + 128) < 2^31 - 1`).
pub(crate) fn fits(w: u64, h: u64) -> bool {
    (1..=u64::from(MAX_SIDE)).contains(&w)
        && (1..=u64::from(MAX_SIDE)).contains(&h)
        && (8 * w + 1024) * (h + 128) < i32::MAX as u64
}

fn check_size(option: TransformOption, width: u32, height: u32) -> Result<(), TransformError> {
    if width == 0 || height == 0 {
        return Err(TransformError::ZeroSize { option });
    }
    if !fits(u64::from(width), u64::from(height)) {
        return Err(TransformError::SizeTooLarge {
            option,
            width: u64::from(width),
            height: u64::from(height),
        });
    }
    Ok(())
}
