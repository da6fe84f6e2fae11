//! `.npy` output: format version 1.0, little-endian `f32` (`<f4`) or IEEE `f16` (`<f2`), C
//! order, written atomically (see [`crate::atomic`]), so `numpy.load` and `torch.from_numpy`
//! read it and an interrupted run never leaves a truncated tensor. numpy has no bfloat16:
//! `bf16` goes to safetensors ([`crate::safetensors`]).

use std::io::Write;
use std::path::Path;

use mixcore::Dtype;

use crate::atomic::Output;
use crate::error::{Error, Result};

/// The magic string and version 1.0 that open every `.npy` file.
const MAGIC: &[u8] = b"\x93NUMPY\x01\x00";

/// The longest header [`parse_header`] accepts (numpy itself writes at most 65,535 bytes in
/// version 1.0).
pub const MAX_HEADER: usize = 10 + u16::MAX as usize;

/// numpy's type string of `dtype`: `<f4` or `<f2`; `None` for bfloat16, which numpy lacks.
#[must_use]
pub fn descr(dtype: Dtype) -> Option<&'static str> {
    match dtype {
        Dtype::F32 => Some("<f4"),
        Dtype::F16 => Some("<f2"),
        Dtype::Bf16 => None,
    }
}

/// Refuses a `dtype` that `.npy` cannot hold (bfloat16), naming the problem and the way out.
///
/// # Errors
/// A usage error for `bf16`.
pub fn check_dtype(dtype: Dtype) -> Result<&'static str> {
    descr(dtype).ok_or_else(|| {
        Error::usage(format!(
            "--dtype {dtype} cannot be written as .npy: numpy has no bfloat16 type; use --format safetensors (or --dtype f16)"
        ))
    })
}

/// The complete header (magic, version, length, dictionary, padding, newline) of a C-order
/// little-endian `f32` array of `shape`, padded so the data starts at a multiple of 64 bytes.
///
/// ```
/// let h = mixcli::npy::header(&[8, 3, 224, 224]);
/// assert_eq!(h.len() % 64, 0);
/// assert!(String::from_utf8_lossy(&h).contains("'shape': (8, 3, 224, 224)"));
/// ```
#[must_use]
pub fn header(shape: &[usize]) -> Vec<u8> {
    header_of("<f4", shape)
}

/// [`header`] for an array of `dtype` (`<f4` or `<f2`); `None` for bfloat16, which numpy lacks.
///
/// ```
/// let h = mixcli::npy::header_for(&[2, 3], mixcore::Dtype::F16).unwrap();
/// let parsed = mixcli::npy::parse_header(&h, h.len() as u64 + 12).unwrap();
/// assert_eq!((parsed.shape, parsed.len), (vec![2, 3], h.len()));
/// assert!(mixcli::npy::header_for(&[2], mixcore::Dtype::Bf16).is_none());
/// ```
#[must_use]
pub fn header_for(shape: &[usize], dtype: Dtype) -> Option<Vec<u8>> {
    descr(dtype).map(|d| header_of(d, shape))
}

/// [`header`] for the numpy type string `descr` (`<f4`, `<f2`).
fn header_of(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // Magic (8) + length (2) + dict + padding + '\n' is a multiple of 64.
    let unpadded = MAGIC.len() + 2 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + dict.len());
    out.extend_from_slice(MAGIC);
    // A 4-dimensional shape's dictionary is far below 65,535 bytes.
    let len = u16::try_from(dict.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// The number of values of `shape`, checked against the data's length.
pub(crate) fn check_len(shape: &[usize], len: usize) -> Result<()> {
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .unwrap_or(usize::MAX);
    if count != len {
        return Err(Error::usage(format!(
            "internal: shape {shape:?} holds {count} values but {len} were given"
        )));
    }
    Ok(())
}

/// Writes `data` (C order, `shape`'s product of values) to `path` as an `f32` `.npy`,
/// atomically (or to standard output for `-`).
///
/// # Errors
/// As [`write`].
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    write(path, shape, data, Dtype::F32)
}

/// Writes `data` (C order, `shape`'s product of values) to `path` as a `.npy` of `dtype`
/// (`f32`: `<f4`; `f16`: `<f2`, each value rounded once to nearest, ties to even),
/// atomically (or to standard output for `-`).
///
/// # Errors
/// `bf16` ([`check_dtype`]); a shape that does not match the data; every I/O failure
/// (read-only directory, disk full), after which no file exists at `path` (an older file there
/// is left untouched).
pub fn write(path: &Path, shape: &[usize], data: &[f32], dtype: Dtype) -> Result<()> {
    let descr = check_dtype(dtype)?;
    check_len(shape, data.len())?;
    let mut file = Output::create(path)?;
    let w = &mut file;
    w.write_all(&header_of(descr, shape))
        .map_err(|e| Error::io(path, "writing", e))?;
    mixdata::values::write_le(w, data, dtype).map_err(|e| Error::io(path, "writing", e))?;
    file.commit()
}

/// What a `.npy` header this module wrote says: the shape, the element type and where the
/// data starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// The array's shape.
    pub shape: Vec<usize>,
    /// `f32` (`<f4`) or `f16` (`<f2`).
    pub dtype: Dtype,
    /// The header's length in bytes: the data's offset.
    pub len: usize,
}

/// Parses the start of a `.npy` file (`head`: at least the whole header, or the whole file)
/// as this module writes it (version 1.0, `<f4` or `<f2`, C order) and checks that a file of
/// `file_len` bytes holds exactly the data it announces. This reads outside input: a file in
/// the output folder that anyone may have written. It never panics (fuzz target
/// `tensor_headers`).
///
/// # Errors
/// What is wrong, in words: not a `.npy`, another version, type or order, a bad shape, a size
/// that does not match.
pub fn parse_header(head: &[u8], file_len: u64) -> std::result::Result<NpyHeader, String> {
    if head.len() < 10 || &head[..8] != MAGIC {
        return Err("not a version 1.0 .npy file".into());
    }
    let dict_len = usize::from(u16::from_le_bytes([head[8], head[9]]));
    let dict = head.get(10..10 + dict_len).ok_or("truncated .npy header")?;
    let dict = std::str::from_utf8(dict).map_err(|_| "the .npy header is not text")?;
    let dtype = if dict.contains("'descr': '<f4'") {
        Dtype::F32
    } else if dict.contains("'descr': '<f2'") {
        Dtype::F16
    } else {
        return Err(
            "not a little-endian f32 or f16 .npy file (its 'descr' is another type)".into(),
        );
    };
    if !dict.contains("'fortran_order': False") {
        return Err("not a C-order .npy file".into());
    }
    let open = dict
        .find("'shape': (")
        .ok_or("no shape in the .npy header")?;
    let rest = &dict[open + "'shape': (".len()..];
    let close = rest.find(')').ok_or("bad shape in the .npy header")?;
    let shape: Vec<usize> = rest[..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| "bad shape in the .npy header")?;
    let values = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64));
    let expected = values
        .and_then(|v| v.checked_mul(dtype.size() as u64))
        .and_then(|b| b.checked_add(10 + dict_len as u64));
    if expected != Some(file_len) {
        return Err("the .npy file's size does not match its header".into());
    }
    Ok(NpyHeader {
        shape,
        dtype,
        len: 10 + dict_len,
    })
}

/// Reads the header of a `.npy` file this module wrote ([`parse_header`]), checking that the
/// file is complete. Used by `batch` to recognise finished outputs.
///
/// # Errors
/// Unreadable file, not a `.npy` of `f32` or `f16`, a size that does not match the header.
pub fn read_header(path: &Path) -> Result<NpyHeader> {
    let (head, total) = crate::tensor::read_head(path, MAX_HEADER as u64)?;
    parse_header(&head, total).map_err(|why| crate::safetensors::invalid(path, why))
}

/// The shape of a `.npy` file this module wrote ([`read_header`]).
///
/// # Errors
/// As [`read_header`].
pub fn read_shape(path: &Path) -> Result<Vec<usize>> {
    read_header(path).map(|h| h.shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_padded_to_64() {
        for shape in [&[8usize, 3, 240, 320][..], &[5][..], &[1, 1, 1, 1][..]] {
            let h = header(shape);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(*h.last().unwrap(), b'\n');
            let len = u16::from_le_bytes([h[8], h[9]]) as usize;
            assert_eq!(len + 10, h.len());
        }
        let h = header(&[8, 3, 2, 4]);
        let text = String::from_utf8_lossy(&h[10..]);
        assert!(
            text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (8, 3, 2, 4), }")
        );
        assert!(String::from_utf8_lossy(&header(&[5])).contains("'shape': (5,)"));
    }

    #[test]
    fn npy_round_trips_shape_and_values() {
        let dir = std::env::temp_dir().join(format!("mixcli-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.npy");
        let data: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
        write_f32(&path, &[2, 3, 2, 2], &data).unwrap();
        assert_eq!(read_shape(&path).unwrap(), vec![2, 3, 2, 2]);
        let bytes = std::fs::read(&path).unwrap();
        let body = &bytes[header(&[2, 3, 2, 2]).len()..];
        let back: Vec<f32> = body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(back, data);
        assert!(write_f32(&path, &[5], &data).is_err());
        write(&path, &[2, 3, 2, 2], &data, Dtype::F16).unwrap();
        let h = read_header(&path).unwrap();
        assert_eq!((h.shape, h.dtype), (vec![2, 3, 2, 2], Dtype::F16));
        let bytes = std::fs::read(&path).unwrap();
        assert!(String::from_utf8_lossy(&bytes[..h.len]).contains("'descr': '<f2'"));
        let body: Vec<u16> = bytes[h.len..]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(body, mixdata::values::to_half(&data, mixcore::Half::F16));
        let e = write(&path, &[2, 3, 2, 2], &data, Dtype::Bf16).unwrap_err();
        assert!(e.to_string().contains("--format safetensors"), "{e}");
        // A truncated file, and one with a foreign type, are refused with a reason.
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(
            read_shape(&path)
                .unwrap_err()
                .to_string()
                .contains("does not match")
        );
        let mut other = bytes.clone();
        let at = other.windows(3).position(|w| w == b"<f2").unwrap();
        other[at..at + 3].copy_from_slice(b"<i2");
        std::fs::write(&path, &other).unwrap();
        assert!(
            read_shape(&path)
                .unwrap_err()
                .to_string()
                .contains("another type")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
