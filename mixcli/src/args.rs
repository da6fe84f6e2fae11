//! The command line: subcommands, their flags, and the parsers of the values clap cannot
//! parse by itself (`--frames`, `--schedule`, `--shard`, `--size`). Defaults follow docs/contract.md.

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mixcore::{Epilogue, FramesPerSegment, Layout, Mode, PlanConfig, Schedule, Selection};

use crate::device::Device;
use crate::error::{Error, Result};
use crate::mixing::MixRequest;

/// Frame Mix-up from the command line: videos and frame folders in, exact mixed tensors out.
#[derive(Debug, Parser)]
#[command(name = "mixcli", version = crate::device::VERSION, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
    /// Show FFmpeg's warnings (silenced by default; mixcli reports errors itself).
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mix one video or frame folder into a .npy tensor (and optionally a preview PNG).
    Mix(MixArgs),
    /// Print an input's frame count, size, frame rate, codec and its plan.
    Info(InfoArgs),
    /// Mix many inputs (a dataset) into a mirrored tree of .npy files.
    Batch(BatchArgs),
    /// Synthesise a short clip with moving objects, mix it and write the results.
    Demo(DemoArgs),
}

/// `--frames`: how many frames of each segment's window are mixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramesArg {
    /// Every frame of the window.
    All,
    /// At most N frames (N >= 1), spread or consecutive.
    Fixed(u32),
}

impl FromStr for FramesArg {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s.eq_ignore_ascii_case("all") {
            return Ok(FramesArg::All);
        }
        match s.parse::<u32>() {
            Ok(0) => Err("must be at least 1 (or 'all')".into()),
            Ok(n) => Ok(FramesArg::Fixed(n)),
            Err(_) => Err(format!("'{s}' is neither 'all' nor a positive integer")),
        }
    }
}

/// `--schedule`: the weights of the mixed frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleArg {
    /// `n_t = 1`.
    Average,
    /// `n_t = t + 1`.
    Linear,
    /// `n_t = t`.
    Linear0,
    /// The given numerators, one per mixed frame.
    Custom(Vec<u32>),
}

/// The most numerators `custom:` accepts (a window mixes at most 65,536 frames).
pub const MAX_CUSTOM: usize = mixcore::MAX_MIXED_FRAMES as usize;

impl FromStr for ScheduleArg {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "average" => return Ok(ScheduleArg::Average),
            "linear" => return Ok(ScheduleArg::Linear),
            "linear0" => return Ok(ScheduleArg::Linear0),
            _ => {}
        }
        let Some(list) = s
            .strip_prefix("custom:")
            .or_else(|| s.strip_prefix("CUSTOM:"))
        else {
            return Err(format!(
                "'{s}' is not a schedule: use average, linear, linear0 or custom:N,N,..."
            ));
        };
        let mut numerators = Vec::new();
        for (i, item) in list.split(',').enumerate() {
            if i >= MAX_CUSTOM {
                return Err(format!("custom: more than {MAX_CUSTOM} numerators"));
            }
            let item = item.trim();
            match item.parse::<u32>() {
                Ok(n) => numerators.push(n),
                Err(_) => {
                    return Err(format!(
                        "custom: numerator {} ('{item}') is not a non-negative integer below 2^32",
                        i + 1
                    ));
                }
            }
        }
        if numerators.iter().all(|&n| n == 0) {
            return Err("custom: at least one numerator must be positive".into());
        }
        Ok(ScheduleArg::Custom(numerators))
    }
}

/// `--select`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum SelectArg {
    /// The centres of m equal sub-bins of the window (k = 1: TSN's centre frame).
    #[default]
    Spread,
    /// m consecutive frames in the middle of the window.
    Consecutive,
}

/// `--layout`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// Shape (S, C, H, W): TSN / TSM in PyTorch.
    #[default]
    Tchw,
    /// Shape (C, S, H, W): I3D and other 3D CNNs.
    Cthw,
    /// Shape (S, H, W, C): viewing, TF/JAX.
    Thwc,
}

impl From<LayoutArg> for Layout {
    fn from(l: LayoutArg) -> Layout {
        match l {
            LayoutArg::Tchw => Layout::Tchw,
            LayoutArg::Cthw => Layout::Cthw,
            LayoutArg::Thwc => Layout::Thwc,
        }
    }
}

/// `--scale`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ScaleArg {
    /// Pixel values, 0 to 255.
    #[default]
    Raw,
    /// Values / 255, 0 to 1.
    Unit,
    /// (value / 255 - mean) / std with ImageNet's mean and std per channel.
    Imagenet,
}

impl From<ScaleArg> for Epilogue {
    fn from(s: ScaleArg) -> Epilogue {
        match s {
            ScaleArg::Raw => Epilogue::Raw,
            ScaleArg::Unit => Epilogue::Unit,
            ScaleArg::Imagenet => Epilogue::IMAGENET,
        }
    }
}

/// `--size WxH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The largest `--size` side. FFmpeg's own bound is on the area ([`frame_fits`]); a side
/// is further bounded here well below where swscale's filters stop working (measured on
/// FFmpeg 5.1 from a 64x48 source: 438,438 wide at 2 high, 165,564 high at 2 wide).
pub const MAX_SIDE: u32 = 16_384;

/// True when FFmpeg can allocate an RGB24 frame of `width` x `height`: its
/// `av_image_check_size` (called by `av_frame_get_buffer` for every frame swscale writes)
/// requires `(8 * width + 1024) * (height + 128) < 2^31 - 1`. 16000x16000 fits, 16384x16384
/// does not (16255x16255 is the largest square, 16384x16128 the tallest at 16384 wide); the
/// bound also keeps one RGB24 frame below 800 MB.
#[must_use]
pub fn frame_fits(width: u32, height: u32) -> bool {
    (8 * u64::from(width) + 1024) * (u64::from(height) + 128) < (1u64 << 31) - 1
}

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (w, h) = s
            .split_once(['x', 'X'])
            .ok_or_else(|| format!("'{s}' is not WIDTHxHEIGHT (e.g. 224x224)"))?;
        let side = |v: &str| -> std::result::Result<u32, String> {
            match v.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_SIDE).contains(&n) => Ok(n),
                _ => Err(format!(
                    "'{s}': each side must be an integer from 1 to {MAX_SIDE}"
                )),
            }
        };
        let size = Size {
            width: side(w)?,
            height: side(h)?,
        };
        if !frame_fits(size.width, size.height) {
            return Err(format!(
                "'{s}' is larger than FFmpeg can convert a frame to: it requires (8 x width + 1024) x (height + 128) below 2^31 - 1 (the largest square is 16255x16255)"
            ));
        }
        Ok(size)
    }
}

/// `--shard I/N`: this machine takes the inputs whose position in the sorted input list is
/// I modulo N (I counts from 0, as Kubernetes indexed jobs and `SLURM_ARRAY_TASK_ID=0..N-1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0 <= index < count`.
    pub index: u64,
    /// The number of shards, at least 1.
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("'{s}' is not I/N (e.g. 0/4 for the first of 4 shards)"))?;
        let index: u64 = i
            .trim()
            .parse()
            .map_err(|_| format!("'{s}': the shard index '{i}' is not a non-negative integer"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("'{s}': the shard count '{n}' is not a positive integer"))?;
        if count == 0 {
            return Err(format!("'{s}': the shard count must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "'{s}': the shard index must be below the shard count (shards count from 0: 0/{count} .. {}/{count})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// True when the input at `position` of the sorted input list belongs to this shard.
    #[must_use]
    pub fn takes(&self, position: usize) -> bool {
        position as u64 % self.count == self.index
    }
}

/// The most decoder threads per input (`--threads`). FFmpeg's frame threading gains nothing
/// past a few dozen threads, and every thread holds frames in flight: an unbounded value
/// (`--threads 100000`) exhausts memory long before it decodes anything.
pub const MAX_THREADS: usize = 64;

/// The most inputs mixed at once (`--jobs`); each job holds a decoder and an output tensor.
pub const MAX_JOBS: u32 = 256;

/// Parses `--threads`: 0 (FFmpeg decides) to [`MAX_THREADS`]. Public so that other front
/// ends (the Python module) accept exactly the CLI's values.
///
/// # Errors
/// A value that is not an integer, or more than [`MAX_THREADS`].
pub fn threads_arg(s: &str) -> std::result::Result<usize, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n <= MAX_THREADS as u64 => Ok(n as usize),
        Ok(n) => Err(format!(
            "{n} decoder threads is more than the limit of {MAX_THREADS} (0 lets FFmpeg decide)"
        )),
        Err(_) => Err(format!(
            "'{s}' is not a thread count (0 to {MAX_THREADS}; 0 lets FFmpeg decide)"
        )),
    }
}

/// The plan options shared by `mix`, `info` and `batch`.
#[derive(Clone, Debug, Args)]
pub struct PlanArgs {
    /// S, the number of segments (mixed frames out).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..), help_heading = "Plan")]
    pub segments: u32,
    /// k, frames mixed per segment: all, or N (spread over the window, or consecutive).
    /// Default: all (N, the number of custom numerators, with a custom schedule).
    #[arg(long, value_name = "all|N", help_heading = "Plan")]
    pub frames: Option<FramesArg>,
    /// The weights: average (order ignored), linear (grow with order), linear0 (the paper's
    /// equation as printed), or custom:N,N,... (one numerator per mixed frame).
    #[arg(
        long,
        default_value = "linear",
        value_name = "average|linear|linear0|custom:N,N,...",
        help_heading = "Plan"
    )]
    pub schedule: ScheduleArg,
    /// Which frames of a window are mixed.
    #[arg(long, value_enum, default_value_t = SelectArg::Spread, help_heading = "Plan")]
    pub select: SelectArg,
    /// Train mode: random positions within each window, drawn from --seed (reproducible).
    #[arg(long, requires = "seed", help_heading = "Plan")]
    pub train: bool,
    /// The seed of train mode (SplitMix64).
    #[arg(long, requires = "train", help_heading = "Plan")]
    pub seed: Option<u64>,
}

impl PlanArgs {
    /// The mixcore plan configuration (borrowing custom numerators from `self`).
    ///
    /// # Errors
    /// A custom schedule with `--frames all`, or with a `--frames N` that differs from the
    /// number of numerators.
    pub fn config(&self) -> Result<PlanConfig<'_>> {
        let k = match (&self.schedule, self.frames) {
            (ScheduleArg::Custom(n), None) => {
                FramesPerSegment::Fixed(u32::try_from(n.len()).unwrap_or(u32::MAX))
            }
            (ScheduleArg::Custom(_), Some(FramesArg::All)) => {
                return Err(Error::usage(
                    "--schedule custom:... gives one numerator per mixed frame, so it needs --frames N, not all",
                ));
            }
            (ScheduleArg::Custom(n), Some(FramesArg::Fixed(k))) if n.len() != k as usize => {
                return Err(Error::usage(format!(
                    "--schedule custom has {} numerators but --frames is {k}: give one numerator per mixed frame",
                    n.len()
                )));
            }
            (_, None | Some(FramesArg::All)) => FramesPerSegment::All,
            (_, Some(FramesArg::Fixed(k))) => FramesPerSegment::Fixed(k),
        };
        let schedule = match &self.schedule {
            ScheduleArg::Average => Schedule::Average,
            ScheduleArg::Linear => Schedule::Linear,
            ScheduleArg::Linear0 => Schedule::Linear0,
            ScheduleArg::Custom(n) => Schedule::Custom(n),
        };
        let mode = match (self.train, self.seed) {
            (true, Some(seed)) => Mode::Train { seed },
            (true, None) => return Err(Error::usage("--train needs --seed N")),
            _ => Mode::Test,
        };
        Ok(PlanConfig {
            segments: self.segments,
            k,
            selection: match self.select {
                SelectArg::Spread => Selection::Spread,
                SelectArg::Consecutive => Selection::Consecutive,
            },
            mode,
            schedule,
        })
    }
}

/// The output options shared by `mix` and `batch`.
#[derive(Clone, Debug, Args)]
pub struct OutputArgs {
    /// Axis order of the tensor.
    #[arg(long, value_enum, default_value_t = LayoutArg::Tchw, help_heading = "Output")]
    pub layout: LayoutArg,
    /// Value scale of the tensor.
    #[arg(long, value_enum, default_value_t = ScaleArg::Raw, help_heading = "Output")]
    pub scale: ScaleArg,
    /// Resize every frame to WIDTHxHEIGHT (bilinear) before mixing; default: the input's size.
    #[arg(long, value_name = "WxH", help_heading = "Output")]
    pub size: Option<Size>,
    /// Where the mixing runs.
    #[arg(long, value_enum, default_value_t = Device::Cpu, help_heading = "Output")]
    pub device: Device,
    /// Accept damaged input (decoder errors, concealed or lost frames) instead of failing;
    /// the damage is reported (a warning naming the frames).
    #[arg(long, help_heading = "Input")]
    pub allow_damaged: bool,
    /// Keep the stored orientation: ignore the stream's display matrix (rotation), which is
    /// applied by default as the `ffmpeg` program does.
    #[arg(long, help_heading = "Input")]
    pub no_autorotate: bool,
}

impl OutputArgs {
    /// The mix request for a plan configuration, with `threads` decoder threads.
    #[must_use]
    pub fn request<'a>(&self, plan: PlanConfig<'a>, threads: usize) -> MixRequest<'a> {
        MixRequest {
            plan,
            layout: self.layout.into(),
            epilogue: self.scale.into(),
            size: self.size.map(|s| (s.width, s.height)),
            device: self.device,
            threads,
            autorotate: !self.no_autorotate,
            allow_damaged: self.allow_damaged,
        }
    }
}

/// `mixcli mix`.
#[derive(Clone, Debug, Args)]
pub struct MixArgs {
    /// A video file (mp4, webm, avi, mkv, ...) or a folder of numbered JPEG/PNG frames.
    pub input: PathBuf,
    /// The .npy file to write (float32, C order, the layout's shape).
    #[arg(short, long, value_name = "OUT.npy")]
    pub output: PathBuf,
    /// Also write a PNG grid of the S mixed frames.
    #[arg(long, value_name = "OUT.png")]
    pub preview: Option<PathBuf>,
    /// Decoder threads (0: FFmpeg decides; at most 64).
    #[arg(long, default_value_t = 0, value_parser = threads_arg)]
    pub threads: usize,
    /// Plan options.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Output options.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `mixcli info`.
#[derive(Clone, Debug, Args)]
pub struct InfoArgs {
    /// A video file or a frame folder.
    pub input: PathBuf,
    /// Print one JSON object: {"frames", "width", "height", "segments": [{"frames",
    /// "numerators", "denominator"}, ...], ...}.
    #[arg(long)]
    pub json: bool,
    /// Trust the demuxed packet count instead of decoding every frame (faster; the count
    /// may be off for damaged files).
    #[arg(long)]
    pub quick: bool,
    /// Show the stored orientation: ignore the stream's display matrix (rotation).
    #[arg(long)]
    pub no_autorotate: bool,
    /// Plan options.
    #[command(flatten)]
    pub plan: PlanArgs,
}

/// `mixcli batch`.
#[derive(Clone, Debug, Args)]
pub struct BatchArgs {
    /// Videos, frame folders, or folders holding them (searched recursively).
    pub inputs: Vec<PathBuf>,
    /// Where the outputs go, mirroring the inputs' folder tree.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// A file with one input path per line (relative paths are relative to the file's folder;
    /// empty lines and lines starting with # are skipped).
    #[arg(long, value_name = "FILE")]
    pub manifest: Vec<PathBuf>,
    /// Name every output by its input's path relative to DIR (an input outside DIR is an
    /// error). Default: relative to the folder argument it was found in, to the manifest's
    /// folder for manifest lines, or just the file or folder name for an input given directly.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Inputs mixed at once (default: the number of CPUs; at most 256).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_JOBS)))]
    pub jobs: Option<u32>,
    /// Take only shard I of N (0-based) of the sorted inputs, so N machines share a dataset.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Decoder threads per input (default 1: the jobs run in parallel instead; at most 64).
    #[arg(long, default_value_t = 1, value_parser = threads_arg)]
    pub threads: usize,
    /// Also write a preview PNG next to each .npy.
    #[arg(long)]
    pub preview: bool,
    /// Mix inputs again even when their .npy exists (default: skip finished outputs, so a
    /// killed run resumes).
    #[arg(long)]
    pub overwrite: bool,
    /// The JSON-lines report of failures (default: OUT_DIR/mixcli-failures.jsonl, or
    /// mixcli-failures-shard-I-of-N.jsonl with --shard).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Plan options.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Output options.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `mixcli demo`.
#[derive(Clone, Debug, Args)]
pub struct DemoArgs {
    /// Where to write the demo's tensor, preview and plan.
    #[arg(long, value_name = "DIR", default_value = "framemix-demo")]
    pub out_dir: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_parses_names_and_custom() {
        assert_eq!("linear".parse::<ScheduleArg>(), Ok(ScheduleArg::Linear));
        assert_eq!("Average".parse::<ScheduleArg>(), Ok(ScheduleArg::Average));
        assert_eq!(
            "custom:1, 2,0".parse::<ScheduleArg>(),
            Ok(ScheduleArg::Custom(vec![1, 2, 0]))
        );
        assert!("custom:".parse::<ScheduleArg>().is_err());
        assert!("custom:0,0".parse::<ScheduleArg>().is_err());
        assert!("custom:1,-2".parse::<ScheduleArg>().is_err());
        assert!("custom:99999999999".parse::<ScheduleArg>().is_err());
        assert!("cubic".parse::<ScheduleArg>().is_err());
    }

    #[test]
    fn shard_parses_and_partitions() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1/0", "x/2", "1", "-1/2", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (0..3).map(|i| Shard { index: i, count: 3 }).collect();
        for pos in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.takes(pos)).count(), 1);
        }
    }

    #[test]
    fn size_and_frames_parse() {
        assert_eq!(
            "224x224".parse::<Size>(),
            Ok(Size {
                width: 224,
                height: 224
            })
        );
        assert!("0x10".parse::<Size>().is_err());
        assert!("16000x16000".parse::<Size>().is_ok());
        assert!("16255x16255".parse::<Size>().is_ok());
        assert!("16384x16128".parse::<Size>().is_ok());
        assert!("16384x16129".parse::<Size>().is_err());
        assert!("16384x16384".parse::<Size>().is_err());
        assert!("16385x2".parse::<Size>().is_err());
        assert!("224".parse::<Size>().is_err());
        assert_eq!("all".parse::<FramesArg>(), Ok(FramesArg::All));
        assert_eq!("5".parse::<FramesArg>(), Ok(FramesArg::Fixed(5)));
        assert!("0".parse::<FramesArg>().is_err());
    }

    #[test]
    fn custom_schedule_sets_k() {
        let cli =
            Cli::try_parse_from(["mixcli", "info", "x", "--schedule", "custom:1,2,3"]).unwrap();
        let Command::Info(info) = cli.command else {
            panic!()
        };
        let cfg = info.plan.config().unwrap();
        assert_eq!(cfg.k, FramesPerSegment::Fixed(3));
        let cli = Cli::try_parse_from([
            "mixcli",
            "info",
            "x",
            "--schedule",
            "custom:1,2",
            "--frames",
            "3",
        ])
        .unwrap();
        let Command::Info(info) = cli.command else {
            panic!()
        };
        assert!(info.plan.config().is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
