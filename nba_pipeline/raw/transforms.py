"""Pure transforms from parsed feed frames (see formats.py) to the `nba_raw` tables.

DataFrames in, DataFrames out, no I/O and no Dagster: build.py reads a source's feeds and calls
these; tests call them directly. Each returns the table frame and a dict of facts for metadata.
Problems with a specific feed row raise FeedError naming that row's file, line and column.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from nba_pipeline.core.partitions import GAME_TIMEZONE
from nba_pipeline.core.schema import Table, TableSchemaViolation
from nba_pipeline.raw import tables
from nba_pipeline.raw.feeds import FILE, LINE, FeedError, fail_at
from nba_pipeline.raw.formats import BOXSCORE_STATS
from nba_pipeline.raw.names import match_player_names

SEASON_TYPE_BY_DIGIT = {
    "1": "preseason",
    "2": "regular",
    "3": "all_star",
    "4": "playoffs",
    "5": "play_in",
    "6": "cup_final",
}
# the facts key of the prices a builder withheld (a frame for the `prices_valid` check, not metadata)
WITHHELD_PRICES = "withheld_prices"
DROPPED_LINES = "dropped_lines"
# all-star games are exhibitions between ad-hoc teams that are not NBA franchises
UNSUPPORTED_SEASON_TYPES = {"all_star"}

_COUNT_COLS = {
    "PTS": "points",
    "FGM": "fgm",
    "FGA": "fga",
    "FG3M": "fg3m",
    "FG3A": "fg3a",
    "FTM": "ftm",
    "FTA": "fta",
    "OREB": "oreb",
    "DREB": "dreb",
    "REB": "reb",
    "AST": "ast",
    "STL": "stl",
    "BLK": "blk",
    "TOV": "tov",
    "PF": "pf",
}
COUNT_STATS = list(_COUNT_COLS.values())


def season_label(season_id: pd.Series) -> pd.Series:
    year = season_id.astype("int64") % 10000
    return year.astype(str) + "-" + ((year + 1) % 100).astype(str).str.zfill(2)


def eastern_date(ts: pd.Series) -> pd.Series:
    """US Eastern calendar date (as midnight datetime64) of UTC timestamps."""
    return ts.dt.tz_convert(GAME_TIMEZONE).dt.tz_localize(None).dt.normalize()


def _parse_matchup(df: pd.DataFrame, team_col: str) -> pd.DataFrame:
    """'BOS vs. NYK' (home first) or 'NYK @ BOS' (away first) -> home/away/opponent."""
    parts = df["MATCHUP"].str.extract(r"^([A-Z]{3}) (vs\.|@) ([A-Z]{3})$")
    fail_at(df, parts[0].isna(), "MATCHUP", "not 'AAA vs. BBB' or 'AAA @ BBB'")
    at = parts[1] == "@"
    home = parts[2].where(at, parts[0])
    away = parts[0].where(at, parts[2])
    team = df[team_col]
    fail_at(df, (team != home) & (team != away), "MATCHUP", "does not include the row's team")
    return pd.DataFrame(
        {"home_team": home, "away_team": away, "opponent": home.where(team == away, away)},
        index=df.index,
    )


def opponent_points(points, plus_minus):
    """The opponent's score from a side's points and plus/minus (= points - opponent's points)."""
    return points - plus_minus


def _check_teams(df: pd.DataFrame, column: str, known: Iterable[str]) -> None:
    fail_at(df, ~df[column].isin(set(known)), column, "unknown team (not in reference/teams.csv)")


def validated_rows(table: Table, out: pd.DataFrame) -> pd.DataFrame:
    """`out` conformed to `table` and validated against its declared schema while each row still
    knows the feed row it came from (`_file`, `_line`; null for rows built from several): a bad
    value or a repeated grain key fails here naming the file, line and column, not a row of a
    frame. The warehouse validates again at write, whatever the source."""
    conformed = table.conform(out)
    try:
        table.validate(conformed)
    except TableSchemaViolation as exc:
        where = out[[FILE, LINE]].reset_index(drop=True) if FILE in out.columns else None
        located = [
            v for v in exc.violations if v.row is not None and where is not None and pd.notna(where.at[v.row, LINE])
        ]
        if not located:
            raise
        first = located[0]
        problem, twins = first.problem, []
        if problem.startswith("duplicate grain"):
            twins = [int(where.at[v.row, LINE]) for v in located[1:] if v.problem == problem]
            problem += f", again on line(s) {', '.join(map(str, twins[:5]))}"
        more = len(exc.violations) - 1 - len(twins)
        raise FeedError(
            where.at[first.row, FILE],
            int(where.at[first.row, LINE]),
            first.column,
            f"{problem} (table {table.qualified_name}, partition {first.partition}, nothing written"
            + (f"; {more} more violation(s))" if more else ")"),
        ) from None
    return conformed


def withhold_invalid_prices(out: pd.DataFrame, table: Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sportsbook prices that are not American odds (see `Check.american_odds`) are withheld: set
    to null, so nothing reads them as a price, and returned (game date, file, line, column, value)
    for the table's `prices_valid` check. The quote's other fields stay: one book's bad price does
    not fail a day of lines, nor drop a game's spread and total (the 2024-25 consensus game lines
    hold ten such medians: -3.0, -1.5, -1.0...)."""
    withheld = []
    out = out.copy()
    for col in table.columns:
        for check in col.checks:
            if check.kind != "american_odds":
                continue
            bad = ~check.valid(out[col.name])
            if bad.any():
                withheld.append(
                    pd.DataFrame(
                        {
                            "game_date": out.loc[bad, "game_date"],
                            "file": out.loc[bad, FILE].map(lambda f: Path(f).name),
                            "line": out.loc[bad, LINE].astype("int64"),
                            "column": col.name,
                            "value": out.loc[bad, col.name].astype("float64"),
                        }
                    )
                )
                out.loc[bad, col.name] = np.nan
    columns = {"game_date": "datetime64[ns]", "file": object, "line": "int64", "column": object, "value": "float64"}
    rejected = (
        pd.concat(withheld, ignore_index=True)
        if withheld
        else pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    )
    return out, rejected.sort_values(["game_date", "file", "line"]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
def select_team_game_logs(logs: pd.DataFrame, season_types: Iterable[str]) -> tuple[pd.DataFrame, dict]:
    """Label season types; keep the configured ones. Returns (kept rows, excluded game counts)."""
    digit = logs["SEASON_ID"].astype(str).str[0]
    st = digit.map(SEASON_TYPE_BY_DIGIT)
    fail_at(logs.assign(SEASON_ID=logs["SEASON_ID"]), st.isna(), "SEASON_ID", "unknown season type")
    logs = logs.assign(season_type=st, season=season_label(logs["SEASON_ID"]))
    wanted = set(season_types) - UNSUPPORTED_SEASON_TYPES
    excluded = logs[~logs["season_type"].isin(wanted)]
    excluded_games = excluded.groupby("season_type")["GAME_ID"].nunique().to_dict()
    return logs[logs["season_type"].isin(wanted)].copy(), excluded_games


def build_schedule(
    team_logs: pd.DataFrame,
    teams: pd.DataFrame,
    player_feed_season_types: Iterable[str],
    start_times: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per final game from the team game logs (one or both sides of each game present).

    `start_times`: optional (game_date, home_team, away_team, start_time_utc) from the odds feeds.
    """
    abbr = teams.set_index("abbreviation")["id"]
    _check_teams(team_logs, "TEAM_ABBREVIATION", abbr.index)
    mu = _parse_matchup(team_logs, "TEAM_ABBREVIATION")
    _check_teams(team_logs.assign(_opp=mu["opponent"]), "_opp", abbr.index)
    logs = pd.concat([team_logs, mu], axis=1)
    logs["_pair"] = np.where(
        logs["home_team"] < logs["away_team"],
        logs["home_team"] + logs["away_team"],
        logs["away_team"] + logs["home_team"],
    )
    # both rows of a game must name the same two teams and date
    per_game = logs.groupby("GAME_ID").agg(
        n=("GAME_ID", "size"),
        teams=("TEAM_ABBREVIATION", "nunique"),
        dates=("GAME_DATE", "nunique"),
        pairs=("_pair", "nunique"),
    )
    bad = per_game[(per_game.n > 2) | (per_game.teams != per_game.n) | (per_game.dates > 1) | (per_game.pairs > 1)]
    fail_at(logs, logs["GAME_ID"].isin(bad.index), "GAME_ID", "inconsistent team rows for game")

    # neutral-site games (NBA Cup final, international games) write '@' on both rows, each from
    # its own side; the designated home team is the one a 'vs.' row names, else the first row's
    logs["_vs"] = logs["MATCHUP"].str.contains(" vs. ", regex=False)
    first = logs.sort_values(["GAME_ID", "_vs"], ascending=[True, False]).drop_duplicates("GAME_ID")
    points = logs.set_index(["GAME_ID", "TEAM_ABBREVIATION"])["PTS"]
    pm = logs.set_index(["GAME_ID", "TEAM_ABBREVIATION"])["PLUS_MINUS"]
    sched = pd.DataFrame(
        {
            "game_date": first["GAME_DATE"].values,
            "game_id": first["GAME_ID"].values,
            "season": first["season"].values,
            "season_type": first["season_type"].values,
            "home_team": first["home_team"].values,
            "away_team": first["away_team"].values,
        }
    )
    sched["home_team_id"] = sched["home_team"].map(abbr).astype("Int64")
    sched["away_team_id"] = sched["away_team"].map(abbr).astype("Int64")
    sched["status"] = "final"
    # a missing side's score follows from the other side's: its plus/minus is its points minus
    # the opponent's, so opponent = points - plus/minus
    hk = pd.MultiIndex.from_arrays([sched["game_id"], sched["home_team"]])
    ak = pd.MultiIndex.from_arrays([sched["game_id"], sched["away_team"]])
    hp = points.reindex(hk).to_numpy(dtype="float64")
    ap = points.reindex(ak).to_numpy(dtype="float64")
    hpm = pm.reindex(hk).to_numpy(dtype="float64")
    apm = pm.reindex(ak).to_numpy(dtype="float64")
    sched["home_points"] = pd.array(np.where(np.isnan(hp), opponent_points(ap, apm), hp)).astype("Int64")
    sched["away_points"] = pd.array(np.where(np.isnan(ap), opponent_points(hp, hpm), ap)).astype("Int64")
    minutes = logs.groupby("GAME_ID")["MIN"].max().reindex(sched["game_id"]).to_numpy()
    sched["overtime_periods"] = pd.array(
        np.maximum(0, np.round((minutes.astype(float) - 240) / 25)).astype("int64")
    ).astype("Int64")
    sched["player_stats_expected"] = sched["season_type"].isin(set(player_feed_season_types))
    sched["start_time_utc"] = pd.NaT
    if start_times is not None and len(start_times):
        st = start_times.drop_duplicates(["game_date", "home_team", "away_team"]).set_index(
            ["game_date", "home_team", "away_team"]
        )["start_time_utc"]
        key = pd.MultiIndex.from_frame(sched[["game_date", "home_team", "away_team"]])
        sched["start_time_utc"] = st.reindex(key).to_numpy()
    return tables.schedule.conform(sched.sort_values(["game_date", "game_id"]))


POSTPONED = {"PPD", "POSTPONED"}


def add_scheduled_games(
    finals: pd.DataFrame,
    league_schedule: pd.DataFrame,
    teams: pd.DataFrame,
    season_types: Iterable[str],
    player_feed_season_types: Iterable[str],
) -> tuple[pd.DataFrame, dict]:
    """The schedule of final games (`build_schedule`) plus the league schedule's games that are not
    final yet (status `scheduled`): a morning's slate exists before any of its results do.

    The game logs decide what is final: a game the schedule feed calls final (status 3) but the
    logs lack yet stays `scheduled` and is counted, and a final game keeps its logs' date (a
    rescheduled game). Postponed games are left out and counted."""
    feed = league_schedule
    _check_teams(feed, "homeTeam.teamTricode", teams["abbreviation"])
    _check_teams(feed, "awayTeam.teamTricode", teams["abbreviation"])
    fail_at(feed, ~feed["gameStatus"].isin([1, 2, 3]), "gameStatus", "not 1 (scheduled), 2 (in progress) or 3 (final)")
    season_type = feed["gameId"].str[2].map(SEASON_TYPE_BY_DIGIT)
    fail_at(feed, season_type.isna(), "gameId", "unknown season type digit")
    fail_at(feed, feed["gameId"].duplicated(), "gameId", "listed twice in the schedule")
    postponed = feed["gameStatusText"].fillna("").str.strip().str.upper().isin(POSTPONED)
    wanted = season_type.isin(set(season_types) - UNSUPPORTED_SEASON_TYPES)
    pending = feed[~feed["gameId"].isin(set(finals["game_id"])) & ~postponed & wanted]
    facts = {
        "games_scheduled": len(pending),
        "games_final_in_schedule_awaiting_logs": int((pending["gameStatus"] == 3).sum()),
        "games_postponed": int((postponed & wanted).sum()),
    }
    # the odds feeds give most tip-off times; the schedule the rest
    if len(feed):
        tip = feed.set_index("gameId")["gameDateTimeUTC"]
        finals = finals.assign(start_time_utc=finals["start_time_utc"].fillna(finals["game_id"].map(tip)))
    if pending.empty:
        return finals, facts
    abbr = teams.set_index("abbreviation")["id"]
    year = ("20" + pending["gameId"].str[3:5]).astype("int64")
    scheduled = pd.DataFrame(
        {
            "game_date": pending["gameDateEst"],
            "game_id": pending["gameId"],
            "season": year.astype(str) + "-" + ((year + 1) % 100).astype(str).str.zfill(2),
            "season_type": season_type[pending.index],
            "home_team": pending["homeTeam.teamTricode"],
            "away_team": pending["awayTeam.teamTricode"],
            "home_team_id": pending["homeTeam.teamTricode"].map(abbr).astype("Int64"),
            "away_team_id": pending["awayTeam.teamTricode"].map(abbr).astype("Int64"),
            "status": "scheduled",
            "start_time_utc": pending["gameDateTimeUTC"],
            "home_points": pd.array([pd.NA] * len(pending), dtype="Int64"),
            "away_points": pd.array([pd.NA] * len(pending), dtype="Int64"),
            "overtime_periods": pd.array([pd.NA] * len(pending), dtype="Int64"),
            "player_stats_expected": season_type[pending.index].isin(set(player_feed_season_types)),
        }
    )
    merged = pd.concat([finals, tables.schedule.conform(scheduled)], ignore_index=True)
    return tables.schedule.conform(merged.sort_values(["game_date", "game_id"])), facts


# ------------------------------------------------------------------------------------------------
def build_player_boxscores(
    player_logs: pd.DataFrame,
    schedule: pd.DataFrame,
    players: pd.DataFrame,
    boxscore_feed: pd.DataFrame | None,
) -> tuple[pd.DataFrame, dict]:
    """Player rows from the complete game logs, with exact minutes and starters from the box score
    feed where it covers the game. Rows of games not in `schedule` (excluded season types) are
    dropped and counted; rows whose date disagrees with the schedule are an error."""
    logs = player_logs
    sched = schedule.set_index("game_id")
    in_sched = logs["Game_ID"].isin(sched.index)
    facts: dict = {"rows_outside_schedule": int((~in_sched).sum())}
    logs = logs[in_sched]
    sched_date = logs["Game_ID"].map(sched["game_date"])
    fail_at(logs, sched_date != logs["GAME_DATE"], "GAME_DATE", "differs from the game's date in the team game logs")
    logs = logs.assign(TEAM=logs["MATCHUP"].str[:3])
    mu = _parse_matchup(logs, "TEAM")
    home_of_game = logs["Game_ID"].map(sched["home_team"])
    away_of_game = logs["Game_ID"].map(sched["away_team"])
    # home/away comes from the schedule: at neutral sites both teams' rows read 'X @ Y'
    same_pair = ((home_of_game == mu["home_team"]) & (away_of_game == mu["away_team"])) | (
        (home_of_game == mu["away_team"]) & (away_of_game == mu["home_team"])
    )
    fail_at(logs, ~same_pair, "MATCHUP", "teams differ from the schedule")
    mu["opponent"] = np.where(logs["TEAM"] == home_of_game, away_of_game, home_of_game)

    out = pd.DataFrame(
        {
            "game_date": logs["GAME_DATE"],
            "game_id": logs["Game_ID"],
            "season": logs["Game_ID"].map(sched["season"]),
            "season_type": logs["Game_ID"].map(sched["season_type"]),
            "player_id": logs["Player_ID"],
            "team": logs["TEAM"],
            "opponent": mu["opponent"],
            "is_home": logs["TEAM"] == home_of_game,
            "minutes": logs["MIN"].astype("float64"),
            **{new: logs[old] for old, new in _COUNT_COLS.items()},
            "plus_minus": logs["PLUS_MINUS"],
            FILE: logs[FILE],
            LINE: logs[LINE],
        }
    )
    names = players.drop_duplicates("id").set_index("id")["full_name"]
    out["player_name"] = out["player_id"].map(names)
    facts["players_missing_from_reference"] = int(out["player_name"].isna().sum())

    out["starter"] = pd.NA
    out["in_boxscore_feed"] = False
    if boxscore_feed is not None and len(boxscore_feed):
        feed = boxscore_feed[boxscore_feed["played"]].set_index(["game_id", "player_id"])
        covered = out["game_id"].isin(set(boxscore_feed["game_id"]))
        key = pd.MultiIndex.from_frame(out[["game_id", "player_id"]])
        exact = feed["minutes"].reindex(key).to_numpy()
        starter = feed["starter"].reindex(key)
        out["minutes"] = np.where(covered & ~np.isnan(exact), exact, out["minutes"])
        out["starter"] = pd.array(starter.to_numpy(), dtype="boolean")
        out.loc[covered & out["starter"].isna(), "starter"] = False
        out["in_boxscore_feed"] = covered.to_numpy()
        facts["games_in_boxscore_feed"] = int(out.loc[covered, "game_id"].nunique())
    return validated_rows(
        tables.player_boxscores, out.sort_values(["game_date", "game_id", "team", "player_id"])
    ), facts


def build_team_boxscores(
    team_logs: pd.DataFrame, schedule: pd.DataFrame, player_boxscores: pd.DataFrame
) -> pd.DataFrame:
    """Team rows from the team game logs; a side the logs lack (the 2025-26 logs list one team per
    game) is summed from that team's player rows, with minutes taken from the other side."""
    sched = schedule.set_index("game_id")
    logs = team_logs[team_logs["GAME_ID"].isin(sched.index)]
    from_logs = pd.DataFrame(
        {
            "game_id": logs["GAME_ID"],
            "team": logs["TEAM_ABBREVIATION"],
            "team_id": logs["TEAM_ID"],
            "minutes": logs["MIN"],
            **{new: logs[old] for old, new in _COUNT_COLS.items()},
            "plus_minus": logs["PLUS_MINUS"],
            "win": logs["WL"].map({"W": True, "L": False}).astype("boolean"),
            "source": "team_game_log",
            FILE: logs[FILE],
            LINE: logs[LINE],
        }
    )
    sides = pd.concat(
        [
            pd.DataFrame(
                {"game_id": sched.index, "team": sched["home_team"].values, "team_id": sched["home_team_id"].values}
            ),
            pd.DataFrame(
                {"game_id": sched.index, "team": sched["away_team"].values, "team_id": sched["away_team_id"].values}
            ),
        ]
    )
    have = pd.MultiIndex.from_frame(from_logs[["game_id", "team"]])
    missing = sides[~pd.MultiIndex.from_frame(sides[["game_id", "team"]]).isin(have)]
    summed = (
        player_boxscores.groupby(["game_id", "team"])[COUNT_STATS]
        .sum()
        .reset_index()
        .merge(missing, on=["game_id", "team"], how="inner")
    )
    other_minutes = from_logs.groupby("game_id")["minutes"].max()
    summed["minutes"] = summed["game_id"].map(other_minutes)
    summed["source"] = "player_game_logs"
    teams = pd.concat([from_logs, summed], ignore_index=True)
    opp_points = teams.groupby("game_id")["points"].transform("sum") - teams["points"]
    summed_rows = teams["source"] == "player_game_logs"
    teams.loc[summed_rows, "plus_minus"] = (teams["points"] - opp_points)[summed_rows].astype(float)
    teams["game_date"] = teams["game_id"].map(sched["game_date"])
    teams["season"] = teams["game_id"].map(sched["season"])
    teams["season_type"] = teams["game_id"].map(sched["season_type"])
    home = teams["game_id"].map(sched["home_team"])
    teams["is_home"] = teams["team"] == home
    teams["opponent"] = np.where(teams["is_home"], teams["game_id"].map(sched["away_team"]), home)
    # the logs state W/L; a side summed from player rows (or a log without W/L) won if it
    # outscored its opponent (the `scores_match_schedule` check reconciles both with the scores)
    teams["win"] = teams["win"].fillna(pd.Series(teams["points"] > opp_points, index=teams.index)).astype(bool)
    return validated_rows(tables.team_boxscores, teams.sort_values(["game_date", "game_id", "is_home"]))


def prepare_boxscore_feed(feed: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The second box score feed: drop its duplicated rows, mark starters and DNP rows.

    Every row appears twice in the files. Starters are the first five rows of each (game, team)
    in file order; DNP rows carry no minutes."""
    n_in = len(feed)
    data_cols = [c for c in feed.columns if c not in (LINE, FILE)]
    dedup = feed.drop_duplicates(subset=data_cols, keep="first")
    conflicting = dedup.duplicated(subset=["game_id", "player"], keep=False)
    fail_at(dedup, conflicting, "player", "player listed twice in a game with different stats")
    order = dedup.groupby(["game_id", "team"]).cumcount()
    out = pd.DataFrame(
        {
            "game_id": dedup["game_id"],
            "team_id": dedup["team"],
            "player_id": dedup["player"],
            "minutes": dedup["stats.minutes"],
            "played": dedup["stats.minutes"].notna(),
            "starter": order < 5,
            **{new: dedup[old] for old, new in BOXSCORE_STATS.items()},
            "plus_minus": dedup["stats.plusMinusPoints"],
        }
    ).reset_index(drop=True)
    facts = {
        "feed_rows_read": n_in,
        "feed_duplicate_rows_dropped": n_in - len(dedup),
        "feed_dnp_rows": int((~out["played"]).sum()),
    }
    return out, facts


# ------------------------------------------------------------------------------------------------
def split_game(df: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    parts = df["game"].str.extract(r"^(.+?) @ (.+)$")
    fail_at(df, parts[0].isna(), "game", "not 'Away Team @ Home Team'")
    by_name = teams.set_index("full_name")["abbreviation"]
    away, home = parts[0].map(by_name), parts[1].map(by_name)
    fail_at(df, away.isna() | home.isna(), "game", "unknown team name (not in reference/teams.csv)")
    return pd.DataFrame({"away_team": away, "home_team": home}, index=df.index)


def _game_ids(df: pd.DataFrame, schedule: pd.DataFrame) -> pd.Series:
    sched = schedule.drop_duplicates(["game_date", "home_team", "away_team"]).set_index(
        ["game_date", "home_team", "away_team"]
    )["game_id"]
    key = pd.MultiIndex.from_frame(df[["game_date", "home_team", "away_team"]])
    return pd.Series(sched.reindex(key).to_numpy(), index=df.index, dtype="string")


def drop_lines_out_of_range(out: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quotes whose line lies outside its market's range (`tables.PROP_LINE_RANGES`) are not
    stored: the rest of the day's quotes are; the dropped ones are returned (game date, file,
    line, market, value) for the table's `lines_valid` check."""
    low = out["market"].map({m: r[0] for m, r in tables.PROP_LINE_RANGES.items()})
    high = out["market"].map({m: r[1] for m, r in tables.PROP_LINE_RANGES.items()})
    bad = (out["line"] < low) | (out["line"] > high)
    dropped = pd.DataFrame(
        {
            "game_date": out.loc[bad, "game_date"],
            "file": out.loc[bad, FILE].map(lambda f: Path(f).name).astype(object),
            "line": out.loc[bad, LINE].astype("int64"),
            "market": out.loc[bad, "market"].astype(object),
            "value": out.loc[bad, "line"].astype("float64"),
        }
    ).reset_index(drop=True)
    return out[~bad], dropped


def build_player_props(
    snapshots: pd.DataFrame, teams: pd.DataFrame, players: pd.DataFrame, schedule: pd.DataFrame
) -> tuple[pd.DataFrame, dict]:
    """The priced markets' quotes from the prop snapshots (`tables.PROP_MARKETS`; the feeds' other
    markets are skipped and counted by market).

    `snapshots` carries a `snapshot_time` column (from the file name) besides the feed columns."""
    priced = snapshots["market"].isin(list(tables.PROP_MARKETS))
    skipped = snapshots.loc[~priced, "market"].value_counts()
    facts: dict = {
        "other_market_rows_skipped": int((~priced).sum()),
        "other_markets_skipped": {str(k): int(v) for k, v in skipped.items()},
    }
    pts = snapshots[priced]
    fail_at(pts, pts["line"].isna(), "line", "prop line is empty")
    teams_of = split_game(pts, teams)
    out = pd.DataFrame(
        {
            "game_date": eastern_date(pts["game_time"]),
            "snapshot_time": pts["snapshot_time"],
            "event_id": pts["event_id"],
            "game_start_time": pts["game_time"],
            "home_team": teams_of["home_team"],
            "away_team": teams_of["away_team"],
            "market": pts["market"],
            "odds_player_name": pts["player"],
            "bookmaker": pts["bookmaker"],
            "line": pts["line"],
            "over_odds": pts["over_odds"],
            "under_odds": pts["under_odds"],
            FILE: pts[FILE],
            LINE: pts[LINE],
        }
    )
    n = len(out)
    # the same quote listed twice is one quote; the same key quoted at two prices fails below
    out = out.drop_duplicates(subset=[c for c in out.columns if c not in (FILE, LINE)])
    facts["duplicate_rows_dropped"] = n - len(out)
    out, facts[WITHHELD_PRICES] = withhold_invalid_prices(out, tables.player_props)
    out, facts[DROPPED_LINES] = drop_lines_out_of_range(out)
    out["game_id"] = _game_ids(out, schedule)
    match = match_player_names(out["odds_player_name"], players)
    out["player_id"], out["player_name"], out["name_match"] = match.player_id, match.player_name, match.method
    names = out.drop_duplicates("odds_player_name")
    unmatched = names[out.loc[names.index, "player_id"].isna()]["odds_player_name"]
    facts.update(
        {
            "distinct_names": int(len(names)),
            "names_by_match": names["name_match"].value_counts().to_dict(),
            "unmatched_names": sorted(unmatched.tolist()),
            "rows_unmatched": int(out["player_id"].isna().sum()),
            "rows_without_game_id": int(out["game_id"].isna().sum()),
        }
    )
    facts["rows_by_market"] = {str(k): int(v) for k, v in out["market"].value_counts().sort_index().items()}
    out = out.sort_values(["game_date", "snapshot_time", "event_id", "market", "odds_player_name", "bookmaker", "line"])
    return validated_rows(tables.player_props, out), facts


def build_game_lines(lines: pd.DataFrame, teams: pd.DataFrame, schedule: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Consensus game lines (one snapshot per game); the game date is the Eastern date of tip-off
    (the feed's `line_date` is the UTC date and is not used)."""
    by_name = teams.set_index("full_name")["abbreviation"]
    home, away = lines["home_team"].map(by_name), lines["away_team"].map(by_name)
    fail_at(lines, home.isna(), "home_team", "unknown team name (not in reference/teams.csv)")
    fail_at(lines, away.isna(), "away_team", "unknown team name (not in reference/teams.csv)")
    out = pd.DataFrame(
        {
            "game_date": eastern_date(lines["commence_time"]),
            "event_id": lines["event_id"],
            "bookmaker": "consensus",
            "snapshot_time": lines["snapshot_timestamp"],
            "commence_time": lines["commence_time"],
            "home_team": home,
            "away_team": away,
            "home_moneyline": lines["fg_ml_home"],
            "away_moneyline": lines["fg_ml_away"],
            "home_spread": lines["fg_spread_line"],
            "total": lines["fg_total_line"],
            "fh_home_moneyline": lines["fh_ml_home"],
            "fh_away_moneyline": lines["fh_ml_away"],
            "fh_home_spread": lines["fh_spread_line"],
            "fh_total": lines["fh_total_line"],
            FILE: lines[FILE],
            LINE: lines[LINE],
        }
    )
    out, withheld = withhold_invalid_prices(out, tables.game_lines)
    out["game_id"] = _game_ids(out, schedule)
    facts = {"games_without_game_id": int(out["game_id"].isna().sum()), WITHHELD_PRICES: withheld}
    return validated_rows(tables.game_lines, out.sort_values(["game_date", "commence_time", "event_id"])), facts
