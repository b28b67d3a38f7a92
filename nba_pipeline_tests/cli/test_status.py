"""`status`: never `complete` while a blocking check of the partition is unevaluated (issue 15,
part 3), and one line with exit code 2 for a date outside the partitions (part 5)."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest

from nba_pipeline.cli.main import main
from nba_pipeline.cli.status import asset_status, format_status
from nba_pipeline.core.partitions import game_date_partitions
from nba_pipeline_tests.conftest import first_game_dates, make_defs

SCHEDULE = "nba_raw/schedule"

# Materialize nba_raw/schedule for one date through the CLI, and die (like SIGKILL: no cleanup)
# right after the materialization is stored, before the step yields its check results.
_DIE_AFTER_MATERIALIZATION = """
import os, sys
import dagster as dg

store = dg.DagsterInstance.handle_new_event

def handle_new_event(self, event, *args, **kwargs):
    store(self, event, *args, **kwargs)
    if event.dagster_event is not None and event.dagster_event.event_type_value == "ASSET_MATERIALIZATION":
        os._exit(9)

dg.DagsterInstance.handle_new_event = handle_new_event
from nba_pipeline.cli.main import main
main(sys.argv[1:])
"""


def _row(defs, instance, date, asset=SCHEDULE) -> dict:
    return {r["asset"]: r for r in asset_status(defs, instance, date)}[asset]


def test_a_partition_whose_blocking_checks_never_ran_is_not_complete(league_copy, tmp_path, instance):
    raw, summary = league_copy
    day, _ = first_game_dates(summary, 1)
    env = {
        **os.environ,
        "DAGSTER_HOME": os.environ["DAGSTER_HOME"],
        "NBA_RAW_DIR": str(raw),
        "NBA_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
        "NBA_WAREHOUSE": "duckdb",
    }
    died = subprocess.run(
        [
            sys.executable,
            "-c",
            _DIE_AFTER_MATERIALIZATION,
            "backfill",
            "--start",
            str(day),
            "--end",
            str(day),
            "--select",
            f"key:{SCHEDULE}",
            "--exact",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert died.returncode == 9, died.stdout + died.stderr
    defs = make_defs(raw, tmp_path / "w.duckdb")

    row = _row(defs, instance, str(day))
    assert row["state"] == "materialized"  # recorded: the write happened
    assert row["complete"] is False
    blocking = sorted(c["name"] for c in row["checks"] if c["blocking"])
    assert blocking and row["unevaluated_blocking_checks"] == blocking
    assert {c["status"] for c in row["checks"]} == {"in_progress"}  # planned, its run still STARTED
    text = format_status(asset_status(defs, instance, str(day)), str(day))
    assert f"game date {day}: 0/" in text and "NOT EVALUATED (blocking): " + f"{blocking[0]} (in_progress)" in text

    # once the dead run is failed, its checks read as failed executions: still not complete
    from nba_pipeline.instance.cli_runs import fail_dead_runs

    assert len(fail_dead_runs(instance)) == 1
    row = _row(defs, instance, str(day))
    assert {c["status"] for c in row["checks"]} == {"execution_failed"} and row["complete"] is False

    # a run that evaluates them makes the partition complete
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "nba_pipeline.cli.main",
            "backfill",
            "--start",
            str(day),
            "--end",
            str(day),
            "--select",
            f"key:{SCHEDULE}",
            "--exact",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    row = _row(defs, instance, str(day))
    assert row["complete"] is True and row["unevaluated_blocking_checks"] == []
    assert {c["status"] for c in row["checks"]} <= {"passed", "failed"}


def test_a_materialization_without_check_results_is_not_complete(instance, tmp_path):
    """History recorded without running its checks (adopt-warehouse, a runless event) is
    materialized, not complete; a result from an older materialization does not count either."""
    defs = make_defs(tmp_path / "raw", tmp_path / "w.duckdb")
    day = "2024-11-05"
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=dg.AssetKey.from_user_string(SCHEDULE), partition=day)
    )

    row = _row(defs, instance, day)

    assert row["state"] == "materialized" and row["complete"] is False
    assert {c["status"] for c in row["checks"]} == {"not_run"}
    assert row["unevaluated_blocking_checks"] == sorted(c["name"] for c in row["checks"] if c["blocking"])


@pytest.mark.parametrize("date", ["2099-01-01", "2024-09-30"])
@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["text", "json"])
def test_status_outside_the_partitions_is_a_usage_error(date, json_flag, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    keys = game_date_partitions.get_partition_keys()

    code = main(["status", "--date", date, *json_flag])

    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    # the session's partitions start with season 2024-25 (conftest): the day before is not one
    if date < keys[0]:
        assert err == (
            f"nba-pipeline: error: --date {date} is before the first game-date partition, {keys[0]}: "
            "the partitions start with season 2024-25 (NBA_FIRST_SEASON=2024-25)\n"
        )
    else:
        assert err.startswith(f"nba-pipeline: error: --date {date} is after the last game-date partition, {keys[-1]}")
        assert len(err.splitlines()) == 1
