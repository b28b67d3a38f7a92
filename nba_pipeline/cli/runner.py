"""Materialize selected assets over a game-date range in ONE in-process run on a real instance.

The run goes through the code location's own asset job and the instance under DAGSTER_HOME, so it
is recorded like any other run and shows in the Dagster UI; it is tagged with its partition range
and with the process running it (`cli_runs`).

A run never waits silently or for ever on another (issue 15, incident 4): before it starts, runs of
CLI processes that are gone are failed and their pool slots freed; while one of its steps waits for
a pool slot, a watcher names the holder at once and every WAIT_REPORT_SECONDS, and fails a holder
whose process is gone. SIGINT/SIGTERM stop it at once, waiting or not: the run ends CANCELED and
`Interrupted` (exit code 128 + signal) is raised.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import psutil

import nba_pipeline.environment as environment
from nba_pipeline.core.dagster_internals import InstanceConcurrencyContext
from nba_pipeline.core.partitions import game_date_partitions
from nba_pipeline.instance import cli_runs, prepare_home
from nba_pipeline.orchestration.freshness import FRESH
from nba_pipeline.raw import tables as raw

# the game dates a CLI run covers, as a tag the runs list shows in full ("2025-10-01...2025-11-09")
PARTITION_RANGE_TAG = "nba_pipeline/dates"


def dagster_home() -> Path:
    """DAGSTER_HOME, or ~/.nba_pipeline when unset (created, and exported for Dagster)."""
    home = environment.dagster_home().resolve()
    prepare_home(home)
    environment.set_dagster_home(home)
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

    def say(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f}s] {text}", file=self.stream, flush=True)

    def __call__(self, entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self.say(f"start   {event.step_key}")
        elif kind == "ASSET_CHECK_EVALUATION":
            e = event.event_specific_data
            if not e.passed:
                key = (e.asset_key.to_user_string(), e.check_name, e.severity.value)
                self.failed.setdefault(key, []).append(e.partition)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            self.say(f"{'done   ' if kind == 'STEP_SUCCESS' else 'FAILED '} {event.step_key}")
            for (asset, check, severity), parts in self.failed.items():
                more = f" ... (+{len(parts) - 5})" if len(parts) > 5 else ""
                self.say(
                    f"  check {asset}:{check} {severity} failed for {len(parts)} date(s): {', '.join(parts[:5])}{more}"
                )
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
    earlier partition of their season (`history.require`), so a range starting there
    would fail until that history exists."""
    from nba_pipeline.core.history import season_start

    first = max(season_start(start), dt.date.fromisoformat(game_date_partitions.start.strftime("%Y-%m-%d")))
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range((start - first).days)]
    if not days:
        return None
    graph = defs.resolve_asset_graph()
    keys = resolve_selection(defs, select) or sorted(graph.materializable_asset_keys)
    # raw partitions stand alone: only the layers above read earlier dates
    keys = [k for k in keys if graph.get(k).group_name != raw.DATASET]
    missing = []
    for key in keys:
        done = instance.get_materialized_partitions(key)
        missing.extend(d for d in days if d not in done)
    return dt.date.fromisoformat(min(missing)) if missing else None


def backfill_job(defs: dg.Definitions) -> dg.JobDefinition:
    """The code location's asset job without the `fresh` checks: a backfill builds and checks its
    partitions; whether the newest game dates are built is the freshness sensor's question, not
    every backfill's. A job without them rather than a subset excluding them: a run that names its
    asset selection gets every check of those assets back."""
    checks = [c for c in defs.asset_checks or [] if all(k.name != FRESH for k in c.check_keys)]
    return dg.Definitions(
        assets=defs.assets, asset_checks=checks, resources=defs.resources, executor=defs.executor, loggers=defs.loggers
    ).resolve_implicit_global_asset_job_def()


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
    job = backfill_job(defs)
    # named even when it is every asset: the runs list shows a run's target from its asset
    # selection, and a run without one as targeting nothing
    selected = sorted(
        resolve_selection(defs, select) or job.asset_layer.executable_asset_keys, key=lambda k: k.to_user_string()
    )
    t0 = time.perf_counter()
    listener = _Progress(progress, t0) if progress is not None else None
    say = listener.say if listener is not None else (lambda text: None)
    with _Signals() as signals:
        for dead in cli_runs.fail_dead_runs(instance):
            say(str(dead))
        run_id = str(uuid.uuid4())  # what Dagster's own run ids are
        if listener is not None:
            instance.add_event_listener(run_id, listener)
        stop = _StopOnSignal(instance, run_id, signals)
        instance.add_event_listener(run_id, stop)
        cli_runs.beat(instance, run_id)  # before the run exists: other hosts never see it without one
        watcher = None if instance.is_ephemeral else _SlotWatcher(instance.get_ref(), run_id, say)
        if watcher is not None:
            watcher.start()
        proc = psutil.Process()
        try:
            with _slot_waits_that_sleep_and_stop(stop):
                result = job.execute_in_process(
                    instance=instance,
                    run_id=run_id,
                    asset_selection=selected,
                    tags={
                        "dagster/asset_partition_range_start": start.isoformat(),
                        "dagster/asset_partition_range_end": end.isoformat(),
                        # the range again, where the runs list shows it: it hides dagster/ tags
                        # (a UI backfill's range shows on its backfill's row, which a CLI run lacks)
                        PARTITION_RANGE_TAG: start.isoformat() if start == end else f"{start}...{end}",
                        "nba_pipeline/launched_by": "nba-pipeline backfill",
                        **cli_runs.launcher_tags(),
                    },
                    # progress comes from the listener above; the console logger would print every event
                    run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
                    raise_on_error=False,
                )
        finally:
            if watcher is not None:
                watcher.stopped.set()
            _end_unfinished_run(instance, run_id, signals.first())
        signum = signals.first()
        if signum is not None and not result.success:
            run = instance.get_run_by_id(run_id)
            raise Interrupted(signum, f"run {run_id} {run.status.value if run else 'not started'}")
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


# a waiting backfill names what it waits for at once, then this often
WAIT_REPORT_SECONDS = 30
WATCH_POLL_SECONDS = 1.0
# how long a run blocked on a pool slot sleeps between looks at its signals and its claim
SLOT_WAIT_SLEEP_SECONDS = 0.25


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the command; `exit_code` is the shell's 128 + signal number."""

    def __init__(self, signum: int, detail: str = ""):
        super().__init__(signum, detail)
        self.signum, self.detail = signum, detail

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __str__(self) -> str:
        return f"stopped by {signal.Signals(self.signum).name}" + (f": {self.detail}" if self.detail else "")


def raise_interrupted(signum: int, frame) -> None:
    """A signal handler for SIGTERM: raise as Ctrl-C does (cleanup runs; the exit code says which)."""
    raise Interrupted(signum)


class _Signals:
    """Which of SIGINT/SIGTERM arrived during a backfill. While a run executes, Dagster swaps both
    handlers for one that only sets a flag (and interrupts a running step), so no handler of ours
    sees them; a wakeup fd does, whichever handler runs (Python's C-level handler writes each
    signal's number to it). Outside the run SIGTERM raises `Interrupted` (default: die silently)."""

    def __enter__(self) -> _Signals:
        self.received: list[int] = []
        self._active = threading.current_thread() is threading.main_thread()  # signals need it
        if self._active:
            self._read, self._write = os.pipe()
            os.set_blocking(self._read, False)
            os.set_blocking(self._write, False)
            self._old_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
            self._old_term = signal.signal(signal.SIGTERM, raise_interrupted)
        return self

    def first(self) -> int | None:
        """The first SIGINT or SIGTERM received so far, or None."""
        if self._active:
            try:
                self.received.extend(os.read(self._read, 64))
            except BlockingIOError:
                pass
        return next((s for s in self.received if s in (signal.SIGINT, signal.SIGTERM)), None)

    def __exit__(self, *exc) -> None:
        if self._active:
            self.first()
            signal.set_wakeup_fd(self._old_fd)
            # Dagster leaves SIGTERM on SIGINT's handler after a run
            signal.signal(signal.SIGTERM, self._old_term)
            os.close(self._read)
            os.close(self._write)


class _StopOnSignal:
    """In the run's thread (an event listener, and the slot wait's probe): once a signal has come,
    report the run CANCELING, so Dagster ends it CANCELED rather than 'interrupted unexpectedly'.
    Returns whether the run is to stop."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, signals: _Signals):
        self.instance, self.run_id, self.signals = instance, run_id, signals
        self.signum: int | None = None

    def __call__(self, entry=None) -> bool:
        if self.signum is None:
            self.signum = self.signals.first()
            if self.signum is None:
                return False
            run = self.instance.get_run_by_id(self.run_id)
            if run is not None and run.status in (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED):
                name = signal.Signals(self.signum).name
                self.instance.report_run_canceling(run, message=f"nba-pipeline received {name}: stopping the run")
        return True


@contextmanager
def _slot_waits_that_sleep_and_stop(stop: Callable[[], bool]) -> Iterator[None]:
    """While a run executes in this process, a step waiting for a pool slot sleeps between looks
    and stops on a signal.

    Dagster 1.13's in-process loop asks `interval_to_next_pending_claim_check` how long to sleep
    while a step waits for a slot and gets min(0, ...): it never sleeps (one core at 90-100% for as
    long as the wait lasts, measured), and it looks at SIGINT/SIGTERM only when a step starts, so a
    waiting run cannot be stopped. No public hook exists for either (see core/dagster_internals.py)."""
    original = InstanceConcurrencyContext.interval_to_next_pending_claim_check

    def interval(self) -> float:
        if stop():
            raise KeyboardInterrupt  # Dagster ends the run (CANCELED: CANCELING was reported)
        return SLOT_WAIT_SLEEP_SECONDS if self.has_pending_claims() else 0.0

    InstanceConcurrencyContext.interval_to_next_pending_claim_check = interval
    try:
        yield
    finally:
        InstanceConcurrencyContext.interval_to_next_pending_claim_check = original


class _SlotWatcher(threading.Thread):
    """Beside the run: its heartbeat, and what its steps wait for. While a step of the run waits
    for a pool slot that other runs hold, a holder whose process is gone (or that has ended) is
    failed and its slots freed at once; a live one is named at once and every WAIT_REPORT_SECONDS.
    It opens its own instance: the run's is not shared across threads."""

    def __init__(self, instance_ref, run_id: str, say: Callable[[str], None]):
        super().__init__(name="nba-pipeline slot watcher", daemon=True)
        self.instance_ref, self.run_id, self.say = instance_ref, run_id, say
        self.stopped = threading.Event()
        self.waiting_since: dict[str, float] = {}
        self.reported_at: dict[str, float] = {}

    def run(self) -> None:
        if self.stopped.wait(WATCH_POLL_SECONDS):  # a short run ends before it needs an instance
            return
        try:
            with dg.DagsterInstance.from_ref(self.instance_ref) as instance:
                last_beat = time.monotonic()
                while not self.stopped.wait(WATCH_POLL_SECONDS):
                    if time.monotonic() - last_beat >= cli_runs.HEARTBEAT_SECONDS:
                        cli_runs.beat(instance, self.run_id)
                        last_beat = time.monotonic()
                    self._look(instance)
        except Exception as exc:  # noqa: BLE001 - the run goes on; say why its waits go unexplained
            self.say(f"(no more wait reports or heartbeats for this run: {type(exc).__name__}: {exc})")

    def _look(self, instance: dg.DagsterInstance) -> None:
        storage = instance.event_log_storage
        if not storage.supports_global_concurrency_limits:  # no pools: nothing to wait for
            return
        pools = [p.name for p in storage.get_pool_limits()]
        for pool, info in storage.get_concurrency_infos(pools).items():
            steps = [p.step_key for p in info.pending_steps if p.run_id == self.run_id and p.assigned_timestamp is None]
            holders = sorted({s.run_id for s in info.claimed_slots if s.run_id and s.run_id != self.run_id})
            if not steps or not holders:
                self.waiting_since.pop(pool, None)
                self.reported_at.pop(pool, None)
                continue
            dead = cli_runs.fail_dead_runs(instance, holders)
            for d in dead:
                self.say(str(d))
            for run_id in cli_runs.free_slots_of_ended_runs(instance, set(holders) - {d.run_id for d in dead}):
                self.say(f"run {run_id} has ended but still held a slot of pool '{pool}': freed")
            if dead:
                continue  # the slot is free: Dagster claims it at its next look
            now = time.monotonic()
            since = self.waiting_since.setdefault(pool, now)
            if now - self.reported_at.get(pool, now - WAIT_REPORT_SECONDS) < WAIT_REPORT_SECONDS:
                continue
            self.reported_at[pool] = now
            held = "; ".join(self._holder(instance, info, r) for r in holders)
            verb = "waiting" if now == since else f"still waiting ({now - since:.0f} s)"
            self.say(
                f"{verb} for a slot of pool '{pool}' (limit {info.limit}) for step {steps[0]}: "
                f"held by {held}; Ctrl-C stops this backfill"
            )

    @staticmethod
    def _holder(instance: dg.DagsterInstance, info, run_id: str) -> str:
        run = instance.get_run_by_id(run_id)
        steps = ", ".join(s.step_key for s in info.claimed_slots if s.run_id == run_id)
        if run is None:
            return f"run {run_id} (deleted), step {steps}"
        return f"run {run_id} ({cli_runs.describe(run)}, {run.status.value}), step {steps}"


def _end_unfinished_run(instance: dg.DagsterInstance, run_id: str, signum: int | None) -> None:
    """However execution ended (a signal before Dagster caught it, an error in this process), the
    run is not left STARTED and keeps no pool slot: it is over."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return
    if run.status in cli_runs.UNFINISHED:
        if signum is not None:
            instance.report_run_canceled(
                run, message=f"nba-pipeline received {signal.Signals(signum).name}: run stopped"
            )
        else:
            instance.report_run_failed(
                run, message="nba-pipeline: the run ended without a result (an error in the CLI process)"
            )
    instance.event_log_storage.free_concurrency_slots_for_run(run_id)


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
