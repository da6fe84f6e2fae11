//! `framemix._framemix`, the extension module under the `framemix` Python package: Python
//! values in, the library's options out (spelled as on mixcli's command line and parsed by
//! its parsers), the mix run with the GIL released, and the result handed to numpy without a
//! copy. Everything that names the decoding library lives in [`engine`]; the Python classes
//! of the errors live in `framemix/_errors.py`.

mod engine;
mod errors;
mod values;

use std::ffi::CString;
use std::path::PathBuf;

use numpy::ndarray::Array4;
use numpy::{IntoPyArray, PyArray4};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use engine::{MixOptions, OutputSpelling, PlanOptions, PlanSpelling};
use errors::IntoPyResult;
use values::{FramesValue, IntText, ScheduleValue, SizeValue};

/// The plan options as the engine takes them, checked by the CLI's parsers.
fn plan_options(
    segments: &IntText,
    frames: Option<&FramesValue>,
    schedule: &ScheduleValue,
    select: &str,
    train: bool,
    seed: Option<&IntText>,
) -> Result<PlanOptions, engine::Failure> {
    let segments = segments.as_u32("segments", 1)?;
    let seed = seed.map(|s| s.as_u64("seed")).transpose()?;
    PlanOptions::parse(&PlanSpelling {
        segments,
        frames: frames.map(|f| f.0.as_str()),
        schedule: &schedule.0,
        select,
        train,
        seed,
    })
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
///     layout: "tchw" (default, shape [S, 3, H, W]), "cthw" ([3, S, H, W]) or
///         "thwc" ([S, H, W, 3]).
///     scale: "raw" (default, 0 to 255), "unit" (0 to 1) or "imagenet"
///         ((v / 255 - mean) / std per channel).
///     size: resize every frame before mixing (bilinear): (width, height) or "WxH".
///         Default: the input's own size.
///     threads: decoder threads, 0 (default: FFmpeg decides) to 64.
///     allow_damaged: mix a damaged input anyway; a DamagedInputWarning says what was
///         damaged. Default False: a damaged input raises InputError.
///     autorotate: turn the frames by the video's display matrix, as the ffmpeg program
///         does. Default True.
///     device: "cpu" (default) or "cuda" (a build with the cuda feature).
///
/// Returns:
///     A float32, C-contiguous numpy array in the layout's shape. It owns the mixed values
///     (they are not copied), so torch.from_numpy shares its memory.
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
        layout = "tchw", scale = "raw", size = None, threads = IntText::from(0),
        allow_damaged = false, autorotate = true, device = "cpu"
    ),
    text_signature = "(path, *, segments=8, frames=None, schedule='linear', select='spread', train=False, seed=None, layout='tchw', scale='raw', size=None, threads=0, allow_damaged=False, autorotate=True, device='cpu')"
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
    layout: &str,
    scale: &str,
    size: Option<SizeValue>,
    threads: IntText,
    allow_damaged: bool,
    autorotate: bool,
    device: &str,
) -> PyResult<Bound<'py, PyArray4<f32>>> {
    let options = plan_options(
        &segments,
        frames.as_ref(),
        &schedule,
        select,
        train,
        seed.as_ref(),
    )
    .and_then(|plan| {
        MixOptions::parse(
            plan,
            &OutputSpelling {
                layout,
                scale,
                size: size.as_ref().map(|s| s.0.as_str()),
                device,
                threads: &threads.0,
                allow_damaged,
                autorotate,
            },
        )
    })
    .into_py_result(py)?;
    let mixed = py
        .detach(|| engine::mix(&path, &options))
        .into_py_result(py)?;
    if let Some(damage) = &mixed.damage {
        let message = format!(
            "{}: damaged input mixed anyway (allow_damaged=True): {damage}",
            path.display()
        );
        let message = CString::new(message.replace('\0', " "))?;
        PyErr::warn(py, errors::damaged_warning(py)?.as_any(), &message, 1)?;
    }
    let [s0, s1, s2, s3] = mixed.shape;
    let array = Array4::from_shape_vec((s0, s1, s2, s3), mixed.data).map_err(|e| {
        PyRuntimeError::new_err(format!("framemix: internal error: the output's shape: {e}"))
    })?;
    // Moves the Vec into the numpy array (its base object owns the allocation): no copy.
    Ok(array.into_pyarray(py))
}

/// Describes one video or frame folder and its plan, as `mixcli info --json` does.
///
/// Decodes every frame (unless quick=True) to count the frames that really decode, and
/// plans the mix with the given options (the same as mix's).
///
/// Args:
///     path: a video file or a folder of numbered JPEG/PNG frames.
///     segments, frames, schedule, select, train, seed: the plan, as for mix.
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
        quick = false, autorotate = true
    ),
    text_signature = "(path, *, segments=8, frames=None, schedule='linear', select='spread', train=False, seed=None, quick=False, autorotate=True)"
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
    quick: bool,
    autorotate: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let plan = plan_options(
        &segments,
        frames.as_ref(),
        &schedule,
        select,
        train,
        seed.as_ref(),
    )
    .into_py_result(py)?;
    let text = py
        .detach(|| engine::info_json(&path, plan, quick, autorotate))
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
    m.add("__version__", engine::VERSION)?;
    m.add("CUDA_SUPPORT", engine::CUDA_SUPPORT)?;
    Ok(())
}
