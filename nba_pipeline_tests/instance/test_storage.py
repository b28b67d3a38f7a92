"""The embedded event log storage records exactly what Dagster's stock SQLite storage records."""

from __future__ import annotations

import os

import dagster as dg
import pytest
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from nba_pipeline.instance.storage import EmbeddedEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01")
KEYS = DAYS.get_partition_keys()[:6]


class _Nothing(dg.IOManager):
    def handle_output(self, context, obj):
        pass

    def load_input(self, context):
        return None


@dg.asset(
    partitions_def=DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[dg.AssetCheckSpec("positive", asset="upstream", partitions_def=DAYS)],
)
def upstream(context):
    for key in context.partition_keys:
        context.add_asset_metadata({"rows": int(key[-2:])}, partition_key=key)
    yield dg.Output(None)
    for key in context.partition_keys:
        yield AssetCheckEvaluation(
            asset_key=dg.AssetKey("upstream"), check_name="positive", passed=key != KEYS[2], partition=key
        )
    yield dg.Output(None, output_name="upstream_positive")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[upstream])
def downstream(context):
    return None


def _run(instance):
    return dg.materialize(
        [upstream, downstream],
        instance=instance,
        resources={"io_manager": _Nothing()},
        tags={"dagster/asset_partition_range_start": KEYS[0], "dagster/asset_partition_range_end": KEYS[-1]},
    )


def _history(instance):
    """Everything the status views read: per-partition materializations, metadata, checks."""
    out = {}
    for key in (dg.AssetKey("upstream"), dg.AssetKey("downstream")):
        records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=100).records
        out[key.to_user_string()] = sorted(
            (r.partition_key, getattr(r.asset_materialization.metadata.get("rows"), "value", None)) for r in records
        )
        out[key.to_user_string() + " partitions"] = sorted(instance.get_materialized_partitions(key))
    check_key = dg.AssetCheckKey(dg.AssetKey("upstream"), "positive")
    executions = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=100)
    out["checks"] = sorted((e.partition, e.status.value) for e in executions)
    return out


@pytest.fixture
def homes(tmp_path):
    old = os.environ.get("DAGSTER_HOME")
    yield tmp_path
    if old is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = old


def _instance(home, event_log_class: str):
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        + (
            "event_log_storage:\n  module: nba_pipeline.instance.storage\n"
            f"  class: {event_log_class}\n  config: {{}}\n"
            if event_log_class
            else ""
        )
    )
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def test_embedded_instance_uses_it(instance):
    assert type(instance.event_log_storage) is EmbeddedEventLogStorage
    assert os.environ["DAGSTER_EVENT_BATCH_SIZE"]  # Dagster's batching is on, so batches reach it


def test_records_the_same_history_as_the_stock_sqlite_storage(homes):
    with _instance(homes / "stock", "") as stock:
        assert type(stock.event_log_storage) is SqliteEventLogStorage
        result = _run(stock)
        expected = _history(stock)
    with _instance(homes / "embedded", "EmbeddedEventLogStorage") as embedded:
        assert _run(embedded).success == result.success
        got = _history(embedded)
    assert got == expected
    assert expected["upstream"] == [(k, int(k[-2:])) for k in KEYS]
    assert ("2025-01-03", "FAILED") in expected["checks"] and len(expected["checks"]) == len(KEYS)
    assert expected["downstream partitions"] == KEYS


def test_stock_storage_reads_what_the_embedded_one_wrote(homes):
    """Same files and tables: an instance can switch back (or forth) without losing history."""
    home = homes / "shared"
    with _instance(home, "EmbeddedEventLogStorage") as embedded:
        _run(embedded)
        written = _history(embedded)
    (home / "dagster.yaml").unlink()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.get() as stock:
        assert type(stock.event_log_storage) is SqliteEventLogStorage
        assert _history(stock) == written
