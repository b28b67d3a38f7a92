"""A real game day replayed with the daemon running everything (issue 5's "simulated game day with
no manual step"): `dagster-daemon run` under a clock set to 2025-11-05, the world's files changed
at morning, noon and night, and nothing else done by hand.

Slow (about six minutes: a two-season history backfill, then three daemon stages that each wait
for Dagster's own sensor intervals), so it runs once, as one test."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from nba_pipeline.exports.report import read_report
from nba_pipeline_dev.replay import faketime_library, format_runs, replay_game_day
from nba_pipeline_tests.conftest import REAL_DATA, needs_real_data

DAY = dt.date(2025, 11, 5)

pytestmark = [
    needs_real_data,
    pytest.mark.skipif(
        faketime_library() is None,
        reason="libfaketime not installed (Debian package 'libfaketime'; .ci/run installs it)",
    ),
]


def test_a_game_day_runs_itself(tmp_path):
    result = replay_game_day(REAL_DATA, tmp_path, DAY, timeout=600, say=print)
    table = format_runs(result.runs)
    print(table)

    # nothing was started by hand, and nothing failed
    assert result.runs and not result.manual_runs, table
    assert all(r["status"] == "SUCCESS" for r in result.runs), table
    by = {r["launched_by"] for r in result.runs}
    assert {"sensor raw_data_sensor", "schedule morning_predictions", "sensor pipeline_automation"} <= by, table
    # the schedule named today's key, the sensors only dates of the watch window (incident 10)
    assert {r["partition"] for r in result.runs if r["launched_by"].startswith("schedule")} == {DAY.isoformat()}
    for r in result.runs:  # a key, or a range 'first..last' when automation ran two dates at once
        for key in r["partition"].split(".."):
            assert DAY - dt.timedelta(days=6) <= dt.date.fromisoformat(key) <= DAY + dt.timedelta(days=1), table

    # the daemon's first tick rebuilt none of the week the setup backfill built from the same rows
    first_raw = [r for r in result.runs if r["launched_by"] == "sensor raw_data_sensor"][0]
    assert first_raw["partition"] == DAY.isoformat(), table

    # noon: the day's best bets, from the snapshot taken before tip-off, and its report page
    bets = json.loads((tmp_path / "exports" / "best_bets" / f"{DAY}.json").read_text())
    assert bets["predictions"] > 0, bets
    for pick in bets["picks"]:
        assert pick["line_snapshot_time"] < pick["game_start_time"]
    page = read_report((tmp_path / "exports" / "report" / f"{DAY}.html").read_text())
    assert not isinstance(page, str), page
    assert [p.player_id for p in page.data.picks] == [p["player_id"] for p in bets["picks"]]
    assert page.data.record_through == DAY - dt.timedelta(days=1) and page.plots == ["profit", "markets", "mae"]

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as db:
        # night: every prediction of the day graded (those who did not play as such), and the
        # next day's slate built on the day's results
        graded = db.sql(
            f"select count(*) from nba_predictions.prediction_accuracy where game_date = '{DAY}'"
        ).fetchone()[0]
        predicted = db.sql(
            f"select count(*) from nba_predictions.player_prop_predictions where game_date = '{DAY}'"
        ).fetchone()[0]
        played = db.sql(
            f"""select count(*) from nba_predictions.player_prop_predictions p
                join nba_analytics.player_game_summary s using (game_date, player_id)
                where p.game_date = '{DAY}'"""
        ).fetchone()[0]
        # (its features: its predictions wait for its odds, which the night does not have yet)
        tomorrow = db.sql(
            f"select count(*) from nba_precompute.ml_feature_store where game_date = '{DAY + dt.timedelta(days=1)}'"
        ).fetchone()[0]
        summary = db.sql(
            f"select graded from nba_exports.performance_summary where game_date = '{DAY}' and period = 'day'"
            " and market = 'all'"
        ).fetchone()
    assert graded == predicted > played > 0
    assert tomorrow > 0
    assert summary is not None and summary[0] > 0
