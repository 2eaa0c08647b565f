//! The S3 (moto, from the Python tools) and Azure (Azurite, from npm into the same cache
//! folder) emulators the tests run against, started on free loopback ports, and killed when
//! dropped. GCS needs none: its fake runs inside the tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::python::{self, Tools};
use crate::{azure, process};

/// Bucket and container the tests use.
pub const BUCKET: &str = "test-bucket";

/// Azurite's major version.
const AZURITE: &str = "azurite@3";

/// A free port on 127.0.0.1.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// A running emulator; killed on drop.
struct Running {
    name: &'static str,
    child: Child,
    port: u16,
}

impl Running {
    fn start(name: &'static str, program: &Path, args: &[String], port: u16) -> Result<Self> {
        println!("==> starting {name} on 127.0.0.1:{port}");
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {name} ({})", program.display()))?;
        let mut running = Self { name, child, port };
        running.wait_ready(Duration::from_mins(1))?;
        Ok(running)
    }

    /// Polls the port, failing fast if the process died (e.g. after a bad flag).
    fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited during startup with {status}", self.name);
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                println!("    {} ready in {:.1} s", self.name, started.elapsed().as_secs_f64());
                return Ok(());
            }
            if started.elapsed() > limit {
                bail!("{} did not answer on port {} within {limit:?}", self.name, self.port);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The started emulators.
pub struct Emulators {
    moto: Running,
    azurite: Running,
}

impl Emulators {
    /// Installs (if needed) and starts moto and Azurite, and creates their bucket and container.
    pub fn start(tools: &Tools) -> Result<Self> {
        let moto_server = tools.bin("moto_server");
        let azurite_blob = install_azurite(&python::install_dir())?;

        let port = free_port()?;
        let args = ["-H", "127.0.0.1", "-p", &port.to_string()].map(String::from);
        let moto = Running::start("moto", &moto_server, &args, port)?;
        http_put(port, &format!("/{BUCKET}"))?;

        let port = free_port()?;
        let args = [
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--silent",
            "--skipApiVersionCheck",
        ]
        .map(String::from);
        let azurite = Running::start("azurite", &azurite_blob, &args, port)?;
        azure::create_container(port, BUCKET)?;
        Ok(Self { moto, azurite })
    }

    /// The environment that points the tests (and object_store's clients) at the emulators.
    pub fn test_env(&self) -> Vec<(String, String)> {
        let moto = format!("http://127.0.0.1:{}", self.moto.port);
        let azurite = format!("http://127.0.0.1:{}", self.azurite.port);
        [
            ("MOUVEMENTS_TEST_S3", format!("s3://{BUCKET}")),
            ("AWS_ENDPOINT", moto),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "false".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_COPY_IF_NOT_EXISTS", "multipart".into()),
            ("MOUVEMENTS_TEST_AZURE", format!("az://{BUCKET}")),
            ("AZURE_STORAGE_USE_EMULATOR", "true".into()),
            ("AZURITE_BLOB_STORAGE_URL", azurite),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// Azurite in a node_modules folder of its own.
fn install_azurite(dir: &Path) -> Result<PathBuf> {
    let prefix = dir.join("node");
    let blob = prefix.join("node_modules/.bin/azurite-blob");
    if !blob.exists() {
        std::fs::create_dir_all(&prefix)?;
        let prefix_text = prefix.to_string_lossy();
        process::run(
            "npm",
            &["install", "--prefix", &prefix_text, "--no-audit", "--no-fund", "--loglevel", "error", AZURITE],
            &[],
        )?;
    }
    Ok(blob)
}

/// An unsigned `PUT path` on 127.0.0.1 (moto accepts unsigned bucket creation).
fn http_put(port: u16, path: &str) -> Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    if !response.starts_with("HTTP/1.1 200") {
        bail!("creating {path} failed: {}", response.lines().next().unwrap_or_default());
    }
    Ok(())
}
