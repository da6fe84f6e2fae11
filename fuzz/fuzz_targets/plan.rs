//! Fuzz target `plan`: see `framemix_fuzz::plan` for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: framemix_fuzz::plan::PlanInput| {
    let _ = framemix_fuzz::plan::check(&input);
});
