"""`nba_predictions` assets: the weekly-retrained prop models (one per market), every quote
priced and the day's predictions from them, and their grades once the games are final.

`prop_models` is a daily-partitioned table whose partition D holds the models serving D, fitted
on dates before D's Monday: retraining is a materialization of the model asset, never a side
effect of predicting, and every prediction names the model version it came from.
"""

import datetime as dt

import dagster as dg
import pandas as pd
from pydantic import Field

from nba_pipeline.analytics import tables as analytics
from nba_pipeline.core.history import Requirement, required_history, run_dates
from nba_pipeline.core.table_assets import In, TableRows, table_asset, table_multi_asset
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


class PropModelsConfig(dg.Config):
    kind: str = model.DEFAULT_MODEL_KIND


@table_asset(
    checks.prop_models_checks,
    ins={
        "features": In(precompute.ml_feature_store, _TRAINING_WINDOW, required=_TRAINING_SEASON),
        "results": In(analytics.player_game_summary, _TRAINING_WINDOW, required=_TRAINING_SEASON),
        # the books' probabilities the pooling weight is fitted against (dates before the props
        # data have their partitions, empty)
        "quotes": In(analytics.player_prop_quotes, _TRAINING_WINDOW, required=_TRAINING_SEASON),
        # checks: which dates have players in their games, so need models
        "slate": In(analytics.upcoming_player_game_context),
    },
)
def prop_models(
    context: dg.AssetExecutionContext,
    config: PropModelsConfig,
    features: pd.DataFrame,
    results: pd.DataFrame,
    quotes: pd.DataFrame,
):
    models = model.fit_weekly(model.training_frame(features, results), run_dates(context), config.kind, quotes)
    for day, by_market in models.items():
        meta = {}
        for market, m in by_market.items():
            label = raw.PROP_MARKETS[market]
            if isinstance(m, str):
                meta[f"{label}/no_model_reason"] = m
            else:
                meta[f"{label}/model_version"] = m.version
                meta[f"{label}/validation_mae"] = m.metrics["validation_mae"]
                meta[f"{label}/validation_baseline_mae"] = m.metrics["validation_baseline_mae"]
                meta[f"{label}/variance"] = f"{m.variance[0]:g} x mean + {m.variance[1]:g} x mean^2"
                meta[f"{label}/market_weight_mean"] = m.market_weight_mean
                meta[f"{label}/market_weight_prob"] = m.market_weight_prob
        context.add_asset_metadata(meta, partition_key=day.isoformat())
    versions = sorted({m.version for by in models.values() for m in by.values() if not isinstance(m, str)})
    return TableRows(transforms.model_rows(models), facts={"model_versions": versions})


class PropPredictionsConfig(dg.Config):
    ev_threshold: float = Field(
        default=tables.DEFAULT_EV_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="expected profit per unit a quote needs, at its own price, to be recommended",
    )


@table_multi_asset(
    [checks.prop_prices_checks, checks.player_prop_predictions_checks],
    ins={
        "features": In(precompute.ml_feature_store),
        "context_rows": In(analytics.upcoming_player_game_context),
        "quotes": In(analytics.player_prop_quotes),
        "models": In(tables.prop_models),
    },
)
def prop_predictions(
    config: PropPredictionsConfig,
    features: pd.DataFrame,
    context_rows: pd.DataFrame,
    quotes: pd.DataFrame,
    models: pd.DataFrame,
):
    """Every quote priced and, from those prices, each lined player and market's prediction and
    recommendation: one step, so a recommendation is always one of the stored prices."""
    by_date = transforms.models_by_date(models)
    by_version = {m.version: m for m in by_date.values()}
    means = transforms.lined_means(features, by_date, quotes)
    prices = transforms.prop_prices(quotes, means, by_version)
    predictions = transforms.player_prop_predictions(means, prices, context_rows, by_version, config.ev_threshold)
    bets = predictions[predictions["recommendation"] != "PASS"]
    facts = {
        "ev_threshold": config.ev_threshold,
        "recommendations_by_market": {str(k): int(v) for k, v in bets["market"].value_counts().sort_index().items()},
    }
    return prices, TableRows(predictions, facts=facts)


@table_asset(
    checks.prediction_accuracy_checks,
    ins={
        "predictions": In(tables.player_prop_predictions),
        "results": In(analytics.player_game_summary),
        "schedule": In(raw.schedule),
    },
)
def prediction_accuracy(predictions: pd.DataFrame, results: pd.DataFrame, schedule: pd.DataFrame):
    return transforms.grade(predictions, results, schedule)
