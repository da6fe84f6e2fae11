//! Writing result files so that none is ever left half-written.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Creates `dir` and its parents.
///
/// # Errors
/// [`Error::Io`] naming `dir`.
pub fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `path` through `write`, which gets a fresh temporary file next to it; the file is
/// synced and renamed over `path` only when `write` succeeds, and removed otherwise.
///
/// # Errors
/// [`Error::Io`] naming the path, or whatever `write` returns.
pub fn write_atomic(path: &Path, write: impl FnOnce(File) -> Result<()>) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let tmp = temp_path(path);
    let file = File::create(&tmp).map_err(io(&tmp))?;
    let done = write(file).and_then(|()| {
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io(&tmp))?;
        fs::rename(&tmp, path).map_err(io(path))
    });
    if done.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    done
}

/// Writes `text` to `path` atomically.
///
/// # Errors
/// [`Error::Io`] naming the path.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |mut file| {
        file.write_all(text.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })
    })
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_leaves_no_partial_file() {
        let dir = std::env::temp_dir().join(format!("framemix-out-{}", std::process::id()));
        create_dir(&dir).unwrap();
        let path = dir.join("r.md");
        write_text(&path, "hello").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "hello");
        let failed = write_atomic(&path, |mut f| {
            f.write_all(b"half").unwrap();
            Err(Error::Config("boom".into()))
        });
        assert!(failed.is_err());
        // The old file is intact and no temporary is left.
        assert_eq!(fs::read_to_string(&path).unwrap(), "hello");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn write_text_names_the_path_on_error() {
        let path = Path::new("/nonexistent-dir-framemix/x.md");
        let err = write_text(path, "x").unwrap_err();
        assert!(
            err.to_string().contains("nonexistent-dir-framemix"),
            "{err}"
        );
    }
}
