"""`nba-pipeline-dev` (dev/): the demo end to end, and its commands' arguments refused in one line
as `nba-pipeline`'s are."""

import datetime as dt
import json
import os
import subprocess

import pytest

from nba_pipeline_dev.cli import main
from nba_pipeline_tests.conftest import dev_cli


def _env(tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "NBA_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
        "NBA_WAREHOUSE": "duckdb",
    }


def test_demo_runs_the_whole_graph_on_a_synthetic_season(tmp_path):
    # a fresh machine: no NBA_FIRST_SEASON, no raw data (so the real data's partitions would start
    # with the current season): the demo's start with its synthetic season, 2024-25
    env = {k: v for k, v in _env(tmp_path).items() if k not in ("NBA_FIRST_SEASON", "NBA_RAW_DIR")}
    run = subprocess.run(
        [*dev_cli(), "demo", "--dir", str(tmp_path / "demo"), "--days", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"NBA_RAW_DIR={tmp_path / 'demo' / 'raw'} NBA_FIRST_SEASON=2024-25 " in run.stdout  # the UI's likewise
    assert "nba_precompute/ml_feature_store" in run.stdout and "materialized" in run.stdout
    assert (tmp_path / "demo" / "warehouse.duckdb").exists()
    # the closing status is of a date with games (the run's last: two days of games before it), not an off day
    league = json.loads(
        subprocess.run(
            [*dev_cli(), "synth", "--out", str(tmp_path / "league")],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=600,
        ).stdout
    )
    shown = dt.date.fromisoformat(league["first_date"]) + dt.timedelta(days=2)
    assert f"3/3 status of game date {shown} (the run's last date with games)" in run.stdout
    status = {line.split()[0]: line.split() for line in run.stdout.splitlines() if line.startswith("nba_")}
    assert status["nba_raw/team_boxscores"][1] == "materialized" and int(status["nba_raw/team_boxscores"][2]) > 0
    assert status["nba_exports/best_bets"][1] == "materialized"


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """A fresh DAGSTER_HOME and warehouse for `main([...])` in this process (restored afterwards)."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBA_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("NBA_WAREHOUSE", "duckdb")
    monkeypatch.setenv("NBA_RAW_DIR", str(tmp_path))
    return tmp_path


def _one_error_line(capfd) -> str:
    """The command's whole stderr, which must be exactly one `nba-pipeline-dev: error:` line."""
    err = capfd.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nba-pipeline-dev: error: "), err
    return lines[0].removeprefix("nba-pipeline-dev: error: ")


def test_folders_given_as_arguments_are_checked_first(cli_env, capfd, monkeypatch):
    (cli_env / "a_file").write_text("")
    blocked = cli_env / "a_file" / "x"
    assert main(["demo", "--dir", str(blocked), "--days", "1"]) == 1
    assert _one_error_line(capfd) == f"--dir {blocked}: cannot write there (Not a directory)"
    assert main(["synth", "--out", str(blocked)]) == 1
    assert _one_error_line(capfd) == f"--out {blocked}: cannot write there (Not a directory)"
    monkeypatch.delenv("NBA_RAW_DIR")
    monkeypatch.chdir(cli_env)  # not the current folder as the real data
    assert main(["replay-day", "--day", "2025-11-05", "--dir", str(cli_env / "replay")]) == 2
    assert _one_error_line(capfd) == "replay-day needs the real data folder: --raw-dir or NBA_RAW_DIR"
    assert (
        main(
            ["replay-day", "--day", "2025-11-05", "--raw-dir", str(cli_env / "nope"), "--dir", str(cli_env / "replay")]
        )
        == 2
    )
    assert (
        _one_error_line(capfd)
        == f"--raw-dir {cli_env / 'nope'}: no such folder (the real data, laid out like ../shared/data/nba)"
    )


def test_a_bad_argument_is_argparses_one_usage_error_naming_the_dev_command(tmp_path):
    run = subprocess.run(
        [*dev_cli(), "synth", "--out", str(tmp_path), "--seasons", "0"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines()[-1] == "nba-pipeline-dev synth: error: argument --seasons: must be at least 1, not 0"
