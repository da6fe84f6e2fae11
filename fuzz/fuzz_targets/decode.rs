//! Fuzz target `decode`: any bytes as a video file and as a frame folder's frame through
//! mixcli's decoding front end; see `framemix_fuzz::cli::check_decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = framemix_fuzz::cli::check_decode(data);
});
