//! Training and evaluation of one (variant, seed) run: mixcore mixes every clip into `S`
//! images, the TSN-style network scores them, AdamW with a cosine learning-rate schedule
//! trains it, and the held-out split measures top-1 accuracy.

use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, loss};
use mixcore::Mode;

use crate::augment::Augment;
use crate::dataset::{CLASSES, Class, Clip, Dataset};
use crate::error::{Error, Result};
use crate::model::{ModelConfig, TsnNet};
use crate::rng::{Rng, substream};
use crate::variant::{EPILOGUE, Variant, mix_clip};

/// Streams of [`substream`] under a training seed.
const STREAM_INIT: u64 = 11;
const STREAM_SHUFFLE: u64 = 12;
const STREAM_SAMPLE: u64 = 13;

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

/// How a batch's clips are turned into images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampling {
    /// Deterministic: test-mode selection, no augmentation.
    Test,
    /// Training: for clip number `i` of the split, seeded train-mode selection and, when
    /// `augment`, a random [`Augment`], both drawn from `seed` and `i`.
    Train {
        /// The seed of this epoch's draws.
        seed: u64,
        /// Largest shift of the augmentation; `None` turns augmentation off.
        augment: Option<u32>,
    },
}

/// Mixes `clips` (each with its index in its split) into one input tensor
/// `[B * S, 1, H, W]`.
///
/// # Errors
/// mixcore's and candle's errors.
pub fn batch_tensor(
    clips: &[(usize, &Clip)],
    variant: Variant,
    segments: u32,
    sampling: Sampling,
    device: &Device,
) -> Result<Tensor> {
    let Some((_, first)) = clips.first() else {
        return Err(Error::Config("an empty batch".into()));
    };
    let g = first.geometry;
    let (h, w) = (g.height as usize, g.width as usize);
    let per_clip = segments as usize * h * w;
    let mut buf = vec![0.0f32; clips.len() * per_clip];
    for ((index, clip), out) in clips.iter().zip(buf.chunks_exact_mut(per_clip)) {
        match sampling {
            Sampling::Test => mix_clip(clip, variant, segments, Mode::Test, EPILOGUE, out)?,
            Sampling::Train { seed, augment } => {
                let mode = Mode::Train {
                    seed: substream(seed, *index as u64, 0),
                };
                mix_clip(clip, variant, segments, mode, EPILOGUE, out)?;
                if let Some(max_shift) = augment {
                    let mut rng = Rng::new(substream(seed, *index as u64, 1));
                    Augment::random(&mut rng, max_shift).apply(out, w, h);
                }
            }
        }
    }
    Ok(Tensor::from_vec(
        buf,
        (clips.len() * segments as usize, 1, h, w),
        device,
    )?)
}

/// One optimiser step on a batch: forward, cross-entropy of the consensus scores, backward,
/// AdamW update. Returns the batch loss.
///
/// # Errors
/// candle's errors.
pub fn train_step(model: &TsnNet, opt: &mut AdamW, x: &Tensor, labels: &[u32]) -> Result<f32> {
    let target = Tensor::from_slice(labels, labels.len(), x.device())?;
    let logits = model.forward(x, true)?;
    let loss = loss::cross_entropy(&logits, &target)?;
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

/// Trains a fresh network on `data.train` with `variant`'s inputs and evaluates it on
/// `data.test`. `progress` receives one line per epoch.
///
/// # Errors
/// [`Error::Diverged`] when the loss stops being finite; mixcore's and candle's errors.
pub fn run(
    data: &Dataset,
    variant: Variant,
    seed: u64,
    cfg: &TrainConfig,
    progress: &mut dyn FnMut(&str),
) -> Result<RunResult> {
    cfg.validate()?;
    let start = Instant::now();
    let device = Device::Cpu;
    let model = TsnNet::new(
        cfg.model(data.config.size),
        substream(seed, STREAM_INIT, 0),
        &device,
    )?;
    let mut opt = optimizer(&model, cfg)?;
    let n = data.train.len();
    let steps_per_epoch = n.div_ceil(cfg.batch);
    let total_steps = (steps_per_epoch * cfg.epochs as usize) as f64;
    let mut order: Vec<usize> = (0..n).collect();
    let mut step = 0usize;
    let mut final_loss = f32::NAN;
    for epoch in 0..cfg.epochs {
        Rng::new(substream(seed, STREAM_SHUFFLE, u64::from(epoch))).shuffle(&mut order);
        let (mut loss_sum, mut batches) = (0.0f64, 0u32);
        for idx in order.chunks(cfg.batch) {
            let clips: Vec<(usize, &Clip)> = idx.iter().map(|&i| (i, &data.train[i])).collect();
            let sampling = Sampling::Train {
                seed: substream(seed, STREAM_SAMPLE, u64::from(epoch)),
                augment: cfg.augment.then_some(cfg.max_shift),
            };
            let x = batch_tensor(&clips, variant, cfg.segments, sampling, &device)?;
            let labels: Vec<u32> = clips.iter().map(|(_, c)| c.class.label()).collect();
            opt.set_learning_rate(learning_rate(cfg.lr, step as f64, total_steps));
            let loss = train_step(&model, &mut opt, &x, &labels)?;
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
    let mut result = evaluate(&model, &data.test, variant, cfg, &device)?;
    // Fit on (at most) as many training clips as there are test clips.
    let fit = &data.train[..data.train.len().min(data.test.len())];
    let train = evaluate(&model, fit, variant, cfg, &device)?;
    result.train_top1 = train.top1();
    result.seed = seed;
    result.final_loss = final_loss;
    result.seconds = start.elapsed().as_secs_f64();
    Ok(result)
}

/// Top-1 of `model` on `clips` (test-mode selection: deterministic).
///
/// # Errors
/// mixcore's and candle's errors.
pub fn evaluate(
    model: &TsnNet,
    clips: &[Clip],
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
    for chunk in clips.chunks(64) {
        let batch: Vec<(usize, &Clip)> = chunk.iter().enumerate().collect();
        let x = batch_tensor(&batch, variant, cfg.segments, Sampling::Test, device)?;
        let predicted = model.predict(&x)?;
        for (clip, &p) in chunk.iter().zip(&predicted) {
            let i = clip.class.label() as usize;
            result.total[i] += 1;
            if p == clip.class.label() {
                result.correct[i] += 1;
            }
            if let Some(rev) = clip.class.reversal() {
                result.order_clips += 1;
                if p == rev.label() {
                    result.reversal_errors += 1;
                }
            }
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::DatasetConfig;

    fn tiny() -> Dataset {
        Dataset::generate(&DatasetConfig {
            train_per_class: 2,
            test_per_class: 1,
            ..DatasetConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn train_step_updates_weights_and_lowers_loss_on_a_fixed_batch() {
        let data = tiny();
        let cfg = TrainConfig::default();
        let device = Device::Cpu;
        let model = TsnNet::new(cfg.model(32), 1, &device).unwrap();
        let mut opt = optimizer(&model, &cfg).unwrap();
        let clips: Vec<(usize, &Clip)> = data.train.iter().take(8).enumerate().collect();
        let labels: Vec<u32> = clips.iter().map(|(_, c)| c.class.label()).collect();
        let x = batch_tensor(&clips, Variant::Linear, 8, Sampling::Test, &device).unwrap();
        assert_eq!(x.dims(), &[64, 1, 32, 32]);
        let before: Vec<f32> = model.vars()[0].flatten_all().unwrap().to_vec1().unwrap();
        let first = train_step(&model, &mut opt, &x, &labels).unwrap();
        assert!(first.is_finite());
        // Untrained, the loss is near ln(8) = 2.08.
        assert!((1.0..4.0).contains(&first), "{first}");
        let after: Vec<f32> = model.vars()[0].flatten_all().unwrap().to_vec1().unwrap();
        assert_ne!(before, after, "the step did not change the first layer");
        let mut last = first;
        for _ in 0..15 {
            last = train_step(&model, &mut opt, &x, &labels).unwrap();
        }
        assert!(last < first * 0.8, "loss {first} -> {last}: not learning");
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
    fn run_counts_every_test_clip() {
        let data = tiny();
        let cfg = TrainConfig {
            epochs: 1,
            ..TrainConfig::default()
        };
        let r = run(&data, Variant::Tsn, 3, &cfg, &mut |_| {}).unwrap();
        assert_eq!(r.total, [1; 8]);
        assert_eq!(r.order_clips, 6);
        assert!((0.0..=100.0).contains(&r.top1()));
        assert!(r.final_loss.is_finite());
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
