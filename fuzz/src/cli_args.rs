//! The whole command line (feature `cli`): any argument vector through mixcli's argument
//! parser, so every option parser (`--threads`, `--jobs`, `--size`, `--frames`, `--schedule`,
//! `--shard`, paths, and whatever is added) meets arbitrary text, including text that is not
//! UTF-8.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use clap::Parser;
use mixcli::args::{Cli, Command, MAX_JOBS, MAX_SIDE, MAX_THREADS, OutputArgs, PlanArgs};

/// At most this many arguments are taken from one input.
const MAX_ARGS: usize = 32;

/// Splits `data` into arguments at NUL bytes (a command line cannot hold NUL), after the
/// program name.
#[must_use]
pub fn argv(data: &[u8]) -> Vec<OsString> {
    std::iter::once(OsString::from("mixcli"))
        .chain(
            data.split(|&b| b == 0)
                .take(MAX_ARGS)
                .map(|a| OsString::from_vec(a.to_vec())),
        )
        .collect()
}

fn check_plan(plan: &PlanArgs) {
    assert!(plan.segments >= 1, "--segments 0 accepted");
    // The plan configuration is an error or a configuration, never a panic.
    let _ = plan.config();
}

fn check_output(out: &OutputArgs, plan: &PlanArgs) {
    for (name, size) in [("--size", out.size), ("--crop", out.crop)] {
        if let Some(size) = size {
            for side in [size.width, size.height] {
                assert!(
                    (1..=MAX_SIDE).contains(&side),
                    "{name} side {side} accepted"
                );
            }
        }
    }
    // The transform options become a request whose transform validates in the plan's mode
    // (three views exactly for --crop-mode three, else one), or a usage error: never a
    // panic, never a refusal of another kind.
    if let Ok(config) = plan.config() {
        match out.request(config, 0) {
            Ok(req) => {
                let t = req.transform;
                assert!(t.validate().is_ok(), "{t:?} accepted but does not validate");
                assert!(
                    t.check_mode(config.mode).is_ok(),
                    "{t:?} accepted in {:?}",
                    config.mode
                );
                let three = t.crop.is_some_and(|c| c.mode == mixdata::CropMode::Three);
                assert_eq!(t.views(), if three { 3 } else { 1 }, "{t:?}: views");
            }
            Err(e) => assert!(
                e.is_usage(),
                "a transform refusal that is not a usage error: {e}"
            ),
        }
    }
}

/// The `cli_args` target: `Cli::try_parse_from` on any argument vector never panics; an
/// accepted command line holds only values inside the documented limits (threads, jobs,
/// sizes, segments), turns into a plan configuration or a usage error, and its transform
/// options into a request whose transform validates or a usage error; a refused one
/// renders its message. Returns true when the command line parsed.
pub fn check(data: &[u8]) -> bool {
    match Cli::try_parse_from(argv(data)) {
        Ok(cli) => {
            match &cli.command {
                Command::Mix(a) => {
                    assert!(a.threads <= MAX_THREADS, "--threads {} accepted", a.threads);
                    check_plan(&a.plan);
                    check_output(&a.out, &a.plan);
                }
                Command::Batch(b) => {
                    assert!(b.threads <= MAX_THREADS, "--threads {} accepted", b.threads);
                    if let Some(j) = b.jobs {
                        assert!((1..=MAX_JOBS).contains(&j), "--jobs {j} accepted");
                    }
                    check_plan(&b.plan);
                    check_output(&b.out, &b.plan);
                }
                Command::Info(i) => check_plan(&i.plan),
                Command::Demo(_) => {}
            }
            true
        }
        Err(e) => {
            assert!(!e.render().to_string().is_empty(), "an empty clap message");
            false
        }
    }
}
