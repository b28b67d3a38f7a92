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
from nba_pipeline.predictions import checks as checks
from nba_pipeline.core.checks.common import write_checked
from nba_pipeline.core.history import Needs, declare_needs, require, required_history, run_dates, same_date
from nba_pipeline.core.table_assets import record_partitions, table_asset_kwargs
from nba_pipeline.precompute import tables as precompute
from nba_pipeline.predictions import model, tables, transforms
from nba_pipeline.raw import tables as raw

GROUP = "nba_predictions"

# the window of every date of a week reaches back TRAINING_DAYS from its Monday
_TRAINING_WINDOW = dg.TimeWindowPartitionMapping(start_offset=-(model.TRAINING_DAYS + 6), end_offset=-1)


def _training_season_to_date(day: dt.date) -> list[str]:
    cutoff = model.training_cutoff(day)
    return required_history([cutoff])[cutoff.isoformat()]


def _training_season(upstream: dg.AssetKey) -> Needs:
    """The training season up to the cutoff (earlier seasons are optional history)."""
    return Needs(upstream, "its training window", _training_season_to_date)


POINTS_MODEL_NEEDS = declare_needs(
    [tables.points_model.asset_key],
    _training_season(precompute.ml_feature_store.asset_key),
    _training_season(analytics.player_game_summary.asset_key),
)


class PointsModelConfig(dg.Config):
    kind: str = model.DEFAULT_MODEL_KIND


@dg.asset(
    ins={
        "features": dg.AssetIn(precompute.ml_feature_store.asset_key, partition_mapping=_TRAINING_WINDOW),
        "results": dg.AssetIn(analytics.player_game_summary.asset_key, partition_mapping=_TRAINING_WINDOW),
        # checks: which dates have players in their games, so need a model
        "slate": dg.AssetIn(analytics.upcoming_player_game_context.asset_key),
    },
    **table_asset_kwargs(tables.points_model, GROUP, checks.points_model_checks),
)
def points_model(
    context: dg.AssetExecutionContext,
    config: PointsModelConfig,
    features: pd.DataFrame,
    results: pd.DataFrame,
    slate: pd.DataFrame,
):
    days = run_dates(context)
    require(context, POINTS_MODEL_NEEDS)
    models = model.fit_weekly(model.training_frame(features, results), days, config.kind)
    for day, m in models.items():
        if isinstance(m, str):
            meta = {"model_version": None, "no_model_reason": m}
        else:
            meta = {"model_version": m.version, "feature_version": m.feature_version, "training_cutoff": m.cutoff,
                    **m.metrics, "market_weight_points": m.market_weight_points,
                    "market_weight_prob": m.market_weight_prob}
        context.add_asset_metadata(meta, partition_key=day.isoformat())
    versions = sorted({m.version for m in models.values() if not isinstance(m, str)})
    df = record_partitions(context, tables.points_model, transforms.model_rows(models), {"model_versions": versions})
    yield from write_checked(context, checks.points_model_checks, df, {analytics.upcoming_player_game_context.name: slate})


PREDICTIONS_NEEDS = declare_needs(
    [tables.player_points_predictions.asset_key],
    *(same_date(k) for k in (precompute.ml_feature_store.asset_key, analytics.upcoming_player_game_context.asset_key,
                             tables.points_model.asset_key)),
)


@dg.asset(
    ins={
        "features": dg.AssetIn(precompute.ml_feature_store.asset_key),
        "context_rows": dg.AssetIn(analytics.upcoming_player_game_context.asset_key),
        "models": dg.AssetIn(tables.points_model.asset_key),
    },
    **table_asset_kwargs(tables.player_points_predictions, GROUP, checks.player_points_predictions_checks),
)
def player_points_predictions(
    context: dg.AssetExecutionContext, features: pd.DataFrame, context_rows: pd.DataFrame, models: pd.DataFrame
):
    require(context, PREDICTIONS_NEEDS)
    by_date = transforms.models_by_date(models)
    df = transforms.player_points_predictions(features, context_rows, by_date)
    df = record_partitions(context, tables.player_points_predictions, df)
    reads = {precompute.ml_feature_store.name: features, tables.points_model.name: models}
    yield from write_checked(context, checks.player_points_predictions_checks, df, reads)


ACCURACY_NEEDS = declare_needs(
    [tables.prediction_accuracy.asset_key],
    *(same_date(k) for k in (tables.player_points_predictions.asset_key, analytics.player_game_summary.asset_key,
                             raw.schedule.asset_key)),
)


@dg.asset(
    ins={
        "predictions": dg.AssetIn(tables.player_points_predictions.asset_key),
        "results": dg.AssetIn(analytics.player_game_summary.asset_key),
        "schedule": dg.AssetIn(raw.schedule.asset_key),
    },
    **table_asset_kwargs(tables.prediction_accuracy, GROUP, checks.prediction_accuracy_checks),
)
def prediction_accuracy(
    context: dg.AssetExecutionContext, predictions: pd.DataFrame, results: pd.DataFrame, schedule: pd.DataFrame
):
    require(context, ACCURACY_NEEDS)
    df = record_partitions(context, tables.prediction_accuracy, transforms.grade(predictions, results, schedule))
    reads = {tables.player_points_predictions.name: predictions, raw.schedule.name: schedule}
    yield from write_checked(context, checks.prediction_accuracy_checks, df, reads)


PREDICTION_ASSETS = [points_model, player_points_predictions, prediction_accuracy]
