"""BigQuery warehouse IO manager (NBA_WAREHOUSE=bigquery); see `warehouse.py` for what it adds to
dagster-gcp's `BigQueryPandasIOManager`. Its own module so the embedded default never imports the
Google clients."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pandas as pd
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_gcp.bigquery.io_manager import BigQueryClient
from dagster_gcp_pandas import BigQueryPandasIOManager, BigQueryPandasTypeHandler

from nba_pipeline.resources.warehouse import SchemaEnforcingDbIOManager, table_of_slice
from nba_pipeline.schema import Table


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

        table = table_of_slice(table_slice)
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
        table = table_of_slice(table_slice)
        cols = ", ".join(table_slice.columns) if table_slice.columns else "*"
        return (
            f"SELECT {cols} FROM `{table_slice.database}.{table.dataset}.{table.name}`"
            f" WHERE {bigquery_partition_predicate(table, table_slice)}"
        )


class _DeclaredSchemaBigQueryPandasTypeHandler(BigQueryPandasTypeHandler):
    def handle_output(self, context, table_slice: TableSlice, obj: pd.DataFrame, connection):
        from google.cloud import bigquery

        table = table_of_slice(table_slice)
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
