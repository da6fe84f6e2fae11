//! The one module that names mixcli and mixdata: options parsed by the CLI's own parsers (and
//! mixcore's and mixdata's spellings), one input mixed or described through mixdata, an
//! annotation list made into a mixdata [`Dataset`] and batched by its [`Loader`], and the
//! errors turned into [`Failure`]s. The rest of the crate sees only the types defined here
//! (and mixdata's dataset, sample and batch types it hands over).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::ValueEnum;
use mixcli::args::{DataArgs, FramesArg, InfoArgs, OutputArgs, PlanArgs, Size};
use mixcli::device::Device;
use mixcli::mixing::{self, MixRequest};
use mixcli::{Error, Problem};
use mixcore::{Epilogue, Layout, ScheduleBuf, Selection};
use mixdata::{CropMode, Dataset, DatasetConfig, ErrorPolicy, FrameTemplate, ListFormat};

pub use mixdata::{Batch, Epoch, Loader, LoaderConfig, Sample};

/// Which Python exception a failure becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A bad option value or combination, or a plan mixcore refuses: `ValueError`.
    Option,
    /// The input (missing, not a video, damaged, unreadable frame, I/O): `OSError`.
    Input,
    /// The device is unavailable or failed: `RuntimeError`.
    Device,
}

/// A failure, with mixcli's message.
#[derive(Debug)]
pub struct Failure {
    /// The exception it becomes.
    pub class: Class,
    /// mixcli's stable name of the problem (`Problem::kind`: `"not_found"`, `"usage"`, ...).
    pub kind: &'static str,
    /// The whole message, `PATH: problem` when it concerns a file (as `mixcli` prints it).
    pub message: String,
    /// The problem alone, without the path.
    pub reason: String,
    /// The file or folder it concerns.
    pub path: Option<PathBuf>,
    /// The operating system's error number, where there is one.
    pub errno: Option<i32>,
}

/// `ENOENT`, the errno of a missing input.
const ENOENT: i32 = 2;

impl Failure {
    /// A bad option: `param` names the Python parameter, `reason` is the parser's message.
    pub fn option(param: &str, reason: impl std::fmt::Display) -> Self {
        let message = format!("{param}: {reason}");
        Failure {
            class: Class::Option,
            kind: "usage",
            reason: message.clone(),
            message,
            path: None,
            errno: None,
        }
    }
}

impl From<mixdata::Error> for Failure {
    fn from(e: mixdata::Error) -> Self {
        Failure::from(Error::from(e))
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let (class, errno) = match &e.problem {
            Problem::Usage(_)
            | Problem::Collision { .. }
            | Problem::Data(mixdata::Problem::Usage(_) | mixdata::Problem::Mix(_)) => {
                (Class::Option, None)
            }
            Problem::Data(mixdata::Problem::Device { .. }) => (Class::Device, None),
            Problem::Data(mixdata::Problem::NotFound) => (Class::Input, Some(ENOENT)),
            Problem::Io { source, .. } | Problem::Data(mixdata::Problem::Io { source, .. }) => {
                (Class::Input, source.raw_os_error())
            }
            _ => (Class::Input, None),
        };
        Failure {
            class,
            kind: e.problem.kind(),
            message: e.to_string(),
            reason: e.problem.to_string(),
            path: e.path,
            errno,
        }
    }
}

/// The plan options, in the CLI's spellings.
#[derive(Clone, Copy, Debug)]
pub struct PlanSpelling<'a> {
    /// S.
    pub segments: u32,
    /// `all` or N; `None`: all, or the number of custom numerators.
    pub frames: Option<&'a str>,
    /// `average`, `linear`, `linear0` or `custom:N,N,...`.
    pub schedule: &'a str,
    /// `spread` or `consecutive`.
    pub select: &'a str,
    /// Train mode.
    pub train: bool,
    /// Train mode's seed.
    pub seed: Option<u64>,
}

/// The output and input options, in the CLI's spellings.
#[derive(Clone, Copy, Debug)]
pub struct OutputSpelling<'a> {
    /// `tchw`, `cthw` or `thwc`.
    pub layout: &'a str,
    /// `raw`, `unit` or `imagenet`.
    pub scale: &'a str,
    /// `WxH`.
    pub size: Option<&'a str>,
    /// `cpu` or `cuda`.
    pub device: &'a str,
    /// Decoder threads, 0 to 64 (0: FFmpeg decides).
    pub threads: &'a str,
    /// Mix damaged input anyway.
    pub allow_damaged: bool,
    /// Apply the display matrix.
    pub autorotate: bool,
}

/// The transform options, in the CLI's spellings (`--resize-short`, `--crop`, `--crop-mode`,
/// `--flip`).
#[derive(Clone, Copy, Debug)]
pub struct TransformSpelling<'a> {
    /// N, the short side.
    pub resize_short: Option<u32>,
    /// `WxH`.
    pub crop: Option<&'a str>,
    /// A mode mixdata's `CropMode` parser takes (`center`, `random`, `multiscale`, ...).
    pub crop_mode: &'a str,
    /// Random horizontal flip (train mode).
    pub flip: bool,
}

/// The frame-folder and epoch options, in the CLI's spellings (`--template`, `--start`,
/// `--epoch`).
#[derive(Clone, Copy, Debug, Default)]
pub struct DataSpelling<'a> {
    /// A frame template (`img_{:05}.jpg`).
    pub template: Option<&'a str>,
    /// The number of the template's first frame.
    pub start: Option<u64>,
    /// Train mode's epoch (the seed rule of clip 0 of a one-clip dataset).
    pub epoch: Option<u64>,
}

/// Checked plan options (the CLI's `PlanArgs`).
#[derive(Clone, Debug)]
pub struct PlanOptions(PlanArgs);

impl PlanOptions {
    /// True in train mode.
    #[must_use]
    pub fn train(&self) -> bool {
        self.0.train
    }
}

/// Checked frame-folder and epoch options (the CLI's `DataArgs`).
#[derive(Clone, Debug)]
pub struct DataOptions(DataArgs);

impl DataOptions {
    /// Parses the template with mixdata's parser and checks the epoch against the mode (the
    /// CLI's `--epoch` requires `--train`).
    ///
    /// # Errors
    /// [`Class::Option`] failures naming the parameter.
    pub fn parse(d: &DataSpelling<'_>, train: bool) -> Result<Self, Failure> {
        if d.epoch.is_some() && !train {
            return Err(Failure::option(
                "epoch",
                "an epoch chooses a train-mode draw: pass train=True too",
            ));
        }
        let template = d
            .template
            .map(FrameTemplate::from_str)
            .transpose()
            .map_err(|e| Failure::option("template", e))?;
        Ok(DataOptions(DataArgs {
            template,
            start: d.start,
            epoch: d.epoch,
        }))
    }
}

/// Checked mix options.
#[derive(Clone, Debug)]
pub struct MixOptions {
    plan: PlanArgs,
    out: OutputArgs,
    data: DataArgs,
    threads: usize,
}

/// Parses one of mixcore's named values (its `FromStr`, the spelling the CLI uses too).
fn named<T: FromStr>(param: &str, s: &str) -> Result<T, Failure>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| Failure::option(param, e))
}

fn value_enum<T: ValueEnum>(param: &str, what: &str, s: &str) -> Result<T, Failure> {
    T::from_str(s, false).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|p| p.get_name().to_string())
            .collect();
        Failure::option(
            param,
            format!("'{s}' is not {what}: use {}", names.join(", ")),
        )
    })
}

impl PlanOptions {
    /// Parses and checks the plan options with the CLI's parsers (`--frames`, `--schedule`,
    /// `--select`) and its checks of their combination.
    ///
    /// # Errors
    /// [`Class::Option`] failures with the parsers' messages.
    pub fn parse(p: &PlanSpelling<'_>) -> Result<Self, Failure> {
        if p.seed.is_some() && !p.train {
            return Err(Failure::option(
                "seed",
                "a seed is for train mode: pass train=True too",
            ));
        }
        let frames = p
            .frames
            .map(|s| s.parse::<FramesArg>())
            .transpose()
            .map_err(|e| Failure::option("frames", e))?;
        let schedule: ScheduleBuf = named("schedule", p.schedule)?;
        let select: Selection = named("select", p.select)?;
        let args = PlanArgs {
            segments: p.segments,
            frames,
            schedule,
            select,
            train: p.train,
            seed: p.seed,
        };
        args.config().map_err(Failure::from)?;
        Ok(PlanOptions(args))
    }
}

impl MixOptions {
    /// Parses and checks every option of a mix with the CLI's parsers.
    ///
    /// # Errors
    /// [`Class::Option`] failures with the parsers' messages.
    pub fn parse(
        plan: PlanOptions,
        o: &OutputSpelling<'_>,
        t: &TransformSpelling<'_>,
        data: DataOptions,
    ) -> Result<Self, Failure> {
        let layout: Layout = named("layout", o.layout)?;
        let scale: Epilogue = named("scale", o.scale)?;
        let device: Device = value_enum("device", "a device", o.device)?;
        let size = o
            .size
            .map(str::parse::<Size>)
            .transpose()
            .map_err(|e| Failure::option("size", e))?;
        let threads =
            mixcli::args::threads_arg(o.threads).map_err(|e| Failure::option("threads", e))?;
        if size.is_some() && t.resize_short.is_some() {
            // The CLI's clap rule: --size conflicts with --resize-short.
            return Err(Failure::option(
                "resize_short",
                "size and resize_short both resize the frames: give one of them",
            ));
        }
        let crop = t
            .crop
            .map(str::parse::<Size>)
            .transpose()
            .map_err(|e| Failure::option("crop", e))?;
        let crop_mode: CropMode = named("crop_mode", t.crop_mode)?;
        if crop.is_none() && crop_mode != CropMode::default() {
            // The CLI's clap rule: --crop-mode requires --crop.
            return Err(Failure::option(
                "crop_mode",
                format!(
                    "crop_mode='{}' places a crop: give crop=(width, height) too",
                    t.crop_mode
                ),
            ));
        }
        Ok(MixOptions {
            plan: plan.0,
            out: OutputArgs {
                layout,
                scale,
                size,
                resize_short: t.resize_short,
                crop,
                crop_mode,
                flip: t.flip,
                device,
                allow_damaged: o.allow_damaged,
                no_autorotate: !o.autorotate,
            },
            data: data.0,
            threads,
        })
    }
}

/// A finished mix.
#[derive(Debug)]
pub struct Mixed {
    /// The values, C order.
    pub data: Vec<f32>,
    /// Their shape in the requested layout (`[S, C, H, W]` for `tchw`; with three crops a
    /// leading axis of 3 views).
    pub shape: Vec<usize>,
    /// What was damaged, when a damaged input was mixed anyway (`allow_damaged`).
    pub damage: Option<String>,
}

/// Mixes the video or frame folder at `path` as `mixcli mix` does.
///
/// # Errors
/// Every failure of `mixcli mix` before it writes.
pub fn mix(path: &Path, options: &MixOptions) -> Result<Mixed, Failure> {
    mixdata::init(false);
    // As `mixcli mix`: clip 0 of a one-clip list, so an epoch derives its seed by the dataset
    // rule.
    let plan = options.data.plan_for(options.plan.config()?, 0);
    let template = options.data.template(None)?;
    let req: MixRequest<'_> = options.out.request(plan, options.threads)?;
    mixcli::device::check(req.device).map_err(Error::device)?;
    let input = mixdata::Source::open_with(
        path,
        &mixdata::OpenOptions {
            template: template.as_ref(),
            ..mixdata::OpenOptions::default()
        },
    )
    .map_err(Error::from)?;
    let mixed = mixing::mix_input(&input, &req).map_err(Error::from)?;
    Ok(Mixed {
        damage: (!mixed.damage.is_clean()).then(|| mixed.damage.to_string()),
        shape: mixed.full_shape(),
        data: mixed.data,
    })
}

/// What `mixcli info --json` prints for `path` (one JSON object).
///
/// # Errors
/// Every failure of `mixcli info`.
pub fn info_json(
    path: &Path,
    plan: PlanOptions,
    data: DataOptions,
    quick: bool,
    autorotate: bool,
) -> Result<String, Failure> {
    mixdata::init(false);
    let args = InfoArgs {
        input: path.to_path_buf(),
        json: true,
        quick,
        no_autorotate: !autorotate,
        plan: plan.0,
        data: data.0,
    };
    Ok(mixcli::info::run(&args)?)
}

/// Where a dataset's clips are listed: the annotation list, its format's name, the root its
/// relative paths resolve against, and Something-Something's label file.
#[derive(Clone, Copy, Debug)]
pub struct ListSpelling<'a> {
    /// The annotation list.
    pub list: &'a Path,
    /// The folder relative paths of the list resolve against.
    pub root: &'a Path,
    /// `video`, `rawframes`, `sthv1` or `sthv2` (mixdata's `ListFormat` parser).
    pub format: &'a str,
    /// The label file of `sthv1` and `sthv2` lists.
    pub labels: Option<&'a Path>,
}

/// Reads the list and makes the dataset that mixes its clips with `options`, the way
/// `mixcli batch --list` mixes them (the format's frame template unless `template` is given;
/// the clip's index is its position in the list). Reads the list (I/O: run without the GIL).
///
/// # Errors
/// A bad format name, a Something-Something list without labels, the list's errors (naming
/// the file and line), a configuration mixdata refuses, an unavailable device.
pub fn dataset(list: &ListSpelling<'_>, options: &MixOptions) -> Result<Dataset, Failure> {
    mixdata::init(false);
    let format: ListFormat = named("list_format", list.format)?;
    if format.needs_labels() && list.labels.is_none() {
        return Err(Failure::option(
            "labels",
            format!("a {format} list needs its label file: give labels=PATH"),
        ));
    }
    let plan = options.plan.config()?;
    let template = options.data.template(format.default_template())?;
    let config = DatasetConfig {
        segments: plan.segments,
        k: plan.k,
        selection: plan.selection,
        schedule: plan.schedule.into(),
        mode: plan.mode,
        layout: options.out.layout,
        epilogue: options.out.scale,
        transform: options.out.transform(),
        autorotate: !options.out.no_autorotate,
        allow_damaged: options.out.allow_damaged,
        template,
        threads: options.threads,
        device: options.out.device,
    };
    mixcli::device::check(config.device).map_err(Error::device)?;
    let entries = mixdata::list::read(format, list.list, list.root, list.labels)?;
    Ok(Dataset::new(entries, config)?)
}

/// Mixes sample `index` of `dataset` as `epoch` draws it.
///
/// # Errors
/// The clip's errors, naming it.
pub fn sample(dataset: &Dataset, index: usize, epoch: u64) -> Result<Sample, Failure> {
    Ok(dataset.get(index, epoch)?)
}

/// A loader's error policy from its name: `fail` or `skip`.
///
/// # Errors
/// Any other name.
pub fn error_policy(name: &str) -> Result<ErrorPolicy, Failure> {
    match name {
        "fail" => Ok(ErrorPolicy::Fail),
        "skip" => Ok(ErrorPolicy::Skip),
        _ => Err(Failure::option(
            "on_error",
            format!("'{name}' is not an error policy: use fail or skip"),
        )),
    }
}

/// A loader over `dataset` (finds the sample shape: may open the first clips, so run it
/// without the GIL).
///
/// # Errors
/// mixdata's refusals (a batch size of 0, an empty dataset, no clip that opens).
pub fn loader(dataset: std::sync::Arc<Dataset>, config: LoaderConfig) -> Result<Loader, Failure> {
    Ok(Loader::new(dataset, config)?)
}

/// The version of the library (the workspace's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// True when this build can mix on CUDA devices.
pub const CUDA_SUPPORT: bool = mixcli::device::CUDA_SUPPORT;
