//! `verify`: the library's verification, its report printed and, with `--html`, written as a
//! page.

use std::io::Write;

use mouvements_sink::{LakeUrl, StoreOptions};
use mouvements_verify::VerifyOptions;

use crate::Failure;
use crate::args::VerifyArgs;

/// Runs `verify`; a dataset that fails verification is `Failure::Invalid`, after the report.
pub fn run(args: &VerifyArgs) -> Result<(), Failure> {
    let url: LakeUrl = args.base.base.parse().map_err(|e| Failure::Usage(format!("--output: {e}")))?;
    let options = VerifyOptions {
        sample: args.sample.map(|n| n as usize),
        stats: args.stats || args.html.is_some(),
        stats_layer: args.stats_layer,
        threads: args.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            |t| t as usize,
        ),
    };
    let html = args.html.as_deref().map(mouvements::html_target).transpose()?;
    let runtime = mouvements::runtime(options.threads)?;
    let report = runtime.block_on(mouvements::verify(&url, &options, &StoreOptions::from_env()))?;
    if args.output.json {
        crate::print_json(&report);
    } else if !args.output.quiet {
        // `--html` alone computes statistics for the page; the terminal shows them on `--stats`.
        let text = if args.stats || report.stats.is_none() {
            report.render_text()
        } else {
            mouvements_verify::Report { stats: None, ..report.clone() }.render_text()
        };
        let _ = write!(std::io::stdout(), "{text}");
    }
    if let Some(path) = html {
        mouvements::write_html(&report, &path)?;
        if !args.output.quiet {
            eprintln!("HTML report written to {}", path.display());
        }
    }
    if report.passed() { Ok(()) } else { Err(Failure::Invalid) }
}
