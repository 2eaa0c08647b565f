//! `guide`: the library's Databricks guide for this lake, as Markdown or JSON.

use std::io::Write;

use mouvements_sink::{LakeUrl, StoreOptions};

use crate::Failure;
use crate::args::GuideArgs;

/// Prints the guide for the lake of `args` (as JSON with `--json`).
pub fn run(args: &GuideArgs) -> Result<(), Failure> {
    let url: LakeUrl = args.base.base.parse().map_err(|e| Failure::Usage(format!("--output: {e}")))?;
    let guide = mouvements::guide(&url, &StoreOptions::from_env());
    if args.output.json {
        crate::print_json(&serde_json::json!({ "base": url.to_string(), "guide": guide }));
    } else if !args.output.quiet {
        let _ = write!(std::io::stdout(), "{guide}");
    }
    Ok(())
}
