#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod args;
pub mod atomic;
pub mod batch;
pub mod demo;
pub mod device;
pub mod error;
pub mod identity;
pub mod info;
pub mod json;
pub mod mixing;
pub mod npy;
pub mod preview;
pub mod record;
pub mod safetensors;
pub mod tensor;

pub use error::{Error, Problem, Result};

use std::process::ExitCode;

use args::{Cli, Command, MixArgs};

/// Exit status for a bad input or a failed output (also: some batch inputs failed).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status for a usage error (bad option value or combination).
pub const EXIT_USAGE: u8 = 2;

fn run_mix(args: &MixArgs) -> Result<()> {
    // `mix` is clip 0 of a one-clip list: with --epoch, its seed is the dataset rule's.
    let plan = args.data.plan_for(args.plan.config()?, 0);
    let template = args.data.template(None)?;
    let req = args.out.request(plan, args.threads)?;
    let store = args.store.store(Some(&args.output))?;
    device::check(req.device).map_err(Error::device)?;
    identity::check_mix(&args.input, &args.output, args.preview.as_deref())?;
    let npy_dest = atomic::check_output(&args.output, "-o")?;
    let preview_dest = match &args.preview {
        Some(p) => Some(atomic::check_output(p, "--preview")?),
        None => None,
    };
    if npy_dest == atomic::Destination::Stdout && preview_dest == Some(atomic::Destination::Stdout)
    {
        return Err(Error::usage(
            "-o and --preview both name standard output; give one of them a file",
        ));
    }
    for dest in std::iter::once(&npy_dest).chain(preview_dest.as_ref()) {
        let atomic::Destination::File(path) = dest else {
            continue;
        };
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
        {
            return Err(Error::io(
                dir,
                "creating the output in",
                std::io::Error::new(std::io::ErrorKind::NotFound, "the folder does not exist"),
            ));
        }
        atomic::remove_stale(path);
    }
    let input = mixdata::Source::open_with(
        &args.input,
        &mixdata::OpenOptions {
            template: template.as_ref(),
            ..mixdata::OpenOptions::default()
        },
    )?;
    let mixed = mixing::mix_input(&input, &req)?;
    if !mixed.damage.is_clean() {
        eprintln!(
            "mixcli: warning: {}: damaged input mixed anyway (--allow-damaged): {}",
            args.input.display(),
            mixed.damage
        );
    }
    mixing::write_outputs(&mixed, &req, store, &args.output, args.preview.as_deref())?;
    eprintln!(
        "mixed {} ({} frames) -> {} ({} {} {:?})",
        args.input.display(),
        mixed.frames,
        args.output.display(),
        store.format,
        store.type_name(),
        mixed.full_shape()
    );
    if let Some(p) = &args.preview {
        eprintln!("preview -> {}", p.display());
    }
    Ok(())
}

fn exit_code(e: &Error) -> ExitCode {
    if e.is_usage() {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}

/// Runs the parsed command line; prints errors as `mixcli: error: FILE: problem` and returns
/// the process's exit status (0 only when everything succeeded).
#[must_use]
pub fn run(cli: &Cli) -> ExitCode {
    mixdata::init(cli.verbose);
    let result = match &cli.command {
        Command::Mix(args) => run_mix(args),
        Command::Info(args) => info::run(args).map(|text| print!("{text}")),
        Command::Demo(args) => demo::run(&args.out_dir),
        Command::Batch(args) => match batch::run(args) {
            Ok(summary) if summary.failed == 0 => Ok(()),
            Ok(_) => return ExitCode::from(EXIT_FAILURE),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mixcli: error: {e}");
            exit_code(&e)
        }
    }
}
