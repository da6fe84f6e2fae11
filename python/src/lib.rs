//! `framemix._framemix`, the extension module under the `framemix` Python package: Python
//! values in, the library's options out (spelled as on mixcli's command line and parsed by
//! its parsers), the mix run with the GIL released, and the result handed to numpy without a
//! copy. Everything that names the decoding library lives in [`engine`]; the Python classes
//! of the errors live in `framemix/_errors.py`.

mod data;
mod engine;
mod errors;
mod output;
mod values;

use std::ffi::CString;
use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use engine::{
    DataOptions, DataSpelling, MixOptions, OutputSpelling, PlanOptions, PlanSpelling,
    TransformSpelling,
};
use errors::IntoPyResult;
use values::{FramesValue, IntText, ScheduleValue, SizeValue};

/// The plan arguments as Python gave them.
pub(crate) struct PlanValues<'a> {
    pub segments: &'a IntText,
    pub frames: Option<&'a FramesValue>,
    pub schedule: &'a ScheduleValue,
    pub select: &'a str,
    pub train: bool,
    pub seed: Option<&'a IntText>,
}

impl PlanValues<'_> {
    /// The plan options as the engine takes them, checked by the CLI's parsers.
    fn parse(&self) -> Result<PlanOptions, engine::Failure> {
        let segments = self.segments.as_u32("segments", 1)?;
        let seed = self.seed.map(|s| s.as_u64("seed")).transpose()?;
        PlanOptions::parse(&PlanSpelling {
            segments,
            frames: self.frames.map(|f| f.0.as_str()),
            schedule: &self.schedule.0,
            select: self.select,
            train: self.train,
            seed,
        })
    }
}

/// The output and transform arguments as Python gave them.
pub(crate) struct OutputValues<'a> {
    pub layout: &'a str,
    pub scale: &'a str,
    pub size: Option<&'a SizeValue>,
    pub resize_short: Option<&'a IntText>,
    pub crop: Option<&'a SizeValue>,
    pub crop_mode: &'a str,
    pub flip: bool,
    pub threads: &'a IntText,
    pub allow_damaged: bool,
    pub autorotate: bool,
    pub device: &'a str,
}

/// The frame-folder and epoch arguments as Python gave them.
pub(crate) struct DataValues<'a> {
    pub template: Option<&'a str>,
    pub start: Option<&'a IntText>,
    pub epoch: Option<&'a IntText>,
}

impl DataValues<'_> {
    fn parse(&self, train: bool) -> Result<DataOptions, engine::Failure> {
        DataOptions::parse(
            &DataSpelling {
                template: self.template,
                start: self.start.map(|s| s.as_u64("start")).transpose()?,
                epoch: self.epoch.map(|e| e.as_u64("epoch")).transpose()?,
            },
            train,
        )
    }
}

/// Every option of a mix, checked by the CLI's parsers in its order (plan, output, data).
pub(crate) fn mix_options(
    plan: &PlanValues<'_>,
    out: &OutputValues<'_>,
    data: &DataValues<'_>,
) -> Result<MixOptions, engine::Failure> {
    let plan = plan.parse()?;
    let resize_short = out
        .resize_short
        .map(|n| n.as_u32("resize_short", 0))
        .transpose()?;
    let data = data.parse(plan.train())?;
    MixOptions::parse(
        plan,
        &OutputSpelling {
            layout: out.layout,
            scale: out.scale,
            size: out.size.map(|s| s.0.as_str()),
            device: out.device,
            threads: &out.threads.0,
            allow_damaged: out.allow_damaged,
            autorotate: out.autorotate,
        },
        &TransformSpelling {
            resize_short,
            crop: out.crop.map(|c| c.0.as_str()),
            crop_mode: out.crop_mode,
            flip: out.flip,
        },
        data,
    )
}

/// Mixes one video or frame folder and returns its Frame Mix-up tensor.
///
/// Decodes `path` (any video FFmpeg reads, or a folder of numbered JPEG or PNG frames) and
/// folds the frames of each of the `segments` windows into one image, exactly as
/// `mixcli mix` does: the same values, bit for bit. Options take the command line's values
/// and spellings. The GIL is released while the input is decoded and mixed.
///
/// Args:
///     path: a video file or a folder of numbered JPEG/PNG frames (str or os.PathLike).
///     segments: S, the number of mixed frames out. Default 8.
///     frames: frames mixed per segment, "all" or an int N >= 1. Default: all, or the
///         number of numerators of a custom schedule.
///     schedule: the weights: "average", "linear" (default), "linear0",
///         "custom:N,N,..." or a list of ints (one numerator per mixed frame).
///     select: which frames of a window are mixed: "spread" (default) or "consecutive".
///     train: train mode: random positions within each window, drawn from `seed`.
///     seed: the seed of train mode, 0 to 2**64 - 1; train=True needs it.
///     epoch: with train=True, mix epoch E's draw: the seed is derived from seed, E and
///         index 0 by the dataset rule (VideoDataset's sample 0), as `--epoch E`. Default
///         None: the seed is used as it is.
///     layout: "tchw" (default, shape [S, 3, H, W]), "cthw" ([3, S, H, W]) or
///         "thwc" ([S, H, W, 3]).
///     scale: "raw" (default, 0 to 255), "unit" (0 to 1) or "imagenet"
///         ((v / 255 - mean) / std per channel).
///     size: resize every frame before mixing (bilinear): (width, height) or "WxH".
///         Default: the input's own size. Not with resize_short.
///     resize_short: resize every frame's short side to N (bicubic), the long side keeping
///         the aspect ratio (mmaction2's Resize(scale=(-1, N))).
///     crop: keep a (width, height) (or "WxH") crop of every resized frame.
///     crop_mode: where the crop is taken: "center" (default); "three" (three views on a
///         leading axis, [3, S, C, H, W] for tchw, mmaction2's ThreeCrop); "random" or "multiscale"
///         (TSN's multi-scale crop), drawn per clip from the seed, need train=True; any
///         other mode mixdata's parser takes (`--crop-mode`).
///     flip: flip the clip horizontally with probability 1/2, drawn from the seed (needs
///         train=True). Default False.
///     template: the frame names of a frame folder, a Python format such as
///         "img_{:05}.jpg"; other files are ignored. Default: every file is a frame.
///     start: the number of the template's first frame (default 1).
///     threads: decoder threads, 0 (default: FFmpeg decides) to 64.
///     allow_damaged: mix a damaged input anyway; a DamagedInputWarning says what was
///         damaged. Default False: a damaged input raises InputError.
///     autorotate: turn the frames by the video's display matrix, as the ffmpeg program
///         does. Default True.
///     device: "cpu" (default) or "cuda" (a build with the cuda feature).
///     dtype: the element type: "float32" (default), "float16" or "bfloat16" (or "f32",
///         "f16", "bf16"). A half value is the float32 result rounded to nearest, ties to
///         even, in Rust without the GIL; the float32 values are not kept.
///
/// Returns:
///     A C-contiguous numpy array in the layout's shape: float32, float16, or for bfloat16
///     (which numpy lacks) uint16 holding the bfloat16 bit patterns, which
///     torch.from_numpy(a.view(np.int16)).view(torch.bfloat16) makes a torch.bfloat16
///     tensor without a copy. It owns the values (they are not copied), so
///     torch.from_numpy shares its memory.
///
/// Raises:
///     OptionError: a bad option value or combination (a ValueError).
///     InputError: the input is missing, not a video, damaged or unreadable (an OSError
///         with the path as filename; InputNotFoundError, a FileNotFoundError, when it
///         does not exist).
///     DeviceError: the device is not available (a RuntimeError).
#[pyfunction]
#[pyo3(
    signature = (
        path, *, segments = IntText::from(8), frames = None,
        schedule = ScheduleValue::from("linear"), select = "spread", train = false, seed = None,
        epoch = None, layout = "tchw", scale = "raw", size = None, resize_short = None,
        crop = None, crop_mode = "center", flip = false, template = None, start = None,
        threads = IntText::from(0), allow_damaged = false, autorotate = true, device = "cpu",
        dtype = "float32"
    ),
    text_signature = "(path, *, segments=8, frames=None, schedule='linear', select='spread', train=False, seed=None, epoch=None, layout='tchw', scale='raw', size=None, resize_short=None, crop=None, crop_mode='center', flip=False, template=None, start=None, threads=0, allow_damaged=False, autorotate=True, device='cpu', dtype='float32')"
)]
#[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
fn mix<'py>(
    py: Python<'py>,
    path: PathBuf,
    segments: IntText,
    frames: Option<FramesValue>,
    schedule: ScheduleValue,
    select: &str,
    train: bool,
    seed: Option<IntText>,
    epoch: Option<IntText>,
    layout: &str,
    scale: &str,
    size: Option<SizeValue>,
    resize_short: Option<IntText>,
    crop: Option<SizeValue>,
    crop_mode: &str,
    flip: bool,
    template: Option<&str>,
    start: Option<IntText>,
    threads: IntText,
    allow_damaged: bool,
    autorotate: bool,
    device: &str,
    dtype: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let options = mix_options(
        &PlanValues {
            segments: &segments,
            frames: frames.as_ref(),
            schedule: &schedule,
            select,
            train,
            seed: seed.as_ref(),
        },
        &OutputValues {
            layout,
            scale,
            size: size.as_ref(),
            resize_short: resize_short.as_ref(),
            crop: crop.as_ref(),
            crop_mode,
            flip,
            threads: &threads,
            allow_damaged,
            autorotate,
            device,
        },
        &DataValues {
            template,
            start: start.as_ref(),
            epoch: epoch.as_ref(),
        },
    )
    .into_py_result(py)?;
    let dtype = output::parse_dtype(dtype).into_py_result(py)?;
    let (values, shape, damage) = py
        .detach(|| {
            let mixed = engine::mix(&path, &options)?;
            // Rounded here, without the GIL; the f32 buffer goes as soon as it is rounded.
            let values = mixdata::values::Values::from_vec(mixed.data, dtype);
            Ok::<_, engine::Failure>((values, mixed.shape, mixed.damage))
        })
        .into_py_result(py)?;
    if let Some(damage) = &damage {
        let message = format!(
            "{}: damaged input mixed anyway (allow_damaged=True): {damage}",
            path.display()
        );
        let message = CString::new(message.replace('\0', " "))?;
        PyErr::warn(py, errors::damaged_warning(py)?.as_any(), &message, 1)?;
    }
    output::into_array(values, py, &shape)
}

/// Describes one video or frame folder and its plan, as `mixcli info --json` does.
///
/// Decodes every frame (unless quick=True) to count the frames that really decode, and
/// plans the mix with the given options (the same as mix's).
///
/// Args:
///     path: a video file or a folder of numbered JPEG/PNG frames.
///     segments, frames, schedule, select, train, seed, epoch: the plan, as for mix.
///     template, start: a frame folder's frame names, as for mix.
///     quick: trust the demuxed packet count instead of decoding every frame.
///     autorotate: report the size after the display matrix's turn. Default True.
///
/// Returns:
///     A dict: "frames" (F), "width", "height", "segments" (for each segment a dict of
///     "frames" (positions), "numerators", "denominator", "window" ([lo, hi))), "input",
///     "kind" ("video" or "frames"), "counted", "frames_exact", "rotation",
///     "display_rotation", "damage" (None with quick=True), and for videos "container",
///     "codec", "frame_rate" ([num, den] or None), "header_frames", "duration_s".
///
/// Raises:
///     OptionError: a bad option (a ValueError).
///     InputError: the input is missing, not a video or unreadable (an OSError).
#[pyfunction]
#[pyo3(
    signature = (
        path, *, segments = IntText::from(8), frames = None,
        schedule = ScheduleValue::from("linear"), select = "spread", train = false, seed = None,
        epoch = None, template = None, start = None, quick = false, autorotate = true
    ),
    text_signature = "(path, *, segments=8, frames=None, schedule='linear', select='spread', train=False, seed=None, epoch=None, template=None, start=None, quick=False, autorotate=True)"
)]
#[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
fn info<'py>(
    py: Python<'py>,
    path: PathBuf,
    segments: IntText,
    frames: Option<FramesValue>,
    schedule: ScheduleValue,
    select: &str,
    train: bool,
    seed: Option<IntText>,
    epoch: Option<IntText>,
    template: Option<&str>,
    start: Option<IntText>,
    quick: bool,
    autorotate: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let (plan, data) = (|| {
        let plan = PlanValues {
            segments: &segments,
            frames: frames.as_ref(),
            schedule: &schedule,
            select,
            train,
            seed: seed.as_ref(),
        }
        .parse()?;
        let data = DataValues {
            template,
            start: start.as_ref(),
            epoch: epoch.as_ref(),
        }
        .parse(plan.train())?;
        Ok((plan, data))
    })()
    .into_py_result(py)?;
    let text = py
        .detach(|| engine::info_json(&path, plan, data, quick, autorotate))
        .into_py_result(py)?;
    let value = py.import("json")?.call_method1("loads", (text,))?;
    Ok(value.cast_into::<PyDict>()?)
}

/// The extension module.
#[pymodule]
#[pyo3(name = "_framemix")]
fn framemix_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(mix, m)?)?;
    m.add_function(wrap_pyfunction!(info, m)?)?;
    m.add_class::<data::VideoDataset>()?;
    m.add_class::<data::Loader>()?;
    m.add_class::<data::LoaderIter>()?;
    m.add("__version__", engine::VERSION)?;
    m.add("CUDA_SUPPORT", engine::CUDA_SUPPORT)?;
    Ok(())
}
