"""The wheel on its own: the ``mouvements-gen`` console script passes the CLI's smoke run, and
a fresh virtual environment without Rust on PATH installs and runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import clean_env


def script() -> str:
    found = shutil.which("mouvements-gen", path=str(Path(sys.executable).parent))
    assert found, "the wheel puts mouvements-gen beside the venv's python"
    return found


def test_the_console_script_is_the_command(tmp_path: Path) -> None:
    command = script()
    lake = str(tmp_path / "lake")
    done = subprocess.run([command, "generate", "-o", lake, "-n", "50k", "-s", "3", "--json", "-q"],
                          capture_output=True, text=True, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dataset_rows"] == 50_000
    done = subprocess.run([command, "verify", "-o", lake, "--stats", "--json"], capture_output=True, text=True, env=clean_env())
    assert done.returncode == 0 and json.loads(done.stdout)["verdict"] == "pass"
    again = subprocess.run([command, "generate", "-o", lake, "-n", "60k", "-s", "3"], capture_output=True, text=True, env=clean_env())
    assert again.returncode == 2 and "--overwrite" in again.stderr
    bad = subprocess.run([command, "generate", "--rows", "0"], capture_output=True, text=True, env=clean_env())
    assert bad.returncode == 2 and "--rows" in bad.stderr
    assert subprocess.run([command, "--version"], capture_output=True, text=True).stdout.startswith("mouvements-gen ")


def test_a_fresh_venv_without_rust_installs_the_wheel(tmp_path: Path) -> None:
    wheel = os.environ.get("MOUVEMENTS_WHEEL")
    if not wheel:
        pytest.fail("set MOUVEMENTS_WHEEL to the built wheel")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**clean_env(), "PATH": "/usr/bin:/bin"}
    assert shutil.which("cargo", path=env["PATH"]) is None
    pip = subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "--no-index", "--no-deps", wheel],
                         capture_output=True, text=True, env=env)
    assert pip.returncode == 0, pip.stderr
    code = f"""
import mouvements
s = mouvements.generate({str(tmp_path / 'lake')!r}, rows=10_000, shards=2)
assert s.status == "committed", s
assert mouvements.verify({str(tmp_path / 'lake')!r}).passed
print(mouvements.__version__)
"""
    done = subprocess.run([str(venv / "bin/python"), "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
