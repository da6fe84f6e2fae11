//! mmaction2's rawframe list: `DIR TOTAL_FRAMES LABEL [LABEL ...]`.

use std::path::{Path, PathBuf};

use super::{Entry, ListFormat, bad_line, numbered_lines, parse_label, resolve};
use crate::error::Result;
use crate::source::SourceKind;

/// Parses the text of a rawframe list (`DIR TOTAL_FRAMES LABEL [LABEL ...]` per line, fields
/// separated by whitespace; empty lines skipped). Each clip is a frame folder of
/// `TOTAL_FRAMES` frames named by mmaction2's `img_{:05}.jpg` from 1; the count is checked
/// against the folder when the clip is opened.
///
/// ```
/// use std::path::Path;
/// let entries = mixdata::list::parse_rawframes(
///     "rawframes/biking/a 120 0 4\n",
///     Path::new("train.txt"),
///     Path::new("/data"),
/// )?;
/// assert_eq!(entries[0].path, Path::new("/data/rawframes/biking/a"));
/// assert_eq!((entries[0].frames, entries[0].labels.clone()), (Some(120), vec![0, 4]));
/// # Ok::<(), mixdata::Error>(())
/// ```
///
/// # Errors
/// A line without a frame count or a label, a frame count that is not a positive integer, a
/// label that is not a non-negative integer below 2^32.
pub fn parse_rawframes(text: &str, list: &Path, root: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for (line, content) in numbered_lines(text) {
        let mut fields = content.split_whitespace();
        let Some(dir) = fields.next() else { continue };
        let Some(total) = fields.next() else {
            return Err(bad_line(
                list,
                line,
                format!(
                    "'{dir}' has no frame count: a rawframe list line is 'DIR TOTAL_FRAMES LABEL [LABEL ...]'"
                ),
            ));
        };
        let frames = match total.parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(bad_line(
                    list,
                    line,
                    format!(
                        "the frame count '{total}' is not a positive integer below 2^32 (a rawframe list line is 'DIR TOTAL_FRAMES LABEL [LABEL ...]')"
                    ),
                ));
            }
        };
        let labels = fields
            .map(|f| parse_label(f, list, line))
            .collect::<Result<Vec<u32>>>()?;
        if labels.is_empty() {
            return Err(bad_line(
                list,
                line,
                format!(
                    "'{dir}' has no label: a rawframe list line is 'DIR TOTAL_FRAMES LABEL [LABEL ...]'"
                ),
            ));
        }
        let written = PathBuf::from(dir);
        entries.push(Entry {
            path: resolve(root, &written),
            written,
            labels,
            kind: SourceKind::Frames,
            frames: Some(frames),
            template: ListFormat::Rawframes.default_template(),
            line,
        });
    }
    Ok(entries)
}
