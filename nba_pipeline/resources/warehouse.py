"""Warehouse IO managers: DuckDB (embedded default) and BigQuery (`bigquery.py`), chosen by NBA_WAREHOUSE.

Both wrap the Dagster integration IO managers (`DuckDBPandasIOManager`, `BigQueryPandasIOManager`):
table identity (asset key -> schema/dataset + table), partition slicing and the
`dagster/table_name` metadata come from them. What they lack, and this module adds:

- schema enforcement: every frame is validated against its table's declared schema before
  anything touches the warehouse; a violation fails the step naming table, partition, row and
  column, and nothing is written;
- declared DDL: tables are created from the declared schema (not inferred from the first
  frame), also for an empty first partition, so downstream reads of an off day work;
- atomic partition replace: stock DuckDB deletes then inserts in autocommit (a failed insert
  loses the partition); here delete + insert run in one transaction. Stock BigQuery deletes, then
  loads; here one day is one WRITE_TRUNCATE load job into `table$YYYYMMDD`, and a range of days
  one load into a staging table plus one MERGE (2 jobs per output, however many partitions);
- insert by column name (stock DuckDB inserts by position).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler

from nba_pipeline.schema import Table, table_for


_ARROW_TO_PANDAS = {
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.int32(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def table_of_slice(table_slice: TableSlice) -> Table:
    return table_for([table_slice.schema, table_slice.table])


class SchemaEnforcingDbIOManager(DbIOManager):
    """DbIOManager that validates every output against its declared table before the write and
    conforms every input to the declared dtypes (so both warehouses hand out the same frames)."""

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a DataFrame, got {type(obj)}")
        table = table_for(context.asset_key)
        keys = context.asset_partition_keys if context.has_asset_partitions else None
        super().handle_output(context, table.validate(obj, keys))

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        df = super().load_input(context)
        return table_for(context.asset_key).conform(df)


# DuckDB ------------------------------------------------------------------------------------------
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
                self._open[key] = (stack, stack.enter_context(DuckDbClient.connect(context, table_slice)))
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
        opened = _STEP_CONNECTIONS.use(context, table_slice) if in_step else DuckDbClient.connect(context, table_slice)
        with opened as conn:
            # TIMESTAMPTZ as UTC (not the machine's zone): the declared dtype, whatever the host
            conn.execute("SET TimeZone = 'UTC'")
            conn.begin()
            try:
                yield conn
            except BaseException:
                conn.rollback()
                if not in_step:
                    conn.close()  # dagster-duckdb's connect closes only on success
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
            connection.execute(
                f"INSERT INTO {table_slice.schema}.{table_slice.table} BY NAME SELECT * FROM {view}"
            )
        finally:
            connection.unregister(view)
        context.add_output_metadata(
            {"dagster/storage_kind": "duckdb", "rows_written": len(obj)}
        )

    def load_input(self, context, table_slice: TableSlice, connection) -> pd.DataFrame:
        # through Arrow straight into the declared pandas dtypes: the stock fetchdf() gives object
        # columns for strings and nullable ints, and converting them back cost more than the query
        if table_slice.partition_dimensions and len(context.asset_partition_keys) == 0:
            return pd.DataFrame()
        arrow = connection.execute(DuckDbClient.get_select_statement(table_slice)).to_arrow_table()
        # nanosecond dates and UTC-zoned timestamps: the declared dtypes, so conform copies nothing
        return arrow.to_pandas(types_mapper=_ARROW_TO_PANDAS.get, date_as_object=False, coerce_temporal_nanoseconds=True)


class NbaDuckDBIOManager(DuckDBPandasIOManager):
    """DuckDBPandasIOManager with declared schemas, validation and transactional partition replace."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [_DeclaredSchemaDuckDBPandasTypeHandler()]

    def teardown_after_execution(self, context) -> None:
        _STEP_CONNECTIONS.close(self.database)

    def create_io_manager(self, context) -> DbIOManager:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        return SchemaEnforcingDbIOManager(
            db_client=_TransactionalDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=pd.DataFrame,
            io_manager_name="NbaDuckDBIOManager",
        )


# selection by environment ------------------------------------------------------------------------
def default_duckdb_path() -> str:
    if os.environ.get("NBA_DUCKDB_PATH"):
        return os.environ["NBA_DUCKDB_PATH"]
    home = os.environ.get("DAGSTER_HOME") or os.path.expanduser("~/.nba_pipeline")
    return str(Path(home) / "warehouse.duckdb")


def warehouse_io_manager() -> dg.ConfigurableIOManagerFactory:
    """The IO manager NBA_WAREHOUSE selects: `duckdb` (default) or `bigquery`."""
    kind = os.environ.get("NBA_WAREHOUSE", "duckdb").lower()
    if kind == "duckdb":
        return NbaDuckDBIOManager(database=default_duckdb_path())
    if kind == "bigquery":
        # imported here: dagster-gcp and the Google clients take ~0.5 s to import
        from nba_pipeline.resources.bigquery import NbaBigQueryIOManager

        project = os.environ.get("NBA_BIGQUERY_PROJECT") or os.environ.get("GOOGLE_CLOUD_PROJECT")
        if not project:
            raise ValueError("NBA_WAREHOUSE=bigquery needs NBA_BIGQUERY_PROJECT (or GOOGLE_CLOUD_PROJECT)")
        return NbaBigQueryIOManager(
            project=project, location=os.environ.get("NBA_BIGQUERY_LOCATION", "US")
        )
    raise ValueError(f"NBA_WAREHOUSE must be 'duckdb' or 'bigquery', not {kind!r}")
