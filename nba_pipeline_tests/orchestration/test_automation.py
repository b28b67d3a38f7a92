"""The automation conditions over a simulated game day, evaluated the way the daemon's automation
sensor evaluates them (`evaluate_automation_conditions`, real instance, no mocks): what lands
upstream decides exactly which partitions are requested next."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from nba_pipeline.orchestration.automation import AUTOMATION_DAYS
from nba_pipeline_tests.conftest import make_defs

ET = ZoneInfo("America/New_York")
RAW = ["schedule", "team_boxscores", "player_boxscores", "player_props", "game_lines"]
YESTERDAY, TODAY = "2025-11-01", "2025-11-02"
SEASON_START = "2025-10-01"


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


@pytest.fixture
def defs(tmp_path):
    return make_defs(tmp_path / "raw", tmp_path / "w.duckdb")


def land(instance: dg.DagsterInstance, assets, partition: str) -> None:
    """Record materializations as a run would (runless: the conditions read the event log)."""
    for a in assets:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key(a), partition=partition))


def days(first: str, last: str) -> list[str]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def land_history(instance: dg.DagsterInstance, assets, first: str, last: str) -> None:
    for day in days(first, last):
        land(instance, assets, day)


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
    # the state before: every asset materialized for the season up to yesterday, nothing for today
    land_history(instance, everything, SEASON_START, YESTERDAY)
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(TODAY, 6))
    cursor = first.cursor

    # 11 am: the sensor lands today's raw partitions (the morning odds snapshot, the schedule)
    land(instance, [f"nba_raw/{t}" for t in RAW], TODAY)
    morning = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=at(TODAY, 11), cursor=cursor
    )
    got = requested(morning)
    # every layer above raw, for today only, in one tick (eager chains through will_be_requested)
    assert got == {a: {TODAY} for a in downstream}, got
    land(instance, downstream, TODAY)
    settled = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=at(TODAY, 12), cursor=morning.cursor
    )
    assert requested(settled) == {}  # nothing twice

    # past midnight: last night's finals land (box scores and the schedule's final scores)
    tomorrow = "2025-11-03"
    land(instance, ["nba_raw/schedule", "nba_raw/team_boxscores", "nba_raw/player_boxscores"], TODAY)
    night = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=at(tomorrow, 2), cursor=settled.cursor
    )
    got = requested(night)
    # the day's facts and its grading; nothing of the new day, whose raw data has not landed
    assert got["nba_analytics/player_game_summary"] == {TODAY}
    assert got["nba_predictions/prediction_accuracy"] == {TODAY}
    assert got["nba_exports/performance_summary"] == {TODAY}
    assert all(tomorrow not in parts for parts in got.values()), got


def test_an_old_date_landing_requests_no_old_partition(defs, instance):
    everything = [k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()]
    land_history(instance, everything, SEASON_START, TODAY)
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(TODAY, 12)).cursor
    # a correction of a date three weeks back lands (a backfill)
    old = "2025-10-12"
    land(instance, [f"nba_raw/{t}" for t in RAW], old)
    got = requested(
        dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(TODAY, 13), cursor=cursor)
    )
    assert all(old not in parts for parts in got.values())  # old dates are backfills, on purpose
    # ... but the recent dates whose history windows read it are rebuilt, and what follows them
    assert AUTOMATION_DAYS == 2
    for asset in (
        "nba_analytics/upcoming_team_game_context",
        "nba_analytics/upcoming_player_game_context",
        "nba_precompute/ml_feature_store",
        "nba_predictions/player_prop_predictions",
    ):
        assert got[asset] == {YESTERDAY, TODAY}, asset
    assert "nba_analytics/player_game_summary" not in got  # it reads no history


def test_raw_is_not_automated(defs):
    graph = defs.resolve_asset_graph()
    for t in RAW:
        assert graph.get(key(f"nba_raw/{t}")).automation_condition is None


def labelled(result, label: str):
    """The evaluation node of `result`'s condition tree carrying `label` (as the UI shows it)."""
    todo = [result]
    while todo:
        node = todo.pop()
        if node.condition.get_label() == label:
            return node
        todo.extend(node.child_results)
    raise AssertionError(f"no condition labelled {label!r}")


def test_a_date_without_season_history_is_not_requested(defs, instance):
    """Issue 16: the shipped history ends 2025-11-09 and the clock says 2026-12-03. The raw
    partitions of the last dates land (empty: no games in the data), but their season (from
    2026-10-01) has no history: nothing that reads it is requested, and the tick's evaluation
    says which part of the condition held each date back."""
    everything = [k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()]
    land_history(instance, everything, SEASON_START, "2025-11-09")
    now = at("2026-12-03", 12)
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=now)
    land_history(instance, [f"nba_raw/{t}" for t in RAW], "2026-11-27", "2026-12-03")
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=now, cursor=first.cursor)
    # only the date's own facts (they read nothing but that date's raw partitions, which exist:
    # empty partitions, a run that succeeds); every table that reads the season is held back
    same_date_only = {
        "nba_analytics/player_game_summary",
        "nba_analytics/team_offense_game_summary",
        "nba_analytics/team_defense_game_summary",
        "nba_analytics/player_prop_quotes",
    }
    assert set(requested(tick)) <= same_date_only, requested(tick)
    # the first table that reads the season: every other part of its condition let both dates
    # through (their raw partitions landed), the history part did not
    context = next(r for r in tick.results if r.key == key("nba_analytics/upcoming_team_game_context"))
    assert context.child_results[0].true_subset.expensively_compute_partition_keys() == {"2026-12-02", "2026-12-03"}
    assert labelled(context, "season history materialized").true_subset.is_empty


def test_a_gap_in_the_season_history_holds_back_exactly_the_dates_that_read_it(defs, instance):
    everything = [k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()]
    # one date of the season's player box scores was never materialized
    gap = "2025-10-25"
    land_history(instance, [a for a in everything if a != "nba_raw/player_boxscores"], SEASON_START, YESTERDAY)
    land_history(instance, ["nba_raw/player_boxscores"], SEASON_START, "2025-10-24")
    land_history(instance, ["nba_raw/player_boxscores"], "2025-10-26", YESTERDAY)
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(TODAY, 6)).cursor
    land(instance, [f"nba_raw/{t}" for t in RAW], TODAY)
    morning = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=at(TODAY, 11), cursor=cursor
    )
    got = requested(morning)
    # today's facts and team context need no player history: built
    assert got["nba_analytics/player_game_summary"] == {TODAY}
    assert got["nba_analytics/upcoming_team_game_context"] == {TODAY}
    # the player context reads the season's box scores, and everything after it needs it: held
    held = {
        "nba_analytics/upcoming_player_game_context",
        "nba_precompute/player_daily_cache",
        "nba_precompute/ml_feature_store",
        "nba_predictions/player_prop_predictions",
        "nba_exports/best_bets",
    }
    assert not held & set(got), got
    for asset, parts in got.items():
        for day in parts:
            land(instance, [asset], day)
    # the gap is filled (a backfill of that date): the rest of the day follows
    land(instance, ["nba_raw/player_boxscores"], gap)
    got = requested(
        dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=at(TODAY, 12), cursor=morning.cursor
        )
    )
    assert held <= {a for a, parts in got.items() if TODAY in parts}, got


def test_every_automated_asset_requires_what_its_inputs_read(defs):
    """The condition asks the event log exactly what the step requires, read off the same assets
    definition: every input of an automated asset is required (its checks-only inputs too)."""
    from nba_pipeline.core.history import needs_of

    graph = defs.resolve_asset_graph()
    for k in graph.get_all_asset_keys():
        if graph.get(k).automation_condition is not None:
            assets_def = graph.assets_def_for_key(k)
            assert {n.upstream for n in needs_of(assets_def)} == set(assets_def.keys_by_input_name.values()), (
                k.to_user_string()
            )
