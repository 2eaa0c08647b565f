//! `mouvements-gen`: the command line over the mouvements libraries. It parses flags,
//! resolves settings, wires the generator to the lake, and maps outcomes to exit codes:
//! 0 success, 1 the data failed verification, 2 usage, configuration or access error,
//! 130 interrupted.

mod args;
mod generate;
mod guide;
mod log;
mod progress;
mod settings;
mod verify_cmd;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use mouvements_sink::{Lake, LakeUrl, ShardFormat, StoreOptions};

use args::{Cli, Command};
use log::Log;

/// How a command failed, and so its exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad flags or settings: exit 2.
    Usage(String),
    /// The lake could not be reached, read or written: exit 2.
    Access(String),
    /// The data failed verification: exit 1 (the report says why).
    Invalid,
    /// Ctrl-C: exit 130.
    Interrupted(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Invalid => 1,
            Failure::Usage(_) | Failure::Access(_) => 2,
            Failure::Interrupted(_) => 130,
        }
    }
}

impl From<mouvements_sink::SinkError> for Failure {
    fn from(e: mouvements_sink::SinkError) -> Self {
        Failure::Access(e.to_string())
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let quiet = matches!(&cli.command, Command::Generate(g) if g.quiet);
    let log = Log::new(cli.log_format, quiet);
    let sub = matches.subcommand().map(|(_, m)| m).expect("clap requires a subcommand");
    match run(cli.command, sub, log) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            match &failure {
                Failure::Usage(m) | Failure::Access(m) | Failure::Interrupted(m) => log.error(m),
                Failure::Invalid => {}
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

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

fn print_json(value: &impl serde::Serialize) {
    let text = serde_json::to_string_pretty(value).expect("reports serialise");
    let _ = writeln!(std::io::stdout(), "{text}");
}

fn run(command: Command, matches: &clap::ArgMatches, log: Log) -> Result<(), Failure> {
    match command {
        Command::Generate(args) => {
            let settings = settings::resolve(&args, matches, &env).map_err(Failure::Usage)?;
            let summary = generate::run(&settings, log, !args.quiet && !args.json)?;
            if args.json {
                print_json(&summary);
            } else if !args.quiet {
                print_summary(&summary);
            }
            Ok(())
        }
        Command::Config(args) => {
            let settings = settings::resolve(&args, matches, &env).map_err(Failure::Usage)?;
            if args.json {
                print_json(&settings.report);
            } else {
                let mut out = String::from(
                    "setting                         value                                     source\n",
                );
                for s in &settings.report {
                    out.push_str(&format!("{:<31} {:<41} {}\n", s.name, s.value, s.source));
                }
                let _ = write!(std::io::stdout(), "{out}");
            }
            Ok(())
        }
        Command::Verify(args) => {
            let report = verify_cmd::run(&args)?;
            if args.json {
                print_json(&report);
            } else {
                let _ = write!(std::io::stdout(), "{}", report.render_text());
            }
            if report.passed() { Ok(()) } else { Err(Failure::Invalid) }
        }
        Command::Guide(base) => {
            let url: LakeUrl = base.base.parse().map_err(|e| Failure::Usage(format!("--output: {e}")))?;
            let format = committed_format(&url).unwrap_or_default();
            let _ = write!(std::io::stdout(), "{}", guide::render(&url, format));
            Ok(())
        }
    }
}

/// The shard format of the lake's committed dataset, when one can be read.
fn committed_format(url: &LakeUrl) -> Option<ShardFormat> {
    if let LakeUrl::Local(path) = url
        && !path.exists()
    {
        return None;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    runtime.block_on(async {
        let lake = Lake::open(url, &StoreOptions { max_retries: 1, ..StoreOptions::default() }).ok()?;
        let manifest = lake.survey().await.ok()?.manifest?.ok()?;
        Some(manifest.dataset.format)
    })
}

fn print_summary(s: &generate::Summary) {
    let mut out = String::new();
    if s.status == "committed" {
        out.push_str(&format!(
            "committed {}/raw: {} rows in {} files\n",
            s.base.trim_end_matches('/'),
            s.dataset_rows.unwrap_or(0),
            s.dataset_files.unwrap_or(0)
        ));
    } else {
        out.push_str(&format!(
            "task {} of {} done; waiting for shard(s) {:?} from other tasks (the last one to finish commits)\n",
            s.task.index, s.task.count, s.shards_missing
        ));
    }
    out.push_str(&format!(
        "this run: {} rows, {:.1} MB in {} shard(s) in {:.2} s ({:.2} M rows/s, {:.0} MB/s)",
        s.rows,
        s.bytes as f64 / 1e6,
        s.shards_written.len(),
        s.seconds,
        s.rows_per_second / 1e6,
        s.mb_per_second
    ));
    if !s.shards_kept.is_empty() {
        out.push_str(&format!("; kept {} shard(s) from before", s.shards_kept.len()));
    }
    out.push_str(&format!("\nmanifest: {}\n", s.manifest));
    let _ = write!(std::io::stdout(), "{out}");
}
