"""Per-partition checks of the `nba_precompute` tables: one row per player (team) of the date's
context, and values within their declared ranges. Both blocking: these rows are model inputs."""

from nba_pipeline.analytics import tables as analytics
from nba_pipeline.core.checks.common import TableChecks, in_range_check, rows_match, table_checks
from nba_pipeline.core.checks.partitioned import PartitionCheck
from nba_pipeline.core.schema import Table
from nba_pipeline.precompute import tables

UPC, UTC = analytics.upcoming_player_game_context.name, analytics.upcoming_team_game_context.name


def _player_table_checks(table: Table) -> TableChecks:
    checks = [
        PartitionCheck(
            "one_row_per_context_player",
            "Exactly one row per player in the date's upcoming_player_game_context.",
            lambda f, k: rows_match(f[table.name], f[UPC], ["game_date", "player_id"], k),
        )
    ]
    # a table that only copies values range-checked upstream (the feature store) has no ranges of
    # its own, and a range check over no columns could never fail
    if table.ranged_columns:
        checks.append(in_range_check(table))
    return table_checks(table, checks, reads=[analytics.upcoming_player_game_context])


player_daily_cache_checks = _player_table_checks(tables.player_daily_cache)
player_shot_zone_analysis_checks = _player_table_checks(tables.player_shot_zone_analysis)
player_composite_factors_checks = _player_table_checks(tables.player_composite_factors)
ml_feature_store_checks = _player_table_checks(tables.ml_feature_store)

team_defense_zone_analysis_checks = table_checks(
    tables.team_defense_zone_analysis,
    [
        PartitionCheck(
            "one_row_per_context_team",
            "Exactly one row per team in the date's upcoming_team_game_context.",
            lambda f, k: rows_match(f[tables.team_defense_zone_analysis.name], f[UTC], ["game_date", "team"], k),
        ),
        in_range_check(tables.team_defense_zone_analysis),
    ],
    reads=[analytics.upcoming_team_game_context],
)
