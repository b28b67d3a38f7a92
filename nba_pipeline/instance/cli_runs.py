"""Runs the `nba-pipeline` CLI executes in its own process: who runs each one, and what happens to
it when that process is gone.

`execute_in_process` records its run on the instance like any other, but no run launcher started
it, so Dagster's run monitoring never looks at it: a CLI killed with SIGKILL leaves its run STARTED
and its pool slots claimed, and every later run waits for the `warehouse` slot for ever (issue 15,
incident 4). So every CLI run records who runs it (tags: host, pid, that process's start time) and
keeps a heartbeat in the instance's key-value store. `fail_dead_runs` marks a run whose process is
gone FAILED, with the reason in its event log, and frees its slots; `nba-pipeline backfill` calls it
before it starts and while it waits for a slot, and the `dead_cli_runs` sensor calls it in the daemon.

A CLI run's process is gone when
- on this host (same hostname and pid namespace): no process has the recorded pid, it is a zombie,
  or the process holding that pid started at another time (the pid was reused);
- on another host or in another container, where its pid means nothing: its heartbeat is older than
  HEARTBEAT_STALE_SECONDS (a run whose CLI kept no heartbeat is left alone).
Runs without these tags (launched by the daemon or the UI) are left to Dagster's run monitoring.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
import psutil

from nba_pipeline.core.dagster_internals import JobFailureData, RunFailureReason

HOST_TAG = "nba_pipeline/host"
# containers with host networking share the host's name but not its pids
PID_NAMESPACE_TAG = "nba_pipeline/pid_namespace"
PID_TAG = "nba_pipeline/pid"
PROCESS_STARTED_TAG = "nba_pipeline/process_started"  # the process's start time, epoch seconds
# the daemon cannot re-launch a run it did not launch (no code location origin): rerun the command
NO_DAEMON_RETRY_TAGS = {"dagster/max_retries": "0"}

HEARTBEAT_SECONDS = 30
# a stopped or starved process misses beats; 20 missed beats is a dead one
HEARTBEAT_STALE_SECONDS = 600
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _pid_namespace() -> str:
    """This process's pid namespace ('pid:[4026531836]'); '' where /proc has none (not Linux)."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def launcher_tags() -> dict[str, str]:
    """Tags naming this process as the one running a run."""
    me = psutil.Process()
    return {
        HOST_TAG: socket.gethostname(),
        PID_NAMESPACE_TAG: _pid_namespace(),
        PID_TAG: str(me.pid),
        PROCESS_STARTED_TAG: f"{me.create_time():.2f}",
        **NO_DAEMON_RETRY_TAGS,
    }


def _heartbeat_key(run_id: str) -> str:
    return f"nba_pipeline/heartbeat/{run_id}"


def beat(instance: dg.DagsterInstance, run_id: str, now: float | None = None) -> None:
    """Record that the process running `run_id` is alive (read from other hosts)."""
    instance.run_storage.set_cursor_values({_heartbeat_key(run_id): f"{time.time() if now is None else now:.0f}"})


def _process(run: dg.DagsterRun) -> str:
    return f"pid {run.tags.get(PID_TAG, '?')} on {run.tags.get(HOST_TAG, '?')}"


def describe(run: dg.DagsterRun) -> str:
    """Who runs `run`, for a message: 'nba-pipeline, pid 123 on host' or what launched it."""
    tags = run.tags
    if PID_TAG in tags:
        return f"{tags.get('nba_pipeline/launched_by', 'nba-pipeline')}, {_process(run)}"
    for tag, what in (
        ("dagster/sensor_name", "sensor"),
        ("dagster/schedule_name", "schedule"),
        ("dagster/backfill", "backfill"),
    ):
        if tag in tags:
            return f"launched by {what} {tags[tag]}"
    return "launched from the UI or the Python API"


def why_gone(instance: dg.DagsterInstance, run: dg.DagsterRun, now: float | None = None) -> str | None:
    """Why the process running `run` is gone ('has exited', ...); None when it is alive, or when
    `run` is not a CLI run (nothing here can tell)."""
    tags = run.tags
    if PID_TAG not in tags:
        return None
    pid, host = int(tags[PID_TAG]), tags.get(HOST_TAG)
    if host == socket.gethostname() and tags.get(PID_NAMESPACE_TAG, "") == _pid_namespace():
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return "has exited"
            if abs(proc.create_time() - float(tags.get(PROCESS_STARTED_TAG, "0"))) >= 1:
                return f"has exited (pid {pid} is another process now)"
            return None
        except psutil.NoSuchProcess:
            return "has exited"
        except psutil.AccessDenied:  # another user's process, on a system that hides it: alive
            return None
    key = _heartbeat_key(run.run_id)
    last = instance.run_storage.get_cursor_values({key}).get(key)
    if last is None:  # started by a CLI that kept no heartbeat: cannot tell from here
        return None
    age = (time.time() if now is None else now) - float(last)
    if age > HEARTBEAT_STALE_SECONDS:
        return f"has sent no heartbeat for {age / 60:.0f} min"
    return None


@dataclass(frozen=True)
class DeadRun:
    run_id: str
    who: str
    reason: str

    def __str__(self) -> str:
        return (
            f"run {self.run_id} ({self.who}) can never finish: its process {self.reason}; "
            "marked FAILED, its pool slots freed"
        )


def fail_dead_runs(
    instance: dg.DagsterInstance, run_ids: Iterable[str] | None = None, now: float | None = None
) -> list[DeadRun]:
    """Mark every unfinished CLI run whose process is gone FAILED (the reason in its event log, so
    the UI shows it) and free its concurrency slots. `run_ids` limits the search."""
    ids = None if run_ids is None else list(run_ids)
    if ids == []:
        return []
    dead = []
    for run in instance.get_runs(dg.RunsFilter(statuses=UNFINISHED, run_ids=ids)):
        reason = why_gone(instance, run, now)
        if reason is None:
            continue
        current = instance.get_run_by_id(run.run_id)  # another reaper (CLI or daemon) may have been first
        if current is None or current.status not in UNFINISHED:
            continue
        instance.report_run_failed(
            current,
            message=f"nba-pipeline: the process running this run ({_process(run)}) {reason}, so the run can never "
            "finish: marked failed, its pool slots freed",
            job_failure_data=JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION),
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        dead.append(DeadRun(run.run_id, describe(run), reason))
    return dead


def free_slots_of_ended_runs(instance: dg.DagsterInstance, run_ids: Iterable[str]) -> list[str]:
    """Free the slots still claimed by runs that have ended or no longer exist (the daemon does
    this after `free_slots_after_run_end_seconds`; a CLI without a daemon would wait for ever)."""
    freed = []
    for run_id in run_ids:
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            freed.append(run_id)
    return freed


@dg.sensor(
    name="dead_cli_runs",
    minimum_interval_seconds=30,
    # housekeeping, not automation: on even with NBA_AUTOMATION=off, or dead runs block every pool
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fails runs of the nba-pipeline CLI whose process is gone (this host: pid; other hosts: "
    "heartbeat) and frees their pool slots. Runs launched by the daemon are run monitoring's.",
)
def dead_cli_runs(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    dead = fail_dead_runs(context.instance)
    for d in dead:
        context.log.warning(str(d))
    if dead:
        return dg.SkipReason(f"failed {len(dead)} run(s) whose process is gone: {', '.join(d.run_id for d in dead)}")
    return dg.SkipReason("no CLI run with its process gone")
