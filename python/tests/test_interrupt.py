"""Ctrl-C in the middle of ``generate`` raises ``KeyboardInterrupt`` promptly with the CLI's
guarantees: nothing committed, and ``mode="resume"`` completes the lake to the same bytes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import clean_env, run_cli, tree

SCRIPT = """
import sys, mouvements
def started(done, total):
    if done:
        print("started", flush=True)
try:
    mouvements.generate(sys.argv[1], rows=4_000_000, shards=4, threads=2, progress=started)
except KeyboardInterrupt as e:
    print("interrupted:", e, flush=True)
    sys.exit(130)
print("finished", flush=True)
"""


def test_sigint_mid_generate_then_resume_gives_the_same_bytes(tmp_path: Path, cli: str) -> None:
    lake = tmp_path / "lake"
    child = subprocess.Popen([sys.executable, "-c", SCRIPT, str(lake)], stdout=subprocess.PIPE, text=True, env=clean_env())
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "started"
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    out = child.stdout.read()
    code = child.wait(timeout=30)
    took = time.monotonic() - sent
    assert code == 130, out
    assert "interrupted: interrupted: unfinished uploads were aborted" in out
    assert took < 2.0, f"KeyboardInterrupt took {took:.2f} s"
    assert not (lake / "raw" / "_SUCCESS").exists()

    import mouvements

    assert mouvements.generate(lake, rows=4_000_000, shards=4, mode="resume").status == "committed"
    run_cli(cli, "generate", "-o", str(tmp_path / "clean"), "-n", "4M", "-s", "4", "-q")
    resumed, clean = tree(lake), tree(tmp_path / "clean")
    assert sorted(resumed) == sorted(clean)
    assert all(resumed[name] == clean[name] for name in resumed)
    assert mouvements.verify(lake).passed


VERIFY = """
import sys, time, mouvements
print("started", flush=True)
try:
    mouvements.verify(sys.argv[1], stats=True, html=sys.argv[2])
except KeyboardInterrupt as e:
    print("interrupted:", e, flush=True)
    time.sleep(3)  # the abandoned verification must not write its page after this
    sys.exit(130)
print("finished", flush=True)
"""


def test_sigint_mid_verify_raises_at_once_and_writes_nothing(tmp_path: Path) -> None:
    import mouvements

    lake, page = tmp_path / "lake", tmp_path / "report.html"
    mouvements.generate(lake, rows=3_000_000, shards=2, layers="raw")
    child = subprocess.Popen([sys.executable, "-c", VERIFY, str(lake), str(page)], stdout=subprocess.PIPE, text=True,
                             env=clean_env())
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "started"
    time.sleep(0.5)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    line = child.stdout.readline()
    took = time.monotonic() - sent
    assert line.startswith("interrupted: interrupted: the verification stopped"), line
    assert took < 1.5, f"KeyboardInterrupt took {took:.2f} s"
    assert child.wait(timeout=30) == 130
    assert not page.exists()
