"""BigQuery warehouse IO manager (the production deployment, NBA_WAREHOUSE=bigquery); see
`io_manager.py` for what it adds to dagster-gcp's `BigQueryPandasIOManager`. Its own module so the
embedded default never imports the Google clients."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import ClassVar

import pandas as pd
from dagster_gcp.bigquery.io_manager import BigQueryClient
from dagster_gcp_pandas import BigQueryPandasIOManager, BigQueryPandasTypeHandler

import nba_pipeline.environment as environment
from nba_pipeline.core.dagster_internals import DbIOManager, DbTypeHandler, TableSlice
from nba_pipeline.core.schema import Table
from nba_pipeline.warehouse.io_manager import SchemaEnforcingDbIOManager, table_of_slice


# BigQuery ----------------------------------------------------------------------------------------
def bigquery_partition_predicate(table: Table, table_slice: TableSlice, alias: str = "") -> str:
    """WHERE predicate for the partitions of a slice, comparing DATE to DATE literals.

    dagster-gcp compares the partition column with '2025-01-05 00:00:00', which real BigQuery
    rejects for a DATE column (dagster issue #13147); the emulator accepts it, so this SQL has a
    unit test of its own."""
    col = f"{alias}.{table.partition_column}" if alias else table.partition_column
    dims = table_slice.partition_dimensions or []
    if not table.partition_column or not dims:
        return "TRUE"
    window = dims[0].partitions
    start, end = window.start, window.end  # type: ignore[union-attr]
    return f"{col} >= DATE '{start.strftime('%Y-%m-%d')}' AND {col} < DATE '{end.strftime('%Y-%m-%d')}'"


def partition_days(table: Table, table_slice: TableSlice) -> list[dt.date] | None:
    """The game dates a slice covers (None: the table is not partitioned)."""
    dims = table_slice.partition_dimensions or []
    if not table.partition_column or not dims:
        return None
    window = dims[0].partitions
    first, end = window.start.date(), window.end.date()  # type: ignore[union-attr]
    return [first + dt.timedelta(days=i) for i in range((end - first).days)]


def partition_decorator(table_id: str, day: dt.date) -> str:
    """`table$YYYYMMDD`: a load job's destination that is one day's partition only."""
    return f"{table_id}${day:%Y%m%d}"


def bigquery_merge_statement(table: Table, table_slice: TableSlice, staging: str) -> str:
    """One MERGE that replaces the slice's partitions by the staged rows: a single DML statement,
    so BigQuery commits all of it or none (no window where the range is empty or doubled)."""
    target = f"`{table_slice.database}.{table.dataset}.{table.name}`"
    cols = ", ".join(table.column_names)
    pred = bigquery_partition_predicate(table, table_slice, alias="target")
    return (
        f"MERGE {target} AS target\n"
        f"USING `{staging}` AS source\n"
        "ON FALSE\n"
        f"WHEN NOT MATCHED BY SOURCE AND {pred} THEN DELETE\n"
        f"WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({', '.join(f'source.{c}' for c in table.column_names)})"
    )


def bigquery_frame(table: Table, df: pd.DataFrame) -> pd.DataFrame:
    """Frame as the BigQuery client expects it: DATE columns as datetime.date objects."""
    out = df.copy()
    for c in table.columns:
        if c.type == "date":
            out[c.name] = out[c.name].dt.date
    return out


def bigquery_client(project: str | None, location: str | None):
    """Application Default Credentials in production; anonymous credentials when
    BIGQUERY_EMULATOR_HOST points the client at a local emulator (which checks none)."""
    from google.cloud import bigquery

    kwargs = {}
    if environment.bigquery_emulator_host():
        from google.auth.credentials import AnonymousCredentials

        kwargs["credentials"] = AnonymousCredentials()
    return bigquery.Client(project=project or None, location=location or None, **kwargs)


class _BigQueryWarehouseClient(BigQueryClient):
    @staticmethod
    @contextmanager
    def connect(context, table_slice: TableSlice) -> Iterator:
        config = context.resource_config or {}
        client = bigquery_client(config.get("project"), config.get("location"))
        try:
            yield client
        finally:
            client.close()

    @staticmethod
    def ensure_schema_exists(context, table_slice: TableSlice, connection) -> None:
        # API calls, not jobs: they count against no job quota
        from google.cloud import bigquery

        table = table_of_slice(table_slice)
        connection.create_dataset(f"{table_slice.database}.{table.dataset}", exists_ok=True)
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
    """Writes a slice atomically in at most two jobs, however many partitions it covers:

    - one day (every incremental run): one load job into `table$YYYYMMDD` with WRITE_TRUNCATE,
      which BigQuery commits as a whole, replacing that day only;
    - an unpartitioned table: one WRITE_TRUNCATE load job of the table;
    - a range of days (a single-run backfill): one load job into a staging table that expires by
      itself, then one MERGE replacing the range. A load per day would be 300 jobs per table for a
      season, against BigQuery's 1,500 load jobs per table per day.
    """

    def handle_output(self, context, table_slice: TableSlice, obj: pd.DataFrame, connection):
        from google.cloud import bigquery

        table = table_of_slice(table_slice)
        cfg = context.resource_config or {}
        target = f"{table_slice.database}.{table.dataset}.{table.name}"
        days = partition_days(table, table_slice)
        frame = bigquery_frame(table, obj)

        def load(destination: str) -> None:
            connection.load_table_from_dataframe(
                frame,
                destination,
                location=cfg.get("location"),
                timeout=cfg.get("timeout"),
                job_config=bigquery.LoadJobConfig(schema=table.bigquery_schema(), write_disposition="WRITE_TRUNCATE"),
            ).result()

        if days is None or len(days) == 1:
            load(target if days is None else partition_decorator(target, days[0]))
        else:
            staging = bigquery.Table(f"{target}__staging_{uuid.uuid4().hex[:12]}", schema=table.bigquery_schema())
            # left behind only if this process dies between its creation and the delete below
            staging.expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)
            connection.create_table(staging)
            try:
                load(str(staging.reference))
                connection.query(
                    bigquery_merge_statement(table, table_slice, str(staging.reference)),
                    location=cfg.get("location"),
                    timeout=cfg.get("timeout"),
                ).result()
            finally:
                connection.delete_table(staging, not_found_ok=True)
        # rows per partition: `dagster/partition_row_count`, from the asset (`layer.record_partitions`)
        context.add_output_metadata({"dagster/storage_kind": NbaBigQueryIOManager.storage_kind})

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

    storage_kind: ClassVar[str] = "bigquery"

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
