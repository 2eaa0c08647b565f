"""mouvements on Spark: a data source (``format("mouvements")``, batch and streaming) whose
partitions are row ranges generated on the executors by the Rust core as Arrow batches, and
:func:`write_lake`, which runs the lake's dataset protocol as Spark tasks.

>>> from mouvements.spark import MouvementsDataSource
>>> spark.dataSource.register(MouvementsDataSource)               # doctest: +SKIP
>>> df = spark.read.format("mouvements").option("rows", "100M").load()  # doctest: +SKIP

Needs pyspark 4.0 or later (Python data sources; Databricks Runtime 15.4 LTS and later) and
pyarrow on the workers. The rows are a pure function of the options: any partition, recomputed
after a lost executor or a retried task, gives the same rows, whatever ``partitions``.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence

from pyspark.sql.datasource import DataSource, DataSourceReader, DataSourceStreamReader, InputPartition
from pyspark.sql.types import DateType, DecimalType, StringType, StructField, StructType

import mouvements
from mouvements.errors import ArgumentError, MouvementsError

try:  # Spark 4.2 and later: availableNow in micro-batches of rowsPerBatch
    from pyspark.sql.streaming.datasource import SupportsTriggerAvailableNow as _AvailableNow
except ImportError:  # older Spark: every micro-batch reads what is left (see latestOffset)
    _AvailableNow = object  # type: ignore[assignment,misc]

__all__ = ["MouvementsDataSource", "MouvementsLabelsDataSource", "SCHEMA", "LABELS_SCHEMA", "write_lake"]

#: The seven columns with Spark's types, none nullable.
SCHEMA = StructType(
    [
        StructField("id_mouvement", StringType(), False),
        StructField("date_op", DateType(), False),
        StructField("produit", StringType(), False),
        StructField("type_op", StringType(), False),
        StructField("montant", DecimalType(18, 2), False),
        StructField("agence_id", StringType(), False),
        StructField("pays", StringType(), False),
    ]
)

#: The anomaly ground truth's columns (``format("mouvements_labels")``).
LABELS_SCHEMA = StructType(
    [
        StructField("id_mouvement", StringType(), False),
        StructField("type_op", StringType(), False),
        StructField("produit", StringType(), False),
        StructField("montant", DecimalType(18, 2), False),
        StructField("usual_montant", DecimalType(18, 2), False),
        StructField("ratio", DecimalType(18, 2), False),
    ]
)

#: Rows a partition holds by default (the number of partitions is rows / this, at least 1).
PARTITION_ROWS = 1_000_000

#: Rows a micro-batch holds by default.
ROWS_PER_BATCH = 1_000_000

#: The options and what each takes (option names are case-insensitive).
OPTIONS = {
    "rows": "a row count such as 100000000, 100_000_000, 100M or 250k",
    "seed": "a whole number",
    "month": "YYYY-MM",
    "from": "YYYY-MM-DD (with to)",
    "to": "YYYY-MM-DD (with from)",
    "first_id": "a whole number",
    "anomaly_rate": "a share in [0, 1]",
    "partitions": "a whole number of partitions, at least 1 (batch reads)",
    "rowsperbatch": "rows per micro-batch, e.g. 1M (streaming reads)",
    "batch_rows": "rows per Arrow batch, e.g. 65536",
}


@dataclass(frozen=True)
class Settings:
    """The validated options: what ``mouvements.rows`` takes, plus the partitioning."""

    rows: Optional[int]
    seed: int
    month: Optional[str]
    start: Optional[str]
    end: Optional[str]
    first_id: int
    anomaly_rate: float
    partitions: Optional[int]
    rows_per_batch: int
    batch_rows: int

    @property
    def total(self) -> int:
        """Rows of the configuration: ``rows``, or as many as the id space holds."""
        if self.rows is not None:
            return self.rows
        return min(mouvements._native.MAX_ROWS, 9_999_999_999_999_999_999 - self.first_id + 1)

    def stream(self, start_row: int, stop_row: int) -> mouvements.Rows:
        """The rows ``start_row..stop_row`` of the configuration."""
        return mouvements.rows(
            rows=self.total,
            seed=self.seed,
            month=self.month,
            start=self.start,
            end=self.end,
            first_id=self.first_id,
            anomaly_rate=self.anomaly_rate,
            start_row=start_row,
            stop_row=stop_row,
            batch_rows=self.batch_rows,
        )


def _whole(name: str, text: str, least: int = 0) -> int:
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        raise ArgumentError(f"option {name}: expected {OPTIONS[name]}, got {text!r}") from None
    if value < least:
        raise ArgumentError(f"option {name}: expected {OPTIONS[name]}, got {text!r}")
    return value


def _rows(name: str, text: str) -> int:
    # The row count's text forms are the command's (`--rows`).
    try:
        return mouvements._native.parse_rows(text)
    except ArgumentError as e:
        raise ArgumentError(f"option {name}: {str(e).removeprefix('rows: ')}") from None


def settings(options: Mapping[str, str]) -> Settings:
    """Validates Spark options: a bad or unknown one is an ``ArgumentError`` naming it."""
    given = {k.lower(): v for k, v in options.items() if k.lower() != "path"}
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise ArgumentError(f"unknown option {unknown[0]!r}: the options are {', '.join(sorted(OPTIONS))}")
    rows = _rows("rows", given["rows"]) if "rows" in given else None
    try:
        rate = float(given.get("anomaly_rate", "0.001"))
    except ValueError:
        raise ArgumentError(f"option anomaly_rate: expected {OPTIONS['anomaly_rate']}, got {given['anomaly_rate']!r}") from None
    chosen = Settings(
        rows=rows,
        seed=_whole("seed", given.get("seed", "42")),
        month=given.get("month"),
        start=given.get("from"),
        end=given.get("to"),
        first_id=_whole("first_id", given.get("first_id", "1")),
        anomaly_rate=rate,
        partitions=_whole("partitions", given["partitions"], 1) if "partitions" in given else None,
        rows_per_batch=_rows("rowsperbatch", given["rowsperbatch"]) if "rowsperbatch" in given else ROWS_PER_BATCH,
        batch_rows=_whole("batch_rows", given.get("batch_rows", "65536"), 1),
    )
    # The configuration itself (period, ids, rate), checked as the command checks it; the
    # messages name Python's keywords, which are the options' names but for from and to.
    try:
        chosen.stream(0, 0)
    except ArgumentError as e:
        message = re.sub(r"^(start|end): ", lambda m: {"start": "from: ", "end": "to: "}[m.group(1)], str(e))
        raise ArgumentError(f"option {message}") from None
    return chosen


@dataclass(frozen=True)
class RowRange(InputPartition):
    """A partition: rows ``start..stop`` of the configuration."""

    start: int
    stop: int


def _batches(chosen: Settings, start: int, stop: int) -> Iterator[Any]:
    """The rows ``start..stop`` as pyarrow batches of Spark's types (labels as plain strings)."""
    import pyarrow

    target = _arrow_schema(SCHEMA)
    for batch in pyarrow.RecordBatchReader.from_stream(chosen.stream(start, stop)):
        yield batch.cast(target)


def _labels(chosen: Settings, start: int, stop: int) -> Iterator[Any]:
    """The anomalies among rows ``start..stop``, as pyarrow batches of Spark's types."""
    table = chosen.stream(start, stop).labels()
    yield from table.cast(_arrow_schema(LABELS_SCHEMA)).to_batches()


def _arrow_schema(schema: StructType) -> Any:
    """The pyarrow schema whose batches Spark takes for ``schema`` (strings, dates, decimals)."""
    import pyarrow

    def arrow(spark_type: Any) -> Any:
        if isinstance(spark_type, DateType):
            return pyarrow.date32()
        if isinstance(spark_type, DecimalType):
            return pyarrow.decimal128(spark_type.precision, spark_type.scale)
        return pyarrow.string()

    return pyarrow.schema([pyarrow.field(f.name, arrow(f.dataType), nullable=f.nullable) for f in schema.fields])


def _ranges(start: int, stop: int, parts: int) -> list[RowRange]:
    """``start..stop`` cut in ``parts`` contiguous ranges that differ by one row at most."""
    size, extra = divmod(stop - start, parts)
    ranges, at = [], start
    for i in range(parts):
        end = at + size + (1 if i < extra else 0)
        ranges.append(RowRange(at, end))
        at = end
    return [r for r in ranges if r.stop > r.start] or [RowRange(start, start)]


class MouvementsDataSource(DataSource):
    """The ``mouvements`` format: the generated rows as a DataFrame, batch or streaming.

    Options: ``rows`` (``100M``; a batch read needs it, a stream without it runs until the id
    space ends), ``seed``, ``month`` or ``from``/``to``, ``first_id``, ``anomaly_rate``,
    ``partitions`` (batch; default one per million rows), ``rowsPerBatch`` (streaming; default
    1M), ``batch_rows`` (Arrow batch size). Bad options fail at ``load()``, naming the option.
    """

    def __init__(self, options: Mapping[str, str]) -> None:
        super().__init__(options)
        self.settings = settings(options)

    @classmethod
    def name(cls) -> str:
        return "mouvements"

    def schema(self) -> StructType:
        return SCHEMA

    def reader(self, schema: StructType) -> DataSourceReader:
        if self.settings.rows is None:
            raise ArgumentError("option rows: a batch read needs a row count, e.g. .option('rows', '10M')")
        return _BatchReader(self.settings)

    def streamReader(self, schema: StructType) -> DataSourceStreamReader:
        return _StreamReader(self.settings)


class MouvementsLabelsDataSource(MouvementsDataSource):
    """The ``mouvements_labels`` format: the anomaly ground truth of the ``mouvements`` rows
    of the same options (which rows are anomalous, their amount and the usual one), batch
    only. Join it on ``id_mouvement`` to score a detection."""

    @classmethod
    def name(cls) -> str:
        return "mouvements_labels"

    def schema(self) -> StructType:
        return LABELS_SCHEMA

    def reader(self, schema: StructType) -> DataSourceReader:
        if self.settings.rows is None:
            raise ArgumentError("option rows: the labels need the row count, e.g. .option('rows', '10M')")
        return _BatchReader(self.settings, labels=True)

    def streamReader(self, schema: StructType) -> DataSourceStreamReader:
        raise ArgumentError("format mouvements_labels: read the labels in batch (spark.read), not as a stream")


class _BatchReader(DataSourceReader):
    def __init__(self, chosen: Settings, labels: bool = False) -> None:
        self.settings = chosen
        self.labels = labels

    def partitions(self) -> Sequence[InputPartition]:
        total = self.settings.total
        parts = self.settings.partitions or max(1, total // PARTITION_ROWS)
        return _ranges(0, total, min(parts, total) or 1)

    def read(self, partition: InputPartition) -> Iterator[Any]:
        assert isinstance(partition, RowRange)
        made = _labels if self.labels else _batches
        return made(self.settings, partition.start, partition.stop)


class _StreamReader(DataSourceStreamReader, _AvailableNow):  # type: ignore[misc]
    """Offsets are row indices (``{"row": n}``): any offset range reads the same rows, so a
    restarted query replays exactly what its checkpoint says."""

    def __init__(self, chosen: Settings) -> None:
        self.settings = chosen
        # availableNow's target: the rows there are when the query starts (all of them).
        self._target = chosen.total

    def prepareForTriggerAvailableNow(self) -> None:
        self._target = self.settings.total

    def initialOffset(self) -> dict:
        return {"row": 0}

    def getDefaultReadLimit(self) -> Any:
        from pyspark.sql.streaming.datasource import ReadMaxRows

        return ReadMaxRows(self.settings.rows_per_batch)

    def latestOffset(self, start: Optional[dict] = None, limit: Any = None) -> dict:
        # Spark before 4.2 asks without the start, so no limit can be counted from it safely
        # (a restarted reader does not know where its query stopped): every row is available,
        # and rowsPerBatch needs Spark 4.2 or later.
        if start is None or limit is None:
            return {"row": self._target}
        max_rows = getattr(limit, "max_rows", None)
        if max_rows is None:  # ReadAllAvailable: availableNow's target
            return {"row": self._target}
        return {"row": min(self._target, int(start["row"]) + int(max_rows))}

    def reportLatestOffset(self) -> Optional[dict]:
        return {"row": self.settings.total}

    def partitions(self, start: dict, end: dict) -> Sequence[InputPartition]:
        first, last = int(start["row"]), int(end["row"])
        parts = self.settings.partitions or max(1, (last - first) // PARTITION_ROWS)
        return _ranges(first, last, max(1, min(parts, last - first)))

    def read(self, partition: InputPartition) -> Iterator[Any]:
        assert isinstance(partition, RowRange)
        return _batches(self.settings, partition.start, partition.stop)

    def commit(self, end: dict) -> None:
        pass  # nothing to release: any offset range can be read again


#: How a Spark job's failure names our exception in the task's traceback.
_RAISED = re.compile(r"mouvements\.errors\.(\w+): (.*?)(?:\n\s*\n|\n\tat |\n\S*Exception|$)", re.S)


def write_lake(
    spark: Any,
    base: str,
    *,
    rows: Any = 10_000_000,
    shards: int = 5,
    tasks: Optional[int] = None,
    seed: int = 42,
    month: Optional[str] = None,
    start: Optional[str] = None,
    end: Optional[str] = None,
    first_id: int = 1,
    layers: Any = ("raw", "staging", "delta"),
    format: str = "csv",
    anomaly_rate: float = 0.001,
    labels: bool = False,
    mode: str = "create",
    storage_options: Optional[Mapping[str, Any]] = None,
    _fault: Optional[str] = None,
    _fault_attempts: Optional[int] = None,
) -> mouvements.Summary:
    """Writes a lake with the cluster's executors: ``tasks`` Spark tasks (default: one per
    shard), task ``i`` generating the shards ``s`` with ``s % tasks == i`` through
    :func:`mouvements.generate`, all under one run id derived from the Spark application, so
    the files are the bytes ``mouvements-gen`` writes for the same settings. A retried or
    speculative task attempt is harmless (the protocol's retried-task guarantees); the last
    task to finish commits. Returns the committed summary; raises the failing task's error
    when the job fails (then ``mode="resume"`` completes the lake).

    ``base`` must be reachable from every executor: a bucket (``gs://``, ``s3://``,
    ``az://``) or a shared volume (``/Volumes/...`` on Databricks); a relative local path is
    made absolute on the driver (a ``local[*]`` session's executors share its disk). ``_fault`` and
    ``_fault_attempts`` inject a protocol fault into the first attempts of each task (tests).
    """
    context = spark.sparkContext
    count = tasks or shards
    # A relative local path is the driver's: an executor would resolve it in its own folder.
    base = os.fspath(base).strip()
    if not os.path.isabs(base) and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", base):
        base = os.path.abspath(base)
    # One id for every attempt of every task of this call.
    run_id = f"spark-{context.applicationId}-{time.time_ns()}"
    kwargs = dict(
        rows=rows, shards=shards, seed=seed, month=month, start=start, end=end, first_id=first_id,
        layers=list(layers) if not isinstance(layers, str) else layers, format=format,
        anomaly_rate=anomaly_rate, labels=labels, mode=mode, run_id=run_id, task_count=count,
        storage_options=dict(storage_options) if storage_options else None,
    )
    # Settings are checked on the driver first: a bad one fails here, not in a task.
    mouvements.rows(rows=rows, seed=seed, month=month, start=start, end=end, first_id=first_id,
                    anomaly_rate=anomaly_rate, stop_row=0)

    def task(index: int, _: Iterator[Any]) -> Iterator[str]:
        from pyspark import TaskContext

        attempt = TaskContext.get().attemptNumber()
        injected = _fault is not None and (_fault_attempts is None or attempt < _fault_attempts)
        previous = os.environ.get("MOUVEMENTS_FAULT")
        if injected:
            os.environ["MOUVEMENTS_FAULT"] = _fault
        try:
            summary = mouvements.generate(base, task_index=index, threads=1, **kwargs)
        finally:
            if injected:
                if previous is None:
                    del os.environ["MOUVEMENTS_FAULT"]
                else:
                    os.environ["MOUVEMENTS_FAULT"] = previous
        yield json.dumps(summary.as_dict())

    started = time.perf_counter()
    try:
        results = context.parallelize(range(count), count).mapPartitionsWithIndex(task).collect()
    except Exception as failure:  # a Py4JJavaError carrying the task's Python traceback
        found = _RAISED.findall(str(failure))
        if not found:
            raise
        name, message = found[-1]
        cls = getattr(mouvements.errors, name, MouvementsError)
        raise cls(message.strip()) from None
    summaries = [json.loads(r) for r in results]
    committed = [s for s in summaries if s["status"] in ("committed", "already-committed")]
    if not committed:
        raise MouvementsError(f"every task of run {run_id} finished but none committed the lake; rerun with mode='resume'")
    # The committed task's view of the dataset, with this call's work summed over its tasks.
    final = dict(committed[0])
    for total in ("rows", "bytes", "csv_bytes"):
        final[total] = sum(s[total] for s in summaries)
    for shards in ("shards_written", "shards_kept"):
        final[shards] = sorted(i for s in summaries for i in s[shards])
    final["task"] = {"index": 0, "count": count}
    final["seconds"] = seconds = time.perf_counter() - started
    final["rows_per_second"] = final["rows"] / max(seconds, 1e-9)
    final["mb_per_second"] = final["bytes"] / 1e6 / max(seconds, 1e-9)
    return mouvements.Summary(final)
