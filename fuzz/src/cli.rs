//! The CLI's input side (feature `cli`): arbitrary bytes as a media file and as a frame of a
//! frame folder through mixcli's decoding front end, and the `--schedule custom:...` and
//! `--shard I/N` parsers.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use mixcli::args::{FramesArg, PlanArgs, Shard};
use mixcli::batch::{Job, shard_jobs};
use mixcore::{
    Epilogue, FramesPerSegment, Layout, MAX_MIXED_FRAMES, Plan, PlanConfig, Schedule, ScheduleBuf,
    Selection,
};
use mixdata::{Device, MixRequest, Problem, ReaderOptions, Source, mix_input};

/// The most numerators `custom:` takes: a window mixes at most [`MAX_MIXED_FRAMES`] frames.
const MAX_CUSTOM: usize = MAX_MIXED_FRAMES as usize;

/// Frames larger than this many pixels are mixed at a fixed small size instead of their own
/// (a few bytes of header can state 16384 x 16384; the fuzzer's memory limit is not the
/// subject here).
const MAX_NATIVE_PIXELS: u64 = 1 << 18;

/// A folder of this process's own under the temporary directory (`TMPDIR`), made once.
fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("framemix-fuzz-decode-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("folder")).expect("creating the fuzz work folder");
        mixdata::init(false);
        dir
    })
}

fn request(plan: PlanConfig<'_>, size: Option<(u32, u32)>) -> MixRequest<'_> {
    MixRequest {
        plan,
        layout: Layout::Tchw,
        epilogue: Epilogue::Raw,
        transform: mixdata::Transform {
            resize: size.map_or(mixdata::Resize::Keep, |(width, height)| {
                mixdata::Resize::Exact { width, height }
            }),
            ..mixdata::Transform::default()
        },
        device: Device::Cpu,
        threads: 1,
        autorotate: true,
        allow_damaged: false,
    }
}

/// Mixes `input` as `mixcli mix` would; on success checks the result's shape against the plan.
/// Returns true when it mixed.
fn mix_and_check(input: &Source) -> bool {
    // Frames at their own size unless the first one is huge.
    let options = ReaderOptions {
        threads: 1,
        ..ReaderOptions::default()
    };
    let size = match input.reader(&options).and_then(|mut r| r.peek_size()) {
        Ok(Some((w, h))) if u64::from(w) * u64::from(h) <= MAX_NATIVE_PIXELS => None,
        Ok(_) => Some((32, 24)),
        Err(_) => Some((32, 24)),
    };
    let plan = PlanConfig {
        segments: 3,
        ..PlanConfig::default()
    };
    let req = request(plan, size);
    match mix_input(input, &req) {
        Ok(mixed) => {
            assert!(mixed.frames > 0, "mixed zero frames");
            let g = mixed.geometry;
            assert_eq!(g.channels, 3);
            if let Some((w, h)) = size {
                assert_eq!((g.width, g.height), (w, h));
            }
            assert_eq!(mixed.shape, [3, 3, g.height as usize, g.width as usize]);
            assert_eq!(mixed.data.len(), mixed.shape.iter().product::<usize>());
            assert!(
                mixed.data.iter().all(|v| (0.0..=255.0).contains(v)),
                "a raw mixed value outside [0, 255]"
            );
            true
        }
        Err(e) => {
            let text = e.to_string();
            if std::env::var_os("FRAMEMIX_FUZZ_VERBOSE").is_some() {
                eprintln!("mixcli: {text}");
            }
            assert!(!text.is_empty(), "empty error message: {e:?}");
            assert!(
                !matches!(e.problem, Problem::Usage(_)),
                "a usage error for a bad input file: {text}"
            );
            false
        }
    }
}

/// What [`check_decode`] saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOutcome {
    /// The bytes mixed as a video.
    pub video: bool,
    /// The bytes mixed as a frame folder's frame.
    pub folder: bool,
}

/// The `decode` target: `data` as a video file (`mixcli mix clip`), then as the one frame of
/// a frame folder (`mixcli mix folder/`); also `mixcli info`'s probe. Each returns frames or an
/// error naming the problem, never a panic or a hang.
pub fn check_decode(data: &[u8]) -> DecodeOutcome {
    let dir = work_dir();
    let video = dir.join("clip");
    std::fs::write(&video, data).expect("writing the fuzz input");
    if let Ok(info) = mixdata::probe(&video) {
        assert!(!info.container.is_empty());
    }
    let video = mix_and_check(&Source::Video(video));

    // The same bytes as a frame folder's only frame, named by what they look like.
    let folder = dir.join("folder");
    let ext = if data.starts_with(b"\x89PNG") {
        "png"
    } else {
        "jpg"
    };
    for old in ["000001.png", "000001.jpg"] {
        let _ = std::fs::remove_file(folder.join(old));
    }
    std::fs::write(folder.join(format!("000001.{ext}")), data).expect("writing the fuzz frame");
    let folder = match Source::open(&folder) {
        Ok(input) => mix_and_check(&input),
        Err(e) => panic!("a folder with one frame file was refused: {e}"),
    };
    DecodeOutcome { video, folder }
}

/// What `--schedule` must accept, written from its documentation (mixcore's `text` module):
/// `average`, `linear`, `linear0` or `custom:` (any ASCII case) then comma-separated unsigned
/// 32-bit numerators (surrounding whitespace allowed), at most [`MAX_CUSTOM`], not all zero.
fn schedule_oracle(s: &str) -> Option<ScheduleBuf> {
    match s.to_ascii_lowercase().as_str() {
        "average" => return Some(ScheduleBuf::Average),
        "linear" => return Some(ScheduleBuf::Linear),
        "linear0" => return Some(ScheduleBuf::Linear0),
        _ => {}
    }
    let list = s
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("custom:"))
        .map(|_| &s[7..])?;
    let items: Vec<&str> = list.split(',').collect();
    if items.len() > MAX_CUSTOM {
        return None;
    }
    let n: Vec<u32> = items
        .iter()
        .map(|i| i.trim().parse::<u32>().ok())
        .collect::<Option<_>>()?;
    n.iter().any(|&x| x > 0).then_some(ScheduleBuf::Custom(n))
}

fn plan_args(schedule: ScheduleBuf, frames: Option<FramesArg>) -> PlanArgs {
    PlanArgs {
        segments: 8,
        frames,
        schedule,
        select: Selection::Spread,
        train: false,
        seed: None,
    }
}

/// The `schedule_arg` target: `--schedule TEXT` never panics, accepts exactly what its
/// documentation describes, round-trips, and a parsed custom schedule becomes the mixcore plan
/// configuration it says (k = the number of numerators; `--frames all` or another N refused),
/// which mixcore accepts exactly when every window holds k frames.
pub fn check_schedule(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = ScheduleBuf::from_str(&text);
    let expected = schedule_oracle(&text);
    match (&parsed, &expected) {
        (Ok(p), Some(e)) => assert_eq!(p, e, "--schedule {text:?}"),
        (Err(e), None) => assert!(
            !e.to_string().is_empty(),
            "empty message for --schedule {text:?}"
        ),
        _ => panic!("--schedule {text:?}: parser {parsed:?}, documentation {expected:?}"),
    }
    let Ok(schedule) = parsed else { return };
    if let ScheduleBuf::Custom(n) = &schedule {
        assert!(!n.is_empty() && n.len() <= MAX_CUSTOM && n.iter().any(|&x| x > 0));
        // Round trip through the canonical spelling.
        let spelled = format!(
            "custom:{}",
            n.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
        );
        assert_eq!(ScheduleBuf::from_str(&spelled).as_ref(), Ok(&schedule));
        assert_eq!(schedule.to_string(), spelled);
        let k = n.len() as u32;
        // --frames all, or a different N, is a usage error.
        for frames in [Some(FramesArg::All), Some(FramesArg::Fixed(k + 1))] {
            let args = plan_args(schedule.clone(), frames);
            assert!(args.config().is_err(), "custom with {frames:?} accepted");
        }
        for frames in [None, Some(FramesArg::Fixed(k))] {
            let args = plan_args(schedule.clone(), frames);
            let cfg = args.config().expect("custom with its own k");
            assert_eq!(cfg.k, FramesPerSegment::Fixed(k));
            assert_eq!(cfg.schedule, Schedule::Custom(n));
            // 8 segments of exactly k frames: accepted; one frame fewer: window 0 too short.
            let f = 8 * u64::from(k);
            if let Ok(f) = u32::try_from(f) {
                let plan = Plan::new(f, &cfg).expect("8 windows of k frames");
                assert_eq!(
                    plan.max_denominator(),
                    n.iter().map(|&x| u64::from(x)).sum::<u64>()
                );
                if k > 1 {
                    assert!(
                        Plan::new(f - 1, &cfg).is_err(),
                        "a window shorter than k accepted"
                    );
                }
            }
        }
    } else {
        let args = plan_args(schedule, None);
        let cfg = args.config().expect("named schedule");
        assert!(Plan::new(48, &cfg).is_ok());
    }
}

/// What `--shard` must accept, from its documentation: `I/N` with unsigned 64-bit integers
/// (surrounding whitespace allowed), `N >= 1`, `I < N`.
fn shard_oracle(s: &str) -> Option<(u64, u64)> {
    let (i, n) = s.split_once('/')?;
    let (i, n) = (i.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?);
    (n >= 1 && i < n).then_some((i, n))
}

/// The `shard_arg` target: `--shard TEXT` never panics, accepts exactly `I/N` with `I < N`,
/// round-trips, and the shards `0/N .. N-1/N` split a job list into disjoint parts that
/// cover it, each keeping the jobs' order.
pub fn check_shard(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = Shard::from_str(&text);
    let expected = shard_oracle(&text);
    match (&parsed, expected) {
        (Ok(p), Some((i, n))) => assert_eq!((p.index, p.count), (i, n), "--shard {text:?}"),
        (Err(msg), None) => assert!(!msg.is_empty(), "empty message for --shard {text:?}"),
        _ => panic!("--shard {text:?}: parser {parsed:?}, documentation {expected:?}"),
    }
    let Ok(shard) = parsed else { return };
    let spelled = format!("{}/{}", shard.index, shard.count);
    assert_eq!(Shard::from_str(&spelled), Ok(shard));
    // Positions near both ends of usize: exactly those congruent to I modulo N are taken.
    for p in (0..64).chain(usize::MAX - 64..=usize::MAX) {
        assert_eq!(shard.takes(p), p as u64 % shard.count == shard.index);
    }
    let jobs: Vec<Job> = (0..(shard.count.min(40) as usize + 3))
        .map(|j| Job {
            input: PathBuf::from(format!("in/{j}")),
            relative: PathBuf::from(format!("{j}")),
            output: PathBuf::from(format!("out/{j}.npy")),
            index: j,
            entry: None,
        })
        .collect();
    let mine = shard_jobs(jobs.clone(), Some(shard));
    let expected_mine: Vec<Job> = jobs
        .iter()
        .enumerate()
        .filter(|(p, _)| *p as u64 % shard.count == shard.index)
        .map(|(_, j)| j.clone())
        .collect();
    assert_eq!(mine, expected_mine);
    if shard.count <= 16 {
        let mut all: Vec<Job> = (0..shard.count)
            .flat_map(|index| {
                shard_jobs(
                    jobs.clone(),
                    Some(Shard {
                        index,
                        count: shard.count,
                    }),
                )
            })
            .collect();
        all.sort_by(|a, b| a.input.cmp(&b.input));
        let mut want = jobs.clone();
        want.sort_by(|a, b| a.input.cmp(&b.input));
        assert_eq!(
            all, want,
            "shards of {} do not partition the jobs",
            shard.count
        );
    }
    assert_eq!(shard_jobs(jobs.clone(), None), jobs);
}
