"""Pure transforms of the analytics layer: DataFrames in, DataFrames out, for ALL game dates of a
run at once (a season backfill is one call, grouped and merged, never a Python loop per date).

Leakage rule for the `upcoming_*` contexts of date D: they read earlier dates' rows (results),
D's pre-game schedule fields and line snapshots taken before tip-off; never D's results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nba_pipeline.core.history import HISTORY_DAYS, season_labels
from nba_pipeline.raw.tables import PROP_MARKETS

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
    out["pra"] = out["points"] + out["reb"] + out["ast"]
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
    for c in ["points", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "reb", "ast", "tov"]:
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
    dfn["opp_reb"] = opp["reb"]
    dfn["opp_ast"] = opp["ast"]
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


# player_prop_quotes -----------------------------------------------------------------------------
# a book's quotes for one player and market in one snapshot: its main line and its alternates
QUOTE_KEYS = ["game_id", "player_id", "market", "bookmaker"]
# of two odds names matched to one player at a book and line, the better-matched name's quote is kept
NAME_MATCH_PREFERENCE = {"exact": 0, "normalised": 1, "alias": 2}


def tip_off(props: pd.DataFrame, schedule: pd.DataFrame) -> pd.Series:
    """Each quote's tip-off: the schedule's start time of its game, else the feed's."""
    start = props["game_id"].map(schedule.drop_duplicates("game_id").set_index("game_id")["start_time_utc"])
    return start.fillna(props["game_start_time"])


def no_vig_over_prob(over_odds: pd.Series, under_odds: pd.Series) -> pd.Series:
    """The over's probability with the book's margin removed: over implied / (over implied + under
    implied); null unless both prices are quoted."""
    po, pu = _american_to_prob(over_odds), _american_to_prob(under_odds)
    return (po / (po + pu)).astype("float64")


def distance_from_even(over_prob: pd.Series) -> pd.Series:
    """|P(over) - 0.5|, rounded so that mirrored prices (-115/-105 and -105/-115) tie exactly, and
    infinite without a no-vig probability (such a line is main only if none of the book's lines has one)."""
    return (over_prob - 0.5).abs().round(9).fillna(np.inf)


def main_lines(quotes: pd.DataFrame) -> pd.Series:
    """Per quote: is it its book's main line for the player and market, the line whose no-vig over
    probability is closest to 0.5 (ties: the lower line)? Exactly one per (game, player, market, book)."""
    ranked = quotes[[*QUOTE_KEYS, "line"]].assign(_distance=distance_from_even(quotes["over_prob_no_vig"]))
    first = ~ranked.sort_values([*QUOTE_KEYS, "_distance", "line"]).duplicated(QUOTE_KEYS)
    return first.reindex(quotes.index).astype(bool)


def player_prop_quotes(props: pd.DataFrame, schedule: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The quotes each book stood at when its game tipped off: per (game, player, market, book)
    the book's latest snapshot before tip-off, every line it listed there. `props`: the run dates'
    raw quotes; `schedule`: their games (tip-off times). Returns (quotes, facts)."""
    matched = (props["player_id"].notna() & props["game_id"].notna()).to_numpy()
    p = props[matched].reset_index(drop=True)
    before = (p["snapshot_time"] < tip_off(p, schedule)).to_numpy()
    p = p[before]
    latest = (p["snapshot_time"] == p.groupby(QUOTE_KEYS)["snapshot_time"].transform("max")).to_numpy()
    p = p[latest]
    # two odds names of one player at a book and line (a nickname and the full name): one quote
    p = p.assign(_preference=p["name_match"].map(NAME_MATCH_PREFERENCE).astype("float64").fillna(9.0))
    p = p.sort_values([*QUOTE_KEYS, "line", "_preference", "odds_player_name"])
    repeated = p.duplicated([*QUOTE_KEYS, "line"]).to_numpy()
    collapsed = p[repeated]
    p = p[~repeated]
    out = p[["game_date", "game_id", "player_id", "player_name", "market", "bookmaker", "line"]].copy()
    out["player_id"] = out["player_id"].astype("int64")
    out["over_odds"] = p["over_odds"]
    out["under_odds"] = p["under_odds"]
    out["over_prob_no_vig"] = no_vig_over_prob(p["over_odds"], p["under_odds"])
    out["snapshot_time"] = p["snapshot_time"]
    out["main_line"] = main_lines(out)
    out = out.sort_values(["game_date", "game_id", "player_id", "market", "bookmaker", "line"]).reset_index(drop=True)
    facts = {
        "quotes_without_player_or_game": int((~matched).sum()),
        "quotes_at_or_after_tip_off": int((~before).sum()),
        "quotes_in_earlier_snapshots": int((~latest).sum()),
        "second_names_of_a_player_dropped": int(repeated.sum()),
        "second_names_of_a_player_dropped_examples": collapsed.head(10)[
            ["game_id", "bookmaker", "market", "odds_player_name", "player_name"]
        ]
        .astype(str)
        .to_dict("records"),
    }
    return out, facts


def line_columns(label: str) -> tuple[str, str, str]:
    """upcoming_player_game_context's consensus columns of a market label (points, rebounds, ...): the
    line, the books quoting it, their no-vig over probability."""
    return f"{label}_line", f"{label}_line_books", f"{label}_line_over_prob"


def consensus_prop_lines(quotes: pd.DataFrame) -> pd.DataFrame:
    """Per (game, player), for each market: the median over books of each book's main line, the
    books quoting it and the mean of their no-vig over probabilities at their main line; and the
    latest snapshot used (any market). `quotes`: player_prop_quotes rows."""
    q = quotes.astype({"player_id": "int64"})
    main = q[q["main_line"].astype(bool)]
    per_market = main.groupby(["game_id", "player_id", "market"], observed=True).agg(
        line=("line", "median"), books=("bookmaker", "nunique"), over_prob=("over_prob_no_vig", "mean")
    )
    wide = per_market.unstack("market")
    index = pd.MultiIndex.from_frame(q[["game_id", "player_id"]].drop_duplicates())
    out = pd.DataFrame(index=index)
    for market, label in PROP_MARKETS.items():
        line, books, over_prob = line_columns(label)
        has = ("line", market) in wide.columns
        out[line] = wide[("line", market)].reindex(index) if has else np.nan
        out[books] = wide[("books", market)].reindex(index).fillna(0) if has else 0
        out[over_prob] = wide[("over_prob", market)].reindex(index) if has else np.nan
    out["line_snapshot_time"] = q.groupby(["game_id", "player_id"])["snapshot_time"].max().reindex(index)
    return out


def upcoming_player_game_context(
    schedule: pd.DataFrame, history: pd.DataFrame, quotes: pd.DataFrame, dates: pd.DatetimeIndex
) -> pd.DataFrame:
    """`schedule`: rows of the run dates (only pre-game fields are read); `history`: player box
    scores of earlier dates; `quotes`: the run dates' player_prop_quotes (before tip-off)."""
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
    lines = consensus_prop_lines(quotes).reindex(pd.MultiIndex.from_frame(out[["game_id", "player_id"]]))
    for label in PROP_MARKETS.values():
        line, books, over_prob = line_columns(label)
        out[line] = lines[line].to_numpy(dtype="float64")
        out[books] = pd.to_numeric(lines[books]).fillna(0).astype("int64").to_numpy()
        out[over_prob] = lines[over_prob].to_numpy(dtype="float64")
    out["line_snapshot_time"] = lines["line_snapshot_time"].to_numpy()
    return out.sort_values(["game_date", "game_id", "team", "player_id"]).reset_index(drop=True)


def unrostered_line_players(quotes: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """Players quoted in any market before tip-off but without a context row (e.g. traded, or a
    first game)."""
    p = quotes[["game_date", "game_id", "player_id", "player_name"]].astype({"player_id": "int64"})
    p = p.drop_duplicates(["game_id", "player_id"])
    have = (
        pd.MultiIndex.from_frame(context[["game_id", "player_id"]])
        if len(context)
        else pd.MultiIndex.from_arrays([[], []])
    )
    return p[~pd.MultiIndex.from_frame(p[["game_id", "player_id"]]).isin(have)]
