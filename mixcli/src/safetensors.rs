//! safetensors output (`--format safetensors`): one tensor named [`TENSOR`], `F32`, `F16` or
//! `BF16`, little-endian, C order, written atomically like the `.npy` ([`crate::atomic`]).
//!
//! The file is the format's usual layout: an 8-byte little-endian header length `N`, `N`
//! bytes of JSON (padded with spaces so the data starts at a multiple of 8), then the data:
//!
//! ```json
//! {"__metadata__": {"producer": "mixcli 0.1.0", "dtype": "bf16", "options": "...", ...},
//!  "mixed": {"dtype": "BF16", "shape": [8, 3, 224, 224], "data_offsets": [0, 2408448]}}
//! ```
//!
//! `__metadata__` holds strings only (the format's rule): what made the tensor (mixcli's
//! version and options, F, the plan's segments as JSON text; see
//! [`crate::mixing::metadata`]). `safetensors.numpy.load_file` and
//! `safetensors.torch.load_file` read it; bfloat16, which numpy lacks, loads in torch.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use mixcore::Dtype;
use serde_json::{Map, Value};

use crate::atomic::Output;
use crate::error::{Error, Result};

/// The name of the one tensor of every file mixcli writes.
pub const TENSOR: &str = "mixed";

/// The longest JSON header [`parse_header`] accepts (the format's own limit is 100 MB; a
/// header of mixcli's is a few KiB).
pub const MAX_HEADER: u64 = 1 << 24;

/// The format's name of `dtype`: `F32`, `F16`, `BF16`.
#[must_use]
pub fn dtype_name(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::F32 => "F32",
        Dtype::F16 => "F16",
        Dtype::Bf16 => "BF16",
    }
}

/// An I/O error of `path` saying that its contents are invalid, and why.
pub(crate) fn invalid(path: &Path, why: String) -> Error {
    Error::io(
        path,
        "reading",
        std::io::Error::new(std::io::ErrorKind::InvalidData, why),
    )
}

/// The complete header (length and JSON, padded) of the tensor of `shape` and `dtype` with
/// `metadata`.
///
/// ```
/// use std::collections::BTreeMap;
/// let h = mixcli::safetensors::header(&[2, 3], mixcore::Dtype::Bf16, &BTreeMap::new());
/// assert_eq!(h.len() % 8, 0);
/// let info = mixcli::safetensors::parse_header(&h, h.len() as u64 + 12).unwrap();
/// assert_eq!((info.shape, info.dtype), (vec![2, 3], mixcore::Dtype::Bf16));
/// ```
#[must_use]
pub fn header(shape: &[usize], dtype: Dtype, metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let bytes = shape
        .iter()
        .try_fold(dtype.size() as u64, |n, &d| n.checked_mul(d as u64))
        .unwrap_or(u64::MAX);
    let mut json = Map::new();
    if !metadata.is_empty() {
        let meta: Map<String, Value> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        json.insert("__metadata__".into(), Value::Object(meta));
    }
    json.insert(
        TENSOR.into(),
        serde_json::json!({
            "dtype": dtype_name(dtype),
            "shape": shape,
            "data_offsets": [0, bytes],
        }),
    );
    let mut text = Value::Object(json).to_string();
    // The data starts at a multiple of 8 (8 bytes of length + the padded JSON).
    text.push_str(&" ".repeat(text.len().next_multiple_of(8) - text.len()));
    let mut out = Vec::with_capacity(8 + text.len());
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

/// Writes `data` (C order, `shape`'s product of values) to `path` as a safetensors file of
/// one tensor of `dtype` (halves rounded once, to nearest, ties to even) with `metadata`,
/// atomically (or to standard output for `-`).
///
/// # Errors
/// A shape that does not match the data; every I/O failure, after which no file exists at
/// `path` (an older file there is left untouched).
pub fn write(
    path: &Path,
    shape: &[usize],
    data: &[f32],
    dtype: Dtype,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    crate::npy::check_len(shape, data.len())?;
    let mut file = Output::create(path)?;
    let w = &mut file;
    w.write_all(&header(shape, dtype, metadata))
        .map_err(|e| Error::io(path, "writing", e))?;
    mixdata::values::write_le(w, data, dtype).map_err(|e| Error::io(path, "writing", e))?;
    file.commit()
}

/// What the header of a safetensors file of mixcli's says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafetensorsHeader {
    /// The shape of the tensor [`TENSOR`].
    pub shape: Vec<usize>,
    /// Its element type.
    pub dtype: Dtype,
    /// Where its data starts in the file (8 + the JSON's length).
    pub data_start: u64,
    /// `__metadata__` (empty when absent).
    pub metadata: BTreeMap<String, String>,
}

/// Parses the start of a safetensors file (`head`: at least the length and the whole JSON
/// header, or the whole file) as mixcli writes it, and checks that a file of `file_len` bytes
/// holds exactly the data it announces: one tensor named [`TENSOR`] of type `F32`, `F16` or
/// `BF16` whose data fills the rest of the file, and string-valued metadata. This reads outside
/// input (a file in the output folder that anyone may have written); it never panics (fuzz
/// target `tensor_headers`).
///
/// # Errors
/// What is wrong, in words.
pub fn parse_header(head: &[u8], file_len: u64) -> std::result::Result<SafetensorsHeader, String> {
    let Some(len) = head.get(..8) else {
        return Err("not a safetensors file (shorter than its 8-byte header length)".into());
    };
    let mut n = [0u8; 8];
    n.copy_from_slice(len);
    let n = u64::from_le_bytes(n);
    if n > MAX_HEADER {
        return Err(format!(
            "not a safetensors file of mixcli's (a header of {n} bytes, more than {MAX_HEADER})"
        ));
    }
    let json = usize::try_from(n)
        .ok()
        .and_then(|n| head.get(8..8 + n))
        .ok_or("truncated safetensors header")?;
    let json = std::str::from_utf8(json).map_err(|_| "the safetensors header is not UTF-8")?;
    let value: Value = serde_json::from_str(json.trim_end_matches(' '))
        .map_err(|e| format!("the safetensors header is not JSON: {e}"))?;
    let Value::Object(map) = value else {
        return Err("the safetensors header is not a JSON object".into());
    };
    let mut metadata = BTreeMap::new();
    let mut tensor = None;
    for (key, v) in map {
        if key == "__metadata__" {
            let Value::Object(meta) = v else {
                return Err("the safetensors __metadata__ is not an object".into());
            };
            for (k, v) in meta {
                let Value::String(s) = v else {
                    return Err(format!("the safetensors metadata '{k}' is not a string"));
                };
                metadata.insert(k, s);
            }
        } else if key == TENSOR {
            tensor = Some(v);
        } else {
            return Err(format!(
                "the safetensors file holds a tensor '{key}', not only mixcli's '{TENSOR}'"
            ));
        }
    }
    let tensor = tensor.ok_or_else(|| format!("the safetensors file has no tensor '{TENSOR}'"))?;
    let dtype = match tensor["dtype"].as_str() {
        Some("F32") => Dtype::F32,
        Some("F16") => Dtype::F16,
        Some("BF16") => Dtype::Bf16,
        Some(other) => {
            return Err(format!(
                "the safetensors tensor has type {other}, not F32, F16 or BF16"
            ));
        }
        None => return Err("the safetensors tensor has no dtype".into()),
    };
    let shape = tensor["shape"]
        .as_array()
        .ok_or("the safetensors tensor has no shape")?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()
        .ok_or("bad shape in the safetensors header")?;
    let offsets = tensor["data_offsets"]
        .as_array()
        .filter(|o| o.len() == 2)
        .and_then(|o| Some((o[0].as_u64()?, o[1].as_u64()?)))
        .ok_or("bad data_offsets in the safetensors header")?;
    let bytes = shape
        .iter()
        .try_fold(dtype.size() as u64, |b, &d| b.checked_mul(d as u64));
    if offsets.0 != 0 || Some(offsets.1) != bytes {
        return Err("the safetensors data_offsets do not match the tensor's shape".into());
    }
    if (8 + n).checked_add(offsets.1) != Some(file_len) {
        return Err("the safetensors file's size does not match its header".into());
    }
    Ok(SafetensorsHeader {
        shape,
        dtype,
        data_start: 8 + n,
        metadata,
    })
}

/// Reads the header of a safetensors file mixcli wrote ([`parse_header`]), checking that the
/// file is complete. Used by `batch` to recognise finished outputs.
///
/// # Errors
/// Unreadable file; not a safetensors file of mixcli's; a size that does not match.
pub fn read_header(path: &Path) -> Result<SafetensorsHeader> {
    let (head, total) = crate::tensor::read_head(path, 8 + MAX_HEADER)?;
    parse_header(&head, total).map_err(|why| invalid(path, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_round_trips_and_refuses_what_it_did_not_write() {
        let dir = std::env::temp_dir().join(format!("mixcli-st-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.safetensors");
        let data: Vec<f32> = (0..24).map(|i| i as f32 / 3.0 - 2.0).collect();
        let meta = BTreeMap::from([("producer".to_string(), "test".to_string())]);
        for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
            write(&path, &[2, 3, 4], &data, dtype, &meta).unwrap();
            let h = read_header(&path).unwrap();
            assert_eq!((h.shape.clone(), h.dtype), (vec![2, 3, 4], dtype));
            assert_eq!(h.data_start % 8, 0);
            assert_eq!(h.metadata, meta);
            let bytes = std::fs::read(&path).unwrap();
            let body = &bytes[h.data_start as usize..];
            assert_eq!(
                body,
                mixdata::Values::from_f32(&data, dtype)
                    .to_le_bytes()
                    .as_slice()
            );
        }
        let good = std::fs::read(&path).unwrap();
        let total = good.len() as u64;
        assert!(parse_header(&good, total - 1).unwrap_err().contains("size"));
        assert!(
            parse_header(&good[..20], total)
                .unwrap_err()
                .contains("truncated")
        );
        assert!(parse_header(&good[..5], total).is_err());
        let text = String::from_utf8_lossy(&good[8..h_len(&good)]).into_owned();
        for (from, to, why) in [
            ("\"BF16\"", "\"I16\" ", "type I16"),
            ("\"mixed\"", "\"other\"", "tensor 'other'"),
            (
                "\"producer\":\"test\"",
                "\"producer\":7     ",
                "not a string",
            ),
        ] {
            let mut bad = good.clone();
            let patched = text.replacen(from, to, 1);
            assert_eq!(patched.len(), text.len());
            bad[8..8 + text.len()].copy_from_slice(patched.as_bytes());
            let e = parse_header(&bad, total).unwrap_err();
            assert!(e.contains(why), "{from}: {e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn h_len(file: &[u8]) -> usize {
        8 + u64::from_le_bytes(file[..8].try_into().unwrap()) as usize
    }
}
