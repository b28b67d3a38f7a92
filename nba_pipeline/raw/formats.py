"""The feed file formats of the `files` source (the layout of ../shared/data/nba), declared once."""

from nba_pipeline.raw.feeds import Field

GAME_ID = r"\d{10}"
_COUNTS = ["FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK", "TOV", "PF", "PTS"]

TEAMS = [
    Field("id", "int"),
    Field("full_name"),
    Field("abbreviation", pattern=r"[A-Z]{3}"),
    Field("nickname", required=False),
    Field("city", required=False),
]
PLAYERS = [
    Field("id", "int"),
    Field("full_name"),
    Field("is_active", "bool"),
]
TEAM_GAME_LOG = [
    Field("SEASON_ID", "int"),
    Field("TEAM_ID", "int"),
    Field("TEAM_ABBREVIATION"),
    Field("TEAM_NAME", required=False),
    Field("GAME_ID", pattern=GAME_ID),
    Field("GAME_DATE", "date"),
    Field("MATCHUP"),
    Field("WL", required=False, pattern="[WL]"),
    Field("MIN", "int"),
    *(Field(c, "int") for c in _COUNTS),
    Field("PLUS_MINUS", "float"),
]
PLAYER_GAME_LOG = [
    Field("SEASON_ID", "int"),
    Field("Player_ID", "int"),
    Field("Game_ID", pattern=GAME_ID),
    Field("GAME_DATE", "date_mon"),
    Field("MATCHUP"),
    Field("MIN", "int"),
    *(Field(c, "int") for c in _COUNTS),
    Field("PLUS_MINUS", "float"),
]
# second, independent box score feed (NBA.com box score v3, flattened)
BOXSCORE_STATS = {
    "stats.fieldGoalsMade": "fgm",
    "stats.fieldGoalsAttempted": "fga",
    "stats.threePointersMade": "fg3m",
    "stats.threePointersAttempted": "fg3a",
    "stats.freeThrowsMade": "ftm",
    "stats.freeThrowsAttempted": "fta",
    "stats.reboundsOffensive": "oreb",
    "stats.reboundsDefensive": "dreb",
    "stats.reboundsTotal": "reb",
    "stats.assists": "ast",
    "stats.steals": "stl",
    "stats.blocks": "blk",
    "stats.turnovers": "tov",
    "stats.foulsPersonal": "pf",
    "stats.points": "points",
}
BOXSCORE = [
    Field("team", "int"),
    Field("player", "int"),
    Field("stats.minutes", "mmss", required=False),  # empty: did not play
    *(Field(c, "int") for c in BOXSCORE_STATS),
    Field("stats.plusMinusPoints", "float"),
    Field("game_id", pattern=GAME_ID),
]
# the league schedule (NBA.com scheduleLeagueV2, one row per game, flattened): games not yet
# final are known only from it
SCHEDULE = [
    Field("gameId", pattern=GAME_ID),
    Field("gameDateEst", "date"),
    Field("gameDateTimeUTC", "utc", required=False),
    Field("gameStatus", "int"),  # 1 scheduled, 2 in progress, 3 final
    Field("gameStatusText", required=False),
    Field("homeTeam.teamTricode", pattern=r"[A-Z]{3}"),
    Field("awayTeam.teamTricode", pattern=r"[A-Z]{3}"),
]
BOXSCORE_GAMES = [
    Field("GAME_DATE", "date"),
    Field("GAME_ID", pattern=GAME_ID),
]
PLAYER_PROPS = [
    Field("event_id"),
    Field("player"),
    Field("market"),
    Field("line", "float", required=False),  # markets such as double-double carry no line
    Field("bookmaker"),
    Field("game"),
    Field("game_time", "utc"),
    Field("over_odds", "float", required=False),
    Field("under_odds", "float", required=False),
]
GAME_LINES = [
    Field("event_id"),
    Field("commence_time", "utc"),
    Field("home_team"),
    Field("away_team"),
    Field("snapshot_timestamp", "utc"),
    Field("fg_ml_home", "float", required=False),
    Field("fg_ml_away", "float", required=False),
    Field("fg_spread_line", "float", required=False),
    Field("fg_total_line", "float", required=False),
    Field("fh_ml_home", "float", required=False),
    Field("fh_ml_away", "float", required=False),
    Field("fh_spread_line", "float", required=False),
    Field("fh_total_line", "float", required=False),
]
