"""The production instance (dagster.production.yaml: run, event log and schedule storage on
PostgreSQL) against a real PostgreSQL server on 127.0.0.1, and the importer that lets an existing
warehouse adopt the event log as its completion tracker."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.instance.ref import InstanceRef

from nba_pipeline.cli.drift import stale_partitions
from nba_pipeline.cli.runner import run_backfill
from nba_pipeline.cli.status import asset_status
from nba_pipeline.core.schema import registered_tables
from nba_pipeline.definitions import build_definitions
from nba_pipeline.exports.directory import ExportsDirectory
from nba_pipeline.instance.adopt import adopt_warehouse
from nba_pipeline.raw.sources.files import FilesSource
from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager
from nba_pipeline_tests.conftest import REAL_DATA, needs_real_data
from nba_pipeline_tests.postgres_server import PostgresServer, running_postgres

pytestmark = needs_real_data
PRODUCTION = Path(__file__).resolve().parents[2] / "nba_pipeline" / "instance" / "dagster.production.yaml"
# the season's first weeks (its history starts Oct 1; first games Oct 21), all 23 assets
RANGE = (dt.date(2025, 10, 1), dt.date(2025, 10, 23))


@pytest.fixture(scope="module")
def postgres():
    with running_postgres() as server:
        yield server


def _production_home(home: Path, server: PostgresServer, db: str, monkeypatch) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PRODUCTION, home / "dagster.yaml")
    env = {**server.env(), "DAGSTER_PG_DB": db, "DAGSTER_HOME": str(home)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def _defs(tmp: Path) -> dg.Definitions:
    return build_definitions(
        FilesSource(raw_dir=str(REAL_DATA)),
        NbaDuckDBIOManager(database=str(tmp / "warehouse.duckdb")),
        ExportsDirectory(directory=str(tmp / "exports")),
    )


def _scalar(server: PostgresServer, db: str, sql: str):
    with server.connect(db) as con, con.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def test_the_pipeline_runs_on_the_production_instance(postgres, tmp_path, monkeypatch):
    _production_home(tmp_path / "home", postgres, "dagster", monkeypatch)
    defs = _defs(tmp_path)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path / "home"))) as instance:
        assert [
            type(s).__name__ for s in (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
        ] == ["PooledPostgresRunStorage", "PooledPostgresEventLogStorage", "PooledPostgresScheduleStorage"]
        summary = run_backfill(defs, instance, *RANGE, progress=None)
        assert summary.success, summary.step_failures
        days = (RANGE[1] - RANGE[0]).days + 1
        assert summary.materializations == 23 * days
    # what the run recorded is in PostgreSQL, and a new instance (another process) reads it back
    assert (
        _scalar(
            postgres, "dagster", "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
        )
        == 23 * days
    )
    assert _scalar(postgres, "dagster", "SELECT count(*) FROM asset_check_executions") == summary.checks_passed + len(
        summary.checks_failed
    )
    assert _scalar(postgres, "dagster", "SELECT status FROM runs") == "SUCCESS"
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path / "home"))) as again:
        rows = asset_status(defs, again, RANGE[1].isoformat())
        assert len(rows) == 23 and {r["state"] for r in rows} == {"materialized"}, rows
        key = dg.AssetKey(["nba_analytics", "player_game_summary"])
        assert len(again.get_materialized_partitions(key)) == days
        # every check result of the range run is its partition's current one (issue 16), as on
        # the embedded storage: the UI's per-partition check status reads exactly this
        checks = [k for k in defs.resolve_asset_graph().asset_check_keys if k.name != "fresh"]
        keys = [(RANGE[0] + dt.timedelta(days=i)).isoformat() for i in range(days)]
        infos = again.event_log_storage.get_asset_check_partition_info(checks, partition_keys=keys)
        assert len(infos) == len(checks) * days and all(i.is_current for i in infos)


def test_the_daemon_runs_on_postgres_storage(postgres, tmp_path, monkeypatch):
    env = _production_home(tmp_path / "home", postgres, "dagster", monkeypatch)
    env = {
        **os.environ,
        **env,
        "NBA_RAW_DIR": str(REAL_DATA),
        "NBA_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
        "NBA_AUTOMATION": "off",
    }
    log = (tmp_path / "daemon.log").open("wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-m", "nba_pipeline.definitions"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    wanted = {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "MONITORING", "ASSET"}
    try:
        deadline = time.monotonic() + 120
        seen: set[str] = set()
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path / "home"))) as instance:
            while time.monotonic() < deadline and not wanted <= seen and proc.poll() is None:
                seen = set(instance.get_daemon_heartbeats())
                time.sleep(1)
        assert wanted <= seen, (seen, (tmp_path / "daemon.log").read_text()[-2000:])
        assert _scalar(postgres, "dagster", "SELECT count(*) FROM daemon_heartbeats") >= len(wanted)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _counts(db: Path, table) -> dict[dt.date, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            d: n
            for d, n in con.execute(
                f"SELECT game_date, count(*) FROM {table.dataset}.{table.name} GROUP BY 1"
            ).fetchall()
        }


def test_an_existing_warehouse_adopts_the_event_log(postgres, tmp_path, monkeypatch):
    # an existing deployment: its warehouse, built by runs recorded somewhere else (here an
    # embedded instance, standing in for the old system)
    defs = _defs(tmp_path)
    with dg.DagsterInstance.ephemeral() as old:
        assert run_backfill(defs, old, *RANGE, progress=None).success
        truth = {
            t.asset_key: old.get_materialized_partitions(t.asset_key)
            for t in registered_tables()
            if t.dataset != "nba_test"
        }
    warehouse = tmp_path / "warehouse.duckdb"
    # one write of the old system that never happened: a game date's rows of one table missing
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM nba_analytics.player_game_summary WHERE game_date = DATE '2025-10-22'")

    postgres.create_database("adopted")
    _production_home(tmp_path / "home", postgres, "adopted", monkeypatch)
    io = NbaDuckDBIOManager(database=str(warehouse))
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path / "home"))) as instance:
        adoption = adopt_warehouse(defs, instance, io, start=RANGE[0], end=RANGE[1])
        assert (adoption.start, adoption.end) == RANGE
        games = _counts(warehouse, next(t for t in registered_tables() if t.name == "schedule"))
        for table in registered_tables():
            if table.dataset == "nba_test":
                continue
            recorded = instance.get_materialized_partitions(table.asset_key)
            rows = _counts(warehouse, table)
            # nothing recorded that the old system did not complete
            assert recorded <= truth[table.asset_key], table.name
            # every date with rows, and every date without games, recorded
            expect = {d.isoformat() for d in rows} | {
                (RANGE[0] + dt.timedelta(days=i)).isoformat()
                for i in range((RANGE[1] - RANGE[0]).days + 1)
                if RANGE[0] + dt.timedelta(days=i) not in games
            }
            assert recorded == expect, table.name
        # the lost write is left for a run to build, and said so
        pgs = next(t for t in adoption.tables if t.asset == "nba_analytics/player_game_summary")
        assert pgs.missing_game_dates == ["2025-10-22"]
        # off days (Oct 1 .. 20: preseason is not a configured season type) recorded with 0 rows
        assert pgs.recorded_off_days == 20 and pgs.recorded_with_rows == 2
        event = instance.get_latest_materialization_event(dg.AssetKey(["nba_raw", "schedule"]))
        assert event.asset_materialization.metadata["nba_pipeline/imported_from"].value == f"duckdb:{warehouse}"
        # adopted history counts as the deployed code's: nothing stale to rebuild
        assert stale_partitions(defs, instance) == []
        # a second import records nothing new
        again = adopt_warehouse(defs, instance, io, start=RANGE[0], end=RANGE[1])
        assert again.recorded == 0 and sum(t.already_recorded for t in again.tables) == adoption.recorded
        # the automation, evaluated the morning after, re-requests only the lost write's date
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=dt.datetime(2025, 10, 24, 10, tzinfo=dt.UTC)
        )
        requested = {(k.to_user_string(), p) for k, parts in _requested(result).items() for p in parts}
        assert requested <= {
            (a, p) for t in adoption.tables for a, p in ((t.asset, d) for d in t.missing_game_dates)
        } | {(k.to_user_string(), "2025-10-24") for k in truth}, requested


def _requested(result) -> dict:
    out: dict = {}
    for r in result.results:
        subset = r.true_subset
        if subset.size:
            out[r.key] = (
                set(subset.expensively_compute_partition_keys())
                if hasattr(subset, "expensively_compute_partition_keys")
                else {None}
            )
    return out
