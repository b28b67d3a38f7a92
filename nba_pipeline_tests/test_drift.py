"""Drift (incident 12: deployed code far behind, fixes never re-run): `stale` lists exactly the
partitions built by an older code version or from upstream data that changed since."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from nba_pipeline.drift import ranges, stale_partitions, summarize
from nba_pipeline.runner import run_backfill
from nba_pipeline_tests.conftest import first_game_dates, make_defs


def _bump(defs: dg.Definitions, asset: str, version: str) -> dg.Definitions:
    key = dg.AssetKey(asset.split("/"))
    return defs.map_asset_specs(func=lambda s: s.replace_attributes(code_version=version) if s.key == key else s)


def test_incident_12_a_code_version_bump_and_a_newer_upstream_make_exactly_those_partitions_stale(league_copy, tmp_path, instance):
    raw, summary = league_copy
    start, end = first_game_dates(summary, 2)
    defs = make_defs(raw, tmp_path / "w.duckdb")
    assert run_backfill(defs, instance, start, end, "group:nba_raw", progress=None).success
    assert stale_partitions(defs, instance) == []

    bumped = _bump(defs, "nba_raw/game_lines", "2")
    stale = stale_partitions(bumped, instance)
    assert {(s.asset, s.partition) for s in stale} == {("nba_raw/game_lines", str(start)), ("nba_raw/game_lines", str(end))}
    assert {s.reason for s in stale} == {"built by code version 1, deployed 2"}
    assert summarize(stale) == [{"asset": "nba_raw/game_lines", "reason": "built by code version 1, deployed 2",
                                 "partitions": 2, "ranges": [f"{start} .. {end}"]}]

    # the schedule of the first date is rebuilt: what reads it that date is now stale, nothing else
    assert run_backfill(defs, instance, start, start, "key:nba_raw/schedule", progress=None).success
    stale = stale_partitions(defs, instance)
    assert {(s.asset, s.partition) for s in stale} == {
        (f"nba_raw/{t}", str(start)) for t in ("team_boxscores", "player_boxscores", "player_points_props", "game_lines")
    }
    assert {s.reason for s in stale} == {"upstream nba_raw/schedule materialized after it"}
    # rebuilding them clears it
    assert run_backfill(defs, instance, start, start, "group:nba_raw", progress=None).success
    assert stale_partitions(defs, instance) == []


def test_history_windows_carry_staleness_forward(league_copy, tmp_path, instance):
    """A date's features read D-300 .. D-1: a rebuilt D makes the later dates stale, not D."""
    from nba_pipeline.history import season_start

    raw, summary = league_copy
    first, third = first_game_dates(summary, 3)
    defs = make_defs(raw, tmp_path / "w.duckdb")
    layers = "group:nba_raw or group:nba_analytics or group:nba_precompute"
    assert run_backfill(defs, instance, season_start(first), third, layers, progress=None).success
    assert run_backfill(defs, instance, first, first, "key:nba_analytics/player_game_summary", progress=None).success
    stale = {(s.asset, s.partition) for s in stale_partitions(defs, instance) if s.asset == "nba_precompute/player_daily_cache"}
    later = {str(first + dt.timedelta(days=i)) for i in (1, 2)}
    assert stale == {("nba_precompute/player_daily_cache", d) for d in later}


def test_ranges():
    d = dt.date.fromisoformat
    assert ranges(["2025-01-03", "2025-01-01", "2025-01-02", "2025-01-05"]) == [
        (d("2025-01-01"), d("2025-01-03")), (d("2025-01-05"), d("2025-01-05"))]
