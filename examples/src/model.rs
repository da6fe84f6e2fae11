//! A small TSN-style network in candle: one 2D CNN shared by every segment, then TSN's
//! segmental consensus, the average of the segments' class scores.
//!
//! The layers work channels last (`[N, H, W, C]`): each convolution is one unfold (`im2col`,
//! a custom operation of [`crate::ops`]) and one candle matrix product, followed by batch norm
//! fused with ReLU and 2x2 max pooling (custom operations too). On this project's 2-core
//! machine that is several times faster than candle's CPU `conv2d`, whose backward pass (a
//! direct `conv_transpose2d`) dominates small networks.
//!
//! candle's CPU random generator cannot be seeded, so every weight is drawn here from the
//! example's seeded [`Rng`]: the same seed gives the same initial network on every machine.

use std::sync::Mutex;

use candle_core::{D, DType, Device, Tensor, Var};

use crate::error::{Error, Result};
use crate::ops::{BatchNormRelu, MaxPool2, Unfold3x3, batch_stats};
use crate::rng::Rng;

/// Frame sizes must be multiples of this: 2x2 max pools after the first three
/// convolutions halve the resolution three times.
pub const SIZE_MULTIPLE: usize = 8;

/// The network's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelConfig {
    /// Input channels. Default: 1 (grayscale).
    pub channels: usize,
    /// Input width and height; a multiple of 8. Default: 32.
    pub size: usize,
    /// Output channels of the four 3x3 convolutions. Default: `[8, 16, 32, 48]`.
    pub widths: [usize; 4],
    /// Batch normalisation after every convolution. Default: true.
    pub batch_norm: bool,
    /// Output classes. Default: 8.
    pub classes: usize,
    /// Segments per clip (`S`). Default: 8.
    pub segments: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            channels: 1,
            size: 32,
            widths: [8, 16, 32, 48],
            batch_norm: true,
            classes: 8,
            segments: 8,
        }
    }
}

/// A learned affine map `x W (+ b)` over the last axis.
#[derive(Debug)]
struct Dense {
    weight: Var,
    bias: Option<Var>,
}

impl Dense {
    /// `fan_in -> fan_out`, weights uniform in `[-bound, bound]`, a zero bias if `bias`.
    fn new(
        rng: &mut Rng,
        (fan_in, fan_out): (usize, usize),
        bound: f32,
        bias: bool,
        dev: &Device,
    ) -> Result<Self> {
        let values: Vec<f32> = (0..fan_in * fan_out)
            .map(|_| rng.range(-bound, bound))
            .collect();
        Ok(Dense {
            weight: Var::from_tensor(&Tensor::from_vec(values, (fan_in, fan_out), dev)?)?,
            bias: if bias {
                Some(Var::zeros(fan_out, DType::F32, dev)?)
            } else {
                None
            },
        })
    }

    fn fan_out(&self) -> usize {
        self.weight.as_tensor().dims().last().copied().unwrap_or(0)
    }

    /// `x`: `[M, fan_in]` to `[M, fan_out]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.matmul(self.weight.as_tensor())?;
        Ok(match &self.bias {
            Some(b) => y.broadcast_add(b.as_tensor())?,
            None => y,
        })
    }
}

/// Batch normalisation (followed by ReLU) over the rows of `[M, C]` activations: batch
/// statistics in training (and an exponential moving average of them), the moving averages
/// in evaluation.
#[derive(Debug)]
struct BatchNorm {
    gamma: Var,
    beta: Var,
    /// Moving mean and variance, one per channel.
    running: Mutex<(Vec<f32>, Vec<f32>)>,
}

impl BatchNorm {
    const MOMENTUM: f32 = 0.1;
    const EPS: f32 = 1e-5;

    fn new(channels: usize, dev: &Device) -> Result<Self> {
        Ok(BatchNorm {
            gamma: Var::ones(channels, DType::F32, dev)?,
            beta: Var::zeros(channels, DType::F32, dev)?,
            running: Mutex::new((vec![0.0; channels], vec![1.0; channels])),
        })
    }

    /// `relu(batchnorm(x))`.
    fn forward_relu(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut running = self
            .running
            .lock()
            .map_err(|_| Error::Config("batch-norm statistics poisoned by a panic".into()))?;
        let (mean, var) = if train {
            let (mean, var) = batch_stats(x)?;
            let m = Self::MOMENTUM;
            let (rm, rv) = &mut *running;
            for (r, v) in rm.iter_mut().zip(&mean) {
                *r = (1.0 - m) * *r + m * v;
            }
            for (r, v) in rv.iter_mut().zip(&var) {
                *r = (1.0 - m) * *r + m * v;
            }
            (mean, var)
        } else {
            running.clone()
        };
        let inv_std = var.iter().map(|v| 1.0 / (v + Self::EPS).sqrt()).collect();
        let op = BatchNormRelu {
            mean,
            inv_std,
            batch_stats: train,
        };
        Ok(x.contiguous()?
            .apply_op3(self.gamma.as_tensor(), self.beta.as_tensor(), op)?)
    }
}

/// A 3x3 convolution with zero padding 1, stride 1, channels last: `[M = N*H*W, C_out]`
/// rows out.
fn conv3x3_rows(x: &Tensor, dense: &Dense) -> Result<Tensor> {
    dense.forward(&x.contiguous()?.apply_op1(Unfold3x3)?)
}

/// A 3x3 convolution with zero padding 1, stride 1, channels last (test helper).
#[cfg(test)]
fn conv3x3(x: &Tensor, dense: &Dense) -> Result<Tensor> {
    let (n, h, w, _) = x.dims4()?;
    let out = conv3x3_rows(x, dense)?;
    let cout = out.dim(1)?;
    Ok(out.reshape((n, h, w, cout))?)
}

/// 2x2 max pooling, channels last.
fn max_pool2(x: &Tensor) -> Result<Tensor> {
    Ok(x.contiguous()?.apply_op1(MaxPool2)?)
}

/// The TSN-style model. Per segment: four 3x3 convolutions (stride 1, zero padding 1), each
/// followed by batch norm (optional) and ReLU, the first three by 2x2 max pooling; global
/// max pooling; a linear classifier. A clip's scores are the mean of
/// its segments' scores (TSN's average consensus).
#[derive(Debug)]
pub struct TsnNet {
    convs: Vec<Dense>,
    norms: Vec<BatchNorm>,
    fc: Dense,
    config: ModelConfig,
}

impl TsnNet {
    /// A freshly initialised network: He-uniform convolutions with zero biases, a classifier
    /// drawn from `[-1/sqrt(fan_in), 1/sqrt(fan_in)]`.
    ///
    /// # Errors
    /// [`Error::Config`] for a size that is not a positive multiple of 8 or a zero-sized
    /// layer; candle's errors.
    pub fn new(config: ModelConfig, seed: u64, device: &Device) -> Result<TsnNet> {
        if config.channels == 0
            || config.classes < 2
            || config.segments == 0
            || config.size == 0
            || !config.size.is_multiple_of(SIZE_MULTIPLE)
            || config.widths.contains(&0)
        {
            return Err(Error::Config(format!(
                "the model needs a size that is a positive multiple of 8, channels, widths and \
                 segments >= 1 and classes >= 2; got {config:?}"
            )));
        }
        let mut rng = Rng::new(seed);
        let mut convs = Vec::new();
        let mut norms = Vec::new();
        let mut fan_in = 9 * config.channels;
        for &cout in &config.widths {
            // He-uniform; no bias where batch norm's shift follows.
            let bound = (6.0 / fan_in as f32).sqrt();
            convs.push(Dense::new(
                &mut rng,
                (fan_in, cout),
                bound,
                !config.batch_norm,
                device,
            )?);
            if config.batch_norm {
                norms.push(BatchNorm::new(cout, device)?);
            }
            fan_in = 9 * cout;
        }
        let last = config.widths[3];
        let fc = Dense::new(
            &mut rng,
            (last, config.classes),
            1.0 / (last as f32).sqrt(),
            true,
            device,
        )?;
        Ok(TsnNet {
            convs,
            norms,
            fc,
            config,
        })
    }

    /// The trainable variables (for the optimiser).
    #[must_use]
    pub fn vars(&self) -> Vec<Var> {
        let dense = self
            .convs
            .iter()
            .chain([&self.fc])
            .flat_map(|d| [Some(d.weight.clone()), d.bias.clone()])
            .flatten();
        let norms = self
            .norms
            .iter()
            .flat_map(|n| [n.gamma.clone(), n.beta.clone()]);
        dense.chain(norms).collect()
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Class scores of each image: `[N, C, H, W]` to `[N, K]`. `train` selects batch
    /// statistics (and updates the moving averages) in the batch-norm layers, if any.
    ///
    /// # Errors
    /// candle's shape errors.
    pub fn segment_logits(&self, input: &Tensor, train: bool) -> Result<Tensor> {
        // Channels last: [N, H, W, C].
        let mut x = input.permute((0, 2, 3, 1))?.contiguous()?;
        for (i, conv) in self.convs.iter().enumerate() {
            let (n, h, w, _) = x.dims4()?;
            let rows = conv3x3_rows(&x, conv)?;
            let rows = match self.norms.get(i) {
                Some(norm) => norm.forward_relu(&rows, train)?,
                None => rows.relu()?,
            };
            x = rows.reshape((n, h, w, conv.fan_out()))?;
            if i < 3 {
                x = max_pool2(&x)?;
            }
        }
        // Global max pooling: the objects are small, and an average over the whole image
        // would drown their features in the background's.
        let x = x.max(2)?.max(1)?;
        self.fc.forward(&x)
    }

    /// Clip scores with TSN's average consensus: `[B * S, C, H, W]` (segments of a clip
    /// consecutive, as mixcore's `Tchw` output is) to `[B, K]`. `train` as in
    /// [`TsnNet::segment_logits`].
    ///
    /// # Errors
    /// candle's shape errors, [`Error::Config`] when the batch is not a whole number of clips
    /// or the images are not the configured size.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let s = self.config.segments;
        if n % s != 0 {
            return Err(Error::Config(format!(
                "a batch of {n} images is not a whole number of {s}-segment clips"
            )));
        }
        let size = self.config.size;
        if (c, h, w) != (self.config.channels, size, size) {
            return Err(Error::Config(format!(
                "images are {c}x{h}x{w}, the model expects {}x{size}x{size}",
                self.config.channels
            )));
        }
        let logits = self.segment_logits(x, train)?;
        Ok(logits.reshape((n / s, s, self.config.classes))?.mean(1)?)
    }

    /// Predicted label of each clip of a batch.
    ///
    /// # Errors
    /// As [`TsnNet::forward`].
    pub fn predict(&self, x: &Tensor) -> Result<Vec<u32>> {
        Ok(self
            .forward(x, false)?
            .detach()
            .argmax(D::Minus1)?
            .to_vec1::<u32>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv3x3_matches_direct_sum() {
        let dev = Device::Cpu;
        let mut rng = Rng::new(1);
        let (n, h, w, c, co) = (2, 5, 4, 3, 2);
        let xs: Vec<f32> = (0..n * h * w * c).map(|_| rng.range(-1.0, 1.0)).collect();
        let x = Tensor::from_vec(xs.clone(), (n, h, w, c), &dev).unwrap();
        let dense = Dense::new(&mut rng, (9 * c, co), 1.0, false, &dev).unwrap();
        let wv: Vec<f32> = dense
            .weight
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let got: Vec<f32> = conv3x3(&x, &dense)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for b in 0..n {
            for y in 0..h {
                for xx in 0..w {
                    for o in 0..co {
                        let mut want = 0.0f32;
                        for dy in 0..3 {
                            for dx in 0..3 {
                                let (sy, sx) = (y as isize + dy - 1, xx as isize + dx - 1);
                                if sy < 0 || sx < 0 || sy >= h as isize || sx >= w as isize {
                                    continue;
                                }
                                for ci in 0..c {
                                    let xi = ((b * h + sy as usize) * w + sx as usize) * c + ci;
                                    let tap = (dy * 3 + dx) as usize;
                                    want += xs[xi] * wv[(tap * c + ci) * co + o];
                                }
                            }
                        }
                        let g = got[((b * h + y) * w + xx) * co + o];
                        assert!((g - want).abs() < 1e-4, "{g} vs {want}");
                    }
                }
            }
        }
    }

    #[test]
    fn forward_shapes_and_consensus() {
        let dev = Device::Cpu;
        let m = TsnNet::new(ModelConfig::default(), 3, &dev).unwrap();
        let x = Tensor::zeros((16, 1, 32, 32), DType::F32, &dev).unwrap();
        assert_eq!(m.segment_logits(&x, false).unwrap().dims(), &[16, 8]);
        let clip = m.forward(&x, false).unwrap();
        assert_eq!(clip.dims(), &[2, 8]);
        // Consensus is the mean of segment scores.
        let seg: Vec<Vec<f32>> = m.segment_logits(&x, false).unwrap().to_vec2().unwrap();
        let got: Vec<Vec<f32>> = clip.to_vec2().unwrap();
        for k in 0..8 {
            let mean: f32 = seg[..8].iter().map(|r| r[k]).sum::<f32>() / 8.0;
            assert!((got[0][k] - mean).abs() < 1e-5);
        }
        assert!(
            m.forward(
                &Tensor::zeros((12, 1, 32, 32), DType::F32, &dev).unwrap(),
                false
            )
            .is_err()
        );
        assert!(
            m.forward(
                &Tensor::zeros((8, 1, 16, 16), DType::F32, &dev).unwrap(),
                false
            )
            .is_err()
        );
    }

    #[test]
    fn model_rejects_bad_config() {
        let dev = Device::Cpu;
        for bad in [
            ModelConfig {
                size: 20,
                ..ModelConfig::default()
            },
            ModelConfig {
                classes: 1,
                ..ModelConfig::default()
            },
            ModelConfig {
                widths: [0, 1, 1, 1],
                ..ModelConfig::default()
            },
        ] {
            assert!(TsnNet::new(bad, 0, &dev).is_err());
        }
    }
}
