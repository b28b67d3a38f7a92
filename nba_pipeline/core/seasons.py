"""NBA seasons, and the first season the game-date partitions cover.

A season is labelled as the feeds label it (`2024-25`) and its partitions start on Oct 1 (days
before opening night are ordinary, empty partitions). The first season is NBA_FIRST_SEASON, or by
default the earliest season the raw data holds (the `files` source: the seasons its feed files
are named after), or, without raw files (the `live` source, no NBA_RAW_DIR), the current season.

Standard library and `environment.py` only: `partitions.py` resolves the first season while the
code location is being imported, before the raw-data modules (which import it) exist.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import nba_pipeline.environment as environment

# a season's partitions start on Oct 1; dates from August on belong to the season starting that
# October (a feed dated in August or September is the coming season's)
SEASON_START_MONTH = 10
SEASON_ROLLOVER_MONTH = 8
FIRST_NBA_SEASON = 1946  # 1946-47, the BAA's first

GAME_TIMEZONE = "America/New_York"  # game dates, and so seasons, are US Eastern dates
SETTING = environment.FIRST_SEASON
_LABEL = re.compile(r"^(\d{4})-(\d{2})$")


def season_start_year(day: dt.date) -> int:
    return day.year if day.month >= SEASON_ROLLOVER_MONTH else day.year - 1


def label_of(year: int) -> str:
    """The season starting in `year`: 2024 -> '2024-25'."""
    return f"{year}-{(year + 1) % 100:02d}"


def season_label(day: dt.date) -> str:
    """Season of a game date, labelled as the feeds label it: 2024-25."""
    return label_of(season_start_year(day))


def season_start(day: dt.date) -> dt.date:
    return dt.date(season_start_year(day), SEASON_START_MONTH, 1)


def today() -> dt.date:
    """Today's date, US Eastern."""
    return dt.datetime.now(ZoneInfo(GAME_TIMEZONE)).date()


def current_season_year(today: dt.date) -> int:
    """The season whose partitions contain `today`: it starts on Oct 1 (before that, last season's)."""
    return today.year if today.month >= SEASON_START_MONTH else today.year - 1


@dataclass(frozen=True)
class FirstSeason:
    """The first season of the partitions, and where that came from (for messages)."""

    year: int
    why: str

    @property
    def from_setting(self) -> bool:
        return self.why.startswith(f"{SETTING}=")

    @property
    def label(self) -> str:
        return label_of(self.year)

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, SEASON_START_MONTH, 1)

    def describe(self) -> str:
        """Why the partitions start where they do, for a message about a date before them."""
        hint = "" if self.from_setting else f"; set {SETTING} (e.g. {label_of(self.year - 1)}) to start earlier"
        return f"the partitions start with season {self.label} ({self.why}){hint}"


def parse_season(text: str, today: dt.date, setting: str = SETTING) -> int:
    """The start year of a season label like '2024-25' (ValueError naming the setting otherwise)."""
    m = _LABEL.match(text)
    if not m or int(m.group(2)) != (int(m.group(1)) + 1) % 100:
        raise ValueError(
            f"{setting}={text}: expected a season as the feeds label it, its first year and the next "
            f"year's last two digits, e.g. {label_of(current_season_year(today))}"
        )
    year = int(m.group(1))
    latest = current_season_year(today)
    if not FIRST_NBA_SEASON <= year <= latest:
        raise ValueError(
            f"{setting}={text}: expected a season from {label_of(FIRST_NBA_SEASON)} to the current one, "
            f"{label_of(latest)} (its game-date partitions start on Oct 1)"
        )
    return year


# the feed files of the `files` source (resources/sources.py) and the seasons their names give
_SEASON_FOLDERS = ("team_game_logs", "player_game_logs", "schedule")  # <season>.csv
_PATTERNS = (
    ("boxscores", re.compile(r"^games_(\d{4})-\d{2}\.csv$"), lambda m: int(m.group(1))),
    (
        "boxscores",
        re.compile(r"^game_stats_(\d{4})-(\d{2})\.csv$"),
        lambda m: season_start_year(dt.date(int(m.group(1)), int(m.group(2)), 1)),
    ),
    (
        "odds/player_props",
        re.compile(r"^raw_(\d{4})(\d{2})(\d{2})_\d{6}\.csv$"),
        lambda m: season_start_year(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))),
    ),
    ("odds/game_lines", re.compile(r"^theodds_lines_(\d{4})-\d{2}\.csv$"), lambda m: int(m.group(1))),
    *((folder, re.compile(r"^(\d{4})-\d{2}\.csv$"), lambda m: int(m.group(1))) for folder in _SEASON_FOLDERS),
)


def raw_dir_seasons(root: Path) -> set[int]:
    """Start years of the seasons of the feed files under `root`, from their names alone (no file
    is opened: this runs every time the code location loads)."""
    years: set[int] = set()
    for folder, pattern, year_of in _PATTERNS:
        d = root / folder
        if not d.is_dir():
            continue
        for p in d.iterdir():
            if m := pattern.match(p.name):
                try:
                    years.add(year_of(m))
                except ValueError:  # a name like game_stats_2025-13: not a feed file
                    continue
    return years


def first_season(setting: str | None, source: str, raw_dir: str | None, today: dt.date) -> FirstSeason:
    """The first season of the game-date partitions (ValueError: a bad setting, in one line).

    `setting` (NBA_FIRST_SEASON) wins; otherwise the earliest season of the `files` source's feed
    files; otherwise the current season (Oct 1 boundary), so the partitions never start in the
    future."""
    if setting:
        return FirstSeason(parse_season(setting, today), f"{SETTING}={setting}")
    current = current_season_year(today)
    if source != "files":
        return FirstSeason(current, f"the current season: NBA_SOURCE={source} has no files to date the data by")
    if not raw_dir:
        return FirstSeason(current, "the current season: NBA_RAW_DIR is not set")
    root = Path(os.path.expanduser(raw_dir))
    seasons = {y for y in raw_dir_seasons(root) if y <= current} if root.is_dir() else set()
    if not seasons:
        return FirstSeason(
            current, f"the current season: NBA_RAW_DIR={raw_dir} holds no feed files of a season begun by now"
        )
    return FirstSeason(min(seasons), f"the earliest season of the feed files in NBA_RAW_DIR={raw_dir}")


def first_season_from_env() -> FirstSeason:
    """`first_season` from NBA_FIRST_SEASON, NBA_SOURCE and NBA_RAW_DIR, as of today (US Eastern)."""
    return first_season(environment.first_season_setting(), environment.source_kind(), environment.raw_dir(), today())
