//! Without the `cuda` feature the crate builds, and every entry point says why it cannot work.
#![cfg(not(feature = "cuda"))]

use mixcuda::{Error, Gpu};

#[test]
fn without_cuda_feature_entry_points_report_it() {
    assert_eq!(Gpu::new(0).err(), Some(Error::NotCompiledWithCudaSupport));
    assert_eq!(Gpu::device_count(), Err(Error::NotCompiledWithCudaSupport));
    let e = Error::NotCompiledWithCudaSupport;
    assert!(e.is_no_device());
    assert!(e.to_string().contains("`cuda` feature"));
}
