"""Spark: the ``mouvements`` data source (batch and streaming) against the CLI's rows, and
``write_lake`` against the CLI's lake, on one local Spark session (local[2], tasks retried
once)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

pyspark = pytest.importorskip("pyspark")

import mouvements  # noqa: E402
from conftest import python_blocks, run_cli, tree  # noqa: E402

ROWS, SEED, MONTH = 30_000, 3, "2025-04"
# The checksum of the seven columns that ignores row order, as Spark computes it.
DIGEST = [
    "count(*) AS n",
    "sum(montant) AS total",
    "sum(xxhash64(id_mouvement, date_op, produit, type_op, montant, agence_id, pays) % 1000000007) AS checksum",
]


@pytest.fixture(scope="session")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession

    from mouvements.spark import MouvementsDataSource, MouvementsLabelsDataSource

    session = (
        SparkSession.builder.master("local[2,2]")  # two cores; a failed task is retried once
        .appName("mouvements-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.dataSource.register(MouvementsDataSource)
    session.dataSource.register(MouvementsLabelsDataSource)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def csv_lake(tmp_path_factory: pytest.TempPathFactory, cli: str) -> Path:
    base = tmp_path_factory.mktemp("csv")
    run_cli(cli, "generate", "-o", str(base), "-n", str(ROWS), "-s", "3", "--seed", str(SEED), "--month", MONTH,
            "--layers", "raw", "-q")
    return base


def raw_csv(spark, base: Path):
    from mouvements.spark import SCHEMA

    return spark.read.option("header", "true").schema(SCHEMA).csv(str(base / "raw" / "mouvements-*.csv"))


def source(spark, **options: str):
    reader = spark.read.format("mouvements")
    for key, value in {"rows": str(ROWS), "seed": str(SEED), "month": MONTH, **options}.items():
        reader = reader.option(key, value)
    return reader.load()


@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_the_batch_source_gives_the_clis_rows(spark, csv_lake: Path, partitions: int) -> None:
    df = source(spark, partitions=str(partitions))
    assert df.rdd.getNumPartitions() == partitions
    assert df.selectExpr(*DIGEST).collect() == raw_csv(spark, csv_lake).selectExpr(*DIGEST).collect()


def test_row_for_row_on_a_small_set(spark, cli: str, tmp_path: Path) -> None:
    run_cli(cli, "generate", "-o", str(tmp_path), "-n", "500", "-s", "2", "--layers", "raw", "-q")
    ours = spark.read.format("mouvements").option("rows", "500").option("partitions", "4").load()
    expected = raw_csv(spark, tmp_path).orderBy("id_mouvement").collect()
    assert ours.orderBy("id_mouvement").collect() == expected


def test_spark_reads_every_load_of_a_history_on_the_raw_glob_and_staging(spark, cli: str, tmp_path: Path) -> None:
    run_cli(cli, "generate", "-o", str(tmp_path), "-n", "3000", "-s", "2", "--month", "2025-01", "-q")
    for rows in ("2000", "1000"):
        run_cli(cli, "generate", "-o", str(tmp_path), "-n", rows, "-s", "2", "--append", "-q")
    raw = raw_csv(spark, tmp_path)
    months = raw.selectExpr("date_format(date_op, 'yyyy-MM') AS month").groupBy("month").count().collect()
    assert {r["month"]: r["count"] for r in months} == {"2025-01": 3000, "2025-02": 2000, "2025-03": 1000}
    ids = raw.selectExpr("count(DISTINCT id_mouvement)", "min(id_mouvement)", "max(id_mouvement)").collect()[0]
    assert tuple(ids) == (6000, "M0000001", "M0006000")
    staging = spark.read.parquet(str(tmp_path / "staging" / "mouvements"))
    assert staging.selectExpr(*DIGEST).collect() == raw.selectExpr(*DIGEST).collect()


def test_spark_reads_the_change_feed_beside_the_raw_glob_and_merges_it_to_verifys_answer(
    spark, cli: str, tmp_path: Path
) -> None:
    run_cli(cli, "generate", "-o", str(tmp_path), "-n", "3000", "-s", "2", "--month", "2025-01", "--layers", "raw", "-q")
    for rows in ("2000", "1000"):
        run_cli(cli, "generate", "-o", str(tmp_path), "-n", rows, "-s", "2", "--append", "--changes", "0.05", "-q")
    raw = raw_csv(spark, tmp_path)
    assert raw.count() == 6000, "the raw glob reads the loads' shards, not the feed"
    feed = (spark.read.option("header", "true")
            .schema("change_type STRING, change_seq BIGINT, id_mouvement STRING, date_op DATE, produit STRING, "
                    "type_op STRING, montant DECIMAL(18,2), agence_id STRING, pays STRING")
            .csv(str(tmp_path / "raw" / "changes" / "*.csv")))
    feed.createOrReplaceTempView("feed")
    raw.createOrReplaceTempView("book")
    live = spark.sql("""
        WITH ranked AS (
            SELECT *, row_number() OVER (PARTITION BY id_mouvement ORDER BY change_seq DESC) AS newest FROM feed
        ), last AS (SELECT * FROM ranked WHERE newest = 1)
        SELECT count(*) AS n, sum(coalesce(last.montant, book.montant)) AS total
        FROM book LEFT JOIN last ON book.id_mouvement = last.id_mouvement
        WHERE last.change_type IS NULL OR last.change_type = 'update'
    """).collect()[0]
    delivered = raw.selectExpr("sum(montant)").collect()[0][0]
    expected = mouvements.verify(tmp_path).as_dict()["changes"]
    assert live["n"] == expected["live_rows"] and expected["deletes"] > 0
    assert (live["total"] - delivered) * 100 == expected["montant_change_cents"]


def test_the_schema_has_sparks_types_and_no_nulls(spark) -> None:
    fields = {f.name: (f.dataType.simpleString(), f.nullable) for f in source(spark).schema.fields}
    assert fields == {
        "id_mouvement": ("string", False), "date_op": ("date", False), "produit": ("string", False),
        "type_op": ("string", False), "montant": ("decimal(18,2)", False), "agence_id": ("string", False),
        "pays": ("string", False),
    }


def test_pruning_and_filters_answer_as_the_csv_does(spark, csv_lake: Path) -> None:
    query = lambda df: (df.where("pays = 'FR' AND produit = 'santé' AND montant > 100")  # noqa: E731
                        .groupBy("type_op").agg({"montant": "sum", "*": "count"}).orderBy("type_op").collect())
    assert query(source(spark, partitions="3")) == query(raw_csv(spark, csv_lake))
    assert source(spark).select("agence_id").distinct().count() == raw_csv(spark, csv_lake).select("agence_id").distinct().count()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"rows": "0"}, "option rows: the row count must be at least 1"),
        ({"rows": "-5"}, "option rows: expected a row count"),
        ({"rows": "lots"}, "option rows: expected a row count"),
        ({"rowz": "10"}, "unknown option 'rowz'"),
        ({"month": "2025-13"}, "option month: expected a month as YYYY-MM"),
        ({"from": "0000-01-01", "to": "0000-01-02", "month": None}, "0000-01-01 is outside years 0001 to 9999"),
        ({"partitions": "0"}, "option partitions"),
        ({"seed": "x"}, "option seed"),
    ],
)
def test_a_bad_option_fails_at_load_naming_it(spark, options: dict, named: str) -> None:
    reader = spark.read.format("mouvements")
    for key, value in {"rows": "1000", "month": "2025-06", **options}.items():
        if value is not None:
            reader = reader.option(key, value)
    with pytest.raises(Exception) as raised:
        reader.load()
    assert named in str(raised.value)


def test_the_labels_format_is_the_ground_truth_generate_writes(spark, cli: str, tmp_path: Path) -> None:
    run_cli(cli, "generate", "-o", str(tmp_path), "-n", "20000", "-s", "2", "--anomaly-rate", "0.01", "--labels",
            "--layers", "raw", "-q")
    ours = (spark.read.format("mouvements_labels").option("rows", "20000").option("anomaly_rate", "0.01")
            .option("partitions", "3").load())
    from mouvements.spark import LABELS_SCHEMA

    written = spark.read.option("header", "true").schema(LABELS_SCHEMA).csv(str(tmp_path / "raw" / "_labels"))
    assert ours.count() == written.count() > 100
    assert ours.orderBy("id_mouvement").collect() == written.orderBy("id_mouvement").collect()
    rows = source(spark, rows="20000", anomaly_rate="0.01", seed="42", month="2025-06")
    flagged = ours.join(rows, ["id_mouvement", "type_op", "produit", "montant"])
    assert flagged.count() == ours.count()


def stream(spark, rows: int, per_batch: int):
    return (spark.readStream.format("mouvements").option("rows", str(rows)).option("seed", str(SEED))
            .option("month", MONTH).option("rowsPerBatch", str(per_batch)).load())


def test_the_stream_delivers_the_batch_rows_in_micro_batches(spark, tmp_path: Path) -> None:
    out, checkpoint = tmp_path / "out", tmp_path / "checkpoint"
    query = (stream(spark, ROWS, 7_000).writeStream.format("parquet").option("checkpointLocation", str(checkpoint))
             .trigger(availableNow=True).start(str(out)))
    query.awaitTermination(120)
    batches = [p for p in query.recentProgress if p["numInputRows"] > 0]
    assert [p["numInputRows"] for p in batches] == [7_000, 7_000, 7_000, 7_000, 2_000]
    written = spark.read.parquet(str(out))
    assert written.selectExpr(*DIGEST).collect() == source(spark).selectExpr(*DIGEST).collect()


def test_a_restarted_stream_delivers_no_row_twice_and_misses_none(spark, tmp_path: Path) -> None:
    out, checkpoint = tmp_path / "out", tmp_path / "checkpoint"

    def start(trigger: dict):
        return (stream(spark, ROWS, 4_000).writeStream.format("parquet")
                .option("checkpointLocation", str(checkpoint)).trigger(**trigger).start(str(out)))

    first = start({"processingTime": "200 milliseconds"})
    deadline = time.monotonic() + 120
    while (first.lastProgress or {}).get("batchId", -1) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    first.stop()
    done_before = spark.read.parquet(str(out)).count()
    assert 0 < done_before < ROWS
    second = start({"availableNow": True})
    second.awaitTermination(120)
    written = spark.read.parquet(str(out))
    assert written.count() == ROWS and written.select("id_mouvement").distinct().count() == ROWS
    assert written.selectExpr(*DIGEST).collect() == source(spark).selectExpr(*DIGEST).collect()


LAKE = dict(rows=60_000, shards=4, seed=SEED, month=MONTH)
LAKE_FLAGS = ["-n", "60000", "-s", "4", "--seed", str(SEED), "--month", MONTH, "-q"]


def test_the_readmes_spark_snippet_runs_as_written(spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (snippet,) = [code for code in python_blocks("README.md") if "write_lake(" in code]
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md", "exec"), {})  # noqa: S102 - the README's own code
    assert (tmp_path / "spark-lake" / "raw" / "_SUCCESS").exists()
    report = mouvements.verify(str(tmp_path / "spark-lake"))
    assert report.passed and report.as_dict()["dataset"]["rows"] == 1_000_000


def test_write_lake_writes_the_clis_lake(spark, cli: str, tmp_path: Path) -> None:
    from mouvements.spark import write_lake

    summary = write_lake(spark, str(tmp_path / "spark"), **LAKE)
    assert summary.status == "committed" and summary.dataset_rows == 60_000 and summary.shards_written == [0, 1, 2, 3]
    assert summary.run_id.startswith("spark-" + spark.sparkContext.applicationId)
    # The same configuration, run id included (the manifest names it).
    run_cli(cli, "generate", "-o", str(tmp_path / "cli"), "--run-id", summary.run_id, *LAKE_FLAGS)
    same(tmp_path / "spark", tmp_path / "cli")
    assert run_cli(cli, "verify", "-o", str(tmp_path / "spark")).returncode == 0


def test_a_task_failing_once_is_retried_to_the_same_bytes(spark, cli: str, tmp_path: Path) -> None:
    from mouvements.spark import write_lake

    summary = write_lake(spark, str(tmp_path / "spark"), _fault="shard-stored=fail", _fault_attempts=1, **LAKE)
    run_cli(cli, "generate", "-o", str(tmp_path / "cli"), "--run-id", summary.run_id, *LAKE_FLAGS)
    same(tmp_path / "spark", tmp_path / "cli")


def test_a_permanent_failure_commits_nothing_and_resume_completes(spark, cli: str, tmp_path: Path) -> None:
    from mouvements.spark import write_lake

    lake = tmp_path / "spark"
    with pytest.raises(mouvements.MouvementsError, match="injected") as raised:
        write_lake(spark, str(lake), _fault="shard-stored=fail", **LAKE)
    assert "Traceback" not in str(raised.value)
    assert not (lake / "raw" / "_SUCCESS").exists()
    resumed = write_lake(spark, str(lake), mode="resume", **LAKE)
    assert resumed.status == "committed"
    run_cli(cli, "generate", "-o", str(tmp_path / "cli"), "--run-id", resumed.run_id, *LAKE_FLAGS)
    # The claims log records each run that took the lake: the failed one and the resume here.
    same(lake, tmp_path / "cli", claims=False)


def same(ours: Path, cli: Path, claims: bool = True) -> None:
    kept = lambda files: {k: v for k, v in files.items() if claims or not k.startswith("raw/_claims/")}  # noqa: E731
    a, b = kept(tree(ours)), kept(tree(cli))
    assert sorted(a) == sorted(b)
    assert [name for name in a if a[name] != b[name]] == []
