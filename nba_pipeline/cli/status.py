"""State of every asset for one game date, read from Dagster's event log.

This is what the old Firestore "n/5 processors complete" document showed, derived instead from the
instance's own records: materialization status per partition, row count, check results and the
code version that built it. A partition is `complete` only when it is materialized, none of its
ERROR-severity checks failed (a failed blocking check leaves the materialization recorded, so the
two must be combined), and every blocking check has a result for that materialization: a check
still planned (its run in progress, or killed before it), skipped, never run (adopted history) or
run on an earlier materialization vouches for nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dagster as dg

from nba_pipeline.core.dagster_internals import PartitionKeyFilter
from nba_pipeline.core.partitions import game_date_partitions


def _metadata_value(md: dict, key: str) -> Any:
    v = md.get(key)
    return getattr(v, "value", v)


def _check_status(instance: dg.DagsterInstance, rec, materialization) -> str:
    """passed / failed for a result on the partition's latest materialization; otherwise why there
    is none: in_progress / execution_failed / skipped (a planned check, by its run's state), or
    outdated (a result on an earlier materialization). The record's status type is not exported:
    compared by its value."""
    if rec.status.value == "PLANNED":
        run = instance.get_run_by_id(rec.run_id)
        if run is None:
            return "skipped"
        if not run.is_finished:
            return "in_progress"
        return "execution_failed" if run.status == dg.DagsterRunStatus.FAILURE else "skipped"
    if (
        materialization is not None
        and materialization.run_id != rec.run_id
        and rec.create_timestamp < materialization.timestamp
    ):
        return "outdated"
    return "passed" if rec.status.value == "SUCCEEDED" else "failed"


def asset_status(defs: dg.Definitions, instance: dg.DagsterInstance, date: str) -> list[dict]:
    """Every materializable asset's state for game date `date` (ValueError outside the partitions)."""
    keys = game_date_partitions.get_partition_keys()
    if date not in keys:
        raise ValueError(f"--date {date} is outside the game-date partitions {keys[0]} .. {keys[-1]}")
    graph = defs.resolve_asset_graph()
    rows = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        partitions_def = node.partitions_def
        row: dict[str, Any] = {
            "asset": key.to_user_string(),
            "partition": date if partitions_def else None,
            "state": "missing",
            "row_count": None,
            "code_version": None,
            "current_code_version": node.code_version,
            "stale_code": False,
            "run_id": None,
            "materialized_at": None,
            "checks": [],
        }
        if partitions_def is not None:  # every partitioned asset has the game-date partitions
            status = (instance.get_status_by_partition(key, [date], partitions_def) or {}).get(date)
            if status is not None:
                row["state"] = status.value.lower()
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[date] if partitions_def else None),
            limit=1,
        ).records
        entry = records[0].event_log_entry if records else None
        if entry is not None:
            mat = entry.asset_materialization
            md = dict(mat.metadata) if mat else {}
            row["row_count"] = _metadata_value(md, "dagster/partition_row_count")
            if row["row_count"] is None:
                row["row_count"] = _metadata_value(md, "dagster/row_count")
            tags = mat.tags or {} if mat else {}
            row["code_version"] = tags.get("dagster/code_version")
            row["stale_code"] = row["code_version"] != node.code_version
            row["run_id"] = entry.run_id
            row["materialized_at"] = dt.datetime.fromtimestamp(entry.timestamp, dt.UTC).isoformat()
            if partitions_def is None:
                row["state"] = "materialized"
        # the date's checks: an unpartitioned check of a partitioned asset (`fresh`) judges the
        # asset as a whole, not this date
        check_keys = sorted(
            (
                ck
                for ck in graph.get_check_keys_for_assets({key})
                if partitions_def is None or graph.get_check_spec(ck).partitions_def is not None
            ),
            key=lambda c: c.name,
        )
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            check_keys, partition_filter=PartitionKeyFilter(key=date) if partitions_def else None
        )
        for ck in check_keys:
            rec = latest.get(ck)
            check = {
                "name": ck.name,
                "status": "not_run",
                "severity": None,
                "blocking": graph.get_check_spec(ck).blocking,
            }
            if rec is not None:
                ev = rec.event.dagster_event.event_specific_data if rec.event and rec.event.dagster_event else None
                check["status"] = _check_status(instance, rec, entry)
                if ev is not None and hasattr(ev, "severity"):  # an evaluation, not a planned one
                    check["severity"] = ev.severity.value
            row["checks"].append(check)
        failed_error = any(c["status"] == "failed" and c["severity"] == "ERROR" for c in row["checks"])
        row["unevaluated_blocking_checks"] = [
            c["name"] for c in row["checks"] if c["blocking"] and c["status"] not in ("passed", "failed")
        ]
        row["complete"] = row["state"] == "materialized" and not failed_error and not row["unevaluated_blocking_checks"]
        rows.append(row)
    return rows


def format_status(rows: list[dict], date: str) -> str:
    done = sum(r["complete"] for r in rows)
    lines = [f"game date {date}: {done}/{len(rows)} assets complete", ""]
    w = max([len("asset"), *(len(r["asset"]) for r in rows)])
    lines.append(f"{'asset':<{w}} {'state':<14} {'rows':>7}  {'code':<5} checks")
    for r in rows:
        checks = r["checks"]
        failed = [
            c["name"] + ("" if c["severity"] == "ERROR" else f"({c['severity']})")
            for c in checks
            if c["status"] == "failed"
        ]
        passed = sum(c["status"] == "passed" for c in checks)
        summary = f"{passed}/{len(checks)} passed" + (f"; FAILED: {', '.join(failed)}" if failed else "")
        if r["state"] == "materialized" and r["unevaluated_blocking_checks"]:
            by_name = {c["name"]: c["status"] for c in checks}
            unevaluated = [f"{n} ({by_name[n]})" for n in r["unevaluated_blocking_checks"]]
            summary += f"; NOT EVALUATED (blocking): {', '.join(unevaluated)}"
        code = (r["code_version"] or "-") + ("*" if r["stale_code"] and r["code_version"] else "")
        rc = "-" if r["row_count"] is None else str(r["row_count"])
        lines.append(f"{r['asset']:<{w}} {r['state']:<14} {rc:>7}  {code:<5} {summary}")
    if any(r["state"] == "materialized" and r["unevaluated_blocking_checks"] for r in rows):
        lines.append(
            f"\nNOT EVALUATED: a blocking check has no result for the latest materialization (a run still going or"
            f" stopped, or history adopted without its checks); `nba-pipeline backfill --start {date} --end {date}"
            " --exact` evaluates them"
        )
    if any(r["stale_code"] and r["code_version"] for r in rows):
        lines.append("\n* built by an older code version than the one deployed")
    return "\n".join(lines)
