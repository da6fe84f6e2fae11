//! Fuzz target `mixer`: see `framemix_fuzz::mixer` for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: framemix_fuzz::mixer::MixerInput| {
    let _ = framemix_fuzz::mixer::check(&input);
});
