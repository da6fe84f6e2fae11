//! `mixcli batch` end to end: mirrored outputs, failures reported and isolated, shards that
//! cover a dataset exactly once, resumption after SIGKILL.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// A small dataset: two class folders of videos, a folder of frame folders, one broken file.
fn dataset(root: &Path) -> Vec<PathBuf> {
    let a = root.join("data/class_a");
    let b = root.join("data/class_b");
    let f = root.join("data/frames");
    for d in [&a, &b, &f] {
        std::fs::create_dir_all(d).unwrap();
    }
    let mut inputs = vec![
        make_video(&a, "v1.mp4", Codec::H264, 12, 32, 24),
        make_video(&a, "v2.avi", Codec::Mjpeg, 10, 32, 24),
        make_video(&b, "v3.webm", Codec::Vp9, 9, 32, 24),
        make_frame_folder(&f, "101", 9, 32, 24, |i| format!("{i}.jpg")),
        make_frame_folder(&f, "102", 7, 32, 24, |i| format!("{i:05}.png")),
    ];
    let broken = b.join("broken.mp4");
    std::fs::write(&broken, b"this is not a video at all").unwrap();
    inputs.push(broken);
    // A file that is neither a video nor a frame is not an input.
    std::fs::write(root.join("data/README.txt"), b"dataset notes").unwrap();
    inputs
}

fn batch(args: &[&str]) -> (Option<i32>, String) {
    let out = run(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn batch_mirrors_outputs_and_isolates_a_failing_input() {
    let dir = TempDir::new("batch");
    dataset(dir.path());
    let data = dir.join("data").to_string_lossy().into_owned();
    let out = dir.join("out");
    let o = out.to_string_lossy().into_owned();
    let (code, stderr) = batch(&[
        "batch",
        &data,
        "--out-dir",
        &o,
        "--jobs",
        "2",
        "--segments",
        "4",
    ]);
    assert_eq!(
        code,
        Some(1),
        "a failed input makes the status non-zero: {stderr}"
    );
    assert!(
        stderr.contains("5 mixed, 0 skipped (already done), 1 failed"),
        "{stderr}"
    );
    let files: BTreeSet<String> = files_under(&out)
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    // Each output has its record (what made it) beside it.
    let want: BTreeSet<String> = [
        "class_a/v1.npy",
        "class_a/v1.npy.json",
        "class_a/v2.npy",
        "class_a/v2.npy.json",
        "class_b/v3.npy",
        "class_b/v3.npy.json",
        "frames/101.npy",
        "frames/101.npy.json",
        "frames/102.npy",
        "frames/102.npy.json",
        "mixcli-failures.jsonl",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(files, want);
    // Each output equals `mix` of the same input.
    for (input, output) in [
        ("class_a/v1.mp4", "class_a/v1.npy"),
        ("frames/101", "frames/101.npy"),
    ] {
        let single = dir.join("single.npy");
        run_ok([
            "mix".as_ref(),
            dir.join("data").join(input).as_os_str(),
            "-o".as_ref(),
            single.as_os_str(),
            "--segments".as_ref(),
            "4".as_ref(),
        ]);
        assert_bits_eq(&read_npy(&out.join(output)).1, &read_npy(&single).1, input);
    }
    let report = std::fs::read_to_string(out.join("mixcli-failures.jsonl")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 1, "{report}");
    let failure = json(lines[0]);
    assert!(
        failure["input"]
            .as_str()
            .unwrap()
            .ends_with("class_b/broken.mp4")
    );
    assert!(
        failure["output"]
            .as_str()
            .unwrap()
            .ends_with("class_b/broken.npy")
    );
    assert_eq!(failure["kind"].as_str().unwrap(), "not_a_video");
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("broken.mp4: not a video")
    );
    assert_no_partial_outputs(&out);

    // Run again: finished outputs are skipped, the broken input fails again.
    let before = std::fs::metadata(out.join("class_a/v1.npy"))
        .unwrap()
        .modified()
        .unwrap();
    let (code, stderr) = batch(&[
        "batch",
        &data,
        "--out-dir",
        &o,
        "--jobs",
        "2",
        "--segments",
        "4",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("0 mixed, 5 skipped (already done), 1 failed"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::metadata(out.join("class_a/v1.npy"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );

    // Without the broken input everything succeeds and the stale report goes away.
    std::fs::remove_file(dir.join("data/class_b/broken.mp4")).unwrap();
    let (code, stderr) = batch(&["batch", &data, "--out-dir", &o]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!out.join("mixcli-failures.jsonl").exists());
}

#[test]
fn batch_shards_cover_inputs_exactly_once() {
    let dir = TempDir::new("shards");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..7 {
        make_video(&data, &format!("c{i}.avi"), Codec::Mjpeg, 3, 16, 16);
    }
    // A manifest listing the same files, relative to its own folder, in another order.
    let manifest = dir.join("list.txt");
    let mut lines: Vec<String> = (0..7).rev().map(|i| format!("data/c{i}.avi")).collect();
    lines.insert(2, "# a comment".into());
    lines.push(String::new());
    std::fs::write(&manifest, lines.join("\n")).unwrap();
    let out = dir.join("out");
    let mut per_shard = Vec::new();
    for shard in 0..3 {
        let shard_arg = format!("{shard}/3");
        let (code, stderr) = batch(&[
            "batch",
            "--manifest",
            &manifest.to_string_lossy(),
            "--out-dir",
            &out.to_string_lossy(),
            "--shard",
            &shard_arg,
            "--segments",
            "2",
        ]);
        assert_eq!(code, Some(0), "{stderr}");
        let mixed: BTreeSet<String> = stderr
            .lines()
            .filter_map(|l| l.split(" -> ").nth(1))
            .map(|s| s.split(" (").next().unwrap().to_string())
            .collect();
        per_shard.push(mixed);
    }
    let total: usize = per_shard.iter().map(BTreeSet::len).sum();
    let union: BTreeSet<String> = per_shard.iter().flatten().cloned().collect();
    assert_eq!(total, 7, "{per_shard:?}");
    assert_eq!(union.len(), 7, "{per_shard:?}");
    assert!(
        per_shard.iter().all(|s| (2..=3).contains(&s.len())),
        "balanced: {per_shard:?}"
    );
    assert_eq!(npys_under(&out).len(), 7);
    // Paths on the command line give the same split as the manifest.
    let out2 = dir.join("out2");
    let inputs: Vec<String> = (0..7)
        .map(|i| {
            data.join(format!("c{i}.avi"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut args: Vec<&str> = vec!["batch"];
    args.extend(inputs.iter().map(String::as_str));
    let o2 = out2.to_string_lossy().into_owned();
    args.extend(["--out-dir", &o2, "--shard", "1/3", "--segments", "2"]);
    let (code, stderr) = batch(&args);
    assert_eq!(code, Some(0), "{stderr}");
    let names: BTreeSet<String> = npys_under(&out2)
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let want: BTreeSet<String> = per_shard[1]
        .iter()
        .map(|p| {
            Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, want);
}

#[test]
fn batch_resumes_after_sigkill_without_partial_outputs() {
    let dir = TempDir::new("resume");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let clip = make_video(&data, "c00.mp4", Codec::H264, 60, 160, 120);
    for i in 1..12 {
        std::fs::copy(&clip, data.join(format!("c{i:02}.mp4"))).unwrap();
    }
    let out = dir.join("out");
    let args = |out: &Path| -> Vec<String> {
        vec![
            "batch".into(),
            data.to_string_lossy().into_owned(),
            "--out-dir".into(),
            out.to_string_lossy().into_owned(),
            "--jobs".into(),
            "2".into(),
            "--preview".into(),
        ]
    };
    let mut child = Command::new(mixcli())
        .args(args(&out))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some outputs exist, while others are being written.
    let start = Instant::now();
    loop {
        let done = files_under(&out)
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "npy"))
            .count();
        if done >= 3 || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Every .npy present is complete (temporary files may remain after a SIGKILL).
    for f in files_under(&out) {
        if f.extension().is_some_and(|e| e == "npy") {
            read_npy(&out.join(f));
        }
    }
    // What a kill during a write leaves: a temporary file (planted too, in case the kill
    // fell between two writes); the resumed run removes it.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join(".c05.npy.mixcli-999999-0.tmp"),
        b"\x93NUMPY partial",
    )
    .unwrap();
    // Finished: the .npy, its preview and its record (a kill between them leaves an output
    // that is redone).
    let finished_before = npys_under(&out)
        .iter()
        .filter(|p| {
            out.join(p).with_extension("png").is_file()
                && out.join(format!("{}.json", p.display())).is_file()
        })
        .count();

    let (code, stderr) = batch(&args(&out).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("{finished_before} skipped (already done)")),
        "{finished_before} finished before: {stderr}"
    );
    assert_no_partial_outputs(&out);
    let npys: Vec<PathBuf> = files_under(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    assert_eq!(npys.len(), 12);
    assert_eq!(
        files_under(&out).len(),
        36,
        "a preview and a record per output, nothing else"
    );
    // Resumed outputs equal a clean run's.
    let clean = dir.join("clean");
    run_ok([
        "mix".as_ref(),
        clip.as_os_str(),
        "-o".as_ref(),
        clean.with_extension("npy").as_os_str(),
    ]);
    let want = read_npy(&clean.with_extension("npy")).1;
    for f in npys {
        assert_bits_eq(&read_npy(&out.join(&f)).1, &want, &f.to_string_lossy());
    }
}

#[test]
fn batch_without_inputs_is_a_usage_error() {
    let dir = TempDir::new("batch-empty");
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = run([
        "batch".as_ref(),
        empty.as_os_str(),
        "--out-dir".as_ref(),
        dir.join("o").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no inputs found"));
    let out = run(["batch", "--out-dir", "x", "--shard", "3/3"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn batch_mirrors_relative_to_the_folder_given() {
    let dir = TempDir::new("batch-root");
    // One class only: the class folder is still mirrored.
    let class = dir.join("kinetics/abseiling");
    std::fs::create_dir_all(&class).unwrap();
    make_video(&class, "x.avi", Codec::Mjpeg, 3, 16, 16);
    // A Something-Something root: frame folders right inside it.
    let sth = dir.join("sth");
    make_frame_folder(&sth, "1", 3, 16, 16, |i| format!("{i:05}.jpg"));
    make_frame_folder(&sth, "2", 3, 16, 16, |i| format!("{i:05}.jpg"));
    let out = dir.join("out");
    for (input, want) in [
        ("kinetics", vec!["abseiling/x.npy"]),
        ("sth", vec!["1.npy", "2.npy"]),
        ("sth/2", vec!["2.npy"]),
    ] {
        let _ = std::fs::remove_dir_all(&out);
        run_ok([
            "batch".as_ref(),
            dir.join(input).as_os_str(),
            "--out-dir".as_ref(),
            out.as_os_str(),
            "--segments".as_ref(),
            "2".as_ref(),
        ]);
        let got: Vec<String> = npys_under(&out)
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, want, "batch {input}");
    }
}

/// The `.npy` files under `dir`, relative to it, sorted.
fn npys_under(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect()
}

/// The folder search: a link back to a searched folder (a loop) ends, hidden entries and the
/// output folder inside the searched folder are passed over, a frame folder is one input, and
/// a folder of images that is not a frame folder and gave no input gets a note.
#[test]
fn batch_search_skips_loops_hidden_entries_and_its_output_folder() {
    let dir = TempDir::new("batch-search");
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    make_video(&data, "a.avi", Codec::Mjpeg, 4, 32, 24);
    make_video(&data.join("sub"), "b.avi", Codec::Mjpeg, 4, 32, 24);
    make_frame_folder(&data, "clip", 4, 32, 24, |i| format!("{i:05}.png"));
    // Hidden: never an input.
    make_video(&data, ".c.avi", Codec::Mjpeg, 4, 32, 24);
    std::fs::create_dir_all(data.join(".cache")).unwrap();
    make_video(&data.join(".cache"), "d.avi", Codec::Mjpeg, 4, 32, 24);
    // A loop back to the searched folder.
    std::os::unix::fs::symlink(&data, data.join("sub/loop")).unwrap();
    // Images beside a video and a folder: not a frame folder, and nothing in it is an input.
    let mixed = data.join("mixed");
    make_frame_folder(&data, "mixed", 2, 32, 24, |i| format!("{i:05}.png"));
    std::fs::create_dir_all(mixed.join("empty")).unwrap();
    std::fs::write(mixed.join("notes.npy"), b"not ours").unwrap();
    // The output folder inside the searched one: never searched.
    let out = data.join("out");
    std::fs::create_dir_all(&out).unwrap();
    make_video(&out, "e.avi", Codec::Mjpeg, 4, 32, 24);

    let (d, o) = (data.to_string_lossy(), out.to_string_lossy());
    let (code, stderr) = batch(&["batch", &d, "--out-dir", &o, "--segments", "2"]);
    assert_eq!(code, Some(0), "{stderr}");
    let outputs: Vec<PathBuf> = files_under(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    assert_eq!(
        outputs,
        ["a.npy", "clip.npy", "sub/b.npy"].map(PathBuf::from),
        "{stderr}"
    );
    assert!(
        stderr.contains("mixed: holds images but is not a frame folder"),
        "{stderr}"
    );
}
