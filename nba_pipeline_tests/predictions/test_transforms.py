"""The predictions layer's pure parts: training window, fitted distribution, grading rules."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from nba_pipeline.precompute import tables as precompute
from nba_pipeline.predictions import model, tables, transforms


def _features(days: list[dt.date], players: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature rows and results where points ~ Poisson(avg): the regressor has signal to find."""
    rng = np.random.default_rng(seed)
    skill = rng.uniform(4, 28, players)
    rows, results = [], []
    for d in days:
        for p in range(players):
            f = {name: np.nan for name in precompute.FEATURES}
            f.update(
                points_avg_last10=skill[p] + rng.normal(0, 1),
                points_avg_season=skill[p] + rng.normal(0, 0.5),
                minutes_avg_last10=15 + skill[p],
                is_home=float(p % 2),
                points_std_recent20=4.0,
            )
            rows.append(
                {
                    "game_date": pd.Timestamp(d),
                    "game_id": f"00225{d:%m%d}{p % 5:02d}"[:10],
                    "season": "2025-26",
                    "player_id": p,
                    "player_name": f"P{p}",
                    "team": "AAA",
                    "opponent": "BBB",
                    "feature_version": precompute.FEATURE_VERSION,
                    **f,
                }
            )
            results.append({"game_date": pd.Timestamp(d), "player_id": p, "points": int(rng.poisson(skill[p]))})
    return pd.DataFrame(rows), pd.DataFrame(results)


def test_training_cutoff_is_the_monday_of_the_served_week():
    assert model.training_cutoff(dt.date(2025, 11, 3)) == dt.date(2025, 11, 3)  # a Monday
    assert model.training_cutoff(dt.date(2025, 11, 9)) == dt.date(2025, 11, 3)  # its Sunday


def test_fit_uses_only_dates_before_the_cutoff_and_predicts_a_calibrated_distribution():
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(60)]
    features, results = _features(days, players=80)
    train = model.training_frame(features, results)
    cutoff = dt.date(2025, 2, 10)
    m = model.fit(train, cutoff, "ridge")
    assert m.metrics["training_end"] == "2025-02-09" and m.version == f"ridge-{model.MODEL_CODE_VERSION}-2025-02-10"
    # poisoning every date from the cutoff on changes nothing
    poisoned = train.assign(
        actual_points=np.where(train["game_date"] >= pd.Timestamp(cutoff), 99, train["actual_points"])
    )
    assert model.fit(poisoned, cutoff, "ridge").to_json() == m.to_json()
    # the fit finds the signal and beats the noisy last-10 average on later dates
    later = train[train["game_date"] >= pd.Timestamp(cutoff)]
    mean = m.mean(later)
    assert (
        np.abs(later["actual_points"] - mean).mean()
        < np.abs(later["actual_points"] - later["points_avg_last10"]).mean()
    )
    # calibration: over a line at each prediction, about half go over, and P(over) falls with the line
    y = later["actual_points"].to_numpy()
    lines = np.floor(mean) + 0.5
    p = m.prob_over(mean, lines)
    assert abs(p.mean() - (y > lines).mean()) < 0.05
    assert np.all(np.diff(m.prob_over(np.full(5, 15.0), np.array([5.5, 10.5, 15.5, 20.5, 25.5]))) < 0)
    # the JSON round trip predicts the same
    again = model.PointsModel.from_json(m.to_json())
    assert np.array_equal(again.mean(later), mean)


def test_too_little_history_is_a_reason_not_a_model():
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(20)]
    features, results = _features(days, players=10)
    out = model.fit_weekly(model.training_frame(features, results), [dt.date(2025, 1, 22)], "ridge")
    assert isinstance(out[dt.date(2025, 1, 22)], str) and "too little history" in out[dt.date(2025, 1, 22)]


def test_market_pooling():
    m = model.PointsModel("ridge", "2025-01-01", "v2", [], {}, (3.0, 0.2), [-3, 0, 3], 0.25, 0.5)
    line = np.array([20.5, np.nan])
    assert m.blend_points(np.array([24.5, 24.5]), line).tolist() == [21.5, 24.5]
    pooled = m.blend_prob(np.array([0.7, 0.7]), np.array([0.5, np.nan]))
    assert 0.5 < pooled[0] < 0.7 and pooled[1] == 0.7


def _prediction(**kw) -> dict:
    base = {
        "game_date": pd.Timestamp("2025-11-01"),
        "game_id": "0022500100",
        "player_id": 1,
        "player_name": "A",
        "team": "AAA",
        "line": 20.5,
        "line_source": "sportsbook",
        "predicted_points": 22.0,
        "p_over": 0.6,
        "books_p_over": 0.5,
        "recommendation": "OVER",
        "model_version": "ridge-1-2025-10-27",
    }
    return {**base, **kw}


def test_grading_rules():
    preds = pd.DataFrame(
        [
            _prediction(player_id=1),  # over, won
            _prediction(player_id=2, recommendation="UNDER"),  # over, lost
            _prediction(player_id=3, line=20.0),  # exactly 20: push
            _prediction(player_id=4),  # did not play: void
            _prediction(player_id=5, recommendation="PASS"),
            _prediction(player_id=6, game_id="0022500101"),  # game not final: not graded yet
        ]
    )
    results = pd.DataFrame({"game_id": "0022500100", "player_id": [1, 2, 3, 5], "points": [25, 25, 20, 3]})
    schedule = pd.DataFrame({"game_id": ["0022500100", "0022500101"], "status": ["final", "scheduled"]})
    g = transforms.grade(preds, results, schedule).set_index("player_id")
    tables.prediction_accuracy.validate(g.reset_index(), ["2025-11-01"])
    assert list(g.index) == [1, 2, 3, 4, 5]
    assert g["outcome"].tolist() == ["OVER", "OVER", "PUSH", "VOID", "UNDER"]
    assert g["bet_result"].tolist() == ["WIN", "LOSS", "PUSH", "VOID", "NO_BET"]
    assert g["profit_units"].tolist() == [pytest.approx(100 / 110, abs=1e-4), -1.0, 0.0, 0.0, 0.0]
    assert g.loc[1, "absolute_error"] == 3.0 and pd.isna(g.loc[4, "absolute_error"]) and not g.loc[4, "played"]


def test_predictions_recommend_only_sportsbook_lines_beyond_the_vig():
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(60)]
    features, results = _features(days, players=100)
    train = model.training_frame(features, results)
    day = pd.Timestamp("2025-02-12")
    m = model.fit(train, model.training_cutoff(day.date()), "ridge")
    f = features[features["game_date"] == day].copy()
    f.loc[f.index[:20], "points_line"] = f["points_avg_season"].iloc[:20].round() + 0.5
    f.loc[f.index[:20], ["points_line_books", "points_line_over_prob"]] = [3, 0.5]
    f.loc[f.index[30], "minutes_avg_last10"] = 5.0  # bench player without a line: not eligible
    ctx = f[["game_date", "player_id"]].assign(
        start_time_utc=pd.Timestamp("2025-02-13 00:30", tz="UTC"),
        line_snapshot_time=pd.Timestamp("2025-02-12 17:00", tz="UTC"),
    )
    out = transforms.player_points_predictions(f, ctx, {day: m})
    tables.player_points_predictions.validate(out, ["2025-02-12"])
    assert len(out) == 99 and f.loc[f.index[30], "player_id"] not in set(out["player_id"])
    est = out[out["line_source"] == "estimated"]
    assert len(est) == 79 and (est["recommendation"] == "PASS").all() and (est["books"] == 0).all()
    bets = out[out["recommendation"] != "PASS"]
    assert 0 < len(bets) < 20
    assert (bets["edge"] > 0).all() and (bets["line_source"] == "sportsbook").all()
    sb = out[out["line_source"] == "sportsbook"]
    assert ((sb["edge"] <= 0) == (sb["recommendation"] == "PASS")).all()
    assert (out["confidence"] - tables.BREAK_EVEN - out["edge"]).abs().max() < 1e-3
