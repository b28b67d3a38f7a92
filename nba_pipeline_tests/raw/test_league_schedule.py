"""The league schedule feed: games not final yet enter the schedule as `scheduled`, so a morning's
slate (its context, features and predictions) exists before any of its results."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from nba_pipeline.raw import build, transforms
from nba_pipeline.raw.feeds import FeedError, read_feed
from nba_pipeline.raw.formats import SCHEDULE
from nba_pipeline.raw.sources.files import FilesSource
from nba_pipeline_dev.replay import ReplayWorld
from nba_pipeline_tests.conftest import REAL_DATA, needs_real_data

pytestmark = needs_real_data
DAY = dt.date(2025, 11, 5)
HEADER = "gameId,gameDateEst,gameDateTimeUTC,gameStatus,gameStatusText,homeTeam.teamTricode,awayTeam.teamTricode\n"


def _feed(tmp_path, rows: list[str]) -> pd.DataFrame:
    path = tmp_path / "schedule.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return read_feed(path, SCHEDULE)


@pytest.fixture(scope="module")
def real():
    return FilesSource(raw_dir=str(REAL_DATA))


def test_games_not_in_the_logs_are_added_as_scheduled(tmp_path, real):
    finals, _ = build.schedule(real, dt.date(2025, 11, 4), dt.date(2025, 11, 4))
    known = finals.iloc[0]
    feed = _feed(
        tmp_path,
        [
            # already final in the logs: the logs' row stays
            f"{known.game_id},2025-11-04,,3,Final,{known.home_team},{known.away_team}",
            "0022509991,2025-11-10,2025-11-11T00:30:00Z,1,7:30 pm ET,BOS,NYK",
            "0022509992,2025-11-10,,3,Final,LAL,DEN",  # final per the schedule, logs not there yet
            "0022509993,2025-11-10,,1,PPD,MIA,ORL",  # postponed
            "0012509994,2025-11-10,,1,,MIA,ORL",  # preseason: not a configured season type
        ],
    )
    merged, facts = transforms.add_scheduled_games(finals, feed, real.teams(), ["regular"], ["regular"])
    assert facts == {"games_scheduled": 2, "games_final_in_schedule_awaiting_logs": 1, "games_postponed": 1}
    assert len(merged) == len(finals) + 2
    assert (merged[merged.game_id.isin(finals.game_id)].status == "final").all()
    new = merged[~merged.game_id.isin(finals.game_id)].set_index("game_id")
    assert list(new.status) == ["scheduled", "scheduled"]
    bos = new.loc["0022509991"]
    assert (bos.home_team, bos.away_team, bos.season, bos.season_type) == ("BOS", "NYK", "2025-26", "regular")
    assert bos.start_time_utc == pd.Timestamp("2025-11-11T00:30:00Z")
    assert pd.isna(bos.home_points) and pd.isna(bos.overtime_periods)


def test_bad_schedule_rows_are_named(tmp_path, real):
    finals, _ = build.schedule(real, dt.date(2025, 11, 4), dt.date(2025, 11, 4))
    bad_team = _feed(tmp_path, ["0022509991,2025-11-10,,1,,BOS,XXX"])
    with pytest.raises(FeedError, match=r"schedule\.csv, line 2, column 'awayTeam.teamTricode'"):
        transforms.add_scheduled_games(finals, bad_team, real.teams(), ["regular"], ["regular"])
    twice = _feed(tmp_path, ["0022509991,2025-11-10,,1,,BOS,NYK", "0022509991,2025-11-11,,1,,BOS,NYK"])
    with pytest.raises(FeedError, match=r"line 3, column 'gameId': listed twice"):
        transforms.add_scheduled_games(finals, twice, real.teams(), ["regular"], ["regular"])
    status = _feed(tmp_path, ["0022509991,2025-11-10,,4,,BOS,NYK"])
    with pytest.raises(FeedError, match=r"column 'gameStatus'"):
        transforms.add_scheduled_games(finals, status, real.teams(), ["regular"], ["regular"])


def test_the_files_source_over_a_replayed_day(tmp_path):
    """Before the day's results, the day's games come from the league schedule: scheduled, with
    tip-off times, the morning's odds attached to them, and no player rows; once final, the
    same game ids are final with scores and box scores."""
    world = ReplayWorld(REAL_DATA, tmp_path / "raw", DAY)
    world.prepare()
    source = FilesSource(raw_dir=str(tmp_path / "raw"))
    sched, facts = build.schedule(source, DAY, DAY)
    assert len(sched) > 0 and (sched.status == "scheduled").all()
    assert facts["games_scheduled"] == len(sched)
    yesterday, _ = build.schedule(source, DAY - dt.timedelta(days=1), DAY - dt.timedelta(days=1))
    assert len(yesterday) > 0 and (yesterday.status == "final").all()
    props, _ = build.player_props(source, DAY, DAY)
    assert props.empty  # the snapshot is not taken yet

    assert world.morning_snapshot() == ["raw_20251105_170000.csv"]
    props, _ = build.player_props(source, DAY, DAY)
    assert len(props) > 0 and props.game_id.notna().all()
    assert set(props.game_id) <= set(sched.game_id)
    players, _ = build.player_boxscores(source, DAY, DAY)
    assert players.empty

    n = world.games_final()
    final, _ = build.schedule(source, DAY, DAY)
    assert len(final) == n and (final.status == "final").all()
    assert set(final.game_id) == set(sched.game_id) and final.home_points.notna().all()
    players, _ = build.player_boxscores(source, DAY, DAY)
    truth, _ = build.player_boxscores(FilesSource(raw_dir=str(REAL_DATA)), DAY, DAY)
    pd.testing.assert_frame_equal(players.reset_index(drop=True), truth.reset_index(drop=True))
