"""The predictions layer's pure parts: training window, the count distributions, pricing at each
book's odds, the recommendation, grading at the bet's own line and price."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nba_pipeline.precompute import tables as precompute
from nba_pipeline.predictions import model, tables, transforms
from nba_pipeline.raw import tables as raw

MARKETS = list(tables.MARKET_STATS)


def _features(days: list[dt.date], players: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature rows and results where each stat ~ NegBin(mean = its season average): the
    regressor has signal to find and the spread is known (alpha 0.1 for every stat)."""
    rng = np.random.default_rng(seed)
    skill = {
        s: rng.uniform(lo, hi, players)
        for s, (lo, hi) in {"points": (4, 28), "reb": (1, 11), "ast": (0.5, 8), "fg3m": (0.3, 3.5)}.items()
    }
    rows, results = [], []
    for d in days:
        for p in range(players):
            f = {name: np.nan for name in precompute.FEATURES}
            for s in skill:
                f[f"{s}_avg_last10"] = skill[s][p] + rng.normal(0, 0.15 * skill[s][p])
                f[f"{s}_avg_season"] = skill[s][p] + rng.normal(0, 0.05 * skill[s][p])
            f["pra_avg_season"] = f["points_avg_season"] + f["reb_avg_season"] + f["ast_avg_season"]
            f["pra_avg_last10"] = f["points_avg_last10"] + f["reb_avg_last10"] + f["ast_avg_last10"]
            f.update(minutes_avg_last10=15 + skill["points"][p], is_home=float(p % 2))
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
                    **{k: v for k, v in f.items() if k in precompute.FEATURES},
                }
            )
            draw = {s: int(rng.negative_binomial(10, 10 / (10 + skill[s][p]))) for s in skill}
            results.append(
                {
                    "game_date": pd.Timestamp(d),
                    "player_id": p,
                    **draw,
                    "pra": draw["points"] + draw["reb"] + draw["ast"],
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(results)


def test_every_priced_market_settles_on_a_stat():
    assert set(tables.MARKET_STATS) == set(raw.PROP_MARKETS)


def test_training_cutoff_is_the_monday_of_the_served_week():
    assert model.training_cutoff(dt.date(2025, 11, 3)) == dt.date(2025, 11, 3)  # a Monday
    assert model.training_cutoff(dt.date(2025, 11, 9)) == dt.date(2025, 11, 3)  # its Sunday


def test_count_probabilities_are_the_negative_binomial_at_any_line():
    mean, variance = np.array([1.8, 1.8, 1.8, 6.0]), (1.5, 0.1)  # variance 1.5 mean + 0.1 mean^2
    line = np.array([1.5, 2.0, 0.5, 6.0])
    p_over, p_under, p_push = model.count_probabilities(mean, variance, line)
    alpha = (0.5 * mean + 0.1 * mean**2) / mean**2
    size = 1 / alpha
    dist = stats.nbinom(size, size / (size + mean))
    assert dist.var() == pytest.approx(1.5 * mean + 0.1 * mean**2, rel=1e-6)
    # 1.5: over is 2+, under 0-1, no push; 2.0: over 3+, under 0-1, push exactly 2
    assert p_over[0] == pytest.approx(1 - dist.cdf(1)[0]) and p_under[0] == pytest.approx(dist.cdf(1)[0])
    assert p_push[0] == 0 and p_push[2] == 0
    assert p_over[1] == pytest.approx(1 - dist.cdf(2)[1]) and p_push[1] == pytest.approx(dist.pmf(2)[1])
    assert p_under[1] == pytest.approx(dist.cdf(1)[1])
    assert p_push[3] == pytest.approx(dist.pmf(6)[3])
    np.testing.assert_allclose(p_over + p_under + p_push, 1.0)
    # a variance at most the mean is a Poisson
    po, pu, pp = model.count_probabilities(np.array([2.0]), (0.8, 0.0), np.array([2.0]))
    assert pp[0] == pytest.approx(stats.poisson(2.0).pmf(2)) and po[0] == pytest.approx(stats.poisson(2.0).sf(2))


def test_fit_variance_recovers_the_spread_of_the_counts():
    rng = np.random.default_rng(3)
    mu = rng.uniform(1, 25, 40_000)
    var = 3.0 * mu + 0.02 * mu**2  # like points: about linear in the mean
    size = mu**2 / (var - mu)
    y = rng.negative_binomial(size, size / (size + mu))
    a, b = model.fit_variance(y, mu)
    assert a == pytest.approx(3.0, abs=0.3) and b == pytest.approx(0.02, abs=0.015)
    a, b = model.fit_variance(rng.poisson(mu), mu)
    assert a == pytest.approx(1.0, abs=0.1) and b < 0.01


def test_fit_uses_only_dates_before_the_cutoff_and_predicts_a_calibrated_distribution():
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(60)]
    features, results = _features(days, players=80)
    train = model.training_frame(features, results)
    cutoff = dt.date(2025, 2, 10)
    for market, stat in tables.MARKET_STATS.items():
        m = model.fit(train, market, cutoff, "ridge")
        assert m.metrics["training_end"] == "2025-02-09"
        assert m.version == f"ridge-{model.MODEL_CODE_VERSION}-{market}-2025-02-10"
        later = train[train["game_date"] >= pd.Timestamp(cutoff)]
        y, mean = later[f"actual_{stat}"].to_numpy(), m.mean(later)
        # the fit finds the signal: it beats the noisy last-10 average on later dates
        assert np.abs(y - mean).mean() < np.abs(y - later[f"{stat}_avg_last10"]).mean(), market
        # calibrated: over a half-point line at each prediction, about as many go over as it says
        lines = np.floor(mean) + 0.5
        p_over = m.probabilities(mean, lines)[0]
        assert abs(p_over.mean() - (y > lines).mean()) < 0.04, market
        assert np.all(np.diff(m.probabilities(np.full(4, 5.0), np.array([2.5, 4.5, 6.5, 8.5]))[0]) < 0)
        # the JSON round trip predicts the same
        assert np.array_equal(model.PropModel.from_json(m.to_json()).mean(later), mean)
    # poisoning every date from the cutoff on changes nothing
    m = model.fit(train, "player_threes", cutoff, "ridge")
    poisoned = train.assign(actual_fg3m=np.where(train["game_date"] >= pd.Timestamp(cutoff), 99, train["actual_fg3m"]))
    assert model.fit(poisoned, "player_threes", cutoff, "ridge").to_json() == m.to_json()


def test_too_little_history_is_a_reason_not_a_model():
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(20)]
    features, results = _features(days, players=10)
    out = model.fit_weekly(model.training_frame(features, results), [dt.date(2025, 1, 22)], "ridge")
    assert set(out[dt.date(2025, 1, 22)]) == set(MARKETS)
    assert all(isinstance(r, str) and "too little history" in r for r in out[dt.date(2025, 1, 22)].values())


def _model(market="player_threes", variance=(1.0, 0.0), w_mean=0.5, w_prob=0.5) -> model.PropModel:
    return model.PropModel(market, "ridge", "2025-01-01", "v4", [], {}, list(variance), w_mean, w_prob)


def test_market_pooling():
    m = _model(w_mean=0.25)
    assert m.blend_mean(np.array([24.5, 24.5]), np.array([20.5, np.nan])).tolist() == [21.5, 24.5]
    pooled = model.pool(np.array([0.7, 0.7]), np.array([0.5, np.nan]), 0.5)
    assert 0.5 < pooled[0] < 0.7 and pooled[1] == 0.7
    # at a whole line the push keeps the model's probability; over vs under is pooled
    p_over, p_under, p_push = m.priced(np.array([2.0]), np.array([2.0]), np.array([0.5]))
    assert p_push[0] == pytest.approx(stats.poisson(2.0).pmf(2), abs=1e-9)
    assert p_over[0] + p_under[0] + p_push[0] == pytest.approx(1.0)


def test_american_profit():
    assert transforms.american_profit(np.array([150, -120, 100, -100])).tolist() == pytest.approx(
        [1.5, 100 / 120, 1, 1]
    )


def _quotes(rows) -> pd.DataFrame:
    base = {
        "game_date": pd.Timestamp("2025-11-01"),
        "game_id": "0022500100",
        "player_id": 1,
        "player_name": "A",
        "market": "player_threes",
        "snapshot_time": pd.Timestamp("2025-11-01 17:00", tz="UTC"),
        "main_line": False,
    }
    out = pd.DataFrame([{**base, **r} for r in rows])
    imp = lambda a: np.where(a < 0, -a / (-a + 100), 100 / (a + 100))  # noqa: E731
    po, pu = imp(out["over_odds"].to_numpy(float)), imp(out["under_odds"].to_numpy(float))
    return out.assign(over_prob_no_vig=po / (po + pu))


def _means(rows) -> pd.DataFrame:
    base = {
        "game_date": pd.Timestamp("2025-11-01"),
        "game_id": "0022500100",
        "player_id": 1,
        "player_name": "A",
        "team": "AAA",
        "opponent": "BBB",
        "market": "player_threes",
        "books": 2,
        "feature_version": "v4",
    }
    return pd.DataFrame([{**base, **r} for r in rows]).astype({"player_id": "int64"})


def test_every_quote_is_priced_at_its_own_odds_and_the_best_ev_is_recommended():
    m = _model(w_prob=1.0)  # the model alone: EVs checkable by hand against the Poisson
    quotes = _quotes(
        [
            {"bookmaker": "a", "line": 1.5, "over_odds": -110, "under_odds": -110, "main_line": True},
            {"bookmaker": "b", "line": 1.5, "over_odds": 120, "under_odds": -150, "main_line": True},
            {"bookmaker": "b", "line": 2.0, "over_odds": 200, "under_odds": -260},  # whole line: pushes
            {"bookmaker": "a", "line": 0.5, "over_odds": -400, "under_odds": 300, "player_id": 2},  # no prediction
        ]
    )
    implied = model.market_means(quotes, m.variance)
    means = _means(
        [
            {
                "line": 1.5,
                "books_p_over": 0.5,
                "model_mean": 2.6,
                "predicted": 2.6,
                "market_mean": implied.loc[(pd.Timestamp("2025-11-01"), 1)],
                "model_version": m.version,
            }
        ]
    )
    prices = transforms.prop_prices(quotes, means, {m.version: m})
    tables.prop_prices.validate(prices, ["2025-11-01"])
    assert len(prices) == 3 and set(prices["player_id"]) == {1}
    pois = stats.poisson(2.6)
    b15 = prices[(prices["bookmaker"] == "b") & (prices["line"] == 1.5)].iloc[0]
    assert b15["p_over"] == pytest.approx(pois.sf(1), abs=1e-4)
    assert b15["ev_over"] == pytest.approx(pois.sf(1) * 1.2 - pois.cdf(1), abs=1e-3)
    b2 = prices[prices["line"] == 2.0].iloc[0]
    assert b2["p_push"] == pytest.approx(pois.pmf(2), abs=1e-4)
    # a push returns the stake: only over (3+) wins and under (0-1) loses
    assert b2["ev_over"] == pytest.approx(pois.sf(2) * 2.0 - pois.cdf(1), abs=1e-3)
    best = max(prices["ev_over"].max(), prices["ev_under"].max())
    for threshold, rec in ((0.0, "OVER"), (best + 0.01, "PASS")):
        pred = transforms.player_prop_predictions(
            means,
            prices,
            pd.DataFrame(columns=["game_date", "player_id", "start_time_utc", "line_snapshot_time"]),
            {m.version: m},
            threshold,
        )
        tables.player_prop_predictions.validate(pred, ["2025-11-01"])
        row = pred.iloc[0]
        assert row["recommendation"] == rec and row["best_ev"] == pytest.approx(best, abs=1e-4)
        if rec == "PASS":
            assert pd.isna(row["bet_bookmaker"]) and pd.isna(row["bet_odds"]) and pd.isna(row["ev"])
        else:
            top = prices.loc[prices["ev_over"].idxmax()]
            assert (row["bet_bookmaker"], row["bet_line"], row["bet_odds"]) == (
                top["bookmaker"],
                top["line"],
                top["over_odds"],
            )
            assert row["ev"] == pytest.approx(best, abs=1e-4)
        assert row["p_over"] == pytest.approx(pois.sf(1), abs=1e-4)


def test_the_books_are_read_at_one_scale_through_the_distribution():
    variance = (1.3, 0.05)
    p = np.array([0.2, 0.5, 0.65, np.nan])
    lines = np.array([2.5, 1.5, 0.5, 1.5])
    mu = model.implied_means(p, variance, lines)
    assert np.isnan(mu[3])
    # each quote's implied mean gives back its own probability at its own line
    assert model.over_given_decided(mu[:3], variance, lines[:3]) == pytest.approx(p[:3], abs=1e-6)
    # two books on one line: the market's probability there lies between theirs
    quotes = _quotes(
        [
            {"bookmaker": "a", "line": 1.5, "over_odds": -130, "under_odds": 110, "main_line": True},
            {"bookmaker": "b", "line": 1.5, "over_odds": 105, "under_odds": -125, "main_line": True},
            {"bookmaker": "b", "line": 3.5, "over_odds": 400, "under_odds": -600},  # an alternate: not read
        ]
    )
    market_mean = model.market_means(quotes, variance).loc[(pd.Timestamp("2025-11-01"), 1)]
    at = model.over_given_decided(np.array([market_mean]), variance, np.array([1.5]))[0]
    lo, hi = sorted(quotes["over_prob_no_vig"].iloc[:2])
    assert lo < at < hi


def test_a_book_off_the_market_is_priced_against_the_others():
    m = _model(w_prob=0.0)  # the books alone: any edge is one book against the rest
    quotes = _quotes(
        [
            {"bookmaker": "a", "line": 1.5, "over_odds": -110, "under_odds": -110, "main_line": True},
            {"bookmaker": "c", "line": 1.5, "over_odds": -110, "under_odds": -110, "main_line": True},
            {"bookmaker": "d", "line": 2.5, "over_odds": -110, "under_odds": -110, "main_line": True},
        ]
    )
    mean = model.market_means(quotes, m.variance).loc[(pd.Timestamp("2025-11-01"), 1)]
    means = _means(
        [
            {
                "line": 1.5,
                "books_p_over": 0.5,
                "model_mean": 2.0,
                "predicted": 2.0,
                "market_mean": mean,
                "model_version": m.version,
            }
        ]
    )
    prices = transforms.prop_prices(quotes, means, {m.version: m})
    d = prices[prices["bookmaker"] == "d"].iloc[0]
    # two books of three say over 1.5 is even money: under 2.5 is then better than even at d
    assert d["book_p_over"] == pytest.approx(0.5) and d["market_p_over"] < 0.45 and d["ev_under"] > 0.05
    a = prices[prices["bookmaker"] == "a"].iloc[0]
    # and d's even money on 2.5 says over 1.5 at a is more likely than a's price has it
    assert a["market_p_over"] > 0.5 and a["ev_over"] > 0.05


def _prediction(**kw) -> dict:
    base = {
        "game_date": pd.Timestamp("2025-11-01"),
        "game_id": "0022500100",
        "player_id": 1,
        "player_name": "A",
        "team": "AAA",
        "market": "player_points",
        "line": 20.5,
        "predicted": 22.0,
        "p_over": 0.6,
        "books_p_over": 0.5,
        "recommendation": "OVER",
        "bet_bookmaker": "fanduel",
        "bet_line": 20.5,
        "bet_odds": 120.0,
        "model_version": "ridge-2-player_points-2025-10-27",
    }
    return {**base, **kw}


def test_grading_settles_each_bet_at_its_own_line_and_price():
    preds = pd.DataFrame(
        [
            _prediction(player_id=1),  # 25 > 20.5: wins +1.2 at +120
            _prediction(player_id=2, recommendation="UNDER", bet_odds=-150.0),  # loses
            _prediction(player_id=3, line=19.5, bet_line=20.0),  # exactly 20 at the book's whole line: push
            _prediction(player_id=4),  # did not play: void
            _prediction(player_id=5, recommendation="PASS", bet_bookmaker=None, bet_line=np.nan, bet_odds=np.nan),
            _prediction(player_id=6, game_id="0022500101"),  # game not final: not graded yet
            _prediction(player_id=1, market="player_threes", line=2.5, bet_line=1.5, bet_odds=-130.0),  # 2 > 1.5
            _prediction(
                player_id=1,
                market="player_points_rebounds_assists",
                line=30.5,
                bet_line=30.5,
                recommendation="UNDER",
                bet_odds=-105.0,
            ),  # 25+4+3 = 32: loses
        ]
    )
    results = pd.DataFrame(
        {
            "game_id": "0022500100",
            "player_id": [1, 2, 3, 5],
            "points": [25, 25, 20, 3],
            "reb": [4, 0, 0, 0],
            "ast": [3, 0, 0, 0],
            "fg3m": [2, 0, 0, 0],
            "pra": [32, 25, 20, 3],
        }
    )
    schedule = pd.DataFrame({"game_id": ["0022500100", "0022500101"], "status": ["final", "scheduled"]})
    g = transforms.grade(preds, results, schedule)
    tables.prediction_accuracy.validate(g, ["2025-11-01"])
    g = g.set_index(["player_id", "market"])
    pts = g.xs("player_points", level="market")
    assert list(pts.index) == [1, 2, 3, 4, 5]
    assert pts["outcome"].tolist() == ["OVER", "OVER", "OVER", "VOID", "UNDER"]
    assert pts["bet_result"].tolist() == ["WIN", "LOSS", "PUSH", "VOID", "NO_BET"]
    assert pts["profit_units"].tolist() == pytest.approx([1.2, -1.0, 0.0, 0.0, 0.0])
    assert pts.loc[1, "absolute_error"] == 3.0 and pts.loc[1, "line_error"] == 4.5
    assert pd.isna(pts.loc[4, "absolute_error"]) and not pts.loc[4, "played"]
    three = g.loc[(1, "player_threes")]
    assert (three["actual"], three["outcome"], three["bet_result"]) == (2, "UNDER", "WIN")
    assert three["profit_units"] == pytest.approx(100 / 130, abs=1e-4)
    pra = g.loc[(1, "player_points_rebounds_assists")]
    assert (pra["actual"], pra["bet_result"], pra["profit_units"]) == (32, "LOSS", -1.0)


def test_a_date_without_quotes_prices_nothing_and_predicts_nothing():
    """The morning before the odds snapshot: the quotes table holds no row (read back with object
    dtypes), so nothing is priced and nothing predicted, without failing the step."""
    m = _model()
    empty_quotes = pd.DataFrame(
        columns=_quotes([{"bookmaker": "a", "line": 1.5, "over_odds": -110, "under_odds": -110}]).columns
    )
    means = _means(
        [{"line": 1.5, "books_p_over": 0.5, "model_mean": 2.0, "predicted": 2.0, "model_version": m.version}]
    )
    for quotes, lined in ((empty_quotes, means), (empty_quotes, means.iloc[:0])):
        prices = transforms.prop_prices(quotes, lined, {m.version: m})
        assert prices.empty
        pred = transforms.player_prop_predictions(
            lined.iloc[:0], prices, pd.DataFrame(columns=["game_date", "player_id"]), {m.version: m}, 0.03
        )
        assert pred.empty and list(pred.columns) == tables.player_prop_predictions.column_names
