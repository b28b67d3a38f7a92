"""The `files` source: the feeds from a directory in the layout of ../shared/data/nba, each file
parsed into its typed frame (formats.py) and cached while it stays unchanged on disk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
from pathlib import Path

import pandas as pd
from pydantic import Field as PydanticField

from nba_pipeline.raw import formats, transforms
from nba_pipeline.raw.feeds import FeedError, RowRange, RowSet, concat_feeds, empty_feed, read_feed
from nba_pipeline.raw.sources.base import NbaSource

_SEASON_FILE = re.compile(r"^(\d{4})-(\d{2})\.csv$")
_PROPS_FILE = re.compile(r"^raw_(\d{8})_(\d{6})\.csv$")
_MONTH_FILE = re.compile(r"^game_stats_(\d{4})-(\d{2})\.csv$")
_LINES_FILE = re.compile(r"^theodds_lines_(\d{4})-(\d{2})\.csv$")

# parsed feed files, keyed by path and stat: a file changed on disk is read again
_cache: dict[tuple, pd.DataFrame] = {}
_cache_lock = threading.Lock()


def _read(path: Path, fmt: str, rows: RowRange | RowSet | None = None) -> pd.DataFrame:
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size, fmt, rows)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    df = read_feed(path, getattr(formats, fmt), rows)
    with _cache_lock:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = df
    return df


def _season_overlaps(start_year: int, start: dt.date, end: dt.date) -> bool:
    # an NBA season runs from the autumn of its first year to the summer of the next
    return dt.date(start_year, 8, 1) <= end and start <= dt.date(start_year + 1, 7, 31)


def _to_ts(d: dt.date) -> pd.Timestamp:
    return pd.Timestamp(d)


def _dates(field: str, start: dt.date, end: dt.date) -> RowRange:
    return RowRange(field, _to_ts(start), _to_ts(end))


def empty_snapshots() -> pd.DataFrame:
    return empty_feed(formats.PLAYER_PROPS).assign(snapshot_time=pd.Series(dtype="datetime64[ns, UTC]"))


class FilesSource(NbaSource):
    """Raw feeds from a directory laid out like ../shared/data/nba, plus an optional
    `schedule/<season>.csv` (the league schedule, formats.SCHEDULE) for games not final yet."""

    raw_dir: str = PydanticField(
        description=(
            "Directory with team_game_logs/, player_game_logs/, boxscores/, odds/, reference/ "
            "(and optionally schedule/)"
        )
    )

    @property
    def root(self) -> Path:
        if not self.raw_dir:
            raise FileNotFoundError("no NBA raw data directory configured: set NBA_RAW_DIR")
        root = Path(os.path.expanduser(self.raw_dir))
        if not root.is_dir():
            raise FileNotFoundError(f"NBA raw data directory {root} does not exist (set NBA_RAW_DIR)")
        return root

    def version(self) -> str | None:
        """Digest of every file's path, size and modification time under raw_dir."""
        h = hashlib.sha256()
        for p in sorted(self.root.rglob("*")):
            if p.is_file():
                st = p.stat()
                h.update(f"{p.relative_to(self.root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()

    def newest_game_date(self) -> dt.date | None:
        """The latest date of the game logs, the league schedule, the odds snapshots and the game
        lines, each read from its newest file that has rows (parsed files are cached)."""
        newest = [
            self._newest_in(self._season_files(folder, dt.date.min, dt.date.max), fmt, field, utc)
            for folder, fmt, field, utc in (
                ("team_game_logs", "TEAM_GAME_LOG", "GAME_DATE", False),
                ("player_game_logs", "PLAYER_GAME_LOG", "GAME_DATE", False),
                ("schedule", "SCHEDULE", "gameDateEst", False),
            )
        ]
        lines = self.root / "odds" / "game_lines"
        newest.append(
            self._newest_in(
                [p for p in (lines.iterdir() if lines.is_dir() else []) if _LINES_FILE.match(p.name)],
                "GAME_LINES",
                "commence_time",
                True,
            )
        )
        # a snapshot lists the games not started yet when it was taken: the newest one lists the
        # newest games
        props = self.root / "odds" / "player_props"
        newest.append(
            self._newest_in(
                [p for p in (props.iterdir() if props.is_dir() else []) if _PROPS_FILE.match(p.name)],
                "PLAYER_PROPS",
                "game_time",
                True,
            )
        )
        known = [d for d in newest if d is not None]
        return max(known) if known else None

    @staticmethod
    def _newest_in(paths: list[Path], fmt: str, field: str, utc: bool) -> dt.date | None:
        """The latest game date in the last of `paths` (by name: season, month or snapshot time)
        that has rows; UTC times count on their US Eastern date."""
        for path in sorted(paths, key=lambda p: p.name, reverse=True):
            values = _read(path, fmt)[field].dropna()
            if len(values):
                return (transforms.eastern_date(values) if utc else values).max().date()
        return None

    def teams(self) -> pd.DataFrame:
        return _read(self.root / "reference" / "teams.csv", "TEAMS")

    def players(self) -> pd.DataFrame:
        return _read(self.root / "reference" / "players.csv", "PLAYERS")

    # file selection -------------------------------------------------------------------------
    def _season_files(self, folder: str, start: dt.date, end: dt.date) -> list[Path]:
        d = self.root / folder
        if not d.is_dir():
            return []
        return sorted(
            p
            for p in d.iterdir()
            if (m := _SEASON_FILE.match(p.name)) and _season_overlaps(int(m.group(1)), start, end)
        )

    def _concat(self, paths: list[Path], fmt: str, rows: RowRange | RowSet | None = None) -> pd.DataFrame:
        return concat_feeds([_read(p, fmt, rows) for p in paths], getattr(formats, fmt))

    # feeds ----------------------------------------------------------------------------------
    def read_team_game_logs(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self._concat(
            self._season_files("team_game_logs", start, end), "TEAM_GAME_LOG", _dates("GAME_DATE", start, end)
        )

    def read_player_game_logs(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self._concat(
            self._season_files("player_game_logs", start, end), "PLAYER_GAME_LOG", _dates("GAME_DATE", start, end)
        )

    def read_league_schedule(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self._concat(self._season_files("schedule", start, end), "SCHEDULE", _dates("gameDateEst", start, end))

    def read_boxscores(self, start: dt.date, end: dt.date, game_ids: set[str]) -> pd.DataFrame:
        d = self.root / "boxscores"
        months = set()
        day = start - dt.timedelta(days=1)
        while day <= end + dt.timedelta(days=1):
            months.add((day.year, day.month))
            day += dt.timedelta(days=1)
        paths = sorted(
            p
            for p in (d.iterdir() if d.is_dir() else [])
            if (m := _MONTH_FILE.match(p.name)) and (int(m.group(1)), int(m.group(2))) in months
        )
        return self._concat(paths, "BOXSCORE", RowSet("game_id", frozenset(game_ids)))

    def read_prop_snapshots(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        d = self.root / "odds" / "player_props"
        frames = []
        for p in sorted(d.iterdir()) if d.is_dir() else []:
            m = _PROPS_FILE.match(p.name)
            if not m:
                continue
            try:
                snap = pd.Timestamp(dt.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S"), tz="UTC")
            except ValueError:
                raise FeedError(
                    p, None, None, "file name is not raw_YYYYMMDD_HHMMSS.csv with a valid UTC time"
                ) from None
            # a game's Eastern date is at most a day from the UTC date of a same-day snapshot
            if start - dt.timedelta(days=1) <= snap.date() <= end + dt.timedelta(days=1):
                frames.append(_read(p, "PLAYER_PROPS").assign(snapshot_time=snap))
        if not frames:
            return empty_snapshots()
        return pd.concat(frames, ignore_index=True)

    def read_game_lines(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        d = self.root / "odds" / "game_lines"
        paths = sorted(
            p
            for p in (d.iterdir() if d.is_dir() else [])
            if (m := _LINES_FILE.match(p.name)) and _season_overlaps(int(m.group(1)), start, end)
        )
        # a game's Eastern date is its UTC date or the day before
        return self._concat(
            paths,
            "GAME_LINES",
            RowRange(
                "commence_time", pd.Timestamp(start, tz="UTC"), pd.Timestamp(end + dt.timedelta(days=2), tz="UTC")
            ),
        )
