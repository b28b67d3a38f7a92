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
  built from, by PREGAME_DEADLINE on the day;
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
from nba_pipeline.raw import build
from nba_pipeline.raw import tables as raw

ET = ZoneInfo(GAME_TIMEZONE)
WINDOW_DAYS = 7
PREGAME_DEADLINE = dt.time(12, 0)
# asset -> when a date's results partition is due, the next morning (ET): each layer half an
# hour after the one it reads (games end by ~1 am; the feeds have the finals by 6)
RESULTS = {
    "nba_raw/schedule": dt.time(6, 0),
    "nba_raw/team_boxscores": dt.time(6, 0),
    "nba_raw/player_boxscores": dt.time(6, 0),
    "nba_analytics/player_game_summary": dt.time(6, 30),
    "nba_analytics/team_offense_game_summary": dt.time(6, 30),
    "nba_analytics/team_defense_game_summary": dt.time(6, 30),
    "nba_predictions/prediction_accuracy": dt.time(7, 30),
    "nba_exports/performance_summary": dt.time(8, 0),
}
# due with the date's partition by PREGAME_DEADLINE on the day
PREGAME = (
    "nba_raw/player_points_props",
    "nba_raw/game_lines",
    "nba_analytics/upcoming_team_game_context",
    "nba_analytics/upcoming_player_game_context",
    "nba_precompute/player_daily_cache",
    "nba_precompute/player_shot_zone_analysis",
    "nba_precompute/team_defense_zone_analysis",
    "nba_precompute/player_composite_factors",
    "nba_precompute/ml_feature_store",
    "nba_predictions/points_model",
    "nba_predictions/player_points_predictions",
    "nba_exports/best_bets",
)
# a day's best-bets file may hold no picks (no sportsbook line worth one)
MAY_BE_EMPTY = {"nba_exports/best_bets"}
RAW_TABLES = (raw.schedule, raw.team_boxscores, raw.player_boxscores, raw.player_points_props, raw.game_lines)


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
        newest, start, end,
        with_games=frozenset(days),
        with_finals=frozenset(days[schedule["status"] == "final"]),
        raw_rows=rows,
    )


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


def expectations(now: dt.datetime, days: GameDays, assets: Sequence[str] | None = None) -> list[Expectation]:
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
        if key in days.with_finals:
            for asset, due in RESULTS.items():
                due_at = dt.datetime.combine(next_day, due, ET)
                if now >= due_at and (wanted is None or asset in wanted):
                    out.append(Expectation(asset, key, due_at, ended))
        if key in days.with_games:
            due_at = dt.datetime.combine(day, PREGAME_DEADLINE, ET)
            if now >= due_at:
                midnight = dt.datetime.combine(day, dt.time(0), ET)
                out.extend(Expectation(a, key, due_at, midnight) for a in PREGAME if wanted is None or a in wanted)
    return out


def late_partitions(
    instance: dg.DagsterInstance,
    now: dt.datetime,
    days: GameDays,
    blocking_checks: Mapping[dg.AssetKey, Sequence[dg.AssetCheckKey]] | None = None,
    assets: Sequence[str] | None = None,
) -> list[Late]:
    """Expected partitions not built with their data, from the event log (two queries per asset);
    `blocking_checks` are each asset's checks whose failure means a partition is not built."""
    by_asset: dict[str, list[Expectation]] = {}
    for e in expectations(now, days, assets):
        by_asset.setdefault(e.asset, []).append(e)
    late = []
    for asset, wanted in by_asset.items():
        key = dg.AssetKey(asset.split("/"))
        partitions = sorted({e.partition for e in wanted})
        # the latest per partition, however often one was rebuilt (a live day's odds: hourly)
        latest = latest_materialization_records(instance, key, partitions)
        failed = _failed_checks(instance, (blocking_checks or {}).get(key, ()), partitions)
        for e in wanted:
            reason = _why_not_built(asset, e, latest.get(e.partition), days, failed.get(e.partition, []))
            if reason:
                late.append(Late(asset, e.partition, e.due, reason))
    return late


def _why_not_built(asset: str, e: Expectation, record, days: GameDays, failed_checks: list[str]) -> str | None:
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
    elif rows == 0 and asset not in MAY_BE_EMPTY:
        return "materialized with 0 rows on a game date"
    if failed_checks:
        return f"blocking check(s) failed: {', '.join(failed_checks)}"
    return None


def _failed_checks(instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey], partitions: list[str]) -> dict[str, list[str]]:
    """Partition -> names of the checks whose result for its latest materialization failed."""
    if not check_keys:
        return {}
    out: dict[str, list[str]] = {}
    for info in instance.event_log_storage.get_asset_check_partition_info(list(check_keys), partition_keys=partitions):
        if info.is_current and info.latest_execution_status.value == "FAILED":
            out.setdefault(info.partition_key, []).append(info.check_key.name)
    return out
