//! Shared helpers of the mixcli end-to-end tests (`cli_*.rs` include this file with
//! `#[path]`); compiled alone, it checks the helpers themselves.
//!
//! The tests run the real `mixcli` binary (built here with the same cargo, profile and target
//! folder as the tests), create real media with the `ffmpeg` program, decode reference frames
//! independently (the `ffmpeg` program for videos and JPEG, the `png` crate for PNG), mix them
//! with mixcore and compare bits.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};

use mixcore::{FrameView, Geometry, MixSpec, Plan, PlanConfig};

/// Builds `mixcli` with cargo in the tests' own profile and target folder (a no-op when it
/// is up to date), with `features` when given; returns the binary's path there.
fn build_mixcli(features: Option<&str>) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // <target>/<profile>/deps/<test>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile folder");
    let target_dir = profile_dir.parent().expect("target folder");
    let release = profile_dir.file_name() == Some(OsStr::new("release"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "mixcli", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", target_dir);
    if release {
        cmd.arg("--release");
    }
    if let Some(f) = features {
        cmd.args(["--features", f]);
    }
    let what = match features {
        Some(f) => format!("cargo build -p mixcli --features {f}"),
        None => "cargo build -p mixcli".to_string(),
    };
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running {what}: {e}"));
    assert!(status.success(), "{what} failed");
    let bin = profile_dir.join("mixcli");
    assert!(bin.exists(), "{} missing after the build", bin.display());
    bin
}

/// Held for reading while a test runs mixcli, for writing while [`mixcli_with_features`]
/// has replaced the default binary.
static SWAP: RwLock<()> = RwLock::new(());

/// The `mixcli` binary, built once per test process (`cargo build -p mixcli` in the tests'
/// own profile and target folder; a no-op when it is up to date).
pub fn mixcli() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let _swap = SWAP.read().unwrap_or_else(PoisonError::into_inner);
        build_mixcli(None)
    })
}

/// `mixcli` built with `features` (for example `"cuda"`), copied to `mixcli-FEATURES` next to
/// [`mixcli`]. It is built in the same target folder, so only mixcli and the features' own
/// dependencies compile; cargo replaces the default binary with it there for a moment, so this
/// copies it and rebuilds the default (a no-op build that puts the default back) while no
/// test of this process runs mixcli through [`run`]. Not for test runners that run several
/// test processes at once.
pub fn mixcli_with_features(features: &str) -> PathBuf {
    let default = mixcli();
    let _swap = SWAP.write().unwrap_or_else(PoisonError::into_inner);
    let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let before = read(default);
    let built = build_mixcli(Some(features));
    let copy = built.with_file_name(format!("mixcli-{}", features.replace([' ', ','], "-")));
    let _ = std::fs::remove_file(&copy);
    std::fs::copy(&built, &copy)
        .unwrap_or_else(|e| panic!("copying {} to {}: {e}", built.display(), copy.display()));
    let restored = build_mixcli(None);
    assert!(
        read(&restored) == before,
        "{} was not restored to the default build",
        restored.display()
    );
    copy
}

/// Runs mixcli with `args`.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_bin(mixcli(), args)
}

/// Runs the mixcli binary `bin` with `args`.
pub fn run_bin<I, S>(bin: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let _swap = SWAP.read().unwrap_or_else(PoisonError::into_inner);
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running mixcli")
}

/// Runs mixcli and asserts success; returns stdout.
pub fn run_ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = run(args);
    assert!(
        out.status.success(),
        "mixcli failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs mixcli and asserts failure with exit status 1; returns stderr.
pub fn run_err<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "mixcli should fail with status 1:\nstdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("mixcli: error: "), "{stderr}");
    stderr
}

/// A temporary folder, removed with everything in it on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "framemix-e2e-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating a temp folder");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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

/// Video codecs the tests encode with.
#[derive(Clone, Copy, Debug)]
pub enum Codec {
    /// H.264 in MP4.
    H264,
    /// VP9 in WebM.
    Vp9,
    /// MJPEG in AVI.
    Mjpeg,
}

/// Encodes `frames` frames of lavfi `testsrc2` (moving, textured) at `w`x`h`, 25 fps.
pub fn make_video(dir: &Path, name: &str, codec: Codec, frames: u32, w: u32, h: u32) -> PathBuf {
    let path = dir.join(name);
    let src = format!("testsrc2=size={w}x{h}:rate=25");
    let n = frames.to_string();
    let mut args: Vec<&str> = vec!["-f", "lavfi", "-i", &src, "-frames:v", &n];
    match codec {
        Codec::H264 => args.extend([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "12",
        ]),
        Codec::Vp9 => args.extend([
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-b:v",
            "300k",
        ]),
        Codec::Mjpeg => args.extend(["-c:v", "mjpeg", "-q:v", "3"]),
    }
    let p = path.to_string_lossy().into_owned();
    args.push(&p);
    ffmpeg(&args);
    path
}

/// Writes `frames` frames of `testsrc2` as image files named by `name(i)` (i from 1) in a new
/// folder `dir/folder`, through the ffmpeg program (PNG or JPEG by the names' extension).
pub fn make_frame_folder(
    dir: &Path,
    folder: &str,
    frames: u32,
    w: u32,
    h: u32,
    name: impl Fn(u32) -> String,
) -> PathBuf {
    let out = dir.join(folder);
    std::fs::create_dir_all(&out).unwrap();
    let ext = Path::new(&name(1))
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pattern = out.join(format!("%06d.{ext}"));
    let src = format!("testsrc2=size={w}x{h}:rate=25");
    let n = frames.to_string();
    let pat = pattern.to_string_lossy().into_owned();
    let mut args = vec!["-f", "lavfi", "-i", &src, "-frames:v", &n];
    if ext == "jpg" {
        args.extend(["-q:v", "3"]);
    } else {
        args.extend(["-pix_fmt", "rgb24"]);
    }
    args.push(&pat);
    ffmpeg(&args);
    for i in 1..=frames {
        let from = out.join(format!("{i:06}.{ext}"));
        let to = out.join(name(i));
        if from != to {
            std::fs::rename(from, to).unwrap();
        }
    }
    out
}

/// Decodes every frame of `input` (a video or one image) to RGB24 with the `ffmpeg` program
/// (frames passed through as decoded, no rate conversion). Returns width, height, frames.
pub fn decode_rgb(input: &Path, w: u32, h: u32) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-nostdin", "-i"])
        .arg(input)
        .args([
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frame = (w * h * 3) as usize;
    assert_eq!(out.stdout.len() % frame, 0, "partial frame from ffmpeg");
    out.stdout.chunks(frame).map(<[u8]>::to_vec).collect()
}

/// Decodes a PNG file to tightly packed RGB8 with the `png` crate.
pub fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", path.display());
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// A `.npy` file: shape and values (checks the header this project writes: `<f4`, C order).
pub fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "{}", path.display());
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + len) % 64, 0, "header not padded to 64 bytes");
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    assert!(header.ends_with('\n'));
    let open = header.find("'shape': (").unwrap() + "'shape': (".len();
    let close = open + header[open..].find(')').unwrap();
    let shape: Vec<usize> = header[open..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let body = &bytes[10 + len..];
    assert_eq!(body.len(), shape.iter().product::<usize>() * 4, "data size");
    let data = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (shape, data)
}

/// mixcore's in-memory mix of packed RGB frames.
pub fn reference_mix(
    frames: &[Vec<u8>],
    w: u32,
    h: u32,
    config: &PlanConfig<'_>,
    spec: &MixSpec<'_>,
) -> Vec<f32> {
    let g = Geometry::new(w, h, 3).unwrap();
    let views: Vec<FrameView<'_>> = frames
        .iter()
        .map(|f| FrameView::packed(f, g).unwrap())
        .collect();
    let plan = Plan::new(frames.len() as u32, config).unwrap();
    let mut out = vec![0.0f32; mixcore::output_len(&plan, g).unwrap()];
    mixcore::mix(&plan, &views, spec, &mut out).unwrap();
    out
}

/// Asserts two f32 slices are equal bit for bit, reporting the first difference.
pub fn assert_bits_eq(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    if let Some(i) = (0..got.len()).find(|&i| got[i].to_bits() != want[i].to_bits()) {
        let differing = (0..got.len())
            .filter(|&i| got[i].to_bits() != want[i].to_bits())
            .count();
        panic!(
            "{what}: {differing} of {} values differ; first at {i}: got {} want {}",
            got.len(),
            got[i],
            want[i]
        );
    }
}

/// Every file under `dir`, recursively, relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    out.push(p.strip_prefix(base).unwrap().to_path_buf());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Asserts that no temporary or partial output exists under `dir`: every file is a complete
/// `.npy`, a PNG, or a report.
pub fn assert_no_partial_outputs(dir: &Path) {
    for f in files_under(dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".tmp"),
            "temporary file left: {}",
            f.display()
        );
        if name.ends_with(".npy") {
            let _ = read_npy(&dir.join(&f));
        }
    }
}

/// A JSON value (enough of JSON for mixcli's output).
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Parses one JSON document; panics on malformed input.
    pub fn parse(text: &str) -> Json {
        let b = text.trim().as_bytes();
        let mut i = 0;
        let v = Self::value(b, &mut i);
        assert_eq!(i, b.len(), "trailing data after JSON: {text}");
        v
    }

    fn ws(b: &[u8], i: &mut usize) {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    }

    fn value(b: &[u8], i: &mut usize) -> Json {
        Self::ws(b, i);
        match b[*i] {
            b'{' => {
                *i += 1;
                let mut fields = Vec::new();
                Self::ws(b, i);
                if b[*i] == b'}' {
                    *i += 1;
                    return Json::Obj(fields);
                }
                loop {
                    Self::ws(b, i);
                    let Json::Str(k) = Self::value(b, i) else {
                        panic!("object key")
                    };
                    Self::ws(b, i);
                    assert_eq!(b[*i], b':');
                    *i += 1;
                    fields.push((k, Self::value(b, i)));
                    Self::ws(b, i);
                    *i += 1;
                    if b[*i - 1] == b'}' {
                        break Json::Obj(fields);
                    }
                    assert_eq!(b[*i - 1], b',');
                }
            }
            b'[' => {
                *i += 1;
                let mut items = Vec::new();
                Self::ws(b, i);
                if b[*i] == b']' {
                    *i += 1;
                    return Json::Arr(items);
                }
                loop {
                    items.push(Self::value(b, i));
                    Self::ws(b, i);
                    *i += 1;
                    if b[*i - 1] == b']' {
                        break Json::Arr(items);
                    }
                    assert_eq!(b[*i - 1], b',');
                }
            }
            b'"' => {
                *i += 1;
                let mut s = String::new();
                loop {
                    match b[*i] {
                        b'"' => {
                            *i += 1;
                            break Json::Str(s);
                        }
                        b'\\' => {
                            *i += 1;
                            match b[*i] {
                                b'n' => s.push('\n'),
                                b't' => s.push('\t'),
                                b'r' => s.push('\r'),
                                b'u' => {
                                    let hex = std::str::from_utf8(&b[*i + 1..*i + 5]).unwrap();
                                    s.push(
                                        char::from_u32(u32::from_str_radix(hex, 16).unwrap())
                                            .unwrap(),
                                    );
                                    *i += 4;
                                }
                                c => s.push(c as char),
                            }
                            *i += 1;
                        }
                        _ => {
                            let start = *i;
                            while b[*i] != b'"' && b[*i] != b'\\' {
                                *i += 1;
                            }
                            s.push_str(std::str::from_utf8(&b[start..*i]).unwrap());
                        }
                    }
                }
            }
            b'n' => {
                *i += 4;
                Json::Null
            }
            b't' => {
                *i += 4;
                Json::Bool(true)
            }
            b'f' => {
                *i += 5;
                Json::Bool(false)
            }
            _ => {
                let start = *i;
                while *i < b.len() && (b[*i].is_ascii_digit() || b"+-.eE".contains(&b[*i])) {
                    *i += 1;
                }
                Json::Num(std::str::from_utf8(&b[start..*i]).unwrap().parse().unwrap())
            }
        }
    }

    /// The field `key` of an object.
    pub fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(fields) => {
                &fields
                    .iter()
                    .find(|(k, _)| k == key)
                    .unwrap_or_else(|| panic!("no key {key}"))
                    .1
            }
            _ => panic!("not an object"),
        }
    }

    pub fn as_u64(&self) -> u64 {
        match self {
            Json::Num(n) if n.fract() == 0.0 && *n >= 0.0 => *n as u64,
            other => panic!("not an unsigned integer: {other:?}"),
        }
    }

    pub fn as_array(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            other => panic!("not an array: {other:?}"),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    pub fn u64s(&self) -> Vec<u64> {
        self.as_array().iter().map(Json::as_u64).collect()
    }
}

/// Asserts that a JSON `segments` array equals `plan`'s positions, numerators, denominators.
pub fn assert_segments_match(segments: &Json, plan: &Plan<'_>) {
    let segs = segments.as_array();
    assert_eq!(segs.len(), plan.segments() as usize);
    for (seg, json) in plan.iter().zip(segs) {
        let positions: Vec<u64> = seg.positions().map(u64::from).collect();
        let numerators: Vec<u64> = seg.numerators().map(u64::from).collect();
        assert_eq!(
            json.get("frames").u64s(),
            positions,
            "segment {}",
            seg.index()
        );
        assert_eq!(
            json.get("numerators").u64s(),
            numerators,
            "segment {}",
            seg.index()
        );
        assert_eq!(
            json.get("denominator").as_u64(),
            seg.denominator(),
            "segment {}",
            seg.index()
        );
    }
}

#[test]
fn support_json_parses_nested_values() {
    let v = Json::parse(r#"{"a": [1, 2, {"b": "x\"y\u0041"}], "c": null, "d": true, "e": -1.5}"#);
    assert_eq!(v.get("a").as_array()[1].as_u64(), 2);
    assert_eq!(v.get("a").as_array()[2].get("b").as_str(), "x\"yA");
    assert_eq!(v.get("c"), &Json::Null);
    assert_eq!(v.get("e"), &Json::Num(-1.5));
}

#[test]
fn support_builds_mixcli_and_finds_ffmpeg() {
    let out = run(["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("mixcli "));
    let dir = TempDir::new("support");
    let v = make_video(dir.path(), "a.avi", Codec::Mjpeg, 3, 32, 16);
    assert_eq!(decode_rgb(&v, 32, 16).len(), 3);
}
