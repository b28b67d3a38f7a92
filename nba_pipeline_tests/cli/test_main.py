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
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NBA_RAW_DIR": str(raw),
        "NBA_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
        "NBA_WAREHOUSE": "duckdb",
    }


def test_backfill_then_status_json(league_copy, tmp_path):
    raw, summary = league_copy
    start, end = first_game_dates(summary, 2)
    env = _env(tmp_path, raw)
    run = subprocess.run(
        [CLI, "backfill", "--start", str(start), "--end", str(end), "--select", "group:nba_raw"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "succeeded: 10 partition materializations over 2 game dates" in run.stdout
    assert "start   nba_raw__schedule" in run.stderr  # progress
    st = subprocess.run(
        [CLI, "status", "--date", str(start), "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert st.returncode == 0, st.stderr
    doc = json.loads(st.stdout)
    assert doc["game_date"] == str(start) and doc["complete"] == 5
    assert {a["asset"]: a["state"] for a in doc["assets"]}["nba_raw/player_boxscores"] == "materialized"
    assert all(a["row_count"] > 0 and a["checks"] for a in doc["assets"] if a["asset"].startswith("nba_raw/"))
    text = subprocess.run(
        [CLI, "status", "--date", str(start)], env=env, capture_output=True, text=True, timeout=300
    ).stdout
    assert f"game date {start}: 5/23 assets complete" in text
    stale = subprocess.run([CLI, "stale", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert stale.returncode == 0 and json.loads(stale.stdout) == {
        "stale_partitions": 0,
        "rebuilt_partitions": 0,
        "groups": [],
        "rebuild": [],
        "runs": [],
    }


def test_adopt_warehouse_records_what_another_instance_built(league_copy, tmp_path):
    raw, summary = league_copy
    start, end = first_game_dates(summary, 2)
    built = _env(tmp_path, raw)
    run = subprocess.run(
        [CLI, "backfill", "--start", str(start), "--end", str(end), "--select", "group:nba_raw"],
        env=built,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    adopting = {**built, "DAGSTER_HOME": str(tmp_path / "new_home")}  # the same warehouse, a fresh event log
    dry = subprocess.run(
        [CLI, "adopt-warehouse", "--dry-run"], env=adopting, capture_output=True, text=True, timeout=300
    )
    assert dry.returncode == 0, dry.stderr
    assert f"game dates {start} .. {end}" in dry.stdout and "would record 2 with rows" in dry.stdout

    def status():
        return json.loads(
            subprocess.run(
                [CLI, "status", "--date", str(start), "--json"],
                env=adopting,
                capture_output=True,
                text=True,
                timeout=300,
            ).stdout
        )

    assert status()["complete"] == 0
    done = subprocess.run([CLI, "adopt-warehouse"], env=adopting, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "nba_raw/player_boxscores: recorded 2 with rows" in done.stdout, (
        done.stdout + done.stderr
    )
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
    assert stale.returncode == 0 and json.loads(stale.stdout)["rebuilt_partitions"] == 0, stale.stdout


def test_adopt_warehouse_says_which_game_dates_lie_before_the_partitions(league_copy, tmp_path):
    """A warehouse holding seasons before the first game-date partition (NBA_FIRST_SEASON, or the
    raw data's first season): those dates are not partitions, so not adopted, and it says so."""
    import duckdb

    raw, summary = league_copy
    start, end = first_game_dates(summary, 2)
    built = _env(tmp_path, raw)
    run = subprocess.run(
        [CLI, "backfill", "--start", str(start), "--end", str(end), "--select", "key:nba_raw/schedule"],
        env=built,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    with duckdb.connect(built["NBA_DUCKDB_PATH"]) as con:  # the same games a season earlier: 2023-24
        con.execute(
            "INSERT INTO nba_raw.schedule "
            "SELECT * REPLACE (game_date - INTERVAL 1 YEAR AS game_date) FROM nba_raw.schedule"
        )
    dry = subprocess.run(
        [CLI, "adopt-warehouse", "--dry-run"],
        env={**built, "DAGSTER_HOME": str(tmp_path / "new_home")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert dry.returncode == 0, dry.stderr
    earlier = [d.replace(year=d.year - 1).isoformat() for d in (start, end)]
    assert dry.stdout.splitlines()[-1] == (
        f"not adopted: 2 game date(s) with games before the first game-date partition, 2024-10-01 ({earlier[0]} .. "
        f"{earlier[1]}): the partitions start with season 2024-25 (NBA_FIRST_SEASON=2024-25)"
    )
    assert "nba_raw/schedule: would record 2 with rows" in dry.stdout


def test_backfill_exits_nonzero_when_a_step_fails(league_copy, tmp_path):
    raw, summary = league_copy
    (raw / "reference" / "teams.csv").write_text("id,full_name\n1,Nobody\n")  # header lacks columns
    start, end = first_game_dates(summary, 1)
    run = subprocess.run(
        [CLI, "backfill", "--start", str(start), "--end", str(end)],
        env=_env(tmp_path, raw),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 1
    assert "teams.csv, line 1, column 'abbreviation': header lacks column(s)" in run.stdout


def test_backfill_rejects_bad_arguments(tmp_path):
    run = subprocess.run(
        [CLI, "backfill", "--start", "2025-11-09", "--end", "2025-11-01"],
        env=_env(tmp_path, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2 and "is before" in run.stderr


def test_the_dev_commands_say_where_they_went(tmp_path):
    """demo, synth and replay-day are nba-pipeline-dev's now (dev/): one line naming it, at once
    (the code location is not loaded for it), nothing written."""
    for command in (
        ["demo", "--dir", str(tmp_path / "demo")],
        ["--traceback", "synth", "--out", str(tmp_path / "league")],
        ["replay-day", "--day", "2025-11-05"],
    ):
        run = subprocess.run([CLI, *command], env=_env(tmp_path, tmp_path), capture_output=True, text=True, timeout=300)
        name = command[1] if command[0] == "--traceback" else command[0]
        assert (run.returncode, run.stdout, run.stderr) == (
            2,
            "",
            f"nba-pipeline: error: {name} is a dev tool now: "
            f"nba-pipeline-dev {name} (install it: pip install -e ./dev)\n",
        )
    assert not any(tmp_path.iterdir())
    usage = subprocess.run([CLI, "--help"], capture_output=True, text=True, timeout=300).stdout
    assert "demo, synth and replay-day are dev tools: `nba-pipeline-dev`" in usage


def test_backfill_starts_where_the_seasons_history_is_missing_unless_exact(league_copy, tmp_path):
    raw, summary = league_copy
    opening, day2 = first_game_dates(summary, 2)
    season_start = dt.date(opening.year, 10, 1)
    env = _env(tmp_path, raw)
    select = ["--select", "group:nba_raw or group:nba_analytics"]
    exact = subprocess.run(
        [CLI, "backfill", "--start", str(day2), "--end", str(day2), *select, "--exact"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert exact.returncode == 1 and "starting at" not in exact.stderr
    assert "that were never materialized" in exact.stdout  # the guard names what is missing
    run = subprocess.run(
        [CLI, "backfill", "--start", str(day2), "--end", str(day2), *select],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"starting at {season_start}, not {day2}" in run.stderr
    days = (day2 - season_start).days + 1
    assert f"succeeded: {11 * days} partition materializations over {days} game dates" in run.stdout
    # now complete: the same request runs just its range
    again = subprocess.run(
        [CLI, "backfill", "--start", str(day2), "--end", str(day2), *select],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "starting at" not in again.stderr and "over 1 game dates" in again.stdout


# one clear line, never a traceback, never silence (issue 15, part 5) ------------------------------------
import pytest  # noqa: E402

from nba_pipeline.cli.main import main  # noqa: E402


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """A fresh DAGSTER_HOME and warehouse for `main([...])` in this process (restored afterwards)."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBA_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("NBA_EXPORTS_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("NBA_WAREHOUSE", "duckdb")
    monkeypatch.setenv("NBA_SOURCE", "files")
    monkeypatch.setenv("NBA_RAW_DIR", str(tmp_path))
    return tmp_path


def _one_error_line(capfd) -> str:
    """The command's whole stderr, which must be exactly one `nba-pipeline: error:` line."""
    err = capfd.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nba-pipeline: error: "), err
    return lines[0].removeprefix("nba-pipeline: error: ")


def _runs(home) -> int:
    from nba_pipeline_tests.conftest import dagster_instance_at

    with dagster_instance_at(home) as instance:
        return len(instance.get_run_records())


@pytest.mark.parametrize(
    "select, says",
    [
        (
            "nba_raw/*",
            "--select 'nba_raw/*': no asset has the key nba_raw/ "
            "(a bare name is one exact key, and a trailing * adds everything downstream of it)",
        ),
        ("group:(", "--select 'group:(' is not a valid selection"),
        ("group:nba_rwa", "--select 'group:nba_rwa' matches no asset"),
    ],
)
def test_a_selection_that_selects_nothing_is_one_line_with_the_syntax(cli_env, capfd, select, says):
    code = main(["backfill", "--start", "2024-10-22", "--end", "2024-10-22", "--select", select])
    line = _one_error_line(capfd)
    assert code == 2
    assert line.startswith(says)
    assert "group:nba_raw" in line and "key:nba_raw/*" in line and "nba_precompute" in line  # the syntax, the groups
    assert _runs(cli_env / "home") == 0


def test_dates_outside_the_partitions_are_refused_before_anything_is_said(cli_env, capfd):
    from nba_pipeline.core.partitions import game_date_partitions

    last = dt.date.fromisoformat(game_date_partitions.get_last_partition_key())
    future = last + dt.timedelta(days=29)
    assert main(["backfill", "--start", str(future), "--end", str(future + dt.timedelta(days=1))]) == 2
    # not "starting at <the season's Oct 1>" first
    assert (
        _one_error_line(capfd) == f"--start {future} is after the last game-date partition, {last} (today, US Eastern)"
    )
    assert main(["backfill", "--start", "2024-10-22", "--end", str(future)]) == 2
    assert _one_error_line(capfd).startswith(f"--end {future} is after the last game-date partition")
    # the partitions start with the session's first season, 2024-25 (conftest): 2023-24 is before them
    assert main(["backfill", "--start", "2023-10-22", "--end", "2023-10-23"]) == 2
    assert _one_error_line(capfd) == (
        "--start 2023-10-22 is before the first game-date partition, 2024-10-01: the partitions start with "
        "season 2024-25 (NBA_FIRST_SEASON=2024-25)"
    )
    assert main(["adopt-warehouse", "--start", "2024-11-09", "--end", "2024-11-01"]) == 2
    assert _one_error_line(capfd) == "--end 2024-11-01 is before --start 2024-11-09"


def test_a_resource_that_fails_to_start_has_its_cause_printed(cli_env, league_copy, capfd, monkeypatch):
    raw, summary = league_copy
    day, _ = first_game_dates(summary, 1)
    in_the_way = cli_env / "a_file"
    in_the_way.write_text("")
    monkeypatch.setenv("NBA_RAW_DIR", str(raw))
    monkeypatch.setenv("NBA_DUCKDB_PATH", str(in_the_way / "w.duckdb"))
    assert main(["backfill", "--start", str(day), "--end", str(day), "--select", "group:nba_raw", "--exact"]) == 1
    out, err = capfd.readouterr()
    assert "FAILED: 0 partition materializations" in out
    cause = [line for line in err.splitlines() if line.startswith("nba-pipeline: error: ")]
    assert (
        len(cause) == 1
        and "failed before any step ran: resource io_manager failed to start: WarehouseUnavailableError: "
        f"cannot create the folder {in_the_way} of the DuckDB warehouse {in_the_way / 'w.duckdb'}: a file is in the way"
        in cause[0]
    )
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "command",
    [
        ["backfill", "--start", "2024-10-22", "--end", "2024-10-22"],
        ["status", "--date", "2024-10-22"],
        ["stale"],
        ["adopt-warehouse", "--dry-run"],
    ],
)
def test_a_dagster_home_that_cannot_be_created_is_one_line_naming_it(cli_env, capfd, monkeypatch, command):
    (cli_env / "a_file").write_text("")
    home = cli_env / "a_file" / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    (cli_env / "w.duckdb").write_bytes(b"")  # adopt-warehouse looks for its warehouse first
    assert main(command) == 1
    assert _one_error_line(capfd) == (
        f"DAGSTER_HOME={home} is not usable: cannot create {home} (Not a directory); "
        "the Dagster instance keeps its runs and event log there"
    )


def _read_only_prefix() -> list[str]:
    """How to run a command that cannot write a folder made read-only (root ignores modes: drop the
    capability that lets it)."""
    if os.geteuid() != 0:
        return []
    import shutil

    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be made")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


@pytest.mark.parametrize(
    "command",
    [
        ["backfill", "--start", "2024-10-22", "--end", "2024-10-22"],
        ["status", "--date", "2024-10-22"],
    ],
)
def test_a_read_only_dagster_home_is_one_line_not_a_traceback(tmp_path, command):
    from nba_pipeline.instance import prepare_home

    home = prepare_home(tmp_path / "home")
    home.chmod(0o555)
    try:
        run = subprocess.run(
            [*_read_only_prefix(), CLI, *command],
            env=_env(tmp_path, tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        home.chmod(0o755)
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"nba-pipeline: error: DAGSTER_HOME={home} is not usable: cannot create "
        f"{home}/history/ (Permission denied); the Dagster instance keeps its runs and event log there"
    ]


def test_a_warehouse_in_a_read_only_folder_fails_its_step_at_once_naming_the_file(league_copy, tmp_path):
    raw, summary = league_copy
    day, _ = first_game_dates(summary, 1)
    folder = tmp_path / "read_only"
    folder.mkdir(mode=0o555)
    env = {**_env(tmp_path, raw), "NBA_DUCKDB_PATH": str(folder / "w.duckdb")}
    try:
        run = subprocess.run(
            [
                *_read_only_prefix(),
                CLI,
                "backfill",
                "--start",
                str(day),
                "--end",
                str(day),
                "--select",
                "key:nba_raw/schedule",
                "--exact",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        folder.chmod(0o755)
    assert run.returncode == 1
    assert (
        "step failure: nba_raw__schedule: WarehouseUnavailableError: "
        f"cannot open the DuckDB warehouse {folder / 'w.duckdb'}: "
        f"Permission denied (DuckDB needs to write in its folder {folder})"
    ) in run.stdout
    assert "Traceback" not in run.stderr, run.stderr
    # (that it fails without retrying first: test_warehouse.py, where the sleeps can be counted)


def test_settings_that_cannot_work_are_refused_before_a_run(cli_env, capfd, monkeypatch):
    day = ["--start", "2024-10-22", "--end", "2024-10-22"]
    monkeypatch.setenv("NBA_RAW_DIR", str(cli_env / "nope"))
    assert main(["backfill", *day]) == 2
    assert _one_error_line(capfd) == f"NBA raw data directory {cli_env / 'nope'} does not exist (set NBA_RAW_DIR)"
    monkeypatch.setenv("NBA_WAREHOUSE", "nonsense")
    assert main(["backfill", *day]) == 2
    assert _one_error_line(capfd) == "NBA_WAREHOUSE must be 'duckdb' or 'bigquery', not 'nonsense'"
    monkeypatch.setenv("NBA_WAREHOUSE", "duckdb")
    monkeypatch.setenv("NBA_SOURCE", "nonsense")
    assert main(["stale"]) == 2
    assert _one_error_line(capfd) == "NBA_SOURCE must be 'files' or 'live', not 'nonsense'"
    assert _runs(cli_env / "home") == 0
    monkeypatch.setenv("NBA_SOURCE", "files")
    assert main(["adopt-warehouse"]) == 2
    assert _one_error_line(capfd) == f"no DuckDB warehouse to adopt at {cli_env / 'w.duckdb'} (NBA_DUCKDB_PATH)"


def test_the_dev_commands_moved_are_one_line_in_process_too(cli_env, capfd):
    assert main(["demo", "--dir", str(cli_env / "demo"), "--days", "1"]) == 2
    assert _one_error_line(capfd) == "demo is a dev tool now: nba-pipeline-dev demo (install it: pip install -e ./dev)"
    assert not (cli_env / "demo").exists()


def test_a_failed_step_is_one_line_even_when_its_error_is_not(cli_env, league_copy, capfd, monkeypatch):
    """DuckDB appends the SQL it refused to its message: the summary keeps the first paragraph."""
    raw, summary = league_copy
    day, _ = first_game_dates(summary, 1)
    monkeypatch.setenv("NBA_RAW_DIR", str(raw))
    # analytics on a warehouse without the raw tables it reads
    assert (
        main(
            [
                "backfill",
                "--start",
                str(day),
                "--end",
                str(day),
                "--select",
                "key:nba_analytics/player_game_summary",
                "--exact",
            ]
        )
        == 1
    )
    out, err = capfd.readouterr()
    failures = [line for line in out.splitlines() if line.startswith("step failure")]
    assert failures == [
        "step failure: nba_analytics__player_game_summary: CatalogException: Catalog Error: Table with name "
        '"nba_raw.player_boxscores" does not exist because schema "nba_raw" does not exist.'
    ], out + err


def test_an_unexpected_error_is_one_line_unless_asked_for_the_traceback(cli_env, capfd, monkeypatch):
    from nba_pipeline.cli import status

    def broken(*args, **kwargs):
        raise KeyError("complete")

    monkeypatch.setattr(status, "asset_status", broken)
    assert main(["status", "--date", "2024-10-22"]) == 1
    assert _one_error_line(capfd) == "KeyError: 'complete' (nba-pipeline --traceback ... shows where)"
    with pytest.raises(KeyError):
        main(["--traceback", "status", "--date", "2024-10-22"])


# what the UI shows of a CLI run (issue 16) -------------------------------------------------------------
def test_a_backfill_run_names_its_assets_and_dates_for_the_runs_list(league_copy, tmp_path, instance):
    """The runs list shows a run's target from its asset selection (a CLI run without --select
    had none: an empty Target column) and pins user tags, not dagster/ ones."""
    import dagster as dg

    from nba_pipeline.cli.runner import run_backfill
    from nba_pipeline_tests.conftest import make_defs

    raw, summary = league_copy
    opening = dt.date.fromisoformat(summary["first_date"])
    start, end = dt.date(opening.year, 10, 1), dt.date(opening.year, 10, 2)  # off days: quick, every asset runs
    defs = make_defs(raw, tmp_path / "w.duckdb")
    summary_ = run_backfill(defs, instance, start, end, progress=None)
    assert summary_.success, summary_.step_failures
    run = instance.get_run_by_id(summary_.run_id)
    assert (
        run.asset_selection == defs.resolve_asset_graph().materializable_asset_keys and len(run.asset_selection) == 23
    )
    assert (
        len(run.step_keys_to_execute) == 21 and "freshness" not in run.step_keys_to_execute
    )  # the fresh checks are the sensor's
    assert run.tags["nba_pipeline/dates"] == f"{start}...{end}"
    assert (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]) == (
        str(start),
        str(end),
    )
    # the day's file: where it is, and what it holds (none: an off day)
    (bets,) = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(["nba_exports", "best_bets"]), asset_partitions=[str(start)]),
        limit=1,
    ).records
    meta = bets.asset_materialization.metadata
    assert meta["path"] == dg.MetadataValue.path(str(tmp_path / "exports" / "best_bets" / f"{start}.json"))
    assert meta["picks"] == dg.MetadataValue.md(f"No picks for {start}: 0 of 0 predictions cleared the EV threshold.")

    one = run_backfill(defs, instance, end, end, select="nba_raw/schedule", progress=None)
    tags = instance.get_run_by_id(one.run_id).tags
    assert tags["nba_pipeline/dates"] == str(end) and instance.get_run_by_id(one.run_id).asset_selection == {
        dg.AssetKey(["nba_raw", "schedule"])
    }
