//! Concurrency, as a Cloud Run job meets it: the tasks of one execution started together, on a
//! local lake and on the GCS fake, writing a fresh dataset, overwriting another configuration,
//! overwriting the same one, and resuming an interrupted one. Every trial: every task exits 0,
//! exactly one dataset is committed, `verify` passes, and no unfinished upload is left. Then
//! two runs of different configurations started together: at most one commits.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use common::{mouvements_gen, mouvements_gen_process, scratch, tree};
use mouvements_gcs_fake::FakeGcs;

/// Trials per case.
const TRIALS: usize = 20;
/// The dataset every trial writes: small, so a trial takes a fraction of a second.
const ROWS: &str = "3000";
const SHARDS: &str = "7";

/// Where the trials write: a local folder, or a prefix on the GCS fake.
enum Store<'a> {
    Local(&'a Path),
    Gcs(&'a FakeGcs, String),
}

impl Store<'_> {
    fn base(&self) -> String {
        match self {
            Store::Local(path) => path.to_string_lossy().into_owned(),
            Store::Gcs(fake, prefix) => format!("gs://{}/{prefix}", fake.bucket()),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = mouvements_gen_process();
        if let Store::Gcs(fake, _) = self {
            cmd.env("GOOGLE_SERVICE_ACCOUNT_KEY", fake.service_account_json());
        }
        cmd
    }

    /// Runs `generate` to completion with `args`.
    fn generate(&self, args: &[&str], envs: &[(&str, String)]) -> Output {
        let mut cmd = self.command();
        cmd.args(["generate", "-q", "-o", &self.base()]).args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Starts the `count` tasks of execution `run` together.
    fn start_tasks(&self, count: usize, run: &str, args: &[&str]) -> Vec<Child> {
        (0..count)
            .map(|index| {
                let mut cmd = self.command();
                cmd.args(["generate", "-q", "-n", ROWS, "-s", SHARDS, "-o", &self.base()])
                    .args(args)
                    .env("CLOUD_RUN_TASK_INDEX", index.to_string())
                    .env("CLOUD_RUN_TASK_COUNT", count.to_string())
                    .env("CLOUD_RUN_EXECUTION", run)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped());
                cmd.spawn().unwrap()
            })
            .collect()
    }

    /// The committed manifest, if any.
    fn manifest(&self) -> Option<serde_json::Value> {
        let (bytes, success) = match self {
            Store::Local(path) => {
                (std::fs::read(path.join("raw/_manifest.json")).ok(), path.join("raw/_SUCCESS").exists())
            }
            Store::Gcs(fake, prefix) => (
                fake.object(&format!("{prefix}/raw/_manifest.json")),
                fake.object(&format!("{prefix}/raw/_SUCCESS")).is_some(),
            ),
        };
        success.then(|| serde_json::from_slice(&bytes?).ok()).flatten()
    }

    /// Whether an unfinished upload is left: a local `name#N` file, or an open multipart upload.
    fn leftovers(&self) -> Vec<String> {
        match self {
            Store::Local(path) => tree(path).into_keys().filter(|n| n.contains('#')).collect(),
            Store::Gcs(fake, _) => (0..fake.open_uploads()).map(|i| format!("open upload {i}")).collect(),
        }
    }

    fn verify(&self) -> Output {
        self.command().args(["verify", "--json", "-o", &self.base()]).output().unwrap()
    }
}

/// How the lake looks before the tasks start, and the mode they run in.
#[derive(Debug, Clone, Copy)]
enum Case {
    Fresh,
    OverwriteOther,
    OverwriteSame,
    Resume,
}

impl Case {
    const ALL: [Case; 4] = [Case::Fresh, Case::OverwriteOther, Case::OverwriteSame, Case::Resume];

    /// Prepares the lake and returns the tasks' extra flags.
    fn prepare(self, store: &Store<'_>) -> &'static [&'static str] {
        let old = [("CLOUD_RUN_EXECUTION", "old-execution".to_owned())];
        match self {
            Case::Fresh => &[],
            Case::OverwriteOther => {
                assert!(store.generate(&["-n", "2000", "-s", "5", "--seed", "9"], &old).status.success());
                &["--overwrite"]
            }
            Case::OverwriteSame => {
                assert!(store.generate(&["-n", ROWS, "-s", SHARDS], &old).status.success());
                &["--overwrite"]
            }
            Case::Resume => {
                let fault = [old[0].clone(), ("MOUVEMENTS_FAULT", "shard-recorded#3=fail".to_owned())];
                let failed = store.generate(&["-n", ROWS, "-s", SHARDS, "-j", "1"], &fault);
                assert_eq!(failed.status.code(), Some(2), "{}", String::from_utf8_lossy(&failed.stderr));
                &["--resume"]
            }
        }
    }
}

/// One trial: the tasks of one execution on a prepared lake.
fn trial(store: &Store<'_>, case: Case, tasks: usize, number: usize) {
    let flags = case.prepare(store);
    let run = format!("execution-{number}");
    let outputs: Vec<Output> =
        store.start_tasks(tasks, &run, flags).into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for (index, output) in outputs.iter().enumerate() {
        assert!(
            output.status.success(),
            "{case:?}, {tasks} tasks, trial {number}: task {index} exited {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let manifest =
        store.manifest().unwrap_or_else(|| panic!("{case:?} trial {number}: no committed dataset"));
    assert_eq!(manifest["loads"][0]["run_id"], run.as_str(), "{case:?} trial {number}");
    assert_eq!(manifest["rows"], 3000);
    let verify = store.verify();
    assert!(verify.status.success(), "{case:?} trial {number}: {}", String::from_utf8_lossy(&verify.stdout));
    assert_eq!(store.leftovers(), Vec::<String>::new(), "{case:?} trial {number}");
}

fn race_on_local_lakes(tasks: usize) {
    for case in Case::ALL {
        for number in 0..TRIALS {
            let (_dir, lake) = scratch();
            trial(&Store::Local(&lake), case, tasks, number);
        }
    }
}

fn race_on_gcs(tasks: usize) {
    let fake = FakeGcs::start("test-bucket").unwrap();
    for case in Case::ALL {
        for number in 0..TRIALS {
            trial(&Store::Gcs(&fake, format!("{case:?}-{tasks}-{number}")), case, tasks, number);
        }
    }
}

#[test]
fn three_tasks_of_one_execution_always_commit_one_dataset_on_a_local_lake() {
    race_on_local_lakes(3);
}

#[test]
fn seven_tasks_of_one_execution_always_commit_one_dataset_on_a_local_lake() {
    race_on_local_lakes(7);
}

#[test]
fn three_tasks_of_one_execution_always_commit_one_dataset_on_gcs() {
    race_on_gcs(3);
}

#[test]
fn seven_tasks_of_one_execution_always_commit_one_dataset_on_gcs() {
    race_on_gcs(7);
}

#[test]
fn of_two_runs_with_different_settings_started_together_at_most_one_commits() {
    for number in 0..TRIALS {
        let (_dir, lake) = scratch();
        let start = |first_id: &str| {
            let mut cmd = mouvements_gen_process();
            cmd.args(["generate", "-q", "-n", "200k", "-s", "4", "--first-id", first_id, "-o"])
                .arg(&lake)
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            cmd.spawn().unwrap()
        };
        let (a, b) = (start("1"), start("2"));
        let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let committed = outputs.iter().filter(|o| o.status.success()).count();
        assert!(committed <= 1, "trial {number}: both runs committed");
        for output in outputs.iter().filter(|o| !o.status.success()) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "trial {number}: {stderr}");
            assert!(
                stderr.contains("claimed by run") || stderr.contains("already holds"),
                "trial {number}: {stderr}"
            );
        }
        if lake.join("raw/_SUCCESS").exists() {
            let verify = mouvements_gen().args(["verify", "-q", "-o"]).arg(&lake).output().unwrap();
            assert!(verify.status.success(), "trial {number}: the committed dataset fails verify");
        }
    }
}
