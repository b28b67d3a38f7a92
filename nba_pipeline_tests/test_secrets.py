"""Secrets never reach instance storage (issue 15, 4).

The live source runs against the tests' local feed server with a distinctive Odds API key, with
alerts configured by a webhook URL and a Slack token, all from the environment as deployed: a real
run on a real SQLite instance under a temp DAGSTER_HOME (the key used), a run whose odds request
fails, and the alert sensors ticking in `dagster-daemon` against a dead webhook. Then every file
of the instance is scanned (SQLite databases cell by cell, compressed cells decompressed), and
the production instance's PostgreSQL database likewise, for every secret.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from nba_pipeline.cli.runner import dagster_home, run_backfill
from nba_pipeline.definitions import build_definitions
from nba_pipeline.raw.sources.live.http import JsonHttp
from nba_pipeline.raw.sources.live.source import LiveSource
from nba_pipeline_tests.conftest import needs_real_data
from nba_pipeline_tests.postgres_server import running_postgres
from nba_pipeline_tests.raw.sources.feed_server import FeedServer
from nba_pipeline_tests.raw.sources.test_live_source import DAY, ODDS_TIME, morning_world
from nba_pipeline_tests.secret_scan import secrets_in_files, secrets_in_postgres

pytestmark = needs_real_data
ODDS_KEY = "oddskey-7f3c9e2a51d84b06"
WEBHOOK_TOKEN = "hooktoken-c41e8a9d27"
SLACK_TOKEN = "xoxb-slacktoken-5b90d3e6f1"
SECRETS = [ODDS_KEY, WEBHOOK_TOKEN, SLACK_TOKEN]
DEAD = "http://127.0.0.1:9"  # the discard port: nothing listens
PRODUCTION = Path(__file__).resolve().parents[1] / "nba_pipeline" / "instance" / "dagster.production.yaml"
ALERT_SENSORS = ["check_failure_alerts", "late_partition_alerts"]


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    """The morning of DAY (games not started, the day's odds on offer), served with ODDS_KEY."""
    world = morning_world(tmp_path_factory.mktemp("secrets"))
    with FeedServer(world.out, ODDS_TIME, api_key=ODDS_KEY) as server:
        yield server


def _deployment_env(monkeypatch, server: FeedServer, tmp: Path) -> dict[str, str]:
    """The live source and both alert destinations configured as a deployment does: environment."""
    env = {
        "NBA_SOURCE": "live",
        "NBA_ODDS_API_KEY": ODDS_KEY,
        "NBA_ODDS_ARCHIVE_DIR": str(tmp / "archive"),
        "NBA_STATS_URL": server.url + "/stats",
        "NBA_ODDS_URL": server.url,
        "NBA_ALERT_WEBHOOK_URL": f"{DEAD}/services/T0/B0/{WEBHOOK_TOKEN}",
        "NBA_SLACK_TOKEN": SLACK_TOKEN,
        "NBA_SLACK_CHANNEL": "#nba-alerts",
        "NBA_ALERT_WARN": "1",
        "NBA_DUCKDB_PATH": str(tmp / "warehouse.duckdb"),
        "NBA_EXPORTS_DIR": str(tmp / "exports"),
        "NBA_AUTOMATION": "off",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    # the morning of DAY, so the run fetches the day's odds with the key
    monkeypatch.setattr(LiveSource, "now", lambda self: ODDS_TIME)
    return env


def _wait_for_failed_ticks(
    home: Path, names: list[str], daemon: subprocess.Popen, log: Path, timeout: float = 180
) -> dict:
    deadline = time.monotonic() + timeout
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        while True:
            ticks = {}
            for state in instance.all_instigator_state():
                if state.instigator_name in names:
                    done = [
                        t
                        for t in instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=5)
                        if t.status.value == "FAILURE"
                    ]
                    if done:
                        ticks[state.instigator_name] = done[0]
            if len(ticks) == len(names):
                return ticks
            assert daemon.poll() is None, f"dagster-daemon exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, (
                f"no failed tick of {sorted(set(names) - set(ticks))}:\n{log.read_text()[-3000:]}"
            )
            time.sleep(1)


def test_a_live_deployment_stores_no_secret_in_its_instance(feeds, tmp_path, monkeypatch):
    env = _deployment_env(monkeypatch, feeds, tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    home = dagster_home()

    # a run that uses the key: the day's odds fetched and archived
    with dg.DagsterInstance.get() as instance:
        ok = run_backfill(build_definitions(), instance, DAY, DAY, "group:nba_raw", progress=None)
    assert ok.success, ok.step_failures
    assert feeds.hits["/v4/sports/basketball_nba/events"] >= 1  # (any other key is answered 401)
    assert len(list((tmp_path / "archive" / "odds" / "player_props").glob("raw_*.csv"))) == 1

    # a run whose odds request fails: the connection error quotes the request's URL, key and all
    monkeypatch.setenv("NBA_ODDS_URL", DEAD)
    monkeypatch.setenv("NBA_ODDS_ARCHIVE_DIR", str(tmp_path / "archive-2"))
    monkeypatch.setattr(
        JsonHttp, "__init__", functools.partialmethod(JsonHttp.__init__, sleep=lambda s: None)
    )  # no waits between retries
    with dg.DagsterInstance.get() as instance:
        down = run_backfill(build_definitions(), instance, DAY, DAY, "group:nba_raw", progress=None)
    assert not down.success
    assert any("ConnectionError" in f and "apiKey=***" in f for f in down.step_failures), down.step_failures

    # the alert sensors tick in the daemon and fail to deliver to the dead webhook, after a WARN
    # check failure of the first run (game lines do not cover the schedule) and late partitions
    env = {**os.environ, **env, "DAGSTER_HOME": str(home), "NBA_ODDS_URL": DEAD}
    bin_dir = Path(sys.executable).parent
    for name in ALERT_SENSORS:
        started = subprocess.run(
            [str(bin_dir / "dagster"), "sensor", "start", name, "-m", "nba_pipeline.definitions"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert started.returncode == 0, started.stderr[-2000:]
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [str(bin_dir / "dagster-daemon"), "run", "-m", "nba_pipeline.definitions"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        ticks = _wait_for_failed_ticks(home, ALERT_SENSORS, daemon, log)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    hits = secrets_in_files(home, SECRETS)
    assert hits == [], "secrets stored in the instance:\n" + "\n".join(hits)
    for name, tick in ticks.items():  # the error (in its cause) names the webhook by its host
        assert "AlertDeliveryError: alert webhook http://127.0.0.1:9/*** unreachable" in tick.error.to_string(), name
    # the scan does read the stored snapshots: the variables' names are there, in their place
    names = secrets_in_files(home, ["NBA_ODDS_API_KEY", "NBA_ALERT_WEBHOOK_URL", "NBA_SLACK_TOKEN"])
    assert any("snapshots.snapshot_body" in h and h.endswith("NBA_ODDS_API_KEY") for h in names), names
    assert any("snapshots.snapshot_body" in h and h.endswith("NBA_SLACK_TOKEN") for h in names), names


def test_the_production_instance_stores_no_secret_in_postgres(feeds, tmp_path, monkeypatch):
    _deployment_env(monkeypatch, feeds, tmp_path)
    with running_postgres() as server:
        home = tmp_path / "home"
        home.mkdir()
        shutil.copy(PRODUCTION, home / "dagster.yaml")
        for k, v in server.env().items():  # the DAGSTER_PG_* variables the yaml reads, password too
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.get() as instance:
            summary = run_backfill(build_definitions(), instance, DAY, DAY, "key:nba_raw/schedule", progress=None)
        assert summary.success, summary.step_failures
        with server.connect() as con:
            hits = secrets_in_postgres(con, [*SECRETS, server.password])
            names = secrets_in_postgres(con, ["NBA_ODDS_API_KEY"])
    assert hits == [], "secrets stored in the instance database:\n" + "\n".join(hits)
    assert any(h.startswith("snapshots.snapshot_body") for h in names), names  # the scan reads the snapshots
    assert secrets_in_files(home, [*SECRETS, server.password]) == []


def test_a_live_deployment_without_its_key_fails_in_one_line(feeds, tmp_path, monkeypatch, capsys):
    from nba_pipeline.cli.main import main

    _deployment_env(monkeypatch, feeds, tmp_path)
    monkeypatch.delenv("NBA_ODDS_API_KEY")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    code = main(
        ["backfill", "--start", DAY.isoformat(), "--end", DAY.isoformat(), "--select", "group:nba_raw", "--exact"]
    )
    err = capsys.readouterr().err
    assert (code, err) == (2, "nba-pipeline: error: NBA_SOURCE=live needs NBA_ODDS_API_KEY: The Odds API key\n")
    with dg.DagsterInstance.get() as instance:  # nothing ran
        assert instance.get_runs() == []
