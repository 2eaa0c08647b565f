//! `verify`: opens the lake, runs the verifier, prints the report.

use std::sync::Arc;

use mouvements_sink::{Lake, LakeUrl, StoreOptions};
use mouvements_verify::{Report, VerifyError, VerifyOptions};

use crate::Failure;
use crate::args::VerifyArgs;

/// Runs `verify`; a dataset that fails verification is `Failure::Invalid` with the report.
pub fn run(args: &VerifyArgs) -> Result<Report, Failure> {
    let url: LakeUrl = args.base.base.parse().map_err(|e| Failure::Usage(format!("--output: {e}")))?;
    let options = VerifyOptions {
        sample: args.sample.map(|n| n as usize),
        stats: args.stats,
        threads: args.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            |t| t as usize,
        ),
    };
    crate::runtime(options.threads)?.block_on(async {
        if let LakeUrl::Local(path) = &url
            && !path.exists()
        {
            return Err(Failure::Access(format!(
                "no dataset at {}: the folder does not exist; generate one with `mouvements-gen generate -o {url}`",
                path.display()
            )));
        }
        let lake = Arc::new(Lake::open(&url, &StoreOptions::from_env()).map_err(|e| Failure::Access(e.to_string()))?);
        mouvements_verify::verify(lake, &options).await.map_err(|e| match e {
            VerifyError::NoDataset { .. } | VerifyError::Sink(_) => Failure::Access(e.to_string()),
        })
    })
}
