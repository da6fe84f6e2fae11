//! Shared helpers of mixdata's tests: PNG frame folders written with the `png` crate (so the
//! frames' bytes are known exactly), videos made with the `ffmpeg` program, and mixcore's
//! reference mix; the generic ones (temporary folders, `ffmpeg`, PNG writing, bit
//! comparisons) come from `framemix-testkit`, shared with mixcli's tests.
#![allow(dead_code)]

#[allow(unused_imports)] // each test binary uses its own subset
pub use framemix_testkit::{TempDir, ffmpeg, frame_pixels, same_bits, write_png};

use std::path::{Path, PathBuf};

use mixcore::{FrameView, Geometry, MixSpec, Plan, PlanConfig};

/// A frame folder `dir/name` of `frames` PNG frames of clip `clip`, frame `f` (from 0) named
/// `file(f + 1)`; returns the folder and the frames' bytes.
pub fn png_folder(
    dir: &Path,
    name: &str,
    clip: u32,
    frames: u32,
    (w, h): (u32, u32),
    file: impl Fn(u32) -> String,
) -> (PathBuf, Vec<Vec<u8>>) {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let pixels: Vec<Vec<u8>> = (0..frames).map(|f| frame_pixels(clip, f, w, h)).collect();
    for (f, rgb) in (0..).zip(&pixels) {
        write_png(&folder.join(file(f + 1)), w, h, rgb);
    }
    (folder, pixels)
}

/// mixmaction2's rawframe names.
pub fn img(i: u32) -> String {
    format!("img_{i:05}.png")
}

/// mixcore's mix of `frames` (packed RGB `g`) with `config` and `spec`: the reference.
pub fn reference(
    frames: &[Vec<u8>],
    g: Geometry,
    config: &PlanConfig<'_>,
    spec: &MixSpec<'_>,
) -> Vec<f32> {
    let plan = Plan::new(u32::try_from(frames.len()).unwrap(), config).unwrap();
    let views: Vec<FrameView<'_>> = frames
        .iter()
        .map(|d| FrameView::packed(d, g).unwrap())
        .collect();
    mixcore::mix_to_vec(&plan, &views, spec).unwrap()
}

/// `frames` frames of lavfi `testsrc2` at `w`x`h` encoded to `path` with the encoder
/// arguments `codec` (e.g. `["-c:v", "mjpeg"]`).
pub fn make_video(path: &Path, frames: u32, (w, h): (u32, u32), codec: &[&str]) -> PathBuf {
    let src = format!("testsrc2=size={w}x{h}:rate=25");
    let n = frames.to_string();
    let p = path.to_string_lossy().into_owned();
    let mut args: Vec<&str> = vec!["-f", "lavfi", "-i", &src, "-frames:v", &n];
    args.extend_from_slice(codec);
    args.push(&p);
    ffmpeg(&args);
    path.to_path_buf()
}

/// `clips` frame folders (PNG, `img_{:05}.png` from 1) under `dir`, clip `c` holding
/// `frames(c)` frames of `size(c)`; returns the entries (labels `[c, c + 100]`) and each
/// clip's frames.
pub fn png_clips(
    dir: &Path,
    clips: u32,
    frames: impl Fn(u32) -> u32,
    size: impl Fn(u32) -> (u32, u32),
) -> (Vec<mixdata::Entry>, Vec<Vec<Vec<u8>>>) {
    let mut entries = Vec::new();
    let mut pixels = Vec::new();
    for c in 0..clips {
        let name = format!("clip{c:03}");
        let (path, p) = png_folder(dir, &name, c, frames(c), size(c), img);
        entries.push(mixdata::Entry {
            path,
            written: PathBuf::from(&name),
            labels: vec![c, c + 100],
            kind: mixdata::SourceKind::Frames,
            frames: Some(frames(c)),
            template: Some("img_{:05}.png".parse().unwrap()),
            line: c as usize + 1,
        });
        pixels.push(p);
    }
    (entries, pixels)
}
