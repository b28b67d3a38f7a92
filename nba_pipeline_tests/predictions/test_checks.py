"""The predictions checks fail on the cases they exist for."""

import numpy as np
import pandas as pd

from nba_pipeline.predictions import checks as checks
from nba_pipeline.predictions import model

DAY = "2025-11-01"
TS = pd.Timestamp(DAY)


def _pred(rows) -> pd.DataFrame:
    base = {
        "game_date": TS,
        "game_id": "0022500100",
        "player_id": 1,
        "market": "player_threes",
        "line_source": "sportsbook",
        "game_start_time": pd.Timestamp("2025-11-01 23:00", tz="UTC"),
        "line_snapshot_time": pd.Timestamp("2025-11-01 17:00", tz="UTC"),
        "line": 1.5,
        "books": 2,
        "books_p_over": 0.5,
        "recommendation": "OVER",
        "bet_bookmaker": "b",
        "bet_line": 1.5,
        "bet_odds": 120.0,
        "ev": 0.1,
        "best_ev": 0.1,
        "ev_threshold": 0.03,
    }
    return pd.DataFrame([{**base, **r} for r in rows])


def _quotes() -> pd.DataFrame:
    base = {"game_date": TS, "player_id": 1, "market": "player_threes", "main_line": True}
    snap = pd.Timestamp("2025-11-01 17:00", tz="UTC")
    return pd.DataFrame(
        [
            {**base, "bookmaker": "a", "line": 1.5, "over_odds": -110.0, "under_odds": -110.0, "over_prob_no_vig": 0.5},
            {**base, "bookmaker": "b", "line": 1.5, "over_odds": 120.0, "under_odds": -150.0, "over_prob_no_vig": 0.5},
            {**base, "bookmaker": "b", "line": 2.5, "over_odds": 300.0, "under_odds": -400.0, "main_line": False},
        ]
    ).assign(snapshot_time=snap)


def _prices() -> pd.DataFrame:
    q = _quotes()
    return q.assign(
        p_over=[0.5, 0.5, 0.2],
        p_under=[0.5, 0.5, 0.8],
        p_push=0.0,
        ev_over=[-0.05, 0.1, -0.2],
        ev_under=[-0.05, -0.17, -0.0],
    )


def test_a_snapshot_at_or_after_tip_off_fails_its_date():
    tip = pd.Timestamp("2025-11-01 23:00", tz="UTC")
    pred = _pred([{"player_id": 1}, {"player_id": 2, "line_snapshot_time": tip}])
    out = checks.lines_before_tip_off(pred, [DAY, "2025-11-02"])
    assert not out[DAY].passed and out["2025-11-02"].passed
    assert out[DAY].metadata["snapshot_at_or_after_tip_off"] == 1
    assert checks.lines_before_tip_off(pred.iloc[:1], [DAY])[DAY].passed


def test_every_market_needs_its_model():
    slate = pd.DataFrame({"game_date": [TS, TS]})
    models = pd.DataFrame({"game_date": [TS] * 5})
    assert checks.models_for_every_game_date(models, slate, [DAY])[DAY].passed
    out = checks.models_for_every_game_date(models.iloc[:4], slate, [DAY])[DAY]
    assert not out.passed and "4 of 5 market models" in out.description


def test_the_lined_player_markets_are_the_contexts_lines_on_dates_with_a_model():
    ctx = pd.DataFrame(
        {
            "game_date": [TS, TS],
            "player_id": [1, 2],
            **{f"{label}_line": [np.nan] * 2 for label in ("points", "rebounds", "assists", "pra")},
            "threes_line": [1.5, np.nan],
        }
    ).assign(points_line=[20.5, 10.5])
    models = pd.DataFrame({"game_date": [TS], "market": ["player_points"]})  # no threes model
    want = checks.lined_player_markets(ctx, models)
    assert sorted(map(tuple, want[["player_id", "market"]].to_numpy())) == [(1, "player_points"), (2, "player_points")]


def test_prices_must_be_the_quotes_and_sum_to_one():
    prices, quotes = _prices(), _quotes()
    prices = prices.assign(book_p_over=prices["over_prob_no_vig"])
    assert checks.prices_match_quotes(prices, quotes, [DAY])[DAY].passed
    assert checks.probabilities_sum_to_one(prices, [DAY])[DAY].passed
    moved = prices.copy()
    moved.loc[1, "over_odds"] = 125.0
    out = checks.prices_match_quotes(moved, quotes, [DAY])[DAY]
    assert not out.passed and "over_odds 1" in out.description
    out = checks.prices_match_quotes(prices.assign(book_p_over=0.4), quotes, [DAY])[DAY]
    assert not out.passed and "book_p_over 3" in out.description
    bad = prices.copy()
    bad.loc[0, "p_push"] = 0.05  # a half-point line cannot push, and the three no longer sum to 1
    assert not checks.probabilities_sum_to_one(bad, [DAY])[DAY].passed


def test_the_consensus_must_be_the_quotes_main_lines_read_through_the_model():
    quotes = _quotes()
    variance = (1.3, 0.05)
    models = pd.DataFrame(
        {
            "game_date": [TS],
            "market": ["player_threes"],
            "variance_per_mean": [1.3],
            "variance_per_mean_squared": [0.05],
        }
    )
    # both main quotes say 50% over 1.5: the mean at which the distribution says so
    implied = float(model.implied_means(np.array([0.5]), variance, np.array([1.5]))[0])
    assert 1.3 < implied < 2.0
    right = {"market_mean": round(implied, 6), "market_p_over": 0.5}
    assert checks.consensus_matches_quotes(_pred([right]), quotes, models, [DAY])[DAY].passed
    out = checks.consensus_matches_quotes(_pred([{**right, "line": 2.5, "books": 3}]), quotes, models, [DAY])[DAY]
    assert not out.passed and "line 1" in out.description and "books 1" in out.description
    out = checks.consensus_matches_quotes(_pred([{**right, "market_mean": implied + 0.1}]), quotes, models, [DAY])[DAY]
    assert not out.passed and "market_mean 1" in out.description
    out = checks.consensus_matches_quotes(_pred([{**right, "market_p_over": 0.52}]), quotes, models, [DAY])[DAY]
    assert not out.passed and "market_p_over 1" in out.description


def test_a_quotes_market_probability_is_its_predictions_implied_mean_read_at_its_line():
    variance = (1.3, 0.05)
    models = pd.DataFrame(
        {
            "game_date": [TS],
            "market": ["player_threes"],
            "variance_per_mean": [1.3],
            "variance_per_mean_squared": [0.05],
        }
    )
    prices = _prices().assign(book_p_over=lambda d: d["over_prob_no_vig"])
    read = model.over_given_decided(np.full(3, 1.8), variance, prices["line"].to_numpy(dtype="float64"))
    prices = prices.assign(market_p_over=read.round(4))
    pred = _pred([{"market_mean": 1.8}])
    assert checks.market_probabilities_match_predictions(prices, pred, models, [DAY])[DAY].passed
    off = prices.assign(market_p_over=prices["market_p_over"] + [0.0, 0.0, 0.01])
    out = checks.market_probabilities_match_predictions(off, pred, models, [DAY])[DAY]
    assert not out.passed and "market_p_over 1" in out.description
    # no implied mean: the quote's own no-vig, and nothing else
    no_mean = _pred([{"market_mean": np.nan}])
    assert not checks.market_probabilities_match_predictions(prices, no_mean, models, [DAY])[DAY].passed
    own = prices.assign(market_p_over=prices["book_p_over"])
    assert checks.market_probabilities_match_predictions(own, no_mean, models, [DAY])[DAY].passed


def test_a_recommendation_must_be_the_best_stored_price_clearing_the_threshold():
    prices = _prices()
    assert checks.recommendations_are_best_prices(_pred([{}]), prices, [DAY])[DAY].passed
    for wrong in (
        {"bet_bookmaker": "a", "bet_odds": -110.0, "ev": -0.05},  # not the best price
        {"bet_odds": 130.0},  # not the stored price
        {"recommendation": "PASS", "bet_bookmaker": None, "bet_line": np.nan, "bet_odds": np.nan, "ev": np.nan},
        {"ev_threshold": 0.2},  # the best EV does not clear it: must PASS
    ):
        assert not checks.recommendations_are_best_prices(_pred([wrong]), prices, [DAY])[DAY].passed, wrong
