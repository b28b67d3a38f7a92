"""Every layer on the real data: the whole 2024-25 season and 2025-10-21 .. 2025-11-09, each
backfilled in one run (from Oct 1, where a season's history starts), all ten analytics and
precompute tables materialized for every date, every ERROR check passing and every WARN failure
one of the documented, justified kinds below."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pytest

from nba_pipeline.analytics.tables import ANALYTICS_TABLES, player_prop_quotes
from nba_pipeline.cli.runner import run_backfill
from nba_pipeline.cli.status import asset_status
from nba_pipeline.definitions import build_definitions
from nba_pipeline.exports.checks import MAX_REPORT_BYTES
from nba_pipeline.exports.directory import ExportsDirectory
from nba_pipeline.exports.files import BestBetsFile, best_bets, report
from nba_pipeline.exports.tables import performance_summary
from nba_pipeline.precompute.tables import PRECOMPUTE_TABLES
from nba_pipeline.predictions.tables import MARKET_STATS
from nba_pipeline.raw.sources.files import FilesSource
from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager
from nba_pipeline_tests.browser import DOCS, browser_page, needs_browser
from nba_pipeline_tests.conftest import REAL_DATA, dagster_instance_at, make_defs, needs_real_data, query

pytestmark = needs_real_data

# the whole 2024-25 season, play-in and playoffs included (no player rows: contexts come from
# the regular season, so a player back from a season-long injury has rested ~240 days)
SEASON = (dt.date(2024, 10, 1), dt.date(2025, 6, 30))
NEW_SEASON = (dt.date(2025, 10, 1), dt.date(2025, 11, 9))
# the analytics and precompute tables with rows on every game date (the prop quotes exist from
# 2025-10-21 only: the data has no props for 2024-25)
TEN_TABLES = [t for t in (*ANALYTICS_TABLES, *PRECOMPUTE_TABLES) if t is not player_prop_quotes]
ASSETS = 23
FIRST_MODEL_WEEK = dt.date(2024, 12, 2)


# the Eastern game dates of the ten consensus moneylines strictly between -100 and +100
PRICELESS_CONSENSUS_DATES = {
    dt.date.fromisoformat(d)
    for d in (
        "2024-10-23",
        "2024-10-24",
        "2024-12-03",
        "2024-12-19",
        "2025-01-29",
        "2025-02-28",
        "2025-03-29",
        "2025-05-03",
    )
}


def _days(start: dt.date, end: dt.date) -> int:
    return (end - start).days + 1


def _justified(failure: str) -> bool:
    """The WARN failures this data must produce, and why each is right."""
    name, rest = failure.split("@")
    day = dt.date.fromisoformat(rest.split(" ")[0])
    if "(WARN)" not in rest:
        return False
    if name == "nba_raw/player_props:covers_schedule":
        return day < NEW_SEASON[0]  # the data has no player props for 2024-25
    if name == "nba_raw/game_lines:covers_schedule":
        return day >= NEW_SEASON[0]  # ... and no game lines for 2025-26
    if name == "nba_raw/game_lines:prices_valid":
        # the 2024-25 consensus lines hold ten moneylines that are medians of American odds across
        # favourite and underdog prices (-3.0, -1.5, -1.0 ...), not prices: withheld, and listed
        return day in PRICELESS_CONSENSUS_DATES
    if name == "nba_analytics/upcoming_player_game_context:roster_per_team_game":
        # the data's first games: no earlier games tell who plays for whom
        return dt.date(2024, 10, 22) <= day <= dt.date(2024, 10, 24)
    if name == "nba_analytics/upcoming_player_game_context:line_players_in_context":
        # players with a line who moved team in the off-season (or are rookies), before their first
        # game for the new team; and one player back from injury after an off-season trade
        return day in {dt.date(2025, 10, 21), dt.date(2025, 10, 22), dt.date(2025, 10, 23), dt.date(2025, 11, 6)}
    if name == "nba_predictions/prop_models:models_for_every_game_date":
        # the data's first weeks: too few played player-games to train on before the Monday
        return day < FIRST_MODEL_WEEK
    return False


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    home = tmp_path_factory.mktemp("real_pipeline")
    db = home / "warehouse.duckdb"
    defs = make_defs(REAL_DATA, db)
    with dagster_instance_at(home) as instance:
        runs = [run_backfill(defs, instance, *period, progress=None) for period in (SEASON, NEW_SEASON)]
        yield defs, instance, db, runs


def test_both_periods_materialize_every_asset_for_every_date(pipeline):
    _, _, _, runs = pipeline
    for run, period in zip(runs, (SEASON, NEW_SEASON)):
        assert run.success, run.step_failures
        assert run.materializations == ASSETS * _days(*period)
        assert run.partitions == _days(*period)


def test_no_error_check_fails_and_every_warn_failure_is_justified(pipeline):
    _, _, _, runs = pipeline
    failures = [f for run in runs for f in run.checks_failed]
    assert [f for f in failures if not _justified(f)] == []
    assert sum(run.checks_passed for run in runs) > 30 * (_days(*SEASON) + _days(*NEW_SEASON))


def test_ten_tables_have_rows_for_every_game_date(pipeline):
    _, _, db, _ = pipeline
    game_dates = {
        d
        for (d,) in query(
            db,
            f"SELECT DISTINCT game_date FROM nba_raw.schedule WHERE season_type = 'regular' AND game_date BETWEEN "
            f"'{SEASON[0]}' AND '{SEASON[1]}' OR game_date BETWEEN '{NEW_SEASON[0]}' AND '{NEW_SEASON[1]}'",
        )
    }
    assert len(game_dates) > 180  # 2024-25 regular season + 20 dates of 2025-26
    # the data's first two dates: none of the teams playing has an earlier game, so no roster is
    # known and the player tables are empty (the roster_per_team_game WARN says so)
    first_dates = {dt.date(2024, 10, 22), dt.date(2024, 10, 23)}
    for table in TEN_TABLES:
        with_rows = {d for (d,) in query(db, f"SELECT DISTINCT game_date FROM {table.qualified_name}")}
        assert game_dates - with_rows <= first_dates, table.qualified_name


def test_player_features_cover_the_players_who_played_and_carry_the_lines(pipeline):
    _, _, db, _ = pipeline
    ((played, with_features),) = query(
        db,
        "SELECT count(*), count(f.player_id) FROM nba_raw.player_boxscores p"
        " LEFT JOIN nba_precompute.ml_feature_store f ON f.game_date = p.game_date AND f.player_id = p.player_id"
        " WHERE p.game_date >= '2024-11-01'",
    )
    assert with_features / played > 0.98
    ((rows, lines),) = query(
        db, "SELECT count(*), count(points_line) FROM nba_precompute.ml_feature_store WHERE game_date >= '2025-10-21'"
    )
    (line_players,) = query(
        db,
        "SELECT count(DISTINCT (game_id, player_id)) FROM nba_raw.player_props"
        " WHERE player_id IS NOT NULL AND game_date >= '2025-10-21'",
    )[0]
    assert lines >= 0.9 * line_players and lines < rows


def test_status_reports_every_asset_complete(pipeline):
    defs, instance, _, _ = pipeline
    rows = asset_status(defs, instance, "2025-11-01")
    assert len(rows) == ASSETS and all(r["complete"] for r in rows), [r["asset"] for r in rows if not r["complete"]]
    features = next(r for r in rows if r["asset"] == "nba_precompute/ml_feature_store")
    assert features["row_count"] > 100 and {c["status"] for c in features["checks"]} == {"passed"}


def test_new_season_predictions_graded_and_better_than_the_season_average(pipeline):
    """Every game date of 2025-10-21 .. 2025-11-09 has predictions in all five markets from models
    trained only on earlier dates, every prediction of a final game is graded, and in every market
    the predictions beat the season-to-date average (last season's recent form where a player has
    no game yet) and stay within reach of the books' line."""
    _, _, db, _ = pipeline
    rows = query(
        db,
        """
        SELECT p.game_date, p.market, count(*), count(a.player_id), min(m.training_cutoff), max(m.training_end)
        FROM nba_predictions.player_prop_predictions p
        LEFT JOIN nba_predictions.prediction_accuracy a USING (game_date, player_id, market)
        JOIN nba_predictions.prop_models m USING (game_date, market)
        WHERE p.game_date BETWEEN '2025-10-21' AND '2025-11-09'
        GROUP BY 1, 2 ORDER BY 1, 2""",
    )
    assert len(rows) == 20 * 5
    for day, market, predicted, graded, cutoff, trained_to in rows:
        assert predicted >= 10 and graded == predicted, (day, market)
        assert cutoff <= day and trained_to < cutoff, (day, market)
    stat_avg = " ".join(
        f"WHEN '{m}' THEN coalesce(f.{s}_avg_season, f.{s}_avg_recent20)" for m, s in MARKET_STATS.items()
    )
    by_market = query(
        db,
        f"""
        SELECT a.market, count(*), avg(a.absolute_error), avg(abs(a.actual - CASE a.market {stat_avg} END)),
               avg(a.line_error)
        FROM nba_predictions.prediction_accuracy a JOIN nba_precompute.ml_feature_store f USING (game_date, player_id)
        WHERE a.game_date >= '2025-10-21' AND a.played GROUP BY 1""",
    )
    assert len(by_market) == 5
    for market, n, mae, baseline_mae, line_mae in by_market:
        assert n > 1800, market
        assert mae < baseline_mae and mae < line_mae * 1.02, (market, mae, baseline_mae, line_mae)


def _exports_dir(db: Path) -> Path:
    return db.parent / "exports"  # where make_defs points the exports resource


def test_a_best_bets_file_for_every_date_holding_the_top_ev_picks(pipeline):
    _, _, db, _ = pipeline
    written = sorted((_exports_dir(db) / "best_bets").glob("*.json"))
    assert len(written) == _days(*SEASON) + _days(*NEW_SEASON)
    candidates = dict(
        query(
            db,
            """
        SELECT strftime(game_date, '%Y-%m-%d'), count(*) FROM nba_predictions.player_prop_predictions
        WHERE recommendation <> 'PASS' GROUP BY 1""",
        )
    )
    for path in written:
        f = BestBetsFile.model_validate_json(path.read_text())
        day = f.game_date.isoformat()
        assert path.name == f"{day}.json" and len(f.picks) == min(f.top_n, candidates.get(day, 0), f.candidates)
        assert [p.ev for p in f.picks] == sorted((p.ev for p in f.picks), reverse=True)
        assert all(p.books >= 1 and p.line_snapshot_time < p.game_start_time for p in f.picks)
    # every pick is a quote the book offered, at that book's own price
    quotes = {
        (str(d), int(pid), m, b, float(line)): (float(o), float(u))
        for d, pid, m, b, line, o, u in query(
            db,
            "SELECT strftime(game_date, '%Y-%m-%d'), player_id, market, bookmaker, line, over_odds, under_odds "
            "FROM nba_analytics.player_prop_quotes WHERE over_odds IS NOT NULL AND under_odds IS NOT NULL",
        )
    }
    picks = 0
    for (d,) in query(
        db,
        "SELECT DISTINCT strftime(game_date, '%Y-%m-%d') FROM nba_raw.schedule "
        "WHERE game_date BETWEEN '2025-10-21' AND '2025-11-09'",
    ):
        f = BestBetsFile.model_validate_json((_exports_dir(db) / "best_bets" / f"{d}.json").read_text())
        for p in f.picks:
            over, under = quotes[(d, p.player_id, p.market, p.bookmaker, p.line)]
            assert p.odds == (over if p.side == "OVER" else under) and p.ev >= f.ev_threshold
            picks += 1
    assert picks > 20


def test_each_dates_best_bets_materialization_previews_its_file(pipeline):
    """In the UI, a date's materialization says where its file is and what it picks (issue 16)."""
    _, instance, db, _ = pipeline
    day = max(
        path.stem
        for path in (_exports_dir(db) / "best_bets").glob("2025-1*.json")
        if BestBetsFile.model_validate_json(path.read_text()).picks
    )
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=best_bets.asset_key, asset_partitions=[day, "2025-10-01"]), limit=10
    ).records
    meta = {r.asset_materialization.partition: r.asset_materialization.metadata for r in records}
    path = _exports_dir(db) / "best_bets" / f"{day}.json"
    f = BestBetsFile.model_validate_json(path.read_text())
    assert meta[day]["path"] == dg.MetadataValue.path(str(path))
    rows = meta[day]["picks"].value.splitlines()[2:]
    assert len(rows) == len(f.picks) == meta[day]["dagster/partition_row_count"].value > 0
    assert [r.split(" | ")[1] for r in rows] == [p.player_name for p in f.picks]
    assert meta["2025-10-01"]["picks"].value.startswith("No picks for 2025-10-01")


REPORT_DAY = "2025-11-05"


@needs_browser
def test_the_daily_report_of_a_real_game_day_in_chromium(pipeline):
    """Issue 19: 2025-11-05's page opened from disk in headless Chromium shows the day's games, its
    picks (those of its best-bets file) and the record's three plots; it weighs under 2 MB; its
    full-page screenshot is the README's (docs/report.png)."""
    _, _, db, _ = pipeline
    path = _exports_dir(db) / "report" / f"{REPORT_DAY}.html"
    assert path.stat().st_size < MAX_REPORT_BYTES
    bets = BestBetsFile.model_validate_json((_exports_dir(db) / "best_bets" / f"{REPORT_DAY}.json").read_text())
    assert len(bets.picks) == 10
    with browser_page(width=1200, height=900) as page:
        page.goto(path.as_uri())
        assert page.title() == f"NBA player props · {REPORT_DAY}"
        assert page.locator("ul.games li").count() == 11  # the night's games, with ET tip-offs
        rows = page.locator("#picks tr[data-pick]")
        assert rows.count() == len(bets.picks)
        assert rows.first.locator("td").nth(1).inner_text() == bets.picks[0].player_name
        assert page.get_by_text(bets.picks[0].summary).is_visible()
        for name in ("profit", "markets", "mae"):
            box = page.locator(f'figure[data-plot="{name}"] svg').bounding_box()
            assert box is not None and box["width"] > 800 and box["height"] > 150, name
        assert page.get_by_text("Calibration over the season").is_visible()
        assert page.locator('[data-metric="season_bets"]').inner_text() != "–"
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / "report.png"), full_page=True)
        # a date without games, before the season's first grade: said, and no empty plots
        page.goto((_exports_dir(db) / "report" / "2025-10-05.html").as_uri())
        assert page.get_by_text("No NBA games on 2025-10-05.").is_visible()
        assert page.get_by_text("No graded bets yet this season").is_visible()
        assert page.locator("svg").count() == 0
    assert (DOCS / "report.png").stat().st_size > 100_000


def test_the_reports_materialization_links_its_page_and_previews_it(pipeline):
    """In the UI: the report's materialization links to its file and previews the picks and the
    headline; performance_summary's materializations chart ROI and MAE by game date."""
    _, instance, db, _ = pipeline
    (record,) = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=report.asset_key, asset_partitions=[REPORT_DAY]), limit=1
    ).records
    meta = record.asset_materialization.metadata
    path = _exports_dir(db) / "report" / f"{REPORT_DAY}.html"
    assert meta["path"] == dg.MetadataValue.path(str(path)) and meta["url"].value == path.resolve().as_uri()
    preview = meta["preview"].value
    assert preview.startswith(f"**{REPORT_DAY}**: 11 game(s), 10 pick(s) of ")
    assert "- season through 2025-11-04: " in preview and "| 1 | " in preview
    assert meta["dagster/partition_row_count"].value == 10 and meta["season_bets"].value > 1000
    summaries = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=performance_summary.asset_key, asset_partitions=[REPORT_DAY]), limit=1
    ).records
    numbers = summaries[0].asset_materialization.metadata
    for name in ("roi", "season_roi", "bets", "mae_points", "line_mae_pra"):
        assert isinstance(numbers[name], (dg.FloatMetadataValue, dg.IntMetadataValue)), name
    ((bets,),) = query(
        db,
        f"SELECT bets FROM nba_exports.performance_summary WHERE game_date = '{REPORT_DAY}' AND period = 'day' "
        "AND market = 'all'",
    )
    assert numbers["bets"].value == bets > 0


def test_performance_summary_agrees_with_the_grades(pipeline):
    _, _, db, _ = pipeline
    graded = {
        market: rest
        for market, *rest in query(
            db,
            """
        SELECT market, count(*) FILTER (bet_result IN ('WIN', 'LOSS', 'PUSH')), count(*) FILTER (bet_result = 'WIN'),
               sum(profit_units), avg(absolute_error) FILTER (played), avg(line_error) FILTER (played)
        FROM nba_predictions.prediction_accuracy WHERE game_date BETWEEN '2025-10-01' AND '2025-11-09'
        GROUP BY 1""",
        )
    }
    summary = {
        market: rest
        for market, *rest in query(
            db,
            """
        SELECT market, bets, wins, profit_units, mae, line_mae, calibration FROM nba_exports.performance_summary
        WHERE game_date = '2025-11-09' AND period = 'season'""",
        )
    }
    assert set(summary) == {*MARKET_STATS, "all"} and set(graded) == set(MARKET_STATS)
    for market, (bets, wins, profit, mae, line_mae) in graded.items():
        s_bets, s_wins, s_profit, s_mae, s_line_mae, _ = summary[market]
        assert (s_bets, s_wins) == (bets, wins) and abs(s_profit - profit) < 1e-3, market
        assert abs(s_mae - mae) < 1e-3 and abs(s_line_mae - line_mae) < 1e-3, market
    every = summary["all"]
    assert every[0] == sum(g[0] for g in graded.values()) and every[3] is None
    assert sum(b["rows"] for b in json.loads(every[5])) > 9000


def test_a_failed_export_write_is_not_marked_done(pipeline, tmp_path):
    """The exports directory cannot be written (a file stands where it should be): the step
    fails, the partition records no new materialization and the earlier file is untouched."""
    _, instance, db, _ = pipeline
    day = "2025-11-01"
    before = (_exports_dir(db) / "best_bets" / f"{day}.json").read_text()
    blocked = tmp_path / "not_a_directory"
    blocked.write_text("")
    broken = build_definitions(
        FilesSource(raw_dir=str(REAL_DATA)),
        NbaDuckDBIOManager(database=str(db)),
        ExportsDirectory(directory=str(blocked)),
    )

    def count():
        return len(
            instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=best_bets.asset_key, asset_partitions=[day]), limit=100
            ).records
        )

    n = count()
    run = run_backfill(
        broken, instance, dt.date(2025, 11, 1), dt.date(2025, 11, 1), select="nba_exports/best_bets", progress=None
    )
    assert not run.success and "best_bets" in run.step_failures[0]
    assert count() == n
    assert (_exports_dir(db) / "best_bets" / f"{day}.json").read_text() == before
