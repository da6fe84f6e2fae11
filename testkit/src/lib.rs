//! Helpers shared by framemix's end-to-end tests (mixcli's and mixdata's): temporary
//! folders, media made with the `ffmpeg` program and the `png` crate, reference frames decoded
//! independently of the library under test, mixcore's reference mix, `.npy` and safetensors
//! files read back, and bit-for-bit comparisons. A dev-dependency only; never published.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use mixcore::{FrameView, Geometry, MixSpec, Plan, PlanConfig};
pub use serde_json::Value as Json;

/// A temporary folder, removed with everything in it on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty folder under the system's temporary folder, named by `tag`, this
    /// process's id and a counter.
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

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the folder.
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
    /// VP8 in WebM.
    Vp8,
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
        Codec::Vp8 => args.extend(["-c:v", "libvpx", "-b:v", "200k", "-deadline", "realtime"]),
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

/// A `.npy` file of any type: its shape, its `descr` (`<f4`, `<f2`, ...) and its data bytes
/// (checks the header this project writes: version 1.0, padded to 64 bytes, C order, and that
/// the data fills the file for a 4- or 2-byte type).
pub fn read_npy_raw(path: &Path) -> (Vec<usize>, String, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "{}", path.display());
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + len) % 64, 0, "header not padded to 64 bytes");
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(header.contains("'fortran_order': False"), "{header}");
    assert!(header.ends_with('\n'));
    let d = header.find("'descr': '").unwrap() + "'descr': '".len();
    let descr = header[d..d + header[d..].find('\'').unwrap()].to_string();
    let open = header.find("'shape': (").unwrap() + "'shape': (".len();
    let close = open + header[open..].find(')').unwrap();
    let shape: Vec<usize> = header[open..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let size = match descr.as_str() {
        "<f4" => 4,
        "<f2" => 2,
        other => panic!("{}: unexpected descr {other}", path.display()),
    };
    let body = bytes[10 + len..].to_vec();
    assert_eq!(
        body.len(),
        shape.iter().product::<usize>() * size,
        "data size"
    );
    (shape, descr, body)
}

/// A `.npy` file of IEEE half values (`<f2`): shape and bit patterns.
pub fn read_npy_f16(path: &Path) -> (Vec<usize>, Vec<u16>) {
    let (shape, descr, body) = read_npy_raw(path);
    assert_eq!(descr, "<f2", "{}", path.display());
    (shape, u16s(&body))
}

/// Little-endian 16-bit values.
pub fn u16s(bytes: &[u8]) -> Vec<u16> {
    assert_eq!(bytes.len() % 2, 0);
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// Little-endian `f32` values.
pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    assert_eq!(bytes.len() % 4, 0);
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The one tensor of a safetensors file (read independently of mixcli's parser).
#[derive(Clone, Debug)]
pub struct SafeTensor {
    /// The tensor's name.
    pub name: String,
    /// Its type as the file spells it (`F32`, `F16`, `BF16`).
    pub dtype: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its data bytes (little-endian).
    pub data: Vec<u8>,
    /// `__metadata__` (`null` when absent).
    pub metadata: Json,
}

/// Reads a safetensors file holding one tensor: checks the 8-byte length, the JSON header,
/// that the data starts at a multiple of 8 and that the tensor's data fills the rest of the
/// file exactly.
pub fn read_safetensors(path: &Path) -> SafeTensor {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!((8 + n) % 8, 0, "data not aligned to 8 bytes");
    let header: Json = serde_json::from_slice(&bytes[8..8 + n])
        .unwrap_or_else(|e| panic!("{}: header: {e}", path.display()));
    let object = header.as_object().expect("a JSON object");
    let tensors: Vec<(&String, &Json)> = object
        .iter()
        .filter(|(k, _)| k.as_str() != "__metadata__")
        .collect();
    assert_eq!(tensors.len(), 1, "one tensor: {header}");
    let (name, t) = tensors[0];
    let dtype = t["dtype"].as_str().unwrap().to_string();
    let shape: Vec<usize> = u64s(&t["shape"]).into_iter().map(|d| d as usize).collect();
    let offsets = u64s(&t["data_offsets"]);
    let size = match dtype.as_str() {
        "F32" => 4,
        "F16" | "BF16" => 2,
        other => panic!("unexpected dtype {other}"),
    };
    assert_eq!(offsets[0], 0);
    assert_eq!(offsets[1] as usize, shape.iter().product::<usize>() * size);
    let data = bytes[8 + n..].to_vec();
    assert_eq!(data.len(), offsets[1] as usize, "data size");
    SafeTensor {
        name: name.clone(),
        dtype,
        shape,
        data,
        metadata: object.get("__metadata__").cloned().unwrap_or(Json::Null),
    }
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
/// `.npy` (`<f4` or `<f2`) or safetensors file, a PNG, or a report.
pub fn assert_no_partial_outputs(dir: &Path) {
    for f in files_under(dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".tmp"),
            "temporary file left: {}",
            f.display()
        );
        if name.ends_with(".npy") {
            let _ = read_npy_raw(&dir.join(&f));
        }
        if name.ends_with(".safetensors") {
            let _ = read_safetensors(&dir.join(&f));
        }
    }
}

/// Parses one JSON document (mixcli's `--json` output, a report line, a record); panics
/// with the text on malformed input.
pub fn json(text: &str) -> Json {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The unsigned integers of a JSON array; panics on anything else.
pub fn u64s(v: &Json) -> Vec<u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| {
            x.as_u64()
                .unwrap_or_else(|| panic!("not an unsigned integer: {x}"))
        })
        .collect()
}

/// Asserts that a JSON `segments` array equals `plan`'s positions, numerators, denominators.
pub fn assert_segments_match(segments: &Json, plan: &Plan<'_>) {
    let segs = segments.as_array().expect("segments: an array");
    assert_eq!(segs.len(), plan.segments() as usize);
    for (seg, json) in plan.iter().zip(segs) {
        let positions: Vec<u64> = seg.positions().map(u64::from).collect();
        let numerators: Vec<u64> = seg.numerators().map(u64::from).collect();
        assert_eq!(u64s(&json["frames"]), positions, "segment {}", seg.index());
        assert_eq!(
            u64s(&json["numerators"]),
            numerators,
            "segment {}",
            seg.index()
        );
        assert_eq!(
            json["denominator"].as_u64(),
            Some(seg.denominator()),
            "segment {}",
            seg.index()
        );
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

/// Writes packed RGB8 bytes as a PNG file with the `png` crate (so the bytes a decoder must
/// give back are known exactly).
pub fn write_png(path: &Path, w: u32, h: u32, rgb: &[u8]) {
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(rgb).unwrap();
}

/// True when both slices hold the same bits.
pub fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// The `half` crate, for tests that need its types beside [`f16_of`] and [`bf16_of`].
pub use half;

/// The contract's f16 rounding of every value (docs/contract.md, section 10), by the `half`
/// crate: an implementation independent of mixcore's, the oracle of the half-output tests.
#[must_use]
pub fn f16_of(data: &[f32]) -> Vec<u16> {
    data.iter()
        .map(|&x| half::f16::from_f32(x).to_bits())
        .collect()
}

/// [`f16_of`] for bfloat16.
#[must_use]
pub fn bf16_of(data: &[f32]) -> Vec<u16> {
    data.iter()
        .map(|&x| half::bf16::from_f32(x).to_bits())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_u64s_read_nested_values() {
        let v = json(r#"{"a": [1, 2], "b": {"c": "x\"y\u0041"}, "d": null}"#);
        assert_eq!(u64s(&v["a"]), [1, 2]);
        assert_eq!(v["b"]["c"], "x\"yA");
        assert_eq!(v["d"], Json::Null);
    }

    #[test]
    fn ffmpeg_makes_videos_that_decode_to_their_frame_count() {
        let dir = TempDir::new("testkit");
        let v = make_video(dir.path(), "a.avi", Codec::Mjpeg, 3, 32, 16);
        assert_eq!(decode_rgb(&v, 32, 16).len(), 3);
    }
}
