"""Declared schemas of the `nba_raw` tables."""

import datetime as dt

from nba_pipeline.core.schema import AMERICAN_ODDS_RANGE, PREGAME_DUE, Check, Column, Table, register, results_due

RESULTS_DUE = results_due(dt.time(6, 0))  # the feeds have the finals by 6 (games end by ~1 am)


DATASET = "nba_raw"

SEASON_TYPES = ("preseason", "regular", "all_star", "playoffs", "play_in", "cup_final")
_GAME_ID = (Check.str_matches(r"^\d{10}$"),)
_TEAM = (Check.str_matches(r"^[A-Z]{3}$"),)
_NON_NEG = (Check.ge(0),)
# a price is a price: the write refuses any other value; the sources withhold such a quote's price
# (null), and the table's `prices_valid` check lists it by file, line and column
_ODDS = (Check.american_odds(),)


def _price(name: str, description: str) -> Column:
    return Column(
        name,
        "float",
        f"{description}: American odds, {AMERICAN_ODDS_RANGE}; null if not quoted or not a valid price",
        nullable=True,
        checks=_ODDS,
    )


def _game_cols() -> tuple[Column, ...]:
    return (
        Column("game_date", "date", "US Eastern calendar date of the game (partition column)"),
        Column("game_id", "string", "NBA.com game id, 10 digits", checks=_GAME_ID),
        Column("season", "string", "season label, e.g. 2024-25"),
        Column(
            "season_type",
            "string",
            "preseason / regular / all_star / playoffs / play_in / cup_final",
            checks=(Check.isin(SEASON_TYPES),),
        ),
    )


def _box_counts() -> tuple[Column, ...]:
    names = {
        "points": "points scored",
        "fgm": "field goals made",
        "fga": "field goals attempted",
        "fg3m": "three pointers made",
        "fg3a": "three pointers attempted",
        "ftm": "free throws made",
        "fta": "free throws attempted",
        "oreb": "offensive rebounds",
        "dreb": "defensive rebounds",
        "reb": "total rebounds",
        "ast": "assists",
        "stl": "steals",
        "blk": "blocks",
        "tov": "turnovers",
        "pf": "personal fouls",
    }
    return tuple(Column(n, "int", d, checks=_NON_NEG) for n, d in names.items())


schedule = Table(
    dataset=DATASET,
    name="schedule",
    due=RESULTS_DUE,
    description="One row per game: teams, season type, status, tip-off time and final score.",
    columns=(
        *_game_cols(),
        Column("home_team", "string", "home team abbreviation", checks=_TEAM),
        Column("away_team", "string", "away team abbreviation", checks=_TEAM),
        Column("home_team_id", "int", "NBA.com team id of the home team"),
        Column("away_team_id", "int", "NBA.com team id of the away team"),
        Column("status", "string", "final / scheduled", checks=(Check.isin(["final", "scheduled"]),)),
        Column("start_time_utc", "timestamp", "tip-off time (from the odds feeds)", nullable=True),
        Column("home_points", "int", "final home score", nullable=True, checks=_NON_NEG),
        Column("away_points", "int", "final away score", nullable=True, checks=_NON_NEG),
        Column("overtime_periods", "int", "overtime periods played", nullable=True, checks=_NON_NEG),
        Column(
            "player_stats_expected",
            "bool",
            "the source's player feeds cover this game's season type, so player rows must exist",
        ),
    ),
    grain=("game_id",),
    cluster_by=("home_team",),
    code_version="2",  # 2: a side missing from the team logs scored the other side's points MINUS its plus/minus
)

team_boxscores = Table(
    dataset=DATASET,
    name="team_boxscores",
    due=RESULTS_DUE,
    description="One row per team per final game: the team box score.",
    columns=(
        *_game_cols(),
        Column("team", "string", "team abbreviation", checks=_TEAM),
        Column("team_id", "int", "NBA.com team id"),
        Column("opponent", "string", "opponent abbreviation", checks=_TEAM),
        Column("is_home", "bool", "home team"),
        Column("win", "bool", "won the game"),
        Column(
            "minutes",
            "int",
            "team minutes as NBA.com reports them (240 regulation, +25 per overtime)",
            checks=_NON_NEG,
        ),
        *_box_counts(),
        Column("plus_minus", "float", "point differential"),
        Column(
            "source",
            "string",
            "team_game_log, or player_game_logs where the team log lacks this side of the game",
            checks=(Check.isin(["team_game_log", "player_game_logs"]),),
        ),
    ),
    grain=("game_id", "team"),
    cluster_by=("team",),
)

player_boxscores = Table(
    dataset=DATASET,
    name="player_boxscores",
    due=RESULTS_DUE,
    description="One row per player who played in a final game (DNP rows are excluded).",
    columns=(
        *_game_cols(),
        Column("player_id", "int", "NBA.com player id"),
        Column("player_name", "string", "name from the reference player list", nullable=True),
        Column("team", "string", "player's team abbreviation", checks=_TEAM),
        Column("opponent", "string", "opponent abbreviation", checks=_TEAM),
        Column("is_home", "bool", "player's team is the home team"),
        Column(
            "minutes",
            "float",
            "minutes played: exact (mm:ss) where the box score feed covers the game, else whole",
            checks=(Check.in_range(0, 70),),
        ),
        *_box_counts(),
        Column("plus_minus", "float", "plus/minus"),
        Column(
            "starter",
            "bool",
            "started the game (box score feed order); null where that feed lacks the game",
            nullable=True,
        ),
        Column("in_boxscore_feed", "bool", "the second box score feed covers this game"),
    ),
    grain=("game_id", "player_id"),
    cluster_by=("player_id",),
)

# the prop markets the platform prices: The Odds API's market key -> the short label its columns
# downstream carry (points_line, rebounds_line, ...). The feeds' other markets (double-double,
# blocks, steals, ...) are skipped and counted.
PROP_MARKETS = {
    "player_points": "points",
    "player_rebounds": "rebounds",
    "player_assists": "assists",
    "player_threes": "threes",
    "player_points_rebounds_assists": "pra",
}

# the lines a book can post in each market (a season high is well inside): a line outside its
# market's range is a feed mixing markets up, not a quote; it is dropped and listed
PROP_LINE_RANGES = {
    "player_points": (0.5, 70.5),
    "player_rebounds": (0.5, 30.5),
    "player_assists": (0.5, 25.5),
    "player_threes": (0.5, 15.5),
    "player_points_rebounds_assists": (0.5, 90.5),
}

player_props = Table(
    dataset=DATASET,
    name="player_props",
    due=PREGAME_DUE,
    description=(
        "Sportsbook player prop quotes in every priced market (points, rebounds, assists, threes, "
        "points+rebounds+assists), one row per market, player, book, line and snapshot: every "
        "alternate line a book lists, with both prices. Names that match no NBA player keep "
        "player_id null."
    ),
    columns=(
        Column("game_date", "date", "US Eastern date of the game (partition column)"),
        Column("snapshot_time", "timestamp", "when the odds snapshot was taken (UTC)"),
        Column("event_id", "string", "The Odds API event id"),
        Column("game_id", "string", "NBA.com game id, null if not in the schedule", nullable=True),
        Column("game_start_time", "timestamp", "tip-off time (UTC)"),
        Column("home_team", "string", "home team abbreviation", checks=_TEAM),
        Column("away_team", "string", "away team abbreviation", checks=_TEAM),
        Column(
            "market",
            "string",
            "The Odds API market key: " + ", ".join(PROP_MARKETS),
            checks=(Check.isin(list(PROP_MARKETS)),),
        ),
        Column("odds_player_name", "string", "player name as the sportsbook wrote it"),
        Column("player_id", "int", "matched NBA.com player id", nullable=True),
        Column("player_name", "string", "matched reference name", nullable=True),
        Column(
            "name_match",
            "string",
            "exact / normalised / alias / ambiguous / unmatched",
            checks=(Check.isin(["exact", "normalised", "alias", "ambiguous", "unmatched"]),),
        ),
        Column("bookmaker", "string", "sportsbook key"),
        Column("line", "float", "the line: over wins above it, under below it", checks=(Check.in_range(0, 100),)),
        _price("over_odds", "price of the over"),
        _price("under_odds", "price of the under"),
    ),
    grain=("snapshot_time", "event_id", "market", "bookmaker", "odds_player_name", "line"),
    cluster_by=("player_id",),
)

game_lines = Table(
    dataset=DATASET,
    name="game_lines",
    due=PREGAME_DUE,
    description="Full-game and first-half moneyline, spread and total per game and book.",
    columns=(
        Column("game_date", "date", "US Eastern date of the game (partition column)"),
        Column("event_id", "string", "The Odds API event id"),
        Column("game_id", "string", "NBA.com game id, null if not in the schedule", nullable=True),
        Column("bookmaker", "string", "sportsbook key; 'consensus' for the consensus feed"),
        Column("snapshot_time", "timestamp", "when the lines were taken (UTC)"),
        Column("commence_time", "timestamp", "tip-off time (UTC)"),
        Column("home_team", "string", "home team abbreviation", checks=_TEAM),
        Column("away_team", "string", "away team abbreviation", checks=_TEAM),
        _price("home_moneyline", "home win"),
        _price("away_moneyline", "away win"),
        Column(
            "home_spread",
            "float",
            "home team spread (negative: favoured)",
            nullable=True,
            checks=(Check.in_range(-50, 50),),
        ),
        Column("total", "float", "game total points line", nullable=True, checks=(Check.in_range(100, 350),)),
        _price("fh_home_moneyline", "first half, home win"),
        _price("fh_away_moneyline", "first half, away win"),
        Column("fh_home_spread", "float", "first half home spread", nullable=True, checks=(Check.in_range(-30, 30),)),
        Column("fh_total", "float", "first half total", nullable=True, checks=(Check.in_range(50, 175),)),
    ),
    grain=("event_id", "bookmaker", "snapshot_time"),
    cluster_by=("home_team",),
    code_version="2",  # 2: moneylines that are not American odds withheld (ten 2024-25 consensus medians)
)

RAW_TABLES = (schedule, team_boxscores, player_boxscores, player_props, game_lines)
register(*RAW_TABLES)
