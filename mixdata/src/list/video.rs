//! mmaction2's video list: `PATH LABEL [LABEL ...]`.

use std::path::{Path, PathBuf};

use super::{Entry, bad_line, numbered_lines, parse_label, resolve};
use crate::error::Result;
use crate::source::SourceKind;

/// Parses the text of a video list (`PATH LABEL [LABEL ...]` per line, fields separated by
/// whitespace; empty lines skipped); `list` names the file in errors, `root` resolves
/// relative paths.
///
/// ```
/// use std::path::Path;
/// let entries = mixdata::list::parse_video(
///     "train/biking/a.mp4 0\nb.webm 3 7\n",
///     Path::new("train.txt"),
///     Path::new("/data/ucf"),
/// )?;
/// assert_eq!(entries[0].path, Path::new("/data/ucf/train/biking/a.mp4"));
/// assert_eq!(entries[1].labels, [3, 7]);
/// let e = mixdata::list::parse_video("a.mp4\n", Path::new("train.txt"), Path::new("/d"))
///     .unwrap_err();
/// assert!(e.to_string().starts_with("train.txt:1: "), "{e}");
/// # Ok::<(), mixdata::Error>(())
/// ```
///
/// # Errors
/// A line with a path and no label, a label that is not a non-negative integer below 2^32.
pub fn parse_video(text: &str, list: &Path, root: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for (line, content) in numbered_lines(text) {
        let mut fields = content.split_whitespace();
        let Some(path) = fields.next() else { continue };
        let labels = fields
            .map(|f| parse_label(f, list, line))
            .collect::<Result<Vec<u32>>>()?;
        if labels.is_empty() {
            return Err(bad_line(
                list,
                line,
                format!("'{path}' has no label: a video list line is 'PATH LABEL [LABEL ...]'"),
            ));
        }
        let written = PathBuf::from(path);
        entries.push(Entry {
            path: resolve(root, &written),
            written,
            labels,
            kind: SourceKind::Video,
            frames: None,
            template: None,
            line,
        });
    }
    Ok(entries)
}
