"""The one partitions definition every partitioned asset shares: NBA game dates, US Eastern.

A game's date is its US Eastern calendar date (a 7:30 pm ET tip-off is 00:30 UTC the next day).
Days without games are ordinary partitions that materialize 0 rows.

The partitions start on Oct 1 of the first season (`seasons.first_season`: NBA_FIRST_SEASON, by
default the earliest season of the raw data), resolved once, when the code location is imported:
the webserver, the daemon, run workers and the CLI each import it with the same environment.
"""

import datetime as dt

import dagster as dg

from nba_pipeline.core.seasons import GAME_TIMEZONE, first_season_from_env

FIRST_SEASON = first_season_from_env()
FIRST_GAME_DATE = FIRST_SEASON.start.isoformat()

game_date_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_GAME_DATE,
    timezone=GAME_TIMEZONE,
    # today's games are a partition already: the morning snapshot builds today's predictions
    end_offset=1,
)


def partition_date_range(context) -> tuple[dt.date, dt.date]:
    """Inclusive (first, last) game dates of the partitions a run covers (one or a range)."""
    window = context.partition_time_window
    return window.start.date(), (window.end - dt.timedelta(days=1)).date()
