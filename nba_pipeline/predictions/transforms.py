"""Pure transforms of the predictions layer, vectorised over every date of a run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from nba_pipeline.predictions import tables
from nba_pipeline.predictions.model import PropModel, line_columns, main_quotes, market_means

_KEY = ["game_date", "player_id", "market"]


def american_profit(odds: np.ndarray | pd.Series) -> np.ndarray:
    """Profit of a winning 1-unit bet at American `odds` (+150: 1.5; -120: 0.8333)."""
    a = np.asarray(odds, dtype="float64")
    return np.where(a > 0, a / 100.0, 100.0 / np.abs(a))


def model_rows(models: Mapping[dt.date, Mapping[str, PropModel | str]]) -> pd.DataFrame:
    """prop_models table rows: one per date and market a model serves (the rest are left out)."""
    rows = []
    for day, by_market in sorted(models.items()):
        for market, m in by_market.items():
            if isinstance(m, str):
                continue
            rows.append(
                {
                    "game_date": pd.Timestamp(day),
                    "market": market,
                    "model_version": m.version,
                    "model_kind": m.kind,
                    "feature_version": m.feature_version,
                    "training_cutoff": pd.Timestamp(m.cutoff),
                    "training_start": pd.Timestamp(m.metrics["training_start"]),
                    "training_end": pd.Timestamp(m.metrics["training_end"]),
                    "training_rows": m.metrics["training_rows"],
                    "validation_start": pd.Timestamp(m.metrics["validation_start"]),
                    "validation_rows": m.metrics["validation_rows"],
                    "validation_mae": m.metrics["validation_mae"],
                    "validation_baseline_mae": m.metrics["validation_baseline_mae"],
                    "variance_per_mean": m.variance[0],
                    "variance_per_mean_squared": m.variance[1],
                    "market_weight_mean": m.market_weight_mean,
                    "market_weight_prob": m.market_weight_prob,
                    "market_rows": m.metrics["validation_lined_rows"],
                    "model_json": m.to_json(),
                }
            )
    return pd.DataFrame(rows, columns=tables.prop_models.column_names)


def models_by_date(model_table: pd.DataFrame) -> dict[tuple[pd.Timestamp, str], PropModel]:
    """Deserialise each (date, market)'s model once per distinct version (a week shares one)."""
    cache: dict[str, PropModel] = {}
    out = {}
    for day, market, version, text in model_table[["game_date", "market", "model_version", "model_json"]].itertuples(
        index=False
    ):
        if version not in cache:
            cache[version] = PropModel.from_json(text)
        out[pd.Timestamp(day), market] = cache[version]
    return out


def lined_means(
    features: pd.DataFrame, models: Mapping[tuple[pd.Timestamp, str], PropModel], quotes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per (date, player, market) with a books' consensus line and a model: the model's
    mean of the stat, the mean pulled towards the line (`predicted`) and the books' implied mean
    from `quotes` (player_prop_quotes; `market_means`)."""
    parts = []
    f = features.reset_index(drop=True)
    q = _normalised(quotes)
    day = f["game_date"].map(pd.Timestamp)
    by_version = {m.version: m for m in models.values()}
    for market in tables.MARKET_STATS:
        line_col, books_col, prob_col = line_columns(market)
        version = day.map({d: m.version for (d, mk), m in models.items() if mk == market})
        has = f[line_col].notna() & version.notna()
        # a week's dates share one model: one pass per model version, not per date
        for v, idx in f[has].groupby(version[has], sort=True).groups.items():
            rows, m = f.loc[idx], by_version[v]
            line = rows[line_col].to_numpy(dtype="float64")
            mean = m.mean(rows)
            mine = q[(q["market"] == market) & q["game_date"].isin(day[idx].unique())]
            at = pd.MultiIndex.from_arrays([day[idx], rows["player_id"].astype("int64")])
            implied = market_means(mine, m.variance).reindex(at).to_numpy(dtype="float64")
            parts.append(
                pd.DataFrame(
                    {
                        "_row": np.asarray(idx),
                        "market": market,
                        "line": line,
                        "books": rows[books_col].to_numpy(),
                        "books_p_over": rows[prob_col].to_numpy(dtype="float64"),
                        "model_mean": mean,
                        "predicted": m.blend_mean(mean, line),
                        "market_mean": implied,
                        "model_version": v,
                    }
                )
            )
    if not parts:
        return pd.DataFrame(
            columns=[
                *_KEY,
                "game_id",
                "player_name",
                "team",
                "opponent",
                "line",
                "books",
                "books_p_over",
                "model_mean",
                "predicted",
                "market_mean",
                "model_version",
                "feature_version",
            ]
        )
    m = pd.concat(parts, ignore_index=True)
    ids = f.loc[m["_row"], ["game_date", "game_id", "player_id", "player_name", "team", "opponent", "feature_version"]]
    out = pd.concat([ids.reset_index(drop=True), m.drop(columns="_row")], axis=1)
    return out.astype({"player_id": "int64"})


def _normalised(quotes: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["game_date", "player_id", "market", "line", "over_prob_no_vig", "main_line"]
    if quotes is None or quotes.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    return main_quotes(quotes[cols])


def _by_version(frame: pd.DataFrame, models: Mapping[str, PropModel]):
    for v, idx in frame.groupby("model_version", sort=True).groups.items():
        yield models[v], np.asarray(idx)


def prop_prices(quotes: pd.DataFrame, means: pd.DataFrame, models: Mapping[str, PropModel]) -> pd.DataFrame:
    """Every quote of a predicted (player, market), priced: P(over, under, push) at its line around
    the predicted mean, over vs under pooled with every book's probability at that line (from
    their implied mean; else the quote's own no-vig), and the expected profit of each side at the
    book's American odds (a push returns the stake). A book whose line or price strays from the
    others' is priced against theirs, not its own."""
    if quotes.empty or means.empty:  # a date without quotes (the morning before the odds) prices none
        return tables.prop_prices.empty_frame()
    q = quotes.astype({"player_id": "int64"}).merge(
        means[[*_KEY, "team", "predicted", "market_mean", "model_version"]], on=_KEY, how="inner", validate="m:1"
    )
    if q.empty:
        return tables.prop_prices.empty_frame()
    q = q.reset_index(drop=True)
    line = q["line"].to_numpy(dtype="float64")
    book_p = q["over_prob_no_vig"].to_numpy(dtype="float64")
    market_mean = q["market_mean"].to_numpy(dtype="float64")
    p_over, p_under, p_push, market_p = (np.empty(len(q)) for _ in range(4))
    for m, i in _by_version(q, models):
        implied = m.market_p_over(market_mean[i], line[i])
        market_p[i] = np.where(np.isnan(market_mean[i]), book_p[i], implied)
        p_over[i], p_under[i], p_push[i] = m.priced(q["predicted"].to_numpy()[i], line[i], market_p[i])
    ev_over = p_over * american_profit(q["over_odds"]) - p_under
    ev_under = p_under * american_profit(q["under_odds"]) - p_over
    out = pd.DataFrame(
        {
            "game_date": q["game_date"],
            "game_id": q["game_id"],
            "player_id": q["player_id"],
            "player_name": q["player_name"],
            "team": q["team"],
            "market": q["market"],
            "bookmaker": q["bookmaker"],
            "line": line,
            "over_odds": q["over_odds"],
            "under_odds": q["under_odds"],
            "main_line": q["main_line"].astype(bool),
            "snapshot_time": q["snapshot_time"],
            "book_p_over": book_p,
            "market_p_over": market_p.round(4),
            "p_over": p_over.round(4),
            "p_under": p_under.round(4),
            "p_push": p_push.round(4),
            "ev_over": np.round(ev_over, 4),
            "ev_under": np.round(ev_under, 4),
        }
    )
    return out.sort_values([*_KEY, "bookmaker", "line"]).reset_index(drop=True)


def best_quotes(prices: pd.DataFrame) -> pd.DataFrame:
    """Per (date, player, market): the side, book and line with the largest expected profit (ties:
    book, then line, then OVER before UNDER, so a re-run picks alike)."""
    sides = []
    for side, ev, odds, p in (
        ("OVER", "ev_over", "over_odds", "p_over"),
        ("UNDER", "ev_under", "under_odds", "p_under"),
    ):
        s = prices[[*_KEY, "bookmaker", "line", ev, odds, p]].rename(columns={ev: "ev", odds: "odds", p: "p_win"})
        sides.append(s.assign(side=side))
    both = pd.concat(sides, ignore_index=True)
    both = both[both["ev"].notna()]
    both = both.sort_values(
        [*_KEY, "ev", "bookmaker", "line", "side"], ascending=[True] * 3 + [False, True, True, True]
    )
    return both.groupby(_KEY, sort=False).head(1).set_index(_KEY)


def player_prop_predictions(
    means: pd.DataFrame,
    prices: pd.DataFrame,
    context: pd.DataFrame,
    models: Mapping[str, PropModel],
    ev_threshold: float,
) -> pd.DataFrame:
    """The contract table: per lined (date, player, market) the predicted mean, P(over) at the
    consensus line (pooled with the books' probability there, from their implied mean), and the
    best-EV quote as the recommendation where it clears `ev_threshold`, else PASS."""
    if means.empty:
        return tables.player_prop_predictions.empty_frame()
    m = means.reset_index(drop=True)
    line = m["line"].to_numpy(dtype="float64")
    market_mean = m["market_mean"].to_numpy(dtype="float64")
    books_p = m["books_p_over"].to_numpy(dtype="float64")
    p_over, p_push, model_p_over, market_p = (np.empty(len(m)) for _ in range(4))
    for model, i in _by_version(m, models):
        market_p[i] = np.where(np.isnan(market_mean[i]), books_p[i], model.market_p_over(market_mean[i], line[i]))
        p_over[i], _, p_push[i] = model.priced(m["predicted"].to_numpy()[i], line[i], market_p[i])
        model_p_over[i] = model.probabilities(m["model_mean"].to_numpy()[i], line[i])[0]
    best = best_quotes(prices).reindex(pd.MultiIndex.from_frame(m[_KEY]))
    bet = (best["ev"] >= ev_threshold).to_numpy()
    ctx = context.astype({"player_id": "int64"}).set_index(["game_date", "player_id"])
    at = ctx.reindex(pd.MultiIndex.from_frame(m[["game_date", "player_id"]]))
    out = pd.DataFrame(
        {
            "game_date": m["game_date"],
            "game_id": m["game_id"],
            "player_id": m["player_id"],
            "player_name": m["player_name"],
            "team": m["team"],
            "market": m["market"],
            "opponent": m["opponent"],
            "game_start_time": at["start_time_utc"].to_numpy(),
            "predicted": m["predicted"].round(3),
            "model_mean": m["model_mean"].round(3),
            # unrounded enough for prop_prices.market_p_over to be recomputed from it (checks)
            "market_mean": m["market_mean"].astype("float64").round(6),
            "line": line,
            "line_source": "sportsbook",
            "books": pd.to_numeric(m["books"]).astype("int64"),
            "line_snapshot_time": at["line_snapshot_time"].to_numpy(),
            "p_over": p_over.round(4),
            "p_push": p_push.round(4),
            "model_p_over": model_p_over.round(4),
            "books_p_over": m["books_p_over"].round(4),
            "market_p_over": market_p.round(4),
            "recommendation": np.where(bet, best["side"].to_numpy(), "PASS"),
            "bet_bookmaker": np.where(bet, best["bookmaker"].to_numpy(), None),
            "bet_line": np.where(bet, best["line"].to_numpy(dtype="float64"), np.nan),
            "bet_odds": np.where(bet, best["odds"].to_numpy(dtype="float64"), np.nan),
            "bet_p_win": np.where(bet, best["p_win"].to_numpy(dtype="float64"), np.nan),
            "ev": np.where(bet, best["ev"].to_numpy(dtype="float64"), np.nan),
            "best_ev": best["ev"].to_numpy(dtype="float64"),
            "ev_threshold": ev_threshold,
            "model_version": m["model_version"],
            "feature_version": m["feature_version"],
        }
    )
    return out.sort_values(["game_date", "game_id", "team", "player_id", "market"]).reset_index(drop=True)


def grade(predictions: pd.DataFrame, results: pd.DataFrame, schedule: pd.DataFrame) -> pd.DataFrame:
    """Predictions of FINAL games (`schedule` status) against `results` (player_game_summary),
    each market on its stat. A prediction of a game not final yet is not graded (its date is
    re-graded when it is). The bet settles at its own book's line and price: a win pays the
    price, a loss costs the stake, a push or a player who did not play returns it."""
    final = schedule.loc[schedule["status"] == "final", "game_id"]
    p = predictions[predictions["game_id"].isin(final)].reset_index(drop=True)
    if p.empty:
        return tables.prediction_accuracy.empty_frame()
    stats = list(dict.fromkeys(tables.MARKET_STATS.values()))
    r = results[["game_id", "player_id", *stats]].astype({"player_id": "int64"}).set_index(["game_id", "player_id"])
    at = r.reindex(pd.MultiIndex.from_frame(p[["game_id", "player_id"]].astype({"player_id": "int64"})))
    stat_of = p["market"].map(tables.MARKET_STATS).to_numpy()
    y = np.full(len(p), np.nan)
    for s in stats:
        y = np.where(stat_of == s, at[s].to_numpy(dtype="float64"), y)
    played = at.notna().any(axis=1).to_numpy()
    line = p["line"].to_numpy(dtype="float64")
    outcome = np.select([~played, y > line, y < line], ["VOID", "OVER", "UNDER"], "PUSH")
    rec = p["recommendation"].to_numpy()
    bet_line = p["bet_line"].to_numpy(dtype="float64")
    bet_outcome = np.select([~played, y > bet_line, y < bet_line], ["VOID", "OVER", "UNDER"], "PUSH")
    result = np.select(
        [rec == "PASS", bet_outcome == "VOID", bet_outcome == "PUSH", rec == bet_outcome],
        ["NO_BET", "VOID", "PUSH", "WIN"],
        "LOSS",
    )
    odds = p["bet_odds"].to_numpy(dtype="float64")
    win_profit = np.where(np.isnan(odds), 0.0, american_profit(np.nan_to_num(odds, nan=100.0)))
    profit = np.select([result == "WIN", result == "LOSS"], [win_profit, -1.0], 0.0)
    predicted = p["predicted"].to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "game_date": p["game_date"],
            "game_id": p["game_id"],
            "player_id": p["player_id"].astype("int64"),
            "player_name": p["player_name"],
            "team": p["team"],
            "market": p["market"],
            "line": line,
            "predicted": predicted,
            "p_over": p["p_over"],
            "books_p_over": p["books_p_over"],
            "recommendation": rec,
            "bet_bookmaker": p["bet_bookmaker"],
            "bet_line": bet_line,
            "bet_odds": odds,
            "played": played,
            "actual": pd.array(np.where(played, y, np.nan), dtype="Float64").astype("Int64"),
            "absolute_error": np.where(played, np.abs(y - predicted), np.nan),
            "line_error": np.where(played, np.abs(y - line), np.nan),
            "outcome": outcome,
            "bet_result": result,
            "profit_units": profit.round(4),
            "model_version": p["model_version"],
        }
    )
