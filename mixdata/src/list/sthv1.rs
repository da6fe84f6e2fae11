//! Something-Something V1: the CSV list `ID;LABEL TEXT` and the label list, one text per line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Entry, Labels, ListFormat, bad_line, check_id, numbered_lines, resolve};
use crate::error::Result;
use crate::source::SourceKind;

/// Parses V1's label list: one label text per line, its index the line number from 0 (see
/// the [module docs](super)). `path` names the file in errors and in unknown-label errors.
///
/// # Errors
/// An empty line before the last label, a label text given twice.
pub fn parse_sthv1_labels(text: &str, path: &Path) -> Result<Labels> {
    let lines: Vec<(usize, &str)> = numbered_lines(text).collect();
    let last = lines
        .iter()
        .rposition(|(_, l)| !l.trim().is_empty())
        .map_or(0, |p| p + 1);
    let mut index = HashMap::new();
    for &(line, label) in &lines[..last] {
        let label = label.trim();
        if label.is_empty() {
            return Err(bad_line(
                path,
                line,
                "an empty line among the labels (each line's number is its label's index)",
            ));
        }
        let value =
            u32::try_from(line - 1).map_err(|_| bad_line(path, line, "more than 2^32 labels"))?;
        if index.insert(label.to_string(), value).is_some() {
            return Err(bad_line(
                path,
                line,
                format!("the label '{label}' is given twice"),
            ));
        }
    }
    Ok(Labels {
        path: path.to_path_buf(),
        index,
    })
}

/// Parses V1's CSV list (`ID;LABEL TEXT` per line; a line with only an id is a clip without
/// labels; empty lines skipped): each clip is the frame folder `ROOT/<ID>/`, frames named
/// `{:05}.jpg` from 1.
///
/// ```
/// use std::path::Path;
/// let labels = mixdata::list::parse_sthv1_labels(
///     "Holding something\nSomething falling like a feather or paper\n",
///     Path::new("labels.csv"),
/// )?;
/// let entries = mixdata::list::parse_sthv1(
///     "100218;Something falling like a feather or paper\n",
///     Path::new("train.csv"),
///     Path::new("/data/sthv1"),
///     &labels,
/// )?;
/// assert_eq!(entries[0].path, Path::new("/data/sthv1/100218"));
/// assert_eq!(entries[0].labels, [1]);
/// # Ok::<(), mixdata::Error>(())
/// ```
///
/// # Errors
/// An empty or path-like id, a label text not in `labels`.
pub fn parse_sthv1(text: &str, list: &Path, root: &Path, labels: &Labels) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for (line, content) in numbered_lines(text) {
        if content.trim().is_empty() {
            continue;
        }
        let (id, label) = match content.split_once(';') {
            Some((id, label)) => (id.trim(), Some(label.trim())),
            None => (content.trim(), None),
        };
        check_id(id, list, line)?;
        let labels = match label {
            Some(text) => vec![labels.lookup(text, list, line)?],
            None => Vec::new(),
        };
        let written = PathBuf::from(id);
        entries.push(Entry {
            path: resolve(root, &written),
            written,
            labels,
            kind: SourceKind::Frames,
            frames: None,
            template: ListFormat::SthV1.default_template(),
            line,
        });
    }
    Ok(entries)
}
