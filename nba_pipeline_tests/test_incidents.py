"""The old system's incidents (../shared/DESIGN.md, section 1), each reproduced against a real
instance and warehouse, and the mechanism that stops it. One test per incident:

- test_incidents.py::test_incident_01_a_failed_write_records_nothing_and_stops_downstream
- test_incidents.py::test_incident_02_every_table_id_is_fully_qualified_from_the_asset_key
- test_incidents.py::test_incident_03_an_off_day_completes_and_a_game_day_without_rows_fails
- test_ui_e2e.py::test_incident_04_a_killed_run_is_failed_by_the_monitor_and_its_partitions_re_run
- orchestration/test_completeness.py::test_incident_05_a_stopped_upstream_is_late_and_alerted_once
- orchestration/test_completeness.py::
  test_incident_06_an_old_backfill_does_not_make_today_fresh_and_an_old_gap_does_not_make_it_stale
- test_definitions.py::test_incident_07_a_broken_definition_fails_validation_in_ci
- raw/test_bad_input.py::test_incident_08_a_bad_row_is_named_and_nothing_is_written
- test_incidents.py::test_incident_09_a_30_day_backfill_writes_each_table_once
- orchestration/test_sensors.py::test_incident_10_the_schedule_requests_that_days_partition_and_nothing_else
- orchestration/test_alerts.py::test_incident_11_a_dead_webhook_fails_the_tick_and_keeps_the_alert
- cli/test_drift.py::test_incident_12_a_code_version_bump_and_a_newer_upstream_make_exactly_those_partitions_stale
- test_incidents.py::test_incident_13_a_day_without_odds_is_visible_not_predicted_on_guesses
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import dagster as dg
import pandas as pd

from nba_pipeline.cli.runner import run_backfill
from nba_pipeline.core.history import season_start
from nba_pipeline.core.schema import registered_tables
from nba_pipeline.warehouse import duckdb as warehouse
from nba_pipeline_tests.conftest import first_game_dates, make_defs, query, table_exists

PACKAGE = Path(__file__).resolve().parents[1] / "nba_pipeline"


def _materialized(instance, asset: str) -> set[str]:
    return instance.get_materialized_partitions(dg.AssetKey(asset.split("/")))


def test_incident_01_a_failed_write_records_nothing_and_stops_downstream(league_copy, tmp_path, instance, monkeypatch):
    """The old processors published "complete" although the warehouse write had failed (404)."""
    raw, summary = league_copy
    start, end = first_game_dates(summary, 2)
    defs = make_defs(raw, tmp_path / "w.duckdb")
    assert run_backfill(defs, instance, season_start(start), end, "group:nba_raw", progress=None).success
    real = warehouse._DeclaredSchemaDuckDBPandasTypeHandler.handle_output

    def failing(self, context, table_slice, obj, connection):
        if table_slice.table == "player_game_summary":
            raise RuntimeError("404 Not found: Dataset nba_analytics")
        return real(self, context, table_slice, obj, connection)

    monkeypatch.setattr(warehouse._DeclaredSchemaDuckDBPandasTypeHandler, "handle_output", failing)
    run = run_backfill(defs, instance, season_start(start), end, "group:nba_analytics", progress=None)
    assert not run.success and any("404 Not found: Dataset nba_analytics" in f for f in run.step_failures)
    assert _materialized(instance, "nba_analytics/player_game_summary") == set()  # nothing marked done
    # what reads it did not run on the missing data
    assert _materialized(instance, "nba_analytics/team_offense_game_summary") == set()
    assert not table_exists(tmp_path / "w.duckdb", "nba_analytics", "team_offense_game_summary")


def test_incident_02_every_table_id_is_fully_qualified_from_the_asset_key():
    """A table id was built by hand as project.table, the dataset missing."""
    from dagster._core.storage.db_io_manager import TableSlice

    from nba_pipeline.warehouse.bigquery import _BigQueryWarehouseClient

    for table in registered_tables():
        key = table.asset_key
        assert (table.dataset, table.name) == tuple(key.path)
        sql = _BigQueryWarehouseClient.get_select_statement(
            TableSlice(database="my-project", schema=key.path[0], table=key.path[1], partition_dimensions=[])
        )
        assert f"FROM `my-project.{table.dataset}.{table.name}`" in sql
    # and no module builds a table id by hand: only schema.py and the two IO managers name tables
    allowed = {"schema.py", "warehouse.py", "bigquery.py"}
    pattern = re.compile(r"f[\"'][^\"']*\{[^}]*project[^}]*\}\.\{(?!table\.dataset)")
    offenders = [p.name for p in PACKAGE.rglob("*.py") if p.name not in allowed and pattern.search(p.read_text())]
    assert offenders == []


def test_incident_03_an_off_day_completes_and_a_game_day_without_rows_fails(league_copy, tmp_path, instance):
    """A day with 0 records never reported completion, and everything downstream waited."""
    raw, summary = league_copy
    first, _ = first_game_dates(summary, 1)
    off_day = season_start(first) + dt.timedelta(days=3)  # October, before opening night
    # the opening night's player rows vanish from the feeds (the feed broke, not an off day)
    for feed, fmt in (("player_game_logs", first.strftime("%b %d, %Y").upper()),):
        path = raw / feed / f"{summary['seasons'][0]}.csv"
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        df[df["GAME_DATE"].str.upper() != fmt].to_csv(path, index=False)
    for f in (raw / "boxscores").glob("game_stats_*.csv"):
        f.unlink()
    run = run_backfill(
        make_defs(raw, tmp_path / "w.duckdb"), instance, season_start(first), first, "group:nba_raw", progress=None
    )
    # the off day: materialized with 0 rows, every check passed
    assert off_day.isoformat() in _materialized(instance, "nba_raw/player_boxscores")
    assert not [f for f in run.checks_failed if f"@{off_day}" in f]
    ((rows,),) = query(
        tmp_path / "w.duckdb", f"SELECT count(*) FROM nba_raw.player_boxscores WHERE game_date = '{off_day}'"
    )
    assert rows == 0
    # the game day with no player rows: its record-count check fails, blocking
    assert f"nba_raw/player_boxscores:rows_cover_schedule@{first} (ERROR)" in run.checks_failed
    assert not run.success


def test_incident_09_a_30_day_backfill_writes_each_table_once(league_copy, tmp_path, instance, monkeypatch):
    """ "403 quota exceeded: partition modifications": one write per partition per table."""
    raw, summary = league_copy
    first, _ = first_game_dates(summary, 1)
    writes: list[str] = []
    real = warehouse.SchemaEnforcingDbIOManager.handle_output

    def counting(self, context, obj):
        writes.append(context.asset_key.to_user_string())
        return real(self, context, obj)

    monkeypatch.setattr(warehouse.SchemaEnforcingDbIOManager, "handle_output", counting)
    start, end = season_start(first), season_start(first) + dt.timedelta(days=29)
    layers = "group:nba_raw or group:nba_analytics or group:nba_precompute"
    run = run_backfill(make_defs(raw, tmp_path / "w.duckdb"), instance, start, end, layers, progress=None)
    assert run.success and run.partitions == 30
    # 16 tables x 30 partitions, written in 16 jobs: each table once, whatever the partition count
    assert len(writes) == 16 and len(set(writes)) == 16


def test_incident_13_a_day_without_odds_is_visible_not_predicted_on_guesses(league_copy, tmp_path, instance):
    """No odds for a day, and predictions silently used estimated lines. Now a prediction needs a
    book's line: the day has none, its props WARN names every game without odds, and the next day
    with odds is predicted as usual."""
    raw, summary = league_copy
    first = dt.date.fromisoformat(summary["first_date"])
    day = first + dt.timedelta(days=49)  # a few weeks in: the models have history to train on
    while not (raw / "odds" / "player_props" / f"raw_{day:%Y%m%d}_170000.csv").exists():
        day += dt.timedelta(days=1)
    (raw / "odds" / "player_props" / f"raw_{day:%Y%m%d}_170000.csv").unlink()  # the odds feed missed the day
    db = tmp_path / "w.duckdb"
    run = run_backfill(make_defs(raw, db), instance, season_start(first), day + dt.timedelta(days=1), progress=None)
    assert run.success, run.step_failures
    assert f"nba_raw/player_props:covers_schedule@{day} (WARN)" in run.checks_failed
    count = lambda d: query(  # noqa: E731
        db, f"SELECT count(*) FROM nba_predictions.player_prop_predictions WHERE game_date = '{d}'"
    )[0][0]
    assert count(day) == 0
    # the next day had its odds: every market predicted again, and no warning
    nxt = day + dt.timedelta(days=1)
    assert count(nxt) > 0
    assert f"nba_raw/player_props:covers_schedule@{nxt} (WARN)" not in run.checks_failed
    markets = {
        m
        for (m,) in query(
            db, f"SELECT DISTINCT market FROM nba_predictions.player_prop_predictions WHERE game_date = '{nxt}'"
        )
    }
    assert len(markets) == 5, markets
