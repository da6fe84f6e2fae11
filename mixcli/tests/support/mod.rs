//! Helpers of mixcli's end-to-end tests (each `cli_*.rs` has `mod support;`): running the
//! binary cargo built for these tests (`CARGO_BIN_EXE_mixcli`, with whatever features the
//! test run was given: `cargo test -p mixcli --features cuda` tests the CUDA build), plus the
//! shared helpers of `framemix-testkit` (temporary folders, media made with the `ffmpeg`
//! program, reference frames decoded independently, mixcore's reference mix, bit
//! comparisons).
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub use framemix_testkit::*;

/// The `mixcli` binary under test.
pub fn mixcli() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mixcli"))
}

/// True when the binary under test was built with the `cuda` feature.
pub fn cuda_build() -> bool {
    cfg!(feature = "cuda")
}

/// Runs mixcli with `args`.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_bin(mixcli(), args)
}

/// Runs the mixcli binary `bin` with `args`.
pub fn run_bin<I, S>(bin: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running mixcli")
}

/// Runs mixcli and asserts success; returns stdout.
pub fn run_ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = run(args);
    assert!(
        out.status.success(),
        "mixcli failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs mixcli and asserts failure with exit status 1; returns stderr.
pub fn run_err<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "mixcli should fail with status 1:\nstdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("mixcli: error: "), "{stderr}");
    stderr
}
