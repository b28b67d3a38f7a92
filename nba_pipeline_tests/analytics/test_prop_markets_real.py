"""Every prop market on the real data of 2025-11-05 (../shared/data/nba): the quotes table against
an independent count of the odds CSVs, consensus lines worked out by hand from the CSV's rows, the
checks on real frames, and the per-stat windows against the player game logs CSV.

The frames come from the raw builders (`raw/build.py`) over the shared files, then the pure
transforms, as `raw/test_build.py` does: no Dagster run."""

from __future__ import annotations

import datetime as dt
import statistics

import pandas as pd
import pytest

from nba_pipeline.analytics import checks, tables, transforms
from nba_pipeline.precompute import tables as precompute
from nba_pipeline.precompute import transforms as precompute_transforms
from nba_pipeline.raw import build
from nba_pipeline.raw.names import match_player_names
from nba_pipeline.raw.sources.files import FilesSource
from nba_pipeline.raw.tables import PROP_LINE_RANGES, PROP_MARKETS
from nba_pipeline_tests.conftest import REAL_DATA, needs_real_data

pytestmark = needs_real_data
DAY = dt.date(2025, 11, 5)
KEY = DAY.isoformat()
JOKIC, CLAXTON = 203999, 1629651


@pytest.fixture(scope="module")
def real():
    src = FilesSource(raw_dir=str(REAL_DATA))
    season = dt.date(2025, 10, 1)
    props, _ = build.player_props(src, DAY, DAY)
    schedule, _ = build.schedule(src, season, DAY)
    players, _ = build.player_boxscores(src, season, DAY)
    teams, _ = build.team_boxscores(src, season, DAY)
    day_schedule = schedule[schedule["game_date"] == pd.Timestamp(DAY)]
    quotes, facts = transforms.player_prop_quotes(props, day_schedule)
    quotes = tables.player_prop_quotes.validate(quotes, [KEY])
    history = players[players["game_date"] < pd.Timestamp(DAY)]
    context = transforms.upcoming_player_game_context(schedule, history, quotes, pd.DatetimeIndex([DAY]))
    context = tables.upcoming_player_game_context.validate(context, [KEY])
    summary = transforms.player_game_summary(players, teams)
    return dict(
        props=props, schedule=day_schedule, quotes=quotes, facts=facts, context=context, summary=summary, src=src
    )


def _csv_quotes() -> pd.DataFrame:
    """The odds CSVs read with plain pandas: rows of the day's games (Eastern date of game_time)."""
    frames = []
    for path in sorted((REAL_DATA / "odds" / "player_props").glob("raw_*.csv")):
        snapshot = pd.Timestamp(dt.datetime.strptime(path.stem, "raw_%Y%m%d_%H%M%S"), tz="UTC")
        frames.append(pd.read_csv(path).assign(snapshot_time=snapshot))
    csv = pd.concat(frames, ignore_index=True)
    csv["tip"] = pd.to_datetime(csv["game_time"], utc=True)
    return csv[csv["tip"].dt.tz_convert("America/New_York").dt.date == DAY].reset_index(drop=True)


def test_quotes_are_the_csvs_latest_pre_tip_off_lines_of_matched_players(real):
    csv = _csv_quotes()
    csv = csv[csv["market"].isin(list(PROP_MARKETS))]
    low = csv["market"].map({m: r[0] for m, r in PROP_LINE_RANGES.items()})
    high = csv["market"].map({m: r[1] for m, r in PROP_LINE_RANGES.items()})
    csv = csv[csv["line"].between(low, high) & (csv["snapshot_time"] < csv["tip"])]
    reference = pd.read_csv(REAL_DATA / "reference" / "players.csv")
    csv = csv.assign(player_id=match_player_names(csv["player"], reference).player_id)
    csv = csv[csv["player_id"].notna()]
    # the game is one of the day's scheduled games (full team names -> abbreviations)
    abbreviation = pd.read_csv(REAL_DATA / "reference" / "teams.csv").set_index("full_name")["abbreviation"]
    sides = csv["game"].str.split(" @ ", expand=True)
    scheduled = set(zip(real["schedule"]["away_team"], real["schedule"]["home_team"]))
    csv = csv[[(a, h) in scheduled for a, h in zip(sides[0].map(abbreviation), sides[1].map(abbreviation))]]
    book = ["event_id", "player_id", "market", "bookmaker"]
    csv = csv[csv["snapshot_time"] == csv.groupby(book)["snapshot_time"].transform("max")]
    expected = csv.drop_duplicates([*book, "line"])

    assert len(real["quotes"]) == len(expected) == 6238
    assert real["quotes"].groupby("market").size().to_dict() == expected.groupby("market").size().to_dict()
    assert real["quotes"]["main_line"].sum() == len(expected.drop_duplicates(book))
    assert real["facts"]["quotes_at_or_after_tip_off"] == 0 and real["facts"]["quotes_without_player_or_game"] == 0


def _no_vig(over: float, under: float) -> float:
    p = lambda o: -o / (-o + 100) if o < 0 else 100 / (o + 100)  # noqa: E731
    return p(over) / (p(over) + p(under))


# each book's main rebounds line on 2025-11-05, read off raw_20251105_170000.csv by hand (bovada
# lists a ladder: the rung closest to even is its main line)
JOKIC_REBOUNDS = {  # Miami Heat @ Denver Nuggets
    "betmgm": (12.5, -110, -120),
    "betonlineag": (12.5, -105, -123),
    "betrivers": (11.5, -122, -108),
    "bovada": (12.5, 105, -135),  # of 10.5 -230/+170, 11.5 -145/+110, 12.5 +105/-135, 13.5 +155/-210
    "draftkings": (12.5, -112, -115),
    "fanatics": (12.5, -110, -120),
    "fanduel": (12.5, -104, -128),
    "williamhill_us": (12.5, -108, -125),
}
CLAXTON_REBOUNDS = {  # the odds feed's "Nicolas Claxton" (an alias); Brooklyn Nets @ Indiana Pacers
    "betmgm": (8.5, 130, -175),
    "betonlineag": (8.5, 113, -147),
    "betrivers": (7.5, -124, -108),
    "bovada": (7.5, -135, 105),  # of 6.5 -245/+180, 7.5 -135/+105, 8.5 +120/-160, 9.5 +200/-275
    "draftkings": (8.5, 110, -142),
    "fanatics": (7.5, -145, 110),
    "fanduel": (8.5, 118, -158),
    "williamhill_us": (8.5, 113, -155),
}


@pytest.mark.parametrize(
    "player_id, books, line",
    [(JOKIC, JOKIC_REBOUNDS, 12.5), (CLAXTON, CLAXTON_REBOUNDS, 8.5)],
    ids=["jokic", "claxton"],
)
def test_consensus_rebounds_line_is_the_median_of_the_books_main_lines(real, player_id, books, line):
    q = real["quotes"]
    main = q[(q["player_id"] == player_id) & (q["market"] == "player_rebounds") & q["main_line"]]
    assert {r.bookmaker: (r.line, r.over_odds, r.under_odds) for r in main.itertuples()} == books
    assert statistics.median(v[0] for v in books.values()) == line
    row = real["context"].set_index("player_id").loc[player_id]
    assert row["rebounds_line"] == line
    assert row["rebounds_line_books"] == 8
    assert row["rebounds_line_over_prob"] == pytest.approx(statistics.mean(_no_vig(o, u) for _, o, u in books.values()))


def test_jokic_has_a_line_in_every_market(real):
    row = real["context"].set_index("player_id").loc[JOKIC]
    for label in PROP_MARKETS.values():
        assert pd.notna(row[f"{label}_line"]) and row[f"{label}_line_books"] > 0, label
    assert row["line_snapshot_time"] == pd.Timestamp("2025-11-05 17:00", tz="UTC")


def test_the_quote_and_line_checks_pass_on_the_real_day(real):
    q = tables.player_prop_quotes.conform(real["quotes"])
    ctx = tables.upcoming_player_game_context.conform(real["context"])
    outcomes = {
        "one_row_per_latest_line": checks.quotes_one_per_latest_line(q, real["props"], real["schedule"], [KEY]),
        "matches_raw_quotes": checks.quotes_match_raw(q, real["props"], real["schedule"], [KEY]),
        "one_main_line_per_book": checks.one_main_line_per_book(q, [KEY]),
        "lines_match_quotes": checks.lines_match_quotes(ctx, q, [KEY]),
    }
    assert {name: o[KEY].description for name, o in outcomes.items() if not o[KEY].passed} == {}
    assert outcomes["one_main_line_per_book"][KEY].metadata["books_compared"] == q["main_line"].sum()


def test_rebound_and_pra_windows_against_the_game_logs_csv(real):
    """Jokic's rebounds and PRA windows before 2025-11-05, against the player game logs CSV."""
    logs = pd.read_csv(REAL_DATA / "player_game_logs" / "2025-26.csv")
    logs["date"] = pd.to_datetime(logs["GAME_DATE"], format="%b %d, %Y")
    games = logs[(logs["Player_ID"] == JOKIC) & (logs["date"] < pd.Timestamp(DAY))].sort_values("date")
    pra = games["PTS"] + games["REB"] + games["AST"]
    cache = precompute_transforms.player_daily_cache(real["context"], real["summary"])
    precompute.player_daily_cache.validate(cache, [KEY])
    row = cache.set_index("player_id").loc[JOKIC]
    assert row["games_played"] == len(games) > 5
    assert row["reb_avg_last5"] == pytest.approx(games["REB"].tail(5).mean())
    assert row["reb_std_season"] == pytest.approx(games["REB"].std())
    assert row["ast_avg_last10"] == pytest.approx(games["AST"].tail(10).mean())
    assert row["fg3m_avg_season"] == pytest.approx(games["FG3M"].mean())
    assert row["fg3a_std_last10"] == pytest.approx(games["FG3A"].tail(10).std())
    assert row["pra_avg_last5"] == pytest.approx(pra.tail(5).mean())
    assert row["pra_avg_season"] == pytest.approx(pra.mean())
    # the summary's pra is the box score's points + rebounds + assists on every row of the season
    s = real["summary"]
    assert (s["pra"] == s["points"] + s["reb"] + s["ast"]).all()
