//! Log lines on stderr: `mouvements-gen: message` for people, or one JSON object per line
//! (severity, message, fields) that Cloud Logging parses into structured entries.

use std::io::{IsTerminal, Write};

use serde_json::{Map, Value};

use crate::args::LogFormat;

/// Where and how events are logged.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    format: LogFormat,
    quiet: bool,
}

impl Log {
    /// A log in `format`; `quiet` keeps only errors.
    pub fn new(format: LogFormat, quiet: bool) -> Self {
        Self { format, quiet }
    }

    /// Whether progress events (one per shard) are worth printing: always in JSON, in text
    /// only when stderr is not a terminal (a terminal has the progress bar).
    pub fn wants_progress(self) -> bool {
        !self.quiet && (self.format == LogFormat::Json || !std::io::stderr().is_terminal())
    }

    /// A progress event (one per shard): printed when [`Log::wants_progress`].
    pub fn progress(self, message: &str, fields: &[(&str, Value)]) {
        if self.wants_progress() {
            self.emit("INFO", message, fields);
        }
    }

    /// An informational event with structured fields.
    pub fn info(self, message: &str, fields: &[(&str, Value)]) {
        if !self.quiet {
            self.emit("INFO", message, fields);
        }
    }

    /// An error: always printed.
    pub fn error(self, message: &str) {
        self.emit("ERROR", message, &[]);
    }

    fn emit(self, severity: &str, message: &str, fields: &[(&str, Value)]) {
        let line = match self.format {
            LogFormat::Text => {
                let extra: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                if extra.is_empty() {
                    format!("mouvements-gen: {message}")
                } else {
                    format!("mouvements-gen: {message} ({})", extra.join(" "))
                }
            }
            LogFormat::Json => {
                let mut object = Map::new();
                object.insert("severity".into(), severity.into());
                object.insert("message".into(), message.into());
                for (k, v) in fields {
                    object.insert((*k).into(), v.clone());
                }
                Value::Object(object).to_string()
            }
        };
        // A closed stderr leaves nowhere to report to; the exit code still tells.
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}
