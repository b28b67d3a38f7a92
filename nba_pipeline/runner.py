"""Materialize selected assets over a game-date range in ONE in-process run on a real instance.

The run goes through the code location's own asset job and the instance under DAGSTER_HOME, so it
is recorded like any other run and shows in the Dagster UI; it is tagged with its partition range.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import psutil

from dagster._core.utils import make_new_run_id

from nba_pipeline.instance import prepare_home
from nba_pipeline.partitions import game_date_partitions


def dagster_home() -> Path:
    """DAGSTER_HOME, or ~/.nba_pipeline when unset (created, and exported for Dagster)."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.home() / ".nba_pipeline").resolve()
    prepare_home(home)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@dataclass
class RunSummary:
    run_id: str
    success: bool
    seconds: float
    peak_rss_mib: float
    materializations: int = 0
    partitions: int = 0
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)  # "asset:check@partition (SEVERITY)"
    step_failures: list[str] = field(default_factory=list)
    run_failure: str | None = None  # why the run failed outside its steps (a resource that could not start)

    @property
    def blocking_failures(self) -> int:
        return len(self.step_failures)


class _Progress:
    """Prints a line per step start/finish, with the step's failed checks grouped, as the run
    goes (an instance event listener: it sees exactly the events the event log records)."""

    def __init__(self, stream, t0: float):
        self.stream, self.t0 = stream, t0
        self.failed: dict[tuple[str, str, str], list[str]] = {}

    def _print(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f}s] {text}", file=self.stream, flush=True)

    def __call__(self, entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self._print(f"start   {event.step_key}")
        elif kind == "ASSET_CHECK_EVALUATION":
            e = event.event_specific_data
            if not e.passed:
                key = (e.asset_key.to_user_string(), e.check_name, e.severity.value)
                self.failed.setdefault(key, []).append(e.partition)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            self._print(f"{'done   ' if kind == 'STEP_SUCCESS' else 'FAILED '} {event.step_key}")
            for (asset, check, severity), parts in self.failed.items():
                more = f" ... (+{len(parts) - 5})" if len(parts) > 5 else ""
                self._print(f"  check {asset}:{check} {severity} failed for {len(parts)} date(s): {', '.join(parts[:5])}{more}")
            self.failed.clear()


def resolve_selection(defs: dg.Definitions, select: str | None) -> list[dg.AssetKey] | None:
    if not select:
        return None
    graph = defs.resolve_asset_graph()
    keys = dg.AssetSelection.from_string(select).resolve(graph)
    if not keys:
        raise ValueError(f"--select {select!r} matches no asset")
    return sorted(keys, key=lambda k: k.to_user_string())


def unmaterialized_season_history(
    defs: dg.Definitions, instance: dg.DagsterInstance, start: dt.date, select: str | None = None
) -> dt.date | None:
    """The earliest date of `start`'s season before `start` that a selected asset above the raw
    layer never materialized (None: the season's history up to `start` is complete). Features need every
    earlier partition of their season (`history.require_history`), so a range starting there
    would fail until that history exists."""
    from nba_pipeline.history import season_start

    first = max(season_start(start), dt.date.fromisoformat(game_date_partitions.start.strftime("%Y-%m-%d")))
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range((start - first).days)]
    if not days:
        return None
    graph = defs.resolve_asset_graph()
    keys = resolve_selection(defs, select) or sorted(graph.materializable_asset_keys)
    # raw partitions stand alone: only the layers above read earlier dates
    keys = [k for k in keys if graph.get(k).group_name != "nba_raw"]
    missing = []
    for key in keys:
        done = instance.get_materialized_partitions(key)
        missing.extend(d for d in days if d not in done)
    return dt.date.fromisoformat(min(missing)) if missing else None


def run_backfill(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: dt.date,
    end: dt.date,
    select: str | None = None,
    progress=sys.stderr,
) -> RunSummary:
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    keys = game_date_partitions.get_partition_keys()
    if start.isoformat() not in keys or end.isoformat() not in keys:
        raise ValueError(f"dates must lie within the game-date partitions {keys[0]} .. {keys[-1]}")
    job = defs.resolve_implicit_global_asset_job_def()
    t0 = time.perf_counter()
    run_id = make_new_run_id()
    if progress is not None:
        instance.add_event_listener(run_id, _Progress(progress, t0))
    proc = psutil.Process()
    result = job.execute_in_process(
        instance=instance,
        run_id=run_id,
        asset_selection=resolve_selection(defs, select),
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
            "nba_pipeline/launched_by": "nba-pipeline backfill",
        },
        # progress comes from the listener above; the console logger would print every event
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        raise_on_error=False,
    )
    summary = RunSummary(
        run_id=result.run_id,
        success=result.success,
        seconds=time.perf_counter() - t0,
        peak_rss_mib=_peak_rss_mib(proc),
    )
    partitions = set()
    for e in result.all_events:
        if e.event_type_value == "ASSET_MATERIALIZATION":
            summary.materializations += 1
            partitions.add(e.partition)
        elif e.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = e.event_specific_data
            if ev.passed:
                summary.checks_passed += 1
            else:
                summary.checks_failed.append(
                    f"{ev.asset_key.to_user_string()}:{ev.check_name}@{ev.partition} ({ev.severity.value})"
                )
        elif e.event_type_value == "STEP_FAILURE":
            summary.step_failures.append(f"{e.step_key}: {_root_cause(e.event_specific_data.error)}")
        elif e.event_type_value == "PIPELINE_FAILURE" and e.event_specific_data.error is not None:
            summary.run_failure = _run_failure_cause(e.event_specific_data.error)
    summary.partitions = len(partitions)
    return summary


def _root_cause(error) -> str:
    """The user-facing message: Dagster wraps the raised error in a step-execution error."""
    while error.cause is not None:
        error = error.cause
    # "package.module.SomeError: text" -> "SomeError: text"
    return re.sub(r"^(?:[\w]+\.)+(?=\w+: )", "", error.message.strip())


def _run_failure_cause(error) -> str:
    """A run that failed outside its steps: Dagster wraps a resource's error in one naming the resource."""
    resource = re.search(r"on ResourceDefinition (\w+)", error.message)
    cause = _root_cause(error)
    return f"resource {resource.group(1)} failed to start: {cause}" if resource else cause


def _peak_rss_mib(proc: psutil.Process) -> float:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    except ImportError:  # not POSIX
        return proc.memory_info().rss / 2**20
