//! The device a GPU test runs on, or a printed skip. Included by path (`#[path] mod`) by
//! tests/device.rs and by the unit tests in src/device_tests.rs, whose module has `Gpu` in
//! scope.

use std::io::Write as _;

use super::Gpu;

/// Device 0, or `None` after printing `<test>: skipped: <why>` when there is no CUDA device.
/// With `FRAMEMIX_REQUIRE_GPU=1` (scripts/gpu-check.sh sets it) a missing device fails
/// instead, so a GPU run can never pass by skipping.
///
/// # Panics
/// When a device is required but missing, or the driver fails in any other way.
pub fn gpu(test: &str) -> Option<Gpu> {
    let required = std::env::var("FRAMEMIX_REQUIRE_GPU").as_deref() == Ok("1");
    let why = match Gpu::device_count() {
        Ok(0) => "no CUDA device found (the driver reports 0 devices)".to_string(),
        Ok(_) => {
            return Some(Gpu::new(0).unwrap_or_else(|e| panic!("{test}: opening device 0: {e}")));
        }
        Err(e) if e.is_no_device() => format!("no CUDA device found ({e})"),
        Err(e) => panic!("{test}: the CUDA driver failed: {e}"),
    };
    assert!(!required, "{test}: FRAMEMIX_REQUIRE_GPU=1 but {why}");
    // Straight to stderr, past the test harness's capture, so the skip is always visible.
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {why}");
    None
}
