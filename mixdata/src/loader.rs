//! The loader: a dataset's samples in batches, decoded by worker threads, in order.
//!
//! - **Order.** Each epoch visits every sample once, in list order or, with
//!   [`LoaderConfig::shuffle`], in [`crate::seed::shuffle_order`]`(len, seed, epoch)`.
//!   Batches are consecutive runs of that order, [`LoaderConfig::batch_size`] samples each;
//!   the last one is shorter unless [`LoaderConfig::drop_last`] drops it.
//! - **Workers.** `workers` threads each fill whole batches ("batch `n`" is positions
//!   `n * B .. (n + 1) * B` of the order), writing every sample straight into its slot of
//!   the batch's buffer ([`crate::Dataset::get_into`], no copy); `workers = 0` decodes on the
//!   calling thread. At most [`LoaderConfig::in_flight`] batches are in flight (being filled
//!   or waiting to be handed out), so memory is bounded by that and the batch size, whatever
//!   the dataset's size. Batches come out in order whatever order workers finish them in.
//! - **Determinism.** A sample's bits depend only on `(seed, epoch, index)` (the dataset's
//!   rule) and a batch's contents only on the order and on which samples fail, so any number
//!   of workers gives the same batches, bit for bit.
//! - **Errors.** [`ErrorPolicy::Fail`]: the first sample that fails (in order) ends the epoch:
//!   the iterator yields its error, then nothing. [`ErrorPolicy::Skip`]: a failed sample is
//!   left out and the batch is filled from the samples after it (samples move up in the
//!   buffer; only then is anything copied), and [`Batch::skipped`] names each sample left out
//!   since the previous batch, with its error ([`Epoch::skipped`]: those after the last
//!   batch).
//! - **Buffers.** [`Loader::recycle`] hands a batch's buffer back; with every batch recycled,
//!   the loader allocates no buffer after its first `in_flight() + 2`
//!   ([`Loader::buffers_allocated`]).
//! - **Shapes.** Every sample of a loader has one shape, the dataset's fixed shape (a crop or
//!   an exact resize) or else the shape of the first clip in list order that opens. A clip of
//!   another shape is an error naming it ([`crate::Problem::ShapeMismatch`]). With
//!   [`LoaderConfig::ragged`] (batches of one sample) every sample keeps its own shape
//!   instead: each batch's buffer is sized to its sample.
//! - **Views.** With three crops ([`crate::CropMode::Three`]) every sample has three views,
//!   and a batch is `[B, 3, S, 3, H, W]` (`tchw`; [`Batch::full_shape`]): each sample's three
//!   views one after the other, in its slot.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::dataset::{Dataset, SampleInfo};
use crate::error::{Error, Problem, Result};
use crate::seed;
use crate::values::{Dtype, Half, Values};

/// What a failed sample does to an epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ErrorPolicy {
    /// The epoch ends at the first failed sample; the iterator yields its error. Default.
    #[default]
    Fail,
    /// The sample is left out, reported in [`Batch::skipped`], and its batch is filled from
    /// the next samples.
    Skip,
}

/// How a [`Loader`] batches a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LoaderConfig {
    /// Samples per batch, at least 1. Default: 8.
    pub batch_size: usize,
    /// Worker threads that decode and mix; 0 decodes on the thread that iterates.
    /// Default: 0.
    pub workers: usize,
    /// Batches in flight at most (being filled or waiting to be handed out), at least 1; raised
    /// to `workers` when smaller, so every worker can fill one ([`LoaderConfig::in_flight`]).
    /// Default: 2.
    pub prefetch: usize,
    /// Visit the samples in a new seeded order each epoch ([`crate::seed::shuffle_order`]);
    /// false keeps list order. Default: false.
    pub shuffle: bool,
    /// The seed of the shuffle. Default: 0.
    pub seed: u64,
    /// Leave out the last batch when it is shorter than `batch_size`. Default: false.
    pub drop_last: bool,
    /// What a failed sample does. Default: [`ErrorPolicy::Fail`].
    pub on_error: ErrorPolicy,
    /// Every sample keeps its own shape (clips of different sizes without a resize or crop):
    /// each batch holds one sample, in a buffer sized to it ([`Batch::shape`]), and nothing
    /// is decoded to find a common shape. Needs `batch_size` 1. Default: false.
    pub ragged: bool,
    /// The element type of the batches: `f32` as mixed, in [`Batch::data`], or `f16`/`bf16`,
    /// in [`Batch::half`], each value the `f32` one rounded once to nearest, ties to even
    /// (docs/contract.md, section 10) by the worker that mixed it, so the thread that iterates
    /// does no rounding. Default: `f32`.
    pub dtype: Dtype,
}

impl LoaderConfig {
    /// The batches in flight at most: `max(prefetch, workers, 1)`. Memory is about this many
    /// batch buffers, plus the one being taken apart and the one handed out.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.prefetch.max(self.workers).max(1)
    }
}

impl Default for LoaderConfig {
    fn default() -> Self {
        LoaderConfig {
            batch_size: 8,
            workers: 0,
            prefetch: 2,
            shuffle: false,
            seed: 0,
            drop_last: false,
            on_error: ErrorPolicy::Fail,
            ragged: false,
            dtype: Dtype::F32,
        }
    }
}

/// A sample left out of an epoch under [`ErrorPolicy::Skip`].
#[derive(Debug)]
pub struct Skipped {
    /// Its index in the dataset.
    pub index: usize,
    /// Why it failed (naming the clip).
    pub error: Error,
}

/// Consecutive samples of an epoch's order, in one contiguous buffer.
#[derive(Debug)]
pub struct Batch {
    /// The values, [`Batch::full_shape`] in C order: sample `i` is
    /// `data[i * sample_len .. (i + 1) * sample_len]`. Empty when the loader rounds to a half
    /// format ([`LoaderConfig::dtype`]): the values are then in [`Batch::half`].
    pub data: Vec<f32>,
    /// The values as bit patterns of [`Batch::dtype`], in the order `data` would hold them,
    /// when the loader rounds to `f16` or `bf16` ([`LoaderConfig::dtype`]); empty for `f32`.
    pub half: Vec<u16>,
    /// The element type of the values: [`Dtype::F32`] in `data`, a half format in `half`.
    pub dtype: Dtype,
    /// `[B, ...]`: the number of samples, then the shape of one view of a sample in the
    /// dataset's layout (`[B, S, 3, H, W]` for `tchw`, `[B, 3, S, H, W]` for `cthw`); the whole
    /// batch's with one view per sample.
    pub shape: [usize; 5],
    /// Views per sample: 3 with three crops, else 1. With 3, each sample holds its views one
    /// after the other and the batch is `[B, 3, ...]` ([`Batch::full_shape`]).
    pub views: usize,
    /// The samples' indices in the dataset.
    pub indices: Vec<usize>,
    /// The samples' labels.
    pub labels: Vec<Vec<u32>>,
    /// Everything else about each sample (plan, F, seed, damage).
    pub samples: Vec<SampleInfo>,
    /// Samples left out since the previous batch ([`ErrorPolicy::Skip`]). Those left out
    /// after the last batch: [`Epoch::skipped`].
    pub skipped: Vec<Skipped>,
}

impl Batch {
    /// The whole batch's shape: [`Batch::shape`] with one view per sample, `[B, V, ...]`
    /// with V > 1 (three crops: `[B, 3, S, 3, H, W]` for `tchw`).
    #[must_use]
    pub fn full_shape(&self) -> Vec<usize> {
        let [b, rest @ ..] = self.shape;
        if self.views > 1 {
            [b, self.views].into_iter().chain(rest).collect()
        } else {
            self.shape.to_vec()
        }
    }

    /// The number of samples.
    #[must_use]
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// True for a batch without samples (never yielded).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// The batch's values ([`Batch::full_shape`]'s worth) in `dtype` ([`crate::values`]).
    /// From an `f32` batch: copied for [`Dtype::F32`], else each rounded once to the half
    /// format (nearest, ties to even: docs/contract.md, section 10). From a batch the loader
    /// rounded ([`LoaderConfig::dtype`]): its own values copied, or widened to `f32` (exact);
    /// asking it for the other half format rounds a second time (f16 to bf16 through `f32`),
    /// which is not the contract's value of the mix: ask the loader for the type you want.
    /// The batch keeps its buffer for [`Loader::recycle`].
    #[must_use]
    pub fn values(&self, dtype: Dtype) -> Values {
        match self.dtype.half() {
            None => Values::from_f32(self.shaped(), dtype),
            Some(own) if dtype.half() == Some(own) => {
                Values::from_half(own, self.shaped_half().to_vec())
            }
            Some(own) => Values::from_vec(self.widened(own), dtype),
        }
    }

    /// The batch's values in its own element type ([`Batch::dtype`]), moved out of it
    /// ([`Batch::full_shape`]'s worth; no copy, no rounding).
    #[must_use]
    pub fn into_values(mut self) -> Values {
        let len: usize = self.full_shape().iter().product();
        match self.dtype.half() {
            None => {
                self.data.truncate(len);
                Values::F32(self.data)
            }
            Some(own) => {
                self.half.truncate(len);
                Values::from_half(own, self.half)
            }
        }
    }

    /// The batch's values rounded to `half` (nearest, ties to even), as bit patterns in the
    /// order of [`Batch::data`] ([`Batch::full_shape`]'s worth); as [`Batch::values`] for a
    /// batch the loader rounded.
    ///
    /// ```
    /// # fn f(batch: &mixdata::Batch) {
    /// let bits = batch.to_half(mixdata::Half::F16); // e.g. for a .npy '<f2' or an f16 tensor
    /// assert_eq!(bits.len(), batch.full_shape().iter().product::<usize>());
    /// # }
    /// ```
    #[must_use]
    pub fn to_half(&self, half: Half) -> Vec<u16> {
        match self.dtype.half() {
            None => crate::values::to_half(self.shaped(), half),
            Some(own) if own == half => self.shaped_half().to_vec(),
            Some(own) => crate::values::to_half(&self.widened(own), half),
        }
    }

    /// The part of `data` the shape covers (a recycled buffer may be longer).
    fn shaped(&self) -> &[f32] {
        let len: usize = self.full_shape().iter().product();
        &self.data[..len.min(self.data.len())]
    }

    /// The values of a batch the loader rounded to `own`, widened to `f32` (exact).
    fn widened(&self, own: Half) -> Vec<f32> {
        self.shaped_half().iter().map(|&b| own.to_f32(b)).collect()
    }

    /// The part of `half` the shape covers.
    fn shaped_half(&self) -> &[u16] {
        let len: usize = self.full_shape().iter().product();
        &self.half[..len.min(self.half.len())]
    }
}

/// A filled batch's values: `f32` as mixed, or rounded by the worker
/// ([`LoaderConfig::dtype`]).
enum Buf {
    F32(Vec<f32>),
    Half(Vec<u16>),
}

/// A batch buffer's element type, for taking filled buffers apart ([`Epoch::assemble`]).
trait Elem: Copy {
    /// The vector of `batch` that holds values of this type.
    fn vec(batch: &mut Batch) -> &mut Vec<Self>;
    /// Hands a buffer no batch adopted back for reuse, where buffers of this type are reused.
    fn give_back(shared: &Shared, buf: Vec<Self>);
}

impl Elem for f32 {
    fn vec(batch: &mut Batch) -> &mut Vec<f32> {
        &mut batch.data
    }
    fn give_back(shared: &Shared, buf: Vec<f32>) {
        shared.give_back(buf);
    }
}

impl Elem for u16 {
    fn vec(batch: &mut Batch) -> &mut Vec<u16> {
        &mut batch.half
    }
    fn give_back(_: &Shared, _: Vec<u16>) {}
}

/// What the workers and the iterator share.
struct Shared {
    dataset: Arc<Dataset>,
    config: LoaderConfig,
    /// One view's shape.
    shape: [usize; 4],
    views: usize,
    /// Values per sample, every view.
    sample_len: usize,
    /// Buffers handed back, ready for reuse.
    pool: Mutex<Vec<Vec<f32>>>,
    allocated: AtomicUsize,
}

impl Shared {
    fn batch_len(&self) -> usize {
        self.sample_len * self.config.batch_size
    }

    /// A buffer of a whole batch: a recycled one, or a new one (ragged: of whatever length
    /// it has; the sample sizes it).
    fn buffer(&self) -> Vec<f32> {
        let mut buf = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_else(|| {
                self.allocated.fetch_add(1, Ordering::Relaxed);
                Vec::with_capacity(self.batch_len())
            });
        if !self.config.ragged {
            buf.resize(self.batch_len(), 0.0);
        }
        buf
    }

    fn give_back(&self, buf: Vec<f32>) {
        if buf.capacity() < self.batch_len() || (self.config.ragged && buf.capacity() == 0) {
            return;
        }
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        // Never more than an epoch can use at once.
        if pool.len() < self.config.in_flight() + 2 {
            pool.push(buf);
        }
    }

    /// Fills batch `n` of `order` into a buffer: each slot's result, in order.
    fn fill(&self, order: &[usize], epoch: u64, n: usize, stop: &AtomicBool) -> Filled {
        let b = self.config.batch_size;
        let positions = n * b..((n + 1) * b).min(order.len());
        let mut buf = self.buffer();
        let mut results = Vec::with_capacity(positions.len());
        for (slot, p) in positions.enumerate() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let index = order[p];
            let mixed = if self.config.ragged {
                self.dataset.get_into_vec(index, epoch, &mut buf)
            } else {
                let out = &mut buf[slot * self.sample_len..(slot + 1) * self.sample_len];
                self.dataset.get_into_shaped(index, epoch, out, self.shape)
            };
            let slot = match mixed {
                Ok(info) => Slot::Done(info),
                Err(error) => Slot::Failed(Skipped { index, error }),
            };
            let failed = matches!(slot, Slot::Failed(_));
            results.push(slot);
            if failed && self.config.on_error == ErrorPolicy::Fail {
                break;
            }
        }
        let buf = match self.config.dtype.half() {
            None => Buf::F32(buf),
            Some(half) => {
                // Rounded here, on the worker; the f32 buffer goes back to the pool at once.
                let len = if self.config.ragged {
                    buf.len()
                } else {
                    (results.len() * self.sample_len).min(buf.len())
                };
                let bits = crate::values::to_half(&buf[..len], half);
                self.give_back(buf);
                Buf::Half(bits)
            }
        };
        Filled { buf, results }
    }
}

/// A batch of the order as filled: slot results in order (a slot's values are in `buf`).
struct Filled {
    buf: Buf,
    results: Vec<Slot>,
}

/// One slot of a filled batch.
enum Slot {
    Done(SampleInfo),
    Failed(Skipped),
}

/// Batches of a [`Dataset`]: see the [module docs](self).
///
/// ```no_run
/// use mixdata::{Dataset, DatasetConfig, Loader, LoaderConfig, ListFormat};
/// # let entries = Vec::new();
/// let dataset = Dataset::new(entries, DatasetConfig::default())?;
/// let loader = Loader::new(dataset, LoaderConfig { batch_size: 16, workers: 4, ..Default::default() })?;
/// for epoch in 0..10 {
///     for batch in loader.epoch(epoch) {
///         let batch = batch?;
///         // batch.data: [16, 8, 3, H, W]; batch.labels: one Vec<u32> per sample
///         loader.recycle(batch);
///     }
/// }
/// # Ok::<(), mixdata::Error>(())
/// ```
pub struct Loader {
    shared: Arc<Shared>,
}

impl Loader {
    /// A loader over `dataset`. Finds the sample shape: the dataset's fixed shape, or the
    /// shape of the first clip in list order whose first frame decodes (ragged: none is
    /// needed; [`Loader::sample_shape`] is then all zeros unless the shape is fixed).
    ///
    /// # Errors
    /// A batch size or prefetch of 0, or `ragged` with a batch size other than 1
    /// ([`Problem::Usage`]); an empty dataset; no clip that opens (the first clip's error).
    pub fn new(dataset: impl Into<Arc<Dataset>>, config: LoaderConfig) -> Result<Self> {
        let dataset = dataset.into();
        if config.batch_size == 0 || config.prefetch == 0 {
            return Err(Error::bare(Problem::Usage(
                "the loader's batch size and prefetch must be at least 1".into(),
            )));
        }
        if config.ragged && config.batch_size != 1 {
            return Err(Error::bare(Problem::Usage(format!(
                "a ragged loader (samples of their own shapes) takes batches of one sample, not {}",
                config.batch_size
            ))));
        }
        if dataset.is_empty() {
            return Err(Error::bare(Problem::Usage(
                "the dataset has no clips to load".into(),
            )));
        }
        let shape = match dataset.fixed_shape() {
            Some(shape) => shape,
            None if config.ragged => [0; 4],
            None => {
                let mut first_error = None;
                let mut found = None;
                for i in 0..dataset.len() {
                    match dataset.shape_of(i) {
                        Ok(shape) => {
                            found = Some(shape);
                            break;
                        }
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                match (found, first_error) {
                    (Some(shape), _) => shape,
                    (None, Some(e)) => return Err(e),
                    (None, None) => {
                        return Err(Error::bare(Problem::Usage(
                            "the dataset has no clips to load".into(),
                        )));
                    }
                }
            }
        };
        let views = dataset.views();
        let sample_len = shape
            .iter()
            .try_fold(views, |n, &d| n.checked_mul(d))
            .unwrap_or(usize::MAX);
        let batch_len = sample_len as u128 * config.batch_size as u128;
        if batch_len > isize::MAX as u128 / 4 {
            return Err(Error::bare(Problem::Usage(format!(
                "a batch of {} samples of {views} views of shape {shape:?} does not fit in memory",
                config.batch_size
            ))));
        }
        Ok(Loader {
            shared: Arc::new(Shared {
                dataset,
                config,
                shape,
                views,
                sample_len,
                pool: Mutex::new(Vec::new()),
                allocated: AtomicUsize::new(0),
            }),
        })
    }

    /// The dataset.
    #[must_use]
    pub fn dataset(&self) -> &Dataset {
        &self.shared.dataset
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &LoaderConfig {
        &self.shared.config
    }

    /// The shape of one view of every sample (the sample's, with one view; ragged without a
    /// fixed shape: all zeros, and each [`Batch::shape`] has its sample's).
    #[must_use]
    pub fn sample_shape(&self) -> [usize; 4] {
        self.shared.shape
    }

    /// Views per sample: 3 with three crops, else 1 ([`crate::Dataset::views`]).
    #[must_use]
    pub fn views(&self) -> usize {
        self.shared.views
    }

    /// The order in which `epoch` visits the samples.
    #[must_use]
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let len = self.shared.dataset.len();
        if self.shared.config.shuffle {
            seed::shuffle_order(len, self.shared.config.seed, epoch)
        } else {
            (0..len).collect()
        }
    }

    /// Batches per epoch when no sample is skipped.
    #[must_use]
    pub fn batches_per_epoch(&self) -> usize {
        let (len, b) = (self.shared.dataset.len(), self.shared.config.batch_size);
        if self.shared.config.drop_last {
            len / b
        } else {
            len.div_ceil(b)
        }
    }

    /// Hands a batch's buffer back for reuse by later batches.
    pub fn recycle(&self, batch: Batch) {
        self.shared.give_back(batch.data);
    }

    /// Batch buffers allocated so far (recycled buffers are reused instead).
    #[must_use]
    pub fn buffers_allocated(&self) -> usize {
        self.shared.allocated.load(Ordering::Relaxed)
    }

    /// The batches of `epoch`, in order. Workers start now and stop when the iterator ends or
    /// is dropped.
    #[must_use]
    pub fn epoch(&self, epoch: u64) -> Epoch {
        Epoch::new(Arc::clone(&self.shared), self.order(epoch).into(), epoch)
    }
}

/// The in-flight bound: a worker takes a permit before it claims a batch; the iterator gives
/// it back when it has taken the batch apart.
struct Permits {
    free: Mutex<usize>,
    changed: Condvar,
}

impl Permits {
    /// Waits for a permit; false when the epoch stopped meanwhile.
    fn take(&self, stop: &AtomicBool) -> bool {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if stop.load(Ordering::Acquire) {
                return false;
            }
            if *free > 0 {
                *free -= 1;
                return true;
            }
            free = self
                .changed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give(&self) {
        *self.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.changed.notify_one();
    }

    fn wake_all(&self) {
        let _guard = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        self.changed.notify_all();
    }
}

/// The batches of one epoch ([`Loader::epoch`]): an iterator of `Result<Batch>`.
pub struct Epoch {
    shared: Arc<Shared>,
    order: Arc<[usize]>,
    epoch: u64,
    /// Batches of the order (`ceil(len / B)`).
    natural: usize,
    /// The next batch of the order to take apart.
    next: usize,
    /// Batches filled ahead of `next`, by number.
    ready: BTreeMap<usize, Filled>,
    /// With workers: their results and the in-flight bound.
    threads: Option<Workers>,
    /// Batches finished but not yet yielded.
    out: VecDeque<Batch>,
    /// The batch being filled from the taken-apart ones (Skip policy, after a skip).
    partial: Option<Batch>,
    /// Skipped samples not yet reported.
    skipped: Vec<Skipped>,
    stop: Arc<AtomicBool>,
    done: bool,
}

struct Workers {
    results: mpsc::Receiver<(usize, Filled)>,
    permits: Arc<Permits>,
    handles: Vec<JoinHandle<()>>,
}

impl Epoch {
    fn new(shared: Arc<Shared>, order: Arc<[usize]>, epoch: u64) -> Self {
        let natural = order.len().div_ceil(shared.config.batch_size);
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (shared.config.workers > 0 && natural > 0).then(|| {
            let permits = Arc::new(Permits {
                free: Mutex::new(shared.config.in_flight()),
                changed: Condvar::new(),
            });
            let claim = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = mpsc::channel();
            let handles = (0..shared.config.workers.min(natural))
                .map(|_| {
                    let (shared, order, stop, permits, claim, tx) = (
                        Arc::clone(&shared),
                        Arc::clone(&order),
                        Arc::clone(&stop),
                        Arc::clone(&permits),
                        Arc::clone(&claim),
                        tx.clone(),
                    );
                    std::thread::spawn(move || {
                        while permits.take(&stop) {
                            let n = claim.fetch_add(1, Ordering::AcqRel);
                            if n >= natural {
                                permits.give();
                                break;
                            }
                            let filled = fill_catching(&shared, &order, epoch, n, &stop);
                            if tx.send((n, filled)).is_err() {
                                break;
                            }
                        }
                    })
                })
                .collect();
            Workers {
                results: rx,
                permits,
                handles,
            }
        });
        Epoch {
            shared,
            order,
            epoch,
            natural,
            next: 0,
            ready: BTreeMap::new(),
            threads,
            out: VecDeque::new(),
            partial: None,
            skipped: Vec::new(),
            stop,
            done: false,
        }
    }

    /// Batch `self.next` of the order, filled.
    fn take_next(&mut self) -> Filled {
        let n = self.next;
        let Some(workers) = &self.threads else {
            return self.shared.fill(&self.order, self.epoch, n, &self.stop);
        };
        loop {
            if let Some(filled) = self.ready.remove(&n) {
                workers.permits.give();
                return filled;
            }
            match workers.results.recv() {
                Ok((m, filled)) => {
                    self.ready.insert(m, filled);
                }
                Err(_) => {
                    // Every worker ended without this batch (they catch panics, so this is
                    // not expected): an error rather than a wait without end.
                    let index = self.order.get(n * self.shared.config.batch_size);
                    return Filled {
                        buf: Buf::F32(Vec::new()),
                        results: vec![Slot::Failed(Skipped {
                            index: index.copied().unwrap_or(0),
                            error: Error::bare(Problem::Usage(
                                "the loader's workers stopped before this batch".into(),
                            )),
                        })],
                    };
                }
            }
        }
    }

    /// An empty batch, its values to come.
    fn batch(&self) -> Batch {
        let b = self.shared.config.batch_size;
        Batch {
            data: Vec::new(),
            half: Vec::new(),
            dtype: self.shared.config.dtype,
            shape: [0, 0, 0, 0, 0],
            views: self.shared.views,
            indices: Vec::with_capacity(b),
            labels: Vec::with_capacity(b),
            samples: Vec::with_capacity(b),
            skipped: Vec::new(),
        }
    }

    /// Closes `batch` (its length and shape) and queues it.
    fn finish(&mut self, mut batch: Batch) {
        let n = batch.indices.len();
        let s = match (self.shared.config.ragged, batch.samples.first()) {
            (true, Some(sample)) => sample.shape,
            _ => self.shared.shape,
        };
        batch.shape = [n, s[0], s[1], s[2], s[3]];
        let len = n * self.shared.views * s.iter().product::<usize>();
        batch.data.truncate(len);
        batch.half.truncate(len);
        batch.skipped = std::mem::take(&mut self.skipped);
        self.out.push_back(batch);
    }

    /// Takes a filled batch of the order apart into the output batches (see the module docs).
    /// Returns the first error under [`ErrorPolicy::Fail`].
    fn assemble(&mut self, filled: Filled) -> Option<Error> {
        match filled.buf {
            Buf::F32(buf) => self.assemble_in(buf, filled.results),
            Buf::Half(buf) => self.assemble_in(buf, filled.results),
        }
    }

    /// [`Epoch::assemble`] of a buffer of `T` values.
    fn assemble_in<T: Elem>(&mut self, mut buf: Vec<T>, results: Vec<Slot>) -> Option<Error> {
        let b = self.shared.config.batch_size;
        let len = self.shared.sample_len;
        // `own`: the output batch that lives in `buf` (adopted when none is being filled).
        let mut own: Option<Batch> = None;
        for (slot, result) in results.into_iter().enumerate() {
            let info = match result {
                Slot::Done(info) => info,
                Slot::Failed(skipped) => {
                    if self.shared.config.on_error == ErrorPolicy::Fail {
                        T::give_back(&self.shared, buf);
                        return Some(skipped.error);
                    }
                    self.skipped.push(skipped);
                    continue;
                }
            };
            if let Some(partial) = self.partial.as_mut() {
                // Copy into the batch being filled from earlier buffers.
                let at = partial.indices.len() * len;
                T::vec(partial)[at..at + len].copy_from_slice(&buf[slot * len..(slot + 1) * len]);
                push_info(partial, info);
                if partial.indices.len() == b
                    && let Some(full) = self.partial.take()
                {
                    self.finish(full);
                }
                continue;
            }
            let batch = own.get_or_insert_with(|| self.batch());
            let at = batch.indices.len();
            if at != slot {
                buf.copy_within(slot * len..(slot + 1) * len, at * len);
            }
            push_info(batch, info);
        }
        match own {
            Some(mut batch) => {
                *T::vec(&mut batch) = buf;
                if batch.indices.len() == b {
                    self.finish(batch);
                } else {
                    // Short after a skip (or the order's last): the next buffers fill it.
                    self.partial = Some(batch);
                }
            }
            None => T::give_back(&self.shared, buf),
        }
        None
    }

    /// The samples skipped after the last batch this iterator yielded ([`ErrorPolicy::Skip`]):
    /// every other skip is reported on the batch after it ([`Batch::skipped`]). Complete once
    /// the iterator has ended; taken, so a second call returns nothing.
    ///
    /// ```no_run
    /// # fn f(loader: &mixdata::Loader) -> mixdata::Result<()> {
    /// let mut epoch = loader.epoch(0);
    /// for batch in epoch.by_ref() {
    ///     let batch = batch?;
    ///     for s in &batch.skipped {
    ///         eprintln!("skipped sample {}: {}", s.index, s.error);
    ///     }
    /// }
    /// for s in epoch.skipped() {
    ///     eprintln!("skipped sample {}: {}", s.index, s.error);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn skipped(&mut self) -> Vec<Skipped> {
        std::mem::take(&mut self.skipped)
    }

    fn stop_workers(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(workers) = self.threads.take() {
            workers.permits.wake_all();
            drop(workers.results);
            for h in workers.handles {
                let _ = h.join();
            }
        }
        for (_, filled) in std::mem::take(&mut self.ready) {
            if let Buf::F32(buf) = filled.buf {
                self.shared.give_back(buf);
            }
        }
    }
}

/// [`Shared::fill`], a panic in it turned into the error of the batch's first sample (so the
/// iterator never waits for a batch that will not come).
fn fill_catching(
    shared: &Shared,
    order: &[usize],
    epoch: u64,
    n: usize,
    stop: &AtomicBool,
) -> Filled {
    let run = std::panic::AssertUnwindSafe(|| shared.fill(order, epoch, n, stop));
    std::panic::catch_unwind(run).unwrap_or_else(|_| {
        let b = shared.config.batch_size;
        let positions = n * b..((n + 1) * b).min(order.len());
        Filled {
            buf: Buf::F32(Vec::new()),
            results: order[positions]
                .iter()
                .map(|&index| {
                    Slot::Failed(Skipped {
                        index,
                        error: Error::bare(Problem::Usage(
                            "a loader worker panicked while mixing this sample (a bug: please report it)".into(),
                        )),
                    })
                })
                .collect(),
        }
    })
}

fn push_info(batch: &mut Batch, info: SampleInfo) {
    batch.indices.push(info.index);
    batch.labels.push(info.labels.clone());
    batch.samples.push(info);
}

impl Iterator for Epoch {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        loop {
            if let Some(batch) = self.out.pop_front() {
                return Some(Ok(batch));
            }
            if self.done {
                return None;
            }
            if self.next == self.natural {
                self.done = true;
                self.stop_workers();
                if let Some(partial) = self.partial.take() {
                    let whole = partial.indices.len() == self.shared.config.batch_size;
                    if whole || !self.shared.config.drop_last {
                        self.finish(partial);
                    } else {
                        self.shared.give_back(partial.data);
                    }
                }
                // Skips after the last batch: on it while it waits to be yielded, else for
                // `Epoch::skipped`.
                if let Some(last) = self.out.back_mut() {
                    last.skipped.append(&mut self.skipped);
                }
                continue;
            }
            let filled = self.take_next();
            self.next += 1;
            if let Some(error) = self.assemble(filled) {
                self.done = true;
                self.out.clear();
                self.stop_workers();
                return Some(Err(error));
            }
        }
    }
}

impl Drop for Epoch {
    fn drop(&mut self) {
        self.stop_workers();
    }
}
