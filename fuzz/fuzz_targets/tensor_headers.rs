//! Fuzz target `tensor_headers`: any bytes as a `.npy` or safetensors output found on resume;
//! see `framemix_fuzz::tensor_headers::check`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = framemix_fuzz::tensor_headers::check(data);
});
