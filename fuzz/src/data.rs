//! mixdata's text parsers (feature `cli`): frame templates and the four annotation list
//! formats, against what their documentation says and against themselves (every accepted
//! value written back parses to the same value).

use std::collections::HashMap;
use std::path::Path;

use mixdata::list::{
    Labels, parse_rawframes, parse_sthv1, parse_sthv1_labels, parse_sthv2, parse_sthv2_labels,
    parse_video,
};
use mixdata::{Entry, FrameTemplate, ListFormat, Problem};

/// A template as its documentation describes it: `{{`/`}}` literal braces, exactly one
/// `{}`, `{:}`, `{:d}`, `{:0N}` or `{:0Nd}` with N from 1 to 64 written without leading
/// zeros, no `/` and no NUL. Returns (prefix, width, suffix).
fn template_oracle(s: &str) -> Option<(String, usize, String)> {
    if s.contains('/') || s.contains('\0') {
        return None;
    }
    let chars: Vec<char> = s.chars().collect();
    let (mut prefix, mut suffix, mut width) = (String::new(), String::new(), None);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let literal = if (c == '{' && next == Some('{')) || (c == '}' && next == Some('}')) {
            i += 2;
            c
        } else if c == '}' {
            return None;
        } else if c == '{' {
            let close = chars[i + 1..].iter().position(|&x| x == '}')? + i + 1;
            let spec: String = chars[i + 1..close].iter().collect();
            if spec.contains('{') || width.is_some() {
                return None;
            }
            let w = match spec.as_str() {
                "" | ":" | ":d" => 0,
                _ => {
                    let digits = spec.strip_prefix(":0")?;
                    let digits = digits.strip_suffix('d').unwrap_or(digits);
                    if digits.is_empty()
                        || digits.starts_with('0')
                        || !digits.bytes().all(|b| b.is_ascii_digit())
                        || digits.len() > 2
                    {
                        return None;
                    }
                    let n: usize = digits.parse().ok()?;
                    if n > 64 {
                        return None;
                    }
                    n
                }
            };
            width = Some(w);
            i = close + 1;
            continue;
        } else {
            i += 1;
            c
        };
        if width.is_some() {
            suffix.push(literal);
        } else {
            prefix.push(literal);
        }
    }
    Some((prefix, width?, suffix))
}

/// The `template` target: `FrameTemplate::parse` on any text never panics, accepts exactly
/// what its documentation describes, round-trips through `Display`, and its names and
/// numbers are exact inverses (also for the input read as a file name). Returns true when the
/// text parsed.
pub fn check_template(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let parsed = FrameTemplate::parse(&text);
    let expected = template_oracle(&text);
    let t = match (parsed, expected) {
        (Ok(t), Some((prefix, width, suffix))) => {
            assert_eq!(
                (t.prefix(), t.width(), t.suffix()),
                (prefix.as_str(), width, suffix.as_str()),
                "template {text:?}"
            );
            t
        }
        (Err(e), None) => {
            let message = e.to_string();
            assert!(message.contains("is not a frame template"), "{message}");
            return false;
        }
        (parsed, expected) => {
            panic!("template {text:?}: parser {parsed:?}, documentation {expected:?}")
        }
    };
    let spelled = t.to_string();
    assert_eq!(
        FrameTemplate::parse(&spelled).as_ref(),
        Ok(&t),
        "{spelled:?}"
    );
    let start = data
        .iter()
        .fold(0u64, |n, &b| n.rotate_left(7) ^ u64::from(b));
    let t = t.with_start(start);
    assert_eq!(t.start(), start);
    for n in [0, 1, 9, 10, 99_999, 100_000, start, u64::MAX] {
        let name = t.name(n);
        assert_eq!(t.number(&name), Some(n), "{text:?} {n} -> {name:?}");
    }
    // Any name the template takes is the name it writes for that number.
    for name in [text.as_ref(), spelled.as_str()] {
        if let Some(n) = t.number(name) {
            assert_eq!(t.name(n), name);
        }
    }
    if let Some(n) = t.number_of_bytes(data) {
        assert_eq!(t.name(n).as_bytes(), data);
    }
    true
}

/// What [`check_lists`] saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListOutcome {
    /// The format the selector byte chose.
    pub format: Option<ListFormat>,
    /// The list parsed; its number of entries.
    pub entries: Option<usize>,
}

fn line_count(text: &str) -> usize {
    text.matches('\n').count() + 1
}

/// An error of a list parser: it names `file` and a line of it, from 1 to its last line, in
/// its text (`FILE:LINE: ...`), and is a list problem.
fn check_error(e: &mixdata::Error, file: &Path, text: &str) {
    let line = match &e.problem {
        Problem::List { line, .. } | Problem::UnknownLabel { line, .. } => *line,
        other => panic!("a list error of another kind: {other:?}"),
    };
    assert!(
        (1..=line_count(text)).contains(&line),
        "line {line} of a {}-line text: {e}",
        line_count(text)
    );
    assert_eq!(e.path.as_deref(), Some(file));
    let message = e.to_string();
    assert!(
        message.starts_with(&format!("{}:{line}: ", file.display())),
        "{message}"
    );
    assert!(message.len() > file.as_os_str().len() + 4, "{message}");
}

/// The entries written back in `format` (label texts from `labels`).
fn write_back(format: ListFormat, entries: &[Entry], labels: &Labels) -> String {
    // Only texts a lookup can reach (V2 looks templates up with their brackets removed).
    let text_of: HashMap<u32, &str> = labels
        .index
        .iter()
        .filter(|(text, _)| format != ListFormat::SthV2 || !text.contains(['[', ']']))
        .map(|(text, &i)| (i, text.as_str()))
        .collect();
    let labels_of = |e: &Entry| -> String {
        e.labels
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    match format {
        ListFormat::Video => entries
            .iter()
            .map(|e| format!("{}\t{}\n", e.written.display(), labels_of(e)))
            .collect(),
        ListFormat::Rawframes => entries
            .iter()
            .map(|e| {
                let frames = e.frames.expect("a rawframe entry has a count");
                format!("{} {frames} {}\n", e.written.display(), labels_of(e))
            })
            .collect(),
        ListFormat::SthV1 => entries
            .iter()
            .map(|e| match e.labels.first() {
                Some(l) => format!("{};{}\n", e.written.display(), text_of[l]),
                None => format!("{}\n", e.written.display()),
            })
            .collect(),
        ListFormat::SthV2 => {
            let items: Vec<String> = entries
                .iter()
                .map(|e| {
                    let written = e.written.to_string_lossy();
                    let id = written.strip_suffix(".webm").expect("V2 clips are .webm");
                    let id = serde_json::to_string(id).expect("a string");
                    match e.labels.first() {
                        Some(l) => format!(
                            "{{\"id\": {id}, \"template\": {}}}",
                            serde_json::to_string(text_of[l]).expect("a string")
                        ),
                        None => format!("{{\"id\": {id}}}"),
                    }
                })
                .collect();
            format!("[{}]", items.join(",\n"))
        }
    }
}

/// The `lists` target: the first byte picks the format (video, rawframes, sthv1, sthv2),
/// the rest is the list's text and, after the first NUL byte, the label file's. Every parser
/// returns entries or an error naming its file and a line inside it, never a panic; accepted
/// entries lie on increasing lines (non-decreasing for JSON, which may put two on one line),
/// have labels where the format requires them, and written back in the format parse to the
/// same paths, labels and counts.
pub fn check_lists(data: &[u8]) -> ListOutcome {
    let Some((&selector, rest)) = data.split_first() else {
        return ListOutcome::default();
    };
    let format = ListFormat::ALL[usize::from(selector) % 4];
    let (list_bytes, label_bytes) = match rest.iter().position(|&b| b == 0) {
        Some(p) => (&rest[..p], &rest[p + 1..]),
        None => (rest, &[][..]),
    };
    let text = String::from_utf8_lossy(list_bytes);
    let labels_text = String::from_utf8_lossy(label_bytes);
    let (list_path, labels_path, root) = (
        Path::new("lists/train.txt"),
        Path::new("lists/labels.txt"),
        Path::new("/root"),
    );
    let labels = match format {
        ListFormat::SthV1 => parse_sthv1_labels(&labels_text, labels_path),
        ListFormat::SthV2 => parse_sthv2_labels(&labels_text, labels_path),
        _ => Ok(Labels::default()),
    };
    let labels = match labels {
        Ok(l) => l,
        Err(e) => {
            check_error(&e, labels_path, &labels_text);
            return ListOutcome {
                format: Some(format),
                entries: None,
            };
        }
    };
    let parse = |text: &str| match format {
        ListFormat::Video => parse_video(text, list_path, root),
        ListFormat::Rawframes => parse_rawframes(text, list_path, root),
        ListFormat::SthV1 => parse_sthv1(text, list_path, root, &labels),
        ListFormat::SthV2 => parse_sthv2(text, list_path, root, &labels),
    };
    let entries = match parse(&text) {
        Ok(entries) => entries,
        Err(e) => {
            check_error(&e, list_path, &text);
            if let Problem::UnknownLabel { labels: file, .. } = &e.problem {
                assert_eq!(file, labels_path);
            }
            return ListOutcome {
                format: Some(format),
                entries: None,
            };
        }
    };
    // Line formats give each entry its own line; JSON (Something-Something V2) may hold
    // several objects on one line, so there the lines only never go back.
    let json = matches!(format, ListFormat::SthV2);
    let mut last = 0;
    for e in &entries {
        assert!(
            (e.line > last || (json && e.line == last && last > 0)) && e.line <= line_count(&text),
            "entry at line {} after one at line {last}",
            e.line
        );
        last = e.line;
        if matches!(format, ListFormat::Video | ListFormat::Rawframes) {
            assert!(!e.labels.is_empty(), "an entry without labels: {e:?}");
        }
        let resolved = if e.written.is_absolute() {
            e.written.clone()
        } else {
            root.join(&e.written)
        };
        assert_eq!(e.path, resolved);
        assert_eq!(e.template, format.default_template());
    }
    let again = parse(&write_back(format, &entries, &labels))
        .unwrap_or_else(|e| panic!("the entries written back do not parse: {e}"));
    assert_eq!(again.len(), entries.len());
    for (a, b) in entries.iter().zip(&again) {
        assert_eq!(
            (&a.path, &a.written, &a.labels, a.frames, a.kind),
            (&b.path, &b.written, &b.labels, b.frames, b.kind)
        );
    }
    ListOutcome {
        format: Some(format),
        entries: Some(entries.len()),
    }
}
