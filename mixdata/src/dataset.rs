//! A dataset: clips with labels, each mixed on demand for an epoch.
//!
//! [`Dataset::get`] and [`Dataset::get_into`] run one clip through the pipeline
//! ([`crate::mixing`]): open the source (frame folders by their template, with the list's frame
//! count checked), count, plan with the sample's seed, decode, transform, mix. In train mode
//! the sample's seed is [`crate::seed::sample_seed`]`(seed, epoch, index)`, so a sample's
//! bits depend on the clip, `(seed, epoch, index)` and the configuration only.

use mixcore::{
    Epilogue, FramesPerSegment, Geometry, Layout, MixSpec, Mode, Plan, PlanConfig, ScheduleBuf,
    Selection,
};

use crate::damage::Damage;
use crate::device::Device;
use crate::error::{Error, Problem, Result};
use crate::list::Entry;
use crate::mixing::{self, MixRequest, MixedInfo};
use crate::seed;
use crate::source::{OpenOptions, Source};
use crate::template::FrameTemplate;
use crate::transform::{ClipTransform, Transform};
use crate::values::{Dtype, Half, Values};

/// How every clip of a dataset is mixed. `Default` is docs/contract.md's default plan (8
/// segments, all frames, spread, linear, test mode) with raw `[S, 3, H, W]` output.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetConfig {
    /// `S`, segments per clip. Default: 8.
    pub segments: u32,
    /// Frames mixed per segment. Default: [`FramesPerSegment::All`].
    pub k: FramesPerSegment,
    /// Which frames of a window. Default: [`Selection::Spread`].
    pub selection: Selection,
    /// The weights. Default: [`ScheduleBuf::Linear`].
    pub schedule: ScheduleBuf,
    /// Test mode, or train mode with the dataset's seed, from which each sample's seed is
    /// derived ([`crate::seed::sample_seed`]). Default: [`Mode::Test`].
    pub mode: Mode,
    /// Axis order of each sample. Default: [`Layout::Tchw`].
    pub layout: Layout,
    /// Value scale. Default: [`Epilogue::Raw`].
    pub epilogue: Epilogue,
    /// The per-clip spatial transform: resize, crop, flip ([`crate::transform`]); random
    /// crops and the flip are drawn from each sample's seed, so they need train mode. With a
    /// crop, clips of any size come out at the crop's size and batch together.
    /// Default: none.
    pub transform: Transform,
    /// Apply videos' display matrices (rotation). Default: true.
    pub autorotate: bool,
    /// Mix damaged clips (the damage is reported in [`SampleInfo::damage`]) instead of
    /// failing them. Default: false.
    pub allow_damaged: bool,
    /// The frame template of every frame folder, overriding each entry's own (the list
    /// format's default, [`crate::ListFormat::default_template`]); `None`: each entry's, and
    /// for entries without one the plain rule (every file a numbered frame). Default: `None`.
    pub template: Option<FrameTemplate>,
    /// Decoder threads per clip (0: FFmpeg decides; [`MixRequest::threads`]). Default: 1, as
    /// the loader's workers decode clips in parallel.
    pub threads: usize,
    /// Where clips are mixed. Default: [`Device::Cpu`].
    pub device: Device,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        let plan = PlanConfig::default();
        DatasetConfig {
            segments: plan.segments,
            k: plan.k,
            selection: plan.selection,
            schedule: plan.schedule.into(),
            mode: plan.mode,
            layout: Layout::Tchw,
            epilogue: Epilogue::Raw,
            transform: Transform::default(),
            autorotate: true,
            allow_damaged: false,
            template: None,
            threads: 1,
            device: Device::Cpu,
        }
    }
}

impl DatasetConfig {
    /// The plan configuration of a sample mixed in `mode`.
    #[must_use]
    pub fn plan(&self, mode: Mode) -> PlanConfig<'_> {
        PlanConfig {
            segments: self.segments,
            k: self.k,
            selection: self.selection,
            mode,
            schedule: self.schedule.as_schedule(),
        }
    }
}

/// One segment of a mixed sample: what it mixed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The window `[lo, hi)` of frames the segment covers.
    pub window: (u32, u32),
    /// The positions (frame indices) of the mixed frames, in order.
    pub positions: Vec<u32>,
    /// Their numerators.
    pub numerators: Vec<u32>,
    /// The denominator: the mixed value is `sum(numerator * frame) / denominator`.
    pub denominator: u64,
}

/// What a sample is, besides its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleInfo {
    /// The sample's index in the dataset.
    pub index: usize,
    /// The epoch it was mixed for (0 in test mode, where epochs do not matter).
    pub epoch: u64,
    /// The shape of one view in the dataset's layout (`[S, 3, H, W]` for `tchw`): the
    /// tensor's with one view; with three crops the tensor is `[3, ...shape]`
    /// ([`SampleInfo::full_shape`]).
    pub shape: [usize; 4],
    /// The clip's labels.
    pub labels: Vec<u32>,
    /// F: the frames that decoded.
    pub frames: u32,
    /// The train-mode seed the sample was mixed with; `None` in test mode.
    pub seed: Option<u64>,
    /// Per segment: window, positions, numerators, denominator.
    pub segments: Vec<SegmentInfo>,
    /// The damage an `allow_damaged` dataset let through ([`Damage::is_clean`] otherwise).
    pub damage: Damage,
    /// The rotation applied, degrees clockwise.
    pub rotation: i32,
    /// The clip's own frame size (displayed), before the transform.
    pub source_size: (u32, u32),
    /// The transform applied to the clip's first view, the only one but for three crops
    /// (converter size, crop, resize, flip as drawn).
    pub transform: ClipTransform,
    /// Every view's transform, in the order of the tensor's views: one, or three for three
    /// crops (left, right, middle; or top, bottom, middle).
    pub views: Vec<ClipTransform>,
}

impl SampleInfo {
    /// The tensor's shape: [`SampleInfo::shape`] with one view, `[V, ...shape]` with V > 1
    /// views (three crops: `[3, S, 3, H, W]` for `tchw`).
    #[must_use]
    pub fn full_shape(&self) -> Vec<usize> {
        mixing::full_shape(self.views.len(), self.shape)
    }
}

/// A mixed sample: its values (C order, [`SampleInfo::full_shape`]: with three crops the three
/// views one after the other) and what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The values.
    pub data: Vec<f32>,
    /// Shape, labels, plan and the rest.
    pub info: SampleInfo,
}

impl Sample {
    /// The values in `dtype` ([`crate::values`]): a copy of [`Sample::data`] for
    /// [`Dtype::F32`], else each value rounded once to the half format (nearest, ties to even:
    /// docs/contract.md, section 10).
    ///
    /// ```
    /// # fn f(sample: &mixdata::Sample) {
    /// use mixdata::{Dtype, Values};
    /// let Values::Bf16(bits) = sample.values(Dtype::Bf16) else { unreachable!() };
    /// assert_eq!(bits.len(), sample.data.len());
    /// # }
    /// ```
    #[must_use]
    pub fn values(&self, dtype: Dtype) -> Values {
        Values::from_f32(&self.data, dtype)
    }

    /// The values rounded to `half` (nearest, ties to even), as bit patterns, in the order of
    /// [`Sample::data`].
    #[must_use]
    pub fn to_half(&self, half: Half) -> Vec<u16> {
        crate::values::to_half(&self.data, half)
    }
}

/// Clips with labels and the configuration that mixes them.
///
/// ```no_run
/// use std::path::Path;
/// use mixdata::{Crop, CropMode, Dataset, DatasetConfig, ListFormat, Resize, Transform};
/// let entries = mixdata::list::read(ListFormat::Video, Path::new("train.txt"), Path::new("/data"), None)?;
/// let config = DatasetConfig {
///     mode: mixcore::Mode::Train { seed: 1 },
///     transform: Transform {
///         resize: Resize::Short(256),
///         crop: Some(Crop { width: 224, height: 224, mode: CropMode::MultiScale }),
///         flip: true,
///     },
///     ..DatasetConfig::default()
/// };
/// let dataset = Dataset::new(entries, config)?;
/// let sample = dataset.get(0, 3)?; // clip 0 as epoch 3 draws it
/// assert_eq!(sample.info.shape, [8, 3, 224, 224]);
/// # Ok::<(), mixdata::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Dataset {
    entries: Vec<Entry>,
    config: DatasetConfig,
}

impl Dataset {
    /// A dataset of `entries` mixed with `config`.
    ///
    /// # Errors
    /// [`Problem::Usage`] for a configuration that can mix no clip: no segments, `k = 0`, a
    /// custom schedule without a matching fixed `k` or with only zeros, a bad normalisation,
    /// an empty or too large resize.
    pub fn new(entries: Vec<Entry>, config: DatasetConfig) -> Result<Self> {
        let usage = |m: String| Error::bare(Problem::Usage(m));
        config
            .transform
            .validate()
            .and_then(|()| config.transform.check_mode(config.mode))
            .map_err(|e| usage(e.to_string()))?;
        // A plan of windows exactly k frames long shows every refusal that does not depend
        // on the clip's length.
        let k = match config.k {
            FramesPerSegment::Fixed(k) => k.max(1),
            FramesPerSegment::All => 1,
        };
        let frames = config.segments.max(1).saturating_mul(k);
        let plan = Plan::new(frames, &config.plan(Mode::Test))
            .map_err(|e| usage(format!("the dataset's plan: {e}")))?;
        let spec = MixSpec {
            layout: config.layout,
            epilogue: config.epilogue,
            ..MixSpec::default()
        };
        let one_pixel = Geometry::new(1, 1, 3).map_err(|e| usage(e.to_string()))?;
        spec.validate(&plan, one_pixel)
            .map_err(|e| usage(format!("the dataset's output: {e}")))?;
        Ok(Dataset { entries, config })
    }

    /// The number of clips.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no clips.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The clips.
    #[must_use]
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &DatasetConfig {
        &self.config
    }

    /// The train-mode seed of sample `index` in `epoch` ([`crate::seed::sample_seed`]);
    /// `None` in test mode.
    #[must_use]
    pub fn sample_seed(&self, index: usize, epoch: u64) -> Option<u64> {
        match self.config.mode {
            Mode::Train { seed } => Some(seed::sample_seed(seed, epoch, index as u64)),
            Mode::Test => None,
        }
    }

    /// Views per sample: 3 with three crops ([`crate::CropMode::Three`]), else 1
    /// ([`Transform::views`]). A sample holds its views one after the other, each of the
    /// sample's [`SampleInfo::shape`].
    #[must_use]
    pub fn views(&self) -> usize {
        self.config.transform.views()
    }

    /// The shape of one view of every sample when the transform fixes the frame size (a crop,
    /// or an exact resize; [`Transform::fixed_size`]); `None` when it depends on the clip.
    #[must_use]
    pub fn fixed_shape(&self) -> Option<[usize; 4]> {
        let (width, height) = self.config.transform.fixed_size()?;
        let g = Geometry::new(width, height, 3).ok()?;
        Some(self.config.layout.shape(self.config.segments, g))
    }

    /// The shape of one view of sample `index`, from its clip's first frame (nothing is
    /// mixed).
    ///
    /// # Errors
    /// Out of range; the clip's open and first-frame errors.
    pub fn shape_of(&self, index: usize) -> Result<[usize; 4]> {
        if let Some(shape) = self.fixed_shape() {
            return Ok(shape);
        }
        let entry = self.entry(index)?;
        let source = self.open(entry)?;
        let req = self.request(self.config.mode);
        mixing::output_shape(&source, &req)
    }

    /// Mixes sample `index` as epoch `epoch` draws it (test mode: the same every epoch).
    ///
    /// # Errors
    /// Out of range; every error of the clip (not found, damaged, a frame folder whose frames
    /// do not match its template or list, ...), naming the clip.
    pub fn get(&self, index: usize, epoch: u64) -> Result<Sample> {
        let mut data = Vec::new();
        let info = self.mix(index, epoch, Out::Grow(&mut data))?;
        Ok(Sample { data, info })
    }

    /// Mixes sample `index` as epoch `epoch` draws it into `out`, which must hold exactly the
    /// sample (`V * S * 3 * H * W` values, V = [`Dataset::views`]; see [`Dataset::shape_of`]):
    /// a batch's slot, with no copy. On an error `out` holds unspecified values.
    ///
    /// # Errors
    /// As [`Dataset::get`]; [`Problem::BufferLength`] when `out` has another length than the
    /// sample.
    pub fn get_into(&self, index: usize, epoch: u64, out: &mut [f32]) -> Result<SampleInfo> {
        self.mix(index, epoch, Out::Slice(out, None))
    }

    /// As [`Dataset::get_into`], refusing a clip whose shape is not `shape` with
    /// [`Problem::ShapeMismatch`] (a batch's clips must share one).
    pub(crate) fn get_into_shaped(
        &self,
        index: usize,
        epoch: u64,
        out: &mut [f32],
        shape: [usize; 4],
    ) -> Result<SampleInfo> {
        self.mix(index, epoch, Out::Slice(out, Some(shape)))
    }

    /// As [`Dataset::get`], into `data`, resized to the sample (its capacity reused): a
    /// ragged loader's buffer.
    pub(crate) fn get_into_vec(
        &self,
        index: usize,
        epoch: u64,
        data: &mut Vec<f32>,
    ) -> Result<SampleInfo> {
        self.mix(index, epoch, Out::Grow(data))
    }

    fn entry(&self, index: usize) -> Result<&Entry> {
        self.entries.get(index).ok_or_else(|| {
            Error::bare(Problem::Usage(format!(
                "sample {index} is out of range: the dataset has {} clips",
                self.entries.len()
            )))
        })
    }

    fn open(&self, entry: &Entry) -> Result<Source> {
        Source::open_with(
            &entry.path,
            &OpenOptions {
                template: self.config.template.as_ref().or(entry.template.as_ref()),
                kind: entry.kind,
                frames: entry.frames,
            },
        )
    }

    fn request(&self, mode: Mode) -> MixRequest<'_> {
        MixRequest {
            plan: self.config.plan(mode),
            layout: self.config.layout,
            epilogue: self.config.epilogue,
            transform: self.config.transform,
            device: self.config.device,
            threads: self.config.threads,
            autorotate: self.config.autorotate,
            allow_damaged: self.config.allow_damaged,
        }
    }

    fn mix(&self, index: usize, epoch: u64, out: Out<'_>) -> Result<SampleInfo> {
        let entry = self.entry(index)?;
        let seed = self.sample_seed(index, epoch);
        let mode = seed.map_or(Mode::Test, |seed| Mode::Train { seed });
        let req = self.request(mode);
        let source = self.open(entry)?;
        let info: MixedInfo = match out {
            Out::Grow(data) => mixing::mix_input_vec(&source, &req, data)?,
            Out::Slice(out, expect) => mixing::mix_input_checked(&source, &req, out, expect)?,
        };
        let plan = Plan::new(info.frames, &req.plan).map_err(|e| Error::mix(&entry.path, e))?;
        Ok(SampleInfo {
            index,
            epoch: if seed.is_some() { epoch } else { 0 },
            shape: info.shape,
            labels: entry.labels.clone(),
            frames: info.frames,
            seed,
            segments: segments(&plan),
            damage: info.damage,
            rotation: info.rotation,
            source_size: info.source_size,
            transform: info.transform,
            views: info.views,
        })
    }
}

enum Out<'o> {
    Grow(&'o mut Vec<f32>),
    Slice(&'o mut [f32], Option<[usize; 4]>),
}

/// Window, positions, numerators and denominator of every segment of `plan`.
#[must_use]
pub fn segments(plan: &Plan<'_>) -> Vec<SegmentInfo> {
    plan.iter()
        .map(|s| {
            let w = s.window();
            SegmentInfo {
                window: (w.lo, w.hi),
                positions: s.positions().collect(),
                numerators: s.numerators().collect(),
                denominator: s.denominator(),
            }
        })
        .collect()
}
