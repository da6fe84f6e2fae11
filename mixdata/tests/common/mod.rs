//! Shared helpers of mixdata's tests: a temporary folder, PNG frame folders written with the
//! `png` crate (so the frames' bytes are known exactly), videos made with the `ffmpeg`
//! program, and mixcore's reference mix.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use mixcore::{FrameView, Geometry, MixSpec, Plan, PlanConfig};

/// A folder removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty folder under the system's temporary folder.
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mixdata-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The RGB bytes of frame `f` of clip `clip` (`w` x `h`): a reproducible pattern that differs
/// between frames and clips.
pub fn frame_pixels(clip: u32, f: u32, w: u32, h: u32) -> Vec<u8> {
    let mut x = 0x9E37_79B9u32 ^ clip.wrapping_mul(0x85EB_CA6B) ^ f.wrapping_mul(0xC2B2_AE35);
    (0..w * h * 3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Writes an RGB8 PNG.
pub fn write_png(path: &Path, w: u32, h: u32, rgb: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(rgb).unwrap();
}

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

/// True when both hold the same bits.
pub fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Runs the `ffmpeg` program quietly and asserts success.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("the ffmpeg program (installed by scripts/setup.sh)");
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
