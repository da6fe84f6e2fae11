//! `mixcli batch --list` (every list format), `index.jsonl`, `--template`/`--start` and
//! `--epoch`, against the binary cargo built for these tests and against mixdata's own
//! `Dataset` (the CLI and the library must give the same bits).

use std::path::{Path, PathBuf};
use std::process::Output;

use mixcore::{FramesPerSegment, Mode};
use mixdata::{
    Crop, CropMode, Dataset, DatasetConfig, ListFormat, Loader, LoaderConfig, Resize, Transform,
};

mod support;

use support::*;
// `cli(args)`: the mixcli binary under test (several tests bind a closure named `run`).
use support::run as cli;

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "mixcli failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn fails(out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    stderr
}

/// `frames` frames of `testsrc2` at 32x24: VP8 for a `.webm`, else MJPEG.
fn video(path: &Path, frames: u32) {
    let dir = path.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    let codec = if name.ends_with(".webm") {
        Codec::Vp8
    } else {
        Codec::Mjpeg
    };
    make_video(dir, &name, codec, frames, 32, 24);
}

/// `frames` PNG frames named `name(i)` (i from 1) in `dir`, with flow frames and
/// `Thumbs.db` beside them when `stray`.
fn frames(dir: &Path, frames: u32, name: impl Fn(u32) -> String, stray: bool) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 1..=frames {
        let mut x = i.wrapping_mul(0x9E37_79B9) ^ dir.to_string_lossy().len() as u32;
        let rgb: Vec<u8> = (0..16 * 12 * 3)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        let write = |path: PathBuf| write_png(&path, 16, 12, &rgb);
        write(dir.join(name(i)));
        if stray {
            write(dir.join(format!("flow_x_{i:05}.png")));
        }
    }
    if stray {
        std::fs::write(dir.join("Thumbs.db"), b"x").unwrap();
    }
}

/// The values of a little-endian float32 `.npy` file.
fn npy(path: &Path) -> Vec<f32> {
    read_npy(path).1
}

fn index(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(json)
        .collect()
}

const PLAN: [&str; 6] = ["--segments", "4", "--frames", "2", "--select", "spread"];

fn config(seed: u64) -> DatasetConfig {
    DatasetConfig {
        segments: 4,
        k: FramesPerSegment::Fixed(2),
        mode: Mode::Train { seed },
        threads: 1,
        ..DatasetConfig::default()
    }
}

/// A video list: outputs named by the list's paths, index.jsonl complete, each output the
/// bits of mixdata's Dataset for (seed, epoch, index); a rerun keeps the index complete from
/// the records; another epoch redoes every output.
#[test]
fn batch_video_list_writes_outputs_and_index_equal_to_the_dataset() {
    let dir = TempDir::new("video");
    let root = dir.path().join("ucf");
    video(&root.join("train/biking/a.avi"), 21);
    video(&root.join("train/diving/b.avi"), 17);
    video(&root.join("train/biking/c.avi"), 30);
    let list = dir.path().join("train.txt");
    std::fs::write(
        &list,
        "train/biking/a.avi 0\ntrain/diving/b.avi 1 5\n\ntrain/biking/c.avi 0\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = |epoch: &str| {
        let mut args = vec!["batch", "--list"];
        let (l, r, o) = (
            list.to_string_lossy().into_owned(),
            root.to_string_lossy().into_owned(),
            out.to_string_lossy().into_owned(),
        );
        args.extend([l.as_str(), "--root", &r, "--out-dir", &o]);
        args.extend(["--train", "--seed", "9", "--epoch", epoch, "--jobs", "2"]);
        args.extend(PLAN);
        cli(&args)
    };
    ok(&run("3"));
    let lines = index(&out.join("index.jsonl"));
    assert_eq!(lines.len(), 3);
    let entries = mixdata::list::read(ListFormat::Video, &list, &root, None).unwrap();
    let dataset = Dataset::new(entries, config(9)).unwrap();
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["index"], i);
        let sample = dataset.get(i, 3).unwrap();
        assert_eq!(line["labels"], serde_json::json!(sample.info.labels));
        assert_eq!(line["frames"], sample.info.frames);
        assert_eq!(line["shape"], serde_json::json!(sample.info.shape));
        assert_eq!(line["seed"], sample.info.seed.unwrap());
        for (seg, info) in line["segments"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&sample.info.segments)
        {
            assert_eq!(seg["frames"], serde_json::json!(info.positions));
            assert_eq!(seg["numerators"], serde_json::json!(info.numerators));
            assert_eq!(seg["denominator"], info.denominator);
        }
        let output = out.join(line["output"].as_str().unwrap());
        assert!(
            same_bits(&npy(&output), &sample.data),
            "{}",
            output.display()
        );
    }
    assert_eq!(lines[0]["output"], "train/biking/a.npy");
    assert_eq!(lines[1]["input"], "train/diving/b.avi");
    assert_eq!(lines[1]["labels"], serde_json::json!([1, 5]));
    let record: Json =
        serde_json::from_slice(&std::fs::read(out.join("train/diving/b.npy.json")).unwrap())
            .unwrap();
    assert_eq!(record["output"]["segments"], lines[1]["segments"]);
    assert_eq!(record["output"]["seed"], lines[1]["seed"]);

    // A rerun skips every output and still writes the whole index.
    let before = std::fs::read(out.join("index.jsonl")).unwrap();
    let stderr = ok(&run("3"));
    assert!(stderr.contains("0 mixed, 3 skipped"), "{stderr}");
    assert_eq!(std::fs::read(out.join("index.jsonl")).unwrap(), before);
    // One output gone: it alone is mixed again; the index is the same.
    std::fs::remove_file(out.join("train/biking/c.npy")).unwrap();
    let stderr = ok(&run("3"));
    assert!(stderr.contains("1 mixed, 2 skipped"), "{stderr}");
    assert_eq!(std::fs::read(out.join("index.jsonl")).unwrap(), before);
    // Another epoch draws again: every output is redone, with other bits.
    let stderr = ok(&run("4"));
    assert!(stderr.contains("3 mixed"), "{stderr}");
    let later = index(&out.join("index.jsonl"));
    assert_ne!(later[0]["seed"], lines[0]["seed"]);
    let sample = dataset.get(0, 4).unwrap();
    assert!(same_bits(
        &npy(&out.join("train/biking/a.npy")),
        &sample.data
    ));
}

#[test]
fn batch_list_shards_write_index_shards_that_cover_the_list() {
    let dir = TempDir::new("shards");
    let mut text = String::new();
    for i in 0..5 {
        video(&dir.path().join(format!("v{i}.avi")), 10 + i);
        text.push_str(&format!("v{i}.avi {i}\n"));
    }
    let list = dir.path().join("list.txt");
    std::fs::write(&list, text).unwrap();
    let out = dir.path().join("out");
    let mut seen = Vec::new();
    for shard in ["0/2", "1/2"] {
        ok(&cli([
            "batch".as_ref(),
            "--list".as_ref(),
            list.as_os_str(),
            "--out-dir".as_ref(),
            out.as_os_str(),
            "--shard".as_ref(),
            shard.as_ref(),
        ]));
        let name = format!("index-shard-{}-of-2.jsonl", &shard[..1]);
        for line in index(&out.join(name)) {
            seen.push(line["index"].as_u64().unwrap());
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2, 3, 4]);
    assert!(!out.join("index.jsonl").exists());
}

/// A rawframe list: mmaction2's img_{:05} frames beside flow frames, the list's count
/// checked; a wrong count fails that clip (kind frame_count_mismatch), the others are mixed.
#[test]
fn batch_rawframe_list_reads_template_folders_and_checks_counts() {
    let dir = TempDir::new("raw");
    let root = dir.path().join("data");
    frames(
        &root.join("rawframes/a"),
        9,
        |i| format!("img_{i:05}.png"),
        true,
    );
    frames(
        &root.join("rawframes/b"),
        6,
        |i| format!("img_{i:05}.png"),
        true,
    );
    let list = dir.path().join("train.txt");
    std::fs::write(&list, "rawframes/a 9 2\nrawframes/b 7 3\n").unwrap();
    let out = dir.path().join("out");
    let args = |template: &str| {
        vec![
            "batch".to_string(),
            "--list".into(),
            list.to_string_lossy().into_owned(),
            "--list-format".into(),
            "rawframes".into(),
            "--root".into(),
            root.to_string_lossy().into_owned(),
            "--out-dir".into(),
            out.to_string_lossy().into_owned(),
            "--template".into(),
            template.into(),
            "--segments".into(),
            "3".into(),
        ]
    };
    let stderr = fails(&cli(args("img_{:05}.png")), 1);
    assert!(stderr.contains("1 mixed"), "{stderr}");
    let report = std::fs::read_to_string(out.join("mixcli-failures.jsonl")).unwrap();
    let failure: Json = serde_json::from_str(report.lines().next().unwrap()).unwrap();
    assert_eq!(failure["kind"], "frame_count_mismatch");
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("the list says 7 frames but the folder holds 6"),
        "{failure}"
    );
    let lines = index(&out.join("index.jsonl"));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["output"], "rawframes/a.npy");
    assert_eq!(lines[0]["frames"], 9);
    assert_eq!(lines[0]["labels"], serde_json::json!([2]));
    assert_eq!(lines[0]["seed"], Json::Null);
    // The same with the library, and mmaction2's default template (jpg) matches nothing here.
    let mut entries = mixdata::list::read(ListFormat::Rawframes, &list, &root, None).unwrap();
    entries.truncate(1);
    let dataset = Dataset::new(
        entries,
        DatasetConfig {
            segments: 3,
            template: Some("img_{:05}.png".parse().unwrap()),
            ..DatasetConfig::default()
        },
    )
    .unwrap();
    let sample = dataset.get(0, 0).unwrap();
    assert!(same_bits(&npy(&out.join("rawframes/a.npy")), &sample.data));
    let mut default = args("img_{:05}.png");
    default.truncate(default.len() - 4);
    default.extend(["--segments".into(), "3".into(), "--overwrite".into()]);
    let stderr = fails(&cli(default), 1);
    assert!(
        stderr.contains("no file matches the frame template 'img_{:05}.jpg'"),
        "{stderr}"
    );
}

/// Something-Something V1 and V2 lists with their label files; unknown labels and bad
/// lines are errors naming FILE:LINE (and the label file) before anything is mixed.
#[test]
fn batch_something_something_lists_map_label_texts() {
    let dir = TempDir::new("sth");
    let root = dir.path().join("sth");
    frames(&root.join("100"), 5, |i| format!("{i:05}.png"), false);
    frames(&root.join("101"), 8, |i| format!("{i:05}.png"), false);
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        "Holding something\nPushing something from left to right\n",
    )
    .unwrap();
    let list = dir.path().join("train.csv");
    std::fs::write(
        &list,
        "100;Pushing something from left to right\n101;Holding something\n",
    )
    .unwrap();
    let out = dir.path().join("out1");
    let v1 = |list: &Path, extra: &[&str]| {
        let mut a: Vec<String> = [
            "batch",
            "--list",
            &list.to_string_lossy(),
            "--list-format",
            "sthv1",
            "--labels",
            &labels.to_string_lossy(),
            "--root",
            &root.to_string_lossy(),
            "--out-dir",
            &out.to_string_lossy(),
            "--template",
            "{:05}.png",
            "--segments",
            "2",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        a.extend(extra.iter().map(ToString::to_string));
        cli(a)
    };
    ok(&v1(&list, &[]));
    let lines = index(&out.join("index.jsonl"));
    assert_eq!(
        lines
            .iter()
            .map(|l| l["output"].clone())
            .collect::<Vec<_>>(),
        ["100.npy", "101.npy"]
    );
    assert_eq!(lines[0]["labels"], serde_json::json!([1]));
    assert_eq!(lines[1]["labels"], serde_json::json!([0]));

    let unknown = dir.path().join("bad.csv");
    std::fs::write(&unknown, "100;Holding something\n101;Holding nothing\n").unwrap();
    let stderr = fails(&v1(&unknown, &["--overwrite"]), 1);
    let want = format!("{}:2: unknown label 'Holding nothing'", unknown.display());
    assert!(stderr.contains(&want), "{stderr}");
    assert!(
        stderr.contains(&labels.to_string_lossy().into_owned()),
        "{stderr}"
    );
    let stderr = fails(
        &cli([
            "batch".as_ref(),
            "--list".as_ref(),
            list.as_os_str(),
            "--list-format".as_ref(),
            "sthv1".as_ref(),
            "--out-dir".as_ref(),
            out.as_os_str(),
        ]),
        2,
    );
    assert!(stderr.contains("--labels FILE"), "{stderr}");

    // V2: videos named by id, labels from templates without brackets.
    video(&root.join("7.webm"), 12);
    let labels2 = dir.path().join("labels.json");
    std::fs::write(&labels2, r#"{"Holding something next to something": "35"}"#).unwrap();
    let list2 = dir.path().join("validation.json");
    std::fs::write(
        &list2,
        r#"[{"id": "7", "label": "holding a cup next to a pen", "template": "Holding [something] next to [something]", "placeholders": ["a cup", "a pen"]}]"#,
    )
    .unwrap();
    let out2 = dir.path().join("out2");
    ok(&cli([
        "batch".as_ref(),
        "--list".as_ref(),
        list2.as_os_str(),
        "--list-format".as_ref(),
        "sthv2".as_ref(),
        "--labels".as_ref(),
        labels2.as_os_str(),
        "--root".as_ref(),
        root.as_os_str(),
        "--out-dir".as_ref(),
        out2.as_os_str(),
    ]));
    let lines = index(&out2.join("index.jsonl"));
    assert_eq!(lines[0]["output"], "7.npy");
    assert_eq!(lines[0]["labels"], serde_json::json!([35]));
    assert_eq!(lines[0]["frames"], 12);
}

#[test]
fn batch_list_bad_lines_and_combinations_are_refused_before_mixing() {
    let dir = TempDir::new("bad");
    video(&dir.path().join("a.avi"), 8);
    let list = dir.path().join("l.txt");
    std::fs::write(&list, "a.avi 0\na.avi\n").unwrap();
    let out = dir.path().join("out");
    let stderr = fails(
        &cli([
            "batch".as_ref(),
            "--list".as_ref(),
            list.as_os_str(),
            "--out-dir".as_ref(),
            out.as_os_str(),
        ]),
        1,
    );
    assert!(
        stderr.contains(&format!("{}:2: 'a.avi' has no label", list.display())),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing may be written");
    let stderr = fails(
        &cli([
            "batch".as_ref(),
            "--list".as_ref(),
            list.as_os_str(),
            dir.path().join("a.avi").as_os_str(),
            "--out-dir".as_ref(),
            out.as_os_str(),
        ]),
        2,
    );
    assert!(stderr.contains("give no other paths"), "{stderr}");
    let stderr = fails(
        &cli([
            "batch".as_ref(),
            dir.path().as_os_str(),
            "--out-dir".as_ref(),
            out.as_os_str(),
            "--epoch".as_ref(),
            "1".as_ref(),
        ]),
        2,
    );
    assert!(stderr.contains("--train"), "{stderr}");
}

/// `mix --template --start` reads a folder with flow frames; `mix --epoch` is clip 0 of the
/// dataset rule; `--start` alone is a usage error.
#[test]
fn mix_takes_a_template_and_an_epoch() {
    let dir = TempDir::new("mix");
    let folder = dir.path().join("clip");
    frames(&folder, 12, |i| format!("img_{:05}.png", i - 1), true);
    let npy_out = dir.path().join("x.npy");
    let run = |extra: &[&str]| {
        let mut a: Vec<String> = vec![
            "mix".into(),
            folder.to_string_lossy().into_owned(),
            "-o".into(),
            npy_out.to_string_lossy().into_owned(),
        ];
        a.extend(PLAN.iter().map(ToString::to_string));
        a.extend(extra.iter().map(ToString::to_string));
        cli(a)
    };
    let stderr = fails(&run(&[]), 1);
    assert!(stderr.contains("is not a frame"), "{stderr}");
    let stderr = fails(&run(&["--template", "img_{:05}.png"]), 1);
    assert!(stderr.contains("below the start index 1"), "{stderr}");
    ok(&run(&[
        "--template",
        "img_{:05}.png",
        "--start",
        "0",
        "--train",
        "--seed",
        "17",
        "--epoch",
        "6",
    ]));
    let entry = mixdata::Entry {
        path: folder.clone(),
        written: "clip".into(),
        labels: Vec::new(),
        kind: mixdata::SourceKind::Frames,
        frames: None,
        template: Some(
            "img_{:05}.png"
                .parse::<mixdata::FrameTemplate>()
                .unwrap()
                .with_start(0),
        ),
        line: 1,
    };
    let dataset = Dataset::new(vec![entry], config(17)).unwrap();
    let sample = dataset.get(0, 6).unwrap();
    assert!(same_bits(&npy(&npy_out), &sample.data));
    // info plans it the same way.
    let mut info: Vec<String> = vec!["info".into(), folder.to_string_lossy().into_owned()];
    info.extend(PLAN.iter().map(ToString::to_string));
    info.extend(
        [
            "--json",
            "--template",
            "img_{:05}.png",
            "--start",
            "0",
            "--train",
            "--seed",
            "17",
            "--epoch",
            "6",
        ]
        .iter()
        .map(ToString::to_string),
    );
    let out = cli(info);
    ok(&out);
    let json: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["frames"], 12);
    for (seg, s) in json["segments"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&sample.info.segments)
    {
        assert_eq!(seg["frames"], serde_json::json!(s.positions));
    }
    let other = dataset.get(0, 7).unwrap();
    assert!(!same_bits(&npy(&npy_out), &other.data));
    // Without --epoch the seed is used as it is.
    ok(&run(&[
        "--template",
        "img_{:05}.png",
        "--start",
        "0",
        "--train",
        "--seed",
        "17",
    ]));
    let template = dataset.entries()[0].template.clone().unwrap();
    let source = mixdata::Source::open_with(
        &folder,
        &mixdata::OpenOptions {
            template: Some(&template),
            ..mixdata::OpenOptions::default()
        },
    )
    .unwrap();
    let as_given = mixdata::mix_input(
        &source,
        &mixdata::MixRequest {
            plan: config(17).plan(Mode::Train { seed: 17 }),
            layout: mixcore::Layout::Tchw,
            epilogue: mixcore::Epilogue::Raw,
            transform: Transform::default(),
            device: mixdata::Device::Cpu,
            threads: 1,
            autorotate: true,
            allow_damaged: false,
        },
    )
    .unwrap();
    assert!(same_bits(&npy(&npy_out), &as_given.data));
    let stderr = fails(&run(&["--start", "0"]), 2);
    assert!(
        stderr.contains("--start N numbers the frames of a --template"),
        "{stderr}"
    );
    let stderr = fails(&run(&["--template", "img.png"]), 2);
    assert!(stderr.contains("is not a frame template"), "{stderr}");
}

/// mixdata's resize bound is mixcli's `--size` bound.
#[test]
fn frame_bound_is_the_same_in_mixdata_and_mixcli() {
    for w in (1..=16_384).step_by(127).chain([16_255, 16_384]) {
        for h in [1, 2, 1000, 16_000, 16_128, 16_129, 16_255, 16_256, 16_384] {
            assert_eq!(
                mixcli::args::frame_fits(w, h),
                mixdata::transform::frame_fits(w, h),
                "{w}x{h}"
            );
        }
    }
}

/// A testsrc2 clip of `w`x`h` (MJPEG in AVI).
fn sized_video(path: &Path, frames: u32, w: u32, h: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let (n, src) = (frames.to_string(), format!("testsrc2=size={w}x{h}:rate=25"));
    let p = path.to_string_lossy().into_owned();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &src,
        "-frames:v",
        &n,
        "-c:v",
        "mjpeg",
        &p,
    ]);
}

fn crop_transform(mode: CropMode) -> Transform {
    Transform {
        resize: Resize::Short(30),
        crop: Some(Crop {
            width: 28,
            height: 24,
            mode,
        }),
        flip: true,
    }
}

/// Clips of different sizes with a resize and a random crop and flip: batch's outputs are the
/// Dataset's bits, records and index.jsonl carry the geometry each clip was mixed with, a rerun
/// with other transform options redoes every output, and the loader batches the clips together.
#[test]
fn batch_transform_records_geometry_and_matches_the_dataset() {
    let dir = TempDir::new("transform");
    let root = dir.path().join("clips");
    sized_video(&root.join("wide.avi"), 11, 64, 36);
    sized_video(&root.join("tall.avi"), 9, 40, 48);
    let list = dir.path().join("train.txt");
    std::fs::write(&list, "wide.avi 0\ntall.avi 1\n").unwrap();
    let out = dir.path().join("out");
    let run = |mode: &str| {
        let (l, r, o) = (
            list.to_string_lossy().into_owned(),
            root.to_string_lossy().into_owned(),
            out.to_string_lossy().into_owned(),
        );
        let mut args = vec!["batch", "--list", &l, "--root", &r, "--out-dir", &o];
        args.extend(["--train", "--seed", "5", "--epoch", "2", "--jobs", "2"]);
        args.extend([
            "--resize-short",
            "30",
            "--crop",
            "28x24",
            "--crop-mode",
            mode,
        ]);
        args.push("--flip");
        args.extend(PLAN);
        cli(&args)
    };
    ok(&run("random"));
    let entries = mixdata::list::read(ListFormat::Video, &list, &root, None).unwrap();
    let dataset = Dataset::new(
        entries.clone(),
        DatasetConfig {
            transform: crop_transform(CropMode::Random),
            ..config(5)
        },
    )
    .unwrap();
    assert_eq!(dataset.fixed_shape(), Some([4, 3, 24, 28]));
    let lines = index(&out.join("index.jsonl"));
    assert_eq!(lines.len(), 2);
    for (i, line) in lines.iter().enumerate() {
        let sample = dataset.get(i, 2).unwrap();
        assert_eq!(line["shape"], serde_json::json!([4, 3, 24, 28]));
        let g = sample.info.transform.geometry;
        let geometry = &line["geometry"];
        assert_eq!(
            geometry["source"],
            serde_json::json!(sample.info.source_size)
        );
        assert_eq!(geometry["convert"], Json::Null);
        assert_eq!(
            geometry["resized"],
            serde_json::json!([g.resized.0, g.resized.1])
        );
        assert_eq!(geometry["crop"]["x"], g.crop.x);
        assert_eq!(geometry["crop"]["y"], g.crop.y);
        assert_eq!(geometry["crop"]["width"], 28);
        assert_eq!(geometry["pre_crop"]["width"], g.pre_crop.width);
        assert_eq!(geometry["flip"], g.flip);
        let output = out.join(line["output"].as_str().unwrap());
        assert!(
            same_bits(&npy(&output), &sample.data),
            "{}",
            output.display()
        );
        let record: Json =
            serde_json::from_slice(&std::fs::read(format!("{}.json", output.display())).unwrap())
                .unwrap();
        assert_eq!(&record["output"]["geometry"], geometry);
    }
    // 64x36 -> 53x30 and 40x48 -> 30x36: the clips' own resized sizes, one crop size.
    assert_eq!(lines[0]["geometry"]["resized"], serde_json::json!([53, 30]));
    assert_eq!(lines[1]["geometry"]["resized"], serde_json::json!([30, 36]));

    // The transform is part of each record's key: a rerun with the same options skips, one
    // with another crop mode redoes every output (and the index follows it).
    let stderr = ok(&run("random"));
    assert!(stderr.contains("0 mixed, 2 skipped"), "{stderr}");
    let stderr = ok(&run("center"));
    assert!(stderr.contains("2 mixed"), "{stderr}");
    let centred = index(&out.join("index.jsonl"));
    // 53 - 28 = 25 -> x 12; 36 - 24 = 12 -> y 6.
    assert_eq!(centred[0]["geometry"]["crop"]["x"], 12);
    assert_eq!(centred[1]["geometry"]["crop"]["y"], 6);

    // The loader batches the two clips of different sizes together (both come out 28x24),
    // each sample the dataset's bits.
    let loader = Loader::new(
        dataset.clone(),
        LoaderConfig {
            batch_size: 2,
            workers: 2,
            shuffle: false,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    let batches: Vec<_> = loader.epoch(2).collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].shape, [2, 4, 3, 24, 28]);
    let len = 4 * 3 * 24 * 28;
    for (slot, &i) in batches[0].indices.iter().enumerate() {
        let sample = dataset.get(i, 2).unwrap();
        assert!(same_bits(
            &batches[0].data[slot * len..(slot + 1) * len],
            &sample.data
        ));
        assert_eq!(batches[0].samples[slot].transform, sample.info.transform);
    }
    // Without a crop the clips have different shapes and cannot share a batch.
    let uncropped = Dataset::new(
        entries,
        DatasetConfig {
            transform: Transform {
                resize: Resize::Short(30),
                ..Transform::default()
            },
            ..config(5)
        },
    )
    .unwrap();
    assert_eq!(uncropped.fixed_shape(), None);
    assert_eq!(uncropped.shape_of(0).unwrap(), [4, 3, 30, 53]);
    assert_eq!(uncropped.shape_of(1).unwrap(), [4, 3, 36, 30]);
}

/// Test-mode datasets refuse the training augmentations, naming the option (three crops, a
/// test-time transform, are accepted).
#[test]
fn dataset_refuses_train_augmentations_in_test_mode() {
    for (t, says) in [
        (crop_transform(CropMode::Random), "--crop-mode random"),
        (
            Transform {
                flip: true,
                ..Transform::default()
            },
            "--flip",
        ),
    ] {
        let e = Dataset::new(
            Vec::new(),
            DatasetConfig {
                transform: t,
                ..DatasetConfig::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
    }
    let three = DatasetConfig {
        transform: Transform {
            flip: false,
            ..crop_transform(CropMode::Three)
        },
        ..DatasetConfig::default()
    };
    assert_eq!(Dataset::new(Vec::new(), three).unwrap().views(), 3);
}
