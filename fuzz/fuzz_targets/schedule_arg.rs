//! Fuzz target `schedule_arg`: `--schedule TEXT`; see `framemix_fuzz::cli::check_schedule`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    framemix_fuzz::cli::check_schedule(data);
});
