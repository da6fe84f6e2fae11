//! `mixcli`: Frame Mix-up from the command line. The work is in the library (`mixcli::run`).
use clap::Parser;

fn main() -> std::process::ExitCode {
    mixcli::run(&mixcli::args::Cli::parse())
}
