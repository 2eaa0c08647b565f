//! `mouvements-gen`: the command line over the mouvements libraries. It parses flags, resolves
//! settings, wires the generator to the lake, and maps outcomes to exit codes: 0 success, 1
//! the data failed verification, 2 usage, configuration or access error, 130 interrupted.

mod args;
mod compose;
mod config;
mod delta_log;
mod failure;
mod generate;
mod guide;
mod log;
mod progress;
mod settings;
mod verify;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use args::{Cli, Command};
use failure::Failure;
use log::Log;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let quiet = match &cli.command {
        Command::Generate(a) | Command::Config(a) => a.output.quiet,
        Command::Verify(a) => a.output.quiet,
        Command::Guide(a) => a.output.quiet,
    };
    let log = Log::new(cli.log_format, quiet);
    let sub = matches.subcommand().map(|(_, m)| m).expect("clap requires a subcommand");
    let result = match cli.command {
        Command::Generate(args) => {
            settings::resolve(&args, sub, &env).and_then(|s| generate::run(&s, log, args.output))
        }
        Command::Config(args) => settings::resolve(&args, sub, &env).map(|s| config::run(&s, args.output)),
        Command::Verify(args) => verify::run(&args),
        Command::Guide(args) => guide::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Some(message) = failure.message() {
                log.error(message);
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The I/O runtime: two workers drive the async store clients; generation and checking run
/// on its blocking threads, `threads` of them at a time.
fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(threads + 4)
        .enable_all()
        .build()
        .map_err(|e| Failure::Access(format!("cannot start the I/O runtime: {e}")))
}

/// An environment variable, empty counting as unset.
fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

/// Prints a value as pretty JSON on stdout.
fn print_json(value: &impl serde::Serialize) {
    let text = serde_json::to_string_pretty(value).expect("reports serialise");
    let _ = writeln!(std::io::stdout(), "{text}");
}
