"""Every error is an exception of one hierarchy, with the CLI's message; secrets never show."""

from __future__ import annotations

from pathlib import Path

import pytest

import mouvements
from mouvements import errors


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(month="2025-13"), r"month: expected a month as YYYY-MM"),
        (dict(rows=-1), r"rows: expected a row count"),
        (dict(rows=0), r"rows: the row count must be at least 1"),
        (dict(rows="ten"), r"rows: expected a row count"),
        (dict(rows=True), r"rows: expected a row count"),
        (dict(shards=0), r"shards: invalid dataset: 0 shards: a dataset has 1 to 10000 shards"),
        (dict(rows=3, shards=5), r"every shard needs at least one row; give fewer shards"),
        (dict(seed=-5), r"seed: expected a whole number"),
        (dict(start="2025-06-10", end="2025-06-01"), r"period ends \(2025-06-01\) before it starts"),
        (dict(start="2025-06-10"), r"start: needs end too"),
        (dict(month="2025-06", start="2025-06-01", end="2025-06-02"), r"month: give either month"),
        (dict(anomaly_rate=1.5), r"anomaly rate 1.5 is not in \[0, 1\]"),
        (dict(layers=("raw", "gold")), r"layers"),
        (dict(format="xml"), r"format"),
        (dict(mode="append-ish"), r'mode: expected "create", "overwrite", "resume", "append" or "append-resume"'),
        (dict(task_index=3, task_count=2), r"task_index: task index 3 must be below the task count 2"),
        (dict(threads=0), r"threads: expected 1 to 1024"),
    ],
)
def test_bad_arguments_are_value_errors_naming_the_keyword(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(mouvements.ArgumentError, match=match) as raised:
        mouvements.generate(tmp_path, **{"rows": 1_000, **kwargs})
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, mouvements.MouvementsError)
    assert not any(tmp_path.iterdir()), "nothing is written on a bad argument"


@pytest.mark.parametrize("base", ["s3:/bad", "gs:bucket", "gcs://x"])
def test_a_misspelt_url_is_refused_with_the_right_spelling(base: str) -> None:
    with pytest.raises(mouvements.ArgumentError, match=r"base: .*"):
        mouvements.generate(base, rows=10)


def test_an_existing_dataset_is_not_overwritten(tmp_path: Path) -> None:
    mouvements.generate(tmp_path, rows=1_000, shards=1)
    # The same settings again find the dataset committed: nothing to write.
    assert mouvements.generate(tmp_path, rows=1_000, shards=1).status == "already-committed"
    with pytest.raises(errors.DatasetExistsError, match=r'use mode="overwrite" to replace it'):
        mouvements.generate(tmp_path, rows=1_500, shards=1)
    assert mouvements.generate(tmp_path, rows=2_000, shards=1, mode="overwrite").dataset_rows == 2_000


def test_another_runs_claim_is_a_run_conflict(tmp_path: Path) -> None:
    pending = mouvements.generate(tmp_path, rows=1_000, shards=2, run_id="first", task_index=0, task_count=2)
    assert pending.status == "pending"
    with pytest.raises(errors.RunConflictError):
        mouvements.generate(tmp_path, rows=1_000, shards=2, run_id="second", task_index=1, task_count=2)


def test_a_missing_lake_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(errors.StorageError, match="no lake at"):
        mouvements.verify(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.StorageError, match=r"no dataset at .*mouvements.generate"):
        mouvements.verify(tmp_path / "empty")


def test_an_unwritable_folder_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(errors.StorageError, match="cannot write to local lake"):
        mouvements.generate(blocker / "lake", rows=10, shards=1)


def test_storage_option_values_never_appear(tmp_path: Path) -> None:
    secret = "S3CR3T-VALUE-123"
    options = {"aws_secret_access_key": secret, "aws_bogus_setting": secret}
    with pytest.raises(mouvements.ArgumentError) as raised:
        mouvements.generate("s3://bucket/lake", rows=10, storage_options=options)
    assert "aws_bogus_setting" in str(raised.value) and secret not in str(raised.value)
    with pytest.raises(mouvements.ArgumentError, match="storage_options") as raised:
        mouvements.generate("s3://bucket/lake", rows=10, storage_options={"aws_region": 1.5})
    assert "1.5" not in str(raised.value)


def test_no_input_surfaces_as_a_panic(tmp_path: Path) -> None:
    hostile = [
        dict(rows=2**70), dict(first_id=2**64 - 1), dict(first_id=-1), dict(seed=2**64),
        dict(month="9999-12", rows=10), dict(month="0000-01"), dict(start="2025-02-30", end="2025-03-01"),
        dict(run_id=""), dict(run_id="x" * 500), dict(shards=2**40), dict(task_count=0),
    ]
    for kwargs in hostile:
        try:
            mouvements.generate(tmp_path / "h", **{"rows": 100, **kwargs})
        except mouvements.MouvementsError:
            pass
        except BaseException as e:  # a PanicException derives from BaseException
            pytest.fail(f"{kwargs}: {type(e).__name__}: {e}")
