"""Adopting an existing warehouse: record the partitions it already holds as materializations, so
a deployment's event log becomes its completion tracker without recomputing history.

A partition is recorded only where the warehouse proves it complete:
- the table has rows for that game date, or
- the date has no games (the warehouse's `nba_raw.schedule` has none) and lies inside the adopted
  range: an off day is complete with 0 rows (incident 3: a day with 0 records is done).
A game date on which a table has no rows is not recorded: it may be a write that never happened
(incident 1), so a run must build it (if it is empty by nature, that run says so with its checks).
Nothing is recorded twice: partitions the event log already has are left alone. Each recorded
event says it was imported, from where, and its row count; its checks were never evaluated.
Adopting says the warehouse is what the deployed code builds: each event carries the table's
current code version (else `nba-pipeline stale` would call all history stale and rebuild it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg

from nba_pipeline.core.partitions import game_date_partitions
from nba_pipeline.core.schema import Table, registered_tables

SCHEDULE = ("nba_raw", "schedule")


class WarehouseCounts:
    """Rows per game date of a table, read from the warehouse an IO manager writes to."""

    def __init__(self, io_manager: dg.ConfigurableIOManagerFactory):
        from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager

        self.io_manager = io_manager
        if isinstance(io_manager, NbaDuckDBIOManager):
            self.where = f"duckdb:{io_manager.database}"
        else:
            self.where = f"bigquery:{io_manager.project}"  # type: ignore[attr-defined]

    def __call__(self, table: Table) -> dict[dt.date, int]:
        col = table.partition_column
        if self.where.startswith("duckdb:"):
            import duckdb

            with duckdb.connect(self.io_manager.database, read_only=True) as con:  # type: ignore[attr-defined]
                exists = con.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                    [table.dataset, table.name],
                ).fetchone()[0]
                rows = (
                    con.execute(f"SELECT {col}, count(*) FROM {table.dataset}.{table.name} GROUP BY 1").fetchall()
                    if exists
                    else []
                )
        else:
            from google.api_core.exceptions import NotFound

            from nba_pipeline.warehouse.bigquery import bigquery_client

            io = self.io_manager
            client = bigquery_client(io.project, io.location)  # type: ignore[attr-defined]
            try:
                rows = [
                    tuple(r)
                    for r in client.query(
                        f"SELECT {col}, count(*) FROM `{io.project}.{table.dataset}.{table.name}` GROUP BY 1"
                    ).result()
                ]  # type: ignore[attr-defined]
            except NotFound:
                rows = []
            finally:
                client.close()
        return {(d.date() if isinstance(d, dt.datetime) else d): int(n) for d, n in rows}


@dataclass
class TableAdoption:
    asset: str
    recorded_with_rows: int = 0
    recorded_off_days: int = 0
    already_recorded: int = 0
    missing_game_dates: list[str] = field(default_factory=list)  # game dates without rows: left to a run


@dataclass
class Adoption:
    start: dt.date
    end: dt.date
    source: str
    tables: list[TableAdoption]
    # the range's game dates before the first game-date partition: not partitions, so not adopted
    before_partitions: list[str] = field(default_factory=list)

    @property
    def recorded(self) -> int:
        return sum(t.recorded_with_rows + t.recorded_off_days for t in self.tables)


def adopt_warehouse(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    io_manager: dg.ConfigurableIOManagerFactory,
    start: dt.date | None = None,
    end: dt.date | None = None,
    assets: Iterable[dg.AssetKey] | None = None,
    dry_run: bool = False,
) -> Adoption:
    """Record the warehouse's complete partitions of start .. end (default: the schedule's first
    and last game dates) as materializations in `instance`."""
    counts = WarehouseCounts(io_manager)
    tables = [
        t
        for t in registered_tables()
        if t.partition_column and t.dataset.startswith("nba_") and t.dataset != "nba_test"
    ]
    if assets is not None:
        wanted = set(assets)
        tables = [t for t in tables if t.asset_key in wanted]
    schedule = next(t for t in registered_tables() if (t.dataset, t.name) == SCHEDULE)
    game_days = counts(schedule)
    if not game_days and (start is None or end is None):
        raise ValueError(f"{counts.where} has no nba_raw.schedule rows: nothing shows which dates it covers")
    start = start or min(game_days)
    end = end or max(game_days)
    keys = set(game_date_partitions.get_partition_keys())
    dates = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    first = game_date_partitions.get_first_partition_key()
    before = [d.isoformat() for d in dates if d.isoformat() < first and game_days.get(d, 0) > 0]
    dates = [d for d in dates if d.isoformat() in keys]

    # upstream first, in the asset graph's order: each imported materialization is then newer than
    # its inputs', so nothing looks "updated since" to the automation conditions or to `stale`
    order = {key: i for i, key in enumerate(defs.resolve_asset_graph().toposorted_asset_keys)}
    report = []
    for table in sorted(tables, key=lambda t: order.get(t.asset_key, len(order))):
        rows = counts(table)
        done = instance.get_materialized_partitions(table.asset_key)
        adoption = TableAdoption(table.asset_key.to_user_string())
        for d in dates:
            key = d.isoformat()
            if key in done:
                adoption.already_recorded += 1
                continue
            n = rows.get(d, 0)
            if n == 0 and game_days.get(d, 0) > 0:
                adoption.missing_game_dates.append(key)
                continue
            reason = "rows in the warehouse" if n else "no games that date"
            if n:
                adoption.recorded_with_rows += 1
            else:
                adoption.recorded_off_days += 1
            if not dry_run:
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(
                        asset_key=table.asset_key,
                        partition=key,
                        description=f"imported from {counts.where}: {reason}",
                        metadata={
                            "dagster/row_count": n,
                            "nba_pipeline/imported_from": counts.where,
                            "nba_pipeline/import_reason": reason,
                        },
                        tags={"nba_pipeline/imported": "true", "dagster/code_version": table.code_version},
                    )
                )
        report.append(adoption)
    return Adoption(start, end, counts.where, report, before)
