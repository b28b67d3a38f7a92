"""Pure transforms of the exports layer: the best-bets files and the performance summary, each
over every date of a run at once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from nba_pipeline.core.history import season_start
from nba_pipeline.exports.files import BestBetsFile, Pick, Reasoning
from nba_pipeline.exports.tables import ALL_MARKETS, CALIBRATION_BUCKETS, MARKETS, PERIODS
from nba_pipeline.exports.tables import performance_summary as summary_table
from nba_pipeline.predictions.tables import MARKET_STATS
from nba_pipeline.raw.tables import PROP_MARKETS

# what a summary calls each market's stat ("OVER 1.5 threes", "BOS allow 4.0% more PRA")
MARKET_NOUNS = {market: "PRA" if label == "pra" else label for market, label in PROP_MARKETS.items()}

# ml_feature_store columns every pick's reasoning carries, whatever its market
COMMON_REASONING = (
    "season_games_played",
    "minutes_avg_last5",
    "minutes_trend",
    "usage_trend",
    "pace_differential",
    "implied_team_total",
    "rest_days",
    "back_to_back",
    "is_home",
)


def reasoning_features(market: str) -> dict[str, str]:
    """The reasoning's market-specific fields -> the ml_feature_store columns of the market's stat."""
    stat = MARKET_STATS[market]
    return {
        "stat_avg_season": f"{stat}_avg_season",
        "stat_avg_last10": f"{stat}_avg_last10",
        "stat_avg_last5": f"{stat}_avg_last5",
        "stat_avg_recent20": f"{stat}_avg_recent20",
        # points has its measure already: the defence's points per 100 possessions
        "opponent_allowed_vs_league": "opponent_defensive_rating_vs_league"
        if stat == "points"
        else f"opponent_{stat}_allowed_vs_league",
    }


def feature_columns() -> list[str]:
    """Every ml_feature_store column the best-bets reasoning reads."""
    per_market = [c for m in MARKET_STATS for c in reasoning_features(m).values()]
    return list(dict.fromkeys([*per_market, *COMMON_REASONING]))


def candidates(predictions: pd.DataFrame) -> pd.DataFrame:
    """The recommendations (OVER or UNDER: a quote cleared the EV threshold)."""
    return predictions[predictions["recommendation"] != "PASS"]


def top_picks(predictions: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """Per date: the recommendations with the largest expected value across markets, at most
    top_n, ranked (ties broken by player id, then market, so a re-run ranks alike)."""
    c = candidates(predictions).sort_values(
        ["game_date", "ev", "player_id", "market"], ascending=[True, False, True, True]
    )
    c = c.assign(rank=c.groupby("game_date").cumcount() + 1)
    return c[c["rank"] <= top_n].reset_index(drop=True)


def _opt(x) -> float | None:
    return None if x is None or pd.isna(x) else round(float(x), 4)


def _opt_int(x) -> int | None:
    return None if x is None or pd.isna(x) else int(x)


def _time(x) -> dt.datetime | None:
    return None if pd.isna(x) else pd.Timestamp(x).to_pydatetime()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def pick_summary(p: Pick) -> str:
    """One sentence a reader can check against the pick's numbers: the bet and its EV, model vs
    the books at the consensus line, form, matchup, rest."""
    r, noun = p.reasoning, MARKET_NOUNS[p.market]
    books = f" vs the books' {p.books_p_over:.0%}" if p.books_p_over is not None else ""
    parts = [
        f"{p.side} {p.line:g} {noun} at {p.bookmaker} {p.odds:+.0f} (EV {p.ev:+.1%}): model {p.model_mean:.1f} "
        f"vs the books' {p.consensus_line:g} ({_plural(p.books, 'book')}), P(over) {p.p_over:.0%}{books}"
    ]
    if r.stat_avg_last10 is not None and r.stat_avg_season is not None:
        parts.append(
            f"last 10 {r.stat_avg_last10:.1f}, season {r.stat_avg_season:.1f} "
            f"over {_plural(r.season_games_played, 'game')}"
        )
    elif r.stat_avg_recent20 is not None:
        parts.append(f"no game this season yet; last 20 {r.stat_avg_recent20:.1f}")
    if r.opponent_allowed_vs_league is not None:
        pct = 100 * r.opponent_allowed_vs_league
        what = "points per 100 possessions" if r.stat == "points" else noun
        parts.append(f"{p.opponent} allow {abs(pct):.1f}% {'more' if pct >= 0 else 'fewer'} {what} than the league")
    if r.minutes_trend is not None and abs(r.minutes_trend) >= 2:
        parts.append(f"minutes trend {r.minutes_trend:+.1f}")
    if r.back_to_back:
        parts.append("second night of a back-to-back")
    elif r.rest_days is not None:
        parts.append(f"{_plural(r.rest_days, 'day')} rest")
    return "; ".join(parts)


def _with_reasoning(picks: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Each pick with its date's feature row, the market's stat columns under the generic names."""
    missing = [c for c in feature_columns() if c not in features.columns]
    if missing:
        raise KeyError(f"ml_feature_store has no column(s) {missing} that the best-bets reasoning reads")
    f = features[["game_date", "player_id", *feature_columns()]].astype({"player_id": "int64"})
    merged = picks.astype({"player_id": "int64"}).merge(f, on=["game_date", "player_id"], how="left", validate="m:1")
    generic = list(reasoning_features(next(iter(MARKET_STATS))))
    for name in generic:
        merged[f"_r_{name}"] = np.nan
    for market in MARKET_STATS:
        is_market = merged["market"] == market
        for name, column in reasoning_features(market).items():
            merged.loc[is_market, f"_r_{name}"] = merged.loc[is_market, column]
    return merged


def _pick(row: dict) -> Pick:
    reasoning = Reasoning(
        stat=MARKET_STATS[row["market"]],
        **{name: _opt(row[f"_r_{name}"]) for name in reasoning_features(row["market"])},
        **{
            k: _opt(row[k])
            for k in ("minutes_avg_last5", "minutes_trend", "usage_trend", "pace_differential", "implied_team_total")
        },
        season_games_played=_opt_int(row["season_games_played"]) or 0,
        rest_days=_opt_int(row["rest_days"]),
        back_to_back=bool(row["back_to_back"] == 1),
        is_home=bool(row["is_home"] == 1),
    )
    pick = Pick(
        rank=int(row["rank"]),
        game_id=str(row["game_id"]),
        game_start_time=_time(row["game_start_time"]),
        player_id=int(row["player_id"]),
        player_name=None if pd.isna(row["player_name"]) else str(row["player_name"]),
        team=str(row["team"]),
        opponent=str(row["opponent"]),
        market=row["market"],
        side=row["recommendation"],
        bookmaker=str(row["bet_bookmaker"]),
        line=float(row["bet_line"]),
        odds=float(row["bet_odds"]),
        ev=round(float(row["ev"]), 4),
        p_win=round(float(row["bet_p_win"]), 4),
        consensus_line=float(row["line"]),
        books=int(row["books"]),
        p_over=round(float(row["p_over"]), 4),
        books_p_over=_opt(row["books_p_over"]),
        predicted=round(float(row["predicted"]), 4),
        model_mean=round(float(row["model_mean"]), 4),
        line_snapshot_time=_time(row["line_snapshot_time"]),
        summary="",
        reasoning=reasoning,
    )
    pick.summary = pick_summary(pick)
    return pick


def best_bets_files(
    predictions: pd.DataFrame,
    features: pd.DataFrame,
    dates: Sequence[dt.date],
    top_n: int,
    generated_at: dt.datetime,
    run_id: str,
) -> dict[str, BestBetsFile]:
    """One file per date of `dates` (empty picks where there are none)."""
    picks = _with_reasoning(top_picks(predictions, top_n), features)
    day_of = lambda df: df["game_date"].dt.strftime("%Y-%m-%d")  # noqa: E731
    by_day = predictions.groupby(day_of(predictions)) if len(predictions) else None
    n_pred = by_day.size() if by_day is not None else {}
    versions = by_day["model_version"].unique() if by_day is not None else {}
    feature_version = by_day["feature_version"].first() if by_day is not None else {}
    threshold = by_day["ev_threshold"].first() if by_day is not None else {}
    cands = candidates(predictions)
    n_cand = cands.groupby(day_of(cands)).size() if len(cands) else {}
    picks_by_day: dict[str, list[Pick]] = {}
    for row in picks.to_dict("records"):
        picks_by_day.setdefault(row["game_date"].strftime("%Y-%m-%d"), []).append(_pick(row))
    out = {}
    for day in dates:
        key = day.isoformat()
        out[key] = BestBetsFile(
            game_date=day,
            generated_at=generated_at,
            run_id=run_id,
            model_versions=sorted(str(v) for v in versions.get(key, [])),
            feature_version=None if key not in feature_version else str(feature_version[key]),
            ev_threshold=None if key not in threshold else float(threshold[key]),
            top_n=top_n,
            predictions=int(n_pred.get(key, 0)),
            candidates=int(n_cand.get(key, 0)),
            picks=picks_by_day.get(key, []),
        )
    return out


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|#"} | {"<": "&lt;", ">": "&gt;"})


def _md(text: str) -> str:
    """Text as itself in a Markdown table cell (a name holding `|` or `*` must not break the table)."""
    return text.translate(_MD_SPECIAL)


def picks_markdown(f: BestBetsFile) -> str:
    """The date's picks as a Markdown table, for the partition's materialization in the UI."""
    if not f.picks:
        threshold = "" if f.ev_threshold is None else f" (EV {f.ev_threshold:+.1%})"
        return (
            f"No picks for {f.game_date}: {f.candidates} of {f.predictions} predictions cleared the EV threshold"
            f"{threshold}."
        )
    rows = [
        "| # | player | game | market | pick | book | price | EV | P(win) | consensus |",
        "|--:|---|---|---|---|---|--:|--:|--:|---|",
    ]
    for p in f.picks:
        game = f"{p.team} {'vs' if p.reasoning.is_home else '@'} {p.opponent}"
        rows.append(
            f"| {p.rank} | {_md(p.player_name or str(p.player_id))} | {_md(game)} | {MARKET_NOUNS[p.market]} "
            f"| {p.side} {p.line:g} | {_md(p.bookmaker)} | {p.odds:+.0f} | {p.ev:+.1%} | {p.p_win:.2f} "
            f"| {p.consensus_line:g} ({_plural(p.books, 'book')}) |"
        )
    return "\n".join(rows)


# --- performance summary ------------------------------------------------------------------------


def _row_sums(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Per graded row, the additive parts of everything the summary reports (windows and the
    "all" market are sums of them: one pass whatever the number of dates, periods, markets)."""
    a = accuracy
    played = a["played"].astype(bool).to_numpy()
    result = a["bet_result"].to_numpy()
    outcome = a["outcome"].to_numpy()
    books = a["books_p_over"].astype("float64").to_numpy()
    p = a["p_over"].astype("float64").to_numpy()
    brier = played & np.isin(outcome, ["OVER", "UNDER"]) & ~np.isnan(books)
    y = (outcome == "OVER").astype("float64")
    cols = {
        "graded": np.ones(len(a)),
        "played": played.astype("float64"),
        "abs_error": np.where(played, a["absolute_error"].astype("float64").fillna(0.0), 0.0),
        "line_error": np.where(played, a["line_error"].astype("float64").fillna(0.0), 0.0),
        "bets": np.isin(result, ["WIN", "LOSS", "PUSH"]).astype("float64"),
        "wins": (result == "WIN").astype("float64"),
        "losses": (result == "LOSS").astype("float64"),
        "pushes": (result == "PUSH").astype("float64"),
        "profit": a["profit_units"].astype("float64").to_numpy(),
        "brier_rows": brier.astype("float64"),
        "brier_sum": np.where(brier, (p - y) ** 2, 0.0),
        "books_brier_sum": np.where(brier, (np.nan_to_num(books) - y) ** 2, 0.0),
    }
    for source, prob in (("cal", np.nan_to_num(p)), ("books_cal", np.nan_to_num(books))):
        bucket = np.minimum((prob * CALIBRATION_BUCKETS).astype("int64"), CALIBRATION_BUCKETS - 1)
        for b in range(CALIBRATION_BUCKETS):
            in_b = brier & (bucket == b)
            cols[f"{source}{b}_n"] = in_b.astype("float64")
            cols[f"{source}{b}_p"] = np.where(in_b, prob, 0.0)
            cols[f"{source}{b}_y"] = np.where(in_b, y, 0.0)
    return pd.DataFrame(cols, index=pd.MultiIndex.from_arrays([a["game_date"].to_numpy(), a["market"].to_numpy()]))


def _calibration(row: np.ndarray, ix: dict[str, int], source: str = "cal") -> str:
    out = []
    for b in range(CALIBRATION_BUCKETS):
        n = row[ix[f"{source}{b}_n"]]
        if n > 0:
            out.append(
                {
                    "p_from": b / CALIBRATION_BUCKETS,
                    "p_to": (b + 1) / CALIBRATION_BUCKETS,
                    "rows": int(round(n)),
                    "mean_p_over": round(row[ix[f"{source}{b}_p"]] / n, 4),
                    "over_rate": round(row[ix[f"{source}{b}_y"]] / n, 4),
                }
            )
    return json.dumps(out)


def performance_summary(accuracy: pd.DataFrame, dates: Sequence[dt.date]) -> pd.DataFrame:
    """For each date D of `dates`, each period and each market (and all of them): how the
    predictions graded on the period's dates (ending at D) have done. `accuracy` must hold every
    graded date the periods reach."""
    if not dates:
        return summary_table.empty_frame()
    first = season_start(min(dates))
    calendar = pd.date_range(first - dt.timedelta(days=1), max(dates), freq="D")
    markets = list(MARKET_STATS)
    sums = _row_sums(accuracy)
    names = list(sums.columns)
    # daily sums as (calendar day, market, metric); the "all" market is the sum over the others
    daily = (
        sums.groupby(level=[0, 1])
        .sum()
        .reindex(pd.MultiIndex.from_product([calendar, markets]), fill_value=0.0)
        .to_numpy()
        .reshape(len(calendar), len(markets), len(names))
    )
    daily = np.concatenate([daily, daily.sum(axis=1, keepdims=True)], axis=1)
    cum = daily.cumsum(axis=0)
    # one window per (date, period); periods stay within the season: a summer of no games is not
    # part of "the last 30 days"
    ends = np.repeat(pd.to_datetime(list(dates)).to_numpy(), len(PERIODS))
    periods = np.tile(list(PERIODS), len(dates))
    seasons = np.repeat(pd.to_datetime([season_start(d) for d in dates]).to_numpy(), len(PERIODS))
    back = np.tile([np.timedelta64(0 if n is None else n - 1, "D") for n in PERIODS.values()], len(dates))
    unbounded = np.tile([n is None for n in PERIODS.values()], len(dates))
    starts = np.where(unbounded, seasons, np.maximum(ends - back, seasons))
    # windows are differences of the cumulative sums at the period's end and the day before it starts
    end_pos = calendar.get_indexer(ends)
    before_pos = calendar.get_indexer(starts - np.timedelta64(1, "D"))
    windows = (cum[end_pos] - cum[before_pos]).reshape(-1, len(names))  # rows: (date, period, market)
    w = pd.DataFrame(windows, columns=names)
    per_window = lambda x: np.repeat(x, len(MARKETS))  # noqa: E731
    market = np.tile(MARKETS, len(ends))

    def div(a: str, b: str) -> np.ndarray:
        return np.where(w[b] > 0, w[a] / w[b].where(w[b] > 0, 1.0), np.nan)

    def count(c: str) -> pd.Series:
        return w[c].round().astype("int64")

    ix = {n: i for i, n in enumerate(names)}
    out = pd.DataFrame(
        {
            "game_date": pd.to_datetime(per_window(ends)),
            "period": per_window(periods),
            "market": market,
            "period_start": pd.to_datetime(per_window(starts)),
            "graded": count("graded"),
            "played": count("played"),
            # stats of different markets are different units: no MAE over all of them
            "mae": np.where(market == ALL_MARKETS, np.nan, div("abs_error", "played")),
            "line_mae": np.where(market == ALL_MARKETS, np.nan, div("line_error", "played")),
            "bets": count("bets"),
            "wins": count("wins"),
            "losses": count("losses"),
            "pushes": count("pushes"),
            "hit_rate": np.where(
                w["wins"] + w["losses"] > 0, w["wins"] / (w["wins"] + w["losses"]).clip(lower=1), np.nan
            ),
            "profit_units": w["profit"].round(4),
            "roi": div("profit", "bets"),
            "brier_rows": count("brier_rows"),
            "brier": div("brier_sum", "brier_rows"),
            "books_brier": div("books_brier_sum", "brier_rows"),
            "calibration": [_calibration(r, ix) for r in windows],
            "books_calibration": [_calibration(r, ix, "books_cal") for r in windows],
        }
    )
    for c in ("mae", "line_mae", "hit_rate", "roi", "brier", "books_brier"):
        out[c] = out[c].round(4)
    return out


def summary_metadata(summary: pd.DataFrame) -> dict[str, dict[str, float | int]]:
    """Per date (partition key): the numbers its materialization carries, so the asset's Partitions
    plots chart the record by game date: the day's bets, profit and ROI over every market, the
    season's ROI and profit to date, and each market's MAE that day beside the line's (a value the
    day has not, such as the ROI of a day without bets, is left out rather than charted as 0)."""
    out: dict[str, dict[str, float | int]] = {}
    s = summary.assign(_day=summary["game_date"].dt.strftime("%Y-%m-%d"))
    rows = s.set_index(["_day", "period", "market"])
    wanted = [("day", ALL_MARKETS, c, c) for c in ("bets", "profit_units", "roi")]
    wanted += [("season", ALL_MARKETS, c, f"season_{c}") for c in ("bets", "profit_units", "roi", "hit_rate")]
    for market in MARKET_STATS:
        noun = PROP_MARKETS[market]
        wanted += [("day", market, "mae", f"mae_{noun}"), ("day", market, "line_mae", f"line_mae_{noun}")]
    for day in s["_day"].unique():
        values: dict[str, float | int] = {}
        for period, market, column, name in wanted:
            v = rows[column].get((day, period, market))
            if v is not None and not pd.isna(v):
                values[name] = int(v) if column == "bets" else float(v)
        out[day] = values
    return out
