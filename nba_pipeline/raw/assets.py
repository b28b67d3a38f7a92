"""`nba_raw` assets: the five raw feeds, one table each, partitioned by game date.

Each reads the run's whole partition range from the source resource in one call (backfills run as
a single run), and returns one frame that the warehouse IO manager validates and writes.
"""

import dagster as dg
import pandas as pd

from nba_pipeline.layer import record_partitions, table_asset_kwargs
from nba_pipeline.partitions import partition_date_range
from nba_pipeline.raw import tables
from nba_pipeline.resources.sources import NbaSource
from nba_pipeline.schema import Table

GROUP = "nba_raw"


def raw_asset_kwargs(table: Table) -> dict:
    return table_asset_kwargs(table, GROUP)


@dg.asset(**raw_asset_kwargs(tables.schedule))
def schedule(context: dg.AssetExecutionContext, nba_source: NbaSource) -> pd.DataFrame:
    df, facts = nba_source.schedule(*partition_date_range(context))
    return record_partitions(context, tables.schedule, df, facts)


@dg.asset(deps=[schedule], **raw_asset_kwargs(tables.team_boxscores))
def team_boxscores(context: dg.AssetExecutionContext, nba_source: NbaSource) -> pd.DataFrame:
    df, facts = nba_source.team_boxscores(*partition_date_range(context))
    return record_partitions(context, tables.team_boxscores, df, facts)


@dg.asset(deps=[schedule], **raw_asset_kwargs(tables.player_boxscores))
def player_boxscores(context: dg.AssetExecutionContext, nba_source: NbaSource) -> pd.DataFrame:
    df, facts = nba_source.player_boxscores(*partition_date_range(context))
    return record_partitions(context, tables.player_boxscores, df, facts)


@dg.asset(deps=[schedule], **raw_asset_kwargs(tables.player_points_props))
def player_points_props(context: dg.AssetExecutionContext, nba_source: NbaSource) -> pd.DataFrame:
    df, facts = nba_source.player_points_props(*partition_date_range(context))
    return record_partitions(context, tables.player_points_props, df, facts)


@dg.asset(deps=[schedule], **raw_asset_kwargs(tables.game_lines))
def game_lines(context: dg.AssetExecutionContext, nba_source: NbaSource) -> pd.DataFrame:
    df, facts = nba_source.game_lines(*partition_date_range(context))
    return record_partitions(context, tables.game_lines, df, facts)


RAW_ASSETS = [schedule, team_boxscores, player_boxscores, player_points_props, game_lines]
