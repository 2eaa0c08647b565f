"""``rows()`` is the raw CSV's rows, through every Arrow consumer, for any batch size and row
range, with the schema's types."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars
import pyarrow
import pyarrow.csv
import pytest

import mouvements

ROWS, SEED, MONTH = 20_000, 11, "2025-02"

LABEL = pyarrow.dictionary(pyarrow.int8(), pyarrow.string())


def schema(label: pyarrow.DataType) -> pyarrow.Schema:
    """The seven columns, with ``label`` the type of produit, type_op, agence_id and pays."""
    return pyarrow.schema(
        [
            pyarrow.field("id_mouvement", pyarrow.string(), nullable=False),
            pyarrow.field("date_op", pyarrow.date32(), nullable=False),
            pyarrow.field("produit", label, nullable=False),
            pyarrow.field("type_op", label, nullable=False),
            pyarrow.field("montant", pyarrow.decimal128(18, 2), nullable=False),
            pyarrow.field("agence_id", label, nullable=False),
            pyarrow.field("pays", label, nullable=False),
        ]
    )


SCHEMA, PLAIN = schema(LABEL), schema(pyarrow.string())

# Count, sum of montant, and a checksum of the seven columns (as text) that ignores row order.
DIGEST = """select count(*) as n, sum(montant) as total,
    sum(hash(id_mouvement::varchar, date_op, produit::varchar, type_op::varchar, montant,
             agence_id::varchar, pays::varchar) % 1000000007) as checksum
    from {}"""


@pytest.fixture(scope="module")
def csv_table(tmp_path_factory: pytest.TempPathFactory) -> pyarrow.Table:
    base = tmp_path_factory.mktemp("lake")
    mouvements.generate(base, rows=ROWS, shards=3, seed=SEED, month=MONTH, layers="raw")
    shards = sorted((base / "raw").glob("mouvements-*.csv"))
    options = pyarrow.csv.ConvertOptions(column_types=PLAIN)
    tables = [pyarrow.csv.read_csv(s, convert_options=options) for s in shards]
    return pyarrow.concat_tables(tables).cast(PLAIN)


def digest(relation: object) -> tuple:
    con = duckdb.connect()
    con.register("t", relation)
    return con.execute(DIGEST.format("t")).fetchone()


def stream(**kwargs: object) -> mouvements.Rows:
    return mouvements.rows(rows=ROWS, seed=SEED, month=MONTH, **kwargs)


def test_the_stream_has_the_schemas_types() -> None:
    table = pyarrow.table(stream())
    assert table.schema == SCHEMA
    assert pyarrow.schema(stream()) == SCHEMA
    assert table.cast(PLAIN).schema == PLAIN


@pytest.mark.parametrize("batch_rows", [1_000, 4_096, 65_536])
def test_the_rows_equal_the_csv_through_pyarrow_polars_and_duckdb(csv_table: pyarrow.Table, batch_rows: int) -> None:
    expected = digest(csv_table)
    assert expected[0] == ROWS
    assert digest(pyarrow.table(stream(batch_rows=batch_rows))) == expected
    assert digest(polars.DataFrame(stream(batch_rows=batch_rows)).to_arrow()) == expected
    assert digest(polars.from_arrow(stream(batch_rows=batch_rows)).to_arrow()) == expected
    con = duckdb.connect()
    rows = stream(batch_rows=batch_rows)  # noqa: F841 (read by DuckDB's replacement scan)
    assert con.execute(DIGEST.format("rows")).fetchone() == expected


@pytest.mark.parametrize(("start", "stop", "batch_rows"), [(0, 1, 7), (5, 5, 3), (13, 9_999, 1_000), (19_000, None, 333)])
def test_any_row_range_is_that_slice_of_the_csv(csv_table: pyarrow.Table, start: int, stop: int | None, batch_rows: int) -> None:
    part = pyarrow.table(stream(start_row=start, stop_row=stop, batch_rows=batch_rows))
    end = ROWS if stop is None else stop
    assert part.cast(PLAIN).equals(csv_table.slice(start, end - start))
    assert all(b.num_rows <= batch_rows for b in pyarrow.table(stream(start_row=start, stop_row=stop, batch_rows=batch_rows)).to_batches())


def test_iterating_yields_record_batches_and_streams_again() -> None:
    rows = stream(batch_rows=8_192)
    batches = list(rows)
    assert all(isinstance(b, pyarrow.RecordBatch) for b in batches)
    assert [b.num_rows for b in batches] == [8_192, 8_192, 3_616]
    assert pyarrow.Table.from_batches(batches).equals(pyarrow.table(rows))
    assert len(rows) == ROWS


def test_the_first_ids_follow_first_id() -> None:
    ids = pyarrow.table(mouvements.rows(rows=3, first_id=9_999_999))["id_mouvement"].to_pylist()
    assert ids == ["M9999999", "M10000000", "M10000001"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(start_row=5, stop_row=2), "start_row, stop_row"),
        (dict(stop_row=ROWS + 1), "start_row, stop_row"),
        (dict(batch_rows=0), "batch_rows: expected 1 to"),
        (dict(start_row=-1), "start_row: expected a whole number"),
    ],
)
def test_bad_ranges_are_argument_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(mouvements.ArgumentError, match=match):
        stream(**kwargs)


def test_to_pandas_works_as_the_readme_shows() -> None:
    frame = pyarrow.table(mouvements.rows(rows=1_000)).to_pandas()
    assert len(frame) == 1_000 and list(frame.columns) == SCHEMA.names
    assert str(frame["pays"].dtype) == "category" and frame["id_mouvement"].iloc[0] == "M0000001"


def test_the_labels_are_the_ground_truth_generate_writes(tmp_path: Path) -> None:
    mouvements.generate(tmp_path, rows=ROWS, shards=2, seed=SEED, month=MONTH, anomaly_rate=0.01, labels=True,
                        layers="raw")
    files = sorted((tmp_path / "raw" / "_labels").glob("*.csv"))
    labels = mouvements.rows(rows=ROWS, seed=SEED, month=MONTH, anomaly_rate=0.01).labels()
    written = pyarrow.concat_tables(
        pyarrow.csv.read_csv(f, convert_options=pyarrow.csv.ConvertOptions(column_types=labels.schema)) for f in files
    )
    assert labels.num_rows > 100 and labels.equals(written)
    part = mouvements.rows(rows=ROWS, seed=SEED, month=MONTH, anomaly_rate=0.01, start_row=5_000, stop_row=9_000).labels()
    ids = part["id_mouvement"].to_pylist()
    assert ids and all("M0005001" <= i <= "M0009000" for i in ids)
