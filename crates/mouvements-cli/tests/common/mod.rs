//! Helpers shared by the end-to-end tests: the binary, a scratch lake, and file reading.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `mouvements-gen` binary with a clean environment: no lake, task or cloud variables
/// leak in from the machine running the tests.
pub fn mouvements_gen() -> Command {
    let mut cmd = Command::cargo_bin("mouvements-gen").expect("the binary is built for tests");
    for (var, _) in std::env::vars() {
        let leaks =
            ["GCS_", "GOOGLE_", "AWS_", "AZURE_", "CLOUD_RUN_", "BATCH_TASK_", "JOB_COMPLETION", "GCP_"];
        if leaks.iter().any(|p| var.starts_with(p)) {
            cmd.env_remove(&var);
        }
    }
    cmd.env("MOUVEMENTS_MAX_RETRIES", "0");
    cmd
}

/// A temporary folder and the lake path inside it (not created).
pub fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let lake = dir.path().join("lake");
    (dir, lake)
}

/// Every file under `root`, by relative path, with its bytes.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a readable folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
                files.insert(name, std::fs::read(&path).expect("a readable file"));
            }
        }
    }
    files
}

/// The data rows of every shard in `raw/`, in shard order, headers dropped.
pub fn concatenated_rows(lake: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, bytes) in tree(&lake.join("raw")) {
        if name.starts_with("mouvements-") {
            let body = bytes.iter().position(|b| *b == b'\n').map_or(&bytes[..0], |i| &bytes[i + 1..]);
            out.extend_from_slice(body);
        }
    }
    out
}
