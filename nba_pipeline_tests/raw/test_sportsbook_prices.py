"""A sportsbook price must be a price, and a bad odds file is named by file, line and column.

On a copy of the real 2025-11-05 data (the folder's files the day needs, in a temp dir): American
odds between -100 and +100 (0, -1, 50) or beyond +/-20000 are withheld (stored as null) and the
`prices_valid` check lists them; a quote whose line lies outside its market's range is dropped and
the `lines_valid` check lists it; a snapshot cut short, a non-UTF-8 byte and one key quoted at two
prices fail the partition with the file, the line and the column; nothing invalid is stored."""

import datetime as dt
import shutil

import dagster as dg
import pandas as pd
import pytest

from nba_pipeline.cli.runner import run_backfill
from nba_pipeline.core.schema import TableSchemaViolation
from nba_pipeline.raw import build, tables
from nba_pipeline.raw.feeds import FeedError
from nba_pipeline.raw.sources.files import FilesSource
from nba_pipeline.raw.transforms import DROPPED_LINES, WITHHELD_PRICES
from nba_pipeline_tests.conftest import REAL_DATA, make_defs, needs_real_data, query

pytestmark = needs_real_data
DAY = dt.date(2025, 11, 5)
SNAPSHOT = "odds/player_props/raw_20251105_170000.csv"


@pytest.fixture
def raw(tmp_path):
    root = tmp_path / "raw"
    for rel in [
        "reference/players.csv",
        "reference/teams.csv",
        "team_game_logs/2025-26.csv",
        "player_game_logs/2025-26.csv",
        "boxscores/games_2025-26.csv",
        "boxscores/game_stats_2025-11.csv",
        SNAPSHOT,
    ]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REAL_DATA / rel, root / rel)
    return root


def _set_cells(path, edits: dict[int, dict[str, str]]):
    """Replace cells by (1-based line, column name) in a CSV without quoted commas."""
    lines = path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    for n, cells in edits.items():
        row = lines[n - 1].rstrip("\n").split(",")
        for col, value in cells.items():
            row[header.index(col)] = value
        lines[n - 1] = ",".join(row) + "\n"
    path.write_text("".join(lines))


def _market_lines(path, market: str) -> list[int]:
    return [i for i, line in enumerate(path.read_text().splitlines(), start=1) if f",{market}," in line]


def _points_lines(path) -> list[int]:
    return _market_lines(path, "player_points")


def test_prices_that_are_not_american_odds_are_withheld_and_listed(raw):
    path = raw / SNAPSHOT
    a, b, c, d = _points_lines(path)[:4]
    _set_cells(
        path, {a: {"over_odds": "0"}, b: {"over_odds": "50000"}, c: {"under_odds": "-50000"}, d: {"under_odds": "-1"}}
    )
    props, facts = build.player_props(FilesSource(raw_dir=str(raw)), DAY, DAY)
    withheld = facts[WITHHELD_PRICES]
    assert withheld[["line", "column", "value"]].values.tolist() == [
        [a, "over_odds", 0.0],
        [b, "over_odds", 50000.0],
        [c, "under_odds", -50000.0],
        [d, "under_odds", -1.0],
    ]
    assert set(withheld["file"]) == {"raw_20251105_170000.csv"}
    odds = pd.concat([props["over_odds"], props["under_odds"]]).dropna().abs()
    assert odds.between(100, 20000).all()  # nothing invalid is left as a price
    assert len(props) == 6238  # every quote of the five markets is kept; only its bad price is withheld


def test_the_write_refuses_a_price_that_is_not_a_price():
    frame = tables.player_props.empty_frame()
    for col in ("over_odds", "under_odds"):
        assert "American odds" in tables.player_props.column(col).description
    row = {c.name: None for c in tables.player_props.columns} | {
        "game_date": pd.Timestamp("2025-11-05"),
        "snapshot_time": pd.Timestamp("2025-11-05 17:00", tz="UTC"),
        "event_id": "e",
        "game_start_time": pd.Timestamp("2025-11-06 00:00", tz="UTC"),
        "home_team": "BOS",
        "away_team": "NYK",
        "market": "player_points",
        "odds_player_name": "X",
        "name_match": "unmatched",
        "bookmaker": "b",
        "line": 20.5,
        "over_odds": 50.0,
        "under_odds": -110.0,
    }
    df = pd.concat([frame, pd.DataFrame([row])], ignore_index=True)
    with pytest.raises(TableSchemaViolation, match="over_odds"):
        tables.player_props.validate(df)
    tables.player_props.validate(df.assign(over_odds=-100.0))
    with pytest.raises(TableSchemaViolation, match="column 'market'"):
        tables.player_props.validate(df.assign(over_odds=-100.0, market="player_blocks"))  # not a priced market
    assert tables.game_lines.column("home_moneyline").checks[0].valid(pd.Series([-3.0, 100.0, None])).tolist() == [
        False,
        True,
        True,
    ]


def test_the_check_fails_for_the_date_and_says_why_in_one_line(raw, tmp_path, instance):
    path = raw / SNAPSHOT
    first = _points_lines(path)[0]
    _set_cells(path, {first: {"over_odds": "0"}})
    db = tmp_path / "w.duckdb"
    summary = run_backfill(
        make_defs(raw, db),
        instance,
        DAY,
        DAY,
        select="key:nba_raw/schedule or key:nba_raw/player_props",
        progress=None,
    )
    assert summary.success  # WARN: the day's other quotes are good
    assert "nba_raw/player_props:prices_valid@2025-11-05 (WARN)" in summary.checks_failed
    rec = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(tables.player_props.asset_key, "prices_valid")]
    ).popitem()[1]
    evaluation = rec.event.dagster_event.event_specific_data
    assert evaluation.description.startswith("2025-11-05: 1 price(s) not valid American odds")
    assert f"raw_20251105_170000.csv line {first} over_odds 0.0" in evaluation.description
    assert query(
        db, "SELECT count(*) FROM nba_raw.player_props WHERE abs(over_odds) < 100 OR abs(under_odds) < 100"
    ) == [(0,)]


def test_a_snapshot_cut_short_fails_naming_its_last_line(raw, tmp_path, instance):
    path = raw / SNAPSHOT
    text = path.read_text()
    cut = text[: len(text) // 2]
    cut = cut[: cut.rindex("-112.0") + 2] if "-112.0" in cut else cut.rstrip("\n")[:-2]  # inside the last field
    path.write_text(cut)
    n_lines = cut.count("\n") + 1
    with pytest.raises(FeedError) as err:
        build.player_props(FilesSource(raw_dir=str(raw)), DAY, DAY)
    assert str(err.value).startswith(f"{path}, line {n_lines}: the file ends inside this line (no final newline)")
    db = tmp_path / "w.duckdb"
    summary = run_backfill(
        make_defs(raw, db),
        instance,
        DAY,
        DAY,
        select="key:nba_raw/schedule or key:nba_raw/player_props",
        progress=None,
    )
    assert not summary.success and any("no final newline" in f for f in summary.step_failures)
    assert not instance.fetch_materializations(tables.player_props.asset_key, limit=1).records
    # the games still land: their tip-off times come from elsewhere, and the schedule says why
    sched = instance.fetch_materializations(tables.schedule.asset_key, limit=1).records
    assert (
        sched and "no final newline" in sched[0].asset_materialization.metadata["start_times_without_odds_feeds"].value
    )


def test_a_byte_that_is_not_utf8_is_named_by_line_and_column(raw):
    path = raw / SNAPSHOT
    lines = path.read_bytes().split(b"\n")
    n = _points_lines(path)[5]
    row = lines[n - 1].split(b",")
    row[1] = row[1][:3] + b"\xe1" + row[1][3:]  # the player's name, in Latin-1
    lines[n - 1] = b",".join(row)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(FeedError) as err:
        build.player_props(FilesSource(raw_dir=str(raw)), DAY, DAY)
    assert str(err.value).startswith(f"{path}, line {n}, column 'player': not UTF-8: byte(s) e1 at character")


def test_one_key_quoted_at_two_prices_is_named_by_both_lines(raw):
    path = raw / SNAPSHOT
    text = path.read_text().splitlines(keepends=True)
    n = _points_lines(path)[0]
    header = text[0].rstrip("\n").split(",")
    row = text[n - 1].rstrip("\n").split(",")
    row[header.index("over_odds")] = "-130.0" if row[header.index("over_odds")] != "-130.0" else "-140.0"
    path.write_text("".join(text) + ",".join(row) + "\n")
    last = len(text) + 1
    with pytest.raises(FeedError) as err:
        build.player_props(FilesSource(raw_dir=str(raw)), DAY, DAY)
    message = str(err.value)
    assert message.startswith(
        f"{path}, line {n}: duplicate grain (snapshot_time, event_id, market, bookmaker, odds_player_name, line)"
    )
    assert f"again on line(s) {last}" in message and "table nba_raw.player_props, partition 2025-11-05" in message


def test_a_line_outside_its_markets_range_is_dropped_and_listed(raw, tmp_path, instance):
    """A points-sized line in the rebounds market (and a line of 0 threes) is a feed mixing markets
    up, not a quote: dropped, named by file and line, the day's other quotes stored; a whole line
    inside its range is a quote like any other."""
    path = raw / SNAPSHOT
    rebounds, threes, assists = (
        _market_lines(path, m)[0] for m in ("player_rebounds", "player_threes", "player_assists")
    )
    _set_cells(path, {rebounds: {"line": "55.5"}, threes: {"line": "0.0"}, assists: {"line": "7.0"}})
    props, facts = build.player_props(FilesSource(raw_dir=str(raw)), DAY, DAY)
    assert facts[DROPPED_LINES][["file", "line", "market", "value"]].values.tolist() == [
        ["raw_20251105_170000.csv", rebounds, "player_rebounds", 55.5],
        ["raw_20251105_170000.csv", threes, "player_threes", 0.0],
    ]
    assert len(props) == 6238 - 2
    assert (
        facts["rows_by_market"]["player_rebounds"] == 1204 - 1 and facts["rows_by_market"]["player_threes"] == 908 - 1
    )
    assert ((props.market == "player_assists") & (props.line == 7.0)).sum() == 1

    db = tmp_path / "w.duckdb"
    summary = run_backfill(
        make_defs(raw, db),
        instance,
        DAY,
        DAY,
        select="key:nba_raw/schedule or key:nba_raw/player_props",
        progress=None,
    )
    assert summary.success  # WARN: the day's other quotes are good
    assert [f for f in summary.checks_failed if f.startswith("nba_raw/player_props:")] == [
        "nba_raw/player_props:lines_valid@2025-11-05 (WARN)"
    ]
    rec = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(tables.player_props.asset_key, "lines_valid")]
    ).popitem()[1]
    evaluation = rec.event.dagster_event.event_specific_data
    assert evaluation.description.startswith("2025-11-05: 2 quote(s) with a line outside their market's range dropped")
    assert f"raw_20251105_170000.csv line {rebounds} player_rebounds 55.5" in evaluation.description
    assert evaluation.metadata["lines_dropped"].value == 2
    (mat,) = instance.fetch_materializations(tables.player_props.asset_key, limit=1).records
    assert mat.asset_materialization.metadata["lines_dropped"].value == 2
    assert query(
        db,
        "SELECT count(*), count(*) FILTER (WHERE market = 'player_rebounds' AND line > 30.5) FROM nba_raw.player_props",
    ) == [(6236, 0)]
