//! File identity: whether two paths of one run name the same file, so that no output
//! overwrites an input and no two outputs overwrite each other.
//!
//! An existing path is identified by its device and inode after following symbolic links, so
//! a hard link or a symbolic link to an input is that input. A path that does not exist yet
//! is identified by the canonical form of its deepest existing folder followed by the rest of
//! the path, normalised lexically (`a/./b/../c` is `a/c`), so two spellings of one future file
//! are one file.
//!
//! [`Claims`] collects the inputs and outputs of a run and refuses, before anything is
//! decoded or written, an output that is an input, an output that is another output, and an
//! output inside an input frame folder (writing there would change the input). An output that
//! is `-` (standard output) or an existing file that is not a regular file (`/dev/null`, a
//! FIFO) is not a file mixcli replaces: it is only checked against the inputs.

use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Problem, Result};

/// What a path names, for comparing paths (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Identity {
    /// An existing file or folder: its device and inode (symbolic links followed).
    Inode {
        /// `st_dev`.
        dev: u64,
        /// `st_ino`.
        ino: u64,
    },
    /// A path that does not exist (yet): canonical deepest existing folder plus the rest.
    Planned(PathBuf),
}

/// `path` made absolute (against the current folder) and normalised lexically: `.` dropped,
/// `..` removes the component before it. Symbolic links are not followed, so this is the path
/// as given, spelled one way.
#[must_use]
pub fn lexical_absolute(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    normalise(&abs)
}

/// `path` normalised lexically (`.` dropped, `..` removes the component before it; a `..`
/// with nothing before it is kept in a relative path and dropped at the root).
#[must_use]
pub fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                match last {
                    Some(Component::Normal(_)) => {
                        out.pop();
                    }
                    Some(Component::RootDir | Component::Prefix(_)) => {}
                    _ => out.push(".."),
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The identity of `path` (see the module docs). Never fails: a path whose folders cannot be
/// read is identified by its lexical absolute form. A path that does not resolve but whose
/// lexical form names an existing file (`missing/../v.mkv`) is that file, to be safe.
#[must_use]
pub fn identify(path: &Path) -> Identity {
    // The lexical form too: `missing/../v.mkv` does not resolve, but it spells `v.mkv`.
    let meta = std::fs::metadata(path).or_else(|_| std::fs::metadata(lexical_absolute(path)));
    match meta {
        Ok(meta) => Identity::Inode {
            dev: meta.dev(),
            ino: meta.ino(),
        },
        Err(_) => Identity::Planned(planned(path)),
    }
}

/// The canonical deepest existing ancestor of `path` followed by the rest of it.
fn planned(path: &Path) -> PathBuf {
    let abs = lexical_absolute(path);
    let mut rest = Vec::new();
    let mut head = abs.as_path();
    loop {
        // The path itself may be a dangling symbolic link: its own name is kept.
        if !rest.is_empty()
            && let Ok(canonical) = std::fs::canonicalize(head)
        {
            let mut out = canonical;
            out.extend(rest.iter().rev());
            return out;
        }
        match (head.parent(), head.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                head = parent;
            }
            _ => return abs,
        }
    }
}

/// True for an output that is not a file mixcli replaces: `-` (standard output), or an
/// existing path that is neither a regular file nor a folder (a device such as `/dev/null`, a
/// FIFO, a socket).
#[must_use]
pub fn is_special_output(path: &Path) -> bool {
    if path.as_os_str() == "-" {
        return true;
    }
    std::fs::metadata(path).is_ok_and(|m| {
        let t = m.file_type();
        t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket()
    })
}

/// A path of a run and what it is there (`the input`, `-o`, `--preview`, ...).
#[derive(Clone, Debug)]
struct Claim {
    path: PathBuf,
    role: String,
}

/// The inputs and outputs of one run, refusing collisions as they are added (see the module
/// docs). Add every input first, then the outputs.
#[derive(Debug, Default)]
pub struct Claims {
    inputs: HashMap<Identity, Claim>,
    /// Identities of inputs that are folders (frame folders): no output may go inside one.
    input_dirs: HashMap<Identity, Claim>,
    outputs: HashMap<Identity, Claim>,
    /// Identities of output folders already checked against `input_dirs`.
    checked_dirs: HashMap<PathBuf, Identity>,
}

fn collision(first: &Claim, second: &Path, second_role: &str, consequence: &str) -> Error {
    Error::bare(Problem::Collision {
        first: first.path.clone(),
        second: second.to_path_buf(),
        message: format!(
            "{} ({second_role}) and {} ({}) are the same file: {consequence}",
            second.display(),
            first.path.display(),
            first.role
        ),
    })
}

impl Claims {
    /// An empty set of claims.
    #[must_use]
    pub fn new() -> Self {
        Claims::default()
    }

    /// Adds an input (a video file or a frame folder). Inputs may share a file with each other
    /// (two names of one video are two inputs).
    ///
    /// # Errors
    /// The input is an output added before.
    pub fn input(&mut self, path: &Path, role: &str) -> Result<()> {
        let id = identify(path);
        if let Some(first) = self.outputs.get(&id) {
            return Err(collision(
                first,
                path,
                role,
                "mixcli would overwrite an input; choose another output path",
            ));
        }
        let claim = Claim {
            path: path.to_path_buf(),
            role: role.to_string(),
        };
        if path.is_dir() {
            self.input_dirs
                .entry(id.clone())
                .or_insert_with(|| claim.clone());
        }
        self.inputs.entry(id).or_insert(claim);
        Ok(())
    }

    /// Adds an output that mixcli will write (`role` says which: `-o`, `--preview`, ...).
    ///
    /// # Errors
    /// The output is an input, an output added before, or a file inside an input frame folder.
    /// A collision names both paths.
    pub fn output(&mut self, path: &Path, role: &str) -> Result<()> {
        if path.as_os_str() == "-" {
            return Ok(());
        }
        let id = identify(path);
        if let Some(first) = self.inputs.get(&id) {
            return Err(collision(
                first,
                path,
                role,
                "mixcli would overwrite an input; choose another output path",
            ));
        }
        if is_special_output(path) {
            // Not replaced (written through), so several outputs may share it.
            return Ok(());
        }
        if let Some(first) = self.outputs.get(&id) {
            return Err(collision(
                first,
                path,
                role,
                "one output would overwrite the other; give them different paths",
            ));
        }
        self.check_folder(path, role)?;
        self.outputs.insert(
            id,
            Claim {
                path: path.to_path_buf(),
                role: role.to_string(),
            },
        );
        Ok(())
    }

    /// Refuses an output whose folder is an input frame folder, or would be created inside
    /// one: the deepest existing folder on the output's path is the one that changes.
    fn check_folder(&mut self, path: &Path, role: &str) -> Result<()> {
        if self.input_dirs.is_empty() {
            return Ok(());
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir_id = self
            .checked_dirs
            .entry(parent.to_path_buf())
            .or_insert_with(|| {
                let abs = lexical_absolute(parent);
                let existing = abs.ancestors().find(|a| a.is_dir()).unwrap_or(&abs);
                identify(existing)
            });
        if let Some(input) = self.input_dirs.get(dir_id) {
            return Err(Error::bare(Problem::Collision {
                first: input.path.clone(),
                second: path.to_path_buf(),
                message: format!(
                    "{} ({role}) would be written inside the frame folder {} ({}), changing that input; choose another output folder",
                    path.display(),
                    input.path.display(),
                    input.role
                ),
            }));
        }
        Ok(())
    }
}

/// The check of `mixcli mix`: the input, `-o` and `--preview` must not collide.
///
/// # Errors
/// A [`Problem::Collision`] naming both paths.
pub fn check_mix(input: &Path, output: &Path, preview: Option<&Path>) -> Result<()> {
    let mut claims = Claims::new();
    claims.input(input, "the input")?;
    claims.output(output, "-o")?;
    if let Some(p) = preview {
        claims.output(p, "--preview")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mixcli-identity-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn normalise_is_lexical() {
        assert_eq!(normalise(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalise(Path::new("../a/..")), PathBuf::from(".."));
        assert_eq!(normalise(Path::new("/../a")), PathBuf::from("/a"));
    }

    #[test]
    fn identity_sees_links_and_spellings() {
        let dir = scratch("links");
        let file = dir.join("v.mkv");
        std::fs::write(&file, b"x").unwrap();
        std::fs::hard_link(&file, dir.join("hard.mkv")).unwrap();
        std::os::unix::fs::symlink(&file, dir.join("soft.mkv")).unwrap();
        let id = identify(&file);
        assert_eq!(identify(&dir.join("hard.mkv")), id);
        assert_eq!(identify(&dir.join("soft.mkv")), id);
        assert_eq!(identify(&dir.join("sub/../v.mkv")), id);
        assert_eq!(
            identify(&dir.join("new/x.npy")),
            identify(&dir.join("new/./y/../x.npy"))
        );
        assert_ne!(identify(&dir.join("a.npy")), identify(&dir.join("b.npy")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn claims_refuse_collisions() {
        let dir = scratch("claims");
        let input = dir.join("v.mkv");
        std::fs::write(&input, b"x").unwrap();
        let mut c = Claims::new();
        c.input(&input, "the input").unwrap();
        let e = c.output(&input, "-o").unwrap_err();
        assert!(matches!(e.problem, Problem::Collision { .. }));
        assert!(e.to_string().contains("v.mkv (-o)"), "{e}");
        c.output(&dir.join("a.npy"), "-o").unwrap();
        let e = c.output(&dir.join("./a.npy"), "--preview").unwrap_err();
        assert!(e.to_string().contains("a.npy (-o)"), "{e}");
        c.output(Path::new("-"), "--preview").unwrap();
        c.output(Path::new("/dev/null"), "--preview").unwrap();
        c.output(Path::new("/dev/null"), "--report").unwrap();
        // Inside an input frame folder.
        let frames = dir.join("frames");
        std::fs::create_dir(&frames).unwrap();
        c.input(&frames, "an input").unwrap();
        let e = c.output(&frames.join("o.npy"), "-o").unwrap_err();
        assert!(e.to_string().contains("inside the frame folder"), "{e}");
        let e = c.output(&frames.join("new/sub/o.npy"), "-o").unwrap_err();
        assert!(e.to_string().contains("inside the frame folder"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
