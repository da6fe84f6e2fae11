//! A mixdata [`Dataset`] as a [burn](https://burn.dev) dataset (the `burn` feature):
//! [`BurnDataset`] implements `burn_dataset::Dataset<Sample>`, so burn's data loaders, its
//! `ShuffledDataset` and the rest can drive mixdata's decoding and mixing.
//!
//! burn's trait has no epoch and no errors: `get(index)` returns `Option<Sample>`. So the
//! epoch is state of the [`BurnDataset`], set with [`BurnDataset::set_epoch`] before each
//! epoch (it is atomic: a data loader holding the dataset in an `Arc` sees the change), and a
//! clip that fails to decode gives `None`, with its error kept for
//! [`BurnDataset::take_errors`]. burn's own iterators end at the first `None`, so a failed
//! clip ends an epoch there: look at the errors after each epoch (or wrap the dataset to
//! skip). A sample's bits follow mixdata's seed rule, `(seed, epoch, index)`, whatever order
//! or thread burn fetches it in.
//!
//! ```no_run
//! use burn_dataset::Dataset as _;
//! use mixdata::integrations::burn::BurnDataset;
//! use mixdata::{Dataset, DatasetConfig, Mode};
//! # let entries = Vec::new();
//! let config = DatasetConfig { mode: Mode::Train { seed: 7 }, ..DatasetConfig::default() };
//! let dataset = BurnDataset::new(Dataset::new(entries, config)?);
//! for epoch in 0..10 {
//!     dataset.set_epoch(epoch);
//!     for sample in dataset.iter() {
//!         // sample.data: [8, 3, H, W] f32; sample.info.labels, sample.info.segments, ...
//!     }
//!     for (index, error) in dataset.take_errors() {
//!         eprintln!("clip {index} skipped: {error}");
//!     }
//! }
//! # Ok::<(), mixdata::Error>(())
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::dataset::{Dataset, Sample};
use crate::error::Error;

/// A mixdata dataset with a current epoch, as burn's `Dataset<Sample>`.
#[derive(Debug)]
pub struct BurnDataset {
    dataset: Arc<Dataset>,
    epoch: AtomicU64,
    errors: Mutex<Vec<(usize, Error)>>,
}

impl BurnDataset {
    /// `dataset` at epoch 0.
    pub fn new(dataset: impl Into<Arc<Dataset>>) -> Self {
        BurnDataset {
            dataset: dataset.into(),
            epoch: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// The mixdata dataset.
    #[must_use]
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// The epoch `get` mixes samples for.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Makes `get` mix samples as `epoch` draws them (train mode; test mode ignores it).
    pub fn set_epoch(&self, epoch: u64) {
        self.epoch.store(epoch, Ordering::Release);
    }

    /// The errors of the samples that gave `None` since the last call, with their indices, in
    /// the order they happened; the list is emptied.
    pub fn take_errors(&self) -> Vec<(usize, Error)> {
        std::mem::take(&mut *self.errors.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl burn_dataset::Dataset<Sample> for BurnDataset {
    /// Sample `index` mixed for the current epoch ([`Dataset::get`]); `None` for an index out
    /// of range, or for a clip that fails (its error goes to [`BurnDataset::take_errors`]).
    fn get(&self, index: usize) -> Option<Sample> {
        if index >= self.dataset.len() {
            return None;
        }
        match self.dataset.get(index, self.epoch()) {
            Ok(sample) => Some(sample),
            Err(e) => {
                self.errors
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((index, e));
                None
            }
        }
    }

    fn len(&self) -> usize {
        self.dataset.len()
    }
}
