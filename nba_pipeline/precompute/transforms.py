"""Pure transforms of the precompute layer, vectorised over every date of a run.

Pattern: summarise each entity's games cumulatively within its season (grouped cumulative sums,
so last-k and season-to-date windows are differences of cumsums, never a loop), then attach to
each (date, entity) of the slate the summary as of its latest game STRICTLY BEFORE the date and
in the same season (`merge_asof(..., allow_exact_matches=False)`). The date's own games can't
leak in: they are not before the date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from nba_pipeline.analytics.transforms import line_columns, ratio
from nba_pipeline.core.history import HISTORY_DAYS, season_labels
from nba_pipeline.precompute.tables import (
    ALLOWED_STATS,
    CACHE_STATS,
    FEATURE_VERSION,
    FEATURES,
    RECENT_GAMES,
    ZONE_WINDOW_GAMES,
)
from nba_pipeline.raw.tables import PROP_MARKETS

WINDOW_GAMES = {"last5": 5, "last10": 10, "season": None}
# a team's allowed rates (and the league's) from fewer games than this are noise, not a signal:
# one early-season game can put a team's free-throw rate at 3x the league's
MIN_TEAM_GAMES = 3


def rolling_sums(
    games: pd.DataFrame, by: str, values: Sequence[str], windows: Mapping[str, int | None]
) -> pd.DataFrame:
    """Per game row (sorted by entity, season, date): for each value and window, the sum, the
    count of non-null values and the sum of squares over the entity's last k games of the season
    up to and including this one (k=None: the whole season so far)."""
    g = games.sort_values([by, "season", "game_date"]).reset_index(drop=True)
    # groups are contiguous after the sort: factorize them once, not once per column operation
    codes = g.groupby([by, "season"], sort=False).ngroup().to_numpy()
    position = g.groupby(codes, sort=False).cumcount().to_numpy()  # 0-based within the group
    parts = {}
    for v in values:
        x = g[v].astype("float64")
        parts[f"{v}__sum"] = x.fillna(0.0)
        parts[f"{v}__cnt"] = x.notna().astype("float64")
        parts[f"{v}__sq"] = (x * x).fillna(0.0)
    cums = pd.DataFrame(parts).groupby(codes, sort=False).cumsum()
    cum = cums.to_numpy()
    columns: dict[str, object] = {by: g[by], "season": g["season"], "game_date": g["game_date"], "_n": position + 1}
    for w, k in windows.items():
        if k is None:
            window = cum
        else:
            # the cumsum k games earlier in the same group (0 before the group's k-th game)
            lag = np.zeros_like(cum)
            lag[k:] = cum[:-k] if k < len(cum) else lag[k:]
            lag[position < k] = 0.0
            # a difference of running float sums leaves ~1e-13 of noise (a window of zeros can
            # come out at -1e-16 and fail a >= 0 range): round it away
            window = np.round(cum - lag, 9)
        for j, name in enumerate(cums.columns):
            v, part = name.rsplit("__", 1)
            columns[f"{v}__{w}__{part}"] = window[:, j]
    return pd.DataFrame(columns)


def mean_std(sums: pd.DataFrame, v: str, w: str) -> tuple[pd.Series, pd.Series]:
    s, n, sq = sums[f"{v}__{w}__sum"], sums[f"{v}__{w}__cnt"], sums[f"{v}__{w}__sq"]
    mean = s / n.where(n > 0)
    var = (sq - s * s / n.where(n > 0)) / (n - 1).where(n > 1)
    return mean, np.sqrt(var.clip(lower=0.0))


def as_of_before(slate: pd.DataFrame, summary: pd.DataFrame, by: str, same_season: bool = True) -> pd.DataFrame:
    """For each slate row (game_date, by), the summary row of the entity's latest game strictly
    before game_date in the same season (any season with same_season=False; all-null where there
    is none). Keeps slate order.

    The as-of join matches positions only; the values are then gathered in one numpy take: joining
    the summary's columns themselves copied them three times over (a season's player_daily_cache
    peaked at 219 MiB for a 40 MiB result, measured)."""
    s = slate[["game_date", by]].reset_index(drop=True)
    seasons = season_labels(s["game_date"]).to_numpy()
    keys = pd.DataFrame(
        {"_last_date": summary["game_date"].to_numpy(), by: summary[by].array, "_pos": np.arange(len(summary))}
    )
    matched = pd.merge_asof(
        s.assign(_row=np.arange(len(s))).sort_values("game_date"),
        keys.sort_values("_last_date"),
        left_on="game_date",
        right_on="_last_date",
        by=by,
        allow_exact_matches=False,
        direction="backward",
    )
    pos = np.zeros(len(s), dtype="int64")
    found = np.zeros(len(s), dtype=bool)
    hit = matched["_pos"].notna().to_numpy()
    rows = matched["_row"].to_numpy()[hit]
    pos[rows], found[rows] = matched["_pos"].to_numpy()[hit].astype("int64"), True
    value_cols = [c for c in summary.columns if c not in (by, "season", "game_date")]
    if not len(summary):  # nothing to take from
        return pd.DataFrame(
            {"game_date": s["game_date"], by: s[by], "_season": seasons, "_last_date": pd.NaT, "_last_season": None}
            | {c: np.nan for c in value_cols}
        )
    last_season = np.where(found, summary["season"].to_numpy(dtype=object)[pos], None)
    known = found & (last_season == seasons) if same_season else found
    values = summary[value_cols].to_numpy(dtype="float64")[pos]
    values[~known] = np.nan
    out = pd.DataFrame(values, columns=value_cols)
    out.insert(0, "game_date", s["game_date"])
    out.insert(1, by, s[by])
    out.insert(2, "_season", seasons)
    out.insert(3, "_last_date", pd.Series(summary["game_date"].to_numpy()[pos]).where(found))
    out.insert(4, "_last_season", last_season)
    return out


def _ids(df: pd.DataFrame, column: str) -> pd.DataFrame:
    return df.astype({column: "int64"}) if column == "player_id" else df


def _slate_players_history(history: pd.DataFrame, slate: pd.DataFrame) -> pd.DataFrame:
    """The history of the slate's players only: windows are per player, so the others' games
    change nothing (a one-date run reads a season of history for a few hundred players)."""
    hist = _ids(history, "player_id")
    return hist[hist["player_id"].isin(slate["player_id"].unique())]


def _player_slate(context: pd.DataFrame) -> pd.DataFrame:
    cols = ["game_date", "game_id", "season", "player_id", "player_name", "team", "opponent"]
    return _ids(context[cols].reset_index(drop=True), "player_id")


# player_daily_cache -----------------------------------------------------------------------------
def _recent_window(slate: pd.DataFrame, hist: pd.DataFrame) -> pd.DataFrame:
    """Per slate row: sums over the player's last RECENT_GAMES games of any season within the
    date's history window (D-HISTORY_DAYS .. D-1), `_n` the games in it. The bound matters: a run
    over a longer range loads older history, and a date's features must not depend on the range
    of the run that built them."""
    # one season label for all games: the window runs across the season boundary
    sums = rolling_sums(
        hist.assign(season="any"), "player_id", list(CACHE_STATS), {"recent20": RECENT_GAMES, "all": None}
    )
    at = as_of_before(slate, sums, "player_id", same_season=False)
    # the player's latest game before the window (strictly before D - HISTORY_DAYS)
    horizon = slate.assign(game_date=slate["game_date"] - pd.Timedelta(days=HISTORY_DAYS))
    before = as_of_before(horizon, sums, "player_id", same_season=False)
    in_window = at["_n"].fillna(0) - before["_n"].fillna(0)
    short = (in_window < RECENT_GAMES).to_numpy()  # fewer than 20 games inside the window
    for v in CACHE_STATS:
        for part in ("sum", "cnt", "sq"):
            since = np.round(at[f"{v}__all__{part}"] - before[f"{v}__all__{part}"].fillna(0.0), 9)
            at.loc[short, f"{v}__recent20__{part}"] = since[short]
    at["_n"] = in_window.clip(upper=RECENT_GAMES)
    return at


def player_daily_cache(context: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    slate = _player_slate(context)
    hist = _slate_players_history(history, slate)
    sums = rolling_sums(hist, "player_id", list(CACHE_STATS), WINDOW_GAMES)
    at = as_of_before(slate, sums, "player_id")
    at_recent = _recent_window(slate, hist)
    columns = {
        "games_played": at["_n"].fillna(0).astype("int64").to_numpy(),
        "days_since_last_game": context["days_since_last_game"].to_numpy(),
        "recent_games": at_recent["_n"].astype("int64").to_numpy(),
    }
    for v in CACHE_STATS:
        for w, sums in [*((w, at) for w in WINDOW_GAMES), ("recent20", at_recent)]:
            mean, std = mean_std(sums, v, w)
            columns[f"{v}_avg_{w}"] = mean.to_numpy()
            columns[f"{v}_std_{w}"] = std.to_numpy()
    # one frame from all columns: ten stats x four windows x two are 80 columns
    return pd.concat([slate, pd.DataFrame(columns, index=slate.index)], axis=1)


# player_shot_zone_analysis ---------------------------------------------------------------------
def _zone_points(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(points_2pt=2 * df["fg2m"], points_3pt=3 * df["fg3m"], points_ft=df["ftm"])


def player_shot_zone_analysis(context: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    slate = _player_slate(context)
    hist = _zone_points(_slate_players_history(history, slate))
    values = ["points", "points_2pt", "points_3pt", "points_ft", "fg2m", "fg2a", "fg3m", "fg3a", "ftm", "fta"]
    sums = rolling_sums(hist, "player_id", values, {"w": ZONE_WINDOW_GAMES})
    at = as_of_before(slate, sums, "player_id")
    s = {v: at[f"{v}__w__sum"] for v in values}
    games = at["_n"].fillna(0).clip(upper=ZONE_WINDOW_GAMES).astype("int64")
    out = slate.copy()
    out["games_in_window"] = games.to_numpy()
    for z in ("2pt", "3pt", "ft"):
        out[f"points_share_{z}"] = ratio(s[f"points_{z}"], s["points"]).to_numpy()
    trips_ft = 0.44 * s["fta"]  # from the integer sum, so a window without free throws is exactly 0
    attempts = s["fg2a"] + s["fg3a"] + trips_ft
    out["attempt_share_2pt"] = ratio(s["fg2a"], attempts).to_numpy()
    out["attempt_share_3pt"] = ratio(s["fg3a"], attempts).to_numpy()
    out["attempt_share_ft"] = ratio(trips_ft, attempts).to_numpy()
    out["fg2_pct"] = ratio(s["fg2m"], s["fg2a"]).to_numpy()
    out["fg3_pct"] = ratio(s["fg3m"], s["fg3a"]).to_numpy()
    out["ft_pct"] = ratio(s["ftm"], s["fta"]).to_numpy()
    out["points_per_game"] = ratio(s["points"], games.astype("float64")).to_numpy()
    return out


# team_defense_zone_analysis --------------------------------------------------------------------
_DEF_VALUES = [
    "opp_points_2pt",
    "opp_points_3pt",
    "opp_points_ft",
    "opp_fg3a",
    "opp_fta",
    "points_allowed",
    "possessions",
    "minutes",
    *(f"opp_{stat}" for stat in ALLOWED_STATS),
]


def _with_opp_pra(defense: pd.DataFrame) -> pd.DataFrame:
    """The defence rows with what the opponents scored in the PRA market (points + rebounds + assists)."""
    return defense.assign(opp_pra=defense["points_allowed"] + defense["opp_reb"] + defense["opp_ast"])


def league_before(history: pd.DataFrame, dates: pd.Series) -> pd.DataFrame:
    """League totals of the season's games strictly before each date (cumulative by date)."""
    values = [*_DEF_VALUES, "team_games"]
    daily = history.assign(team_games=1).groupby(["season", "game_date"])[values].sum().reset_index()
    daily = daily.sort_values(["season", "game_date"])
    cum = daily.groupby("season")[values].cumsum()
    cum[["season", "game_date"]] = daily[["season", "game_date"]]
    q = pd.DataFrame({"game_date": dates.to_numpy(), "_row": np.arange(len(dates))})
    q["season"] = season_labels(q["game_date"])
    merged = pd.merge_asof(
        q.sort_values("game_date"),
        cum.rename(columns={"game_date": "_d"}).sort_values("_d"),
        left_on="game_date",
        right_on="_d",
        by="season",
        allow_exact_matches=False,
        direction="backward",
    )
    return merged.set_index("_row").sort_index()


def team_defense_zone_analysis(team_context: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    slate = team_context[["game_date", "game_id", "season", "team", "opponent"]].reset_index(drop=True)
    history = _with_opp_pra(history)
    sums = rolling_sums(history, "team", _DEF_VALUES, {"w": ZONE_WINDOW_GAMES})
    at = as_of_before(slate, sums, "team")
    s = {v: at[f"{v}__w__sum"] for v in _DEF_VALUES}
    league = league_before(history, slate["game_date"])
    enough = (at["_n"].fillna(0) >= MIN_TEAM_GAMES).to_numpy()
    s = {v: x.where(enough) for v, x in s.items()}
    # the league average needs as many team-games as a team's own rate (every team at MIN_TEAM_GAMES)
    league_enough = league["team_games"].fillna(0) >= 30 * MIN_TEAM_GAMES
    league = league.where(league_enough, axis=0)
    out = slate.copy()
    out["games_in_window"] = at["_n"].fillna(0).clip(upper=ZONE_WINDOW_GAMES).astype("int64").to_numpy()
    for z in ("2pt", "3pt", "ft"):
        team_rate = 100 * ratio(s[f"opp_points_{z}"], s["possessions"])
        league_rate = 100 * ratio(league[f"opp_points_{z}"], league["possessions"])
        out[f"opp_points_{z}_per100"] = team_rate.to_numpy()
        out[f"opp_points_{z}_vs_league"] = (team_rate.to_numpy() / league_rate.to_numpy()) - 1
    out["opp_fg3a_per100"] = (100 * ratio(s["opp_fg3a"], s["possessions"])).to_numpy()
    out["opp_fta_per100"] = (100 * ratio(s["opp_fta"], s["possessions"])).to_numpy()
    drtg = 100 * ratio(s["points_allowed"], s["possessions"])
    league_drtg = 100 * ratio(league["points_allowed"], league["possessions"])
    out["defensive_rating"] = drtg.to_numpy()
    out["defensive_rating_vs_league"] = drtg.to_numpy() / league_drtg.to_numpy() - 1
    # what opponents scored per game (not per possession: a prop settles per game), against the
    # league's per team-game
    per_game = {stat: mean_std(at, f"opp_{stat}", "w")[0].where(enough) for stat in ALLOWED_STATS}
    for stat, team_mean in per_game.items():
        out[f"{stat}_allowed_per_game"] = team_mean.to_numpy()
    for stat, team_mean in per_game.items():
        league_mean = ratio(league[f"opp_{stat}"], league["team_games"])
        out[f"{stat}_allowed_vs_league"] = team_mean.to_numpy() / league_mean.to_numpy() - 1
    # pace = possessions per 48 minutes of game time (team minutes / 5)
    out["pace"] = (48 * ratio(s["possessions"], s["minutes"] / 5)).to_numpy()
    out["league_pace"] = (48 * ratio(league["possessions"], league["minutes"] / 5)).to_numpy()
    out["league_defensive_rating"] = league_drtg.to_numpy()
    return out


# player_composite_factors ----------------------------------------------------------------------
def player_composite_factors(
    context: pd.DataFrame, cache: pd.DataFrame, zones: pd.DataFrame, team_zones: pd.DataFrame
) -> pd.DataFrame:
    slate = _player_slate(context)
    key = ["game_date", "player_id"]
    # only the columns read here: the cache has some 90
    used = ["minutes_avg_last5", "minutes_avg_season", "usage_rate_avg_last5", "usage_rate_avg_season"]
    c = _ids(cache[[*key, *used]], "player_id").set_index(key).reindex(pd.MultiIndex.from_frame(slate[key]))
    shares = [f"points_share_{zn}" for zn in ("2pt", "3pt", "ft")]
    z = _ids(zones[[*key, *shares]], "player_id").set_index(key).reindex(pd.MultiIndex.from_frame(slate[key]))
    tz = team_zones.set_index(["game_date", "team"])
    own = tz.reindex(pd.MultiIndex.from_frame(slate[["game_date", "team"]]))
    opp = tz.reindex(pd.MultiIndex.from_frame(slate[["game_date", "opponent"]]))

    out = slate.copy()
    out["rest_days"] = context["rest_days"].to_numpy()
    b2b = context["back_to_back"].astype(bool).to_numpy()
    out["back_to_back"] = b2b
    g7 = context["games_last_7_days"].astype("float64").to_numpy()
    out["games_last_7_days"] = context["games_last_7_days"].to_numpy()
    m5 = c["minutes_avg_last5"].to_numpy()
    out["minutes_avg_last5"] = m5
    out["minutes_avg_season"] = c["minutes_avg_season"].to_numpy()
    out["usage_avg_last5"] = c["usage_rate_avg_last5"].to_numpy()
    out["usage_avg_season"] = c["usage_rate_avg_season"].to_numpy()
    out["team_pace"] = own["pace"].to_numpy()
    out["opponent_pace"] = opp["pace"].to_numpy()
    out["league_pace"] = own["league_pace"].to_numpy()

    out["fatigue_score"] = (
        0.4 * b2b + 0.3 * np.clip((g7 - 2) / 2, 0, 1) + 0.3 * np.nan_to_num(np.clip((m5 - 30) / 8, 0, 1))
    )
    mismatch = sum(
        z[f"points_share_{zn}"].to_numpy() * opp[f"opp_points_{zn}_vs_league"].to_numpy() for zn in ("2pt", "3pt", "ft")
    )
    out["zone_mismatch"] = mismatch
    pace_diff = (out["team_pace"] + out["opponent_pace"]) / 2 - out["league_pace"]
    out["pace_differential"] = pace_diff
    out["usage_trend"] = out["usage_avg_last5"] - out["usage_avg_season"]
    out["minutes_trend"] = out["minutes_avg_last5"] - out["minutes_avg_season"]
    out["scoring_environment"] = (1 + np.nan_to_num(mismatch)) * (
        1 + np.nan_to_num((pace_diff / out["league_pace"]).to_numpy())
    ) * (1 - 0.03 * b2b) - 1
    return out


# ml_feature_store -------------------------------------------------------------------------------
def ml_feature_store(
    context: pd.DataFrame,
    team_context: pd.DataFrame,
    cache: pd.DataFrame,
    zones: pd.DataFrame,
    team_zones: pd.DataFrame,
    factors: pd.DataFrame,
) -> pd.DataFrame:
    slate = _player_slate(context)
    key = ["game_date", "player_id"]
    idx = pd.MultiIndex.from_frame(slate[key])
    ctx = _ids(context, "player_id").set_index(key).reindex(idx)
    # each table's features only: reindexing whole tables copied some 130 columns for nothing
    parts = [
        _ids(t[[*key, *(c for c in t.columns if c in FEATURES)]], "player_id").set_index(key).reindex(idx)
        for t in (cache, zones, factors)
    ]
    tctx = team_context.set_index(["game_date", "team"]).reindex(pd.MultiIndex.from_frame(slate[["game_date", "team"]]))
    opp = team_zones.set_index(["game_date", "team"]).reindex(
        pd.MultiIndex.from_frame(slate[["game_date", "opponent"]])
    )
    source = {
        **{
            c: ctx[c]
            for c in [
                "is_home",
                "season_games_played",
                "rest_days",
                "back_to_back",
                "games_last_7_days",
                "days_since_last_game",
                "last_game_minutes",
                *(column for label in PROP_MARKETS.values() for column in line_columns(label)),
            ]
        },
        **{c: parts[0][c] for c in parts[0].columns if c in FEATURES},
        **{c: parts[1][c] for c in parts[1].columns if c in FEATURES},
        **{
            c: parts[2][c]
            for c in [
                "zone_mismatch",
                "pace_differential",
                "fatigue_score",
                "usage_trend",
                "minutes_trend",
                "scoring_environment",
            ]
        },
        "team_spread": tctx["spread"],
        "game_total": tctx["game_total"],
        "implied_team_total": tctx["implied_team_total"],
        "opponent_defensive_rating": opp["defensive_rating"],
        "opponent_defensive_rating_vs_league": opp["defensive_rating_vs_league"],
        **{f"opponent_{stat}_allowed_vs_league": opp[f"{stat}_allowed_vs_league"] for stat in ALLOWED_STATS},
    }
    missing = [f for f in FEATURES if f not in source]
    if missing:
        raise KeyError(f"features without a source: {missing}")
    features = pd.DataFrame({name: source[name].astype("float64").to_numpy() for name in FEATURES}, index=slate.index)
    return pd.concat([slate.assign(feature_version=FEATURE_VERSION), features], axis=1)
