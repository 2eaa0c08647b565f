"""The Python of the README, docs/python.md and docs/history.md runs as written, the README's on the lake its
tour generates (the snippets that need a Databricks notebook, a Spark session or a bucket are
left to the Spark tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import python_blocks, run_cli


def runs_here(code: str) -> bool:
    return not any(word in code for word in ("%pip", "spark.", '"gs://', '"s3://', '"az://', "/Volumes"))


def test_the_readmes_python_runs(tmp_path: Path, cli: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli(cli, "generate", "-o", str(tmp_path / "datalake"), "-n", "100k", "-s", "2", "-q")
    monkeypatch.chdir(tmp_path)
    snippets = [code for code in python_blocks("README.md") if runs_here(code)]
    assert snippets, "the README has Python to run"
    for code in snippets:
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own code
    assert (tmp_path / "lake2" / "raw" / "_SUCCESS").exists()


def test_the_python_guides_snippets_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    snippets = [code for code in python_blocks("docs/python.md") if runs_here(code)]
    assert len(snippets) >= 2, "docs/python.md has Python to run"
    scope: dict = {}
    for code in snippets:
        exec(compile(code, "docs/python.md", "exec"), scope)  # noqa: S102 - the guide's own code
    assert scope["report"].passed


def test_the_change_feeds_merge_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    snippets = [code for code in python_blocks("docs/history.md") if runs_here(code)]
    assert snippets, "docs/history.md has the MERGE to run"
    scope: dict = {}
    for code in snippets:
        exec(compile(code, "docs/history.md", "exec"), scope)  # noqa: S102 - the guide's own code
    assert scope["expected"]["deletes"] > 0 and scope["rows"] < 300_000 and scope["ours"].num_rows == scope["rows"]
