"""The raw tables are built from a source's feeds by raw/build.py: a source only reads and parses.

Any source offering the feed readers of `NbaSource` gets the same raw tables for the same feed
rows, and a run builds the schedule and the player box scores once for its five raw assets."""

from __future__ import annotations

import collections
import datetime as dt
import os
import shutil

import pandas as pd
from pydantic import PrivateAttr

from nba_pipeline.raw import build
from nba_pipeline.raw.sources.base import NbaSource
from nba_pipeline.raw.sources.files import FilesSource
from nba_pipeline_tests.conftest import REAL_DATA, needs_real_data

pytestmark = needs_real_data
DAY = dt.date(2025, 1, 15)  # a 2024-25 day: games, player rows, box scores and game lines
READERS = (
    "read_team_game_logs",
    "read_player_game_logs",
    "read_prop_snapshots",
    "read_game_lines",
    "read_league_schedule",
)


class FramesSource(NbaSource):
    """Feed frames held in memory: no files, no table building, only the readers."""

    _feeds: dict = PrivateAttr(default_factory=dict)

    @classmethod
    def of(cls, other: NbaSource, start: dt.date, end: dt.date) -> FramesSource:
        held = cls()
        held._feeds.update({name: getattr(other, name)(start, end) for name in READERS})
        games = set(build.schedule(other, start, end)[0]["game_id"])
        held._feeds.update(
            teams=other.teams(), players=other.players(), boxscores=other.read_boxscores(start, end, games)
        )
        return held

    def teams(self) -> pd.DataFrame:
        return self._feeds["teams"]

    def players(self) -> pd.DataFrame:
        return self._feeds["players"]

    def read_team_game_logs(self, start, end):
        return self._feeds["read_team_game_logs"]

    def read_player_game_logs(self, start, end):
        return self._feeds["read_player_game_logs"]

    def read_boxscores(self, start, end, game_ids):
        feed = self._feeds["boxscores"]
        return feed[feed["game_id"].isin(game_ids)].reset_index(drop=True)

    def read_prop_snapshots(self, start, end):
        return self._feeds["read_prop_snapshots"]

    def read_game_lines(self, start, end):
        return self._feeds["read_game_lines"]

    def read_league_schedule(self, start, end):
        return self._feeds["read_league_schedule"]


class CountingFilesSource(FilesSource):
    """The files source, counting each feed read."""

    _reads: collections.Counter = PrivateAttr(default_factory=collections.Counter)

    def read_team_game_logs(self, start, end):
        self._reads["team_game_logs"] += 1
        return super().read_team_game_logs(start, end)

    def read_player_game_logs(self, start, end):
        self._reads["player_game_logs"] += 1
        return super().read_player_game_logs(start, end)

    def read_league_schedule(self, start, end):
        self._reads["league_schedule"] += 1
        return super().read_league_schedule(start, end)


def _tables(source: NbaSource, day: dt.date = DAY) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Every raw table of `day`, in the order a run's steps build them."""
    return {name: builder(source, day, day) for name, builder in build.BUILDERS.items()}


def test_any_source_offering_the_feed_readers_gets_the_raw_tables():
    files = FilesSource(raw_dir=str(REAL_DATA))
    rows = collections.Counter()
    # the data has game lines for 2024-25 and props for 2025-26
    for day in (DAY, dt.date(2025, 11, 5)):
        want = _tables(files, day)
        got = _tables(FramesSource.of(files, day, day), day)
        for name, (frame, facts) in want.items():
            pd.testing.assert_frame_equal(got[name][0], frame, obj=name)
            assert got[name][1].keys() == facts.keys(), name
            rows[name] += len(frame)
    assert set(rows) == {"schedule", "team_boxscores", "player_boxscores", "player_props", "game_lines"}
    assert min(rows.values()) > 0, rows


def test_a_run_builds_the_schedule_and_player_rows_once(tmp_path):
    """Four raw assets need the schedule and two the player rows: one source instance (a run's)
    reads their feeds once per range, hands out copies, and reads again once its data changed."""
    raw = tmp_path / "raw"
    shutil.copytree(REAL_DATA, raw, ignore=shutil.ignore_patterns("boxscores", "player_props", "README.md"))
    source = CountingFilesSource(raw_dir=str(raw))
    first = _tables(source)
    assert source._reads == {
        "league_schedule": 1,
        "player_game_logs": 1,
        "team_game_logs": 2,
    }  # (team box scores read the logs too)

    sched, _ = build.schedule(source, DAY, DAY)
    sched["status"] = "mangled"  # a caller's change stays its own
    again, _ = build.schedule(source, DAY, DAY)
    pd.testing.assert_frame_equal(again, first["schedule"][0])
    assert source._reads["league_schedule"] == 1

    other = CountingFilesSource(raw_dir=str(raw))  # the next run
    build.schedule(other, DAY, DAY)
    assert other._reads["league_schedule"] == 1 and source._reads["league_schedule"] == 1

    logs = raw / "team_game_logs" / "2024-25.csv"
    st = logs.stat()
    os.utime(logs, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # the source's version changes
    build.player_boxscores(source, DAY, DAY)
    assert source._reads == {"league_schedule": 2, "player_game_logs": 2, "team_game_logs": 3}


def test_a_source_builds_no_table():
    """The table builders live in raw/build.py, not on the sources: a source only reads."""
    builders = {*build.BUILDERS, "boxscore_feed"}
    assert [m for m in builders if hasattr(FilesSource, m) or hasattr(NbaSource, m)] == []
