"""The DuckDB warehouse IO manager, the embedded default (`io_manager.py` says what both warehouses'
IO managers add to the Dagster integrations'): a transactional partition replace, tables created from
the declared DDL, inserts by column name, one connection per step, and a lock held by another
process waited for out loud.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import ClassVar

import dagster as dg
import duckdb
import pandas as pd
import psutil
import pyarrow as pa
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler
from pydantic import Field as PydanticField

from nba_pipeline.core.dagster_internals import DbIOManager, DbTypeHandler, TableSlice
from nba_pipeline.warehouse.io_manager import SchemaEnforcingDbIOManager, table_of_slice

_ARROW_TO_PANDAS = {
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.int32(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


# DuckDB ------------------------------------------------------------------------------------------
class WarehouseUnavailableError(RuntimeError):
    """The DuckDB file cannot be opened (or stayed locked by another process too long)."""


# DuckDB refuses a second process with: Could not set lock on file "<f>": Conflicting lock is held
# in <executable> (PID <n>)
_LOCK_CONFLICT = "Could not set lock on file"
_LOCK_HOLDER = re.compile(r"held in (?P<exe>.+?) \(PID (?P<pid>\d+)\)")
_REPEAT_WAIT_NOTICE_SECONDS = 10.0
DEFAULT_LOCK_WAIT_SECONDS = 600.0


def _lock_holder(message: str) -> str | None:
    """Who holds the file's lock, from DuckDB's error ("PID 12 (nba-pipeline backfill ...)"); None
    when the error is not a lock conflict."""
    if _LOCK_CONFLICT not in message:
        return None
    m = _LOCK_HOLDER.search(message)
    if m is None:
        return "another process"
    pid = int(m.group("pid"))
    try:
        command = " ".join(psutil.Process(pid).cmdline())
    except (psutil.Error, OSError):
        command = m.group("exe")
    return f"PID {pid} ({command[:160]})"


def _reason(message: str, database: str) -> str:
    """DuckDB's reason without the file name it repeats, and what a permission error needs."""
    reason = re.sub(r'^Cannot open file "[^"]*": ', "", message)
    folder = Path(database).parent
    if "Permission denied" in reason and not os.access(folder, os.W_OK):
        reason += f" (DuckDB needs to write in its folder {folder})"
    return reason


def open_duckdb(database: str, config: dict, wait_seconds: float, notify) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file read-write. DuckDB lets one process at a time hold it, so a lock held by
    another process is waited for, up to `wait_seconds`, saying at once and every 10 s what is
    waited for (`notify(text)`); any other failure (a missing or read-only folder, a file that is
    not DuckDB's) raises at once. (dagster-duckdb retried every failure ~100 s, saying nothing.)"""
    t0 = time.monotonic()
    told_at = None
    delay = 0.05
    while True:
        try:
            return duckdb.connect(database, read_only=False, config=config)
        except duckdb.IOException as exc:
            message = str(exc).removeprefix("IO Error: ")
            holder = _lock_holder(message)
            if holder is None:
                raise WarehouseUnavailableError(
                    f"cannot open the DuckDB warehouse {database}: {_reason(message, database)}"
                ) from None
            waited = time.monotonic() - t0
            if waited >= wait_seconds:
                raise WarehouseUnavailableError(
                    f"the DuckDB warehouse {database} is still locked by {holder} after {waited:.0f} s of waiting"
                ) from None
            if told_at is None or time.monotonic() - told_at >= _REPEAT_WAIT_NOTICE_SECONDS:
                notify(
                    f"waiting for the DuckDB warehouse {database}: locked by {holder} "
                    f"({waited:.0f} s so far, giving up after {wait_seconds:.0f} s)"
                )
                told_at = time.monotonic()
            time.sleep(min(delay, max(wait_seconds - waited, 0.0)))
            delay = min(delay * 2, 1.0)


@contextmanager
def _connection(context) -> Iterator:
    """dagster-duckdb's connect, with `open_duckdb` instead of its blind retries; closed on exit."""
    config = context.resource_config

    def tell(text: str) -> None:
        # the event log (the run's view in the UI) and the terminal of the process running the
        # step: the CLI silences Dagster's console logger, a run worker keeps it as the step's stderr
        try:
            context.log.warning(text)
        except dg.DagsterInvariantViolationError:  # a context built without a log manager
            pass
        print(text, file=sys.stderr, flush=True)

    conn = open_duckdb(
        config["database"],
        {"custom_user_agent": "dagster", **(config.get("connection_config") or {})},
        config.get("lock_wait_seconds", DEFAULT_LOCK_WAIT_SECONDS),
        tell,
    )
    try:
        yield conn
    finally:
        conn.close()


# a step's DuckDB connection is closed when one of these is recorded for the step
_STEP_ENDS = frozenset({"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED", "STEP_UP_FOR_RETRY"})


class _StepConnections:
    """One DuckDB connection per step, for all its input loads and output writes, closed when the
    step ends.

    dagster-duckdb opens a connection per load and per write, and opening a DuckDB file costs
    ~20 ms (measured); a step does up to six. A connection held any longer than the step (for
    the run, say) would keep DuckDB's single-process file lock after the step gave up its
    `warehouse` pool slot, and a concurrent run's step that got the slot would wait on the lock.
    The step's end is its STEP_SUCCESS/STEP_FAILURE/... event, seen by an instance event listener
    in the process that runs the step; teardown closes whatever is left."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._open: dict[tuple[str, str, str], tuple[ExitStack, object]] = {}  # (db, run, step)
        self._listening: set[tuple[int, str]] = set()  # (instance, run)

    @contextmanager
    def use(self, context, table_slice: TableSlice) -> Iterator:
        step_context = context.step_context
        db = context.resource_config["database"]
        key = (db, step_context.run_id, step_context.step.key)
        with self._lock:
            if key not in self._open:
                self.close(db)  # a step that ended unseen: never hold two steps' connections
                stack = ExitStack()
                # (closing checkpoints the WAL into the file; deferring that to the run's end made
                # every later open replay a longer WAL: a one-date run took 4.0 s, not 3.3, measured)
                self._open[key] = (stack, stack.enter_context(_connection(context)))
                self._listen(step_context.instance, step_context.run_id)
            conn = self._open[key][1]
        yield conn

    def _listen(self, instance, run_id: str) -> None:
        if (id(instance), run_id) in self._listening:
            return
        self._listening.add((id(instance), run_id))

        def on_event(entry) -> None:
            event = entry.dagster_event
            if event is not None and event.event_type_value in _STEP_ENDS and event.step_key:
                with self._lock:
                    for key in [k for k in self._open if k[1] == run_id and k[2] == event.step_key]:
                        self._close(key)

        instance.add_event_listener(run_id, on_event)

    def close(self, db: str) -> None:
        with self._lock:
            for key in [k for k in self._open if k[0] == db]:
                self._close(key)

    def _close(self, key) -> None:
        opened = self._open.pop(key, None)
        if opened is not None:
            opened[0].close()


_STEP_CONNECTIONS = _StepConnections()


class _TransactionalDuckDbClient(DuckDbClient):
    @staticmethod
    @contextmanager
    def connect(context, table_slice: TableSlice) -> Iterator:
        in_step = getattr(context, "_step_context", None) is not None
        opened = _STEP_CONNECTIONS.use(context, table_slice) if in_step else _connection(context)
        with opened as conn:
            # TIMESTAMPTZ as UTC (not the machine's zone): the declared dtype, whatever the host
            conn.execute("SET TimeZone = 'UTC'")
            conn.begin()
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @staticmethod
    def ensure_schema_exists(context, table_slice: TableSlice, connection) -> None:
        table = table_of_slice(table_slice)
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {table.dataset}")
        connection.execute(table.duckdb_ddl())
        existing = [
            r[0]
            for r in connection.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [table.dataset, table.name],
            ).fetchall()
        ]
        if existing != table.column_names:
            raise RuntimeError(
                f"table {table.qualified_name} in the warehouse has columns {existing}, but its "
                f"declared schema has {table.column_names}; migrate or drop the table"
            )


class _DeclaredSchemaDuckDBPandasTypeHandler(DuckDBPandasTypeHandler):
    def handle_output(self, context, table_slice: TableSlice, obj: pd.DataFrame, connection):
        view = f"_nba_frame_{uuid.uuid4().hex}"
        connection.register(view, obj)
        try:
            connection.execute(f"INSERT INTO {table_slice.schema}.{table_slice.table} BY NAME SELECT * FROM {view}")
        finally:
            connection.unregister(view)
        # rows per partition: `dagster/partition_row_count`, from the asset (`layer.record_partitions`)
        context.add_output_metadata({"dagster/storage_kind": NbaDuckDBIOManager.storage_kind})

    def load_input(self, context, table_slice: TableSlice, connection) -> pd.DataFrame:
        # through Arrow straight into the declared pandas dtypes: the stock fetchdf() gives object
        # columns for strings and nullable ints, and converting them back cost more than the query
        if table_slice.partition_dimensions and len(context.asset_partition_keys) == 0:
            return pd.DataFrame()
        arrow = connection.execute(DuckDbClient.get_select_statement(table_slice)).to_arrow_table()
        # nanosecond dates and UTC-zoned timestamps: the declared dtypes, so conform copies nothing
        return arrow.to_pandas(
            types_mapper=_ARROW_TO_PANDAS.get, date_as_object=False, coerce_temporal_nanoseconds=True
        )


class NbaDuckDBIOManager(DuckDBPandasIOManager):
    """DuckDBPandasIOManager with declared schemas, validation and transactional partition replace."""

    # the assets' warehouse kind (`layer.with_owners_and_kinds`) and `dagster/storage_kind`
    storage_kind: ClassVar[str] = "duckdb"

    lock_wait_seconds: float = PydanticField(
        default=DEFAULT_LOCK_WAIT_SECONDS,
        description="How long a step waits for another process to release the DuckDB file's lock "
        "(it says what it waits for at once, and every 10 s); other failures to open the file fail at once.",
    )

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [_DeclaredSchemaDuckDBPandasTypeHandler()]

    def teardown_after_execution(self, context) -> None:
        _STEP_CONNECTIONS.close(self.database)

    def create_io_manager(self, context) -> DbIOManager:
        folder = Path(self.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = "a file is in the way" if folder.exists() else exc.strerror
            raise WarehouseUnavailableError(
                f"cannot create the folder {folder} of the DuckDB warehouse {self.database}: {reason}"
            ) from None
        return SchemaEnforcingDbIOManager(
            db_client=_TransactionalDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=pd.DataFrame,
            io_manager_name="NbaDuckDBIOManager",
        )
