"""`nba_analytics` assets: a game date's facts (player and team game summaries) and the pre-game
context of its games. Inputs come through the warehouse IO manager; partition mappings say which
upstream dates each date reads, and `history.require` refuses to run on missing ones. Each step
evaluates its table's checks (`checks/analytics.py`) right after writing it; inputs used only by
the checks are marked so."""

import dagster as dg
import pandas as pd

from nba_pipeline.analytics import tables, transforms
from nba_pipeline.analytics import checks as checks
from nba_pipeline.core.checks.common import write_checked
from nba_pipeline.core.history import (
    declare_needs,
    history_mapping,
    record_history_window,
    require,
    run_dates,
    same_date,
    season_through_date,
    season_to_date,
)
from nba_pipeline.core.table_assets import record_partitions, table_asset_kwargs, table_out
from nba_pipeline.core.partitions import game_date_partitions
from nba_pipeline.raw import tables as raw

GROUP = "nba_analytics"


def _dates(context) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Timestamp(d) for d in run_dates(context)])


PLAYER_GAME_SUMMARY_NEEDS = declare_needs(
    [tables.player_game_summary.asset_key], same_date(raw.player_boxscores.asset_key), same_date(raw.team_boxscores.asset_key)
)


@dg.asset(
    ins={
        "players": dg.AssetIn(raw.player_boxscores.asset_key),
        "teams": dg.AssetIn(raw.team_boxscores.asset_key),
        "schedule": dg.AssetIn(raw.schedule.asset_key),  # checks: minutes per overtime
    },
    **table_asset_kwargs(tables.player_game_summary, GROUP, checks.player_game_summary_checks),
)
def player_game_summary(
    context: dg.AssetExecutionContext, players: pd.DataFrame, teams: pd.DataFrame, schedule: pd.DataFrame
):
    require(context, PLAYER_GAME_SUMMARY_NEEDS)
    df = record_partitions(context, tables.player_game_summary, transforms.player_game_summary(players, teams))
    reads = {raw.player_boxscores.name: players, raw.team_boxscores.name: teams, raw.schedule.name: schedule}
    yield from write_checked(context, checks.player_game_summary_checks, df, reads)


TEAM_GAME_SUMMARIES_NEEDS = declare_needs(
    [tables.team_offense_game_summary.asset_key, tables.team_defense_game_summary.asset_key],
    same_date(raw.team_boxscores.asset_key),
    same_date(raw.schedule.asset_key),
)


@dg.multi_asset(
    outs={
        t.name: table_out(t, GROUP)
        for t in (tables.team_offense_game_summary, tables.team_defense_game_summary)
    },
    ins={
        "teams": dg.AssetIn(raw.team_boxscores.asset_key),
        "schedule": dg.AssetIn(raw.schedule.asset_key),
        # checks: team minutes against the players' minutes
        "players": dg.AssetIn(tables.player_game_summary.asset_key),
    },
    check_specs=[*checks.team_offense_game_summary_checks.specs, *checks.team_defense_game_summary_checks.specs],
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse",
    can_subset=True,
)
def team_game_summaries(
    context: dg.AssetExecutionContext, teams: pd.DataFrame, schedule: pd.DataFrame, players: pd.DataFrame
):
    """Offence and defence views of the same team box scores, in one step."""
    require(context, TEAM_GAME_SUMMARIES_NEEDS)
    offense, defense = transforms.team_game_summaries(teams, schedule)
    reads = {
        raw.schedule.name: schedule,
        tables.player_game_summary.name: players,
        tables.team_offense_game_summary.name: tables.team_offense_game_summary.conform(offense),
    }
    for table_checks, df in (
        (checks.team_offense_game_summary_checks, offense),
        (checks.team_defense_game_summary_checks, defense),
    ):
        if table_checks.table.asset_key in context.selected_asset_keys:
            record_partitions(context, table_checks.table, df)
            yield from write_checked(context, table_checks, df, reads)


UPCOMING_TEAM_GAME_CONTEXT_NEEDS = declare_needs(
    [tables.upcoming_team_game_context.asset_key],
    season_through_date(raw.schedule.asset_key, "its games and season-to-date schedule"),
    same_date(raw.game_lines.asset_key),
)


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
    **table_asset_kwargs(tables.upcoming_team_game_context, GROUP, checks.upcoming_team_game_context_checks),
)
def upcoming_team_game_context(context: dg.AssetExecutionContext, schedule: pd.DataFrame, game_lines: pd.DataFrame):
    require(context, UPCOMING_TEAM_GAME_CONTEXT_NEEDS)
    record_history_window(context, raw.schedule.asset_key, schedule)
    dates = _dates(context)
    df = record_partitions(context, tables.upcoming_team_game_context, transforms.upcoming_team_game_context(schedule, game_lines, dates))
    same_day = schedule[schedule["game_date"].isin(dates)]
    yield from write_checked(context, checks.upcoming_team_game_context_checks, df, {raw.schedule.name: same_day})


UPCOMING_PLAYER_GAME_CONTEXT_NEEDS = declare_needs(
    [tables.upcoming_player_game_context.asset_key],
    same_date(raw.schedule.asset_key),
    same_date(raw.player_points_props.asset_key),
    season_to_date(raw.player_boxscores.asset_key),
)


@dg.asset(
    ins={
        "schedule": dg.AssetIn(raw.schedule.asset_key),
        "history": dg.AssetIn(raw.player_boxscores.asset_key, partition_mapping=history_mapping()),
        "props": dg.AssetIn(raw.player_points_props.asset_key),
        # checks: every team playing has a roster
        "team_context": dg.AssetIn(tables.upcoming_team_game_context.asset_key),
    },
    **table_asset_kwargs(tables.upcoming_player_game_context, GROUP, checks.upcoming_player_game_context_checks),
)
def upcoming_player_game_context(
    context: dg.AssetExecutionContext,
    schedule: pd.DataFrame,
    history: pd.DataFrame,
    props: pd.DataFrame,
    team_context: pd.DataFrame,
):
    require(context, UPCOMING_PLAYER_GAME_CONTEXT_NEEDS)
    record_history_window(context, raw.player_boxscores.asset_key, history)
    df = transforms.upcoming_player_game_context(schedule, history, props, _dates(context))
    if df.empty:
        df = tables.upcoming_player_game_context.empty_frame()
    unrostered = transforms.unrostered_line_players(props, df)
    df = record_partitions(
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
    reads = {tables.upcoming_team_game_context.name: team_context, raw.player_points_props.name: props}
    yield from write_checked(context, checks.upcoming_player_game_context_checks, df, reads)


ANALYTICS_ASSETS = [player_game_summary, team_game_summaries, upcoming_team_game_context, upcoming_player_game_context]
