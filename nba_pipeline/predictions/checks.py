"""Per-partition checks of the `nba_predictions` tables: a model for every game date and market,
a price for every quote as the books offered it, one prediction per lined player and market whose
line is the books' consensus and whose recommendation is the best stored price, no line taken
after tip-off, and exactly one grade per prediction of a final game."""

from collections.abc import Sequence

import dagster as dg
import numpy as np
import pandas as pd

from nba_pipeline.analytics import tables as analytics
from nba_pipeline.core.checks.common import (
    day_counts,
    day_examples,
    disagreements,
    failed_because,
    in_range_check,
    long_problems,
    rows_match,
    table_checks,
)
from nba_pipeline.core.checks.partitioned import Outcome, Outcomes, PartitionCheck
from nba_pipeline.predictions import tables
from nba_pipeline.predictions.model import line_columns, main_quotes, market_means, over_given_decided
from nba_pipeline.predictions.transforms import best_quotes
from nba_pipeline.raw import tables as raw

UPC, QUOTES = analytics.upcoming_player_game_context.name, analytics.player_prop_quotes.name
PM, PRICES, PPP, PA = (
    tables.prop_models.name,
    tables.prop_prices.name,
    tables.player_prop_predictions.name,
    tables.prediction_accuracy.name,
)
_KEY = ["game_date", "player_id", "market"]
_QUOTE_KEY = [*_KEY, "bookmaker", "line"]


def models_for_every_game_date(models: pd.DataFrame, slate: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Every market's model for every date with players in its games (the slate:
    upcoming_player_game_context, whose players are exactly the feature rows)."""
    have, need = day_counts(models), day_counts(slate)
    want = len(tables.MARKET_STATS)
    out = {}
    for k in keys:
        ok = not need.get(k) or have.get(k, 0) == want
        out[k] = Outcome(
            passed=ok,
            metadata={"slate_players": need.get(k, 0), "models": have.get(k, 0), "markets": want},
            description=None
            if ok
            else failed_because(
                k,
                f"{have.get(k, 0)} of {want} market models for {need[k]} slate player(s): the training window has "
                "too little history (the prop_models materialization's no_model_reason says why)",
            ),
        )
    return out


def lined_player_markets(context: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """(game_date, player_id, market) the date must predict: each context row with the market's
    consensus line, on a date with that market's model."""
    parts = []
    for market in tables.MARKET_STATS:
        line_col = line_columns(market)[0]
        c = context[context[line_col].notna()][["game_date", "player_id"]].assign(market=market)
        served = models.loc[models["market"] == market, "game_date"]
        parts.append(c[c["game_date"].isin(served)])
    return pd.concat(parts, ignore_index=True).astype({"player_id": "int64"})


def priced_quotes(quotes: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """The quotes prop_prices must price: every quote of a predicted (player, market)."""
    keys = predictions[_KEY].astype({"player_id": "int64"})
    return quotes.astype({"player_id": "int64"}).merge(keys, on=_KEY, how="inner")


def prices_match_quotes(prices: pd.DataFrame, quotes: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Each priced quote states the book's prices, main line and snapshot as the quotes table has
    them (what the raw snapshots said, before tip-off)."""
    q = quotes.astype({"player_id": "int64"}).set_index(_QUOTE_KEY)
    p = prices.astype({"player_id": "int64"}).reset_index(drop=True)
    at = q.reindex(pd.MultiIndex.from_frame(p[_QUOTE_KEY]))
    facts = {
        "over_odds": (p["over_odds"], pd.Series(at["over_odds"].to_numpy(), index=p.index)),
        "under_odds": (p["under_odds"], pd.Series(at["under_odds"].to_numpy(), index=p.index)),
        "main_line": (p["main_line"].astype(bool), pd.Series(at["main_line"].to_numpy(), index=p.index)),
        "snapshot_time": (p["snapshot_time"], pd.Series(at["snapshot_time"].to_numpy(), index=p.index)),
        "book_p_over": (p["book_p_over"], pd.Series(at["over_prob_no_vig"].to_numpy(), index=p.index)),
    }
    return disagreements(p, long_problems(p, ["player_id", "market", "bookmaker", "line"], facts), keys, "quotes")


def _spreads(frame: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """(variance_per_mean, variance_per_mean_squared) of the model serving each row's date and market."""
    spread = ["variance_per_mean", "variance_per_mean_squared"]
    on = models[["game_date", "market", *spread]].assign(game_date=models["game_date"].map(pd.Timestamp))
    rows = frame[["market"]].assign(game_date=frame["game_date"].map(pd.Timestamp))
    return rows.merge(on, on=["game_date", "market"], how="left")[spread].set_axis(frame.index)


def market_probabilities_match_predictions(
    prices: pd.DataFrame, pred: pd.DataFrame, models: pd.DataFrame, keys: Sequence[str]
) -> Outcomes:
    """Each priced quote's market P(over) is its prediction's books' implied mean read at the
    quote's line through its date's model (the quote's own no-vig where there is no implied mean)."""
    p = prices.astype({"player_id": "int64"}).reset_index(drop=True)
    means = pred.astype({"player_id": "int64"}).set_index(_KEY)["market_mean"]
    mean = pd.Series(means.reindex(pd.MultiIndex.from_frame(p[_KEY])).to_numpy(dtype="float64"), index=p.index)
    spread = _spreads(p, models)
    read = pd.Series(np.nan, index=p.index)
    for (a, b), idx in p.groupby([spread.iloc[:, 0], spread.iloc[:, 1]]).groups.items():
        read[idx] = over_given_decided(mean[idx].to_numpy(), (a, b), p.loc[idx, "line"].to_numpy(dtype="float64"))
    source = read.where(mean.notna(), p["book_p_over"].astype("float64"))
    stored = p["market_p_over"].astype("float64")
    facts = {"market_p_over": (stored, _within(stored, source, 1e-4).round(4))}
    return disagreements(p, long_problems(p, ["player_id", "market", "bookmaker", "line"], facts), keys, "quotes")


def probabilities_sum_to_one(prices: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    total = prices["p_over"] + prices["p_under"] + prices["p_push"]
    off = prices[(total - 1.0).abs() > 3e-4].assign(total=total)
    half = prices[(prices["line"] % 1 != 0) & (prices["p_push"] > 0)]
    bad = pd.concat([off, half])
    n_rows, n_bad = day_counts(prices), day_counts(bad)
    examples = day_examples(bad, ["player_id", "market", "bookmaker", "line", "p_over", "p_under", "p_push"])
    return {
        k: Outcome(
            passed=not n_bad.get(k),
            metadata={"quotes": n_rows.get(k, 0), "bad": n_bad.get(k, 0)},
            description=None
            if not n_bad.get(k)
            else failed_because(
                k,
                f"{n_bad[k]} quote(s) whose over, under and push probabilities do not sum to 1 or that push on a "
                f"half-point line, e.g. {examples[k][0]}",
            ),
        )
        for k in keys
    }


def _within(stored: pd.Series, source: pd.Series, tolerance: float) -> pd.Series:
    """`source`, or `stored` where they differ by at most `tolerance` (a stored rounding)."""
    return source.where((stored - source).abs() > tolerance, stored)


def consensus_matches_quotes(
    pred: pd.DataFrame, quotes: pd.DataFrame, models: pd.DataFrame, keys: Sequence[str]
) -> Outcomes:
    """The prediction's line, books and books' no-vig are the consensus of the quotes' main lines
    (median line, number of books, mean no-vig over probability), and its books' implied mean and
    their P(over) at the line are the quotes' read through its date's model (prop_models)."""
    main = quotes[quotes["main_line"].astype(bool)].astype({"player_id": "int64"})
    cons = main.groupby(_KEY).agg(
        line=("line", "median"), books=("bookmaker", "nunique"), books_p_over=("over_prob_no_vig", "mean")
    )
    p = pred.astype({"player_id": "int64"}).reset_index(drop=True)
    at = cons.reindex(pd.MultiIndex.from_frame(p[_KEY]))
    aligned = lambda c: pd.Series(at[c].to_numpy(dtype="float64"), index=p.index)  # noqa: E731
    stored_p, source_p = p["books_p_over"].astype("float64"), aligned("books_p_over")
    # stored rounded: within a rounding of the recomputed value is the same value
    source_p = _within(stored_p, source_p, 1e-4)
    implied, implied_p = pd.Series(np.nan, index=p.index), pd.Series(np.nan, index=p.index)
    day = p["game_date"].map(pd.Timestamp)
    p_spread = _spreads(p, models)
    read = main_quotes(main)
    q_spread = _spreads(read, models)
    # a week's dates share one model's spread: one reading per market and spread, not per date
    q_groups = read.groupby([read["market"], *(q_spread[c].to_numpy() for c in q_spread)]).groups
    for (market, a, b), idx in p.groupby([p["market"], *(p_spread[c].to_numpy() for c in p_spread)]).groups.items():
        mine = read.loc[q_groups.get((market, a, b), [])]
        who = pd.MultiIndex.from_arrays([day[idx], p.loc[idx, "player_id"]])
        implied[idx] = market_means(mine, (a, b)).reindex(who).to_numpy(dtype="float64")
        implied_p[idx] = over_given_decided(
            implied[idx].to_numpy(), (a, b), p.loc[idx, "line"].to_numpy(dtype="float64")
        )
    implied_p = implied_p.where(implied.notna(), aligned("books_p_over"))
    stored_mean, stored_mp = p["market_mean"].astype("float64"), p["market_p_over"].astype("float64")
    facts = {
        "line": (p["line"].astype("float64"), aligned("line")),
        "books": (p["books"].astype("float64"), aligned("books")),
        "books_p_over": (stored_p, source_p.round(4)),
        "market_mean": (stored_mean, _within(stored_mean, implied, 1e-5).round(6)),
        "market_p_over": (stored_mp, _within(stored_mp, implied_p, 1e-4).round(4)),
    }
    return disagreements(p, long_problems(p, ["player_id", "market"], facts), keys, "predictions")


def recommendations_are_best_prices(pred: pd.DataFrame, prices: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """A recommendation is the stored price with the best EV of its player and market, at or above
    the threshold: its book, line, side, odds and EV as prop_prices has them; a PASS has no quote
    at the threshold."""
    best = best_quotes(prices)
    p = pred.astype({"player_id": "int64"}).reset_index(drop=True)
    at = best.reindex(pd.MultiIndex.from_frame(p[_KEY]))
    col = lambda c: pd.Series(at[c].to_numpy(), index=p.index)  # noqa: E731
    clears = col("ev").astype("float64") >= p["ev_threshold"]
    want_rec = pd.Series(np.where(clears, col("side"), "PASS"), index=p.index)
    bet = p["recommendation"] != "PASS"
    facts = {
        "recommendation": (p["recommendation"], want_rec),
        "best_ev": (p["best_ev"].astype("float64").round(4), col("ev").astype("float64").round(4)),
        "bet_bookmaker": (p["bet_bookmaker"].where(bet), col("bookmaker").where(bet)),
        "bet_line": (p["bet_line"].where(bet), col("line").astype("float64").where(bet)),
        "bet_odds": (p["bet_odds"].where(bet), col("odds").astype("float64").where(bet)),
        "ev": (p["ev"].where(bet).round(4), col("ev").astype("float64").where(bet).round(4)),
    }
    return disagreements(p, long_problems(p, ["player_id", "market"], facts), keys, "predictions")


def lines_before_tip_off(pred: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    late = pred[
        pred["line_snapshot_time"].notna()
        & pred["game_start_time"].notna()
        & (pred["line_snapshot_time"] >= pred["game_start_time"])
    ]
    n_late, n_rows = day_counts(late), day_counts(pred)
    examples = day_examples(late, ["game_id", "player_id", "market", "line_snapshot_time", "game_start_time"])
    return {
        k: Outcome(
            passed=not n_late.get(k),
            metadata={
                "predictions": n_rows.get(k, 0),
                "snapshot_at_or_after_tip_off": n_late.get(k, 0),
                "examples": dg.MetadataValue.json(examples.get(k, [])),
            },
            description=None
            if not n_late.get(k)
            else failed_because(
                k,
                f"{n_late[k]} prediction(s) priced from a snapshot taken at or after tip-off "
                f"(game, player, market, snapshot, tip-off), e.g. {examples[k][0]}",
            ),
        )
        for k in keys
    }


def graded_predictions(
    accuracy: pd.DataFrame, pred: pd.DataFrame, schedule: pd.DataFrame, keys: Sequence[str]
) -> Outcomes:
    final = schedule.loc[schedule["status"] == "final", "game_id"]
    expected = pred[pred["game_id"].isin(final)]
    return rows_match(accuracy, expected, _KEY, keys)


prop_models_checks = table_checks(
    tables.prop_models,
    [
        PartitionCheck(
            "models_for_every_game_date",
            f"Every date with players in its games has all {len(tables.MARKET_STATS)} market models "
            "(WARN: the data's first weeks have too little history to train on).",
            lambda f, k: models_for_every_game_date(f[PM], f[UPC], k),
            blocking=False,
            severity=dg.AssetCheckSeverity.WARN,
        ),
        in_range_check(tables.prop_models),
    ],
    reads=[analytics.upcoming_player_game_context],
)

prop_prices_checks = table_checks(
    tables.prop_prices,
    [
        PartitionCheck(
            "one_price_per_quote",
            "Exactly one priced row per quote (book, line) a book offered before tip-off for each predicted "
            "player and market (player_prop_quotes).",
            lambda f, k: rows_match(f[PRICES], priced_quotes(f[QUOTES], f[PPP]), _QUOTE_KEY, k),
        ),
        PartitionCheck(
            "prices_match_quotes",
            "Each priced quote's over/under odds, no-vig probability, main line and snapshot equal the quotes table's.",
            lambda f, k: prices_match_quotes(f[PRICES], f[QUOTES], k),
        ),
        PartitionCheck(
            "market_probabilities_match_predictions",
            "Each priced quote's market P(over) is its prediction's books' implied mean (player_prop_predictions."
            "market_mean) read at the quote's line through its date's model (prop_models); the quote's own no-vig "
            "where there is none.",
            lambda f, k: market_probabilities_match_predictions(f[PRICES], f[PPP], f[PM], k),
        ),
        PartitionCheck(
            "probabilities_sum_to_one",
            "At every quote P(over) + P(under) + P(push) = 1, and a half-point line never pushes.",
            lambda f, k: probabilities_sum_to_one(f[PRICES], k),
        ),
        in_range_check(tables.prop_prices),
    ],
    reads=[analytics.player_prop_quotes, tables.player_prop_predictions, tables.prop_models],
)

player_prop_predictions_checks = table_checks(
    tables.player_prop_predictions,
    [
        PartitionCheck(
            "one_prediction_per_lined_player_market",
            "Exactly one prediction per player and market with a books' consensus line on a date with that "
            "market's model (upcoming_player_game_context).",
            lambda f, k: rows_match(f[PPP], lined_player_markets(f[UPC], f[PM]), _KEY, k),
        ),
        PartitionCheck(
            "consensus_matches_quotes",
            "Each prediction's line, books and books' no-vig probability are the median, count and mean of "
            "the books' main-line quotes (player_prop_quotes), and its books' implied mean and market P(over) "
            "are those quotes read through its date's model (prop_models).",
            lambda f, k: consensus_matches_quotes(f[PPP], f[QUOTES], f[PM], k),
        ),
        PartitionCheck(
            "recommendations_are_best_prices",
            "Each recommendation is the stored price (prop_prices) with the best EV of its player and market and "
            "clears the EV threshold; a PASS has none that does.",
            lambda f, k: recommendations_are_best_prices(f[PPP], f[PRICES], k),
        ),
        in_range_check(tables.player_prop_predictions),
        PartitionCheck(
            "lines_before_tip_off",
            "No prediction uses an odds snapshot taken at or after its game's tip-off.",
            lambda f, k: lines_before_tip_off(f[PPP], k),
        ),
    ],
    reads=[
        analytics.upcoming_player_game_context,
        analytics.player_prop_quotes,
        tables.prop_models,
        tables.prop_prices,
    ],
)

prediction_accuracy_checks = table_checks(
    tables.prediction_accuracy,
    [
        PartitionCheck(
            "one_grade_per_final_prediction",
            "Exactly one graded row per prediction (player and market) of a final game (none missing, none extra).",
            lambda f, k: graded_predictions(f[PA], f[PPP], f["schedule"], k),
        ),
        in_range_check(tables.prediction_accuracy),
    ],
    reads=[tables.player_prop_predictions, raw.schedule],
)
