//! The staging and delta layers end to end: the same rows in every layer whatever the split,
//! the same bytes whatever the threads and tasks, a corrupted, missing, edited or stray file
//! caught by verify, an overwrite committing the next Delta version, and a failed Parquet
//! upload committing nothing until `--resume` completes it.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{mouvements_gen, scratch, tree};
use mouvements_gcs_fake::FakeGcs;
use mouvements_lakehouse::{Partition, read_rows};
use mouvements_schema::Mouvement;

fn generate(lake: &Path, args: &[&str]) {
    let output = mouvements_gen()
        .args(["generate", "-q", "-n", "20000", "--seed", "3", "-o"])
        .arg(lake)
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Every row of a Parquet layer (`staging/mouvements` or `delta/mouvements`), sorted by id.
fn layer_rows(lake: &Path, folder: &str) -> Vec<Mouvement> {
    let mut rows = Vec::new();
    for (name, bytes) in tree(&lake.join(folder)) {
        let Some((dir, _)) = name.rsplit_once('/') else { continue };
        if !name.ends_with(".parquet") {
            continue;
        }
        let partition =
            Partition::parse(dir).unwrap_or_else(|| panic!("{name} is not in a partition folder"));
        read_rows(bytes.into(), partition, &mut |row| rows.push(row)).unwrap();
    }
    rows.sort_by_key(|r| r.id_mouvement);
    rows
}

fn data_files(lake: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(lake).into_iter().filter(|(n, _)| !n.split('/').any(|p| p.starts_with('_'))).collect()
}

fn verify_json(lake: &Path) -> (Option<i32>, serde_json::Value) {
    let output = mouvements_gen().args(["verify", "--json", "-o"]).arg(lake).output().unwrap();
    (output.status.code(), serde_json::from_slice(&output.stdout).unwrap())
}

fn rules(report: &serde_json::Value) -> Vec<String> {
    report["problems"].as_array().unwrap().iter().map(|g| g["rule"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn every_layer_holds_the_raw_rows_whatever_the_shard_count() {
    let (_a, one) = scratch();
    let (_b, seven) = scratch();
    generate(&one, &["-s", "1"]);
    generate(&seven, &["-s", "7"]);
    let raw = mouvements_generator::Generator::new(
        mouvements_generator::GeneratorConfig::with_rows(3, 20_000).unwrap(),
    )
    .rows(0..20_000)
    .collect::<Vec<_>>();
    for lake in [&one, &seven] {
        for folder in ["staging/mouvements", "delta/mouvements"] {
            assert_eq!(layer_rows(lake, folder), raw, "{folder} of {}", lake.display());
        }
    }
    assert!(one.join("staging/mouvements/pays=FR/produit=santé").is_dir(), "raw UTF-8 folder names");
}

#[test]
fn file_bytes_do_not_depend_on_threads_or_tasks() {
    let (_a, reference) = scratch();
    generate(&reference, &["-s", "3", "-j", "1"]);
    let (_b, threads) = scratch();
    generate(&threads, &["-s", "3", "-j", "3"]);
    assert_eq!(data_files(&threads), data_files(&reference));
    let (_c, tasks) = scratch();
    for index in ["0", "1", "2"] {
        let output = mouvements_gen()
            .args(["generate", "-q", "-n", "20000", "--seed", "3", "-s", "3", "-o"])
            .arg(&tasks)
            .env("CLOUD_RUN_TASK_INDEX", index)
            .env("CLOUD_RUN_TASK_COUNT", "3")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert_eq!(tree(&tasks), tree(&reference), "three tasks leave exactly one process's lake");
}

/// The first Parquet file of the FR/auto partition of a layer folder.
fn parquet(lake: &Path, layer: &str) -> std::path::PathBuf {
    let dir = lake.join(layer).join("pays=FR/produit=auto");
    std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path()
}

#[test]
fn every_layer_corruption_is_caught_with_its_rule() {
    type Corruption = (&'static str, fn(&Path), &'static str);
    let cases: Vec<Corruption> = vec![
        (
            "corrupted staging file",
            |l| {
                let path = parquet(l, "staging/mouvements");
                let mut bytes = std::fs::read(&path).unwrap();
                let middle = bytes.len() / 2;
                bytes[middle..middle + 64].fill(0xAB);
                std::fs::write(path, bytes).unwrap();
            },
            "file.checksum",
        ),
        (
            "missing delta file",
            |l| std::fs::remove_file(parquet(l, "delta/mouvements")).unwrap(),
            "set.file_missing",
        ),
        (
            "edited Delta statistics",
            |l| {
                let log = l.join("delta/mouvements/_delta_log/00000000000000000000.json");
                let text = std::fs::read_to_string(&log).unwrap();
                let edited = text.replacen("\\\"numRecords\\\":", "\\\"numRecords\\\":1", 1);
                assert_ne!(edited, text);
                std::fs::write(log, edited).unwrap();
            },
            "delta.stats",
        ),
        (
            "stray staging file",
            |l| {
                let copy = l.join("staging/mouvements/pays=FR/produit=auto/part-extra.parquet");
                std::fs::copy(parquet(l, "staging/mouvements"), copy).unwrap();
            },
            "set.stray",
        ),
        (
            "stray raw file",
            |l| std::fs::write(l.join("raw/mouvements-extra.csv"), "id_mouvement\n").unwrap(),
            "set.stray",
        ),
        (
            "unlogged delta file",
            |l| {
                let copy =
                    l.join("delta/mouvements/pays=FR/produit=auto/part-00009-of-00009-00000000.zstd.parquet");
                std::fs::copy(parquet(l, "delta/mouvements"), copy).unwrap();
            },
            "set.stray",
        ),
        (
            "unparsable Delta log",
            |l| {
                let log = l.join("delta/mouvements/_delta_log/00000000000000000000.json");
                std::fs::write(log, b"{oops").unwrap();
            },
            "delta.log",
        ),
    ];
    for (what, corrupt, rule) in cases {
        let (_dir, lake) = scratch();
        generate(&lake, &["-s", "2"]);
        corrupt(&lake);
        let (code, report) = verify_json(&lake);
        assert_eq!(code, Some(1), "{what}: {report}");
        assert!(rules(&report).contains(&rule.to_owned()), "{what}: {rule} not in {:?}", rules(&report));
    }
}

#[test]
fn an_overwrite_commits_the_next_delta_version_and_keeps_the_old_one_readable() {
    let (_dir, lake) = scratch();
    generate(&lake, &["-s", "2"]);
    let first = data_files(&lake);
    generate(&lake, &["-s", "3", "--overwrite", "--first-id", "7"]);
    let log = lake.join("delta/mouvements/_delta_log");
    assert!(log.join("00000000000000000001.json").exists(), "the overwrite is version 1");
    let v1 = std::fs::read_to_string(log.join("00000000000000000001.json")).unwrap();
    assert_eq!(
        v1.matches("\"remove\"").count(),
        first.keys().filter(|n| n.starts_with("delta/") && n.ends_with(".parquet")).count()
    );
    // Version 0's files stay for its readers; staging holds only the new dataset.
    for name in first.keys().filter(|n| n.starts_with("delta/")) {
        assert!(lake.join(name).exists(), "{name} was removed from disk");
    }
    assert!(first.keys().filter(|n| n.starts_with("staging/")).all(|n| !lake.join(n).exists()));
    let (code, report) = verify_json(&lake);
    assert_eq!(code, Some(0), "{report}");
}

#[test]
fn a_failed_parquet_upload_commits_nothing_and_resume_completes_the_same_bytes() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    let key = fake.service_account_json();
    let run = |prefix: &str, extra: &[&str]| {
        mouvements_gen()
            .args([
                "generate",
                "-q",
                "-n",
                "20000",
                "--seed",
                "3",
                "-s",
                "2",
                // Two threads: each shard encodes its Parquet on threads of their own, which
                // fail while its CSV goes on.
                "-j",
                "2",
                "-o",
                &format!("gs://test-bucket/{prefix}"),
            ])
            .args(extra)
            .env("GOOGLE_SERVICE_ACCOUNT_KEY", &key)
            .output()
            .unwrap()
    };
    assert!(run("clean", &[]).status.success());
    fake.fail_puts_ending_with(".zstd.parquet");
    let failed = run("lake", &[]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(".zstd.parquet"), "the error names the file: {stderr}");
    let names = fake.object_names();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("lake/") && (n.ends_with("_SUCCESS") || n.contains("_delta_log"))),
        "{names:?}"
    );
    assert_eq!(fake.open_uploads(), 0);

    fake.clear_faults();
    assert!(run("lake", &["--resume"]).status.success());
    let objects = |prefix: &str| -> BTreeMap<String, Vec<u8>> {
        fake.object_names()
            .into_iter()
            .filter_map(|n| n.strip_prefix(&format!("{prefix}/")).map(str::to_owned))
            .filter(|n| !n.split('/').any(|p| p.starts_with('_')) || n.contains("_delta_log"))
            .map(|n| (n.clone(), fake.object(&format!("{prefix}/{n}")).unwrap()))
            .collect()
    };
    assert_eq!(objects("lake"), objects("clean"));
}
