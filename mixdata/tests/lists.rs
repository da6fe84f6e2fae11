//! Every annotation list format: valid lists, several labels, malformed lines named
//! `FILE:LINE`, unknown labels naming the label file; files read through `list::read`.

mod common;

use std::path::{Path, PathBuf};

use common::TempDir;
use mixdata::list::{
    self, parse_rawframes, parse_sthv1, parse_sthv1_labels, parse_sthv2, parse_sthv2_labels,
    parse_video,
};
use mixdata::{ListFormat, Problem, SourceKind};

fn list() -> &'static Path {
    Path::new("lists/train.txt")
}

fn root() -> &'static Path {
    Path::new("/data/root")
}

/// The error's text, asserting it names `file:line`.
fn error_at(e: &mixdata::Error, file: &str, line: usize) -> String {
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("{file}:{line}: ")),
        "expected {file}:{line}: ..., got: {text}"
    );
    text
}

#[test]
fn video_list_reads_paths_and_labels() {
    let text = "train/biking/a.mp4 0\n\n  train/biking/b.mp4\t1 4 9  \r\n/abs/c.webm 2\n";
    let entries = parse_video(text, list(), root()).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].path, Path::new("/data/root/train/biking/a.mp4"));
    assert_eq!(entries[0].written, Path::new("train/biking/a.mp4"));
    assert_eq!(entries[0].labels, [0]);
    assert_eq!(entries[0].kind, SourceKind::Video);
    assert_eq!(entries[1].labels, [1, 4, 9]);
    assert_eq!(entries[1].line, 3);
    // Absolute paths are taken as they are.
    assert_eq!(entries[2].path, Path::new("/abs/c.webm"));
}

#[test]
fn video_list_malformed_lines_name_file_and_line() {
    let e = parse_video("a.mp4 0\nb.mp4\n", list(), root()).unwrap_err();
    assert!(matches!(e.problem, Problem::List { line: 2, .. }));
    let text = error_at(&e, "lists/train.txt", 2);
    assert!(text.contains("'b.mp4' has no label"), "{text}");
    assert_eq!(e.problem.kind(), "list");
    for bad in ["a.mp4 -1", "a.mp4 x", "a.mp4 4294967296", "a.mp4 1.5"] {
        let e = parse_video(bad, list(), root()).unwrap_err();
        let text = error_at(&e, "lists/train.txt", 1);
        assert!(text.contains("is not a non-negative integer"), "{text}");
    }
}

#[test]
fn rawframe_list_reads_counts_labels_and_the_default_template() {
    let text = "rawframes/biking/a 120 3\nrawframes/biking/b 7 1 2\n";
    let entries = parse_rawframes(text, list(), root()).unwrap();
    assert_eq!(entries[0].path, Path::new("/data/root/rawframes/biking/a"));
    assert_eq!(entries[0].frames, Some(120));
    assert_eq!(entries[0].kind, SourceKind::Frames);
    assert_eq!(
        entries[0]
            .template
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("img_{:05}.jpg")
    );
    assert_eq!(entries[0].template.as_ref().map(|t| t.start()), Some(1));
    assert_eq!(entries[1].labels, [1, 2]);
    for (bad, says) in [
        ("a\n", "has no frame count"),
        ("a 0 1\n", "not a positive integer"),
        ("a x 1\n", "not a positive integer"),
        ("a 10\n", "has no label"),
        ("a 10 one\n", "not a non-negative integer"),
    ] {
        let e = parse_rawframes(&format!("ok 3 0\n{bad}"), list(), root()).unwrap_err();
        let text = error_at(&e, "lists/train.txt", 2);
        assert!(text.contains(says), "{bad:?}: {text}");
    }
}

#[test]
fn sthv1_list_maps_label_texts_by_line_number() {
    let labels_path = Path::new("sthv1/labels.csv");
    let labels = parse_sthv1_labels(
        "Holding something\nPushing something from left to right\r\nSomething falling like a feather or paper\n\n",
        labels_path,
    )
    .unwrap();
    assert_eq!(labels.index.len(), 3);
    let text = "100218;Something falling like a feather or paper\n\n48;Holding something\n7\n";
    let entries = parse_sthv1(text, list(), root(), &labels).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].path, Path::new("/data/root/100218"));
    assert_eq!(entries[0].labels, [2]);
    assert_eq!(entries[0].kind, SourceKind::Frames);
    assert_eq!(
        entries[0]
            .template
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("{:05}.jpg")
    );
    assert_eq!(entries[1].labels, [0]);
    assert_eq!(entries[1].line, 3);
    // The test split: ids alone.
    assert!(entries[2].labels.is_empty());

    let e = parse_sthv1("1;Holding nothing\n", list(), root(), &labels).unwrap_err();
    assert!(matches!(e.problem, Problem::UnknownLabel { line: 1, .. }));
    let text = error_at(&e, "lists/train.txt", 1);
    assert!(text.contains("'Holding nothing'"), "{text}");
    assert!(text.contains("sthv1/labels.csv"), "{text}");
    assert_eq!(e.problem.kind(), "unknown_label");

    let e = parse_sthv1(
        "1;Holding something\n../x;Holding something\n",
        list(),
        root(),
        &labels,
    )
    .unwrap_err();
    error_at(&e, "lists/train.txt", 2);
    let e = parse_sthv1(";Holding something\n", list(), root(), &labels).unwrap_err();
    assert!(error_at(&e, "lists/train.txt", 1).contains("id is empty"));

    // Label files: an empty line inside shifts indices, a label twice is ambiguous.
    let e = parse_sthv1_labels("a\n\nb\n", labels_path).unwrap_err();
    error_at(&e, "sthv1/labels.csv", 2);
    let e = parse_sthv1_labels("a\nb\na\n", labels_path).unwrap_err();
    assert!(error_at(&e, "sthv1/labels.csv", 3).contains("given twice"));
}

#[test]
fn sthv2_list_maps_templates_without_brackets() {
    let labels_path = Path::new("sthv2/labels.json");
    // As the dataset ships it: keys are templates without brackets, values index strings.
    let labels = parse_sthv2_labels(
        r#"{
  "Approaching something with your camera": "0",
  "Holding something next to something": "35",
  "Putting number of something onto something": 112
}"#,
        labels_path,
    )
    .unwrap();
    let text = r#"[
  {"id": "78687", "label": "holding potato next to vicks vaporub bottle",
   "template": "Holding [something] next to [something]",
   "placeholders": ["potato", "vicks vaporub bottle"]},
  {"id": "42326", "label": "putting 3 pens onto a book",
   "template": "Putting [number of] [something] onto [something]",
   "placeholders": ["3", "pens", "a book"]},
  {"id": 1420}
]"#;
    let entries = parse_sthv2(text, list(), root(), &labels).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].path, Path::new("/data/root/78687.webm"));
    assert_eq!(entries[0].written, Path::new("78687.webm"));
    assert_eq!(entries[0].labels, [35]);
    assert_eq!(entries[0].line, 2);
    assert_eq!(entries[0].kind, SourceKind::Video);
    assert_eq!(entries[1].labels, [112]);
    assert_eq!(entries[1].line, 5);
    // The test split has ids only.
    assert!(entries[2].labels.is_empty());
    assert_eq!(entries[2].line, 8);

    // The caption ("label") is not the class: only the template is looked up.
    let unknown = r#"[
  {"id": "1", "template": "Holding [something] next to [something]"},
  {"id": "2", "label": "holding a cup", "template": "Holding [something]"}
]"#;
    let e = parse_sthv2(unknown, list(), root(), &labels).unwrap_err();
    let text = error_at(&e, "lists/train.txt", 3);
    assert!(text.contains("unknown label 'Holding something'"), "{text}");
    assert!(text.contains("sthv2/labels.json"), "{text}");

    for (bad, line, says) in [
        ("{\"id\": \"1\"}", 1, "expected a JSON array"),
        (
            "[{\"id\": \"1\"},\n {\"label\": \"x\"}]",
            2,
            "has no \"id\"",
        ),
        (
            "[{\"id\": \"1\"}\n {\"id\": \"2\"}]",
            2,
            "expected ',' or ']'",
        ),
        ("[\n{\"id\": \"a/b\"}]", 2, "not a file name"),
        ("[\n{\"id\": \"1\", \"template\": 3}]", 2, "is not a string"),
        ("[\n\n{\"id\": \"1\",,}]", 3, "not valid JSON"),
        ("[{\"id\": \"1\"}] x", 1, "text after the end"),
        ("[{\"id\": \"1\"},", 1, "array ends without"),
    ] {
        let e = parse_sthv2(bad, list(), root(), &labels).unwrap_err();
        let text = error_at(&e, "lists/train.txt", line);
        assert!(text.contains(says), "{bad:?}: {text}");
    }
    let e = parse_sthv2_labels("{\"a\": \"x\"}", labels_path).unwrap_err();
    assert!(error_at(&e, "sthv2/labels.json", 1).contains("not a non-negative integer"));
    let e = parse_sthv2_labels("[1]", labels_path).unwrap_err();
    error_at(&e, "sthv2/labels.json", 1);
}

#[test]
fn lists_are_read_from_files_against_the_root() {
    let dir = TempDir::new("lists");
    let write = |name: &str, text: &str| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let video = write("train.txt", "\u{feff}a.mp4 3\n");
    let entries = list::read(ListFormat::Video, &video, Path::new("/r"), None).unwrap();
    assert_eq!(entries[0].path, Path::new("/r/a.mp4"));
    let csv = write("train.csv", "5;B\n");
    let labels = write("labels.csv", "A\nB\n");
    let entries = list::read(ListFormat::SthV1, &csv, Path::new("/r"), Some(&labels)).unwrap();
    assert_eq!(entries[0].labels, [1]);
    let e = list::read(ListFormat::SthV1, &csv, Path::new("/r"), None).unwrap_err();
    assert!(e.to_string().contains("label file"), "{e}");
    let e = list::read(
        ListFormat::Video,
        &dir.path().join("missing.txt"),
        Path::new("/r"),
        None,
    )
    .unwrap_err();
    assert!(matches!(e.problem, Problem::NotFound), "{e}");
    let bytes = dir.path().join("latin1.txt");
    std::fs::write(&bytes, b"a.mp4 1\n\xe9.mp4 2\n").unwrap();
    let e = list::read(ListFormat::Video, &bytes, Path::new("/r"), None).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("latin1.txt:2: the text is not UTF-8"),
        "{e}"
    );
}
