"""The first season of the game-date partitions (issue 16): NBA_FIRST_SEASON, else the earliest
season of the raw data, else the current season; a bad setting is one line naming it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nba_pipeline.core.seasons import first_season, parse_season, raw_dir_seasons
from nba_pipeline_tests.conftest import REAL_DATA, dev_cli, needs_real_data

BIN = Path(sys.executable).parent
TODAY = dt.date(2026, 12, 3)
FORM = "expected a season as the feeds label it, its first year and the next year's last two digits, e.g. 2026-27"


def test_a_season_is_named_as_the_feeds_name_it():
    assert parse_season("2024-25", TODAY) == 2024
    assert parse_season("1999-00", TODAY) == 1999  # century wrap
    assert parse_season("2026-27", TODAY) == 2026  # the current season (it began on Oct 1)


@pytest.mark.parametrize("bad", ["2024", "24-25", "2024-26", "2024/25", "2024-2025", "2024-25 x"])
def test_a_malformed_season_is_one_line_naming_the_setting_and_the_form(bad):
    with pytest.raises(ValueError) as exc:
        parse_season(bad, TODAY)
    assert str(exc.value) == f"NBA_FIRST_SEASON={bad}: {FORM}"


@pytest.mark.parametrize("label, today", [("2027-28", TODAY), ("2026-27", dt.date(2026, 9, 30)), ("1945-46", TODAY)])
def test_a_season_not_begun_or_before_the_nba_is_refused(label, today):
    latest = "2026-27" if today == TODAY else "2025-26"
    with pytest.raises(ValueError) as exc:
        parse_season(label, today)
    assert str(exc.value) == (
        f"NBA_FIRST_SEASON={label}: expected a season from 1946-47 to the current one, {latest} "
        "(its game-date partitions start on Oct 1)"
    )


@pytest.mark.parametrize(
    "path, season",
    [
        ("team_game_logs/2023-24.csv", 2023),
        ("player_game_logs/2022-23.csv", 2022),
        ("schedule/2021-22.csv", 2021),
        ("boxscores/games_2020-21.csv", 2020),
        ("boxscores/game_stats_2023-01.csv", 2022),  # January: the season that began the October before
        ("boxscores/game_stats_2022-10.csv", 2022),
        ("odds/player_props/raw_20230415_170000.csv", 2022),
        ("odds/player_props/raw_20220915_170000.csv", 2022),  # from August on: the coming season
        ("odds/game_lines/theodds_lines_2019-20.csv", 2019),
    ],
)
def test_the_season_of_each_feed_file_comes_from_its_name(tmp_path, path, season):
    f = tmp_path / path
    f.parent.mkdir(parents=True)
    f.write_bytes(b"\xff not a CSV: only the name is read")
    (tmp_path / "team_game_logs").mkdir(exist_ok=True)
    (tmp_path / "team_game_logs" / "notes.txt").write_text("not a feed file")
    (tmp_path / "team_game_logs" / "2010-11.csv.bak").write_text("not a feed file")
    (tmp_path / "boxscores").mkdir(exist_ok=True)
    (tmp_path / "boxscores" / "game_stats_2009-13.csv").write_text("no such month")
    assert raw_dir_seasons(tmp_path) == {season}


@needs_real_data
def test_the_real_data_holds_2024_25_and_2025_26():
    assert raw_dir_seasons(REAL_DATA) == {2024, 2025}


def test_the_setting_wins_then_the_earliest_season_of_the_files_then_the_current_season(tmp_path):
    raw = tmp_path / "raw"
    for name in ("2025-26.csv", "2024-25.csv", "2031-32.csv"):  # a schedule already out for a future season
        (raw / "team_game_logs").mkdir(parents=True, exist_ok=True)
        (raw / "team_game_logs" / name).write_text("")
    s = first_season("2025-26", "files", str(raw), TODAY)
    assert (s.year, s.start, s.why) == (2025, dt.date(2025, 10, 1), "NBA_FIRST_SEASON=2025-26")
    assert s.describe() == "the partitions start with season 2025-26 (NBA_FIRST_SEASON=2025-26)"
    s = first_season(None, "files", str(raw), TODAY)
    assert (s.label, s.start) == ("2024-25", dt.date(2024, 10, 1))
    assert s.describe() == (
        f"the partitions start with season 2024-25 (the earliest season of the feed files in "
        f"NBA_RAW_DIR={raw}); set NBA_FIRST_SEASON (e.g. 2023-24) to start earlier"
    )
    # without files to date the data by: the season containing today, from its Oct 1
    for source, raw_dir, why in [
        ("live", str(raw), "NBA_SOURCE=live has no files to date the data by"),
        ("files", None, "NBA_RAW_DIR is not set"),
        (
            "files",
            str(tmp_path / "nope"),
            f"NBA_RAW_DIR={tmp_path / 'nope'} holds no feed files of a season begun by now",
        ),
        ("files", str(tmp_path), f"NBA_RAW_DIR={tmp_path} holds no feed files of a season begun by now"),
    ]:
        assert first_season(None, source, raw_dir, dt.date(2026, 9, 30)).start == dt.date(2025, 10, 1)
        s = first_season(None, source, raw_dir, dt.date(2026, 10, 1))
        assert (s.start, s.why) == (dt.date(2026, 10, 1), f"the current season: {why}")


def _run(args: list[str], tmp_path: Path, **env: str | None) -> subprocess.CompletedProcess:
    base = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "PYTHONWARNINGS": "ignore"}
    for k in ("NBA_FIRST_SEASON", "NBA_RAW_DIR", "NBA_SOURCE"):  # the session's setting (conftest) too
        base.pop(k, None)
    base.update({k: v for k, v in env.items() if v is not None})
    return subprocess.run(args, env=base, capture_output=True, text=True, timeout=300)


_KEYS = (
    "from nba_pipeline.core.partitions import game_date_partitions as p; "
    "print(p.get_first_partition_key(), p.get_last_partition_key())"
)


def test_the_partitions_start_with_the_earliest_season_of_the_raw_data(synthetic_league, tmp_path):
    """Not 2021-10-01 (~1,575 partitions no data could fill): Oct 1 of the synthetic league's season."""
    raw, _ = synthetic_league
    from nba_pipeline.core.seasons import today

    keys = _run([sys.executable, "-c", _KEYS], tmp_path, NBA_RAW_DIR=str(raw))
    assert keys.returncode == 0, keys.stderr
    assert keys.stdout.split() == ["2024-10-01", today().isoformat()]  # end_offset=1: today is a partition
    # the setting wins over the data
    keys = _run([sys.executable, "-c", _KEYS], tmp_path, NBA_RAW_DIR=str(raw), NBA_FIRST_SEASON="2025-26")
    assert keys.stdout.split()[0] == "2025-10-01", keys.stderr


@needs_real_data
def test_a_date_before_the_real_datas_first_season_is_one_line(tmp_path):
    run = _run(
        [str(BIN / "nba-pipeline"), "backfill", "--start", "2023-10-01", "--end", "2023-10-02"],
        tmp_path,
        NBA_RAW_DIR=str(REAL_DATA),
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == (
        "nba-pipeline: error: --start 2023-10-01 is before the first game-date partition, 2024-10-01: the partitions "
        f"start with season 2024-25 (the earliest season of the feed files in NBA_RAW_DIR={REAL_DATA}); set "
        "NBA_FIRST_SEASON (e.g. 2023-24) to start earlier\n"
    )
    assert not (tmp_path / "home" / "history").exists()  # nothing ran


@pytest.mark.parametrize("bad", ["2024", "24-25"])
def test_a_bad_first_season_is_one_line_for_the_cli_and_fails_the_code_location(bad, tmp_path):
    line = f"NBA_FIRST_SEASON={bad}: {FORM.replace('2026-27', _current_label())}"
    for args in (["status", "--date", "2025-11-01"], ["backfill", "--start", "2025-11-01", "--end", "2025-11-01"]):
        run = _run([str(BIN / "nba-pipeline"), *args], tmp_path, NBA_FIRST_SEASON=bad, NBA_RAW_DIR=str(tmp_path))
        assert (run.returncode, run.stdout, run.stderr) == (2, "", f"nba-pipeline: error: {line}\n"), args
    # the webserver and the daemon load the code location the same way: it does not load
    validate = _run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "nba_pipeline.definitions"],
        tmp_path,
        NBA_FIRST_SEASON=bad,
        NBA_RAW_DIR=str(tmp_path),
        DAGSTER_HOME=str(tmp_path),
    )
    assert validate.returncode == 1
    assert f"ValueError: {line}\n" in validate.stdout + validate.stderr, validate.stdout


def _current_label() -> str:
    from nba_pipeline.core.seasons import current_season_year, label_of, today

    return label_of(current_season_year(today()))


def test_replay_day_checks_its_day_against_its_own_partitions(tmp_path):
    """The replay backfills from the season before the day's: its partitions start there, not
    with the current season (no NBA_RAW_DIR here), so it gets as far as the folder it lacks."""
    run = _run([*dev_cli(), "replay-day", "--day", "2025-11-05", "--raw-dir", str(tmp_path / "nope")], tmp_path)
    assert run.returncode == 2
    assert run.stderr == (
        f"nba-pipeline-dev: error: --raw-dir {tmp_path / 'nope'}: no such folder (the real data, laid out "
        "like ../shared/data/nba)\n"
    )
