"""The Dagster names this package needs that `dagster` does not export: the one module besides the
embedded event log storage (instance/storage.py) that imports `dagster._` paths, so an upgrade that
moves one breaks here, at import, and nowhere else. Each name says why no public API serves; where
one does, use it instead."""

# the base classes of DuckDBPandasIOManager and BigQueryPandasIOManager, and the slice they hand
# their type handlers (dagster-duckdb and dagster-gcp import them from the same private path)
# the materialization a check evaluation judged, which makes the UI count it as the partition's
# current result: dg.AssetCheckEvaluation is public, the type of its target_materialization_data is not
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationTargetMaterializationData

# the only way to ask event_log_storage.get_latest_asset_check_execution_by_key for one partition's
# check results; the instance's public queries (fetch_materializations, ...) return no check results
from dagster._core.event_api import PartitionKeyFilter

# a run failure's reason: only its event's JobFailureData sets the run's dagster/failure_reason tag
# (shown with the run in the UI, read by run retries); instance.report_run_failed takes no other
from dagster._core.events import JobFailureData, RunFailureReason

# the wait for a pool slot inside execute_in_process: no public hook makes it sleep or stop
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice

__all__ = [
    "AssetCheckEvaluationTargetMaterializationData",
    "DbIOManager",
    "DbTypeHandler",
    "InstanceConcurrencyContext",
    "JobFailureData",
    "PartitionKeyFilter",
    "RunFailureReason",
    "TableSlice",
]
