//! The output file of a mix: its element type (`--dtype f32|f16|bf16`) and its container
//! (`--format npy|safetensors`).
//!
//! | `--dtype` | `--format npy` | `--format safetensors` |
//! |---|---|---|
//! | `f32` (default) | `<f4` | `F32` |
//! | `f16` | `<f2` | `F16` |
//! | `bf16` | refused: numpy has no bfloat16 | `BF16` |
//!
//! A half value is the `f32` value rounded once to the half format, to nearest, ties to even
//! (docs/contract.md, section 10): the same bits whatever device mixed it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use mixcore::Dtype;

use crate::error::{Error, Result};
use crate::{npy, safetensors};

/// The container of an output tensor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Format {
    /// numpy's `.npy` (version 1.0): `f32` or `f16`.
    #[default]
    Npy,
    /// safetensors: one tensor named `mixed`, `f32`, `f16` or `bf16`, with the options as
    /// metadata.
    Safetensors,
}

impl Format {
    /// The file extension of the format (without the dot): `npy`, `safetensors`.
    #[must_use]
    pub const fn extension(self) -> &'static str {
        match self {
            Format::Npy => "npy",
            Format::Safetensors => "safetensors",
        }
    }

    /// The format a file name asks for: `safetensors` for a `.safetensors` extension (any
    /// case), else `npy`.
    #[must_use]
    pub fn of_path(path: &Path) -> Format {
        Format::named_by(path).unwrap_or(Format::Npy)
    }

    /// The format a file name's extension names (`.npy` or `.safetensors`, any case); `None`
    /// for any other name (`-`, `out.bin`, no extension).
    #[must_use]
    pub fn named_by(path: &Path) -> Option<Format> {
        let ext = path.extension()?;
        [Format::Npy, Format::Safetensors]
            .into_iter()
            .find(|f| ext.eq_ignore_ascii_case(f.extension()))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// What an output file is made of: element type and container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Store {
    /// The element type.
    pub dtype: Dtype,
    /// The container.
    pub format: Format,
}

impl Store {
    /// Refuses a combination that cannot be written (bf16 in `.npy`).
    ///
    /// # Errors
    /// A usage error naming the problem and suggesting `--format safetensors`.
    pub fn check(self) -> Result<()> {
        match self.format {
            Format::Npy => npy::check_dtype(self.dtype).map(|_| ()),
            Format::Safetensors => Ok(()),
        }
    }

    /// True for the default, `f32` in `.npy` (what mixcli wrote before `--dtype`).
    #[must_use]
    pub fn is_default(self) -> bool {
        self == Store::default()
    }

    /// numpy's name of the element type, for messages: `float32`, `float16`, `bfloat16`.
    #[must_use]
    pub fn type_name(self) -> &'static str {
        match self.dtype {
            Dtype::F32 => "float32",
            Dtype::F16 => "float16",
            Dtype::Bf16 => "bfloat16",
        }
    }

    /// Writes `data` (C order, `shape`) to `path` in this store, atomically (`-`: standard
    /// output); `metadata` goes to safetensors' `__metadata__` (`.npy` has no place for it).
    ///
    /// # Errors
    /// As [`npy::write`] and [`safetensors::write`].
    pub fn write(
        self,
        path: &Path,
        shape: &[usize],
        data: &[f32],
        metadata: &BTreeMap<String, String>,
    ) -> Result<()> {
        match self.format {
            Format::Npy => npy::write(path, shape, data, self.dtype),
            Format::Safetensors => safetensors::write(path, shape, data, self.dtype, metadata),
        }
    }

    /// The shape and element type of a complete output file of this store's format.
    ///
    /// # Errors
    /// Unreadable, not a file of the format as mixcli writes it, or truncated.
    pub fn read(self, path: &Path) -> Result<(Vec<usize>, Dtype)> {
        match self.format {
            Format::Npy => npy::read_header(path).map(|h| (h.shape, h.dtype)),
            Format::Safetensors => safetensors::read_header(path).map(|h| (h.shape, h.dtype)),
        }
    }
}

/// The first `limit` bytes of the file at `path` (fewer if it is shorter) and its length: what
/// the formats' header readers parse.
///
/// # Errors
/// The file cannot be opened or read.
pub(crate) fn read_head(path: &Path, limit: u64) -> Result<(Vec<u8>, u64)> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "opening", e))?;
    let total = file
        .metadata()
        .map_err(|e| Error::io(path, "reading", e))?
        .len();
    let mut head = Vec::new();
    file.take(limit)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, "reading", e))?;
    Ok((head, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_combinations() {
        assert_eq!(
            Format::of_path(Path::new("a/x.SafeTensors")),
            Format::Safetensors
        );
        assert_eq!(Format::of_path(Path::new("x.npy")), Format::Npy);
        assert_eq!(Format::of_path(Path::new("-")), Format::Npy);
        let bf16_npy = Store {
            dtype: Dtype::Bf16,
            format: Format::Npy,
        };
        let e = bf16_npy.check().unwrap_err();
        assert!(e.is_usage());
        assert!(e.to_string().contains("numpy has no bfloat16"), "{e}");
        for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
            let s = Store {
                dtype,
                format: Format::Safetensors,
            };
            assert!(s.check().is_ok());
        }
        assert!(Store::default().is_default());
    }
}
