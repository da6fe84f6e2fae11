//! Where the mixing runs (`--device`): mixdata's [`mixdata::device`], and the version line
//! that names the devices this build of mixcli supports.

pub use mixdata::device::*;

/// What `mixcli --version` prints: the version and the devices this build can mix on.
pub const VERSION: &str = if CUDA_SUPPORT {
    concat!(env!("CARGO_PKG_VERSION"), " (devices: cpu, cuda)")
} else {
    concat!(env!("CARGO_PKG_VERSION"), " (devices: cpu)")
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_the_devices_of_this_build() {
        if cfg!(feature = "cuda") {
            assert!(VERSION.ends_with("(devices: cpu, cuda)"), "{VERSION}");
        } else {
            assert!(VERSION.ends_with("(devices: cpu)"), "{VERSION}");
        }
    }
}
