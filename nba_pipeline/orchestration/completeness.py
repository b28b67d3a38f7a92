"""Per game date: the partitions that must exist by now, built with their data, and which of them
do not. This is what "fresh" means here (the `fresh` check of every asset, `freshness.py`) and
what `late_partition_alerts` reports.

Dagster's `FreshnessPolicy` judges an asset by its latest materialization of ANY partition
(its evaluator reads the asset's last materialization, whatever the partition): backfilling an
old date, or writing an empty partition for a day without data, made every asset "Passing" while
the newest game days were missing (incident 6, back through the UI). The rule here is per
partition, and against the data the source has, not the clock alone:

- the dates looked at are the WINDOW_DAYS game dates ending at the source's newest game date
  (or today, if the source reaches today): a history that ends, the off-season and a fresh
  deployment expect nothing beyond their data;
- results: each such date with final games must have its partition of the tables that hold game
  results, materialized after the date ended, by its layer's deadline the next morning;
- pre-game: each such date with games must have its partition of what the day's predictions are
  built from, by noon on the day;
- which tables are which, and their deadlines, each table declares (`Due`, in its layer's
  tables.py), and its asset carries as metadata: `due_times` reads them off the assets;
- "built with its data": a raw partition holds as many rows as the source has for the date; a
  derived one is not empty on a game date (the best-bets file may hold no picks); no blocking
  check of it failed. A partition materialized earlier than its lower bound (last night's
  before its games ended) cannot hold its data either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd

from nba_pipeline.core.checks.partitioned import latest_materialization_records
from nba_pipeline.core.partitions import GAME_TIMEZONE
from nba_pipeline.core.schema import Due
from nba_pipeline.raw import build
from nba_pipeline.raw import tables as raw

ET = ZoneInfo(GAME_TIMEZONE)
WINDOW_DAYS = 7
RAW_TABLES = (raw.schedule, raw.team_boxscores, raw.player_boxscores, raw.player_props, raw.game_lines)


@dataclass(frozen=True)
class GameDays:
    """What the source holds for the dates looked at: which have games, which final games, and
    each raw table's rows per date."""

    newest: dt.date | None  # the source's newest game date (None: no game data at all)
    start: dt.date | None = None
    end: dt.date | None = None
    with_games: frozenset[str] = frozenset()
    with_finals: frozenset[str] = frozenset()
    raw_rows: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # "dataset/table" -> date -> rows

    @property
    def window(self) -> str:
        return "no game data in the source" if self.end is None else f"{self.start} .. {self.end}"


def game_days(source, today: dt.date) -> GameDays:
    """The WINDOW_DAYS dates ending at min(today, the source's newest game date), from the source."""
    newest = source.newest_game_date()
    if newest is None:
        return GameDays(None)
    end = min(today, newest)
    start = end - dt.timedelta(days=WINDOW_DAYS - 1)
    rows: dict[str, dict[str, int]] = {}
    schedule = pd.DataFrame()
    for table in RAW_TABLES:
        df = table.conform(build.BUILDERS[table.name](source, start, end)[0])
        if table is raw.schedule:
            schedule = df
        days = df["game_date"].dt.strftime("%Y-%m-%d")
        rows["/".join(table.asset_key.path)] = {k: int(v) for k, v in days.value_counts().items()}
    days = schedule["game_date"].dt.strftime("%Y-%m-%d")
    return GameDays(
        newest,
        start,
        end,
        with_games=frozenset(days),
        with_finals=frozenset(days[schedule["status"] == "final"]),
        raw_rows=rows,
    )


def due_times(assets) -> dict[str, Due]:
    """Asset ("dataset/table") -> when its game-date partitions are due, as each asset's metadata
    states it (`Due`, declared with its table): from asset specs, or the nodes of an asset graph."""
    out = {}
    for node in assets:
        due = Due.of(node.metadata)
        if due is not None:
            out[node.key.to_user_string()] = due
    return out


def blocking_checks(asset_graph) -> dict[dg.AssetKey, list[dg.AssetCheckKey]]:
    """Each asset's blocking checks: a partition failing one is not built."""
    out: dict[dg.AssetKey, list[dg.AssetCheckKey]] = {}
    for ck in asset_graph.asset_check_keys:
        if asset_graph.get_check_spec(ck).blocking:
            out.setdefault(ck.asset_key, []).append(ck)
    return out


@dataclass(frozen=True)
class Expectation:
    asset: str
    partition: str
    due: dt.datetime
    not_before: dt.datetime  # a materialization earlier than this cannot hold the data


@dataclass(frozen=True)
class Late:
    asset: str
    partition: str
    due: dt.datetime
    reason: str

    @property
    def id(self) -> str:
        return f"{self.asset}@{self.partition}"


def expectations(
    now: dt.datetime, days: GameDays, dues: Mapping[str, Due], assets: Sequence[str] | None = None
) -> list[Expectation]:
    """What must exist at `now`: the game dates of the window whose due time has passed."""
    if days.end is None:
        return []
    now = now.astimezone(ET)
    wanted = set(assets) if assets is not None else None
    out = []
    for i in range((days.end - days.start).days + 1):
        day = days.start + dt.timedelta(days=i)
        key, next_day = day.isoformat(), day + dt.timedelta(days=1)
        ended = dt.datetime.combine(next_day, dt.time(0), ET)
        midnight = dt.datetime.combine(day, dt.time(0), ET)
        for asset, due in dues.items():
            if wanted is not None and asset not in wanted:
                continue
            if due.kind == "results" and key in days.with_finals:
                due_at = dt.datetime.combine(next_day, due.by, ET)
                if now >= due_at:
                    out.append(Expectation(asset, key, due_at, ended))
            elif due.kind == "pregame" and key in days.with_games:
                due_at = dt.datetime.combine(day, due.by, ET)
                if now >= due_at:
                    out.append(Expectation(asset, key, due_at, midnight))
    return out


def late_partitions(
    instance: dg.DagsterInstance,
    now: dt.datetime,
    days: GameDays,
    dues: Mapping[str, Due],
    blocking_checks: Mapping[dg.AssetKey, Sequence[dg.AssetCheckKey]] | None = None,
    assets: Sequence[str] | None = None,
) -> list[Late]:
    """Expected partitions not built with their data, from the event log (two queries per asset);
    `dues` say which assets are due when (`due_times`), `blocking_checks` each asset's checks whose
    failure means a partition is not built."""
    by_asset: dict[str, list[Expectation]] = {}
    for e in expectations(now, days, dues, assets):
        by_asset.setdefault(e.asset, []).append(e)
    late = []
    for asset, wanted in by_asset.items():
        key = dg.AssetKey(asset.split("/"))
        partitions = sorted({e.partition for e in wanted})
        # the latest per partition, however often one was rebuilt (a live day's odds: hourly)
        latest = latest_materialization_records(instance, key, partitions)
        failed = _failed_checks(instance, (blocking_checks or {}).get(key, ()), partitions)
        for e in wanted:
            reason = _why_not_built(asset, e, latest.get(e.partition), days, failed.get(e.partition, []), dues[asset])
            if reason:
                late.append(Late(asset, e.partition, e.due, reason))
    return late


def _why_not_built(
    asset: str, e: Expectation, record, days: GameDays, failed_checks: list[str], due: Due
) -> str | None:
    if record is None:
        return "never materialized"
    at = dt.datetime.fromtimestamp(record.timestamp, ET)
    if at < e.not_before:
        return f"last materialized {at:%Y-%m-%d %H:%M} ET, before its data could be complete"
    meta = record.asset_materialization.metadata if record.asset_materialization else {}
    rows = meta.get("dagster/partition_row_count")
    rows = None if rows is None else int(rows.value)
    if asset in days.raw_rows and rows is not None:
        in_source = days.raw_rows[asset].get(e.partition, 0)
        if rows != in_source:
            return f"{rows} row(s) stored, the source has {in_source}: built before its data"
    elif rows == 0 and not due.may_be_empty:
        return "materialized with 0 rows on a game date"
    if failed_checks:
        return f"blocking check(s) failed: {', '.join(failed_checks)}"
    return None


def _failed_checks(
    instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey], partitions: list[str]
) -> dict[str, list[str]]:
    """Partition -> names of the checks whose result for its latest materialization failed."""
    if not check_keys:
        return {}
    out: dict[str, list[str]] = {}
    for info in instance.event_log_storage.get_asset_check_partition_info(list(check_keys), partition_keys=partitions):
        if info.is_current and info.latest_execution_status.value == "FAILED":
            out.setdefault(info.partition_key, []).append(info.check_key.name)
    return out
