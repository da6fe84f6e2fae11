//! The command line: subcommands, their flags, and the parsers of the values clap cannot
//! parse by itself (`--frames`, `--shard`, `--size`). `--schedule`, `--select`, `--layout` and
//! `--scale` are spelled as mixcore spells them (`mixcore::text`). Defaults follow
//! docs/contract.md.

use std::path::PathBuf;
use std::str::FromStr;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use mixcore::{
    Dtype, Epilogue, FramesPerSegment, Layout, Mode, PlanConfig, ScheduleBuf, Selection,
};

use crate::device::Device;
use crate::error::{Error, Result};
use crate::mixing::MixRequest;
use crate::tensor::{Format, Store};
use mixdata::transform::{Crop, CropMode, Resize, Transform};

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

/// A value parser for a mixcore option with a fixed set of names: clap lists them in `--help`
/// and its errors (any ASCII case), mixcore's `FromStr` makes the value.
fn named<T>(names: impl IntoIterator<Item = &'static str>) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = mixcore::ParseError> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).try_map(|s| s.parse::<T>())
}

/// The parser of `--dtype`: `f32`, `f16`, `bf16` in `--help`, and numpy's and the Python
/// module's spellings (`float32`, `float16`, `bfloat16`) accepted as aliases.
fn dtype_parser() -> impl TypedValueParser<Value = Dtype> {
    use clap::builder::PossibleValue;
    PossibleValuesParser::new([
        PossibleValue::new("f32").alias("float32"),
        PossibleValue::new("f16").alias("float16"),
        PossibleValue::new("bf16").alias("bfloat16"),
    ])
    .try_map(|s| s.parse::<Dtype>())
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
    /// equation as printed), or custom:N,N,... (one numerator per mixed frame, at most
    /// 65,536, not all zero).
    #[arg(
        long,
        default_value_t = ScheduleBuf::Linear,
        value_name = "average|linear|linear0|custom:N,N,...",
        help_heading = "Plan"
    )]
    pub schedule: ScheduleBuf,
    /// Which frames of a window are mixed: spread (the centres of m equal sub-bins; k = 1 is
    /// TSN's centre frame) or consecutive (m consecutive frames in the middle).
    #[arg(
        long,
        default_value_t = Selection::Spread,
        value_parser = named::<Selection>(Selection::ALL.map(Selection::name)),
        ignore_case = true,
        help_heading = "Plan"
    )]
    pub select: Selection,
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
            (ScheduleBuf::Custom(n), None) => {
                FramesPerSegment::Fixed(u32::try_from(n.len()).unwrap_or(u32::MAX))
            }
            (ScheduleBuf::Custom(_), Some(FramesArg::All)) => {
                return Err(Error::usage(
                    "--schedule custom:... gives one numerator per mixed frame, so it needs --frames N, not all",
                ));
            }
            (ScheduleBuf::Custom(n), Some(FramesArg::Fixed(k))) if n.len() != k as usize => {
                return Err(Error::usage(format!(
                    "--schedule custom has {} numerators but --frames is {k}: give one numerator per mixed frame",
                    n.len()
                )));
            }
            (_, None | Some(FramesArg::All)) => FramesPerSegment::All,
            (_, Some(FramesArg::Fixed(k))) => FramesPerSegment::Fixed(k),
        };
        let mode = match (self.train, self.seed) {
            (true, Some(seed)) => Mode::Train { seed },
            (true, None) => return Err(Error::usage("--train needs --seed N")),
            _ => Mode::Test,
        };
        Ok(PlanConfig {
            segments: self.segments,
            k,
            selection: self.select,
            mode,
            schedule: self.schedule.as_schedule(),
        })
    }
}

/// The output options shared by `mix` and `batch`.
#[derive(Clone, Debug, Args)]
pub struct OutputArgs {
    /// Axis order of the tensor: tchw (S, C, H, W: TSN / TSM in PyTorch), cthw (C, S, H, W: I3D
    /// and other 3D CNNs) or thwc (S, H, W, C: viewing, TF/JAX).
    #[arg(
        long,
        default_value_t = Layout::Tchw,
        value_parser = named::<Layout>(Layout::ALL.map(Layout::name)),
        ignore_case = true,
        help_heading = "Output"
    )]
    pub layout: Layout,
    /// Value scale of the tensor: raw (0 to 255), unit (value / 255) or imagenet
    /// ((value / 255 - mean) / std with ImageNet's mean and std per channel).
    #[arg(
        long,
        default_value_t = Epilogue::Raw,
        value_parser = named::<Epilogue>(Epilogue::NAMED.iter().filter_map(Epilogue::name)),
        ignore_case = true,
        help_heading = "Output"
    )]
    pub scale: Epilogue,
    /// Resize every frame to WIDTHxHEIGHT (bilinear, in the colour conversion) before mixing;
    /// default: the input's size. Not with --resize-short.
    #[arg(
        long,
        value_name = "WxH",
        help_heading = "Transform",
        conflicts_with = "resize_short"
    )]
    pub size: Option<Size>,
    /// Resize every frame's short side to N (bicubic), the long side keeping the aspect ratio
    /// (rounded half up, as mmaction2's Resize(scale=(-1, N))).
    #[arg(long, value_name = "N", help_heading = "Transform")]
    pub resize_short: Option<u32>,
    /// Keep a WIDTHxHEIGHT crop of every (resized) frame: every clip comes out at this size.
    #[arg(long, value_name = "WxH", help_heading = "Transform")]
    pub crop: Option<Size>,
    /// Where the crop is taken: center; three (three views for testing: left, right, middle
    /// along the long side, as mmaction2's ThreeCrop; the .npy gets a leading axis of 3);
    /// random or multiscale (TSN's multi-scale crop), drawn per clip from the seed, need
    /// --train.
    #[arg(long, value_name = "MODE", default_value_t = CropMode::Center, requires = "crop", help_heading = "Transform")]
    pub crop_mode: CropMode,
    /// Flip each clip horizontally with probability 1/2, drawn per clip from the seed (needs
    /// --train). Off by default: Something-Something has direction classes a flip turns
    /// into others.
    #[arg(long, help_heading = "Transform")]
    pub flip: bool,
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
    /// The spatial transform of `--size`, `--resize-short`, `--crop`, `--crop-mode`, `--flip`
    /// (not checked: [`OutputArgs::request`] checks it).
    #[must_use]
    pub fn transform(&self) -> Transform {
        let resize = match (self.size, self.resize_short) {
            (Some(s), _) => Resize::Exact {
                width: s.width,
                height: s.height,
            },
            (None, Some(n)) => Resize::Short(n),
            (None, None) => Resize::Keep,
        };
        Transform {
            resize,
            crop: self.crop.map(|c| Crop {
                width: c.width,
                height: c.height,
                mode: self.crop_mode,
            }),
            flip: self.flip,
        }
    }

    /// The mix request for a plan configuration, with `threads` decoder threads.
    ///
    /// # Errors
    /// A usage error with the transform module's message when the transform options are
    /// refused on their own or in the plan's mode (random crops and the flip need train
    /// mode).
    pub fn request<'a>(&self, plan: PlanConfig<'a>, threads: usize) -> Result<MixRequest<'a>> {
        let transform = self.transform();
        transform
            .validate()
            .and_then(|()| transform.check_mode(plan.mode))
            .map_err(|e| Error::usage(e.to_string()))?;
        Ok(MixRequest {
            plan,
            layout: self.layout,
            epilogue: self.scale,
            transform,
            device: self.device,
            threads,
            autorotate: !self.no_autorotate,
            allow_damaged: self.allow_damaged,
        })
    }
}

/// The output file's element type and format (`mix`, `batch`): [`crate::tensor`].
#[derive(Clone, Copy, Debug, Default, Args)]
pub struct StoreArgs {
    /// The element type of the output: f32, f16 (IEEE half) or bf16 (bfloat16); float32,
    /// float16 and bfloat16 are accepted too. A half value is the f32 value rounded to
    /// nearest, ties to even. bf16 needs --format safetensors (numpy has no bfloat16).
    #[arg(
        long,
        value_name = "TYPE",
        default_value_t = Dtype::F32,
        value_parser = dtype_parser(),
        ignore_case = true,
        help_heading = "Output"
    )]
    pub dtype: Dtype,
    /// The output file's format: npy (numpy's .npy: f32 or f16) or safetensors (one tensor
    /// named "mixed", any --dtype, the options as metadata). Default: safetensors when `mix
    /// -o` names a .safetensors file, else npy; `batch` names its outputs by the format
    /// (.npy, .safetensors). Given with an `-o` named .npy or .safetensors, the two must agree.
    #[arg(long, value_enum, value_name = "FORMAT", help_heading = "Output")]
    pub format: Option<Format>,
}

impl StoreArgs {
    /// The store of an output: `--format`, else the one `output`'s extension names
    /// ([`Format::of_path`]; npy without an output name), with `--dtype`.
    ///
    /// # Errors
    /// A usage error for bf16 in `.npy` ([`Store::check`]), and for a `--format` that
    /// `output`'s own extension contradicts (`-o x.npy --format safetensors`: a file whose name
    /// says one format and whose bytes are the other would mislead every reader of it).
    pub fn store(&self, output: Option<&std::path::Path>) -> Result<Store> {
        let named = output.and_then(Format::named_by);
        if let (Some(format), Some(named), Some(path)) = (self.format, named, output)
            && format != named
        {
            return Err(Error::usage(format!(
                "--format {format} contradicts the output's name {}: it would write {format} \
                 into a .{named} file; name the output .{format} or leave out --format",
                path.display()
            )));
        }
        let store = Store {
            dtype: self.dtype,
            format: self.format.or(named).unwrap_or(Format::Npy),
        };
        store.check()?;
        Ok(store)
    }
}

/// How frame folders are named and which epoch's draw is mixed (`mix`, `batch`, `info`).
#[derive(Clone, Debug, Default, Args)]
pub struct DataArgs {
    /// Frame folders hold frames named by TEMPLATE (Python format: img_{:05}.jpg, {:05}.jpg,
    /// frame{}.png); other files are ignored and the frames must be numbered without a gap.
    /// Default: every file of a frame folder is a frame, ordered by the number in its name.
    #[arg(long, value_name = "TEMPLATE", help_heading = "Input")]
    pub template: Option<mixdata::FrameTemplate>,
    /// The number of the first frame of --template (default 1, as mmaction2).
    #[arg(long, value_name = "N", help_heading = "Input")]
    pub start: Option<u64>,
    /// With --train: mix epoch E's draw. The clip's seed is derived from --seed, E and its
    /// index (its line in --list, else its position in the sorted input list; 0 for `mix` and
    /// `info`) as mixdata's dataset does. Without it --seed is used as it is, for every clip.
    #[arg(long, value_name = "E", requires = "train", help_heading = "Plan")]
    pub epoch: Option<u64>,
}

impl DataArgs {
    /// The frame template: `--template`, else `default` (a list format's own), with `--start`
    /// applied.
    ///
    /// # Errors
    /// `--start` without any template.
    pub fn template(
        &self,
        default: Option<mixdata::FrameTemplate>,
    ) -> Result<Option<mixdata::FrameTemplate>> {
        let template = self.template.clone().or(default);
        match (template, self.start) {
            (Some(t), Some(start)) => Ok(Some(t.with_start(start))),
            (None, Some(_)) => Err(Error::usage(
                "--start N numbers the frames of a --template (give --template too)",
            )),
            (t, None) => Ok(t),
        }
    }

    /// `plan` with the train-mode seed of clip `index` in `--epoch` (mixdata's rule,
    /// `mixdata::seed::sample_seed`); unchanged without `--epoch` or in test mode.
    #[must_use]
    pub fn plan_for<'a>(&self, plan: PlanConfig<'a>, index: u64) -> PlanConfig<'a> {
        match (plan.mode, self.epoch) {
            (Mode::Train { seed }, Some(epoch)) => PlanConfig {
                mode: Mode::Train {
                    seed: mixdata::seed::sample_seed(seed, epoch, index),
                },
                ..plan
            },
            _ => plan,
        }
    }
}

/// `mixcli mix`.
#[derive(Clone, Debug, Args)]
pub struct MixArgs {
    /// A video file (mp4, webm, avi, mkv, ...) or a folder of numbered JPEG/PNG frames.
    pub input: PathBuf,
    /// The file to write (C order, the layout's shape): a .npy, or with --format safetensors
    /// (or a .safetensors name) a safetensors file; float32 unless --dtype says otherwise.
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
    /// The output's element type and format.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Frame templates and epochs.
    #[command(flatten)]
    pub data: DataArgs,
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
    /// Frame templates and epochs.
    #[command(flatten)]
    pub data: DataArgs,
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
    /// The outputs' element type and format.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Frame templates and epochs.
    #[command(flatten)]
    pub data: DataArgs,
    /// An annotation list of the clips to mix (instead of paths and --manifest): each line's
    /// clip, resolved against --root (default: the list's folder), is mixed to the output its
    /// path names, and index.jsonl lists every output with its labels and plan.
    #[arg(long, value_name = "FILE", help_heading = "List")]
    pub list: Option<PathBuf>,
    /// The format of --list: video (mmaction2: PATH LABEL...), rawframes (mmaction2: DIR
    /// TOTAL_FRAMES LABEL...), sthv1 (ID;LABEL TEXT), sthv2 (Something-Something V2 JSON).
    #[arg(
        long,
        value_name = "FORMAT",
        default_value = "video",
        requires = "list",
        help_heading = "List"
    )]
    pub list_format: mixdata::ListFormat,
    /// The label file of an sthv1 (one label per line) or sthv2 (labels.json) list.
    #[arg(long, value_name = "FILE", requires = "list", help_heading = "List")]
    pub labels: Option<PathBuf>,
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
    fn options_take_mixcores_spellings() {
        let cli = Cli::try_parse_from([
            "mixcli",
            "mix",
            "in.mp4",
            "-o",
            "out.npy",
            "--schedule",
            "Custom:1, 2,0",
            "--select",
            "CONSECUTIVE",
            "--layout",
            "thwc",
            "--scale",
            "ImageNet",
        ])
        .unwrap();
        let Command::Mix(mix) = cli.command else {
            panic!()
        };
        assert_eq!(mix.plan.schedule, ScheduleBuf::Custom(vec![1, 2, 0]));
        assert_eq!(mix.plan.select, Selection::Consecutive);
        assert_eq!(mix.out.layout, Layout::Thwc);
        assert_eq!(mix.out.scale, Epilogue::IMAGENET);
        let defaults = Cli::try_parse_from(["mixcli", "mix", "in.mp4", "-o", "out.npy"]).unwrap();
        let Command::Mix(mix) = defaults.command else {
            panic!()
        };
        assert_eq!(mix.plan.schedule, ScheduleBuf::Linear);
        assert_eq!(mix.plan.select, Selection::Spread);
        assert_eq!((mix.store.dtype, mix.store.format), (Dtype::F32, None));
        assert_eq!(
            (mix.out.layout, mix.out.scale),
            (Layout::Tchw, Epilogue::Raw)
        );
        for (flag, bad) in [
            ("--schedule", "custom:0,0"),
            ("--schedule", "cubic"),
            ("--layout", "hwc"),
            ("--scale", "normalize:0/1"),
            ("--select", "random"),
            ("--dtype", "f64"),
            ("--format", "npz"),
        ] {
            let r = Cli::try_parse_from(["mixcli", "mix", "in.mp4", "-o", "x.npy", flag, bad]);
            assert!(r.is_err(), "{flag} {bad}");
        }
    }

    #[test]
    fn dtype_takes_short_and_numpy_names_in_any_case() {
        for (text, dtype) in [
            ("f16", Dtype::F16),
            ("BFloat16", Dtype::Bf16),
            ("float32", Dtype::F32),
            ("BF16", Dtype::Bf16),
        ] {
            let cli = Cli::try_parse_from(["mixcli", "mix", "i", "-o", "o", "--dtype", text]);
            let Command::Mix(mix) = cli.unwrap().command else {
                panic!()
            };
            assert_eq!(mix.store.dtype, dtype, "{text}");
        }
        let cli = Cli::try_parse_from([
            "mixcli",
            "batch",
            "i",
            "--out-dir",
            "o",
            "--format",
            "safetensors",
        ]);
        let Command::Batch(batch) = cli.unwrap().command else {
            panic!()
        };
        assert_eq!(batch.store.format, Some(Format::Safetensors));
    }

    #[test]
    fn format_must_agree_with_the_outputs_extension() {
        use std::path::Path;
        let args = |format| StoreArgs {
            dtype: Dtype::F16,
            format,
        };
        let st = Some(Format::Safetensors);
        let npy = Some(Format::Npy);
        for (format, output, want) in [
            (None, "o.npy", Some(Format::Npy)),
            (None, "o.SafeTensors", st),
            (None, "o.bin", npy),
            (None, "-", npy),
            (st, "o.safetensors", st),
            (st, "o.bin", st),
            (st, "-", st),
            (npy, "o.NPY", npy),
            (st, "o.npy", None),
            (npy, "o.safetensors", None),
        ] {
            let got = args(format).store(Some(Path::new(output)));
            match want {
                Some(f) => assert_eq!(got.unwrap().format, f, "{format:?} {output}"),
                None => {
                    let msg = got.unwrap_err().to_string();
                    assert!(
                        msg.contains("contradicts the output's name") && msg.contains(output),
                        "{msg}"
                    );
                }
            }
        }
        // batch names its outputs by the format: nothing to contradict.
        assert_eq!(args(st).store(None).unwrap().format, Format::Safetensors);
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
