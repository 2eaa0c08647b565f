//! `cargo xtask release`: a release archive built with `--locked`, packed reproducibly as
//! `dist/mouvements-gen-<version>-<target>.tar.gz` with the README, licence and changelog, and
//! a `SHA256SUMS` beside it. It refuses a dirty working tree and a version without a changelog
//! entry. `verify` exercises it on a clean clone, with the deployment scripts' checks.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::process;
use crate::python::Tools;

/// The workspace version, from `[workspace.package]` in Cargo.toml.
fn version(root: &Path) -> Result<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let section =
        manifest.split("[workspace.package]").nth(1).context("Cargo.toml has no [workspace.package]")?;
    section
        .lines()
        .find_map(|l| l.strip_prefix("version = ").map(|v| v.trim_matches('"').to_owned()))
        .context("[workspace.package] has no version")
}

/// The host target triple, from rustc.
fn host_target() -> Result<String> {
    let output = process::capture("rustc", &["-vV"], &[])?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .context("rustc -vV printed no host")
}

/// Builds the archive of the workspace at `root` into `root/dist`.
pub fn run(root: &Path) -> Result<()> {
    let status = process::capture("git", &["-C", &root.to_string_lossy(), "status", "--porcelain"], &[])?;
    if !status.stdout.is_empty() {
        bail!(
            "the working tree is dirty; commit or stash first so the release matches a commit:\n{}",
            String::from_utf8_lossy(&status.stdout)
        );
    }
    let version = version(root)?;
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).context("CHANGELOG.md is missing")?;
    if !changelog.lines().any(|l| l.starts_with(&format!("## {version}"))) {
        bail!("CHANGELOG.md has no entry for {version}: add a `## {version}` section first");
    }
    let manifest = root.join("Cargo.toml").to_string_lossy().into_owned();
    process::run(
        "cargo",
        &["build", "--release", "--locked", "--manifest-path", &manifest, "-p", "mouvements-cli"],
        &[],
    )?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let name = format!("mouvements-gen-{version}-{}", host_target()?);
    let dist = root.join("dist");
    let stage = dist.join(&name);
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&stage)?;
    std::fs::copy(target_dir.join("release/mouvements-gen"), stage.join("mouvements-gen"))?;
    for file in ["README.md", "LICENSE", "CHANGELOG.md"] {
        std::fs::copy(root.join(file), stage.join(file))?;
    }
    // Reproducible archive: sorted names, fixed times and owners, no gzip timestamp.
    let archive = format!("{name}.tar.gz");
    let tar = format!(
        "tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C {} -cf - {name} | gzip -n -9 > {}",
        shell_quote(&dist),
        shell_quote(&dist.join(&archive))
    );
    process::run("sh", &["-c", &tar], &[])?;
    std::fs::remove_dir_all(&stage)?;
    let digest: String =
        Sha256::digest(std::fs::read(dist.join(&archive))?).iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(dist.join("SHA256SUMS"), format!("{digest}  {archive}\n"))?;
    println!("release: dist/{archive}\nrelease: dist/SHA256SUMS {digest}");
    Ok(())
}

/// Commits every change in the repository at `repo`, as a throwaway author.
fn commit_all(repo: &str, message: &str) -> Result<()> {
    let author = ["-c", "user.name=xtask", "-c", "user.email=xtask@localhost"];
    let mut args = vec!["-C", repo];
    args.extend(author);
    args.extend(["commit", "--quiet", "-am", message]);
    process::capture("git", &args, &[]).map(drop)
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', r"'\''"))
}

/// `bash -n` and shellcheck (from the Python tools) on the shell scripts.
pub fn check_scripts(tools: &Tools) -> Result<()> {
    for script in ["deploy.sh", ".ci/run"] {
        process::run("bash", &["-n", script], &[])?;
    }
    process::run(&tools.bin("shellcheck").to_string_lossy(), &["deploy.sh", ".ci/run"], &[])
}

/// Runs `release` on a clean clone of HEAD: it must refuse a dirty tree and a missing
/// changelog entry, then produce the archive and a matching checksum. The clone and its build
/// live in `target/release-check/` with a target folder of their own: sharing the main one
/// would overwrite its binaries with the clone's. The clone's release build is unoptimised
/// (`CARGO_PROFILE_RELEASE_*`): this checks the command's rules and its archive, not the
/// binary's speed, and a full optimised build from scratch took 5 of the gate's 29 minutes.
pub fn self_test() -> Result<()> {
    let root = process::workspace_root()?;
    let check = root.join("target/release-check");
    let clone = check.join("src");
    let _ = std::fs::remove_dir_all(&clone);
    std::fs::create_dir_all(&check)?;
    let (root_text, clone_text) = (root.to_string_lossy().into_owned(), clone.to_string_lossy().into_owned());
    process::run("git", &["clone", "--quiet", "--local", "--no-hardlinks", &root_text, &clone_text], &[])?;
    let env: Vec<(String, String)> = [
        ("CARGO_TARGET_DIR", check.join("target").to_string_lossy().into_owned()),
        ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0".to_owned()),
        ("CARGO_PROFILE_RELEASE_LTO", "off".to_owned()),
        ("CARGO_PROFILE_RELEASE_DEBUG", "0".to_owned()),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let manifest = clone.join("Cargo.toml").to_string_lossy().into_owned();
    let release = || {
        process::capture(
            "cargo",
            &["run", "--quiet", "--locked", "--manifest-path", &manifest, "-p", "xtask", "--", "release"],
            &env,
        )
    };

    std::fs::write(clone.join("untracked.txt"), "dirty")?;
    let dirty = release().err().map(|e| e.to_string()).unwrap_or_default();
    if !dirty.contains("working tree is dirty") {
        bail!("release accepted a dirty tree: {dirty}");
    }
    std::fs::remove_file(clone.join("untracked.txt"))?;

    let changelog = clone.join("CHANGELOG.md");
    let original = std::fs::read_to_string(&changelog)?;
    std::fs::write(&changelog, "# Changelog\n")?;
    commit_all(&clone_text, "drop the entry")?;
    let missing = release().err().map(|e| e.to_string()).unwrap_or_default();
    if !missing.contains("CHANGELOG.md has no entry") {
        bail!("release accepted a version without a changelog entry: {missing}");
    }
    std::fs::write(&changelog, original)?;
    commit_all(&clone_text, "restore the entry")?;

    release()?;
    let sums = std::fs::read_to_string(clone.join("dist/SHA256SUMS"))?;
    let (digest, archive) =
        sums.trim().split_once("  ").context("SHA256SUMS has one line: digest, two spaces, name")?;
    let actual: String = Sha256::digest(std::fs::read(clone.join("dist").join(archive))?)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if actual != digest || !archive.starts_with("mouvements-gen-") {
        bail!("release wrote {archive} with a checksum that does not match SHA256SUMS");
    }
    let listing =
        process::capture("tar", &["-tzf", &clone.join("dist").join(archive).to_string_lossy()], &[])?;
    let listing = String::from_utf8_lossy(&listing.stdout);
    for file in ["mouvements-gen", "README.md", "LICENSE", "CHANGELOG.md"] {
        if !listing.lines().any(|l| l.ends_with(&format!("/{file}"))) {
            bail!("the archive lacks {file}:\n{listing}");
        }
    }
    println!("    release self-test: {archive} refused dirty and unlogged trees, then built");
    Ok(())
}
