"""Per-partition asset checks evaluated over a whole run's partition range in one step.

Dagster records an `AssetCheckResult` against `context.partition_key`, which a multi-partition
(single-run backfill) step does not have, so its results would land with `partition=None`. To keep
every check result per game date while still checking a season in one step, the steps that write
the tables emit one `AssetCheckEvaluation` per check and partition, carrying that partition and
the partition's materialization it judged (so the UI counts it as that partition's current
result: Dagster only looks up a target for single-partition steps), then the check outputs
Dagster expects. A failed blocking ERROR evaluation fails the step (Dagster's own rule), so
nothing downstream runs on it.

Check logic itself is pure: functions from frames to `{partition_key: Outcome}` (see raw.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd

from nba_pipeline.core.dagster_internals import AssetCheckEvaluationTargetMaterializationData
from nba_pipeline.core.partitions import game_date_partitions
from nba_pipeline.core.schema import DeclaredOutput


@dataclass(frozen=True)
class Outcome:
    passed: bool
    metadata: Mapping[str, object] = field(default_factory=dict)
    description: str | None = None


Outcomes = dict[str, Outcome]


@dataclass(frozen=True)
class PartitionCheck:
    """A named check of one table, evaluated per game-date partition."""

    name: str
    description: str
    evaluate: Callable[[Mapping[str, pd.DataFrame], Sequence[str]], Outcomes]
    blocking: bool = True
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR

    def spec(self, table: DeclaredOutput, reads: Sequence[DeclaredOutput] = ()) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            self.name,
            asset=table.asset_key,
            additional_deps=[t.asset_key for t in reads],
            description=self.description,
            blocking=self.blocking,
            partitions_def=game_date_partitions,
            metadata={"severity": self.severity.value},
        )


def _without_empty_listings(metadata: Mapping[str, object]) -> dict[str, object]:
    """Drop example listings with nothing in them: a season has thousands of passing evaluations,
    and each one's metadata is serialized three times into the event log."""

    def empty(value: object) -> bool:
        data = value.data if isinstance(value, dg.JsonMetadataValue) else value
        if isinstance(data, dict):
            return all(v in ([], {}) for v in data.values())
        return data == []

    return {k: v for k, v in metadata.items() if not empty(v)}


def emit(
    context: dg.AssetExecutionContext,
    table: DeclaredOutput,
    checks: Sequence[PartitionCheck],
    frames: Mapping[str, pd.DataFrame],
) -> Iterator:
    """Evaluate the selected checks for every partition of the run and yield their events."""
    op_context = context.op_execution_context
    keys = op_context.partition_keys
    # a multi-asset step carries several tables' checks
    selected = {k.name for k in context.selected_asset_check_keys if k.asset_key == table.asset_key}
    assets_def = op_context.assets_def
    targets = latest_materializations(context.instance, table.asset_key, keys) if selected else {}
    results, failures = [], []
    for check in checks:
        if check.name not in selected:
            continue
        outcomes = check.evaluate(frames, keys)
        failed = [k for k in keys if not outcomes[k].passed]
        for key in keys:
            o = outcomes[key]
            description = o.description or (None if o.passed else f"{key}: not met: {check.description}")
            yield dg.AssetCheckEvaluation(
                asset_key=table.asset_key,
                check_name=check.name,
                passed=o.passed,
                # the run log shows a check event as "Check X failed for materialization of
                # <asset>" and its metadata: these two entries say which partition and why
                metadata={
                    "partition": key,
                    **({"failed_because": description.removeprefix(f"{key}: ")} if not o.passed else {}),
                    **_without_empty_listings(o.metadata),
                },
                severity=check.severity,
                description=description,
                blocking=check.blocking,
                partition=key,
                target_materialization_data=targets.get(key),
            )
            if not o.passed:  # and a line in the log, filterable by check name or date
                failures.append(
                    (
                        check.severity,
                        f"check {table.qualified_name}:{check.name} ({check.severity.value}) failed for {description}",
                    )
                )
        results.append(
            f"{check.name} " + ("passed" if not failed else f"FAILED for {len(failed)} partition(s): {failed[:10]}")
        )
    # one log event per step, after the evaluations: a log event between them splits the batch
    # the evaluations are stored in (a season's 437 failure lines one by one cost ~35% of its run)
    summary = f"{table.qualified_name} over {len(keys)} partition(s): " + "; ".join(results)
    if failures:
        log = (
            context.log.error if any(sev == dg.AssetCheckSeverity.ERROR for sev, _ in failures) else context.log.warning
        )
        log("\n".join([summary, *(line for _, line in failures)]))
    else:
        context.log.info(summary)
    for check in checks:
        if check.name in selected:
            out = assets_def.get_output_name_for_asset_check_key(dg.AssetCheckKey(table.asset_key, check.name))
            yield dg.Output(None, output_name=out)


def latest_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Sequence[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """Each partition's latest materialization (the one the step just recorded), as the target of
    its check evaluations."""
    return {k: target_of(r) for k, r in latest_materialization_records(instance, asset_key, keys).items()}


def latest_materialization_records(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Sequence[str]
) -> dict[str, dg.EventLogRecord]:
    """Each partition's latest materialization record: two queries for the whole range, not one
    per partition, however often a partition was rebuilt."""
    ids = instance.event_log_storage.get_latest_storage_id_by_partition(
        asset_key, dg.DagsterEventType.ASSET_MATERIALIZATION, set(keys)
    )
    if not ids:
        return {}
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=list(ids.values())), limit=len(ids)
    ).records
    return {r.partition_key: r for r in records if r.partition_key is not None}


def target_of(record: dg.EventLogRecord) -> AssetCheckEvaluationTargetMaterializationData:
    """A materialization record as the target of a check evaluation (the result the UI counts as
    current for it)."""
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )
