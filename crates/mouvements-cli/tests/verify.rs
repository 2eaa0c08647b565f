//! End-to-end tests of `mouvements-gen verify`: a good dataset passes; the same dataset
//! corrupted one way at a time fails with exit code 1 and a report naming the rule, the
//! shard and the line; an absent dataset exits 2.

mod common;

use std::path::Path;

use common::{mouvements_gen, scratch};
use proptest::prelude::*;

const SHARD: &str = "raw/mouvements-00001-of-00003.csv";

/// Generates the reference dataset: 3000 rows in 3 shards.
fn good_lake() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, lake) = scratch();
    let output = mouvements_gen()
        .args(["generate", "-n", "3000", "-s", "3", "--seed", "5", "-q", "-o"])
        .arg(&lake)
        .output()
        .unwrap();
    assert!(output.status.success());
    (dir, lake)
}

fn verify_json(lake: &Path) -> (Option<i32>, serde_json::Value) {
    let output = mouvements_gen().args(["verify", "--json", "-o"]).arg(lake).output().unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("no JSON report: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code(), report)
}

/// Rewrites line `line` (1-based, header is 1) of the middle shard.
fn edit_line(lake: &Path, line: usize, edit: impl Fn(&str) -> String) {
    let path = lake.join(SHARD);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let original = lines[line - 1].trim_end_matches('\n').to_owned();
    lines[line - 1] = edit(&original);
    std::fs::write(&path, lines.concat()).unwrap();
}

/// Replaces field `column` (0-based) of line `line` of the middle shard.
fn edit_field(lake: &Path, line: usize, column: usize, value: &str) {
    edit_line(lake, line, |l| {
        let mut fields: Vec<&str> = l.split(',').collect();
        fields[column] = value;
        format!("{}\n", fields.join(","))
    });
}

#[test]
fn a_generated_dataset_passes() {
    let (_dir, lake) = good_lake();
    let (code, report) = verify_json(&lake);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["problem_count"], 0);
}

#[test]
#[allow(clippy::too_many_lines)] // one table row per corruption reads best in one place
fn every_corruption_is_caught_with_its_shard_and_line() {
    type Corruption = (&'static str, fn(&Path), &'static str, Option<u64>);
    let cases: Vec<Corruption> = vec![
        ("bad id", |l| edit_field(l, 10, 0, "X0000010"), "id.format", Some(10)),
        ("bad date", |l| edit_field(l, 10, 1, "2025-02-30"), "date.format", Some(10)),
        ("date out of period", |l| edit_field(l, 10, 1, "2025-07-15"), "date.period", Some(10)),
        ("bad produit", |l| edit_field(l, 10, 2, "moto"), "produit.domain", Some(10)),
        ("bad type_op", |l| edit_field(l, 10, 3, "vol"), "type_op.domain", Some(10)),
        ("bad montant", |l| edit_field(l, 10, 4, "12,5"), "line.field_count", Some(10)),
        ("montant with 1 decimal", |l| edit_field(l, 10, 4, "12.5"), "montant.format", Some(10)),
        ("bad agence", |l| edit_field(l, 10, 5, "AG_999"), "agence.format", Some(10)),
        ("bad pays", |l| edit_field(l, 10, 6, "US"), "pays.domain", Some(10)),
        ("extra column", |l| edit_line(l, 10, |x| format!("{x},extra\n")), "line.field_count", Some(10)),
        (
            "missing column",
            |l| edit_line(l, 10, |x| format!("{}\n", x.rsplit_once(',').unwrap().0)),
            "line.field_count",
            Some(10),
        ),
        (
            "duplicated id",
            |l| {
                let id =
                    std::fs::read_to_string(l.join(SHARD)).unwrap().lines().nth(9).unwrap()[..8].to_owned();
                edit_field(l, 11, 0, &id);
            },
            "id.sequence",
            Some(11),
        ),
        ("CRLF line", |l| edit_line(l, 10, |x| format!("{x}\r\n")), "line.crlf", Some(10)),
        (
            "changed header",
            |l| edit_line(l, 1, |x| format!("{}\n", x.replace("montant", "amount"))),
            "shard.header",
            Some(1),
        ),
        (
            "wrong sign",
            |l| {
                edit_line(l, 12, |x| {
                    let mut f: Vec<String> = x.split(',').map(str::to_owned).collect();
                    f[4] = if f[4].starts_with('-') { f[4][1..].to_owned() } else { format!("-{}", f[4]) };
                    // Adjustments take either sign: make the type one whose sign is fixed.
                    f[3] = if f[4].starts_with('-') { "cotisation".into() } else { "indemnisation".into() };
                    f[2] = "auto".into();
                    format!("{}\n", f.join(","))
                });
            },
            "montant.sign",
            Some(12),
        ),
        (
            "truncated file",
            |l| {
                let p = l.join(SHARD);
                let bytes = std::fs::read(&p).unwrap();
                std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
            },
            "shard.size",
            None,
        ),
        ("empty file", |l| std::fs::write(l.join(SHARD), b"").unwrap(), "shard.empty", None),
        (
            "random bytes",
            |l| {
                let noise: Vec<u8> =
                    (0u32..50_000).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
                std::fs::write(l.join(SHARD), noise).unwrap();
            },
            "shard.checksum",
            None,
        ),
        (
            "missing shard",
            |l| std::fs::remove_file(l.join("raw/mouvements-00002-of-00003.csv")).unwrap(),
            "set.shard_missing",
            None,
        ),
        (
            "stray shard",
            |l| std::fs::write(l.join("raw/mouvements-00000-of-00004.csv"), b"x").unwrap(),
            "set.stray",
            None,
        ),
        (
            "missing _SUCCESS",
            |l| std::fs::remove_file(l.join("raw/_SUCCESS")).unwrap(),
            "set.success_missing",
            None,
        ),
        (
            "corrupt manifest",
            |l| std::fs::write(l.join("raw/_manifest.json"), b"{ nope").unwrap(),
            "set.manifest_invalid",
            None,
        ),
    ];
    for (what, corrupt, rule, line) in cases {
        let (_dir, lake) = good_lake();
        corrupt(&lake);
        let (code, report) = verify_json(&lake);
        assert_eq!(code, Some(1), "{what}: {report}");
        assert_eq!(report["verdict"], "fail", "{what}");
        let group = report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["rule"] == rule)
            .unwrap_or_else(|| panic!("{what}: rule {rule} not reported: {}", report["problems"]));
        if let Some(line) = line {
            let example = &group["examples"][0];
            assert_eq!(example["shard"], SHARD, "{what}: {group}");
            assert_eq!(example["line"], line, "{what}: {group}");
        }
    }
}

#[test]
fn a_missing_dataset_exits_2_and_says_what_to_do() {
    let (_dir, lake) = scratch();
    std::fs::create_dir_all(&lake).unwrap();
    let output = mouvements_gen().args(["verify", "-o"]).arg(&lake).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("mouvements-gen generate"));
}

#[test]
fn sample_and_stats_describe_the_dataset() {
    let (_dir, lake) = good_lake();
    let output = mouvements_gen()
        .args(["verify", "--sample", "4", "--stats", "--json", "-o"])
        .arg(&lake)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["sample"].as_array().unwrap().len(), 4);
    assert_eq!(report["sample"][0]["id_mouvement"], "M0000001");
    assert_eq!(report["stats"]["rows"], 3000);
    assert_eq!(report["stats"]["by_pays"].as_array().unwrap().len(), 5);
    let text = mouvements_gen().args(["verify", "--sample", "--stats", "-o"]).arg(&lake).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Sample (10 rows)") && text.contains("Verdict: PASS"), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn verify_accepts_whatever_generate_produces(
        seed in any::<u64>(),
        rows in 1u64..4000,
        shards in 1u32..9,
        month in 1u32..=12,
        first_id in prop_oneof![Just(1u64), 0u64..99_999_999],
        rate in prop_oneof![Just(0.0), Just(1.0), 0.0f64..0.3],
        gz in any::<bool>(),
        labels in any::<bool>(),
    ) {
        // A shard needs a row: generate refuses more shards than rows, with a clear error.
        let shards = shards.min(u32::try_from(rows).unwrap_or(u32::MAX));
        let (_dir, lake) = scratch();
        let mut cmd = mouvements_gen();
        cmd.args(["generate", "-q", "--month", &format!("2024-{month:02}")])
            .args(["--seed", &seed.to_string(), "-n", &rows.to_string(), "-s", &shards.to_string()])
            .args(["--first-id", &first_id.to_string(), "--anomaly-rate", &rate.to_string()])
            .args(["--format", if gz { "csv-gz" } else { "csv" }])
            .arg("-o").arg(&lake);
        if labels {
            cmd.arg("--labels");
        }
        let generated = cmd.output().unwrap();
        prop_assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
        let output = mouvements_gen().args(["verify", "--stats", "--json", "-o"]).arg(&lake).output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        prop_assert_eq!(output.status.code(), Some(0), "{}", report["problems"]);
    }
}

/// Every entry under `root` with its kind, size and modification time: a probe write (a file
/// created then removed) changes its folder's time.
fn snapshot(root: &Path) -> Vec<(String, bool, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let meta = std::fs::metadata(&dir).unwrap();
        out.push((dir.display().to_string(), true, 0, meta.modified().unwrap()));
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.push((path.display().to_string(), false, meta.len(), meta.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn verify_guide_and_config_never_write_to_the_lake() {
    let (dir, lake) = good_lake();
    let before = snapshot(&lake);
    let page = dir.path().join("report.html");
    std::thread::sleep(std::time::Duration::from_millis(20)); // a write now gets a later time
    let runs: [Vec<&std::ffi::OsStr>; 4] = [
        vec!["verify".as_ref(), "--stats".as_ref(), "--sample".as_ref()],
        vec!["verify".as_ref(), "--html".as_ref(), page.as_os_str()],
        vec!["guide".as_ref()],
        vec!["config".as_ref()],
    ];
    for args in runs {
        let output = mouvements_gen().args(&args).arg("-o").arg(&lake).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    assert_eq!(snapshot(&lake), before, "a read-only command wrote to the lake");
}

/// The business ratios read the books an analyst would: on the default month, motor claims ÷
/// premiums is within 0.02 of the ratio of the ordinary amounts (the generator's truth, with
/// every anomaly at its usual amount). Leaving flagged rows out dropped genuine heavy-tail
/// claims the anomaly rule also flags, and read 0.054 low.
#[test]
fn business_ratios_keep_the_heavy_tail_claims_the_anomaly_rule_flags() {
    use mouvements_generator::{Generator, GeneratorConfig};
    use mouvements_schema::Produit;
    use mouvements_schema::calibration::Ratio;

    let rows = 1_000_000;
    let (_dir, lake) = scratch();
    let generated = mouvements_gen()
        .args(["generate", "-n", &rows.to_string(), "-s", "2", "--layers", "raw", "-q", "-o"])
        .arg(&lake)
        .output()
        .unwrap();
    assert!(generated.status.success());
    let output = mouvements_gen().args(["verify", "--stats", "--json", "-o"]).arg(&lake).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let shown = report["stats"]["business_ratios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ratio"] == "claims_to_premiums" && r["produit"] == "auto" && r["pays"].is_null())
        .and_then(|r| r["value"].as_f64())
        .expect("verify shows motor claims ÷ premiums");

    let generator = Generator::new(GeneratorConfig::with_rows(42, rows).unwrap());
    let usual: std::collections::HashMap<_, _> =
        generator.anomalies(0..rows).map(|a| (a.id_mouvement, a.usual_montant)).collect();
    let ((claim_types, _), (premium_types, _)) =
        (Ratio::ClaimsToPremiums.numerator(Produit::Auto), Ratio::ClaimsToPremiums.denominator());
    let (mut claims, mut premiums) = (0i64, 0i64);
    for row in generator.rows(0..rows).filter(|r| r.produit == Produit::Auto) {
        let cents = usual.get(&row.id_mouvement).unwrap_or(&row.montant).cents().abs();
        if claim_types.contains(&row.type_op) {
            claims += cents;
        } else if premium_types.contains(&row.type_op) {
            premiums += cents;
        }
    }
    let truth = claims as f64 / premiums as f64;
    assert!((shown - truth).abs() < 0.02, "verify shows {shown:.4}, the ordinary amounts give {truth:.4}");
}
