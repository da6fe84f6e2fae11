//! The `tensor_headers` target (feature `cli`): arbitrary bytes as an output file that a
//! resumed `mixcli batch` finds in its output folder, read by mixcli's `.npy` and safetensors
//! header parsers (`mixcli::npy::parse_header`, `mixcli::safetensors::parse_header`).
//!
//! The first byte picks the parser (even: `.npy`, odd: safetensors); the rest is the whole
//! file. Neither parser may panic; an accepted file holds exactly the data its header
//! announces; the header mixcli writes for the parsed shape and type (and metadata) parses
//! back to the same; and no prefix of the file shorter than its header is accepted.

use mixcli::{npy, safetensors};

/// Bytes of `shape`'s values of `size` bytes each, `None` on overflow.
fn data_bytes(shape: &[usize], size: usize) -> Option<u64> {
    shape
        .iter()
        .try_fold(size as u64, |n, &d| n.checked_mul(d as u64))
}

/// Runs both checks on `data` (see the module docs). Returns true when the file was accepted.
pub fn check(data: &[u8]) -> bool {
    let Some((&which, file)) = data.split_first() else {
        return false;
    };
    let len = file.len() as u64;
    if which % 2 == 0 {
        let Ok(h) = npy::parse_header(file, len) else {
            return false;
        };
        let bytes = data_bytes(&h.shape, h.dtype.size()).expect("an accepted size fits");
        assert_eq!(h.len as u64 + bytes, len, "{h:?}");
        // What mixcli writes for this shape and type parses back to it.
        let written = npy::header_for(&h.shape, h.dtype).expect("f32 or f16");
        assert_eq!(written.len() % 64, 0);
        let back = npy::parse_header(&written, written.len() as u64 + bytes)
            .unwrap_or_else(|e| panic!("{h:?}: mixcli's own header refused: {e}"));
        assert_eq!((back.shape, back.dtype), (h.shape, h.dtype));
        // A file cut inside its header is refused.
        assert!(npy::parse_header(&file[..h.len / 2], len).is_err());
        true
    } else {
        let Ok(h) = safetensors::parse_header(file, len) else {
            return false;
        };
        let bytes = data_bytes(&h.shape, h.dtype.size()).expect("an accepted size fits");
        assert_eq!(h.data_start + bytes, len, "{h:?}");
        let written = safetensors::header(&h.shape, h.dtype, &h.metadata);
        assert_eq!(written.len() % 8, 0);
        let back = safetensors::parse_header(&written, written.len() as u64 + bytes)
            .unwrap_or_else(|e| panic!("{h:?}: mixcli's own header refused: {e}"));
        assert_eq!(
            (back.shape, back.dtype, back.metadata),
            (h.shape, h.dtype, h.metadata)
        );
        let cut = usize::try_from(h.data_start / 2).expect("a small header");
        assert!(safetensors::parse_header(&file[..cut], len).is_err());
        true
    }
}
