"""Shared fixtures: the ``mouvements-gen`` binary the gate built (``MOUVEMENTS_GEN``), and a
clean environment for it (no inherited cloud settings)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def clean_env() -> dict[str, str]:
    """The environment without cloud credentials or lake variables: nothing reaches a cloud."""
    prefixes = ("GOOGLE_", "AWS_", "AZURE_", "GCS_", "CLOUD_RUN_", "BATCH_", "MOUVEMENTS_FAULT")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@pytest.fixture(autouse=True)
def _no_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("GOOGLE_", "AWS_", "AZURE_", "GCS_", "CLOUD_RUN_", "BATCH_", "MOUVEMENTS_FAULT")):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def cli() -> str:
    """The ``mouvements-gen`` binary built by cargo (the CLI the API is compared with)."""
    path = os.environ.get("MOUVEMENTS_GEN") or shutil.which("mouvements-gen")
    if not path:
        pytest.fail("set MOUVEMENTS_GEN to the mouvements-gen binary")
    return path


def run_cli(cli: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs the binary; with ``check``, fails the test on a non-zero exit."""
    done = subprocess.run([cli, *args], capture_output=True, text=True, env=clean_env())
    if check and done.returncode != 0:
        pytest.fail(f"{cli} {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done


def tree(base: Path) -> dict[str, bytes]:
    """Every file under ``base`` by relative path, with its bytes."""
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


ROOT = Path(__file__).resolve().parents[2]


def python_blocks(page: str) -> list[str]:
    """The ```python blocks of a page of the repository (``README.md``, ``docs/….md``)."""
    return re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(encoding="utf-8"), re.S)
