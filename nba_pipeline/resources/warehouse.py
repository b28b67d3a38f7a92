"""Warehouse IO managers: DuckDB (embedded default) and BigQuery, chosen by NBA_WAREHOUSE.

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
  loads; here the frame is loaded into a staging table and swapped in by one multi-statement
  transaction (2 jobs per output, however many partitions the run covers);
- insert by column name (stock DuckDB inserts by position).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler
from dagster_gcp.bigquery.io_manager import BigQueryClient
from dagster_gcp_pandas import BigQueryPandasIOManager, BigQueryPandasTypeHandler

from nba_pipeline.schema import Table, table_for


_ARROW_TO_PANDAS = {
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.int32(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def _table(table_slice: TableSlice) -> Table:
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
class _TransactionalDuckDbClient(DuckDbClient):
    @staticmethod
    @contextmanager
    def connect(context, table_slice: TableSlice) -> Iterator:
        with DuckDbClient.connect(context, table_slice) as conn:
            conn.begin()
            try:
                yield conn
            except BaseException:
                conn.rollback()
                conn.close()
                raise
            conn.commit()

    @staticmethod
    def ensure_schema_exists(context, table_slice: TableSlice, connection) -> None:
        table = _table(table_slice)
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
        return arrow.to_pandas(types_mapper=_ARROW_TO_PANDAS.get, date_as_object=False)


class NbaDuckDBIOManager(DuckDBPandasIOManager):
    """DuckDBPandasIOManager with declared schemas, validation and transactional partition replace."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [_DeclaredSchemaDuckDBPandasTypeHandler()]

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


# BigQuery ----------------------------------------------------------------------------------------
def bigquery_partition_predicate(table: Table, table_slice: TableSlice) -> str:
    """WHERE predicate for the partitions of a slice, comparing DATE to DATE literals.

    dagster-gcp compares the partition column with '2025-01-05 00:00:00', which real BigQuery
    rejects for a DATE column (dagster issue #13147)."""
    col = table.partition_column
    dims = table_slice.partition_dimensions or []
    if not col or not dims:
        return "TRUE"
    window = dims[0].partitions
    start, end = window.start, window.end  # type: ignore[union-attr]
    return (
        f"{col} >= DATE '{start.strftime('%Y-%m-%d')}' AND {col} < DATE '{end.strftime('%Y-%m-%d')}'"
    )


def bigquery_replace_script(table: Table, table_slice: TableSlice, staging: str) -> str:
    """One multi-statement transaction: drop the slice's partitions, insert the staged rows."""
    target = f"`{table_slice.database}.{table.dataset}.{table.name}`"
    cols = ", ".join(table.column_names)
    return (
        "BEGIN TRANSACTION;\n"
        f"DELETE FROM {target} WHERE {bigquery_partition_predicate(table, table_slice)};\n"
        f"INSERT INTO {target} ({cols}) SELECT {cols} FROM `{staging}`;\n"
        "COMMIT TRANSACTION;"
    )


def bigquery_frame(table: Table, df: pd.DataFrame) -> pd.DataFrame:
    """Frame as the BigQuery client expects it: DATE columns as datetime.date objects."""
    out = df.copy()
    for c in table.columns:
        if c.type == "date":
            out[c.name] = out[c.name].dt.date
    return out


class _BigQueryWarehouseClient(BigQueryClient):
    @staticmethod
    def ensure_schema_exists(context, table_slice: TableSlice, connection) -> None:
        from google.cloud import bigquery

        table = _table(table_slice)
        connection.query(f"CREATE SCHEMA IF NOT EXISTS `{table_slice.database}.{table.dataset}`").result()
        bq_table = bigquery.Table(
            f"{table_slice.database}.{table.dataset}.{table.name}", schema=table.bigquery_schema()
        )
        bq_table.description = table.description
        if table.partition_column:
            bq_table.time_partitioning = bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY, field=table.partition_column
            )
        if table.cluster_by:
            bq_table.clustering_fields = list(table.cluster_by)
        connection.create_table(bq_table, exists_ok=True)

    @staticmethod
    def delete_table_slice(context, table_slice: TableSlice, connection) -> None:
        # the replace happens atomically in the type handler
        return None

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        table = _table(table_slice)
        cols = ", ".join(table_slice.columns) if table_slice.columns else "*"
        return (
            f"SELECT {cols} FROM `{table_slice.database}.{table.dataset}.{table.name}`"
            f" WHERE {bigquery_partition_predicate(table, table_slice)}"
        )


class _DeclaredSchemaBigQueryPandasTypeHandler(BigQueryPandasTypeHandler):
    def handle_output(self, context, table_slice: TableSlice, obj: pd.DataFrame, connection):
        from google.cloud import bigquery

        table = _table(table_slice)
        staging = f"{table_slice.database}.{table.dataset}._staging_{table.name}_{uuid.uuid4().hex[:12]}"
        cfg = context.resource_config or {}
        job = connection.load_table_from_dataframe(
            bigquery_frame(table, obj),
            staging,
            job_config=bigquery.LoadJobConfig(
                schema=table.bigquery_schema(), write_disposition="WRITE_TRUNCATE"
            ),
            location=cfg.get("location"),
            timeout=cfg.get("timeout"),
        )
        try:
            job.result()
            connection.query(bigquery_replace_script(table, table_slice, staging)).result()
        finally:
            connection.delete_table(staging, not_found_ok=True)
        context.add_output_metadata({"dagster/storage_kind": "bigquery", "rows_written": len(obj)})

    def load_input(self, context, table_slice: TableSlice, connection) -> pd.DataFrame:
        if table_slice.partition_dimensions and len(context.asset_partition_keys) == 0:
            return pd.DataFrame()
        cfg = context.resource_config or {}
        return connection.query(
            _BigQueryWarehouseClient.get_select_statement(table_slice),
            location=cfg.get("location"),
            timeout=cfg.get("timeout"),
        ).to_dataframe(create_bqstorage_client=False)


class NbaBigQueryIOManager(BigQueryPandasIOManager):
    """BigQueryPandasIOManager with declared schemas, validation, DAY-partitioned clustered tables
    and an atomic partition replace."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [_DeclaredSchemaBigQueryPandasTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        return SchemaEnforcingDbIOManager(
            db_client=_BigQueryWarehouseClient(write_mode=self.write_mode, gcp_credentials=self.gcp_credentials),
            io_manager_name="NbaBigQueryIOManager",
            database=self.project,
            schema=self.dataset,
            type_handlers=self.type_handlers(),
            default_load_type=pd.DataFrame,
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
        project = os.environ.get("NBA_BIGQUERY_PROJECT") or os.environ.get("GOOGLE_CLOUD_PROJECT")
        if not project:
            raise ValueError("NBA_WAREHOUSE=bigquery needs NBA_BIGQUERY_PROJECT (or GOOGLE_CLOUD_PROJECT)")
        return NbaBigQueryIOManager(
            project=project, location=os.environ.get("NBA_BIGQUERY_LOCATION", "US")
        )
    raise ValueError(f"NBA_WAREHOUSE must be 'duckdb' or 'bigquery', not {kind!r}")
