import pandas as pd
import pandera.pandas as pa
import pytest

from nba_pipeline.core.schema import Check, Column, Table, TableSchemaViolation

T = Table(
    dataset="test_ds",
    name="scores",
    description="test table",
    columns=(
        Column("game_date", "date", "d"),
        Column("player_id", "int", "p"),
        Column("points", "int", "pts", checks=(Check.ge(0),)),
        Column("name", "string", "n", nullable=True),
    ),
    grain=("game_date", "player_id"),
)


def frame(**over):
    df = pd.DataFrame(
        {
            "game_date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-02"]),
            "player_id": [1, 2, 1],
            "points": [10, 20, 30],
            "name": ["a", None, "c"],
        }
    )
    for k, v in over.items():
        df[k] = v
    return df


def test_valid_frame_is_coerced_to_declared_dtypes():
    out = T.validate(frame(), ["2025-01-01", "2025-01-02"])
    assert str(out["player_id"].dtype) == "Int64"
    assert str(out["name"].dtype) == "string"
    assert list(out.columns) == T.column_names


def test_type_violation_names_table_partition_row_and_column():
    with pytest.raises(TableSchemaViolation) as exc:
        T.validate(frame(points=pd.Series([10, "twelve", 30], dtype=object)))
    msg = str(exc.value)
    assert "test_ds.scores" in msg and "nothing written" in msg
    assert "partition 2025-01-01, row 1, column 'points'" in msg
    assert "'twelve'" in msg


def test_null_and_range_violations():
    with pytest.raises(TableSchemaViolation) as exc:
        T.validate(frame(player_id=pd.Series([1, None, 1], dtype="Int64"), points=[10, -1, 30]))
    msg = str(exc.value)
    assert "row 1, column 'player_id': null in a non-nullable column" in msg
    assert "row 1, column 'points'" in msg and "greater_than_or_equal_to(0)" in msg


@pytest.mark.parametrize(
    "case, common",
    [
        ({}, True),  # plainly valid: taken by the fast pass
        ({"points": [10.0, 20.0, 30.0]}, True),  # floats with integral values: cast like pandera does
        ({"points": [10, -1, 30]}, False),  # a column check fails
        ({"player_id": pd.Series([1, None, 1], dtype="Int64")}, False),  # a null where none is allowed
        ({"player_id": [1, 1, 1]}, False),  # the grain repeats
        ({"points": pd.Series([10, "x", 30], dtype=object)}, False),  # not castable
        ({"game_date": ["2025-01-01", "2025-01-01", "2025-01-02"]}, False),  # a date column of strings
    ],
)
def test_fast_pass_accepts_exactly_what_pandera_accepts_and_yields_the_same_frame(case, common):
    df = frame(**case)
    fast = T._plainly_valid(df)
    try:
        full = T.pandera_schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors:
        full = None
    if fast is not None:  # never laxer than pandera, and the same coerced frame
        assert full is not None
        pd.testing.assert_frame_equal(fast, full)
    assert (fast is not None) == common  # the common case skips pandera; anything else goes to it
    if full is None:
        with pytest.raises(TableSchemaViolation):
            T.validate(df)


def test_duplicate_grain_is_a_violation():
    df = frame(player_id=[1, 1, 1])
    with pytest.raises(TableSchemaViolation) as exc:
        T.validate(df)
    assert "duplicate grain (game_date, player_id)" in str(exc.value)
    assert "partition 2025-01-01" in str(exc.value)


def test_rows_outside_the_written_partitions_are_rejected():
    with pytest.raises(TableSchemaViolation) as exc:
        T.validate(frame(), ["2025-01-01"])
    assert "row 2, column 'game_date': row dated 2025-01-02 is outside the partitions being written" in str(exc.value)


def test_missing_and_undeclared_columns():
    with pytest.raises(TableSchemaViolation) as exc:
        T.validate(frame().drop(columns=["name"]).assign(extra=1))
    assert "column 'name': declared column missing" in str(exc.value)
    assert "column 'extra': column not declared" in str(exc.value)


def test_ddl_and_dagster_schema_come_from_the_declaration():
    ddl = T.duckdb_ddl()
    assert "CREATE TABLE IF NOT EXISTS test_ds.scores" in ddl
    assert '"player_id" BIGINT NOT NULL' in ddl and '"name" VARCHAR,' not in ddl.replace('"name" VARCHAR\n', "")
    cols = {c.name: c for c in T.dagster_column_schema.columns}
    assert cols["name"].constraints.nullable is True and cols["points"].type == "BIGINT"
    assert [f.name for f in T.bigquery_schema()] == T.column_names
    assert T.asset_metadata()["partition_expr"] == "game_date"


def test_partition_column_must_be_a_non_null_date():
    with pytest.raises(ValueError):
        Table("d", "t", "x", columns=(Column("game_date", "string", "x"),), grain=())


@pytest.mark.parametrize(
    "check, values",
    [
        (Check.isin(["OVER", "UNDER"]), ["OVER", None, "UNDER"]),
        (Check.isin(["OVER", "UNDER"]), ["OVER", "PASS"]),
        (Check.ge(0), [0, 3, None]),
        (Check.ge(0), [0, -1]),
        (Check.in_range(0, 70), [0.0, 70.0, None]),
        (Check.in_range(0, 70), [70.5]),
        (Check.str_matches(r"^\d{10}$"), ["0022400001", None]),
        (Check.str_matches(r"^\d{10}$"), ["22400001"]),
    ],
)
def test_declared_checks_judge_like_their_pandera_checks(check, values):
    s = pd.Series(values, dtype="string" if check.kind in ("isin", "str_matches") else "Float64")
    try:
        pa.DataFrameSchema({"v": pa.Column(s.dtype, nullable=True, checks=[check.to_pandera()])}).validate(
            pd.DataFrame({"v": s})
        )
        pandera_ok = True
    except pa.errors.SchemaError:
        pandera_ok = False
    assert check.passes(s) == pandera_ok
