//! Project automation, run with `cargo xtask <task>`:
//!
//! - `verify`: the one gate: formatting, lints, docs without warnings, script checks, every
//!   test (with the S3 and Azure emulators started here and the GCS fake in-process), doc
//!   tests, an end-to-end run of the binary on every kind of lake read back by real readers
//!   (DuckDB, pyarrow, polars, delta-rs), the HTML report rendered in headless Chromium, the
//!   Python wheel built and its pytest suite run against it installed, and the release
//!   self-test. It installs what it needs itself (see `python` and `emulators`).
//! - `bench`: release-mode measurements with ratios against `dd` and DuckDB, as a table.
//! - `release`: a reproducible release archive in `dist/`.
//! - `wheel`: the Python package as an abi3 manylinux_2_28 wheel in `target/wheels/`.
//! - `screenshot PAGE.html`: renders a `verify --html` page in headless Chromium to a PNG
//!   beside it and checks every section is drawn (the check `verify` runs on the smoke lake).

mod azure;
mod bench;
mod bench_python;
mod emulators;
mod links;
mod process;
mod python;
mod release;
mod screenshot;
mod smoke;
mod transcripts;
mod wheel;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = process::workspace_root()?;
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("verify") => verify(),
        Some("bench") => bench::run(&args[1..]),
        Some("release") => release::run(&root),
        Some("docs") => docs(),
        Some("wheel") => wheel::build(&python::Tools::install()?).map(drop),
        Some("screenshot") if args.len() == 2 => screenshot::check(std::path::Path::new(&args[1])).map(drop),
        _ => {
            bail!(
                "usage: cargo xtask <verify | docs | bench [--quick] [--runs N] [--only GROUP,...] | release | wheel | screenshot PAGE.html>"
            )
        }
    }
}

/// `cargo xtask verify`.
/// The docs alone: their links, and their console transcripts run with the debug build.
fn docs() -> Result<()> {
    links::check()?;
    process::run("cargo", &["build", "--locked", "-p", "mouvements-cli"], &[])?;
    transcripts::check(&python::Tools::install()?, &smoke::debug_bin("mouvements-gen"))
}

fn verify() -> Result<()> {
    process::run("cargo", &["fmt", "--all", "--check"], &[])?;
    links::check()?;
    process::run(
        "cargo",
        &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"],
        &[],
    )?;
    let docs = [("RUSTDOCFLAGS".to_owned(), "-D warnings".to_owned())];
    process::run("cargo", &["doc", "--workspace", "--no-deps", "--locked"], &docs)?;
    let tools = python::Tools::install()?;
    release::check_scripts(&tools)?;
    let emulators = emulators::Emulators::start(&tools)?;
    let env = emulators.test_env();
    process::run("cargo", &["test", "--workspace", "--locked"], &env)?;
    smoke::run(&env, &tools)?;
    transcripts::check(&tools, &smoke::debug_bin("mouvements-gen"))?;
    drop(emulators);
    let built = wheel::build(&tools)?;
    wheel::test(&tools, &built, &smoke::debug_bin("mouvements-gen"))?;
    release::self_test()?;
    println!("\nxtask verify: all checks passed");
    Ok(())
}
