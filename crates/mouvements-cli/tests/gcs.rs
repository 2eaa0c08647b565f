//! `gs://` lakes end to end: the binary talks to the GCS fake through object_store's real
//! GCS client, configured as a user would (a service-account JSON in the environment).

mod common;

use common::{concatenated_rows, mouvements_gen, scratch};
use mouvements_gcs_fake::FakeGcs;

/// The data rows of the fake's shards under `prefix`, in shard order, headers dropped.
fn fake_rows(fake: &FakeGcs, prefix: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for name in fake.object_names() {
        if name.starts_with(&format!("{prefix}/raw/mouvements-")) {
            let bytes = fake.object(&name).unwrap();
            let body = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
            out.extend_from_slice(&bytes[body..]);
        }
    }
    out
}

fn local_rows(args: &[&str]) -> Vec<u8> {
    let (_dir, lake) = scratch();
    let output = mouvements_gen().arg("generate").args(args).arg("-q").arg("-o").arg(&lake).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    concatenated_rows(&lake)
}

#[test]
fn a_gs_lake_is_generated_and_verified_like_a_local_one() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    let key = fake.service_account_json();
    let output = mouvements_gen()
        .args(["generate", "-o", "gs://test-bucket/lake", "-n", "50k", "-s", "3", "--labels", "--json"])
        .env("GOOGLE_SERVICE_ACCOUNT_KEY", &key)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let names = fake.object_names();
    for name in ["lake/raw/_SUCCESS", "lake/raw/_manifest.json", "lake/raw/mouvements-00002-of-00003.csv"] {
        assert!(names.contains(&name.to_owned()), "{name} missing: {names:?}");
    }
    assert_eq!(fake.open_uploads(), 0);
    assert_eq!(fake_rows(&fake, "lake"), local_rows(&["-n", "50k", "-s", "3"]));

    let verify = mouvements_gen()
        .args(["verify", "-o", "gs://test-bucket/lake", "--stats", "--json"])
        .env("GOOGLE_SERVICE_ACCOUNT_KEY", &key)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(report["verdict"], "pass");
    assert!(report["stats"]["anomalies"]["evaluation"]["recall"].as_f64().unwrap() > 0.5);
}

#[test]
fn a_store_failure_mid_upload_commits_nothing_and_resume_completes_the_same_bytes() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    let key = fake.service_account_json();
    // Two shards of ~19 MB: two 16 MiB parts each. The fourth part, shard 1's second, fails.
    let args = ["-n", "700k", "-s", "2", "-j", "1"];
    fake.fail_part_uploads_after(3);
    let failed = mouvements_gen()
        .args(["generate", "-o", "gs://test-bucket/lake", "-q"])
        .args(args)
        .env("GOOGLE_SERVICE_ACCOUNT_KEY", &key)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mouvements-00001-of-00002.csv") && stderr.contains("--resume"), "{stderr}");
    let names = fake.object_names();
    assert!(
        !names.iter().any(|n| n.ends_with("_SUCCESS") || n.ends_with("mouvements-00001-of-00002.csv")),
        "{names:?}"
    );
    assert_eq!(fake.open_uploads(), 0, "the failed upload was aborted");

    fake.clear_faults();
    let resumed = mouvements_gen()
        .args(["generate", "-o", "gs://test-bucket/lake", "--resume", "--json"])
        .args(args)
        .env("GOOGLE_SERVICE_ACCOUNT_KEY", &key)
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(summary["shards_kept"], serde_json::json!([0]));
    assert_eq!(summary["shards_written"], serde_json::json!([1]));
    assert!(fake.object_names().contains(&"lake/raw/_SUCCESS".to_owned()));
    assert_eq!(fake_rows(&fake, "lake"), local_rows(&args));
}

#[test]
fn a_missing_bucket_exits_2_and_names_it() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    let output = mouvements_gen()
        .args(["generate", "-o", "gs://no-such-bucket/lake", "-n", "10"])
        .env("GOOGLE_SERVICE_ACCOUNT_KEY", fake.service_account_json())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("gs://no-such-bucket/lake"), "{stderr}");
}

#[test]
fn a_gs_lake_without_credentials_exits_2_saying_what_was_tried_and_how_to_fix_it() {
    // No credential variable, an empty home (no application default credentials), and the
    // metadata server pointed at a closed local port: the chain never leaves this machine.
    let home = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let output = mouvements_gen()
        .args(["generate", "-o", "gs://my-bucket/x", "-n", "1000", "-q"])
        .env("HOME", home.path())
        .env("GCE_METADATA_HOST", &closed)
        .env("GCE_METADATA_IP", &closed)
        .timeout(std::time::Duration::from_mins(2))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    for hint in ["gs://my-bucket", "gcloud auth application-default login", "GOOGLE_APPLICATION_CREDENTIALS"]
    {
        assert!(message.contains(hint), "{hint} missing from: {message}");
    }
}

/// Parts grow with the expected shard size up to the stores' 5 GiB × 10,000 parts: a shard of
/// 10^12 rows (about 90 TB) cannot be stored whole, and is refused before anything is written.
#[test]
fn a_shard_too_big_for_the_store_is_refused_before_any_upload() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    let output = mouvements_gen()
        .args(["generate", "-o", "gs://test-bucket/big", "-n", "1000G", "-s", "1", "-q"])
        .env("GOOGLE_SERVICE_ACCOUNT_KEY", fake.service_account_json())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("-s"), "{message}");
    assert!(!fake.object_names().iter().any(|n| n.contains("mouvements-")), "{:?}", fake.object_names());
    assert_eq!(fake.open_uploads(), 0);
}
