//! [`Failure`]s raised as the Python classes of `framemix/_errors.py`: `OptionError`
//! (`ValueError`), `InputError` and `InputNotFoundError` (`OSError`, `FileNotFoundError`),
//! `DeviceError` (`RuntimeError`), each with the library's message, `kind`, `path`, and for
//! `OSError`s `filename` and `errno`.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::engine::{Class, Failure};

const ERRORS: &str = "framemix._errors";

fn class<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
) -> PyResult<Bound<'py, PyType>> {
    cell.import(py, ERRORS, name).cloned()
}

/// `framemix.DamagedInputWarning`.
pub fn damaged_warning(py: Python<'_>) -> PyResult<Bound<'_, PyType>> {
    static CELL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    class(py, &CELL, "DamagedInputWarning")
}

pub(crate) fn to_pyerr(py: Python<'_>, f: Failure) -> PyErr {
    static OPTION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static INPUT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static NOT_FOUND: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static DEVICE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let cls = match f.class {
        Class::Option => class(py, &OPTION, "OptionError"),
        Class::Input if f.kind == "not_found" => class(py, &NOT_FOUND, "InputNotFoundError"),
        Class::Input => class(py, &INPUT, "InputError"),
        Class::Device => class(py, &DEVICE, "DeviceError"),
    };
    let path = f.path.as_ref().map(|p| p.as_os_str());
    match cls.and_then(|cls| cls.call1((f.message, f.kind, path, f.errno, f.reason))) {
        Ok(exception) => PyErr::from_value(exception),
        Err(e) => e,
    }
}

/// `Result<T, Failure>` as a `PyResult<T>`.
pub trait IntoPyResult<T> {
    /// Raises the failure as its Python exception.
    ///
    /// # Errors
    /// The failure, as a Python exception.
    fn into_py_result(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Failure> {
    fn into_py_result(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|f| to_pyerr(py, f))
    }
}
