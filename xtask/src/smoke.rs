//! The end-to-end smoke run: the built binary generates a small dataset into every kind of
//! lake (local folder, GCS through the fake, S3 on moto, Azure on Azurite), then verifies it
//! with statistics and a sample; each must commit and pass.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::process;

/// Where cargo put the debug binaries.
fn debug_bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("debug").join(name)
}

/// Kills the GCS fake on drop.
struct Fake(Child);

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the smoke test with the emulators' environment.
pub fn run(emulator_env: &[(String, String)]) -> Result<()> {
    println!("\n==> end-to-end smoke run of mouvements-gen");
    process::run("cargo", &["build", "--locked", "-p", "mouvements-cli", "-p", "mouvements-gcs-fake"], &[])?;
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
    env.push(("GOOGLE_SERVICE_ACCOUNT_KEY".into(), service_account));
    env.push(("MOUVEMENTS_MAX_RETRIES".into(), "1".into()));
    let lakes = [
        scratch.join("lake").to_string_lossy().into_owned(),
        "gs://test-bucket/smoke".into(),
        "s3://test-bucket/smoke".into(),
        "az://test-bucket/smoke".into(),
    ];
    let bin_text = bin.to_string_lossy().into_owned();
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
        println!("    {lake}: generated and verified");
    }
    drop(fake);
    std::fs::remove_dir_all(&scratch)?;
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
