"""No leakage: changing a game's result on date D leaves every feature for D (and D's upcoming
contexts) unchanged, and changes features of later dates.

A synthetic season (with props in every market) is backfilled through raw, analytics and
precompute; then one player's result in a game on D is changed in the raw warehouse tables
(player, team and schedule rows, kept consistent so every check still passes): every stat a
feature is built from moves (points, shots, threes, rebounds, assists, so PRA and usage too).
Analytics + precompute are re-materialized for D .. D' (D' = that player's next game date) and
the tables compared before and after, every column of `FEATURES` on its own.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from nba_pipeline.cli.runner import run_backfill
from nba_pipeline.core.history import season_start
from nba_pipeline.precompute.tables import CACHE_STATS, FEATURES
from nba_pipeline_tests.conftest import dagster_instance_at, make_defs

STORE = "nba_precompute.ml_feature_store"
FEATURE_TABLES = [
    "nba_analytics.player_prop_quotes",
    "nba_analytics.upcoming_player_game_context",
    "nba_analytics.upcoming_team_game_context",
    "nba_precompute.player_daily_cache",
    "nba_precompute.player_shot_zone_analysis",
    "nba_precompute.team_defense_zone_analysis",
    "nba_precompute.player_composite_factors",
    STORE,
]
EXTRA_POINTS = 9  # three made threes
EXTRA_REB = EXTRA_AST = 2
# the player_daily_cache stats the change moves (usage: three more shots); minutes and FTA stay
MOVED_STATS = {"points", "fga", "fg3m", "fg3a", "reb", "ast", "pra", "usage_rate"}
assert MOVED_STATS <= set(CACHE_STATS)


def _rows(db, table: str, day: dt.date) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        df = con.execute(f"SELECT * FROM {table} WHERE game_date = ?", [day]).df()
    keys = [c for c in ("game_id", "player_id", "team") if c in df.columns]
    return df.sort_values(keys).reset_index(drop=True)


def _change_result(db, day: dt.date) -> tuple[int, str, dt.date]:
    """Give the day's top scorer three more made threes, two more rebounds and two more assists,
    everywhere the result is recorded. Returns (player_id, game_id, the player's next game date)."""
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
        shots = (
            "points = points + 9, fgm = fgm + 3, fga = fga + 3, fg3m = fg3m + 3, fg3a = fg3a + 3,"
            " dreb = dreb + 2, reb = reb + 2, ast = ast + 2"
        )
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
        first = run_backfill(
            defs,
            instance,
            season_start(opening),
            end,
            select="group:nba_raw or group:nba_analytics or group:nba_precompute",
            progress=None,
        )
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
    assert row(a)["pra"] == row(b)["pra"] + EXTRA_POINTS + EXTRA_REB + EXTRA_AST
    dates = (changed["next_day"] - changed["day"]).days + 1
    assert changed["rerun"].materializations == 11 * dates  # all eleven tables, every re-run date


@pytest.mark.parametrize("table", FEATURE_TABLES)
def test_features_of_the_day_are_unchanged(changed, table):
    b = changed["before"][(table, changed["day"])]
    a = changed["after"][(table, changed["day"])]
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("feature", list(FEATURES))
def test_no_feature_of_the_day_moves(changed, feature):
    """Every feature the model reads, on its own: D's values are what they were before D's result
    changed (and D has values of it, so the comparison compares something)."""
    b = changed["before"][(STORE, changed["day"])]
    a = changed["after"][(STORE, changed["day"])]
    assert a[feature].notna().any(), f"{feature} is null for every player on {changed['day']}"
    pd.testing.assert_series_equal(a[feature], b[feature])


def _stat_of(feature: str) -> str | None:
    """The player_daily_cache stat a window feature summarises (points_avg_last5 -> points)."""
    for stat in CACHE_STATS:
        if feature.startswith(f"{stat}_avg_") or feature.startswith(f"{stat}_std_"):
            return stat
    return None


@pytest.mark.parametrize("feature", [f for f in FEATURES if _stat_of(f) in MOVED_STATS])
def test_the_players_windows_move_at_his_next_game(changed, feature):
    """D's game is in every window of the player's next game: each window of a moved stat moves."""
    b = changed["before"][(STORE, changed["next_day"])].set_index("player_id")
    a = changed["after"][(STORE, changed["next_day"])].set_index("player_id")
    pid = changed["player_id"]
    assert pd.notna(b.loc[pid, feature]), feature
    assert a.loc[pid, feature] != pytest.approx(b.loc[pid, feature]), feature


@pytest.mark.parametrize("feature", [f for f in FEATURES if f.endswith("_allowed_vs_league")])
def test_the_leagues_allowance_moves_for_every_opponent_the_next_day(changed, feature):
    """What the league allowed per game includes D's game from the next date on: every player's
    opponent comparison to it moves."""
    b = changed["before"][(STORE, changed["next_day"])]
    a = changed["after"][(STORE, changed["next_day"])]
    known = b[feature].notna()
    assert known.any()
    assert (a.loc[known, feature] != b.loc[known, feature]).all()


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
