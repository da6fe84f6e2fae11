//! mixcli end to end: real media made by the ffmpeg program, the CLI's `.npy` compared bit
//! for bit with mixcore applied to frames decoded independently.

mod support;

use mixcore::{
    Epilogue, FramesPerSegment, Layout, MixSpec, Mode, Plan, PlanConfig, Schedule, Selection,
};
use support::*;

fn check_video(
    codec: Codec,
    name: &str,
    extra: &[&str],
    config: &PlanConfig<'_>,
    spec: &MixSpec<'_>,
) {
    let dir = TempDir::new("mix-video");
    let (w, h) = (64, 48);
    let video = make_video(dir.path(), name, codec, 29, w, h);
    let out = dir.join("out.npy");
    let mut args = vec![
        "mix".to_string(),
        video.to_string_lossy().into_owned(),
        "-o".into(),
    ];
    args.push(out.to_string_lossy().into_owned());
    args.extend(extra.iter().map(ToString::to_string));
    run_ok(&args);
    let frames = decode_rgb(&video, w, h);
    assert_eq!(frames.len(), 29);
    let want = reference_mix(&frames, w, h, config, spec);
    let (shape, got) = read_npy(&out);
    let plan = Plan::new(29, config).unwrap();
    let g = mixcore::Geometry::new(w, h, 3).unwrap();
    assert_eq!(shape, spec.layout.shape(plan.segments(), g).to_vec());
    assert_bits_eq(&got, &want, name);
    assert_eq!(
        files_under(dir.path()).len(),
        2,
        "only the input and the output"
    );
}

#[test]
fn mix_h264_mp4_matches_mixcore_default_plan() {
    check_video(
        Codec::H264,
        "clip.mp4",
        &[],
        &PlanConfig::default(),
        &MixSpec::default(),
    );
}

#[test]
fn mix_vp9_webm_matches_mixcore_consecutive_average_cthw() {
    let config = PlanConfig {
        segments: 5,
        k: FramesPerSegment::Fixed(3),
        selection: Selection::Consecutive,
        schedule: Schedule::Average,
        ..PlanConfig::default()
    };
    let spec = MixSpec {
        layout: Layout::Cthw,
        epilogue: Epilogue::Unit,
        ..MixSpec::default()
    };
    check_video(
        Codec::Vp9,
        "clip.webm",
        &[
            "--segments",
            "5",
            "--frames",
            "3",
            "--select",
            "consecutive",
            "--schedule",
            "average",
            "--layout",
            "cthw",
            "--scale",
            "unit",
        ],
        &config,
        &spec,
    );
}

#[test]
fn mix_mjpeg_avi_matches_mixcore_train_custom_imagenet() {
    let weights = [1u32, 0, 5];
    let config = PlanConfig {
        segments: 4,
        k: FramesPerSegment::Fixed(3),
        mode: Mode::Train { seed: 1234 },
        schedule: Schedule::Custom(&weights),
        ..PlanConfig::default()
    };
    let spec = MixSpec {
        layout: Layout::Thwc,
        epilogue: Epilogue::IMAGENET,
        ..MixSpec::default()
    };
    check_video(
        Codec::Mjpeg,
        "clip.avi",
        &[
            "--segments",
            "4",
            "--schedule",
            "custom:1,0,5",
            "--train",
            "--seed",
            "1234",
            "--layout",
            "thwc",
            "--scale",
            "imagenet",
        ],
        &config,
        &spec,
    );
}

#[test]
fn mix_png_folder_is_bit_exact_with_png_crate_decoding() {
    let dir = TempDir::new("mix-png");
    // Names without zero padding: 1.png < 2.png < ... < 13.png (not lexicographic order).
    let folder = make_frame_folder(dir.path(), "clip", 13, 40, 30, |i| format!("{i}.png"));
    let mut frames = Vec::new();
    for i in 1..=13 {
        let (w, h, rgb) = decode_png(&folder.join(format!("{i}.png")));
        assert_eq!((w, h), (40, 30));
        frames.push(rgb);
    }
    let out = dir.join("out.npy");
    run_ok([
        "mix".as_ref(),
        folder.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--segments".as_ref(),
        "4".as_ref(),
        "--layout".as_ref(),
        "thwc".as_ref(),
    ]);
    let config = PlanConfig {
        segments: 4,
        ..PlanConfig::default()
    };
    let spec = MixSpec {
        layout: Layout::Thwc,
        ..MixSpec::default()
    };
    let want = reference_mix(&frames, 40, 30, &config, &spec);
    let (shape, got) = read_npy(&out);
    assert_eq!(shape, vec![4, 30, 40, 3]);
    assert_bits_eq(&got, &want, "png folder");
    // Frame order matters with linear weights: mixing in name order would differ.
    let mut lexicographic = frames.clone();
    let mut names: Vec<String> = (1..=13).map(|i| format!("{i}.png")).collect();
    names.sort();
    for (slot, name) in lexicographic.iter_mut().zip(&names) {
        *slot = decode_png(&folder.join(name)).2;
    }
    assert_ne!(reference_mix(&lexicographic, 40, 30, &config, &spec), want);
}

#[test]
fn mix_jpeg_folder_matches_mixcore_on_ffmpeg_decoded_frames() {
    let dir = TempDir::new("mix-jpeg");
    let folder = make_frame_folder(dir.path(), "00042", 11, 48, 32, |i| format!("img_{i}.jpg"));
    let frames: Vec<Vec<u8>> = (1..=11)
        .map(|i| decode_rgb(&folder.join(format!("img_{i}.jpg")), 48, 32).remove(0))
        .collect();
    let out = dir.join("out.npy");
    run_ok([
        "mix".as_ref(),
        folder.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--frames".as_ref(),
        "1".as_ref(),
    ]);
    let config = PlanConfig {
        k: FramesPerSegment::Fixed(1),
        ..PlanConfig::default()
    };
    let want = reference_mix(&frames, 48, 32, &config, &MixSpec::default());
    let (shape, got) = read_npy(&out);
    assert_eq!(shape, vec![8, 3, 32, 48]);
    assert_bits_eq(&got, &want, "jpeg folder");
}

#[test]
fn mix_plans_with_decoded_count_when_header_lies() {
    let dir = TempDir::new("mix-lies");
    let full = make_video(dir.path(), "full.mp4", Codec::H264, 50, 64, 48);
    // Stream copy from 0.4 s: the MP4 keeps all 50 packets (header: 50 frames) with an edit
    // list, and only 40 frames decode.
    let cut = dir.join("cut.mp4");
    ffmpeg(&[
        "-ss",
        "0.4",
        "-i",
        &full.to_string_lossy(),
        "-c",
        "copy",
        &cut.to_string_lossy(),
    ]);
    let frames = decode_rgb(&cut, 64, 48);
    assert!(
        frames.len() < 50,
        "the cut clip should decode fewer frames than its header says"
    );
    let info = json(&run_ok([
        "info".as_ref(),
        "--json".as_ref(),
        cut.as_os_str(),
    ]));
    assert_eq!(info["frames"].as_u64().unwrap(), frames.len() as u64);
    assert_eq!(info["header_frames"].as_u64().unwrap(), 50);
    let out = dir.join("out.npy");
    run_ok([
        "mix".as_ref(),
        cut.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let want = reference_mix(&frames, 64, 48, &PlanConfig::default(), &MixSpec::default());
    assert_bits_eq(&read_npy(&out).1, &want, "re-planned mix");
}

#[test]
fn mix_size_resizes_every_frame() {
    let dir = TempDir::new("mix-size");
    let video = make_video(dir.path(), "clip.mp4", Codec::H264, 16, 64, 48);
    let out = dir.join("out.npy");
    run_ok([
        "mix".as_ref(),
        video.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--size".as_ref(),
        "32x20".as_ref(),
        "--segments".as_ref(),
        "2".as_ref(),
    ]);
    let (shape, got) = read_npy(&out);
    assert_eq!(shape, vec![2, 3, 20, 32]);
    // The same bilinear swscale resize through the ffmpeg program.
    let scaled = dir.join("scaled.nut");
    ffmpeg(&[
        "-i",
        &video.to_string_lossy(),
        "-vf",
        "scale=32:20:flags=bilinear",
        "-c:v",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        &scaled.to_string_lossy(),
    ]);
    let frames = decode_rgb(&scaled, 32, 20);
    let config = PlanConfig {
        segments: 2,
        ..PlanConfig::default()
    };
    let want = reference_mix(&frames, 32, 20, &config, &MixSpec::default());
    let max_diff = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        max_diff <= 2.0,
        "resized mix differs from ffmpeg's resize by {max_diff}"
    );
}

/// Runs mixcli and asserts a usage error (exit status 2); returns stderr.
fn run_usage(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} should be a usage error: {stderr}"
    );
    stderr
}

/// Frames `w`x`h` of `frames`, each cropped to `rect` = (x, y, width, height), packed.
fn crop_frames(frames: &[Vec<u8>], w: u32, rect: (u32, u32, u32, u32)) -> Vec<Vec<u8>> {
    let (x, y, cw, ch) = rect;
    frames
        .iter()
        .map(|f| {
            (y..y + ch)
                .flat_map(|row| {
                    let start = ((row * w + x) * 3) as usize;
                    f[start..start + (cw * 3) as usize].iter().copied()
                })
                .collect()
        })
        .collect()
}

/// Flips the mixed `[S, 3, H, W]` output horizontally, in place.
fn flip_tchw(data: &mut [f32], w: usize) {
    for row in data.chunks_mut(w) {
        row.reverse();
    }
}

#[test]
fn mix_resize_short_crop_matches_ffmpeg_bicubic_chain_bits() {
    let dir = TempDir::new("mix-resize-short");
    let video = make_video(dir.path(), "clip.mp4", Codec::H264, 10, 320, 240);
    let out = dir.join("out.npy");
    let v = video.to_string_lossy().into_owned();
    let o = out.to_string_lossy().into_owned();
    run_ok([
        "mix",
        &v,
        "-o",
        &o,
        "--resize-short",
        "224",
        "--crop",
        "224x224",
        "--segments",
        "2",
    ]);
    let (shape, got) = read_npy(&out);
    assert_eq!(shape, vec![2, 3, 224, 224]);
    // 320x240 -> 299x224 (320 * 224 / 240 = 298.67, rounded), centre crop at x = 37.
    let scaled = dir.join("scaled.nut");
    ffmpeg(&[
        "-i",
        &v,
        "-vf",
        "format=rgb24,scale=299:224:flags=bicubic,crop=224:224:37:0",
        "-c:v",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        &scaled.to_string_lossy(),
    ]);
    let frames = decode_rgb(&scaled, 224, 224);
    assert_eq!(frames.len(), 10);
    let config = PlanConfig {
        segments: 2,
        ..PlanConfig::default()
    };
    let want = reference_mix(&frames, 224, 224, &config, &MixSpec::default());
    assert_bits_eq(&got, &want, "resize-short 224 + crop 224x224");
}

#[test]
fn mix_center_crop_is_the_frames_crop_bits() {
    let dir = TempDir::new("mix-crop");
    let video = make_video(dir.path(), "clip.mp4", Codec::H264, 9, 64, 48);
    let out = dir.join("out.npy");
    let v = video.to_string_lossy().into_owned();
    let o = out.to_string_lossy().into_owned();
    run_ok(["mix", &v, "-o", &o, "--crop", "41x30", "--segments", "3"]);
    let (shape, got) = read_npy(&out);
    assert_eq!(shape, vec![3, 3, 30, 41]);
    // Centre: x = (64 - 41) / 2 = 11, y = (48 - 30) / 2 = 9.
    let frames = crop_frames(&decode_rgb(&video, 64, 48), 64, (11, 9, 41, 30));
    let config = PlanConfig {
        segments: 3,
        ..PlanConfig::default()
    };
    assert_bits_eq(
        &got,
        &reference_mix(&frames, 41, 30, &config, &MixSpec::default()),
        "centre crop",
    );
}

#[test]
fn mix_random_crop_and_flip_follow_seed_and_epoch() {
    let dir = TempDir::new("mix-random-crop");
    let (w, h) = (64u32, 48u32);
    let video = make_video(dir.path(), "clip.mp4", Codec::H264, 12, w, h);
    let v = video.to_string_lossy().into_owned();
    let decoded = decode_rgb(&video, w, h);
    let transform = mixdata::Transform {
        resize: mixdata::Resize::Keep,
        crop: Some(mixdata::Crop {
            width: 24,
            height: 20,
            mode: mixdata::CropMode::Random,
        }),
        flip: true,
    };
    let mut outputs = Vec::new();
    let mut geometries = Vec::new();
    for (run_no, epoch) in [0u64, 0, 1, 2, 3].into_iter().enumerate() {
        let out = dir.join(format!("out{run_no}.npy"));
        let o = out.to_string_lossy().into_owned();
        let e = epoch.to_string();
        run_ok([
            "mix",
            &v,
            "-o",
            &o,
            "--train",
            "--seed",
            "7",
            "--epoch",
            &e,
            "--crop",
            "24x20",
            "--crop-mode",
            "random",
            "--flip",
            "--segments",
            "2",
        ]);
        let (shape, mut got) = read_npy(&out);
        assert_eq!(shape, vec![2, 3, 20, 24]);
        // The reference: the geometry mixdata draws from the sample's seed, the frames
        // cropped, mixed in train mode with that seed, then flipped.
        let seed = mixdata::seed::sample_seed(7, epoch, 0);
        let mode = Mode::Train { seed };
        let g = transform.for_clip((w, h), mode).unwrap()[0].geometry;
        let frames = crop_frames(&decoded, w, (g.crop.x, g.crop.y, 24, 20));
        let config = PlanConfig {
            segments: 2,
            mode,
            ..PlanConfig::default()
        };
        let mut want = reference_mix(&frames, 24, 20, &config, &MixSpec::default());
        if g.flip {
            flip_tchw(&mut want, 24);
        }
        assert_bits_eq(&got, &want, &format!("random crop, epoch {epoch}"));
        if g.flip {
            flip_tchw(&mut got, 24);
        }
        outputs.push(got);
        geometries.push((g.crop, g.flip));
    }
    assert_bits_eq(&outputs[0], &outputs[1], "the same epoch twice");
    assert!(
        geometries[1..].windows(2).any(|p| p[0] != p[1]),
        "every epoch drew the same crop and flip: {geometries:?}"
    );
    // Seed 7's epochs 0 to 3 draw both flips (fixed draws: a regression would show here).
    assert!(
        geometries.iter().any(|g| g.1) && geometries.iter().any(|g| !g.1),
        "{geometries:?}"
    );
}

#[test]
fn mix_multiscale_crop_is_deterministic_per_epoch() {
    let dir = TempDir::new("mix-multiscale");
    let video = make_video(dir.path(), "clip.mp4", Codec::H264, 8, 64, 48);
    let v = video.to_string_lossy().into_owned();
    let run_epoch = |name: &str, epoch: &str| {
        let out = dir.join(name);
        let o = out.to_string_lossy().into_owned();
        run_ok([
            "mix",
            &v,
            "-o",
            &o,
            "--train",
            "--seed",
            "3",
            "--epoch",
            epoch,
            "--crop",
            "32x32",
            "--crop-mode",
            "multiscale",
            "--segments",
            "2",
        ]);
        let (shape, data) = read_npy(&out);
        assert_eq!(shape, vec![2, 3, 32, 32]);
        data
    };
    let a = run_epoch("a.npy", "0");
    let b = run_epoch("b.npy", "0");
    assert_bits_eq(&a, &b, "multiscale, the same epoch twice");
    let differs = (1..6).any(|e| {
        let c = run_epoch(&format!("e{e}.npy"), &e.to_string());
        c.iter().zip(&a).any(|(x, y)| x.to_bits() != y.to_bits())
    });
    assert!(differs, "every epoch drew the same multi-scale crop");
}

#[test]
fn mix_transform_refusals_are_usage_errors() {
    let dir = TempDir::new("mix-transform-usage");
    let video = make_video(dir.path(), "clip.mp4", Codec::H264, 4, 64, 48);
    let v = video.to_string_lossy().into_owned();
    let o = dir.join("out.npy").to_string_lossy().into_owned();
    let base = ["mix", &v, "-o", &o];
    for (extra, says) in [
        (&["--crop", "32x32", "--crop-mode", "random"][..], "train"),
        (
            &["--crop", "32x32", "--crop-mode", "multiscale"][..],
            "train",
        ),
        (&["--flip"][..], "train"),
        (&["--crop", "65x32", "--crop-mode", "three"][..], "crop"),
        (&["--resize-short", "0"][..], "resize-short"),
        (&["--size", "40x30", "--crop", "41x30"][..], "crop"),
        (&["--resize-short", "20", "--crop", "21x21"][..], "crop"),
    ] {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let stderr = run_usage(&args);
        assert!(stderr.contains(says), "{extra:?}: {stderr}");
    }
    // clap's own refusals are usage errors too.
    run_usage(&["mix", &v, "-o", &o, "--crop-mode", "center"]);
    run_usage(&["mix", &v, "-o", &o, "--size", "8x8", "--resize-short", "8"]);
    run_usage(&[
        "mix",
        &v,
        "-o",
        &o,
        "--crop",
        "8x8",
        "--crop-mode",
        "diagonal",
    ]);
    assert!(!dir.join("out.npy").exists());
}

#[test]
fn mix_preview_is_a_grid_of_the_mixed_frames() {
    let dir = TempDir::new("mix-preview");
    let folder = make_frame_folder(dir.path(), "f", 8, 20, 10, |i| format!("{i:03}.png"));
    let out = dir.join("o.npy");
    let png_path = dir.join("o.png");
    run_ok([
        "mix".as_ref(),
        folder.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--preview".as_ref(),
        png_path.as_os_str(),
        "--scale".as_ref(),
        "imagenet".as_ref(),
    ]);
    let (w, h, grid) = decode_png(&png_path);
    // 8 segments: 4 columns x 2 rows with 2-pixel gaps.
    assert_eq!((w, h), (4 * 20 + 3 * 2, 2 * 10 + 2));
    let frames: Vec<Vec<u8>> = (1..=8)
        .map(|i| decode_png(&folder.join(format!("{i:03}.png"))).2)
        .collect();
    let raw = reference_mix(&frames, 20, 10, &PlanConfig::default(), &MixSpec::default());
    for s in 0..8usize {
        let (tx, ty) = ((s % 4) * 22, (s / 4) * 12);
        for (y, x, c) in [(0usize, 0usize, 0usize), (9, 19, 2), (5, 7, 1)] {
            let v = raw[((s * 3 + c) * 10 + y) * 20 + x];
            let p = grid[((ty + y) * w as usize + tx + x) * 3 + c];
            assert!(
                (f32::from(p) - v).abs() <= 0.5 + 1e-3,
                "segment {s}: preview {p}, mixed {v}"
            );
        }
    }
}

#[test]
fn info_json_matches_the_plan() {
    let dir = TempDir::new("info");
    let video = make_video(dir.path(), "clip.webm", Codec::Vp9, 23, 32, 24);
    let text = run_ok([
        "info".as_ref(),
        video.as_os_str(),
        "--json".as_ref(),
        "--segments".as_ref(),
        "6".as_ref(),
        "--frames".as_ref(),
        "2".as_ref(),
        "--train".as_ref(),
        "--seed".as_ref(),
        "99".as_ref(),
    ]);
    assert!(
        text.starts_with(r#"{"frames":23,"width":32,"height":24,"segments":["#)
            && text.ends_with("}\n"),
        "{text}"
    );
    let json = json(&text);
    let config = PlanConfig {
        segments: 6,
        k: FramesPerSegment::Fixed(2),
        mode: Mode::Train { seed: 99 },
        ..PlanConfig::default()
    };
    assert_segments_match(&json["segments"], &Plan::new(23, &config).unwrap());
    assert_eq!(json["codec"].as_str().unwrap(), "vp9");
    // The text form carries the same plan.
    let human = run_ok(["info".as_ref(), video.as_os_str()]);
    assert!(human.contains("frames:     23"), "{human}");
    assert!(human.contains("size:       32x24"), "{human}");
    assert!(human.contains("25.000 fps"), "{human}");
    assert!(human.contains("segment   7:"), "{human}");
}

#[test]
fn info_frame_folder_counts_files_and_decodes_them() {
    let dir = TempDir::new("info-folder");
    let folder = make_frame_folder(dir.path(), "7", 10, 24, 16, |i| format!("frame{i}.jpg"));
    for quick in [false, true] {
        let mut args = vec![
            "info".to_string(),
            folder.to_string_lossy().into_owned(),
            "--json".into(),
        ];
        if quick {
            args.push("--quick".into());
        }
        args.extend([
            "--segments".into(),
            "3".into(),
            "--select".into(),
            "consecutive".into(),
            "--frames".into(),
            "2".into(),
        ]);
        let json = json(&run_ok(&args));
        assert_eq!(json["frames"].as_u64().unwrap(), 10);
        assert_eq!(
            (
                json["width"].as_u64().unwrap(),
                json["height"].as_u64().unwrap()
            ),
            (24, 16)
        );
        assert_eq!(json["kind"].as_str().unwrap(), "frames");
        let config = PlanConfig {
            segments: 3,
            k: FramesPerSegment::Fixed(2),
            selection: Selection::Consecutive,
            ..PlanConfig::default()
        };
        assert_segments_match(&json["segments"], &Plan::new(10, &config).unwrap());
    }
}

#[test]
fn demo_writes_tensor_preview_and_plan() {
    let dir = TempDir::new("demo");
    let out_dir = dir.join("framemix-demo");
    let stdout = run_ok(["demo".as_ref(), "--out-dir".as_ref(), out_dir.as_os_str()]);
    for name in ["demo.npy", "demo.png", "source.png", "plan.json"] {
        assert!(stdout.contains(name), "{stdout}");
    }
    let (shape, data) = read_npy(&out_dir.join("demo.npy"));
    assert_eq!(shape, vec![8, 3, 128, 192]);
    assert!(data.iter().all(|v| (0.0..=255.0).contains(v)));
    let plan = json(&std::fs::read_to_string(out_dir.join("plan.json")).unwrap());
    assert_segments_match(
        &plan["segments"],
        &Plan::new(48, &PlanConfig::default()).unwrap(),
    );
    let (w, h, _) = decode_png(&out_dir.join("demo.png"));
    assert_eq!((w, h), (4 * 192 + 6, 2 * 128 + 2));
}

/// Peak resident memory (VmHWM, KiB) of `mixcli args`, read from /proc while it runs.
fn peak_rss_kib(args: &[&std::ffi::OsStr]) -> u64 {
    let mut child = std::process::Command::new(mixcli())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Some(kib) = std::fs::read_to_string(&status_path)
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        {
            peak = peak.max(kib);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(child.wait().unwrap().success());
    peak
}

#[test]
fn mix_memory_stays_flat_in_frame_count() {
    let dir = TempDir::new("memory");
    // High-quality MJPEG: big packets, so holding them (or leaking them) would show.
    let make = |name: &str, frames: &str| {
        let path = dir.join(name);
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25,noise=alls=60:allf=t",
            "-frames:v",
            frames,
            "-c:v",
            "mjpeg",
            "-q:v",
            "1",
            &path.to_string_lossy(),
        ]);
        path
    };
    let short = make("short.avi", "40");
    let long = make("long.avi", "400");
    assert!(
        std::fs::metadata(&long).unwrap().len() > 15 << 20,
        "the long clip should be big"
    );
    let out = dir.join("o.npy");
    let rss = |input: &std::path::Path| {
        peak_rss_kib(&[
            "mix".as_ref(),
            input.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--frames".as_ref(),
            "1".as_ref(),
            "--threads".as_ref(),
            "1".as_ref(),
        ])
    };
    let (a, b) = (rss(&short), rss(&long));
    assert!(a > 0 && b > 0);
    assert!(
        b <= a + a / 10,
        "peak RSS grows with the clip: {a} KiB for 40 frames, {b} KiB for 400"
    );
}
