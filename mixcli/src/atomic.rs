//! Output files that appear whole or not at all, and only where a regular file may go.
//!
//! mixcli replaces nothing but regular files. [`check_output`] sorts an output path before
//! any work starts: `-` (and `/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`) is standard
//! output, a missing path or a regular file is written atomically, and anything else (a FIFO,
//! a character or block device such as `/dev/null`, a socket, a folder) is refused with an
//! error that names it: such a path is never opened, written or replaced. [`AtomicFile`]
//! checks again right before its rename, so a special file that appears at the path meanwhile
//! is not replaced either. [`Output`] is the writer for either kind of destination.
//!
//! An [`AtomicFile`] writes to a hidden temporary file in the destination's directory
//! (`.NAME.mixcli-PID-N.tmp`), holds an exclusive lock on it while writing, and on
//! [`AtomicFile::commit`] flushes it to disk, renames it over the destination and syncs the
//! directory. Dropped without a commit (an error, a panic unwinding), it deletes the
//! temporary file. A process killed while writing leaves the temporary file behind, never a
//! truncated output; [`remove_stale`] deletes such leftovers (those no live writer holds
//! locked) before the next run writes the same output.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Problem, Result};

/// The names mixcli takes for its standard output.
pub const STDOUT_NAMES: [&str; 4] = ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"];

/// Where an output goes, as [`check_output`] sorts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A regular file (existing or not) at this path, replaced atomically.
    File(PathBuf),
    /// The process's standard output.
    Stdout,
}

/// True when `path` names standard output (`-`, `/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`).
#[must_use]
pub fn is_stdout(path: &Path) -> bool {
    path.to_str().is_some_and(|p| STDOUT_NAMES.contains(&p))
}

/// What a special file is, in words, for errors; `None` for regular files and folders.
fn special_kind(file_type: fs::FileType) -> Option<&'static str> {
    if file_type.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if file_type.is_char_device() {
        Some("a character device")
    } else if file_type.is_block_device() {
        Some("a block device")
    } else if file_type.is_socket() {
        Some("a socket")
    } else {
        None
    }
}

/// Why `path` may not be replaced by an output file, if it may not: it is (or a symbolic link
/// leads to) a special file or a folder.
fn refusal(path: &Path) -> Option<String> {
    let meta = fs::metadata(path).ok()?;
    if meta.is_file() {
        return None;
    }
    let what = if meta.is_dir() {
        "a folder"
    } else {
        special_kind(meta.file_type()).unwrap_or("not a regular file")
    };
    Some(format!(
        "is {what}; mixcli writes only regular files and never writes into or replaces anything else (use `-` for standard output)"
    ))
}

/// Sorts the output path `path` (`what` names the option, e.g. `-o`) before any work starts:
/// standard output, or a regular file (existing or not) that will be replaced atomically.
///
/// # Errors
/// A usage error naming the path when it is a special file (FIFO, device, socket) or a folder,
/// or a link to one.
pub fn check_output(path: &Path, what: &str) -> Result<Destination> {
    if is_stdout(path) {
        return Ok(Destination::Stdout);
    }
    match refusal(path) {
        None => Ok(Destination::File(path.to_path_buf())),
        Some(why) => Err(Error::at(
            path,
            Problem::Usage(format!("{what}: this path {why}")),
        )),
    }
}

const TEMP_TAG: &str = ".mixcli-";
const TEMP_SUFFIX: &str = ".tmp";

/// A file being written to a temporary name, renamed into place on commit.
pub struct AtomicFile {
    dest: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
}

fn temp_prefix(dest: &Path) -> Option<String> {
    let name = dest.file_name()?.to_string_lossy();
    Some(format!(".{name}{TEMP_TAG}"))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

impl AtomicFile {
    /// Starts writing `dest` (its directory must exist).
    ///
    /// # Errors
    /// The temporary file cannot be created (read-only directory, missing directory, ...).
    pub fn create(dest: &Path) -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let prefix = temp_prefix(dest).ok_or_else(|| {
            Error::io(
                dest,
                "creating",
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the output path has no file name",
                ),
            )
        })?;
        if let Some(why) = refusal(dest) {
            return Err(Error::at(dest, Problem::Usage(format!("this path {why}"))));
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp =
            parent_dir(dest).join(format!("{prefix}{}-{n}{TEMP_SUFFIX}", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| Error::io(dest, "creating", e))?;
        // The lock tells `remove_stale` in another process that this file is live. Failing to
        // lock (a file system without locks) only weakens that protection.
        let _ = file.try_lock();
        Ok(AtomicFile {
            dest: dest.to_path_buf(),
            temp,
            writer: Some(BufWriter::with_capacity(1 << 16, file)),
        })
    }

    /// The destination path.
    #[must_use]
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes, syncs, renames into place and syncs the directory.
    ///
    /// # Errors
    /// Any I/O failure (disk full shows here at the latest); the temporary file is removed
    /// and the destination is left as it was.
    pub fn commit(mut self) -> Result<()> {
        let Some(writer) = self.writer.take() else {
            return Err(Error::io(&self.dest, "writing", closed()));
        };
        let file = writer
            .into_inner()
            .map_err(|e| Error::io(&self.dest, "writing", e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io(&self.dest, "writing", e))?;
        drop(file);
        // Checked again at the last moment: a FIFO or device that appeared at the path since
        // `create` is not replaced (dropping `self` removes the temporary file).
        if let Some(why) = refusal(&self.dest) {
            return Err(Error::at(
                &self.dest,
                Problem::Usage(format!("this path {why}")),
            ));
        }
        fs::rename(&self.temp, &self.dest).map_err(|e| Error::io(&self.dest, "renaming", e))?;
        // The rename is done: nothing to clean up any more.
        self.temp = PathBuf::new();
        if let Ok(dir) = File::open(parent_dir(&self.dest)) {
            // Best effort: some file systems refuse to sync a directory.
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

fn closed() -> io::Error {
    io::Error::other("the temporary file is already closed")
}

/// Writes go to the temporary file (buffered).
impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().ok_or_else(closed)?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.as_mut().ok_or_else(closed)?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().ok_or_else(closed)?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        self.writer = None;
        if !self.temp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// The destination file name a temporary file of ours was writing, from the temporary file's
/// name (`.NAME.mixcli-PID-N.tmp` -> `NAME`).
#[must_use]
pub fn temp_destination(temp_name: &str) -> Option<&str> {
    let inner = temp_name.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)?;
    let at = inner.rfind(TEMP_TAG)?;
    Some(&inner[..at])
}

/// Deletes the temporary files that interrupted runs left in `dir` for destinations `wanted`
/// accepts (by file name), skipping those a live writer holds locked. One scan of the folder
/// serves all its outputs. Returns how many were removed.
pub fn remove_stale_in(dir: &Path, wanted: impl Fn(&str) -> bool) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !temp_destination(&name).is_some_and(&wanted) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = OpenOptions::new().write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() && fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Deletes temporary files that an interrupted run left for `dest` and that no live writer
/// holds locked. Returns how many were removed.
pub fn remove_stale(dest: &Path) -> usize {
    let Some(name) = dest.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return 0;
    };
    remove_stale_in(parent_dir(dest), |d| d == name)
}

/// Writes `bytes` to `dest` atomically (or to standard output for `-`).
///
/// # Errors
/// As [`Output::create`] and [`Output::commit`].
pub fn write_all(dest: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = Output::create(dest)?;
    file.write_all(bytes)
        .map_err(|e| Error::io(dest, "writing", e))?;
    file.commit()
}

/// A writer for an output [`Destination`]: an [`AtomicFile`], or standard output (written
/// through a buffer; nothing to rename).
pub enum Output {
    /// A regular file, written to a temporary name and renamed on commit.
    File(AtomicFile),
    /// Standard output.
    Stdout(BufWriter<io::Stdout>),
}

impl Output {
    /// Starts writing `dest`: standard output for `-` (see [`STDOUT_NAMES`]), else an
    /// [`AtomicFile`].
    ///
    /// # Errors
    /// As [`AtomicFile::create`]: a special file or folder at `dest` is refused.
    pub fn create(dest: &Path) -> Result<Self> {
        if is_stdout(dest) {
            return Ok(Output::Stdout(BufWriter::with_capacity(
                1 << 16,
                io::stdout(),
            )));
        }
        AtomicFile::create(dest).map(Output::File)
    }

    /// Finishes the output: the file's commit, or a flush of standard output.
    ///
    /// # Errors
    /// Every I/O failure (a closed pipe on standard output, a full disk).
    pub fn commit(self) -> Result<()> {
        match self {
            Output::File(f) => f.commit(),
            Output::Stdout(mut w) => w
                .flush()
                .map_err(|e| Error::io(Path::new("-"), "writing to standard output", e)),
        }
    }
}

/// Writes go to the temporary file or to standard output.
impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::File(f) => f.write(buf),
            Output::Stdout(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::File(f) => f.write_all(buf),
            Output::Stdout(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::File(f) => f.flush(),
            Output::Stdout(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mixcli-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn atomic_file_appears_only_on_commit() {
        let dir = scratch_dir("commit");
        let dest = dir.join("out.npy");
        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"hello").unwrap();
        assert!(!dest.exists());
        assert_eq!(names(&dir).len(), 1);
        f.commit().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"hello");
        assert_eq!(names(&dir), vec!["out.npy".to_string()]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_file_dropped_leaves_nothing() {
        let dir = scratch_dir("drop");
        let dest = dir.join("out.npy");
        {
            let mut f = AtomicFile::create(&dest).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert!(names(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temp_destination_inverts_the_temp_name() {
        assert_eq!(
            temp_destination(".a.b.npy.mixcli-12-3.tmp"),
            Some("a.b.npy")
        );
        assert_eq!(
            temp_destination(".x.mixcli-.npy.mixcli-1-0.tmp"),
            Some("x.mixcli-.npy")
        );
        assert_eq!(temp_destination("a.npy.mixcli-1-0.tmp"), None);
        assert_eq!(temp_destination(".a.npy.tmp"), None);
    }

    #[test]
    fn remove_stale_spares_locked_files() {
        let dir = scratch_dir("stale");
        let dest = dir.join("a.npy");
        fs::write(dir.join(".a.npy.mixcli-1-0.tmp"), b"left over").unwrap();
        fs::write(dir.join(".b.npy.mixcli-1-0.tmp"), b"another output").unwrap();
        let live = AtomicFile::create(&dest).unwrap();
        assert_eq!(remove_stale(&dest), 1);
        assert_eq!(names(&dir).len(), 2);
        drop(live);
        assert_eq!(names(&dir), vec![".b.npy.mixcli-1-0.tmp".to_string()]);
        fs::remove_dir_all(&dir).unwrap();
    }

    fn mkfifo(path: &Path) {
        let ok = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mkfifo {}", path.display());
    }

    fn is_fifo(path: &Path) -> bool {
        fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
    }

    #[test]
    fn special_files_are_refused_never_replaced() {
        let dir = scratch_dir("special");
        let fifo = dir.join("f");
        mkfifo(&fifo);
        let link = dir.join("null-link");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        for (path, kind) in [
            (fifo.as_path(), "a FIFO"),
            (Path::new("/dev/null"), "a character device"),
            (link.as_path(), "a character device"),
            (dir.as_path(), "a folder"),
        ] {
            let e = check_output(path, "-o").unwrap_err();
            assert!(matches!(e.problem, Problem::Usage(_)), "{e}");
            assert!(e.to_string().contains(kind), "{e}");
            assert!(e.to_string().starts_with(&*path.to_string_lossy()), "{e}");
            assert!(AtomicFile::create(path).is_err(), "{}", path.display());
            assert!(write_all(path, b"x").is_err(), "{}", path.display());
        }
        assert!(is_fifo(&fifo));
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(names(&dir), vec!["f".to_string(), "null-link".to_string()]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fifo_appearing_before_commit_is_not_replaced() {
        let dir = scratch_dir("late-fifo");
        let dest = dir.join("out.npy");
        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"data").unwrap();
        mkfifo(&dest);
        let e = f.commit().unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        assert!(is_fifo(&dest));
        assert_eq!(names(&dir), vec!["out.npy".to_string()]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn outputs_sort_into_stdout_and_files() {
        for name in STDOUT_NAMES {
            assert_eq!(
                check_output(Path::new(name), "-o").unwrap(),
                Destination::Stdout
            );
        }
        let dir = scratch_dir("sort");
        let file = dir.join("a.npy");
        assert_eq!(
            check_output(&file, "-o").unwrap(),
            Destination::File(file.clone())
        );
        fs::write(&file, b"old").unwrap();
        assert_eq!(
            check_output(&file, "-o").unwrap(),
            Destination::File(file.clone())
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
