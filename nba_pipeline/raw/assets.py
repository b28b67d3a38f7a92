"""`nba_raw` assets: the five raw feeds, one table each, partitioned by game date.

Each builds the run's whole partition range from the source resource's feeds in one call
(`build.py`; backfills run as a single run), yields one frame that the warehouse IO manager
validates and writes, then evaluates the table's checks on it (inline asset checks, `checks/raw.py`).
"""

import dagster as dg
import pandas as pd

from nba_pipeline.raw import checks as checks
from nba_pipeline.core.checks.common import TableChecks, write_checked
from nba_pipeline.core.table_assets import record_partitions, table_asset_kwargs
from nba_pipeline.core.partitions import partition_date_range
from nba_pipeline.raw import build, tables
from nba_pipeline.raw.transforms import WITHHELD_PRICES
from nba_pipeline.raw.sources.base import NbaSource

GROUP = "nba_raw"
SCHEDULE = tables.schedule.name


def raw_asset_kwargs(table_checks: TableChecks, **kwargs) -> dict:
    return table_asset_kwargs(table_checks.table, GROUP, table_checks) | kwargs


_SAME_DAY_SCHEDULE = {SCHEDULE: dg.AssetIn(tables.schedule.asset_key)}


@dg.asset(**raw_asset_kwargs(checks.schedule_checks))
def schedule(context: dg.AssetExecutionContext, nba_source: NbaSource):
    df, facts = build.schedule(nba_source, *partition_date_range(context))
    yield from write_checked(context, checks.schedule_checks, record_partitions(context, tables.schedule, df, facts))


@dg.asset(
    **raw_asset_kwargs(
        checks.team_boxscores_checks,
        # read by the checks only: team points must equal the sum of the players' points
        ins={**_SAME_DAY_SCHEDULE, "player_boxscores": dg.AssetIn(tables.player_boxscores.asset_key)},
    )
)
def team_boxscores(context: dg.AssetExecutionContext, nba_source: NbaSource, schedule: pd.DataFrame, player_boxscores: pd.DataFrame):
    df, facts = build.team_boxscores(nba_source, *partition_date_range(context))
    df = record_partitions(context, tables.team_boxscores, df, facts)
    yield from write_checked(context, checks.team_boxscores_checks, df, {SCHEDULE: schedule, "player_boxscores": player_boxscores})


@dg.asset(**raw_asset_kwargs(checks.player_boxscores_checks, ins=_SAME_DAY_SCHEDULE))
def player_boxscores(context: dg.AssetExecutionContext, nba_source: NbaSource, schedule: pd.DataFrame):
    start, end = partition_date_range(context)
    df, facts = build.player_boxscores(nba_source, start, end)
    df = record_partitions(context, tables.player_boxscores, df, facts)
    # the independent box score feed the game logs are checked against
    feed, _ = build.boxscore_feed(nba_source, start, end, set(df["game_id"]))
    yield from write_checked(context, checks.player_boxscores_checks, df, {SCHEDULE: schedule, "boxscore_feed": feed})


def _withheld(facts: dict) -> pd.DataFrame:
    """The prices the source withheld (not American odds): for the `prices_valid` check; only
    their count goes to the materialization's metadata."""
    withheld = facts.pop(WITHHELD_PRICES)
    facts["prices_withheld"] = len(withheld)
    return withheld


@dg.asset(**raw_asset_kwargs(checks.player_points_props_checks, ins=_SAME_DAY_SCHEDULE))
def player_points_props(context: dg.AssetExecutionContext, nba_source: NbaSource, schedule: pd.DataFrame):
    df, facts = build.player_points_props(nba_source, *partition_date_range(context))
    withheld = _withheld(facts)
    df = record_partitions(context, tables.player_points_props, df, facts)
    yield from write_checked(context, checks.player_points_props_checks, df, {SCHEDULE: schedule, WITHHELD_PRICES: withheld})


@dg.asset(**raw_asset_kwargs(checks.game_lines_checks, ins=_SAME_DAY_SCHEDULE))
def game_lines(context: dg.AssetExecutionContext, nba_source: NbaSource, schedule: pd.DataFrame):
    df, facts = build.game_lines(nba_source, *partition_date_range(context))
    withheld = _withheld(facts)
    df = record_partitions(context, tables.game_lines, df, facts)
    yield from write_checked(context, checks.game_lines_checks, df, {SCHEDULE: schedule, WITHHELD_PRICES: withheld})


RAW_ASSETS = [schedule, team_boxscores, player_boxscores, player_points_props, game_lines]
