//! `verify`: opens the lake read-only and runs the verifier; the HTML page written whole or
//! not at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mouvements_sink::{Lake, LakeUrl, StoreOptions};
use mouvements_verify::{Report, VerifyError, VerifyOptions};

use crate::JobError;

/// Verifies the dataset at `url`: every layer, with the statistics and sample `options` ask
/// for. A dataset that breaks rules is a report whose verdict is `fail`, not an error. Runs on
/// the caller's tokio runtime; never writes to the lake.
pub async fn verify(
    url: &LakeUrl,
    options: &VerifyOptions,
    store: &StoreOptions,
) -> Result<Report, JobError> {
    let lake = Arc::new(Lake::open(url, store)?);
    mouvements_verify::verify(lake, options).await.map_err(|e| match e {
        VerifyError::Sink(e) => JobError::Sink(e),
        VerifyError::NoDataset { url } => JobError::NoDataset { url },
    })
}

/// Checks that an HTML report can be written at `path` before the run: its folder must exist
/// and it must not be a folder itself.
pub fn html_target(path: &Path) -> Result<PathBuf, JobError> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(JobError::setting(
            "html",
            format!("{} is a folder; name a file such as report.html", path.display()),
        ));
    }
    if !folder.is_dir() {
        return Err(JobError::setting(
            "html",
            format!("folder {} does not exist; create it or choose another file", folder.display()),
        ));
    }
    Ok(path.to_path_buf())
}

/// Writes `report` as one self-contained HTML page at `path`, through a temporary file in the
/// same folder and a rename: a reader never sees half a page, and an old page stays whole
/// when writing fails.
pub fn write_html(report: &Report, path: &Path) -> Result<(), JobError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::write(&temporary, report.render_html().as_bytes())
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map_err(|source| JobError::Html { path: path.display().to_string(), source })
}
