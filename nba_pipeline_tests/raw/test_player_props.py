"""nba_raw.player_props holds every priced prop market of the real snapshots, row for row.

The expectation is read from the CSV files with plain pandas (not the pipeline's readers): the
rows of a game date (the US Eastern date of `game_time`) in the five priced markets, each quote
once (a row listed twice in one snapshot is one quote); the other markets' rows are counted as
skipped, by market."""

import datetime as dt

import dagster as dg
import pandas as pd

from nba_pipeline.cli.runner import run_backfill
from nba_pipeline.raw import build, tables
from nba_pipeline.raw.sources.files import FilesSource
from nba_pipeline.raw.transforms import DROPPED_LINES
from nba_pipeline_tests.conftest import REAL_DATA, make_defs, needs_real_data, query

pytestmark = needs_real_data
DAY = dt.date(2025, 11, 5)
PROPS_CHECKS = ("names_matched", "covers_schedule", "prices_valid", "lines_valid")
# the five markets, as The Odds API names them (spelled out, not read from the code)
PRICED = ["player_points", "player_rebounds", "player_assists", "player_threes", "player_points_rebounds_assists"]


def snapshot_rows() -> pd.DataFrame:
    """Every row of the snapshot files, as text, with its file's name and its game's Eastern date."""
    rows = pd.concat(
        [
            pd.read_csv(path, dtype=str, keep_default_na=False).assign(snapshot=path.name)
            for path in sorted((REAL_DATA / "odds" / "player_props").glob("raw_*.csv"))
        ]
    )
    return rows.assign(game_date=pd.to_datetime(rows["game_time"], utc=True).dt.tz_convert("America/New_York").dt.date)


def csv_quotes(day: dt.date) -> tuple[dict[str, int], dict[str, int]]:
    """(priced rows by market, other rows by market) of `day`'s games in the snapshot files."""
    rows = snapshot_rows()
    rows = rows[rows["game_date"] == day]
    priced = rows["market"].isin(PRICED)
    by_market = rows[priced].drop_duplicates()["market"].value_counts()
    others = rows[~priced]["market"].value_counts()
    return {str(k): int(v) for k, v in by_market.items()}, {str(k): int(v) for k, v in others.items()}


def test_the_platform_prices_the_five_markets():
    assert list(tables.PROP_MARKETS) == PRICED
    assert set(tables.PROP_LINE_RANGES) == set(PRICED)


def test_a_days_build_holds_every_priced_market_row_for_row():
    want, others = csv_quotes(DAY)
    assert set(want) == set(PRICED) and sum(others.values()) > 0  # the day has all five, and other markets
    props, facts = build.player_props(FilesSource(raw_dir=str(REAL_DATA)), DAY, DAY)
    got = props["market"].value_counts()
    assert {str(k): int(v) for k, v in got.items()} == want
    assert facts["rows_by_market"] == want
    assert facts["other_markets_skipped"] == others
    assert facts["other_market_rows_skipped"] == sum(others.values())
    assert len(facts[DROPPED_LINES]) == 0  # every real line lies in its market's range
    # a quote is one row per (snapshot, event, market, book, player, line), with both prices
    grain = list(tables.player_props.grain)
    assert not props.duplicated(grain).any()
    assert props["over_odds"].notna().all() and props["game_id"].notna().all()


def test_every_game_date_of_the_data_holds_its_priced_quotes():
    """The whole props range (2025-10-21 .. 2025-11-09, one build): rows by (date, market)."""
    rows = snapshot_rows()
    priced = rows[rows["market"].isin(PRICED)].drop_duplicates()
    want = priced.groupby(["game_date", "market"]).size()
    props, facts = build.player_props(
        FilesSource(raw_dir=str(REAL_DATA)), min(rows["game_date"]), max(rows["game_date"])
    )
    got = props.groupby([props["game_date"].dt.date, "market"]).size()
    assert len(want) == 20 * 5 and got.to_dict() == want.to_dict()
    assert facts["other_market_rows_skipped"] == int((~rows["market"].isin(PRICED)).sum())


def test_the_days_materialization_says_its_markets(tmp_path, instance):
    """What a user reads in the UI: the date's rows by market and the markets skipped, and every
    props check passing (lines_valid included)."""
    want, others = csv_quotes(DAY)
    db = tmp_path / "w.duckdb"
    summary = run_backfill(
        make_defs(REAL_DATA, db),
        instance,
        DAY,
        DAY,
        select="key:nba_raw/schedule or key:nba_raw/player_props",
        progress=None,
    )
    assert summary.success, summary.step_failures
    assert not [f for f in summary.checks_failed if f.startswith("nba_raw/player_props:")]
    (record,) = instance.fetch_materializations(tables.player_props.asset_key, limit=1).records
    meta = record.asset_materialization.metadata
    assert record.asset_materialization.partition == DAY.isoformat()
    assert meta["rows_by_market"].value == want
    assert meta["other_markets_skipped"].value == others
    assert meta["lines_dropped"].value == 0
    assert dict(query(db, "SELECT market, count(*) FROM nba_raw.player_props GROUP BY 1")) == want
    checks = [dg.AssetCheckKey(tables.player_props.asset_key, name) for name in PROPS_CHECKS]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(checks)
    assert {k.name: r.event.dagster_event.event_specific_data.passed for k, r in latest.items()} == dict.fromkeys(
        PROPS_CHECKS, True
    )
