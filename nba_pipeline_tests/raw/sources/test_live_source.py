"""The live source against a local server answering like stats.nba.com and The Odds API, built from
the real data of 2025-11-05 as it stood that morning (odds) and that night (results).

The day is replayed as a live deployment sees it: the odds are fetched at 17:00 UTC, before tip-off,
and archived; the results are fetched after the games. Then the `files` and `live` sources' feeds
must build identical raw tables, through the same Dagster assets. Errors a live feed has (429, 500,
malformed JSON, an empty slate, a postponed game, a bad value, a wrong key) are served too.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import dagster as dg
import duckdb
import pandas as pd
import pytest

from nba_pipeline.raw import assets as raw_assets
from nba_pipeline.raw import build
from nba_pipeline.raw.feeds import FeedError
from nba_pipeline.raw.sources import source_from_env
from nba_pipeline.raw.sources.files import FilesSource
from nba_pipeline.raw.sources.live.http import FeedRequestError, JsonHttp
from nba_pipeline.raw.sources.live.odds_api import OddsApi
from nba_pipeline.raw.sources.live.source import LiveSource
from nba_pipeline.raw.transforms import DROPPED_LINES, WITHHELD_PRICES
from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager
from nba_pipeline_dev.replay import ReplayWorld
from nba_pipeline_tests.conftest import REAL_DATA, needs_real_data
from nba_pipeline_tests.raw.sources.feed_server import API_KEY, FeedServer

pytestmark = needs_real_data
DAY = dt.date(2025, 11, 5)
ODDS_TIME = dt.datetime(2025, 11, 5, 17, 0, tzinfo=dt.UTC)  # the day's real snapshot: raw_20251105_170000.csv
NIGHT = dt.datetime(2025, 11, 6, 6, 30, tzinfo=dt.UTC)  # every game final
RAW_TABLES = ["schedule", "team_boxscores", "player_boxscores", "player_props", "game_lines"]
# facts about reading a feed, which differ by nature between a file and an API (the file lists
# box score rows twice and every prop market; the live source asks for the priced markets only)
FEED_READING_FACTS = {
    "feed_rows_read",
    "feed_duplicate_rows_dropped",
    "other_market_rows_skipped",
    "other_markets_skipped",
}
# the markets the live source must ask The Odds API for, as its API spells them
PRICED = "player_points,player_rebounds,player_assists,player_threes,player_points_rebounds_assists"


class ClockedLiveSource(LiveSource):
    """The live source at a fixed moment of the replayed day."""

    at: str

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.at)


def live_at(server: FeedServer, archive: Path, when: dt.datetime, **kw) -> ClockedLiveSource:
    return ClockedLiveSource(
        at=when.isoformat(),
        archive_dir=str(archive),
        odds_api_key=API_KEY,
        stats_url=server.url + "/stats",
        odds_url=server.url,
        stats_min_interval_seconds=0,
        backoff_seconds=0,
        **kw,
    )


def morning_world(root: Path) -> ReplayWorld:
    """The real data as it stood on the morning of DAY: earlier results, the day's odds snapshot."""
    world = ReplayWorld(REAL_DATA, root / "raw", DAY)
    world.prepare()
    world.morning_snapshot()
    return world


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """The replayed day: odds archived by the live source that morning, then every game final."""
    root = tmp_path_factory.mktemp("live")
    world = morning_world(root)
    with FeedServer(world.out, ODDS_TIME) as server:
        morning = live_at(server, root / "archive", ODDS_TIME)
        props, _ = build.player_props(morning, DAY, DAY)
        assert len(props) > 0
        world.games_final()
        server.data.now = NIGHT
        yield world, server, root / "archive"


def test_files_and_live_build_identical_raw_tables(day):
    world, server, archive = day
    files = FilesSource(raw_dir=str(world.out))
    live = live_at(server, archive, NIGHT)
    before = dict(server.hits)
    for table in RAW_TABLES:
        want, want_facts = build.BUILDERS[table](files, DAY, DAY)
        got, got_facts = build.BUILDERS[table](live, DAY, DAY)
        pd.testing.assert_frame_equal(got, want, obj=table)
        # prices withheld and lines dropped (none on this day) are frames for the prices_valid and
        # lines_valid checks, by file name and line
        for frame in (WITHHELD_PRICES, DROPPED_LINES):
            if frame in want_facts:
                pd.testing.assert_frame_equal(got_facts.pop(frame), want_facts.pop(frame), obj=f"{table} {frame}")
        assert {k: v for k, v in got_facts.items() if k not in FEED_READING_FACTS} == {
            k: v for k, v in want_facts.items() if k not in FEED_READING_FACTS
        }, table
    # the second box score feed (for cross-source checks): the same rows (starters included, taken
    # from each feed's order), games in another order
    games = set(build.schedule(files, DAY, DAY)[0].game_id)
    want_feed, got_feed = (
        build.boxscore_feed(s, DAY, DAY, games)[0]
        .sort_values(["game_id", "team_id", "player_id"])
        .reset_index(drop=True)
        for s in (files, live)
    )
    assert len(want_feed) > 200
    pd.testing.assert_frame_equal(got_feed, want_feed)
    # the day was real: 11 games, their players, the morning's quotes in the five priced markets
    assert len(build.schedule(files, DAY, DAY)[0]) == 11 and len(want) == 0  # (no 2025-26 game lines in the data)
    props, facts = build.player_props(live, DAY, DAY)
    assert len(props) == 6238 and set(facts["rows_by_market"]) == set(PRICED.split(","))
    assert facts["other_markets_skipped"] == {}  # asked for the priced markets, the API sends no others
    # after tip-off the odds come from the archive: no odds request at night
    assert not any(p.startswith("/v4/") and server.hits[p] != before.get(p, 0) for p in server.hits)
    assert sorted(p.name for p in (archive / "odds" / "player_props").iterdir()) == ["raw_20251105_170000.csv"]


def _materialize_raw(source, db: Path, instance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        dg.load_assets_from_modules([raw_assets]),
        partition_key=DAY.isoformat(),
        instance=instance,
        raise_on_error=False,
        resources={"nba_source": source, "io_manager": NbaDuckDBIOManager(database=str(db))},
    )


def test_raw_assets_from_live_equal_those_from_files(day, tmp_path):
    world, server, archive = day
    with dg.DagsterInstance.ephemeral() as instance:
        files_run = _materialize_raw(FilesSource(raw_dir=str(world.out)), tmp_path / "files.duckdb", instance)
        live_run = _materialize_raw(live_at(server, archive, NIGHT), tmp_path / "live.duckdb", instance)
    assert files_run.success and live_run.success

    def outcomes(run):
        return {(c.asset_key.to_user_string(), c.check_name): c.passed for c in run.get_asset_check_evaluations()}

    # every check agrees; the one that does not pass is game lines' coverage (the data has no
    # 2025-26 game lines), a non-blocking warning
    assert outcomes(live_run) == outcomes(files_run)
    assert [k for k, ok in outcomes(live_run).items() if not ok] == [("nba_raw/game_lines", "covers_schedule")]
    for table in RAW_TABLES:
        sql = f"SELECT * FROM nba_raw.{table}"
        with (
            duckdb.connect(str(tmp_path / "files.duckdb"), read_only=True) as f,
            duckdb.connect(str(tmp_path / "live.duckdb"), read_only=True) as live,
        ):
            want, got = f.execute(sql).df(), live.execute(sql).df()
        assert len(want) > 0 or table == "game_lines"
        pd.testing.assert_frame_equal(got, want, obj=table)


def test_rate_limited_and_failing_requests_are_retried(day):
    world, server, archive = day
    files = FilesSource(raw_dir=str(world.out))
    want, _ = build.team_boxscores(files, DAY, DAY)
    games = set(want.game_id)
    want_feed, _ = build.boxscore_feed(files, DAY, DAY, games)
    server.faults["/stats/leaguegamelog"] += [429, 500, 503]
    server.faults["/stats/boxscoretraditionalv3"] += [502]
    live = live_at(server, archive, NIGHT)
    got, _ = build.team_boxscores(live, DAY, DAY)
    got_feed, _ = build.boxscore_feed(live, DAY, DAY, games)
    pd.testing.assert_frame_equal(got, want)
    assert len(got_feed) == len(want_feed) > 200
    assert not any(server.faults.values())  # every fault was served, and retried past


def test_a_feed_down_fails_the_partition_loudly_and_writes_nothing(day, tmp_path):
    world, server, archive = day
    server.faults["/stats/boxscoretraditionalv3"] += [500] * 3
    live = live_at(server, archive, NIGHT, max_retries=2)
    with dg.DagsterInstance.ephemeral() as instance:
        result = _materialize_raw(live, tmp_path / "down.duckdb", instance)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        assert "boxscoretraditionalv3?GameID=00225" in str(failure.event_specific_data.error)
        assert "HTTP 500" in str(failure.event_specific_data.error) and "gave up after 3 attempts" in str(
            failure.event_specific_data.error
        )
        done = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
        assert "player_boxscores" not in done and "team_boxscores" not in done
        assert not instance.get_materialized_partitions(dg.AssetKey(["nba_raw", "player_boxscores"]))
    with duckdb.connect(str(tmp_path / "down.duckdb"), read_only=True) as con:
        written = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema='nba_raw'"
            ).fetchall()
        }
    assert "player_boxscores" not in written and "team_boxscores" not in written


def test_malformed_json_is_named(day):
    _, server, archive = day
    server.faults["/stats/scheduleleaguev2"] += ["malformed"]
    with pytest.raises(FeedRequestError, match=r"scheduleleaguev2\?LeagueID=00&Season=2025-26: response is not JSON"):
        build.schedule(live_at(server, archive, NIGHT), DAY, DAY)


def test_a_bad_value_is_named_by_request_row_and_column(day):
    _, server, archive = day

    def corrupt(body):
        rows = body["resultSets"][0]["rowSet"]
        rows[2][body["resultSets"][0]["headers"].index("PTS")] = "twelve"
        return body

    server.data.edits["leaguegamelog"] = corrupt
    try:
        with pytest.raises(FeedError, match=r"leaguegamelog\?.*PlayerOrTeam=T.*row 3.*'PTS'"):
            build.team_boxscores(live_at(server, archive, NIGHT), DAY, DAY)
    finally:
        server.data.edits.clear()


def test_a_wrong_key_is_not_retried_and_not_shown(day, tmp_path):
    _, server, _ = day
    live = live_at(server, tmp_path / "archive", ODDS_TIME)
    live = live.model_copy(update={"odds_api_key": "wrong-key-xyz"})
    before = server.hits["/v4/sports/basketball_nba/events"]
    with pytest.raises(FeedRequestError, match="HTTP 401") as err:
        live.refresh_odds(DAY, DAY)
    assert "wrong-key-xyz" not in str(err.value) and "apiKey=***" in str(err.value)
    assert server.hits["/v4/sports/basketball_nba/events"] == before + 1


def test_the_live_source_asks_for_and_builds_every_priced_market(tmp_path):
    """The morning's odds request names the five priced markets; what the API sends for them is
    archived and built: the same quotes, market by market, as the day's snapshot file holds."""
    world = morning_world(tmp_path)
    with FeedServer(world.out, ODDS_TIME) as server:
        live = live_at(server, tmp_path / "archive", ODDS_TIME)
        props, facts = build.player_props(live, DAY, DAY)
    asked = [
        parse_qs(urlparse(r).query)
        for r in server.requests
        if urlparse(r).path.startswith("/v4/sports/basketball_nba/events/")
    ]
    assert len(asked) == 11  # one request per game of the slate
    assert all(q["markets"] == [PRICED] for q in asked)
    want, want_facts = build.player_props(FilesSource(raw_dir=str(world.out)), DAY, DAY)
    assert set(props["market"]) == set(PRICED.split(","))
    assert facts["rows_by_market"] == want_facts["rows_by_market"]
    pd.testing.assert_frame_equal(props, want)
    # the file's other markets (double-double, blocks, ...) were never asked for
    archived = pd.read_csv(tmp_path / "archive" / "odds" / "player_props" / "raw_20251105_170000.csv")
    assert set(archived["market"]) == set(PRICED.split(","))


def test_an_empty_slate_is_archived_and_yields_no_props(tmp_path):
    # the morning of 2025-11-05, but asked after the last game started: no events left
    world = morning_world(tmp_path)
    late = dt.datetime(2025, 11, 6, 4, 0, tzinfo=dt.UTC)
    with FeedServer(world.out, late) as server:
        live = live_at(server, tmp_path / "archive", late)
        props, facts = build.player_props(live, DAY, DAY)
    assert len(props) == 0 and facts["snapshots"] == 0
    snap = tmp_path / "archive" / "odds" / "player_props" / "raw_20251106_040000.csv"
    assert snap.read_text().strip() == "event_id,player,market,line,bookmaker,game,game_time,over_odds,under_odds"
    assert not (tmp_path / "archive" / "odds" / "game_lines").exists()


def test_a_postponed_game_leaves_the_slate_and_is_counted(tmp_path):
    world = morning_world(tmp_path)
    with FeedServer(world.out, ODDS_TIME) as server:
        live = live_at(server, tmp_path / "archive", ODDS_TIME)
        slate, _ = build.schedule(live, DAY, DAY)
        postponed = sorted(slate.game_id)[0]
        server.data.postponed.add(postponed)
        live = live_at(server, tmp_path / "archive", ODDS_TIME)
        after, facts = build.schedule(live, DAY, DAY)
    assert len(slate) == 11 and (slate.status == "scheduled").all()
    assert len(after) == 10 and postponed not in set(after.game_id)
    assert facts["games_postponed"] == 1


def test_game_lines_are_the_books_consensus(tmp_path):
    """A 2024-25 day with game lines in the data: three books around each consensus line; the
    client's median gives the file's line back."""
    day = dt.date(2025, 1, 15)
    start = dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)
    end = dt.datetime(2025, 1, 16, 11, tzinfo=dt.UTC)
    with FeedServer(REAL_DATA, start) as server:
        got = OddsApi(JsonHttp(backoff=0), API_KEY, server.url).game_lines(start, end, start)
    want = FilesSource(raw_dir=str(REAL_DATA)).read_game_lines(day, day)
    want = want[(want.commence_time >= start) & (want.commence_time < end)]
    cols = [
        "event_id",
        "commence_time",
        "home_team",
        "away_team",
        "fg_ml_home",
        "fg_ml_away",
        "fg_spread_line",
        "fg_total_line",
    ]
    assert len(want) >= 5
    pd.testing.assert_frame_equal(
        got[cols].sort_values("event_id").reset_index(drop=True),
        want[cols].sort_values("event_id").reset_index(drop=True),
    )
    assert (got.snapshot_timestamp == pd.Timestamp(start)).all()


def test_nba_source_live_is_selected_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NBA_SOURCE", "live")
    monkeypatch.delenv("NBA_ODDS_ARCHIVE_DIR", raising=False)
    with pytest.raises(ValueError, match="NBA_ODDS_ARCHIVE_DIR"):
        source_from_env()
    monkeypatch.setenv("NBA_ODDS_ARCHIVE_DIR", str(tmp_path))
    monkeypatch.delenv("NBA_ODDS_API_KEY", raising=False)
    with pytest.raises(ValueError, match="^NBA_SOURCE=live needs NBA_ODDS_API_KEY: The Odds API key$"):
        source_from_env()
    monkeypatch.setenv("NBA_ODDS_API_KEY", "k")
    monkeypatch.setenv("NBA_STATS_URL", "http://127.0.0.1:9/stats")
    source = source_from_env()
    assert isinstance(source, LiveSource)
    assert (source.archive_dir, source.stats_url) == (str(tmp_path), "http://127.0.0.1:9/stats")
    # the key is the variable, read by Dagster when a run starts (the config stored holds its name)
    assert isinstance(source.odds_api_key, dg.EnvVar) and source.odds_api_key.env_var_name == "NBA_ODDS_API_KEY"
    monkeypatch.delenv("NBA_ODDS_API_KEY")
    with (
        dg.DagsterInstance.ephemeral() as instance,
        pytest.raises(dg.DagsterInvalidConfigError, match='"NBA_ODDS_API_KEY" which is not set'),
    ):
        _materialize_raw(source, tmp_path / "w.duckdb", instance)
    monkeypatch.setenv("NBA_SOURCE", "ftp")
    with pytest.raises(ValueError, match="'files' or 'live'"):
        source_from_env()


def test_the_odds_api_down_fails_the_odds_partitions_not_the_games(day, tmp_path):
    """Tip-off times come from the odds feeds: with The Odds API down the schedule (and every
    result) still lands, naming the request it could not make, and the props partition fails."""
    _, server, _ = day
    server.faults["/v4/sports/basketball_nba/events"] += [503] * 6
    live = live_at(server, tmp_path / "archive", ODDS_TIME, max_retries=1)
    sched, facts = build.schedule(live, DAY, DAY)
    assert len(sched) == 11 and sched["start_time_utc"].notna().all()  # the league schedule's times
    assert "/v4/sports/basketball_nba/events" in facts["start_times_without_odds_feeds"]
    assert (
        "HTTP 503" in facts["start_times_without_odds_feeds"] and API_KEY not in facts["start_times_without_odds_feeds"]
    )
    with pytest.raises(FeedRequestError, match="HTTP 503"):
        build.player_props(live, DAY, DAY)
    server.faults["/v4/sports/basketball_nba/events"].clear()


def test_the_newest_game_date_is_the_league_schedules_last(day, tmp_path):
    """What the raw-data sensor watches up to: the live source knows the season's whole schedule
    (its last game in this data: 2025-11-09), also before any odds were archived; in the summer
    after a season, the newest date is that season's last one."""
    world, server, archive = day
    assert live_at(server, archive, NIGHT).newest_game_date() == dt.date(2025, 11, 9)
    assert live_at(server, tmp_path / "no_archive_yet", NIGHT).newest_game_date() == dt.date(2025, 11, 9)
    summer = dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC)  # season 2025-26 by the clock
    assert live_at(server, archive, summer).newest_game_date() == dt.date(2025, 11, 9)
    autumn = dt.datetime(2026, 9, 15, 12, tzinfo=dt.UTC)  # 2026-27 not published here
    assert live_at(server, archive, autumn).newest_game_date() == dt.date(2025, 11, 9)
