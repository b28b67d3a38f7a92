"""`nba_exports` assets: the best-bets file of each game date and the daily performance summary.

`best_bets` writes files, not a warehouse table: its output is None (no IO manager involved) and
it writes through the `exports` resource, one atomic replace per date, then checks the files as
read back from disk. A failed step records no
materialization, so a date's file is "done" exactly when its partition is materialized.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from nba_pipeline.exports import checks as checks
from nba_pipeline.core.checks.common import write_checked
from nba_pipeline.exports import files, tables, transforms
from nba_pipeline.core.history import declare_needs, history_mapping, require, run_dates, same_date, season_through_date
from nba_pipeline.core.table_assets import WAREHOUSE_POOL, record_partitions, table_asset_kwargs
from nba_pipeline.core.partitions import game_date_partitions
from nba_pipeline.precompute import tables as precompute
from nba_pipeline.predictions import tables as predictions_tables
from nba_pipeline.exports.directory import ExportsDirectory

GROUP = "nba_exports"


class BestBetsConfig(dg.Config):
    top_n: int = files.DEFAULT_TOP_N


BEST_BETS_NEEDS = declare_needs(
    [files.best_bets.asset_key],
    same_date(predictions_tables.player_points_predictions.asset_key),
    same_date(precompute.ml_feature_store.asset_key),
)


@dg.asset(
    key=files.best_bets.asset_key,
    group_name=GROUP,
    description=files.best_bets.description,
    ins={
        "predictions": dg.AssetIn(predictions_tables.player_points_predictions.asset_key),
        "features": dg.AssetIn(precompute.ml_feature_store.asset_key),
    },
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    code_version=files.best_bets.code_version,
    kinds={"json", "file"},
    pool=WAREHOUSE_POOL,  # its inputs are read from the warehouse
    metadata={"schema": "docs/best_bets.schema.json", "schema_version": files.SCHEMA_VERSION},
    check_specs=checks.best_bets_checks.specs,
    dagster_type=dg.Nothing,  # files, not a value for an IO manager
)
def best_bets(
    context: dg.AssetExecutionContext,
    config: BestBetsConfig,
    exports: ExportsDirectory,
    predictions: pd.DataFrame,
    features: pd.DataFrame,
):
    require(context, BEST_BETS_NEEDS)
    generated_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    out = transforms.best_bets_files(
        predictions, features, run_dates(context), config.top_n, generated_at, context.run.run_id
    )
    # every file is built (and validated by its model) before the first is written
    for day, payload in out.items():
        relative = files.best_bets.relative_path(day)
        path = exports.write_text(relative, payload.model_dump_json(indent=2) + "\n")
        url = exports.url_of(relative)
        context.add_asset_metadata(
            {"path": dg.MetadataValue.path(str(path)), **({"url": dg.MetadataValue.url(url)} if url else {}),
             "picks": dg.MetadataValue.md(transforms.picks_markdown(payload)),
             "dagster/partition_row_count": len(payload.picks),
             "candidates": payload.candidates, "predictions": payload.predictions},
            partition_key=day,
        )
    yield dg.Output(None)
    # checked as read back from disk: what a reader of the files gets
    frames = {"files": checks.read_back(exports, context.partition_keys),
              predictions_tables.player_points_predictions.name: predictions}
    yield from checks.best_bets_checks.evaluate(context, frames)


# the season's grades up to and including each date must exist, or its periods would be short
PERFORMANCE_SUMMARY_NEEDS = declare_needs(
    [tables.performance_summary.asset_key],
    season_through_date(predictions_tables.prediction_accuracy.asset_key, "its periods"),
)


@dg.asset(
    ins={
        # the date and the season before it: every period lies within the date's season
        "accuracy": dg.AssetIn(
            predictions_tables.prediction_accuracy.asset_key, partition_mapping=history_mapping(include_same_day=True)
        ),
    },
    **table_asset_kwargs(tables.performance_summary, GROUP, checks.performance_summary_checks),
)
def performance_summary(context: dg.AssetExecutionContext, accuracy: pd.DataFrame):
    days = run_dates(context)
    require(context, PERFORMANCE_SUMMARY_NEEDS)
    df = record_partitions(context, tables.performance_summary, transforms.performance_summary(accuracy, days))
    same_day = accuracy[accuracy["game_date"].isin(pd.to_datetime(days))]
    yield from write_checked(context, checks.performance_summary_checks, df, {predictions_tables.prediction_accuracy.name: same_day})


EXPORT_ASSETS = [best_bets, performance_summary]
