"""What every table asset shares, whatever its layer: one declared table per asset, game-date
partitions, single-run backfills, the warehouse pool, per-partition metadata, owners and kinds."""

import json

import dagster as dg
import pandas as pd

from nba_pipeline.core.checks.common import TableChecks
from nba_pipeline.core.partitions import game_date_partitions, partition_date_range
from nba_pipeline.core.schema import Table, table_for


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
    context: dg.AssetExecutionContext,
    table: Table,
    df: pd.DataFrame,
    facts: dict | None = None,
    every_partition: dict | None = None,
) -> pd.DataFrame:
    """Give each partition's materialization its own numbers, so the asset's Partitions plots chart
    dates, not runs: its row count, plus `every_partition` (values true of each date, e.g. the
    feature version).

    `facts` are counted over the step's whole range (feed rows read, prices withheld...): they are
    a partition's own numbers only when the step covers that one partition, and then go on it. A
    range run says them once, in the run's log; Dagster would copy output metadata onto every
    partition's event, each date then claiming the run's totals."""
    counts = df.groupby(df[table.partition_column].dt.strftime("%Y-%m-%d")).size() if len(df) else pd.Series(dtype="int64")
    keys = context.partition_keys
    shared = _metadata(every_partition)
    for key in keys:
        context.add_asset_metadata(
            {"dagster/partition_row_count": int(counts.get(key, 0)), **shared, **(_metadata(facts) if len(keys) == 1 else {})},
            partition_key=key,
            asset_key=table.asset_key,
        )
    if len(keys) > 1:
        start, end = partition_date_range(context)
        said = f"; over the whole range: {json.dumps(facts, default=str, sort_keys=True)}" if facts else ""
        context.log.info(f"{table.asset_key.to_user_string()}: {len(df)} rows over {len(keys)} game dates {start} .. {end}{said}")
    return df


def _metadata(values: dict | None) -> dict:
    return {k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v for k, v in (values or {}).items()}


# Who answers for each layer: shown on every asset and filterable in the catalog. Ingestion and the
# cleaned facts are data engineering's; features and the model the ML team's; what leaves the
# pipeline (the day's picks, the track record) analytics'.
LAYER_OWNERS = {
    "nba_raw": ["team:data-engineering"],
    "nba_analytics": ["team:data-engineering"],
    "nba_precompute": ["team:ml"],
    "nba_predictions": ["team:ml"],
    "nba_exports": ["team:analytics"],
}


def with_owners_and_kinds(spec: dg.AssetSpec, warehouse_kind: str | None) -> dg.AssetSpec:
    """The layer's owners, and for a table the warehouse the bound IO manager stores it in
    (`duckdb` or `bigquery`, beside the `pandas` its step computes with). Applied where the
    resources are bound (`build_definitions`): the kind is the warehouse actually used."""
    try:
        table_for(spec.key)
        kinds = {warehouse_kind} if warehouse_kind else set()
    except KeyError:  # a file export: its own kinds
        kinds = set()
    return spec.merge_attributes(owners=LAYER_OWNERS[spec.group_name], kinds=kinds)
