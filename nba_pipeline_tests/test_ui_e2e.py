"""End to end through the real UI stack: `dagster dev` (webserver + daemon) on 127.0.0.1 with a
temporary DAGSTER_HOME, a partition-range backfill launched through the GraphQL API the UI uses,
its materializations and check results; a run whose worker is killed is failed by the run
monitor and its partitions re-run (incident 4); headless Chromium screenshots for the README."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg
import psutil
import pytest
import yaml

from nba_pipeline.cli.status import asset_status
from nba_pipeline.core.history import season_start
from nba_pipeline.instance import prepare_home
from nba_pipeline_tests.browser import DOCS, chromium
from nba_pipeline_tests.conftest import dagster_instance_at

ROOT = Path(__file__).resolve().parents[1]
LAYERS = [("nba_raw", t) for t in ("schedule", "team_boxscores", "player_boxscores", "player_props", "game_lines")] + [
    ("nba_analytics", t)
    for t in (
        "player_game_summary",
        "team_offense_game_summary",
        "team_defense_game_summary",
        "player_prop_quotes",
        "upcoming_team_game_context",
        "upcoming_player_game_context",
    )
]
TERMINAL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
STARTUP_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DagsterDev:
    def __init__(self, home: Path, raw: Path, extra_env: dict[str, str] | None = None):
        self.home, self.port = home, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        prepare_home(home)
        config = yaml.safe_load((home / "dagster.yaml").read_text())
        # the monitor looks every 5 s here (60 s in the shipped config), so the test sees it act
        config["run_monitoring"].update(
            poll_interval_seconds=5, start_timeout_seconds=120, free_slots_after_run_end_seconds=5
        )
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "NBA_RAW_DIR": str(raw),
            "NBA_DUCKDB_PATH": str(home / "warehouse.duckdb"),
            "NBA_EXPORTS_DIR": str(home / "exports"),
            "NBA_AUTOMATION": "off",
            "NBA_WAREHOUSE": "duckdb",
            "PYTHONWARNINGS": "ignore",
            **(extra_env or {}),
        }
        self.log = (home / "dagster_dev.log").open("w")
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster"),
                "dev",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-m",
                "nba_pipeline.definitions",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        deadline = time.time() + STARTUP_SECONDS
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited: {self.tail()}")
            try:
                data = self.graphql(
                    "{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name } } } }"
                )
                if data["repositoriesOrError"].get("nodes"):
                    return
            except (urllib.error.URLError, ConnectionError, OSError, KeyError):
                pass
            time.sleep(1)
        raise TimeoutError(f"dagster dev not ready in {STARTUP_SECONDS} s: {self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return "\n".join((self.home / "dagster_dev.log").read_text().splitlines()[-30:])

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            out = json.loads(r.read())
        if out.get("errors"):
            raise RuntimeError(out["errors"])
        return out["data"]

    def backfill(self, assets, partitions: list[str]) -> str:
        data = self.graphql(
            """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
                 __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
                 ... on InvalidSubsetError { message } ... on PartitionKeysNotFoundError { message } } }""",
            # each asset's own range: with assetSelection + partitionNames, Dagster would target the
            # downstream closure of the root assets' partitions (through a 300-day window: a year)
            {
                "p": {
                    "partitionsByAssets": [
                        {
                            "assetKey": {"path": list(a)},
                            "partitions": {"range": {"start": partitions[0], "end": partitions[-1]}},
                        }
                        for a in assets
                    ],
                    "title": "e2e test",
                }
            },
        )["launchPartitionBackfill"]
        assert data["__typename"] == "LaunchBackfillSuccess", data
        return data["backfillId"]

    def backfill_state(self, backfill_id: str) -> dict:
        return self.graphql(
            """query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename
                 ... on PartitionBackfill { status runs(limit: 10) { runId status } }"""
            """ ... on PythonError { message } } }""",
            {"id": backfill_id},
        )["partitionBackfillOrError"]

    def wait_backfill(self, backfill_id: str, timeout: float = 300) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self.backfill_state(backfill_id)
            if state["status"] in TERMINAL and all(
                r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in state["runs"]
            ):
                return state
            time.sleep(2)
        raise TimeoutError(
            f"backfill {backfill_id} not done in {timeout} s: {self.backfill_state(backfill_id)}\n{self.tail()}"
        )

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


@pytest.fixture(scope="module")
def dev(tmp_path_factory, synthetic_league):
    raw, summary = synthetic_league
    server = DagsterDev(tmp_path_factory.mktemp("e2e_home"), raw)
    try:
        server.wait_ready()
        yield server, summary
    finally:
        server.stop()


def _dates(start: dt.date, end: dt.date) -> list[str]:
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def test_a_backfill_launched_through_graphql_materializes_and_checks_every_partition(dev):
    server, summary = dev
    opening = dt.date.fromisoformat(summary["first_date"])
    dates = _dates(season_start(opening), opening + dt.timedelta(days=2))
    state = server.wait_backfill(server.backfill(LAYERS, dates))
    assert state["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), (state, server.tail())
    assert [r["status"] for r in state["runs"]] == ["SUCCESS"]  # single-run backfill policy: one run
    with dagster_instance_at(server.home) as instance:
        for dataset, table in LAYERS:
            assert instance.get_materialized_partitions(dg.AssetKey([dataset, table])) >= set(dates), table
        from nba_pipeline.definitions import build_definitions

        rows = {r["asset"]: r for r in asset_status(build_definitions(), instance, str(opening + dt.timedelta(days=2)))}
    for dataset, table in LAYERS:
        row = rows[f"{dataset}/{table}"]
        assert row["complete"] and row["checks"], row
        assert all(c["status"] == "passed" or c["severity"] == "WARN" for c in row["checks"]), row


def _worker_of(instance: dg.DagsterInstance, run_id: str) -> psutil.Process | None:
    """The process executing the run: the pid its own step events carry, once a step started."""
    for entry in instance.all_logs(run_id):
        e = entry.dagster_event
        if e is not None and e.event_type_value == "STEP_START" and e.pid:
            try:
                return psutil.Process(e.pid)
            except psutil.NoSuchProcess:
                return None
    return None


def test_incident_04_a_killed_run_is_failed_by_the_monitor_and_its_partitions_re_run(dev):
    """Incident 4: processors crashed leaving status 'running', and everything waited for hours."""
    server, summary = dev
    last = dt.date.fromisoformat(summary["last_date"])
    dates = _dates(season_start(last), last)  # a season: long enough to kill mid-run
    backfill_id = server.backfill(LAYERS, dates)
    deadline, worker, run_id = time.time() + 120, None, None
    with dagster_instance_at(server.home) as instance:
        while time.time() < deadline and worker is None:
            runs = server.backfill_state(backfill_id)["runs"]
            if runs and runs[0]["status"] == "STARTED":
                run_id = runs[0]["runId"]
                worker = _worker_of(instance, run_id)
            time.sleep(0.3)
        assert worker is not None, server.tail()
        assert worker.pid != os.getpid() and worker.pid != server.proc.pid
        worker.kill()  # the run worker dies without a word: no failure event, status still STARTED
        deadline = time.time() + 120
        while time.time() < deadline and instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED:
            time.sleep(1)
        run = instance.get_run_by_id(run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE, (run.status, server.tail())
        # the monitor says why, in the run's own log
        messages = [e.message for e in instance.all_logs(run_id) if e.message]
        assert any(
            "run worker" in m.lower() or "unexpectedly" in m.lower() or "process" in m.lower() for m in messages[-5:]
        )
        # nothing waits on a status row: the dead run's pool slot is freed and its partitions run
        # again (the instance retries a run whose worker died once: run_retries), and succeed
        deadline = time.time() + 600
        retry = None
        while time.time() < deadline:
            retries = instance.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id": run_id}))
            retry = retries[0] if retries else None
            if retry is not None and retry.is_finished:
                break
            time.sleep(2)
        assert retry is not None and retry.status == dg.DagsterRunStatus.SUCCESS, (
            retry and retry.status,
            server.tail(),
        )
        for dataset, table in LAYERS:
            assert instance.get_materialized_partitions(dg.AssetKey([dataset, table])) >= set(dates), table


@pytest.mark.skipif(chromium() is None, reason="Debian chromium is not installed (.ci/run installs it)")
def test_screenshots_of_the_asset_graph_and_a_partition_page(dev):
    server, summary = dev
    shown = (dt.date.fromisoformat(summary["first_date"]) + dt.timedelta(days=2)).isoformat()  # built above
    DOCS.mkdir(exist_ok=True)
    server.graphql("mutation { setNuxSeen }")  # the UI's first-visit community dialog, as if dismissed
    pages = {
        "ui_asset_graph.png": "/asset-groups",
        "ui_partitions.png": f"/assets/nba_analytics/player_game_summary?view=partitions&partition={shown}",
    }
    for name, path in pages.items():
        out = DOCS / name
        subprocess.run(
            [
                chromium(),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1600,1000",
                "--virtual-time-budget=20000",
                f"--screenshot={out}",
                server.url + path,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000, name
