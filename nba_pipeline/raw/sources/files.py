"""Where raw data comes from. The `files` source reads a directory in the layout of
../shared/data/nba; a `live` source (NBA.com / The Odds API clients) will offer the same methods.

Every method takes an inclusive game-date range and returns (frame shaped like the nba_raw table,
facts for materialization metadata). Frames are not yet validated: the warehouse IO manager does
that against the table's declared schema before writing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field as PydanticField
from pydantic import PrivateAttr

import nba_pipeline.environment as environment
from nba_pipeline.raw import formats, transforms
from nba_pipeline.raw.feeds import FeedError, RowRange, RowSet, concat_feeds, empty_feed, read_feed
from nba_pipeline.raw.tables import SEASON_TYPES

Frame = tuple[pd.DataFrame, dict]

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


class NbaSource(dg.ConfigurableResource):
    """What every raw source offers; assets depend on this, not on a concrete source."""

    def schedule(self, start: dt.date, end: dt.date) -> Frame:
        raise NotImplementedError

    def team_boxscores(self, start: dt.date, end: dt.date) -> Frame:
        raise NotImplementedError

    def player_boxscores(self, start: dt.date, end: dt.date) -> Frame:
        raise NotImplementedError

    def player_points_props(self, start: dt.date, end: dt.date) -> Frame:
        raise NotImplementedError

    def game_lines(self, start: dt.date, end: dt.date) -> Frame:
        raise NotImplementedError

    def boxscore_feed(self, start: dt.date, end: dt.date, game_ids: set[str]) -> Frame:
        """The independent second box score feed, for cross-source checks."""
        raise NotImplementedError

    def version(self) -> str | None:
        """A cheap token that changes whenever the source's data may have (None: unknown, so the
        raw-data sensor fingerprints the rows every tick)."""
        return None

    def newest_game_date(self) -> dt.date | None:
        """The newest game date any feed has a row for (a game played or scheduled, an odds
        quote), or None when the source has no game data at all. The raw-data sensor watches no
        date after it: a date the source knows nothing of has nothing to build yet."""
        raise NotImplementedError


class FeedSource(NbaSource):
    """Builds the raw tables from the feeds (typed as in formats.py), wherever they come from.

    A subclass says how to read each feed for a date range (`read_*`); the building, the season
    types and the facts are the same for every source, so two sources given the same feed rows
    produce the same raw tables."""

    season_types: list[str] = PydanticField(
        default=["regular", "cup_final", "play_in", "playoffs"],
        description="Season types that enter the pipeline; games of other types are excluded and counted in metadata (all_star is never supported: its teams are not NBA franchises).",
    )
    player_feed_season_types: list[str] = PydanticField(
        default=["regular"],
        description="Season types the player feeds cover; games of other types are not expected to have player rows.",
    )

    # the schedule and player box scores of a range, built once per resource instance (one run):
    # four raw assets need the schedule, two the player rows, and every step of the run then
    # sees the same frames
    _built: dict = PrivateAttr(default_factory=dict)

    def _once(self, what: str, start: dt.date, end: dt.date, build) -> Frame:
        # keyed by the source's version too: a long-lived process (the raw-data sensor's) must
        # see data that changed since
        key = (what, start, end, self.version())
        if key not in self._built:
            self._built[key] = build(start, end)
        frame, facts = self._built[key]
        return frame.copy(), dict(facts)

    def _validate_config(self) -> None:
        for st in [*self.season_types, *self.player_feed_season_types]:
            if st not in SEASON_TYPES:
                raise ValueError(f"unknown season type {st!r}; known: {SEASON_TYPES}")

    # the feeds, each for an inclusive range of US Eastern game dates --------------------------
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

    # the raw tables ---------------------------------------------------------------------------
    def _team_logs(self, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, dict]:
        self._validate_config()
        logs = self.read_team_game_logs(start, end)
        logs = logs[(logs["GAME_DATE"] >= _to_ts(start)) & (logs["GAME_DATE"] <= _to_ts(end))]
        return transforms.select_team_game_logs(logs, self.season_types)

    def _start_times(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        frames = []
        snaps = self._prop_snapshots(start, end)
        if len(snaps):
            teams = transforms.split_game(snaps, self.teams())
            frames.append(pd.DataFrame({"game_date": transforms.eastern_date(snaps["game_time"]), **teams, "start_time_utc": snaps["game_time"]}))
        lines = self._game_line_rows(start, end)
        if len(lines):
            by_name = self.teams().set_index("full_name")["abbreviation"]
            frames.append(pd.DataFrame({
                "game_date": transforms.eastern_date(lines["commence_time"]),
                "home_team": lines["home_team"].map(by_name),
                "away_team": lines["away_team"].map(by_name),
                "start_time_utc": lines["commence_time"],
            }))
        if not frames:
            return pd.DataFrame(columns=["game_date", "home_team", "away_team", "start_time_utc"])
        return pd.concat(frames, ignore_index=True)

    def schedule(self, start: dt.date, end: dt.date) -> Frame:
        return self._once("schedule", start, end, self._build_schedule)

    def _build_schedule(self, start: dt.date, end: dt.date) -> Frame:
        logs, excluded = self._team_logs(start, end)
        # tip-off times come from the odds feeds; an unreadable odds file fails the props and game
        # lines partitions (naming it), not the games: their times then come from the league
        # schedule, and the schedule's metadata says why
        try:
            start_times, odds_unreadable = self._start_times(start, end), None
        except FeedError as exc:
            start_times, odds_unreadable = None, str(exc)
        sched = transforms.build_schedule(logs, self.teams(), self.player_feed_season_types, start_times)
        league = self.read_league_schedule(start, end)
        league = league[(league["gameDateEst"] >= _to_ts(start)) & (league["gameDateEst"] <= _to_ts(end))]
        sched, pending = transforms.add_scheduled_games(
            sched, league, self.teams(), self.season_types, self.player_feed_season_types
        )
        facts = {
            **pending,
            "games_by_status": sched["status"].value_counts().to_dict(),
            "games_by_season_type": sched["season_type"].value_counts().to_dict(),
            "games_excluded_by_season_type": excluded,
            "games_without_player_feed": int((~sched["player_stats_expected"]).sum()),
            "games_with_start_time": int(sched["start_time_utc"].notna().sum()),
            **({"start_times_without_odds_feeds": odds_unreadable} if odds_unreadable else {}),
        }
        return sched, facts

    def boxscore_feed(self, start: dt.date, end: dt.date, game_ids: set[str]) -> Frame:
        """The second box score feed for `game_ids`, deduplicated, starters and DNPs marked."""
        return transforms.prepare_boxscore_feed(self.read_boxscores(start, end, game_ids))

    def team_boxscores(self, start: dt.date, end: dt.date) -> Frame:
        logs, _ = self._team_logs(start, end)
        sched, _ = self.schedule(start, end)
        players, _ = self.player_boxscores(start, end)
        teams = transforms.build_team_boxscores(logs, sched, players)
        return teams, {"rows_by_source": teams["source"].value_counts().to_dict()}

    def player_boxscores(self, start: dt.date, end: dt.date) -> Frame:
        return self._once("player_boxscores", start, end, self._build_player_boxscores)

    def _build_player_boxscores(self, start: dt.date, end: dt.date) -> Frame:
        sched, _ = self.schedule(start, end)
        expected = sched[sched["player_stats_expected"] & (sched["status"] == "final")]
        logs = self.read_player_game_logs(start, end)
        logs = logs[(logs["GAME_DATE"] >= _to_ts(start)) & (logs["GAME_DATE"] <= _to_ts(end))]
        feed, feed_facts = self.boxscore_feed(start, end, set(expected["game_id"]))
        players, facts = transforms.build_player_boxscores(logs, expected, self.players(), feed)
        return players, {**facts, **feed_facts}

    def _prop_snapshots(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        return _on_dates(self.read_prop_snapshots(start, end), "game_time", start, end)

    def player_points_props(self, start: dt.date, end: dt.date) -> Frame:
        sched, _ = self.schedule(start, end)
        snaps = self._prop_snapshots(start, end)
        props, facts = transforms.build_player_points_props(snaps, self.teams(), self.players(), sched)
        facts["snapshots"] = int(snaps["snapshot_time"].nunique()) if len(snaps) else 0
        return props, facts

    def _game_line_rows(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        return _on_dates(self.read_game_lines(start, end), "commence_time", start, end)

    def game_lines(self, start: dt.date, end: dt.date) -> Frame:
        sched, _ = self.schedule(start, end)
        return transforms.build_game_lines(self._game_line_rows(start, end), self.teams(), sched)


def _on_dates(df: pd.DataFrame, utc_column: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Rows whose UTC time falls on a US Eastern game date of start .. end."""
    date = transforms.eastern_date(df[utc_column])
    return df[(date >= _to_ts(start)) & (date <= _to_ts(end))]


def empty_snapshots() -> pd.DataFrame:
    return empty_feed(formats.PLAYER_PROPS).assign(snapshot_time=pd.Series(dtype="datetime64[ns, UTC]"))


class FilesSource(FeedSource):
    """Raw feeds from a directory laid out like ../shared/data/nba, plus an optional
    `schedule/<season>.csv` (the league schedule, formats.SCHEDULE) for games not final yet."""

    raw_dir: str = PydanticField(description="Directory with team_game_logs/, player_game_logs/, boxscores/, odds/, reference/ (and optionally schedule/)")

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
        newest.append(self._newest_in(
            [p for p in (lines.iterdir() if lines.is_dir() else []) if _LINES_FILE.match(p.name)],
            "GAME_LINES", "commence_time", True))
        # a snapshot lists the games not started yet when it was taken: the newest one lists the
        # newest games
        props = self.root / "odds" / "player_props"
        newest.append(self._newest_in(
            [p for p in (props.iterdir() if props.is_dir() else []) if _PROPS_FILE.match(p.name)],
            "PLAYER_PROPS", "game_time", True))
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
            p for p in d.iterdir()
            if (m := _SEASON_FILE.match(p.name)) and _season_overlaps(int(m.group(1)), start, end)
        )

    def _concat(self, paths: list[Path], fmt: str, rows: RowRange | RowSet | None = None) -> pd.DataFrame:
        return concat_feeds([_read(p, fmt, rows) for p in paths], getattr(formats, fmt))

    # feeds ----------------------------------------------------------------------------------
    def read_team_game_logs(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self._concat(self._season_files("team_game_logs", start, end), "TEAM_GAME_LOG", _dates("GAME_DATE", start, end))

    def read_player_game_logs(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self._concat(self._season_files("player_game_logs", start, end), "PLAYER_GAME_LOG", _dates("GAME_DATE", start, end))

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
            p for p in (d.iterdir() if d.is_dir() else [])
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
                raise FeedError(p, None, None, "file name is not raw_YYYYMMDD_HHMMSS.csv with a valid UTC time") from None
            # a game's Eastern date is at most a day from the UTC date of a same-day snapshot
            if start - dt.timedelta(days=1) <= snap.date() <= end + dt.timedelta(days=1):
                frames.append(_read(p, "PLAYER_PROPS").assign(snapshot_time=snap))
        if not frames:
            return empty_snapshots()
        return pd.concat(frames, ignore_index=True)

    def read_game_lines(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        d = self.root / "odds" / "game_lines"
        paths = sorted(
            p for p in (d.iterdir() if d.is_dir() else [])
            if (m := _LINES_FILE.match(p.name)) and _season_overlaps(int(m.group(1)), start, end)
        )
        # a game's Eastern date is its UTC date or the day before
        return self._concat(paths, "GAME_LINES", RowRange(
            "commence_time", pd.Timestamp(start, tz="UTC"), pd.Timestamp(end + dt.timedelta(days=2), tz="UTC")))


def source_from_env() -> NbaSource:
    """The source NBA_SOURCE selects (`environment.source_settings`): `files` (default) reads
    NBA_RAW_DIR; `live` calls NBA.com stats and The Odds API (key NBA_ODDS_API_KEY), archiving odds
    snapshots under NBA_ODDS_ARCHIVE_DIR (NBA_STATS_URL / NBA_ODDS_URL override the endpoints).

    The key comes as `dg.EnvVar`: a resource's config is its default in every job snapshot Dagster
    stores in the instance, so only the variable's name goes there, and Dagster reads the value
    when a run or sensor tick initializes the resource."""
    settings = environment.source_settings()
    if isinstance(settings, environment.FilesSourceSettings):
        return FilesSource(raw_dir=settings.raw_dir)
    from nba_pipeline.raw.sources.live.source import LiveSource  # the live clients build on this module

    urls = {k: v for k, v in (("stats_url", settings.stats_url), ("odds_url", settings.odds_url)) if v}
    return LiveSource(archive_dir=settings.archive_dir, odds_api_key=settings.odds_api_key, **urls)
