//! Resolving `generate`'s settings: flags, then environment variables, then defaults, with
//! the source of each kept for `config` and for error messages.

use clap::ArgMatches;
use clap::parser::ValueSource;
use mouvements::AppendOptions;
use mouvements::options::{self, DatasetSettings, GenerateOptions, Task};
use mouvements_generator::Period;
use mouvements_sink::{LakeUrl, StoreOptions, WriteMode};
use serde::Serialize;

use crate::Failure;
use crate::args::GenerateArgs;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable.
    Env(String),
    /// The built-in default.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env(var) => write!(f, "env {var}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// One resolved setting, for `config`.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    /// Its name.
    pub name: String,
    /// Its value, or `set (hidden)` for a secret.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// Everything `generate` needs, validated, and where each setting came from.
#[derive(Debug)]
pub struct GenerateSettings {
    /// The job's options.
    pub options: GenerateOptions,
    /// Every setting and its source.
    pub report: Vec<Setting>,
}

/// The run id: from `--run-id`, the job runners' execution variables, or `None`: derived from
/// the dataset, so that tasks given the same settings and no id still write one dataset
/// together.
fn resolve_run_id(flag: Option<&String>, env: &dyn Fn(&str) -> Option<String>) -> (Option<String>, Source) {
    if let Some(id) = flag {
        return (Some(id.clone()), Source::Flag);
    }
    match options::run_id_from_env(env) {
        Some((id, var)) => (Some(id), Source::Env(var.to_owned())),
        None => (None, Source::Default),
    }
}

/// The source of a clap argument.
fn source_of(matches: &ArgMatches, id: &str, env: Option<&str>) -> Source {
    match matches.value_source(id) {
        Some(ValueSource::CommandLine) => Source::Flag,
        Some(ValueSource::EnvVariable) => Source::Env(env.unwrap_or("?").to_owned()),
        _ => Source::Default,
    }
}

/// The first set variable among `vars`, parsed as a task number.
fn task_env(
    flag: Option<u32>,
    vars: &[&str],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(u32, Source)>, String> {
    if let Some(value) = flag {
        return Ok(Some((value, Source::Flag)));
    }
    for var in vars {
        if let Some(text) = env(var) {
            let value = text
                .trim()
                .parse()
                .map_err(|_| format!("{var}={text:?} is not a task number: expected a whole number"))?;
            return Ok(Some((value, Source::Env((*var).to_owned()))));
        }
    }
    Ok(None)
}

/// This task's number and the task count, from flags or the job runners' variables.
fn resolve_task(
    args: &GenerateArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Task, Source, Source), String> {
    let index = task_env(
        args.task_index,
        &["CLOUD_RUN_TASK_INDEX", "BATCH_TASK_INDEX", "JOB_COMPLETION_INDEX"],
        env,
    )?;
    let count =
        task_env(args.task_count, &["CLOUD_RUN_TASK_COUNT", "BATCH_TASK_COUNT", "JOB_COMPLETIONS"], env)?;
    // Name the flag itself in messages, not just "flag".
    let origin = |source: &Source, flag: &str| match source {
        Source::Flag => flag.to_owned(),
        other => other.to_string(),
    };
    match (index, count) {
        (None, None) => Ok((Task { index: 0, count: 1 }, Source::Default, Source::Default)),
        (None, Some((1, source))) => Ok((Task { index: 0, count: 1 }, Source::Default, source)),
        (Some((index, source)), None) => Err(format!(
            "task index {index} (from {}) needs a task count: pass --task-count (Kubernetes sets no count variable; Cloud Run sets CLOUD_RUN_TASK_COUNT)",
            origin(&source, "--task-index")
        )),
        (None, Some((count, source))) => Err(format!(
            "task count {count} (from {}) needs a task index: pass --task-index",
            origin(&source, "--task-count")
        )),
        (Some((index, is)), Some((count, cs))) => {
            if count == 0 {
                return Err(format!(
                    "task count 0 (from {}) must be at least 1",
                    origin(&cs, "--task-count")
                ));
            }
            if index >= count {
                return Err(format!(
                    "task index {index} (from {}) must be below the task count {count} (from {}): tasks are numbered from 0",
                    origin(&is, "--task-index"),
                    origin(&cs, "--task-count")
                ));
            }
            Ok((Task { index, count }, is, cs))
        }
    }
}

/// Names of environment variables whose values must never be printed.
pub fn is_secret(var: &str) -> bool {
    ["KEY", "SECRET", "TOKEN", "PASSWORD", "ACCESS_KEY_ID"].iter().any(|s| var.contains(s))
}

/// Environment variables `config` reports, by lake backend.
const ENV_REPORTED: &[&str] = &[
    "GCP_PROJECT_ID",
    "GCP_REGION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_SERVICE_ACCOUNT",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "GOOGLE_BEARER_TOKEN",
    "AWS_REGION",
    "AWS_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_USE_EMULATOR",
    "MOUVEMENTS_MAX_RETRIES",
];

/// Resolves and validates `generate`'s settings. Errors name the flag or variable at fault.
pub fn resolve(
    args: &GenerateArgs,
    matches: &ArgMatches,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<GenerateSettings, Failure> {
    let url: LakeUrl = args.base.base.parse().map_err(|e| Failure::Usage(format!("--output: {e}")))?;
    let period = match (args.month, args.from, args.to) {
        (Some((year, month)), _, _) => {
            Period::month(year, month).map_err(|e| Failure::Usage(format!("--month: {e}")))?
        }
        (None, Some(from), Some(to)) => {
            Period::new(from, to).map_err(|e| Failure::Usage(format!("--from/--to: {e}")))?
        }
        _ => Period::default(),
    };
    let given = |id: &str| source_of(matches, id, None) == Source::Flag;
    for (id, flag) in
        [("changes", "--changes"), ("late_rate", "--late-rate"), ("duplicate_rate", "--duplicate-rate")]
    {
        if given(id) && !args.append {
            return Err(Failure::Usage(format!(
                "{flag}: a first load has no earlier load to change, date rows in or deliver again: it comes with --append"
            )));
        }
    }
    let append = args.append.then(|| AppendOptions {
        period: (given("month") || given("from")).then_some(period),
        seed: given("seed").then_some(args.seed),
        first_id: given("first_id").then_some(args.first_id),
        anomaly_rate: given("anomaly_rate").then_some(args.anomaly_rate),
        format: given("format").then_some(args.format),
        layers: given("layers").then_some(args.layers),
        labels: given("labels").then_some(args.labels),
        changes: args.changes,
        late_rate: args.late_rate,
        duplicate_rate: args.duplicate_rate,
    });
    let dataset = DatasetSettings {
        rows: args.rows,
        shards: args.shards,
        seed: args.seed,
        period,
        first_id: args.first_id,
        anomaly_rate: args.anomaly_rate,
        format: args.format,
        layers: args.layers,
        labels: args.labels,
    }
    .dataset()
    .map_err(Failure::from)?;
    let config = dataset.generator;
    let (run_id, run_source) = resolve_run_id(args.run_id.as_ref(), env);

    let (task, index_source, count_source) = resolve_task(args, env).map_err(Failure::Usage)?;
    let threads =
        args.threads.map_or_else(|| options::default_threads(&url, args.layers, args.shards), |t| t as usize);
    let mode = match (args.overwrite, args.resume) {
        (true, _) => WriteMode::Overwrite,
        (_, true) => WriteMode::Resume,
        _ => WriteMode::Fresh,
    };

    let mut report = Vec::new();
    let mut add = |name: &str, value: String, source: Source| {
        report.push(Setting { name: name.to_owned(), value, source });
    };
    add("base", url.to_string(), source_of(matches, "base", Some("GCS_BUCKET_BASE")));
    add("rows", config.rows().to_string(), source_of(matches, "rows", None));
    add("shards", args.shards.to_string(), source_of(matches, "shards", None));
    add("seed", config.seed().to_string(), source_of(matches, "seed", None));
    let period_source = [source_of(matches, "month", None), source_of(matches, "from", None)]
        .into_iter()
        .find(|s| *s != Source::Default)
        .unwrap_or(Source::Default);
    add("period", format!("{} to {}", period.start, period.end), period_source);
    add("first_id", config.first_id().to_string(), source_of(matches, "first_id", None));
    add("format", args.format.name().to_owned(), source_of(matches, "format", None));
    add("layers", args.layers.to_string(), source_of(matches, "layers", None));
    add("anomaly_rate", config.anomaly_rate().to_string(), source_of(matches, "anomaly_rate", None));
    add("labels", args.labels.to_string(), source_of(matches, "labels", None));
    add("append", args.append.to_string(), source_of(matches, "append", None));
    add(
        "mode",
        mode.name().to_owned(),
        if mode == WriteMode::Fresh { Source::Default } else { Source::Flag },
    );
    let shown_id = match (&run_id, args.append) {
        (Some(id), _) => id.clone(),
        (None, false) => options::derived_run_id(&dataset),
        (None, true) => "derived from the load appended".to_owned(),
    };
    add("run_id", shown_id, run_source);
    add("task_index", task.index.to_string(), index_source);
    add("task_count", task.count.to_string(), count_source);
    let threads_source = source_of(matches, "threads", None);
    add("threads", threads.to_string(), threads_source);
    for var in ENV_REPORTED {
        if let Some(value) = env(var) {
            let shown = if is_secret(var) { "set (hidden)".to_owned() } else { value };
            add(&var.to_lowercase(), shown, Source::Env((*var).to_owned()));
        } else if var.starts_with("GCP_") {
            add(&var.to_lowercase(), "(not set)".to_owned(), Source::Default);
        }
    }

    let store = StoreOptions::from_env();
    let options = GenerateOptions { url, dataset, append, mode, run_id, task, threads, store };
    Ok(GenerateSettings { options, report })
}
