"""Pure transforms of the analytics layer, on tiny hand-built frames with the raw tables' dtypes.

Every expected number is worked out by hand here from the documented formulas."""

from __future__ import annotations

import pandas as pd
import pytest

from nba_pipeline.analytics import tables, transforms
from nba_pipeline.raw import tables as raw

SEASON = "2024-25"
BOX_COUNTS = [
    "points",
    "fgm",
    "fga",
    "fg3m",
    "fg3a",
    "ftm",
    "fta",
    "oreb",
    "dreb",
    "reb",
    "ast",
    "stl",
    "blk",
    "tov",
    "pf",
]


def _ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def team_row(game_date, game_id, team, opponent, *, is_home, win, minutes=240, **counts) -> dict:
    row = {
        "game_date": game_date,
        "game_id": game_id,
        "season": SEASON,
        "season_type": "regular",
        "team": team,
        "team_id": 1610612700 + len(team),
        "opponent": opponent,
        "is_home": is_home,
        "win": win,
        "minutes": minutes,
        "plus_minus": 0.0,
        "source": "team_game_log",
    }
    row.update({c: 0 for c in BOX_COUNTS})
    row.update(counts)
    return row


def player_row(game_date, game_id, player_id, team, opponent, *, minutes, season=SEASON, **counts) -> dict:
    row = {
        "game_date": game_date,
        "game_id": game_id,
        "season": season,
        "season_type": "regular",
        "player_id": player_id,
        "player_name": f"Player {player_id}",
        "team": team,
        "opponent": opponent,
        "is_home": True,
        "minutes": minutes,
        "plus_minus": 0.0,
        "starter": True,
        "in_boxscore_feed": True,
    }
    row.update({c: 0 for c in BOX_COUNTS})
    row.update(counts)
    return row


def schedule_row(
    game_date,
    game_id,
    home,
    away,
    *,
    status="final",
    home_points=100,
    away_points=90,
    overtime_periods=0,
    start=None,
    season=SEASON,
) -> dict:
    return {
        "game_date": game_date,
        "game_id": game_id,
        "season": season,
        "season_type": "regular",
        "home_team": home,
        "away_team": away,
        "home_team_id": 1,
        "away_team_id": 2,
        "status": status,
        "start_time_utc": start,
        "home_points": home_points if status == "final" else None,
        "away_points": away_points if status == "final" else None,
        "overtime_periods": overtime_periods if status == "final" else None,
        "player_stats_expected": True,
    }


def frame(table, rows) -> pd.DataFrame:
    return table.conform(pd.DataFrame(rows))


# player_game_summary ----------------------------------------------------------------------------
def _pgs_inputs():
    teams = frame(
        raw.team_boxscores,
        [
            team_row(
                "2024-11-01", "0022400001", "LAL", "BOS", is_home=True, win=True, points=110, fga=90, fta=20, tov=15
            ),
            team_row(
                "2024-11-01", "0022400001", "BOS", "LAL", is_home=False, win=False, points=100, fga=85, fta=25, tov=10
            ),
        ],
    )
    players = frame(
        raw.player_boxscores,
        [
            # 20 FGA, 5 FTA, 3 TOV in 30 minutes; 25 points on 9/20 (2/6 from three), 5/5 FT
            player_row(
                "2024-11-01",
                "0022400001",
                1,
                "LAL",
                "BOS",
                minutes=30.0,
                points=25,
                fgm=9,
                fga=20,
                fg3m=2,
                fg3a=6,
                ftm=5,
                fta=5,
                tov=3,
                oreb=2,
                dreb=5,
                reb=7,
                ast=4,
            ),
            # under 3 minutes, no attempts at all
            player_row("2024-11-01", "0022400001", 2, "LAL", "BOS", minutes=2.5, points=0, tov=1),
            # exactly 3 minutes: usage is defined; 2 points on 1/2 two-pointers
            player_row("2024-11-01", "0022400001", 3, "BOS", "LAL", minutes=3.0, points=2, fgm=1, fga=2),
        ],
    )
    return players, teams


def test_player_game_summary_usage_true_shooting_and_two_pointers():
    players, teams = _pgs_inputs()
    out = transforms.player_game_summary(players, teams)
    tables.player_game_summary.validate(out, ["2024-11-01"])
    p = out.set_index("player_id")

    # LAL team: (90 + 0.44*20 + 15) = 113.8 possessions used; 240 team minutes -> 48 per position
    lal_used = 90 + 0.44 * 20 + 15
    assert p.loc[1, "usage_rate"] == pytest.approx((20 + 0.44 * 5 + 3) * (240 / 5) / (30 * lal_used))
    assert p.loc[1, "usage_rate"] == pytest.approx(0.3543058)
    assert p.loc[1, "true_shooting_pct"] == pytest.approx(25 / (2 * (20 + 0.44 * 5)))
    assert p.loc[1, "true_shooting_pct"] == pytest.approx(0.5630631)
    assert (p.loc[1, "fg2m"], p.loc[1, "fg2a"]) == (7, 14)
    assert p.loc[1, "fg_pct"] == pytest.approx(0.45)
    assert p.loc[1, "fg3_pct"] == pytest.approx(2 / 6)
    assert p.loc[1, "ft_pct"] == pytest.approx(1.0)
    assert (p.loc[1, "team_minutes"], p.loc[1, "team_points"]) == (240, 110)
    # the PRA market's stat: 25 points + 7 rebounds + 4 assists
    assert p.loc[1, "pra"] == 36
    assert p.loc[2, "pra"] == 0 and p.loc[3, "pra"] == 2

    # under 3 minutes: no usage; no shot and no free throw: no true shooting, no percentages
    assert pd.isna(p.loc[2, "usage_rate"])
    assert pd.isna(p.loc[2, "true_shooting_pct"])
    assert pd.isna(p.loc[2, "fg_pct"]) and pd.isna(p.loc[2, "ft_pct"])

    # exactly 3 minutes counts, against the BOS team box score (85 + 0.44*25 + 10 = 106)
    assert p.loc[3, "usage_rate"] == pytest.approx(2 * 48 / (3 * 106.0))
    assert p.loc[3, "true_shooting_pct"] == pytest.approx(0.5)
    assert (p.loc[3, "fg2m"], p.loc[3, "fg2a"], p.loc[3, "team_points"]) == (1, 2, 100)


def test_player_game_summary_without_team_box_score_names_game_and_team():
    players, teams = _pgs_inputs()
    teams = teams[teams["team"] != "BOS"]
    with pytest.raises(ValueError) as exc:
        transforms.player_game_summary(players, teams)
    msg = str(exc.value)
    assert "0022400001" in msg and "BOS" in msg
    assert "LAL" not in msg


# team_game_summaries ----------------------------------------------------------------------------
def _team_inputs():
    # one overtime game (265 minutes); the numbers make ORB% x misses come out round:
    # LAL: 10 ORB vs 38 BOS DRB -> 10/48 x 48 misses = 10;  BOS: 8 ORB vs 40 LAL DRB -> 8/48 x 48 = 8
    lal = dict(
        points=107,
        fgm=40,
        fga=88,
        fg3m=12,
        fg3a=30,
        ftm=15,
        fta=20,
        oreb=10,
        dreb=40,
        reb=50,
        tov=12,
        ast=25,
        stl=7,
        blk=5,
    )
    bos = dict(
        points=110,
        fgm=38,
        fga=86,
        fg3m=14,
        fg3a=35,
        ftm=20,
        fta=25,
        oreb=8,
        dreb=38,
        reb=46,
        tov=14,
        ast=22,
        stl=9,
        blk=3,
    )
    teams = frame(
        raw.team_boxscores,
        [
            team_row("2024-11-01", "0022400001", "LAL", "BOS", is_home=True, win=False, minutes=265, **lal),
            team_row("2024-11-01", "0022400001", "BOS", "LAL", is_home=False, win=True, minutes=265, **bos),
            # a regulation game on the same date: symmetric box scores
            team_row("2024-11-01", "0022400002", "NYK", "MIA", is_home=True, win=True, **lal),
            team_row("2024-11-01", "0022400002", "MIA", "NYK", is_home=False, win=False, **lal),
        ],
    )
    schedule = frame(
        raw.schedule,
        [
            schedule_row(
                "2024-11-01", "0022400001", "LAL", "BOS", home_points=107, away_points=110, overtime_periods=1
            ),
            schedule_row(
                "2024-11-01", "0022400002", "NYK", "MIA", home_points=107, away_points=106, overtime_periods=0
            ),
        ],
    )
    return teams, schedule


def test_team_game_summaries_possessions_pace_ratings():
    teams, schedule = _team_inputs()
    off, dfn = transforms.team_game_summaries(teams, schedule)
    tables.team_offense_game_summary.validate(off, ["2024-11-01"])
    tables.team_defense_game_summary.validate(dfn, ["2024-11-01"])
    o = off.set_index("team")
    d = dfn.set_index("team")

    poss_lal = 88 + 0.4 * 20 - 1.07 * 10 + 12  # 97.3
    poss_bos = 86 + 0.4 * 25 - 1.07 * 8 + 14  # 101.44
    poss = (poss_lal + poss_bos) / 2  # 99.37
    assert poss == pytest.approx(99.37)
    for team in ("LAL", "BOS"):
        assert o.loc[team, "possessions"] == pytest.approx(99.37)
        assert d.loc[team, "possessions"] == pytest.approx(99.37)
        assert o.loc[team, "pace"] == pytest.approx(48 * 99.37 / (265 / 5))  # 89.995...
        assert o.loc[team, "overtime_periods"] == 1
    assert o.loc["LAL", "offensive_rating"] == pytest.approx(100 * 107 / 99.37)
    assert o.loc["BOS", "offensive_rating"] == pytest.approx(100 * 110 / 99.37)

    # offence: own counts, zone points, shooting splits
    assert (o.loc["LAL", "fg2m"], o.loc["LAL", "fg2a"]) == (28, 58)
    assert (o.loc["LAL", "points_2pt"], o.loc["LAL", "points_3pt"], o.loc["LAL", "points_ft"]) == (56, 36, 15)
    assert o.loc["LAL", "efg_pct"] == pytest.approx((40 + 0.5 * 12) / 88)
    assert o.loc["LAL", "ts_pct"] == pytest.approx(107 / (2 * (88 + 0.44 * 20)))
    assert o.loc["LAL", "opp_fg3a_rate"] == pytest.approx(35 / 86)

    # defence of LAL = BOS's offence
    assert d.loc["LAL", "points_allowed"] == 110
    assert (d.loc["LAL", "opp_fgm"], d.loc["LAL", "opp_fga"], d.loc["LAL", "opp_fg2m"], d.loc["LAL", "opp_fg2a"]) == (
        38,
        86,
        24,
        51,
    )
    assert (d.loc["LAL", "opp_points_2pt"], d.loc["LAL", "opp_points_3pt"], d.loc["LAL", "opp_points_ft"]) == (
        48,
        42,
        20,
    )
    assert d.loc["LAL", "opp_tov"] == 14
    # rebounds and assists: each team's own on offence, the opponent's as allowed
    assert (o.loc["LAL", "reb"], o.loc["LAL", "ast"], o.loc["BOS", "reb"]) == (50, 25, 46)
    assert (d.loc["LAL", "opp_reb"], d.loc["LAL", "opp_ast"]) == (46, 22)
    assert (d.loc["BOS", "opp_reb"], d.loc["BOS", "opp_ast"]) == (50, 25)
    assert (d.loc["LAL", "dreb"], d.loc["LAL", "stl"], d.loc["LAL", "blk"]) == (40, 7, 5)
    assert d.loc["LAL", "defensive_rating"] == pytest.approx(100 * 110 / 99.37)
    assert d.loc["BOS", "defensive_rating"] == pytest.approx(o.loc["LAL", "offensive_rating"])
    assert d.loc["LAL", "opp_fta_rate"] == pytest.approx(25 / 86)

    # the regulation game: symmetric, so possessions = each side's own estimate, pace over 48 min
    nyk = 88 + 0.4 * 20 - 1.07 * 10 / (10 + 40) * 48 + 12
    assert o.loc["NYK", "possessions"] == pytest.approx(nyk)
    assert o.loc["NYK", "pace"] == pytest.approx(nyk)  # 48 x poss / (240 / 5)
    assert o.loc["NYK", "overtime_periods"] == 0 and o.loc["MIA", "overtime_periods"] == 0


def test_team_game_summaries_refuse_a_game_with_one_side():
    teams, schedule = _team_inputs()
    with pytest.raises(ValueError, match="BOS"):
        transforms.team_game_summaries(teams[teams["team"] != "LAL"], schedule)


# upcoming_team_game_context ---------------------------------------------------------------------
D = "2024-11-10"
D2 = "2024-11-12"
GAME_D = "0022400100"
GAME_D2 = "0022400120"
TIP_D = _ts("2024-11-11 00:30")


def _team_schedule(d_game: dict | None = None) -> pd.DataFrame:
    rows = [
        # last season: BOS's only earlier game
        schedule_row("2024-04-14", "0022301230", "BOS", "NYK", season="2023-24"),
        # LAL and GSW this season: 11-02, 11-03, 11-05, 11-09
        schedule_row("2024-11-02", "0022400010", "LAL", "GSW"),
        schedule_row("2024-11-03", "0022400020", "GSW", "LAL"),
        schedule_row("2024-11-05", "0022400030", "LAL", "GSW"),
        schedule_row("2024-11-09", "0022400040", "GSW", "LAL"),
        d_game or schedule_row(D, GAME_D, "LAL", "BOS", start=TIP_D, home_points=120, away_points=100),
        # D2: no tip-off time in the schedule, the lines' commence time is used
        schedule_row(D2, GAME_D2, "GSW", "LAL", status="scheduled"),
    ]
    return frame(raw.schedule, rows)


def line_row(game_id, book, snapshot, *, spread, total, commence=TIP_D, home="LAL", away="BOS", game_date=D):
    return {
        "game_date": game_date,
        "event_id": f"ev{game_id}",
        "game_id": game_id,
        "bookmaker": book,
        "snapshot_time": _ts(snapshot),
        "commence_time": commence,
        "home_team": home,
        "away_team": away,
        "home_spread": spread,
        "total": total,
    }


def _game_lines() -> pd.DataFrame:
    return frame(
        raw.game_lines,
        [
            line_row(GAME_D, "fanduel", "2024-11-10 15:00", spread=-5.0, total=220.0),
            line_row(GAME_D, "fanduel", "2024-11-10 20:00", spread=-6.0, total=222.0),  # fanduel's latest
            line_row(GAME_D, "draftkings", "2024-11-10 18:00", spread=-4.0, total=226.0),
            line_row(GAME_D, "draftkings", "2024-11-11 01:00", spread=10.0, total=250.0),  # after tip-off
            line_row(GAME_D, "betmgm", "2024-11-10 19:00", spread=-7.0, total=224.0),
            line_row(GAME_D, "caesars", "2024-11-11 00:30", spread=0.0, total=300.0),  # at tip-off
            line_row(
                GAME_D2,
                "fanduel",
                "2024-11-12 18:00",
                spread=-2.0,
                total=230.0,
                commence=_ts("2024-11-13 03:00"),
                home="GSW",
                away="LAL",
                game_date=D2,
            ),
            line_row(
                GAME_D2,
                "betmgm",
                "2024-11-13 03:05",
                spread=-9.0,
                total=199.0,
                commence=_ts("2024-11-13 03:00"),
                home="GSW",
                away="LAL",
                game_date=D2,
            ),
        ],
    )


def test_upcoming_team_context_rest_and_lines():
    out = transforms.upcoming_team_game_context(_team_schedule(), _game_lines(), pd.DatetimeIndex([D]))
    tables.upcoming_team_game_context.validate(out, [D])
    r = out.set_index("team")
    assert sorted(r.index) == ["BOS", "LAL"]

    # LAL played 11-02, 11-03, 11-05, 11-09: back to back; the 7 days before D are 11-03 .. 11-09
    assert r.loc["LAL", "rest_days"] == 0
    assert bool(r.loc["LAL", "back_to_back"]) is True
    assert r.loc["LAL", "games_last_7_days"] == 3
    assert r.loc["LAL", "season_games_played"] == 4
    # BOS last played last season: no rest days this season, nothing played yet
    assert pd.isna(r.loc["BOS", "rest_days"])
    assert bool(r.loc["BOS", "back_to_back"]) is False
    assert r.loc["BOS", "games_last_7_days"] == 0
    assert r.loc["BOS", "season_games_played"] == 0
    assert pd.isna(r.loc["LAL", "opponent_rest_days"]) and r.loc["BOS", "opponent_rest_days"] == 0
    assert bool(r.loc["BOS", "opponent_back_to_back"]) is True
    assert bool(r.loc["LAL", "opponent_back_to_back"]) is False

    # books' latest snapshots before tip-off: fanduel -6/222, draftkings -4/226, betmgm -7/224
    assert r.loc["LAL", "lines_books"] == 3
    assert r.loc["LAL", "spread"] == pytest.approx(-6.0)
    assert r.loc["BOS", "spread"] == pytest.approx(6.0)
    assert r.loc["LAL", "game_total"] == pytest.approx(224.0)
    assert r.loc["LAL", "implied_team_total"] == pytest.approx(224 / 2 + 6 / 2)
    assert r.loc["BOS", "implied_team_total"] == pytest.approx(224 / 2 - 6 / 2)
    assert r.loc["LAL", "lines_snapshot_time"] == _ts("2024-11-10 20:00")


def test_upcoming_team_context_several_dates_in_one_call():
    out = transforms.upcoming_team_game_context(_team_schedule(), _game_lines(), pd.DatetimeIndex([D, D2]))
    tables.upcoming_team_game_context.validate(out, [D, D2])
    r = out.set_index(["game_date", "team"])
    d2 = pd.Timestamp(D2)
    # on D2 LAL's game of D counts (it is before D2): last game 11-10, 7 days before = 11-05 .. 11-11
    assert r.loc[(d2, "LAL"), "rest_days"] == 1
    assert bool(r.loc[(d2, "LAL"), "back_to_back"]) is False
    assert r.loc[(d2, "LAL"), "games_last_7_days"] == 3
    assert r.loc[(d2, "LAL"), "season_games_played"] == 5
    assert r.loc[(d2, "GSW"), "rest_days"] == 2
    assert r.loc[(d2, "GSW"), "games_last_7_days"] == 2
    assert r.loc[(d2, "GSW"), "season_games_played"] == 4
    # no schedule tip-off on D2: the lines' commence time bounds the snapshots (betmgm's is after)
    assert r.loc[(d2, "GSW"), "lines_books"] == 1
    assert r.loc[(d2, "GSW"), "spread"] == pytest.approx(-2.0)
    assert r.loc[(d2, "LAL"), "game_total"] == pytest.approx(230.0)
    # D's rows are the same as in a single-date run
    single = transforms.upcoming_team_game_context(_team_schedule(), _game_lines(), pd.DatetimeIndex([D]))
    pd.testing.assert_frame_equal(out[out["game_date"] == pd.Timestamp(D)].reset_index(drop=True), single)


@pytest.mark.parametrize(
    "d_game",
    [
        schedule_row(D, GAME_D, "LAL", "BOS", start=TIP_D, home_points=80, away_points=150, overtime_periods=3),
        schedule_row(D, GAME_D, "LAL", "BOS", start=TIP_D, status="scheduled"),
    ],
    ids=["other_result", "not_played"],
)
def test_upcoming_team_context_ignores_the_dates_own_result(d_game):
    dates = pd.DatetimeIndex([D])
    base = transforms.upcoming_team_game_context(_team_schedule(), _game_lines(), dates)
    changed = transforms.upcoming_team_game_context(_team_schedule(d_game), _game_lines(), dates)
    pd.testing.assert_frame_equal(base, changed)


def test_upcoming_team_context_without_lines_has_zero_books():
    lines = _game_lines().iloc[0:0]
    out = transforms.upcoming_team_game_context(_team_schedule(), lines, pd.DatetimeIndex([D]))
    assert (out["lines_books"] == 0).all()
    assert out["spread"].isna().all() and out["game_total"].isna().all()


# upcoming_player_game_context -------------------------------------------------------------------
def _player_history(d_minutes: float = 40.0, d_points: int = 50, with_d: bool = True) -> pd.DataFrame:
    rows = [
        # player 1 (LAL): 11-02, 11-03, 11-05, 11-09
        *[
            player_row(day, gid, 1, "LAL", "GSW", minutes=m, points=20)
            for day, gid, m in [
                ("2024-11-02", "0022400010", 30.0),
                ("2024-11-03", "0022400020", 32.0),
                ("2024-11-05", "0022400030", 34.0),
                ("2024-11-09", "0022400040", 36.0),
            ]
        ],
        # player 2 (BOS): only last season, 210 days before D
        player_row("2024-04-14", "0022301230", 2, "BOS", "NYK", minutes=20.0, season="2023-24"),
        # player 3: BOS on 11-01, then traded to GSW: not on BOS's roster on D
        player_row("2024-11-01", "0022400005", 3, "BOS", "NYK", minutes=25.0),
        player_row("2024-11-05", "0022400030", 3, "GSW", "LAL", minutes=26.0),
        # player 4: LAL, but 345 days ago, beyond the roster lookback
        player_row("2023-12-01", "0022300300", 4, "LAL", "PHX", minutes=15.0, season="2023-24"),
        # player 5: LAL, one game this season, no points line on D
        player_row("2024-11-09", "0022400040", 5, "LAL", "GSW", minutes=10.0),
    ]
    if with_d:
        # D's own results: must change nothing
        rows += [
            player_row(D, GAME_D, 1, "LAL", "BOS", minutes=d_minutes, points=d_points),
            player_row(D, GAME_D, 3, "BOS", "LAL", minutes=d_minutes, points=d_points),
        ]
    return frame(raw.player_boxscores, rows)


def prop_row(player_id, book, snapshot, line, over, under, market="player_points") -> dict:
    return {
        "game_date": D,
        "snapshot_time": _ts(snapshot),
        "event_id": "evD",
        "game_id": GAME_D,
        "game_start_time": TIP_D,
        "home_team": "LAL",
        "away_team": "BOS",
        "market": market,
        "odds_player_name": f"Player {player_id}",
        "player_id": player_id,
        "player_name": f"Player {player_id}",
        "name_match": "exact",
        "bookmaker": book,
        "line": line,
        "over_odds": over,
        "under_odds": under,
    }


def _props() -> pd.DataFrame:
    return frame(
        raw.player_props,
        [
            # player 1, fanduel: an old snapshot, then alternate lines in its latest one
            prop_row(1, "fanduel", "2024-11-10 15:00", 24.5, -110, -110),
            prop_row(1, "fanduel", "2024-11-10 20:00", 22.5, -150, 120),
            prop_row(1, "fanduel", "2024-11-10 20:00", 23.5, -115, -105),  # closest to even: main line
            prop_row(1, "fanduel", "2024-11-10 20:00", 24.5, 105, -125),
            prop_row(1, "draftkings", "2024-11-10 19:00", 24.5, -110, -110),
            prop_row(1, "draftkings", "2024-11-11 01:00", 30.5, -110, -110),  # after tip-off
            prop_row(1, "betmgm", "2024-11-10 21:00", 25.5, 100, -120),
            # player 2: one book
            prop_row(2, "fanduel", "2024-11-10 12:00", 18.5, -110, -110),
            # unmatched name: ignored
            {
                **prop_row(2, "betmgm", "2024-11-10 12:00", 40.5, -110, -110),
                "player_id": None,
                "player_name": None,
                "name_match": "unmatched",
                "odds_player_name": "Someone Else",
            },
        ],
    )


def _market_props() -> pd.DataFrame:
    """Other markets, and the cases the quotes table decides: mirrored prices (a tie), a whole
    line, one-sided prices, a quote at tip-off, two odds names of one player, a quote without a game."""

    def reb(book, snapshot, line, over, under, **kw):
        return {**prop_row(1, book, snapshot, line, over, under, market="player_rebounds"), **kw}

    return frame(
        raw.player_props,
        [
            # fanduel: -115/-105 and -105/-115 are equally far from even: the lower line is main
            reb("fanduel", "2024-11-10 20:00", 6.5, -115, -105),
            reb("fanduel", "2024-11-10 20:00", 7.5, -105, -115),
            # draftkings: a whole line at even (main), an alternate priced on one side only
            reb("draftkings", "2024-11-10 19:00", 8.0, -110, -110),
            reb("draftkings", "2024-11-10 19:00", 9.0, 150, None),
            # betmgm: only over prices, no no-vig probability: the lower line is main
            reb("betmgm", "2024-11-10 21:00", 7.5, -140, None),
            reb("betmgm", "2024-11-10 21:00", 8.5, 120, None),
            # caesars: a snapshot taken at tip-off is not a pre-game quote
            reb("caesars", "2024-11-11 00:30", 5.5, -110, -110),
            # betrivers: two odds names of player 1; at 7.5 the exact name's quote is kept
            reb("betrivers", "2024-11-10 20:00", 7.5, -110, -110),
            reb("betrivers", "2024-11-10 20:00", 7.5, -120, 100, odds_player_name="P. One", name_match="alias"),
            reb("betrivers", "2024-11-10 20:00", 10.5, 200, -250, odds_player_name="P. One", name_match="alias"),
            # player 2's assists
            prop_row(2, "draftkings", "2024-11-10 18:00", 3.5, -110, -110, market="player_assists"),
            # a game the schedule does not know: no game id
            {**prop_row(3, "fanduel", "2024-11-10 18:00", 12.5, -110, -110), "game_id": None},
        ],
    )


def _quotes() -> pd.DataFrame:
    quotes, _ = transforms.player_prop_quotes(pd.concat([_props(), _market_props()]), _team_schedule())
    return quotes


def _prob(american: float) -> float:
    return -american / (-american + 100) if american < 0 else 100 / (american + 100)


def _no_vig_over(over: float, under: float) -> float:
    return _prob(over) / (_prob(over) + _prob(under))


def test_no_vig_probability_from_american_odds():
    assert _no_vig_over(-110, -110) == pytest.approx(0.5)
    po = transforms._american_to_prob(pd.Series([-110.0, 100.0, 150.0, -150.0]))
    assert po.tolist() == pytest.approx([110 / 210, 0.5, 0.4, 0.6])


# player_prop_quotes -----------------------------------------------------------------------------
def test_player_prop_quotes_latest_snapshot_before_tip_off_per_book():
    quotes, facts = transforms.player_prop_quotes(pd.concat([_props(), _market_props()]), _team_schedule())
    tables.player_prop_quotes.validate(quotes, [D])
    assert list(quotes.columns) == tables.player_prop_quotes.column_names
    rows = [
        (r.player_id, r.market.removeprefix("player_"), r.bookmaker, r.line, bool(r.main_line))
        for r in quotes.itertuples()
    ]
    assert rows == [
        (1, "points", "betmgm", 25.5, True),
        (1, "points", "draftkings", 24.5, True),  # its 30.5 came after tip-off
        # fanduel's 15:00 snapshot is superseded by its 20:00 one
        (1, "points", "fanduel", 22.5, False),
        (1, "points", "fanduel", 23.5, True),
        (1, "points", "fanduel", 24.5, False),
        (1, "rebounds", "betmgm", 7.5, True),
        (1, "rebounds", "betmgm", 8.5, False),
        (1, "rebounds", "betrivers", 7.5, True),
        (1, "rebounds", "betrivers", 10.5, False),  # only the second name quotes it: kept
        (1, "rebounds", "draftkings", 8.0, True),
        (1, "rebounds", "draftkings", 9.0, False),
        (1, "rebounds", "fanduel", 6.5, True),
        (1, "rebounds", "fanduel", 7.5, False),
        (2, "assists", "draftkings", 3.5, True),
        (2, "points", "fanduel", 18.5, True),
    ]
    q = quotes.set_index(["player_id", "market", "bookmaker", "line"])
    fd = q.loc[(1, "player_points", "fanduel")]
    assert fd["over_prob_no_vig"].tolist() == pytest.approx(
        [_no_vig_over(-150, 120), _no_vig_over(-115, -105), _no_vig_over(105, -125)]
    )
    assert fd["over_prob_no_vig"].tolist() == pytest.approx([0.5689655, 0.5108342, 0.4675325], abs=1e-6)
    assert (fd["snapshot_time"] == _ts("2024-11-10 20:00")).all()
    # the exact name's prices at the line both names quote
    betrivers = q.loc[(1, "player_rebounds", "betrivers", 7.5)]
    assert (betrivers["over_odds"], betrivers["under_odds"]) == (-110.0, -110.0)
    assert q.loc[(1, "player_rebounds", "betrivers", 10.5), "player_name"] == "Player 1"
    # one price: no no-vig probability
    assert pd.isna(q.loc[(1, "player_rebounds", "draftkings", 9.0), "over_prob_no_vig"])
    assert pd.isna(q.loc[(1, "player_rebounds", "betmgm", 7.5), "under_odds"])
    assert q.loc[(1, "player_rebounds", "draftkings", 8.0), "over_prob_no_vig"] == pytest.approx(0.5)
    assert facts == {
        "quotes_without_player_or_game": 2,  # the unmatched name, the game without an id
        "quotes_at_or_after_tip_off": 2,  # draftkings 01:00, caesars 00:30
        "quotes_in_earlier_snapshots": 1,  # fanduel 15:00
        "second_names_of_a_player_dropped": 1,
        "second_names_of_a_player_dropped_examples": [
            {
                "game_id": GAME_D,
                "bookmaker": "betrivers",
                "market": "player_rebounds",
                "odds_player_name": "P. One",
                "player_name": "Player 1",
            }
        ],
    }


def test_player_prop_quotes_tip_off_from_the_feed_where_the_schedule_has_none():
    """D2's game has no start time in the schedule: the feed's game_start_time (03:00) bounds it.
    Two dates in one call give each date the rows of a call of its own."""
    tip_d2 = _ts("2024-11-13 03:00")
    d2 = [
        {
            **prop_row(1, "fanduel", snap, 20.5, -110, -110),
            "game_id": GAME_D2,
            "game_date": D2,
            "game_start_time": tip_d2,
        }
        for snap in ("2024-11-12 18:00", "2024-11-13 03:05")
    ]
    props = pd.concat([_props(), frame(raw.player_props, d2)])
    quotes, facts = transforms.player_prop_quotes(props, _team_schedule())
    tables.player_prop_quotes.validate(quotes, [D, D2])
    late = quotes[quotes["game_id"] == GAME_D2]
    assert late["snapshot_time"].tolist() == [_ts("2024-11-12 18:00")]
    assert facts["quotes_at_or_after_tip_off"] == 2  # draftkings 01:00 on D, fanduel 03:05 on D2
    alone, _ = transforms.player_prop_quotes(_props(), _team_schedule())
    pd.testing.assert_frame_equal(quotes[quotes["game_date"] == pd.Timestamp(D)].reset_index(drop=True), alone)


def test_player_prop_quotes_without_props():
    quotes, facts = transforms.player_prop_quotes(raw.player_props.empty_frame(), _team_schedule())
    assert len(quotes) == 0 and facts["quotes_at_or_after_tip_off"] == 0
    tables.player_prop_quotes.validate(tables.player_prop_quotes.conform(quotes), [D])


# upcoming_player_game_context -------------------------------------------------------------------
def test_upcoming_player_context_roster_rest_and_lines():
    schedule = _team_schedule()
    out = transforms.upcoming_player_game_context(schedule, _player_history(), _quotes(), pd.DatetimeIndex([D]))
    tables.upcoming_player_game_context.validate(out, [D])
    r = out.set_index("player_id")
    # roster: whoever last played (strictly before D, within the lookback) for LAL or BOS
    assert sorted(r.index) == [1, 2, 5]
    assert r.loc[1, "team"] == "LAL" and r.loc[1, "opponent"] == "BOS" and bool(r.loc[1, "is_home"])
    assert r.loc[2, "team"] == "BOS" and not bool(r.loc[2, "is_home"])
    assert (r["game_id"] == GAME_D).all()

    assert r.loc[1, "rest_days"] == 0
    assert bool(r.loc[1, "back_to_back"]) is True
    assert r.loc[1, "games_last_7_days"] == 3
    assert r.loc[1, "season_games_played"] == 4
    assert r.loc[1, "days_since_last_game"] == 1
    assert r.loc[1, "last_game_minutes"] == pytest.approx(36.0)

    # last season's game: days since it, but no rest days and no games this season
    assert r.loc[2, "days_since_last_game"] == 210
    assert pd.isna(r.loc[2, "rest_days"])
    assert bool(r.loc[2, "back_to_back"]) is False
    assert r.loc[2, "games_last_7_days"] == 0
    assert r.loc[2, "season_games_played"] == 0
    assert r.loc[2, "last_game_minutes"] == pytest.approx(20.0)

    # player 1: main lines fanduel 23.5 (-115/-105), draftkings 24.5 (-110/-110), betmgm 25.5 (+100/-120)
    assert r.loc[1, "points_line"] == pytest.approx(24.5)
    assert r.loc[1, "points_line_books"] == 3
    over = (_no_vig_over(-115, -105) + 0.5 + _no_vig_over(100, -120)) / 3
    assert _no_vig_over(-115, -105) == pytest.approx(0.5108342, abs=1e-6)
    assert _no_vig_over(100, -120) == pytest.approx(0.4782609, abs=1e-6)
    assert r.loc[1, "points_line_over_prob"] == pytest.approx(over)
    # rebounds: main lines fanduel 6.5, draftkings 8.0, betmgm 7.5 (no probability), betrivers 7.5
    assert r.loc[1, "rebounds_line"] == pytest.approx(7.5)  # median of 6.5 7.5 7.5 8.0
    assert r.loc[1, "rebounds_line_books"] == 4
    assert r.loc[1, "rebounds_line_over_prob"] == pytest.approx((0.5108342 + 0.5 + 0.5) / 3, abs=1e-6)
    for label in ("assists", "threes", "pra"):
        assert pd.isna(r.loc[1, f"{label}_line"]) and r.loc[1, f"{label}_line_books"] == 0
        assert pd.isna(r.loc[1, f"{label}_line_over_prob"])
    assert r.loc[1, "line_snapshot_time"] == _ts("2024-11-10 21:00")

    assert r.loc[2, "points_line"] == pytest.approx(18.5)
    assert r.loc[2, "points_line_books"] == 1
    assert r.loc[2, "points_line_over_prob"] == pytest.approx(0.5)
    assert (r.loc[2, "assists_line"], r.loc[2, "assists_line_books"]) == (3.5, 1)
    assert r.loc[2, "line_snapshot_time"] == _ts("2024-11-10 18:00")  # its assists, any market

    for label in ("points", "rebounds", "assists", "threes", "pra"):
        assert pd.isna(r.loc[5, f"{label}_line"]) and r.loc[5, f"{label}_line_books"] == 0
        assert pd.isna(r.loc[5, f"{label}_line_over_prob"])
    assert pd.isna(r.loc[5, "line_snapshot_time"])
    assert r.loc[5, "season_games_played"] == 1 and r.loc[5, "rest_days"] == 0


def test_upcoming_player_context_without_quotes_has_no_lines():
    quotes = tables.player_prop_quotes.empty_frame()
    out = transforms.upcoming_player_game_context(_team_schedule(), _player_history(), quotes, pd.DatetimeIndex([D]))
    tables.upcoming_player_game_context.validate(out, [D])
    for label in ("points", "rebounds", "assists", "threes", "pra"):
        assert out[f"{label}_line"].isna().all() and (out[f"{label}_line_books"] == 0).all()
    assert out["line_snapshot_time"].isna().all()


@pytest.mark.parametrize(
    "history_kwargs", [dict(d_minutes=1.0, d_points=0), dict(with_d=False)], ids=["other_result", "no_rows_on_date"]
)
def test_upcoming_player_context_ignores_the_dates_own_results(history_kwargs):
    dates = pd.DatetimeIndex([D])
    base = transforms.upcoming_player_game_context(_team_schedule(), _player_history(), _quotes(), dates)
    changed = transforms.upcoming_player_game_context(
        _team_schedule(), _player_history(**history_kwargs), _quotes(), dates
    )
    pd.testing.assert_frame_equal(base, changed)


def test_unrostered_line_players():
    out = transforms.upcoming_player_game_context(_team_schedule(), _player_history(), _quotes(), pd.DatetimeIndex([D]))
    props = pd.concat(
        [_props(), frame(raw.player_props, [prop_row(9, "fanduel", "2024-11-10 12:00", 10.5, -110, -110)])]
    )
    quotes, _ = transforms.player_prop_quotes(props, _team_schedule())
    missing = transforms.unrostered_line_players(quotes, out)
    assert missing["player_id"].tolist() == [9]
