"""Per-partition checks of the `nba_analytics` tables: record counts against their sources, value
ranges, and reconciliation across tables (team points = sum of player points; minutes = 240 + 25
per overtime). Blocking where wrong numbers would flow into features; WARN where the data can be
legitimately incomplete (rosters before a team's first game in the data, unmatched line players).
"""

from collections.abc import Sequence

import dagster as dg
import numpy as np
import pandas as pd

from nba_pipeline.analytics import tables
from nba_pipeline.core.checks.common import (
    day_counts,
    day_examples,
    disagreements,
    failed_because,
    game_day,
    in_range_check,
    long_problems,
    rows_match,
    table_checks,
    team_game_keys,
)
from nba_pipeline.core.checks.partitioned import Outcome, Outcomes, PartitionCheck
from nba_pipeline.raw import tables as raw
from nba_pipeline.raw.checks import player_sides_match_schedule, team_rows_match_schedule

WARN = dg.AssetCheckSeverity.WARN
REGULATION_MINUTES = 240
OVERTIME_MINUTES = 25
# the team logs' MIN is the sum of the players' whole minutes, so it may be off by half a minute
# per player (measured on 2024-25: -3 .. +3); exact mm:ss minutes sum to the game clock
ROUNDING_PER_PLAYER = 0.5
EXACT_TOLERANCE = 0.1
MAX_DRESSED = 13
MIN_ROSTER = 8
MIN_LINE_PLAYERS_IN_CONTEXT = 0.95


def _day_max(df: pd.DataFrame, values: pd.Series) -> dict[str, float]:
    if df.empty:
        return {}
    return {k: round(float(v), 3) for k, v in values.groupby(game_day(df)).max().items()}


def _game_minutes(game_ids: pd.Series, schedule: pd.DataFrame) -> np.ndarray:
    ot = schedule.set_index("game_id")["overtime_periods"].astype("float64").reindex(game_ids).to_numpy()
    return REGULATION_MINUTES + OVERTIME_MINUTES * np.nan_to_num(ot)


# player_game_summary ----------------------------------------------------------------------------
def player_totals_reconcile(
    pgs: pd.DataFrame, teams: pd.DataFrame, players: pd.DataFrame, schedule: pd.DataFrame, keys: Sequence[str]
) -> Outcomes:
    """Per team-game: players' points sum to the team's points, and players' minutes sum to the
    game's minutes (240 + 25 per overtime): within 0.1 where every player has exact mm:ss minutes,
    within half a minute per player where minutes are whole."""
    g = pgs.groupby(["game_date", "game_id", "team"], as_index=False).agg(
        player_points=("points", "sum"), player_minutes=("minutes", "sum"), players=("player_id", "size")
    )
    exact = players.groupby(["game_id", "team"])["in_boxscore_feed"].all()
    idx = pd.MultiIndex.from_frame(g[["game_id", "team"]])
    g["team_points"] = teams.set_index(["game_id", "team"])["points"].reindex(idx).to_numpy(dtype="float64")
    g["game_minutes"] = _game_minutes(g["game_id"], schedule)
    g["exact"] = exact.reindex(idx).fillna(False).to_numpy(dtype=bool)
    g["tolerance"] = np.where(g["exact"], EXACT_TOLERANCE, ROUNDING_PER_PLAYER * g["players"])
    g["minutes_off"] = (g["player_minutes"] - g["game_minutes"]).round(3)
    ok = (g["player_points"] == g["team_points"]) & (g["minutes_off"].abs() <= g["tolerance"])
    bad = g[~ok]
    n_games, n_exact, n_bad = day_counts(g), day_counts(g[g["exact"]]), day_counts(bad)
    max_off = _day_max(g, g["minutes_off"].abs())
    examples = day_examples(bad, ["game_id", "team", "player_points", "team_points", "player_minutes", "game_minutes"])
    return {
        k: Outcome(
            passed=not n_bad.get(k, 0),
            metadata={
                "team_games": n_games.get(k, 0),
                "team_games_exact_minutes": n_exact.get(k, 0),
                "max_abs_minutes_off": max_off.get(k, 0.0),
                "mismatches (game, team, player pts, team pts, player min, game min)": dg.MetadataValue.json(
                    examples.get(k, [])
                ),
            },
            description=None
            if not n_bad.get(k, 0)
            else failed_because(
                k,
                f"{n_bad[k]} of {n_games.get(k, 0)} team-game(s) whose players' points or minutes do not add up "
                f"(game, team, player pts, team pts, player min, game min), e.g. {examples[k][0]}",
            ),
        )
        for k in keys
    }


# team summaries ---------------------------------------------------------------------------------
def team_minutes_match_overtime(offense: pd.DataFrame, pgs: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Team minutes = 240 + 25 x overtime periods, within the rounding of its players' whole
    minutes (half a minute per player who played; 13 players where no player rows exist)."""
    players = pgs.groupby(["game_id", "team"]).size()
    n = players.reindex(pd.MultiIndex.from_frame(offense[["game_id", "team"]])).fillna(MAX_DRESSED).to_numpy()
    expected = REGULATION_MINUTES + OVERTIME_MINUTES * offense["overtime_periods"].astype("float64").to_numpy()
    off = offense["minutes"].astype("float64").to_numpy() - expected
    df = offense[["game_date", "game_id", "team", "minutes", "overtime_periods"]].assign(off=off)
    bad = df[np.abs(off) > ROUNDING_PER_PLAYER * n]
    n_games, n_exact, n_bad = day_counts(df), day_counts(df[df["off"] == 0]), day_counts(bad)
    max_off = _day_max(df, df["off"].abs())
    examples = day_examples(bad, ["game_id", "team", "minutes", "overtime_periods"])
    return {
        k: Outcome(
            passed=not n_bad.get(k, 0),
            metadata={
                "team_games": n_games.get(k, 0),
                "exactly_240_plus_25_per_ot": n_exact.get(k, 0),
                "max_abs_off": max_off.get(k, 0.0),
                "violations (game, team, minutes, overtime periods)": dg.MetadataValue.json(examples.get(k, [])),
            },
            description=None
            if not n_bad.get(k, 0)
            else failed_because(
                k,
                f"{n_bad[k]} of {n_games.get(k, 0)} team-game(s) whose minutes are not 240 + 25 per overtime "
                f"(game, team, minutes, overtime periods), e.g. {examples[k][0]}",
            ),
        )
        for k in keys
    }


def defense_mirrors_offense(defense: pd.DataFrame, offense: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """A team's allowed numbers are its opponent's offensive numbers in the same game."""
    pairs = {
        "points_allowed": "points",
        "opp_fga": "fga",
        "opp_fg3m": "fg3m",
        "opp_fta": "fta",
        "possessions": "possessions",
    }
    o = offense.set_index(["game_id", "team"])
    opp = o.reindex(pd.MultiIndex.from_frame(defense[["game_id", "opponent"]]))
    ok = np.ones(len(defense), dtype=bool)
    for d_col, o_col in pairs.items():
        ok &= np.isclose(
            defense[d_col].astype("float64").to_numpy(), opp[o_col].astype("float64").to_numpy(), equal_nan=False
        )
    bad = defense[~ok]
    n_games, n_bad, examples = day_counts(defense), day_counts(bad), day_examples(bad, ["game_id", "team"])
    return {
        k: Outcome(
            passed=not n_bad.get(k, 0),
            metadata={"team_games": n_games.get(k, 0), "mismatched": dg.MetadataValue.json(examples.get(k, []))},
            description=None
            if not n_bad.get(k, 0)
            else failed_because(
                k,
                f"{n_bad[k]} of {n_games.get(k, 0)} team-game(s) whose allowed numbers are not "
                f"the opponent's offense, e.g. {examples[k][0]}",
            ),
        )
        for k in keys
    }


# upcoming contexts ------------------------------------------------------------------------------
def rosters_cover_teams(players: pd.DataFrame, team_context: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    sizes = players.groupby(["game_id", "team"]).size()
    t = team_context[["game_date", "game_id", "team"]].copy()
    t["players"] = sizes.reindex(pd.MultiIndex.from_frame(t[["game_id", "team"]])).fillna(0).astype(int).to_numpy()
    short = t[t["players"] < MIN_ROSTER]
    n_games, n_short, examples = day_counts(t), day_counts(short), day_examples(short, ["game_id", "team", "players"])
    players = t.groupby(game_day(t))["players"].sum().to_dict() if len(t) else {}
    return {
        k: Outcome(
            passed=not n_short.get(k, 0),
            metadata={
                "team_games": n_games.get(k, 0),
                "players": int(players.get(k, 0)),
                "team_games_short (game, team, players)": dg.MetadataValue.json(examples.get(k, [])),
            },
            description=None
            if not n_short.get(k, 0)
            else failed_because(
                k,
                f"{n_short[k]} of {n_games.get(k, 0)} team-game(s) with fewer than {MIN_ROSTER} players in context "
                f"(game, team, players), e.g. {examples[k][0]}",
            ),
        )
        for k in keys
    }


def line_players_in_context(players: pd.DataFrame, props: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    p = props[props["player_id"].notna() & props["game_id"].notna()][
        ["game_date", "game_id", "player_id", "player_name"]
    ]
    p = p.drop_duplicates(["game_id", "player_id"])
    have = pd.MultiIndex.from_frame(players[["game_id", "player_id"]].astype({"player_id": "int64"}))
    p = p.assign(found=pd.MultiIndex.from_frame(p[["game_id", "player_id"]].astype({"player_id": "int64"})).isin(have))
    n_lines, n_found = day_counts(p), day_counts(p[p["found"]])
    examples = day_examples(p[~p["found"]], ["player_name"])
    out = {}
    for k in keys:
        lines, found = n_lines.get(k, 0), n_found.get(k, 0)
        passed = found >= MIN_LINE_PLAYERS_IN_CONTEXT * lines
        out[k] = Outcome(
            passed=passed,
            metadata={
                "line_players": lines,
                "in_context": found,
                "not_in_context": dg.MetadataValue.json(examples.get(k, [])),
            },
            description=None
            if passed
            else failed_because(
                k,
                f"{lines - found} of {lines} player(s) with a line ({(lines - found) / lines:.0%}) not in the context "
                f"(> {1 - MIN_LINE_PLAYERS_IN_CONTEXT:.0%}), e.g. {', '.join(x[0] for x in examples.get(k, [])[:3])}",
            ),
        )
    return out


def team_context_mirrors(context: pd.DataFrame, schedule: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Reconciliation of a game's two pre-game rows: the sides are the schedule's, and what one
    side's line gives the other takes (spread), while the implied team totals add up to the game
    total. A sign error in deriving a side's line from the home spread shows here."""
    c = context.reset_index(drop=True)
    other = (
        c.set_index(["game_id", "team"])
        .reindex(pd.MultiIndex.from_frame(c[["game_id", "opponent"]]))
        .reset_index(drop=True)
    )
    s = schedule.set_index("game_id")
    home_side = c["team"] == c["game_id"].map(s["home_team"])
    lined = c["spread"].notna() & c["game_total"].notna()
    facts = {
        "is_home": (c["is_home"].astype(bool), home_side),
        "opponent": (
            c["opponent"],
            pd.Series(
                np.where(home_side, c["game_id"].map(s["away_team"]), c["game_id"].map(s["home_team"])), dtype="string"
            ),
        ),
        "spread": (c["spread"].where(lined).round(3), (-other["spread"]).where(lined).round(3)),
        "implied_team_total": (
            (c["implied_team_total"] + other["implied_team_total"]).where(lined).round(3),
            c["game_total"].where(lined).round(3),
        ),
    }
    return disagreements(c, long_problems(c, ["game_id", "team"], facts), keys, "team_games")


# the tables' checks (evaluated inline by the analytics assets) ---------------------------------
PGS = tables.player_game_summary.name
player_game_summary_checks = table_checks(
    tables.player_game_summary,
    [
        PartitionCheck(
            "one_row_per_boxscore_row",
            "Exactly one row per player box score row of the date (none missing, none extra, none twice).",
            lambda f, k: rows_match(f[PGS], f["player_boxscores"], ["game_date", "game_id", "player_id"], k),
        ),
        in_range_check(tables.player_game_summary),
        PartitionCheck(
            "reconciles_with_team_totals",
            "Per team-game, players' points sum to the team's points and players' minutes to 240 + 25 per overtime "
            "(rounding allowed for whole minutes).",
            lambda f, k: player_totals_reconcile(f[PGS], f["team_boxscores"], f["player_boxscores"], f["schedule"], k),
        ),
        PartitionCheck(
            "sides_match_schedule",
            "Each player's team plays in the game, and its home/away flag and opponent are the schedule's.",
            lambda f, k: player_sides_match_schedule(f[PGS], f["schedule"], k),
        ),
    ],
    reads=[raw.player_boxscores, raw.team_boxscores, raw.schedule],
)

OFF, DEF = tables.team_offense_game_summary.name, tables.team_defense_game_summary.name


def _two_rows_per_final_game(table_name: str) -> PartitionCheck:
    return PartitionCheck(
        "two_rows_per_final_game",
        "Two rows (one per team) per final game of the date; an off day has none.",
        lambda f, k: rows_match(
            f[table_name], team_game_keys(f["schedule"], final_only=True), ["game_date", "game_id", "team"], k
        ),
    )


team_offense_game_summary_checks = table_checks(
    tables.team_offense_game_summary,
    [
        _two_rows_per_final_game(OFF),
        in_range_check(tables.team_offense_game_summary),
        PartitionCheck(
            "minutes_match_overtime",
            "Team minutes equal 240 + 25 per overtime period, within the rounding of players' whole minutes.",
            lambda f, k: team_minutes_match_overtime(f[OFF], f[PGS], k),
        ),
        PartitionCheck(
            "matches_schedule",
            "Each final game's two rows agree with the schedule: "
            "side (home/away, opponent), points (the schedule's score) and winner.",
            lambda f, k: team_rows_match_schedule(f[OFF], f["schedule"], k),
        ),
    ],
    reads=[raw.schedule, tables.player_game_summary],
)

team_defense_game_summary_checks = table_checks(
    tables.team_defense_game_summary,
    [
        _two_rows_per_final_game(DEF),
        in_range_check(tables.team_defense_game_summary),
        PartitionCheck(
            "mirrors_opponent_offense",
            "What a team allowed (points, FGA, 3PM, FTA, possessions) equals its opponent's offence in the same game.",
            lambda f, k: defense_mirrors_offense(f[DEF], f[OFF], k),
        ),
    ],
    reads=[raw.schedule, tables.team_offense_game_summary],
)

UTC, UPC = tables.upcoming_team_game_context.name, tables.upcoming_player_game_context.name
upcoming_team_game_context_checks = table_checks(
    tables.upcoming_team_game_context,
    [
        PartitionCheck(
            "two_rows_per_scheduled_game",
            "Two rows (one per team) per game scheduled on the date.",
            lambda f, k: rows_match(
                f[UTC], team_game_keys(f["schedule"], final_only=False), ["game_date", "game_id", "team"], k
            ),
        ),
        in_range_check(tables.upcoming_team_game_context),
        PartitionCheck(
            "sides_mirror",
            "A game's two rows: sides as in the schedule, spreads opposite, "
            "implied team totals adding up to the game total.",
            lambda f, k: team_context_mirrors(f[UTC], f["schedule"], k),
        ),
    ],
    reads=[raw.schedule],
)

upcoming_player_game_context_checks = table_checks(
    tables.upcoming_player_game_context,
    [
        PartitionCheck(
            "roster_per_team_game",
            f"Every team playing on the date has at least {MIN_ROSTER} expected players (fewer means the "
            "team has no earlier games in the data, e.g. the data's first dates).",
            lambda f, k: rosters_cover_teams(f[UPC], f[UTC], k),
            blocking=False,
            severity=WARN,
        ),
        in_range_check(tables.upcoming_player_game_context),
        PartitionCheck(
            "line_players_in_context",
            f"At least {MIN_LINE_PLAYERS_IN_CONTEXT:.0%} of players with a points line "
            "(matched to an NBA id) have a context row.",
            lambda f, k: line_players_in_context(f[UPC], f["player_props"], k),
            blocking=False,
            severity=WARN,
        ),
    ],
    reads=[tables.upcoming_team_game_context, raw.player_props],
)
