//! `Resampler` against the `ffmpeg` program, on the real clips of
//! `/work/shared/realdata/fetch.sh` (under `$FRAMEMIX_REALDATA`, or `target/realdata` of the
//! workspace), or on synthetic clips made with the `ffmpeg` program when none is there (the
//! test says loudly which it used).
//!
//! Each clip's first frames are decoded at their own size to RGB24 by the `ffmpeg` program
//! (`-pix_fmt rgb24`, what mixcli decodes bit for bit) and put through the views of several
//! transforms (resize-short + centre crop, three crops, exact resizes, random and multi-scale
//! crops). Every view is compared with three references, all made by the `ffmpeg` program:
//!
//! 1. `format=rgb24,crop=PRE,scale=W:H:flags=bicubic,crop=CROP` — swscale on the same RGB24
//!    frames: must be equal bit for bit (this pins the geometry and the interpolation).
//! 2. `crop=PRE,scale=W:H:flags=bicubic,crop=CROP`, then `-pix_fmt rgb24` — the `ffmpeg`
//!    program resizing the video in its own pixel format (YUV 4:2:0 for most clips), as a
//!    dataset preprocessed by `ffmpeg -vf scale=...` would be: within the documented
//!    tolerance [`YUV_TOLERANCE`].
//! 3. `format=rgb24,format=gbrp,crop=PRE,zscale=...:filter=bicubic:param_a=0:param_b=0.6,
//!    crop=CROP` — zimg's bicubic with swscale's parameters (B = 0, C = 0.6), an independent
//!    implementation in floating point: within [`EXACT_TOLERANCE`].
//!
//! Crops use `exact=1` so that FFmpeg does not round a chroma-subsampled crop to even offsets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use mixcore::Mode;

mod common;
use mixdata::transform::{ClipGeometry, Crop, CropMode, Resampler, Resize, Transform};

/// Frames compared per clip.
const FRAMES: u32 = 12;

/// Bounds on the differences between two RGB24 results, over every channel value of every
/// compared frame of a clip.
#[derive(Clone, Copy, Debug)]
struct Tolerance {
    /// Largest absolute difference.
    max: u8,
    /// Mean absolute difference.
    mean: f64,
    /// Share of values that differ by more than 8 levels.
    over_8: f64,
}

/// Against the `ffmpeg` program scaling the video in its own pixel format (reference 2), on
/// the real clips. Measured, worst view per clip: max 16..84, mean 1.21..2.53, share over 8
/// 0.06 %..5.9 % (the module docs of `mixdata::transform` have the table and the reasons).
const YUV_TOLERANCE: Tolerance = Tolerance {
    max: 100,
    mean: 3.0,
    over_8: 0.08,
};

/// Against zimg's bicubic on the same RGB24 frames (reference 3), on the real clips.
/// Measured, worst view per clip: max 2..13, mean 0.015..0.146, share over 8 at most 0.03 %.
const EXACT_TOLERANCE: Tolerance = Tolerance {
    max: 16,
    mean: 0.25,
    over_8: 0.001,
};

/// The same on the synthetic clips, whose saturated colour bars and one-pixel lines are far
/// harder than camera footage: swscale clips the ringing of the bicubic kernel in its
/// internal YUV, zimg per RGB channel, and 4:2:0 chroma cannot follow such edges at all.
/// Measured: against reference 2 max 255, mean up to 6.1, share over 8 up to 12.7 %;
/// against reference 3 max 27, mean up to 0.40, share over 8 up to 0.9 %.
const SYNTHETIC_YUV_TOLERANCE: Tolerance = Tolerance {
    max: 255,
    mean: 8.0,
    over_8: 0.2,
};

/// See [`SYNTHETIC_YUV_TOLERANCE`].
const SYNTHETIC_EXACT_TOLERANCE: Tolerance = Tolerance {
    max: 40,
    mean: 0.6,
    over_8: 0.02,
};

struct Clip {
    name: String,
    path: PathBuf,
    size: (u32, u32),
    /// `FRAMES` (or fewer) frames, packed RGB24.
    frames: Vec<u8>,
    count: usize,
}

/// Runs the `ffmpeg` program on `clip` with the filter chain `vf` (none: decode only) and
/// returns the first `FRAMES` frames as packed RGB24, frames passed through as decoded.
fn ffmpeg_rgb(clip: &Path, vf: Option<&str>) -> Vec<u8> {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-hide_banner", "-v", "error", "-nostdin", "-i"])
        .arg(clip)
        .args(["-map", "0:v:0", "-an", "-fps_mode", "passthrough"])
        .args(["-frames:v", &FRAMES.to_string()]);
    if let Some(vf) = vf {
        command.args(["-vf", vf]);
    }
    command.args(["-pix_fmt", "rgb24", "-f", "rawvideo", "-"]);
    let out = command
        .output()
        .expect("the ffmpeg program (installed by scripts/setup.sh)");
    assert!(
        out.status.success(),
        "ffmpeg -vf {vf:?} on {} failed: {}",
        clip.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn probe_size(clip: &Path) -> (u32, u32) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=width,height", "-of", "csv=p=0"])
        .arg(clip)
        .output()
        .expect("the ffprobe program");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sides = text.trim().split(',').map(|s| s.parse::<u32>().unwrap());
    (sides.next().unwrap(), sides.next().unwrap())
}

/// The real clips, or synthetic ones when there are none (then `true`).
fn clips() -> &'static (Vec<Clip>, bool) {
    static CLIPS: OnceLock<(Vec<Clip>, bool)> = OnceLock::new();
    CLIPS.get_or_init(|| {
        let dir = std::env::var_os("FRAMEMIX_REALDATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/realdata"));
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.extension().is_some_and(|e| {
                            ["mp4", "webm", "avi"].contains(&&*e.to_string_lossy())
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        paths.sort();
        let synthetic = paths.is_empty();
        if synthetic {
            eprintln!(
                "\n**********************************************************************\n\
                 transform_ffmpeg: NO REAL CLIPS under {} (set FRAMEMIX_REALDATA or run\n\
                 DEST=target/realdata bash /work/shared/realdata/fetch.sh): comparing on\n\
                 SYNTHETIC clips made with the ffmpeg program instead.\n\
                 **********************************************************************\n",
                dir.display()
            );
            paths = synthetic_clips();
        } else {
            eprintln!(
                "transform_ffmpeg: comparing on the REAL clips under {}: {}",
                dir.display(),
                paths
                    .iter()
                    .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let clips = paths
            .into_iter()
            .map(|path| {
                let size = probe_size(&path);
                let frames = ffmpeg_rgb(&path, None);
                let frame_len = size.0 as usize * size.1 as usize * 3;
                assert!(!frames.is_empty() && frames.len().is_multiple_of(frame_len));
                Clip {
                    name: path.file_name().unwrap().to_string_lossy().into_owned(),
                    count: frames.len() / frame_len,
                    path,
                    size,
                    frames,
                }
            })
            .collect();
        (clips, synthetic)
    })
}

/// Clips like the real ones (H.264 640x272, VP9 320x240, MJPEG full-range 4:2:2 160x120, and
/// an odd-sized 401x299), from lavfi's moving `testsrc2`, made once in `target/` (each is
/// written under a temporary name and renamed, so test binaries running at once agree).
fn synthetic_clips() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/transform-synthetic");
    std::fs::create_dir_all(&dir).unwrap();
    let make = |name: &str, size: (u32, u32), codec: &[&str]| {
        let path = dir.join(name);
        if path.exists() {
            return path;
        }
        let partial = dir.join(format!("partial-{}-{name}", std::process::id()));
        common::make_video(&partial, FRAMES, size, codec);
        std::fs::rename(&partial, &path).unwrap();
        path
    };
    vec![
        make(
            "synthetic_h264.mp4",
            (640, 272),
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
            ],
        ),
        make(
            "synthetic_vp9.webm",
            (320, 240),
            &[
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
            ],
        ),
        make(
            "synthetic_mjpeg.avi",
            (160, 120),
            &["-c:v", "mjpeg", "-pix_fmt", "yuvj422p", "-q:v", "3"],
        ),
        make(
            "synthetic_odd.mkv",
            (401, 299),
            &["-c:v", "ffv1", "-pix_fmt", "yuv420p"],
        ),
    ]
}

/// The views compared on a clip of `source` size, with a name each.
fn views(source: (u32, u32)) -> Vec<(String, ClipGeometry)> {
    let crop = |width, height, mode| {
        Some(Crop {
            width,
            height,
            mode,
        })
    };
    let mut cases: Vec<(String, Transform, Mode)> = vec![
        (
            "short224+center224".into(),
            Transform {
                resize: Resize::Short(224),
                crop: crop(224, 224, CropMode::Center),
                flip: false,
            },
            Mode::Test,
        ),
        (
            "short224+three224".into(),
            Transform {
                resize: Resize::Short(224),
                crop: crop(224, 224, CropMode::Three),
                flip: false,
            },
            Mode::Test,
        ),
        (
            "exact224x224".into(),
            Transform {
                resize: Resize::Exact {
                    width: 224,
                    height: 224,
                },
                crop: None,
                flip: false,
            },
            Mode::Test,
        ),
        (
            "exact171x97+center160x90".into(),
            Transform {
                resize: Resize::Exact {
                    width: 171,
                    height: 97,
                },
                crop: crop(160, 90, CropMode::Center),
                flip: false,
            },
            Mode::Test,
        ),
    ];
    for seed in [1, 2] {
        cases.push((
            format!("short256+random224 seed {seed}"),
            Transform {
                resize: Resize::Short(256),
                crop: crop(224, 224, CropMode::Random),
                flip: false,
            },
            Mode::Train { seed },
        ));
    }
    for seed in [1, 2, 3] {
        cases.push((
            format!("short256+multiscale224 seed {seed}"),
            Transform {
                resize: Resize::Short(256),
                crop: crop(224, 224, CropMode::MultiScale),
                flip: false,
            },
            Mode::Train { seed },
        ));
    }
    cases.push((
        "keep+multiscale112 seed 4".into(),
        Transform {
            resize: Resize::Keep,
            crop: crop(112, 112, CropMode::MultiScale),
            flip: false,
        },
        Mode::Train { seed: 4 },
    ));
    let mut out = Vec::new();
    for (name, t, mode) in cases {
        let planned = t.plan(source, mode).unwrap();
        let n = planned.len();
        for (i, g) in planned.into_iter().enumerate() {
            let name = if n > 1 {
                format!("{name} view {i}")
            } else {
                name.clone()
            };
            out.push((name, g));
        }
    }
    out
}

/// `crop=PRE,SCALE,crop=CROP` for a geometry, `scale(width, height)` writing the resampling
/// step; the steps that do nothing are left out.
fn chain(g: &ClipGeometry, scale: impl Fn(u32, u32) -> String) -> String {
    let crop = |r: mixdata::transform::Rect| {
        format!("crop={}:{}:{}:{}:exact=1", r.width, r.height, r.x, r.y)
    };
    let mut steps = Vec::new();
    if g.pre_crop != mixdata::transform::Rect::full(g.source) {
        steps.push(crop(g.pre_crop));
    }
    if g.resamples() {
        steps.push(scale(g.resized.0, g.resized.1));
    }
    if g.crop != mixdata::transform::Rect::full(g.resized) {
        steps.push(crop(g.crop));
    }
    if steps.is_empty() {
        steps.push("null".into());
    }
    steps.join(",")
}

/// The resampler's output for every compared frame of `clip`, one after another.
fn resample(clip: &Clip, g: &ClipGeometry) -> Vec<u8> {
    let frame_len = clip.size.0 as usize * clip.size.1 as usize * 3;
    let mut resampler = Resampler::new();
    let mut out = Vec::new();
    for f in 0..clip.count {
        let frame = &clip.frames[f * frame_len..(f + 1) * frame_len];
        let view = resampler
            .resample(frame, clip.size.0 as usize * 3, clip.size, g)
            .unwrap();
        out.extend_from_slice(view);
    }
    out
}

#[derive(Clone, Copy, Debug, Default)]
struct Diff {
    max: u8,
    mean: f64,
    over_8: f64,
    /// Mean signed difference (ours minus theirs).
    bias: f64,
}

fn diff(a: &[u8], b: &[u8], what: &str) -> Diff {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    let (mut max, mut sum, mut over, mut signed) = (0u8, 0u64, 0usize, 0i64);
    for (x, y) in a.iter().zip(b) {
        signed += i64::from(*x) - i64::from(*y);
        let d = x.abs_diff(*y);
        max = max.max(d);
        sum += u64::from(d);
        over += usize::from(d > 8);
    }
    let n = a.len() as f64;
    Diff {
        max,
        mean: sum as f64 / n,
        over_8: over as f64 / n,
        bias: signed as f64 / n,
    }
}

/// swscale's bicubic through the scale filter.
fn bicubic(w: u32, h: u32) -> String {
    format!("scale={w}:{h}:flags=bicubic")
}

fn within(d: Diff, t: Tolerance) -> bool {
    d.max <= t.max && d.mean <= t.mean && d.over_8 <= t.over_8
}

/// Compares every view of every clip with the reference `vf` gives, prints the table, and
/// asserts `tolerance` (max 0: bit for bit).
fn compare_all(reference: &str, tolerance: Tolerance, vf: impl Fn(&ClipGeometry) -> String) {
    let mut failures = Vec::new();
    let (clips, synthetic) = clips();
    let mut table = format!(
        "\nResampler vs {reference} on {} clips (max / mean / share over 8 / mean signed):\n",
        if *synthetic { "SYNTHETIC" } else { "real" }
    );
    for clip in clips {
        let mut worst = Diff::default();
        for (name, g) in views(clip.size) {
            let what = format!("{} {name}", clip.name);
            let ours = resample(clip, &g);
            let theirs = ffmpeg_rgb(&clip.path, Some(&vf(&g)));
            let d = diff(&ours, &theirs, &what);
            table += &format!(
                "  {:36} {name:34} {:3} / {:.4} / {:.5} / {:+.3}\n",
                clip.name, d.max, d.mean, d.over_8, d.bias
            );
            if !within(d, tolerance) {
                failures.push(format!("{what}: {d:?}"));
            }
            worst.max = worst.max.max(d.max);
            worst.mean = worst.mean.max(d.mean);
            worst.over_8 = worst.over_8.max(d.over_8);
        }
        table += &format!(
            "  {:36} {:34} {:3} / {:.4} / {:.5}\n",
            clip.name, "WORST", worst.max, worst.mean, worst.over_8
        );
    }
    eprint!("{table}");
    assert!(
        failures.is_empty(),
        "outside {tolerance:?} against {reference}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn resampler_matches_ffmpeg_scale_of_the_same_rgb24_frames_bit_for_bit() {
    compare_all(
        "format=rgb24,scale:flags=bicubic",
        Tolerance {
            max: 0,
            mean: 0.0,
            over_8: 0.0,
        },
        |g| format!("format=rgb24,{}", chain(g, bicubic)),
    );
}

#[test]
fn resampler_is_within_tolerance_of_ffmpeg_scaling_the_video_itself() {
    compare_all(
        "scale:flags=bicubic in the video's pixel format",
        if clips().1 {
            SYNTHETIC_YUV_TOLERANCE
        } else {
            YUV_TOLERANCE
        },
        |g| chain(g, bicubic),
    );
}

#[test]
fn resampler_is_within_tolerance_of_zimg_bicubic() {
    let filters = Command::new("ffmpeg")
        .args(["-hide_banner", "-filters"])
        .output()
        .expect("the ffmpeg program");
    if !String::from_utf8_lossy(&filters.stdout).contains(" zscale ") {
        eprintln!(
            "\n*** transform_ffmpeg: this ffmpeg has no zscale filter (libzimg): the comparison \
             with an exact bicubic is SKIPPED ***\n"
        );
        return;
    }
    compare_all(
        "zscale bicubic (B=0, C=0.6) on the same RGB24 frames",
        if clips().1 {
            SYNTHETIC_EXACT_TOLERANCE
        } else {
            EXACT_TOLERANCE
        },
        |g| {
            let zimg = |w, h| format!("zscale=w={w}:h={h}:filter=bicubic:param_a=0:param_b=0.6");
            format!("format=rgb24,format=gbrp,{},format=rgb24", chain(g, zimg))
        },
    );
}

#[test]
fn ffmpeg_scale_filter_defaults_to_bicubic() {
    // SWS_FLAGS claims the `ffmpeg` program's scale filter (5.1) is bicubic without flags.
    let clip = &clips().0[0];
    let (_, g) = views(clip.size).swap_remove(0);
    let (w, h) = g.resized;
    let default = ffmpeg_rgb(&clip.path, Some(&format!("format=rgb24,scale={w}:{h}")));
    let bicubic = ffmpeg_rgb(
        &clip.path,
        Some(&format!("format=rgb24,scale={w}:{h}:flags=bicubic")),
    );
    let bilinear = ffmpeg_rgb(
        &clip.path,
        Some(&format!("format=rgb24,scale={w}:{h}:flags=bilinear")),
    );
    assert_eq!(default, bicubic, "{}", clip.name);
    assert_ne!(default, bilinear, "{}", clip.name);
}
