"""The `live` source: the feeds `files` reads, from NBA.com stats and The Odds API.

Results (game logs, box scores, the schedule) can be fetched again any time. Odds cannot: they are
snapshots, gone once a game starts. So each odds fetch is archived under `archive_dir` in the files
layout (odds/player_props/raw_<UTC time>.csv, odds/game_lines/theodds_lines_<season>.csv), and a
date's props and lines are read back from the archive by the files source's own readers: a date's
pre-tip-off lines survive its tip-off, a re-run of an old date reads the lines it had, and the two
sources' feeds build identical tables from the same snapshots.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import Field as PydanticField
from pydantic import PrivateAttr

from nba_pipeline.core.files import write_text_atomic
from nba_pipeline.core.history import season_label
from nba_pipeline.core.partitions import GAME_TIMEZONE
from nba_pipeline.raw import formats
from nba_pipeline.raw.feeds import concat_feeds, typed_rows
from nba_pipeline.raw.reference import TEAM_COLUMNS, TEAMS
from nba_pipeline.raw.sources.base import NbaSource
from nba_pipeline.raw.sources.files import FilesSource
from nba_pipeline.raw.sources.live.http import JsonHttp
from nba_pipeline.raw.sources.live.nba_stats import STATS_HEADERS, STATS_URL, NbaStatsApi, seasons_between
from nba_pipeline.raw.sources.live.odds_api import ODDS_URL, OddsApi

ET = ZoneInfo(GAME_TIMEZONE)
WATCH_DAYS = 7


def feed_csv(df: pd.DataFrame, fields) -> str:
    """A typed feed frame written back in its file format (what FilesSource reads)."""
    out = pd.DataFrame(index=df.index)
    for f in fields:
        col = df[f.name]
        if f.kind == "utc":
            out[f.name] = col.dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
        elif f.kind == "float":
            out[f.name] = col.map(lambda v: "" if pd.isna(v) else repr(float(v)))
        else:
            out[f.name] = col.astype(object).where(col.notna(), "")
    return out.to_csv(index=False, lineterminator="\n")


class LiveSource(NbaSource):
    """NBA.com stats endpoints for results and schedule, The Odds API for odds (archived)."""

    archive_dir: str = PydanticField(
        description="Where odds snapshots are archived (files layout); must persist across runs"
    )
    odds_api_key: str = PydanticField(
        default="",
        description=(
            "The Odds API key: set it as dg.EnvVar('NBA_ODDS_API_KEY'), "
            "or the key is stored in the instance's job snapshots"
        ),
    )
    stats_url: str = STATS_URL
    odds_url: str = ODDS_URL
    timeout_seconds: float = 30.0
    max_retries: int = 4
    backoff_seconds: float = 1.0
    stats_min_interval_seconds: float = PydanticField(default=0.6, description="stats.nba.com throttles bursts")
    odds_min_interval_seconds: float = 0.0
    snapshot_every_minutes: float = PydanticField(
        default=60.0, description="odds fetched at most this often (API credits)"
    )
    schedule_cache_seconds: float = PydanticField(
        default=60.0,
        description="a league schedule fetched this recently is reused (every raw step asks for the source's version)",
    )

    _clients: dict = PrivateAttr(default_factory=dict)
    _players: list = PrivateAttr(default_factory=list)  # fetched once per resource instance
    _schedules: dict = PrivateAttr(default_factory=dict)  # season -> (monotonic time fetched, frame)

    # the clock and the clients (tests replace `now` and point the URLs at a local server) -------
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def _http(self, kind: str) -> JsonHttp:
        if kind not in self._clients:
            self._clients[kind] = JsonHttp(
                timeout=self.timeout_seconds,
                max_retries=self.max_retries,
                backoff=self.backoff_seconds,
                min_interval=self.stats_min_interval_seconds if kind == "stats" else self.odds_min_interval_seconds,
                headers=STATS_HEADERS if kind == "stats" else {},
            )
        return self._clients[kind]

    @property
    def stats(self) -> NbaStatsApi:
        return NbaStatsApi(self._http("stats"), self.stats_url)

    @property
    def odds(self) -> OddsApi:
        return OddsApi(self._http("odds"), self.odds_api_key, self.odds_url)

    @property
    def archive(self) -> FilesSource:
        return FilesSource(raw_dir=self.archive_dir)

    def version(self) -> str | None:
        """Changes when a watched game's status changes, a snapshot is archived, or the day turns
        (one schedule request per call; a stat correction after a game is final is picked up by
        the next day's re-check of the watch window)."""
        today = self.now().astimezone(ET).date()
        start = today - dt.timedelta(days=WATCH_DAYS)
        sched = self.read_league_schedule(start, today)
        h = hashlib.sha256(today.isoformat().encode())
        for row in sched[["gameId", "gameStatus"]].itertuples(index=False):
            h.update(f"{row.gameId}:{row.gameStatus}\n".encode())
        root = Path(self.archive_dir)
        for p in sorted(root.rglob("*.csv")) if root.is_dir() else []:
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        return h.hexdigest()

    def newest_game_date(self) -> dt.date | None:
        """The last game date of the league schedule (the current season's; the previous one's
        while the next is not published), or of the archived odds if later."""
        today = self.now().astimezone(ET).date()
        known = [self.archive.newest_game_date()] if Path(self.archive_dir).is_dir() else []
        for season in (season_label(today), season_label(today - dt.timedelta(days=365))):
            sched = self._season_schedule(season)
            if len(sched):
                known.append(sched["gameDateEst"].max().date())
                break
        known = [d for d in known if d is not None]
        return max(known) if known else None

    # the feeds ----------------------------------------------------------------------------------
    def teams(self) -> pd.DataFrame:
        return typed_rows(
            "nba_pipeline.raw.reference.TEAMS",
            pd.DataFrame(list(TEAMS), columns=TEAM_COLUMNS, dtype=object),
            formats.TEAMS,
        )

    def players(self) -> pd.DataFrame:
        if not self._players:
            self._players.append(self.stats.players(season_label(self.now().astimezone(ET).date())))
        return self._players[0]

    def read_team_game_logs(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self.stats.team_game_logs(seasons_between(start, end), self.season_types, start, end)

    def read_player_game_logs(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self.stats.player_game_logs(seasons_between(start, end), self.player_feed_season_types, start, end)

    def read_boxscores(self, start: dt.date, end: dt.date, game_ids: set[str]) -> pd.DataFrame:
        return concat_feeds([self.stats.boxscore(g) for g in sorted(game_ids)], formats.BOXSCORE)

    def read_league_schedule(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        sched = concat_feeds([self._season_schedule(s) for s in seasons_between(start, end)], formats.SCHEDULE)
        return sched[(sched["gameDateEst"] >= pd.Timestamp(start)) & (sched["gameDateEst"] <= pd.Timestamp(end))]

    def _season_schedule(self, season: str) -> pd.DataFrame:
        # the whole season comes in one response; every raw step of a run (and each sensor tick)
        # asks for the version, which needs it, and stats.nba.com throttles repeated requests
        fetched = self._schedules.get(season)
        if fetched is None or time.monotonic() - fetched[0] > self.schedule_cache_seconds:
            fetched = self._schedules[season] = (time.monotonic(), self.stats.schedule(season))
        return fetched[1]

    def read_prop_snapshots(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        self.refresh_odds(start, end)
        return self.archive.read_prop_snapshots(start, end)

    def read_game_lines(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        self.refresh_odds(start, end)
        return self.archive.read_game_lines(start, end)

    # the odds archive ---------------------------------------------------------------------------
    def _last_snapshot(self) -> dt.datetime | None:
        folder = Path(self.archive_dir) / "odds" / "player_props"
        names = sorted(p.name for p in folder.glob("raw_*.csv")) if folder.is_dir() else []
        if not names:
            return None
        return dt.datetime.strptime(names[-1][4:19], "%Y%m%d_%H%M%S").replace(tzinfo=dt.UTC)

    def refresh_odds(self, start: dt.date, end: dt.date) -> str | None:
        """Take a snapshot of the odds of games not started yet, if the range has such games and
        the last snapshot is older than `snapshot_every_minutes`. Returns the snapshot's file name."""
        now = self.now().replace(microsecond=0)
        if end < now.astimezone(ET).date():
            return None  # games of the past: the archive has what there was
        last = self._last_snapshot()
        if last is not None and now - last < dt.timedelta(minutes=self.snapshot_every_minutes):
            return None
        until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(6), tzinfo=ET)  # late West-coast tips
        events = self.odds.events(now, until)
        props = [self.odds.player_props(ev) for ev in events]
        props = pd.concat(props, ignore_index=True) if props else None
        name = f"raw_{now:%Y%m%d_%H%M%S}.csv"
        root = Path(self.archive_dir) / "odds"
        text = (
            feed_csv(props, formats.PLAYER_PROPS)
            if props is not None
            else ",".join(f.name for f in formats.PLAYER_PROPS) + "\n"
        )
        # an empty slate is archived too: it says when the odds were last looked at
        write_text_atomic(root / "player_props" / name, text)
        lines = self.odds.game_lines(now, until, now)
        # an event no book quotes yet carries no line: keep the file to games with a line
        lines = lines[lines[[c for c in lines.columns if c.startswith("fg_")]].notna().any(axis=1)]
        if len(lines):
            self._archive_lines(lines)
        return name

    def _archive_lines(self, lines: pd.DataFrame) -> None:
        """Upsert one row per game (its latest snapshot before tip-off) into the season's file."""
        for season, rows in lines.groupby(
            lines["commence_time"].dt.tz_convert(ET).map(lambda t: season_label(t.date()))
        ):
            path = Path(self.archive_dir) / "odds" / "game_lines" / f"theodds_lines_{season}.csv"
            old = self.archive._concat([path], "GAME_LINES") if path.exists() else None
            keep = old[~old["event_id"].isin(set(rows["event_id"]))] if old is not None else None
            merged = pd.concat([keep, rows], ignore_index=True) if keep is not None else rows
            write_text_atomic(path, feed_csv(merged.sort_values(["commence_time", "event_id"]), formats.GAME_LINES))
