//! The record of what made a `batch` output, so a resumed run knows what it resumes.
//!
//! Next to each output `OUT.npy`, `batch` writes `OUT.npy.json` (atomically, after the
//! `.npy` and its preview are in place):
//!
//! ```json
//! {
//!   "key": {
//!     "mixcli": "0.1.0",
//!     "options": "MixRequest { plan: PlanConfig { segments: 8, .. }, layout: Tchw, .. }",
//!     "input": "/data/kinetics/abseiling/x.mp4",
//!     "input_state": {"kind": "file", "bytes": 1048576, "modified": [1733070000, 123456789]}
//!   },
//!   "input_as_given": "kinetics/abseiling/x.mp4",
//!   "output": {"shape": [8, 3, 224, 224], "frames": 300, "counted": 300, "rotation": 0,
//!              "geometry": {"convert": null, "source": [320, 240], "pre_crop": {...},
//!                           "resized": [299, 224], "crop": {...}, "flip": false},
//!              "views": [{...the geometry of each view...}],
//!              "damage": null, "seed": null,
//!              "segments": [{"frames": [18], "numerators": [1], "denominator": 1,
//!                            "window": [0, 37]}, ...]}
//! }
//! ```
//!
//! The key holds everything that decides the output's bits: the mixcli version, every plan and
//! output option (Rust's debug form of the [`MixRequest`], so a field added to the request is
//! recorded without anyone remembering to; decoder threads and the device are left out, as
//! they never change the bits), the input's path (absolute, normalised lexically, symbolic
//! links not followed) and the input's state: a file's size and modification time (links
//! followed), or for a frame folder the number of its entries, their total size, the latest
//! modification time and a hash (FNV-1a, 64 bits) of the listing of names, sizes and times.
//! An output is current only when its record's key equals the key of this run and its `.npy`
//! is complete with the recorded shape (and, with `--preview`, its preview exists).
//!
//! With `--template`, the key also holds the template and its start index
//! (`"template": {"template": "img_{:05}.jpg", "start": 1}`): it decides which files are frames.
//!
//! With `--dtype` or `--format` other than `f32` in `.npy`, the key also holds both
//! (`"store": {"dtype": "f16", "format": "npy"}`), so a run never keeps an output of another
//! element type or format; and the output file must be of the run's type as its header says.
//! Records of `f32` `.npy` outputs have no `store`, as before these options, and stay current.
//!
//! The output part records what came out: the shape (the tensor's: `[3, ...]` with three
//! crops), the element type and format (`"dtype": "f32"`, `"format": "npy"`), F, the cheap count, the rotation applied, the geometry the clip was mixed with
//! ([`geometry`]: resize, crop, flip as drawn; the first view's), every view's ([`views`]),
//! the damage an `--allow-damaged` run accepted (`null` when the input decoded cleanly), the
//! train-mode seed the clip was mixed with (`null` in test mode; with `--epoch` the clip's own)
//! and the plan's segments (positions, numerators, denominator, window).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use mixcore::{Mode, Plan, PlanConfig};
use mixdata::FrameTemplate;
use serde_json::{Value, json};

use crate::atomic;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::identity::lexical_absolute;
use crate::mixing::{MixRequest, Mixed};
use crate::tensor::Store;

/// The record's path for an output: `OUT.npy` -> `OUT.npy.json`.
#[must_use]
pub fn path_for(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_os_string();
    name.push(".json");
    PathBuf::from(name)
}

/// The options that decide the bits: the request's debug form with the decoder threads and
/// the device left out (set to fixed values), every other field included.
#[must_use]
pub fn options(req: &MixRequest<'_>) -> String {
    let bits_only = MixRequest {
        threads: 0,
        device: Device::Cpu,
        ..*req
    };
    format!("{bits_only:?}")
}

fn modified(meta: &std::fs::Metadata) -> (i64, i64) {
    (meta.mtime(), meta.mtime_nsec())
}

/// FNV-1a, 64 bits: a stable hash (std's hasher may change between Rust releases).
struct Fnv(u64);

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The state of an input as the record holds it (see the module docs). A path that cannot be
/// read has the state `{"kind": "unreadable"}`: its job fails anyway, naming the problem.
#[must_use]
pub fn input_state(input: &Path) -> Value {
    let Ok(meta) = std::fs::metadata(input) else {
        return json!({"kind": "unreadable"});
    };
    if !meta.is_dir() {
        let (s, ns) = modified(&meta);
        return json!({"kind": "file", "bytes": meta.len(), "modified": [s, ns]});
    }
    let Ok(entries) = std::fs::read_dir(input) else {
        return json!({"kind": "unreadable"});
    };
    let mut listing: Vec<(Vec<u8>, u64, (i64, i64))> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.as_encoded_bytes().first() == Some(&b'.') {
            continue;
        }
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            return json!({"kind": "unreadable"});
        };
        listing.push((
            name.as_encoded_bytes().to_vec(),
            meta.len(),
            modified(&meta),
        ));
    }
    listing.sort();
    let mut hash = Fnv(0xcbf2_9ce4_8422_2325);
    let (mut bytes, mut latest) = (0u64, (i64::MIN, 0));
    for (name, len, time) in &listing {
        hash.write(name);
        hash.write(&[0]);
        hash.write(&len.to_le_bytes());
        hash.write(&time.0.to_le_bytes());
        hash.write(&time.1.to_le_bytes());
        bytes = bytes.saturating_add(*len);
        latest = latest.max(*time);
    }
    json!({
        "kind": "frames",
        "files": listing.len(),
        "bytes": bytes,
        "latest_modified": if listing.is_empty() { Value::Null } else { json!([latest.0, latest.1]) },
        "listing_fnv1a64": format!("{:016x}", hash.0),
    })
}

/// The key of an output made from `input` with `req` into `store`, its frame folders read by
/// `template` (see the module docs).
#[must_use]
pub fn key(
    req: &MixRequest<'_>,
    store: Store,
    input: &Path,
    template: Option<&FrameTemplate>,
) -> Value {
    let mut key = json!({
        "mixcli": env!("CARGO_PKG_VERSION"),
        "options": options(req),
        "input": lexical_absolute(input).to_string_lossy(),
        "input_state": input_state(input),
    });
    // Only when given, so the records of runs without a template stay current.
    if let Some(t) = template {
        key["template"] = json!({"template": t.to_string(), "start": t.start()});
    }
    // Only for a half type or safetensors, so the records of f32 .npy outputs stay current.
    if !store.is_default() {
        key["store"] =
            json!({"dtype": store.dtype.to_string(), "format": store.format.to_string()});
    }
    key
}

/// The plan's segments for `frames` frames, as `info --json` writes them: `[{"frames":
/// [positions], "numerators": [...], "denominator": D, "window": [lo, hi]}, ...]`; `null`
/// when no plan can be made (never for a mixed output).
#[must_use]
pub fn segments(plan: &PlanConfig<'_>, frames: u32) -> Value {
    Plan::new(frames, plan).map_or(Value::Null, |plan| crate::json::segments(&plan))
}

/// The geometry a clip was mixed with, as records and `index.jsonl` write it: the clip's
/// decoded size, the converter's size (`--size`; null: the decoded size), the part of the
/// converted frame resampled (`pre_crop`), the size it was resampled to (`resized`), the part
/// of that kept (`crop`), and whether the output was flipped.
#[must_use]
pub fn geometry(clip: &mixdata::ClipTransform) -> Value {
    let g = &clip.geometry;
    let rect = |r: mixdata::transform::Rect| json!({"x": r.x, "y": r.y, "width": r.width, "height": r.height});
    json!({
        "convert": clip.convert.map(|(w, h)| [w, h]),
        "source": [g.source.0, g.source.1],
        "pre_crop": rect(g.pre_crop),
        "resized": [g.resized.0, g.resized.1],
        "crop": rect(g.crop),
        "flip": g.flip,
    })
}

/// Every view's geometry ([`geometry`]), in the order of the output's views: one, or three
/// for three crops (left, right, middle; or top, bottom, middle).
#[must_use]
pub fn views(views: &[mixdata::ClipTransform]) -> Value {
    views.iter().map(geometry).collect()
}

/// F, the shape, the geometry ([`geometry`]) and the views ([`views`]) of `output` as its
/// record states them (a record without views, from an earlier mixcli, has the one its
/// geometry says); `None` when the record cannot be read or lacks them.
#[must_use]
pub fn output_of(output: &Path) -> Option<(u32, Vec<usize>, Value, Value)> {
    let bytes = std::fs::read(path_for(output)).ok()?;
    let record: Value = serde_json::from_slice(&bytes).ok()?;
    let frames = u32::try_from(record["output"]["frames"].as_u64()?).ok()?;
    let shape = record["output"]["shape"]
        .as_array()?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()?;
    let geometry = record["output"]["geometry"].clone();
    if !geometry.is_object() {
        return None;
    }
    let views = match &record["output"]["views"] {
        Value::Null => json!([geometry]),
        views @ Value::Array(_) => views.clone(),
        _ => return None,
    };
    Some((frames, shape, geometry, views))
}

/// Writes the record of `output` atomically.
///
/// # Errors
/// I/O errors naming the record file.
pub fn write(
    output: &Path,
    key: &Value,
    input_as_given: &Path,
    mixed: &Mixed,
    req: &MixRequest<'_>,
    store: Store,
) -> Result<()> {
    let damage = if mixed.damage.is_clean() {
        Value::Null
    } else {
        json!({
            "frames": mixed.damage.frames,
            "lost": mixed.damage.lost,
            "errors": mixed.damage.errors,
            "description": mixed.damage.description(),
        })
    };
    let record = json!({
        "key": key,
        "input_as_given": input_as_given.to_string_lossy(),
        "output": {
            "shape": mixed.full_shape(),
            "dtype": store.dtype.to_string(),
            "format": store.format.to_string(),
            "frames": mixed.frames,
            "counted": mixed.counted,
            "rotation": mixed.rotation,
            "geometry": geometry(&mixed.transform),
            "views": views(&mixed.views),
            "damage": damage,
            "seed": match req.plan.mode {
                Mode::Train { seed } => Value::from(seed),
                Mode::Test => Value::Null,
            },
            "segments": segments(&req.plan, mixed.frames),
        },
    });
    let mut text = serde_json::to_string_pretty(&record).map_err(|e| {
        Error::io(
            &path_for(output),
            "writing",
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    text.push('\n');
    atomic::write_all(&path_for(output), text.as_bytes())
}

/// Whether an output can be kept on a resumed run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// No complete output file of the run's format (a `.npy` or safetensors file as mixcli
    /// writes them): never made, its run was killed while writing it, or damaged since.
    Missing,
    /// The record matches this run's key and the `.npy` is complete: skip it.
    Current,
    /// Made with other options, from a changed input, or by another mixcli version; or its
    /// `.npy` does not match the record, or the preview asked for is missing: redo it.
    Stale,
    /// A complete `.npy` without a readable record (an older mixcli, a run killed between
    /// writing the `.npy` and its record, or a file not made by mixcli): redo it.
    Unrecorded,
}

/// Checks `output` against the `key` of this run, whose outputs are of `store`; `preview` is
/// the preview that must exist too, when asked for. An output file of another element type
/// than the run's is stale, whatever its record says.
#[must_use]
pub fn check(output: &Path, store: Store, key: &Value, preview: Option<&Path>) -> Freshness {
    let Ok((shape, dtype)) = store.read(output) else {
        return Freshness::Missing;
    };
    let Some(record) = std::fs::read(path_for(output))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
    else {
        return Freshness::Unrecorded;
    };
    let shape_matches = record["output"]["shape"].as_array().is_some_and(|s| {
        s.iter()
            .map(Value::as_u64)
            .eq(shape.iter().map(|&d| Some(d as u64)))
    });
    if record["key"] != *key
        || !shape_matches
        || dtype != store.dtype
        || preview.is_some_and(|p| !p.is_file())
    {
        return Freshness::Stale;
    }
    Freshness::Current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_leave_out_threads_and_device_only() {
        let plan = mixcore::PlanConfig::default();
        let req = MixRequest {
            plan,
            layout: mixcore::Layout::Tchw,
            epilogue: mixcore::Epilogue::Raw,
            transform: mixdata::Transform::default(),
            device: Device::Cpu,
            threads: 1,
            autorotate: true,
            allow_damaged: false,
        };
        let other_threads = MixRequest {
            threads: 7,
            device: Device::Cuda,
            ..req
        };
        assert_eq!(options(&req), options(&other_threads));
        let other_size = MixRequest {
            transform: mixdata::Transform {
                resize: mixdata::Resize::Exact {
                    width: 8,
                    height: 8,
                },
                ..mixdata::Transform::default()
            },
            ..req
        };
        assert_ne!(options(&req), options(&other_size));
        // Every transform option is part of the key: a rerun with another one redoes outputs.
        let crop = |mode| MixRequest {
            transform: mixdata::Transform {
                crop: Some(mixdata::Crop {
                    width: 4,
                    height: 4,
                    mode,
                }),
                ..other_size.transform
            },
            ..req
        };
        let center = crop(mixdata::CropMode::Center);
        let random = crop(mixdata::CropMode::Random);
        let flipped = MixRequest {
            transform: mixdata::Transform {
                flip: true,
                ..random.transform
            },
            ..req
        };
        let short = MixRequest {
            transform: mixdata::Transform {
                resize: mixdata::Resize::Short(8),
                ..center.transform
            },
            ..req
        };
        let keys = [&other_size, &center, &random, &flipped, &short].map(|r| options(r));
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let damaged = MixRequest {
            allow_damaged: true,
            ..req
        };
        assert_ne!(options(&req), options(&damaged));
    }

    #[test]
    fn input_state_sees_a_frame_folder_change() {
        let dir = std::env::temp_dir().join(format!("mixcli-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("1.jpg"), b"a").unwrap();
        let before = input_state(&dir);
        assert_eq!(before["files"], 1);
        std::fs::write(dir.join(".hidden"), b"x").unwrap();
        assert_eq!(input_state(&dir), before);
        std::fs::rename(dir.join("1.jpg"), dir.join("2.jpg")).unwrap();
        assert_ne!(input_state(&dir), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
