//! Batches and samples as [candle](https://docs.rs/candle-core) tensors (the `candle`
//! feature).
//!
//! The values are copied once into a tensor on the given device; the batch's buffer stays
//! with the batch, so it can still be handed back with [`crate::Loader::recycle`].
//!
//! ```no_run
//! use candle_core::Device;
//! use mixdata::{Dataset, DatasetConfig, Loader, LoaderConfig};
//! # let entries = Vec::new();
//! let loader = Loader::new(Dataset::new(entries, DatasetConfig::default())?, LoaderConfig::default())?;
//! for batch in loader.epoch(0) {
//!     let batch = batch?;
//!     let x = batch.to_candle(&Device::Cpu)?;         // [B, S, 3, H, W] f32
//!     let h = batch.to_candle_dtype(mixdata::Dtype::Bf16, &Device::Cpu)?; // the same in bf16
//!     let y = batch.labels_to_candle(&Device::Cpu)?;  // [B] u32, one label per clip
//!     assert_eq!(x.dims()[0], y.dims()[0]);
//!     loader.recycle(batch);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use candle_core::{Device, Tensor};

use crate::values::{Dtype, Values};

use crate::dataset::Sample;
use crate::loader::Batch;

/// A candle error with `message`.
fn error(message: String) -> candle_core::Error {
    candle_core::Error::Msg(message)
}

/// The first `shape.product()` values of `data` as a tensor of `shape`.
fn tensor(data: &[f32], shape: &[usize], device: &Device) -> candle_core::Result<Tensor> {
    let len: usize = shape.iter().product();
    let Some(values) = data.get(..len) else {
        return Err(error(format!(
            "the buffer holds {} values, fewer than the {len} of shape {shape:?}",
            data.len()
        )));
    };
    Tensor::from_slice(values, shape, device)
}

/// `data` (exactly `shape`'s values) as a tensor of `dtype`: halves are rounded by mixcore
/// ([`crate::values`], the contract's bits), then handed to candle as they are.
fn typed(
    data: &[f32],
    shape: &[usize],
    dtype: Dtype,
    device: &Device,
) -> candle_core::Result<Tensor> {
    from_values(Values::from_f32(data, dtype), shape, device)
}

/// `values` (exactly `shape`'s) as a tensor of their type, the bits handed to candle as they are.
fn from_values(values: Values, shape: &[usize], device: &Device) -> candle_core::Result<Tensor> {
    match values {
        Values::F32(v) => Tensor::from_vec(v, shape, device),
        Values::F16(bits) => {
            let v: Vec<half::f16> = bits.into_iter().map(half::f16::from_bits).collect();
            Tensor::from_vec(v, shape, device)
        }
        Values::Bf16(bits) => {
            let v: Vec<half::bf16> = bits.into_iter().map(half::bf16::from_bits).collect();
            Tensor::from_vec(v, shape, device)
        }
    }
}

/// The one label of each of `samples` as a `[n]` u32 tensor.
fn single_labels(
    samples: impl Iterator<Item = (usize, Vec<u32>)>,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let mut labels = Vec::new();
    for (index, l) in samples {
        match l.as_slice() {
            [label] => labels.push(*label),
            other => {
                return Err(error(format!(
                    "sample {index} has {} labels, not one (use multi_hot for several)",
                    other.len()
                )));
            }
        }
    }
    let n = labels.len();
    Tensor::from_vec(labels, n, device)
}

/// Each sample's labels as one row of 0s and 1s (`[n, classes]` f32).
fn multi_hot(
    samples: impl Iterator<Item = (usize, Vec<u32>)>,
    classes: usize,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let mut rows = Vec::new();
    let mut n = 0;
    for (index, labels) in samples {
        let mut row = vec![0.0f32; classes];
        for &label in &labels {
            let slot = row.get_mut(label as usize).ok_or_else(|| {
                error(format!(
                    "sample {index} has label {label}, outside 0..{classes}"
                ))
            })?;
            *slot = 1.0;
        }
        rows.extend_from_slice(&row);
        n += 1;
    }
    Tensor::from_vec(rows, (n, classes), device)
}

impl Batch {
    /// The batch's values as an f32 tensor of [`Batch::full_shape`] (`[B, S, 3, H, W]` for the
    /// `tchw` layout) on `device`: one copy; the batch keeps its buffer for
    /// [`crate::Loader::recycle`].
    ///
    /// # Errors
    /// candle's allocation errors; a batch whose buffer is shorter than its shape (not one a
    /// loader yields).
    pub fn to_candle(&self, device: &Device) -> candle_core::Result<Tensor> {
        match self.dtype {
            Dtype::F32 => tensor(&self.data, &self.full_shape(), device),
            // A batch the loader rounded: its values widened, exactly.
            Dtype::F16 | Dtype::Bf16 => self.to_candle_dtype(Dtype::F32, device),
        }
    }

    /// [`Batch::to_candle`] in `dtype`: an F32, F16 or BF16 tensor whose values are the
    /// batch's rounded once, to nearest, ties to even ([`Batch::values`]; the bits are
    /// mixcore's, not candle's conversion).
    ///
    /// # Errors
    /// As [`Batch::to_candle`].
    pub fn to_candle_dtype(&self, dtype: Dtype, device: &Device) -> candle_core::Result<Tensor> {
        let shape = self.full_shape();
        let len: usize = shape.iter().product();
        if self.dtype != Dtype::F32 {
            // A batch the loader rounded ([`crate::LoaderConfig::dtype`]): as Batch::values.
            if self.half.len() < len {
                return Err(error(format!(
                    "the buffer holds {} values, fewer than the {len} of shape {shape:?}",
                    self.half.len()
                )));
            }
            return from_values(self.values(dtype), &shape, device);
        }
        let Some(values) = self.data.get(..len) else {
            return Err(error(format!(
                "the buffer holds {} values, fewer than the {len} of shape {shape:?}",
                self.data.len()
            )));
        };
        typed(values, &shape, dtype, device)
    }

    /// The samples' labels as a `[B]` u32 tensor, for a cross-entropy loss.
    ///
    /// # Errors
    /// A sample with no label or several, naming its index in the dataset (use
    /// [`Batch::labels_to_candle_multi_hot`] for multi-label lists).
    pub fn labels_to_candle(&self, device: &Device) -> candle_core::Result<Tensor> {
        single_labels(
            self.indices
                .iter()
                .copied()
                .zip(self.labels.iter().cloned()),
            device,
        )
    }

    /// The samples' labels as a `[B, classes]` f32 tensor of 0s and 1s (multi-label lists,
    /// for a binary cross-entropy loss).
    ///
    /// # Errors
    /// A label outside `0..classes`, naming the sample's index in the dataset.
    pub fn labels_to_candle_multi_hot(
        &self,
        classes: usize,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        multi_hot(
            self.indices
                .iter()
                .copied()
                .zip(self.labels.iter().cloned()),
            classes,
            device,
        )
    }
}

impl Sample {
    /// The sample's values as an f32 tensor of [`crate::SampleInfo::full_shape`] (`[S, 3, H, W]` for
    /// `tchw`) on `device`.
    ///
    /// # Errors
    /// candle's allocation errors; a sample whose values do not fill its shape.
    pub fn to_candle(&self, device: &Device) -> candle_core::Result<Tensor> {
        let shape = self.info.full_shape();
        let len: usize = shape.iter().product();
        if self.data.len() != len {
            return Err(error(format!(
                "sample {} holds {} values, not the {len} of shape {shape:?}",
                self.info.index,
                self.data.len()
            )));
        }
        tensor(&self.data, &shape, device)
    }

    /// [`Sample::to_candle`] in `dtype` (F32, F16 or BF16; the values rounded once, to nearest,
    /// ties to even, as [`Sample::values`]).
    ///
    /// # Errors
    /// As [`Sample::to_candle`].
    pub fn to_candle_dtype(&self, dtype: Dtype, device: &Device) -> candle_core::Result<Tensor> {
        let shape = self.info.full_shape();
        let len: usize = shape.iter().product();
        if self.data.len() != len {
            return Err(error(format!(
                "sample {} holds {} values, not the {len} of shape {shape:?}",
                self.info.index,
                self.data.len()
            )));
        }
        typed(&self.data, &shape, dtype, device)
    }

    /// The sample's one label as a scalar u32 tensor.
    ///
    /// # Errors
    /// A sample with no label or several.
    pub fn label_to_candle(&self, device: &Device) -> candle_core::Result<Tensor> {
        single_labels(
            std::iter::once((self.info.index, self.info.labels.clone())),
            device,
        )?
        .squeeze(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(labels: Vec<Vec<u32>>) -> Batch {
        let n = labels.len();
        let shape = [n, 2, 3, 2, 1];
        let len: usize = shape.iter().product();
        Batch {
            data: (0..len).map(|v| v as f32).collect(),
            half: Vec::new(),
            dtype: Dtype::F32,
            shape,
            views: 1,
            indices: (10..10 + n).collect(),
            labels,
            samples: Vec::new(),
            skipped: Vec::new(),
        }
    }

    #[test]
    fn batch_to_candle_keeps_shape_and_values() {
        let b = batch(vec![vec![3], vec![1]]);
        let x = b.to_candle(&Device::Cpu).unwrap();
        assert_eq!(x.dims(), &[2, 2, 3, 2, 1]);
        assert_eq!(x.dtype(), candle_core::DType::F32);
        let values: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(values, b.data);
        let y = b.labels_to_candle(&Device::Cpu).unwrap();
        assert_eq!(y.dims(), &[2]);
        assert_eq!(y.to_vec1::<u32>().unwrap(), vec![3, 1]);
    }

    /// The bit patterns of an F16 tensor's values.
    fn f16_bits_of(x: &Tensor) -> Vec<u16> {
        let values = x.flatten_all().unwrap().to_vec1::<half::f16>().unwrap();
        values.iter().map(|h| h.to_bits()).collect()
    }

    #[test]
    fn half_tensors_hold_the_contracts_bits() {
        let mut b = batch(vec![vec![3], vec![1]]);
        for (i, v) in b.data.iter_mut().enumerate() {
            *v = (i as f32 + 0.3) / 7.0;
        }
        let x = b.to_candle_dtype(Dtype::Bf16, &Device::Cpu).unwrap();
        assert_eq!(x.dtype(), candle_core::DType::BF16);
        assert_eq!(x.dims(), &[2, 2, 3, 2, 1]);
        let got: Vec<u16> = x
            .flatten_all()
            .unwrap()
            .to_vec1::<half::bf16>()
            .unwrap()
            .iter()
            .map(|h| h.to_bits())
            .collect();
        assert_eq!(got, b.to_half(crate::Half::Bf16));
        let x = b.to_candle_dtype(Dtype::F16, &Device::Cpu).unwrap();
        assert_eq!(x.dtype(), candle_core::DType::F16);
        let got = f16_bits_of(&x);
        assert_eq!(got, b.to_half(crate::Half::F16));
        let x = b.to_candle_dtype(Dtype::F32, &Device::Cpu).unwrap();
        assert_eq!(x.flatten_all().unwrap().to_vec1::<f32>().unwrap(), b.data);

        // A batch the loader rounded to f16: its bits as they are, or widened exactly.
        let bits = b.to_half(crate::Half::F16);
        let mut h = batch(vec![vec![3], vec![1]]);
        (h.data, h.half, h.dtype) = (Vec::new(), bits.clone(), Dtype::F16);
        let x = h.to_candle_dtype(Dtype::F16, &Device::Cpu).unwrap();
        let got = f16_bits_of(&x);
        assert_eq!(got, bits);
        let x = h.to_candle(&Device::Cpu).unwrap();
        assert_eq!(x.dtype(), candle_core::DType::F32);
        let wide: Vec<f32> = bits.iter().map(|&b| crate::Half::F16.to_f32(b)).collect();
        assert_eq!(x.flatten_all().unwrap().to_vec1::<f32>().unwrap(), wide);
        h.half.truncate(3);
        assert!(h.to_candle(&Device::Cpu).is_err());
    }

    #[test]
    fn a_buffer_longer_than_the_shape_gives_the_shape() {
        let mut b = batch(vec![vec![0]]);
        b.data.extend([99.0; 7]);
        let x = b.to_candle(&Device::Cpu).unwrap();
        assert_eq!(x.elem_count(), 12);
        b.data.truncate(5);
        let err = b.to_candle(&Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("fewer than the 12"), "{err}");
    }

    #[test]
    fn labels_need_exactly_one_per_sample_unless_multi_hot() {
        let b = batch(vec![vec![2], vec![0, 4], vec![]]);
        let err = b.labels_to_candle(&Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("sample 11 has 2 labels"), "{err}");
        let m = b.labels_to_candle_multi_hot(5, &Device::Cpu).unwrap();
        assert_eq!(
            m.to_vec2::<f32>().unwrap(),
            vec![
                vec![0.0, 0.0, 1.0, 0.0, 0.0],
                vec![1.0, 0.0, 0.0, 0.0, 1.0],
                vec![0.0; 5]
            ]
        );
        let err = b
            .labels_to_candle_multi_hot(4, &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sample 11 has label 4, outside 0..4"), "{err}");
    }
}
