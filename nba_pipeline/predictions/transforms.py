"""Pure transforms of the predictions layer, vectorised over every date of a run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from nba_pipeline.predictions import tables
from nba_pipeline.predictions.model import PointsModel, model_inputs

# who gets a prediction without a sportsbook line: a player whose recent minutes make an
# estimated line meaningful (deep-bench players would swamp the estimated-line share)
ELIGIBLE_MIN_MINUTES = 15.0


def model_rows(models: Mapping[dt.date, PointsModel | str]) -> pd.DataFrame:
    """points_model table rows: one per date a model serves (dates without one are left out)."""
    rows = []
    for day, m in sorted(models.items()):
        if isinstance(m, str):
            continue
        rows.append(
            {
                "game_date": pd.Timestamp(day),
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
                "market_weight_points": m.market_weight_points,
                "market_weight_prob": m.market_weight_prob,
                "market_rows": m.metrics["validation_lined_rows"],
                "model_json": m.to_json(),
            }
        )
    return pd.DataFrame(rows, columns=tables.points_model.column_names)


def models_by_date(model_table: pd.DataFrame) -> dict[pd.Timestamp, PointsModel]:
    """Deserialise each date's model once per distinct version (a week's dates share one)."""
    cache: dict[str, PointsModel] = {}
    out = {}
    for day, version, text in model_table[["game_date", "model_version", "model_json"]].itertuples(index=False):
        if version not in cache:
            cache[version] = PointsModel.from_json(text)
        out[pd.Timestamp(day)] = cache[version]
    return out


def estimated_line(features: pd.DataFrame) -> pd.Series:
    """The half-point line a book would likely post: the player's last-10 average (recent20 where
    he has no game this season), rounded down to x.5."""
    return np.floor(model_inputs(features)["points_avg_last10"]) + 0.5


def eligible(features: pd.DataFrame) -> pd.Series:
    """Rows that get a prediction: a sportsbook line, or ELIGIBLE_MIN_MINUTES of recent minutes
    and the history to estimate a line from."""
    x = model_inputs(features)
    estimable = (x["minutes_avg_last10"] >= ELIGIBLE_MIN_MINUTES) & x["points_avg_last10"].notna()
    return features["points_line"].notna() | estimable


def player_points_predictions(
    features: pd.DataFrame, context: pd.DataFrame, models: Mapping[pd.Timestamp, PointsModel]
) -> pd.DataFrame:
    """`features`: ml_feature_store rows of the run dates; `context`: the same dates'
    upcoming_player_game_context (tip-off and snapshot times); `models`: the model of each date
    (dates without one get no predictions: the caller reports them)."""
    f = features[features["game_date"].isin(list(models)) & eligible(features)].reset_index(drop=True)
    if f.empty:
        return tables.player_points_predictions.empty_frame()
    ctx = context.astype({"player_id": "int64"}).set_index(["game_date", "player_id"])
    at = ctx.reindex(pd.MultiIndex.from_frame(f[["game_date", "player_id"]].astype({"player_id": "int64"})))
    sportsbook = f["points_line"].notna().to_numpy()
    line = np.where(sportsbook, f["points_line"].to_numpy(dtype="float64"), estimated_line(f).to_numpy())
    books_p = np.where(sportsbook, f["points_line_over_prob"].to_numpy(dtype="float64"), np.nan)
    # a week's dates share one model: one pass per model version, not per date
    by_version = {m.version: m for m in models.values()}
    version = f["game_date"].map({pd.Timestamp(d): m.version for d, m in models.items()})
    parts = []
    for v, rows in f.groupby(version, sort=True).groups.items():
        m = by_version[v]
        i = np.asarray(rows)
        mean = m.mean(f.iloc[i])
        p_model = m.prob_over(mean, line[i])
        market_line = np.where(sportsbook[i], line[i], np.nan)
        parts.append(
            pd.DataFrame(
                {
                    "_i": i,
                    "model_points": mean,
                    "predicted_points": m.blend_points(mean, market_line),
                    "predicted_spread": m.spread(mean),
                    "model_p_over": p_model,
                    "p_over": m.blend_prob(p_model, books_p[i]),
                    "model_version": m.version,
                    "feature_version": m.feature_version,
                }
            )
        )
    pred = pd.concat(parts).sort_values("_i").reset_index(drop=True)
    p_over = pred["p_over"].to_numpy()
    confidence = np.maximum(p_over, 1 - p_over)
    edge = confidence - tables.BREAK_EVEN
    # only a line a book offers can be bet, and only where the better side beats the vig
    bet = sportsbook & (edge > 0)
    recommendation = np.where(bet, np.where(p_over > 0.5, "OVER", "UNDER"), "PASS")
    out = pd.DataFrame(
        {
            "game_date": f["game_date"],
            "game_id": f["game_id"],
            "player_id": f["player_id"].astype("int64"),
            "player_name": f["player_name"],
            "team": f["team"],
            "opponent": f["opponent"],
            "game_start_time": at["start_time_utc"].to_numpy(),
            "predicted_points": pred["predicted_points"].round(3),
            "model_points": pred["model_points"].round(3),
            "predicted_spread": pred["predicted_spread"].round(3),
            "line": line,
            "line_source": np.where(sportsbook, "sportsbook", "estimated"),
            "books": np.where(sportsbook, f["points_line_books"].fillna(0), 0).astype("int64"),
            "line_snapshot_time": np.where(sportsbook, at["line_snapshot_time"].to_numpy(), pd.NaT),
            "p_over": p_over.round(4),
            "model_p_over": pred["model_p_over"].round(4),
            "books_p_over": books_p,
            "recommendation": recommendation,
            "edge": edge.round(4),
            "confidence": confidence.round(4),
            "model_version": pred["model_version"],
            "feature_version": pred["feature_version"],
        }
    )
    return out.sort_values(["game_date", "game_id", "team", "player_id"]).reset_index(drop=True)


def grade(predictions: pd.DataFrame, results: pd.DataFrame, schedule: pd.DataFrame) -> pd.DataFrame:
    """Predictions of FINAL games (`schedule` status) against `results` (player_game_summary).
    A prediction of a game not final yet is not graded (its date is re-graded when it is)."""
    final = schedule.loc[schedule["status"] == "final", "game_id"]
    p = predictions[predictions["game_id"].isin(final)].reset_index(drop=True)
    if p.empty:
        return tables.prediction_accuracy.empty_frame()
    r = results[["game_id", "player_id", "points"]].astype({"player_id": "int64"}).set_index(["game_id", "player_id"])
    actual = r["points"].reindex(pd.MultiIndex.from_frame(p[["game_id", "player_id"]].astype({"player_id": "int64"})))
    played = actual.notna().to_numpy()
    y = actual.to_numpy(dtype="float64")
    line = p["line"].to_numpy(dtype="float64")
    outcome = np.select([~played, y > line, y < line], ["VOID", "OVER", "UNDER"], "PUSH")
    rec = p["recommendation"].to_numpy()
    result = np.select(
        [rec == "PASS", outcome == "VOID", outcome == "PUSH", rec == outcome],
        ["NO_BET", "VOID", "PUSH", "WIN"],
        "LOSS",
    )
    profit = np.select([result == "WIN", result == "LOSS"], [tables.WIN_PAYOUT, -1.0], 0.0)
    return pd.DataFrame(
        {
            "game_date": p["game_date"],
            "game_id": p["game_id"],
            "player_id": p["player_id"].astype("int64"),
            "player_name": p["player_name"],
            "team": p["team"],
            "line": line,
            "line_source": p["line_source"],
            "predicted_points": p["predicted_points"],
            "p_over": p["p_over"],
            "books_p_over": p["books_p_over"],
            "recommendation": rec,
            "played": played,
            "actual_points": pd.array(np.where(played, y, np.nan), dtype="Float64").astype("Int64"),
            "absolute_error": np.where(played, np.abs(y - p["predicted_points"].to_numpy(dtype="float64")), np.nan),
            "outcome": outcome,
            "bet_result": result,
            "profit_units": profit.round(4),
            "model_version": p["model_version"],
        }
    )
