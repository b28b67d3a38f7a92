"""Per-partition checks of the `nba_predictions` tables: a model for every game date, one
prediction per eligible player, probabilities in range, no line taken after tip-off, the share of
estimated lines, and exactly one grade per prediction of a final game."""

from collections.abc import Sequence

import dagster as dg
import pandas as pd

from nba_pipeline.analytics import tables as analytics
from nba_pipeline.core.checks.common import (
    day_counts,
    day_examples,
    failed_because,
    in_range_check,
    rows_match,
    table_checks,
)
from nba_pipeline.core.checks.partitioned import Outcome, Outcomes, PartitionCheck
from nba_pipeline.precompute import tables as precompute
from nba_pipeline.predictions import tables, transforms
from nba_pipeline.raw import tables as raw

UPC = analytics.upcoming_player_game_context.name
FS, PM, PPP, PA = (
    precompute.ml_feature_store.name,
    tables.points_model.name,
    tables.player_points_predictions.name,
    tables.prediction_accuracy.name,
)
# above this share of estimated lines a date's predictions are mostly our own guesses (WARN)
ESTIMATED_LINE_SHARE_WARN = 0.5


def model_for_every_game_date(models: pd.DataFrame, slate: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """A model for every date with players in its games (the slate: upcoming_player_game_context,
    whose players are exactly the feature rows)."""
    have, need = day_counts(models), day_counts(slate)
    return {
        k: Outcome(
            passed=not need.get(k) or have.get(k, 0) == 1,
            metadata={"slate_players": need.get(k, 0), "models": have.get(k, 0)},
            description=None
            if not need.get(k) or have.get(k, 0) == 1
            else failed_because(
                k,
                f"{have.get(k, 0)} model(s) for {need[k]} slate player(s): its training window has too little history "
                "(the points_model materialization's no_model_reason says why)",
            ),
        )
        for k in keys
    }


def expected_predictions(features: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """The (game_date, player_id) every date with a model must predict: eligible feature rows."""
    f = features[features["game_date"].isin(models["game_date"])]
    return f[transforms.eligible(f)].astype({"player_id": "int64"})


def lines_before_tip_off(pred: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    late = pred[
        pred["line_snapshot_time"].notna()
        & pred["game_start_time"].notna()
        & (pred["line_snapshot_time"] >= pred["game_start_time"])
    ]
    n_late, n_rows = day_counts(late), day_counts(pred[pred["line_source"] == "sportsbook"])
    examples = day_examples(late, ["game_id", "player_id", "line_snapshot_time", "game_start_time"])
    return {
        k: Outcome(
            passed=not n_late.get(k),
            metadata={
                "sportsbook_rows": n_rows.get(k, 0),
                "snapshot_at_or_after_tip_off": n_late.get(k, 0),
                "examples": dg.MetadataValue.json(examples.get(k, [])),
            },
            description=None
            if not n_late.get(k)
            else failed_because(
                k,
                f"{n_late[k]} prediction(s) priced from a snapshot taken at or after tip-off "
                f"(game, player, snapshot, tip-off), e.g. {examples[k][0]}",
            ),
        )
        for k in keys
    }


def estimated_line_share(pred: pd.DataFrame, keys: Sequence[str], limit: float = ESTIMATED_LINE_SHARE_WARN) -> Outcomes:
    est, total = day_counts(pred[pred["line_source"] == "estimated"]), day_counts(pred)
    out = {}
    for k in keys:
        share = est.get(k, 0) / total[k] if total.get(k) else 0.0
        out[k] = Outcome(
            passed=share <= limit,
            metadata={
                "predictions": total.get(k, 0),
                "estimated_lines": est.get(k, 0),
                "estimated_share": round(share, 4),
                "warn_above": limit,
            },
            description=None
            if share <= limit
            else failed_because(k, f"{est.get(k, 0)} of {total[k]} lines estimated ({share:.0%}) > {limit:.0%}"),
        )
    return out


def graded_predictions(
    accuracy: pd.DataFrame, pred: pd.DataFrame, schedule: pd.DataFrame, keys: Sequence[str]
) -> Outcomes:
    final = schedule.loc[schedule["status"] == "final", "game_id"]
    expected = pred[pred["game_id"].isin(final)]
    return rows_match(accuracy, expected, ["game_date", "player_id"], keys)


points_model_checks = table_checks(
    tables.points_model,
    [
        PartitionCheck(
            "model_for_every_game_date",
            "Every date with players in its games has its model "
            "(WARN: the data's first weeks have too little history to train on).",
            lambda f, k: model_for_every_game_date(f[PM], f[UPC], k),
            blocking=False,
            severity=dg.AssetCheckSeverity.WARN,
        ),
        in_range_check(tables.points_model),
    ],
    reads=[analytics.upcoming_player_game_context],
)

player_points_predictions_checks = table_checks(
    tables.player_points_predictions,
    [
        PartitionCheck(
            "one_prediction_per_eligible_player",
            f"Exactly one prediction per eligible player of a date with a model (a sportsbook line, or "
            f"{transforms.ELIGIBLE_MIN_MINUTES:g}+ recent minutes).",
            lambda f, k: rows_match(f[PPP], expected_predictions(f[FS], f[PM]), ["game_date", "player_id"], k),
        ),
        in_range_check(tables.player_points_predictions),
        PartitionCheck(
            "lines_before_tip_off",
            "No prediction uses an odds snapshot taken at or after its game's tip-off.",
            lambda f, k: lines_before_tip_off(f[PPP], k),
        ),
        PartitionCheck(
            "estimated_line_share",
            f"WARN when more than {ESTIMATED_LINE_SHARE_WARN:.0%} of a date's lines are estimated "
            "(no sportsbook line).",
            lambda f, k: estimated_line_share(f[PPP], k),
            blocking=False,
            severity=dg.AssetCheckSeverity.WARN,
        ),
    ],
    reads=[precompute.ml_feature_store, tables.points_model],
)

prediction_accuracy_checks = table_checks(
    tables.prediction_accuracy,
    [
        PartitionCheck(
            "one_grade_per_final_prediction",
            "Exactly one graded row per prediction of a final game (none missing, none extra).",
            lambda f, k: graded_predictions(f[PA], f[PPP], f["schedule"], k),
        ),
        in_range_check(tables.prediction_accuracy),
    ],
    reads=[tables.player_points_predictions, raw.schedule],
)
