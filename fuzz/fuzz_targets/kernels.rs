//! Fuzz target `kernels`: see `framemix_fuzz::kernels` for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: framemix_fuzz::kernels::KernelsInput| {
    let _ = framemix_fuzz::kernels::check(&input);
});
