//! The library's errors as the exceptions of `mouvements.errors`: the library's message, then
//! what to do in Python's words (a keyword, a `mode=`), as the CLI adds its flags.

use mouvements::JobError;
use mouvements_sink::{DatasetError, SinkError};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;

/// An exception of `mouvements.errors` named `class`, with `message`.
fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
    let made = py
        .import("mouvements.errors")
        .and_then(|module| module.getattr(class))
        .and_then(|class| class.call1((message.clone(),)));
    match made {
        Ok(exception) => PyErr::from_value(exception),
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// A bad argument: `mouvements.ArgumentError`, also a `ValueError`.
pub fn argument(py: Python<'_>, message: String) -> PyErr {
    raise(py, "ArgumentError", message)
}

/// `result`, or its error as an exception.
pub fn check<T>(py: Python<'_>, result: Result<T, JobError>) -> PyResult<T> {
    result.map_err(|e| from_job(py, e))
}

/// The exception of a job's error.
pub fn from_job(py: Python<'_>, e: JobError) -> PyErr {
    let message = e.to_string();
    match e {
        JobError::Setting { .. } | JobError::Config(_) => argument(py, message),
        JobError::Sink(sink) => from_sink(py, &sink),
        JobError::Write(sink) => {
            let (class, advice) = classify(&sink);
            let advice = if class == "StorageError" {
                "; fix the cause and rerun with mode=\"resume\" to keep the finished shards"
            } else {
                advice
            };
            raise(py, class, format!("{message}{advice}"))
        }
        JobError::Unseen { .. } => {
            raise(py, "StorageError", format!("{message}, rerun with mode=\"resume\""))
        }
        JobError::NoDataset { ref url } => {
            raise(py, "StorageError", format!("{message}; generate one with mouvements.generate({url:?})"))
        }
        JobError::Interrupted => {
            PyKeyboardInterrupt::new_err(format!("{message}; rerun with mode=\"resume\" to finish"))
        }
        JobError::Runtime(_) => raise(py, "MouvementsError", message),
        JobError::Html { .. } => {
            raise(py, "StorageError", format!("html: {message}; choose a file in a folder you can write to"))
        }
    }
}

/// The exception of a lake's error.
fn from_sink(py: Python<'_>, e: &SinkError) -> PyErr {
    let (class, advice) = classify(e);
    let message = match e {
        SinkError::Url(_) => format!("base: {e}"),
        SinkError::Dataset(DatasetError::ShardCount { .. } | DatasetError::MoreShardsThanRows { .. }) => {
            format!("shards: {e}")
        }
        SinkError::StoreSetting { .. } => format!("storage_options: {e}"),
        _ => e.to_string(),
    };
    raise(py, class, format!("{message}{advice}"))
}

/// The exception class of a lake's error, and the advice after its message.
fn classify(e: &SinkError) -> (&'static str, &'static str) {
    match e {
        SinkError::Url(_)
        | SinkError::StoreSetting { .. }
        | SinkError::Dataset(
            DatasetError::PeriodOverlap { .. }
            | DatasetError::Config(_)
            | DatasetError::TooManyLoads
            | DatasetError::Events { .. },
        ) => ("ArgumentError", ""),
        SinkError::Dataset(DatasetError::ShardCount { .. } | DatasetError::MoreShardsThanRows { .. }) => {
            ("ArgumentError", "; give fewer shards")
        }
        SinkError::ShardTooBig { .. } => ("ArgumentError", "; use more shards"),
        SinkError::Dataset(DatasetError::Version { .. }) => (
            "CorruptDatasetError",
            "; generate it again with this version (mode=\"overwrite\"), or verify it with the version that wrote it",
        ),
        SinkError::Exists { .. } => {
            ("DatasetExistsError", "; use mode=\"overwrite\" to replace it or mode=\"resume\" to complete it")
        }
        SinkError::Claimed { .. } => (
            "RunConflictError",
            "; wait for it, or rerun with mode=\"resume\" to complete it (same settings) or mode=\"overwrite\" to replace it",
        ),
        SinkError::Mismatch { .. } => (
            "RunConflictError",
            "; use mode=\"overwrite\" to replace it (tasks of one run must all be given the same settings)",
        ),
        SinkError::TakenOver { .. } => ("RunConflictError", "; the newer run owns the lake now"),
        SinkError::Appended { .. } => ("RunConflictError", "; run the append again to add the load after it"),
        SinkError::Corrupt { .. } => {
            ("CorruptDatasetError", "; remove it, or regenerate with mode=\"overwrite\"")
        }
        SinkError::LocalNotWritable { .. } => ("StorageError", "; choose a folder you can write to"),
        SinkError::NoLocalLake { .. } => {
            ("StorageError", "; generate a dataset there first with mouvements.generate")
        }
        SinkError::NoHistory { .. }
        | SinkError::Open { .. }
        | SinkError::Name { .. }
        | SinkError::Store { .. }
        | SinkError::Write { .. }
        | SinkError::Injected { .. } => ("StorageError", ""),
    }
}
