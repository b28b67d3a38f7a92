"""Reconciliation checks between tables that state the same fact: each passes on consistent frames
and fails, naming the partition, the row and the column, when one side is flipped (the class of
bug that gave every 2025-26 game the wrong winner)."""

import pandas as pd

from nba_pipeline.analytics.checks import team_context_mirrors
from nba_pipeline.raw.checks import player_sides_match_schedule, plus_minus_matches_players, team_rows_match_schedule

DAYS = ["2025-10-21", "2025-10-22"]


def _schedule():
    return pd.DataFrame(
        {
            "game_date": pd.to_datetime(["2025-10-21", "2025-10-22"]),
            "game_id": ["0022500001", "0022500003"],
            "home_team": ["OKC", "BOS"],
            "away_team": ["HOU", "NYK"],
            "status": ["final", "final"],
            "home_points": pd.array([125, 100], dtype="Int64"),
            "away_points": pd.array([124, 101], dtype="Int64"),
        }
    )


def _teams():
    return pd.DataFrame(
        {
            "game_date": pd.to_datetime(["2025-10-21"] * 2 + ["2025-10-22"] * 2),
            "game_id": ["0022500001"] * 2 + ["0022500003"] * 2,
            "team": pd.array(["OKC", "HOU", "BOS", "NYK"], dtype="string"),
            "opponent": pd.array(["HOU", "OKC", "NYK", "BOS"], dtype="string"),
            "is_home": pd.array([True, False, True, False], dtype="boolean"),
            "win": pd.array([True, False, False, True], dtype="boolean"),
            "points": pd.array([125, 124, 100, 101], dtype="Int64"),
            "plus_minus": [1.0, -1.0, -1.0, 1.0],
        }
    )


def test_team_rows_match_schedule_passes_on_consistent_tables():
    out = team_rows_match_schedule(_teams(), _schedule(), DAYS)
    assert all(o.passed for o in out.values())
    assert out["2025-10-21"].metadata["team_games_compared"] == 2


def test_a_flipped_score_fails_its_date_only_naming_game_team_and_column():
    sched = _schedule()
    # the old bug: the missing side scored points PLUS plus/minus
    sched.loc[0, "home_points"] = 123
    out = team_rows_match_schedule(_teams(), sched, DAYS)
    assert out["2025-10-22"].passed
    bad = out["2025-10-21"]
    assert not bad.passed
    assert bad.metadata["disagreements_by_column"].value == {"plus_minus": 2, "points": 1, "win": 2}
    assert ["0022500001", "OKC", "points", "125.0", "123.0"] in bad.metadata["examples"].value
    assert bad.description.startswith("2025-10-21: 5 disagreement(s)")


def test_flipped_sides_fail():
    teams = _teams()
    teams.loc[2, "is_home"], teams.loc[3, "is_home"] = False, True
    teams.loc[1, "opponent"] = "BOS"
    out = team_rows_match_schedule(teams, _schedule(), DAYS)
    assert out["2025-10-21"].metadata["disagreements_by_column"].value == {"opponent": 1}
    assert out["2025-10-22"].metadata["disagreements_by_column"].value == {"is_home": 2}


def test_team_summaries_without_plus_minus_are_compared_on_the_rest():
    teams = _teams().drop(columns=["plus_minus"])
    teams.loc[0, "win"] = False
    out = team_rows_match_schedule(teams, _schedule(), DAYS)
    assert out["2025-10-21"].metadata["disagreements_by_column"].value == {"win": 1}


def _players(sign: float = 1.0):
    # five players a side; their plus/minus sums to 5 x the team's margin
    rows = []
    for t, (team, margin) in enumerate([("OKC", 1), ("HOU", -1)]):
        for i, pm in enumerate([3, 2, 1, -1, 0]):
            rows.append(
                {
                    "game_date": pd.Timestamp("2025-10-21"),
                    "game_id": "0022500001",
                    "team": team,
                    "player_id": 100 * t + i,
                    "plus_minus": sign * margin * (pm + 0.0),
                    "opponent": "HOU" if team == "OKC" else "OKC",
                    "is_home": team == "OKC",
                }
            )
    return pd.DataFrame(rows).astype({"team": "string", "opponent": "string", "is_home": "boolean"})


def test_plus_minus_matches_players():
    teams = _teams()
    assert all(o.passed for o in plus_minus_matches_players(teams, _players(), DAYS).values())
    out = plus_minus_matches_players(teams, _players(sign=-1.0), DAYS)
    assert not out["2025-10-21"].passed and out["2025-10-21"].metadata["disagreements"] == 2
    assert out["2025-10-22"].passed  # no player rows there: nothing compared
    assert out["2025-10-22"].metadata["team_games_compared"] == 0


def test_player_sides_match_schedule():
    players = _players()
    assert all(o.passed for o in player_sides_match_schedule(players, _schedule(), DAYS).values())
    players.loc[0, "is_home"] = False
    players.loc[5, "team"] = "BOS"  # a team that does not play in the game
    out = player_sides_match_schedule(players, _schedule(), DAYS)
    assert out["2025-10-21"].metadata["disagreements_by_column"].value == {"is_home": 1, "team": 1}


def test_team_context_mirrors():
    ctx = pd.DataFrame(
        {
            "game_date": pd.to_datetime(["2025-10-21"] * 2),
            "game_id": ["0022500001"] * 2,
            "team": pd.array(["OKC", "HOU"], dtype="string"),
            "opponent": pd.array(["HOU", "OKC"], dtype="string"),
            "is_home": pd.array([True, False], dtype="boolean"),
            "spread": [-6.5, 6.5],
            "game_total": [224.0, 224.0],
            "implied_team_total": [115.25, 108.75],
        }
    )
    assert all(o.passed for o in team_context_mirrors(ctx, _schedule(), DAYS).values())
    wrong = ctx.assign(spread=[-6.5, -6.5], implied_team_total=[115.25, 115.25])  # the away side's sign lost
    out = team_context_mirrors(wrong, _schedule(), DAYS)
    assert out["2025-10-21"].metadata["disagreements_by_column"].value == {"implied_team_total": 2, "spread": 2}
    # a game without lines is not compared on lines
    unlined = ctx.assign(
        spread=[float("nan")] * 2, game_total=[float("nan")] * 2, implied_team_total=[float("nan")] * 2
    )
    assert team_context_mirrors(unlined, _schedule(), DAYS)["2025-10-21"].passed
