//! The element type of the arrays handed to Python (`dtype=`): `float32` as the mix wrote it,
//! or the `f32` values rounded to `float16` or bfloat16, to nearest, ties to even
//! (docs/contract.md section 10), by mixdata's [`Values`] (mixcore's rounding).
//!
//! The rounding runs without the GIL ([`Values::from_vec`] is called inside `detach`) and the
//! `f32` buffer is freed as soon as it is rounded: the caller keeps only the 16-bit values,
//! half the memory. numpy has `float16` but no bfloat16,
//! so bfloat16 values reach Python as a `uint16` array of their bit patterns.

use mixdata::values::{Dtype, Values};
use numpy::IntoPyArray;
use numpy::ndarray::{ArrayD, IxDyn};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::engine::Failure;

/// Parses a `dtype` argument: `float32`, `float16` or `bfloat16` (or `f32`, `f16`, `bf16`),
/// with mixcore's parser.
///
/// # Errors
/// An option failure naming the accepted spellings.
pub fn parse_dtype(s: &str) -> Result<Dtype, Failure> {
    s.parse::<Dtype>().map_err(|_| {
        Failure::option(
            "dtype",
            format!(
                "'{s}' is not an output dtype: use 'float32', 'float16' or 'bfloat16' \
                 (or 'f32', 'f16', 'bf16')"
            ),
        )
    })
}

/// The name Python sees: `float32`, `float16` or `bfloat16`.
#[must_use]
pub fn dtype_name(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::F32 => "float32",
        Dtype::F16 => "float16",
        Dtype::Bf16 => "bfloat16",
    }
}

/// The numpy array of shape `shape` that owns `values` (no copy): `float32`, `float16`, or
/// `uint16` holding bfloat16 bit patterns.
///
/// # Errors
/// A shape that does not fit the values (an internal error), or numpy's `view` failing.
pub fn into_array<'py>(
    values: Values,
    py: Python<'py>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let shape_error = |e: numpy::ndarray::ShapeError| {
        PyRuntimeError::new_err(format!("framemix: internal error: the output's shape: {e}"))
    };
    // Each arm moves its Vec into the numpy array (the array's base object owns it).
    match values {
        Values::F32(data) => {
            let array = ArrayD::from_shape_vec(IxDyn(shape), data).map_err(shape_error)?;
            Ok(array.into_pyarray(py).into_any())
        }
        Values::F16(bits) => {
            let array = ArrayD::from_shape_vec(IxDyn(shape), bits).map_err(shape_error)?;
            // The same memory, seen as float16 (a view: no copy).
            array
                .into_pyarray(py)
                .into_any()
                .call_method1("view", ("float16",))
        }
        Values::Bf16(bits) => {
            let array = ArrayD::from_shape_vec(IxDyn(shape), bits).map_err(shape_error)?;
            Ok(array.into_pyarray(py).into_any())
        }
    }
}
