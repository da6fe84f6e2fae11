//! Annotation lists: which clips a dataset holds and their labels, in the formats the datasets
//! and mmaction2 ship.
//!
//! | format | a line or entry | the clip | labels |
//! |---|---|---|---|
//! | [`ListFormat::Video`] (mmaction2 `VideoDataset`) | `train/biking/a.mp4 3` or `a.mp4 3 7 9` | a video, `ROOT/PATH` | one or more integers |
//! | [`ListFormat::Rawframes`] (mmaction2 `RawframeDataset`) | `train/biking/a 120 3` | a frame folder `ROOT/DIR` of `total_frames` frames (template `img_{:05}.jpg` from 1) | one or more integers |
//! | [`ListFormat::SthV1`] (Something-Something V1 CSV) | `100218;Something falling like a feather or paper` | the frame folder `ROOT/<id>/` (template `{:05}.jpg` from 1) | the label text's line in the label file |
//! | [`ListFormat::SthV2`] (Something-Something V2 JSON) | `{"id": "78687", "label": "...", "template": "Holding [something] next to [something]", "placeholders": [...]}` | the video `ROOT/<id>.webm` | the template's index in `labels.json` |
//!
//! Fields of the whitespace-separated formats are separated by any run of spaces or tabs (as
//! Python's `str.split()` splits them), so paths cannot hold spaces. Empty lines are skipped.
//! Relative paths resolve against the root; absolute ones are taken as they are.
//!
//! Something-Something's label files:
//!
//! - **V1** (`something-something-v1-labels.csv`): one label text per line; its index is its
//!   line number counted from 0. An empty line inside the file is an error (it would shift every
//!   index after it); empty lines at the end are not. A CSV line without `;` (the test split's
//!   ids) is a clip without labels.
//! - **V2** (`something-something-v2-labels.json`): `{"Holding something next to something":
//!   "35", ...}`. Its keys are the entries' `template` with the brackets of the placeholders
//!   removed (`[something]` -> `something`, `[part]` -> `part`: every `[` and `]` deleted, as
//!   mmaction2's and the dataset's own scripts derive them); values are indices, as strings
//!   or numbers. The entry's `label` field is the caption with the placeholders filled in
//!   ("holding potato next to vicks vaporub bottle") and is not the class. An entry without
//!   `template` (the test split: `{"id": "1420"}`) is a clip without labels.
//!
//! Every problem names the list file and the line (`train.txt:12: ...`); an unknown label
//! names the label file too.

mod rawframes;
mod sthv1;
mod sthv2;
mod video;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Problem, Result};
use crate::source::SourceKind;
use crate::template::FrameTemplate;

pub use rawframes::parse_rawframes;
pub use sthv1::{parse_sthv1, parse_sthv1_labels};
pub use sthv2::{parse_sthv2, parse_sthv2_labels};
pub use video::parse_video;

/// The annotation list formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListFormat {
    /// mmaction2's video list: `PATH LABEL [LABEL ...]`.
    Video,
    /// mmaction2's rawframe list: `DIR TOTAL_FRAMES LABEL [LABEL ...]`.
    Rawframes,
    /// Something-Something V1's CSV, `ID;LABEL TEXT`, with its label list.
    SthV1,
    /// Something-Something V2's JSON, with its `labels.json`.
    SthV2,
}

impl ListFormat {
    /// Every format, in the order of their names.
    pub const ALL: [ListFormat; 4] = [
        ListFormat::Video,
        ListFormat::Rawframes,
        ListFormat::SthV1,
        ListFormat::SthV2,
    ];

    /// The name `FromStr` takes: `video`, `rawframes`, `sthv1`, `sthv2`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ListFormat::Video => "video",
            ListFormat::Rawframes => "rawframes",
            ListFormat::SthV1 => "sthv1",
            ListFormat::SthV2 => "sthv2",
        }
    }

    /// True for the formats whose labels are texts looked up in a label file.
    #[must_use]
    pub fn needs_labels(self) -> bool {
        matches!(self, ListFormat::SthV1 | ListFormat::SthV2)
    }

    /// The frame template of the format's frame folders: `img_{:05}.jpg` (mmaction2's default)
    /// for rawframes, `{:05}.jpg` for Something-Something V1, both from 1; `None` for the
    /// video formats.
    #[must_use]
    pub fn default_template(self) -> Option<FrameTemplate> {
        let text = match self {
            ListFormat::Rawframes => "img_{:05}.jpg",
            ListFormat::SthV1 => "{:05}.jpg",
            ListFormat::Video | ListFormat::SthV2 => return None,
        };
        FrameTemplate::parse(text).ok()
    }
}

impl fmt::Display for ListFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ListFormat {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        ListFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("'{s}' is not a list format: use video, rawframes, sthv1 or sthv2")
            })
    }
}

/// One clip of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The clip: the list's path resolved against the root (absolute ones as they are).
    pub path: PathBuf,
    /// The path as the list writes it (`train/biking/a.mp4`; for Something-Something the
    /// folder `<id>` or file `<id>.webm` under the root). Outputs are named by it.
    pub written: PathBuf,
    /// The labels (class indices), in the list's order; empty for a clip without labels.
    pub labels: Vec<u32>,
    /// What the clip must be: a video or a frame folder.
    pub kind: SourceKind,
    /// The number of frames the list says the folder holds (rawframe lists).
    pub frames: Option<u32>,
    /// The frame template of the list's format ([`ListFormat::default_template`]).
    pub template: Option<FrameTemplate>,
    /// The line of the list that names the clip, from 1.
    pub line: usize,
}

/// Label texts and their indices (Something-Something's label files).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels {
    /// The label file, named in errors.
    pub path: PathBuf,
    /// Text to index.
    pub index: HashMap<String, u32>,
}

impl Labels {
    /// The index of `text`, or an [`Problem::UnknownLabel`] error at `list`:`line`.
    ///
    /// # Errors
    /// The text is not in the label file.
    pub fn lookup(&self, text: &str, list: &Path, line: usize) -> Result<u32> {
        self.index.get(text).copied().ok_or_else(|| {
            Error::at(
                list,
                Problem::UnknownLabel {
                    line,
                    label: text.to_string(),
                    labels: self.path.clone(),
                },
            )
        })
    }
}

/// Reads the list `list` of `format`, clips resolved against `root`; `labels` is the label
/// file of Something-Something lists (required for them, ignored otherwise).
///
/// # Errors
/// The files cannot be read, a line does not parse ([`Problem::List`]), a label is unknown
/// ([`Problem::UnknownLabel`]), a Something-Something list without its label file
/// ([`Problem::Usage`]).
pub fn read(
    format: ListFormat,
    list: &Path,
    root: &Path,
    labels: Option<&Path>,
) -> Result<Vec<Entry>> {
    let text = read_text(list)?;
    match format {
        ListFormat::Video => parse_video(&text, list, root),
        ListFormat::Rawframes => parse_rawframes(&text, list, root),
        ListFormat::SthV1 | ListFormat::SthV2 => {
            let Some(labels_path) = labels else {
                return Err(Error::at(
                    list,
                    Problem::Usage(format!(
                        "a {format} list needs its label file (mixcli: --labels FILE)"
                    )),
                ));
            };
            let labels_text = read_text(labels_path)?;
            if format == ListFormat::SthV1 {
                let labels = parse_sthv1_labels(&labels_text, labels_path)?;
                parse_sthv1(&text, list, root, &labels)
            } else {
                let labels = parse_sthv2_labels(&labels_text, labels_path)?;
                parse_sthv2(&text, list, root, &labels)
            }
        }
    }
}

/// A list or label file as UTF-8 text (a UTF-8 byte-order mark removed).
fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "opening", e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::at(
            path,
            Problem::List {
                line,
                message: "the text is not UTF-8".into(),
            },
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// A [`Problem::List`] error at `list`:`line`.
pub(crate) fn bad_line(list: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::at(
        list,
        Problem::List {
            line,
            message: message.into(),
        },
    )
}

/// `written` resolved against `root` (an absolute path as it is).
pub(crate) fn resolve(root: &Path, written: &Path) -> PathBuf {
    if written.is_absolute() {
        written.to_path_buf()
    } else {
        root.join(written)
    }
}

/// A label field: a non-negative integer below 2^32.
pub(crate) fn parse_label(field: &str, list: &Path, line: usize) -> Result<u32> {
    field.parse::<u32>().map_err(|_| {
        bad_line(
            list,
            line,
            format!("the label '{field}' is not a non-negative integer below 2^32"),
        )
    })
}

/// A Something-Something id: not empty, one path component (no `/`, not `.` or `..`).
pub(crate) fn check_id(id: &str, list: &Path, line: usize) -> Result<()> {
    if id.is_empty() {
        return Err(bad_line(list, line, "the video id is empty"));
    }
    if id.contains('/') || id.contains('\0') || id == "." || id == ".." {
        return Err(bad_line(
            list,
            line,
            format!("the video id '{id}' is not a file name (no '/', not '.' or '..')"),
        ));
    }
    Ok(())
}

/// The lines of `text` with their numbers from 1, line ends (`\n`, `\r\n`) removed.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_format_parses_its_names() {
        for f in ListFormat::ALL {
            assert_eq!(f.name().parse::<ListFormat>(), Ok(f));
            assert_eq!(f.to_string().parse::<ListFormat>(), Ok(f));
        }
        assert!("csv".parse::<ListFormat>().is_err());
        assert_eq!(
            ListFormat::Rawframes
                .default_template()
                .unwrap()
                .to_string(),
            "img_{:05}.jpg"
        );
        assert_eq!(
            ListFormat::SthV1.default_template().unwrap().to_string(),
            "{:05}.jpg"
        );
        assert!(ListFormat::SthV2.default_template().is_none());
    }
}
