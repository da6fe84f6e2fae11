//! The one module that names mixcli and mixdata: options parsed by the CLI's own parsers (and
//! mixcore's spellings), one input mixed or described through mixdata, and the errors turned
//! into [`Failure`]s. The rest of the crate sees only the types defined here.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::ValueEnum;
use mixcli::args::{DataArgs, FramesArg, InfoArgs, OutputArgs, PlanArgs, Size};
use mixcli::device::Device;
use mixcli::mixing::{self, MixRequest};
use mixcli::{Error, Problem};
use mixcore::{Epilogue, Layout, ScheduleBuf, Selection};
use mixdata::CropMode;

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

/// Checked plan options (the CLI's `PlanArgs`).
#[derive(Clone, Debug)]
pub struct PlanOptions(PlanArgs);

/// Checked mix options.
#[derive(Clone, Debug)]
pub struct MixOptions {
    plan: PlanArgs,
    out: OutputArgs,
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
    pub fn parse(plan: PlanOptions, o: &OutputSpelling<'_>) -> Result<Self, Failure> {
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
        Ok(MixOptions {
            plan: plan.0,
            out: OutputArgs {
                layout,
                scale,
                size,
                resize_short: None,
                crop: None,
                crop_mode: CropMode::Center,
                flip: false,
                device,
                allow_damaged: o.allow_damaged,
                no_autorotate: !o.autorotate,
            },
            threads,
        })
    }
}

/// A finished mix.
#[derive(Debug)]
pub struct Mixed {
    /// The values, C order.
    pub data: Vec<f32>,
    /// Their shape in the requested layout.
    pub shape: [usize; 4],
    /// What was damaged, when a damaged input was mixed anyway (`allow_damaged`).
    pub damage: Option<String>,
}

/// Mixes the video or frame folder at `path` as `mixcli mix` does.
///
/// # Errors
/// Every failure of `mixcli mix` before it writes.
pub fn mix(path: &Path, options: &MixOptions) -> Result<Mixed, Failure> {
    mixdata::init(false);
    let plan = options.plan.config()?;
    let req: MixRequest<'_> = options.out.request(plan, options.threads)?;
    mixcli::device::check(req.device).map_err(Error::device)?;
    let input = mixdata::Source::open(path).map_err(Error::from)?;
    let mixed = mixing::mix_input(&input, &req).map_err(Error::from)?;
    Ok(Mixed {
        damage: (!mixed.damage.is_clean()).then(|| mixed.damage.to_string()),
        data: mixed.data,
        shape: mixed.shape,
    })
}

/// What `mixcli info --json` prints for `path` (one JSON object).
///
/// # Errors
/// Every failure of `mixcli info`.
pub fn info_json(
    path: &Path,
    plan: PlanOptions,
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
        data: DataArgs::default(),
    };
    Ok(mixcli::info::run(&args)?)
}

/// The version of the library (the workspace's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// True when this build can mix on CUDA devices.
pub const CUDA_SUPPORT: bool = mixcli::device::CUDA_SUPPORT;
