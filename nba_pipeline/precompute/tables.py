"""Declared schemas of the `nba_precompute` tables: per player (or team) in a date's games, features
computed from EARLIER dates only (rolling windows within the season, never the date's results)."""

from nba_pipeline.analytics.tables import MINUTES, PACE, RATING, REST_DAYS, SHARE
from nba_pipeline.core.schema import PREGAME_DUE, Column, Table, register
from nba_pipeline.raw.tables import PROP_MARKETS

DATASET = "nba_precompute"
# v2: cross-season recent20 windows (opening week has no season-to-date history)
# v3: recent20 bounded by the date's history window (before, it depended on the run's range)
# v4: every prop market: rebounds, assists, threes (made and attempted) and PRA windows, what
#     opponents allowed of them, and each market's consensus line
FEATURE_VERSION = "v4"

# the prop markets' stats besides points (player_game_summary columns) -> description
PROP_STATS = {
    "reb": "rebounds",
    "ast": "assists",
    "fg3m": "three pointers made",
    "fg3a": "three point attempts",
    "pra": "points + rebounds + assists",
}
# stats summarised by player_daily_cache: name in player_game_summary -> description
CACHE_STATS = {
    "points": "points",
    "minutes": "minutes",
    "usage_rate": "usage rate",
    "fga": "field goal attempts",
    "fta": "free throw attempts",
    **PROP_STATS,
}
# what a team's opponents scored of each (team_defense_zone_analysis: per game and vs the league)
ALLOWED_STATS = {
    "reb": "rebounds",
    "ast": "assists",
    "fg3m": "three pointers made",
    "pra": "points + rebounds + assists",
}
WINDOWS = {
    "last5": "last 5 games",
    "last10": "last 10 games",
    "season": "season to date",
    # across the season boundary, so opening night still has a recent form (within HISTORY_DAYS)
    "recent20": "last 20 games of any season in the history window",
}
RECENT_GAMES = 20
ZONE_WINDOW_GAMES = 10
# a mean over one game is that game's value: the ranges hold a single-game record
_STAT_RANGES = {
    "points": (0, 80),
    "minutes": MINUTES,
    "usage_rate": SHARE,
    "fga": (0, 50),
    "fta": (0, 40),
    "reb": (0, 40),
    "ast": (0, 30),
    "fg3m": (0, 20),
    "fg3a": (0, 35),
    "pra": (0, 120),
}
# a team's opponents score ~44 rebounds, ~26 assists, ~13 threes and ~185 PRA a game: means over
# 3+ games well inside these
_ALLOWED_RANGES = {"reb": (10, 90), "ast": (5, 60), "fg3m": (0, 40), "pra": (80, 320)}


def _player_game() -> tuple[Column, ...]:
    return (
        Column("game_date", "date", "US Eastern game date (partition column)"),
        Column("game_id", "string", "the game on this date"),
        Column("season", "string", "season label"),
        Column("player_id", "int", "NBA.com player id"),
        Column("player_name", "string", "player name", nullable=True),
        Column("team", "string", "team"),
        Column("opponent", "string", "opponent"),
    )


def _cache_columns() -> list[Column]:
    cols = []
    for stat, desc in CACHE_STATS.items():
        for w, wdesc in WINDOWS.items():
            cols.append(
                Column(
                    f"{stat}_avg_{w}",
                    "float",
                    f"mean {desc}, {wdesc} before this date",
                    nullable=True,
                    range=_STAT_RANGES[stat],
                )
            )
            cols.append(
                Column(
                    f"{stat}_std_{w}",
                    "float",
                    f"sample std of {desc}, {wdesc} (null under 2 games)",
                    nullable=True,
                    range=(0, 60),
                )
            )
    return cols


player_daily_cache = Table(
    dataset=DATASET,
    name="player_daily_cache",
    due=PREGAME_DUE,
    description=(
        "Per player in the date's games: last-5 / last-10 / season-to-date means and standard "
        "deviations of points, minutes, usage, shot attempts, rebounds, assists, threes and PRA, "
        "from the season's earlier games (and over his last 20 games of any season)."
    ),
    code_version="3",  # 2: recent20 bounded by the history window; 3: rebounds, assists, threes, PRA
    columns=(
        *_player_game(),
        Column("games_played", "int", "games played this season before this date", range=(0, 110)),
        Column("days_since_last_game", "int", "days since the latest earlier game (any season)", range=(1, 400)),
        Column(
            "recent_games", "int", f"games in the recent20 window (at most {RECENT_GAMES})", range=(0, RECENT_GAMES)
        ),
        *_cache_columns(),
    ),
    grain=("game_date", "player_id"),
    cluster_by=("player_id",),
)

ZONES = {"2pt": "two-point field goals", "3pt": "three pointers", "ft": "free throws"}

player_shot_zone_analysis = Table(
    dataset=DATASET,
    name="player_shot_zone_analysis",
    due=PREGAME_DUE,
    description=(
        f"Per player in the date's games: scoring mix by zone (2PT / 3PT / FT) over the last "
        f"{ZONE_WINDOW_GAMES} games of the season before this date."
    ),
    columns=(
        *_player_game(),
        Column("games_in_window", "int", f"games used (at most {ZONE_WINDOW_GAMES})", range=(0, ZONE_WINDOW_GAMES)),
        *[
            Column(f"points_share_{z}", "float", f"share of points from {d}", nullable=True, range=SHARE)
            for z, d in ZONES.items()
        ],
        *[
            Column(
                f"attempt_share_{z}",
                "float",
                f"share of scoring attempts ({d}; a free throw counts 0.44)",
                nullable=True,
                range=SHARE,
            )
            for z, d in ZONES.items()
        ],
        Column("fg2_pct", "float", "two-point FG% in the window", nullable=True, range=SHARE),
        Column("fg3_pct", "float", "three-point FG% in the window", nullable=True, range=SHARE),
        Column("ft_pct", "float", "free throw % in the window", nullable=True, range=SHARE),
        Column("points_per_game", "float", "points per game in the window", nullable=True, range=(0, 80)),
    ),
    grain=("game_date", "player_id"),
    cluster_by=("player_id",),
)

_PER100 = (0.0, 150.0)

team_defense_zone_analysis = Table(
    dataset=DATASET,
    name="team_defense_zone_analysis",
    due=PREGAME_DUE,
    description=(
        f"Per team in the date's games: what its defence allowed by zone over its last "
        f"{ZONE_WINDOW_GAMES} games of the season, per 100 possessions and relative to the league "
        "average of the season's earlier games; and the rebounds, assists, threes and PRA its "
        "opponents scored per game, against the league's."
    ),
    code_version="2",  # 2: rebounds, assists, threes and PRA allowed
    columns=(
        Column("game_date", "date", "US Eastern game date (partition column)"),
        Column("game_id", "string", "the game on this date"),
        Column("season", "string", "season label"),
        Column("team", "string", "team"),
        Column("opponent", "string", "opponent"),
        Column("games_in_window", "int", f"games used (at most {ZONE_WINDOW_GAMES})", range=(0, ZONE_WINDOW_GAMES)),
        *[
            Column(
                f"opp_points_{z}_per100",
                "float",
                f"opponent points from {d} per 100 possessions",
                nullable=True,
                range=_PER100,
            )
            for z, d in ZONES.items()
        ],
        *[
            Column(
                f"opp_points_{z}_vs_league",
                "float",
                f"opp_points_{z}_per100 / league average - 1",
                nullable=True,
                range=(-1.0, 2.0),
            )
            for z in ZONES
        ],
        Column(
            "opp_fg3a_per100",
            "float",
            "opponent three point attempts per 100 possessions",
            nullable=True,
            range=_PER100,
        ),
        Column(
            "opp_fta_per100", "float", "opponent free throw attempts per 100 possessions", nullable=True, range=_PER100
        ),
        Column(
            "defensive_rating", "float", "points allowed per 100 possessions in the window", nullable=True, range=RATING
        ),
        Column(
            "defensive_rating_vs_league",
            "float",
            "defensive_rating / league average - 1",
            nullable=True,
            range=(-1.0, 1.0),
        ),
        *[
            Column(
                f"{stat}_allowed_per_game",
                "float",
                f"opponent {desc} per game in the window",
                nullable=True,
                range=_ALLOWED_RANGES[stat],
            )
            for stat, desc in ALLOWED_STATS.items()
        ],
        *[
            Column(
                f"{stat}_allowed_vs_league",
                "float",
                f"{stat}_allowed_per_game / the league's per team-game (season's earlier games) - 1",
                nullable=True,
                range=(-1.0, 2.0),
            )
            for stat in ALLOWED_STATS
        ],
        Column("pace", "float", "possessions per 48 minutes in the window", nullable=True, range=PACE),
        Column("league_pace", "float", "league pace, season's earlier games", nullable=True, range=PACE),
        Column(
            "league_defensive_rating",
            "float",
            "league points per 100 possessions, season's earlier games",
            nullable=True,
            range=RATING,
        ),
    ),
    grain=("game_date", "team"),
    cluster_by=("team",),
)

player_composite_factors = Table(
    dataset=DATASET,
    name="player_composite_factors",
    due=PREGAME_DUE,
    description=(
        "Interpretable adjustments per player-game, each a documented number stored next to its "
        "inputs: fatigue, zone mismatch, pace differential, usage and minutes trends."
    ),
    columns=(
        *_player_game(),
        # inputs
        Column(
            "rest_days", "int", "input: rest days (null before the season's first game)", nullable=True, range=REST_DAYS
        ),
        Column("back_to_back", "bool", "input: played the day before"),
        Column("games_last_7_days", "int", "input: games in the 7 days before", range=(0, 7)),
        Column("minutes_avg_last5", "float", "input: mean minutes, last 5 games", nullable=True, range=MINUTES),
        Column("minutes_avg_season", "float", "input: mean minutes, season to date", nullable=True, range=MINUTES),
        Column("usage_avg_last5", "float", "input: mean usage, last 5 games", nullable=True, range=SHARE),
        Column("usage_avg_season", "float", "input: mean usage, season to date", nullable=True, range=SHARE),
        Column("team_pace", "float", "input: the team's pace, last 10 games", nullable=True, range=PACE),
        Column("opponent_pace", "float", "input: the opponent's pace, last 10 games", nullable=True, range=PACE),
        Column("league_pace", "float", "input: league pace, season to date", nullable=True, range=PACE),
        # factors
        Column(
            "fatigue_score",
            "float",
            "0 (fresh) .. 1 (tired): 0.4 x back_to_back + 0.3 x clip((games_last_7_days - 2) / 2, 0, 1) "
            "+ 0.3 x clip((minutes_avg_last5 - 30) / 8, 0, 1)",
            range=SHARE,
        ),
        Column(
            "zone_mismatch",
            "float",
            "sum over zones of the player's points share x the opponent's allowed-points rate vs "
            "league (e.g. 0.05: the opponent concedes 5% more in the zones this player scores from)",
            nullable=True,
            range=(-1.0, 1.0),
        ),
        Column(
            "pace_differential",
            "float",
            "expected game pace minus league pace, possessions per 48: (team_pace + opponent_pace) / 2 - league_pace",
            nullable=True,
            range=(-30.0, 30.0),
        ),
        Column("usage_trend", "float", "usage_avg_last5 - usage_avg_season", nullable=True, range=(-1.0, 1.0)),
        Column("minutes_trend", "float", "minutes_avg_last5 - minutes_avg_season", nullable=True, range=(-48.0, 48.0)),
        Column(
            "scoring_environment",
            "float",
            "combined multiplicative adjustment to expected points: (1 + zone_mismatch) x "
            "(1 + pace_differential / league_pace) x (1 - 0.03 x back_to_back) - 1; nulls count as 0",
            range=(-1.0, 1.0),
        ),
    ),
    grain=("game_date", "player_id"),
    cluster_by=("player_id",),
)

# the feature vector, in order: ml_feature_store columns after the identifying ones
FEATURES = {
    "is_home": "team at home (0/1)",
    "season_games_played": "games played this season before this date",
    "rest_days": "rest days (null before the season's first game)",
    "back_to_back": "played the day before (0/1)",
    "games_last_7_days": "games in the 7 days before",
    "days_since_last_game": "days since the latest earlier game",
    "last_game_minutes": "minutes in the latest earlier game",
    "points_avg_last5": "mean points, last 5",
    "points_avg_last10": "mean points, last 10",
    "points_avg_season": "mean points, season",
    "points_std_last10": "std points, last 10",
    "points_std_season": "std points, season",
    "minutes_avg_last5": "mean minutes, last 5",
    "minutes_avg_last10": "mean minutes, last 10",
    "minutes_avg_season": "mean minutes, season",
    "usage_rate_avg_last10": "mean usage, last 10",
    "usage_rate_avg_season": "mean usage, season",
    "fga_avg_last10": "mean FGA, last 10",
    "fta_avg_last10": "mean FTA, last 10",
    "points_share_3pt": "share of points from threes, last 10",
    "points_share_ft": "share of points from free throws, last 10",
    "opponent_defensive_rating": "opponent points allowed per 100, last 10",
    "opponent_defensive_rating_vs_league": "opponent defensive rating vs league",
    "zone_mismatch": "composite factor",
    "pace_differential": "composite factor",
    "fatigue_score": "composite factor",
    "usage_trend": "composite factor",
    "minutes_trend": "composite factor",
    "scoring_environment": "composite factor",
    "team_spread": "consensus spread for the player's team",
    "game_total": "consensus game total",
    "implied_team_total": "game_total / 2 - spread / 2",
    "recent_games": "games in the recent20 window (any season)",
    "points_avg_recent20": "mean points, last 20 of any season",
    "points_std_recent20": "std points, last 20 of any season",
    "minutes_avg_recent20": "mean minutes, last 20 of any season",
    "usage_rate_avg_recent20": "mean usage, last 20 of any season",
    "fga_avg_recent20": "mean FGA, last 20 of any season",
    "fta_avg_recent20": "mean FTA, last 20 of any season",
    "points_line": "consensus sportsbook points line",
    "points_line_books": "books quoting the line",
    "points_line_over_prob": "books' mean no-vig over probability",
    # v4: the other prop markets
    **{
        f"{stat}_{kind}_{window}": f"{'mean' if kind == 'avg' else 'std'} {desc}, {WINDOWS[window]}"
        for stat, desc in PROP_STATS.items()
        for kind, window in (
            ("avg", "last5"),
            ("avg", "last10"),
            ("avg", "season"),
            ("avg", "recent20"),
            ("std", "last10"),
            ("std", "season"),
            ("std", "recent20"),
        )
    },
    **{
        f"opponent_{stat}_allowed_vs_league": f"opponent's {desc} allowed per game vs league, last 10"
        for stat, desc in ALLOWED_STATS.items()
    },
    **{
        f"{label}_{part}": f"{label} market: {desc}"
        for label in PROP_MARKETS.values()
        if label != "points"
        for part, desc in (
            ("line", "consensus sportsbook line"),
            ("line_books", "books quoting the line"),
            ("line_over_prob", "books' mean no-vig over probability"),
        )
    },
}

ml_feature_store = Table(
    dataset=DATASET,
    name="ml_feature_store",
    due=PREGAME_DUE,
    description=(
        "One row per player in the date's games: the versioned feature vector (feature_version) "
        "the points model reads, assembled from the context, cache, zone and composite tables and "
        "the sportsbook lines. Every feature is known before tip-off."
    ),
    columns=(
        *_player_game(),
        Column("feature_version", "string", f"version of the feature vector definition ({FEATURE_VERSION})"),
        *[Column(name, "float", desc, nullable=True) for name, desc in FEATURES.items()],
    ),
    grain=("game_date", "player_id"),
    cluster_by=("player_id",),
    code_version=FEATURE_VERSION,
)

PRECOMPUTE_TABLES = (
    player_daily_cache,
    player_shot_zone_analysis,
    team_defense_zone_analysis,
    player_composite_factors,
    ml_feature_store,
)
register(*PRECOMPUTE_TABLES)
