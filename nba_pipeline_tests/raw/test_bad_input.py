"""Bad input: the step fails with an error naming file/line/column (or table/partition/row/column),
no materialization is recorded and nothing is written."""

import datetime as dt

from nba_pipeline.cli.runner import run_backfill
from nba_pipeline_tests.conftest import first_game_dates, make_defs, query, table_exists


def _edit_line(path, line_no, fn):
    lines = path.read_text().splitlines(keepends=True)
    lines[line_no - 1] = fn(lines[line_no - 1])
    path.write_text("".join(lines))


def _first_row_line(path, date_fmt: str, day: dt.date) -> int:
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if day.strftime(date_fmt).upper() in line.upper():
            return i
    raise AssertionError(f"no row of {day} in {path}")


def _run(raw, tmp_path, instance, summary, select="group:nba_raw"):
    start, end = first_game_dates(summary, 3)
    db = tmp_path / "w.duckdb"
    result = run_backfill(make_defs(raw, db), instance, start, end, select=select, progress=None)
    return result, db


def _no_materialization(instance, table):
    import dagster as dg

    return not instance.fetch_materializations(dg.AssetKey(["nba_raw", table]), limit=1).records


def test_malformed_row_names_file_line_and_column(league_copy, tmp_path, instance):
    raw, summary = league_copy
    path = raw / "player_game_logs" / f"{summary['seasons'][0]}.csv"
    line = _first_row_line(path, "%b %d, %Y", dt.date.fromisoformat(summary["first_date"]))
    header = path.read_text().splitlines()[0].split(",")
    pts = header.index("PTS")

    def corrupt(row):
        # GAME_DATE "OCT 22, 2024" holds a comma inside quotes: split on the quoted field first
        head, date, tail = row.split('"')
        cells = tail.split(",")
        cells[pts - 3] = "2x"  # tail is ',MATCHUP,...': header column i is cells[i - 3]
        return head + '"' + date + '"' + ",".join(cells)

    _edit_line(path, line, corrupt)
    result, db = _run(raw, tmp_path, instance, summary)
    assert not result.success
    failure = " ".join(result.step_failures)
    assert f"{path}, line {line}, column 'PTS': not a number (int): '2x'" in failure
    assert _no_materialization(instance, "player_boxscores")
    assert not table_exists(db, "nba_raw", "player_boxscores")


def test_unknown_team_names_file_line_and_column(league_copy, tmp_path, instance):
    raw, summary = league_copy
    path = raw / "team_game_logs" / f"{summary['seasons'][0]}.csv"
    line = _first_row_line(path, "%Y-%m-%d", dt.date.fromisoformat(summary["first_date"]))
    _edit_line(path, line, lambda row: row.replace(row.split(",")[2], "XYZ", 1))
    result, db = _run(raw, tmp_path, instance, summary)
    assert not result.success
    assert (
        f"{path}, line {line}, column 'TEAM_ABBREVIATION': unknown team (not in reference/teams.csv): 'XYZ'"
        in " ".join(result.step_failures)
    )
    assert _no_materialization(instance, "schedule") and not table_exists(db, "nba_raw", "schedule")


def test_duplicate_grain_fails_the_write_and_writes_nothing(league_copy, tmp_path, instance):
    raw, summary = league_copy
    path = raw / "player_game_logs" / f"{summary['seasons'][0]}.csv"
    line = _first_row_line(path, "%b %d, %Y", dt.date.fromisoformat(summary["first_date"]))
    dup = path.read_text().splitlines(keepends=True)[line - 1]
    _edit_line(path, line, lambda row: row + dup)
    result, db = _run(raw, tmp_path, instance, summary, select="key:nba_raw/schedule or key:nba_raw/player_boxscores")
    assert not result.success
    failure = " ".join(result.step_failures)
    # named by the file and both lines, not by a row of a frame
    assert f"{path}, line {line}, column None" not in failure
    assert (
        f"{path}, line {line}: duplicate grain (game_id, player_id)" in failure
        and f"again on line(s) {line + 1}" in failure
    )
    assert f"table nba_raw.player_boxscores, partition {summary['first_date']}, nothing written" in failure
    assert _no_materialization(instance, "player_boxscores")
    assert not table_exists(db, "nba_raw", "player_boxscores")
    assert query(db, "SELECT count(*) > 0 FROM nba_raw.schedule") == [(True,)]  # the good table landed


def test_incident_08_a_bad_row_is_named_and_nothing_is_written(league_copy, tmp_path, instance):
    """A value that parses but breaks the declared schema (minutes must be 0..70)."""
    raw, summary = league_copy
    path = raw / "player_game_logs" / f"{summary['seasons'][0]}.csv"
    line = _first_row_line(path, "%b %d, %Y", dt.date.fromisoformat(summary["first_date"]))

    def corrupt(row):
        head, date, tail = row.split('"')
        cells = tail.split(",")
        cells[3] = "99"  # MIN is header column 6: cells[6 - 3]
        return head + '"' + date + '"' + ",".join(cells)

    # disable the box score feed so the game-log minutes stand
    for f in (raw / "boxscores").glob("game_stats_*.csv"):
        f.unlink()
    _edit_line(path, line, corrupt)
    result, db = _run(raw, tmp_path, instance, summary, select="key:nba_raw/schedule or key:nba_raw/player_boxscores")
    assert not result.success
    failure = " ".join(result.step_failures)
    assert f"{path}, line {line}, column 'minutes': value 99.0 fails in_range(0, 70)" in failure
    assert f"table nba_raw.player_boxscores, partition {summary['first_date']}, nothing written" in failure
    assert _no_materialization(instance, "player_boxscores") and not table_exists(db, "nba_raw", "player_boxscores")
