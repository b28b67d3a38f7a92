"""The analytics checks added for every prop market (issue 18): each passes on what the transforms
build and fails, naming the partition and what disagreed, when the stored rows say otherwise."""

from __future__ import annotations

import pandas as pd
import pytest

from nba_pipeline.analytics import checks, tables, transforms
from nba_pipeline.raw import tables as raw
from nba_pipeline_tests.analytics.test_transforms import (
    GAME_D,
    D,
    _market_props,
    _player_history,
    _props,
    _team_inputs,
    _team_schedule,
    _ts,
    frame,
    prop_row,
)

KEYS = [D]


def _by_column(outcome) -> dict:
    return outcome.metadata["disagreements_by_column"].value


# player_game_summary: the market stats restate the box score -----------------------------------
def _pgs():
    players = _player_history()
    players = players.assign(
        reb=pd.array(range(len(players)), dtype="Int64"), ast=pd.array([3] * len(players), dtype="Int64")
    )
    teams = frame(
        raw.team_boxscores,
        [
            {
                "game_date": r.game_date,
                "game_id": r.game_id,
                "season": r.season,
                "season_type": "regular",
                "team": t,
                "team_id": 1,
                "opponent": "X",
                "is_home": True,
                "win": True,
                "minutes": 240,
                "plus_minus": 0.0,
                "source": "team_game_log",
                **{c: 100 for c in ("points", "fga", "fta", "tov")},
            }
            for r in players.drop_duplicates(["game_id", "team"]).itertuples()
            for t in [r.team]
        ],
    )
    return players, tables.player_game_summary.conform(transforms.player_game_summary(players, teams))


def test_player_rows_match_boxscores_passes_on_the_transform():
    players, pgs = _pgs()
    days = sorted(pgs["game_date"].dt.strftime("%Y-%m-%d").unique())
    out = checks.player_rows_match_boxscores(pgs, players, days)
    assert all(o.passed for o in out.values())
    assert out[D].metadata["rows"] == 2 and out[D].metadata["disagreements"] == 0


def test_a_pra_that_is_not_points_rebounds_assists_fails():
    players, pgs = _pgs()
    bad = pgs.copy()
    row = bad.index[(bad["game_date"] == pd.Timestamp(D)) & (bad["player_id"] == 3)][0]
    bad.loc[row, "pra"] += 1
    bad.loc[row, "reb"] -= 2
    out = checks.player_rows_match_boxscores(bad, players, [D, "2024-11-05"])
    assert out["2024-11-05"].passed
    assert not out[D].passed
    assert _by_column(out[D]) == {"pra": 1, "reb": 1}
    assert out[D].description.startswith(f"{D}: 2 disagreement(s) (pra 1, reb 1)")
    # the record count's metadata stays beside it
    assert out[D].metadata["missing"] == 0 and out[D].metadata["stats_examples"].value


def test_a_missing_player_row_fails_the_count_with_the_values_still_compared():
    players, pgs = _pgs()
    out = checks.player_rows_match_boxscores(pgs[pgs["player_id"] != 1], players, [D])
    assert not out[D].passed and out[D].metadata["missing"] == 1
    assert out[D].description.startswith(f"{D}: 1 row(s) for 2 expected; missing 1")


# team_defense_game_summary: rebounds and assists allowed are the opponent's ---------------------
def test_allowed_rebounds_and_assists_mirror_the_opponents_offence():
    teams, schedule = _team_inputs()
    off, dfn = transforms.team_game_summaries(teams, schedule)
    off = tables.team_offense_game_summary.conform(off)
    dfn = tables.team_defense_game_summary.conform(dfn)
    assert checks.defense_mirrors_offense(dfn, off, ["2024-11-01"])["2024-11-01"].passed
    # the bug this catches: a team's own rebounds stored as allowed
    own = dfn.assign(
        opp_reb=off.set_index(["game_id", "team"])["reb"]
        .reindex(pd.MultiIndex.from_frame(dfn[["game_id", "team"]]))
        .to_numpy()
    )
    out = checks.defense_mirrors_offense(own, off, ["2024-11-01"])["2024-11-01"]
    assert not out.passed and out.metadata["mismatched"].value == [["0022400001", "LAL"], ["0022400001", "BOS"]]
    out = checks.defense_mirrors_offense(dfn.assign(opp_ast=dfn["opp_ast"] + 1), off, ["2024-11-01"])["2024-11-01"]
    assert not out.passed and out.description.startswith("2024-11-01: 4 of 4 team-game(s)")


# player_prop_quotes ------------------------------------------------------------------------------
def _raw_props() -> pd.DataFrame:
    return pd.concat([_props(), _market_props()], ignore_index=True)


def _stored_quotes() -> pd.DataFrame:
    quotes, _ = transforms.player_prop_quotes(_raw_props(), _team_schedule())
    return tables.player_prop_quotes.conform(quotes)


def _quote_checks(quotes: pd.DataFrame) -> dict:
    props, schedule = _raw_props(), _team_schedule()
    return {
        "count": checks.quotes_one_per_latest_line(quotes, props, schedule, KEYS)[D],
        "raw": checks.quotes_match_raw(quotes, props, schedule, KEYS)[D],
        "main": checks.one_main_line_per_book(quotes, KEYS)[D],
    }


def _at(quotes: pd.DataFrame, player_id: int, market: str, book: str, line: float) -> int:
    q = quotes
    hit = (q["player_id"] == player_id) & (q["market"] == market) & (q["bookmaker"] == book) & (q["line"] == line)
    (row,) = q.index[hit]
    return row


def test_quote_checks_pass_on_the_transform():
    out = _quote_checks(_stored_quotes())
    assert all(o.passed for o in out.values()), {k: o.description for k, o in out.items()}
    assert out["count"].metadata["rows"] == 15
    assert out["raw"].metadata["quotes_compared"] == 15
    assert out["main"].metadata["books_compared"] == 9


def test_a_missing_quote_fails_the_count():
    q = _stored_quotes()
    q = q.drop(index=_at(q, 1, "player_rebounds", "fanduel", 7.5))
    out = _quote_checks(q)
    assert not out["count"].passed and out["count"].metadata["missing"] == 1
    assert out["count"].metadata["examples"].value["missing"] == [[GAME_D, "1", "player_rebounds", "fanduel", "7.5"]]


def test_a_price_not_the_books_fails_the_reconciliation():
    q = _stored_quotes()
    q.loc[_at(q, 1, "player_points", "fanduel", 23.5), "under_odds"] = -110.0
    out = _quote_checks(q)
    assert out["count"].passed
    assert not out["raw"].passed
    # the probability still follows the stored prices' old value: it disagrees too
    assert _by_column(out["raw"]) == {"over_odds/under_odds": 1, "over_prob_no_vig": 1}
    assert ["-115.0/-110.0", "-115.0/-105.0"] == [
        e[-2:] for e in out["raw"].metadata["examples"].value if e[-3] == "over_odds/under_odds"
    ][0]


def test_the_second_names_prices_are_the_books_too():
    """Of two odds names at a line the exact name's quote is kept; the alias's prices are the
    book's as well, so storing them passes."""
    q = _stored_quotes()
    row = _at(q, 1, "player_rebounds", "betrivers", 7.5)
    q.loc[row, ["over_odds", "under_odds"]] = [-120.0, 100.0]
    q.loc[row, "over_prob_no_vig"] = transforms.no_vig_over_prob(pd.Series([-120.0]), pd.Series([100.0]))[0]
    assert _quote_checks(q)["raw"].passed


def test_an_older_snapshot_fails_the_reconciliation():
    """fanduel's 24.5 of its 15:00 snapshot, where its 20:00 snapshot superseded it."""
    q = _stored_quotes()
    row = _at(q, 1, "player_points", "fanduel", 24.5)
    q.loc[row, ["snapshot_time", "over_odds", "under_odds", "over_prob_no_vig"]] = [
        _ts("2024-11-10 15:00"),
        -110.0,
        -110.0,
        0.5,
    ]
    out = _quote_checks(q)
    assert not out["raw"].passed and _by_column(out["raw"]) == {"snapshot_time": 1}


def test_a_quote_after_tip_off_fails():
    q = _stored_quotes()
    late = frame(
        tables.player_prop_quotes,
        [
            {
                "game_date": D,
                "game_id": GAME_D,
                "player_id": 1,
                "player_name": "Player 1",
                "market": "player_points",
                "bookmaker": "draftkings",
                "line": 30.5,
                "over_odds": -110.0,
                "under_odds": -110.0,
                "over_prob_no_vig": 0.5,
                "snapshot_time": _ts("2024-11-11 01:00"),
                "main_line": False,
            }
        ],
    )
    out = _quote_checks(pd.concat([q, late], ignore_index=True))
    assert not out["count"].passed and out["count"].metadata["unexpected"] == 1
    assert not out["raw"].passed
    assert _by_column(out["raw"]) == {"before_tip_off": 1}
    (example,) = out["raw"].metadata["examples"].value
    assert example[-1] == "before 2024-11-11 00:30:00+00:00"


def test_a_wrong_no_vig_probability_fails():
    q = _stored_quotes()
    q.loc[_at(q, 1, "player_rebounds", "fanduel", 6.5), "over_prob_no_vig"] = 0.6
    out = _quote_checks(q)
    assert not out["raw"].passed and _by_column(out["raw"]) == {"over_prob_no_vig": 1}


@pytest.mark.parametrize(
    "change, failed",
    [
        ({("player_points", "fanduel", 22.5): True}, {"main_lines": 1}),  # two main lines
        ({("player_points", "fanduel", 23.5): False}, {"main_lines": 1}),  # none
        # the tie (-115/-105 vs -105/-115) goes to the lower line, not the higher
        ({("player_rebounds", "fanduel", 6.5): False, ("player_rebounds", "fanduel", 7.5): True}, {"main_line": 1}),
    ],
    ids=["two", "none", "not_closest_to_even"],
)
def test_main_lines_one_per_book_closest_to_even(change, failed):
    q = _stored_quotes()
    for (market, book, line), main in change.items():
        q.loc[_at(q, 1, market, book, line), "main_line"] = main
    out = _quote_checks(q)["main"]
    assert not out.passed and _by_column(out) == failed


# upcoming_player_game_context: the consensus restates the quotes -----------------------------------
def _context_and_quotes():
    quotes = _stored_quotes()
    ctx = transforms.upcoming_player_game_context(_team_schedule(), _player_history(), quotes, pd.DatetimeIndex([D]))
    return tables.upcoming_player_game_context.conform(ctx), quotes


def test_lines_match_quotes_passes_on_the_transform():
    ctx, quotes = _context_and_quotes()
    out = checks.lines_match_quotes(ctx, quotes, KEYS)[D]
    assert out.passed and out.metadata["players_compared"] == 3


@pytest.mark.parametrize(
    "column, value",
    [
        ("rebounds_line", 8.0),
        ("rebounds_line_books", 3),
        ("points_line_over_prob", 0.5),
        ("assists_line", 3.5),  # player 1 has no assists quote
        ("line_snapshot_time", _ts("2024-11-10 20:00")),
    ],
)
def test_a_consensus_that_is_not_the_quotes_fails(column, value):
    ctx, quotes = _context_and_quotes()
    ctx.loc[ctx["player_id"] == 1, column] = value
    out = checks.lines_match_quotes(ctx, quotes, KEYS)[D]
    assert not out.passed and _by_column(out) == {column: 1}
    assert out.description.startswith(f"{D}: 1 disagreement(s) ({column} 1)")


def test_a_quoted_player_outside_the_context_is_only_the_warns_business():
    """Quotes of a player without a context row are counted by line_players_in_context (WARN), not here."""
    ctx, quotes = _context_and_quotes()
    extra = pd.concat(
        [_raw_props(), frame(raw.player_props, [prop_row(9, "fanduel", "2024-11-10 12:00", 10.5, -110, -110)])]
    )
    more, _ = transforms.player_prop_quotes(extra, _team_schedule())
    more = tables.player_prop_quotes.conform(more)
    assert checks.lines_match_quotes(ctx, more, KEYS)[D].passed
    warn = checks.line_players_in_context(ctx, more, KEYS)[D]
    assert warn.metadata["line_players"] == 3 and warn.metadata["in_context"] == 2 and not warn.passed
