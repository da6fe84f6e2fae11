//! mixcli's decoding side on inputs that used to pass silently wrong: damaged data, rotated
//! clips, cover art, sizes beyond FFmpeg's limits, pipes, odd sizes and 10-bit colour.
//! Errors exit 1 (input) or 2 (usage), say what is wrong, and leave no output file; results
//! are compared bit for bit with frames decoded by the `ffmpeg` program.

mod support;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use mixcore::{MixSpec, PlanConfig};
use support::*;

/// Overwrites `len` bytes of `src` at `fraction` of its length with a fixed pseudo-random
/// pattern (a 64-bit LCG, seed 12345), writing the result to `dst`.
fn damage(src: &Path, dst: &Path, fraction: f64, len: usize) {
    let mut bytes = std::fs::read(src).unwrap();
    let at = (bytes.len() as f64 * fraction) as usize;
    let mut x: u64 = 12345;
    for b in bytes.iter_mut().skip(at).take(len) {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *b = (x >> 56) as u8;
    }
    std::fs::write(dst, bytes).unwrap();
}

/// Runs `args` expecting exit status `code`; returns stderr.
fn run_status<S: AsRef<OsStr>>(args: &[S], code: i32) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit status {code}:\nstdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// `mix input -o out` must fail with status 1, naming the input and saying `needles`; an
/// older `out` is left exactly as it was, and nothing else appears beside it.
fn mix_refused(input: &Path, needles: &[&str]) -> String {
    let dir = TempDir::new("safety-out");
    let out = dir.join("out.npy");
    std::fs::write(&out, b"older output").unwrap();
    let err = run_err([
        "mix".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(err.contains(&*input.to_string_lossy()), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected '{n}' in: {err}");
    }
    assert_eq!(std::fs::read(&out).unwrap(), b"older output");
    assert_eq!(files_under(dir.path()), vec![PathBuf::from("out.npy")]);
    err
}

/// `mix input -o out` with `extra` must succeed; returns the tensor and stderr.
fn mix_ok(input: &Path, extra: &[&str]) -> ((Vec<usize>, Vec<f32>), String) {
    let dir = TempDir::new("safety-ok");
    let out = dir.join("out.npy");
    let mut args: Vec<&OsStr> = vec!["mix".as_ref(), input.as_os_str(), "-o".as_ref()];
    args.push(out.as_os_str());
    args.extend(extra.iter().map(OsStr::new));
    let o = run(&args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "mix {}: {stderr}", input.display());
    (read_npy(&out), stderr)
}

/// The four damaged videos of issue 11 item 5, each with the part of the message that names
/// what was caught: an H.264 packet the decoder refuses, a WebM cluster the demuxer skips
/// (a timestamp gap), an MJPEG frame without its EOI marker.
#[test]
fn damaged_videos_fail_by_default_and_mix_with_allow_damaged() {
    let dir = TempDir::new("safety-damage");
    let cases = [
        ("h.mp4", Codec::H264, "1 frame lost"),
        ("v9.webm", Codec::Vp9, "frames lost"),
        ("m.avi", Codec::Mjpeg, "decoded with errors"),
    ];
    for (name, codec, needle) in cases {
        let intact = make_video(dir.path(), name, codec, 166, 160, 120);
        let (_, stderr) = mix_ok(&intact, &[]);
        assert!(!stderr.contains("warning"), "{name}: {stderr}");
        let broken = dir.join(format!("damaged-{name}"));
        damage(&intact, &broken, 0.6, 3000);
        mix_refused(&broken, &["damaged:", needle, "--allow-damaged"]);
        let ((shape, _), stderr) = mix_ok(&broken, &["--allow-damaged"]);
        assert_eq!(shape, [8, 3, 120, 160]);
        assert!(
            stderr.contains("warning") && stderr.contains(needle),
            "{stderr}"
        );
    }
    // VP8 in WebM: the same damage loses a whole cluster.
    let vp8 = dir.join("v8.webm");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=25",
        "-frames:v",
        "166",
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "300k",
        &vp8.to_string_lossy(),
    ]);
    let _ = mix_ok(&vp8, &[]);
    let broken = dir.join("damaged-v8.webm");
    damage(&vp8, &broken, 0.6, 3000);
    mix_refused(&broken, &["damaged:", "frames lost"]);
    let ((shape, _), _) = mix_ok(&broken, &["--allow-damaged"]);
    assert_eq!(shape, [8, 3, 120, 160]);
    // info reports the damage instead of failing.
    let info = json(&run_ok([
        "info".as_ref(),
        broken.as_os_str(),
        "--json".as_ref(),
    ]));
    assert!(info["damage"]["lost"].as_u64().unwrap() > 0);
    assert_eq!(info["damage"]["clean"], Json::Bool(false));
    let info = json(&run_ok([
        "info".as_ref(),
        vp8.as_os_str(),
        "--json".as_ref(),
    ]));
    assert_eq!(info["damage"]["clean"], Json::Bool(true));
}

#[test]
fn truncated_jpeg_in_folder_fails_by_default() {
    let dir = TempDir::new("safety-jpeg");
    let folder = make_frame_folder(dir.path(), "clip", 10, 160, 120, |i| format!("{i:05}.jpg"));
    let (_, stderr) = mix_ok(&folder, &[]);
    assert!(!stderr.contains("warning"), "{stderr}");
    let fourth = folder.join("00004.jpg");
    let bytes = std::fs::read(&fourth).unwrap();
    assert!(bytes.len() > 1400);
    std::fs::write(&fourth, &bytes[..1400]).unwrap();
    mix_refused(&folder, &["damaged:", "frame 3 decoded with errors"]);
    let ((shape, _), stderr) = mix_ok(&folder, &["--allow-damaged"]);
    assert_eq!(shape, [8, 3, 120, 160]);
    assert!(
        stderr.contains("warning") && stderr.contains("frame 3"),
        "{stderr}"
    );
    // Zero padding after the EOI marker is not damage.
    let third = folder.join("00003.jpg");
    let mut padded = std::fs::read(&third).unwrap();
    padded.extend_from_slice(&[0; 7]);
    std::fs::write(&third, padded).unwrap();
    std::fs::write(&fourth, &bytes).unwrap();
    let (_, stderr) = mix_ok(&folder, &[]);
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// A 64x48 H.264 clip of 8 frames with the display matrix of `rotate` (mp4 `rotate` tag,
/// stream copied, as FFmpeg 5.1 writes it).
fn rotated_clip(dir: &Path, rotate: u32) -> (PathBuf, PathBuf) {
    let plain = dir.join("plain.mp4");
    if !plain.exists() {
        make_video(dir, "plain.mp4", Codec::H264, 8, 64, 48);
    }
    let out = dir.join(format!("rot{rotate}.mp4"));
    let tag = format!("rotate={rotate}");
    ffmpeg(&[
        "-i",
        &plain.to_string_lossy(),
        "-c",
        "copy",
        "-metadata:s:v:0",
        &tag,
        &out.to_string_lossy(),
    ]);
    (plain, out)
}

#[test]
fn rotation_matches_ffmpeg_autorotate_and_no_autorotate_keeps_storage() {
    let dir = TempDir::new("safety-rotate");
    let config = PlanConfig::default();
    for rotate in [90, 180, 270] {
        let (plain, clip) = rotated_clip(dir.path(), rotate);
        let (w, h) = if rotate == 180 { (64, 48) } else { (48, 64) };
        let frames = decode_rgb(&clip, w, h);
        assert_eq!(frames.len(), 8);
        let want = reference_mix(&frames, w, h, &config, &MixSpec::default());
        let ((shape, got), _) = mix_ok(&clip, &[]);
        assert_eq!(shape, [8, 3, h as usize, w as usize], "rotate={rotate}");
        assert_bits_eq(&got, &want, &format!("rotate={rotate}"));
        // --no-autorotate: the stored frames, as the plain clip gives them.
        let ((shape, stored), _) = mix_ok(&clip, &["--no-autorotate"]);
        let ((_, plain_mix), _) = mix_ok(&plain, &[]);
        assert_eq!(shape, [8, 3, 48, 64]);
        assert_bits_eq(&stored, &plain_mix, "--no-autorotate");
        // info shows the displayed size and the rotation.
        let info = json(&run_ok([
            "info".as_ref(),
            clip.as_os_str(),
            "--json".as_ref(),
        ]));
        assert_eq!(info["width"].as_u64().unwrap(), u64::from(w));
        assert_eq!(info["height"].as_u64().unwrap(), u64::from(h));
        let degrees = info["rotation"].as_u64().unwrap();
        assert!(degrees == 90 || degrees == 180 || degrees == 270);
        let info = json(&run_ok([
            "info".as_ref(),
            clip.as_os_str(),
            "--json".as_ref(),
            "--no-autorotate".as_ref(),
        ]));
        assert_eq!(info["width"].as_u64().unwrap(), 64);
        assert_eq!(info["rotation"].as_u64().unwrap(), 0);
        assert_eq!(info["display_rotation"].as_u64().unwrap(), degrees);
        let text = run_ok(["info".as_ref(), clip.as_os_str()]);
        assert!(text.contains("rotation:"), "{text}");
    }
}

#[test]
fn rotation_applies_with_resize() {
    let dir = TempDir::new("safety-rotate-size");
    let (_, clip) = rotated_clip(dir.path(), 90);
    let ((shape, _), _) = mix_ok(&clip, &["--size", "24x32"]);
    assert_eq!(shape, [8, 3, 32, 24]);
}

fn cover_png(dir: &Path) -> PathBuf {
    let png = dir.join("cover.png");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=32x32",
        "-frames:v",
        "1",
        &png.to_string_lossy(),
    ]);
    png
}

#[test]
fn cover_art_is_not_video() {
    let dir = TempDir::new("safety-cover");
    let png = cover_png(dir.path());
    let png = png.to_string_lossy().into_owned();
    let sine = "sine=frequency=440:duration=1";
    // mp3 with a cover picture.
    let mp3 = dir.join("song.mp3");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        sine,
        "-i",
        &png,
        "-map",
        "0:a",
        "-map",
        "1:v",
        "-c:a",
        "libmp3lame",
        "-c:v",
        "png",
        "-disposition:v",
        "attached_pic",
        "-id3v2_version",
        "3",
        &mp3.to_string_lossy(),
    ]);
    mix_refused(
        &mp3,
        &["no video stream: only an attached picture (cover art)"],
    );
    // mp4 with audio and a cover picture.
    let m4a = dir.join("song.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        sine,
        "-i",
        &png,
        "-map",
        "0:a",
        "-map",
        "1:v",
        "-c:a",
        "aac",
        "-c:v",
        "png",
        "-disposition:v",
        "attached_pic",
        &m4a.to_string_lossy(),
    ]);
    mix_refused(&m4a, &["only an attached picture (cover art)"]);
    // mp4 with a real video, audio and a cover picture: the real video is mixed.
    let video = make_video(dir.path(), "v.mp4", Codec::H264, 12, 64, 48);
    let both = dir.join("both.mp4");
    ffmpeg(&[
        "-i",
        &png,
        "-i",
        &video.to_string_lossy(),
        "-f",
        "lavfi",
        "-i",
        sine,
        "-map",
        "0:v",
        "-map",
        "1:v",
        "-map",
        "2:a",
        "-c:v:0",
        "png",
        "-c:v:1",
        "copy",
        "-c:a",
        "aac",
        "-disposition:v:0",
        "attached_pic",
        "-disposition:v:1",
        "default",
        &both.to_string_lossy(),
    ]);
    let ((shape, got), _) = mix_ok(&both, &[]);
    assert_eq!(shape, [8, 3, 48, 64]);
    let ((_, want), _) = mix_ok(&video, &[]);
    assert_bits_eq(&got, &want, "video beside a cover picture");
}

#[test]
fn size_beyond_ffmpeg_frame_limit_is_a_usage_error() {
    let dir = TempDir::new("safety-size");
    let clip = make_video(dir.path(), "c.mp4", Codec::H264, 2, 64, 48);
    let out = dir.join("out.npy");
    for size in ["16384x16384", "16384x16129", "16256x16256", "16385x16"] {
        let err = run_status(
            &[
                "mix".as_ref(),
                clip.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
                "--size".as_ref(),
                size.as_ref(),
            ],
            2,
        );
        assert!(err.contains(size), "{err}");
        assert!(
            err.contains("2^31 - 1") || err.contains("16384"),
            "the limit is not named: {err}"
        );
        assert!(!out.exists());
    }
    // A long thin frame at the largest side converts.
    let ((shape, _), _) = mix_ok(&clip, &["--size", "16384x2", "--segments", "1"]);
    assert_eq!(shape, [1, 3, 2, 16384]);
}

#[test]
fn stdin_and_pipes_are_refused_with_the_reason() {
    let dir = TempDir::new("safety-pipe");
    let out = dir.join("out.npy");
    let err = run_err(["mix", "-", "-o", &out.to_string_lossy()]);
    assert!(
        err.contains("pipes and standard input are not supported"),
        "{err}"
    );
    assert!(err.contains("twice"), "{err}");
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let err = run_err([
        "mix".as_ref(),
        fifo.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(
        err.contains("pipes and standard input are not supported"),
        "{err}"
    );
    assert_eq!(files_under(dir.path()), vec![PathBuf::from("fifo")]);
}

/// Mixes `clip` and compares with mixcore's mix of the frames the `ffmpeg` program decodes
/// to rgb24 (its default conversion), bit for bit.
fn conversion_matches_ffmpeg(clip: &Path, w: u32, h: u32) {
    let frames = decode_rgb(clip, w, h);
    let config = PlanConfig::default();
    let want = reference_mix(&frames, w, h, &config, &MixSpec::default());
    let ((shape, got), _) = mix_ok(clip, &[]);
    assert_eq!(shape, [8, 3, h as usize, w as usize]);
    assert_bits_eq(&got, &want, &clip.to_string_lossy());
}

/// Encodes 8 frames of `source` scaled to `w`x`h` losslessly (FFV1 in Matroska) as
/// `pix_fmt` (lavfi's test sources round odd sizes down, so the scale makes them odd).
fn lossless(dir: &Path, name: &str, source: &str, (w, h): (u32, u32), pix_fmt: &str) -> PathBuf {
    let path = dir.join(name);
    let scale = format!("scale={w}:{h}");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        source,
        "-frames:v",
        "8",
        "-vf",
        &scale,
        "-c:v",
        "ffv1",
        "-pix_fmt",
        pix_fmt,
        &path.to_string_lossy(),
    ]);
    path
}

#[test]
fn conversion_matches_ffmpeg_on_odd_sizes_and_10_bit() {
    let dir = TempDir::new("safety-colour");
    let detail = "testsrc2=size=130x98:rate=25";
    let smooth = "gradients=size=66x50:rate=25:speed=0.05";
    for (name, source, pix_fmt) in [
        ("odd.mkv", detail, "yuv420p"),
        ("odd-smooth.mkv", smooth, "yuv420p"),
        ("odd10.mkv", detail, "yuv420p10le"),
        ("odd10-smooth.mkv", smooth, "yuv420p10le"),
    ] {
        let clip = lossless(dir.path(), name, source, (65, 49), pix_fmt);
        conversion_matches_ffmpeg(&clip, 65, 49);
    }
    let even10 = lossless(
        dir.path(),
        "even10.mkv",
        "testsrc2=size=64x48:rate=25",
        (64, 48),
        "yuv420p10le",
    );
    conversion_matches_ffmpeg(&even10, 64, 48);
    // VP9 profile 2 (10-bit) as a real codec.
    let vp9 = dir.join("p2.webm");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x48:rate=25",
        "-frames:v",
        "8",
        "-c:v",
        "libvpx-vp9",
        "-profile:v",
        "2",
        "-pix_fmt",
        "yuv420p10le",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        &vp9.to_string_lossy(),
    ]);
    conversion_matches_ffmpeg(&vp9, 64, 48);
}

/// Issue 11 item 5 in batch: a damaged input is a failure with kind `damaged` in the failures
/// report and gets no output; with `--allow-damaged` it is mixed and its record keeps what was
/// damaged.
#[test]
fn batch_reports_damaged_inputs_and_records_accepted_damage() {
    let dir = TempDir::new("safety-batch-damage");
    let clips = dir.join("clips");
    std::fs::create_dir(&clips).unwrap();
    let intact = make_video(&clips, "good.mp4", Codec::H264, 60, 64, 48);
    damage(&intact, &clips.join("bad.mp4"), 0.6, 3000);
    let out = dir.join("out");
    let args = |extra: &[&str]| {
        let mut a: Vec<std::ffi::OsString> = vec![
            "batch".into(),
            clips.clone().into_os_string(),
            "--out-dir".into(),
            out.clone().into_os_string(),
        ];
        a.extend(extra.iter().map(Into::into));
        a
    };
    let stderr = run_status(&args(&[]), 1);
    assert!(stderr.contains("1 failed"), "{stderr}");
    assert!(out.join("good.npy").is_file());
    assert!(!out.join("bad.npy").exists());
    let report = std::fs::read_to_string(out.join("mixcli-failures.jsonl")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 1, "{report}");
    let failure = json(lines[0]);
    assert!(failure["input"].as_str().unwrap().ends_with("bad.mp4"));
    assert_eq!(failure["kind"].as_str().unwrap(), "damaged");
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("--allow-damaged"),
        "{report}"
    );

    // --allow-damaged is part of every record's options, so the clean output is redone too.
    let stderr = run_status(&args(&["--allow-damaged"]), 0);
    assert!(stderr.contains("2 mixed"), "{stderr}");
    assert!(out.join("bad.npy").is_file());
    assert!(!out.join("mixcli-failures.jsonl").exists());
    let record = json(&std::fs::read_to_string(out.join("bad.npy.json")).unwrap());
    let damage = &record["output"]["damage"];
    assert_ne!(*damage, Json::Null, "no damage recorded");
    assert!(!damage["description"].as_str().unwrap().is_empty());
    let clean = json(&std::fs::read_to_string(out.join("good.npy.json")).unwrap());
    assert_eq!(clean["output"]["damage"], Json::Null);
}
