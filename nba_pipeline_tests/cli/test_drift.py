"""Drift (incident 12: deployed code far behind, fixes never re-run): `stale` lists exactly the
partitions built by an older code version or from upstream data that changed since."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from nba_pipeline.cli.drift import ranges, stale_partitions, summarize
from nba_pipeline.cli.runner import run_backfill
from nba_pipeline_tests.conftest import first_game_dates, make_defs


def _bump(defs: dg.Definitions, asset: str, version: str) -> dg.Definitions:
    key = dg.AssetKey(asset.split("/"))
    return defs.map_asset_specs(func=lambda s: s.replace_attributes(code_version=version) if s.key == key else s)


def test_incident_12_a_code_version_bump_and_a_newer_upstream_make_exactly_those_partitions_stale(
    league_copy, tmp_path, instance
):
    raw, summary = league_copy
    start, end = first_game_dates(summary, 2)
    defs = make_defs(raw, tmp_path / "w.duckdb")
    assert run_backfill(defs, instance, start, end, "group:nba_raw", progress=None).success
    assert stale_partitions(defs, instance) == []

    # the next version of whatever is deployed now (a literal "2" stopped being a bump when game_lines reached 2)
    deployed = defs.resolve_asset_graph().get(dg.AssetKey(["nba_raw", "game_lines"])).code_version
    bumped = _bump(defs, "nba_raw/game_lines", f"{deployed}.1")
    stale = stale_partitions(bumped, instance)
    assert {(s.asset, s.partition) for s in stale} == {
        ("nba_raw/game_lines", str(start)),
        ("nba_raw/game_lines", str(end)),
    }
    reason = f"built by code version {deployed}, deployed {deployed}.1"
    assert {s.reason for s in stale} == {reason}
    assert summarize(stale) == [
        {"asset": "nba_raw/game_lines", "reason": reason, "partitions": 2, "ranges": [f"{start} .. {end}"]}
    ]

    # the schedule of the first date is rebuilt: what reads it that date is now stale, nothing else
    assert run_backfill(defs, instance, start, start, "key:nba_raw/schedule", progress=None).success
    stale = stale_partitions(defs, instance)
    assert {(s.asset, s.partition) for s in stale} == {
        (f"nba_raw/{t}", str(start)) for t in ("team_boxscores", "player_boxscores", "player_props", "game_lines")
    }
    assert {s.reason for s in stale} == {"upstream nba_raw/schedule materialized after it"}
    # rebuilding them clears it
    assert run_backfill(defs, instance, start, start, "group:nba_raw", progress=None).success
    assert stale_partitions(defs, instance) == []


def _three_dates_built_then_one_summary_rebuilt(league_copy, tmp_path, instance):
    """Raw to precompute over the season's start .. its third game date, then the first game date's
    player_game_summary rebuilt alone. Returns (defs, first game date)."""
    from nba_pipeline.core.history import season_start

    raw, summary = league_copy
    first, third = first_game_dates(summary, 3)
    defs = make_defs(raw, tmp_path / "w.duckdb")
    layers = "group:nba_raw or group:nba_analytics or group:nba_precompute"
    assert run_backfill(defs, instance, season_start(first), third, layers, progress=None).success
    assert run_backfill(defs, instance, first, first, "key:nba_analytics/player_game_summary", progress=None).success
    return defs, first


def test_history_windows_carry_staleness_forward(league_copy, tmp_path, instance):
    """A date's features read D-300 .. D-1: a rebuilt D makes the later dates stale, not D."""
    defs, first = _three_dates_built_then_one_summary_rebuilt(league_copy, tmp_path, instance)
    stale = {
        (s.asset, s.partition)
        for s in stale_partitions(defs, instance)
        if s.asset == "nba_precompute/player_daily_cache"
    }
    later = {str(first + dt.timedelta(days=i)) for i in (1, 2)}
    assert stale == {("nba_precompute/player_daily_cache", d) for d in later}


def test_ranges():
    d = dt.date.fromisoformat
    assert ranges(["2025-01-03", "2025-01-01", "2025-01-02", "2025-01-05"]) == [
        (d("2025-01-01"), d("2025-01-03")),
        (d("2025-01-05"), d("2025-01-05")),
    ]


def _materialized_by(instance, run_id: str) -> set[tuple[str, str]]:
    return {
        (e.dagster_event.asset_key.to_user_string(), e.dagster_event.partition)
        for e in instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
    }


def test_stale_lists_everything_backfill_rebuilds_and_backfill_rebuilds_exactly_that(
    league_copy, tmp_path, instance, monkeypatch, capfd
):
    """A rebuilt partition makes its direct readers stale, and rebuilding those makes theirs stale in
    turn: `stale` lists the whole downstream (told apart from the stale ones), and `--backfill`
    rebuilds exactly what it listed, after which nothing is stale."""
    import json

    from nba_pipeline.cli.drift import rebuild_plan
    from nba_pipeline.cli.main import main

    defs, first = _three_dates_built_then_one_summary_rebuilt(league_copy, tmp_path, instance)
    stale = {(s.asset, s.partition) for s in stale_partitions(defs, instance)}
    plan = rebuild_plan(defs, instance)
    listed = {(r.asset, r.partition): r for r in plan.partitions}
    assert {k for k, r in listed.items() if r.stale} == stale
    # what reads a stale partition is rebuilt too: the composite factors read the daily cache, whose
    # later dates read the rebuilt summary; the feature store reads the factors
    later = [str(first + dt.timedelta(days=i)) for i in (1, 2)]
    for d in later:
        assert ("nba_precompute/player_daily_cache", d) in stale
        for asset in ("nba_precompute/player_composite_factors", "nba_precompute/ml_feature_store"):
            assert (asset, d) not in stale and not listed[(asset, d)].stale
            assert listed[(asset, d)].reason.startswith("reads rebuilt nba_precompute/")

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("NBA_RAW_DIR", str(league_copy[0]))
    monkeypatch.setenv("NBA_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("NBA_EXPORTS_DIR", str(tmp_path / "exports"))
    capfd.readouterr()
    assert main(["stale", "--json"]) == 0
    doc = json.loads(capfd.readouterr().out)
    assert doc["stale_partitions"] == len(stale) and doc["rebuilt_partitions"] == len(listed)
    feature_store = next(a for a in doc["rebuild"] if a["asset"] == "nba_precompute/ml_feature_store")
    assert {g["why"] for g in feature_store["groups"]} == {"upstream rebuilt"}

    assert main(["stale"]) == 0
    text = capfd.readouterr().out
    assert text.startswith(f"{len(stale)} stale partition(s), and {len(listed) - len(stale)} more that read them;")
    assert f"  nba_precompute/ml_feature_store: 2 ({later[0]} .. {later[1]})" in text
    assert f"      upstream rebuilt: 2 ({later[0]} .. {later[1]}): reads rebuilt nba_precompute/" in text

    before = {r.dagster_run.run_id for r in instance.get_run_records()}
    assert main(["stale", "--backfill"]) == 0
    runs = [r.dagster_run.run_id for r in instance.get_run_records() if r.dagster_run.run_id not in before]
    assert len(runs) == len(plan.runs)
    rebuilt = set().union(*(_materialized_by(instance, r) for r in runs))
    assert rebuilt == set(listed)
    assert stale_partitions(defs, instance) == []


def test_partitions_before_the_first_season_are_never_stale(league_copy, tmp_path, instance):
    """An instance built when the partitions started earlier (the old 2021-10-01, or an earlier
    NBA_FIRST_SEASON) keeps those materializations: they are not partitions any more, so `stale`
    neither lists them nor plans a run for them (a run could not target them)."""
    from nba_pipeline.cli.drift import rebuild_plan

    raw, summary = league_copy
    start, end = first_game_dates(summary, 2)
    defs = make_defs(raw, tmp_path / "w.duckdb")
    assert run_backfill(defs, instance, start, end, "group:nba_raw", progress=None).success
    schedule = dg.AssetKey(["nba_raw", "schedule"])
    for day in ("2020-12-25", "2023-11-01"):  # before the partitions, 2024-10-01 here (conftest)
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=schedule, partition=day, tags={"dagster/code_version": "0"})
        )
    assert {"2020-12-25", "2023-11-01"} <= instance.get_materialized_partitions(schedule)

    assert stale_partitions(defs, instance) == []
    plan = rebuild_plan(defs, instance)
    assert (plan.partitions, plan.runs) == ([], [])
    # a partition of the same asset by that old code is stale, as ever
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=schedule, partition=str(start), tags={"dagster/code_version": "0"})
    )
    stale = stale_partitions(defs, instance)
    assert ("nba_raw/schedule", str(start)) in {(s.asset, s.partition) for s in stale}
    assert {s.partition for s in stale} == {str(start)}
