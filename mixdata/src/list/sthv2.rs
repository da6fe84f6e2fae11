//! Something-Something V2: the JSON list and `labels.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Entry, Labels, bad_line, check_id, resolve};
use crate::error::{Error, Result};
use crate::source::SourceKind;

/// The `labels.json` key of an entry's template: every `[` and `]` removed
/// (`Holding [something] next to [something]` -> `Holding something next to something`).
#[must_use]
pub fn template_key(template: &str) -> String {
    template.chars().filter(|&c| c != '[' && c != ']').collect()
}

/// Line numbers of byte offsets, counted forward (offsets asked in increasing order).
struct Lines<'t> {
    text: &'t str,
    at: usize,
    line: usize,
}

impl Lines<'_> {
    fn of(&mut self, offset: usize) -> usize {
        if offset >= self.at {
            self.line += self.text.as_bytes()[self.at..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        } else {
            self.line = 1 + self.text.as_bytes()[..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        }
        self.at = offset;
        self.line
    }
}

fn skip_ws(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while pos < bytes.len() && matches!(bytes[pos], b' ' | b'\t' | b'\n' | b'\r') {
        pos += 1;
    }
    pos
}

/// A JSON syntax error at `line0` (the line where the parsed text starts) as a list error.
fn json_error(path: &Path, line0: usize, e: &serde_json::Error) -> Error {
    bad_line(
        path,
        line0 + e.line().max(1) - 1,
        format!("not valid JSON ({e})"),
    )
}

/// Parses V2's `labels.json`: an object from template text (brackets removed, see the
/// [module docs](super)) to index, indices as strings (`"35"`, as the dataset ships them) or
/// numbers.
///
/// # Errors
/// Not JSON, not an object, an index that is not a non-negative integer below 2^32.
pub fn parse_sthv2_labels(text: &str, path: &Path) -> Result<Labels> {
    let value: Value = serde_json::from_str(text).map_err(|e| json_error(path, 1, &e))?;
    let Value::Object(map) = value else {
        return Err(bad_line(
            path,
            1,
            "expected a JSON object {\"Template text\": \"index\", ...}",
        ));
    };
    let mut index = HashMap::with_capacity(map.len());
    for (key, value) in map {
        let parsed = match &value {
            Value::String(s) => s.trim().parse::<u32>().ok(),
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            _ => None,
        };
        let Some(i) = parsed else {
            // The key's line, for the message: where its JSON spelling first appears.
            let spelled = serde_json::to_string(&key).unwrap_or_default();
            let line = text
                .find(&spelled)
                .map_or(1, |at| 1 + text[..at].matches('\n').count());
            return Err(bad_line(
                path,
                line,
                format!("the index of '{key}' is {value}, not a non-negative integer below 2^32"),
            ));
        };
        index.insert(key, i);
    }
    Ok(Labels {
        path: path.to_path_buf(),
        index,
    })
}

/// Parses V2's JSON list, `[{"id": "1", "template": "...", ...}, ...]`: each clip is the video
/// `ROOT/<id>.webm`, labelled by its template's index in `labels`; an entry without
/// `template` has no labels; other fields (`label`, `placeholders`) are ignored. Errors name
/// the line where the entry starts.
///
/// ```
/// use std::path::Path;
/// let labels = mixdata::list::parse_sthv2_labels(
///     r#"{"Holding something next to something": "35"}"#,
///     Path::new("labels.json"),
/// )?;
/// let entries = mixdata::list::parse_sthv2(
///     r#"[{"id": "78687", "label": "holding potato next to vicks vaporub bottle",
///         "template": "Holding [something] next to [something]",
///         "placeholders": ["potato", "vicks vaporub bottle"]}]"#,
///     Path::new("train.json"),
///     Path::new("/data/sthv2"),
///     &labels,
/// )?;
/// assert_eq!(entries[0].path, Path::new("/data/sthv2/78687.webm"));
/// assert_eq!(entries[0].labels, [35]);
/// # Ok::<(), mixdata::Error>(())
/// ```
///
/// # Errors
/// Not a JSON array of objects, an entry without an `id` or with an empty or path-like one, a
/// `template` that is not a string or not in `labels`.
pub fn parse_sthv2(text: &str, list: &Path, root: &Path, labels: &Labels) -> Result<Vec<Entry>> {
    let mut lines = Lines {
        text,
        at: 0,
        line: 1,
    };
    let mut pos = skip_ws(text, 0);
    if text.as_bytes().get(pos) != Some(&b'[') {
        return Err(bad_line(
            list,
            lines.of(pos),
            "expected a JSON array of entries [{\"id\": ..., \"template\": ...}, ...]",
        ));
    }
    pos = skip_ws(text, pos + 1);
    let mut entries = Vec::new();
    if text.as_bytes().get(pos) == Some(&b']') {
        pos += 1;
    } else {
        loop {
            let line = lines.of(pos);
            let mut stream = serde_json::Deserializer::from_str(&text[pos..]).into_iter::<Value>();
            let value = match stream.next() {
                Some(Ok(v)) => v,
                Some(Err(e)) => return Err(json_error(list, line, &e)),
                None => return Err(bad_line(list, line, "the array ends without ']'")),
            };
            pos = skip_ws(text, pos + stream.byte_offset());
            entries.push(entry(&value, list, root, labels, line)?);
            match text.as_bytes().get(pos) {
                Some(b',') => pos = skip_ws(text, pos + 1),
                Some(b']') => {
                    pos += 1;
                    break;
                }
                _ => {
                    return Err(bad_line(
                        list,
                        lines.of(pos.min(text.len())),
                        "expected ',' or ']' after an entry",
                    ));
                }
            }
        }
    }
    let end = skip_ws(text, pos);
    if end < text.len() {
        return Err(bad_line(
            list,
            lines.of(end),
            "text after the end of the array",
        ));
    }
    Ok(entries)
}

fn entry(value: &Value, list: &Path, root: &Path, labels: &Labels, line: usize) -> Result<Entry> {
    let Value::Object(fields) = value else {
        return Err(bad_line(
            list,
            line,
            "an entry is not an object {\"id\": ..., \"template\": ...}",
        ));
    };
    let id = match fields.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(other) => {
            return Err(bad_line(
                list,
                line,
                format!("the entry's id {other} is not a string"),
            ));
        }
        None => return Err(bad_line(list, line, "the entry has no \"id\"")),
    };
    check_id(&id, list, line)?;
    let labels = match fields.get("template") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(t)) => vec![labels.lookup(&template_key(t), list, line)?],
        Some(other) => {
            return Err(bad_line(
                list,
                line,
                format!("the entry's template {other} is not a string"),
            ));
        }
    };
    let written = PathBuf::from(format!("{id}.webm"));
    Ok(Entry {
        path: resolve(root, &written),
        written,
        labels,
        kind: SourceKind::Video,
        frames: None,
        template: None,
        line,
    })
}
