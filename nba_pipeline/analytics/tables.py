"""Declared schemas of the `nba_analytics` tables: one game date's facts, and the pre-game context
of that date's games (built only from what existed before tip-off)."""

import datetime as dt

from nba_pipeline.core.schema import PREGAME_DUE, Check, Column, Table, register, results_due
from nba_pipeline.raw.tables import PROP_LINE_RANGES, PROP_MARKETS

RESULTS_DUE = results_due(dt.time(6, 30))  # half an hour after the raw results


DATASET = "nba_analytics"

_NON_NEG = (Check.ge(0),)
SHARE = (0.0, 1.0)
# true shooting can exceed 1 in small samples (one made three: 3 / (2 x 1) = 1.5 is the maximum)
TRUE_SHOOTING = (0.0, 1.5)
MINUTES = (0.0, 70.0)
# per-48-minute pace and per-100-possession ratings of any real NBA game sit well inside these
PACE = (70.0, 130.0)
RATING = (50.0, 180.0)
# a season spans under a year; a player back from a season-long injury has rested ~240 days
REST_DAYS = (0, 366)


def _game(*, partition_desc: str = "US Eastern game date (partition column)") -> tuple[Column, ...]:
    return (
        Column("game_date", "date", partition_desc),
        Column("game_id", "string", "NBA.com game id"),
        Column("season", "string", "season label, e.g. 2024-25"),
        Column("season_type", "string", "regular / cup_final / play_in / playoffs ..."),
    )


def _count(name: str, desc: str) -> Column:
    return Column(name, "int", desc, checks=_NON_NEG)


def _share(name: str, desc: str, bounds=SHARE) -> Column:
    return Column(name, "float", desc, nullable=True, range=bounds)


_SHOOTING_COUNTS = (
    _count("fgm", "field goals made"),
    _count("fga", "field goals attempted"),
    _count("fg2m", "two-point field goals made (fgm - fg3m)"),
    _count("fg2a", "two-point field goals attempted (fga - fg3a)"),
    _count("fg3m", "three pointers made"),
    _count("fg3a", "three pointers attempted"),
    _count("ftm", "free throws made"),
    _count("fta", "free throws attempted"),
)

player_game_summary = Table(
    dataset=DATASET,
    name="player_game_summary",
    due=RESULTS_DUE,
    description=(
        "One row per player per final game: the box score with usage rate and true shooting, "
        "computed against the player's team box score."
    ),
    columns=(
        *_game(),
        Column("player_id", "int", "NBA.com player id"),
        Column("player_name", "string", "player name", nullable=True),
        Column("team", "string", "player's team"),
        Column("opponent", "string", "opponent team"),
        Column("is_home", "bool", "player's team at home"),
        Column("starter", "bool", "started (box score feed); null where that feed lacks the game", nullable=True),
        Column("minutes", "float", "minutes played", range=MINUTES),
        _count("points", "points"),
        *_SHOOTING_COUNTS,
        _count("oreb", "offensive rebounds"),
        _count("dreb", "defensive rebounds"),
        _count("reb", "rebounds"),
        _count("ast", "assists"),
        _count("pra", "points + rebounds + assists (what the PRA prop market settles on)"),
        _count("stl", "steals"),
        _count("blk", "blocks"),
        _count("tov", "turnovers"),
        _count("pf", "personal fouls"),
        Column("plus_minus", "float", "plus/minus"),
        _share(
            "usage_rate",
            "share of team possessions used while on the floor: (FGA + 0.44 FTA + TOV) x (team "
            "minutes / 5) / (minutes x (team FGA + 0.44 team FTA + team TOV)); null under "
            "3 minutes, where it is noise",
        ),
        _share(
            "true_shooting_pct",
            "points / (2 x (FGA + 0.44 FTA)); null without a shot or free throw",
            TRUE_SHOOTING,
        ),
        _share("fg_pct", "fgm / fga; null without a field goal attempt"),
        _share("fg3_pct", "fg3m / fg3a; null without a three point attempt"),
        _share("ft_pct", "ftm / fta; null without a free throw"),
        Column("team_minutes", "int", "team minutes (240 + 25 per overtime)"),
        Column("team_points", "int", "team points"),
    ),
    grain=("game_id", "player_id"),
    cluster_by=("player_id",),
    code_version="2",  # 2: pra
)


def _team_game() -> tuple[Column, ...]:
    return (
        *_game(),
        Column("team", "string", "team"),
        Column("opponent", "string", "opponent"),
        Column("is_home", "bool", "at home"),
        Column("win", "bool", "won"),
        Column("minutes", "int", "team minutes as reported (240 + 25 per overtime)"),
        _count("overtime_periods", "overtime periods played"),
        Column(
            "possessions",
            "float",
            "possessions of each team in the game (the two teams' Basketball-Reference estimates, "
            "averaged): FGA + 0.4 FTA - 1.07 x ORB% x (FGA - FGM) + TOV",
            range=(50.0, 160.0),
        ),
        Column("pace", "float", "possessions per 48 minutes: 48 x possessions / (minutes / 5)", range=PACE),
    )


def _splits(prefix: str, side: str) -> tuple[Column, ...]:
    return (
        _share(f"{prefix}fg_pct", f"{side} field goal %"),
        _share(f"{prefix}fg3_pct", f"{side} three point %"),
        _share(f"{prefix}ft_pct", f"{side} free throw %"),
        _share(f"{prefix}efg_pct", f"{side} effective FG%: (FGM + 0.5 FG3M) / FGA", (0.0, 1.5)),
        _share(f"{prefix}ts_pct", f"{side} true shooting: points / (2 x (FGA + 0.44 FTA))", TRUE_SHOOTING),
        _share(f"{prefix}fg3a_rate", f"{side} three point attempt rate: FG3A / FGA"),
        _share(f"{prefix}fta_rate", f"{side} free throw rate: FTA / FGA", (0.0, 1.5)),
    )


team_offense_game_summary = Table(
    dataset=DATASET,
    name="team_offense_game_summary",
    due=RESULTS_DUE,
    description="One row per team per final game: the team's offence (scoring, shooting, pace, rating).",
    columns=(
        *_team_game(),
        _count("points", "points scored"),
        *_SHOOTING_COUNTS,
        _count("oreb", "offensive rebounds"),
        _count("reb", "rebounds (offensive + defensive)"),
        _count("ast", "assists"),
        _count("tov", "turnovers"),
        _count("points_2pt", "points from two-point field goals"),
        _count("points_3pt", "points from three pointers"),
        _count("points_ft", "points from free throws"),
        Column("offensive_rating", "float", "points per 100 possessions", range=RATING),
        *_splits("", "team"),
        *_splits("opp_", "opponent"),
    ),
    grain=("game_id", "team"),
    cluster_by=("team",),
    code_version="2",  # 2: reb (what the opponent's defence allowed, opp_reb, is checked against it)
)

team_defense_game_summary = Table(
    dataset=DATASET,
    name="team_defense_game_summary",
    due=RESULTS_DUE,
    description="One row per team per final game: what the team's defence allowed.",
    columns=(
        *_team_game(),
        _count("points_allowed", "opponent points"),
        _count("opp_fgm", "opponent field goals made"),
        _count("opp_fga", "opponent field goals attempted"),
        _count("opp_fg2m", "opponent two-point field goals made"),
        _count("opp_fg2a", "opponent two-point field goals attempted"),
        _count("opp_fg3m", "opponent three pointers made"),
        _count("opp_fg3a", "opponent three pointers attempted"),
        _count("opp_ftm", "opponent free throws made"),
        _count("opp_fta", "opponent free throws attempted"),
        _count("opp_points_2pt", "opponent points from two-point field goals"),
        _count("opp_points_3pt", "opponent points from three pointers"),
        _count("opp_points_ft", "opponent points from free throws"),
        _count("opp_reb", "opponent rebounds"),
        _count("opp_ast", "opponent assists"),
        _count("opp_tov", "turnovers forced"),
        _count("dreb", "defensive rebounds"),
        _count("stl", "steals"),
        _count("blk", "blocks"),
        Column("defensive_rating", "float", "points allowed per 100 possessions", range=RATING),
        *_splits("opp_", "opponent (allowed)"),
    ),
    grain=("game_id", "team"),
    cluster_by=("team",),
    code_version="2",  # 2: opp_reb, opp_ast
)

_REST = (
    Column(
        "rest_days",
        "int",
        "full days off since the previous game this season (0 = back-to-back); null before the first",
        nullable=True,
        range=REST_DAYS,
    ),
    Column("back_to_back", "bool", "played the day before"),
    Column("games_last_7_days", "int", "games in the 7 days before this date", range=(0, 7)),
    Column("season_games_played", "int", "games played this season before this date", range=(0, 110)),
)

upcoming_team_game_context = Table(
    dataset=DATASET,
    name="upcoming_team_game_context",
    due=PREGAME_DUE,
    description=(
        "One row per team per game on the date: schedule, rest and the consensus game lines, from "
        "data that existed before tip-off (earlier dates' results, the date's pre-game schedule "
        "and line snapshots taken before tip-off)."
    ),
    columns=(
        *_game(),
        Column("team", "string", "team"),
        Column("opponent", "string", "opponent"),
        Column("is_home", "bool", "at home"),
        Column("start_time_utc", "timestamp", "scheduled tip-off", nullable=True),
        *_REST,
        Column("opponent_rest_days", "int", "the opponent's rest_days", nullable=True, range=REST_DAYS),
        Column("opponent_back_to_back", "bool", "the opponent played the day before"),
        Column(
            "spread", "float", "consensus spread for this team (negative: favoured)", nullable=True, range=(-40, 40)
        ),
        Column("game_total", "float", "consensus total points line", nullable=True, range=(150, 300)),
        Column("implied_team_total", "float", "game_total / 2 - spread / 2", nullable=True, range=(70, 170)),
        Column("lines_books", "int", "books in the consensus (0: no line before tip-off)"),
        Column("lines_snapshot_time", "timestamp", "latest snapshot used", nullable=True),
    ),
    grain=("game_id", "team"),
    cluster_by=("team",),
)

player_prop_quotes = Table(
    dataset=DATASET,
    name="player_prop_quotes",
    due=PREGAME_DUE,
    description=(
        "The player prop quotes each book stood at when the game tipped off: per game, player, "
        "market and book, every line of the book's latest snapshot before tip-off, with both "
        "prices, the no-vig over probability and the book's main line marked. Quotes of odds "
        "names matched to an NBA player, in scheduled games only."
    ),
    columns=(
        Column("game_date", "date", "US Eastern game date (partition column)"),
        Column("game_id", "string", "NBA.com game id"),
        Column("player_id", "int", "NBA.com player id"),
        Column("player_name", "string", "player name (reference list)", nullable=True),
        Column(
            "market",
            "string",
            "The Odds API market key: " + ", ".join(PROP_MARKETS),
            checks=(Check.isin(list(PROP_MARKETS)),),
        ),
        Column("bookmaker", "string", "sportsbook key"),
        Column(
            "line",
            "float",
            "the line: the over wins above it, the under below it (a whole line can push)",
            range=(min(lo for lo, _ in PROP_LINE_RANGES.values()), max(hi for _, hi in PROP_LINE_RANGES.values())),
        ),
        Column(
            "over_odds",
            "float",
            "American odds of the over; null if the book quoted none",
            nullable=True,
            checks=(Check.american_odds(),),
        ),
        Column(
            "under_odds",
            "float",
            "American odds of the under; null if the book quoted none",
            nullable=True,
            checks=(Check.american_odds(),),
        ),
        Column(
            "over_prob_no_vig",
            "float",
            "the over's probability without the book's margin: over implied / (over implied + under "
            "implied); null unless both prices are quoted",
            nullable=True,
            range=SHARE,
        ),
        Column("snapshot_time", "timestamp", "the snapshot quoted: the book's latest before tip-off"),
        Column(
            "main_line",
            "bool",
            "the book's main line for this player and market: of its lines, the one whose no-vig over "
            "probability is closest to 0.5 (ties: the lower line); one per game, player, market and book",
        ),
    ),
    grain=("game_date", "game_id", "player_id", "market", "bookmaker", "line"),
    cluster_by=("player_id",),
)


def _consensus_line_columns() -> list[Column]:
    """Per market label L (points, rebounds, ...): {L}_line, {L}_line_books, {L}_line_over_prob."""
    cols = []
    for market, label in PROP_MARKETS.items():
        cols += [
            Column(
                f"{label}_line",
                "float",
                f"consensus (median across books) of each book's main {label} line before tip-off",
                nullable=True,
                range=PROP_LINE_RANGES[market],
            ),
            Column(f"{label}_line_books", "int", f"books quoting a {label} line before tip-off", checks=_NON_NEG),
            Column(
                f"{label}_line_over_prob",
                "float",
                f"mean over books of the no-vig probability of the over at the book's main {label} line",
                nullable=True,
                range=SHARE,
            ),
        ]
    return cols


upcoming_player_game_context = Table(
    dataset=DATASET,
    name="upcoming_player_game_context",
    due=PREGAME_DUE,
    description=(
        "One row per player expected in a game on the date: players whose latest earlier game "
        "(within the roster lookback) was for one of the teams playing. Rest, workload and the "
        "consensus line of every prop market (player_prop_quotes: snapshots taken before tip-off)."
    ),
    columns=(
        *_game(),
        Column("player_id", "int", "NBA.com player id"),
        Column("player_name", "string", "player name", nullable=True),
        Column("team", "string", "team (of the player's latest earlier game)"),
        Column("opponent", "string", "opponent"),
        Column("is_home", "bool", "team at home"),
        Column("start_time_utc", "timestamp", "scheduled tip-off", nullable=True),
        *_REST,
        Column(
            "days_since_last_game", "int", "days since the player's latest earlier game (any season)", range=(1, 400)
        ),
        Column("last_game_minutes", "float", "minutes in the latest earlier game", range=MINUTES),
        *_consensus_line_columns(),
        Column("line_snapshot_time", "timestamp", "latest snapshot used (any market)", nullable=True),
    ),
    grain=("game_id", "player_id"),
    cluster_by=("player_id",),
    code_version="2",  # 2: every market's consensus line, from player_prop_quotes
)

ANALYTICS_TABLES = (
    player_game_summary,
    team_offense_game_summary,
    team_defense_game_summary,
    upcoming_team_game_context,
    player_prop_quotes,
    upcoming_player_game_context,
)
register(*ANALYTICS_TABLES)
