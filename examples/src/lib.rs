#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod augment;
pub mod chart;
pub mod dataset;
pub mod error;
pub mod font;
pub mod model;
pub mod ops;
pub mod output;
pub mod report;
pub mod rng;
pub mod train;
pub mod variant;
pub mod videos;

pub use error::{Error, Result};

/// Keeps freed memory in the process instead of returning it to the OS after every tensor.
///
/// Training allocates and frees megabyte-sized tensors hundreds of times per step; with
/// glibc's defaults many of them are fresh `mmap`s whose pages the kernel must fault in and
/// zero every time, which cost about a quarter of the training time here. Call once, early.
/// Does nothing on other platforms.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only changes allocator tuning parameters; it is safe to call at
        // any time, and glibc serialises it with allocations internally.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        }
    }
}
