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


@dg.asset(check_specs=[dg.AssetCheckSpec("ok", asset="unpartitioned")])
def unpartitioned():
    yield dg.Output(None)
    yield dg.AssetCheckResult(check_name="ok", passed=True, metadata={"note": "unpartitioned"})


@dg.asset_check(asset=unpartitioned, blocking=True)
def blocking_fails():
    return dg.AssetCheckResult(passed=False, metadata={"why": "blocking check failing on purpose"})


def _run(instance, assets=(upstream, downstream)):
    return dg.materialize(
        list(assets),
        instance=instance,
        resources={"io_manager": _Nothing()},
        tags={"dagster/asset_partition_range_start": KEYS[0], "dagster/asset_partition_range_end": KEYS[-1]},
        raise_on_error=False,
    )


def _rows(home, run_id):
    """The stored rows themselves, with what differs between two runs of the same job (ids, run ids,
    timestamps, event text) replaced by what it means: the same rows, in the same order, linked alike."""
    import sqlite3

    from dagster._serdes import deserialize_value

    runs = home / "history" / "runs"
    out = {}
    with sqlite3.connect(runs / f"{run_id}.db") as run_shard:
        out["run shard"] = run_shard.execute(
            "SELECT dagster_event_type, step_key, asset_key, partition FROM event_logs ORDER BY id"
        ).fetchall()
    with sqlite3.connect(runs / "index.db") as index:
        ids = {}
        rows = []
        for n, (id_, kind, step, asset, partition, event) in enumerate(
            index.execute(
                "SELECT id, dagster_event_type, step_key, asset_key, partition, event FROM event_logs"
                " WHERE run_id = ? ORDER BY id",
                [run_id],
            )
        ):
            ids[id_] = n
            rows.append(
                (
                    kind,
                    step,
                    asset,
                    partition,
                    deserialize_value(event).dagster_event.event_specific_data.__class__.__name__,
                )
            )
        out["index shard"] = rows
        out["check executions"] = sorted(
            [
                (
                    asset,
                    check,
                    partition,
                    status,
                    ids.get(event_id),
                    deserialize_value(event).dagster_event_type.value,
                    getattr(deserialize_value(event).dagster_event.event_specific_data, "passed", None),
                )
                for asset, check, partition, status, event_id, event in index.execute(
                    "SELECT asset_key, check_name, partition, execution_status, evaluation_event_storage_id,"
                    " evaluation_event FROM asset_check_executions WHERE run_id = ?",
                    [run_id],
                )
            ],
            key=repr,
        )
        out["asset keys"] = sorted(
            (key, ids.get(deserialize_value(last).storage_id) if last else None)
            for key, last in index.execute("SELECT asset_key, last_materialization FROM asset_keys")
        )
    return out


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
            f"event_log_storage:\n  module: nba_pipeline.instance.storage\n  class: {event_log_class}\n  config: {{}}\n"
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


def test_stores_the_same_rows_as_the_stock_sqlite_storage(homes):
    """Row for row, including batched check evaluations: partitioned, unpartitioned, failing,
    and a blocking failure that ends its step."""
    assets = (upstream, downstream, unpartitioned, blocking_fails)
    rows = {}
    for name, cls in (("stock", ""), ("embedded", "EmbeddedEventLogStorage")):
        with _instance(homes / name, cls) as instance:
            result = _run(instance, assets)
            assert not result.success  # the blocking check failed
            run_id = result.run_id
        rows[name] = _rows(homes / name, run_id)
    assert rows["embedded"] == rows["stock"]
    executions = rows["stock"]["check executions"]
    assert all(e[4] is not None for e in executions)  # each linked to its event row
    statuses = [e[:4] for e in executions]
    assert [s for s in statuses if s[0] == '["upstream"]' and s[3] == "FAILED"] == [
        ('["upstream"]', "positive", KEYS[2], "FAILED")
    ]
    # Dagster plans the unpartitioned asset's checks per partition of the run's range, then
    # evaluates them without a partition: the execution row is inserted (the storage's other path)
    assert ('["unpartitioned"]', "ok", None, "SUCCEEDED") in statuses
    assert ('["unpartitioned"]', "blocking_fails", None, "FAILED") in statuses


def test_a_steps_materializations_are_told_apart_by_their_milliseconds(homes):
    """The UI's Events tab tells an asset's events apart by run and millisecond. Batched, a step's
    per-partition materializations reached the storage created within one millisecond, and a
    40-date backfill listed 4 of its 40 (issue 16); written one by one (the stock storage without
    DAGSTER_EVENT_BATCH_SIZE) they are ~10 ms apart."""
    with _instance(homes / "embedded", "EmbeddedEventLogStorage") as instance:
        assert _run(instance).success
        records = instance.fetch_materializations(dg.AssetKey("upstream"), limit=100, ascending=True).records
    ms = [int(r.timestamp * 1000) for r in records]  # what the UI gets (dagster-graphql's events.py)
    assert [r.partition_key for r in records] == KEYS
    assert len(set(ms)) == len(KEYS) and ms == sorted(ms), ms


def test_pending_check_evaluations_are_visible_to_any_reader(homes):
    """Check evaluations wait in memory for a batch, but never past a read of the storage."""
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._core.events.log import EventLogEntry

    with _instance(homes / "embedded", "EmbeddedEventLogStorage") as instance:
        _run(instance)
        storage = instance.event_log_storage
        evaluation = AssetCheckEvaluation(
            asset_key=dg.AssetKey("upstream"), check_name="positive", passed=False, partition=KEYS[0]
        )
        storage.store_event(
            EventLogEntry(
                error_info=None,
                level="DEBUG",
                user_message="",
                run_id="r-later",
                timestamp=1.0e9,
                dagster_event=DagsterEvent(
                    DagsterEventType.ASSET_CHECK_EVALUATION.value, "job", event_specific_data=evaluation
                ),
            )
        )
        assert storage._pending_checks  # held, not written yet
        history = storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("upstream"), "positive"), limit=100
        )
        assert not storage._pending_checks
        assert ("r-later", KEYS[0], "FAILED") in [(e.run_id, e.partition, e.status.value) for e in history]


def test_a_check_evaluated_twice_without_a_plan_keeps_the_last_result_as_stock_does(homes):
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._core.events.log import EventLogEntry

    def evaluation(passed: bool, ts: float) -> EventLogEntry:
        data = AssetCheckEvaluation(
            asset_key=dg.AssetKey("upstream"), check_name="positive", passed=passed, partition=KEYS[0]
        )
        return EventLogEntry(
            error_info=None,
            level="DEBUG",
            user_message="",
            run_id="r-unplanned",
            timestamp=ts,
            dagster_event=DagsterEvent(DagsterEventType.ASSET_CHECK_EVALUATION.value, "job", event_specific_data=data),
        )

    results = {}
    for name, cls in (("stock", ""), ("embedded", "EmbeddedEventLogStorage")):
        with _instance(homes / name, cls) as instance:
            _run(instance)  # the index shard exists
            storage = instance.event_log_storage
            storage.store_event(evaluation(False, 1.0e9))
            storage.store_event(evaluation(True, 1.0e9 + 1))
            history = storage.get_asset_check_execution_history(
                dg.AssetCheckKey(dg.AssetKey("upstream"), "positive"), limit=100
            )
            results[name] = sorted((e.partition, e.status.value) for e in history if e.run_id == "r-unplanned")
    assert results["embedded"] == results["stock"] == [(KEYS[0], "SUCCEEDED")]
