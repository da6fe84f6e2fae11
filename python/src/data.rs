//! `framemix.VideoDataset` and `framemix.Loader`: mixdata's [`Dataset`](mixdata::Dataset)
//! and [`Loader`](mixdata::Loader) as Python classes. The dataset is rebuilt from its
//! arguments when unpickled (so torch's DataLoader can send it to worker processes); the loader
//! decodes with mixdata's threads and hands every batch to numpy without a copy, the GIL
//! released while it waits.

use std::ffi::CString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mixdata::values::{Dtype, Values};
use numpy::ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1, PyArrayDyn};
use pyo3::exceptions::{PyIndexError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::engine::{self, Failure, ListSpelling, LoaderConfig};
use crate::errors::{self, IntoPyResult};
use crate::output;
use crate::values::{self, FramesValue, IntText, ScheduleValue, SizeValue};
use crate::{DataValues, OutputValues, PlanValues};

/// The keyword options of `VideoDataset` (those of `framemix.mix`, with `threads` defaulting
/// to 1, `epoch`, the first epoch, and `dtype`, the samples' element type).
const OPTIONS: [&str; 21] = [
    "segments",
    "frames",
    "schedule",
    "select",
    "train",
    "seed",
    "epoch",
    "layout",
    "scale",
    "size",
    "resize_short",
    "crop",
    "crop_mode",
    "flip",
    "template",
    "start",
    "threads",
    "allow_damaged",
    "autorotate",
    "device",
    "dtype",
];

/// The most loader threads (mixcli's `--jobs` bound).
const MAX_WORKERS: u32 = mixcli::args::MAX_JOBS;

/// Keyword options given as a dict.
struct Kwargs<'py>(Option<Bound<'py, PyDict>>);

impl<'py> Kwargs<'py> {
    /// The value of `key` when given (`None` passed for it counts as given: only the options
    /// that take `None` use [`Kwargs::optional`]).
    fn get<T>(&self, key: &str) -> PyResult<Option<T>>
    where
        T: for<'a> FromPyObject<'a, 'py, Error = PyErr>,
    {
        let Some(dict) = &self.0 else {
            return Ok(None);
        };
        match dict.get_item(key)? {
            Some(value) => value.extract::<T>().map(Some).map_err(|e| {
                if e.is_instance_of::<PyTypeError>(dict.py()) {
                    PyTypeError::new_err(format!("argument '{key}': {}", e.value(dict.py())))
                } else {
                    e
                }
            }),
            None => Ok(None),
        }
    }

    /// The value of `key`, `None` when absent or `None`.
    fn optional<T>(&self, key: &str) -> PyResult<Option<T>>
    where
        T: for<'a> FromPyObject<'a, 'py, Error = PyErr>,
    {
        match &self.0 {
            Some(dict) if dict.get_item(key)?.is_some_and(|v| !v.is_none()) => self.get(key),
            _ => Ok(None),
        }
    }

    /// Refuses a key that is not an option, as Python refuses an unexpected keyword.
    fn check_names(&self, function: &str) -> PyResult<()> {
        let Some(dict) = &self.0 else {
            return Ok(());
        };
        for key in dict.keys() {
            let name = key.cast::<PyString>()?.to_str()?.to_string();
            if !OPTIONS.contains(&name.as_str()) {
                return Err(PyTypeError::new_err(format!(
                    "{function}() got an unexpected keyword argument '{name}'"
                )));
            }
        }
        Ok(())
    }
}

/// A label as Python sees it: the int of a one-label clip, a tuple of a multi-label clip's,
/// -1 for a clip without labels (Something-Something's test splits).
fn label_object<'py>(py: Python<'py>, labels: &[u32]) -> PyResult<Bound<'py, PyAny>> {
    match labels {
        [one] => Ok(one.into_pyobject(py)?.into_any()),
        [] => Ok((-1i64).into_pyobject(py)?.into_any()),
        many => Ok(PyTuple::new(py, many)?.into_any()),
    }
}

/// Issues a `DamagedInputWarning` for a damaged clip mixed anyway.
fn warn_damaged(py: Python<'_>, what: &str, damage: &mixdata::Damage) -> PyResult<()> {
    if damage.is_clean() {
        return Ok(());
    }
    let message = format!("{what}: damaged input mixed anyway (allow_damaged=True): {damage}");
    let message = CString::new(message.replace('\0', " "))?;
    PyErr::warn(py, errors::damaged_warning(py)?.as_any(), &message, 1)
}

/// Clips of an annotation list, each mixed on demand as an epoch draws it: a map-style
/// dataset (`len(ds)`, `ds[i] -> (array, label)`) for torch.utils.data.DataLoader.
///
/// The list is read once, here (mixdata's readers: mmaction2's video and rawframe lists,
/// Something-Something V1's CSV and V2's JSON); relative paths resolve against `root`,
/// absolute ones are taken as they are. Every clip is mixed exactly as `mixcli batch --list`
/// with the same options mixes it: in train mode sample i of epoch e is drawn with the seed
/// rule of mixdata (seed, e, i), so its bits do not depend on which process or thread fetches
/// it, or in which order. The GIL is released while a clip is decoded and mixed.
///
/// The dataset pickles as its arguments and its current epoch, and is rebuilt (the list read
/// again) when unpickled: DataLoader worker processes each get their own.
///
/// Args:
///     list_file: the annotation list (str or os.PathLike).
///     root: the folder the list's relative paths resolve against.
///     list_format: "video" (default; mmaction2: PATH LABEL...), "rawframes" (mmaction2:
///         DIR TOTAL_FRAMES LABEL...), "sthv1" (ID;LABEL TEXT) or "sthv2" (the V2 JSON).
///     labels: the label file of an sthv1 or sthv2 list.
///     **options: how every clip is mixed, as for framemix.mix: segments, frames,
///         schedule, select, train, seed (the dataset's seed in train mode), layout, scale,
///         size, resize_short, crop, crop_mode, flip, template, start, threads (decoder
///         threads per clip, default 1), allow_damaged, autorotate, device; epoch, the
///         epoch to start at (default 0); and dtype, the samples' element type: "float32"
///         (default), "float16" or "bfloat16" (as for framemix.mix: float16 arrays, or uint16
///         arrays of bfloat16 bit patterns). With crop=(w, h) (or size=(w, h)) every clip
///         comes out at one size, so clips of any size batch together.
///
/// Raises:
///     OptionError: a bad option, list format or combination (a ValueError).
///     InputError: the list or label file is missing or unreadable, or a line does not
///         parse (the message names the file and the line; an OSError).
#[pyclass(module = "framemix", name = "VideoDataset", frozen)]
pub struct VideoDataset {
    inner: Arc<mixdata::Dataset>,
    epoch: AtomicU64,
    /// The samples' element type (the dataset mixes in f32; each sample is rounded after).
    dtype: Dtype,
    /// The positional arguments as given (pickling rebuilds from them).
    args: (PathBuf, PathBuf, String, Option<PathBuf>),
    /// The keyword options as given.
    options: Py<PyDict>,
}

impl VideoDataset {
    fn len(&self) -> usize {
        self.inner.len()
    }
}

#[pymethods]
impl VideoDataset {
    #[new]
    #[pyo3(
        signature = (list_file, root, list_format = "video", labels = None, **options),
        text_signature = "(list_file, root, list_format='video', labels=None, *, segments=8, frames=None, schedule='linear', select='spread', train=False, seed=None, epoch=0, layout='tchw', scale='raw', size=None, resize_short=None, crop=None, crop_mode='center', flip=False, template=None, start=None, threads=1, allow_damaged=False, autorotate=True, device='cpu', dtype='float32')"
    )]
    fn new(
        py: Python<'_>,
        list_file: PathBuf,
        root: PathBuf,
        list_format: &str,
        labels: Option<PathBuf>,
        options: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let kw = Kwargs(options);
        kw.check_names("VideoDataset")?;
        let segments = kw.get("segments")?.unwrap_or_else(|| IntText::from(8));
        let frames: Option<FramesValue> = kw.optional("frames")?;
        let schedule = kw
            .get("schedule")?
            .unwrap_or_else(|| ScheduleValue::from("linear"));
        let select: String = kw.get("select")?.unwrap_or_else(|| "spread".into());
        let train: bool = kw.get("train")?.unwrap_or(false);
        let seed: Option<IntText> = kw.optional("seed")?;
        let epoch: IntText = kw.get("epoch")?.unwrap_or_else(|| IntText::from(0));
        let layout: String = kw.get("layout")?.unwrap_or_else(|| "tchw".into());
        let scale: String = kw.get("scale")?.unwrap_or_else(|| "raw".into());
        let size: Option<SizeValue> = kw.optional("size")?;
        let resize_short: Option<IntText> = kw.optional("resize_short")?;
        let crop: Option<SizeValue> = kw.optional("crop")?;
        let crop_mode: String = kw.get("crop_mode")?.unwrap_or_else(|| "center".into());
        let flip: bool = kw.get("flip")?.unwrap_or(false);
        let template: Option<String> = kw.optional("template")?;
        let start: Option<IntText> = kw.optional("start")?;
        let threads = kw.get("threads")?.unwrap_or_else(|| IntText::from(1));
        let allow_damaged: bool = kw.get("allow_damaged")?.unwrap_or(false);
        let autorotate: bool = kw.get("autorotate")?.unwrap_or(true);
        let device: String = kw.get("device")?.unwrap_or_else(|| "cpu".into());
        let dtype: String = kw.get("dtype")?.unwrap_or_else(|| "float32".into());

        let epoch = epoch.as_u64("epoch").into_py_result(py)?;
        let options = crate::mix_options(
            &PlanValues {
                segments: &segments,
                frames: frames.as_ref(),
                schedule: &schedule,
                select: &select,
                train,
                seed: seed.as_ref(),
            },
            &OutputValues {
                layout: &layout,
                scale: &scale,
                size: size.as_ref(),
                resize_short: resize_short.as_ref(),
                crop: crop.as_ref(),
                crop_mode: &crop_mode,
                flip,
                threads: &threads,
                allow_damaged,
                autorotate,
                device: &device,
            },
            &DataValues {
                template: template.as_deref(),
                start: start.as_ref(),
                // The dataset's epoch is its own (set_epoch), for every sample.
                epoch: None,
            },
        )
        .into_py_result(py)?;
        let dtype = output::parse_dtype(&dtype).into_py_result(py)?;
        let dataset = py
            .detach(|| {
                engine::dataset(
                    &ListSpelling {
                        list: &list_file,
                        root: &root,
                        format: list_format,
                        labels: labels.as_deref(),
                    },
                    &options,
                )
            })
            .into_py_result(py)?;
        let given = match &kw.0 {
            Some(dict) => dict.copy()?,
            None => PyDict::new(py),
        };
        Ok(VideoDataset {
            inner: Arc::new(dataset),
            epoch: AtomicU64::new(epoch),
            dtype,
            args: (list_file, root, list_format.to_string(), labels),
            options: given.unbind(),
        })
    }

    /// The number of clips in the list.
    fn __len__(&self) -> usize {
        self.len()
    }

    /// Mixes clip `index` as the current epoch draws it.
    ///
    /// Returns:
    ///     (array, label): the C-contiguous array in the layout's shape (owned by numpy, no
    ///     copy) in the dataset's dtype: float32, float16, or uint16 holding bfloat16 bit
    ///     patterns (rounded to nearest, ties to even, without the GIL); and the clip's label:
    ///     an int, a tuple of ints for a clip with several labels, or -1 for a clip without
    ///     one.
    ///
    /// Raises:
    ///     IndexError: `index` is negative or not below len(dataset).
    ///     InputError: the clip is missing, damaged or unreadable (the message names it).
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        index: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let len = self.len();
        // Any integer (`__index__`; not a slice, a float or a bool); one beyond i128 is out of
        // range as well.
        let index = values::IntText::extract_index(index)?;
        let Some(i) = index.0.parse::<usize>().ok().filter(|&i| i < len) else {
            return Err(PyIndexError::new_err(format!(
                "VideoDataset index {} is out of range: the dataset has {len} clips \
                 (indices 0 to len - 1; negative indices are not taken)",
                index.0
            )));
        };
        let epoch = self.epoch.load(Ordering::Relaxed);
        let dataset = Arc::clone(&self.inner);
        let dtype = self.dtype;
        let (values, info) = py
            .detach(|| {
                let sample = engine::sample(&dataset, i, epoch)?;
                // Rounded here, without the GIL; the f32 buffer goes as soon as it is rounded.
                Ok::<_, Failure>((Values::from_vec(sample.data, dtype), sample.info))
            })
            .into_py_result(py)?;
        let path = self.inner.entries()[i].path.display().to_string();
        warn_damaged(py, &path, &info.damage)?;
        let label = label_object(py, &info.labels)?;
        Ok((output::into_array(values, py, &info.full_shape())?, label))
    }

    /// Sets the epoch whose train-mode draws __getitem__ mixes (test mode: every epoch is
    /// the same). Call it at the start of every epoch, in each worker process it matters to
    /// (or use framemix.Loader, which takes the epoch itself).
    ///
    /// Args:
    ///     epoch: 0 to 2**64 - 1.
    #[pyo3(text_signature = "($self, epoch)")]
    fn set_epoch(&self, py: Python<'_>, epoch: IntText) -> PyResult<()> {
        let epoch = epoch.as_u64("epoch").into_py_result(py)?;
        self.epoch.store(epoch, Ordering::Relaxed);
        Ok(())
    }

    /// The current epoch (set_epoch).
    #[getter]
    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// The clips' paths (pathlib.Path), in list order (relative ones joined to root).
    #[getter]
    fn paths(&self) -> Vec<PathBuf> {
        self.inner
            .entries()
            .iter()
            .map(|e| e.path.clone())
            .collect()
    }

    /// The shape every sample has when the options fix the frame size (crop, or size
    /// without crop), else None (each clip's own size); with three crops a leading axis of 3
    /// views.
    #[getter]
    fn sample_shape<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.inner
            .fixed_shape()
            .map(|shape| PyTuple::new(py, mixdata::mixing::full_shape(self.inner.views(), shape)))
            .transpose()
    }

    /// The samples' element type: "float32", "float16" or "bfloat16" (whose arrays are
    /// numpy uint16, the bit patterns).
    #[getter]
    fn dtype(&self) -> &'static str {
        output::dtype_name(self.dtype)
    }

    /// Pickles as (the constructor, the arguments as given, the current epoch): unpickling
    /// reads the list again.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let me = slf.get();
        let newobj = py.import("copyreg")?.getattr("__newobj_ex__")?;
        let args = me.args.clone().into_pyobject(py)?;
        let kwargs = me.options.bind(py).copy()?;
        let state = me.epoch.load(Ordering::Relaxed);
        (newobj, (slf.get_type(), args, kwargs), state).into_pyobject(py)
    }

    /// Restores the epoch of a pickled dataset.
    fn __setstate__(&self, state: u64) {
        self.epoch.store(state, Ordering::Relaxed);
    }

    fn __repr__(&self) -> String {
        format!(
            "framemix.VideoDataset({:?}, root={:?}, list_format={:?}: {} clips, epoch {})",
            self.args.0.display().to_string(),
            self.args.1.display().to_string(),
            self.args.2,
            self.len(),
            self.epoch.load(Ordering::Relaxed)
        )
    }
}

/// Batches of a VideoDataset, decoded and mixed by mixdata's worker threads (not Python
/// processes), in a seeded order.
///
/// Iterating yields one epoch's batches: (batch, labels, indices), where batch is
/// [B, S, 3, H, W] for layout "tchw" ([B, 3, S, H, W] for "cthw", [B, S, H, W, 3] for
/// "thwc") in the loader's dtype (float32, float16, or uint16 holding bfloat16 bit
/// patterns), owned by numpy without a copy (torch.from_numpy shares it); labels is int64 [B]
/// (-1 for a clip without a label; int64 [B, L] padded with -1 when a clip of the list has
/// several); indices is int64 [B], the samples' indices in the dataset. The GIL is released
/// while the iterator waits for a batch.
///
/// The batches are the same, bit for bit, whatever the number of workers: sample i of epoch
/// e is the dataset's (seed rule (seed, e, i)), and the order of an epoch depends on `seed`
/// and the epoch only. Every sample has one shape: the crop's (or size's), else the first
/// clip's; a clip of another shape is an error naming it.
///
/// Args:
///     dataset: a framemix.VideoDataset.
///     batch_size: samples per batch, at least 1.
///     workers: decoding threads, 0 (decode on the iterating thread) to 256.
///     shuffle: visit the samples in a new seeded order each epoch. Default True.
///     seed: the seed of the shuffle, 0 to 2**64 - 1. Default 0.
///     drop_last: leave out a last batch shorter than batch_size. Default False.
///     on_error: "fail" (default: the first sample that fails raises its error and ends the
///         epoch) or "skip" (it is left out and the batch filled from the next samples;
///         `skipped` lists it).
///     epoch: the epoch the next iteration mixes (set_epoch changes it). Default 0.
///     prefetch: batches in flight at most (raised to `workers`). Default 2.
///     dtype: the batches' element type, "float32", "float16" or "bfloat16" (or "f32",
///         "f16", "bf16"). Default None: the dataset's dtype. The workers mix in float32
///         and round each batch to a half dtype themselves (to nearest, ties to even), so
///         the iterating thread converts nothing and Python holds only the half values.
///
/// Raises:
///     OptionError: a bad batch size, worker count or policy, or an empty dataset.
///     InputError: no clip of the dataset opens (when the shape comes from the first clip).
#[pyclass(module = "framemix", name = "Loader", frozen)]
pub struct Loader {
    inner: Arc<engine::Loader>,
    dataset: Py<VideoDataset>,
    epoch: AtomicU64,
    /// The batches' element type.
    dtype: Dtype,
    /// Labels per sample in `labels`: 1, or the most any clip has.
    label_width: usize,
    /// (index, exception) of the samples skipped in the current or last epoch.
    skipped: Mutex<Vec<(usize, Py<PyAny>)>>,
}

#[pymethods]
impl Loader {
    #[new]
    #[pyo3(
        signature = (
            dataset, batch_size, workers, shuffle = true, seed = IntText::from(0),
            drop_last = false, on_error = "fail", epoch = IntText::from(0),
            prefetch = IntText::from(2), dtype = None
        ),
        text_signature = "(dataset, batch_size, workers, shuffle=True, seed=0, drop_last=False, on_error='fail', epoch=0, prefetch=2, dtype=None)"
    )]
    #[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
    fn new(
        py: Python<'_>,
        dataset: Bound<'_, PyAny>,
        batch_size: IntText,
        workers: IntText,
        shuffle: bool,
        seed: IntText,
        drop_last: bool,
        on_error: &str,
        epoch: IntText,
        prefetch: IntText,
        dtype: Option<&str>,
    ) -> PyResult<Self> {
        let dataset = dataset.cast_into::<VideoDataset>().map_err(|e| {
            PyTypeError::new_err(format!(
                "Loader: dataset must be a framemix.VideoDataset, not {}",
                e.into_inner()
                    .get_type()
                    .name()
                    .map_or_else(|_| "?".into(), |n| n.to_string())
            ))
        })?;
        let dtype = match dtype {
            Some(d) => output::parse_dtype(d).into_py_result(py)?,
            None => dataset.get().dtype,
        };
        let config = (|| -> Result<LoaderConfig, Failure> {
            let workers = workers.as_u32("workers", 0)?;
            if workers > MAX_WORKERS {
                return Err(Failure::option(
                    "workers",
                    format!("{workers} threads is more than the limit of {MAX_WORKERS}"),
                ));
            }
            Ok(LoaderConfig {
                batch_size: batch_size.as_u32("batch_size", 1)? as usize,
                workers: workers as usize,
                prefetch: prefetch.as_u32("prefetch", 1)? as usize,
                shuffle,
                seed: seed.as_u64("seed")?,
                drop_last,
                on_error: engine::error_policy(on_error)?,
                ragged: false,
                // Rounded by the loader's workers, off the thread that iterates.
                dtype,
            })
        })()
        .into_py_result(py)?;
        let epoch = epoch.as_u64("epoch").into_py_result(py)?;
        let data = Arc::clone(&dataset.get().inner);
        let label_width = data
            .entries()
            .iter()
            .map(|e| e.labels.len())
            .max()
            .unwrap_or(0)
            .max(1);
        let inner = py
            .detach(|| engine::loader(data, config))
            .into_py_result(py)?;
        Ok(Loader {
            inner: Arc::new(inner),
            dataset: dataset.unbind(),
            epoch: AtomicU64::new(epoch),
            dtype,
            label_width,
            skipped: Mutex::new(Vec::new()),
        })
    }

    /// Starts an epoch (the current one, set_epoch): its batches, in order.
    fn __iter__(slf: &Bound<'_, Self>) -> LoaderIter {
        let me = slf.get();
        me.skipped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let epoch = me.inner.epoch(me.epoch.load(Ordering::Relaxed));
        LoaderIter {
            epoch: Mutex::new(Some(epoch)),
            loader: slf.clone().unbind(),
        }
    }

    /// Batches per epoch when no sample is skipped.
    fn __len__(&self) -> usize {
        self.inner.batches_per_epoch()
    }

    /// Sets the epoch the next iteration mixes (its order and its train-mode draws).
    ///
    /// Args:
    ///     epoch: 0 to 2**64 - 1.
    #[pyo3(text_signature = "($self, epoch)")]
    fn set_epoch(&self, py: Python<'_>, epoch: IntText) -> PyResult<()> {
        let epoch = epoch.as_u64("epoch").into_py_result(py)?;
        self.epoch.store(epoch, Ordering::Relaxed);
        Ok(())
    }

    /// The epoch the next iteration mixes.
    #[getter]
    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// The dataset.
    #[getter]
    fn dataset(&self, py: Python<'_>) -> Py<VideoDataset> {
        self.dataset.clone_ref(py)
    }

    /// The batches' element type: "float32", "float16" or "bfloat16" (whose arrays are numpy
    /// uint16, the bit patterns).
    #[getter]
    fn dtype(&self) -> &'static str {
        output::dtype_name(self.dtype)
    }

    /// The shape of every sample (the batch's after its first axis; with three crops a
    /// leading axis of 3 views).
    #[getter]
    fn sample_shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(
            py,
            mixdata::mixing::full_shape(self.inner.views(), self.inner.sample_shape()),
        )
    }

    /// The order in which `epoch` visits the samples (a list of indices).
    #[pyo3(text_signature = "($self, epoch)")]
    fn order(&self, py: Python<'_>, epoch: IntText) -> PyResult<Vec<usize>> {
        let epoch = epoch.as_u64("epoch").into_py_result(py)?;
        Ok(self.inner.order(epoch))
    }

    /// The samples left out of the current (or last) epoch with on_error="skip": a list of
    /// (index, exception), in order.
    #[getter]
    fn skipped<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let skipped = self.skipped.lock().unwrap_or_else(PoisonError::into_inner);
        PyList::new(py, skipped.iter().map(|(i, e)| (*i, e.clone_ref(py))))
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "framemix.Loader({} clips, batch_size={}, workers={}, shuffle={}, seed={}, epoch {})",
            self.inner.dataset().len(),
            c.batch_size,
            c.workers,
            if c.shuffle { "True" } else { "False" },
            c.seed,
            self.epoch.load(Ordering::Relaxed)
        )
    }
}

/// One epoch of a Loader: an iterator of (batch, labels, indices). Dropping it stops the
/// epoch's threads.
#[pyclass(module = "framemix", name = "LoaderIter", frozen)]
pub struct LoaderIter {
    /// `None` once the epoch ended (its threads stopped).
    epoch: Mutex<Option<engine::Epoch>>,
    loader: Py<Loader>,
}

impl Drop for LoaderIter {
    /// Stops an abandoned epoch's threads without the GIL: they finish the sample they are
    /// mixing first, which may take a while for a long clip.
    fn drop(&mut self) {
        let epoch = self
            .epoch
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if epoch.is_some() {
            Python::attach(|py| py.detach(move || drop(epoch)));
        }
    }
}

/// A batch as Python gets it.
type PyBatch<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyArrayDyn<i64>>,
    Bound<'py, PyArray1<i64>>,
);

#[pymethods]
impl LoaderIter {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<PyBatch<'py>>> {
        let loader = self.loader.get();
        let (next, after) = py.detach(|| {
            let mut guard = self.epoch.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(epoch) = guard.as_mut() else {
                return (None, Vec::new());
            };
            // The values leave the batch as the workers made them (rounded there for a half
            // dtype): nothing is converted on this thread.
            let next = epoch.next().map(|batch| batch.map(take_values));
            if matches!(next, None | Some(Err(_))) {
                let after = epoch.skipped();
                // Ends the epoch: its threads stop here, without the GIL.
                *guard = None;
                (next, after)
            } else {
                (next, Vec::new())
            }
        });
        let record = |skipped: Vec<mixdata::Skipped>| {
            let mut list = loader
                .skipped
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for s in skipped {
                let error = errors::to_pyerr(py, Failure::from(s.error));
                list.push((s.index, error.into_value(py).into_any()));
            }
        };
        match next {
            None => {
                record(after);
                Ok(None)
            }
            Some(Err(e)) => {
                record(after);
                Err(errors::to_pyerr(py, Failure::from(e)))
            }
            Some(Ok((mut batch, values))) => {
                record(std::mem::take(&mut batch.skipped));
                for info in &batch.samples {
                    let path = loader.inner.dataset().entries()[info.index]
                        .path
                        .display()
                        .to_string();
                    warn_damaged(py, &path, &info.damage)?;
                }
                Ok(Some(batch_arrays(py, &batch, values, loader.label_width)?))
            }
        }
    }
}

/// The batch's values, taken out of it as the loader's workers made them (`f32`, or rounded
/// to the loader's half format there: `LoaderConfig::dtype`). The buffer is not handed back
/// to the loader's pool (`Loader::recycle`): numpy owns it from here.
fn take_values(mut batch: engine::Batch) -> (engine::Batch, Values) {
    let values = match batch.dtype.half() {
        None => Values::F32(std::mem::take(&mut batch.data)),
        Some(half) => Values::from_half(half, std::mem::take(&mut batch.half)),
    };
    (batch, values)
}

/// The batch's values (moved into numpy), labels and indices.
fn batch_arrays<'py>(
    py: Python<'py>,
    batch: &engine::Batch,
    values: Values,
    label_width: usize,
) -> PyResult<PyBatch<'py>> {
    let n = batch.indices.len();
    let mut labels = Vec::with_capacity(n * label_width);
    for l in &batch.labels {
        labels.extend(l.iter().map(|&v| i64::from(v)));
        labels.extend(std::iter::repeat_n(-1, label_width - l.len()));
    }
    let labels = if label_width == 1 {
        Array1::from_vec(labels).into_dyn()
    } else {
        Array2::from_shape_vec((n, label_width), labels)
            .map_err(|e| PyRuntimeError::new_err(format!("framemix: internal error: {e}")))?
            .into_dyn()
    };
    let indices: Vec<i64> = batch
        .indices
        .iter()
        .map(|&i| i64::try_from(i).unwrap_or(i64::MAX))
        .collect();
    Ok((
        output::into_array(values, py, &batch.full_shape())?,
        labels.into_pyarray(py),
        Array1::from_vec(indices).into_pyarray(py),
    ))
}
