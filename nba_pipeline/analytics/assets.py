"""`nba_analytics` assets: a game date's facts (player and team game summaries) and the pre-game
context of its games (with the sportsbook quotes standing at tip-off). Each asset states its
inputs once (`In`: the upstream table and the dates of it a game date reads); the factory derives
from them what the step requires (a missing one fails it, writing nothing), the frames its checks
(`checks.py`) read, the write and the checks' evaluation. Inputs only the checks read are marked
so."""

import pandas as pd

from nba_pipeline.analytics import checks as checks
from nba_pipeline.analytics import tables, transforms
from nba_pipeline.core.history import history_mapping, run_dates
from nba_pipeline.core.table_assets import In, TableRows, table_asset, table_multi_asset
from nba_pipeline.raw import tables as raw


def _dates(context) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Timestamp(d) for d in run_dates(context)])


@table_asset(
    checks.player_game_summary_checks,
    ins={
        "players": In(raw.player_boxscores),
        "teams": In(raw.team_boxscores),
        "schedule": In(raw.schedule),  # checks: minutes per overtime
    },
)
def player_game_summary(players: pd.DataFrame, teams: pd.DataFrame):
    return transforms.player_game_summary(players, teams)


@table_multi_asset(
    [checks.team_offense_game_summary_checks, checks.team_defense_game_summary_checks],
    ins={
        "teams": In(raw.team_boxscores),
        "schedule": In(raw.schedule),
        # checks: team minutes against the players' minutes
        "players": In(tables.player_game_summary),
    },
)
def team_game_summaries(teams: pd.DataFrame, schedule: pd.DataFrame):
    """Offence and defence views of the same team box scores, in one step."""
    return transforms.team_game_summaries(teams, schedule)


@table_asset(
    checks.upcoming_team_game_context_checks,
    ins={
        # D's games and every earlier date of the window; D's results are dropped on read
        # (transforms.pregame_schedule), earlier dates' games give rest and games played
        "schedule": In(raw.schedule, history_mapping(include_same_day=True)),
        "game_lines": In(raw.game_lines),
    },
)
def upcoming_team_game_context(context, schedule: pd.DataFrame, game_lines: pd.DataFrame):
    return transforms.upcoming_team_game_context(schedule, game_lines, _dates(context))


@table_asset(
    checks.player_prop_quotes_checks,
    ins={
        "props": In(raw.player_props),
        # tip-off times
        "schedule": In(raw.schedule),
    },
)
def player_prop_quotes(props: pd.DataFrame, schedule: pd.DataFrame):
    quotes, facts = transforms.player_prop_quotes(props, schedule)
    return TableRows(quotes, facts=facts)


@table_asset(
    checks.upcoming_player_game_context_checks,
    ins={
        "schedule": In(raw.schedule),
        "history": In(raw.player_boxscores, history_mapping()),
        "quotes": In(tables.player_prop_quotes),
        # checks: every team playing has a roster
        "team_context": In(tables.upcoming_team_game_context),
    },
)
def upcoming_player_game_context(context, schedule: pd.DataFrame, history: pd.DataFrame, quotes: pd.DataFrame):
    df = transforms.upcoming_player_game_context(schedule, history, quotes, _dates(context))
    if df.empty:
        df = tables.upcoming_player_game_context.empty_frame()
    unrostered = transforms.unrostered_line_players(quotes, df)
    return TableRows(
        df,
        facts={
            "line_players_without_roster_row": len(unrostered),
            "line_players_without_roster_row_examples": unrostered.head(10)[["game_id", "player_name"]]
            .astype(str)
            .to_dict("records"),
        },
    )
