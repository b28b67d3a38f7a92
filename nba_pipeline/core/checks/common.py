"""Check evaluators every layer uses, and the factory of per-table multi-asset checks.

Evaluators are pure and vectorised over all partitions of a run: frames in, `{partition: Outcome}`
out. They run inline, in the step that writes the table (`TableChecks`, evaluated by the
table-asset factory, `table_assets.table_asset`), over the run's whole partition range at once.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from nba_pipeline.core.checks.partitioned import Outcome, Outcomes, PartitionCheck, emit
from nba_pipeline.core.schema import DeclaredOutput, Table

MAX_EXAMPLES = 10


def game_day(df: pd.DataFrame) -> pd.Series:
    """The partition key ('YYYY-MM-DD') of each row."""
    return df["game_date"].dt.strftime("%Y-%m-%d")


def _count_by_day(mask: pd.Series, df: pd.DataFrame) -> dict[str, int]:
    return {k: int(v) for k, v in mask.groupby(game_day(df)).sum().items()} if len(df) else {}


def _examples(df: pd.DataFrame, cols: Sequence[str]) -> dict[str, list]:
    if df.empty:
        return {}
    return {day: g[list(cols)].astype(str).head(MAX_EXAMPLES).values.tolist() for day, g in df.groupby(game_day(df))}


def day_counts(df: pd.DataFrame) -> dict[str, int]:
    """Rows per game date ('YYYY-MM-DD' -> count), for cheap lookups in the per-partition loop."""
    if df.empty:
        return {}
    return {k: int(v) for k, v in df.groupby(game_day(df)).size().items()}


def day_examples(df: pd.DataFrame, cols: Sequence[str]) -> dict[str, list]:
    """Up to MAX_EXAMPLES rows (as strings) per game date; only dates with rows appear."""
    return _examples(df, cols)


def failed_because(key: str, reason: str) -> str:
    """A failed evaluation's one-line description: the partition, then why (shown in the UI's
    check history and the run log, so the reason needs no click into the metadata)."""
    return f"{key}: {reason}"


def _listing(head: str, **parts: tuple[int, list | None]) -> str:
    """'head; missing 2 (e.g. [...]); ...' over the parts with a nonzero count."""
    shown = [
        f"{name} {n} (e.g. {examples[0]})" if examples else f"{name} {n}" for name, (n, examples) in parts.items() if n
    ]
    return "; ".join([head, *shown])


def team_game_keys(schedule: pd.DataFrame, final_only: bool) -> pd.DataFrame:
    """(game_date, game_id, team) twice per game of the schedule: the rows team tables must have."""
    s = schedule[schedule["status"] == "final"] if final_only else schedule
    return pd.concat(
        [
            s[["game_date", "game_id"]].assign(team=s["home_team"]),
            s[["game_date", "game_id"]].assign(team=s["away_team"]),
        ],
        ignore_index=True,
    )


def rows_match(actual: pd.DataFrame, expected: pd.DataFrame, key: Sequence[str], keys: Sequence[str]) -> Outcomes:
    """Exactly one stored row per expected key of the date: none missing, none extra, no key twice.
    `key` includes game_date; `expected` may repeat keys (it is reduced to the distinct set)."""
    key = list(key)
    a = actual[key]
    e = expected[key].drop_duplicates()
    dup = a[a.duplicated(key, keep=False)]
    merged = a.drop_duplicates().merge(e, on=key, how="outer", indicator=True)
    missing = merged[merged["_merge"] == "right_only"]
    extra = merged[merged["_merge"] == "left_only"]
    n_rows = _count_by_day(pd.Series(True, index=a.index), a)
    n_expected = _count_by_day(pd.Series(True, index=e.index), e)
    n_dup = _count_by_day(pd.Series(True, index=dup.index), dup)
    n_missing = _count_by_day(pd.Series(True, index=missing.index), missing)
    n_extra = _count_by_day(pd.Series(True, index=extra.index), extra)
    shown = [c for c in key if c != "game_date"]
    ex_missing, ex_extra, ex_dup = _examples(missing, shown), _examples(extra, shown), _examples(dup, shown)
    out = {}
    for k in keys:
        bad = int(n_missing.get(k, 0)) + int(n_extra.get(k, 0)) + int(n_dup.get(k, 0))
        out[k] = Outcome(
            passed=bad == 0,
            metadata={
                "expected_rows": int(n_expected.get(k, 0)),
                "rows": int(n_rows.get(k, 0)),
                "missing": int(n_missing.get(k, 0)),
                "unexpected": int(n_extra.get(k, 0)),
                "duplicate_key_rows": int(n_dup.get(k, 0)),
                "examples": dg.MetadataValue.json(
                    {
                        "missing": ex_missing.get(k, []),
                        "unexpected": ex_extra.get(k, []),
                        "duplicated": ex_dup.get(k, []),
                    }
                ),
            },
            description=None
            if not bad
            else failed_because(
                k,
                _listing(
                    f"{int(n_rows.get(k, 0))} row(s) for {int(n_expected.get(k, 0))} expected",
                    missing=(n_missing.get(k, 0), ex_missing.get(k)),
                    unexpected=(n_extra.get(k, 0), ex_extra.get(k)),
                    **{"key repeated": (n_dup.get(k, 0), ex_dup.get(k))},
                ),
            ),
        )
    return out


def values_in_range(df: pd.DataFrame, table: Table, keys: Sequence[str]) -> Outcomes:
    """Every non-null value of a ranged column lies within its declared (inclusive) range."""
    grain = [g for g in table.grain if g != "game_date"]
    bad_any = pd.Series(False, index=df.index)
    per_column: dict[str, dict[str, int]] = {}
    examples = []
    for col in table.ranged_columns:
        lo, hi = col.range
        x = df[col.name].astype("float64")
        bad = pd.Series(False, index=df.index)
        if lo is not None:
            bad |= x < lo
        if hi is not None:
            bad |= x > hi
        if bad.any():
            per_column[col.name] = _count_by_day(bad, df)
            bad_any |= bad
            rows = df[bad]
            examples.append(
                rows.assign(_column=col.name, _value=x[bad].round(4))[["game_date", *grain, "_column", "_value"]]
            )
    shown = _examples(pd.concat(examples), [*grain, "_column", "_value"]) if examples else {}
    n_bad = _count_by_day(bad_any, df)
    n_rows = _count_by_day(pd.Series(True, index=df.index), df)
    out = {}
    for k in keys:
        counts = {c: n[k] for c, n in per_column.items() if n.get(k)}
        out[k] = Outcome(
            passed=int(n_bad.get(k, 0)) == 0,
            metadata={
                "rows": int(n_rows.get(k, 0)),
                "rows_out_of_range": int(n_bad.get(k, 0)),
                "out_of_range_by_column": dg.MetadataValue.json(counts),
                "examples": dg.MetadataValue.json(shown.get(k, [])),
                "columns_checked": len(table.ranged_columns),
            },
            description=None
            if not counts
            else failed_because(
                k,
                f"{int(n_bad[k])} of {int(n_rows.get(k, 0))} row(s) out of range ("
                + ", ".join(f"{c} {n}" for c, n in counts.items())
                + f"), e.g. {shown[k][0]}",
            ),
        )
    return out


def in_range_check(table: Table) -> PartitionCheck:
    ranges = ", ".join(f"{c.name} {c.range[0]}..{c.range[1]}" for c in table.ranged_columns)
    return PartitionCheck(
        "values_in_range",
        f"Plausibility ranges declared in the table schema: {ranges}.",
        lambda f, k: values_in_range(f[table.name], table, k),
    )


@dataclass(frozen=True)
class TableChecks:
    """The per-partition checks of one table (or file export), evaluated inline: in the step that
    writes it, right after the write, on the frame as stored (`table.conform` of what the IO
    manager validated and wrote) and the same-date frames of `reads` (inputs of that step).

    Inline rather than a check op per table: a check op re-read what its asset step had just
    held, opened the warehouse again and cost a step of its own: ~30% of a one-date run
    (measured). The events are the same: one evaluation per check and partition, and a failed
    blocking ERROR evaluation fails the step after its write, so the materialization is recorded
    and nothing downstream runs (Dagster's rule for blocking checks)."""

    table: DeclaredOutput
    checks: Sequence[PartitionCheck]
    # the upstream tables the checks read (by name): inputs of the asset, which the factory
    # verifies when the asset is defined, and the check specs' additional deps
    reads: Sequence[Table] = ()

    @property
    def specs(self) -> list[dg.AssetCheckSpec]:
        return [c.spec(self.table, self.reads) for c in self.checks]

    def evaluate(self, context: dg.AssetExecutionContext, frames: Mapping[str, object]) -> Iterator:
        missing = [t.name for t in self.reads if t.name not in frames]
        if missing:
            raise KeyError(f"{self.table.qualified_name} checks need the frames of {missing}")
        yield from emit(context, self.table, self.checks, _Frames(self.table, frames))


def table_checks(table: DeclaredOutput, checks: Sequence[PartitionCheck], reads: Sequence[Table] = ()) -> TableChecks:
    return TableChecks(table, tuple(checks), tuple(reads))


class _Frames(dict):
    """The frames a table's checks read, by name; a name not among them says which are."""

    def __init__(self, table: DeclaredOutput, frames: Mapping[str, object]):
        super().__init__(frames)
        self.table = table

    def __missing__(self, name: str):
        raise KeyError(
            f"a check of {self.table.qualified_name} reads the frame {name!r}, which is none of its frames "
            f"({', '.join(self)}): declare the table it reads in its TableChecks reads"
        )


def disagreements(compared: pd.DataFrame, problems: pd.DataFrame, keys: Sequence[str], what: str) -> Outcomes:
    """Outcomes of a reconciliation: `compared` are the rows checked (with game_date), `problems`
    one row per disagreeing fact (game_date, the row's key columns, `column`, `stored`, `source`).
    Fails a date with any problem; the description says in one line what disagreed."""
    n_compared, n_bad = day_counts(compared), day_counts(problems)
    shown = [c for c in problems.columns if c != "game_date"]
    examples = day_examples(problems, shown)
    by_column = problems.groupby([game_day(problems), "column"]).size() if len(problems) else pd.Series(dtype="int64")
    out = {}
    for k in keys:
        bad = n_bad.get(k, 0)
        columns = {c: int(n) for (d, c), n in by_column.items() if d == k} if bad else {}
        out[k] = Outcome(
            passed=not bad,
            metadata={
                f"{what}_compared": n_compared.get(k, 0),
                "disagreements": bad,
                "disagreements_by_column": dg.MetadataValue.json(columns),
                "examples": dg.MetadataValue.json(examples.get(k, [])),
            },
            description=None
            if not bad
            else failed_because(
                k, f"{bad} disagreement(s) ({', '.join(f'{c} {n}' for c, n in columns.items())}), e.g. {examples[k][0]}"
            ),
        )
    return out


def long_problems(
    df: pd.DataFrame, key: Sequence[str], checks: Mapping[str, tuple[pd.Series, pd.Series]]
) -> pd.DataFrame:
    """The rows of `df` where a stated value differs from its source, one row per (row, column):
    `checks` maps a column name to (stored values, values per the source), aligned with `df`."""
    parts = []
    for column, (stored, source) in checks.items():
        differ = ~((stored == source) | (stored.isna() & source.isna())).fillna(False).astype(bool)
        if differ.any():
            rows = df.loc[differ, ["game_date", *key]].copy()
            rows["column"] = column
            rows["stored"] = stored[differ].astype(str).to_numpy()
            rows["source"] = source[differ].astype(str).to_numpy()
            parts.append(rows)
    if not parts:
        return pd.DataFrame(columns=["game_date", *key, "column", "stored", "source"])
    return pd.concat(parts, ignore_index=True)
