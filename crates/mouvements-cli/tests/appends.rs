//! Appended loads end to end: a year of monthly loads as one history in every layer (Delta
//! versions that only add, a checkpoint at version 10), a load's rows independent of its
//! shards, threads and tasks, refusals that write nothing, a crash at each step of an append
//! completed by `--append --resume`, appends racing each other or an overwrite, and appends
//! committed from a checkpoint that keep what older versions refer to.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use common::{concatenated_rows, mouvements_gen, mouvements_gen_process, scratch, tree};

const FIRST: [&str; 8] = ["generate", "-q", "-n", "3000", "-s", "2", "-j", "1"];
const APPEND: [&str; 9] = ["generate", "-q", "-n", "3000", "-s", "2", "-j", "1", "--append"];
/// An append given its own rows and shards.
const APPEND_SIZED: [&str; 3] = ["generate", "-q", "--append"];

fn run(lake: &Path, base: &[&str], extra: &[&str], fault: Option<&str>) -> Output {
    let mut cmd = mouvements_gen();
    cmd.args(base).arg("-o").arg(lake).args(extra);
    if let Some(fault) = fault {
        cmd.env("MOUVEMENTS_FAULT", fault);
    }
    cmd.output().unwrap()
}

fn ok(lake: &Path, base: &[&str], extra: &[&str]) {
    let output = run(lake, base, extra, None);
    assert!(output.status.success(), "{extra:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn verify_json(lake: &Path) -> (Option<i32>, serde_json::Value) {
    let output = mouvements_gen().args(["verify", "--json", "-o"]).arg(lake).output().unwrap();
    (output.status.code(), serde_json::from_slice(&output.stdout).unwrap())
}

fn rules(report: &serde_json::Value) -> Vec<String> {
    report["problems"].as_array().unwrap().iter().map(|g| g["rule"].as_str().unwrap().to_owned()).collect()
}

/// The files readers see, without the runs' bookkeeping.
fn data(tree: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    tree.iter()
        .filter(|(name, _)| !name.split('/').any(|p| p.starts_with('_')))
        .map(|(n, b)| (n.clone(), b.clone()))
        .collect()
}

/// The id numbers of the raw rows, in shard-name order.
fn raw_ids(lake: &Path) -> Vec<u64> {
    String::from_utf8(concatenated_rows(lake))
        .unwrap()
        .lines()
        .map(|line| line[1..line.find(',').unwrap()].parse().unwrap())
        .collect()
}

#[test]
fn a_year_of_monthly_loads_is_one_history_in_every_layer() {
    let (_dir, lake) = scratch();
    ok(&lake, &FIRST, &["--month", "2025-01"]);
    for _ in 0..11 {
        ok(&lake, &APPEND, &[]);
    }
    let (code, report) = verify_json(&lake);
    assert_eq!(code, Some(0), "{report:#}");
    let loads = report["dataset"]["loads"].as_array().unwrap();
    assert_eq!(loads.len(), 12);
    for (i, load) in loads.iter().enumerate() {
        assert_eq!(load["start"], format!("2025-{:02}-01", i + 1), "{load}");
        assert_eq!(load["first_id"], format!("M{:07}", 3000 * i + 1));
        assert_eq!(load["delta_version"], i);
    }
    assert_eq!(raw_ids(&lake), (1..=36_000).collect::<Vec<u64>>(), "ids unique and contiguous across loads");

    let log = lake.join("delta/mouvements/_delta_log");
    for version in 1..12 {
        let commit = std::fs::read_to_string(log.join(format!("{version:020}.json"))).unwrap();
        assert!(
            commit.contains("\"mode\":\"Append\"") && commit.contains("\"isBlindAppend\":true"),
            "{commit}"
        );
        assert!(
            !commit.contains("\"remove\"") && !commit.contains("metaData"),
            "version {version} only adds"
        );
        assert_eq!(commit.matches("\"add\"").count(), 40, "version {version}: 2 shards x 20 partitions");
    }
    assert!(log.join(format!("{:020}.checkpoint.parquet", 10)).exists());
    let last: serde_json::Value =
        serde_json::from_slice(&std::fs::read(log.join("_last_checkpoint")).unwrap()).unwrap();
    assert_eq!(last["version"], 10);
    assert_eq!(last["numOfAddFiles"], 11 * 40);

    let shards: Vec<String> = tree(&lake.join("raw"))
        .into_keys()
        .filter(|n| n.starts_with("mouvements-") && n.to_lowercase().ends_with(".csv"))
        .collect();
    assert_eq!(shards.len(), 24, "every load's shards under the raw glob, none reused: {shards:?}");
}

/// The data files under the Delta table's folder (its log and change data aside).
fn delta_data_files(lake: &Path) -> Vec<String> {
    tree(&lake.join("delta/mouvements")).into_keys().filter(|n| !n.starts_with('_')).collect()
}

#[test]
fn an_append_read_from_a_checkpoint_keeps_what_older_versions_refer_to() {
    let (_dir, lake) = scratch();
    ok(&lake, &FIRST, &["--month", "2025-01"]);
    ok(&lake, &APPEND, &[]);
    let before_overwrite = delta_data_files(&lake);
    ok(&lake, &FIRST, &["--month", "2025-01", "--seed", "7", "--overwrite"]);
    for _ in 0..10 {
        ok(&lake, &APPEND, &[]);
    }
    // Versions 12 and 13 are committed from the checkpoint of version 10; a stray data file
    // (a stopped run's) goes at the next commit, the files of versions 0 and 1 stay for time travel.
    let stray = "pays=FR/produit=auto/part-00000-of-00001-stray.zstd.parquet";
    std::fs::write(lake.join("delta/mouvements").join(stray), b"PAR1").unwrap();
    ok(&lake, &APPEND, &[]);
    let after = delta_data_files(&lake);
    assert!(!after.contains(&stray.to_owned()), "the stray file is removed");
    assert!(before_overwrite.iter().all(|f| after.contains(f)), "older versions' files are kept");
    let (code, report) = verify_json(&lake);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["dataset"]["loads"].as_array().unwrap().len(), 12);
    let latest =
        std::fs::read_to_string(lake.join(format!("delta/mouvements/_delta_log/{:020}.json", 13))).unwrap();
    assert!(latest.contains("\"isBlindAppend\":true") && !latest.contains("\"remove\""), "{latest}");
}

#[test]
fn a_loads_rows_depend_on_the_history_not_on_its_shards_threads_or_tasks() {
    let lakes: Vec<_> = (0..4).map(|_| scratch()).collect();
    for (_, lake) in &lakes {
        ok(lake, &FIRST, &[]);
    }
    ok(&lakes[0].1, &APPEND_SIZED, &["-n", "5000", "-s", "1"]);
    ok(&lakes[1].1, &APPEND_SIZED, &["-n", "5000", "-s", "4", "-j", "3"]);
    for task in ["0", "1"] {
        let args = ["-n", "5000", "-s", "4", "--run-id", "tasks", "--task-count", "2", "--task-index", task];
        ok(&lakes[2].1, &APPEND_SIZED, &args);
    }
    ok(&lakes[3].1, &APPEND_SIZED, &["-n", "5000", "-s", "1"]);
    let rows = concatenated_rows(&lakes[0].1);
    for (_, lake) in &lakes[1..] {
        assert_eq!(concatenated_rows(lake), rows, "{}", lake.display());
        assert_eq!(verify_json(lake).0, Some(0));
    }
    assert_eq!(tree(&lakes[3].1), tree(&lakes[0].1), "the same history gives the same bytes");

    // The appended month draws its own rows: not the first month's again.
    let (_c, fresh) = scratch();
    ok(&fresh, &["generate", "-q", "-n", "5000", "-s", "1"], &["--month", "2025-07", "--first-id", "3001"]);
    assert_ne!(concatenated_rows(&fresh), rows[rows.len() / 2..].to_vec());
}

#[test]
fn an_append_refuses_what_does_not_follow_the_lake_and_writes_nothing() {
    let (_dir, lake) = scratch();
    ok(&lake, &FIRST, &[]);
    let before = tree(&lake);
    for (args, needle) in [
        (&["--seed", "7"][..], "--seed: 7 differs from the lake's seed 42"),
        (
            &["--month", "2025-06"],
            "--month: the load's period starts on 2025-06-01, but the lake's last load ends on 2025-06-30",
        ),
        (&["--from", "2025-05-01", "--to", "2025-07-31"], "--from: the load's period starts on 2025-05-01"),
        (&["--first-id", "5"], "--first-id: 5 differs from the lake's next id 3001"),
        (&["--layers", "raw"], "--layers: raw differs from the lake's layers raw,staging,delta"),
        (&["--format", "csv-gz"], "--format: csv-gz differs from the lake's format csv"),
        (&["--overwrite"], "cannot be used with"),
    ] {
        let output = run(&lake, &APPEND, args, None);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(tree(&lake), before, "{args:?} wrote something");
    }
    // The lake's own values, named, are accepted.
    ok(&lake, &APPEND, &["--seed", "42", "--first-id", "3001", "--month", "2025-07"]);

    let (_e, empty) = scratch();
    let output = run(&empty, &APPEND, &[], None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("holds no lake to append to"), "{stderr}");
}

#[test]
fn a_crash_at_each_step_of_an_append_keeps_the_history_and_resume_completes_it() {
    let (_c, clean) = scratch();
    ok(&clean, &FIRST, &[]);
    ok(&clean, &APPEND, &[]);
    let clean = data(&tree(&clean));
    for step in [
        "claimed",
        "shard-stored#2",
        "shard-recorded#2",
        "stale-removed",
        "staging-marked",
        "delta-committed",
        "manifest-written",
    ] {
        let (_dir, lake) = scratch();
        ok(&lake, &FIRST, &[]);
        let first = data(&tree(&lake));
        let crashed = run(&lake, &APPEND, &[], Some(&format!("{step}=crash")));
        assert!(!crashed.status.success(), "{step}");
        let after = tree(&lake);
        for (name, bytes) in &first {
            assert_eq!(after.get(name), Some(bytes), "{step}: {name} of the first load changed");
        }
        let (code, report) = verify_json(&lake);
        if step == "manifest-written" {
            // Every layer took the load before its manifest: the append is whole.
            assert_eq!(code, Some(0), "{step}: {report:#}");
            assert_eq!(data(&tree(&lake)), clean, "{step}");
            continue;
        }
        assert_eq!(code, Some(1), "{step}: a lake mid-append does not pass");
        let found = rules(&report);
        assert!(found.contains(&"history.unfinished".to_owned()), "{step}: {found:?}");
        let allowed = ["history.unfinished", "set.stray", "history.delta_version", "delta.files"];
        assert!(
            found.iter().all(|r| allowed.contains(&r.as_str())),
            "{step}: the committed load fails: {report:#}"
        );
        let unfinished = report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["rule"] == "history.unfinished")
            .unwrap();
        let advice = unfinished["examples"][0]["value"].as_str().unwrap();
        assert!(
            advice.contains("load 1") && advice.contains("--append --resume --month 2025-07"),
            "{advice}"
        );

        let resumed = run(&lake, &APPEND, &["--resume", "--run-id", "the-next-one"], None);
        assert!(resumed.status.success(), "{step}: {}", String::from_utf8_lossy(&resumed.stderr));
        assert_eq!(data(&tree(&lake)), clean, "{step}: the resumed append differs from a clean one");
        assert_eq!(verify_json(&lake).0, Some(0), "{step}");
    }
}

/// Starts `generate` on `lake` with `args` (no waiting).
fn spawn(lake: &Path, args: &[&str]) -> std::process::Child {
    mouvements_gen_process()
        .args(["generate", "-q", "-s", "2", "-o"])
        .arg(lake)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn two_appends_of_the_next_month_at_once_commit_it_once() {
    for trial in 0..4 {
        let (_dir, lake) = scratch();
        ok(&lake, &FIRST, &[]);
        // Different rows: two runs; exactly one adds July, the other is refused.
        let a = spawn(&lake, &["--append", "--month", "2025-07", "-n", "3000", "--run-id", "a"]);
        let b = spawn(&lake, &["--append", "--month", "2025-07", "-n", "4000", "--run-id", "b"]);
        let results = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let won = results.iter().filter(|o| o.status.success()).count();
        assert_eq!(
            won,
            1,
            "trial {trial}: {:?}",
            results.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect::<Vec<_>>()
        );
        let (code, report) = verify_json(&lake);
        assert_eq!(code, Some(0), "trial {trial}: {report:#}");
        assert_eq!(report["dataset"]["loads"].as_array().unwrap().len(), 2);

        // The same settings and no run id: one run, joined, committed once.
        let c = spawn(&lake, &["--append", "-n", "2000"]);
        let d = spawn(&lake, &["--append", "-n", "2000"]);
        for done in [c.wait_with_output().unwrap(), d.wait_with_output().unwrap()] {
            assert!(done.status.success(), "trial {trial}: {}", String::from_utf8_lossy(&done.stderr));
        }
        let (code, report) = verify_json(&lake);
        assert_eq!(code, Some(0), "trial {trial}: {report:#}");
        assert_eq!(report["dataset"]["loads"].as_array().unwrap().len(), 3, "trial {trial}");
    }
}

#[test]
fn an_append_racing_an_overwrite_leaves_a_lake_that_verifies() {
    for trial in 0..4 {
        let (_dir, lake) = scratch();
        ok(&lake, &FIRST, &[]);
        let append = spawn(&lake, &["--append", "-n", "3000"]);
        let overwrite = spawn(&lake, &["--overwrite", "-n", "2000", "--seed", "9"]);
        let results = [append.wait_with_output().unwrap(), overwrite.wait_with_output().unwrap()];
        assert!(results.iter().any(|o| o.status.success()), "trial {trial}: neither committed");
        let (code, report) = verify_json(&lake);
        assert_eq!(code, Some(0), "trial {trial}: {report:#}");
    }
}

#[test]
fn the_report_covers_the_whole_history_months_side_by_side() {
    let (dir, lake) = scratch();
    ok(&lake, &FIRST, &[]);
    ok(&lake, &APPEND, &[]);
    ok(&lake, &APPEND, &[]);
    let page = dir.path().join("report.html");
    let output = mouvements_gen()
        .args(["verify", "--stats", "-q", "--html"])
        .arg(&page)
        .arg("-o")
        .arg(&lake)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("Rows per month") && html.contains("Money per month"));
    for month in ["2025-06", "2025-07", "2025-08"] {
        assert!(html.contains(month), "{month} missing from the report");
    }
    let output = mouvements_gen().args(["verify", "--stats", "--json", "-o"]).arg(&lake).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["stats"]["rows"], 9000, "{:#}", report["stats"]["rows"]);
}

/// A raw-only lake's first load, for changes.
const FIRST_RAW: [&str; 10] = ["generate", "-q", "-n", "3000", "-s", "2", "-j", "1", "--layers", "raw"];

/// The lines of every change file of load `load` (headers dropped), in shard order.
fn feed(lake: &Path, load: u32) -> Vec<String> {
    let folder = lake.join("raw/changes");
    let prefix = format!("changes-load{load:05}-");
    let mut names: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    names.sort();
    names
        .iter()
        .flat_map(|n| {
            std::fs::read_to_string(folder.join(n))
                .unwrap()
                .lines()
                .skip(1)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn appended_changes_are_one_feed_whatever_the_shards_verified_and_refused_where_they_cannot_go() {
    let (_a, lake) = scratch();
    ok(&lake, &FIRST_RAW, &[]);
    ok(&lake, &APPEND_SIZED, &["-n", "3000", "-s", "2", "--changes", "0.02"]);
    ok(&lake, &APPEND_SIZED, &["-n", "2000", "-s", "3", "--changes", "0.05"]);
    let (_b, other) = scratch();
    ok(&other, &FIRST_RAW, &[]);
    ok(&other, &APPEND_SIZED, &["-n", "3000", "-s", "1", "-j", "2", "--changes", "0.02"]);
    ok(&other, &APPEND_SIZED, &["-n", "2000", "-s", "4", "--changes", "0.05"]);
    let (one, two) = (feed(&lake, 1), feed(&lake, 2));
    assert!(
        (55..=60).contains(&one.len()) && (90..=100).contains(&two.len()),
        "round(rows × rate) draws a load"
    );
    assert_eq!(
        (feed(&other, 1), feed(&other, 2)),
        (one.clone(), two.clone()),
        "the feed is the history's, not the shards'"
    );
    let seqs: Vec<u64> =
        one.iter().chain(&two).map(|l| l.split(',').nth(1).unwrap().parse().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] >= 1 && seqs[seqs.len() - 1] <= 160,
        "change_seq orders the whole history"
    );
    let events = (one.len() + two.len()) as u64;

    let (code, report) = verify_json(&lake);
    assert_eq!(code, Some(0), "{report:#}");
    let changes = &report["changes"];
    let deletes = one.iter().chain(&two).filter(|l| l.starts_with("delete,")).count() as u64;
    assert_eq!(changes["deletes"], deletes);
    assert_eq!(changes["updates"], events - deletes);
    assert_eq!(changes["live_rows"], 8000 - deletes);

    // A hand-edited event, and a dropped one, each fail with the line named.
    let file = lake.join("raw/changes/changes-load00002-00001-of-00003.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    for edited in [
        text.replacen("update,", "delete,", 1),
        text.lines().take(3).chain(text.lines().skip(4)).map(|l| format!("{l}\n")).collect(),
    ] {
        std::fs::write(&file, &edited).unwrap();
        let (code, report) = verify_json(&lake);
        assert_eq!(code, Some(1));
        assert!(rules(&report).contains(&"changes.differs".to_owned()), "{report:#}");
    }
    std::fs::write(&file, &text).unwrap();
    assert_eq!(verify_json(&lake).0, Some(0));

    // A second change file a hand-edited manifest lists for a shard (Auto Loader would read
    // it) is refused, and the manifest is version 5: a build that reads 3 does not drop the rates,
    // nor one that reads 4 (events drawn before spans) draw them again its way.
    let manifest_path = lake.join("raw/_manifest.json");
    let original = std::fs::read(&manifest_path).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_slice(&original).unwrap();
    assert_eq!(manifest["manifest_version"], 5);
    let mut older = manifest.clone();
    older["manifest_version"] = 4.into();
    std::fs::write(&manifest_path, serde_json::to_vec(&older).unwrap()).unwrap();
    let refused = run(&lake, &APPEND, &["--changes", "0.01"], None);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("manifest version 4 with change events") && stderr.contains("--overwrite"),
        "{stderr}"
    );
    std::fs::write(&manifest_path, &original).unwrap();
    let files = manifest["loads"][2]["shards"][1]["files"].as_array_mut().unwrap();
    let mut twin =
        files.iter().find(|f| f["path"].as_str().unwrap().starts_with("raw/changes/")).unwrap().clone();
    twin["path"] = "raw/changes/changes-load00002-00001-of-00003-bis.csv".into();
    let size = twin["bytes"].as_u64().unwrap();
    files.push(twin);
    let grown = |total: &serde_json::Value| serde_json::Value::from(total.as_u64().unwrap() + size);
    manifest["loads"][2]["bytes"] = grown(&manifest["loads"][2]["bytes"]);
    manifest["bytes"] = grown(&manifest["bytes"]);
    std::fs::copy(&file, lake.join("raw/changes/changes-load00002-00001-of-00003-bis.csv")).unwrap();
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let (code, report) = verify_json(&lake);
    assert_eq!(code, Some(1));
    assert!(rules(&report).contains(&"changes.unexpected".to_owned()), "{report:#}");
    std::fs::write(&manifest_path, &original).unwrap();
    std::fs::remove_file(lake.join("raw/changes/changes-load00002-00001-of-00003-bis.csv")).unwrap();
    assert_eq!(verify_json(&lake).0, Some(0));

    // Where changes cannot go: refused before anything is written.
    let before = tree(&lake);
    let refused = run(&lake, &FIRST_RAW, &["--changes", "0.01", "--overwrite"], None);
    assert_eq!(refused.status.code(), Some(2), "a first load has nothing to change");
    assert_eq!(tree(&lake), before);
}

/// The Delta log entry of `version`.
/// Flips a bit in the middle of the file `name` of `lake`: verify must fail with `rule`; then
/// puts the file back.
fn fails_edited(lake: &Path, name: &str, rule: &str) {
    let original = std::fs::read(lake.join(name)).unwrap();
    let mut edited = original.clone();
    let middle = edited.len() / 2;
    edited[middle] ^= 0x01;
    std::fs::write(lake.join(name), &edited).unwrap();
    let (code, report) = verify_json(lake);
    assert_eq!(code, Some(1), "{name}");
    assert!(rules(&report).contains(&rule.to_owned()), "{rule}: {report:#}");
    std::fs::write(lake.join(name), original).unwrap();
}

fn delta_commit(lake: &Path, version: u64) -> String {
    std::fs::read_to_string(lake.join(format!("delta/mouvements/_delta_log/{version:020}.json"))).unwrap()
}

#[test]
fn the_delta_table_merges_the_changes_rewriting_only_touched_files_with_its_change_data_feed() {
    let (_a, lake) = scratch();
    ok(&lake, &FIRST, &[]);
    ok(&lake, &APPEND, &[]);
    ok(&lake, &APPEND, &["--changes", "0.002"]);
    let merge = delta_commit(&lake, 2);
    assert!(merge.contains("\"operation\":\"MERGE\"") && merge.contains("\"cdc\""), "{merge}");
    let (removed, added) = (merge.matches("\"remove\"").count(), merge.matches("\"add\"").count());
    // 6 events touch at most 6 of the 80 files of loads 0 and 1; 40 new files come in.
    assert!((1..=6).contains(&removed) && added == 40 + removed, "{removed} removed, {added} added");
    let (code, report) = verify_json(&lake);
    assert_eq!(code, Some(0), "{report:#}");
    let live = report["changes"]["live_rows"].as_u64().unwrap();
    assert_eq!(live, 9000 - report["changes"]["deletes"].as_u64().unwrap());

    // The same history written with other threads and shards of the merging load's own:
    // the same data files and the same merged table.
    let (_b, other) = scratch();
    ok(&other, &FIRST, &[]);
    ok(&other, &APPEND, &[]);
    ok(&other, &["generate", "-q", "-n", "3000", "-s", "3", "-j", "2", "--append"], &["--changes", "0.002"]);
    let rewritten = |lake: &Path| -> BTreeMap<String, Vec<u8>> {
        data(&tree(lake)).into_iter().filter(|(name, _)| name.contains("-changed-")).collect()
    };
    assert!(!rewritten(&lake).is_empty());
    assert_eq!(rewritten(&lake), rewritten(&other), "a rewrite does not depend on who writes it");
    assert_eq!(verify_json(&other).0, Some(0));

    // An edited change data file, a dropped rewrite: each fails with its rule.
    let cdc = tree(&lake).into_keys().find(|name| name.contains("/_change_data/")).unwrap();
    fails_edited(&lake, &cdc, "delta.change_data");
    let file = rewritten(&lake).into_keys().next().unwrap();
    let kept = std::fs::read(lake.join(&file)).unwrap();
    std::fs::remove_file(lake.join(&file)).unwrap();
    assert_eq!(verify_json(&lake).0, Some(1), "a rewritten file is missing");
    std::fs::write(lake.join(&file), kept).unwrap();
    assert_eq!(verify_json(&lake).0, Some(0));

    // A later plain append and a second merge keep the history verified.
    ok(&lake, &APPEND, &["--changes", "0.002"]);
    ok(&lake, &APPEND, &[]);
    assert!(delta_commit(&lake, 4).contains("\"isBlindAppend\":true"));
    assert_eq!(verify_json(&lake).0, Some(0));
}

#[test]
fn a_crash_during_an_append_with_events_is_completed_by_resume_to_the_same_bytes() {
    for (first, step) in [
        (&FIRST_RAW[..], "shard-stored#2"),
        (&FIRST_RAW[..], "shard-recorded#1"),
        (&FIRST_RAW[..], "stale-removed"),
        (&FIRST[..], "shard-stored#1"),
        (&FIRST[..], "delta-committed"),
    ] {
        let (_c, clean) = scratch();
        ok(&clean, first, &[]);
        let events = ["--changes", "0.03", "--late-rate", "0.01", "--duplicate-rate", "0.01"];
        ok(&clean, &APPEND, &events);
        let clean = data(&tree(&clean));
        let (_dir, lake) = scratch();
        ok(&lake, first, &[]);
        assert!(!run(&lake, &APPEND, &events, Some(&format!("{step}=crash"))).status.success());
        ok(&lake, &APPEND, &[&events[..], &["--resume"]].concat());
        assert_eq!(data(&tree(&lake)), clean, "{step}");
        assert_eq!(verify_json(&lake).0, Some(0), "{step}");
    }
}

/// The lines of the files of `lake`'s raw/ whose names start with `prefix`, headers dropped, in
/// name order.
fn lines_of(lake: &Path, prefix: &str) -> Vec<String> {
    let tree = tree(lake);
    tree.iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .flat_map(|(_, bytes)| {
            String::from_utf8(bytes.clone()).unwrap().lines().skip(1).map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

/// The events of a load: 1 % changes, 2 % late rows, 1 % repeats.
const EVENTS: [&str; 6] = ["--changes", "0.01", "--late-rate", "0.02", "--duplicate-rate", "0.01"];

#[test]
fn late_and_repeated_deliveries_land_in_raw_verify_and_merge_into_the_table_once() {
    let (_a, lake) = scratch();
    ok(&lake, &FIRST, &["--labels"]);
    ok(&lake, &APPEND, &[]);
    let events = &EVENTS[..];
    ok(&lake, &APPEND, events);
    let (code, report) = verify_json(&lake);
    assert_eq!(code, Some(0), "{report:#}");
    let changes = &report["changes"];
    assert_eq!(changes["repeats"], 30, "1 % of 3000 rows delivered again");
    let late_rows = changes["late_rows"].as_u64().unwrap();
    assert!((30..=90).contains(&late_rows), "{late_rows} late rows of 3000 at 2 %");

    // Repeats: rows of load 1, byte for byte as first delivered, in the raw glob.
    let load1 = lines_of(&lake, "raw/mouvements-load00001-0");
    let repeated = lines_of(&lake, "raw/mouvements-load00002-repeated-");
    assert_eq!(repeated.len(), 30);
    assert!(repeated.iter().all(|line| load1.contains(line)), "a repeat is its first delivery");
    // Late rows: new ids of load 2, dated in the two months before August 2025.
    let load2 = lines_of(&lake, "raw/mouvements-load00002-0");
    let dated_before: Vec<&String> = load2.iter().filter(|l| &l[9..19] < "2025-08-01").collect();
    assert_eq!(dated_before.len() as u64, late_rows);
    assert!(dated_before.iter().all(|l| &l[9..19] >= "2025-06-01"), "{dated_before:?}");
    // The ground truth names each event once, with its kind and load.
    let labels = lines_of(&lake, "raw/_labels/events-load00002-");
    let count = |kind: &str| labels.iter().filter(|l| l.ends_with(&format!(",{kind},2"))).count() as u64;
    assert_eq!((count("late"), count("repeat")), (late_rows, 30));
    assert_eq!(
        count("update") + count("delete"),
        changes["updates"].as_u64().unwrap() + changes["deletes"].as_u64().unwrap()
    );

    // The Delta table holds each live movement once: repeats are not rows twice.
    assert_eq!(changes["live_rows"].as_u64().unwrap(), 9000 - changes["deletes"].as_u64().unwrap());

    // The same history through other shards and threads: the same repeats and labels.
    let (_b, other) = scratch();
    ok(&other, &FIRST, &["--labels"]);
    ok(&other, &APPEND, &[]);
    ok(&other, &["generate", "-q", "-n", "3000", "-s", "3", "-j", "2", "--append"], events);
    assert_eq!(lines_of(&other, "raw/mouvements-load00002-repeated-"), repeated);
    assert_eq!(lines_of(&other, "raw/mouvements-load00002-0"), load2);
    assert_eq!(verify_json(&other).0, Some(0));

    // A repeat edited, a label dropped: each fails with its rule.
    for (prefix, rule) in
        [("raw/mouvements-load00002-repeated-", "repeats.differs"), ("raw/_labels/events-", "events.differs")]
    {
        let name = tree(&lake).into_keys().find(|n| n.starts_with(prefix)).unwrap();
        let original = std::fs::read(lake.join(&name)).unwrap();
        let text = String::from_utf8(original.clone()).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.remove(1);
        std::fs::write(lake.join(&name), lines.join("\n") + "\n").unwrap();
        let (code, report) = verify_json(&lake);
        assert_eq!(code, Some(1));
        assert!(rules(&report).contains(&rule.to_owned()), "{rule}: {report:#}");
        std::fs::write(lake.join(&name), original).unwrap();
    }
    // staging/ keeps the events as delivered, typed and partitioned: an edited file fails.
    let staged = tree(&lake).into_keys().find(|n| n.starts_with("staging/changes/pays=")).unwrap();
    assert!(staged.contains("/changes-load00002-"), "{staged}");
    fails_edited(&lake, &staged, "changes.staging");
    assert_eq!(verify_json(&lake).0, Some(0));
    // A file no load wrote, where readers of the staged events look: a stray.
    let stray =
        lake.join("staging/changes/pays=FR/produit=auto/changes-load00009-00000-of-00001.zstd.parquet");
    std::fs::write(&stray, b"PAR1").unwrap();
    let (code, report) = verify_json(&lake);
    assert!(code == Some(1) && rules(&report).contains(&"set.stray".to_owned()), "{report:#}");
    std::fs::remove_file(&stray).unwrap();

    // A load too small for one repeat at its rate: header-only files, and it verifies.
    ok(&lake, &["generate", "-q", "-n", "100", "-s", "2", "--append"], &["--duplicate-rate", "0.001"]);
    assert!(lines_of(&lake, "raw/mouvements-load00003-repeated-").is_empty());
    assert_eq!(verify_json(&lake).0, Some(0));
    // Repeats land in raw/: a lake without it refuses them.
    let (_d, no_raw) = scratch();
    ok(&no_raw, &FIRST, &["--layers", "staging,delta"]);
    let output = run(&no_raw, &APPEND, &["--duplicate-rate", "0.01"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--duplicate-rate: rows delivered again land in raw/")
    );

    // Without --append, the flags are refused before anything is written.
    let (_c, fresh) = scratch();
    for flag in ["--late-rate", "--duplicate-rate"] {
        let output = run(&fresh, &FIRST, &[flag, "0.01"], None);
        assert_eq!(output.status.code(), Some(2), "{flag}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(flag));
        assert!(!fresh.join("raw").exists());
    }
}
