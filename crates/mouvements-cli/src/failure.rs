//! `Failure`: how a command failed, its exit code, and the advice the binary adds to a
//! library's error: the libraries say what happened, this says which flag fixes it.

use mouvements::JobError;
use mouvements_sink::{DatasetError, SinkError};

/// How a command failed, and so its exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad flags or settings: exit 2.
    Usage(String),
    /// The lake could not be reached, read or written, or refused the run: exit 2.
    Access(String),
    /// The data failed verification: exit 1 (the report says why).
    Invalid,
    /// Ctrl-C: exit 130.
    Interrupted(String),
}

impl Failure {
    /// The process exit code: 1 invalid data, 2 usage or access, 130 interrupted.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Invalid => 1,
            Failure::Usage(_) | Failure::Access(_) => 2,
            Failure::Interrupted(_) => 130,
        }
    }

    /// The message to print, if any (an invalid dataset's report is the message).
    pub fn message(&self) -> Option<&str> {
        match self {
            Failure::Usage(m) | Failure::Access(m) | Failure::Interrupted(m) => Some(m),
            Failure::Invalid => None,
        }
    }
}

impl From<SinkError> for Failure {
    /// The library's description, and what to do about it.
    fn from(e: SinkError) -> Self {
        let advice = match &e {
            SinkError::Url(_) => return Failure::Usage(format!("--output: {e}")),
            SinkError::Dataset(DatasetError::ShardCount { .. } | DatasetError::MoreShardsThanRows { .. }) => {
                return Failure::Usage(format!("--shards: {e}; give fewer shards with -s"));
            }
            SinkError::ShardTooBig { .. } => return Failure::Usage(format!("{e}; use more shards (-s)")),
            SinkError::Dataset(DatasetError::Version { .. }) => {
                "; generate it again with this version (--overwrite), or verify it with the version that wrote it"
            }
            SinkError::Dataset(
                DatasetError::PeriodOverlap { .. }
                | DatasetError::Config(_)
                | DatasetError::TooManyLoads
                | DatasetError::Events { .. },
            ) => return Failure::Usage(e.to_string()),
            SinkError::LocalNotWritable { .. } => "; choose a folder you can write to with -o",
            SinkError::NoLocalLake { .. } => {
                "; generate a dataset there first with `mouvements-gen generate -o …`"
            }
            SinkError::Exists { .. } => "; use --overwrite to replace it or --resume to complete it",
            SinkError::Claimed { .. } => {
                "; wait for it, or rerun with --resume to complete it (same settings) or --overwrite to replace it"
            }
            SinkError::Mismatch { .. } => {
                "; use --overwrite to replace it (tasks of one run must all be given the same settings)"
            }
            SinkError::Corrupt { .. } => "; remove it, or regenerate with --overwrite",
            SinkError::TakenOver { .. } => "; the newer run owns the lake now",
            SinkError::Appended { .. } => "; run the append again to add the load after it",
            SinkError::NoHistory { .. }
            | SinkError::Open { .. }
            | SinkError::Name { .. }
            | SinkError::Store { .. }
            | SinkError::Write { .. }
            | SinkError::StoreSetting { .. }
            | SinkError::Injected { .. } => "",
        };
        Failure::Access(format!("{e}{advice}"))
    }
}

impl From<JobError> for Failure {
    /// The job's description, and which flag fixes it.
    fn from(e: JobError) -> Self {
        match e {
            JobError::Setting { setting, message } if setting.bytes().all(|b| !b.is_ascii_lowercase()) => {
                Failure::Usage(format!("{setting}: {message}"))
            }
            JobError::Setting { setting, message } => {
                Failure::Usage(format!("--{}: {message}", setting.replace('_', "-")))
            }
            JobError::Config(_) => Failure::Usage(e.to_string()),
            JobError::Sink(e) => Failure::from(e),
            JobError::Write(source) => match Failure::from(source) {
                Failure::Access(message) => Failure::Access(format!(
                    "{message}\nno _SUCCESS was written; fix the cause and rerun with --resume to keep the finished shards"
                )),
                other => other,
            },
            JobError::Unseen { .. } => Failure::Access(format!("{e}, rerun with --resume")),
            JobError::NoDataset { ref url } => {
                Failure::Access(format!("{e}; generate one with `mouvements-gen generate -o {url}`"))
            }
            JobError::Interrupted => Failure::Interrupted(format!("{e}; rerun with --resume to finish")),
            JobError::Runtime(message) => Failure::Access(message),
            JobError::Html { .. } => {
                Failure::Access(format!("--html: {e}; choose a file in a folder you can write to"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_which_flag_fixes_them() {
        let exists = Failure::from(SinkError::Exists { url: "file:/l/raw".into(), what: "_SUCCESS".into() });
        assert!(exists.message().unwrap().contains("--overwrite"));
        assert_eq!(exists.exit_code(), 2);
        let shards =
            Failure::from(SinkError::Dataset(DatasetError::MoreShardsThanRows { shards: 9, rows: 3 }));
        assert!(matches!(&shards, Failure::Usage(m) if m.contains("--shards")));
    }
}
