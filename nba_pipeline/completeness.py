"""Per game date: the partitions that must exist by now, and which of them do not.

Dagster's `FreshnessPolicy` (on every asset, `freshness.py`) judges an asset by its latest
materialization of ANY partition: backfilling an old date makes it look fresh while today's
partition is missing, and an old gap makes nothing stale (incident 6 judged a range instead of a
date). This adds the per-partition rule, from the event log:

- results: last night's partition (D-1) of the tables that hold game results must have been
  materialized after D-1 ended (00:00 ET of D, so with the finals in it) by its layer's deadline;
- pre-game: today's partition (D) of what the day's predictions are built from must have been
  materialized on D by PREGAME_DEADLINE (the morning schedule runs at 11:00 ET).

A partition materialized earlier than its lower bound (yesterday's before its games ended) is as
late as a missing one: its data cannot be complete.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import dagster as dg

from nba_pipeline.partitions import GAME_TIMEZONE

ET = ZoneInfo(GAME_TIMEZONE)
PREGAME_DEADLINE = dt.time(12, 0)
# asset -> when last night's partition is due (ET), the layers' freshness.DEADLINES
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
# due with today's partition by PREGAME_DEADLINE
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


def expectations(now: dt.datetime) -> list[Expectation]:
    """What must exist at `now`: only partitions whose due time has passed."""
    now = now.astimezone(ET)
    today = now.date()
    midnight = dt.datetime.combine(today, dt.time(0), ET)
    out = []
    for asset, due in RESULTS.items():
        due_at = dt.datetime.combine(today, due, ET)
        if now >= due_at:
            out.append(Expectation(asset, (today - dt.timedelta(days=1)).isoformat(), due_at, midnight))
    pregame_due = dt.datetime.combine(today, PREGAME_DEADLINE, ET)
    if now >= pregame_due:
        out.extend(Expectation(a, today.isoformat(), pregame_due, midnight) for a in PREGAME)
    return out


def late_partitions(instance: dg.DagsterInstance, now: dt.datetime) -> list[Late]:
    """Expected partitions without a materialization recent enough, from the event log."""
    late = []
    for e in expectations(now):
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(e.asset.split("/")), asset_partitions=[e.partition]), limit=1
        ).records
        if not records:
            late.append(Late(e.asset, e.partition, e.due, "never materialized"))
            continue
        at = dt.datetime.fromtimestamp(records[0].timestamp, ET)
        if at < e.not_before:
            late.append(Late(e.asset, e.partition, e.due,
                             f"last materialized {at:%Y-%m-%d %H:%M} ET, before its data could be complete"))
    return late
