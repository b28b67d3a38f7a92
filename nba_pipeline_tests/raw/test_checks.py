"""The raw checks' evaluators, per partition, on tiny frames: each fails exactly where it should."""

import pandas as pd

from nba_pipeline.raw.checks import (
    final_games_have_scores,
    lines_valid,
    odds_cover_schedule,
    player_rows_cover_schedule,
    props_names_matched,
)

DAYS = ["2024-11-01", "2024-11-02", "2024-11-03"]


def _schedule():
    return pd.DataFrame(
        {
            "game_date": pd.to_datetime(["2024-11-01", "2024-11-01", "2024-11-02"]),
            "game_id": ["g1", "g2", "g3"],
            "home_team": ["BOS", "LAL", "MIA"],
            "away_team": ["NYK", "GSW", "CHI"],
            "status": ["final"] * 3,
            "home_points": pd.array([100, 99, 90], dtype="Int64"),
            "away_points": pd.array([95, 99, None], dtype="Int64"),
            "player_stats_expected": [True, True, False],
        }
    )


def test_final_games_have_scores():
    out = final_games_have_scores(_schedule(), DAYS)
    assert not out["2024-11-01"].passed and out["2024-11-01"].metadata["games_without_a_result"].value == [["g2"]]
    assert not out["2024-11-02"].passed  # a missing away score
    assert out["2024-11-03"].passed and out["2024-11-03"].metadata["final_games"] == 0


def test_player_rows_cover_schedule():
    players = pd.DataFrame(
        {
            "game_date": pd.to_datetime(["2024-11-01"] * 3 + ["2024-11-02"]),
            "game_id": ["g1", "g1", "g2", "g3"],
            "team": ["BOS", "NYK", "LAL", "MIA"],
        }
    )
    out = player_rows_cover_schedule(players, _schedule(), DAYS)
    day1 = out["2024-11-01"]
    assert not day1.passed and day1.metadata["team_games_without_players"].value == [["g2", "GSW"]]
    # g3's season type has no player feed: its rows are unexpected, and it is not counted missing
    day2 = out["2024-11-02"]
    assert not day2.passed and day2.metadata["unexpected_team_games"].value == [["g3", "MIA"]]
    assert day2.metadata["games_not_covered_by_player_feeds"] == 1
    assert out["2024-11-03"].passed


def test_props_names_matched():
    props = pd.DataFrame(
        {
            "game_date": pd.to_datetime(["2024-11-01"] * 20 + ["2024-11-02"] * 10),
            "player_id": pd.array([1] * 19 + [None] + [1] * 8 + [None, None], dtype="Int64"),
            "odds_player_name": ["A"] * 19 + ["Herb Jones"] + ["A"] * 8 + ["Nic Claxton", "Herb Jones"],
        }
    )
    out = props_names_matched(props, DAYS)
    assert out["2024-11-01"].passed and out["2024-11-01"].metadata["unmatched_share"] == 0.05
    assert not out["2024-11-02"].passed
    assert out["2024-11-02"].metadata["unmatched_names"].value == ["Herb Jones", "Nic Claxton"]
    assert out["2024-11-03"].passed and out["2024-11-03"].metadata["rows"] == 0


def test_odds_cover_schedule():
    odds = pd.DataFrame(
        {"game_date": pd.to_datetime(["2024-11-01", "2024-11-01", "2024-11-02"]), "game_id": ["g1", None, "g3"]}
    )
    out = odds_cover_schedule(odds, _schedule(), DAYS)
    day1 = out["2024-11-01"]
    assert not day1.passed and day1.metadata["games_without_odds"].value == [["g2"]]
    assert day1.metadata["games_with_odds"] == 1 and day1.metadata["rows_not_matched_to_a_game"] == 1
    assert out["2024-11-02"].passed and out["2024-11-03"].passed


def test_lines_valid():
    dropped = pd.DataFrame(
        {
            "game_date": pd.to_datetime(["2024-11-02", "2024-11-02"]),
            "file": ["raw_20241102_170000.csv"] * 2,
            "line": [12, 40],
            "market": ["player_rebounds", "player_threes"],
            "value": [55.5, 0.0],
        }
    )
    out = lines_valid(dropped, DAYS)
    assert out["2024-11-01"].passed and out["2024-11-01"].metadata["lines_dropped"] == 0
    day2 = out["2024-11-02"]
    assert not day2.passed and day2.metadata["lines_dropped"] == 2
    assert day2.description == (
        "2024-11-02: 2 quote(s) with a line outside their market's range dropped, e.g. "
        "raw_20241102_170000.csv line 12 player_rebounds 55.5; raw_20241102_170000.csv line 40 player_threes 0.0"
    )
    assert all(o.passed for o in lines_valid(dropped.iloc[:0], DAYS).values())
