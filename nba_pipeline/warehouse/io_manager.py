"""What both warehouse IO managers (DuckDB: `duckdb.py`, the embedded default; BigQuery:
`bigquery.py`) share.

Both wrap the Dagster integration IO managers (`DuckDBPandasIOManager`, `BigQueryPandasIOManager`):
table identity (asset key -> schema/dataset + table), partition slicing and the
`dagster/table_name` metadata come from them. What they lack, and these modules add:

- schema enforcement (here): every frame is validated against its table's declared schema before
  anything touches the warehouse; a violation fails the step naming table, partition, row and
  column, and nothing is written;
- declared DDL: tables are created from the declared schema (not inferred from the first
  frame), also for an empty first partition, so downstream reads of an off day work;
- atomic partition replace: stock DuckDB deletes then inserts in autocommit (a failed insert
  loses the partition); here delete + insert run in one transaction. Stock BigQuery deletes, then
  loads; here one day is one WRITE_TRUNCATE load job into `table$YYYYMMDD`, and a range of days
  one load into a staging table plus one MERGE (2 jobs per output, however many partitions);
- insert by column name (stock DuckDB inserts by position).

Which one a deployment uses is chosen in `definitions.py`.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from nba_pipeline.core.dagster_internals import DbIOManager, TableSlice
from nba_pipeline.core.schema import Table, table_for


def table_of_slice(table_slice: TableSlice) -> Table:
    return table_for([table_slice.schema, table_slice.table])


class SchemaEnforcingDbIOManager(DbIOManager):
    """DbIOManager that validates every output against its declared table before the write and
    conforms every input to the declared dtypes (so both warehouses hand out the same frames).

    Metadata: DbIOManager puts one "Query" over the step's whole slice in the output metadata,
    which Dagster copies onto every partition's materialization (a 40-date run gave each date a
    query over all 40). Here each partition's materialization gets the query of its own rows; the
    table name and storage kind, true of every partition, stay output metadata."""

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a DataFrame, got {type(obj)}")
        table = table_for(context.asset_key)
        keys = context.asset_partition_keys if context.has_asset_partitions else None
        obj = table.validate(obj, keys)
        # DbIOManager.handle_output without its whole-slice "Query" (private helpers: the class is
        # Dagster's internal base already, and no public hook changes what it records)
        table_slice = self._get_table_slice(context, context)
        with self._db_client.connect(context, table_slice) as conn:
            self._db_client.ensure_schema_exists(context, table_slice, conn)
            self._db_client.delete_table_slice(context, table_slice, conn)
            self._resolve_handler(pd.DataFrame).handle_output(context, table_slice, obj, conn)
        context.add_output_metadata({"dagster/table_name": self._db_client.get_table_name(table_slice)})
        self._record_partition_queries(context, table_slice)

    def _record_partition_queries(self, context: dg.OutputContext, table_slice: TableSlice) -> None:
        step = getattr(context, "_step_context", None)  # None: an output context built by hand
        dims = table_slice.partition_dimensions or []
        if step is None or len(dims) != 1:
            context.add_output_metadata({"Query": self._db_client.get_select_statement(table_slice)})
            return
        partitions_def = context.asset_partitions_def
        for key in context.asset_partition_keys:
            part = (
                partitions_def.time_window_for_partition_key(key)
                if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition)
                else [key]
            )
            query = self._db_client.get_select_statement(
                table_slice._replace(partition_dimensions=[dims[0]._replace(partitions=part)])
            )
            # the step's per-partition asset metadata: what `add_asset_metadata(partition_key=)`
            # does in an asset body; an IO manager's context offers no public way to it
            step.add_asset_metadata({"Query": query}, asset_key=context.asset_key, partition_key=key)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        df = super().load_input(context)
        return table_for(context.asset_key).conform(df)
