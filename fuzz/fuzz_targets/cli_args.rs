//! Fuzz target `cli_args`: any mixcli command line; see `framemix_fuzz::cli_args::check`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    framemix_fuzz::cli_args::check(data);
});
