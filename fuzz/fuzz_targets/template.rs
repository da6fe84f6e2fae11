//! Fuzz target `template`: any text as a frame file name template; see
//! `framemix_fuzz::data::check_template`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = framemix_fuzz::data::check_template(data);
});
