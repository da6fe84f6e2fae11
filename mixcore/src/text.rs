//! The text forms of the plan and output options: one spelling, used by mixcli's flags and by
//! every other front end. `Display` writes the canonical form and `FromStr` reads it back
//! (names in any ASCII case; list items may have spaces around them).
//!
//! | type | spellings |
//! |---|---|
//! | [`Schedule`] (`Display`), `ScheduleBuf` (both, with `alloc`) | `average`, `linear`, `linear0`, `custom:N,N,...` |
//! | [`Selection`] | `spread`, `consecutive` |
//! | [`Layout`] | `tchw`, `cthw`, `thwc` |
//! | [`Epilogue`] | `raw`, `unit`, `imagenet`, `normalize:MEAN,.../STD,...` |
//! | [`crate::Dtype`] (in [`crate::half`]) | `f32`, `f16`, `bf16` |
//!
//! ```
//! use mixcore::{Epilogue, Layout, Schedule, Selection};
//! assert_eq!("CTHW".parse::<Layout>()?, Layout::Cthw);
//! assert_eq!("imagenet".parse::<Epilogue>()?, Epilogue::IMAGENET);
//! assert_eq!(Selection::Consecutive.to_string(), "consecutive");
//! assert_eq!(Schedule::Custom(&[1, 0, 7]).to_string(), "custom:1,0,7");
//! # #[cfg(feature = "alloc")] {
//! let custom: mixcore::ScheduleBuf = "custom: 1, 0, 7".parse()?;
//! assert_eq!(custom.as_schedule(), Schedule::Custom(&[1, 0, 7]));
//! # }
//! # Ok::<(), mixcore::ParseError>(())
//! ```

use core::fmt;
use core::str::FromStr;

use crate::epilogue::Epilogue;
use crate::layout::Layout;
use crate::plan::MAX_MIXED_FRAMES;
use crate::schedule::Schedule;
#[cfg(feature = "alloc")]
use crate::schedule::ScheduleBuf;
use crate::select::Selection;

/// Why a text is not a spelling of an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The text is none of the spellings of `what`.
    Unknown {
        /// The option: `"layout"`, `"schedule"`, ...
        what: &'static str,
        /// Its spellings, as a sentence lists them.
        expected: &'static str,
    },
    /// A `custom:` numerator is not a non-negative integer below 2^32.
    BadNumerator {
        /// Its position in the list, from 0.
        index: usize,
    },
    /// A `custom:` list is longer than a window may mix ([`MAX_MIXED_FRAMES`]).
    TooManyNumerators,
    /// Every `custom:` numerator is zero, so the denominator would be zero.
    NumeratorsAllZero,
    /// A `normalize:` spelling is not 1 to 4 means, a `/`, and as many standard deviations,
    /// each a number.
    BadNormalization,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseError::Unknown { what, expected } => write!(f, "not a {what}: use {expected}"),
            ParseError::BadNumerator { index } => write!(
                f,
                "custom: numerator {} is not a non-negative integer below 2^32",
                index + 1
            ),
            ParseError::TooManyNumerators => {
                write!(f, "custom: more than {MAX_MIXED_FRAMES} numerators")
            }
            ParseError::NumeratorsAllZero => {
                f.write_str("custom: at least one numerator must be positive")
            }
            ParseError::BadNormalization => f.write_str(
                "normalize: use normalize:MEAN,.../STD,... with 1 to 4 numbers on each side, as many stds as means",
            ),
        }
    }
}

impl core::error::Error for ParseError {}

/// `s` without the ASCII-case-insensitive `prefix`, when it starts with it.
fn strip_prefix_ignore_case<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The value whose `name` is `s`, ignoring ASCII case.
fn by_name<T: Copy>(s: &str, all: &[T], name: impl Fn(T) -> Option<&'static str>) -> Option<T> {
    all.iter()
        .copied()
        .find(|&v| name(v).is_some_and(|n| n.eq_ignore_ascii_case(s)))
}

/// Writes `items` separated by commas.
fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl Layout {
    /// Every layout, in the order of its spellings' list.
    pub const ALL: [Layout; 3] = [Layout::Tchw, Layout::Cthw, Layout::Thwc];

    /// Its spelling: `tchw`, `cthw` or `thwc`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Layout::Tchw => "tchw",
            Layout::Cthw => "cthw",
            Layout::Thwc => "thwc",
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Layout {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        by_name(s, &Layout::ALL, |l| Some(l.name())).ok_or(ParseError::Unknown {
            what: "layout",
            expected: "tchw, cthw or thwc",
        })
    }
}

impl Selection {
    /// Every selection, in the order of its spellings' list.
    pub const ALL: [Selection; 2] = [Selection::Spread, Selection::Consecutive];

    /// Its spelling: `spread` or `consecutive`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Selection::Spread => "spread",
            Selection::Consecutive => "consecutive",
        }
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Selection {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        by_name(s, &Selection::ALL, |v| Some(v.name())).ok_or(ParseError::Unknown {
            what: "selection",
            expected: "spread or consecutive",
        })
    }
}

impl Epilogue {
    /// The epilogues that have a name (a normalisation with other constants is spelled
    /// `normalize:MEAN,.../STD,...`).
    pub const NAMED: [Epilogue; 3] = [Epilogue::Raw, Epilogue::Unit, Epilogue::IMAGENET];

    /// Its name: `raw`, `unit`, `imagenet`; `None` for another normalisation.
    #[must_use]
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Epilogue::Raw => Some("raw"),
            Epilogue::Unit => Some("unit"),
            e if *e == Epilogue::IMAGENET => Some("imagenet"),
            Epilogue::Normalize { .. } => None,
        }
    }
}

impl fmt::Display for Epilogue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name(), self) {
            (Some(name), _) => f.write_str(name),
            (None, Epilogue::Normalize { mean, std }) => {
                f.write_str("normalize:")?;
                write_list(f, mean)?;
                f.write_str("/")?;
                write_list(f, std)
            }
            // Every epilogue but a normalisation has a name.
            (None, Epilogue::Raw | Epilogue::Unit) => Ok(()),
        }
    }
}

/// Up to four numbers separated by commas, into `values`; how many there were.
fn parse_floats(s: &str, values: &mut [f32; 4]) -> Option<usize> {
    let mut n = 0;
    for item in s.split(',') {
        *values.get_mut(n)? = item.trim().parse().ok()?;
        n += 1;
    }
    Some(n)
}

impl FromStr for Epilogue {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        if let Some(e) = by_name(s, &Epilogue::NAMED, |e| e.name()) {
            return Ok(e);
        }
        let Some(rest) = strip_prefix_ignore_case(s, "normalize:") else {
            return Err(ParseError::Unknown {
                what: "scale",
                expected: "raw, unit, imagenet or normalize:MEAN,.../STD,...",
            });
        };
        // Entries past the given ones are a mean of 0 and a std of 1, as IMAGENET's fourth.
        let (mut mean, mut std) = ([0.0; 4], [1.0; 4]);
        let (m, d) = rest.split_once('/').ok_or(ParseError::BadNormalization)?;
        match (parse_floats(m, &mut mean), parse_floats(d, &mut std)) {
            (Some(a), Some(b)) if a == b => Ok(Epilogue::Normalize { mean, std }),
            _ => Err(ParseError::BadNormalization),
        }
    }
}

impl Schedule<'static> {
    /// The schedules that have a name (custom numerators are spelled `custom:N,N,...`).
    pub const NAMED: [Schedule<'static>; 3] =
        [Schedule::Average, Schedule::Linear, Schedule::Linear0];
}

impl Schedule<'_> {
    /// Its name: `average`, `linear`, `linear0`; `None` for custom numerators.
    #[must_use]
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Schedule::Average => Some("average"),
            Schedule::Linear => Some("linear"),
            Schedule::Linear0 => Some("linear0"),
            Schedule::Custom(_) => None,
        }
    }
}

impl fmt::Display for Schedule<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name(), self) {
            (Some(name), _) => f.write_str(name),
            (None, Schedule::Custom(n)) => {
                f.write_str("custom:")?;
                write_list(f, n)
            }
            // Every schedule but a custom one has a name.
            (None, Schedule::Average | Schedule::Linear | Schedule::Linear0) => Ok(()),
        }
    }
}

#[cfg(feature = "alloc")]
impl fmt::Display for ScheduleBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_schedule().fmt(f)
    }
}

#[cfg(feature = "alloc")]
impl FromStr for ScheduleBuf {
    type Err = ParseError;

    /// `average`, `linear`, `linear0` or `custom:` and at most [`MAX_MIXED_FRAMES`]
    /// comma-separated numerators, not all zero.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        if let Some(named) = by_name(s, &Schedule::NAMED, |v| v.name()) {
            return Ok(ScheduleBuf::from(named));
        }
        let Some(list) = strip_prefix_ignore_case(s, "custom:") else {
            return Err(ParseError::Unknown {
                what: "schedule",
                expected: "average, linear, linear0 or custom:N,N,...",
            });
        };
        let mut numerators = alloc::vec::Vec::new();
        for (index, item) in list.split(',').enumerate() {
            if index >= MAX_MIXED_FRAMES as usize {
                return Err(ParseError::TooManyNumerators);
            }
            let n = item
                .trim()
                .parse::<u32>()
                .map_err(|_| ParseError::BadNumerator { index })?;
            numerators.push(n);
        }
        if numerators.iter().all(|&n| n == 0) {
            return Err(ParseError::NumeratorsAllZero);
        }
        Ok(ScheduleBuf::Custom(numerators))
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use alloc::string::ToString;

    use super::*;

    #[test]
    fn spellings_round_trip() {
        for l in Layout::ALL {
            assert_eq!(l.to_string().parse::<Layout>(), Ok(l));
        }
        for v in Selection::ALL {
            assert_eq!(v.to_string().parse::<Selection>(), Ok(v));
        }
        let odd = Epilogue::Normalize {
            mean: [0.1, -2.5, 1e-7, 0.0],
            std: [3.0, 0.25, 1e30, 1.0],
        };
        for e in Epilogue::NAMED.into_iter().chain([odd]) {
            assert_eq!(e.to_string().parse::<Epilogue>(), Ok(e), "{e}");
        }
        let custom = ScheduleBuf::Custom(alloc::vec![0, 7, u32::MAX]);
        for s in Schedule::NAMED
            .map(ScheduleBuf::from)
            .into_iter()
            .chain([custom])
        {
            assert_eq!(s.to_string().parse::<ScheduleBuf>().as_ref(), Ok(&s), "{s}");
        }
    }

    #[test]
    fn spellings_ignore_case_and_item_spaces() {
        assert_eq!("THWC".parse::<Layout>(), Ok(Layout::Thwc));
        assert_eq!(
            "Consecutive".parse::<Selection>(),
            Ok(Selection::Consecutive)
        );
        assert_eq!("ImageNet".parse::<Epilogue>(), Ok(Epilogue::IMAGENET));
        assert_eq!(
            "Custom: 1 , 2".parse::<ScheduleBuf>(),
            Ok(ScheduleBuf::Custom(alloc::vec![1, 2]))
        );
        assert_eq!(
            "normalize: 0.5, 0.25 / 2,4".parse::<Epilogue>(),
            Ok(Epilogue::Normalize {
                mean: [0.5, 0.25, 0.0, 0.0],
                std: [2.0, 4.0, 1.0, 1.0]
            })
        );
    }

    #[test]
    fn misspellings_are_refused_with_what_is_wrong() {
        assert!(matches!(
            " tchw".parse::<Layout>(),
            Err(ParseError::Unknown { what: "layout", .. })
        ));
        assert!("".parse::<Selection>().is_err());
        assert_eq!(
            "custom:1,-2".parse::<ScheduleBuf>(),
            Err(ParseError::BadNumerator { index: 1 })
        );
        assert_eq!(
            "custom:".parse::<ScheduleBuf>(),
            Err(ParseError::BadNumerator { index: 0 })
        );
        assert_eq!(
            "custom:4294967296".parse::<ScheduleBuf>(),
            Err(ParseError::BadNumerator { index: 0 })
        );
        assert_eq!(
            "custom:0,0".parse::<ScheduleBuf>(),
            Err(ParseError::NumeratorsAllZero)
        );
        let long = alloc::format!("custom:{}", "1,".repeat(MAX_MIXED_FRAMES as usize) + "1");
        assert_eq!(
            long.parse::<ScheduleBuf>(),
            Err(ParseError::TooManyNumerators)
        );
        for bad in [
            "normalize:",
            "normalize:1,2",
            "normalize:1,2/3",
            "normalize:1,2,3,4,5/1,1,1,1,1",
            "normalize:x/1",
        ] {
            assert_eq!(
                bad.parse::<Epilogue>(),
                Err(ParseError::BadNormalization),
                "{bad}"
            );
        }
        let e = "cubic".parse::<ScheduleBuf>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a schedule: use average, linear, linear0 or custom:N,N,..."
        );
    }
}
