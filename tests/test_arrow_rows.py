"""Arrow batches of awkward rows, as a claim pipeline's tables give them: one output row per input
row, always, and a row that is not a bundle is that row's error, worded in the table's terms.

Before, a cell of a type no fact has was named by its Python class: a binary column (a Parquet
writer that stores text without the UTF8 annotation) said "found a `builtins.bytes` value", a
time64 column "a `datetime.time` value", a duration column "a `datetime.timedelta` value".
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from carepolicy.engine import PolicySet

from benchmarks.bench_evaluate import make_bundles
from benchmarks.bench_facts import as_json
from carepolicy.arrow import evaluate_arrow_batches


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    made: dict[str, Any] = as_json(make_bundles(1, 7)[0])
    return made


def _rows(policies: PolicySet, batches: list[pa.RecordBatch]) -> list[dict[str, Any]]:
    return [row for out in evaluate_arrow_batches(policies, batches) for row in out.to_pylist()]


@pytest.mark.parametrize(
    ("cells", "found"),
    [
        (pa.array([b"2025-03"], pa.binary()), "binary data, not text"),
        (pa.array([b"2025-03"], pa.binary(7)), "binary data, not text"),
        (pa.array([datetime.time(10, 30)], pa.time64("us")), "a time of day"),
        (pa.array([datetime.timedelta(days=31)], pa.duration("s")), "a duration"),
    ],
    ids=["binary", "fixed-size-binary", "time64", "duration"],
)
def test_a_cell_of_a_type_no_fact_has_is_named_in_the_tables_terms(
    policies: PolicySet, bundle: dict[str, Any], cells: pa.Array, found: str
) -> None:
    table = pa.Table.from_pylist([bundle]).to_batches()[0]
    batch = table.set_column(table.schema.get_field_index("month"), "month", cells)
    [row] = _rows(policies, [batch])
    assert row["status"] == "error"
    [problem] = json.loads(row["error"])
    assert (problem["fact_path"], problem["message"]) == ("$.month", f"expected a month `YYYY-MM`, found {found}")
    assert "builtins" not in row["error"]
    assert "datetime." not in row["error"]


def test_every_input_row_has_its_output_row_whatever_it_holds(policies: PolicySet, bundle: dict[str, Any]) -> None:
    good = json.dumps(bundle)
    cells = [good, None, '{"id": "cut", "month": "2025-', "[1, 2]", "x" * 2_000_000, good.replace("{", "{ ", 1)]
    batches = [
        pa.record_batch({"bundle": pa.array(cells[:3])}),
        pa.record_batch({"bundle": pa.array([], pa.string())}),  # an empty batch gives an empty one
        pa.record_batch({"bundle": pa.array(cells[3:], pa.large_string())}),
    ]
    out = list(evaluate_arrow_batches(policies, batches))
    assert [b.num_rows for b in out] == [3, 0, 3]
    rows = [row for b in out for row in b.to_pylist()]
    assert [row["record"] for row in rows] == list(range(len(cells)))
    assert [row["status"] for row in rows] == ["decided", "error", "error", "error", "error", "decided"]
    codes = [json.loads(row["error"])[0]["code"] for row in rows if row["status"] == "error"]
    assert codes == ["facts/not-a-bundle", "facts/syntax", "facts/not-a-bundle", "facts/limit"]


def test_a_struct_bundle_column_is_read_as_the_bundles_own_columns(policies: PolicySet, bundle: dict[str, Any]) -> None:
    """A `bundle` column that is a struct (as `spark.read.json` makes one, with a null for each field a
    row does not have): its dates were refused as "a `datetime.date` value" and its nulls as values."""
    dated = json.loads(json.dumps(bundle))
    dated["practitioner"]["last_visit"] = datetime.date(2024, 3, 28)
    dated["practitioner"]["specialty"] = None
    own = _rows(policies, [pa.Table.from_pylist([dated]).to_batches()[0]])
    nested = _rows(policies, [pa.record_batch({"bundle": pa.array([dated])})])
    assert nested[0]["status"] == "decided", nested[0]["error"]
    assert nested == own


def test_a_struct_bundle_cell_python_cannot_hold_is_its_rows_error(policies: PolicySet, bundle: dict[str, Any]) -> None:
    """A date32 past year 9,999 in one row of a struct `bundle` column raised OverflowError out of
    evaluate_arrow_batches, and every row of the batch was lost."""
    months = pa.array([2_932_897 + 10, 20_000], pa.date32())  # (20,000 days: 2024-10-04, not a month)
    cells = pa.StructArray.from_arrays([pa.array(["far", "near"]), months], ["id", "month"])
    rows = _rows(policies, [pa.record_batch({"bundle": cells})])
    assert [row["record"] for row in rows] == [0, 1]
    first, second = (json.loads(row["error"])[0] for row in rows)
    assert first["code"] == "facts/schema"
    assert first["message"] == (  # (it was "a value Python cannot hold: date value out of range", at no path)
        "column `bundle`, row 1: date out of range: 2,932,907 days from 1970-01-01 (about year 10,000, column type "
        "date32[day]); dates are accepted from 0001-01-01 to 9999-12-31 (the years Python's datetime holds)"
    )
    assert (first["bundle"], first["fact_path"]) == ("far", "$.month")
    assert (second["bundle"], second["fact_path"]) == ("near", "$.month")


def test_a_json_column_named_that_the_batch_does_not_have_is_refused(policies: PolicySet,
                                                                     bundle: dict[str, Any]) -> None:
    """`column="json"` on a batch whose JSON column is `value` (what `spark.read.text` names it) read
    the batch as the bundle's own columns instead: every row an error row, "missing required key
    `month`" and "unknown key `value`", with nothing naming the mistake. A column named must be there."""
    batch = pa.record_batch({"value": [json.dumps(bundle)]})
    with pytest.raises(ValueError, match=r"^no column `json` in the batch \(its columns: `value`\)"):
        list(evaluate_arrow_batches(policies, [batch], column="json"))
    (row,) = [r for out in evaluate_arrow_batches(policies, [batch], column="value") for r in out.to_pylist()]
    assert row["status"] == "decided"


@pytest.mark.parametrize("nested", [False, True], ids=["own-columns", "struct-bundle-column"])
def test_a_float32_cell_is_read_as_its_shortest_text(policies: PolicySet, bundle: dict[str, Any], nested: bool) -> None:
    """A float32 cell holding 66.1 (Spark's FloatType, a pandas frame downcast) was widened to the
    float64 66.09999847412109 and read, as any float, as its shortest text, 66.0999984741211: a
    deductible the bundle never had, refused for its decimal places. It is the float32's own
    shortest text now, `66.1`, as in the JSON bundle: the same facts, the same decision."""
    marked = json.loads(json.dumps(bundle))
    marked["beneficiary"]["deductible_remaining"] = "@amount"
    text = json.dumps(marked).replace('"@amount"', "66.1")
    table = pa.Table.from_pylist([json.loads(text)]).combine_chunks()
    beneficiary = table.column("beneficiary").chunk(0)
    names = beneficiary.type.names
    narrowed = pa.StructArray.from_arrays(
        [beneficiary.field(name).cast(pa.float32()) if name == "deductible_remaining" else beneficiary.field(name)
         for name in names], names=names)
    table = table.set_column(table.schema.get_field_index("beneficiary"), "beneficiary", narrowed)
    own = table.to_batches()[0]
    cells = pa.record_batch({"bundle": own.to_struct_array()}) if nested else own
    (row,) = _rows(policies, [cells])
    (expected,) = _rows(policies, [pa.record_batch({"bundle": [text]})])
    assert expected["status"] == row["status"] == "decided", row["error"]
    assert (row["facts_hash"], row["trace"]) == (expected["facts_hash"], expected["trace"])


@pytest.mark.parametrize("zone", [None, "UTC", "America/New_York"])
def test_a_timestamp_cell_is_its_rows_error_not_text(policies: PolicySet, bundle: dict[str, Any],
                                                     zone: str | None) -> None:
    """A timestamp cell was written into the bundle as its ISO text, offset and all: as an `id` (any
    text field) it was kept, "2025-03-01T00:00:00-05:00", text the table never held, and which
    depends on the column's time zone; as a date it was refused for that text. A timestamp is named
    as what it is, in every field, as a time of day or a duration is."""
    moment = datetime.datetime(2025, 3, 1, 5, 0, tzinfo=datetime.UTC if zone else None)
    table = pa.Table.from_pylist([bundle]).to_batches()[0]
    batch = table.set_column(table.schema.get_field_index("id"), "id", pa.array([moment], pa.timestamp("us", zone)))
    [row] = _rows(policies, [batch])
    assert row["status"] == "error"
    [problem] = json.loads(row["error"])
    assert (problem["fact_path"], problem["message"]) == ("$.id", "expected text, found a timestamp")


def test_an_error_row_holding_a_lone_surrogate_rebuilds_the_clis_line(bundle: dict[str, Any], tmp_path: Path) -> None:
    """A bundle refused with the id `"\\ud800"` (a JSON escape, not a character) has it escaped in the
    `bundle_id` column, as an Arrow string must. `decision_json_line` gave that column's text back
    (`"\\\\ud800"`, another id) in a line holding the error's own unpaired surrogate, a string no
    UTF-8 file can take: writing it raised UnicodeEncodeError. It rebuilds `batch`'s line now."""
    import pyarrow.parquet as pq
    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    from carepolicy.arrow import decision_json_line

    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"bundle": ['{"id":"\\ud800","id":"\\ud800","month":"2025-03"}', json.dumps(bundle)]}),
                   source)
    for out in ("out.jsonl", "out.parquet"):
        assert CliRunner().invoke(cli, ["batch", str(source), "-o", str(tmp_path / out)]).exit_code == 2
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert rows[0]["bundle_id"] == "\\ud800"
    rebuilt = b"".join(decision_json_line(row).encode("utf-8") + b"\n" for row in rows)
    assert rebuilt == (tmp_path / "out.jsonl").read_bytes()


def test_a_batch_of_rows_without_columns_has_an_error_row_for_each(policies: PolicySet) -> None:
    """Three rows and no column (`df.select()`): three rows out, each missing its month."""
    batch = pa.record_batch({"a": [1, 2, 3]}).select([])
    rows = _rows(policies, [batch])
    assert [row["record"] for row in rows] == [0, 1, 2]
    assert {json.loads(row["error"])[0]["message"] for row in rows} == {"missing required key `month`"}


def test_a_path_as_source_names_the_error_rows(policies: PolicySet, tmp_path: Path) -> None:
    """`source=Path(...)` (the Parquet file the batches came from) raised AttributeError at the first
    error row, after the batches before it: the run ended on a row that was only bad input."""
    batch = pa.record_batch({"bundle": [None]})
    [out] = evaluate_arrow_batches(policies, [batch], source=tmp_path / "in.parquet")
    [row] = out.to_pylist()
    assert row["source"] == str(tmp_path / "in.parquet")
    assert json.loads(row["error"])[0]["file"] == str(tmp_path / "in.parquet")


@pytest.mark.parametrize("source", [123, b"in.parquet", None])
def test_a_source_that_is_not_text_is_refused_at_the_call(policies: PolicySet, source: object) -> None:
    """A `source` that is not text or a path raised only at the first error row (AttributeError,
    or `bytes is not JSON serializable`), however many rows were decided before it. It is refused
    at the call, as `Evaluator.evaluate_many` refuses it, before any row is decided."""
    with pytest.raises(TypeError, match="`source` names the bundles in diagnostics: text or a path"):
        evaluate_arrow_batches(policies, [pa.record_batch({"bundle": [None]})], source=source)  # type: ignore[arg-type]


def test_a_table_or_one_batch_given_as_the_batches_is_read_as_its_batches(policies: PolicySet,
                                                                           bundle: dict[str, Any]) -> None:
    """A `pa.Table` given as `batches` was iterated as its columns (AttributeError: 'ChunkedArray'
    object has no attribute 'schema'); one RecordBatch, as its columns too. Each is read as batches."""
    text = json.dumps(bundle)
    table = pa.Table.from_batches([pa.record_batch({"bundle": [text, None]}), pa.record_batch({"bundle": [text]})])
    out = list(evaluate_arrow_batches(policies, table))
    assert [batch.num_rows for batch in out] == [2, 1]
    assert [row["status"] for batch in out for row in batch.to_pylist()] == ["decided", "error", "decided"]
    [one] = evaluate_arrow_batches(policies, pa.record_batch({"bundle": [text]}))
    assert one.column("status").to_pylist() == ["decided"]


def test_an_item_that_is_not_a_batch_is_refused_by_name(policies: PolicySet, bundle: dict[str, Any]) -> None:
    """A list of JSON texts (or of dicts) given as `batches` raised AttributeError: 'str' object has
    no attribute 'schema'. It is a TypeError that says what the batches are, and what was given."""
    with pytest.raises(TypeError, match=r"`batches` holds Arrow record batches \(or tables\); item 1 is a `str`"):
        list(evaluate_arrow_batches(policies, [json.dumps(bundle)]))  # type: ignore[list-item]


@pytest.mark.parametrize(("given", "help"), [
    ("bundles.parquet", "pyarrow.parquet.ParquetFile(path)"),
    (Path("bundles.parquet"), "pyarrow.parquet.ParquetFile(path)"),
    (None, "pa.record_batch"),
    ({"bundle": ["{}"]}, "pa.record_batch"),
    ("pandas", "pa.Table.from_pandas(frame)"),
])
def test_batches_that_are_no_batches_are_refused_at_the_call(policies: PolicySet, given: object, help: str) -> None:
    """A path (read as its characters: `item 1 is a str`), a pandas DataFrame (its column names), a
    mapping, None (`'NoneType' object is not iterable`) are refused when the call is made, saying
    what to give, as `evaluate_many` refuses one bundle or text in place of its iterable."""
    if given == "pandas":
        import pandas

        given = pandas.DataFrame({"bundle": ['{"month": "2025-03"}']})
    with pytest.raises(TypeError, match=r"`batches` is Arrow record batches or a table, not `") as raised:
        evaluate_arrow_batches(policies, given)  # type: ignore[arg-type]
    assert help in str(raised.value)


def test_a_map_bundle_column_says_it_is_a_map(policies: PolicySet) -> None:
    """A `bundle` column of maps (Spark's `from_json(..., MapType)`) said `found a list`: Arrow gives a
    map's cell as a list of pairs. It says it found a map, and how to give the bundle instead."""
    cells = pa.array([[("month", "2025-03")], None, []], pa.map_(pa.string(), pa.string()))
    rows = _rows(policies, [pa.record_batch({"bundle": cells})])
    assert [row["status"] for row in rows] == ["error"] * 3
    [first], [null], [empty] = (json.loads(row["error"]) for row in rows)
    assert first["message"] == ("column `bundle`, row 1: expected a fact bundle (a mapping), found a map "
                                "(key-value pairs), which is not read as one")
    assert first["code"] == "facts/not-a-bundle"
    assert first["help"] == ("give each bundle as JSON text (Spark: `to_json`) or as a struct column, its fields "
                             "named as the facts")
    assert null["message"] == "column `bundle`, row 2: expected a fact bundle (a mapping), found `null`"
    assert empty["message"].startswith("column `bundle`, row 3: expected a fact bundle (a mapping), found a map")


def _nested(depth: int) -> tuple[pa.DataType, object]:
    kind: pa.DataType = pa.int64()
    value: object = 1
    for _ in range(depth):
        kind, value = pa.list_(kind), [value]
    return kind, value


@pytest.mark.parametrize("name", ["month", "bundle"])
def test_a_column_nested_past_pythons_recursion_is_its_rows_error(policies: PolicySet, bundle: dict[str, Any],
                                                                   name: str) -> None:
    """A list nested 1,200 deep (a type Arrow holds, and Spark may make) raised RecursionError out of
    `evaluate_arrow_batches`: the batch, and the batches after it, had no output. Each of its rows
    is its error (the type itself is past reading: a null row too); the batches around it are decided."""
    kind, value = _nested(1200)
    batch = pa.record_batch({name: pa.array([value, None], kind)})
    errors = [json.loads(row["error"])[0] for row in _rows(policies, [batch])]
    assert [(error["code"], error["message"]) for error in errors] == [
        ("facts/limit", f"column `{name}`, row {row}: nested too deeply to be read (a bundle nests at most 16 levels)")
        for row in (1, 2)]
    assert all(error["help"].startswith("the column's type nests far deeper than a bundle") for error in errors)
    good = pa.record_batch({"bundle": [json.dumps(bundle)]})
    assert [row["status"] for row in _rows(policies, [good, batch, good])] == ["decided", "error", "error", "decided"]


def test_a_bug_while_one_row_is_read_is_that_rows_error(policies: PolicySet, bundle: dict[str, Any],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`validate_bundle` raising on one row of bundle columns (a bug) ended the whole batch; it is
    that row's `facts/internal` error, and the rows around it are decided."""
    from carepolicy import arrow_bundles

    real = arrow_bundles.validate_bundle

    def failing(value: object, **kwargs: Any) -> Any:
        if isinstance(value, dict) and value.get("id") == "boom":
            raise RuntimeError("a bug")
        return real(value, **kwargs)

    monkeypatch.setattr(arrow_bundles, "validate_bundle", failing)
    rows = _rows(policies, [pa.Table.from_pylist([bundle, {**bundle, "id": "boom"}, bundle]).to_batches()[0]])
    assert [row["status"] for row in rows] == ["decided", "error", "decided"]
    [error] = json.loads(rows[1]["error"])
    assert error["code"] == "facts/internal"
    assert error["message"] == "row 2: internal error while reading: RuntimeError: a bug"


@pytest.mark.parametrize("given", ["policies", None, 5])
def test_policies_that_are_not_loaded_are_refused_at_the_call(given: object, bundle: dict[str, Any]) -> None:
    """A policies folder's path (or None, for the shipped ones) given as `policies` made every row an
    `eval/internal` error, `'str' object has no attribute 'last_settings'`, whose help called it a
    bug in carepolicy. It is a TypeError at the call that says how to load them."""
    batch = pa.record_batch({"bundle": [json.dumps(bundle)]})
    with pytest.raises(TypeError, match=r"`policies` is an Evaluator \(`carepolicy.load\(\)`\) or a PolicySet, not"):
        evaluate_arrow_batches(given, [batch])  # type: ignore[arg-type]


def test_a_table_among_the_batches_is_read_as_its_batches(policies: PolicySet) -> None:
    """A `pa.Table` item among `batches` was read as a batch, but its columns are chunked: a float32
    column (read through its text) made each row a `facts/internal` error. It is read as its batches."""
    kind = pa.struct([("deductible_remaining", pa.float32())])
    table = pa.table({"month": ["2025-03"], "beneficiary": pa.array([{"deductible_remaining": 1.1}], kind)})
    assert [row["status"] for row in _rows(policies, [table, table.to_batches()[0]])] == ["decided", "decided"]
