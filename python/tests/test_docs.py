"""The README's Python runs as written, on the lake its tour generates (the snippets that need
a Databricks notebook, a Spark session or a bucket are left to the Spark tests and the guide)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]


def python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(encoding="utf-8"), re.S)


def runs_here(code: str) -> bool:
    return not any(word in code for word in ("%pip", "spark", "gs://", "/Volumes"))


def test_the_readmes_python_runs(tmp_path: Path, cli: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli(cli, "generate", "-o", str(tmp_path / "datalake"), "-n", "100k", "-s", "2", "-q")
    monkeypatch.chdir(tmp_path)
    snippets = [code for code in python_blocks("README.md") if runs_here(code)]
    assert snippets, "the README has Python to run"
    for code in snippets:
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own code
    assert (tmp_path / "lake2" / "raw" / "_SUCCESS").exists()
