//! mixcli's data safety on the output side: no output overwrites an input or another output
//! (compared by file identity: hard and symbolic links too), batch outputs keep the names the
//! inputs were given, resumed batches redo outputs made with other options or from changed
//! inputs, and folder detection never swallows videos or takes mixcli's own outputs as inputs.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use support::*;

/// Every file under `paths` (files or folders) with its bytes and modification time.
fn snapshot(paths: &[&Path]) -> Vec<(PathBuf, Vec<u8>, SystemTime)> {
    let mut out = Vec::new();
    for p in paths {
        let files = if p.is_dir() {
            files_under(p).into_iter().map(|f| p.join(f)).collect()
        } else {
            vec![p.to_path_buf()]
        };
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let time = std::fs::metadata(&f).unwrap().modified().unwrap();
            out.push((f, bytes, time));
        }
    }
    out
}

/// Runs mixcli, asserts exit status 2 and that stderr names every one of `names`; returns
/// stderr.
fn usage_error(args: &[&Path], names: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    for n in names {
        assert!(
            stderr.contains(n),
            "{args:?}: stderr does not name {n}: {stderr}"
        );
    }
    stderr
}

fn p(s: &str) -> &Path {
    Path::new(s)
}

/// Runs `mixcli batch` with `args`, asserts exit status `code`; returns stderr.
fn batch(args: &[&Path], code: i32) -> String {
    let mut all = vec![p("batch")];
    all.extend_from_slice(args);
    let out = run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{all:?}: {stderr}");
    stderr
}

fn npys_under(dir: &Path) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "npy"))
        .map(|f| f.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn mix_refuses_outputs_that_are_the_input() {
    let dir = TempDir::new("safety-mix");
    let video = make_video(dir.path(), "x.mkv", Codec::Mjpeg, 4, 16, 16);
    let frames = make_frame_folder(dir.path(), "frames", 3, 16, 16, |i| format!("{i}.png"));
    std::fs::hard_link(&video, dir.join("hard.mkv")).unwrap();
    std::os::unix::fs::symlink(&video, dir.join("soft.mkv")).unwrap();
    let before = snapshot(&[dir.path()]);
    let x = video.as_path();
    let npy = dir.join("o.npy");
    // -o is the input, by its own name, a hard link, a symbolic link, another spelling.
    for out in [
        video.clone(),
        dir.join("hard.mkv"),
        dir.join("soft.mkv"),
        dir.join("frames/../x.mkv"),
    ] {
        let name = out.file_name().unwrap().to_string_lossy().into_owned();
        usage_error(
            &[p("mix"), x, p("-o"), &out],
            &[
                &format!("{name} (-o)"),
                "x.mkv (the input)",
                "overwrite an input",
            ],
        );
    }
    // --preview is the input.
    usage_error(
        &[p("mix"), x, p("-o"), &npy, p("--preview"), x],
        &["x.mkv (--preview)", "x.mkv (the input)"],
    );
    // -o and --preview are one file: one would be lost.
    let pn = dir.join("p.npy");
    usage_error(
        &[p("mix"), x, p("-o"), &pn, p("--preview"), &pn],
        &["p.npy (--preview)", "p.npy (-o)"],
    );
    // An output inside the input frame folder would change that input.
    usage_error(
        &[p("mix"), &frames, p("-o"), &frames.join("o.npy")],
        &["frames/o.npy (-o)", "inside the frame folder"],
    );
    assert_eq!(snapshot(&[dir.path()]), before, "no file changed");
    // Distinct outputs still work.
    run_ok([
        p("mix"),
        x,
        p("-o"),
        &npy,
        p("--preview"),
        &dir.join("o.png"),
    ]);
    assert_eq!(read_npy(&npy).0[0], 8);
}

#[test]
fn batch_refuses_outputs_that_are_inputs() {
    let dir = TempDir::new("safety-batch");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let a = make_video(&data, "a.mkv", Codec::Mjpeg, 4, 16, 16);
    make_video(&data, "b.avi", Codec::Mjpeg, 4, 16, 16);
    // A video named like an output, given directly.
    std::fs::copy(&a, data.join("c.npy")).unwrap();
    let frames = make_frame_folder(dir.path(), "f1", 3, 16, 16, |i| format!("{i}.jpg"));
    let before = snapshot(&[dir.path()]);
    let out = dir.join("out");
    // --report is an input.
    usage_error(
        &[p("batch"), &data, p("--out-dir"), &out, p("--report"), &a],
        &["a.mkv (the failure report)", "a.mkv (the input of"],
    );
    // The output folder is the input folder, and an input is named c.npy.
    usage_error(
        &[
            p("batch"),
            &data,
            &data.join("c.npy"),
            p("--out-dir"),
            &data,
        ],
        &["c.npy (the output of", "c.npy (the input of"],
    );
    // --preview would land on an input image given directly.
    std::fs::write(data.join("b.png"), b"not really a picture").unwrap();
    let before_png = snapshot(&[dir.path()]);
    usage_error(
        &[
            p("batch"),
            &data.join("b.avi"),
            &data.join("b.png"),
            p("--out-dir"),
            &out,
        ],
        &["b.png", "b.avi", "would both be written to"],
    );
    usage_error(
        &[
            p("batch"),
            &data.join("b.avi"),
            p("--out-dir"),
            &data,
            p("--preview"),
            p("--manifest"),
            &{
                let m = dir.join("list.txt");
                std::fs::write(&m, "data/b.png\n").unwrap();
                m
            },
        ],
        &["b.png (the preview of", "b.png (the input of"],
    );
    std::fs::remove_file(dir.join("list.txt")).unwrap();
    assert_eq!(snapshot(&[dir.path()]), before_png, "no file changed");
    std::fs::remove_file(data.join("b.png")).unwrap();
    // An output folder inside an input frame folder, through a symbolic link.
    std::os::unix::fs::symlink(&frames, dir.join("link")).unwrap();
    usage_error(
        &[p("batch"), &frames, p("--out-dir"), &dir.join("link/sub")],
        &["inside the frame folder", "f1"],
    );
    std::fs::remove_file(dir.join("link")).unwrap();
    assert_eq!(snapshot(&[dir.path()]), before, "no file changed");
    assert!(!out.exists());
}

#[test]
fn batch_names_outputs_by_the_path_given() {
    let dir = TempDir::new("safety-names");
    let store = dir.join("store");
    std::fs::create_dir_all(&store).unwrap();
    // A content-addressed store: names without extensions.
    let made = make_video(&store, "abc123.avi", Codec::Mjpeg, 4, 16, 16);
    let clip = store.join("abc123");
    std::fs::rename(&made, &clip).unwrap();
    for (split, name) in [("train", "clipA.mp4"), ("val", "clipB.mp4")] {
        std::fs::create_dir_all(dir.join("ds").join(split)).unwrap();
        std::os::unix::fs::symlink(&clip, dir.join("ds").join(split).join(name)).unwrap();
    }
    let ds = dir.join("ds");
    let out = dir.join("out");
    let args = ["--segments", "2"].map(p);
    let mut a = vec![ds.as_path(), p("--out-dir"), &out];
    a.extend(args);
    let stderr = batch(&a, 0);
    assert!(stderr.contains("2 mixed, 0 skipped"), "{stderr}");
    assert_eq!(npys_under(&out), ["train/clipA.npy", "val/clipB.npy"]);

    // --root: names relative to it, whatever is given; an input outside it is refused.
    let out2 = dir.join("out2");
    batch(
        &[
            &ds.join("train/clipA.mp4"),
            &ds.join("val"),
            p("--root"),
            &ds,
            p("--out-dir"),
            &out2,
            p("--segments"),
            p("2"),
        ],
        0,
    );
    assert_eq!(npys_under(&out2), ["train/clipA.npy", "val/clipB.npy"]);
    usage_error(
        &[p("batch"), &clip, p("--root"), &ds, p("--out-dir"), &out2],
        &["abc123", "is not inside --root"],
    );

    // A manifest: names as written, stable when another line is added.
    let m = dir.join("m");
    std::fs::create_dir_all(m.join("sub")).unwrap();
    make_video(&m, "a.avi", Codec::Mjpeg, 3, 16, 16);
    make_video(&m.join("sub"), "b.avi", Codec::Mjpeg, 3, 16, 16);
    let list = m.join("list.txt");
    std::fs::write(&list, "a.avi\nsub/b.avi\n").unwrap();
    let out3 = dir.join("out3");
    batch(&[p("--manifest"), &list, p("--out-dir"), &out3], 0);
    assert_eq!(npys_under(&out3), ["a.npy", "sub/b.npy"]);
    std::fs::write(&list, "a.avi\nsub/b.avi\nother/missing.avi\n").unwrap();
    let stderr = batch(&[p("--manifest"), &list, p("--out-dir"), &out3], 1);
    assert!(
        stderr.contains("0 mixed, 2 skipped (already done), 1 failed"),
        "{stderr}"
    );
    assert_eq!(npys_under(&out3), ["a.npy", "sub/b.npy"]);

    // The same input twice is one job; two inputs with one output name are refused.
    let a_avi = m.join("a.avi");
    let again = m.join("sub/../a.avi");
    let out4 = dir.join("out4");
    let stderr = batch(&[&a_avi, &again, p("--out-dir"), &out4], 0);
    assert!(stderr.contains("1 mixed"), "{stderr}");
    std::fs::copy(&a_avi, m.join("a.mkv")).unwrap();
    usage_error(
        &[p("batch"), &m, p("--out-dir"), &dir.join("out5")],
        &["a.avi", "a.mkv", "would both be written to"],
    );
    assert!(!dir.join("out5").exists());
}

#[test]
fn batch_resume_redoes_stale_outputs() {
    let dir = TempDir::new("safety-resume");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    make_video(&data, "a.avi", Codec::Mjpeg, 6, 16, 16);
    make_video(&data, "b.avi", Codec::Mjpeg, 6, 16, 16);
    let frames = make_frame_folder(&data, "f", 5, 16, 16, |i| format!("{i}.png"));
    let out = dir.join("out");
    let run_with = |extra: &[&str]| -> String {
        let mut a = vec![data.as_path(), p("--out-dir"), &out, p("--jobs"), p("2")];
        a.extend(extra.iter().map(|s| p(s)));
        batch(&a, 0)
    };
    let stderr = run_with(&["--segments", "2"]);
    assert!(stderr.contains("3 mixed, 0 skipped"), "{stderr}");
    let record = json(&std::fs::read_to_string(out.join("a.npy.json")).unwrap());
    assert!(
        record["key"]["options"]
            .as_str()
            .unwrap()
            .contains("segments: 2")
    );
    assert!(
        record["input_as_given"]
            .as_str()
            .unwrap()
            .ends_with("a.avi")
    );
    assert_eq!(record["output"]["frames"].as_u64().unwrap(), 6);

    // Same options (decoder threads do not change the bits): all skipped.
    let stderr = run_with(&["--segments", "2", "--threads", "2"]);
    assert!(stderr.contains("0 mixed, 3 skipped"), "{stderr}");

    // Other options: all redone, with the new shape.
    let stderr = run_with(&["--segments", "3", "--size", "8x8"]);
    assert!(stderr.contains("3 mixed, 0 skipped"), "{stderr}");
    assert!(stderr.contains("redone: 3 stale"), "{stderr}");
    for f in ["a.npy", "b.npy", "f.npy"] {
        assert_eq!(read_npy(&out.join(f)).0, vec![3, 3, 8, 8], "{f}");
    }
    let same = ["--segments", "3", "--size", "8x8"];
    assert!(run_with(&same).contains("0 mixed, 3 skipped"));

    // A changed input (a new time, then new bytes), a changed frame folder: that one redone.
    let b = data.join("b.avi");
    let later = SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&b)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let stderr = run_with(&same);
    assert!(stderr.contains("1 mixed, 2 skipped"), "{stderr}");
    assert!(stderr.contains("redone: 1 stale"), "{stderr}");
    std::fs::remove_file(frames.join("5.png")).unwrap();
    let stderr = run_with(&same);
    assert!(stderr.contains("1 mixed, 2 skipped"), "{stderr}");
    let record = json(&std::fs::read_to_string(out.join("f.npy.json")).unwrap());
    assert_eq!(record["output"]["frames"].as_u64().unwrap(), 4);

    // No record (an older mixcli, or a kill before the record): redone, and said so.
    std::fs::remove_file(out.join("a.npy.json")).unwrap();
    let stderr = run_with(&same);
    assert!(stderr.contains("1 mixed, 2 skipped"), "{stderr}");
    assert!(stderr.contains("1 without a record"), "{stderr}");
    assert!(out.join("a.npy.json").is_file());

    // --preview asks for a file the outputs lack: redone; --overwrite redoes everything.
    let stderr = run_with(&["--segments", "3", "--size", "8x8", "--preview"]);
    assert!(stderr.contains("3 mixed, 0 skipped"), "{stderr}");
    let stderr = run_with(&["--segments", "3", "--size", "8x8", "--overwrite"]);
    assert!(stderr.contains("3 mixed, 0 skipped"), "{stderr}");
}

#[test]
fn batch_folder_detection_never_swallows_videos() {
    let dir = TempDir::new("safety-detect");
    let vids = dir.join("vids");
    std::fs::create_dir_all(&vids).unwrap();
    make_video(&vids, "a.avi", Codec::Mjpeg, 3, 16, 16);
    make_video(&vids, "b.mkv", Codec::Mjpeg, 3, 16, 16);
    make_frame_folder(dir.path(), "img", 1, 16, 16, |_| "cover.jpg".into());
    std::fs::rename(dir.join("img/cover.jpg"), vids.join("cover.jpg")).unwrap();
    let out = dir.join("out");
    let stderr = batch(&[&vids, p("--out-dir"), &out], 0);
    assert!(
        stderr.contains("2 mixed, 0 skipped (already done), 0 failed"),
        "{stderr}"
    );
    assert_eq!(npys_under(&out), ["a.npy", "b.npy"]);
    // Given to `mix` directly, the folder is not a frame folder, and the error says why.
    let err = run_err([p("mix"), &vids, p("-o"), &dir.join("x.npy")]);
    assert!(err.contains("is not a frame"), "{err}");
    // A folder of images holding a sub-folder is searched, not mixed.
    let nested = dir.join("nested");
    make_frame_folder(&nested, "clip", 3, 16, 16, |i| format!("{i}.jpg"));
    make_frame_folder(dir.path(), "img2", 1, 16, 16, |_| "poster.png".into());
    std::fs::rename(dir.join("img2/poster.png"), nested.join("poster.png")).unwrap();
    let out2 = dir.join("out2");
    batch(&[&nested, p("--out-dir"), &out2], 0);
    assert_eq!(npys_under(&out2), ["clip.npy"]);
}

#[test]
fn batch_never_takes_its_own_outputs_as_inputs() {
    let dir = TempDir::new("safety-own");
    let data = dir.join("data");
    make_frame_folder(&data, "1", 3, 16, 16, |i| format!("{i:05}.jpg"));
    make_frame_folder(&data, "2", 3, 16, 16, |i| format!("{i:05}.png"));
    make_video(&data, "v.avi", Codec::Mjpeg, 3, 16, 16);
    // The output folder inside the inputs, with previews: resumed, nothing fails.
    let out = data.join("out");
    for want in [
        "3 mixed, 0 skipped",
        "0 mixed, 3 skipped (already done), 0 failed",
    ] {
        let stderr = batch(&[&data, p("--out-dir"), &out, p("--preview")], 0);
        assert!(stderr.contains(want), "{stderr}");
    }
    // Another output folder: the first one's outputs and previews are still no inputs.
    let out2 = data.join("out2");
    let stderr = batch(&[&data, p("--out-dir"), &out2, p("--preview")], 0);
    assert!(
        stderr.contains("3 mixed, 0 skipped (already done), 0 failed"),
        "{stderr}"
    );
    assert_eq!(npys_under(&out2), ["1.npy", "2.npy", "v.npy"]);
    // The output folder is the input folder itself.
    let d2 = dir.join("d2");
    make_frame_folder(&d2, "7", 3, 16, 16, |i| format!("{i}.jpg"));
    make_video(&d2, "w.avi", Codec::Mjpeg, 3, 16, 16);
    for want in [
        "2 mixed, 0 skipped",
        "0 mixed, 2 skipped (already done), 0 failed",
    ] {
        let stderr = batch(&[&d2, p("--out-dir"), &d2, p("--preview")], 0);
        assert!(stderr.contains(want), "{stderr}");
    }
}
