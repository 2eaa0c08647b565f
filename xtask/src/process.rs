//! Running commands loudly: each is printed before it runs, and a failure stops the task
//! with the command in the error.

use std::path::PathBuf;
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Ok(manifest.parent().context("xtask lives inside the workspace")?.to_path_buf())
}

/// A command line as text, for messages.
fn describe(program: &str, args: &[&str]) -> String {
    std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ")
}

/// Runs a command with extra environment variables, streaming its output; fails if it fails.
pub fn run(program: &str, args: &[&str], env: &[(String, String)]) -> Result<()> {
    println!("\n==> {}", describe(program, args));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .status()
        .with_context(|| format!("cannot start {program}"))?;
    if !status.success() {
        bail!("`{}` failed with {status}", describe(program, args));
    }
    Ok(())
}

/// Runs a command and captures its output; fails, with its stderr, if it fails.
pub fn capture(program: &str, args: &[&str], env: &[(String, String)]) -> Result<Output> {
    println!("==> {}", describe(program, args));
    let output = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .with_context(|| format!("cannot start {program}"))?;
    if !output.status.success() {
        bail!(
            "`{}` failed with {}:\n{}",
            describe(program, args),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}
