"""`nba_predictions` assets: the weekly-retrained points model, the day's predictions from it,
and their grades once the games are final.

`points_model` is a daily-partitioned table whose partition D holds the model serving D, fitted
on dates before D's Monday: retraining is a materialization of the model asset, never a side
effect of predicting, and every prediction names the model version it came from.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from nba_pipeline.analytics import tables as analytics
from nba_pipeline.core.history import Requirement, required_history, run_dates
from nba_pipeline.core.table_assets import In, TableRows, table_asset
from nba_pipeline.precompute import tables as precompute
from nba_pipeline.predictions import checks as checks
from nba_pipeline.predictions import model, tables, transforms
from nba_pipeline.raw import tables as raw

# the window of every date of a week reaches back TRAINING_DAYS from its Monday
_TRAINING_WINDOW = dg.TimeWindowPartitionMapping(start_offset=-(model.TRAINING_DAYS + 6), end_offset=-1)


def training_season_to_date(day: dt.date) -> list[str]:
    cutoff = model.training_cutoff(day)
    return required_history([cutoff])[cutoff.isoformat()]


# the training season up to the cutoff (earlier seasons are optional history)
_TRAINING_SEASON = Requirement("its training window", training_season_to_date)


class PointsModelConfig(dg.Config):
    kind: str = model.DEFAULT_MODEL_KIND


@table_asset(
    checks.points_model_checks,
    ins={
        "features": In(precompute.ml_feature_store, _TRAINING_WINDOW, required=_TRAINING_SEASON),
        "results": In(analytics.player_game_summary, _TRAINING_WINDOW, required=_TRAINING_SEASON),
        # checks: which dates have players in their games, so need a model
        "slate": In(analytics.upcoming_player_game_context),
    },
)
def points_model(
    context: dg.AssetExecutionContext, config: PointsModelConfig, features: pd.DataFrame, results: pd.DataFrame
):
    models = model.fit_weekly(model.training_frame(features, results), run_dates(context), config.kind)
    for day, m in models.items():
        if isinstance(m, str):
            meta = {"model_version": None, "no_model_reason": m}
        else:
            meta = {
                "model_version": m.version,
                "feature_version": m.feature_version,
                "training_cutoff": m.cutoff,
                **m.metrics,
                "market_weight_points": m.market_weight_points,
                "market_weight_prob": m.market_weight_prob,
            }
        context.add_asset_metadata(meta, partition_key=day.isoformat())
    versions = sorted({m.version for m in models.values() if not isinstance(m, str)})
    return TableRows(transforms.model_rows(models), facts={"model_versions": versions})


@table_asset(
    checks.player_points_predictions_checks,
    ins={
        "features": In(precompute.ml_feature_store),
        "context_rows": In(analytics.upcoming_player_game_context),
        "models": In(tables.points_model),
    },
)
def player_points_predictions(features: pd.DataFrame, context_rows: pd.DataFrame, models: pd.DataFrame):
    return transforms.player_points_predictions(features, context_rows, transforms.models_by_date(models))


@table_asset(
    checks.prediction_accuracy_checks,
    ins={
        "predictions": In(tables.player_points_predictions),
        "results": In(analytics.player_game_summary),
        "schedule": In(raw.schedule),
    },
)
def prediction_accuracy(predictions: pd.DataFrame, results: pd.DataFrame, schedule: pd.DataFrame):
    return transforms.grade(predictions, results, schedule)
