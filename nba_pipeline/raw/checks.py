"""Per-partition checks of the `nba_raw` tables.

The evaluators are pure (frames in, `{partition: Outcome}` out); the `TableChecks` at the bottom
are evaluated inline by the raw assets, over the run's whole partition range at once. Checks that
guard downstream data are blocking; coverage of sportsbook data is WARN (a day without odds is
possible and must be visible, not fatal).
"""

from collections.abc import Sequence

import dagster as dg
import numpy as np
import pandas as pd

from nba_pipeline.core.checks.common import (
    day_counts,
    day_examples,
    disagreements,
    failed_because,
    game_day,
    long_problems,
    rows_match,
    table_checks,
    team_game_keys,
)
from nba_pipeline.core.checks.partitioned import Outcome, Outcomes, PartitionCheck
from nba_pipeline.core.schema import AMERICAN_ODDS_RANGE
from nba_pipeline.raw import tables
from nba_pipeline.raw.transforms import COUNT_STATS, DROPPED_LINES, WITHHELD_PRICES

WARN = dg.AssetCheckSeverity.WARN
MAX_LISTED = 20
# stats the box score feed may have corrected after the game logs were taken, by at most 1
# (e.g. a missed three re-credited: FGA and FG3A both -1); points must agree exactly
CORRECTABLE_STATS = tuple(s for s in COUNT_STATS if s != "points")
MAX_UNMATCHED_NAME_SHARE = 0.05


# generic ------------------------------------------------------------------------------------------
def _final_games(schedule: pd.DataFrame) -> pd.DataFrame:
    return schedule[schedule["status"] == "final"]


# schedule -----------------------------------------------------------------------------------------
def final_games_have_scores(schedule: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    finals = _final_games(schedule)
    bad = finals[
        finals["home_points"].isna() | finals["away_points"].isna() | (finals["home_points"] == finals["away_points"])
    ]
    n_finals, n_bad, examples = day_counts(finals), day_counts(bad), day_examples(bad, ["game_id"])
    return {
        key: Outcome(
            passed=not n_bad.get(key, 0),
            metadata={
                "final_games": n_finals.get(key, 0),
                "games_without_a_result": dg.MetadataValue.json(examples.get(key, [])),
            },
            description=None
            if not n_bad.get(key, 0)
            else failed_because(
                key,
                f"{n_bad[key]} of {n_finals.get(key, 0)} final game(s) without both scores or a winner, "
                f"e.g. {examples[key][0]}",
            ),
        )
        for key in keys
    }


# team box scores ----------------------------------------------------------------------------------
def team_points_match_player_points(teams: pd.DataFrame, players: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Cross-source: a team's points in the team game log equal the sum of its players' points
    (player game logs). Team rows summed from player rows are skipped: they agree by construction."""
    sums = players.groupby(["game_id", "team"])["points"].sum()
    logged = teams[teams["source"] == "team_game_log"]
    player_pts = sums.reindex(pd.MultiIndex.from_frame(logged[["game_id", "team"]])).to_numpy(dtype="float64")
    compared = logged[~np.isnan(player_pts)].assign(player_points=player_pts[~np.isnan(player_pts)])
    diff = compared[compared["points"].astype("float64") != compared["player_points"]]
    n_compared, n_diff = day_counts(compared), day_counts(diff)
    examples = day_examples(diff, ["game_id", "team", "points", "player_points"])
    return {
        key: Outcome(
            passed=not n_diff.get(key, 0),
            metadata={
                "team_games_compared": n_compared.get(key, 0),
                "mismatches": dg.MetadataValue.json(examples.get(key, [])),
            },
            description=None
            if not n_diff.get(key, 0)
            else failed_because(
                key,
                f"{n_diff[key]} of {n_compared.get(key, 0)} team-game(s) whose points differ from the sum of "
                f"their players' (game, team, team points, player points), e.g. {examples[key][0]}",
            ),
        )
        for key in keys
    }


def team_rows_match_schedule(teams: pd.DataFrame, schedule: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Reconciliation: the rows of each final game state what the schedule states: the side
    (is_home, opponent), the team's points and the opponent's (the schedule's score), the winner
    and, where the table has it, the margin (plus/minus). Used for every table with team-game rows
    (raw team box scores, the analytics team summaries); rows of games not final in the schedule
    are `rows_match`'s subject, not this one's."""
    s = schedule[schedule["status"] == "final"].set_index("game_id")
    t = teams[teams["game_id"].isin(s.index)].reset_index(drop=True)
    home, away = t["game_id"].map(s["home_team"]), t["game_id"].map(s["away_team"])
    home_side = t["team"] == home
    own = pd.Series(
        np.where(home_side, t["game_id"].map(s["home_points"]), t["game_id"].map(s["away_points"])), dtype="float64"
    )
    opp = pd.Series(
        np.where(home_side, t["game_id"].map(s["away_points"]), t["game_id"].map(s["home_points"])), dtype="float64"
    )
    facts = {
        "team": (t["team"], t["team"].where(home_side | (t["team"] == away))),
        "is_home": (t["is_home"].astype(bool), home_side),
        "opponent": (t["opponent"], pd.Series(np.where(home_side, away, home), dtype="string")),
        "points": (t["points"].astype("float64"), own),
        "win": (t["win"].astype(bool), own > opp),
    }
    if "plus_minus" in t.columns:
        facts["plus_minus"] = (t["plus_minus"].astype("float64"), own - opp)
    return disagreements(t, long_problems(t, ["game_id", "team"], facts), keys, "team_games")


def plus_minus_matches_players(teams: pd.DataFrame, players: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Cross-source: five players are on the floor for every point, so a team's players' plus/minus
    sums to five times the team's margin (exact in every team-game of the data's player logs)."""
    sums = players.groupby(["game_id", "team"])["plus_minus"].sum()
    idx = pd.MultiIndex.from_frame(teams[["game_id", "team"]])
    player_pm = pd.Series(sums.reindex(idx).to_numpy(dtype="float64"), index=teams.index)
    compared = teams[player_pm.notna()].reset_index(drop=True)
    facts = {"plus_minus": (5 * compared["plus_minus"].astype("float64"), player_pm.dropna().reset_index(drop=True))}
    return disagreements(compared, long_problems(compared, ["game_id", "team"], facts), keys, "team_games")


def player_sides_match_schedule(players: pd.DataFrame, schedule: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Reconciliation: each player row's team plays in that game, and its home/away flag and
    opponent are the schedule's."""
    s = schedule.set_index("game_id")
    p = players[players["game_id"].isin(s.index)].reset_index(drop=True)
    home, away = p["game_id"].map(s["home_team"]), p["game_id"].map(s["away_team"])
    home_side = p["team"] == home
    facts = {
        "team": (p["team"], p["team"].where(home_side | (p["team"] == away))),
        "is_home": (p["is_home"].astype(bool), home_side),
        "opponent": (p["opponent"], pd.Series(np.where(home_side, away, home), dtype="string")),
    }
    return disagreements(p, long_problems(p, ["game_id", "player_id"], facts), keys, "player_rows")


# player box scores --------------------------------------------------------------------------------
def player_rows_cover_schedule(players: pd.DataFrame, schedule: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Every final game whose season type the player feeds cover has player rows for both teams;
    games of other season types have none (they are not counted as missing)."""
    finals = _final_games(schedule)
    covered = finals[finals["player_stats_expected"]]
    key = ["game_date", "game_id", "team"]
    merged = (
        players[key]
        .drop_duplicates()
        .merge(team_game_keys(covered, final_only=True), on=key, how="outer", indicator=True)
    )
    missing, extra = merged[merged["_merge"] == "right_only"], merged[merged["_merge"] == "left_only"]
    n_missing, n_extra = day_counts(missing), day_counts(extra)
    ex_missing, ex_extra = day_examples(missing, ["game_id", "team"]), day_examples(extra, ["game_id", "team"])
    n_covered, n_not_covered, n_rows = (
        day_counts(covered),
        day_counts(finals[~finals["player_stats_expected"]]),
        day_counts(players),
    )
    return {
        k: Outcome(
            passed=not (n_missing.get(k, 0) or n_extra.get(k, 0)),
            metadata={
                "games_expecting_player_rows": n_covered.get(k, 0),
                "games_not_covered_by_player_feeds": n_not_covered.get(k, 0),
                "player_rows": n_rows.get(k, 0),
                "team_games_without_players": dg.MetadataValue.json(ex_missing.get(k, [])),
                "unexpected_team_games": dg.MetadataValue.json(ex_extra.get(k, [])),
            },
            description=None
            if not (n_missing.get(k, 0) or n_extra.get(k, 0))
            else failed_because(
                k,
                "; ".join(
                    (
                        [f"{n_missing[k]} team-game(s) without player rows, e.g. {ex_missing[k][0]}"]
                        if n_missing.get(k)
                        else []
                    )
                    + (
                        [f"{n_extra[k]} team-game(s) with player rows but no final covered game, e.g. {ex_extra[k][0]}"]
                        if n_extra.get(k)
                        else []
                    )
                ),
            ),
        )
        for k in keys
    }


def players_match_boxscore_feed(players: pd.DataFrame, feed: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Cross-source: the game logs and the independent box score feed agree on every played row
    of the games both cover. Later stat corrections (a difference of 1 in any counting stat but
    points) are allowed and reported; a different points total, or a player in one feed only,
    fails."""
    covered = players[players["in_boxscore_feed"]]
    dates = covered.drop_duplicates("game_id").set_index("game_id")["game_date"]
    played = feed[feed["played"] & feed["game_id"].isin(dates.index)]
    m = covered[["game_id", "player_id", *COUNT_STATS]].merge(
        played[["game_id", "player_id", *COUNT_STATS]],
        on=["game_id", "player_id"],
        how="outer",
        suffixes=("", "_feed"),
        indicator=True,
    )
    m["game_date"] = m["game_id"].map(dates)
    both = m[m["_merge"] == "both"]
    delta = pd.DataFrame(
        {c: (both[c].astype("int64") - both[f"{c}_feed"].astype("int64")).abs() for c in COUNT_STATS}, index=both.index
    )
    both = both.assign(
        points_diff=delta["points"] > 0,
        corrected=(delta[list(CORRECTABLE_STATS)] == 1).any(axis=1),
        beyond=(delta["points"] > 0) | delta[list(CORRECTABLE_STATS)].gt(1).any(axis=1),
    )
    only_logs, only_feed = m[m["_merge"] == "left_only"], m[m["_merge"] == "right_only"]
    beyond = both[both["beyond"]]
    games, rows = (
        covered.groupby(covered["game_date"].dt.strftime("%Y-%m-%d"))["game_id"].nunique().to_dict(),
        day_counts(both),
    )
    corrections, point_diffs = day_counts(both[both["corrected"]]), day_counts(both[both["points_diff"]])
    n_logs, n_feed, n_beyond = day_counts(only_logs), day_counts(only_feed), day_counts(beyond)
    ex_logs, ex_feed, ex_beyond = (day_examples(x, ["game_id", "player_id"]) for x in (only_logs, only_feed, beyond))
    out = {}
    for key in keys:
        out[key] = Outcome(
            passed=not (n_logs.get(key, 0) or n_feed.get(key, 0) or n_beyond.get(key, 0)),
            metadata={
                "games_compared": int(games.get(key, 0)),
                "rows_compared": rows.get(key, 0),
                "rows_with_stat_corrections": corrections.get(key, 0),
                "rows_with_points_difference": point_diffs.get(key, 0),
                "rows_beyond_tolerance": dg.MetadataValue.json(ex_beyond.get(key, [])),
                "players_only_in_game_logs": dg.MetadataValue.json(ex_logs.get(key, [])),
                "players_only_in_boxscore_feed": dg.MetadataValue.json(ex_feed.get(key, [])),
            },
            description=None
            if not (n_logs.get(key, 0) or n_feed.get(key, 0) or n_beyond.get(key, 0))
            else failed_because(
                key,
                "; ".join(
                    (
                        [f"{n_beyond[key]} row(s) differ beyond a stat correction, e.g. {ex_beyond[key][0]}"]
                        if n_beyond.get(key)
                        else []
                    )
                    + (
                        [f"{n_logs[key]} player(s) only in the game logs, e.g. {ex_logs[key][0]}"]
                        if n_logs.get(key)
                        else []
                    )
                    + (
                        [f"{n_feed[key]} player(s) only in the box score feed, e.g. {ex_feed[key][0]}"]
                        if n_feed.get(key)
                        else []
                    )
                ),
            ),
        )
    return out


# sportsbook data ----------------------------------------------------------------------------------
def props_names_matched(props: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    unmatched = props[props["player_id"].isna()]
    n_rows, n_unmatched = day_counts(props), day_counts(unmatched)
    names = (
        unmatched.groupby(game_day(unmatched))["odds_player_name"].agg(lambda x: sorted(set(x))[:MAX_LISTED]).to_dict()
        if len(unmatched)
        else {}
    )
    out = {}
    for key in keys:
        rows, bad = n_rows.get(key, 0), n_unmatched.get(key, 0)
        share = bad / rows if rows else 0.0
        out[key] = Outcome(
            passed=share <= MAX_UNMATCHED_NAME_SHARE,
            metadata={
                "rows": rows,
                "unmatched_rows": bad,
                "unmatched_share": round(share, 4),
                "unmatched_names": dg.MetadataValue.json(names.get(key, [])),
            },
            description=None
            if share <= MAX_UNMATCHED_NAME_SHARE
            else failed_because(
                key,
                f"{bad} of {rows} prop row(s) ({share:.0%}) name no NBA player (> {MAX_UNMATCHED_NAME_SHARE:.0%}), "
                f"e.g. {', '.join(names.get(key, [])[:3])}",
            ),
        )
    return out


def odds_cover_schedule(odds: pd.DataFrame, schedule: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Each final/scheduled game of the date has sportsbook rows (WARN: a day without odds means
    predictions fall back to estimated lines, which must be visible)."""
    games = schedule[["game_date", "game_id"]].drop_duplicates()
    with_odds = games["game_id"].isin(set(odds["game_id"].dropna()))
    missing = games[~with_odds]
    n_games, n_with, n_missing = day_counts(games), day_counts(games[with_odds]), day_counts(missing)
    examples = day_examples(missing, ["game_id"])
    n_unmatched = day_counts(odds[odds["game_id"].isna()])
    return {
        key: Outcome(
            passed=not n_missing.get(key, 0),
            metadata={
                "games": n_games.get(key, 0),
                "games_with_odds": n_with.get(key, 0),
                "games_without_odds": dg.MetadataValue.json(examples.get(key, [])),
                "rows_not_matched_to_a_game": n_unmatched.get(key, 0),
            },
            description=None
            if not n_missing.get(key, 0)
            else failed_because(
                key,
                f"{n_missing[key]} of {n_games.get(key, 0)} game(s) without sportsbook rows, e.g. {examples[key][0]}",
            ),
        )
        for key in keys
    }


def _listed_rejections(rejected: pd.DataFrame, keys: Sequence[str], field: str, count: str, what: str) -> Outcomes:
    """A date passes when the source rejected none of its values; those it did are listed by
    file, line, `field` and value (`what`: the one-line reason, after the count)."""
    n, examples = day_counts(rejected), day_examples(rejected, ["file", "line", field, "value"])
    out = {}
    for key in keys:
        bad = n.get(key, 0)
        shown = examples.get(key, [])
        out[key] = Outcome(
            passed=not bad,
            metadata={count: bad, "listed": dg.MetadataValue.json(shown)},
            description=None
            if not bad
            else failed_because(
                key, f"{bad} {what}, e.g. " + "; ".join(f"{f} line {ln} {c} {v}" for f, ln, c, v in shown[:3])
            ),
        )
    return out


def prices_valid(withheld: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Every sportsbook price of the date was a price (American odds); those that were not were
    withheld by the source (stored as null) and are listed here by file, line and column."""
    what = f"price(s) not valid American odds ({AMERICAN_ODDS_RANGE}) withheld"
    return _listed_rejections(withheld, keys, "column", "prices_withheld", what)


def lines_valid(dropped: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Every prop line of the date lay within its market's range; those that did not were
    dropped by the source (not stored) and are listed here by file, line and market."""
    what = "quote(s) with a line outside their market's range dropped"
    return _listed_rejections(dropped, keys, "market", "lines_dropped", what)


# check definitions --------------------------------------------------------------------------------
# (no "keys not null" check: the schema refuses a null key before the write and the warehouse
# columns are NOT NULL, so such a check could never fail)
# every evaluator gets the frames of its step (the table as stored and its reads), by table name,
# and the run's partition keys
# grain uniqueness is not a check here: the write enforces it (a duplicate key fails the step with
# nothing written), so a check on the written frame could never fail; that a re-materialization
# replaces its partitions rather than appending is the warehouse tests' subject
_PRICES_VALID = (
    f"Every price in the feed is American odds ({AMERICAN_ODDS_RANGE}); any other value is withheld "
    "(stored as null) and listed by file, line and column."
)
SCHEDULE_CHECKS = [
    PartitionCheck(
        "final_games_have_scores",
        "Every final game has both scores and a winner.",
        lambda f, k: final_games_have_scores(f["schedule"], k),
    ),
]
TEAM_CHECKS = [
    # (no separate grain check: a key present twice already fails rows_match_schedule)
    PartitionCheck(
        "rows_match_schedule",
        "Two team rows per final game of the date, one per team, no key twice (0 games -> 0 rows).",
        lambda f, k: rows_match(
            f["team_boxscores"], team_game_keys(f["schedule"], final_only=True), ["game_date", "game_id", "team"], k
        ),
    ),
    PartitionCheck(
        "points_match_player_points",
        "Team points (team game log) equal the sum of its players' points (player game logs).",
        lambda f, k: team_points_match_player_points(f["team_boxscores"], f["player_boxscores"], k),
    ),
    PartitionCheck(
        "matches_schedule",
        "Each final game's two rows agree with the schedule: side (home/away, opponent), "
        "points (the schedule's score), winner and margin (plus/minus).",
        lambda f, k: team_rows_match_schedule(f["team_boxscores"], f["schedule"], k),
    ),
    PartitionCheck(
        "plus_minus_matches_players",
        "Five times a team's plus/minus equals the sum of its players' plus/minus (player game logs).",
        lambda f, k: plus_minus_matches_players(f["team_boxscores"], f["player_boxscores"], k),
    ),
]
PLAYER_CHECKS = [
    PartitionCheck(
        "rows_cover_schedule",
        "Player rows exist for both teams of every final game the player feeds cover, and for no other game.",
        lambda f, k: player_rows_cover_schedule(f["player_boxscores"], f["schedule"], k),
    ),
    PartitionCheck(
        "sides_match_schedule",
        "Each player row's team plays in the game, and its home/away flag and opponent are the schedule's.",
        lambda f, k: player_sides_match_schedule(f["player_boxscores"], f["schedule"], k),
    ),
    PartitionCheck(
        "matches_boxscore_feed",
        "Game logs and the independent box score feed agree (stat corrections of 1 allowed and reported).",
        lambda f, k: players_match_boxscore_feed(f["player_boxscores"], f["boxscore_feed"], k),
    ),
]
PROPS_CHECKS = [
    PartitionCheck(
        "names_matched",
        f"At most {MAX_UNMATCHED_NAME_SHARE:.0%} of prop rows have a player name matching no NBA player.",
        lambda f, k: props_names_matched(f["player_props"], k),
        blocking=False,
        severity=WARN,
    ),
    PartitionCheck(
        "covers_schedule",
        "Every game of the date has player props.",
        lambda f, k: odds_cover_schedule(f["player_props"], f["schedule"], k),
        blocking=False,
        severity=WARN,
    ),
    PartitionCheck(
        "prices_valid", _PRICES_VALID, lambda f, k: prices_valid(f[WITHHELD_PRICES], k), blocking=False, severity=WARN
    ),
    PartitionCheck(
        "lines_valid",
        "Every prop line lies within its market's range ("
        + ", ".join(f"{m.removeprefix('player_')} {lo:g}-{hi:g}" for m, (lo, hi) in tables.PROP_LINE_RANGES.items())
        + "); a quote with any other line is dropped and listed by file and line.",
        lambda f, k: lines_valid(f[DROPPED_LINES], k),
        blocking=False,
        severity=WARN,
    ),
]
LINES_CHECKS = [
    PartitionCheck(
        "covers_schedule",
        "Every game of the date has game lines.",
        lambda f, k: odds_cover_schedule(f["game_lines"], f["schedule"], k),
        blocking=False,
        severity=WARN,
    ),
    PartitionCheck(
        "prices_valid", _PRICES_VALID, lambda f, k: prices_valid(f[WITHHELD_PRICES], k), blocking=False, severity=WARN
    ),
]


schedule_checks = table_checks(tables.schedule, SCHEDULE_CHECKS)
team_boxscores_checks = table_checks(tables.team_boxscores, TEAM_CHECKS, [tables.schedule, tables.player_boxscores])
# the independent box score feed is read by the asset step from the source (not a table)
player_boxscores_checks = table_checks(tables.player_boxscores, PLAYER_CHECKS, [tables.schedule])
player_props_checks = table_checks(tables.player_props, PROPS_CHECKS, [tables.schedule])
game_lines_checks = table_checks(tables.game_lines, LINES_CHECKS, [tables.schedule])
