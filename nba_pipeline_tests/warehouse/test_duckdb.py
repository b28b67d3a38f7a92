"""The DuckDB warehouse IO manager through real Dagster runs; BigQuery SQL as generated."""

import dataclasses
import datetime as dt

import dagster as dg
import pandas as pd
import pytest
from dagster._core.definitions.partitions.utils import TimeWindow
from dagster._core.storage.db_io_manager import TablePartitionDimension, TableSlice

from nba_pipeline.core.partitions import game_date_partitions
from nba_pipeline.core.schema import Check, Column, Table, register
from nba_pipeline.warehouse.bigquery import (
    bigquery_merge_statement,
    bigquery_partition_predicate,
    partition_days,
    partition_decorator,
)
from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager
from nba_pipeline_tests.conftest import query, table_exists

SCORES = Table(
    dataset="nba_test",
    name="scores",
    description="test table",
    columns=(
        Column("game_date", "date", "d"),
        Column("player_id", "int", "p"),
        Column("points", "int", "pts", checks=(Check.ge(0),)),
    ),
    grain=("game_date", "player_id"),
)
register(SCORES)
PAYLOAD: dict[str, pd.DataFrame] = {}


@dg.asset(
    key_prefix="nba_test",
    name="scores",
    partitions_def=game_date_partitions,
    metadata=SCORES.asset_metadata(),
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def scores(context) -> pd.DataFrame:
    return PAYLOAD["df"]


def frame(dates, ids, points):
    return pd.DataFrame({"game_date": pd.to_datetime(dates), "player_id": ids, "points": points})


def run(db, start, end, df, instance=None):
    PAYLOAD["df"] = df
    return dg.materialize(
        [scores],
        resources={"io_manager": NbaDuckDBIOManager(database=str(db))},
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        instance=instance,
        raise_on_error=False,
    )


def rows(db):
    return query(db, "SELECT strftime(game_date, '%Y-%m-%d'), player_id, points FROM nba_test.scores ORDER BY 1, 2")


def test_partition_write_replaces_only_that_partition(tmp_path):
    db = tmp_path / "w.duckdb"
    assert run(db, "2025-01-01", "2025-01-02", frame(["2025-01-01", "2025-01-02"], [1, 1], [10, 20])).success
    assert run(db, "2025-01-02", "2025-01-02", frame(["2025-01-02", "2025-01-02"], [1, 2], [21, 5])).success
    assert rows(db) == [("2025-01-01", 1, 10), ("2025-01-02", 1, 21), ("2025-01-02", 2, 5)]
    # declared types, not inferred ones
    types = dict(
        query(db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema='nba_test'")
    )
    assert types == {"game_date": "DATE", "player_id": "BIGINT", "points": "BIGINT"}


def test_empty_partition_creates_the_table_and_reads_back(tmp_path):
    db = tmp_path / "w.duckdb"
    assert run(db, "2024-12-24", "2024-12-24", frame([], [], [])).success
    assert table_exists(db, "nba_test", "scores") and rows(db) == []


def test_schema_violation_fails_the_step_and_keeps_the_old_partition(tmp_path):
    db = tmp_path / "w.duckdb"
    instance = dg.DagsterInstance.ephemeral()
    assert run(db, "2025-01-01", "2025-01-01", frame(["2025-01-01"], [1], [10]), instance).success
    bad = frame(["2025-01-01", "2025-01-01"], [1, 2], [12, -3])
    result = run(db, "2025-01-01", "2025-01-01", bad, instance)
    assert not result.success
    err = result.get_step_failure_events()[0].event_specific_data.error
    text = err.message + "".join(c.message for c in ([err.cause] if err.cause else []))
    assert "nba_test.scores" in text and "partition 2025-01-01, row 1, column 'points'" in text
    assert rows(db) == [("2025-01-01", 1, 10)]  # nothing of the bad frame written, old rows intact
    mats = instance.fetch_materializations(dg.AssetKey(["nba_test", "scores"]), limit=10).records
    assert len(mats) == 1  # the failed write recorded no materialization (incident 1)


def test_failed_insert_rolls_back_the_delete(tmp_path, monkeypatch):
    """Incident 1/atomicity: the delete and the insert commit together or not at all."""
    from nba_pipeline.warehouse import duckdb as warehouse

    db = tmp_path / "w.duckdb"
    assert run(db, "2025-01-01", "2025-01-01", frame(["2025-01-01"], [1], [10])).success

    def boom(self, context, table_slice, obj, connection):
        connection.execute("INSERT INTO nba_test.scores VALUES ('2025-01-01', 9, 9)")
        raise RuntimeError("warehouse write failed")

    monkeypatch.setattr(warehouse._DeclaredSchemaDuckDBPandasTypeHandler, "handle_output", boom)
    assert not run(db, "2025-01-01", "2025-01-01", frame(["2025-01-01"], [1], [11])).success
    assert rows(db) == [("2025-01-01", 1, 10)]


def test_out_of_range_rows_are_refused(tmp_path):
    db = tmp_path / "w.duckdb"
    assert not run(db, "2025-01-01", "2025-01-01", frame(["2025-01-02"], [1], [10])).success
    assert not table_exists(db, "nba_test", "scores") or rows(db) == []


def test_each_partitions_materialization_carries_the_query_of_its_own_rows(tmp_path):
    """Issue 16: DbIOManager's one query over the run's range (and a run-wide rows_written) went
    onto every partition's materialization."""
    db = tmp_path / "w.duckdb"
    result = run(
        db, "2025-01-01", "2025-01-03", frame(["2025-01-01", "2025-01-03", "2025-01-03"], [1, 1, 2], [10, 20, 5])
    )
    mats = {
        m.partition: m.metadata
        for m in (e.event_specific_data.materialization for e in result.get_asset_materialization_events())
    }
    assert sorted(mats) == ["2025-01-01", "2025-01-02", "2025-01-03"]
    for day, meta in mats.items():
        nxt = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
        assert sorted(meta) == ["Query", "dagster/storage_kind", "dagster/table_name"]
        assert (
            meta["Query"].value
            == f"SELECT * FROM nba_test.scores WHERE\ngame_date >= '{day} 00:00:00' AND game_date < '{nxt} 00:00:00'"
        )
        assert (
            meta["dagster/storage_kind"].value == "duckdb"
            and meta["dagster/table_name"].value == f"{db}.nba_test.scores"
        )
        # the partition's own query reads the partition's own rows
        assert (
            len(query(db, meta["Query"].value.replace("SELECT *", "SELECT 1")))
            == {"2025-01-01": 1, "2025-01-02": 0, "2025-01-03": 2}[day]
        )


def _slice(start, end):
    tz = game_date_partitions.timezone
    window = TimeWindow(pd.Timestamp(start, tz=tz).to_pydatetime(), pd.Timestamp(end, tz=tz).to_pydatetime())
    return TableSlice(
        table="scores",
        schema="nba_test",
        database="proj",
        partition_dimensions=[TablePartitionDimension("game_date", window)],
    )


def test_bigquery_sql_compares_dates_with_date_literals():
    pred = bigquery_partition_predicate(SCORES, _slice("2025-01-05", "2025-01-08"))
    assert pred == "game_date >= DATE '2025-01-05' AND game_date < DATE '2025-01-08'"
    merge = bigquery_merge_statement(SCORES, _slice("2025-01-05", "2025-01-08"), "proj.nba_test.scores__staging_x")
    assert merge == (
        "MERGE `proj.nba_test.scores` AS target\n"
        "USING `proj.nba_test.scores__staging_x` AS source\n"
        "ON FALSE\n"
        "WHEN NOT MATCHED BY SOURCE AND target.game_date >= DATE '2025-01-05' "
        "AND target.game_date < DATE '2025-01-08' THEN DELETE\n"
        "WHEN NOT MATCHED THEN INSERT (game_date, player_id, points) "
        "VALUES (source.game_date, source.player_id, source.points)"
    )
    assert partition_days(SCORES, _slice("2025-01-05", "2025-01-08")) == [dt.date(2025, 1, d) for d in (5, 6, 7)]
    assert partition_decorator("proj.nba_test.scores", dt.date(2025, 1, 5)) == "proj.nba_test.scores$20250105"


SCORES_COPY = dataclasses.replace(SCORES, name="scores_copy")
register(SCORES_COPY)


@dg.asset(
    key_prefix="nba_test",
    name="scores_copy",
    partitions_def=game_date_partitions,
    metadata=SCORES_COPY.asset_metadata(),
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def scores_copy(context) -> pd.DataFrame:
    return PAYLOAD["df"]


@dg.asset(
    key_prefix="nba_test",
    partitions_def=game_date_partitions,
    ins={"a": dg.AssetIn(["nba_test", "scores"]), "b": dg.AssetIn(["nba_test", "scores_copy"])},
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def two_inputs(context, a: pd.DataFrame, b: pd.DataFrame) -> None:
    PAYLOAD["loaded"] = (len(a), len(b))


def _other_process_opens(db: str) -> bool:
    import subprocess
    import sys

    code = f"import duckdb; duckdb.connect({db!r}).execute('SELECT count(*) FROM nba_test.scores').fetchall()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


@dg.asset(
    key_prefix="nba_test",
    partitions_def=game_date_partitions,
    deps=[two_inputs],
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def after_two_inputs(context) -> None:
    # the next step: another process can open the warehouse read-write, so the step before it
    # released DuckDB's file lock when it ended
    PAYLOAD["other_process_opened"] = _other_process_opens(PAYLOAD["db"])


def test_a_step_uses_one_connection_and_releases_the_file_when_it_ends(tmp_path, monkeypatch):
    import duckdb

    db = tmp_path / "w.duckdb"
    df = frame(["2025-01-01", "2025-01-02"], [1, 1], [10, 20])
    assert run(db, "2025-01-01", "2025-01-02", df).success
    assert dg.materialize(
        [scores_copy],
        resources={"io_manager": NbaDuckDBIOManager(database=str(db))},
        tags={"dagster/asset_partition_range_start": "2025-01-01", "dagster/asset_partition_range_end": "2025-01-02"},
    ).success
    opened = []
    real_connect = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: opened.append(1) or real_connect(*a, **k))
    PAYLOAD["db"] = str(db)
    result = dg.materialize(
        [scores, scores_copy, two_inputs, after_two_inputs],
        resources={"io_manager": NbaDuckDBIOManager(database=str(db))},
        tags={"dagster/asset_partition_range_start": "2025-01-01", "dagster/asset_partition_range_end": "2025-01-02"},
        selection=[two_inputs, after_two_inputs],
    )
    assert result.success
    assert PAYLOAD["loaded"] == (2, 2)
    assert len(opened) == 1  # two loads, one connection
    assert PAYLOAD["other_process_opened"]
    from nba_pipeline.warehouse import duckdb as warehouse

    assert not warehouse._STEP_CONNECTIONS._open


def test_a_failed_load_releases_the_file(tmp_path, monkeypatch):
    from nba_pipeline.warehouse import duckdb as warehouse

    db = tmp_path / "w.duckdb"
    assert run(db, "2025-01-01", "2025-01-01", frame(["2025-01-01"], [1], [10])).success
    assert dg.materialize(
        [scores_copy], resources={"io_manager": NbaDuckDBIOManager(database=str(db))}, partition_key="2025-01-01"
    ).success

    def boom(self, context, table_slice, connection):
        raise RuntimeError("load failed")

    monkeypatch.setattr(warehouse._DeclaredSchemaDuckDBPandasTypeHandler, "load_input", boom)
    result = dg.materialize(
        [scores, scores_copy, two_inputs],
        resources={"io_manager": NbaDuckDBIOManager(database=str(db))},
        partition_key="2025-01-01",
        selection=[two_inputs],
        raise_on_error=False,
    )
    assert not result.success
    assert not warehouse._STEP_CONNECTIONS._open
    assert query(db, "SELECT count(*) FROM nba_test.scores") == [(1,)]  # the file opens again


# opening the DuckDB file: wait only for another process's lock, and say so ---------------------------
def _sleeps(monkeypatch) -> list[float]:
    """Record every time.sleep instead of sleeping (Dagster's backoff and ours both call time.sleep)."""
    import time

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


def test_a_file_that_cannot_be_opened_fails_the_step_at_once_naming_it(tmp_path, monkeypatch):
    """Not a lock (here: not a DuckDB file; likewise a read-only or missing folder): no retries.
    dagster-duckdb retried every IOException for ~100 s before the same message."""
    slept = _sleeps(monkeypatch)
    db = tmp_path / "w.duckdb"
    db.write_text("not a database\n" * 100)
    instance = dg.DagsterInstance.ephemeral()
    result = run(db, "2025-01-01", "2025-01-01", frame(["2025-01-01"], [1], [10]), instance)
    assert not result.success
    err = result.get_step_failure_events()[0].event_specific_data.error
    while err.cause is not None:
        err = err.cause
    assert f"cannot open the DuckDB warehouse {db}" in err.message and "not a valid DuckDB database file" in err.message
    assert slept == []


class _Clock:
    """time.monotonic / time.sleep of the warehouse module: sleeping advances the clock at once."""

    def __init__(self, on_sleep=None):
        self.now, self.on_sleep = 0.0, on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(self.now)


def _hold_lock(db):
    """Another process holding the DuckDB file until its stdin closes."""
    import subprocess
    import sys

    code = f"import duckdb, sys; c = duckdb.connect({str(db)!r}); print('held', flush=True); sys.stdin.read()"
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_lock_held_by_another_process_is_waited_for_saying_who_holds_it_until_the_limit(tmp_path, monkeypatch):
    from nba_pipeline.warehouse import duckdb as warehouse

    clock = _Clock()
    monkeypatch.setattr(warehouse, "time", clock)
    db = tmp_path / "w.duckdb"
    holder = _hold_lock(db)
    told: list[tuple[float, str]] = []
    try:
        with pytest.raises(warehouse.WarehouseUnavailableError) as failed:
            warehouse.open_duckdb(str(db), {}, 25.0, lambda text: told.append((clock.now, text)))
    finally:
        holder.communicate("")
    # said at once, then every 10 s: the file, and the holder with its command line
    assert [int(at // 10) for at, _ in told] == [0, 1, 2]
    for _, text in told:
        assert text.startswith(f"waiting for the DuckDB warehouse {db}: locked by PID {holder.pid} (")
        assert "import duckdb, sys; c = duckdb.connect(" in text
    assert str(failed.value).startswith(f"the DuckDB warehouse {db} is still locked by PID {holder.pid} (")
    assert str(failed.value).endswith(") after 25 s of waiting")


def test_a_step_waits_for_the_lock_and_says_so_in_the_event_log_and_on_stderr(tmp_path, monkeypatch, capfd):
    from nba_pipeline.warehouse import duckdb as warehouse

    db = tmp_path / "w.duckdb"
    assert run(db, "2025-01-01", "2025-01-01", frame(["2025-01-01"], [1], [10])).success
    holder = _hold_lock(db)
    # the other process lets go once the step has waited a while
    monkeypatch.setattr(
        warehouse, "time", _Clock(on_sleep=lambda now: now > 3 and holder.stdin and holder.communicate(""))
    )
    instance = dg.DagsterInstance.ephemeral()
    try:
        result = run(db, "2025-01-01", "2025-01-01", frame(["2025-01-01"], [1], [11]), instance)
    finally:
        if holder.poll() is None:
            holder.communicate("")
    assert result.success
    assert rows(db) == [("2025-01-01", 1, 11)]
    waits = [e.user_message for e in instance.all_logs(result.run_id) if e.dagster_event is None and e.level == 30]
    assert len(waits) == 1 and waits[0].startswith(
        f"waiting for the DuckDB warehouse {db}: locked by PID {holder.pid} ("
    )
    assert waits[0] in capfd.readouterr().err


def test_a_warehouse_folder_that_cannot_be_created_fails_the_resource_naming_it(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    db = blocker / "w.duckdb"
    result = run(db, "2025-01-01", "2025-01-01", frame(["2025-01-01"], [1], [10]))
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE").event_specific_data.error
    while failure.cause is not None:
        failure = failure.cause
    assert f"cannot create the folder {blocker} of the DuckDB warehouse {db}: a file is in the way" in failure.message
