"""`nba_precompute` assets: per player/team in a date's games, features from earlier dates.

Each reads its history through `history_mapping()` (D-HISTORY_DAYS .. D-1, never D itself) and the
date's slate (who plays) from the upcoming contexts; `require_history` fails the step, writing
nothing, when a partition of the season's history was never materialized (Dagster would silently
shorten the window instead).
"""

import dagster as dg
import pandas as pd

from nba_pipeline.analytics import tables as analytics
from nba_pipeline.history import history_mapping, record_history_window, require_history, require_same_day
from nba_pipeline.layer import record_partitions, table_asset_kwargs
from nba_pipeline.precompute import tables, transforms

GROUP = "nba_precompute"


def _same_day(context, *keys: dg.AssetKey) -> None:
    for key in keys:
        require_same_day(context, key)


def _frame(table, df: pd.DataFrame) -> pd.DataFrame:
    return df if len(df) else table.empty_frame()


@dg.asset(
    ins={
        "context_rows": dg.AssetIn(analytics.upcoming_player_game_context.asset_key),
        "history": dg.AssetIn(analytics.player_game_summary.asset_key, partition_mapping=history_mapping()),
    },
    **table_asset_kwargs(tables.player_daily_cache, GROUP),
)
def player_daily_cache(context: dg.AssetExecutionContext, context_rows: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    _same_day(context, analytics.upcoming_player_game_context.asset_key)
    require_history(context, analytics.player_game_summary.asset_key)
    record_history_window(context, analytics.player_game_summary.asset_key, history)
    df = transforms.player_daily_cache(context_rows, history)
    return record_partitions(context, tables.player_daily_cache, _frame(tables.player_daily_cache, df))


@dg.asset(
    ins={
        "context_rows": dg.AssetIn(analytics.upcoming_player_game_context.asset_key),
        "history": dg.AssetIn(analytics.player_game_summary.asset_key, partition_mapping=history_mapping()),
    },
    **table_asset_kwargs(tables.player_shot_zone_analysis, GROUP),
)
def player_shot_zone_analysis(context: dg.AssetExecutionContext, context_rows: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    _same_day(context, analytics.upcoming_player_game_context.asset_key)
    require_history(context, analytics.player_game_summary.asset_key)
    record_history_window(context, analytics.player_game_summary.asset_key, history)
    df = transforms.player_shot_zone_analysis(context_rows, history)
    return record_partitions(context, tables.player_shot_zone_analysis, _frame(tables.player_shot_zone_analysis, df))


@dg.asset(
    ins={
        "team_context": dg.AssetIn(analytics.upcoming_team_game_context.asset_key),
        "history": dg.AssetIn(analytics.team_defense_game_summary.asset_key, partition_mapping=history_mapping()),
    },
    **table_asset_kwargs(tables.team_defense_zone_analysis, GROUP),
)
def team_defense_zone_analysis(context: dg.AssetExecutionContext, team_context: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    _same_day(context, analytics.upcoming_team_game_context.asset_key)
    require_history(context, analytics.team_defense_game_summary.asset_key)
    record_history_window(context, analytics.team_defense_game_summary.asset_key, history)
    df = transforms.team_defense_zone_analysis(team_context, history)
    return record_partitions(context, tables.team_defense_zone_analysis, _frame(tables.team_defense_zone_analysis, df))


@dg.asset(
    ins={
        "context_rows": dg.AssetIn(analytics.upcoming_player_game_context.asset_key),
        "cache": dg.AssetIn(tables.player_daily_cache.asset_key),
        "zones": dg.AssetIn(tables.player_shot_zone_analysis.asset_key),
        "team_zones": dg.AssetIn(tables.team_defense_zone_analysis.asset_key),
    },
    **table_asset_kwargs(tables.player_composite_factors, GROUP),
)
def player_composite_factors(
    context: dg.AssetExecutionContext,
    context_rows: pd.DataFrame,
    cache: pd.DataFrame,
    zones: pd.DataFrame,
    team_zones: pd.DataFrame,
) -> pd.DataFrame:
    _same_day(
        context,
        analytics.upcoming_player_game_context.asset_key,
        tables.player_daily_cache.asset_key,
        tables.player_shot_zone_analysis.asset_key,
        tables.team_defense_zone_analysis.asset_key,
    )
    df = transforms.player_composite_factors(context_rows, cache, zones, team_zones)
    return record_partitions(context, tables.player_composite_factors, _frame(tables.player_composite_factors, df))


@dg.asset(
    ins={
        "context_rows": dg.AssetIn(analytics.upcoming_player_game_context.asset_key),
        "team_context": dg.AssetIn(analytics.upcoming_team_game_context.asset_key),
        "cache": dg.AssetIn(tables.player_daily_cache.asset_key),
        "zones": dg.AssetIn(tables.player_shot_zone_analysis.asset_key),
        "team_zones": dg.AssetIn(tables.team_defense_zone_analysis.asset_key),
        "factors": dg.AssetIn(tables.player_composite_factors.asset_key),
    },
    **table_asset_kwargs(tables.ml_feature_store, GROUP),
)
def ml_feature_store(
    context: dg.AssetExecutionContext,
    context_rows: pd.DataFrame,
    team_context: pd.DataFrame,
    cache: pd.DataFrame,
    zones: pd.DataFrame,
    team_zones: pd.DataFrame,
    factors: pd.DataFrame,
) -> pd.DataFrame:
    _same_day(
        context,
        analytics.upcoming_player_game_context.asset_key,
        analytics.upcoming_team_game_context.asset_key,
        tables.player_daily_cache.asset_key,
        tables.player_shot_zone_analysis.asset_key,
        tables.team_defense_zone_analysis.asset_key,
        tables.player_composite_factors.asset_key,
    )
    df = transforms.ml_feature_store(context_rows, team_context, cache, zones, team_zones, factors)
    context.add_output_metadata(
        {"feature_version": tables.FEATURE_VERSION, "features": dg.MetadataValue.json(list(tables.FEATURES))}
    )
    return record_partitions(context, tables.ml_feature_store, _frame(tables.ml_feature_store, df))


PRECOMPUTE_ASSETS = [
    player_daily_cache,
    player_shot_zone_analysis,
    team_defense_zone_analysis,
    player_composite_factors,
    ml_feature_store,
]
