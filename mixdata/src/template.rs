//! Frame file name templates: which files of a frame folder are its frames, and in what order.
//!
//! A template is a prefix, the frame number, and a suffix, written as Python's `str.format`
//! writes them, the way mmaction2 (`filename_tmpl`) and the datasets' extraction scripts name
//! their frames:
//!
//! | template | frames | used by |
//! |---|---|---|
//! | `img_{:05}.jpg` | `img_00001.jpg`, `img_00002.jpg`, ... | mmaction2's rawframes (its default) |
//! | `{:05}.jpg` | `00001.jpg`, `00002.jpg`, ... | Something-Something V1 |
//! | `frame{}.png` | `frame1.png`, ..., `frame10.png` | unpadded numbers |
//!
//! The number is written `{}` (no padding) or `{:0N}` (zero-padded to at least N digits, as
//! Python pads: a longer number keeps all its digits); `{:d}`, `{:0Nd}` and `{:}` are the same
//! with Python's optional type letter. `{{` and `}}` are literal braces. Exactly one number, no
//! `/` and no NUL. Frames are numbered from a start index (default 1, mmaction2's
//! `start_index`): the folder's frames are `start`, `start + 1`, ... with no gap.
//!
//! A name matches a template only as the template writes it: with `img_{:05}.jpg`,
//! `img_00012.jpg` is frame 12, while `img_0012.jpg`, `img_000012.jpg` and `flow_x_00012.jpg`
//! are not frames at all. Formatting and matching are exact inverses.
//!
//! ```
//! use mixdata::FrameTemplate;
//! let t: FrameTemplate = "img_{:05}.jpg".parse()?;
//! assert_eq!(t.name(12), "img_00012.jpg");
//! assert_eq!(t.number("img_00012.jpg"), Some(12));
//! assert_eq!(t.number("flow_x_00012.jpg"), None);
//! assert_eq!(t.number("img_0012.jpg"), None);
//! assert_eq!(t.start(), 1);
//! assert_eq!(t.to_string(), "img_{:05}.jpg");
//! # Ok::<(), mixdata::TemplateError>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// The widest zero padding a template may ask for (`{:064}`).
pub const MAX_WIDTH: usize = 64;

/// The start index of mmaction2's rawframe datasets and of Something-Something's frames.
pub const DEFAULT_START: u64 = 1;

/// A frame file name template (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FrameTemplate {
    prefix: String,
    suffix: String,
    /// Zero-pad the number to this many digits; 0: no padding.
    width: usize,
    /// The number of the first frame. Default: [`DEFAULT_START`].
    start: u64,
}

/// Why a template was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// The template as given.
    pub template: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is not a frame template: {} (examples: img_{{:05}}.jpg, {{:05}}.jpg, frame{{}}.png)",
            self.template.escape_debug(),
            self.reason
        )
    }
}

impl std::error::Error for TemplateError {}

impl FrameTemplate {
    /// Parses a template (start index [`DEFAULT_START`]); the same as `text.parse()`.
    ///
    /// # Errors
    /// No number, more than one, a placeholder other than `{}`/`{:0N}` (space padding, a
    /// positional index, a width above [`MAX_WIDTH`]), an unmatched brace, a `/` or NUL.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let refuse = |reason: &str| TemplateError {
            template: text.to_string(),
            reason: reason.to_string(),
        };
        if text.contains('/') {
            return Err(refuse(
                "it contains '/': a template names a file inside the frame folder",
            ));
        }
        if text.contains('\0') {
            return Err(refuse("it contains a NUL character"));
        }
        let mut prefix = String::new();
        let mut suffix = String::new();
        let mut width = None;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let literal = match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    '{'
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    '}'
                }
                '}' => return Err(refuse("a '}' without its '{' (write '}}' for a brace)")),
                '{' => {
                    let mut spec = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') => {
                                return Err(refuse("a '{' inside the frame number's braces"));
                            }
                            Some(c) => spec.push(c),
                            None => {
                                return Err(refuse(
                                    "a '{' without its '}' (write '{{' for a brace)",
                                ));
                            }
                        }
                    }
                    if width.is_some() {
                        return Err(refuse("more than one frame number ({})"));
                    }
                    width = Some(parse_spec(&spec).map_err(|r| refuse(&r))?);
                    continue;
                }
                c => c,
            };
            if width.is_some() {
                suffix.push(literal);
            } else {
                prefix.push(literal);
            }
        }
        let Some(width) = width else {
            return Err(refuse(
                "no frame number: write {} or {:05} where the number goes",
            ));
        };
        Ok(FrameTemplate {
            prefix,
            suffix,
            width,
            start: DEFAULT_START,
        })
    }

    /// The same template with frames numbered from `start`.
    #[must_use]
    pub fn with_start(mut self, start: u64) -> Self {
        self.start = start;
        self
    }

    /// The number of the first frame. Default: [`DEFAULT_START`] (1).
    #[must_use]
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The text before the number.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The text after the number.
    #[must_use]
    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    /// The zero padding: the number has at least this many digits (0: no padding).
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    /// The file name of frame number `number` (`img_{:05}.jpg`, 12 -> `img_00012.jpg`).
    #[must_use]
    pub fn name(&self, number: u64) -> String {
        format!(
            "{}{:0width$}{}",
            self.prefix,
            number,
            self.suffix,
            width = self.width
        )
    }

    /// The frame number of the file name `name`, when the template writes exactly that name
    /// for it; `None` for any other name.
    #[must_use]
    pub fn number(&self, name: &str) -> Option<u64> {
        self.number_of_bytes(name.as_bytes())
    }

    /// As [`FrameTemplate::number`], for a name that need not be UTF-8 (a file name as the
    /// file system gives it).
    #[must_use]
    pub fn number_of_bytes(&self, name: &[u8]) -> Option<u64> {
        let digits = name
            .strip_prefix(self.prefix.as_bytes())?
            .strip_suffix(self.suffix.as_bytes())?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let number = digits.iter().try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })?;
        // The canonical spelling only: as many digits as the padding asks, no more zeros.
        let canonical = format!("{number:0width$}", width = self.width);
        (canonical.as_bytes() == digits).then_some(number)
    }
}

/// The width of a placeholder's format spec (the text between the braces): `""`, `":"`,
/// `":d"` (no padding), `":0N"` or `":0Nd"` (zero-padded to N digits).
fn parse_spec(spec: &str) -> Result<usize, String> {
    if spec.is_empty() {
        return Ok(0);
    }
    let Some(format) = spec.strip_prefix(':') else {
        return Err(format!(
            "'{{{spec}}}': only {{}} and {{:0N}} are frame numbers (no positional or named fields)"
        ));
    };
    let format = format.strip_suffix('d').unwrap_or(format);
    if format.is_empty() {
        return Ok(0);
    }
    let Some(digits) = format.strip_prefix('0') else {
        return Err(format!(
            "'{{{spec}}}': the number is padded with zeros only, written {{:0N}} (e.g. {{:05}})"
        ));
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return Err(format!(
            "'{{{spec}}}': write the padding as {{:0N}} with N from 1 to {MAX_WIDTH} (e.g. {{:05}})"
        ));
    }
    match digits.parse::<usize>() {
        Ok(n) if n <= MAX_WIDTH => Ok(n),
        _ => Err(format!(
            "'{{{spec}}}': a padding above {MAX_WIDTH} digits (a frame number has at most 20)"
        )),
    }
}

impl FromStr for FrameTemplate {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, TemplateError> {
        FrameTemplate::parse(s)
    }
}

/// Writes the template as it parses (braces in the prefix and suffix doubled); the start
/// index is not part of the text.
impl fmt::Display for FrameTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let escape = |s: &str| s.replace('{', "{{").replace('}', "}}");
        f.write_str(&escape(&self.prefix))?;
        if self.width == 0 {
            f.write_str("{}")?;
        } else {
            write!(f, "{{:0{}}}", self.width)?;
        }
        f.write_str(&escape(&self.suffix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_the_datasets_spellings() {
        let mm: FrameTemplate = "img_{:05}.jpg".parse().unwrap();
        assert_eq!((mm.prefix(), mm.width(), mm.suffix()), ("img_", 5, ".jpg"));
        let sth: FrameTemplate = "{:05d}.jpg".parse().unwrap();
        assert_eq!((sth.prefix(), sth.width(), sth.suffix()), ("", 5, ".jpg"));
        let plain: FrameTemplate = "frame{}.png".parse().unwrap();
        assert_eq!(plain.width(), 0);
        assert_eq!(plain.name(10), "frame10.png");
        assert_eq!("x{:}y".parse::<FrameTemplate>().unwrap().width(), 0);
        assert_eq!("x{:d}y".parse::<FrameTemplate>().unwrap().width(), 0);
        let braces: FrameTemplate = "{{a}}_{:03}".parse().unwrap();
        assert_eq!(braces.name(7), "{a}_007");
        assert_eq!(braces.to_string(), "{{a}}_{:03}");
    }

    #[test]
    fn template_refuses_what_it_cannot_mean() {
        for bad in [
            "img.jpg",
            "{}{}",
            "{:5}.jpg",
            "{0}.jpg",
            "{name}.jpg",
            "{:00}.jpg",
            "{:065}.jpg",
            "{:x}.jpg",
            "a/{}.jpg",
            "{.jpg",
            "}{}.jpg",
            "{{}.jpg",
            "",
        ] {
            let e = FrameTemplate::parse(bad).unwrap_err();
            assert!(
                e.to_string().contains("is not a frame template"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn template_matches_only_its_own_names() {
        let t: FrameTemplate = "img_{:05}.jpg".parse().unwrap();
        assert_eq!(t.number("img_00001.jpg"), Some(1));
        assert_eq!(t.number("img_123456.jpg"), Some(123_456));
        assert_eq!(t.number("img_012345.jpg"), None);
        assert_eq!(t.number("img_0001.jpg"), None);
        assert_eq!(t.number("img_00001.JPG"), None);
        assert_eq!(t.number("flow_x_00001.jpg"), None);
        assert_eq!(t.number("img_.jpg"), None);
        assert_eq!(t.number("img_0000a.jpg"), None);
        assert_eq!(t.number("img_99999999999999999999.jpg"), None);
        let plain: FrameTemplate = "{}.png".parse().unwrap();
        assert_eq!(plain.number("0.png"), Some(0));
        assert_eq!(plain.number("007.png"), None);
        for n in [0, 1, 9, 10, 99_999, 100_000, u64::MAX] {
            assert_eq!(t.number(&t.name(n)), Some(n));
            assert_eq!(plain.number(&plain.name(n)), Some(n));
        }
    }
}
