"""The exports layer's pure parts: which picks a best-bets file holds, what it says about them,
and the performance summary's arithmetic over its periods."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from nba_pipeline.exports import files, transforms
from nba_pipeline.exports.tables import PERIODS, performance_summary
from nba_pipeline.precompute import tables as precompute
from nba_pipeline.predictions import tables as predictions

DAY = pd.Timestamp("2025-11-01")
NOW = dt.datetime(2025, 11, 1, 16, 0, tzinfo=dt.UTC)


def _prediction(player_id: int, edge: float, rec: str = "OVER", source: str = "sportsbook", day=DAY, **kw) -> dict:
    p_over = predictions.BREAK_EVEN + edge if rec == "OVER" else 1 - predictions.BREAK_EVEN - edge
    row = {
        "game_date": day,
        "game_id": "0022500100",
        "player_id": player_id,
        "player_name": f"Player {player_id}",
        "team": "BOS",
        "opponent": "NYK",
        "game_start_time": pd.Timestamp(day.date().isoformat() + " 23:30", tz="UTC"),
        "predicted_points": 20.0,
        "model_points": 22.0,
        "predicted_spread": 5.0,
        "line": 19.5,
        "line_source": source,
        "books": 6 if source == "sportsbook" else 0,
        "line_snapshot_time": pd.Timestamp(day.date().isoformat() + " 17:00", tz="UTC")
        if source == "sportsbook"
        else pd.NaT,
        "p_over": p_over,
        "model_p_over": p_over,
        "books_p_over": 0.5 if source == "sportsbook" else np.nan,
        "recommendation": rec,
        "edge": edge,
        "confidence": predictions.BREAK_EVEN + edge,
        "model_version": "ridge-1-2025-10-27",
        "feature_version": precompute.FEATURE_VERSION,
    }
    return {**row, **kw}


def _features(pred: pd.DataFrame) -> pd.DataFrame:
    f = pred[["game_date", "player_id"]].copy()
    for name in transforms.REASONING_FEATURES:
        f[name] = np.nan
    return f.assign(
        points_avg_season=21.0,
        points_avg_last10=23.0,
        season_games_played=6.0,
        rest_days=1.0,
        back_to_back=0.0,
        is_home=1.0,
        opponent_defensive_rating_vs_league=0.031,
        minutes_trend=3.0,
    )


def test_top_picks_are_sportsbook_recommendations_by_edge_per_date():
    next_day = DAY + pd.Timedelta(days=1)
    pred = pd.DataFrame(
        [
            _prediction(1, 0.02),
            _prediction(2, 0.05, "UNDER"),
            _prediction(3, 0.04),
            _prediction(4, 0.09, source="estimated"),  # an estimated line is never a pick
            _prediction(5, -0.01, "PASS"),
            _prediction(6, 0.04),  # ties with 3: the lower player id ranks first
            _prediction(7, 0.01, day=next_day),
        ]
    )
    top = transforms.top_picks(pred, top_n=3)
    assert top[top["game_date"] == DAY][["player_id", "rank"]].values.tolist() == [[2, 1], [3, 2], [6, 3]]
    assert top[top["game_date"] == next_day]["player_id"].tolist() == [7]


def test_best_bets_file_per_date_carries_counts_reasoning_and_validates():
    pred = pd.DataFrame(
        [
            _prediction(1, 0.03),
            _prediction(2, 0.06, "UNDER"),
            _prediction(3, 0.0, "PASS"),
            _prediction(4, 0.0, "PASS", source="estimated"),
        ]
    )
    out = transforms.best_bets_files(
        pred, _features(pred), [DAY.date(), DAY.date() + dt.timedelta(days=1)], 10, NOW, "run-1"
    )
    first, empty = out["2025-11-01"], out["2025-11-02"]
    assert (first.predictions, first.candidates, [p.player_id for p in first.picks]) == (4, 2, [2, 1])
    assert first.model_versions == ["ridge-1-2025-10-27"] and first.run_id == "run-1"
    pick = first.picks[0]
    assert (pick.rank, pick.recommendation, pick.line, pick.books) == (1, "UNDER", 19.5, 6)
    assert pick.reasoning.points_avg_last10 == 23.0 and pick.reasoning.rest_days == 1 and pick.reasoning.is_home
    assert pick.reasoning.points_avg_last5 is None  # unknown stays null, never 0
    assert pick.summary.startswith("UNDER 19.5 (6 books): model 22.0 (+2.5 vs the line)")
    assert "NYK allow 3.1% more points per 100" in pick.summary and "minutes trend +3.0" in pick.summary
    # a date without games still gets its file: no picks is an answer, a missing file is not
    assert (empty.predictions, empty.picks, empty.model_versions) == (0, [], [])
    # what is written parses back against the declared schema unchanged
    text = first.model_dump_json(indent=2)
    assert files.BestBetsFile.model_validate_json(text) == first
    assert json.loads(text)["picks"][0]["reasoning"]["points_avg_last5"] is None


def test_top_n_bounds_the_picks():
    pred = pd.DataFrame([_prediction(i, 0.01 * i) for i in range(1, 8)])
    out = transforms.best_bets_files(pred, _features(pred), [DAY.date()], 3, NOW, "r")
    assert [p.player_id for p in out["2025-11-01"].picks] == [7, 6, 5] and out["2025-11-01"].candidates == 7


def test_the_days_picks_preview_as_a_markdown_table():
    """Shown on each best_bets partition's materialization in the UI (issue 16)."""
    pred = pd.DataFrame(
        [_prediction(1, 0.03), _prediction(2, 0.06, "UNDER", player_name="A | B*"), _prediction(3, 0.0, "PASS")]
    )
    out = transforms.best_bets_files(
        pred, _features(pred), [DAY.date(), DAY.date() + dt.timedelta(days=1)], 10, NOW, "r"
    )
    assert transforms.picks_markdown(out["2025-11-01"]).splitlines() == [
        "| # | player | game | pick | p(over) | edge | books |",
        "|--:|---|---|---|--:|--:|--:|",
        "| 1 | A \\| B\\* | BOS vs NYK | UNDER 19.5 | 0.42 | +0.060 | 6 |",  # a name cannot break the table
        "| 2 | Player 1 | BOS vs NYK | OVER 19.5 | 0.55 | +0.030 | 6 |",
    ]
    assert transforms.picks_markdown(out["2025-11-02"]) == (
        "No picks for 2025-11-02: 0 of 0 predictions were OVER/UNDER recommendations against a sportsbook line."
    )


def _graded(day: str, n: int, **kw) -> list[dict]:
    base = {
        "game_date": pd.Timestamp(day),
        "line_source": "sportsbook",
        "played": True,
        "line": 10.5,
        "p_over": 0.6,
        "books_p_over": 0.5,
        "recommendation": "OVER",
    }
    return [{**base, **kw} for _ in range(n)]


def _accuracy(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    y = df["actual_points"].astype("float64")
    df["absolute_error"] = np.where(df["played"], (y - df["predicted_points"]).abs(), np.nan)
    return df


def test_performance_summary_periods_and_metrics():
    # 2025-11-01: 2 wins (12 pts over 10.5), 1 loss (8 pts); 2025-10-20: 1 win; a void; a pass
    rows = [
        *_graded(
            "2025-11-01",
            2,
            actual_points=12,
            predicted_points=11.0,
            outcome="OVER",
            bet_result="WIN",
            profit_units=100 / 110,
        ),
        *_graded(
            "2025-11-01",
            1,
            actual_points=8,
            predicted_points=11.0,
            outcome="UNDER",
            bet_result="LOSS",
            profit_units=-1.0,
        ),
        *_graded(
            "2025-11-01",
            1,
            actual_points=None,
            predicted_points=11.0,
            played=False,
            outcome="VOID",
            bet_result="VOID",
            profit_units=0.0,
        ),
        *_graded(
            "2025-10-20",
            1,
            actual_points=14,
            predicted_points=13.0,
            outcome="OVER",
            bet_result="WIN",
            profit_units=100 / 110,
        ),
        *_graded(
            "2025-10-20",
            1,
            actual_points=10,
            predicted_points=9.0,
            outcome="UNDER",
            bet_result="NO_BET",
            recommendation="PASS",
            profit_units=0.0,
            p_over=0.45,
            line_source="estimated",
            books_p_over=None,
        ),
        # last season: outside every period of a 2025-26 date
        *_graded(
            "2025-04-10",
            3,
            actual_points=30,
            predicted_points=10.0,
            outcome="OVER",
            bet_result="LOSS",
            profit_units=-1.0,
        ),
    ]
    out = transforms.performance_summary(_accuracy(rows), [dt.date(2025, 11, 1), dt.date(2025, 10, 2)])
    s = out.set_index([out["game_date"].dt.strftime("%Y-%m-%d"), "period"])
    assert len(out) == 2 * len(PERIODS)
    performance_summary.validate(out)  # the declared schema accepts it
    day = s.loc[("2025-11-01", "day")]
    assert (day["graded"], day["played"], day["bets"], day["wins"], day["losses"]) == (4, 3, 3, 2, 1)
    assert day["mae"] == pytest.approx((1 + 1 + 3) / 3, abs=1e-4)
    assert day["line_mae"] == pytest.approx((1.5 + 1.5 + 2.5) / 3, abs=1e-4)
    assert day["hit_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert day["roi"] == pytest.approx((2 * 100 / 110 - 1) / 3, abs=1e-4)
    assert day["brier"] == pytest.approx((0.16 + 0.16 + 0.36) / 3, abs=1e-4) and day["books_brier"] == pytest.approx(
        0.25
    )
    assert json.loads(day["calibration"]) == [
        {"p_from": 0.6, "p_to": 0.7, "rows": 3, "mean_p_over": 0.6, "over_rate": 0.6667}
    ]
    # last7 starts Oct 26 (no Oct 20 game); last30 and the season reach it, never last season
    assert s.loc[("2025-11-01", "last7"), "wins"] == 2
    assert s.loc[("2025-11-01", "last30"), "period_start"] == pd.Timestamp("2025-10-03")
    season = s.loc[("2025-11-01", "season")]
    assert (season["period_start"], season["graded"], season["wins"], season["losses"]) == (
        pd.Timestamp("2025-10-01"),
        6,
        3,
        1,
    )
    assert season["mae"] == pytest.approx((1 + 1 + 3 + 1 + 1) / 5, abs=1e-4) and season["sportsbook_played"] == 4
    # a date before any grade: zero counts, null rates; last30 clipped to the season's start
    early = s.loc[("2025-10-02", "last30")]
    assert early["period_start"] == pd.Timestamp("2025-10-01") and early["graded"] == 0
    assert np.isnan(early["mae"]) and np.isnan(early["hit_rate"]) and early["calibration"] == "[]"


def test_performance_summary_of_no_grades_at_all():
    empty = predictions.prediction_accuracy.empty_frame()
    out = transforms.performance_summary(empty, [dt.date(2025, 10, 5)])
    assert out["graded"].tolist() == [0, 0, 0, 0] and out["roi"].isna().all()
