"""Issue 15, part 3: a killed CLI run never blocks the next one.

Unit level: the `dead_cli_runs` sensor (what the daemon runs) fails exactly the CLI runs whose
process is gone and frees their slots. End to end, with real `nba-pipeline backfill` processes on a
synthetic league: a SIGKILLed backfill is failed by the next one, which completes; a backfill
waiting for a slot names the holder and stops on SIGINT/SIGTERM (run CANCELED, exit 130/143); a
holder that dies while another waits is failed and the waiting one goes on; the daemon fails a
killed CLI run by itself.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test  # a STARTED run without executing one

from nba_pipeline_tests.conftest import dagster_instance_at, first_game_dates

CLI = str(Path(sys.executable).parent / "nba-pipeline")
POOL = "warehouse"


def _env(tmp_path, raw) -> dict[str, str]:
    return {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "NBA_RAW_DIR": str(raw),
        "NBA_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
        "NBA_WAREHOUSE": "duckdb",
        "NBA_AUTOMATION": "off",
    }


def _failure_messages(instance, run_id: str) -> list[str]:
    return [e.dagster_event.message for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.PIPELINE_FAILURE)]


def _slot_holders(instance) -> set[str]:
    return {s.run_id for s in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots}


def _pending(instance, run_id: str) -> list[str]:
    return [
        p.step_key for p in instance.event_log_storage.get_concurrency_info(POOL).pending_steps if p.run_id == run_id
    ]


# --- the detector, as the daemon's sensor runs it ----------------------------------------------


def _exited_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()  # reaped: no process has this pid now
    return proc.pid


def test_dead_cli_runs_sensor_fails_only_runs_whose_process_is_gone(instance):
    from nba_pipeline.instance import cli_runs

    here = cli_runs.launcher_tags()
    elsewhere = {**here, cli_runs.HOST_TAG: "another-host"}
    runs = {
        "alive": here,
        "exited": {**here, cli_runs.PID_TAG: str(_exited_pid())},
        "pid_reused": {**here, cli_runs.PROCESS_STARTED_TAG: "1.00"},  # our pid, another start time
        "other_host_beating": elsewhere,
        "other_host_silent": elsewhere,
        "other_host_no_heartbeat": elsewhere,
        "not_a_cli_run": {"dagster/sensor_name": "raw_data_sensor"},
    }
    instance.event_log_storage.set_concurrency_slots(POOL, len(runs))
    ids = {}
    for name, tags in runs.items():
        run = create_run_for_test(instance, job_name="__ASSET_JOB", status=dg.DagsterRunStatus.STARTED, tags=tags)
        ids[name] = run.run_id
        assert instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "step").is_claimed
    now = time.time()
    for name in ("alive", "exited", "pid_reused", "other_host_beating"):
        cli_runs.beat(instance, ids[name], now - 60)
    cli_runs.beat(instance, ids["other_host_silent"], now - cli_runs.HEARTBEAT_STALE_SECONDS - 60)

    result = cli_runs.dead_cli_runs(dg.build_sensor_context(instance=instance))

    dead = {"exited", "pid_reused", "other_host_silent"}
    assert isinstance(result, dg.SkipReason) and result.skip_message.startswith("failed 3 run(s)"), result
    status = {name: instance.get_run_by_id(run_id).status for name, run_id in ids.items()}
    assert {n for n, s in status.items() if s == dg.DagsterRunStatus.FAILURE} == dead, status
    assert {n for n, s in status.items() if s == dg.DagsterRunStatus.STARTED} == set(runs) - dead
    assert _slot_holders(instance) == {ids[n] for n in set(runs) - dead}  # the dead runs' slots are free
    pid = runs["exited"][cli_runs.PID_TAG]
    assert _failure_messages(instance, ids["exited"]) == [
        f"nba-pipeline: the process running this run (pid {pid} on {socket.gethostname()}) has exited, "
        "so the run can never finish: marked failed, its pool slots freed"
    ]
    assert (
        "(pid" in _failure_messages(instance, ids["pid_reused"])[0]
        and "is another process now" in _failure_messages(instance, ids["pid_reused"])[0]
    )
    assert "has sent no heartbeat for 11 min" in _failure_messages(instance, ids["other_host_silent"])[0]
    # the daemon cannot re-launch a CLI run: no automatic retry is promised
    assert instance.get_run_by_id(ids["exited"]).tags.get("dagster/will_retry") == "false"
    # why, as the UI shows it with the run (set only by the failure event's reason, a private type)
    reasons = {instance.get_run_by_id(ids[n]).tags.get("dagster/failure_reason") for n in dead}
    assert reasons == {"UNEXPECTED_TERMINATION"}
    # a second tick finds nothing more to do
    assert (
        cli_runs.dead_cli_runs(dg.build_sensor_context(instance=instance)).skip_message
        == "no CLI run with its process gone"
    )


def test_the_sensor_is_in_the_code_location_and_on_by_default(monkeypatch):
    monkeypatch.setenv("NBA_AUTOMATION", "off")  # automation off does not leave dead runs blocking
    from nba_pipeline.definitions import build_definitions
    from nba_pipeline.instance.cli_runs import dead_cli_runs

    sensor = build_definitions().resolve_sensor_def("dead_cli_runs")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING and sensor.name == dead_cli_runs.name


# --- real `nba-pipeline backfill` processes --------------------------------------------------------


class _Cli:
    """An `nba-pipeline` process whose stderr lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen([CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        self.out: list[str] = []
        self.readers = [
            threading.Thread(target=self._read_err, daemon=True),
            threading.Thread(target=self._read_out, daemon=True),
        ]
        for r in self.readers:
            r.start()

    def _read_err(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def _read_out(self) -> None:
        self.out.append(self.proc.stdout.read())

    def wait_for(self, text: str, timeout: float = 240) -> str:
        """The first stderr line containing `text` (fails when the process ends or time runs out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.err.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} on stderr; got:\n" + "\n".join(self.err))

    def finish(self, timeout: float = 240) -> tuple[int, str, str]:
        self.proc.wait(timeout=timeout)
        for r in self.readers:
            r.join(timeout=10)
        while not self.lines.empty():
            self.err.append(self.lines.get())
        return self.proc.returncode, "".join(self.out), "\n".join(self.err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def season(league_copy, tmp_path):
    """A backfill of the raw layer over 60 game dates: long enough to be caught mid-run."""
    raw, summary = league_copy
    start, end = first_game_dates(summary, 60)
    args = ["backfill", "--start", str(start), "--end", str(end), "--select", "group:nba_raw"]
    clis: list[_Cli] = []

    def cli(*extra: str) -> _Cli:
        clis.append(_Cli([*args, *extra], _env(tmp_path, raw)))
        return clis[-1]

    yield cli, tmp_path / "home"
    for c in clis:  # whatever failed: no process of a test outlives it
        c.kill()


def _run_id_of(home: Path, cli: _Cli, nth: int) -> str:
    """The id of the `nth` run of the instance (0: the first created), which `cli` runs."""
    deadline = time.monotonic() + 60
    with dagster_instance_at(home) as instance:
        while len(runs := instance.get_runs(ascending=True)) <= nth:  # a CLI records its run after loading
            assert time.monotonic() < deadline and cli.proc.poll() is None, "\n".join(cli.err)
            time.sleep(0.5)
        return runs[nth].run_id


def test_a_killed_backfill_is_failed_by_the_next_one_which_completes(season):
    cli, home = season
    killed = cli()
    killed.wait_for("start   nba_raw__")  # a step holds the warehouse slot
    killed.proc.send_signal(signal.SIGKILL)
    killed.proc.wait()
    dead_id = _run_id_of(home, killed, 0)
    with dagster_instance_at(home) as instance:  # the incident: STARTED for ever, holding the slot
        assert instance.get_run_by_id(dead_id).status == dg.DagsterRunStatus.STARTED
        assert _slot_holders(instance) == {dead_id}

    rc, out, err = cli().finish()

    assert rc == 0, out + err
    assert (
        f"run {dead_id} (nba-pipeline backfill, pid {killed.proc.pid} on {socket.gethostname()}) can never "
        "finish: its process has exited; marked FAILED, its pool slots freed"
    ) in err
    assert "succeeded: 300 partition materializations over 60 game dates" in out
    with dagster_instance_at(home) as instance:
        assert instance.get_run_by_id(dead_id).status == dg.DagsterRunStatus.FAILURE
        assert "has exited, so the run can never finish" in _failure_messages(instance, dead_id)[0]
        assert _slot_holders(instance) == set()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_waiting_backfill_names_the_holder_and_stops_on_a_signal(season, sig):
    cli, home = season
    holder = cli()
    holder.wait_for("start   nba_raw__")
    holder.proc.send_signal(signal.SIGSTOP)  # alive, holding the slot, going nowhere
    holder_id = _run_id_of(home, holder, 0)
    waiting = cli()

    line = waiting.wait_for("waiting for a slot of pool 'warehouse'", timeout=120)

    assert (
        f"held by run {holder_id} (nba-pipeline backfill, pid {holder.proc.pid} on {socket.gethostname()}, STARTED)"
        in line
    )
    assert "(limit 1) for step nba_raw__" in line and line.endswith("Ctrl-C stops this backfill")
    waiting_id = _run_id_of(home, waiting, 1)
    waiting.proc.send_signal(sig)
    rc, out, err = waiting.finish(timeout=60)
    assert rc == 128 + sig, out + err
    assert err.splitlines()[-1] == f"nba-pipeline: stopped by {sig.name}: run {waiting_id} CANCELED"
    with dagster_instance_at(home) as instance:
        assert instance.get_run_by_id(waiting_id).status == dg.DagsterRunStatus.CANCELED
        assert _pending(instance, waiting_id) == []  # it waits for nothing any more
        assert instance.get_run_by_id(holder_id).status == dg.DagsterRunStatus.STARTED  # a live holder is left alone


def test_a_holder_that_dies_while_another_backfill_waits_is_failed_and_the_wait_ends(season):
    cli, home = season
    holder = cli()
    holder.wait_for("start   nba_raw__")
    holder.proc.send_signal(signal.SIGSTOP)
    holder_id = _run_id_of(home, holder, 0)
    waiting = cli()
    waiting.wait_for("waiting for a slot of pool 'warehouse'", timeout=120)

    holder.proc.send_signal(signal.SIGKILL)
    holder.proc.wait()

    line = waiting.wait_for(f"run {holder_id}")
    assert line.endswith("can never finish: its process has exited; marked FAILED, its pool slots freed")
    rc, out, err = waiting.finish()
    assert rc == 0 and "succeeded: 300 partition materializations" in out, out + err
    with dagster_instance_at(home) as instance:
        assert instance.get_run_by_id(holder_id).status == dg.DagsterRunStatus.FAILURE


def test_sigint_during_a_step_cancels_the_run(season):
    cli, home = season
    running = cli()
    running.wait_for("start   nba_raw__")
    run_id = _run_id_of(home, running, 0)
    running.proc.send_signal(signal.SIGINT)
    rc, out, err = running.finish(timeout=60)
    assert rc == 130, out + err
    assert err.splitlines()[-1] == f"nba-pipeline: stopped by SIGINT: run {run_id} CANCELED"
    with dagster_instance_at(home) as instance:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.CANCELED
        assert _slot_holders(instance) == set()


def test_the_daemon_fails_a_killed_cli_run_by_itself(season, tmp_path):
    cli, home = season
    killed = cli()
    killed.wait_for("start   nba_raw__")
    killed.proc.send_signal(signal.SIGKILL)
    killed.proc.wait()
    dead_id = _run_id_of(home, killed, 0)
    env = {**_env(tmp_path, tmp_path), "DAGSTER_HOME": str(home)}
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m", "nba_pipeline.definitions"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with dagster_instance_at(home) as instance:
            deadline = time.monotonic() + 180
            while instance.get_run_by_id(dead_id).status == dg.DagsterRunStatus.STARTED and time.monotonic() < deadline:
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
                time.sleep(2)
            assert instance.get_run_by_id(dead_id).status == dg.DagsterRunStatus.FAILURE, (
                tmp_path / "daemon.log"
            ).read_text()[-3000:]
            assert "has exited, so the run can never finish" in _failure_messages(instance, dead_id)[0]
            assert _slot_holders(instance) == set()
    finally:
        os.killpg(daemon.pid, signal.SIGINT)  # the daemon's own session: it and its code server
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        log.close()
