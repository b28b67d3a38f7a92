"""Integration: backfill real dates from ../shared/data/nba through the CLI's runner."""

import datetime as dt

import pytest

from nba_pipeline.cli.runner import run_backfill
from nba_pipeline.cli.status import asset_status
from nba_pipeline_tests.conftest import REAL_DATA, dagster_instance_at, make_defs, needs_real_data, query

pytestmark = needs_real_data


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    db = home / "warehouse.duckdb"
    defs = make_defs(REAL_DATA, db)
    with dagster_instance_at(home) as instance:
        summary = run_backfill(
            defs, instance, dt.date(2025, 10, 21), dt.date(2025, 11, 9), select="group:nba_raw", progress=None
        )
        yield defs, instance, db, summary


def test_backfill_materializes_every_raw_asset_for_every_date(backfilled):
    defs, instance, db, summary = backfilled
    assert summary.success, summary.step_failures
    assert summary.partitions == 20 and summary.materializations == 5 * 20
    # the only failing checks are WARNs: there are no game lines for 2025-26 in the real data
    assert all(
        f.startswith("nba_raw/game_lines:covers_schedule@") and f.endswith("(WARN)") for f in summary.checks_failed
    )
    assert query(db, "SELECT count(*) FROM nba_raw.player_boxscores")[0][0] == 3301
    assert query(db, "SELECT count(*) FROM nba_raw.team_boxscores")[0][0] == 2 * 147
    assert query(db, "SELECT count(*), count(DISTINCT game_id) FROM nba_raw.schedule") == [(147, 147)]


def test_known_quirks_of_the_real_data(backfilled):
    _, _, db, _ = backfilled
    # Mexico City game: both teams' player rows read 'X @ Y'; the team log makes DET home
    assert query(db, "SELECT home_team, away_team FROM nba_raw.schedule WHERE game_id='0022500147'") == [("DET", "DAL")]
    # the 2025-26 team logs list one side per game; the other side is summed from player rows
    assert query(db, "SELECT source, count(*) FROM nba_raw.team_boxscores GROUP BY 1 ORDER BY 1") == [
        ("player_game_logs", 147),
        ("team_game_log", 147),
    ]
    # box score feed: exact minutes and exactly five starters per team-game
    assert (
        query(
            db,
            "SELECT count(*) FROM "
            "(SELECT game_id, team, sum(starter::int) s FROM nba_raw.player_boxscores GROUP BY 1, 2) WHERE s <> 5",
        )[0][0]
        == 0
    )
    # a 7:30 pm ET tip-off is the next day in UTC, but belongs to its Eastern date
    late = query(
        db,
        "SELECT count(*) FROM nba_raw.player_props "
        "WHERE strftime(game_start_time AT TIME ZONE 'UTC', '%Y-%m-%d') <> strftime(game_date, '%Y-%m-%d')",
    )[0][0]
    assert late > 0
    assert query(db, "SELECT count(*) FROM nba_raw.player_props WHERE player_id IS NULL")[0][0] == 0


def test_status_reports_every_asset_from_the_event_log(backfilled):
    defs, instance, _, _ = backfilled
    every = {r["asset"]: r for r in asset_status(defs, instance, "2025-11-01")}
    rows = {a: r for a, r in every.items() if a.startswith("nba_raw/")}
    assert set(rows) == {
        f"nba_raw/{t}" for t in ("schedule", "team_boxscores", "player_boxscores", "player_props", "game_lines")
    }
    assert {r["state"] for a, r in every.items() if a not in rows} == {"missing"}  # only raw was selected
    assert all(r["state"] == "materialized" and r["code_version"] == r["current_code_version"] for r in rows.values())
    assert rows["nba_raw/schedule"]["row_count"] == 6 and rows["nba_raw/team_boxscores"]["row_count"] == 12
    assert all(c["status"] == "passed" for c in rows["nba_raw/player_boxscores"]["checks"])
    assert rows["nba_raw/player_boxscores"]["complete"]
    missing = {r["asset"]: r["state"] for r in asset_status(defs, instance, "2025-11-10")}
    assert set(missing.values()) == {"missing"}


def test_off_day_partition_materializes_zero_rows_and_passes(tmp_path, instance):
    """Incident 3: Christmas Eve 2024 has no games; it materializes with 0 rows and checks pass."""
    db = tmp_path / "w.duckdb"
    defs = make_defs(REAL_DATA, db)
    summary = run_backfill(
        defs, instance, dt.date(2024, 12, 24), dt.date(2024, 12, 24), select="group:nba_raw", progress=None
    )
    assert summary.success and summary.materializations == 5
    assert not [f for f in summary.checks_failed if "(ERROR)" in f]
    rows = {r["asset"]: r for r in asset_status(defs, instance, "2024-12-24") if r["asset"].startswith("nba_raw/")}
    assert len(rows) == 5 and all(r["row_count"] == 0 and r["state"] == "materialized" for r in rows.values())
    assert query(db, "SELECT count(*) FROM nba_raw.player_boxscores") == [(0,)]


def test_schedule_scores_equal_the_team_box_scores(backfilled):
    """The 2025-26 team logs list one side per game: its score follows from the other side's
    points minus its plus/minus (once summed: 147 of 147 games had the winner flipped)."""
    _, _, db, summary = backfilled
    assert query(
        db, "SELECT home_team, home_points, away_team, away_points FROM nba_raw.schedule WHERE game_id='0022500001'"
    ) == [("OKC", 125, "HOU", 124)]
    mismatches = query(
        db,
        """SELECT count(*) FROM nba_raw.schedule s JOIN nba_raw.team_boxscores t USING (game_id)
           WHERE t.points <> CASE WHEN t.is_home THEN s.home_points ELSE s.away_points END
              OR t.win <> (CASE WHEN t.is_home THEN s.home_points > s.away_points"""
        """ ELSE s.away_points > s.home_points END)""",
    )
    assert mismatches == [(0,)]
    # and the blocking reconciliation checks say so per date
    assert not [f for f in summary.checks_failed if "matches_schedule" in f or "plus_minus" in f or "sides_match" in f]
