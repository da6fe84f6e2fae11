//! Fuzz target `shard_arg`: `--shard TEXT`; see `framemix_fuzz::cli::check_shard`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    framemix_fuzz::cli::check_shard(data);
});
