//! `verify`: opens the lake read-only, runs the verifier, prints the report.

use std::io::Write;
use std::sync::Arc;

use mouvements_sink::{Lake, LakeUrl, StoreOptions};
use mouvements_verify::{VerifyError, VerifyOptions};

use crate::Failure;
use crate::args::VerifyArgs;

/// Runs `verify`; a dataset that fails verification is `Failure::Invalid`, after the report.
pub fn run(args: &VerifyArgs) -> Result<(), Failure> {
    let url: LakeUrl = args.base.base.parse().map_err(|e| Failure::Usage(format!("--output: {e}")))?;
    let options = VerifyOptions {
        sample: args.sample.map(|n| n as usize),
        stats: args.stats,
        stats_layer: args.stats_layer,
        threads: args.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            |t| t as usize,
        ),
    };
    let report = crate::runtime(options.threads)?.block_on(async {
        let lake = Arc::new(Lake::open(&url, &StoreOptions::from_env())?);
        mouvements_verify::verify(lake, &options).await.map_err(|e| match e {
            VerifyError::Sink(e) => Failure::from(e),
            VerifyError::NoDataset { .. } => {
                Failure::Access(format!("{e}; generate one with `mouvements-gen generate -o {url}`"))
            }
        })
    })?;
    if args.output.json {
        crate::print_json(&report);
    } else if !args.output.quiet {
        let _ = write!(std::io::stdout(), "{}", report.render_text());
    }
    if report.passed() { Ok(()) } else { Err(Failure::Invalid) }
}
