"""The exports layer's pure parts: which picks a best-bets file holds across the prop markets,
what it says about them, and the performance summary's arithmetic per market, period and over
all markets."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from nba_pipeline.exports import files, transforms
from nba_pipeline.exports.tables import MARKETS, PERIODS, performance_summary
from nba_pipeline.precompute import tables as precompute
from nba_pipeline.predictions import tables as predictions

DAY = pd.Timestamp("2025-11-01")
NOW = dt.datetime(2025, 11, 1, 16, 0, tzinfo=dt.UTC)
POINTS, REBOUNDS, ASSISTS, THREES, PRA = predictions.MARKET_STATS


def _prediction(
    player_id: int,
    ev: float | None,
    rec: str = "OVER",
    market: str = POINTS,
    day: pd.Timestamp = DAY,
    **kw,
) -> dict:
    """A player_prop_predictions row; a PASS has no bet."""
    bet = rec != "PASS"
    row = {
        "game_date": day,
        "game_id": "0022500100",
        "player_id": player_id,
        "player_name": f"Player {player_id}",
        "team": "NYK",
        "market": market,
        "opponent": "BOS",
        "game_start_time": pd.Timestamp(day.date().isoformat() + " 23:30", tz="UTC"),
        "predicted": 20.0,
        "model_mean": 22.0,
        "line": 19.5,
        "line_source": "sportsbook",
        "books": 6,
        "line_snapshot_time": pd.Timestamp(day.date().isoformat() + " 17:00", tz="UTC"),
        "p_over": 0.56,
        "p_push": 0.0,
        "model_p_over": 0.6,
        "books_p_over": 0.5,
        "recommendation": rec,
        "bet_bookmaker": "draftkings" if bet else None,
        "bet_line": 19.5 if bet else np.nan,
        "bet_odds": -110.0 if bet else np.nan,
        "bet_p_win": 0.56 if bet else np.nan,
        "ev": ev if bet else np.nan,
        "best_ev": ev if ev is not None else np.nan,
        "ev_threshold": predictions.DEFAULT_EV_THRESHOLD,
        "model_version": f"ridge-2-{market}-2025-10-27",
        "feature_version": precompute.FEATURE_VERSION,
    }
    return {**row, **kw}


def _features(pred: pd.DataFrame, **values) -> pd.DataFrame:
    """One ml_feature_store row per (date, player) of `pred`, every column the reasoning reads null
    unless given."""
    f = pred[["game_date", "player_id"]].drop_duplicates().reset_index(drop=True)
    for name in transforms.feature_columns():
        f[name] = np.nan
    return f.assign(**values)


# the brief's example, as the numbers a reader checks the sentence against
THREES_PICK = _prediction(
    7,
    0.0812,
    market=THREES,
    predicted=2.0,
    model_mean=2.3,
    line=1.5,
    p_over=0.58,
    books_p_over=0.5,
    bet_bookmaker="fanduel",
    bet_line=1.5,
    bet_odds=120.0,
    bet_p_win=0.58,
)
THREES_FEATURES = {
    "fg3m_avg_last10": 2.1,
    "fg3m_avg_season": 2.0,
    "fg3m_avg_last5": 2.4,
    "season_games_played": 12.0,
    "opponent_fg3m_allowed_vs_league": 0.06,
    "points_avg_season": 18.0,
    "opponent_defensive_rating_vs_league": -0.02,
    "rest_days": 1.0,
    "back_to_back": 0.0,
    "is_home": 1.0,
}


def test_top_picks_rank_recommendations_across_markets_by_ev_per_date():
    next_day = DAY + pd.Timedelta(days=1)
    pred = pd.DataFrame(
        [
            _prediction(1, 0.04),
            _prediction(2, 0.09, "UNDER", market=REBOUNDS),
            _prediction(3, 0.06, market=THREES),
            _prediction(5, 0.2, "PASS"),  # a PASS is never a pick, whatever its best EV
            _prediction(3, 0.06, market=ASSISTS),  # ties with player 3's threes: assists sorts first
            _prediction(1, 0.06, market=PRA),  # ties with player 3: the lower player id first
            _prediction(7, 0.01, day=next_day),
        ]
    )
    top = transforms.top_picks(pred, top_n=4)
    today = top[top["game_date"] == DAY]
    assert today[["player_id", "market", "rank"]].values.tolist() == [
        [2, REBOUNDS, 1],
        [1, PRA, 2],
        [3, ASSISTS, 3],
        [3, THREES, 4],
    ]
    assert top[top["game_date"] == next_day]["player_id"].tolist() == [7]


def test_a_pick_is_the_bet_at_its_book_with_the_consensus_beside_it():
    pred = pd.DataFrame(
        [
            _prediction(1, 0.035),
            THREES_PICK,
            _prediction(3, None, "PASS", market=REBOUNDS),
            _prediction(1, None, "PASS", market=ASSISTS),
        ]
    )
    out = transforms.best_bets_files(
        pred, _features(pred, **THREES_FEATURES), [DAY.date(), DAY.date() + dt.timedelta(days=1)], 10, NOW, "run-1"
    )
    first, empty = out["2025-11-01"], out["2025-11-02"]
    assert (first.schema_version, first.predictions, first.candidates) == (2, 4, 2)
    assert [(p.player_id, p.market) for p in first.picks] == [(7, THREES), (1, POINTS)]
    assert first.ev_threshold == predictions.DEFAULT_EV_THRESHOLD and first.run_id == "run-1"
    assert first.model_versions == sorted(f"ridge-2-{m}-2025-10-27" for m in (POINTS, REBOUNDS, THREES, ASSISTS))
    p = first.picks[0]
    assert (p.rank, p.side, p.bookmaker, p.line, p.odds, p.ev, p.p_win) == (
        1,
        "OVER",
        "fanduel",
        1.5,
        120,
        0.0812,
        0.58,
    )
    assert (p.consensus_line, p.books, p.p_over, p.books_p_over, p.predicted, p.model_mean) == (
        1.5,
        6,
        0.58,
        0.5,
        2.0,
        2.3,
    )
    # the reasoning reads the pick's own market: threes, not points
    r = p.reasoning
    assert (r.stat, r.stat_avg_last10, r.stat_avg_season, r.stat_avg_last5, r.opponent_allowed_vs_league) == (
        "fg3m",
        2.1,
        2.0,
        2.4,
        0.06,
    )
    assert r.stat_avg_recent20 is None  # unknown stays null, never 0
    assert p.summary == (
        "OVER 1.5 threes at fanduel +120 (EV +8.1%): model 2.3 vs the books' 1.5 (6 books), P(over) 58% vs the "
        "books' 50%; last 10 2.1, season 2.0 over 12 games; BOS allow 6.0% more threes than the league; 1 day rest"
    )
    # the points pick's opponent measure is the defensive rating, and says so
    points = first.picks[1]
    assert points.reasoning.stat_avg_season == 18.0 and points.reasoning.opponent_allowed_vs_league == -0.02
    assert "BOS allow 2.0% fewer points per 100 possessions than the league" in points.summary
    assert points.summary.startswith("OVER 19.5 points at draftkings -110 (EV +3.5%)")
    # a date without games still gets its file: no picks is an answer, a missing file is not
    assert (empty.predictions, empty.candidates, empty.picks, empty.model_versions, empty.ev_threshold) == (
        0,
        0,
        [],
        [],
        None,
    )
    # what is written parses back against the declared schema unchanged
    text = first.model_dump_json(indent=2)
    assert files.BestBetsFile.model_validate_json(text) == first
    assert json.loads(text)["picks"][0]["reasoning"]["stat_avg_recent20"] is None


def test_a_summary_without_this_seasons_form_or_a_books_probability():
    pick = _prediction(
        4, 0.05, "UNDER", market=PRA, line=30.5, bet_line=31.5, bet_odds=-125.0, books=1, books_p_over=np.nan
    )
    pred = pd.DataFrame([pick])
    f = _features(pred, pra_avg_recent20=28.26, opponent_pra_allowed_vs_league=-0.031, back_to_back=1.0, rest_days=0)
    (p,) = transforms.best_bets_files(pred, f, [DAY.date()], 10, NOW, "r")["2025-11-01"].picks
    assert p.summary == (
        "UNDER 31.5 PRA at draftkings -125 (EV +5.0%): model 22.0 vs the books' 30.5 (1 book), P(over) 56%; "
        "no game this season yet; last 20 28.3; BOS allow 3.1% fewer PRA than the league; "
        "second night of a back-to-back"
    )


def test_top_n_bounds_the_picks():
    pred = pd.DataFrame([_prediction(i, 0.01 * i, market=list(predictions.MARKET_STATS)[i % 5]) for i in range(1, 8)])
    out = transforms.best_bets_files(pred, _features(pred), [DAY.date()], 3, NOW, "r")
    assert [p.player_id for p in out["2025-11-01"].picks] == [7, 6, 5] and out["2025-11-01"].candidates == 7


def test_the_reasoning_reads_feature_store_columns():
    """Every column the reasoning reads is an ml_feature_store column (v4: per-stat averages and
    opponent allowances), and a feature frame without one is refused by name."""
    missing = [c for c in transforms.feature_columns() if c not in precompute.FEATURES]
    assert not missing, f"not ml_feature_store columns: {missing}"
    pred = pd.DataFrame([_prediction(1, 0.04)])
    with pytest.raises(KeyError, match="opponent_reb_allowed_vs_league"):
        transforms.best_bets_files(
            pred, _features(pred).drop(columns="opponent_reb_allowed_vs_league"), [DAY.date()], 3, NOW, "r"
        )


def test_the_days_picks_preview_as_a_markdown_table():
    """Shown on each best_bets partition's materialization in the UI (issue 16)."""
    pred = pd.DataFrame([_prediction(1, 0.035), {**THREES_PICK, "player_name": "A | B*"}, _prediction(3, None, "PASS")])
    out = transforms.best_bets_files(
        pred, _features(pred, is_home=1.0), [DAY.date(), DAY.date() + dt.timedelta(days=1)], 10, NOW, "r"
    )
    assert transforms.picks_markdown(out["2025-11-01"]).splitlines() == [
        "| # | player | game | market | pick | book | price | EV | P(win) | consensus |",
        "|--:|---|---|---|---|---|--:|--:|--:|---|",
        # a name cannot break the table
        "| 1 | A \\| B\\* | NYK vs BOS | threes | OVER 1.5 | fanduel | +120 | +8.1% | 0.58 | 1.5 (6 books) |",
        "| 2 | Player 1 | NYK vs BOS | points | OVER 19.5 | draftkings | -110 | +3.5% | 0.56 | 19.5 (6 books) |",
    ]
    assert transforms.picks_markdown(out["2025-11-02"]) == (
        "No picks for 2025-11-02: 0 of 0 predictions cleared the EV threshold."
    )
    no_bet = transforms.best_bets_files(
        pd.DataFrame([_prediction(3, None, "PASS")]), _features(pred), [DAY.date()], 10, NOW, "r"
    )
    assert transforms.picks_markdown(no_bet["2025-11-01"]) == (
        "No picks for 2025-11-01: 0 of 1 predictions cleared the EV threshold (EV +3.0%)."
    )


# --- performance summary ------------------------------------------------------------------------


def graded(
    day: str,
    market: str,
    *,
    line: float,
    predicted: float,
    actual: float | None,
    outcome: str,
    p_over: float = 0.6,
    books_p_over: float | None = 0.5,
    rec: str = "OVER",
    bet_line: float | None = None,
    bet_odds: float | None = -110.0,
    bet_result: str = "NO_BET",
    profit: float = 0.0,
    player_id: int = 1,
) -> dict:
    """A prediction_accuracy row; outcome, result and profit are stated (computed by hand)."""
    played = actual is not None
    bet = rec != "PASS"
    return {
        "game_date": pd.Timestamp(day),
        "game_id": "0022500100",
        "player_id": player_id,
        "player_name": f"Player {player_id}",
        "team": "NYK",
        "market": market,
        "line": line,
        "predicted": predicted,
        "p_over": p_over,
        "books_p_over": np.nan if books_p_over is None else books_p_over,
        "recommendation": rec,
        "bet_bookmaker": "fanduel" if bet else None,
        "bet_line": (line if bet_line is None else bet_line) if bet else np.nan,
        "bet_odds": bet_odds if bet else np.nan,
        "played": played,
        "actual": actual,
        "absolute_error": abs(actual - predicted) if played else np.nan,
        "line_error": abs(actual - line) if played else np.nan,
        "outcome": outcome,
        "bet_result": bet_result,
        "profit_units": profit,
        "model_version": f"ridge-2-{market}-2025-10-27",
    }


def accuracy_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=predictions.prediction_accuracy.column_names)
    df["actual"] = df["actual"].astype("Int64")
    predictions.prediction_accuracy.validate(df)  # the fixture is a frame the table accepts
    return df


def day_rows() -> list[dict]:
    """2025-11-01, by hand:
    points: a win at +150 (25 over 19.5: +1.5) and a loss at -110 (18 under 19.5: -1);
    threes: a push at fanduel's whole line 2 (stake back) whose consensus 1.5 went over, a VOID
      (did not play) and a PASS (1 under 1.5, no books' probability: not a Brier row);
    rebounds: a PASS at a whole consensus line hit exactly (PUSH: not a Brier row)."""
    d = "2025-11-01"
    return [
        graded(
            d,
            POINTS,
            line=19.5,
            predicted=20.0,
            actual=25,
            outcome="OVER",
            bet_odds=150.0,
            bet_result="WIN",
            profit=1.5,
        ),
        graded(
            d,
            POINTS,
            line=19.5,
            predicted=22.0,
            actual=18,
            outcome="UNDER",
            bet_result="LOSS",
            profit=-1.0,
            player_id=2,
        ),
        graded(
            d,
            THREES,
            line=1.5,
            predicted=2.4,
            actual=2,
            outcome="OVER",
            p_over=0.55,
            bet_line=2.0,
            bet_odds=105.0,
            bet_result="PUSH",
        ),
        graded(d, THREES, line=2.5, predicted=2.0, actual=None, outcome="VOID", bet_result="VOID", player_id=2),
        graded(
            d,
            THREES,
            line=1.5,
            predicted=1.8,
            actual=1,
            outcome="UNDER",
            p_over=0.3,
            books_p_over=None,
            rec="PASS",
            player_id=3,
        ),
        graded(d, REBOUNDS, line=8.0, predicted=7.5, actual=8, outcome="PUSH", p_over=0.45, rec="PASS"),
    ]


def test_performance_summary_per_market_and_over_all_of_them():
    rows = [
        *day_rows(),
        # 2025-10-22: a points win at -120 (+0.8333): in last30 and the season, not in last7
        graded(
            "2025-10-22",
            POINTS,
            line=20.5,
            predicted=21.0,
            actual=24,
            outcome="OVER",
            bet_odds=-120.0,
            bet_result="WIN",
            profit=0.8333,
        ),
        # last season: outside every period of a 2025-26 date
        graded(
            "2025-04-10", POINTS, line=20.5, predicted=10.0, actual=30, outcome="OVER", bet_result="LOSS", profit=-1.0
        ),
    ]
    out = transforms.performance_summary(accuracy_frame(rows), [dt.date(2025, 11, 1), dt.date(2025, 10, 2)])
    performance_summary.validate(out)  # the declared schema accepts it
    assert len(out) == 2 * len(PERIODS) * len(MARKETS)
    s = out.set_index([out["game_date"].dt.strftime("%Y-%m-%d"), "period", "market"])

    points = s.loc[("2025-11-01", "day", POINTS)]
    assert (points["graded"], points["played"], points["bets"], points["wins"], points["losses"]) == (2, 2, 2, 1, 1)
    assert points["profit_units"] == pytest.approx(1.5 - 1.0) and points["roi"] == pytest.approx(0.25)
    assert points["hit_rate"] == 0.5
    assert points["mae"] == pytest.approx((5 + 4) / 2) and points["line_mae"] == pytest.approx((5.5 + 1.5) / 2)
    assert points["brier_rows"] == 2 and points["brier"] == pytest.approx((0.4**2 + 0.6**2) / 2)
    assert points["books_brier"] == pytest.approx(0.25)

    threes = s.loc[("2025-11-01", "day", THREES)]
    assert (threes["graded"], threes["played"], threes["bets"], threes["pushes"], threes["wins"]) == (3, 2, 1, 1, 0)
    assert threes["profit_units"] == 0 and threes["roi"] == 0 and np.isnan(threes["hit_rate"])  # a push only
    assert threes["mae"] == pytest.approx((0.4 + 0.8) / 2) and threes["line_mae"] == pytest.approx(0.5)
    assert threes["brier_rows"] == 1 and threes["brier"] == pytest.approx(0.45**2)

    rebounds = s.loc[("2025-11-01", "day", REBOUNDS)]
    assert (rebounds["graded"], rebounds["bets"], rebounds["brier_rows"]) == (1, 0, 0)
    assert np.isnan(rebounds["roi"]) and np.isnan(rebounds["brier"]) and rebounds["line_mae"] == 0

    # a market without a prediction: zero counts, null rates
    assists = s.loc[("2025-11-01", "day", ASSISTS)]
    assert assists["graded"] == 0 and np.isnan(assists["mae"]) and assists["calibration"] == "[]"

    # all = the sum of the markets: 3 bets (a push included), profit +0.5; no MAE across units
    every = s.loc[("2025-11-01", "day", "all")]
    assert (every["graded"], every["played"], every["bets"], every["wins"], every["losses"], every["pushes"]) == (
        6,
        5,
        3,
        1,
        1,
        1,
    )
    assert every["profit_units"] == pytest.approx(0.5) and every["roi"] == pytest.approx(round(0.5 / 3, 4))
    assert np.isnan(every["mae"]) and np.isnan(every["line_mae"])
    assert every["brier_rows"] == 3 and every["brier"] == pytest.approx(round((0.16 + 0.36 + 0.2025) / 3, 4))
    assert json.loads(every["calibration"]) == [
        {"p_from": 0.5, "p_to": 0.6, "rows": 1, "mean_p_over": 0.55, "over_rate": 1.0},
        {"p_from": 0.6, "p_to": 0.7, "rows": 2, "mean_p_over": 0.6, "over_rate": 0.5},
    ]
    # the books' on the same rows: every books_p_over of them is 0.5
    assert json.loads(every["books_calibration"]) == [
        {"p_from": 0.5, "p_to": 0.6, "rows": 3, "mean_p_over": 0.5, "over_rate": 0.6667},
    ]

    # last7 starts Oct 26 (no Oct 22 game); last30 and the season reach it, never last season
    assert s.loc[("2025-11-01", "last7", POINTS), "wins"] == 1
    assert s.loc[("2025-11-01", "last30", POINTS), "period_start"] == pd.Timestamp("2025-10-03")
    season = s.loc[("2025-11-01", "season", POINTS)]
    assert (season["period_start"], season["graded"], season["wins"], season["losses"]) == (
        pd.Timestamp("2025-10-01"),
        3,
        2,
        1,
    )
    assert season["profit_units"] == pytest.approx(1.3333) and season["roi"] == pytest.approx(round(1.3333 / 3, 4))
    assert season["mae"] == pytest.approx((5 + 4 + 3) / 3, abs=1e-4)
    assert s.loc[("2025-11-01", "season", "all"), "bets"] == 4
    # a date before any grade: zero counts, null rates; last30 clipped to the season's start
    early = s.loc[("2025-10-02", "last30", "all")]
    assert early["period_start"] == pd.Timestamp("2025-10-01") and early["graded"] == 0
    assert np.isnan(early["hit_rate"]) and np.isnan(early["roi"]) and early["calibration"] == "[]"


def test_performance_summary_of_no_grades_at_all():
    empty = predictions.prediction_accuracy.empty_frame()
    out = transforms.performance_summary(empty, [dt.date(2025, 10, 5)])
    assert len(out) == len(PERIODS) * len(MARKETS) and set(out["market"]) == set(MARKETS)
    assert (out["graded"] == 0).all() and out["roi"].isna().all()
    performance_summary.validate(out)


def test_each_dates_summary_metadata_charts_roi_and_mae_by_game_date():
    rows = [*day_rows()]
    out = transforms.performance_summary(accuracy_frame(rows), [dt.date(2025, 10, 31), dt.date(2025, 11, 1)])
    meta = transforms.summary_metadata(out)
    day = meta["2025-11-01"]
    assert day["bets"] == 3 and day["profit_units"] == pytest.approx(0.5) and day["roi"] == pytest.approx(0.1667)
    assert day["season_roi"] == pytest.approx(0.1667) and day["season_hit_rate"] == 0.5
    assert day["mae_points"] == pytest.approx(4.5) and day["line_mae_points"] == pytest.approx(3.5)
    assert day["mae_threes"] == pytest.approx(0.6) and "mae_assists" not in day  # no assists graded: no point
    # a day without bets charts its zero bets and no ROI
    assert meta["2025-10-31"] == {"bets": 0, "profit_units": 0.0, "season_bets": 0, "season_profit_units": 0.0}
