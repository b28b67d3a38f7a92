"""No leakage: changing a game's result on date D leaves every feature for D (and D's upcoming
contexts) unchanged, and changes features of later dates.

A synthetic season is backfilled through every layer; then one player's result in a game on D is
changed in the raw warehouse tables (player, team and schedule rows, kept consistent so every
check still passes) and analytics + precompute are re-materialized for D .. D' (D' = that player's
next game date). Tables are compared before and after.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from nba_pipeline.cli.runner import run_backfill
from nba_pipeline.core.history import season_start
from nba_pipeline_tests.conftest import dagster_instance_at, make_defs

FEATURE_TABLES = [
    "nba_analytics.upcoming_player_game_context",
    "nba_analytics.upcoming_team_game_context",
    "nba_precompute.player_daily_cache",
    "nba_precompute.player_shot_zone_analysis",
    "nba_precompute.team_defense_zone_analysis",
    "nba_precompute.player_composite_factors",
    "nba_precompute.ml_feature_store",
]
EXTRA_POINTS = 9  # three made threes


def _rows(db, table: str, day: dt.date) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        df = con.execute(f"SELECT * FROM {table} WHERE game_date = ?", [day]).df()
    keys = [c for c in ("game_id", "player_id", "team") if c in df.columns]
    return df.sort_values(keys).reset_index(drop=True)


def _change_result(db, day: dt.date) -> tuple[int, str, dt.date]:
    """Give the day's top scorer three more made threes, everywhere the result is recorded.
    Returns (player_id, game_id, the player's next game date)."""
    with duckdb.connect(str(db)) as con:
        player_id, game_id, team = con.execute(
            "SELECT player_id, game_id, team FROM nba_raw.player_boxscores WHERE game_date = ?"
            " ORDER BY points DESC, player_id LIMIT 1",
            [day],
        ).fetchone()
        (next_day,) = con.execute(
            "SELECT min(game_date) FROM nba_raw.player_boxscores WHERE player_id = ? AND game_date > ?",
            [player_id, day],
        ).fetchone()
        shots = "points = points + 9, fgm = fgm + 3, fga = fga + 3, fg3m = fg3m + 3, fg3a = fg3a + 3"
        con.execute(
            f"UPDATE nba_raw.player_boxscores SET {shots} WHERE game_id = ? AND player_id = ?", [game_id, player_id]
        )
        con.execute(f"UPDATE nba_raw.team_boxscores SET {shots} WHERE game_id = ? AND team = ?", [game_id, team])
        con.execute(
            "UPDATE nba_raw.schedule SET home_points = home_points + CASE WHEN home_team = ? THEN 9 ELSE 0 END,"
            " away_points = away_points + CASE WHEN away_team = ? THEN 9 ELSE 0 END WHERE game_id = ?",
            [team, team, game_id],
        )
    return player_id, game_id, next_day


@pytest.fixture(scope="module")
def changed(synthetic_league, tmp_path_factory):
    raw, summary = synthetic_league
    opening = dt.date.fromisoformat(summary["first_date"])
    day = opening + dt.timedelta(days=10)
    end = opening + dt.timedelta(days=20)
    home = tmp_path_factory.mktemp("leak_home")
    db = home / "warehouse.duckdb"
    defs = make_defs(raw, db)
    with dagster_instance_at(home) as instance:
        first = run_backfill(defs, instance, season_start(opening), end, progress=None)
        assert first.success, first.step_failures
        player_id, game_id, next_day = _change_result(db, day)
        assert next_day is not None and next_day <= end
        before = {
            (t, d): _rows(db, t, d)
            for t in [*FEATURE_TABLES, "nba_analytics.player_game_summary"]
            for d in (day, next_day)
        }
        rerun = run_backfill(
            defs, instance, day, next_day, select="group:nba_analytics or group:nba_precompute", progress=None
        )
        assert rerun.success, rerun.step_failures
        assert not [f for f in rerun.checks_failed if "(ERROR)" in f]
        after = {key: _rows(db, *key) for key in before}
        yield dict(
            day=day, next_day=next_day, player_id=player_id, game_id=game_id, before=before, after=after, rerun=rerun
        )


def test_the_changed_result_reached_the_days_facts(changed):
    """Sanity: the change is real (D's own facts moved), so unchanged features mean something."""
    key = ("nba_analytics.player_game_summary", changed["day"])
    b, a = changed["before"][key], changed["after"][key]
    row = lambda df: df[df["player_id"] == changed["player_id"]].iloc[0]  # noqa: E731
    assert row(a)["points"] == row(b)["points"] + EXTRA_POINTS
    assert row(a)["fg3m"] == row(b)["fg3m"] + 3
    dates = (changed["next_day"] - changed["day"]).days + 1
    assert changed["rerun"].materializations == 10 * dates  # all ten tables, every re-run date


@pytest.mark.parametrize("table", FEATURE_TABLES)
def test_features_of_the_day_are_unchanged(changed, table):
    b = changed["before"][(table, changed["day"])]
    a = changed["after"][(table, changed["day"])]
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)


def test_features_of_the_players_next_game_change(changed):
    table = "nba_precompute.ml_feature_store"
    b = changed["before"][(table, changed["next_day"])].set_index("player_id")
    a = changed["after"][(table, changed["next_day"])].set_index("player_id")
    pid = changed["player_id"]
    assert a.loc[pid, "points_avg_season"] > b.loc[pid, "points_avg_season"]
    assert a.loc[pid, "points_share_3pt"] > b.loc[pid, "points_share_3pt"]
    # and the league's defensive baseline moved for everyone playing that day
    zones = "nba_precompute.team_defense_zone_analysis"
    zb, za = changed["before"][(zones, changed["next_day"])], changed["after"][(zones, changed["next_day"])]
    assert (za["league_defensive_rating"] > zb["league_defensive_rating"]).all()
