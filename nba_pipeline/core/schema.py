"""One declared schema per warehouse table, used by writers, checks and docs alike.

A `Table` names its columns (type, nullability, value checks), its grain and its partition column.
From that single declaration come: the pandera schema every frame is validated against before a
write, the DuckDB and BigQuery DDL, the Dagster column schema shown in the UI, and the grain used by
the uniqueness checks. Table identity is the asset key: `[dataset, table]`, nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandera.pandas as pa

import dagster as dg
import pandas as pd

ColumnType = Literal["string", "int", "float", "bool", "date", "timestamp"]

# pandas dtype each declared type is held in, the same whichever warehouse wrote it
_PANDAS_DTYPES: dict[str, object] = {
    "string": pd.StringDtype(),
    "int": pd.Int64Dtype(),
    "float": "float64",
    "bool": pd.BooleanDtype(),
    "date": "datetime64[ns]",
    "timestamp": pd.DatetimeTZDtype("ns", "UTC"),
}
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}
_BIGQUERY_TYPES = {
    "string": "STRING",
    "int": "INT64",
    "float": "FLOAT64",
    "bool": "BOOL",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}

# at most this many violations are spelled out in an error; the rest are counted
MAX_REPORTED_VIOLATIONS = 20

# American odds: -110 risks 110 to win 100, +150 risks 100 to win 150; nothing lies strictly between
# -100 and +100 (even money is +/-100). Beyond 20000 (a 99.5% favourite) no book posts a two-way price;
# the data's extremes are -13500 (a first-half moneyline) and +3300.
MAX_AMERICAN_ODDS = 20_000
AMERICAN_ODDS_RANGE = f"-{MAX_AMERICAN_ODDS} .. -100 or +100 .. +{MAX_AMERICAN_ODDS}"


@dataclass(frozen=True)
class Check:
    """A declared constraint on a column's non-null values, enforced at write. The names and
    arguments are pandera's (`to_pandera` gives its check, which reports violations); the same
    rule is also evaluated here, vectorised, so a plainly valid frame needs no pandera at all
    (importing pandera alone costs ~0.15 s of every CLI run, measured)."""

    kind: Literal["isin", "ge", "in_range", "str_matches", "american_odds"]
    args: tuple

    @classmethod
    def isin(cls, values) -> Check:
        return cls("isin", (tuple(values),))

    @classmethod
    def ge(cls, minimum: float) -> Check:
        return cls("ge", (minimum,))

    @classmethod
    def in_range(cls, minimum: float, maximum: float) -> Check:
        return cls("in_range", (minimum, maximum))

    @classmethod
    def str_matches(cls, pattern: str) -> Check:
        return cls("str_matches", (pattern,))

    @classmethod
    def american_odds(cls) -> Check:
        """A sportsbook price: <= -100 or >= +100, at most MAX_AMERICAN_ODDS either way."""
        return cls("american_odds", (MAX_AMERICAN_ODDS,))

    def valid(self, s: pd.Series) -> pd.Series:
        """Per value: satisfies the rule (nulls do: pandera ignores them alike)."""
        v = s.dropna()
        if self.kind == "isin":
            ok = v.isin(self.args[0])
        elif self.kind == "ge":
            ok = v >= self.args[0]
        elif self.kind == "in_range":
            ok = (v >= self.args[0]) & (v <= self.args[1])
        elif self.kind == "american_odds":
            ok = _is_american_odds(v, self.args[0])
        else:
            ok = v.astype(str).str.match(self.args[0])
        return ok.astype(bool).reindex(s.index, fill_value=True)

    def passes(self, s: pd.Series) -> bool:
        """True if every non-null value satisfies the rule."""
        return bool(self.valid(s).all())

    def to_pandera(self) -> pa.Check:
        import pandera.pandas as pa

        if self.kind == "isin":
            return pa.Check.isin(list(self.args[0]))
        if self.kind == "american_odds":
            limit = self.args[0]
            return pa.Check(lambda s: _is_american_odds(s, limit), name=f"american_odds({AMERICAN_ODDS_RANGE})")
        return getattr(pa.Check, self.kind)(*self.args)


def _is_american_odds(v: pd.Series, limit: float) -> pd.Series:
    a = v.astype("float64").abs()
    return (a >= 100) & (a <= limit)


@dataclass(frozen=True)
class Column:
    """`checks` are enforced on write (a violation writes nothing); `range` is a plausibility
    bound, inclusive, checked per partition by the table's `values_in_range` asset check (bad
    values are recorded and block downstream, with the offending rows named)."""

    name: str
    type: ColumnType
    description: str
    nullable: bool = False
    checks: Sequence[Check] = ()
    range: tuple[float | None, float | None] | None = None

    @property
    def pandas_dtype(self) -> object:
        return _PANDAS_DTYPES[self.type]


class DeclaredOutput:
    """Identity of what an asset writes (a table, or a file export): the asset key
    [dataset, name], nothing else."""

    dataset: str
    name: str

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey([self.dataset, self.name])

    @property
    def qualified_name(self) -> str:
        return f"{self.dataset}.{self.name}"


@dataclass(frozen=True)
class Due:
    """When a game date's partition of a table must be built, with its data (the `fresh` check and
    the late-partition alerts, `orchestration/completeness.py`, read it off the asset's metadata):
    `results` tables by `by` ET the morning after the date's games ended, `pregame` tables by `by`
    on the date itself. `may_be_empty`: a built partition may hold no rows on a game date."""

    kind: Literal["results", "pregame"]
    by: dt.time
    may_be_empty: bool = False

    METADATA_KEY = "nba_pipeline/due"

    def metadata(self) -> dict[str, object]:
        return {
            self.METADATA_KEY: dg.MetadataValue.json(
                {"kind": self.kind, "by": self.by.strftime("%H:%M"), "may_be_empty": self.may_be_empty}
            )
        }

    @classmethod
    def of(cls, metadata: Mapping[str, object]) -> Due | None:
        """The due time an asset's metadata states (None: the asset states none)."""
        value = metadata.get(cls.METADATA_KEY)
        if value is None:
            return None
        data = value.data if isinstance(value, dg.JsonMetadataValue) else value
        return cls(data["kind"], dt.time.fromisoformat(data["by"]), bool(data.get("may_be_empty")))


def results_due(by: dt.time) -> Due:
    """A results table: due by `by` (ET) the morning after the date's games."""
    return Due("results", by)


# what a date's predictions are built from: due by noon (ET) on the date
PREGAME_DUE = Due("pregame", dt.time(12, 0))


@dataclass(frozen=True)
class Table(DeclaredOutput):
    dataset: str
    name: str
    description: str
    columns: Sequence[Column]
    grain: Sequence[str]
    partition_column: str | None = "game_date"
    cluster_by: Sequence[str] = ()
    code_version: str = "1"
    due: Due | None = None  # when a game date's partition must be built (freshness)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.qualified_name}: duplicate column names")
        for key in [*self.grain, *self.cluster_by]:
            if key not in names:
                raise ValueError(f"{self.qualified_name}: grain/cluster column {key!r} undeclared")
        if self.partition_column is not None:
            col = self.column(self.partition_column)
            if col.type != "date" or col.nullable:
                raise ValueError(f"{self.qualified_name}: partition column must be a non-null DATE")

    # identity -------------------------------------------------------------------------------
    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def ranged_columns(self) -> list[Column]:
        return [c for c in self.columns if c.range is not None]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.qualified_name} has no column {name!r}")

    # derived forms --------------------------------------------------------------------------
    @cached_property
    def pandera_schema(self) -> pa.DataFrameSchema:
        import pandera.pandas as pa  # only for frames that are not plainly valid: see _plainly_valid

        return pa.DataFrameSchema(
            {
                c.name: pa.Column(c.pandas_dtype, nullable=c.nullable, checks=[k.to_pandera() for k in c.checks])
                for c in self.columns
            },
            unique=list(self.grain) or None,
            report_duplicates="all",
            strict=True,
            coerce=True,
            name=self.qualified_name,
        )

    @property
    def dagster_column_schema(self) -> dg.TableSchema:
        return dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=c.name,
                    type=_DUCKDB_TYPES[c.type],
                    description=c.description + (f" (expected range {_format_range(c.range)})" if c.range else ""),
                    constraints=dg.TableColumnConstraints(nullable=c.nullable),
                )
                for c in self.columns
            ],
            constraints=dg.TableConstraints(other=[f"grain: ({', '.join(self.grain)})"]),
        )

    def asset_metadata(self) -> dict[str, object]:
        """Definition metadata every asset writing this table carries."""
        meta: dict[str, object] = {
            "dagster/column_schema": self.dagster_column_schema,
            "grain": ", ".join(self.grain),
        }
        if self.partition_column:
            # read by the Dagster DB IO managers to build the partition WHERE clause
            meta["partition_expr"] = self.partition_column
        if self.due:
            meta.update(self.due.metadata())
        return meta

    def duckdb_ddl(self) -> str:
        cols = ",\n  ".join(
            f'"{c.name}" {_DUCKDB_TYPES[c.type]}{"" if c.nullable else " NOT NULL"}' for c in self.columns
        )
        return f"CREATE TABLE IF NOT EXISTS {self.dataset}.{self.name} (\n  {cols}\n)"

    def bigquery_schema(self) -> list:
        from google.cloud import bigquery

        return [
            bigquery.SchemaField(
                c.name,
                _BIGQUERY_TYPES[c.type],
                mode="NULLABLE" if c.nullable else "REQUIRED",
                description=c.description,
            )
            for c in self.columns
        ]

    def empty_frame(self) -> pd.DataFrame:
        return self.conform(pd.DataFrame({c: [] for c in self.column_names}))

    def conform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Declared column order and pandas dtypes (for frames read back from any warehouse)."""
        if list(df.columns) == self.column_names and all(df[c.name].dtype == c.pandas_dtype for c in self.columns):
            return df.reset_index(drop=True)  # already conformed: no column copies
        columns: dict[str, pd.Series] = {}
        for c in self.columns:
            s = df[c.name] if c.name in df.columns else pd.Series(None, index=df.index)
            if s.dtype != c.pandas_dtype:
                if c.type == "date":
                    s = pd.to_datetime(s).dt.tz_localize(None) if len(s) else s
                    s = s.astype("datetime64[ns]")
                elif c.type == "timestamp":
                    s = pd.to_datetime(s, utc=True).astype(c.pandas_dtype)
                else:
                    s = s.astype(c.pandas_dtype)
            columns[c.name] = s
        # one frame from all columns at once: inserting them one by one costs more than the casts
        return pd.DataFrame(columns, index=df.index).reset_index(drop=True)

    # validation -----------------------------------------------------------------------------
    def validate(self, df: pd.DataFrame, partition_keys: Iterable[str] | None = None) -> pd.DataFrame:
        """Coerce `df` to the declared schema or raise TableSchemaViolation naming every bad cell.

        `partition_keys`: the partitions being written; a row dated outside them is a violation,
        since writing it would silently touch a partition the run does not own.
        """
        missing = [c for c in self.column_names if c not in df.columns]
        extra = [c for c in df.columns if c not in self.column_names]
        if missing or extra:
            raise TableSchemaViolation(
                self,
                [
                    *(Violation(None, None, m, "declared column missing from frame") for m in missing),
                    *(Violation(None, None, x, "column not declared in schema") for x in extra),
                ],
            )
        frame = df.reset_index(drop=True)
        out = self._plainly_valid(frame)
        if out is None:
            from pandera.errors import SchemaErrors

            try:
                out = self.pandera_schema.validate(frame[self.column_names], lazy=True)
            except SchemaErrors as exc:
                raise TableSchemaViolation(self, _violations(self, exc.failure_cases, frame)) from None
        if partition_keys is not None and self.partition_column:
            keys = set(partition_keys)
            dates = out[self.partition_column].dt.strftime("%Y-%m-%d")
            outside = dates[~dates.isin(keys)]
            if len(outside):
                raise TableSchemaViolation(
                    self,
                    [
                        Violation(
                            d,
                            int(i),
                            self.partition_column,
                            f"row dated {d} is outside the partitions being written",
                        )
                        for i, d in outside.head(MAX_REPORTED_VIOLATIONS).items()
                    ],
                    total=len(outside),
                )
        return out

    def _plainly_valid(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        """The coerced frame when it is plainly valid, else None: then the full pandera schema
        validates it and names every bad cell.

        Pandera's cost is per column, not per row (~12 ms a table; 0.22 s of a 3.2 s one-date
        run, measured), so the common case goes through this pass instead, without pandera. It is never laxer than
        the pandera schema: it accepts a frame only if every column already has its declared
        dtype or gets it by plain `astype` (what pandera's coercion does; dates and timestamps
        must already have theirs), no non-nullable column holds a null, no grain key repeats,
        and every declared column check passes."""
        columns: dict[str, pd.Series] = {}
        for c in self.columns:
            s = frame[c.name]
            if s.dtype != c.pandas_dtype:
                if c.type in ("date", "timestamp"):
                    return None
                try:
                    s = s.astype(c.pandas_dtype)
                except (TypeError, ValueError):
                    return None
            if not c.nullable and s.isna().any():
                return None
            columns[c.name] = s
        out = pd.DataFrame(columns)
        if self.grain and out.duplicated(list(self.grain)).any():
            return None
        if not all(k.passes(out[c.name]) for c in self.columns for k in c.checks):
            return None
        return out


def _format_range(bounds: tuple[float | None, float | None]) -> str:
    lo, hi = bounds
    return f"{'-inf' if lo is None else lo} .. {'inf' if hi is None else hi}"


@dataclass(frozen=True)
class Violation:
    partition: str | None
    row: int | None
    column: str | None
    problem: str

    def __str__(self) -> str:
        where = []
        if self.partition is not None:
            where.append(f"partition {self.partition}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where) or 'table'}: {self.problem}"


class TableSchemaViolation(ValueError):
    """A frame does not match its table's declared schema; nothing was written."""

    def __init__(self, table: Table, violations: Sequence[Violation], total: int | None = None):
        self.table = table
        self.violations = list(violations)
        total = total if total is not None else len(self.violations)
        shown = self.violations[:MAX_REPORTED_VIOLATIONS]
        more = f"\n  ... and {total - len(shown)} more" if total > len(shown) else ""
        super().__init__(
            f"table {table.qualified_name}: {total} schema violation(s), nothing written:\n  "
            + "\n  ".join(str(v) for v in shown)
            + more
        )


def _violations(table: Table, failures: pd.DataFrame, frame: pd.DataFrame) -> list[Violation]:
    part_col = table.partition_column
    part_values = None
    if part_col and part_col in frame.columns:
        part_values = pd.to_datetime(frame[part_col], errors="coerce")
    out: list[Violation] = []
    # pandera reports a bad coercion twice (coerce_dtype and dtype) and then a TypeError from the
    # value checks that ran on it: keep the first, most specific failure per cell
    seen: set[tuple] = set()
    for rec in failures.itertuples(index=False):
        row = None if pd.isna(rec.index) else int(rec.index)
        column = rec.column if isinstance(rec.column, str) and rec.column in frame.columns else None
        if "uniqueness" in str(rec.check) or str(rec.check) == "unique":
            # pandera reports a duplicate per grain cell; report it once per row, with its key
            column = None
            key_values = frame.loc[row, list(table.grain)].astype(str).tolist() if row is not None else []
            problem = f"duplicate grain ({', '.join(table.grain)}) = ({', '.join(key_values)})"
        else:
            problem = _describe(str(rec.check), rec.failure_case)
        key = (row, column)
        if row is not None and key in seen:
            continue
        seen.add(key)
        partition = None
        if row is not None and part_values is not None and row < len(part_values):
            ts = part_values.iloc[row]
            partition = None if pd.isna(ts) else ts.strftime("%Y-%m-%d")
        out.append(Violation(partition, row, column, problem))
    return out


def _describe(check: str, value: object) -> str:
    if check == "not_nullable":
        return "null in a non-nullable column"
    if check.startswith("coerce_dtype"):
        return f"value {value!r} is not of type {check[len('coerce_dtype(') : -1]}"
    if check.startswith("dtype("):
        return f"value {value!r} has the wrong type (expected {check[6:-1]})"
    return f"value {value!r} fails {check}"


# registry: asset key -> table, filled by each layer's tables module ------------------------------
_REGISTRY: dict[dg.AssetKey, Table] = {}


def register(*tables: Table) -> None:
    for t in tables:
        if t.asset_key in _REGISTRY and _REGISTRY[t.asset_key] != t:
            raise ValueError(f"table {t.qualified_name} declared twice")
        _REGISTRY[t.asset_key] = t


def table_for(key: dg.AssetKey | Sequence[str]) -> Table:
    asset_key = key if isinstance(key, dg.AssetKey) else dg.AssetKey(list(key))
    try:
        return _REGISTRY[asset_key]
    except KeyError:
        raise KeyError(f"no declared table schema for asset {asset_key.to_user_string()}") from None


def registered_tables() -> list[Table]:
    return list(_REGISTRY.values())
