//! Helpers shared by the end-to-end tests: the binary, a scratch lake, and file reading.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `mouvements-gen` binary as a plain process, with a clean environment: no lake, task,
/// run or cloud variables leak in from the machine running the tests.
pub fn mouvements_gen_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("mouvements-gen"));
    for (var, _) in std::env::vars() {
        let leaks = [
            "GCS_",
            "GOOGLE_",
            "GCE_",
            "AWS_",
            "AZURE_",
            "CLOUD_RUN_",
            "BATCH_",
            "JOB_COMPLETION",
            "GCP_",
            "MOUVEMENTS_FAULT",
        ];
        if leaks.iter().any(|p| var.starts_with(p)) {
            cmd.env_remove(&var);
        }
    }
    cmd.env("MOUVEMENTS_MAX_RETRIES", "0");
    cmd
}

/// The `mouvements-gen` binary with a clean environment, for assertions.
pub fn mouvements_gen() -> Command {
    Command::from_std(mouvements_gen_process())
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
