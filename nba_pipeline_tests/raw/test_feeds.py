import pandas as pd
import pytest

from nba_pipeline.raw.feeds import FeedError, Field, read_feed

FIELDS = [
    Field("id", "int"),
    Field("when", "date"),
    Field("mins", "mmss", required=False),
    Field("pct", "float", required=False),
]


def write(tmp_path, text, name="f.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_typed_read_with_line_numbers(tmp_path):
    p = write(tmp_path, "id,when,mins,pct,ignored\n1,2025-01-02,32:33,0.5,x\n2,2025-01-03,,,y\n3,2025-01-03,23:60,,z\n")
    df = read_feed(p, FIELDS)
    assert df["id"].tolist() == [1, 2, 3]
    assert df["_line"].tolist() == [2, 3, 4]
    assert df["mins"].iloc[0] == pytest.approx(32 + 33 / 60)
    assert pd.isna(df["mins"].iloc[1])
    assert df["mins"].iloc[2] == pytest.approx(24.0)  # the feed's rounded '23:60'
    assert "ignored" not in df.columns


@pytest.mark.parametrize(
    "body, line, column, problem",
    [
        ("1,2025-01-02,32:33,0.5\nx2,2025-01-02,1:00,0.1\n", 3, "id", "not a number"),
        ("1,2025-01-02,32:33,0.5\n2,01/02/2025,1:00,0.1\n", 3, "when", "not a date"),
        ("1,2025-01-02,32:3,0.5\n", 2, "mins", "not a mm:ss duration"),
        ("1.5,2025-01-02,,\n", 2, "id", "not a whole number"),
        (",2025-01-02,,\n", 2, "id", "required value is empty"),
    ],
)
def test_bad_values_name_file_line_and_column(tmp_path, body, line, column, problem):
    p = write(tmp_path, "id,when,mins,pct\n" + body)
    with pytest.raises(FeedError) as exc:
        read_feed(p, FIELDS)
    e = exc.value
    assert (e.file, e.line, e.column) == (str(p), line, column)
    assert problem in str(e) and f"{p}, line {line}, column '{column}'" in str(e)


def test_missing_column_and_ragged_rows(tmp_path):
    with pytest.raises(FeedError, match="header lacks column"):
        read_feed(write(tmp_path, "id,when,mins\n1,2025-01-01,\n"), FIELDS)
    with pytest.raises(FeedError) as exc:
        read_feed(write(tmp_path, "id,when,mins,pct\n1,2025-01-01,,\n2,2025-01-01\n", "r.csv"), FIELDS)
    assert exc.value.line == 3 and "row has 2 fields, header has 4" in str(exc.value)


def test_row_range_converts_only_rows_in_range_and_keeps_line_numbers(tmp_path):
    from nba_pipeline.raw.feeds import RowRange

    body = "id,when,mins,pct\n1,2025-01-01,bad,0.1\n2,2025-01-02,10:00,0.2\n3,2025-01-03,11:00,x\n4,2025-01-02,12:30,\n"
    p = write(tmp_path, body)
    day = pd.Timestamp("2025-01-02")
    df = read_feed(p, FIELDS, RowRange("when", day, day))
    assert df["id"].tolist() == [2, 4] and df["_line"].tolist() == [3, 5]
    assert df["mins"].tolist() == pytest.approx([10.0, 12.5])
    assert df.dtypes.equals(
        read_feed(write(tmp_path, "id,when,mins,pct\n2,2025-01-02,10:00,0.2\n", "ok.csv"), FIELDS).dtypes
    )
    # a bad value fails the reads of its own date only ...
    with pytest.raises(FeedError) as exc:
        read_feed(p, FIELDS, RowRange("when", pd.Timestamp("2025-01-03"), pd.Timestamp("2025-01-03")))
    assert (exc.value.line, exc.value.column) == (4, "pct")
    # ... but a row whose range field is unreadable can't be placed in any range: every read fails
    bad_date = write(tmp_path, body.replace("2025-01-01", "Jan 1"), "d.csv")
    with pytest.raises(FeedError) as exc:
        read_feed(bad_date, FIELDS, RowRange("when", day, day))
    assert (exc.value.line, exc.value.column) == (2, "when")
