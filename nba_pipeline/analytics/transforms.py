"""Pure transforms of the analytics layer: DataFrames in, DataFrames out, for ALL game dates of a
run at once (a season backfill is one call, grouped and merged, never a Python loop per date).

Leakage rule for the `upcoming_*` contexts of date D: they read earlier dates' rows (results),
D's pre-game schedule fields and line snapshots taken before tip-off; never D's results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nba_pipeline.core.history import HISTORY_DAYS, season_labels

# the latest earlier game of a player counts for the roster only if it is this recent (an
# off-season included: opening night rosters come from last season)
ROSTER_LOOKBACK_DAYS = HISTORY_DAYS
USAGE_MIN_MINUTES = 3.0
PREGAME_SCHEDULE_COLUMNS = ["game_date", "game_id", "season", "season_type", "home_team", "away_team", "start_time_utc"]


def ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den as float, null where den is 0 (no attempts -> no percentage)."""
    num = num.astype("float64")
    den = den.astype("float64")
    return (num / den.where(den > 0)).astype("float64")


# player_game_summary ------------------------------------------------------------------------------
def player_game_summary(players: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    """Player box scores with usage and true shooting against their team's box score."""
    team = teams.set_index(["game_id", "team"])[["minutes", "points", "fga", "fta", "tov"]]
    key = pd.MultiIndex.from_frame(players[["game_id", "team"]])
    tm = team.reindex(key)
    if tm["minutes"].isna().any():
        missing = players.loc[tm["minutes"].isna().to_numpy(), ["game_date", "game_id", "team"]].drop_duplicates()
        raise ValueError(f"player rows without a team box score (game, team): {missing.head(10).to_dict('records')}")
    tm = tm.reset_index(drop=True)
    p = players.reset_index(drop=True)
    out = p[
        [
            "game_date",
            "game_id",
            "season",
            "season_type",
            "player_id",
            "player_name",
            "team",
            "opponent",
            "is_home",
            "starter",
            "minutes",
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
            "plus_minus",
        ]
    ].copy()
    out["fg2m"] = out["fgm"] - out["fg3m"]
    out["fg2a"] = out["fga"] - out["fg3a"]
    used = p["fga"] + 0.44 * p["fta"] + p["tov"]
    team_used = tm["fga"] + 0.44 * tm["fta"] + tm["tov"]
    usage = used * (tm["minutes"] / 5) / (p["minutes"] * team_used)
    out["usage_rate"] = usage.where(p["minutes"] >= USAGE_MIN_MINUTES).astype("float64")
    out["true_shooting_pct"] = ratio(p["points"], 2 * (p["fga"] + 0.44 * p["fta"]))
    out["fg_pct"] = ratio(p["fgm"], p["fga"])
    out["fg3_pct"] = ratio(p["fg3m"], p["fg3a"])
    out["ft_pct"] = ratio(p["ftm"], p["fta"])
    out["team_minutes"] = tm["minutes"].astype("int64")
    out["team_points"] = tm["points"].astype("int64")
    return out


# team summaries ---------------------------------------------------------------------------------
def _possessions(t: pd.DataFrame, o: pd.DataFrame) -> pd.Series:
    """Basketball-Reference's team possession estimate for team t against opponent o."""
    orb_pct = ratio(t["oreb"], t["oreb"] + o["dreb"]).fillna(0.0)
    return t["fga"] + 0.4 * t["fta"] - 1.07 * orb_pct * (t["fga"] - t["fgm"]) + t["tov"]


def _shooting_splits(s: pd.DataFrame, prefix: str) -> dict[str, pd.Series]:
    return {
        f"{prefix}fg_pct": ratio(s["fgm"], s["fga"]),
        f"{prefix}fg3_pct": ratio(s["fg3m"], s["fg3a"]),
        f"{prefix}ft_pct": ratio(s["ftm"], s["fta"]),
        f"{prefix}efg_pct": ratio(s["fgm"] + 0.5 * s["fg3m"], s["fga"]),
        f"{prefix}ts_pct": ratio(s["points"], 2 * (s["fga"] + 0.44 * s["fta"])),
        f"{prefix}fg3a_rate": ratio(s["fg3a"], s["fga"]),
        f"{prefix}fta_rate": ratio(s["fta"], s["fga"]),
    }


def team_game_summaries(teams: pd.DataFrame, schedule: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(offense, defense): one row per team-game each, from both sides' team box scores."""
    t = teams.reset_index(drop=True)
    opp = (
        t.set_index(["game_id", "team"])
        .reindex(pd.MultiIndex.from_frame(t[["game_id", "opponent"]]))
        .reset_index(drop=True)
    )
    if opp["points"].isna().any():
        lonely = t.loc[opp["points"].isna().to_numpy(), ["game_id", "team"]]
        raise ValueError(f"team box scores without the opponent's row: {lonely.head(10).to_dict('records')}")
    ot = schedule.set_index("game_id")["overtime_periods"].reindex(t["game_id"]).to_numpy()
    poss = ((_possessions(t, opp) + _possessions(opp, t)) / 2).astype("float64")
    base = t[["game_date", "game_id", "season", "season_type", "team", "opponent", "is_home", "win", "minutes"]].copy()
    base["overtime_periods"] = pd.array(ot, dtype="Int64").fillna(0)
    base["possessions"] = poss
    base["pace"] = 48 * poss / (t["minutes"].astype("float64") / 5)

    off = base.copy()
    for c in ["points", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "ast", "tov"]:
        off[c] = t[c]
    off["fg2m"] = t["fgm"] - t["fg3m"]
    off["fg2a"] = t["fga"] - t["fg3a"]
    off["points_2pt"] = 2 * off["fg2m"]
    off["points_3pt"] = 3 * t["fg3m"]
    off["points_ft"] = t["ftm"]
    off["offensive_rating"] = 100 * t["points"] / poss
    for name, s in {**_shooting_splits(t, ""), **_shooting_splits(opp, "opp_")}.items():
        off[name] = s

    dfn = base.copy()
    dfn["points_allowed"] = opp["points"]
    for c in ["fgm", "fga", "fg3m", "fg3a", "ftm", "fta"]:
        dfn[f"opp_{c}"] = opp[c]
    dfn["opp_fg2m"] = opp["fgm"] - opp["fg3m"]
    dfn["opp_fg2a"] = opp["fga"] - opp["fg3a"]
    dfn["opp_points_2pt"] = 2 * dfn["opp_fg2m"]
    dfn["opp_points_3pt"] = 3 * opp["fg3m"]
    dfn["opp_points_ft"] = opp["ftm"]
    dfn["opp_tov"] = opp["tov"]
    for c in ["dreb", "stl", "blk"]:
        dfn[c] = t[c]
    dfn["defensive_rating"] = 100 * opp["points"] / poss
    for name, s in _shooting_splits(opp, "opp_").items():
        dfn[name] = s
    return off, dfn


# pre-game context -------------------------------------------------------------------------------
def pregame_schedule(schedule: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """The games of `dates` as known before tip-off: who plays whom, where, when. Results, status
    and anything else decided by playing are dropped here, so nothing downstream can read them."""
    games = schedule[schedule["game_date"].isin(dates)]
    return games[PREGAME_SCHEDULE_COLUMNS].reset_index(drop=True)


def team_games(games: pd.DataFrame) -> pd.DataFrame:
    """Two rows per game (team, opponent, is_home) from schedule-shaped rows."""
    home = games.assign(team=games["home_team"], opponent=games["away_team"], is_home=True)
    away = games.assign(team=games["away_team"], opponent=games["home_team"], is_home=False)
    return pd.concat([home, away], ignore_index=True).drop(columns=["home_team", "away_team"])


def _rest_features(slate: pd.DataFrame, played: pd.DataFrame, by: str) -> pd.DataFrame:
    """Rest and workload of each `by` entity in `slate` (game_date + by) from its earlier games in
    `played` (game_date + by + season): everything strictly before the slate date."""
    played = played.sort_values([by, "game_date"]).reset_index(drop=True)
    played["n_before_incl"] = played.groupby(by).cumcount() + 1
    played["season_n_incl"] = played.groupby([by, "season"]).cumcount() + 1
    hist = played[["game_date", by, "season", "n_before_incl", "season_n_incl"]].rename(
        columns={"game_date": "last_date", "season": "last_season"}
    )
    s = slate[["game_date", by]].copy()
    s["_row"] = np.arange(len(s))
    s["season"] = season_labels(s["game_date"])
    left = s.sort_values("game_date")
    last = pd.merge_asof(
        left,
        hist.sort_values("last_date"),
        left_on="game_date",
        right_on="last_date",
        by=by,
        allow_exact_matches=False,
        direction="backward",
    )
    week = pd.merge_asof(
        left.assign(week_start=left["game_date"] - pd.Timedelta(days=7)).sort_values("week_start"),
        hist[["last_date", by, "n_before_incl"]].rename(columns={"n_before_incl": "n_week"}).sort_values("last_date"),
        left_on="week_start",
        right_on="last_date",
        by=by,
        allow_exact_matches=False,
        direction="backward",
    )
    last = last.set_index("_row").sort_index()
    week = week.set_index("_row").sort_index()
    same_season = (last["last_season"] == last["season"]).to_numpy()
    days_since = (last["game_date"] - last["last_date"]).dt.days
    out = pd.DataFrame(index=last.index)
    out["last_date"] = last["last_date"]
    out["days_since_last_game"] = days_since.astype("Int64")
    out["rest_days"] = (days_since - 1).where(same_season).astype("Int64")
    out["back_to_back"] = (same_season & (days_since == 1).fillna(False).to_numpy()).astype(bool)
    n_before = last["n_before_incl"].fillna(0).astype("int64")
    out["games_last_7_days"] = (n_before - week["n_week"].fillna(0).astype("int64")).astype("int64")
    out["season_games_played"] = last["season_n_incl"].where(same_season).fillna(0).astype("int64")
    return out.reset_index(drop=True)


def _american_to_prob(odds: pd.Series) -> pd.Series:
    o = odds.astype("float64")
    return pd.Series(np.where(o < 0, -o / (-o + 100), 100 / (o + 100)), index=odds.index)


def consensus_game_lines(lines: pd.DataFrame, games: pd.DataFrame) -> pd.DataFrame:
    """Per game: each book's latest snapshot before tip-off, then the median across books."""
    tip = games.set_index("game_id")["start_time_utc"]
    book_lines = lines[lines["game_id"].notna()].copy()
    start = book_lines["game_id"].map(tip).fillna(book_lines["commence_time"])
    book_lines = book_lines[book_lines["snapshot_time"] < start]
    book_lines = book_lines.sort_values("snapshot_time").groupby(["game_id", "bookmaker"]).tail(1)
    agg = book_lines.groupby("game_id").agg(
        home_spread=("home_spread", "median"),
        game_total=("total", "median"),
        lines_books=("bookmaker", "nunique"),
        lines_snapshot_time=("snapshot_time", "max"),
    )
    return agg


def upcoming_team_game_context(schedule: pd.DataFrame, lines: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """`schedule`: the run dates' games plus earlier dates (history); `lines`: the run dates' lines."""
    games = pregame_schedule(schedule, dates)
    slate = team_games(games)
    # games played (any date; _rest_features reads only those strictly before each slate date)
    finals = schedule[schedule["status"] == "final"]
    played = team_games(finals[["game_date", "game_id", "season", "home_team", "away_team"]])
    rest = _rest_features(slate, played, "team")
    out = slate[
        ["game_date", "game_id", "season", "season_type", "team", "opponent", "is_home", "start_time_utc"]
    ].copy()
    for c in ["rest_days", "back_to_back", "games_last_7_days", "season_games_played"]:
        out[c] = rest[c].to_numpy()
    opp = out.set_index(["game_id", "team"])[["rest_days", "back_to_back"]].reindex(
        pd.MultiIndex.from_frame(out[["game_id", "opponent"]])
    )
    out["opponent_rest_days"] = opp["rest_days"].to_numpy()
    out["opponent_back_to_back"] = opp["back_to_back"].astype(bool).to_numpy()
    cons = consensus_game_lines(lines, games).reindex(out["game_id"])
    home_spread = cons["home_spread"].to_numpy()
    out["spread"] = np.where(out["is_home"], home_spread, -home_spread)
    out["game_total"] = cons["game_total"].to_numpy()
    out["implied_team_total"] = out["game_total"] / 2 - out["spread"] / 2
    out["lines_books"] = pd.to_numeric(cons["lines_books"]).fillna(0).astype("int64").to_numpy()
    out["lines_snapshot_time"] = cons["lines_snapshot_time"].to_numpy()
    return out.sort_values(["game_date", "game_id", "is_home"]).reset_index(drop=True)


def consensus_points_lines(props: pd.DataFrame, games: pd.DataFrame) -> pd.DataFrame:
    """Per (game, player): each book's main line in its latest snapshot before tip-off (of a
    book's alternate lines, the one with over/under prices closest to even), then the median
    line across books and the mean no-vig over probability."""
    p = props[(props["market"] == "player_points") & props["player_id"].notna() & props["game_id"].notna()].copy()
    tip = games.set_index("game_id")["start_time_utc"]
    start = p["game_id"].map(tip).fillna(p["game_start_time"])
    p = p[p["snapshot_time"] < start]
    if p.empty:
        return pd.DataFrame(
            columns=["points_line", "points_line_books", "points_line_over_prob", "line_snapshot_time"],
            index=pd.MultiIndex.from_arrays([[], []], names=["game_id", "player_id"]),
        )
    keys = ["game_id", "player_id", "bookmaker"]
    latest = p.groupby(keys)["snapshot_time"].transform("max")
    p = p[p["snapshot_time"] == latest].copy()
    po = _american_to_prob(p["over_odds"])
    pu = _american_to_prob(p["under_odds"])
    p["over_prob"] = po / (po + pu)
    p["distance_from_even"] = (p["over_prob"] - 0.5).abs().fillna(1.0)
    main = p.sort_values([*keys, "distance_from_even", "line"]).groupby(keys).head(1)
    return main.groupby(["game_id", "player_id"]).agg(
        points_line=("line", "median"),
        points_line_books=("bookmaker", "nunique"),
        points_line_over_prob=("over_prob", "mean"),
        line_snapshot_time=("snapshot_time", "max"),
    )


def upcoming_player_game_context(
    schedule: pd.DataFrame, history: pd.DataFrame, props: pd.DataFrame, dates: pd.DatetimeIndex
) -> pd.DataFrame:
    """`schedule`: rows of the run dates (only pre-game fields are read); `history`: player box
    scores of earlier dates; `props`: the run dates' points lines."""
    games = pregame_schedule(schedule, dates)
    slate = team_games(games)
    if slate.empty or history.empty:
        return pd.DataFrame()
    players = history["player_id"].astype("int64").unique()
    # every (date, player) pair, then each player's latest earlier game: the roster is whoever last
    # played for a team that plays that date
    pairs = pd.DataFrame(
        {
            "game_date": np.repeat(dates.to_numpy(), len(players)),
            "player_id": np.tile(players, len(dates)),
        }
    )
    hist = history.sort_values("game_date")[["game_date", "player_id", "team", "player_name", "minutes"]].rename(
        columns={"game_date": "last_date", "team": "last_team", "minutes": "last_game_minutes"}
    )
    hist["player_id"] = hist["player_id"].astype("int64")
    latest = pd.merge_asof(
        pairs.sort_values("game_date"),
        hist,
        left_on="game_date",
        right_on="last_date",
        by="player_id",
        allow_exact_matches=False,
        direction="backward",
    )
    latest = latest[
        latest["last_date"].notna() & ((latest["game_date"] - latest["last_date"]).dt.days <= ROSTER_LOOKBACK_DAYS)
    ]
    roster = latest.merge(slate, left_on=["game_date", "last_team"], right_on=["game_date", "team"], how="inner")
    played = history[["game_date", "player_id", "season"]].astype({"player_id": "int64"})
    rest = _rest_features(roster[["game_date", "player_id"]], played, "player_id")
    out = roster[
        [
            "game_date",
            "game_id",
            "season",
            "season_type",
            "player_id",
            "player_name",
            "team",
            "opponent",
            "is_home",
            "start_time_utc",
        ]
    ].reset_index(drop=True)
    for c in ["rest_days", "back_to_back", "games_last_7_days", "season_games_played", "days_since_last_game"]:
        out[c] = rest[c].to_numpy()
    out["last_game_minutes"] = roster["last_game_minutes"].to_numpy()
    lines = consensus_points_lines(props, games).reindex(pd.MultiIndex.from_frame(out[["game_id", "player_id"]]))
    out["points_line"] = lines["points_line"].to_numpy(dtype="float64")
    out["points_line_books"] = pd.to_numeric(lines["points_line_books"]).fillna(0).astype("int64").to_numpy()
    out["points_line_over_prob"] = lines["points_line_over_prob"].to_numpy(dtype="float64")
    out["line_snapshot_time"] = lines["line_snapshot_time"].to_numpy()
    return out.sort_values(["game_date", "game_id", "team", "player_id"]).reset_index(drop=True)


def unrostered_line_players(props: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """Matched players with a points line but no context row (e.g. traded, or a first game)."""
    p = props[props["player_id"].notna() & props["game_id"].notna()][
        ["game_date", "game_id", "player_id", "player_name"]
    ]
    p = p.drop_duplicates(["game_id", "player_id"])
    have = (
        pd.MultiIndex.from_frame(context[["game_id", "player_id"]])
        if len(context)
        else pd.MultiIndex.from_arrays([[], []])
    )
    return p[~pd.MultiIndex.from_frame(p[["game_id", "player_id"]]).isin(have)]
