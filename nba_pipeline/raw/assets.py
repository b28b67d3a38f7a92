"""`nba_raw` assets: the five raw feeds, one table each, partitioned by game date.

Each builds the run's whole partition range from the source resource's feeds in one call
(`build.py`; backfills run as a single run) and returns one frame; the factory (`table_asset`)
records it per partition, the warehouse IO manager validates and writes it, then the table's checks
are evaluated on it (inline asset checks, `checks.py`), with the same date's schedule (an input
read by the checks only).
"""

import dagster as dg
import pandas as pd

from nba_pipeline.core.partitions import partition_date_range
from nba_pipeline.core.schema import Table
from nba_pipeline.core.table_assets import In, TableRows, table_asset
from nba_pipeline.raw import build, checks, tables
from nba_pipeline.raw.sources.base import NbaSource
from nba_pipeline.raw.transforms import DROPPED_LINES, WITHHELD_PRICES


def _rows(
    context: dg.AssetExecutionContext, table: Table, df: pd.DataFrame, facts: dict, **check_frames: pd.DataFrame
) -> TableRows:
    """The built rows, each partition's materialization recording the digest of its rows (what
    the raw-data sensor compares the source with: a partition built from the same rows is not
    requested again, however the sensor's cursor began)."""
    digests = build.day_fingerprints(table, df, context.partition_keys)
    return TableRows(
        df, facts, per_partition={k: {build.FINGERPRINT: d} for k, d in digests.items()}, check_frames=check_frames
    )


# read by the checks only: the date's games, as the schedule states them
_SAME_DAY_SCHEDULE = {"schedule": In(tables.schedule)}


@table_asset(checks.schedule_checks)
def schedule(context: dg.AssetExecutionContext, nba_source: NbaSource):
    df, facts = build.schedule(nba_source, *partition_date_range(context))
    return _rows(context, tables.schedule, df, facts)


# read by the checks only: team points must equal the sum of the players' points
@table_asset(checks.team_boxscores_checks, ins={**_SAME_DAY_SCHEDULE, "player_boxscores": In(tables.player_boxscores)})
def team_boxscores(context: dg.AssetExecutionContext, nba_source: NbaSource):
    df, facts = build.team_boxscores(nba_source, *partition_date_range(context))
    return _rows(context, tables.team_boxscores, df, facts)


@table_asset(checks.player_boxscores_checks, ins=_SAME_DAY_SCHEDULE)
def player_boxscores(context: dg.AssetExecutionContext, nba_source: NbaSource):
    start, end = partition_date_range(context)
    df, facts = build.player_boxscores(nba_source, start, end)
    # the independent box score feed the game logs are checked against
    feed, _ = build.boxscore_feed(nba_source, start, end, set(df["game_id"]))
    return _rows(context, tables.player_boxscores, df, facts, boxscore_feed=feed)


def _withheld(facts: dict) -> pd.DataFrame:
    """The prices the source withheld (not American odds): for the `prices_valid` check; only
    their count goes to the materialization's metadata."""
    withheld = facts.pop(WITHHELD_PRICES)
    facts["prices_withheld"] = len(withheld)
    return withheld


@table_asset(checks.player_props_checks, ins=_SAME_DAY_SCHEDULE)
def player_props(context: dg.AssetExecutionContext, nba_source: NbaSource):
    df, facts = build.player_props(nba_source, *partition_date_range(context))
    withheld = _withheld(facts)
    dropped = facts.pop(DROPPED_LINES)
    facts["lines_dropped"] = len(dropped)
    return _rows(context, tables.player_props, df, facts, **{WITHHELD_PRICES: withheld, DROPPED_LINES: dropped})


@table_asset(checks.game_lines_checks, ins=_SAME_DAY_SCHEDULE)
def game_lines(context: dg.AssetExecutionContext, nba_source: NbaSource):
    df, facts = build.game_lines(nba_source, *partition_date_range(context))
    withheld = _withheld(facts)
    return _rows(context, tables.game_lines, df, facts, **{WITHHELD_PRICES: withheld})
