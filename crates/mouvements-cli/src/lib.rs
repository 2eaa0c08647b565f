//! `mouvements-gen`: the command line over the mouvements job library. It parses flags,
//! resolves settings, runs the job with a progress bar, logs and Ctrl-C, prints the outcome
//! and maps it to exit codes: 0 success, 1 the data failed verification, 2 usage,
//! configuration or access error, 130 interrupted. [`run`] is the whole command, for the
//! binary and for the Python package's console script alike.

mod args;
mod config;
mod failure;
mod generate;
mod guide;
mod log;
mod progress;
mod settings;
mod verify;

use std::ffi::OsString;
use std::io::Write;

use clap::{CommandFactory, FromArgMatches};

use args::{Cli, Command};
use failure::Failure;
use log::Log;

/// Runs `mouvements-gen` with `args` (the program name first); returns its exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> u8 {
    let parsed = Cli::command().try_get_matches_from(args).and_then(|matches| {
        let cli = Cli::from_arg_matches(&matches)?;
        Ok((matches, cli))
    });
    let (matches, cli) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            // `--help` and `--version` print on stdout and succeed; usage errors go to stderr.
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
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
        Ok(()) => 0,
        Err(failure) => {
            if let Some(message) = failure.message() {
                log.error(message);
            }
            failure.exit_code()
        }
    }
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
