//! The element type of the arrays handed to Python (`dtype=`): `float32` as the mix wrote it,
//! or the `f32` values rounded to `float16` or bfloat16, to nearest, ties to even
//! (docs/contract.md section 10), by mixcore's [`half::convert`](mixcore::half::convert).
//!
//! The rounding runs without the GIL ([`Values::round`] is called inside `detach`) and the
//! `f32` buffer is freed as soon as it is rounded: the caller keeps only the 16-bit values,
//! half the memory. numpy has `float16` but no bfloat16,
//! so bfloat16 values reach Python as a `uint16` array of their bit patterns.

use mixcore::{Dtype, Half};
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
    match s.parse::<Dtype>() {
        // Only the types this module hands to numpy (mixcore's list may grow).
        Ok(d @ (Dtype::F32 | Dtype::F16 | Dtype::Bf16)) => Ok(d),
        _ => Err(Failure::option(
            "dtype",
            format!(
                "'{s}' is not an output dtype: use 'float32', 'float16' or 'bfloat16' \
                 (or 'f32', 'f16', 'bf16')"
            ),
        )),
    }
}

/// The name Python sees: `float32`, `float16` or `bfloat16`.
#[must_use]
pub fn dtype_name(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::F16 => "float16",
        Dtype::Bf16 => "bfloat16",
        // F32, and nothing else: parse_dtype takes no other.
        _ => "float32",
    }
}

/// A mix's values in the element type Python asked for.
#[derive(Debug)]
pub enum Values {
    /// The `f32` values as the mix wrote them (moved, not copied).
    F32(Vec<f32>),
    /// The values rounded to `half`, as bit patterns.
    Half(Vec<u16>, Half),
}

impl Values {
    /// `data` in `dtype`: moved as it is for `f32`, else rounded into a new buffer and `data`
    /// dropped. Work for a thread without the GIL.
    #[must_use]
    pub fn round(data: Vec<f32>, dtype: Dtype) -> Self {
        match dtype.half() {
            None => Values::F32(data),
            Some(half) => Values::Half(round_half(&data, half), half),
        }
    }

    /// The numpy array of shape `shape` that owns these values (no copy): `float32`,
    /// `float16`, or `uint16` holding bfloat16 bit patterns.
    ///
    /// # Errors
    /// A shape that does not fit the values (an internal error), or numpy's `view` failing.
    pub fn into_array<'py>(self, py: Python<'py>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
        let shape_error = |e: numpy::ndarray::ShapeError| {
            PyRuntimeError::new_err(format!("framemix: internal error: the output's shape: {e}"))
        };
        match self {
            Values::F32(data) => {
                let array = ArrayD::from_shape_vec(IxDyn(shape), data).map_err(shape_error)?;
                // Moves the Vec into the numpy array (its base object owns the allocation).
                Ok(array.into_pyarray(py).into_any())
            }
            Values::Half(bits, half) => {
                let array = ArrayD::from_shape_vec(IxDyn(shape), bits).map_err(shape_error)?;
                let array = array.into_pyarray(py).into_any();
                match half {
                    // The same memory, seen as float16 (a view: no copy).
                    Half::F16 => array.call_method1("view", ("float16",)),
                    _ => Ok(array),
                }
            }
        }
    }
}

/// `data` rounded to `half`, to nearest, ties to even.
fn round_half(data: &[f32], half: Half) -> Vec<u16> {
    let mut bits = vec![0u16; data.len()];
    mixcore::half::convert(data, &mut bits, half);
    bits
}
