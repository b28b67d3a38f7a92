"""What every table asset shares, whatever its layer: one declared table per asset, game-date
partitions, single-run backfills, the warehouse pool, per-partition row counts."""

import dagster as dg
import pandas as pd

from nba_pipeline.checks.common import TableChecks
from nba_pipeline.partitions import game_date_partitions, partition_date_range
from nba_pipeline.schema import Table


# Every step that opens the warehouse takes a slot of this pool (dagster.yaml limits it): DuckDB
# lets one process at a time open its file, and BigQuery limits partition modifications.
WAREHOUSE_POOL = "warehouse"


def table_asset_kwargs(table: Table, group: str, checks: TableChecks | None = None) -> dict:
    """@asset keyword arguments for the asset that writes `table` (and evaluates `checks` inline)."""
    return dict(
        check_specs=checks.specs if checks else None,
        name=table.name,
        key_prefix=table.dataset,
        group_name=group,
        description=table.description,
        partitions_def=game_date_partitions,
        # a backfill is ONE run over the whole range: transforms are vectorised over dates
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata=table.asset_metadata(),
        code_version=table.code_version,
        kinds={"pandas"},
        pool=WAREHOUSE_POOL,
    )


def table_out(table: Table, group: str) -> dg.AssetOut:
    """AssetOut (for multi-assets) carrying the same attributes as `table_asset_kwargs`."""
    return dg.AssetOut(
        key=table.asset_key,
        group_name=group,
        description=table.description,
        metadata=table.asset_metadata(),
        code_version=table.code_version,
        kinds={"pandas"},
        is_required=False,
    )


def record_partitions(
    context: dg.AssetExecutionContext, table: Table, df: pd.DataFrame, facts: dict | None = None
) -> pd.DataFrame:
    """Attach per-partition row counts (and run-level facts) to the materializations."""
    counts = df.groupby(df[table.partition_column].dt.strftime("%Y-%m-%d")).size() if len(df) else pd.Series(dtype="int64")
    for key in context.partition_keys:
        context.add_asset_metadata(
            {"dagster/partition_row_count": int(counts.get(key, 0))},
            partition_key=key,
            asset_key=table.asset_key,
        )
    start, end = partition_date_range(context)
    meta = {
        "run_range": f"{start} .. {end}",
        "range_row_count": len(df),
        **{k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v for k, v in (facts or {}).items()},
    }
    context.add_output_metadata(meta, output_name=context.assets_def.get_output_name_for_asset_key(table.asset_key))
    return df
