"""`nba_precompute` assets: per player/team in a date's games, features from earlier dates.

Each reads its history through `history_mapping()` (D-HISTORY_DAYS .. D-1, never D itself) and the
date's slate (who plays) from the upcoming contexts; `history.require` fails the step, writing
nothing, when a partition of the season's history was never materialized (Dagster would silently
shorten the window instead). Each step then evaluates its table's checks (`checks/precompute.py`).
"""

import dagster as dg
import pandas as pd

from nba_pipeline.analytics import tables as analytics
from nba_pipeline.precompute import checks as checks
from nba_pipeline.core.checks.common import TableChecks, write_checked
from nba_pipeline.core.history import declare_needs, history_mapping, record_history_window, require, same_date, season_to_date
from nba_pipeline.core.table_assets import record_partitions, table_asset_kwargs
from nba_pipeline.precompute import tables, transforms
from nba_pipeline.core.schema import Table

GROUP = "nba_precompute"
UPC = analytics.upcoming_player_game_context.name


def _frame(table, df: pd.DataFrame) -> pd.DataFrame:
    return df if len(df) else table.empty_frame()


def _windowed_asset(table_checks: TableChecks, slate: Table, history: Table, transform) -> dg.AssetsDefinition:
    """An asset of the checked table: for each player (team) in the date's `slate`, `transform`
    over the `history` table's earlier dates of the season."""
    table = table_checks.table
    history_key, slate_name = history.asset_key, slate.name
    needs = declare_needs([table.asset_key], same_date(slate.asset_key), season_to_date(history.asset_key))

    @dg.asset(
        ins={
            "slate": dg.AssetIn(slate.asset_key),
            "history": dg.AssetIn(history.asset_key, partition_mapping=history_mapping()),
        },
        **table_asset_kwargs(table, GROUP, table_checks),
    )
    def _asset(context: dg.AssetExecutionContext, slate: pd.DataFrame, history: pd.DataFrame):
        require(context, needs)
        record_history_window(context, history_key, history)
        df = record_partitions(context, table, _frame(table, transform(slate, history)))
        yield from write_checked(context, table_checks, df, {slate_name: slate})

    return _asset


player_daily_cache = _windowed_asset(
    checks.player_daily_cache_checks,
    analytics.upcoming_player_game_context,
    analytics.player_game_summary,
    transforms.player_daily_cache,
)
player_shot_zone_analysis = _windowed_asset(
    checks.player_shot_zone_analysis_checks,
    analytics.upcoming_player_game_context,
    analytics.player_game_summary,
    transforms.player_shot_zone_analysis,
)
team_defense_zone_analysis = _windowed_asset(
    checks.team_defense_zone_analysis_checks,
    analytics.upcoming_team_game_context,
    analytics.team_defense_game_summary,
    transforms.team_defense_zone_analysis,
)


# every input of these two is the same game date's partition (required to be materialized)
_COMPOSITE_INS = {
    "context_rows": dg.AssetIn(analytics.upcoming_player_game_context.asset_key),
    "cache": dg.AssetIn(tables.player_daily_cache.asset_key),
    "zones": dg.AssetIn(tables.player_shot_zone_analysis.asset_key),
    "team_zones": dg.AssetIn(tables.team_defense_zone_analysis.asset_key),
}
_FEATURE_STORE_INS = {
    **_COMPOSITE_INS,
    "team_context": dg.AssetIn(analytics.upcoming_team_game_context.asset_key),
    "factors": dg.AssetIn(tables.player_composite_factors.asset_key),
}
_COMPOSITE_NEEDS = declare_needs([tables.player_composite_factors.asset_key], *(same_date(i.key) for i in _COMPOSITE_INS.values()))
_FEATURE_STORE_NEEDS = declare_needs([tables.ml_feature_store.asset_key], *(same_date(i.key) for i in _FEATURE_STORE_INS.values()))


@dg.asset(ins=_COMPOSITE_INS, **table_asset_kwargs(tables.player_composite_factors, GROUP, checks.player_composite_factors_checks))
def player_composite_factors(
    context: dg.AssetExecutionContext,
    context_rows: pd.DataFrame,
    cache: pd.DataFrame,
    zones: pd.DataFrame,
    team_zones: pd.DataFrame,
):
    require(context, _COMPOSITE_NEEDS)
    df = transforms.player_composite_factors(context_rows, cache, zones, team_zones)
    df = record_partitions(context, tables.player_composite_factors, _frame(tables.player_composite_factors, df))
    yield from write_checked(context, checks.player_composite_factors_checks, df, {UPC: context_rows})


@dg.asset(ins=_FEATURE_STORE_INS, **table_asset_kwargs(tables.ml_feature_store, GROUP, checks.ml_feature_store_checks))
def ml_feature_store(
    context: dg.AssetExecutionContext,
    context_rows: pd.DataFrame,
    team_context: pd.DataFrame,
    cache: pd.DataFrame,
    zones: pd.DataFrame,
    team_zones: pd.DataFrame,
    factors: pd.DataFrame,
):
    require(context, _FEATURE_STORE_NEEDS)
    df = transforms.ml_feature_store(context_rows, team_context, cache, zones, team_zones, factors)
    every_date = {"feature_version": tables.FEATURE_VERSION, "features": list(tables.FEATURES)}
    df = record_partitions(context, tables.ml_feature_store, _frame(tables.ml_feature_store, df), every_partition=every_date)
    yield from write_checked(context, checks.ml_feature_store_checks, df, {UPC: context_rows})


PRECOMPUTE_ASSETS = [
    player_daily_cache,
    player_shot_zone_analysis,
    team_defense_zone_analysis,
    player_composite_factors,
    ml_feature_store,
]
