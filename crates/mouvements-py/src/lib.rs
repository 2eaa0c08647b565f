//! `mouvements._native`: the Python bindings, a thin layer over the job library. Keyword
//! arguments become the library's options (`args`), its errors become the exceptions of
//! `mouvements.errors` with the library's messages and advice in Python's words (`errors`),
//! jobs run on a thread of their own while the caller waits without the GIL, interruptible
//! (`job`), and rows leave as Arrow streams through the PyCapsule interface (`rows`).
//! The Python side (`python/mouvements`) holds the docstrings, defaults and result classes.

mod args;
mod documents;
mod errors;
mod job;
mod rows;

use std::ffi::OsString;
use std::sync::Arc;

use mouvements::{Control, GenerateOptions, VerifyOptions};
use pyo3::prelude::*;

/// Generates a dataset; returns the summary: the fields `generate --json` prints, as a dict.
#[pyfunction]
#[pyo3(signature = (base, rows, shards, seed, month, start, end, first_id, layers, format, anomaly_rate,
                    labels, changes, late_rate, duplicate_rate, mode, run_id, task_index, task_count, threads, storage_options, progress))]
#[allow(clippy::too_many_arguments)] // the Python signature's keywords, one each
fn generate<'py>(
    py: Python<'py>,
    base: &str,
    rows: &Bound<'_, PyAny>,
    shards: &Bound<'_, PyAny>,
    seed: Option<&Bound<'_, PyAny>>,
    month: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
    first_id: Option<&Bound<'_, PyAny>>,
    layers: Option<&str>,
    format: Option<&str>,
    anomaly_rate: Option<f64>,
    labels: Option<bool>,
    changes: f64,
    late_rate: f64,
    duplicate_rate: f64,
    mode: &str,
    run_id: Option<&str>,
    task_index: &Bound<'_, PyAny>,
    task_count: &Bound<'_, PyAny>,
    threads: Option<&Bound<'_, PyAny>>,
    storage_options: Option<&Bound<'_, PyAny>>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    // Settings left out (None) take the CLI's defaults, or the lake's for an append.
    let named = mouvements::AppendOptions {
        period: args::period(py, month, start, end)?,
        seed: seed.map(|s| args::whole(py, "seed", s)).transpose()?,
        first_id: first_id.map(|f| args::whole(py, "first_id", f)).transpose()?,
        anomaly_rate,
        format: format.map(|f| args::parsed(py, "format", f.parse())).transpose()?,
        layers: layers.map(|l| args::parsed(py, "layers", l.parse())).transpose()?,
        labels,
        changes,
        late_rate,
        duplicate_rate,
    };
    let defaults = mouvements::DatasetSettings::default();
    let settings = mouvements::DatasetSettings {
        rows: args::rows(rows)?,
        shards: args::whole(py, "shards", shards)?,
        seed: named.seed.unwrap_or(defaults.seed),
        period: named.period.unwrap_or(defaults.period),
        first_id: named.first_id.unwrap_or(defaults.first_id),
        anomaly_rate: named.anomaly_rate.unwrap_or(defaults.anomaly_rate),
        format: named.format.unwrap_or(defaults.format),
        layers: named.layers.unwrap_or(defaults.layers),
        labels: named.labels.unwrap_or(defaults.labels),
    };
    let dataset = errors::check(py, settings.dataset())?;
    let url = args::url(py, base)?;
    let mut options = GenerateOptions::new(url, dataset);
    let (mode, append) = args::mode(py, mode)?;
    options.mode = mode;
    for (name, rate) in [("changes", changes), ("late_rate", late_rate), ("duplicate_rate", duplicate_rate)] {
        if !append && rate != 0.0 {
            let message = format!(
                "{name}: only an appended load has an earlier load to change, date rows in or deliver again: give mode=\"append\""
            );
            return Err(errors::argument(py, message));
        }
    }
    options.append = append.then_some(named);
    // Keywords only: the job runners' variables (run id, task) are the command's to read.
    if let Some(id) = run_id {
        options.run_id = Some(args::parsed(py, "run_id", mouvements::options::parse_run_id(id))?);
    }
    let task = mouvements::Task::new(
        args::whole(py, "task_index", task_index)?,
        args::whole(py, "task_count", task_count)?,
    );
    options.task = errors::check(py, task)?;
    if let Some(threads) = threads {
        options.threads = args::threads(py, threads)?;
    }
    options.store = args::store(py, storage_options)?;
    let control = Arc::new(Control::new(progress.is_some()));
    let running = Arc::clone(&control);
    let summary = job::run(py, &control, progress.as_ref(), job::OnInterrupt::Cancel, move || {
        let runtime = mouvements::runtime(options.threads)?;
        runtime.block_on(mouvements::generate(&options, &running))
    })?;
    documents::to_python(py, &summary)
}

/// A verification report, as the library gives it.
#[pyclass(frozen, module = "mouvements._native")]
struct Report(mouvements::Report);

#[pymethods]
impl Report {
    /// Whether every rule held.
    fn passed(&self) -> bool {
        self.0.passed()
    }

    /// The report: the fields `verify --json` prints, as a dict.
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        documents::to_python(py, &self.0)
    }

    /// The report as `verify` prints it.
    fn text(&self) -> String {
        self.0.render_text()
    }

    /// The report as one self-contained HTML page.
    fn html(&self) -> String {
        self.0.render_html()
    }
}

/// Verifies the dataset at `base`.
#[pyfunction]
#[pyo3(signature = (base, stats, sample, html, threads, storage_options))]
fn verify(
    py: Python<'_>,
    base: &str,
    stats: bool,
    sample: &Bound<'_, PyAny>,
    html: Option<std::path::PathBuf>,
    threads: Option<&Bound<'_, PyAny>>,
    storage_options: Option<&Bound<'_, PyAny>>,
) -> PyResult<Report> {
    let url = args::url(py, base)?;
    let sample: usize = args::whole(py, "sample", sample)?;
    let threads = match threads {
        Some(threads) => args::threads(py, threads)?,
        None => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
    };
    let options = VerifyOptions {
        sample: (sample > 0).then_some(sample.min(100_000)),
        stats: stats || html.is_some(),
        stats_layer: None,
        threads,
    };
    let html = html.map(|path| errors::check(py, mouvements::html_target(&path))).transpose()?;
    let store = args::store(py, storage_options)?;
    let control = Arc::new(Control::default());
    let running = Arc::clone(&control);
    let report = job::run(
        py,
        &control,
        None,
        job::OnInterrupt::Abandon("interrupted: the verification stopped (it writes nothing to the lake)"),
        move || {
            let runtime = mouvements::runtime(options.threads)?;
            let report = runtime.block_on(mouvements::verify(&url, &options, &store))?;
            // An abandoned verification writes no page after the caller has moved on.
            if let Some(path) = html.filter(|_| !running.is_cancelled()) {
                mouvements::write_html(&report, &path)?;
            }
            Ok(report)
        },
    )?;
    Ok(Report(report))
}

/// The Databricks guide for the lake at `base`, as Markdown.
#[pyfunction]
#[pyo3(signature = (base, storage_options))]
fn guide(py: Python<'_>, base: &str, storage_options: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
    let url = args::url(py, base)?;
    let store = args::store(py, storage_options)?;
    Ok(py.detach(|| mouvements::guide(&url, &store)))
}

/// A row count from its text (`10M`, `250k`, `10_000_000`), as the command reads `--rows`.
#[pyfunction]
fn parse_rows(py: Python<'_>, text: &str) -> PyResult<u64> {
    args::parsed(py, "rows", mouvements::options::parse_rows(text))
}

/// Runs the `mouvements-gen` command with `argv` (the program name first); returns its exit
/// code. The command is the binary's own, linked in: same flags, output and exit codes.
#[pyfunction]
fn cli(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    py.detach(|| mouvements_cli::run(argv))
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_ROWS", mouvements_generator::MAX_ROWS)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(guide, m)?)?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add_function(wrap_pyfunction!(parse_rows, m)?)?;
    m.add_function(wrap_pyfunction!(rows::rows, m)?)?;
    m.add_class::<Report>()?;
    m.add_class::<rows::RowStream>()?;
    Ok(())
}
