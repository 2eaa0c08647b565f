//! End-to-end tests of `mouvements-gen generate`, `config` and `guide`: the binary is run
//! as a user would run it.

mod common;

use common::{concatenated_rows, mouvements_gen, scratch, tree};

#[test]
fn bad_input_exits_2_names_the_culprit_and_writes_nothing() {
    let cases: &[(&[&str], &str)] = &[
        (&["-n", "0"], "--rows"),
        (&["-n", "abc"], "--rows"),
        (&["--rows=-5"], "--rows"),
        (&["-s", "0"], "--shards"),
        (&["--month", "2025-13"], "--month"),
        (&["--month", "June"], "--month"),
        (&["--from", "2025-06-10", "--to", "2025-06-01"], "before it starts"),
        (&["--from", "2025-02-30", "--to", "2025-03-01"], "--from"),
        (&["--anomaly-rate", "1.5"], "--anomaly-rate"),
        (&["--anomaly-rate=-0.1"], "--anomaly-rate"),
        (&["--format", "parquet"], "csv or csv-gz"),
        (&["--layers", ""], "raw, staging, delta"),
        (&["--layers", "raw,gold"], "raw, staging, delta"),
        (&["-n", "3", "-s", "5"], "every shard needs at least one row"),
        (&["-s", "10001"], "--shards"),
        (&["--first-id", "10000000000000000000"], "largest id"),
        (&["--from", "+10000-01-01", "--to", "+10000-01-02"], "--from"),
        (&["--task-index", "3", "--task-count", "3"], "must be below the task count 3"),
        (&["--task-index", "1"], "needs a task count"),
        (&["--overwrite", "--resume"], "--resume"),
        (&["-j", "0"], "--threads"),
    ];
    for (args, needle) in cases {
        let (_dir, lake) = scratch();
        let output = mouvements_gen().arg("generate").arg("-o").arg(&lake).args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!lake.exists(), "{args:?} wrote {}", lake.display());
    }
}

#[test]
fn bad_urls_exit_2_with_the_accepted_forms() {
    for url in ["hdfs://cluster/lake", "gs://", "s3://Bad_Bucket", "file://relative", "s3:/bad", "gs:bucket"]
    {
        let output = mouvements_gen().args(["generate", "-n", "10", "-o", url]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{url}: {stderr}");
        assert!(stderr.contains(url) && stderr.contains("gs://bucket/prefix"), "{url}: {stderr}");
    }
}

#[test]
fn an_unwritable_local_lake_is_refused_before_generating() {
    let (dir, _) = scratch();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let output =
        mouvements_gen().args(["generate", "-n", "10", "-o"]).arg(file.join("lake")).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot write to local lake"));
}

#[test]
fn a_dataset_is_committed_with_manifest_and_success() {
    let (_dir, lake) = scratch();
    let output = mouvements_gen()
        .args(["generate", "-n", "5000", "-s", "3", "--json", "-o"])
        .arg(&lake)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["status"], "committed");
    assert_eq!(summary["dataset_rows"], 5000);
    let files = tree(&lake.join("raw"));
    for name in
        ["_SUCCESS", "_manifest.json", "mouvements-00000-of-00003.csv", "mouvements-00002-of-00003.csv"]
    {
        assert!(files.contains_key(name), "{name} missing: {:?}", files.keys());
    }
    let manifest: serde_json::Value = serde_json::from_slice(&files["_manifest.json"]).unwrap();
    assert_eq!(manifest["rows"], 5000);
    assert_eq!(manifest["loads"][0]["shards"][0]["first_id"], "M0000001");
    assert_eq!(manifest["loads"][0]["shards"][2]["last_id"], "M0005000");
}

#[test]
fn concatenated_shards_do_not_depend_on_shards_threads_or_tasks() {
    let run = |extra: &[&str], envs: &[(&str, &str)]| {
        let (dir, lake) = scratch();
        let mut cmd = mouvements_gen();
        cmd.args(["generate", "-n", "20000", "--seed", "9", "-q", "-o"]).arg(&lake).args(extra);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let output = cmd.output().unwrap();
        assert!(output.status.success(), "{extra:?}: {}", String::from_utf8_lossy(&output.stderr));
        (dir, lake)
    };
    let (_a, one) = run(&["-s", "1", "-j", "1"], &[]);
    let reference = concatenated_rows(&one);
    for extra in [&["-s", "7", "-j", "1"][..], &["-s", "7", "-j", "4"], &["-s", "5", "--format", "csv"]] {
        let (_d, lake) = run(extra, &[]);
        assert_eq!(concatenated_rows(&lake), reference, "{extra:?}");
    }

    // Three tasks, as a Cloud Run Job runs them, leave exactly the bytes one process leaves.
    let (_b, single) = run(&["-s", "3"], &[]);
    let (_c, shared) = scratch();
    for index in ["0", "1", "2"] {
        let output = mouvements_gen()
            .args(["generate", "-n", "20000", "--seed", "9", "-s", "3", "-q", "-o"])
            .arg(&shared)
            .env("CLOUD_RUN_TASK_INDEX", index)
            .env("CLOUD_RUN_TASK_COUNT", "3")
            .output()
            .unwrap();
        assert!(output.status.success(), "task {index}: {}", String::from_utf8_lossy(&output.stderr));
        let committed = shared.join("raw/_SUCCESS").exists();
        assert_eq!(committed, index == "2", "only the task that completes the set commits");
    }
    assert_eq!(tree(&shared), tree(&single));
}

#[test]
fn an_existing_dataset_is_refused_then_overwritten_on_request() {
    let (_dir, lake) = scratch();
    let first =
        mouvements_gen().args(["generate", "-n", "3000", "-s", "7", "-q", "-o"]).arg(&lake).output().unwrap();
    assert!(first.status.success());
    let before = tree(&lake);

    let again =
        mouvements_gen().args(["generate", "-n", "3000", "-s", "5", "-q", "-o"]).arg(&lake).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--overwrite"));
    assert_eq!(tree(&lake), before, "a refused run changes nothing");

    let overwrite = mouvements_gen()
        .args(["generate", "-n", "3000", "-s", "5", "--overwrite", "-q", "-o"])
        .arg(&lake)
        .output()
        .unwrap();
    assert!(overwrite.status.success(), "{}", String::from_utf8_lossy(&overwrite.stderr));
    let shards: Vec<String> =
        tree(&lake.join("raw")).into_keys().filter(|n| n.starts_with("mouvements-")).collect();
    assert_eq!(shards.len(), 5, "the 7 old shards are gone: {shards:?}");
    assert!(shards.iter().all(|n| n.ends_with("-of-00005.csv")));
}

#[test]
fn gzip_shards_hold_the_same_rows() {
    let (_d1, plain) = scratch();
    let (_d2, gz) = scratch();
    for (lake, format) in [(&plain, "csv"), (&gz, "csv-gz")] {
        let output = mouvements_gen()
            .args([
                "generate", "-n", "4000", "-s", "2", "--layers", "raw", "--json", "--format", format, "-o",
            ])
            .arg(lake)
            .output()
            .unwrap();
        assert!(output.status.success());
        // The summary tells stored bytes from the CSV generated before compression.
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let stored: u64 = tree(&lake.join("raw"))
            .iter()
            .filter(|(name, _)| name.starts_with("mouvements-"))
            .map(|(_, bytes)| bytes.len() as u64)
            .sum();
        assert_eq!(summary["bytes"], stored, "{summary}");
        let csv = summary["csv_bytes"].as_u64().unwrap();
        if format == "csv" {
            assert_eq!(csv, stored);
        } else {
            assert!(csv > 2 * stored, "{csv} CSV bytes stored in {stored}");
        }
    }
    let mut decoded = Vec::new();
    for (name, bytes) in tree(&gz.join("raw")) {
        if name.ends_with(".csv.gz") {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut text)
                .unwrap();
            let body = text.iter().position(|b| *b == b'\n').unwrap() + 1;
            decoded.extend_from_slice(&text[body..]);
        }
    }
    assert_eq!(decoded, concatenated_rows(&plain));
}

#[test]
fn labels_are_written_beside_the_data() {
    let (_dir, lake) = scratch();
    let output = mouvements_gen()
        .args(["generate", "-n", "20000", "-s", "2", "--anomaly-rate", "0.01", "--labels", "-q", "-o"])
        .arg(&lake)
        .output()
        .unwrap();
    assert!(output.status.success());
    let files = tree(&lake.join("raw"));
    let labels = String::from_utf8(files["_labels/anomalies-00000-of-00002.csv"].clone()).unwrap();
    assert!(labels.starts_with("id_mouvement,type_op,produit,montant,usual_montant,ratio\n"));
    assert!(labels.lines().count() > 50, "{labels}");
}

#[test]
fn config_shows_sources_and_hides_secrets() {
    let output = mouvements_gen()
        .args(["config", "--seed", "7"])
        .env("GCS_BUCKET_BASE", "gs://bucket/base")
        .env("GCP_PROJECT_ID", "my-project")
        .env("GOOGLE_SERVICE_ACCOUNT_KEY", "{\"private_key\":\"very-secret\"}")
        .env("CLOUD_RUN_TASK_INDEX", "1")
        .env("CLOUD_RUN_TASK_COUNT", "4")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("very-secret"), "{text}");
    let line = |name: &str| text.lines().find(|l| l.starts_with(name)).unwrap_or_default().to_owned();
    assert!(line("base").contains("gs://bucket/base") && line("base").contains("env GCS_BUCKET_BASE"));
    assert!(line("seed").contains("flag"));
    assert!(line("rows").contains("default"));
    assert!(line("task_index").contains("env CLOUD_RUN_TASK_INDEX"));
    assert!(line("gcp_project_id").contains("my-project"));
    assert!(line("google_service_account_key").contains("set (hidden)"));
}

#[test]
fn guide_fills_in_the_lake_paths() {
    let output =
        mouvements_gen().args(["guide", "-o", "gs://supdevinci_bucket/sanda_celia"]).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains(".csv(\"gs://supdevinci_bucket/sanda_celia/raw/mouvements-*.csv\")"), "{text}");
    assert!(text.contains("gs://supdevinci_bucket/sanda_celia/staging/mouvements"));
}

#[test]
fn ctrl_c_aborts_uploads_commits_nothing_and_exits_130() {
    let (_dir, lake) = scratch();
    // Big enough to still be running when the signal comes, small enough to finish if it does not.
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("mouvements-gen"))
        .args(["generate", "-n", "30M", "-s", "3", "-j", "1", "-q", "-o"])
        .arg(&lake)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first shard is being written, then interrupt.
    let started = std::time::Instant::now();
    while !lake.join("raw").exists() && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let killed = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted") && stderr.contains("--resume"), "{stderr}");
    let files = tree(&lake.join("raw"));
    assert!(!files.contains_key("_SUCCESS") && !files.contains_key("_manifest.json"), "{:?}", files.keys());
    // Every shard that exists is whole: it has a record, and no staging file is left behind.
    for name in files.keys().filter(|n| n.starts_with("mouvements-")) {
        assert!(!name.contains('#'), "staging file left: {name}");
        assert!(files.contains_key(&format!("_shards/{name}.json")), "unrecorded shard {name}");
    }
}

/// The long flags of a text: every `--word` in it.
fn long_flags(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2 && w.as_bytes()[2].is_ascii_lowercase())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_guides_flag_table_is_the_flags_generate_takes() {
    let page =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md"))
            .unwrap();
    let table = page
        .split("| flag | default | meaning |")
        .nth(1)
        .expect("the flag table")
        .split("\n\n")
        .next()
        .unwrap();
    // The first column of each row.
    let documented: String =
        table.lines().filter_map(|row| row.split('|').nth(1)).collect::<Vec<_>>().join(" ");
    let help = mouvements_gen().args(["generate", "--help"]).output().unwrap();
    let mut taken = long_flags(&String::from_utf8_lossy(&help.stdout));
    taken.remove("--help");
    taken.remove("--log-format"); // every subcommand's, in the text under the table
    assert!(page.contains("--log-format"));
    assert_eq!(long_flags(&documented), taken, "docs/cli.md's flag table and `generate --help` differ");
}
