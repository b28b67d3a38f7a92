"""`nba_precompute` assets: per player/team in a date's games, features from earlier dates.

Each reads its history through `history_mapping()` (D-HISTORY_DAYS .. D-1, never D itself) and the
date's slate (who plays) from the upcoming contexts. The factory (`table_asset`) derives from those
inputs what the step requires: every partition of the season's history and the same-date slate,
or the step fails writing nothing (Dagster would silently shorten the window instead). Each step
then evaluates its table's checks (`checks.py`).
"""

import pandas as pd

from nba_pipeline.analytics import tables as analytics
from nba_pipeline.core.checks.common import TableChecks
from nba_pipeline.core.history import history_mapping
from nba_pipeline.core.schema import Table
from nba_pipeline.core.table_assets import In, TableRows, table_asset
from nba_pipeline.precompute import checks as checks
from nba_pipeline.precompute import tables, transforms


def _windowed_asset(table_checks: TableChecks, slate: Table, history: Table, transform):
    """An asset of the checked table: for each player (team) in the date's `slate`, `transform`
    over the `history` table's earlier dates of the season."""

    @table_asset(table_checks, ins={"slate": In(slate), "history": In(history, history_mapping())})
    def _asset(slate: pd.DataFrame, history: pd.DataFrame):
        return transform(slate, history)

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


# every input of these two is the same game date's partition
_COMPOSITE_INS = {
    "context_rows": In(analytics.upcoming_player_game_context),
    "cache": In(tables.player_daily_cache),
    "zones": In(tables.player_shot_zone_analysis),
    "team_zones": In(tables.team_defense_zone_analysis),
}


@table_asset(checks.player_composite_factors_checks, ins=_COMPOSITE_INS)
def player_composite_factors(
    context_rows: pd.DataFrame, cache: pd.DataFrame, zones: pd.DataFrame, team_zones: pd.DataFrame
):
    return transforms.player_composite_factors(context_rows, cache, zones, team_zones)


@table_asset(
    checks.ml_feature_store_checks,
    ins={
        **_COMPOSITE_INS,
        "team_context": In(analytics.upcoming_team_game_context),
        "factors": In(tables.player_composite_factors),
    },
)
def ml_feature_store(
    context_rows: pd.DataFrame,
    team_context: pd.DataFrame,
    cache: pd.DataFrame,
    zones: pd.DataFrame,
    team_zones: pd.DataFrame,
    factors: pd.DataFrame,
):
    return TableRows(
        transforms.ml_feature_store(context_rows, team_context, cache, zones, team_zones, factors),
        every_partition={"feature_version": tables.FEATURE_VERSION, "features": list(tables.FEATURES)},
    )
