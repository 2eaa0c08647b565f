//! `JobError`: why a job could not run or finish. Messages say what happened and name the
//! value at fault; each front end adds the advice in its own words (a flag, a keyword).

use mouvements_generator::ConfigError;
use mouvements_sink::SinkError;

/// Why a job failed. A dataset that fails verification is not an error: it is a report
/// whose verdict is `fail`.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A setting has a value the job cannot take. `setting` is its neutral name
    /// (`month`, `html`, `task_index`): front ends spell it as their flag or keyword.
    #[error("{setting}: {message}")]
    Setting {
        /// The setting at fault.
        setting: &'static str,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// The rows' configuration is out of range.
    #[error("invalid generation settings: {0}")]
    Config(#[from] ConfigError),
    /// The lake refused the run, or could not be reached, read or written.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A shard could not be written; the run stopped without committing.
    #[error("{0}\nno _SUCCESS was written")]
    Write(SinkError),
    /// Every shard was written, yet the commit does not see some of them.
    #[error(
        "every shard was written but the commit does not see shard(s) {missing:?} in {url}; no _SUCCESS was written"
    )]
    Unseen {
        /// The shards the commit did not find.
        missing: Vec<u32>,
        /// The raw folder.
        url: String,
    },
    /// Nothing to verify or describe.
    #[error("no dataset at {url}: nothing under raw/, staging/ or delta/")]
    NoDataset {
        /// The lake base.
        url: String,
    },
    /// The caller cancelled the run (Ctrl-C): unfinished uploads were aborted.
    #[error("interrupted: unfinished uploads were aborted and no _SUCCESS was written")]
    Interrupted,
    /// A thread or the I/O runtime could not be started, or a thread died.
    #[error("{0}")]
    Runtime(String),
    /// The HTML report could not be written.
    #[error("writing {path} failed: {source}")]
    Html {
        /// The page's path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl JobError {
    /// A [`JobError::Setting`].
    pub fn setting(setting: &'static str, message: impl Into<String>) -> Self {
        JobError::Setting { setting, message: message.into() }
    }
}
