"""Per-partition checks of the `nba_analytics` tables: record counts against their sources, value
ranges, and reconciliation across tables (team points = sum of player points; minutes = 240 + 25
per overtime). Blocking where wrong numbers would flow into features; WARN where the data can be
legitimately incomplete (rosters before a team's first game in the data, unmatched line players).
"""

from collections.abc import Sequence

import dagster as dg
import numpy as np
import pandas as pd

from nba_pipeline.analytics import tables, transforms
from nba_pipeline.analytics.transforms import QUOTE_KEYS
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


def both(first: Outcomes, second: Outcomes, second_name: str) -> Outcomes:
    """Two evaluations of one check per partition: passed if both passed, their metadata side by
    side (the second's under `second_name` where a name is the first's too), their failure
    reasons joined."""
    out = {}
    for k, a in first.items():
        b = second[k]
        reasons = [d for d in (a.description, b.description) if d]
        out[k] = Outcome(
            passed=a.passed and b.passed,
            metadata={
                **a.metadata,
                **{f"{second_name}_{m}" if m in a.metadata else m: v for m, v in b.metadata.items()},
            },
            description="; ".join([reasons[0], *(r.removeprefix(f"{k}: ") for r in reasons[1:])]) if reasons else None,
        )
    return out


# player_game_summary ----------------------------------------------------------------------------
# the stats the prop markets settle on (pra: points + rebounds + assists)
MARKET_STATS = ("points", "reb", "ast", "fg3m")


def player_rows_match_boxscores(pgs: pd.DataFrame, players: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """One row per player box score row of the date (none missing, none extra, none twice), each
    stating the box score's points, rebounds, assists and threes made, and pra = points +
    rebounds + assists of the box score."""
    count = rows_match(pgs, players, ["game_date", "game_id", "player_id"], keys)
    key = ["game_id", "player_id"]
    box = players.astype({"player_id": "int64"}).drop_duplicates(key).set_index(key)
    rows = pgs.astype({"player_id": "int64"}).reset_index(drop=True)
    source = box.reindex(pd.MultiIndex.from_frame(rows[key])).reset_index(drop=True)
    found = source["points"].notna()  # a row without a box score row is counted above
    rows, source = rows[found].reset_index(drop=True), source[found].reset_index(drop=True)
    facts = {c: (rows[c], source[c]) for c in MARKET_STATS}
    facts["pra"] = (rows["pra"], source["points"] + source["reb"] + source["ast"])
    return both(count, disagreements(rows, long_problems(rows, key, facts), keys, "player_rows"), "stats")


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
        "opp_reb": "reb",
        "opp_ast": "ast",
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


def line_players_in_context(players: pd.DataFrame, quotes: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    p = quotes[["game_date", "game_id", "player_id", "player_name"]].drop_duplicates(["game_id", "player_id"])
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


# player_prop_quotes -----------------------------------------------------------------------------
def _latest_raw_quotes(props: pd.DataFrame, schedule: pd.DataFrame) -> pd.DataFrame:
    """raw.player_props as the quotes table should hold it: quotes of matched players in scheduled
    games, before tip-off, in each (game, player, market, book)'s latest snapshot (one row per
    odds name: two names of one player may quote the same line)."""
    p = props[props["player_id"].notna() & props["game_id"].notna()].astype({"player_id": "int64"})
    p = p[p["snapshot_time"] < transforms.tip_off(p, schedule)]
    latest = p.groupby(QUOTE_KEYS)["snapshot_time"].max().rename("latest")
    p = p.join(latest, on=QUOTE_KEYS)
    return p[p["snapshot_time"] == p["latest"]]


def quotes_one_per_latest_line(quotes: pd.DataFrame, props: pd.DataFrame, schedule: pd.DataFrame, keys) -> Outcomes:
    """Record count: one row per line of each book's latest snapshot before tip-off (matched players
    and games), none missing, none extra, none twice."""
    expected = _latest_raw_quotes(props, schedule)
    return rows_match(quotes, expected, ["game_date", *QUOTE_KEYS, "line"], keys)


def _text(values: pd.Series, where: pd.Series) -> pd.Series:
    """`values` as text where `where`, else null (a fact stated only for the rows it fails on)."""
    return values.astype(str).where(where.to_numpy(), None).astype(object)


def quotes_match_raw(quotes: pd.DataFrame, props: pd.DataFrame, schedule: pd.DataFrame, keys) -> Outcomes:
    """Each stored quote is raw.player_props' quote at its snapshot and line (the same over and
    under prices, its no-vig over probability computed from them), taken before tip-off, in the
    latest snapshot before tip-off of its game, player, market and book."""
    q = quotes.astype({"player_id": "int64"}).reset_index(drop=True)
    raw_rows = props[props["player_id"].notna() & props["game_id"].notna()].astype({"player_id": "int64"})
    at = [*QUOTE_KEYS, "line", "snapshot_time"]
    joined = (
        q[at]
        .assign(_row=np.arange(len(q)))
        .merge(raw_rows[[*at, "over_odds", "under_odds"]], on=at, how="left", indicator=True)
    )
    listed = joined["_merge"] == "both"

    def same(a: pd.Series, b: pd.Series) -> pd.Series:
        return ((a == b) | (a.isna() & b.isna())).fillna(False).astype(bool)

    stored = q.iloc[joined["_row"]].reset_index(drop=True)
    priced = listed & same(stored["over_odds"], joined["over_odds"]) & same(stored["under_odds"], joined["under_odds"])
    in_raw = listed.groupby(joined["_row"]).any().reindex(range(len(q)), fill_value=False)
    same_prices = priced.groupby(joined["_row"]).any().reindex(range(len(q)), fill_value=False)
    # the raw prices to show: the first raw row at that snapshot and line
    first = joined.drop_duplicates("_row").set_index("_row").reindex(range(len(q)))
    tip = transforms.tip_off(q.assign(game_start_time=q["game_id"].map(_game_starts(props))), schedule)
    latest = (
        _latest_raw_quotes(props, schedule)
        .groupby(QUOTE_KEYS)["snapshot_time"]
        .max()
        .reindex(pd.MultiIndex.from_frame(q[QUOTE_KEYS]))
        .reset_index(drop=True)
    )
    late = ~(q["snapshot_time"] < tip).fillna(False).astype(bool)
    not_latest = in_raw & ~late & ~same(q["snapshot_time"], latest)
    prob = transforms.no_vig_over_prob(q["over_odds"], q["under_odds"])
    wrong_prob = ~same(q["over_prob_no_vig"].round(9), prob.round(9))
    wrong_prices = in_raw & ~same_prices
    facts = {
        "quote": (_text(q["snapshot_time"], ~in_raw), _text(pd.Series("no such raw quote", index=q.index), ~in_raw)),
        "over_odds/under_odds": (
            _text(q["over_odds"].astype(str) + "/" + q["under_odds"].astype(str), wrong_prices),
            _text(first["over_odds"].astype(str) + "/" + first["under_odds"].astype(str), wrong_prices),
        ),
        "over_prob_no_vig": (_text(q["over_prob_no_vig"].round(6), wrong_prob), _text(prob.round(6), wrong_prob)),
        "snapshot_time": (_text(q["snapshot_time"], not_latest), _text("latest " + latest.astype(str), not_latest)),
        "before_tip_off": (_text(q["snapshot_time"], late), _text("before " + tip.astype(str), late)),
    }
    return disagreements(q, long_problems(q, [*QUOTE_KEYS, "line"], facts), keys, "quotes")


def _game_starts(props: pd.DataFrame) -> pd.Series:
    """The feed's tip-off of each game (the fallback where the schedule has none)."""
    return props.dropna(subset=["game_id"]).drop_duplicates("game_id").set_index("game_id")["game_start_time"]


def one_main_line_per_book(quotes: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Per (game, player, market, book): exactly one main line, the line whose no-vig over
    probability is closest to 0.5 (ties: the lower line)."""
    q = quotes.reset_index(drop=True)
    group = ["game_date", *QUOTE_KEYS]
    distance = transforms.distance_from_even(q["over_prob_no_vig"])
    best = q.assign(_d=distance).sort_values([*group, "_d", "line"]).drop_duplicates(group)
    books = q.groupby(group, as_index=False).agg(main_lines=("main_line", "sum"))
    main = q[q["main_line"].astype(bool)].drop_duplicates(group).set_index(group)["line"]
    idx = pd.MultiIndex.from_frame(books[group])
    books["main"] = main.reindex(idx).to_numpy()
    books["closest_to_even"] = best.set_index(group)["line"].reindex(idx).to_numpy()
    one = books["main_lines"] == 1
    facts = {
        "main_lines": (books["main_lines"].astype("int64"), pd.Series(1, index=books.index)),
        "main_line": (
            books["main"].where(one),
            pd.Series(books["closest_to_even"].to_numpy(), index=books.index).where(one),
        ),
    }
    return disagreements(books, long_problems(books, QUOTE_KEYS, facts), keys, "books")


# upcoming_player_game_context --------------------------------------------------------------------
def lines_match_quotes(context: pd.DataFrame, quotes: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Each player's consensus columns restate player_prop_quotes: per market, the median of the
    books' main lines, the books quoting, the mean no-vig over probability at the main lines, and
    the latest snapshot (any market); no quote: no line, 0 books."""
    c = context.astype({"player_id": "int64"}).reset_index(drop=True)
    q = quotes.astype({"player_id": "int64"})
    idx = pd.MultiIndex.from_frame(c[["game_id", "player_id"]])

    def per_player(rows: pd.DataFrame, column: str, how: str) -> pd.Series:
        return rows.groupby(["game_id", "player_id"])[column].agg(how).reindex(idx).set_axis(c.index)

    facts = {}
    for market, label in raw.PROP_MARKETS.items():
        line, books, over_prob = transforms.line_columns(label)
        main = q[(q["market"] == market) & q["main_line"].astype(bool)]
        facts[line] = (c[line].round(6), per_player(main, "line", "median").astype("float64").round(6))
        facts[books] = (c[books].astype("int64"), per_player(main, "bookmaker", "nunique").fillna(0).astype("int64"))
        facts[over_prob] = (
            c[over_prob].round(6),
            per_player(main, "over_prob_no_vig", "mean").astype("float64").round(6),
        )
    facts["line_snapshot_time"] = (c["line_snapshot_time"], per_player(q, "snapshot_time", "max"))
    return disagreements(c, long_problems(c, ["game_id", "player_id"], facts), keys, "players")


# the tables' checks (evaluated inline by the analytics assets) ---------------------------------
PGS = tables.player_game_summary.name
player_game_summary_checks = table_checks(
    tables.player_game_summary,
    [
        PartitionCheck(
            "one_row_per_boxscore_row",
            "Exactly one row per player box score row of the date (none missing, none extra, none twice), "
            "stating the box score's points, rebounds, assists and threes made, and pra = points + rebounds + "
            "assists.",
            lambda f, k: player_rows_match_boxscores(f[PGS], f["player_boxscores"], k),
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
            "What a team allowed (points, FGA, 3PM, FTA, rebounds, assists, possessions) equals its opponent's "
            "offence in the same game.",
            lambda f, k: defense_mirrors_offense(f[DEF], f[OFF], k),
        ),
    ],
    reads=[raw.schedule, tables.team_offense_game_summary],
)

QUOTES = tables.player_prop_quotes.name
player_prop_quotes_checks = table_checks(
    tables.player_prop_quotes,
    [
        PartitionCheck(
            "one_row_per_latest_line",
            "One row per line of each book's latest snapshot before tip-off, per game, player and market "
            "(raw.player_props of matched players and scheduled games): none missing, none extra, none twice.",
            lambda f, k: quotes_one_per_latest_line(f[QUOTES], f["player_props"], f["schedule"], k),
        ),
        in_range_check(tables.player_prop_quotes),
        PartitionCheck(
            "matches_raw_quotes",
            "Each quote is raw.player_props' at its snapshot and line (same prices; no-vig probability from "
            "them), taken before tip-off, from the latest snapshot before tip-off of its game, player, market "
            "and book.",
            lambda f, k: quotes_match_raw(f[QUOTES], f["player_props"], f["schedule"], k),
        ),
        PartitionCheck(
            "one_main_line_per_book",
            "Exactly one main line per game, player, market and book: the line whose no-vig over probability "
            "is closest to 0.5 (ties: the lower line).",
            lambda f, k: one_main_line_per_book(f[QUOTES], k),
        ),
    ],
    reads=[raw.player_props, raw.schedule],
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
            f"At least {MIN_LINE_PLAYERS_IN_CONTEXT:.0%} of players quoted before tip-off (any market, "
            "player_prop_quotes) have a context row.",
            lambda f, k: line_players_in_context(f[UPC], f[QUOTES], k),
            blocking=False,
            severity=WARN,
        ),
        PartitionCheck(
            "lines_match_quotes",
            "Each player's consensus lines restate player_prop_quotes: per market the median of the books' main "
            "lines, the books quoting, the mean no-vig over probability, and the latest snapshot used.",
            lambda f, k: lines_match_quotes(f[UPC], f[QUOTES], k),
        ),
    ],
    reads=[tables.upcoming_team_game_context, tables.player_prop_quotes],
)
