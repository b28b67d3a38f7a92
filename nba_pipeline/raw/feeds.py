"""Typed reading of the raw feed files, with errors that name file, line and column.

Every file is read as text first, then each declared field is converted column-wise; a value that
does not convert is reported with its file, its 1-based line number (the header is line 1) and its
column, and the read fails. Nothing is guessed: undeclared columns are ignored, declared ones must
be present.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

FieldKind = Literal["str", "int", "float", "bool", "date", "date_mon", "mmss", "utc"]

LINE = "_line"  # column carrying each row's line number in its file
FILE = "_file"


class UnreadableFeed(Exception):
    """A feed a source could not read, saying where: a file's line or a response's row
    (FeedError), or a request that failed for good (the live source's FeedRequestError)."""


class FeedError(UnreadableFeed, ValueError):
    """A feed file or row that cannot be read; names where (`unit`: 'line' of a file, 'row' of an
    API response)."""

    def __init__(self, file: str | Path, line: int | None, column: str | None, problem: str, unit: str = "line"):
        self.file, self.line, self.column, self.problem = str(file), line, column, problem
        where = self.file + (f", {unit} {line}" if line is not None else "")
        where += f", column {column!r}" if column is not None else ""
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Field:
    name: str
    kind: FieldKind = "str"
    required: bool = True  # False: empty cells become null
    pattern: str | None = None  # regex a 'str' value must match in full


@dataclass(frozen=True)
class RowRange:
    """Keep only the rows whose `field` lies in [low, high] (dates or UTC timestamps)."""

    field: str
    low: pd.Timestamp
    high: pd.Timestamp

    def keep(self, values: pd.Series) -> pd.Series:
        return (values >= self.low) & (values <= self.high)


@dataclass(frozen=True)
class RowSet:
    """Keep only the rows whose `field` is one of `values` (e.g. the run's game ids)."""

    field: str
    values: frozenset

    def keep(self, values: pd.Series) -> pd.Series:
        return values.isin(self.values)


def read_feed(path: Path, fields: Sequence[Field], rows: RowRange | RowSet | None = None) -> pd.DataFrame:
    """Read one CSV feed file into typed columns named as in the file, plus `_line`/`_file`.

    With `rows`, its field is converted (and checked) on every row, the other fields only on the
    rows kept: a run over one date of a season file converts that date's rows, and a bad value
    fails the runs over its own date, not every run that opens the file."""
    _check_ends_with_newline(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8")
    except UnicodeDecodeError:
        raise _decode_error(path) from None
    except pd.errors.ParserError as exc:
        raise FeedError(path, _parser_error_line(exc), None, f"unreadable CSV: {exc}") from None
    except pd.errors.EmptyDataError:
        raise FeedError(path, 1, None, "file is empty (no header)") from None
    missing = [f.name for f in fields if f.name not in raw.columns]
    if missing:
        raise FeedError(path, 1, missing[0], f"header lacks column(s) {missing}")
    _check_row_widths(path, len(raw.columns))
    return _typed(path, raw, fields, rows)


def empty_feed(fields: Sequence[Field]) -> pd.DataFrame:
    """A feed frame with no rows but the typed columns (no file covers the range asked for)."""
    raw = pd.DataFrame({f.name: pd.Series(dtype=object) for f in fields})
    return _typed(Path("<none>"), raw, fields)


def concat_feeds(frames: list[pd.DataFrame], fields: Sequence[Field]) -> pd.DataFrame:
    """Typed feed frames as one (an empty typed frame when there are none)."""
    if not frames:
        return empty_feed(fields)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def typed_rows(label: str, raw: pd.DataFrame, fields: Sequence[Field]) -> pd.DataFrame:
    """Rows of an API response (a frame of JSON values, named like the file format's columns)
    typed by the same rules as a file's, so a live feed and a file give identical frames. Errors
    name `label` (the request) and the row, counted from 1."""
    missing = [f.name for f in fields if f.name not in raw.columns]
    if missing:
        raise FeedError(label, None, missing[0], f"response lacks field(s) {missing}")
    text = pd.DataFrame(
        {
            f.name: raw[f.name].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
            for f in fields
        },
        index=raw.index,
    )
    try:
        return _typed(label, text, fields, first_line=1)
    except FeedError as exc:
        raise FeedError(exc.file, exc.line, exc.column, exc.problem, unit="row") from None


def _typed(
    path, raw: pd.DataFrame, fields: Sequence[Field], rows: RowRange | RowSet | None = None, first_line: int = 2
) -> pd.DataFrame:
    lines = pd.Series(np.arange(len(raw)) + first_line, index=raw.index)
    columns: dict[str, pd.Series] = {}
    if rows is not None:
        f = next(f for f in fields if f.name == rows.field)
        key = _convert(path, raw[f.name].str.strip(), f, lines)
        keep = rows.keep(key)
        raw, lines, columns[f.name] = raw[keep], lines[keep], key[keep]
    for f in fields:
        if f.name not in columns:
            columns[f.name] = _convert(path, raw[f.name].str.strip(), f, lines)
    out = pd.DataFrame({f.name: columns[f.name] for f in fields}, index=raw.index)
    out[LINE] = lines
    out[FILE] = str(path)
    return out.reset_index(drop=True)


def fail_at(df: pd.DataFrame, mask: pd.Series, column: str, problem: str) -> None:
    """Raise a FeedError for the first row of `df` where `mask` holds (rows from read_feed)."""
    if mask.any():
        row = df[mask].iloc[0]
        value = row[column] if column in df.columns else None
        n = int(mask.sum())
        more = f" ({n - 1} more row(s) like it)" if n > 1 else ""
        raise FeedError(row[FILE], int(row[LINE]), column, f"{problem}: {value!r}{more}")


def _convert(path: Path, s: pd.Series, f: Field, lines: pd.Series) -> pd.Series:
    empty = s == ""
    if f.required and empty.any():
        i = empty.idxmax()
        raise FeedError(path, int(lines[i]), f.name, "required value is empty")
    if f.kind == "str":
        out = s.mask(empty).astype("string")
        if f.pattern is not None:
            bad = ~empty & ~s.str.fullmatch(f.pattern)
            _raise_first(path, bad, s, lines, f, f"does not match {f.pattern}")
        return out
    if f.kind in ("int", "float"):
        num = pd.to_numeric(s.mask(empty), errors="coerce")
        bad = ~empty & num.isna()
        _raise_first(path, bad, s, lines, f, f"not a number ({f.kind})")
        if f.kind == "float":
            return num.astype("float64")
        frac = ~num.isna() & (num != np.floor(num.fillna(0)))
        _raise_first(path, frac, s, lines, f, "not a whole number")
        return num.astype("Int64")
    if f.kind == "bool":
        low = s.str.lower()
        bad = ~empty & ~low.isin(["true", "false", "1", "0"])
        _raise_first(path, bad, s, lines, f, "not a boolean (True/False)")
        return low.map({"true": True, "1": True, "false": False, "0": False}).astype("boolean")
    if f.kind in ("date", "date_mon"):
        fmt = "%Y-%m-%d" if f.kind == "date" else "%b %d, %Y"
        dt = _each_distinct(s, lambda u: pd.to_datetime(u.mask(u == ""), format=fmt, errors="coerce"))
        bad = ~empty & dt.isna()
        expected = "YYYY-MM-DD" if f.kind == "date" else "MON DD, YYYY"
        _raise_first(path, bad, s, lines, f, f"not a date ({expected})")
        return dt.astype("datetime64[ns]")
    if f.kind == "utc":
        dt = _each_distinct(s, lambda u: pd.to_datetime(u.mask(u == ""), utc=True, errors="coerce", format="ISO8601"))
        bad = ~empty & dt.isna()
        _raise_first(path, bad, s, lines, f, "not an ISO 8601 UTC timestamp")
        return dt.astype(pd.DatetimeTZDtype("ns", "UTC"))
    if f.kind == "mmss":
        # the feed writes rounded seconds, so '23:60' occurs and means 24:00
        parts = s.mask(empty).str.extract(r"^(\d{1,3}):([0-5]\d|60)$")
        bad = ~empty & parts[0].isna()
        _raise_first(path, bad, s, lines, f, "not a mm:ss duration")
        return parts[0].astype("float64") + parts[1].astype("float64") / 60.0
    raise ValueError(f"unknown field kind {f.kind}")


def _each_distinct(s: pd.Series, parse) -> pd.Series:
    """`parse` applied to the distinct values only: a season file repeats ~200 dates 26k times."""
    codes, uniques = pd.factorize(s)
    parsed = parse(pd.Series(uniques, dtype=object))
    return pd.Series(parsed.array.take(codes, allow_fill=True), index=s.index)


def _raise_first(path, bad: pd.Series, s: pd.Series, lines: pd.Series, f: Field, problem: str):
    if bad.any():
        i = bad.idxmax()
        n = int(bad.sum())
        more = f" ({n - 1} more row(s) like it)" if n > 1 else ""
        raise FeedError(path, int(lines[i]), f.name, f"{problem}: {s[i]!r}{more}")


def _check_row_widths(path: Path, width: int) -> None:
    # pandas silently pads short rows; a row with a missing field is malformed, so say where
    with open(path, newline="", encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            if row and len(row) != width:
                raise FeedError(path, lineno, None, f"row has {len(row)} fields, header has {width}")


def _check_ends_with_newline(path: Path) -> None:
    """Every feed writer ends a file with a newline; a file that ends inside a line was cut short
    (an interrupted download or copy) and its last value may be a fragment (`-112.0` cut to `-1`),
    so the whole file is refused rather than its rows taken as complete."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return
        fh.seek(-1, 2)
        if fh.read(1) == b"\n":
            return
        fh.seek(0)
        lines = fh.read().count(b"\n") + 1
    raise FeedError(
        path,
        lines,
        None,
        "the file ends inside this line (no final newline): cut short by an interrupted "
        "download or write? nothing is read from it",
    )


def _decode_error(path: Path) -> FeedError:
    """The line and column of the first byte that is not UTF-8 (pandas reports a chunk offset)."""
    data = Path(path).read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        header = next(csv.reader([data[: data.find(b"\n")].decode("utf-8", errors="replace")]))
        before = data[start : exc.start].decode("utf-8", errors="replace")
        field = len(next(csv.reader([before]), [""])) - 1 if before else 0
        column = header[field] if 0 <= field < len(header) else None
        bad = data[exc.start : exc.end]
        return FeedError(
            path,
            line,
            column,
            f"not UTF-8: byte(s) {bad.hex(' ')} at character {len(before) + 1} of the line "
            "(a file saved in another encoding, e.g. Latin-1?)",
        )
    return FeedError(path, None, None, "not UTF-8")


def _parser_error_line(exc: Exception) -> int | None:
    import re

    m = re.search(r"line (\d+)", str(exc))
    return int(m.group(1)) if m else None
