"""What every raw source offers: the feeds, read for a range of game dates and parsed into typed
frames (formats.py). A source only fetches and parses; `raw/build.py` builds the nba_raw tables
from any source's feeds, so two sources given the same feed rows produce the same tables.

Sources: `files.FilesSource` (a directory laid out like ../shared/data/nba) and
`live.source.LiveSource` (NBA.com stats and The Odds API, archiving odds in the files layout).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd
from pydantic import Field as PydanticField

from nba_pipeline.raw.tables import SEASON_TYPES


class NbaSource(dg.ConfigurableResource):
    """The feeds, each for an inclusive range of US Eastern game dates; assets and sensors depend
    on this, not on a concrete source."""

    season_types: list[str] = PydanticField(
        default=["regular", "cup_final", "play_in", "playoffs"],
        description=(
            "Season types that enter the pipeline; games of other types are excluded and counted in metadata "
            "(all_star is never supported: its teams are not NBA franchises)."
        ),
    )
    player_feed_season_types: list[str] = PydanticField(
        default=["regular"],
        description="Season types the player feeds cover; games of other types are not expected to have player rows.",
    )

    def validate_season_types(self) -> None:
        for st in [*self.season_types, *self.player_feed_season_types]:
            if st not in SEASON_TYPES:
                raise ValueError(f"unknown season type {st!r}; known: {SEASON_TYPES}")

    def version(self) -> str | None:
        """A cheap token that changes whenever the source's data may have (None: unknown, so the
        raw-data sensor fingerprints the rows every tick)."""
        return None

    def newest_game_date(self) -> dt.date | None:
        """The newest game date any feed has a row for (a game played or scheduled, an odds
        quote), or None when the source has no game data at all. The raw-data sensor watches no
        date after it: a date the source knows nothing of has nothing to build yet."""
        raise NotImplementedError

    # the feeds ----------------------------------------------------------------------------------
    def teams(self) -> pd.DataFrame:
        """formats.TEAMS: the 30 franchises."""
        raise NotImplementedError

    def players(self) -> pd.DataFrame:
        """formats.PLAYERS: every player with an NBA.com id."""
        raise NotImplementedError

    def read_team_game_logs(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """formats.TEAM_GAME_LOG rows of games in the range."""
        raise NotImplementedError

    def read_player_game_logs(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """formats.PLAYER_GAME_LOG rows of games in the range."""
        raise NotImplementedError

    def read_boxscores(self, start: dt.date, end: dt.date, game_ids: set[str]) -> pd.DataFrame:
        """formats.BOXSCORE rows of `game_ids` (games of the range)."""
        raise NotImplementedError

    def read_prop_snapshots(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """formats.PLAYER_PROPS rows of games in the range, plus `snapshot_time` (UTC)."""
        raise NotImplementedError

    def read_game_lines(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """formats.GAME_LINES rows of games in the range."""
        raise NotImplementedError

    def read_league_schedule(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """formats.SCHEDULE rows of games in the range (may be empty: then only final games)."""
        raise NotImplementedError
