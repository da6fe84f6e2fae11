//! Training and evaluation of one (variant, seed) run: mixdata's loader decodes every clip
//! from its video file and mixcore mixes it into `S` images (a fresh draw each epoch), the
//! TSN-style network scores them, AdamW with a cosine learning-rate schedule
//! trains it, and the held-out split measures top-1 accuracy.

use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, loss};
use mixcore::{Layout, Mode};
use mixdata::{
    Batch, Dataset as ClipDataset, DatasetConfig as ClipConfig, Entry, Loader, LoaderConfig,
};

use crate::augment::Augment;
use crate::dataset::{CLASSES, Class};
use crate::error::{Error, Result};
use crate::model::{ModelConfig, TsnNet};
use crate::rng::{Rng, substream};
use crate::variant::{EPILOGUE, Variant};
use crate::videos::VideoSet;

/// Streams of [`substream`] under a training seed.
const STREAM_INIT: u64 = 11;
const STREAM_SHUFFLE: u64 = 12;
const STREAM_SAMPLE: u64 = 13;
const STREAM_AUGMENT: u64 = 14;

/// How every variant is trained (identical for all of them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training split. Default: 16.
    pub epochs: u32,
    /// Clips per batch. Default: 8.
    pub batch: usize,
    /// Peak AdamW learning rate (cosine decay to 0 over training). Default: 0.003.
    pub lr: f64,
    /// AdamW weight decay. Default: 0.0001.
    pub weight_decay: f64,
    /// Segments per clip, `S`. Default: 8.
    pub segments: u32,
    /// Channels of the network's four 3x3 convolutions. Default: `[8, 16, 32, 48]`.
    pub widths: [usize; 4],
    /// Batch normalisation in the network. Default: true.
    pub batch_norm: bool,
    /// Augment training clips (vertical flip, shifts; see [`Augment`]). Default: true.
    pub augment: bool,
    /// Largest shift of the augmentation in pixels. Default: 3.
    pub max_shift: u32,
    /// Loader threads per run that decode and mix the next batches while the network
    /// trains (0: on the training thread). Results do not depend on it. Default: 1.
    pub workers: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 16,
            batch: 8,
            lr: 0.003,
            weight_decay: 1e-4,
            segments: 8,
            widths: [8, 16, 32, 48],
            batch_norm: true,
            augment: true,
            max_shift: 3,
            workers: 1,
        }
    }
}

impl TrainConfig {
    /// Checks every field's range.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 || self.epochs > 10_000 {
            return Err(Error::Config(format!(
                "epochs {} is outside 1..=10000",
                self.epochs
            )));
        }
        if !(1..=4096).contains(&self.batch) {
            return Err(Error::Config(format!(
                "batch {} is outside 1..=4096",
                self.batch
            )));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 1.0) {
            return Err(Error::Config(format!(
                "learning rate {} is outside (0, 1]",
                self.lr
            )));
        }
        if !(self.weight_decay.is_finite() && (0.0..1.0).contains(&self.weight_decay)) {
            return Err(Error::Config(format!(
                "weight decay {} is outside [0, 1)",
                self.weight_decay
            )));
        }
        if !(1..=64).contains(&self.segments) {
            return Err(Error::Config(format!(
                "segments {} is outside 1..=64",
                self.segments
            )));
        }
        if self.workers > 64 {
            return Err(Error::Config(format!(
                "loader workers {} is outside 0..=64",
                self.workers
            )));
        }
        if self.widths.iter().any(|w| !(1..=512).contains(w)) {
            return Err(Error::Config(format!(
                "layer widths {:?} must each be in 1..=512",
                self.widths
            )));
        }
        Ok(())
    }

    /// True when the network can take frames of `size x size` pixels (a positive multiple
    /// of 8).
    #[must_use]
    pub fn size_fits(&self, size: u32) -> bool {
        size > 0 && size.is_multiple_of(crate::model::SIZE_MULTIPLE as u32)
    }

    /// The network for frames of `size x size` pixels.
    #[must_use]
    pub fn model(&self, size: u32) -> ModelConfig {
        ModelConfig {
            channels: 1,
            size: size as usize,
            widths: self.widths,
            batch_norm: self.batch_norm,
            classes: CLASSES.len(),
            segments: self.segments as usize,
        }
    }
}

/// What one run measured on the test split.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// The input variant.
    pub variant: Variant,
    /// The training seed.
    pub seed: u64,
    /// Correct test clips per class (label order).
    pub correct: [u32; 8],
    /// Test clips per class.
    pub total: [u32; 8],
    /// Order-sensitive test clips predicted as their time-reversed partner class.
    pub reversal_errors: u32,
    /// Order-sensitive test clips.
    pub order_clips: u32,
    /// Mean training loss of the last epoch.
    pub final_loss: f32,
    /// Top-1 on the first training clips (as many as there are test clips; test-mode
    /// selection, no augmentation), in percent: how well the network fits what it saw.
    pub train_top1: f64,
    /// Wall-clock seconds of training and evaluation.
    pub seconds: f64,
}

impl RunResult {
    /// Top-1 accuracy over the whole test split, in percent.
    #[must_use]
    pub fn top1(&self) -> f64 {
        percent(self.correct.iter().sum(), self.total.iter().sum())
    }

    /// Top-1 accuracy over the test clips of `classes`, in percent; `None` when the test
    /// split has none of them.
    #[must_use]
    pub fn top1_of(&self, classes: &[Class]) -> Option<f64> {
        let (c, t) = classes.iter().fold((0, 0), |(c, t), class| {
            let i = class.label() as usize;
            (c + self.correct[i], t + self.total[i])
        });
        (t > 0).then(|| percent(c, t))
    }

    /// Percentage of order-sensitive test clips predicted as their time reversal.
    #[must_use]
    pub fn reversal_error_rate(&self) -> f64 {
        percent(self.reversal_errors, self.order_clips)
    }
}

fn percent(num: u32, den: u32) -> f64 {
    if den == 0 {
        0.0
    } else {
        100.0 * f64::from(num) / f64::from(den)
    }
}

/// The mixdata dataset of `entries` as `variant` mixes them with `segments` segments in
/// `mode`: its plan ([`Variant::plan_config`]), `tchw` output, and the network's
/// normalisation ([`EPILOGUE`]) applied by mixcore's epilogue. In train mode mixdata draws
/// every sample anew per epoch from `(seed, epoch, index)`.
///
/// # Errors
/// mixdata's configuration errors.
pub fn clip_dataset(
    entries: &[Entry],
    variant: Variant,
    segments: u32,
    mode: Mode,
) -> Result<ClipDataset> {
    let plan = variant.plan_config(segments, mode);
    Ok(ClipDataset::new(
        entries.to_vec(),
        ClipConfig {
            segments,
            k: plan.k,
            selection: plan.selection,
            schedule: plan.schedule.into(),
            mode,
            layout: Layout::Tchw,
            epilogue: EPILOGUE,
            ..ClipConfig::default()
        },
    )?)
}

/// The network's input from a loader's batch: `[B * S, 1, H, W]`.
///
/// The videos are grey (R = G = B), so the network takes the first channel of mixdata's
/// `[B, S, 3, H, W]`. With `augment = Some((seed, max_shift))` each sample first gets a
/// random [`Augment`] drawn from `seed` and its index in the dataset, applied to its values
/// in place.
///
/// # Errors
/// candle's errors; [`Error::Config`] for a batch that is not `tchw`.
pub fn network_input(
    batch: &mut Batch,
    augment: Option<(u64, u32)>,
    device: &Device,
) -> Result<Tensor> {
    let [b, s, c, h, w] = batch.shape;
    if c != 3 {
        return Err(Error::Config(format!(
            "a batch of shape {:?} is not [B, S, 3, H, W]",
            batch.shape
        )));
    }
    if let Some((seed, max_shift)) = augment {
        let per_sample = s * c * h * w;
        for (values, &index) in batch.data.chunks_exact_mut(per_sample).zip(&batch.indices) {
            let mut rng = Rng::new(substream(seed, index as u64, 0));
            // The same flip and shift on every plane of the sample (all segments, channels).
            Augment::random(&mut rng, max_shift).apply(values, w, h);
        }
    }
    let x = batch.to_candle(device)?;
    Ok(x.narrow(2, 0, 1)?.reshape((b * s, 1, h, w))?)
}

/// One optimiser step on a batch: forward, cross-entropy of the consensus scores against
/// `target` (`[B]` u32 labels), backward, AdamW update. Returns the batch loss.
///
/// # Errors
/// candle's errors.
pub fn train_step(model: &TsnNet, opt: &mut AdamW, x: &Tensor, target: &Tensor) -> Result<f32> {
    let logits = model.forward(x, true)?;
    let loss = loss::cross_entropy(&logits, target)?;
    opt.backward_step(&loss)?;
    Ok(loss.to_scalar::<f32>()?)
}

/// A new AdamW optimiser over `model`'s variables.
///
/// # Errors
/// candle's errors.
pub fn optimizer(model: &TsnNet, cfg: &TrainConfig) -> Result<AdamW> {
    Ok(AdamW::new(
        model.vars(),
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: cfg.weight_decay,
            ..ParamsAdamW::default()
        },
    )?)
}

/// The learning rate at `step` of `total`: a linear warm-up over the first 5 % of the steps,
/// then a cosine decay from `peak` to zero.
#[must_use]
pub fn learning_rate(peak: f64, step: f64, total: f64) -> f64 {
    let warmup = (0.05 * total).max(1.0);
    if step < warmup {
        peak * (step + 1.0) / warmup
    } else {
        let t = ((step - warmup) / (total - warmup).max(1.0)).min(1.0);
        peak * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

/// Trains a fresh network on the training videos of `videos` with `variant`'s inputs and
/// evaluates it on the test videos. Every batch comes from the files through a
/// [`mixdata::Loader`]: shuffled per epoch, each clip decoded and mixed with the epoch's
/// train-mode draw. `progress` receives one line per epoch.
///
/// # Errors
/// [`Error::Diverged`] when the loss stops being finite; mixdata's (a clip that does not
/// decode), mixcore's and candle's errors.
pub fn run(
    videos: &VideoSet,
    variant: Variant,
    seed: u64,
    cfg: &TrainConfig,
    progress: &mut dyn FnMut(&str),
) -> Result<RunResult> {
    cfg.validate()?;
    let start = Instant::now();
    let device = Device::Cpu;
    let train = clip_dataset(
        &videos.train,
        variant,
        cfg.segments,
        Mode::Train {
            seed: substream(seed, STREAM_SAMPLE, 0),
        },
    )?;
    let loader = Loader::new(
        train,
        LoaderConfig {
            batch_size: cfg.batch,
            workers: cfg.workers,
            shuffle: true,
            seed: substream(seed, STREAM_SHUFFLE, 0),
            ..LoaderConfig::default()
        },
    )?;
    let [_, _, h, w] = loader.sample_shape();
    if h != w || !cfg.size_fits(h as u32) {
        return Err(Error::Config(format!(
            "the videos are {w}x{h}; the network takes square frames of a multiple of 8"
        )));
    }
    let model = TsnNet::new(
        cfg.model(h as u32),
        substream(seed, STREAM_INIT, 0),
        &device,
    )?;
    let mut opt = optimizer(&model, cfg)?;
    let total_steps = (loader.batches_per_epoch() * cfg.epochs as usize) as f64;
    let mut step = 0usize;
    let mut final_loss = f32::NAN;
    for epoch in 0..cfg.epochs {
        let augment_seed = substream(seed, STREAM_AUGMENT, u64::from(epoch));
        let (mut loss_sum, mut batches) = (0.0f64, 0u32);
        for batch in loader.epoch(u64::from(epoch)) {
            let mut batch = batch?;
            let augment = cfg.augment.then_some((augment_seed, cfg.max_shift));
            let x = network_input(&mut batch, augment, &device)?;
            let target = batch.labels_to_candle(&device)?;
            loader.recycle(batch);
            opt.set_learning_rate(learning_rate(cfg.lr, step as f64, total_steps));
            let loss = train_step(&model, &mut opt, &x, &target)?;
            if !loss.is_finite() {
                return Err(Error::Diverged {
                    variant: variant.name(),
                    seed,
                    epoch,
                });
            }
            loss_sum += f64::from(loss);
            batches += 1;
            step += 1;
        }
        final_loss = (loss_sum / f64::from(batches.max(1))) as f32;
        progress(&format!(
            "{variant} seed {seed} epoch {}/{}: loss {final_loss:.4} ({:.1}s)",
            epoch + 1,
            cfg.epochs,
            start.elapsed().as_secs_f64()
        ));
    }
    let mut result = evaluate(&model, &videos.test, variant, cfg, &device)?;
    // Fit on (at most) as many training clips as there are test clips.
    let fit = &videos.train[..videos.train.len().min(videos.test.len())];
    let train = evaluate(&model, fit, variant, cfg, &device)?;
    result.train_top1 = train.top1();
    result.seed = seed;
    result.final_loss = final_loss;
    result.seconds = start.elapsed().as_secs_f64();
    Ok(result)
}

/// Top-1 of `model` on the videos `entries` (test-mode selection: deterministic), read
/// through a [`mixdata::Loader`].
///
/// # Errors
/// mixdata's, mixcore's and candle's errors; [`Error::Config`] for an entry whose label is
/// not one of the eight classes.
pub fn evaluate(
    model: &TsnNet,
    entries: &[Entry],
    variant: Variant,
    cfg: &TrainConfig,
    device: &Device,
) -> Result<RunResult> {
    let mut result = RunResult {
        variant,
        seed: 0,
        correct: [0; 8],
        total: [0; 8],
        reversal_errors: 0,
        order_clips: 0,
        final_loss: f32::NAN,
        train_top1: 0.0,
        seconds: 0.0,
    };
    let loader = Loader::new(
        clip_dataset(entries, variant, cfg.segments, Mode::Test)?,
        LoaderConfig {
            batch_size: 64,
            workers: cfg.workers,
            ..LoaderConfig::default()
        },
    )?;
    for batch in loader.epoch(0) {
        let mut batch = batch?;
        let x = network_input(&mut batch, None, device)?;
        let predicted = model.predict(&x)?;
        for (labels, &p) in batch.labels.iter().zip(&predicted) {
            let class = labels
                .first()
                .and_then(|&l| Class::from_label(l))
                .ok_or_else(|| Error::Config(format!("labels {labels:?} are not a class")))?;
            let i = class.label() as usize;
            result.total[i] += 1;
            if p == class.label() {
                result.correct[i] += 1;
            }
            if let Some(rev) = class.reversal() {
                result.order_clips += 1;
                if p == rev.label() {
                    result.reversal_errors += 1;
                }
            }
        }
        loader.recycle(batch);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Dataset, DatasetConfig};
    use crate::videos::write_temporary_videos;

    fn tiny() -> VideoSet {
        let data = Dataset::generate(&DatasetConfig {
            train_per_class: 2,
            test_per_class: 1,
            ..DatasetConfig::default()
        })
        .unwrap();
        write_temporary_videos(&data).unwrap()
    }

    #[test]
    fn train_step_updates_weights_and_lowers_loss_on_a_fixed_batch() {
        let videos = tiny();
        let cfg = TrainConfig::default();
        let device = Device::Cpu;
        let model = TsnNet::new(cfg.model(32), 1, &device).unwrap();
        let mut opt = optimizer(&model, &cfg).unwrap();
        let dataset = clip_dataset(&videos.train, Variant::Linear, 8, Mode::Test).unwrap();
        let loader = Loader::new(dataset, LoaderConfig::default()).unwrap();
        let mut batch = loader.epoch(0).next().unwrap().unwrap();
        assert_eq!(batch.shape, [8, 8, 3, 32, 32]);
        let x = network_input(&mut batch, None, &device).unwrap();
        assert_eq!(x.dims(), &[64, 1, 32, 32]);
        let target = batch.labels_to_candle(&device).unwrap();
        let before: Vec<f32> = model.vars()[0].flatten_all().unwrap().to_vec1().unwrap();
        let first = train_step(&model, &mut opt, &x, &target).unwrap();
        assert!(first.is_finite());
        // Untrained, the loss is near ln(8) = 2.08.
        assert!((1.0..4.0).contains(&first), "{first}");
        let after: Vec<f32> = model.vars()[0].flatten_all().unwrap().to_vec1().unwrap();
        assert_ne!(before, after, "the step did not change the first layer");
        let mut last = first;
        for _ in 0..15 {
            last = train_step(&model, &mut opt, &x, &target).unwrap();
        }
        assert!(last < first * 0.8, "loss {first} -> {last}: not learning");
    }

    #[test]
    fn network_input_takes_the_grey_channel_and_augments_each_sample() {
        let videos = tiny();
        let device = Device::Cpu;
        let dataset = clip_dataset(&videos.test, Variant::Tsn, 8, Mode::Test).unwrap();
        let loader = Loader::new(dataset, LoaderConfig::default()).unwrap();
        let batch = loader.epoch(0).next().unwrap().unwrap();
        let (b, plane) = (batch.len(), 32 * 32);
        let mut plain = Batch {
            data: batch.data.clone(),
            half: Vec::new(),
            dtype: batch.dtype,
            shape: batch.shape,
            views: batch.views,
            indices: batch.indices.clone(),
            labels: batch.labels.clone(),
            samples: Vec::new(),
            skipped: Vec::new(),
        };
        let x: Vec<f32> = network_input(&mut plain, None, &device)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(x.len(), b * 8 * plane);
        for i in 0..b * 8 {
            // Image i is channel 0 of segment i; the videos are grey, so channels agree.
            let red = &batch.data[i * 3 * plane..][..plane];
            let blue = &batch.data[(i * 3 + 2) * plane..][..plane];
            assert_eq!(&x[i * plane..(i + 1) * plane], red);
            assert_eq!(red, blue);
        }
        let mut shifted = plain;
        let y: Vec<f32> = network_input(&mut shifted, Some((5, 3)), &device)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_ne!(x, y, "augmentation changed nothing");
        let mut rng = Rng::new(substream(5, batch.indices[0] as u64, 0));
        let mut first = x[..8 * plane].to_vec();
        Augment::random(&mut rng, 3).apply(&mut first, 32, 32);
        assert_eq!(&y[..8 * plane], &first[..]);
    }

    #[test]
    fn run_counts_every_test_clip() {
        let videos = tiny();
        let cfg = TrainConfig {
            epochs: 1,
            ..TrainConfig::default()
        };
        let r = run(&videos, Variant::Tsn, 3, &cfg, &mut |_| {}).unwrap();
        assert_eq!(r.total, [1; 8]);
        assert_eq!(r.order_clips, 6);
        assert!((0.0..=100.0).contains(&r.top1()));
        assert!(r.final_loss.is_finite());
        // The same run without loader threads gives the same bits.
        let cfg0 = TrainConfig { workers: 0, ..cfg };
        let r0 = run(&videos, Variant::Tsn, 3, &cfg0, &mut |_| {}).unwrap();
        assert_eq!(r0.final_loss.to_bits(), r.final_loss.to_bits());
        assert_eq!(r0.correct, r.correct);
    }

    #[test]
    fn model_init_is_seeded() {
        let device = Device::Cpu;
        let cfg = TrainConfig::default().model(32);
        let a = TsnNet::new(cfg, 5, &device).unwrap();
        let b = TsnNet::new(cfg, 5, &device).unwrap();
        let c = TsnNet::new(cfg, 6, &device).unwrap();
        let flat =
            |m: &TsnNet| -> Vec<f32> { m.vars()[0].flatten_all().unwrap().to_vec1().unwrap() };
        assert_eq!(flat(&a), flat(&b));
        assert_ne!(flat(&a), flat(&c));
    }

    #[test]
    fn learning_rate_warms_up_then_decays() {
        let lr = |s: f64| learning_rate(0.01, s, 1000.0);
        assert!(lr(0.0) < lr(10.0) && lr(10.0) < lr(49.0));
        assert!((lr(49.0) - 0.01).abs() < 1e-12);
        assert!(lr(500.0) < lr(100.0) && lr(999.0) < lr(500.0));
        assert!(lr(1000.0) >= 0.0 && lr(1000.0) < 1e-6);
    }

    #[test]
    fn train_config_rejects_bad_values() {
        for bad in [
            TrainConfig {
                epochs: 0,
                ..TrainConfig::default()
            },
            TrainConfig {
                lr: f64::NAN,
                ..TrainConfig::default()
            },
            TrainConfig {
                batch: 0,
                ..TrainConfig::default()
            },
            TrainConfig {
                segments: 0,
                ..TrainConfig::default()
            },
        ] {
            assert!(matches!(bad.validate(), Err(Error::Config(_))));
        }
    }
}
