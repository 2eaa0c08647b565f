"""Realistic, deterministic synthetic insurance financial movements, landed in a data lake.

``generate`` writes a lake (raw CSV, staging Parquet partitioned by pays and produit, a Delta
table) on a local folder, GCS, S3 or Azure; ``verify`` proves it whole and correct and shows
its report; ``rows`` streams the same rows as Arrow batches for pyarrow, polars or DuckDB;
``guide`` tells Databricks how to read the lake. Same settings, same bytes, whichever front
end (this module, the ``mouvements-gen`` command, or Spark through ``mouvements.spark``).

>>> import mouvements, pyarrow
>>> table = pyarrow.table(mouvements.rows(rows=1_000))
>>> table.num_rows
1000
"""

from __future__ import annotations

import os as _os
import sys as _sys
from collections.abc import Mapping as _Mapping

from . import _native
from .errors import (
    ArgumentError,
    CorruptDatasetError,
    DatasetExistsError,
    MouvementsError,
    RunConflictError,
    StorageError,
)

__version__: str = _native.__version__

__all__ = [
    "generate",
    "verify",
    "rows",
    "guide",
    "Summary",
    "Report",
    "Problem",
    "Rows",
    "MouvementsError",
    "ArgumentError",
    "DatasetExistsError",
    "RunConflictError",
    "StorageError",
    "CorruptDatasetError",
]

# Only what the interpreter's start-up already loaded is imported at run time: `typing`,
# `dataclasses`, `json` and `datetime` took two thirds of `import mouvements`' time, which an
# executor or a notebook pays on every start. Annotations are strings (`annotations` above).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as _dt
    from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

    PathLike = Union[str, "_os.PathLike[str]"]
    DateLike = Union[str, _dt.date]
    Progress = Union[bool, Callable[[int, int], None], None]


class Summary:
    """What ``generate`` did: the fields of ``mouvements-gen generate --json`` as attributes
    (``status``, ``rows``, ``dataset_rows``, ``shards_written``, ``seconds``, …)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields

    def as_dict(self) -> dict[str, Any]:
        """The summary as the JSON document ``generate --json`` prints."""
        import json

        return json.loads(json.dumps(self._fields))

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_fields"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._fields))

    def __repr__(self) -> str:
        f = self._fields
        return (
            f"Summary(status={f['status']!r}, base={f['base']!r}, rows={f['rows']}, "
            f"dataset_rows={f['dataset_rows']}, seconds={f['seconds']:.2f})"
        )


class Problem:
    """One broken rule: where (``file``, 1-based ``line``, 0 when not about a line; ``column``)
    and the offending ``value``. Immutable, compared and hashed by its fields."""

    __slots__ = ("rule", "file", "line", "column", "value")
    rule: str
    file: str
    line: int
    column: Optional[str]
    value: str

    def __init__(self, rule: str, file: str, line: int, column: Optional[str], value: str) -> None:
        for name, field in zip(self.__slots__, (rule, file, line, column, value)):
            object.__setattr__(self, name, field)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Problem is immutable: cannot set {name}")

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Problem({fields})"


class Report:
    """What ``verify`` found. ``passed`` tells the verdict; ``problems`` lists the broken
    rules' examples; ``stats`` holds the statistics when asked for; ``as_dict()`` is the
    document ``mouvements-gen verify --json`` prints. In a notebook the report shows as its
    HTML page."""

    def __init__(self, native: Any) -> None:
        self._native = native
        self._fields: dict[str, Any] = native.fields()

    @property
    def passed(self) -> bool:
        """Whether every rule held."""
        return bool(self._native.passed())

    @property
    def problems(self) -> list[Problem]:
        """The first occurrences of each broken rule (``problem_count`` counts them all)."""
        return [
            Problem(group["rule"], p["shard"], p["line"], p["column"], p["value"])
            for group in self._fields["problems"]
            for p in group["examples"]
        ]

    @property
    def problem_count(self) -> int:
        """Broken rules' occurrences in all."""
        return int(self._fields["problem_count"])

    @property
    def stats(self) -> Optional[dict[str, Any]]:
        """The statistics (``stats=True``): shares, amounts, rows per day, anomalies."""
        return self._fields.get("stats")

    def as_dict(self) -> dict[str, Any]:
        """The report as the JSON document ``verify --json`` prints."""
        return self._native.fields()

    def __str__(self) -> str:
        return str(self._native.text())

    def _repr_html_(self) -> str:
        return str(self._native.html())

    def __repr__(self) -> str:
        return (
            f"Report(verdict={self._fields['verdict']!r}, base={self._fields['base']!r}, "
            f"problem_count={self.problem_count})"
        )


class Rows:
    """Rows as an Arrow stream (the Arrow PyCapsule interface): ``pyarrow.table(rows)``,
    ``polars.DataFrame(rows)``, ``duckdb.sql("select … from rows")`` take it without a copy.
    Each use streams the rows again from the first; iterating yields ``pyarrow.RecordBatch``
    objects (pyarrow needed)."""

    def __init__(self, native: Any) -> None:
        self._native = native

    @property
    def num_rows(self) -> int:
        """Rows in the stream."""
        return int(self._native.num_rows)

    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object:
        return self._native.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self) -> object:
        return self._native.__arrow_c_schema__()

    def __iter__(self) -> Iterator[Any]:
        import pyarrow

        return iter(pyarrow.RecordBatchReader.from_stream(self))

    def labels(self) -> Any:
        """The anomaly ground truth of these rows as a ``pyarrow.Table``: ``id_mouvement``,
        ``type_op``, ``produit``, ``montant`` (the exceptional amount), ``usual_montant`` (the
        amount the row would have had) and ``ratio``; the rows ``generate(labels=True)``
        writes to ``raw/_labels/`` (pyarrow needed)."""
        import io

        import pyarrow
        import pyarrow.csv

        money = pyarrow.decimal128(18, 2)
        types = {"id_mouvement": pyarrow.string(), "type_op": pyarrow.string(), "produit": pyarrow.string(),
                 "montant": money, "usual_montant": money, "ratio": money}
        options = pyarrow.csv.ConvertOptions(column_types=types)
        return pyarrow.csv.read_csv(io.BytesIO(self._native.labels_csv()), convert_options=options)

    def __len__(self) -> int:
        return self.num_rows

    def __repr__(self) -> str:
        return f"Rows(num_rows={self.num_rows})"


def _date(keyword: str, value: Optional[DateLike]) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    import datetime

    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    raise ArgumentError(f"{keyword}: expected a date as YYYY-MM-DD or a datetime.date, got {value!r}")


def _layers(layers: Union[str, Sequence[str]]) -> str:
    if isinstance(layers, str):
        return layers
    if not all(isinstance(layer, str) for layer in layers):
        raise ArgumentError(f"layers: expected names among raw, staging, delta, got {layers!r}")
    return ",".join(layers)


def _options(storage_options: Optional[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    if storage_options is None or isinstance(storage_options, dict):
        return storage_options
    if isinstance(storage_options, _Mapping):
        return dict(storage_options)
    raise ArgumentError("storage_options: expected a dict of setting names to strings")


def _progress(progress: Progress) -> Optional[Callable[[int, int], None]]:
    if progress is None or progress is False:
        return None
    if callable(progress):
        return progress
    if progress is True:
        return _Bar()
    raise ArgumentError(f"progress: expected True, False, None or a callable(rows_done, rows_total), got {progress!r}")


class _Bar:
    """A tqdm bar (the notebook's widget where there is one), else a line on stderr."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            try:
                from tqdm.auto import tqdm

                self._bar = tqdm(total=total, unit=" rows", unit_scale=True)
            except ImportError:
                self._bar = False
        if self._bar is False:
            percent = done * 100 // total if total else 100
            if percent != self._shown:
                self._shown = percent
                _sys.stderr.write(f"\r{done:,}/{total:,} rows ({percent}%)")
                if done >= total:
                    _sys.stderr.write("\n")
                _sys.stderr.flush()
        else:
            self._bar.total = total
            self._bar.update(done - self._bar.n)
            if total and done >= total:
                self._bar.close()


def generate(
    base: PathLike = "./datalake",
    *,
    rows: Union[int, str] = 10_000_000,
    shards: int = 5,
    seed: Optional[int] = None,
    month: Optional[str] = None,
    start: Optional[DateLike] = None,
    end: Optional[DateLike] = None,
    first_id: Optional[int] = None,
    layers: Union[str, Sequence[str], None] = None,
    format: Optional[str] = None,
    anomaly_rate: Optional[float] = None,
    labels: Optional[bool] = None,
    changes: float = 0.0,
    late_rate: float = 0.0,
    duplicate_rate: float = 0.0,
    mode: str = "create",
    run_id: Optional[str] = None,
    task_index: int = 0,
    task_count: int = 1,
    threads: Optional[int] = None,
    storage_options: Optional[Mapping[str, Any]] = None,
    progress: Progress = None,
) -> Summary:
    """Generates a dataset into the lake at ``base`` and commits it; the same job, settings
    and bytes as ``mouvements-gen generate``.

    Args:
        base: a local path, ``file:///abs``, ``gs://bucket/prefix``, ``s3://bucket/prefix``
            or ``az://container/prefix`` (a Unity Catalog volume is a local path:
            ``/Volumes/catalog/schema/volume/lake``).
        rows: rows in the dataset: ``1_000_000`` or text such as ``"10M"``, ``"250k"``.
        shards: raw CSV files (``mouvements-SSSSS-of-NNNNN.csv``), 1 to 10,000.
        seed: same seed and settings, same bytes (default 42).
        month: the period of ``date_op`` as ``"YYYY-MM"`` (default ``"2025-06"``; with
            ``mode="append"``, the month after the lake's last load); or
        start, end: the first and last day, inclusive (``"2025-06-01"`` or a ``datetime.date``).
        first_id: the first row's id number (``M0000001`` is 1; the default).
        layers: any non-empty subset of ``("raw", "staging", "delta")`` (default: all three).
        format: raw shards as ``"csv"`` (the default) or ``"csv-gz"``.
        anomaly_rate: share of rows given an exceptional amount, in [0, 1] (default 0.001).
        labels: also write the anomaly ground truth to ``raw/_labels/`` (default False).
        changes: with ``mode="append"``, change events per new row, in [0, 0.5]:
            corrections and cancellations of earlier loads' movements, written to
            ``raw/changes/`` and merged into the Delta table (default 0).
        late_rate: with ``mode="append"``, the share of the load's new rows dated in the two
            months before its period, in [0, 0.5] (default 0).
        duplicate_rate: with ``mode="append"``, rows of the last load delivered again per
            new row, byte for byte, in ``raw/mouvements-loadNNNNN-repeated-*.csv``, in
            [0, 0.5] (default 0).
        mode: ``"create"`` (refuses an existing dataset), ``"overwrite"`` (a new Delta
            version), ``"resume"`` (complete an interrupted dataset), ``"append"`` (add the
            next load to a committed lake: ids continue after its last load, a new Delta
            version only adds files; seed, first_id, anomaly_rate, format, layers and labels
            are the lake's, and one given must equal it) or ``"append-resume"`` (complete an
            interrupted append, keeping its finished shards).
        run_id, task_index, task_count: a distributed run's identity and this task's share.
        threads: shards written at once (default: the CLI's).
        storage_options: object_store settings as deltalake and polars take them
            (``google_service_account_key``, ``aws_endpoint_url``, ``aws_access_key_id``,
            ``azure_storage_account_name``, …), over the environment's. Never shown in a
            message or a repr.
        progress: ``True`` for a bar (tqdm's when installed), or a callable
            ``progress(rows_done, rows_total)`` called ten times a second.

    Returns:
        The :class:`Summary`.

    Raises:
        ArgumentError: a bad argument (also a ``ValueError``).
        DatasetExistsError: a dataset is there and ``mode`` is ``"create"``.
        RunConflictError: another run claims the lake.
        StorageError: the lake cannot be reached, read or written.
        KeyboardInterrupt: interrupted: uploads aborted, nothing committed; ``mode="resume"``
            completes the dataset.
    """
    fields = _native.generate(
        _os.fspath(base),
        rows,
        shards,
        seed,
        month,
        _date("start", start),
        _date("end", end),
        first_id,
        None if layers is None else _layers(layers),
        format,
        None if anomaly_rate is None else float(anomaly_rate),
        None if labels is None else bool(labels),
        float(changes),
        float(late_rate),
        float(duplicate_rate),
        mode,
        run_id,
        task_index,
        task_count,
        threads,
        _options(storage_options),
        _progress(progress),
    )
    return Summary(fields)


def verify(
    base: PathLike = "./datalake",
    *,
    stats: bool = False,
    sample: int = 0,
    html: Optional[PathLike] = None,
    threads: Optional[int] = None,
    storage_options: Optional[Mapping[str, Any]] = None,
) -> Report:
    """Verifies the dataset at ``base``, every layer, against every rule of the data
    contract; never writes to the lake. A dataset that breaks rules gives a report whose
    ``passed`` is ``False``, not an exception.

    Args:
        base: the lake, as for :func:`generate`.
        stats: compute statistics (shares, amounts per type, rows per day, anomalies).
        sample: rows drawn evenly across the dataset to include (0: none).
        html: also write the report as one self-contained HTML page at this path.
        threads: shards checked at once (default: the number of cores).
        storage_options: as for :func:`generate`.

    Raises:
        StorageError: nothing to verify there, or the lake cannot be read.
    """
    native = _native.verify(
        _os.fspath(base),
        bool(stats),
        sample,
        None if html is None else _os.fspath(html),
        threads,
        _options(storage_options),
    )
    return Report(native)


def rows(
    *,
    rows: Union[int, str] = 10_000_000,
    seed: int = 42,
    month: Optional[str] = None,
    start: Optional[DateLike] = None,
    end: Optional[DateLike] = None,
    first_id: int = 1,
    anomaly_rate: float = 0.001,
    start_row: int = 0,
    stop_row: Optional[int] = None,
    batch_rows: int = 65_536,
) -> Rows:
    """The rows of a configuration as an Arrow stream: exactly the rows of the raw CSV that
    :func:`generate` writes with the same settings, in id order, for any ``batch_rows`` and
    any row range ``start_row:stop_row`` (0-based, stop excluded).

    Columns: ``id_mouvement`` a string, ``date_op`` a ``date32``, ``montant`` a
    ``decimal128(18, 2)``, and ``produit``, ``type_op``, ``agence_id``, ``pays``
    dictionary-encoded strings (``dictionary<int8, string>``: categoricals in polars and
    pandas; ``table.cast`` gives plain strings); none nullable.

    >>> import polars
    >>> polars.DataFrame(rows(rows=10, start_row=8)).get_column("id_mouvement").to_list()
    ['M0000009', 'M0000010']
    """
    native = _native.rows(
        rows,
        seed,
        month,
        _date("start", start),
        _date("end", end),
        first_id,
        float(anomaly_rate),
        start_row,
        stop_row,
        batch_rows,
    )
    return Rows(native)


def guide(base: PathLike = "./datalake", *, storage_options: Optional[Mapping[str, Any]] = None) -> str:
    """The Databricks guide for the lake at ``base`` as Markdown: access, Unity Catalog, how
    to register and read each layer, the analyses as SQL."""
    return str(_native.guide(_os.fspath(base), _options(storage_options)))
