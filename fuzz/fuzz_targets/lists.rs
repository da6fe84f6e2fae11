//! Fuzz target `lists`: any text as an annotation list of the format its first byte picks
//! (video, rawframes, sthv1, sthv2), with a label file after the first NUL; see
//! `framemix_fuzz::data::check_lists`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = framemix_fuzz::data::check_lists(data);
});
