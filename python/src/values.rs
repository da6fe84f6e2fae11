//! Python argument values turned into the command line's spellings, which the CLI's own
//! parsers then check ([`crate::engine`]). Only the shape of a value is checked here (an int,
//! a string, a list of ints); its range and meaning are the parsers' business, so a value
//! the CLI refuses is refused here with the same message.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyString};

use crate::engine::Failure;

/// The decimal text of `obj` when it is an integer (an `int` or anything with `__index__`,
/// such as numpy's integers; `bool` refused), `None` when it is not one.
fn int_text(obj: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if obj.is_instance_of::<PyBool>() || !obj.hasattr("__index__")? {
        return Ok(None);
    }
    let index = obj.py().import("operator")?.call_method1("index", (obj,))?;
    Ok(Some(index.str()?.to_string()))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}

/// An integer argument, as its decimal text (any size: the range is checked after).
#[derive(Debug)]
pub struct IntText(pub String);

impl From<u32> for IntText {
    fn from(v: u32) -> Self {
        IntText(v.to_string())
    }
}

impl IntText {
    /// The value as a `u32` of at least `min`.
    ///
    /// # Errors
    /// An option failure naming `param` when it is out of range.
    pub fn as_u32(&self, param: &str, min: u32) -> Result<u32, Failure> {
        match self.0.parse::<u32>() {
            Ok(v) if v >= min => Ok(v),
            _ => Err(Failure::option(
                param,
                format!("{} is not an integer from {min} to {}", self.0, u32::MAX),
            )),
        }
    }

    /// The value as a `u64`.
    ///
    /// # Errors
    /// An option failure naming `param` when it is out of range.
    pub fn as_u64(&self, param: &str) -> Result<u64, Failure> {
        self.0.parse::<u64>().map_err(|_| {
            Failure::option(
                param,
                format!("{} is not an integer from 0 to 2**64 - 1", self.0),
            )
        })
    }
}

impl IntText {
    /// A sequence index: an integer, as its decimal text (a `TypeError` naming the type
    /// otherwise, as Python's sequences raise).
    ///
    /// # Errors
    /// Not an integer.
    pub fn extract_index(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        int_text(obj)?.map(IntText).ok_or_else(|| {
            PyTypeError::new_err(format!(
                "dataset indices must be integers, not {}",
                type_name(obj)
            ))
        })
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for IntText {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        int_text(&obj)?.map(IntText).ok_or_else(|| {
            PyTypeError::new_err(format!("expected an int, not {}", type_name(&obj)))
        })
    }
}

/// `frames`: `"all"`, or an int, spelled as `--frames` takes it.
#[derive(Debug)]
pub struct FramesValue(pub String);

impl<'a, 'py> FromPyObject<'a, 'py> for FramesValue {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(FramesValue(s.to_str()?.to_string()));
        }
        int_text(&obj)?.map(FramesValue).ok_or_else(|| {
            PyTypeError::new_err(format!("expected 'all' or an int, not {}", type_name(&obj)))
        })
    }
}

/// `schedule`: a name or `custom:N,N,...`, or a list (any sequence but a string) of ints
/// spelled as `custom:` and the ints.
#[derive(Debug)]
pub struct ScheduleValue(pub String);

impl From<&str> for ScheduleValue {
    fn from(s: &str) -> Self {
        ScheduleValue(s.to_string())
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for ScheduleValue {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(ScheduleValue(s.to_str()?.to_string()));
        }
        let wrong = || {
            PyTypeError::new_err(format!(
                "expected a schedule name or a list of ints, not {}",
                type_name(&obj)
            ))
        };
        if int_text(&obj)?.is_some() || !obj.hasattr("__iter__")? {
            return Err(wrong());
        }
        let mut items = Vec::new();
        for item in obj.try_iter()? {
            let item = item?;
            items.push(int_text(&item)?.ok_or_else(|| {
                PyTypeError::new_err(format!(
                    "expected a list of ints as the schedule, found {}",
                    type_name(&item)
                ))
            })?);
        }
        Ok(ScheduleValue(format!("custom:{}", items.join(","))))
    }
}

/// `size`: `(width, height)` (any sequence of two ints), or `"WxH"` as `--size` takes it.
#[derive(Debug)]
pub struct SizeValue(pub String);

impl<'a, 'py> FromPyObject<'a, 'py> for SizeValue {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(SizeValue(s.to_str()?.to_string()));
        }
        let wrong = || {
            PyTypeError::new_err(format!(
                "expected (width, height) or 'WxH', not {}",
                type_name(&obj)
            ))
        };
        if int_text(&obj)?.is_some() || !obj.hasattr("__iter__")? {
            return Err(wrong());
        }
        let mut sides = Vec::new();
        for item in obj.try_iter()? {
            match int_text(&item?)? {
                Some(side) if sides.len() < 2 => sides.push(side),
                _ => return Err(wrong()),
            }
        }
        match sides.as_slice() {
            [w, h] => Ok(SizeValue(format!("{w}x{h}"))),
            _ => Err(wrong()),
        }
    }
}
