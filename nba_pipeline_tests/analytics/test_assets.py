"""The analytics assets as wired: what their steps require comes from their inputs (issue 17)."""

from __future__ import annotations

from nba_pipeline.cli.runner import run_backfill
from nba_pipeline.core.history import season_start
from nba_pipeline_tests.conftest import first_game_dates, make_defs


def test_an_input_only_the_checks_read_must_exist_too(league_copy, tmp_path, instance):
    """The player context's roster check reads the date's team context. Built without it, the
    check found no team to cover and passed; now the step refuses to run, naming it."""
    raw, summary = league_copy
    day, _ = first_game_dates(summary, 1)
    defs = make_defs(raw, tmp_path / "w.duckdb")
    assert run_backfill(defs, instance, season_start(day), day, "group:nba_raw", progress=None).success
    # the team context of the season's first date only: its table exists, without the day's rows
    first = season_start(day)
    assert run_backfill(
        defs, instance, first, first, "key:nba_analytics/upcoming_team_game_context", progress=None
    ).success
    # the day's quotes, the context's other same-date input
    assert run_backfill(defs, instance, day, day, "key:nba_analytics/player_prop_quotes", progress=None).success
    run = run_backfill(defs, instance, day, day, "key:nba_analytics/upcoming_player_game_context", progress=None)
    assert not run.success
    (failure,) = run.step_failures
    assert (
        f"its same-date input needs 1 partition(s) of nba_analytics/upcoming_team_game_context that were never "
        f"materialized: {day}; affected game dates: {day}. Nothing was written."
    ) in failure, failure
