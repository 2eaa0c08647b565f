//! `cargo xtask wheel`: the Python package as one abi3 wheel (CPython 3.9 and later) in
//! `target/wheels/`, built by maturin with zig as the linker against glibc 2.28, so that it
//! installs on Databricks Runtime 15.4 LTS (Ubuntu 22.04, glibc 2.35) and any later Linux,
//! not only on machines as new as this one. The tag is checked with `auditwheel show`.
//! In `verify`, the wheel is installed into the tools' environment and the Python suite
//! (`python/tests`) runs against it, never against the sources.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::process;
use crate::python::Tools;

/// The oldest glibc the wheel is linked for: manylinux_2_28.
const GLIBC: &str = "2.28";

/// Where the wheel goes.
const WHEELS: &str = "target/wheels";

/// Builds the wheel; returns its path.
pub fn build(tools: &Tools) -> Result<PathBuf> {
    println!("\n==> the Python wheel (maturin, zig, manylinux_{})", GLIBC.replace('.', "_"));
    let folder = Path::new(WHEELS);
    if folder.is_dir() {
        for entry in std::fs::read_dir(folder)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "whl") {
                std::fs::remove_file(&path)?;
            }
        }
    }
    let compatibility = format!("manylinux_{}", GLIBC.replace('.', "_"));
    let maturin = tools.bin("maturin").to_string_lossy().into_owned();
    // maturin finds zig as `python -m ziglang` with the interpreter first on PATH: the tools'.
    let env = [("PATH".to_owned(), tools.path_with_venv())];
    process::run(
        &maturin,
        &["build", "--release", "--locked", "--zig", "--compatibility", &compatibility, "--out", WHEELS],
        &env,
    )?;
    let wheel = std::fs::read_dir(folder)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|e| e == "whl"))
        .context("maturin wrote no wheel")?;
    let name = wheel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !name.contains("-cp39-abi3-") || !name.contains(&compatibility) {
        bail!("{name}: expected an abi3 wheel for CPython 3.9+ tagged {compatibility}");
    }
    let shown = process::capture(
        &tools.bin("auditwheel").to_string_lossy(),
        &["show", &wheel.to_string_lossy()],
        &env,
    )?;
    let report = String::from_utf8_lossy(&shown.stdout).replace('\n', " ");
    if !report.contains(&format!("\"{compatibility}_x86_64\""))
        && !report.contains(&format!("{compatibility}_x86_64"))
    {
        bail!("auditwheel show {name}: not {compatibility}: {report}");
    }
    let size = std::fs::metadata(&wheel)?.len();
    println!("    {name}: {:.1} MB, {compatibility} (auditwheel)", size as f64 / 1e6);
    Ok(wheel)
}

/// Installs `wheel` into the tools' environment and runs the Python suite against it, with
/// `cli` (the binary) to compare with.
pub fn test(tools: &Tools, wheel: &Path, cli: &Path) -> Result<()> {
    println!("\n==> the Python package: pytest against the installed wheel");
    let pip = tools.bin("pip").to_string_lossy().into_owned();
    let wheel_text = wheel.to_string_lossy().into_owned();
    process::run(
        &pip,
        &["install", "--quiet", "--disable-pip-version-check", "--force-reinstall", "--no-deps", &wheel_text],
        &[],
    )?;
    let absolute = |p: &Path| std::path::absolute(p).map(|p| p.to_string_lossy().into_owned());
    let env = [
        ("MOUVEMENTS_GEN".to_owned(), absolute(cli)?),
        ("MOUVEMENTS_WHEEL".to_owned(), absolute(wheel)?),
        ("PATH".to_owned(), tools.path_with_venv()),
    ];
    let python = tools.bin("python").to_string_lossy().into_owned();
    process::run(&python, &["-m", "pytest", "-q", "-p", "no:cacheprovider", "python/tests"], &env)
}
