//! Frame folders named by a template: stray files ignored, gaps and frames below the start
//! refused naming the file, the list's frame count checked; without a template, today's rule.

mod common;

use common::{TempDir, img, png_folder, reference, same_bits, write_png};
use mixcore::{Geometry, MixSpec, PlanConfig};
use mixdata::{FrameTemplate, MixRequest, OpenOptions, Problem, Source, SourceKind, mix_input};

const SIZE: (u32, u32) = (12, 8);

fn request() -> MixRequest<'static> {
    MixRequest {
        plan: PlanConfig {
            segments: 3,
            ..PlanConfig::default()
        },
        layout: mixcore::Layout::Tchw,
        epilogue: mixcore::Epilogue::Raw,
        transform: mixdata::Transform::default(),
        device: mixdata::Device::Cpu,
        threads: 1,
        autorotate: true,
        allow_damaged: false,
    }
}

fn open(path: &std::path::Path, template: &FrameTemplate) -> mixdata::Result<Source> {
    Source::open_with(
        path,
        &OpenOptions {
            template: Some(template),
            ..OpenOptions::default()
        },
    )
}

/// A rawframe folder as mmaction2's extraction writes it: `img_%05d` beside optical flow
/// `flow_x_%05d`/`flow_y_%05d`, plus the files Windows and macOS leave.
fn rawframe_folder(dir: &std::path::Path) -> (std::path::PathBuf, Vec<Vec<u8>>) {
    let (folder, frames) = png_folder(dir, "a", 1, 10, SIZE, img);
    for i in 1..=10 {
        for axis in ["x", "y"] {
            write_png(
                &folder.join(format!("flow_{axis}_{i:05}.png")),
                SIZE.0,
                SIZE.1,
                &common::frame_pixels(99, i, SIZE.0, SIZE.1),
            );
        }
    }
    std::fs::write(folder.join("Thumbs.db"), b"not an image").unwrap();
    std::fs::write(folder.join(".DS_Store"), b"not an image").unwrap();
    std::fs::create_dir(folder.join("extra")).unwrap();
    (folder, frames)
}

#[test]
fn template_folder_ignores_flow_frames_and_stray_files_and_mixes_its_frames() {
    let dir = TempDir::new("tpl");
    let (folder, frames) = rawframe_folder(dir.path());
    let template: FrameTemplate = "img_{:05}.png".parse().unwrap();
    let source = open(&folder, &template).unwrap();
    let Source::Frames(listed) = &source else {
        panic!("not a frame folder")
    };
    assert_eq!(listed.len(), 10);
    assert_eq!(listed.files[0], folder.join("img_00001.png"));
    assert_eq!(listed.files[9], folder.join("img_00010.png"));
    let req = request();
    let mixed = mix_input(&source, &req).unwrap();
    let g = Geometry::new(SIZE.0, SIZE.1, 3).unwrap();
    let want = reference(&frames, g, &req.plan, &MixSpec::default());
    assert!(same_bits(&mixed.data, &want));
}

#[test]
fn folder_without_template_keeps_todays_rule() {
    let dir = TempDir::new("tpl-none");
    let (folder, _) = rawframe_folder(dir.path());
    std::fs::remove_file(folder.join("Thumbs.db")).unwrap();
    std::fs::remove_dir(folder.join("extra")).unwrap();
    let e = Source::open(&folder).unwrap_err();
    assert!(
        matches!(e.problem, Problem::DuplicateFrameNumber { number: 1, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("both carry frame number 1"), "{e}");
}

#[test]
fn template_gap_is_an_error_naming_the_missing_file() {
    let dir = TempDir::new("tpl-gap");
    let (folder, _) = png_folder(dir.path(), "a", 1, 10, SIZE, img);
    std::fs::remove_file(folder.join("img_00005.png")).unwrap();
    let template: FrameTemplate = "img_{:05}.png".parse().unwrap();
    let e = open(&folder, &template).unwrap_err();
    assert!(
        matches!(
            e.problem,
            Problem::MissingFrame {
                number: 5,
                next: 6,
                ..
            }
        ),
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains("img_00005.png"), "{text}");
    assert_eq!(e.problem.kind(), "missing_frame");
    // A folder whose first frame is missing is a gap too (from the start index).
    std::fs::write(folder.join("img_00005.png"), b"").unwrap();
    std::fs::remove_file(folder.join("img_00001.png")).unwrap();
    let e = open(&folder, &template).unwrap_err();
    assert!(e.to_string().contains("img_00001.png"), "{e}");
}

#[test]
fn template_start_index_counts_from_it_and_refuses_frames_below_it() {
    let dir = TempDir::new("tpl-start");
    let (folder, frames) = png_folder(dir.path(), "zero", 2, 6, SIZE, |i| format!("{}.png", i - 1));
    let from0: FrameTemplate = "{}.png".parse::<FrameTemplate>().unwrap().with_start(0);
    let source = open(&folder, &from0).unwrap();
    let req = request();
    let mixed = mix_input(&source, &req).unwrap();
    let g = Geometry::new(SIZE.0, SIZE.1, 3).unwrap();
    assert!(same_bits(
        &mixed.data,
        &reference(&frames, g, &req.plan, &MixSpec::default())
    ));
    let from1: FrameTemplate = "{}.png".parse().unwrap();
    let e = open(&folder, &from1).unwrap_err();
    assert!(
        matches!(
            e.problem,
            Problem::FrameBeforeStart {
                number: 0,
                start: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("0.png"), "{e}");
}

#[test]
fn template_that_matches_nothing_says_so() {
    let dir = TempDir::new("tpl-nothing");
    let (folder, _) = png_folder(dir.path(), "a", 1, 3, SIZE, |i| format!("{i:05}.png"));
    let template: FrameTemplate = "img_{:05}.jpg".parse().unwrap();
    let e = open(&folder, &template).unwrap_err();
    assert!(matches!(e.problem, Problem::NoMatchingFrames { .. }), "{e}");
    assert!(e.to_string().contains("img_{:05}.jpg"), "{e}");
}

#[test]
fn template_folder_is_checked_against_the_lists_frame_count() {
    let dir = TempDir::new("tpl-count");
    let (folder, _) = png_folder(dir.path(), "a", 1, 7, SIZE, img);
    let template: FrameTemplate = "img_{:05}.png".parse().unwrap();
    let with = |frames| {
        Source::open_with(
            &folder,
            &OpenOptions {
                template: Some(&template),
                kind: SourceKind::Frames,
                frames: Some(frames),
            },
        )
    };
    assert!(with(7).is_ok());
    let e = with(8).unwrap_err();
    assert!(
        matches!(
            e.problem,
            Problem::FrameCountMismatch {
                listed: 8,
                found: 7
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("the list says 8 frames but the folder holds 7"),
        "{e}"
    );
    // A frame folder where a video must be, and the reverse.
    let e = Source::open_with(
        &folder,
        &OpenOptions {
            kind: SourceKind::Video,
            ..OpenOptions::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("a video file is expected"), "{e}");
    let e = Source::open_with(
        &folder.join("img_00001.png"),
        &OpenOptions {
            kind: SourceKind::Frames,
            ..OpenOptions::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("a frame folder is expected"), "{e}");
}

#[test]
fn template_matching_folder_is_an_error() {
    let dir = TempDir::new("tpl-dir");
    let (folder, _) = png_folder(dir.path(), "a", 1, 3, SIZE, img);
    std::fs::create_dir(folder.join("img_00004.png")).unwrap();
    let template: FrameTemplate = "img_{:05}.png".parse().unwrap();
    let e = open(&folder, &template).unwrap_err();
    assert!(e.to_string().contains("img_00004.png"), "{e}");
    assert!(e.to_string().contains("is a folder"), "{e}");
}
