"""The one partitions definition every partitioned asset shares: NBA game dates, US Eastern.

A game's date is its US Eastern calendar date (a 7:30 pm ET tip-off is 00:30 UTC the next day).
Days without games are ordinary partitions that materialize 0 rows.
"""

import datetime as dt

import dagster as dg

GAME_TIMEZONE = "America/New_York"
# early enough for four full seasons of history before the 2025-26 season (scale tests, replays)
FIRST_GAME_DATE = "2021-10-01"

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
