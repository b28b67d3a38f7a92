"""The automation conditions over a simulated game day, evaluated the way the daemon's automation
sensor evaluates them (`evaluate_automation_conditions`, real instance, no mocks): what lands
upstream decides exactly which partitions are requested next."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from nba_pipeline.automation import AUTOMATION_DAYS
from nba_pipeline_tests.conftest import make_defs

ET = ZoneInfo("America/New_York")
RAW = ["schedule", "team_boxscores", "player_boxscores", "player_points_props", "game_lines"]
YESTERDAY, TODAY = "2025-11-01", "2025-11-02"


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


@pytest.fixture
def defs(tmp_path):
    return make_defs(tmp_path / "raw", tmp_path / "w.duckdb")


def land(instance: dg.DagsterInstance, assets, partition: str) -> None:
    """Record materializations as a run would (runless: the conditions read the event log)."""
    for a in assets:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key(a), partition=partition))


def requested(result) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in result.results:
        parts = r.true_subset.expensively_compute_partition_keys() if r.true_subset.size else set()
        if parts:
            out[r.key.to_user_string()] = set(parts)
    return out


def at(day: str, hour: int) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=ET)


def test_a_game_day_runs_itself(defs, instance):
    everything = [k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()]
    downstream = sorted(a for a in everything if not a.startswith("nba_raw/"))
    # the state before: every asset materialized for yesterday, nothing for today
    land(instance, everything, YESTERDAY)
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(TODAY, 6))
    cursor = first.cursor

    # 11 am: the sensor lands today's raw partitions (the morning odds snapshot, the schedule)
    land(instance, [f"nba_raw/{t}" for t in RAW], TODAY)
    morning = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(TODAY, 11), cursor=cursor)
    got = requested(morning)
    # every layer above raw, for today only, in one tick (eager chains through will_be_requested)
    assert got == {a: {TODAY} for a in downstream}, got
    land(instance, downstream, TODAY)
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(TODAY, 12), cursor=morning.cursor)
    assert requested(settled) == {}  # nothing twice

    # past midnight: last night's finals land (box scores and the schedule's final scores)
    tomorrow = "2025-11-03"
    land(instance, ["nba_raw/schedule", "nba_raw/team_boxscores", "nba_raw/player_boxscores"], TODAY)
    night = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(tomorrow, 2), cursor=settled.cursor)
    got = requested(night)
    # the day's facts and its grading; nothing of the new day, whose raw data has not landed
    assert got["nba_analytics/player_game_summary"] == {TODAY}
    assert got["nba_predictions/prediction_accuracy"] == {TODAY}
    assert got["nba_exports/performance_summary"] == {TODAY}
    assert all(tomorrow not in parts for parts in got.values()), got


def test_an_old_date_landing_requests_no_old_partition(defs, instance):
    everything = [k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()]
    for day in (YESTERDAY, TODAY):
        land(instance, everything, day)
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(TODAY, 12)).cursor
    # a correction of a date three weeks back lands (a backfill)
    old = "2025-10-12"
    land(instance, [f"nba_raw/{t}" for t in RAW], old)
    got = requested(dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(TODAY, 13), cursor=cursor))
    assert all(old not in parts for parts in got.values())  # old dates are backfills, on purpose
    # ... but the recent dates whose history windows read it are rebuilt, and what follows them
    assert AUTOMATION_DAYS == 2
    for asset in ("nba_analytics/upcoming_team_game_context", "nba_analytics/upcoming_player_game_context",
                  "nba_precompute/ml_feature_store", "nba_predictions/player_points_predictions"):
        assert got[asset] == {YESTERDAY, TODAY}, asset
    assert "nba_analytics/player_game_summary" not in got  # it reads no history


def test_raw_is_not_automated(defs):
    graph = defs.resolve_asset_graph()
    for t in RAW:
        assert graph.get(key(f"nba_raw/{t}")).automation_condition is None
