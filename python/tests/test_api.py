"""The Python API against the CLI: the same lake, byte for byte; summaries and reports as
``--json`` gives them; errors as typed exceptions with the CLI's messages."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import duckdb
import pytest

import mouvements
from conftest import run_cli, tree

SMALL = dict(rows=30_000, shards=3, seed=7, month="2025-03", labels=True)


def test_the_api_writes_the_cli_lake_byte_for_byte(tmp_path: Path, cli: str) -> None:
    summary = mouvements.generate(tmp_path / "api", **SMALL)
    run_cli(cli, "generate", "-o", str(tmp_path / "cli"), "-n", "30000", "-s", "3", "--seed", "7",
            "--month", "2025-03", "--labels", "-q")
    api, ours = tree(tmp_path / "api"), tree(tmp_path / "cli")
    assert sorted(api) == sorted(ours)
    assert any(name.startswith("delta/mouvements/_delta_log/") for name in api)
    assert "raw/_manifest.json" in api and "raw/_SUCCESS" in api
    for name in api:
        assert api[name] == ours[name], name
    assert summary.status == "committed" and summary.dataset_rows == 30_000


def test_an_append_is_the_cli_append_byte_for_byte(tmp_path: Path, cli: str) -> None:
    mouvements.generate(tmp_path / "api", **SMALL)
    summary = mouvements.generate(tmp_path / "api", rows=10_000, shards=2, mode="append")
    run_cli(cli, "generate", "-o", str(tmp_path / "cli"), "-n", "30000", "-s", "3", "--seed", "7",
            "--month", "2025-03", "--labels", "-q")
    run_cli(cli, "generate", "-o", str(tmp_path / "cli"), "-n", "10000", "-s", "2", "--append", "-q")
    api, ours = tree(tmp_path / "api"), tree(tmp_path / "cli")
    assert sorted(api) == sorted(ours)
    for name in api:
        assert api[name] == ours[name], name
    assert (summary.load, summary.dataset_rows, summary.lake_rows) == (1, 10_000, 40_000)
    report = mouvements.verify(tmp_path / "api")
    assert report.passed, report.problems
    loads = report.as_dict()["dataset"]["loads"]
    assert [(l["start"], l["first_id"]) for l in loads] == [("2025-03-01", "M0000001"), ("2025-04-01", "M0030001")]
    with pytest.raises(mouvements.ArgumentError, match="seed: 8 differs from the lake's seed 7"):
        mouvements.generate(tmp_path / "api", rows=1_000, shards=1, seed=8, mode="append")
    with pytest.raises(mouvements.StorageError, match="no lake to append to"):
        mouvements.generate(tmp_path / "empty", rows=1_000, shards=1, mode="append")


def test_events_are_the_cli_events_byte_for_byte_and_refused_without_an_append(tmp_path: Path, cli: str) -> None:
    first = dict(rows=20_000, shards=2, month="2025-01", labels=True)
    mouvements.generate(tmp_path / "api", **first)
    mouvements.generate(tmp_path / "api", rows=20_000, shards=3, mode="append", changes=0.02,
                        late_rate=0.01, duplicate_rate=0.005)
    run_cli(cli, "generate", "-o", str(tmp_path / "cli"), "-n", "20000", "-s", "2", "--month", "2025-01",
            "--labels", "-q")
    run_cli(cli, "generate", "-o", str(tmp_path / "cli"), "-n", "20000", "-s", "3", "--append",
            "--changes", "0.02", "--late-rate", "0.01", "--duplicate-rate", "0.005", "-q")
    api, ours = tree(tmp_path / "api"), tree(tmp_path / "cli")
    feed = sorted(name for name in api if name.startswith("raw/changes/"))
    merged = [name for name in api if "-changed-load00001" in name or "/_change_data/" in name]
    repeated = [name for name in api if name.startswith("raw/mouvements-load00001-repeated-")]
    events = [name for name in api if name.startswith("raw/_labels/events-load00001-")]
    assert len(feed) == 3 and merged and len(repeated) == 3 and len(events) == 3 and sorted(api) == sorted(ours)
    for name in api:
        assert api[name] == ours[name], name
    changes = mouvements.verify(tmp_path / "api").as_dict()["changes"]
    assert changes["updates"] + changes["deletes"] == 400
    assert changes["repeats"] == 100 and 100 <= changes["late_rows"] <= 300
    staged = duckdb.sql(f"SELECT change_type, count(*), typeof(any_value(change_seq)), typeof(any_value(montant)) "
                        f"FROM read_parquet('{tmp_path}/api/staging/changes/**/*.parquet', hive_partitioning=true) "
                        "GROUP BY ALL ORDER BY ALL").fetchall()
    assert [(kind, n) for kind, n, _, _ in staged] == [("delete", changes["deletes"]), ("update", changes["updates"])]
    assert {types for *_, types in staged} == {"DECIMAL(18,2)"} and staged[0][2] == "BIGINT"
    for name in ("changes", "late_rate", "duplicate_rate"):
        with pytest.raises(mouvements.ArgumentError, match=f"{name}: only an appended load"):
            mouvements.generate(tmp_path / "other", rows=1_000, shards=1, **{name: 0.01})


def test_the_summary_has_the_fields_of_generate_json(tmp_path: Path, cli: str) -> None:
    summary = mouvements.generate(tmp_path / "api", rows=1_000, shards=1)
    printed = json.loads(run_cli(cli, "generate", "-o", str(tmp_path / "cli"), "-n", "1000", "-s", "1",
                                 "--json", "-q").stdout)
    fields = summary.as_dict()
    assert sorted(fields) == sorted(printed)
    timing = {"seconds", "rows_per_second", "mb_per_second", "base", "manifest"}
    assert {k: v for k, v in fields.items() if k not in timing} == {
        k: v for k, v in printed.items() if k not in timing
    }
    assert summary.rows == 1_000 and summary.shards_written == [0]
    assert "Summary(status='committed'" in repr(summary)


def test_verify_gives_the_report_of_verify_json(tmp_path: Path, cli: str) -> None:
    mouvements.generate(tmp_path, rows=5_000, shards=2)
    report = mouvements.verify(tmp_path, stats=True, sample=3)
    printed = json.loads(run_cli(cli, "verify", "-o", str(tmp_path), "--stats", "--sample", "3", "--json").stdout)
    assert report.passed and report.problems == []
    fields = report.as_dict()
    assert fields["verdict"] == printed["verdict"] == "pass"
    assert fields["stats"] == printed["stats"] and report.stats == printed["stats"]
    assert fields["sample"] == printed["sample"]
    page = report._repr_html_()
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    assert "verdict" in repr(report) and "PASS" in str(report)


def test_verify_writes_the_html_page(tmp_path: Path) -> None:
    mouvements.generate(tmp_path / "lake", rows=2_000, shards=1)
    page = tmp_path / "report.html"
    report = mouvements.verify(tmp_path / "lake", html=page)
    assert report.passed and page.read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(mouvements.ArgumentError, match="html: .* does not exist"):
        mouvements.verify(tmp_path / "lake", html=tmp_path / "missing" / "r.html")


def test_a_corrupted_shard_fails_verification_naming_rule_and_line(tmp_path: Path) -> None:
    mouvements.generate(tmp_path, rows=2_000, shards=2, layers="raw")
    shard = tmp_path / "raw" / "mouvements-00001-of-00002.csv"
    lines = shard.read_bytes().split(b"\n")
    fields = lines[5].split(b",")
    fields[6] = b"XX"
    lines[5] = b",".join(fields)
    shard.write_bytes(b"\n".join(lines))
    report = mouvements.verify(tmp_path)
    assert not report.passed
    rules = {p.rule for p in report.problems}
    assert "pays.domain" in rules, rules
    located = [p for p in report.problems if p.file.endswith("mouvements-00001-of-00002.csv") and p.line == 6]
    assert located, report.problems


def test_guide_is_the_cli_guide(tmp_path: Path, cli: str) -> None:
    mouvements.generate(tmp_path, rows=1_000, shards=1, layers=["raw", "staging"])
    text = mouvements.guide(tmp_path)
    assert text == run_cli(cli, "guide", "-o", str(tmp_path)).stdout
    assert "staging" in text and "CREATE" in text


def test_the_gil_is_released_while_generating(tmp_path: Path) -> None:
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    started = time.monotonic()
    mouvements.generate(tmp_path, rows=1_000_000, shards=2)
    elapsed = time.monotonic() - started
    stop.set()
    counter.join()
    # With the GIL held the thread would not run at all; released, it ticks every millisecond
    # or so (the bound is loose for a loaded machine).
    assert ticks > 20 * elapsed, (ticks, elapsed)


def test_a_progress_callback_sees_every_row(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    mouvements.generate(tmp_path, rows=200_000, shards=2, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (200_000, 200_000)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_a_progress_callback_that_raises_stops_the_run(tmp_path: Path) -> None:
    def fail(done: int, total: int) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        mouvements.generate(tmp_path, rows=2_000_000, shards=2, progress=fail)
    assert not (tmp_path / "raw" / "_SUCCESS").exists()
    summary = mouvements.generate(tmp_path, rows=2_000_000, shards=2, mode="resume")
    assert summary.status == "committed"


def test_the_change_data_feed_holds_each_loads_rows_and_events(tmp_path: Path) -> None:
    import csv
    import urllib.parse
    from collections import Counter

    import deltalake
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = tmp_path / "lake"
    mouvements.generate(base, rows=20_000, shards=2, month="2025-01")
    mouvements.generate(base, rows=20_000, shards=2, mode="append", changes=0.02)
    mouvements.generate(base, rows=20_000, shards=3, mode="append", changes=0.02)
    table = base / "delta" / "mouvements"
    for version in (1, 2):
        log = (table / "_delta_log" / f"{version:020}.json").read_text(encoding="utf-8").splitlines()
        actions = [json.loads(line) for line in log]
        assert actions[0]["commitInfo"]["operation"] == "MERGE"
        cdc = [(a["cdc"], pq.read_table(table / urllib.parse.unquote(a["cdc"]["path"]))) for a in actions if "cdc" in a]
        feed = pa.concat_tables(t for _, t in cdc).to_pylist()
        events = []
        for name in sorted((base / "raw" / "changes").glob(f"changes-load{version:05}-*.csv")):
            with name.open(encoding="utf-8", newline="") as f:
                events.extend(csv.DictReader(f))
        updates = {(e["id_mouvement"], e["montant"]) for e in events if e["change_type"] == "update"}
        deletes = {e["id_mouvement"] for e in events if e["change_type"] == "delete"}
        kinds = Counter(r["_change_type"] for r in feed)
        assert kinds == {"insert": 20_000, "update_preimage": len(updates), "update_postimage": len(updates),
                         "delete": len(deletes)}, kinds
        assert {(r["id_mouvement"], str(r["montant"])) for r in feed if r["_change_type"] == "update_postimage"} == updates
        assert {r["id_mouvement"] for r in feed if r["_change_type"] == "delete"} == deletes
        # delta-rs's own reader of the feed finds the same rows, with the partitions the cdc actions name.
        ours = Counter(
            (r["id_mouvement"], str(r["montant"]), c["partitionValues"]["pays"], c["partitionValues"]["produit"],
             r["_change_type"])
            for c, t in cdc for r in t.to_pylist()
        )
        read = pa.table(deltalake.DeltaTable(table).load_cdf(starting_version=version, ending_version=version).read_all())
        columns = ["id_mouvement", "montant", "pays", "produit", "_change_type"]
        rows = read.select(columns).cast(pa.schema([(c, pa.string()) for c in columns])).to_pylist()
        assert Counter(tuple(r[c] for c in columns) for r in rows) == ours
        assert {r["produit"] for r in rows} == {"auto", "santé", "habitation", "vie"}
    # The readers agree with verify on the merged state, and every version still reads.
    live = mouvements.verify(base).as_dict()["changes"]["live_rows"]
    assert deltalake.DeltaTable(table).to_pyarrow_table().num_rows == live == pl.read_delta(str(table)).height
    assert [deltalake.DeltaTable(table, version=v).to_pyarrow_table().num_rows for v in (0, 1)][0] == 20_000
