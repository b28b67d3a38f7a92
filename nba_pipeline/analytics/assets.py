"""`nba_analytics` assets: a game date's facts (player and team game summaries) and the pre-game
context of its games. Inputs come through the warehouse IO manager; partition mappings say which
upstream dates each date reads, and `history.require_*` refuses to run on missing ones."""

import dagster as dg
import pandas as pd

from nba_pipeline.analytics import tables, transforms
from nba_pipeline.history import (
    history_mapping,
    record_history_window,
    require_history,
    require_partitions,
    require_same_day,
    required_history,
    run_dates,
)
from nba_pipeline.layer import record_partitions, table_asset_kwargs, table_out
from nba_pipeline.partitions import game_date_partitions
from nba_pipeline.raw import tables as raw

GROUP = "nba_analytics"


def _dates(context) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Timestamp(d) for d in run_dates(context)])


@dg.asset(
    ins={
        "players": dg.AssetIn(raw.player_boxscores.asset_key),
        "teams": dg.AssetIn(raw.team_boxscores.asset_key),
    },
    **table_asset_kwargs(tables.player_game_summary, GROUP),
)
def player_game_summary(
    context: dg.AssetExecutionContext, players: pd.DataFrame, teams: pd.DataFrame
) -> pd.DataFrame:
    for key in (raw.player_boxscores.asset_key, raw.team_boxscores.asset_key):
        require_same_day(context, key)
    df = transforms.player_game_summary(players, teams)
    return record_partitions(context, tables.player_game_summary, df)


@dg.multi_asset(
    outs={
        t.name: table_out(t, GROUP)
        for t in (tables.team_offense_game_summary, tables.team_defense_game_summary)
    },
    ins={
        "teams": dg.AssetIn(raw.team_boxscores.asset_key),
        "schedule": dg.AssetIn(raw.schedule.asset_key),
    },
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse",
    can_subset=True,
)
def team_game_summaries(context: dg.AssetExecutionContext, teams: pd.DataFrame, schedule: pd.DataFrame):
    """Offence and defence views of the same team box scores, in one step."""
    for key in (raw.team_boxscores.asset_key, raw.schedule.asset_key):
        require_same_day(context, key)
    offense, defense = transforms.team_game_summaries(teams, schedule)
    for table, df in ((tables.team_offense_game_summary, offense), (tables.team_defense_game_summary, defense)):
        if table.asset_key in context.selected_asset_keys:
            record_partitions(context, table, df)
            yield dg.Output(df, output_name=table.name)


@dg.asset(
    ins={
        # D's games and every earlier date of the window; D's results are dropped on read
        # (transforms.pregame_schedule), earlier dates' games give rest and games played
        "schedule": dg.AssetIn(
            raw.schedule.asset_key,
            partition_mapping=history_mapping(include_same_day=True),
        ),
        "game_lines": dg.AssetIn(raw.game_lines.asset_key),
    },
    **table_asset_kwargs(tables.upcoming_team_game_context, GROUP),
)
def upcoming_team_game_context(
    context: dg.AssetExecutionContext, schedule: pd.DataFrame, game_lines: pd.DataFrame
) -> pd.DataFrame:
    require_partitions(
        context,
        raw.schedule.asset_key,
        {d: [*h, d] for d, h in required_history(run_dates(context)).items()},
        "its games and season-to-date schedule",
    )
    require_same_day(context, raw.game_lines.asset_key)
    record_history_window(context, raw.schedule.asset_key, schedule)
    df = transforms.upcoming_team_game_context(schedule, game_lines, _dates(context))
    return record_partitions(context, tables.upcoming_team_game_context, df)


@dg.asset(
    ins={
        "schedule": dg.AssetIn(raw.schedule.asset_key),
        "history": dg.AssetIn(raw.player_boxscores.asset_key, partition_mapping=history_mapping()),
        "props": dg.AssetIn(raw.player_points_props.asset_key),
    },
    **table_asset_kwargs(tables.upcoming_player_game_context, GROUP),
)
def upcoming_player_game_context(
    context: dg.AssetExecutionContext, schedule: pd.DataFrame, history: pd.DataFrame, props: pd.DataFrame
) -> pd.DataFrame:
    require_same_day(context, raw.schedule.asset_key)
    require_same_day(context, raw.player_points_props.asset_key)
    require_history(context, raw.player_boxscores.asset_key)
    record_history_window(context, raw.player_boxscores.asset_key, history)
    df = transforms.upcoming_player_game_context(schedule, history, props, _dates(context))
    if df.empty:
        df = tables.upcoming_player_game_context.empty_frame()
    unrostered = transforms.unrostered_line_players(props, df)
    return record_partitions(
        context,
        tables.upcoming_player_game_context,
        df,
        {
            "line_players_without_roster_row": len(unrostered),
            "line_players_without_roster_row_examples": unrostered.head(10)[["game_id", "player_name"]]
            .astype(str)
            .to_dict("records"),
        },
    )


ANALYTICS_ASSETS = [player_game_summary, team_game_summaries, upcoming_team_game_context, upcoming_player_game_context]
