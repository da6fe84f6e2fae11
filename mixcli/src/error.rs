//! The CLI's error: every failure names the file and the problem.
//!
//! Problems with inputs (not found, not a video, damaged, a bad list line, ...) are mixdata's
//! ([`mixdata::Problem`], wrapped in [`Problem::Data`]); the CLI adds its own: usage errors,
//! clashing paths, and I/O on the files it writes. [`Problem::kind`] names are stable: the
//! batch failure report uses them.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What went wrong, without the file it concerns (see [`Error`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Problem {
    /// A problem reading or mixing an input, a list or a device (mixdata's).
    Data(mixdata::Problem),
    /// An I/O operation on a file the CLI writes (or a manifest it reads) failed.
    Io {
        /// What was being done ("writing", "creating", ...).
        action: &'static str,
        /// The error.
        source: io::Error,
    },
    /// A request that makes no sense (bad option combination, bad value).
    Usage(String),
    /// Two paths of one run clash: an output is an input or another output (the same file by
    /// device and inode, or by canonical path when it does not exist yet), an output lies
    /// inside an input frame folder, or two inputs would be written to one output. Found
    /// before anything is decoded or written; a usage error (exit status 2).
    Collision {
        /// The path claimed first (an input, or an output).
        first: PathBuf,
        /// The path that clashes with it.
        second: PathBuf,
        /// The whole message, naming both paths and what they are.
        message: String,
    },
}

/// An error of the CLI: the file it concerns (where there is one) and the [`Problem`].
///
/// `Display` writes `FILE: problem`, one line, causes included (an I/O error's, mixcore's), so
/// [`std::error::Error::source`] is `None` and a printed chain names each cause once; the
/// cause itself is in [`Error::problem`].
#[derive(Debug)]
pub struct Error {
    /// The file or folder the error concerns.
    pub path: Option<PathBuf>,
    /// What went wrong.
    pub problem: Problem,
}

/// `Result` with the CLI's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error about `path`.
    #[must_use]
    pub fn at(path: &Path, problem: Problem) -> Self {
        Error {
            path: Some(path.to_path_buf()),
            problem,
        }
    }

    /// An error that concerns no file.
    #[must_use]
    pub fn bare(problem: Problem) -> Self {
        Error {
            path: None,
            problem,
        }
    }

    /// A usage error (bad option value or combination).
    #[must_use]
    pub fn usage(message: impl Into<String>) -> Self {
        Error::bare(Problem::Usage(message.into()))
    }

    /// An I/O error while doing `action` on `path`; a missing path becomes mixdata's
    /// [`mixdata::Problem::NotFound`].
    #[must_use]
    pub fn io(path: &Path, action: &'static str, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound && action == "opening" {
            return Error::at(path, Problem::Data(mixdata::Problem::NotFound));
        }
        Error::at(path, Problem::Io { action, source })
    }

    /// A mixcore error about `path`.
    #[must_use]
    pub fn mix(path: &Path, source: mixcore::Error) -> Self {
        Error::at(path, Problem::Data(mixdata::Problem::Mix(source)))
    }

    /// The device is unavailable (`--device cuda` without CUDA support or a GPU).
    #[must_use]
    pub fn device(reason: String) -> Self {
        Error::bare(Problem::Data(mixdata::Problem::Device { reason }))
    }

    /// True for a usage error (exit status 2): a bad option, clashing paths.
    #[must_use]
    pub fn is_usage(&self) -> bool {
        matches!(
            self.problem,
            Problem::Usage(_)
                | Problem::Collision { .. }
                | Problem::Data(mixdata::Problem::Usage(_))
        )
    }
}

impl From<mixdata::Error> for Error {
    fn from(e: mixdata::Error) -> Self {
        Error {
            path: e.path,
            problem: Problem::Data(e.problem),
        }
    }
}

impl Problem {
    /// A short, stable name of the kind of problem, for machine-readable reports
    /// (`"not_found"`, `"truncated"`, ...).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::Data(p) => p.kind(),
            Problem::Io { .. } => "io",
            Problem::Usage(_) => "usage",
            Problem::Collision { .. } => "collision",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Data(p) => write!(f, "{p}"),
            Problem::Io { action, source } => write!(f, "{action} failed: {source}"),
            Problem::Usage(message) | Problem::Collision { message, .. } => f.write_str(message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // mixdata's own form (with a list's line number) for its problems.
        if let Problem::Data(p) = &self.problem {
            return mixdata::error::display(self.path.as_deref(), p, f);
        }
        match &self.path {
            Some(path) => write!(f, "{}: {}", path.display(), self.problem),
            None => write!(f, "{}", self.problem),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A printed chain (the message, then each source's) names every cause once.
    fn chain(e: &dyn std::error::Error) -> String {
        let mut s = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            s += &format!(": {c}");
            cause = c.source();
        }
        s
    }

    #[test]
    fn error_chains_name_each_cause_once() {
        let path = Path::new("clip.mp4");
        let io = Error::io(path, "reading", io::Error::other("disk on fire"));
        assert_eq!(chain(&io), "clip.mp4: reading failed: disk on fire");
        let mix = Error::mix(path, mixcore::Error::ZeroFrames);
        assert_eq!(
            chain(&mix),
            format!("clip.mp4: {}", mixcore::Error::ZeroFrames)
        );
    }
}
