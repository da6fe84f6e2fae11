//! mixcli on bad input and bad surroundings: every case ends with a clear error naming the
//! file and the problem, exit status 1, and no output file (not even a partial one).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

/// Runs `mix INPUT -o DIR/out.npy` expecting failure; checks that the error names the input
/// and contains `needle`, and that the output folder stays empty.
fn mix_fails(input: &Path, needle: &str) -> String {
    let out_dir = TempDir::new("robust-out");
    let out = out_dir.join("out.npy");
    let err = run_err([
        "mix".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(
        err.contains(&*input.to_string_lossy()),
        "error does not name the input: {err}"
    );
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert!(
        files_under(out_dir.path()).is_empty(),
        "outputs left: {:?}",
        files_under(out_dir.path())
    );
    err
}

fn cut(src: &Path, dst: &Path, fraction: f64) {
    let bytes = std::fs::read(src).unwrap();
    let n = ((bytes.len() as f64) * fraction) as usize;
    std::fs::write(dst, &bytes[..n]).unwrap();
}

#[test]
fn mix_truncated_files_fail_at_every_cut_point() {
    let dir = TempDir::new("truncated");
    let mp4 = make_video(dir.path(), "a.mp4", Codec::H264, 40, 64, 48);
    let faststart = dir.join("fast.mp4");
    ffmpeg(&[
        "-i",
        &mp4.to_string_lossy(),
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        &faststart.to_string_lossy(),
    ]);
    let webm = make_video(dir.path(), "a.webm", Codec::Vp9, 40, 64, 48);
    let avi = make_video(dir.path(), "a.avi", Codec::Mjpeg, 40, 64, 48);
    for src in [&mp4, &faststart, &webm, &avi] {
        for fraction in [0.02, 0.3, 0.6, 0.9] {
            let name = format!(
                "cut-{}-{}",
                (fraction * 100.0) as u32,
                src.file_name().unwrap().to_string_lossy()
            );
            let t = dir.join(&name);
            cut(src, &t, fraction);
            let err = mix_fails(&t, "");
            assert!(
                err.contains("truncated") || err.contains("not a video"),
                "{name}: {err}"
            );
        }
    }
}

#[test]
fn mix_random_bytes_named_mp4_fail() {
    let dir = TempDir::new("random");
    let path = dir.join("noise.mp4");
    // A fixed pseudo-random sequence (xorshift), so failures reproduce.
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let bytes: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&path, bytes).unwrap();
    mix_fails(&path, "not a video");
}

#[test]
fn mix_zero_length_file_fails() {
    let dir = TempDir::new("empty-file");
    let path = dir.join("empty.mp4");
    std::fs::write(&path, b"").unwrap();
    mix_fails(&path, "the file is empty");
}

#[test]
fn mix_missing_file_fails() {
    let dir = TempDir::new("missing");
    mix_fails(&dir.join("nope.mp4"), "not found");
}

#[test]
fn mix_audio_only_file_fails() {
    let dir = TempDir::new("audio");
    let path = dir.join("tone.m4a");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=1",
        "-c:a",
        "aac",
        &path.to_string_lossy(),
    ]);
    mix_fails(&path, "no video stream");
}

#[test]
fn mix_empty_folder_fails() {
    let dir = TempDir::new("empty-folder");
    let folder = dir.join("clip");
    std::fs::create_dir(&folder).unwrap();
    mix_fails(&folder, "zero frames");
}

#[test]
fn mix_folder_with_non_image_file_fails() {
    let dir = TempDir::new("non-image");
    let folder = make_frame_folder(dir.path(), "clip", 5, 16, 16, |i| format!("{i:05}.jpg"));
    std::fs::write(folder.join("labels.txt"), b"push something").unwrap();
    let err = mix_fails(&folder, "labels.txt");
    assert!(err.contains("not a .jpg, .jpeg or .png"), "{err}");
    // A text file wearing a frame's name is an unreadable frame, named.
    std::fs::remove_file(folder.join("labels.txt")).unwrap();
    std::fs::write(folder.join("00003.jpg"), b"not really a jpeg").unwrap();
    let err = mix_fails(&folder, "unreadable frame 2");
    assert!(err.contains("00003.jpg"), "{err}");
    // Hidden files (.DS_Store) are ignored.
    let folder2 = make_frame_folder(dir.path(), "clip2", 3, 16, 16, |i| format!("{i}.png"));
    std::fs::write(folder2.join(".DS_Store"), b"junk").unwrap();
    let out = dir.join("ok.npy");
    run_ok([
        "mix".as_ref(),
        folder2.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
}

#[test]
fn mix_folder_with_frame_of_other_size_fails_unless_resized() {
    let dir = TempDir::new("other-size");
    let folder = make_frame_folder(dir.path(), "clip", 6, 32, 24, |i| format!("{i}.png"));
    let odd = make_frame_folder(dir.path(), "odd", 1, 30, 24, |i| format!("{i}.png"));
    std::fs::rename(odd.join("1.png"), folder.join("4.png")).unwrap();
    let err = mix_fails(&folder, "mismatched frame sizes");
    assert!(
        err.contains("4.png") && err.contains("30x24") && err.contains("32x24"),
        "{err}"
    );
    let out = dir.join("resized.npy");
    run_ok([
        "mix".as_ref(),
        folder.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--size".as_ref(),
        "16x12".as_ref(),
    ]);
    assert_eq!(read_npy(&out).0, vec![8, 3, 12, 16]);
}

#[test]
fn mix_failure_keeps_an_existing_output_untouched() {
    let dir = TempDir::new("keep");
    let good = make_video(dir.path(), "good.avi", Codec::Mjpeg, 8, 16, 16);
    let out = dir.join("out.npy");
    run_ok([
        "mix".as_ref(),
        good.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let before = std::fs::read(&out).unwrap();
    let bad = dir.join("bad.avi");
    cut(&good, &bad, 0.5);
    run_err([
        "mix".as_ref(),
        bad.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(files_under(dir.path()).len(), 3);
}

#[test]
fn mix_bad_options_are_usage_errors() {
    let dir = TempDir::new("usage");
    let video = make_video(dir.path(), "v.avi", Codec::Mjpeg, 4, 16, 16);
    let out = dir.join("o.npy");
    let v = video.to_string_lossy().into_owned();
    let o = out.to_string_lossy().into_owned();
    for bad in [
        vec!["--segments", "0"],
        vec!["--frames", "0"],
        vec!["--frames", "two"],
        vec!["--schedule", "cubic"],
        vec!["--schedule", "custom:0,0"],
        vec!["--schedule", "custom:1,2", "--frames", "3"],
        vec!["--schedule", "custom:1,2", "--frames", "all"],
        vec!["--train"],
        vec!["--size", "0x10"],
        vec!["--layout", "nchw"],
    ] {
        let mut args = vec!["mix", &v, "-o", &o];
        args.extend(&bad);
        let res = run(&args);
        assert_eq!(
            res.status.code(),
            Some(2),
            "{bad:?}: {}",
            String::from_utf8_lossy(&res.stderr)
        );
        assert!(!out.exists());
    }
    // A custom schedule longer than a window is refused by the plan, naming the problem.
    let err = run_err(["mix", &v, "-o", &o, "--schedule", "custom:1,2,3"]);
    assert!(err.contains("window"), "{err}");
    assert!(!out.exists());
}

/// A tmpfs mounted for one test (root only); unmounted on drop.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, options: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| Mount(dir.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn mix_read_only_output_folder_fails_cleanly() {
    let dir = TempDir::new("read-only");
    let video = make_video(dir.path(), "v.avi", Codec::Mjpeg, 6, 16, 16);
    let ro = dir.join("ro");
    // Root ignores permission bits, so a read-only mount is the honest test; without the
    // right to mount, fall back to permission bits (which hold for other users).
    let _mount = Mount::tmpfs(&ro, "ro,size=64k");
    if _mount.is_none() {
        std::fs::create_dir_all(&ro).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        if std::fs::write(ro.join("probe"), b"x").is_ok() {
            eprintln!(
                "skipped mix_read_only_output_folder_fails_cleanly: cannot make a read-only folder here (root without mount)"
            );
            return;
        }
    }
    let out = ro.join("out.npy");
    let err = run_err([
        "mix".as_ref(),
        video.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(err.contains(&*out.to_string_lossy()), "{err}");
    assert!(
        err.contains("Read-only") || err.contains("ermission"),
        "{err}"
    );
    assert!(files_under(&ro).is_empty());
}

#[test]
fn mix_disk_full_leaves_no_partial_file() {
    let dir = TempDir::new("disk-full");
    let video = make_video(dir.path(), "v.avi", Codec::Mjpeg, 8, 64, 48);
    let full = dir.join("full");
    // 8 x 3 x 48 x 64 floats = 295 KB: more than the 128 KiB file system holds.
    let Some(_mount) = Mount::tmpfs(&full, "size=128k") else {
        eprintln!(
            "skipped mix_disk_full_leaves_no_partial_file: cannot mount a small tmpfs here (needs root)"
        );
        return;
    };
    let out = full.join("out.npy");
    let err = run_err([
        "mix".as_ref(),
        video.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(err.contains("No space left"), "{err}");
    assert!(files_under(&full).is_empty(), "{:?}", files_under(&full));
    // The same with a preview: neither file remains.
    let png = full.join("out.png");
    run_err([
        "mix".as_ref(),
        video.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--preview".as_ref(),
        png.as_os_str(),
    ]);
    assert!(files_under(&full).is_empty(), "{:?}", files_under(&full));
}
