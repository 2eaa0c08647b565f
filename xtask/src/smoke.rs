//! The end-to-end smoke run: the built binary generates a small dataset into every kind of
//! lake (local folder, GCS through the fake, S3 on moto, Azure on Azurite), then verifies it
//! with statistics and a sample; each must commit and pass. Then real readers (DuckDB,
//! pyarrow, polars and delta-rs, from the Python tools) read the staging dataset and the Delta
//! table of the local lake, and delta-rs the Delta table on every emulator: all must find the
//! raw rows. Last, an `--overwrite` of the local lake, and delta-rs's time travel must find
//! the old rows in version 0 and the new ones in version 1. On the way, the local lake's HTML
//! report is rendered in headless Chromium and checked (see `screenshot`). Last, a generated
//! year goes through the guide's analyses, which must read as a believable insurer.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::python::Tools;
use crate::{process, screenshot};

/// Cargo's target folder.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

/// Where cargo put the debug binaries.
pub fn debug_bin(name: &str) -> PathBuf {
    target_dir().join("debug").join(name)
}

/// Kills the GCS fake on drop.
struct Fake(Child);

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The readers' script.
const READERS: &str = include_str!("readers.py");

/// Runs the smoke test with the emulators' environment.
pub fn run(emulator_env: &[(String, String)], tools: &Tools) -> Result<()> {
    println!("\n==> end-to-end smoke run of mouvements-gen");
    // The binaries with the features `cargo test --workspace` resolved (tests selected), so
    // that nothing is compiled a second time with another feature set.
    process::run("cargo", &["build", "--workspace", "--locked", "--bins", "--tests"], &[])?;
    let bin = debug_bin("mouvements-gen");
    let scratch = std::env::temp_dir().join(format!("mouvements-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;

    let port = std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
    let fake = Fake(
        Command::new(debug_bin("gcs-fake"))
            .args([port.to_string(), "test-bucket".into()])
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start gcs-fake")?,
    );
    wait_for_port(port)?;
    let service_account = format!(
        r#"{{"gcs_base_url":"http://127.0.0.1:{port}","disable_oauth":true,"client_email":"","private_key":"","private_key_id":""}}"#
    );

    let mut env = emulator_env.to_vec();
    env.push(("GOOGLE_SERVICE_ACCOUNT_KEY".into(), service_account.clone()));
    env.push(("MOUVEMENTS_MAX_RETRIES".into(), "1".into()));
    let lakes = [
        scratch.join("lake").to_string_lossy().into_owned(),
        "gs://test-bucket/smoke".into(),
        "s3://test-bucket/smoke".into(),
        "az://test-bucket/smoke".into(),
    ];
    let bin_text = bin.to_string_lossy().into_owned();
    let mut flagged = Vec::new();
    for lake in &lakes {
        let output = process::capture(
            &bin_text,
            &["generate", "-o", lake, "-n", "100k", "-s", "3", "--labels", "--json", "-q"],
            &env,
        )?;
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        if summary["status"] != "committed" || summary["dataset_rows"] != 100_000 {
            bail!("generate into {lake} did not commit 100000 rows: {summary}");
        }
        let output =
            process::capture(&bin_text, &["verify", "-o", lake, "--stats", "--sample", "3", "--json"], &env)?;
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        if report["verdict"] != "pass" {
            bail!("verify of {lake} failed: {}", report["problems"]);
        }
        flagged.push(report["stats"]["anomalies"]["flagged_count"].clone());
        println!("    {lake}: generated and verified");
    }

    println!("\n==> the HTML report of the local lake in headless Chromium");
    let report = target_dir().join("report");
    std::fs::create_dir_all(&report)?;
    let page = report.join("report.html");
    process::capture(&bin_text, &["verify", "-o", &lakes[0], "--html", &page.to_string_lossy(), "-q"], &env)?;
    screenshot::check(&page)?;

    println!("\n==> real readers on the local lake and on every emulator");
    let script = scratch.join("readers.py");
    std::fs::write(&script, READERS)?;
    let python = tools.bin("python").to_string_lossy().into_owned();
    let script = script.to_string_lossy().into_owned();
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let guide = process::capture(&bin_text, &["guide", "-o", &lakes[0]], &env)?;
    let config = serde_json::json!({
        "local": lakes[0],
        "guide": String::from_utf8_lossy(&guide.stdout),
        "flagged": flagged[0],
        "remote": [
            { "url": "gs://test-bucket/smoke/delta/mouvements",
              "options": { "google_service_account_key": service_account } },
            { "url": "s3://test-bucket/smoke/delta/mouvements",
              "options": { "aws_endpoint_url": var("AWS_ENDPOINT"), "aws_allow_http": "true",
                           "aws_access_key_id": "test", "aws_secret_access_key": "test",
                           "aws_region": "us-east-1" } },
            { "url": "az://test-bucket/smoke/delta/mouvements",
              "options": { "azure_storage_use_emulator": "true" } },
        ],
    });
    let output = process::capture(&python, &[&script, &config.to_string()], &env)?;
    print!("{}", String::from_utf8_lossy(&output.stderr));
    let before: serde_json::Value = serde_json::from_slice(&output.stdout)?;

    process::capture(
        &bin_text,
        &["generate", "-o", &lakes[0], "-n", "50k", "-s", "2", "--overwrite", "-q"],
        &env,
    )?;
    let config = serde_json::json!({ "local": lakes[0], "before": before });
    let output = process::capture(&python, &[&script, &config.to_string()], &env)?;
    print!("{}", String::from_utf8_lossy(&output.stderr));

    println!("\n==> the guide's analyses on a generated year");
    year(&bin_text, &scratch, &env, &python, &script)?;

    println!("\n==> readers on a history of 13 monthly loads with 1 % changes (a checkpoint at version 10)");
    history(&bin_text, &scratch, &env, &python, &script)?;

    drop(fake);
    std::fs::remove_dir_all(&scratch)?;
    Ok(())
}

/// The `verify --json` report of `lake` (with `extra` flags), which must pass.
fn verified(bin: &str, lake: &str, extra: &[&str], env: &[(String, String)]) -> Result<serde_json::Value> {
    let mut args = vec!["verify", "-o", lake, "--json"];
    args.extend(extra);
    let output = process::capture(bin, &args, env)?;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    if report["verdict"] != "pass" {
        bail!("verify of {lake} failed: {}", report["problems"]);
    }
    Ok(report)
}

/// A first month then twelve appended ones with 1 % changes, 0.1 % late rows and 0.1 %
/// repeats each (the README's history): verify passes, and the readers find each version's
/// rows (the raw rows so far, repeats once, their changes merged) and open the table from its
/// checkpoint.
fn history(
    bin: &str,
    scratch: &std::path::Path,
    env: &[(String, String)],
    python: &str,
    script: &str,
) -> Result<()> {
    let lake = scratch.join("history").to_string_lossy().into_owned();
    process::capture(
        bin,
        &["generate", "-o", &lake, "--month", "2025-01", "-n", "20k", "-s", "2", "-q"],
        env,
    )?;
    for _ in 0..12 {
        let append = [
            "generate",
            "-o",
            &lake,
            "--append",
            "-n",
            "10k",
            "-s",
            "2",
            "--changes",
            "0.01",
            "--late-rate",
            "0.001",
            "--duplicate-rate",
            "0.001",
            "-q",
        ];
        process::capture(bin, &append, env)?;
    }
    verified(bin, &lake, &[], env)?;
    let config = serde_json::json!({ "history": lake });
    let output = process::capture(python, &[script, &config.to_string()], env)?;
    print!("{}", String::from_utf8_lossy(&output.stderr));
    Ok(())
}

/// Generates a year (raw and staging), verifies it, and has the readers' script run the
/// guide's analyses on it and judge them against the bands verify reports.
fn year(
    bin: &str,
    scratch: &std::path::Path,
    env: &[(String, String)],
    python: &str,
    script: &str,
) -> Result<()> {
    let lake = scratch.join("year").to_string_lossy().into_owned();
    let args = [
        "generate",
        "-o",
        &lake,
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
        "-n",
        "600k",
        "-s",
        "2",
        "--layers",
        "raw,staging",
    ];
    process::capture(bin, &args, env)?;
    let report = verified(bin, &lake, &["--stats"], env)?;
    let mut bands = serde_json::Map::new();
    for ratio in report["stats"]["business_ratios"].as_array().into_iter().flatten() {
        if ratio["name"] == "claims ÷ premiums" && ratio["pays"].is_null() {
            let produit = ratio["produit"].as_str().unwrap_or_default().to_owned();
            bands.insert(produit, serde_json::json!([ratio["low"], ratio["high"]]));
        }
    }
    let guide = process::capture(bin, &["guide", "-o", &lake], env)?;
    let config = serde_json::json!({ "year": {
        "base": lake,
        "guide": String::from_utf8_lossy(&guide.stdout),
        "flagged": report["stats"]["anomalies"]["flagged_count"],
        "claims_bands": bands,
    }});
    let output = process::capture(python, &[script, &config.to_string()], env)?;
    print!("{}", String::from_utf8_lossy(&output.stderr));
    Ok(())
}

fn wait_for_port(port: u16) -> Result<()> {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    bail!("gcs-fake did not answer on port {port}")
}
