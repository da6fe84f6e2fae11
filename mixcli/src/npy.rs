//! `.npy` output: format version 1.0, little-endian `f32` (`<f4`), C order, written
//! atomically (see [`crate::atomic`]), so `numpy.load` and `torch.from_numpy` read it and an
//! interrupted run never leaves a truncated tensor.

use std::io::Write;
use std::path::Path;

use crate::atomic::Output;
use crate::error::{Error, Result};

/// The magic string and version 1.0 that open every `.npy` file.
const MAGIC: &[u8] = b"\x93NUMPY\x01\x00";

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
    let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
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

/// Writes `data` (C order, `shape`'s product of values) to `path` as `.npy`, atomically (or to
/// standard output for `-`).
///
/// # Errors
/// A shape that does not match the data; every I/O failure (read-only directory, disk full),
/// after which no file exists at `path` (an older file there is left untouched).
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .unwrap_or(usize::MAX);
    if count != data.len() {
        return Err(Error::usage(format!(
            "internal: shape {shape:?} holds {count} values but {} were given",
            data.len()
        )));
    }
    let mut file = Output::create(path)?;
    let w = &mut file;
    w.write_all(&header(shape))
        .map_err(|e| Error::io(path, "writing", e))?;
    let mut buf = [0u8; 1 << 14];
    for chunk in data.chunks(buf.len() / 4) {
        for (dst, v) in buf.chunks_exact_mut(4).zip(chunk) {
            dst.copy_from_slice(&v.to_le_bytes());
        }
        w.write_all(&buf[..chunk.len() * 4])
            .map_err(|e| Error::io(path, "writing", e))?;
    }
    file.commit()
}

/// Reads the shape of a `.npy` file this module wrote (`<f4`, C order), checking that the file
/// is complete. Used by `batch` to recognise finished outputs.
///
/// # Errors
/// Unreadable file, not a `.npy` of `f32`, a size that does not match the header.
pub fn read_shape(path: &Path) -> Result<Vec<usize>> {
    let bad = |why: &str| {
        Error::io(
            path,
            "reading",
            std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string()),
        )
    };
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, "opening", e))?;
    let total = file
        .metadata()
        .map_err(|e| Error::io(path, "reading", e))?
        .len();
    let mut head = [0u8; 10];
    std::io::Read::read_exact(&mut file, &mut head).map_err(|_| bad("not a .npy file"))?;
    if &head[..8] != MAGIC {
        return Err(bad("not a version 1.0 .npy file"));
    }
    let len = usize::from(u16::from_le_bytes([head[8], head[9]]));
    let mut dict = vec![0u8; len];
    std::io::Read::read_exact(&mut file, &mut dict).map_err(|_| bad("truncated .npy header"))?;
    let dict = String::from_utf8_lossy(&dict);
    if !dict.contains("'descr': '<f4'") || !dict.contains("'fortran_order': False") {
        return Err(bad("not a C-order little-endian f32 .npy file"));
    }
    let open = dict
        .find("'shape': (")
        .ok_or_else(|| bad("no shape in the .npy header"))?;
    let rest = &dict[open + "'shape': (".len()..];
    let close = rest
        .find(')')
        .ok_or_else(|| bad("bad shape in the .npy header"))?;
    let shape: Vec<usize> = rest[..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad("bad shape in the .npy header"))?;
    let values = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64));
    let expected = values
        .and_then(|v| v.checked_mul(4))
        .and_then(|b| b.checked_add(10 + len as u64));
    if expected != Some(total) {
        return Err(bad("the .npy file's size does not match its header"));
    }
    Ok(shape)
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
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
