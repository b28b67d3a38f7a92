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
from nba_pipeline.exports.tables import CALIBRATION_BUCKETS, PERIODS
from nba_pipeline.exports.tables import performance_summary as summary_table
from nba_pipeline.predictions.tables import BREAK_EVEN

# ml_feature_store columns a pick's reasoning carries (the rest come from the prediction)
REASONING_FEATURES = (
    "points_avg_season",
    "points_avg_last10",
    "points_avg_last5",
    "points_avg_recent20",
    "season_games_played",
    "minutes_avg_last5",
    "minutes_trend",
    "usage_trend",
    "opponent_defensive_rating_vs_league",
    "pace_differential",
    "implied_team_total",
    "rest_days",
    "back_to_back",
    "is_home",
)


def top_picks(predictions: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """Per date: the OVER/UNDER recommendations against a sportsbook line with the largest edge,
    at most top_n, ranked (ties broken by player id, so a re-run ranks alike)."""
    c = predictions[(predictions["recommendation"] != "PASS") & (predictions["line_source"] == "sportsbook")]
    c = c.sort_values(["game_date", "edge", "player_id"], ascending=[True, False, True])
    c = c.assign(rank=c.groupby("game_date").cumcount() + 1)
    return c[c["rank"] <= top_n].reset_index(drop=True)


def _opt(x) -> float | None:
    return None if x is None or pd.isna(x) else round(float(x), 4)


def _opt_int(x) -> int | None:
    return None if x is None or pd.isna(x) else int(x)


def _signed(x: float) -> str:
    return f"{x:+.1f}"


def pick_summary(p: Pick) -> str:
    """One sentence a reader can check against the numbers: model vs line, form, matchup, rest."""
    r = p.reasoning
    parts = [
        f"{p.recommendation} {p.line:g} ({p.books} books): model {r.model_points:.1f} "
        f"({_signed(r.model_points - p.line)} vs the line), P(over) {p.p_over:.0%}"
    ]
    if r.points_avg_last10 is not None and r.points_avg_season is not None:
        parts.append(
            f"last 10 {r.points_avg_last10:.1f}, season {r.points_avg_season:.1f} over {r.season_games_played} games"
        )
    elif r.points_avg_recent20 is not None:
        parts.append(f"no game this season yet; last 20 {r.points_avg_recent20:.1f}")
    if r.opponent_defensive_rating_vs_league is not None:
        pct = 100 * r.opponent_defensive_rating_vs_league
        parts.append(
            f"{p.opponent} allow {abs(pct):.1f}% {'more' if pct >= 0 else 'fewer'} points per 100 than the league"
        )
    if r.minutes_trend is not None and abs(r.minutes_trend) >= 2:
        parts.append(f"minutes trend {_signed(r.minutes_trend)}")
    if r.back_to_back:
        parts.append("second night of a back-to-back")
    elif r.rest_days is not None:
        parts.append(f"{r.rest_days} day{'s' if r.rest_days != 1 else ''} rest")
    return "; ".join(parts)


def best_bets_files(
    predictions: pd.DataFrame,
    features: pd.DataFrame,
    dates: Sequence[dt.date],
    top_n: int,
    generated_at: dt.datetime,
    run_id: str,
) -> dict[str, BestBetsFile]:
    """One file per date of `dates` (empty picks where there are none)."""
    picks = top_picks(predictions, top_n)
    f = features[["game_date", "player_id", *REASONING_FEATURES]].astype({"player_id": "int64"})
    picks = picks.astype({"player_id": "int64"}).merge(f, on=["game_date", "player_id"], how="left", validate="1:1")
    day_of = lambda s: s.dt.strftime("%Y-%m-%d")  # noqa: E731
    n_pred = (
        predictions.groupby(day_of(predictions["game_date"])).size() if len(predictions) else pd.Series(dtype="int64")
    )
    cands = predictions[(predictions["recommendation"] != "PASS") & (predictions["line_source"] == "sportsbook")]
    n_cand = cands.groupby(day_of(cands["game_date"])).size() if len(cands) else pd.Series(dtype="int64")
    versions = (
        predictions.groupby(day_of(predictions["game_date"]))["model_version"].unique() if len(predictions) else {}
    )
    feature_version = (
        predictions.groupby(day_of(predictions["game_date"]))["feature_version"].first() if len(predictions) else {}
    )
    by_day: dict[str, list[Pick]] = {}
    for row in picks.to_dict("records"):
        reasoning = Reasoning(
            model_points=round(float(row["model_points"]), 4),
            predicted_spread=round(float(row["predicted_spread"]), 4),
            books_p_over=_opt(row["books_p_over"]),
            **{
                k: _opt(row[k])
                for k in (
                    "points_avg_season",
                    "points_avg_last10",
                    "points_avg_last5",
                    "points_avg_recent20",
                    "minutes_avg_last5",
                    "minutes_trend",
                    "usage_trend",
                    "opponent_defensive_rating_vs_league",
                    "pace_differential",
                    "implied_team_total",
                )
            },
            season_games_played=_opt_int(row["season_games_played"]) or 0,
            rest_days=_opt_int(row["rest_days"]),
            back_to_back=bool(row["back_to_back"] == 1),
            is_home=bool(row["is_home"] == 1),
        )
        pick = Pick(
            rank=int(row["rank"]),
            game_id=str(row["game_id"]),
            game_start_time=None if pd.isna(row["game_start_time"]) else row["game_start_time"].to_pydatetime(),
            player_id=int(row["player_id"]),
            player_name=None if pd.isna(row["player_name"]) else str(row["player_name"]),
            team=str(row["team"]),
            opponent=str(row["opponent"]),
            recommendation=row["recommendation"],
            line=float(row["line"]),
            books=int(row["books"]),
            line_snapshot_time=None
            if pd.isna(row["line_snapshot_time"])
            else row["line_snapshot_time"].to_pydatetime(),
            predicted_points=round(float(row["predicted_points"]), 4),
            p_over=round(float(row["p_over"]), 4),
            edge=round(float(row["edge"]), 4),
            confidence=round(float(row["confidence"]), 4),
            summary="",
            reasoning=reasoning,
        )
        pick.summary = pick_summary(pick)
        by_day.setdefault(row["game_date"].strftime("%Y-%m-%d"), []).append(pick)
    out = {}
    for day in dates:
        key = day.isoformat()
        out[key] = BestBetsFile(
            game_date=day,
            generated_at=generated_at,
            run_id=run_id,
            model_versions=sorted(str(v) for v in versions.get(key, [])),
            feature_version=None if key not in feature_version else str(feature_version[key]),
            break_even=round(BREAK_EVEN, 4),
            top_n=top_n,
            predictions=int(n_pred.get(key, 0)),
            candidates=int(n_cand.get(key, 0)),
            picks=by_day.get(key, []),
        )
    return out


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|#"} | {"<": "&lt;", ">": "&gt;"})


def _md(text: str) -> str:
    """Text as itself in a Markdown table cell (a name holding `|` or `*` must not break the table)."""
    return text.translate(_MD_SPECIAL)


def picks_markdown(f: BestBetsFile) -> str:
    """The date's picks as a Markdown table, for the partition's materialization in the UI."""
    if not f.picks:
        return (
            f"No picks for {f.game_date}: {f.candidates} of {f.predictions} predictions were "
            "OVER/UNDER recommendations against a sportsbook line."
        )
    rows = ["| # | player | game | pick | p(over) | edge | books |", "|--:|---|---|---|--:|--:|--:|"]
    for p in f.picks:
        game = f"{p.team} {'vs' if p.reasoning.is_home else '@'} {p.opponent}"
        rows.append(
            f"| {p.rank} | {_md(p.player_name or str(p.player_id))} | {_md(game)} | {p.recommendation} {p.line:g} "
            f"| {p.p_over:.2f} | {p.edge:+.3f} | {p.books} |"
        )
    return "\n".join(rows)


# --- performance summary ------------------------------------------------------------------------


def _daily_sums(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Additive per-date sums of everything the summary reports (windows are differences of
    their cumulative sums: one pass whatever the number of dates and periods)."""
    a = accuracy
    played = a["played"].astype(bool).to_numpy()
    sb = played & (a["line_source"] == "sportsbook").to_numpy()
    err = a["absolute_error"].astype("float64").fillna(0.0).to_numpy()
    actual = a["actual_points"].astype("float64").to_numpy()
    line = a["line"].astype("float64").to_numpy()
    result = a["bet_result"].to_numpy()
    outcome = a["outcome"].to_numpy()
    books = a["books_p_over"].astype("float64").to_numpy()
    p = a["p_over"].astype("float64").to_numpy()
    brier = sb & np.isin(outcome, ["OVER", "UNDER"]) & ~np.isnan(books)
    y = (outcome == "OVER").astype("float64")
    cols = {
        "graded": np.ones(len(a)),
        "played": played.astype("float64"),
        "abs_error": np.where(played, err, 0.0),
        "sb_played": sb.astype("float64"),
        "sb_abs_error": np.where(sb, err, 0.0),
        "sb_line_error": np.where(sb, np.abs(np.nan_to_num(actual) - line), 0.0),
        "bets": np.isin(result, ["WIN", "LOSS", "PUSH"]).astype("float64"),
        "wins": (result == "WIN").astype("float64"),
        "losses": (result == "LOSS").astype("float64"),
        "pushes": (result == "PUSH").astype("float64"),
        "profit": a["profit_units"].astype("float64").to_numpy(),
        "brier_rows": brier.astype("float64"),
        "brier_sum": np.where(brier, (p - y) ** 2, 0.0),
        "books_brier_sum": np.where(brier, (np.nan_to_num(books) - y) ** 2, 0.0),
    }
    bucket = np.minimum((p * CALIBRATION_BUCKETS).astype("int64"), CALIBRATION_BUCKETS - 1)
    for b in range(CALIBRATION_BUCKETS):
        in_b = brier & (bucket == b)
        cols[f"cal{b}_n"] = in_b.astype("float64")
        cols[f"cal{b}_p"] = np.where(in_b, p, 0.0)
        cols[f"cal{b}_y"] = np.where(in_b, y, 0.0)
    return pd.DataFrame(cols, index=a["game_date"].to_numpy()).groupby(level=0).sum()


def _calibration(row: np.ndarray, names: list[str]) -> str:
    ix = {n: i for i, n in enumerate(names)}
    out = []
    for b in range(CALIBRATION_BUCKETS):
        n = row[ix[f"cal{b}_n"]]
        if n > 0:
            out.append(
                {
                    "p_from": b / CALIBRATION_BUCKETS,
                    "p_to": (b + 1) / CALIBRATION_BUCKETS,
                    "rows": int(round(n)),
                    "mean_p_over": round(row[ix[f"cal{b}_p"]] / n, 4),
                    "over_rate": round(row[ix[f"cal{b}_y"]] / n, 4),
                }
            )
    return json.dumps(out)


def performance_summary(accuracy: pd.DataFrame, dates: Sequence[dt.date]) -> pd.DataFrame:
    """For each date D of `dates` and each period: how the predictions graded on the period's
    dates (ending at D) have done. `accuracy` must hold every graded date the periods reach."""
    if not dates:
        return summary_table.empty_frame()
    first = season_start(min(dates))
    calendar = pd.date_range(first - dt.timedelta(days=1), max(dates), freq="D")
    daily = _daily_sums(accuracy)
    names = list(daily.columns)
    daily = daily.reindex(calendar, fill_value=0.0)
    cum = daily.cumsum().to_numpy()
    # one row per (date, period); periods stay within the season: a summer of no games is not
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
    rows = cum[end_pos] - cum[before_pos]
    w = pd.DataFrame(rows, columns=names)
    div = lambda a, b: np.where(w[b] > 0, w[a] / w[b].where(w[b] > 0, 1.0), np.nan)  # noqa: E731
    out = pd.DataFrame(
        {
            "game_date": pd.to_datetime(ends),
            "period": periods,
            "period_start": pd.to_datetime(starts),
            "graded": w["graded"].round().astype("int64"),
            "played": w["played"].round().astype("int64"),
            "mae": div("abs_error", "played"),
            "sportsbook_played": w["sb_played"].round().astype("int64"),
            "mae_sportsbook": div("sb_abs_error", "sb_played"),
            "line_mae": div("sb_line_error", "sb_played"),
            "bets": w["bets"].round().astype("int64"),
            "wins": w["wins"].round().astype("int64"),
            "losses": w["losses"].round().astype("int64"),
            "pushes": w["pushes"].round().astype("int64"),
            "hit_rate": np.where(
                w["wins"] + w["losses"] > 0, w["wins"] / (w["wins"] + w["losses"]).clip(lower=1), np.nan
            ),
            "profit_units": w["profit"].round(4),
            "roi": div("profit", "bets"),
            "brier_rows": w["brier_rows"].round().astype("int64"),
            "brier": div("brier_sum", "brier_rows"),
            "books_brier": div("books_brier_sum", "brier_rows"),
            "calibration": [_calibration(r, names) for r in w.to_numpy()],
        }
    )
    for c in ("mae", "mae_sportsbook", "line_mae", "hit_rate", "roi", "brier", "books_brier"):
        out[c] = out[c].round(4)
    return out
