"""The console script end to end: backfill (exit codes), status --json, against a synthetic league."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from nba_pipeline_tests.conftest import first_game_dates

CLI = str(Path(sys.executable).parent / "nba-pipeline")


def _env(tmp_path, raw):
    home = tmp_path / "home"
    return {**os.environ, "DAGSTER_HOME": str(home), "NBA_RAW_DIR": str(raw), "NBA_DUCKDB_PATH": str(tmp_path / "w.duckdb"), "NBA_WAREHOUSE": "duckdb"}


def test_backfill_then_status_json(league_copy, tmp_path):
    raw, summary = league_copy
    start, end = first_game_dates(summary, 2)
    env = _env(tmp_path, raw)
    run = subprocess.run([CLI, "backfill", "--start", str(start), "--end", str(end), "--select", "group:nba_raw"], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "succeeded: 10 partition materializations over 2 game dates" in run.stdout
    assert "start   nba_raw__schedule" in run.stderr  # progress
    st = subprocess.run([CLI, "status", "--date", str(start), "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert st.returncode == 0, st.stderr
    doc = json.loads(st.stdout)
    assert doc["game_date"] == str(start) and doc["complete"] == 5
    assert {a["asset"]: a["state"] for a in doc["assets"]}["nba_raw/player_boxscores"] == "materialized"
    assert all(a["row_count"] > 0 and a["checks"] for a in doc["assets"] if a["asset"].startswith("nba_raw/"))
    text = subprocess.run([CLI, "status", "--date", str(start)], env=env, capture_output=True, text=True, timeout=300).stdout
    assert f"game date {start}: 5/20 assets complete" in text
    stale = subprocess.run([CLI, "stale", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert stale.returncode == 0 and json.loads(stale.stdout) == {"stale_partitions": 0, "groups": []}


def test_adopt_warehouse_records_what_another_instance_built(league_copy, tmp_path):
    raw, summary = league_copy
    start, end = first_game_dates(summary, 2)
    built = _env(tmp_path, raw)
    run = subprocess.run([CLI, "backfill", "--start", str(start), "--end", str(end), "--select", "group:nba_raw"], env=built, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    adopting = {**built, "DAGSTER_HOME": str(tmp_path / "new_home")}  # the same warehouse, a fresh event log
    dry = subprocess.run([CLI, "adopt-warehouse", "--dry-run"], env=adopting, capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, dry.stderr
    assert f"game dates {start} .. {end}" in dry.stdout and "would record 2 with rows" in dry.stdout
    status = lambda: json.loads(subprocess.run([CLI, "status", "--date", str(start), "--json"], env=adopting, capture_output=True, text=True, timeout=300).stdout)  # noqa: E731
    assert status()["complete"] == 0
    done = subprocess.run([CLI, "adopt-warehouse"], env=adopting, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "nba_raw/player_boxscores: recorded 2 with rows" in done.stdout, done.stdout + done.stderr
    adopted = status()
    raw_assets = [a for a in adopted["assets"] if a["asset"].startswith("nba_raw/")]
    assert len(raw_assets) == 5 and all(a["state"] == "materialized" for a in raw_assets)
    # materialized, but its checks never ran on this history: complete only where no check is
    # blocking (the two odds tables have WARN checks only) (issue 15)
    unchecked = {a["asset"] for a in raw_assets if a["unevaluated_blocking_checks"]}
    assert unchecked == {"nba_raw/schedule", "nba_raw/team_boxscores", "nba_raw/player_boxscores"}
    assert adopted["complete"] == 2 and not any(a["complete"] for a in raw_assets if a["asset"] in unchecked)
    # adopted history is the deployed code's: nothing to rebuild
    stale = subprocess.run([CLI, "stale", "--json"], env=adopting, capture_output=True, text=True, timeout=300)
    assert stale.returncode == 0 and json.loads(stale.stdout) == {"stale_partitions": 0, "groups": []}, stale.stdout


def test_backfill_exits_nonzero_when_a_step_fails(league_copy, tmp_path):
    raw, summary = league_copy
    (raw / "reference" / "teams.csv").write_text("id,full_name\n1,Nobody\n")  # header lacks columns
    start, end = first_game_dates(summary, 1)
    run = subprocess.run([CLI, "backfill", "--start", str(start), "--end", str(end)], env=_env(tmp_path, raw), capture_output=True, text=True, timeout=600)
    assert run.returncode == 1
    assert "teams.csv, line 1, column 'abbreviation': header lacks column(s)" in run.stdout


def test_backfill_rejects_bad_arguments(tmp_path):
    run = subprocess.run([CLI, "backfill", "--start", "2025-11-09", "--end", "2025-11-01"], env=_env(tmp_path, tmp_path), capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "is before" in run.stderr


def test_demo_runs_the_whole_graph_on_a_synthetic_season(tmp_path):
    run = subprocess.run([CLI, "demo", "--dir", str(tmp_path / "demo"), "--days", "3"],
                         env=_env(tmp_path, tmp_path), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "nba_precompute/ml_feature_store" in run.stdout and "materialized" in run.stdout
    assert (tmp_path / "demo" / "warehouse.duckdb").exists()


def test_backfill_starts_where_the_seasons_history_is_missing_unless_exact(league_copy, tmp_path):
    raw, summary = league_copy
    opening, day2 = first_game_dates(summary, 2)
    season_start = dt.date(opening.year, 10, 1)
    env = _env(tmp_path, raw)
    select = ["--select", "group:nba_raw or group:nba_analytics"]
    exact = subprocess.run([CLI, "backfill", "--start", str(day2), "--end", str(day2), *select, "--exact"],
                           env=env, capture_output=True, text=True, timeout=600)
    assert exact.returncode == 1 and "starting at" not in exact.stderr
    assert "that were never materialized" in exact.stdout  # the guard names what is missing
    run = subprocess.run([CLI, "backfill", "--start", str(day2), "--end", str(day2), *select],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"starting at {season_start}, not {day2}" in run.stderr
    days = (day2 - season_start).days + 1
    assert f"succeeded: {10 * days} partition materializations over {days} game dates" in run.stdout
    # now complete: the same request runs just its range
    again = subprocess.run([CLI, "backfill", "--start", str(day2), "--end", str(day2), *select],
                           env=env, capture_output=True, text=True, timeout=600)
    assert "starting at" not in again.stderr and "over 1 game dates" in again.stdout
