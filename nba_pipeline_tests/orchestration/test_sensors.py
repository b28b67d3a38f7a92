"""The raw-data sensor and the morning schedule: explicit partition keys, exactly the partitions
whose source rows changed, nothing requested twice (incident 10 included)."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import dagster as dg
import pandas as pd
import pytest

from nba_pipeline.cli.runner import run_backfill
from nba_pipeline.core.history import unmet_needs
from nba_pipeline.orchestration.sensors import (
    PREDICTION_DAY,
    WATCH_DAYS,
    evaluate_raw_source,
    morning_predictions,
    raw_data_sensor,
    recorded_fingerprints,
)
from nba_pipeline.raw.sources.base import NbaSource
from nba_pipeline.raw.sources.files import FilesSource
from nba_pipeline_tests.conftest import REAL_DATA, make_defs, needs_real_data

TODAY = dt.date(2024, 11, 4)
RAW = {"schedule", "team_boxscores", "player_boxscores", "player_props", "game_lines"}


def by_partition(requests) -> dict[str, set[str]]:
    assert isinstance(requests, list), requests
    out = {}
    for r in requests:
        assert r.partition_key not in out  # one run per date
        out[r.partition_key] = {k.path[-1] for k in r.asset_selection}
    return out


def _touch(path) -> None:
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _rewrite_csv(path, change) -> None:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(df).to_csv(path, index=False)
    _touch(path)


def _land_last_nights_games(raw, held) -> None:
    """The held-back games of 11-03 turn final: their team and player logs land."""
    for feed in ("team_game_logs", "player_game_logs"):
        path = raw / feed / "2024-25.csv"
        pd.concat(
            [
                pd.read_csv(path, dtype=str, keep_default_na=False),
                pd.read_csv(held / f"{feed}.csv", dtype=str, keep_default_na=False),
            ]
        ).to_csv(path, index=False)
        _touch(path)


@pytest.fixture
def league(league_copy, tmp_path):
    raw, _ = league_copy
    # hold back what "arrives" later: the games of 11-03 (last night) and the 11-04 odds snapshot
    held = tmp_path / "held"
    held.mkdir()
    for feed in ("team_game_logs", "player_game_logs"):
        path = raw / feed / "2024-25.csv"
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        late = df["GAME_DATE"].isin(["2024-11-03", "NOV 03, 2024"])
        df[late].to_csv(held / f"{feed}.csv", index=False)
        df[~late].to_csv(path, index=False)
    snapshot = raw / "odds" / "player_props" / "raw_20241104_170000.csv"
    shutil.move(snapshot, held / snapshot.name)
    return raw, held


def test_each_changed_date_is_requested_once_with_exactly_its_changed_tables(league):
    raw, held = league
    source = FilesSource(raw_dir=str(raw))
    window = [(TODAY - dt.timedelta(days=i)).isoformat() for i in range(WATCH_DAYS)]

    # first tick: every date of the window, every raw table (off days get their empty partitions)
    first, cursor = evaluate_raw_source(source, None, TODAY)
    assert by_partition(first) == {d: RAW for d in window}
    assert all(r.tags["nba_pipeline/launched_by"] == "raw_data_sensor" for r in first)

    # nothing changed: the tick stops at the files' signature
    again, same = evaluate_raw_source(source, cursor, TODAY)
    assert isinstance(again, dg.SkipReason) and "unchanged" in again.skip_message and same == cursor

    # the morning odds snapshot lands
    shutil.move(held / "raw_20241104_170000.csv", raw / "odds" / "player_props" / "raw_20241104_170000.csv")
    snapshot, cursor = evaluate_raw_source(source, cursor, TODAY)
    got = by_partition(snapshot)
    assert set(got) == {"2024-11-04"} and "player_props" in got["2024-11-04"]

    # last night's games turn final: their team and player logs land
    _land_last_nights_games(raw, held)
    final, cursor = evaluate_raw_source(source, cursor, TODAY)
    got = by_partition(final)
    assert set(got) == {"2024-11-03"} and {"schedule", "team_boxscores", "player_boxscores"} <= got["2024-11-03"]

    # a stat correction to one player's line of 11-02
    def correct(df):
        row = df.index[df["GAME_DATE"] == "NOV 02, 2024"][0]
        df.loc[row, "PTS"] = str(int(df.loc[row, "PTS"]) + 1)
        return df

    _rewrite_csv(raw / "player_game_logs" / "2024-25.csv", correct)
    fix, cursor = evaluate_raw_source(source, cursor, TODAY)
    got = by_partition(fix)
    assert set(got) == {"2024-11-02"} and "player_boxscores" in got["2024-11-02"]
    assert not {"player_props", "game_lines"} & got["2024-11-02"]

    # a file touched without a change of rows requests nothing
    _touch(raw / "odds" / "game_lines" / "theodds_lines_2024-25.csv")
    quiet, _ = evaluate_raw_source(source, cursor, TODAY)
    assert isinstance(quiet, dg.SkipReason) and "no raw rows changed" in quiet.skip_message


def test_a_moved_line_in_any_priced_market_requests_that_dates_props(league):
    """Every priced market is stored, so a book moving a rebounds line is a change of the date's
    props; a market the platform does not price (double-double) changing is none."""
    raw, _ = league
    source = FilesSource(raw_dir=str(raw))
    _, cursor = evaluate_raw_source(source, None, TODAY)
    snapshot = raw / "odds" / "player_props" / "raw_20241102_170000.csv"
    rows = pd.read_csv(snapshot, dtype=str, keep_default_na=False)
    double_double = rows.index[rows["market"] == "player_double_double"][0]
    rebounds = rows.index[rows["market"] == "player_rebounds"][0]
    day = pd.Timestamp(rows.loc[rebounds, "game_time"]).tz_convert("America/New_York").date().isoformat()

    _rewrite_csv(snapshot, lambda df: df.drop(double_double))
    quiet, cursor = evaluate_raw_source(source, cursor, TODAY)
    assert isinstance(quiet, dg.SkipReason) and "no raw rows changed" in quiet.skip_message

    def move(df):
        df.loc[rebounds, "line"] = str(float(df.loc[rebounds, "line"]) + 1)
        return df

    _rewrite_csv(snapshot, move)
    moved, _ = evaluate_raw_source(source, cursor, TODAY)
    assert by_partition(moved) == {day: {"player_props"}}


def test_a_first_tick_skips_partitions_built_from_the_same_rows(league, instance):
    """A reset cursor (a new deployment, a daemon started on an instance backfilled overnight)
    compares each date with what its materialization recorded: the backfilled week is not rebuilt,
    a date whose rows changed since, or never built, is."""
    raw, held = league
    source = FilesSource(raw_dir=str(raw))
    defs = make_defs(raw, raw.parent / "w.duckdb")
    start = TODAY - dt.timedelta(days=WATCH_DAYS - 1)
    run = run_backfill(defs, instance, start, TODAY - dt.timedelta(days=1), select="group:nba_raw", progress=None)
    assert run.success, run.step_failures
    quiet, _ = evaluate_raw_source(source, None, TODAY, recorded_fingerprints(instance))
    assert by_partition(quiet) == {TODAY.isoformat(): RAW}  # today was never built
    # last night's games land after the backfill: that date's rows changed since
    _land_last_nights_games(raw, held)
    changed, _ = evaluate_raw_source(source, None, TODAY, recorded_fingerprints(instance))
    got = by_partition(changed)
    assert set(got) == {"2024-11-03", TODAY.isoformat()}
    assert {"schedule", "team_boxscores", "player_boxscores"} <= got["2024-11-03"]


def test_a_new_day_requests_only_the_new_date(league):
    raw, _ = league
    source = FilesSource(raw_dir=str(raw))
    _, cursor = evaluate_raw_source(source, None, TODAY)
    nxt, _ = evaluate_raw_source(source, cursor, TODAY + dt.timedelta(days=1))
    assert set(by_partition(nxt)) == {"2024-11-05"}


def test_the_sensor_definition_runs_against_its_resource_and_keeps_its_cursor(league, instance):
    """Issue 16: on a history that ended (this league's last games are on 2025-04-13) under the
    real clock, the sensor requests nothing, names the source's newest date, and says so again
    on the next tick; before, it requested the last 7 dates by the clock (empty partitions)."""
    raw, _ = league
    with dg.build_sensor_context(instance=instance, resources={"nba_source": FilesSource(raw_dir=str(raw))}) as context:
        first = raw_data_sensor(context)
        again = raw_data_sensor(context)
    assert isinstance(first, dg.SkipReason), first
    assert "the source's newest game date is 2025-04-13, before the watched dates" in first.skip_message
    assert isinstance(again, dg.SkipReason)
    assert "unchanged" in again.skip_message and "2025-04-13" in again.skip_message


def test_no_date_after_the_sources_newest_is_watched(league):
    raw, _ = league
    source = FilesSource(raw_dir=str(raw))
    # two days after the season's last games: the last 7 dates up to them, not up to the clock
    requests, cursor = evaluate_raw_source(source, None, dt.date(2025, 4, 15))
    assert set(by_partition(requests)) == {f"2025-04-{d:02d}" for d in range(9, 14)}
    assert source.newest_game_date() == dt.date(2025, 4, 13)
    # the day after: nothing new, and the tick says up to which date it watched
    quiet, cursor = evaluate_raw_source(source, cursor, dt.date(2025, 4, 16))
    assert isinstance(quiet, dg.SkipReason)
    assert "2025-04-10 .. 2025-04-13 (the source's newest game date is 2025-04-13)" in quiet.skip_message
    # a week on: the data ended before every watched date
    off, _ = evaluate_raw_source(source, cursor, dt.date(2025, 4, 25))
    assert isinstance(off, dg.SkipReason)
    assert off.skip_message == (
        "the source's newest game date is 2025-04-13, before the watched dates: "
        "nothing to request for 2025-04-19 .. 2025-04-25"
    )


def test_a_fresh_deployment_requests_nothing_and_says_so(league, tmp_path):
    raw, _ = league
    empty = tmp_path / "fresh"
    shutil.copytree(raw / "reference", empty / "reference")  # the static lists, no game yet
    result, _ = evaluate_raw_source(FilesSource(raw_dir=str(empty)), None, TODAY)
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message.startswith("the source has no game data yet"), result.skip_message


@needs_real_data
def test_the_shipped_history_under_todays_clock_requests_nothing():
    source = FilesSource(raw_dir=str(REAL_DATA))
    result, _ = evaluate_raw_source(source, None, dt.date(2026, 12, 3))
    assert isinstance(result, dg.SkipReason), result
    assert "newest game date is 2025-11-09" in result.skip_message and "2026-11-27 .. 2026-12-03" in result.skip_message
    assert source.newest_game_date() == dt.date(2025, 11, 9)


class KnowsEveryDay(NbaSource):
    """A source whose league schedule reaches far ahead (only its newest date is asked here)."""

    def newest_game_date(self) -> dt.date:
        return dt.date(2030, 6, 30)


def _morning(when: dt.datetime, instance, source: NbaSource, defs: dg.Definitions):
    from zoneinfo import ZoneInfo

    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=when.replace(tzinfo=ZoneInfo("America/New_York")),
        resources={"nba_source": source},
        repository_def=defs.get_repository_def(),
    ) as context:
        return morning_predictions(context)


@pytest.mark.parametrize(
    "when, day",
    [
        (dt.datetime(2025, 11, 2, 11, 0), "2025-11-02"),
        (dt.datetime(2026, 1, 3, 11, 0), "2026-01-03"),
    ],
)
def test_incident_10_the_schedule_requests_that_days_partition_and_nothing_else(when, day, tmp_path, instance):
    """Incident 10: the old scheduler kept re-running 2026-01-03; this one names the day's key."""
    defs = make_defs(tmp_path, tmp_path / "w.duckdb")
    graph = defs.resolve_asset_graph()
    selected = PREDICTION_DAY.resolve(graph)
    # the day's season history, exactly what its steps require
    for key, partitions in unmet_needs(instance, graph, selected, dt.date.fromisoformat(day)).items():
        for partition in partitions:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))
    request = _morning(when, instance, KnowsEveryDay(), defs)
    assert isinstance(request, dg.RunRequest), request
    assert request.partition_key == day and request.run_key == f"morning:{day}"
    names = {k.to_user_string() for k in selected}
    assert {
        "nba_raw/player_props",
        "nba_predictions/player_prop_predictions",
        "nba_exports/best_bets",
    } <= names
    assert not {"nba_predictions/prediction_accuracy", "nba_exports/performance_summary"} & names


def test_the_schedule_skips_a_day_whose_run_could_only_fail(league, tmp_path, instance):
    """Issue 16: at 11:00 on a history that ended, or on a day whose season has no history yet,
    the morning run would fail (its steps refuse a season without history): skipped, saying why."""
    raw, _ = league
    defs = make_defs(raw, tmp_path / "w.duckdb")
    ended = _morning(dt.datetime(2026, 12, 3, 11, 0), instance, FilesSource(raw_dir=str(raw)), defs)
    assert isinstance(ended, dg.SkipReason), ended
    assert (
        ended.skip_message
        == "no game of 2026-12-03 is known yet (the source's newest game date is 2025-04-13): nothing to predict"
    )
    fresh = _morning(dt.datetime(2026, 12, 3, 11, 0), instance, KnowsEveryDay(), defs)
    assert isinstance(fresh, dg.SkipReason), fresh
    assert fresh.skip_message.startswith("2026-12-03: 63 date(s) of its season's history were never materialized (")
    assert "nba_raw/schedule: 63 from 2026-10-01" in fresh.skip_message
    assert fresh.skip_message.endswith("backfill from 2026-10-01 first")
