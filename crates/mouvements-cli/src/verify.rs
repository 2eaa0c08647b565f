//! `verify`: opens the lake read-only, runs the verifier, prints the report and, with
//! `--html`, writes it as a page.

use std::io::Write;
use std::path::{Path, PathBuf};
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
        stats: args.stats || args.html.is_some(),
        stats_layer: args.stats_layer,
        threads: args.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            |t| t as usize,
        ),
    };
    let html = args.html.as_deref().map(html_target).transpose()?;
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
        // `--html` alone computes statistics for the page; the terminal shows them on `--stats`.
        let text = if args.stats || report.stats.is_none() {
            report.render_text()
        } else {
            mouvements_verify::Report { stats: None, ..report.clone() }.render_text()
        };
        let _ = write!(std::io::stdout(), "{text}");
    }
    if let Some(path) = html {
        write_atomically(&path, report.render_html().as_bytes()).map_err(|e| {
            Failure::Access(format!(
                "--html: writing {} failed: {e}; choose a file in a folder you can write to",
                path.display()
            ))
        })?;
        if !args.output.quiet {
            eprintln!("HTML report written to {}", path.display());
        }
    }
    if report.passed() { Ok(()) } else { Err(Failure::Invalid) }
}

/// The `--html` file, checked before the run: its folder must exist and it must not be one.
fn html_target(path: &Path) -> Result<PathBuf, Failure> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(Failure::Usage(format!(
            "--html: {} is a folder; name a file such as report.html",
            path.display()
        )));
    }
    if !folder.is_dir() {
        return Err(Failure::Usage(format!(
            "--html: folder {} does not exist; create it or choose another file",
            folder.display()
        )));
    }
    Ok(path.to_path_buf())
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees half a page and an old page stays whole when writing fails.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}
