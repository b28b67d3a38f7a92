"""Pure transforms of the precompute layer: rolling windows strictly before the date and within
the season, zone shares, team defence rates and the feature store's shape."""

from __future__ import annotations

import datetime as dt
import statistics

import numpy as np
import pandas as pd
import pytest

from nba_pipeline.analytics import tables as analytics
from nba_pipeline.analytics import transforms as analytics_transforms
from nba_pipeline.core.history import HISTORY_DAYS, season_label
from nba_pipeline.precompute import tables, transforms

SEASON = "2024-25"


def frame(table, rows) -> pd.DataFrame:
    return table.conform(pd.DataFrame(rows))


# rolling_sums + mean_std + as_of_before ---------------------------------------------------------
FIRST = dt.date(2024, 10, 25)
P1_POINTS = [10, 25, 17, 30, 8, 22, 19, 27, 14, 33, 21, 16]
P1_USAGE = [0.20, 0.25, None, 0.30, 0.18, 0.22, None, 0.27, 0.24, 0.31, 0.21, 0.19]
P1_DATES = [FIRST + dt.timedelta(days=2 * i) for i in range(len(P1_POINTS))]  # every other day
P2_DATES = [dt.date(2024, 10, 26), dt.date(2024, 10, 29), dt.date(2024, 11, 2)]
P2_POINTS = [5, 9, 40]


def _games() -> pd.DataFrame:
    rows = [
        # last season: must never count in this season's windows
        {"game_date": "2024-03-01", "season": "2023-24", "player_id": 1, "points": 40, "usage_rate": 0.40},
        {"game_date": "2024-03-03", "season": "2023-24", "player_id": 1, "points": 42, "usage_rate": 0.40},
        *[
            {"game_date": d.isoformat(), "season": SEASON, "player_id": 1, "points": p, "usage_rate": u}
            for d, p, u in zip(P1_DATES, P1_POINTS, P1_USAGE)
        ],
        *[
            {"game_date": d.isoformat(), "season": SEASON, "player_id": 2, "points": p, "usage_rate": 0.1}
            for d, p in zip(P2_DATES, P2_POINTS)
        ],
    ]
    df = pd.DataFrame(rows)
    return df.astype(
        {
            "game_date": "datetime64[ns]",
            "season": "string",
            "player_id": "Int64",
            "points": "Int64",
            "usage_rate": "float64",
        }
    )


def _slate() -> pd.DataFrame:
    days = sorted(
        {
            dt.date(2024, 10, 20),  # this season, before its first game (last season's games exist)
            *P1_DATES,  # each game date: its own game must not count
            dt.date(2024, 11, 8),  # not a game date
            dt.date(2024, 12, 1),  # well after the last game
        }
    )
    rows = [(d, 1) for d in days] + [
        (d, 2) for d in (dt.date(2024, 10, 26), dt.date(2024, 10, 30), dt.date(2024, 11, 3))
    ]
    return pd.DataFrame(
        {"game_date": pd.to_datetime([d for d, _ in rows]), "player_id": pd.array([p for _, p in rows], "Int64")}
    )


def _naive(games: pd.DataFrame, day: pd.Timestamp, pid: int, v: str, k: int | None) -> tuple[float, float]:
    prior = games[
        (games["player_id"] == pid) & (games["season"] == season_label(day.date())) & (games["game_date"] < day)
    ].sort_values("game_date")
    if k is not None:
        prior = prior.tail(k)
    x = prior[v].astype("float64")
    return x.mean(), x.std(ddof=1)


def _windows(slate: pd.DataFrame, games: pd.DataFrame) -> pd.DataFrame:
    sums = transforms.rolling_sums(games, "player_id", ["points", "usage_rate"], transforms.WINDOW_GAMES)
    return transforms.as_of_before(slate, sums, "player_id")


def test_rolling_windows_match_a_naive_computation():
    games, slate = _games(), _slate()
    at = _windows(slate, games)
    assert len(at) == len(slate)
    assert at["game_date"].tolist() == slate["game_date"].tolist()  # slate order kept
    for v in ("points", "usage_rate"):
        for w, k in transforms.WINDOW_GAMES.items():
            mean, std = transforms.mean_std(at, v, w)
            exp = [_naive(games, d, int(p), v, k) for d, p in zip(slate["game_date"], slate["player_id"])]
            np.testing.assert_allclose(
                mean.to_numpy(float), [m for m, _ in exp], rtol=1e-9, equal_nan=True, err_msg=f"{v} {w} mean"
            )
            np.testing.assert_allclose(
                std.to_numpy(float), [s for _, s in exp], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=f"{v} {w} std"
            )


def test_rolling_windows_by_hand():
    games, slate = _games(), _slate()
    at = _windows(slate, games)
    row = lambda day, pid=1: at[(at["game_date"] == pd.Timestamp(day)) & (at["player_id"] == pid)].index[0]  # noqa: E731

    # on the 7th game date (11-06) the first six games count: 10 25 17 30 8 22
    i = row(P1_DATES[6])
    mean, std = transforms.mean_std(at, "points", "last5")
    assert mean[i] == pytest.approx((25 + 17 + 30 + 8 + 22) / 5)  # 20.4
    assert std[i] == pytest.approx(statistics.stdev([25, 17, 30, 8, 22]))
    mean, std = transforms.mean_std(at, "points", "season")
    assert mean[i] == pytest.approx(112 / 6)
    assert std[i] == pytest.approx(statistics.stdev([10, 25, 17, 30, 8, 22]))
    assert at.loc[i, "_n"] == 6
    # usage: last five games, one of them null -> mean of the four values
    mean, _ = transforms.mean_std(at, "usage_rate", "last5")
    assert mean[i] == pytest.approx((0.25 + 0.30 + 0.18 + 0.22) / 4)

    # after one game: a mean, but no sample std
    i = row(P1_DATES[1])
    mean, std = transforms.mean_std(at, "points", "last10")
    assert mean[i] == pytest.approx(10.0) and np.isnan(std[i])

    # player 2 on 11-03 sees its three games (5, 9, 40), not player 1's
    i = row(dt.date(2024, 11, 3), 2)
    mean, std = transforms.mean_std(at, "points", "last5")
    assert mean[i] == pytest.approx(18.0)
    assert std[i] == pytest.approx(statistics.stdev([5, 9, 40]))

    # no earlier game this season: all null, even on the first game date with last season's games
    for day in (dt.date(2024, 10, 20), P1_DATES[0]):
        i = row(day)
        assert pd.isna(at.loc[i, "_n"])
        for w in transforms.WINDOW_GAMES:
            mean, std = transforms.mean_std(at, "points", w)
            assert np.isnan(mean[i]) and np.isnan(std[i])


def _context(rows) -> pd.DataFrame:
    base = {
        "game_id": "0022400900",
        "season": SEASON,
        "team": "LAL",
        "opponent": "BOS",
        "is_home": True,
        "rest_days": 1,
        "back_to_back": False,
        "games_last_7_days": 2,
        "season_games_played": 3,
        "days_since_last_game": 2,
        "last_game_minutes": 30.0,
        **{f"{label}_line_books": 0 for label in ("points", "rebounds", "assists", "threes", "pra")},
    }
    return frame(
        analytics.upcoming_player_game_context, [{**base, "player_name": f"Player {r['player_id']}", **r} for r in rows]
    )


def _summary(rows) -> pd.DataFrame:
    base = {"game_id": "0022400001", "season": SEASON, "season_type": "regular", "team": "LAL", "opponent": "GSW"}
    return frame(analytics.player_game_summary, [{**base, **r} for r in rows])


def test_player_daily_cache_fits_its_table():
    hist = _summary(
        [
            {
                "game_date": d.isoformat(),
                "player_id": 1,
                "points": p,
                "minutes": 30.0 + i,
                "usage_rate": u,
                "fga": 10 + i,
                "fta": i % 3,
            }
            for i, (d, p, u) in enumerate(zip(P1_DATES, P1_POINTS, P1_USAGE))
        ]
    )
    ctx = _context(
        [
            {"game_date": "2024-11-08", "player_id": 1},  # after the first 7 games
            {"game_date": "2024-11-08", "player_id": 7, "days_since_last_game": 300},  # no game this season
        ]
    )
    out = transforms.player_daily_cache(ctx, hist)
    tables.player_daily_cache.validate(out, ["2024-11-08"])
    assert list(out.columns) == tables.player_daily_cache.column_names
    r = out.set_index("player_id")
    assert r.loc[1, "games_played"] == 7
    assert r.loc[1, "points_avg_last5"] == pytest.approx((17 + 30 + 8 + 22 + 19) / 5)
    assert r.loc[1, "minutes_avg_season"] == pytest.approx(33.0)  # 30 .. 36
    assert r.loc[1, "fga_avg_last10"] == pytest.approx(13.0)  # 10 .. 16
    assert r.loc[1, "fta_std_season"] == pytest.approx(statistics.stdev([0, 1, 2, 0, 1, 2, 0]))
    assert r.loc[7, "games_played"] == 0
    assert pd.isna(r.loc[7, "points_avg_season"]) and pd.isna(r.loc[7, "points_std_season"])


P1_REB = [5, 8, 3, 10, 6, 7, 4, 9, 2, 11, 6, 5]
P1_AST = [2, 4, 6, 1, 3, 5, 7, 2, 4, 6, 1, 3]
P1_FG3M = [1, 3, 0, 4, 2, 2, 1, 5, 0, 3, 2, 1]
P1_FG3A = [4, 7, 2, 9, 5, 6, 3, 10, 2, 8, 5, 4]


def test_player_daily_cache_prop_stats():
    """Rebounds, assists, threes made and attempted, and PRA: the same windows as points."""
    hist = _summary(
        [
            {
                "game_date": d.isoformat(),
                "player_id": 1,
                "minutes": 30.0,
                "points": p,
                "reb": r,
                "ast": a,
                "fg3m": m,
                "fg3a": t,
                "pra": p + r + a,
            }
            for d, p, r, a, m, t in zip(P1_DATES, P1_POINTS, P1_REB, P1_AST, P1_FG3M, P1_FG3A)
        ]
    )
    ctx = _context([{"game_date": "2024-11-08", "player_id": 1}])  # after the first 7 games
    out = transforms.player_daily_cache(ctx, hist)
    tables.player_daily_cache.validate(out, ["2024-11-08"])
    r = out.iloc[0]
    # the last five: games 3..7 (rebounds 3 10 6 7 4, assists 6 1 3 5 7, threes 0 4 2 2 1)
    assert r["reb_avg_last5"] == pytest.approx(6.0)
    assert r["ast_avg_last5"] == pytest.approx(4.4)
    assert r["fg3m_avg_last5"] == pytest.approx(1.8)
    # PRA of games 3..7: 17+3+6, 30+10+1, 8+6+3, 22+7+5, 19+4+7
    assert r["pra_avg_last5"] == pytest.approx((26 + 41 + 17 + 34 + 30) / 5)
    # season (= last 10 = recent 20: seven games)
    assert r["reb_avg_season"] == pytest.approx(43 / 7)
    assert r["reb_std_season"] == pytest.approx(statistics.stdev([5, 8, 3, 10, 6, 7, 4]))
    assert r["fg3a_avg_season"] == pytest.approx(36 / 7)
    assert r["ast_std_last10"] == pytest.approx(statistics.stdev([2, 4, 6, 1, 3, 5, 7]))
    pra = [p + rb + a for p, rb, a in zip(P1_POINTS[:7], P1_REB[:7], P1_AST[:7])]
    assert r["pra_avg_recent20"] == pytest.approx(statistics.mean(pra))
    assert r["pra_std_recent20"] == pytest.approx(statistics.stdev(pra))
    assert r["fg3m_std_recent20"] == pytest.approx(statistics.stdev([1, 3, 0, 4, 2, 2, 1]))
    for stat in tables.PROP_STATS:
        assert r[f"{stat}_avg_last10"] == pytest.approx(r[f"{stat}_avg_season"])


def test_recent20_window_crosses_the_season_boundary():
    # 25 games last season, 2 this season: the season windows see 2, recent20 the latest 20
    last = [dt.date(2025, 1, 1) + dt.timedelta(days=2 * i) for i in range(25)]
    this = [dt.date(2025, 10, 22), dt.date(2025, 10, 24)]
    points = list(range(25)) + [40, 50]
    hist = _summary(
        [
            {
                "game_date": d.isoformat(),
                "season": season_label(d),
                "player_id": 1,
                "points": p,
                "minutes": 20.0,
                "usage_rate": 0.2,
                "fga": 10,
                "fta": 2,
            }
            for d, p in zip(last + this, points)
        ]
    )
    ctx = _context([{"game_date": day, "season": "2025-26", "player_id": 1} for day in ("2025-10-21", "2025-10-26")])
    r = transforms.player_daily_cache(ctx, hist).set_index("game_date")
    opening, later = r.loc[pd.Timestamp("2025-10-21")], r.loc[pd.Timestamp("2025-10-26")]
    assert opening["games_played"] == 0 and pd.isna(opening["points_avg_season"])
    assert opening["recent_games"] == 20
    assert opening["points_avg_recent20"] == pytest.approx(statistics.mean(range(5, 25)))
    assert opening["points_std_recent20"] == pytest.approx(statistics.stdev(range(5, 25)))
    assert later["points_avg_season"] == pytest.approx(45.0)
    assert later["points_avg_recent20"] == pytest.approx(statistics.mean([*range(7, 25), 40, 50]))


def test_recent20_window_ends_at_the_history_window_whatever_the_run_loaded():
    """A run over a longer range loads older history; a date's features must not change with it.
    Games before D - HISTORY_DAYS are outside D's window even when they are in the frame."""
    day = dt.date(2025, 10, 21)
    edge = day - dt.timedelta(days=HISTORY_DAYS)  # the window's first date
    old = [edge - dt.timedelta(days=30 + 2 * i) for i in range(15)]  # outside the window
    inside = [edge, *(edge + dt.timedelta(days=10 + 2 * i) for i in range(5))]  # 6 games inside
    rows = [
        {
            "game_date": d.isoformat(),
            "season": season_label(d),
            "player_id": 1,
            "points": p,
            "minutes": 20.0,
            "usage_rate": 0.2,
            "fga": 10,
            "fta": 2,
        }
        for d, p in [*((d, 99) for d in old), *zip(inside, range(10, 16))]
    ]
    ctx = _context([{"game_date": day.isoformat(), "season": "2025-26", "player_id": 1}])
    full = transforms.player_daily_cache(ctx, _summary(rows))
    window_only = transforms.player_daily_cache(ctx, _summary(rows[len(old) :]))
    pd.testing.assert_frame_equal(full, window_only)
    assert full.loc[0, "recent_games"] == 6 and full.loc[0, "points_avg_recent20"] == pytest.approx(12.5)
    assert full.loc[0, "points_std_recent20"] == pytest.approx(statistics.stdev(range(10, 16)))


# player_shot_zone_analysis ----------------------------------------------------------------------
def test_player_shot_zone_shares():
    hist = _summary(
        [
            # 20 points: 5 twos, 2 threes, 4 free throws (10 + 6 + 4)
            {
                "game_date": "2024-11-01",
                "player_id": 1,
                "minutes": 30.0,
                "points": 20,
                "fg2m": 5,
                "fg2a": 10,
                "fg3m": 2,
                "fg3a": 5,
                "ftm": 4,
                "fta": 5,
            },
            # 20 points: 3 twos, 4 threes, 2 free throws (6 + 12 + 2)
            {
                "game_date": "2024-11-03",
                "player_id": 1,
                "minutes": 30.0,
                "points": 20,
                "fg2m": 3,
                "fg2a": 8,
                "fg3m": 4,
                "fg3a": 9,
                "ftm": 2,
                "fta": 3,
            },
            # the date's own game: must not count
            {
                "game_date": "2024-11-05",
                "player_id": 1,
                "minutes": 30.0,
                "points": 30,
                "fg2m": 0,
                "fg2a": 0,
                "fg3m": 10,
                "fg3a": 10,
                "ftm": 0,
                "fta": 0,
            },
        ]
    )
    ctx = _context([{"game_date": "2024-11-05", "player_id": 1}, {"game_date": "2024-11-05", "player_id": 2}])
    out = transforms.player_shot_zone_analysis(ctx, hist)
    tables.player_shot_zone_analysis.validate(out, ["2024-11-05"])
    r = out.set_index("player_id")
    assert r.loc[1, "games_in_window"] == 2
    assert r.loc[1, "points_share_2pt"] == pytest.approx(16 / 40)
    assert r.loc[1, "points_share_3pt"] == pytest.approx(18 / 40)
    assert r.loc[1, "points_share_ft"] == pytest.approx(6 / 40)
    assert r.loc[1, ["points_share_2pt", "points_share_3pt", "points_share_ft"]].sum() == pytest.approx(1.0)
    attempts = 18 + 14 + 0.44 * 8
    assert r.loc[1, "attempt_share_2pt"] == pytest.approx(18 / attempts)
    assert r.loc[1, "attempt_share_3pt"] == pytest.approx(14 / attempts)
    assert r.loc[1, "attempt_share_ft"] == pytest.approx(0.44 * 8 / attempts)
    assert r.loc[1, ["attempt_share_2pt", "attempt_share_3pt", "attempt_share_ft"]].sum() == pytest.approx(1.0)
    assert r.loc[1, "fg2_pct"] == pytest.approx(8 / 18)
    assert r.loc[1, "fg3_pct"] == pytest.approx(6 / 14)
    assert r.loc[1, "ft_pct"] == pytest.approx(6 / 8)
    assert r.loc[1, "points_per_game"] == pytest.approx(20.0)
    # no earlier game: nothing to share
    assert r.loc[2, "games_in_window"] == 0
    assert r.loc[2, ["points_share_2pt", "attempt_share_3pt", "fg2_pct", "points_per_game"]].isna().all()


# team_defense_zone_analysis ---------------------------------------------------------------------
NORMAL = dict(
    possessions=100.0,
    minutes=240,
    opp_points_2pt=50,
    opp_points_3pt=36,
    opp_points_ft=14,
    points_allowed=100,
    opp_fg3a=35,
    opp_fta=20,
    opp_reb=44,
    opp_ast=25,
    opp_fg3m=12,
)


def _team_history() -> pd.DataFrame:
    days = ["2024-10-22", "2024-10-23", "2024-10-24"]
    rows = []
    for d in days:
        # 29 ordinary teams every day
        rows += [{"game_date": d, "team": f"T{i:02d}", **NORMAL} for i in range(29)]
        rows.append(
            {
                "game_date": d,
                "team": "LAL",
                "possessions": {"2024-10-22": 98.0, "2024-10-23": 100.0, "2024-10-24": 102.0}[d],
                "minutes": 265 if d == "2024-10-24" else 240,
                "opp_points_2pt": 55,
                "opp_points_3pt": 39,
                "opp_points_ft": 16,
                "points_allowed": 110,
                "opp_fg3a": 30,
                "opp_fta": 25,
                "opp_reb": 50,
                "opp_ast": 30,
                "opp_fg3m": 13,
            }
        )
    rows += [{"game_date": d, "team": "SEA", **NORMAL} for d in days[1:]]  # only two games
    rows.append({"game_date": "2024-10-25", "team": "LAL", **NORMAL, "points_allowed": 200})  # the date's own game
    base = {"game_id": "0022400001", "season": SEASON, "season_type": "regular", "opponent": "XXX"}
    return frame(analytics.team_defense_game_summary, [{**base, **r} for r in rows])


def _team_context(rows) -> pd.DataFrame:
    base = {
        "game_id": "0022400900",
        "season": SEASON,
        "is_home": True,
        "back_to_back": False,
        "games_last_7_days": 1,
        "season_games_played": 2,
        "opponent_back_to_back": False,
        "lines_books": 0,
    }
    return frame(analytics.upcoming_team_game_context, [{**base, **r} for r in rows])


def test_team_defense_zones_rates_and_league():
    ctx = _team_context(
        [
            {"game_date": "2024-10-25", "team": "LAL", "opponent": "SEA"},
            {"game_date": "2024-10-25", "team": "SEA", "opponent": "LAL"},
            {"game_date": "2024-10-24", "team": "LAL", "opponent": "T00"},
        ]
    )
    out = transforms.team_defense_zone_analysis(ctx, _team_history())
    tables.team_defense_zone_analysis.validate(out, ["2024-10-24", "2024-10-25"])
    lal = out.iloc[0]
    assert lal["games_in_window"] == 3
    # LAL's three earlier games: 300 possessions, 745 minutes, 165 / 117 / 48 points allowed by zone
    assert lal["opp_points_2pt_per100"] == pytest.approx(55.0)
    assert lal["opp_points_3pt_per100"] == pytest.approx(39.0)
    assert lal["opp_points_ft_per100"] == pytest.approx(16.0)
    assert lal["opp_fg3a_per100"] == pytest.approx(30.0)
    assert lal["opp_fta_per100"] == pytest.approx(25.0)
    assert lal["defensive_rating"] == pytest.approx(110.0)
    assert lal["pace"] == pytest.approx(48 * 300 / (745 / 5))
    # league before 10-25: 89 ordinary team-games + LAL's 3 = 92 team-games, 9200 possessions
    league_poss = 89 * 100 + 300
    assert lal["league_defensive_rating"] == pytest.approx(100 * (89 * 100 + 330) / league_poss)
    assert lal["league_pace"] == pytest.approx(48 * league_poss / ((89 * 240 + 745) / 5))
    assert lal["opp_points_2pt_vs_league"] == pytest.approx(55 / (100 * (89 * 50 + 165) / league_poss) - 1)
    assert lal["defensive_rating_vs_league"] == pytest.approx(110 / (100 * 9230 / league_poss) - 1)

    # what LAL's opponents scored per game, and the league's per team-game (89 x NORMAL + LAL's 3)
    assert lal["reb_allowed_per_game"] == pytest.approx(50.0)
    assert lal["ast_allowed_per_game"] == pytest.approx(30.0)
    assert lal["fg3m_allowed_per_game"] == pytest.approx(13.0)
    assert lal["pra_allowed_per_game"] == pytest.approx(110 + 50 + 30)
    assert lal["reb_allowed_vs_league"] == pytest.approx(50 / ((89 * 44 + 3 * 50) / 92) - 1)
    assert lal["reb_allowed_vs_league"] == pytest.approx(0.1313330, abs=1e-6)
    assert lal["ast_allowed_vs_league"] == pytest.approx(30 / ((89 * 25 + 3 * 30) / 92) - 1)
    assert lal["fg3m_allowed_vs_league"] == pytest.approx(13 / ((89 * 12 + 3 * 13) / 92) - 1)
    assert lal["pra_allowed_vs_league"] == pytest.approx(190 / ((89 * 169 + 3 * 190) / 92) - 1)

    # SEA: two games (< MIN_TEAM_GAMES): no rates of its own, league averages still there
    assert transforms.MIN_TEAM_GAMES == 3
    sea = out.iloc[1]
    assert sea["games_in_window"] == 2
    own = [
        "opp_points_2pt_per100",
        "opp_points_3pt_per100",
        "opp_points_ft_per100",
        "opp_points_2pt_vs_league",
        "opp_fg3a_per100",
        "opp_fta_per100",
        "defensive_rating",
        "defensive_rating_vs_league",
        "pace",
        *(f"{stat}_allowed_{kind}" for stat in tables.ALLOWED_STATS for kind in ("per_game", "vs_league")),
    ]
    assert sea[own].isna().all()
    assert sea["league_defensive_rating"] == pytest.approx(lal["league_defensive_rating"])

    # LAL on 10-24: two earlier games and only 61 league team-games: all null
    early = out.iloc[2]
    assert early["games_in_window"] == 2
    assert early[[*own, "league_pace", "league_defensive_rating"]].isna().all()


# ml_feature_store -------------------------------------------------------------------------------
def test_ml_feature_store_columns_and_version():
    day = "2024-10-25"
    hist = _summary(
        [
            {
                "game_date": d,
                "player_id": 1,
                "minutes": 32.0,
                "points": p,
                "usage_rate": 0.25,
                "fga": 15,
                "fta": 10,
                "fg2m": 4,
                "fg2a": 9,
                "fg3m": 2,
                "fg3a": 6,
                "ftm": p - 14,
                "team": "LAL",
                "reb": 8,
                "ast": 5,
                "pra": p + 13,
            }
            for d, p in [("2024-10-22", 20), ("2024-10-23", 24), ("2024-10-24", 22)]
        ]
    )
    ctx = _context(
        [
            {
                "game_date": day,
                "player_id": 1,
                "opponent": "SEA",
                "points_line": 21.5,
                "points_line_books": 2,
                "points_line_over_prob": 0.52,
                "rebounds_line": 7.5,
                "rebounds_line_books": 3,
                "rebounds_line_over_prob": 0.47,
                "pra_line": 34.5,
                "pra_line_books": 1,
                "pra_line_over_prob": 0.55,
            },
            # a SEA player: his opponent is LAL, with three earlier games
            {"game_date": day, "player_id": 2, "team": "SEA", "opponent": "LAL", "is_home": False},
        ]
    )
    team_ctx = _team_context(
        [
            {
                "game_date": day,
                "team": "LAL",
                "opponent": "SEA",
                "spread": -4.0,
                "game_total": 220.0,
                "implied_team_total": 112.0,
            },
            {
                "game_date": day,
                "team": "SEA",
                "opponent": "LAL",
                "spread": 4.0,
                "game_total": 220.0,
                "implied_team_total": 108.0,
            },
        ]
    )
    cache = transforms.player_daily_cache(ctx, hist)
    zones = transforms.player_shot_zone_analysis(ctx, hist)
    team_zones = transforms.team_defense_zone_analysis(team_ctx, _team_history())
    factors = transforms.player_composite_factors(ctx, cache, zones, team_zones)
    tables.player_composite_factors.validate(factors, [day])
    out = transforms.ml_feature_store(ctx, team_ctx, cache, zones, team_zones, factors)

    assert list(out.columns) == tables.ml_feature_store.column_names
    assert (out["feature_version"] == tables.FEATURE_VERSION).all()
    tables.ml_feature_store.validate(out, [day])
    r = out.iloc[0]
    assert r["points_avg_last5"] == pytest.approx(22.0)
    assert r["points_line"] == pytest.approx(21.5)
    assert r["team_spread"] == pytest.approx(-4.0)
    assert r["implied_team_total"] == pytest.approx(112.0)
    assert r["is_home"] == 1.0 and r["back_to_back"] == 0.0
    # the opponent's (SEA's) defence: two games, below MIN_TEAM_GAMES -> null
    assert np.isnan(r["opponent_defensive_rating"])
    # three earlier games, 6 of 20/24/22 points from threes
    assert r["points_share_3pt"] == pytest.approx(18 / 66)
    # v4: the other markets' windows and lines
    assert r["reb_avg_last5"] == pytest.approx(8.0) and r["reb_std_season"] == pytest.approx(0.0)
    assert r["pra_avg_recent20"] == pytest.approx((33 + 37 + 35) / 3)
    assert r["fg3m_avg_season"] == pytest.approx(2.0) and r["fg3a_avg_last10"] == pytest.approx(6.0)
    assert (r["rebounds_line"], r["rebounds_line_books"], r["rebounds_line_over_prob"]) == (7.5, 3.0, 0.47)
    assert (r["pra_line"], r["pra_line_books"], r["pra_line_over_prob"]) == (34.5, 1.0, 0.55)
    assert np.isnan(r["assists_line"]) and r["assists_line_books"] == 0.0 and np.isnan(r["threes_line"])
    assert np.isnan(r["opponent_reb_allowed_vs_league"])  # SEA: two games
    # player 2 faces LAL: its allowed rates vs the league (_team_history: 89 x NORMAL + LAL's 3)
    lal = team_zones[(team_zones["team"] == "LAL")].iloc[0]
    sea_player = out.iloc[1]
    for stat in tables.ALLOWED_STATS:
        assert sea_player[f"opponent_{stat}_allowed_vs_league"] == pytest.approx(lal[f"{stat}_allowed_vs_league"])
    assert sea_player["opponent_reb_allowed_vs_league"] == pytest.approx(0.1313330, abs=1e-6)
    assert sea_player["opponent_defensive_rating"] == pytest.approx(110.0)


def test_two_synthetic_seasons_stay_within_the_declared_ranges(tmp_path):
    """Regression (found by the 2-season synthetic benchmark): pandas' compensated cumulative sums,
    differenced into a window, left a free-throw share of -1e-17 for one player on 2025-02-06 and
    2025-02-08, failing its >= 0 range check and the whole backfill."""
    from nba_pipeline.core.checks.common import values_in_range
    from nba_pipeline.raw import build
    from nba_pipeline.raw.sources.files import FilesSource
    from nba_pipeline_dev.synthetic import generate_league

    generate_league(tmp_path, seasons=2, first_season=2023, seed=7)
    src = FilesSource(raw_dir=str(tmp_path))
    start, end = dt.date(2023, 10, 1), dt.date(2025, 2, 8)
    players, _ = build.player_boxscores(src, start, end)
    teams, _ = build.team_boxscores(src, start, end)
    schedule, _ = build.schedule(src, start, end)
    games = analytics_transforms.player_game_summary(players, teams)
    days = ["2025-02-06", "2025-02-08"]
    no_quotes = analytics.player_prop_quotes.empty_frame()
    ctx = analytics_transforms.upcoming_player_game_context(schedule, players, no_quotes, pd.DatetimeIndex(days))
    for table, df in (
        (tables.player_shot_zone_analysis, transforms.player_shot_zone_analysis(ctx, games)),
        (tables.player_daily_cache, transforms.player_daily_cache(ctx, games)),
    ):
        outcomes = values_in_range(table.conform(df), table, days)
        assert all(o.passed for o in outcomes.values()), {k: o.metadata for k, o in outcomes.items()}
