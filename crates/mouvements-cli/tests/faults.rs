//! Faults at every step of the protocol, and a real SIGKILL mid-shard: a failed or killed task
//! leaves no `_SUCCESS`, and a retry of the same run (or a later `--resume`) completes to the
//! bytes of a clean run, leaving no other object in the lake.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{mouvements_gen, mouvements_gen_process, scratch, tree};
use mouvements_gcs_fake::FakeGcs;

/// The protocol steps a fault can follow, for a dataset of three shards.
const STEPS: [&str; 8] = [
    "claimed",
    "cleared",
    "shard-stored#2",
    "shard-recorded#2",
    "stale-removed",
    "manifest-written",
    "staging-marked",
    "delta-committed",
];

const ARGS: [&str; 8] = ["generate", "-q", "-n", "20000", "-s", "3", "-j", "1"];

fn generate(lake: &Path, extra: &[&str], fault: Option<&str>) -> std::process::Output {
    let mut cmd = mouvements_gen();
    cmd.args(ARGS).arg("-o").arg(lake).args(extra);
    if let Some(fault) = fault {
        cmd.env("MOUVEMENTS_FAULT", fault);
    }
    cmd.output().unwrap()
}

/// Every file of a clean run's lake.
fn clean_tree() -> BTreeMap<String, Vec<u8>> {
    let (_dir, lake) = scratch();
    assert!(generate(&lake, &[], None).status.success());
    tree(&lake)
}

/// The data files of a tree: what readers see, without the run's bookkeeping.
fn data(tree: &BTreeMap<String, Vec<u8>>) -> BTreeMap<&str, &[u8]> {
    tree.iter()
        .filter(|(name, _)| !name.split('/').any(|part| part.starts_with('_')))
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .collect()
}

#[test]
fn a_failure_after_any_step_commits_nothing_and_a_retry_of_the_run_gives_a_clean_run() {
    let clean = clean_tree();
    for step in STEPS {
        let (_dir, lake) = scratch();
        let failed = generate(&lake, &[], Some(&format!("{step}=fail")));
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert_eq!(failed.status.code(), Some(2), "{step}: {stderr}");
        assert!(stderr.contains("fault injected"), "{step}: {stderr}");
        assert!(!lake.join("raw/_SUCCESS").exists(), "{step}: _SUCCESS written");

        let retried = generate(&lake, &[], None);
        assert!(retried.status.success(), "{step}: {}", String::from_utf8_lossy(&retried.stderr));
        assert_eq!(tree(&lake), clean, "{step}: the retried run differs from a clean one");
    }
}

#[test]
fn a_failure_after_any_step_is_completed_by_resume_from_another_run() {
    let clean = clean_tree();
    for step in STEPS {
        let (_dir, lake) = scratch();
        assert_eq!(generate(&lake, &[], Some(&format!("{step}=fail"))).status.code(), Some(2), "{step}");
        let resumed = generate(&lake, &["--resume", "--run-id", "the-next-one"], None);
        assert!(resumed.status.success(), "{step}: {}", String::from_utf8_lossy(&resumed.stderr));
        let after = tree(&lake);
        assert_eq!(data(&after), data(&clean), "{step}: the resumed data differ from a clean run's");
        let verify = mouvements_gen().args(["verify", "-q", "-o"]).arg(&lake).output().unwrap();
        assert!(verify.status.success(), "{step}");
    }
}

#[test]
fn a_failure_after_any_step_on_gcs_leaves_no_upload_and_a_retry_completes() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    let key = fake.service_account_json();
    let run = |prefix: &str, fault: Option<&str>| {
        let mut cmd = mouvements_gen();
        cmd.args(ARGS)
            .args(["-o", &format!("gs://test-bucket/{prefix}")])
            .env("GOOGLE_SERVICE_ACCOUNT_KEY", &key);
        if let Some(fault) = fault {
            cmd.env("MOUVEMENTS_FAULT", fault);
        }
        cmd.output().unwrap()
    };
    assert!(run("clean", None).status.success());
    let objects = |prefix: &str| -> BTreeMap<String, Vec<u8>> {
        fake.object_names()
            .into_iter()
            .filter_map(|n| n.strip_prefix(&format!("{prefix}/")).map(str::to_owned))
            .map(|n| {
                let bytes = fake.object(&format!("{prefix}/{n}")).unwrap();
                (n, bytes)
            })
            .collect()
    };
    let clean = objects("clean");
    for step in STEPS {
        let prefix = step.replace('#', "-");
        assert_eq!(run(&prefix, Some(&format!("{step}=fail"))).status.code(), Some(2), "{step}");
        assert!(fake.object(&format!("{prefix}/raw/_SUCCESS")).is_none(), "{step}");
        assert_eq!(fake.open_uploads(), 0, "{step}: an upload was left open");
        assert!(run(&prefix, None).status.success(), "{step}");
        assert_eq!(objects(&prefix), clean, "{step}");
    }
}

#[test]
fn a_task_killed_mid_shard_leaves_no_success_and_resume_completes_to_a_clean_run() {
    let args = ["generate", "-q", "-n", "5M", "-s", "5", "-j", "1"];
    let (_clean_dir, clean_lake) = scratch();
    assert!(mouvements_gen().args(args).arg("-o").arg(&clean_lake).output().unwrap().status.success());

    let (_dir, lake) = scratch();
    let mut child = mouvements_gen_process().args(args).arg("-o").arg(&lake).spawn().unwrap();
    // Kill it while a shard is being written: its upload file `name#N` exists and grows.
    let started = Instant::now();
    let partial = loop {
        let growing = tree_names(&lake.join("raw")).into_iter().find(|n| n.contains('#'));
        if let Some(name) = growing
            && std::fs::metadata(lake.join("raw").join(&name)).is_ok_and(|m| m.len() > 1 << 20)
        {
            break name;
        }
        assert!(started.elapsed() < Duration::from_mins(1), "no shard upload seen");
        std::thread::sleep(Duration::from_millis(5));
    };
    std::process::Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
    assert!(!lake.join("raw/_SUCCESS").exists());
    assert!(lake.join("raw").join(&partial).exists(), "the killed upload left {partial}");

    let resumed = mouvements_gen().args(args).arg("--resume").arg("-o").arg(&lake).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let after = tree(&lake);
    assert!(after.keys().all(|n| !n.contains('#')), "a leftover survived: {:?}", after.keys());
    assert_eq!(data(&after), data(&tree(&clean_lake)));
    let verify = mouvements_gen().args(["verify", "-q", "-o"]).arg(&lake).output().unwrap();
    assert!(verify.status.success());
}

/// File names in a folder (not recursive), including `name#N` upload files.
fn tree_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}
