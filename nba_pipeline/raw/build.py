"""The nba_raw tables, built from a source's feeds (sources/base.py) by the pure transforms.

Every builder takes an inclusive game-date range and returns (frame shaped like the nba_raw table,
facts for materialization metadata); the raw assets, the raw-data sensor and completeness call
them. Frames are not yet validated: the warehouse IO manager does that against the table's
declared schema before writing. The season types are the source's configuration (its feeds cover
them), so the same source built twice gives the same tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import weakref
from collections.abc import Callable

import pandas as pd

from nba_pipeline.raw import tables, transforms
from nba_pipeline.raw.feeds import UnreadableFeed
from nba_pipeline.raw.sources.base import NbaSource

Frame = tuple[pd.DataFrame, dict]

# the schedule and player box scores of a range, built once per source instance (a run's: four
# raw assets need the schedule, two the player rows, and every step of the run then sees the same
# frames); kept beside the source, not on it, and dropped with it
_built: dict[int, dict] = {}


def _once(
    what: str, source: NbaSource, start: dt.date, end: dt.date, build: Callable[[NbaSource, dt.date, dt.date], Frame]
) -> Frame:
    if id(source) not in _built:
        _built[id(source)] = {}
        weakref.finalize(source, _built.pop, id(source), None)
    built = _built[id(source)]
    # keyed by the source's version too: a long-lived process (the raw-data sensor's) must see
    # data that changed since
    key = (what, start, end, source.version())
    if key not in built:
        built[key] = build(source, start, end)
    frame, facts = built[key]
    return frame.copy(), dict(facts)


def _to_ts(d: dt.date) -> pd.Timestamp:
    return pd.Timestamp(d)


def _on_dates(df: pd.DataFrame, utc_column: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Rows whose UTC time falls on a US Eastern game date of start .. end."""
    date = transforms.eastern_date(df[utc_column])
    return df[(date >= _to_ts(start)) & (date <= _to_ts(end))]


def _team_logs(source: NbaSource, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, dict]:
    source.validate_season_types()
    logs = source.read_team_game_logs(start, end)
    logs = logs[(logs["GAME_DATE"] >= _to_ts(start)) & (logs["GAME_DATE"] <= _to_ts(end))]
    return transforms.select_team_game_logs(logs, source.season_types)


def _prop_snapshots(source: NbaSource, start: dt.date, end: dt.date) -> pd.DataFrame:
    return _on_dates(source.read_prop_snapshots(start, end), "game_time", start, end)


def _game_line_rows(source: NbaSource, start: dt.date, end: dt.date) -> pd.DataFrame:
    return _on_dates(source.read_game_lines(start, end), "commence_time", start, end)


def _start_times(source: NbaSource, start: dt.date, end: dt.date) -> pd.DataFrame:
    """(game_date, home_team, away_team, start_time_utc) of the games the odds feeds quote."""
    frames = []
    snaps = _prop_snapshots(source, start, end)
    if len(snaps):
        teams = transforms.split_game(snaps, source.teams())
        frames.append(
            pd.DataFrame(
                {
                    "game_date": transforms.eastern_date(snaps["game_time"]),
                    **teams,
                    "start_time_utc": snaps["game_time"],
                }
            )
        )
    lines = _game_line_rows(source, start, end)
    if len(lines):
        by_name = source.teams().set_index("full_name")["abbreviation"]
        frames.append(
            pd.DataFrame(
                {
                    "game_date": transforms.eastern_date(lines["commence_time"]),
                    "home_team": lines["home_team"].map(by_name),
                    "away_team": lines["away_team"].map(by_name),
                    "start_time_utc": lines["commence_time"],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["game_date", "home_team", "away_team", "start_time_utc"])
    return pd.concat(frames, ignore_index=True)


# the raw tables -------------------------------------------------------------------------------
def schedule(source: NbaSource, start: dt.date, end: dt.date) -> Frame:
    return _once("schedule", source, start, end, _build_schedule)


def _build_schedule(source: NbaSource, start: dt.date, end: dt.date) -> Frame:
    logs, excluded = _team_logs(source, start, end)
    # tip-off times come from the odds feeds; an unreadable odds feed (a bad file, The Odds API
    # down) fails the props and game lines partitions (naming it), not the games: their times
    # then come from the league schedule, and the schedule's metadata says why
    try:
        start_times, odds_unreadable = _start_times(source, start, end), None
    except UnreadableFeed as exc:
        start_times, odds_unreadable = None, str(exc)
    sched = transforms.build_schedule(logs, source.teams(), source.player_feed_season_types, start_times)
    league = source.read_league_schedule(start, end)
    league = league[(league["gameDateEst"] >= _to_ts(start)) & (league["gameDateEst"] <= _to_ts(end))]
    sched, pending = transforms.add_scheduled_games(
        sched, league, source.teams(), source.season_types, source.player_feed_season_types
    )
    facts = {
        **pending,
        "games_by_status": sched["status"].value_counts().to_dict(),
        "games_by_season_type": sched["season_type"].value_counts().to_dict(),
        "games_excluded_by_season_type": excluded,
        "games_without_player_feed": int((~sched["player_stats_expected"]).sum()),
        "games_with_start_time": int(sched["start_time_utc"].notna().sum()),
        **({"start_times_without_odds_feeds": odds_unreadable} if odds_unreadable else {}),
    }
    return sched, facts


def boxscore_feed(source: NbaSource, start: dt.date, end: dt.date, game_ids: set[str]) -> Frame:
    """The independent second box score feed for `game_ids`, deduplicated, starters and DNPs
    marked: what player box scores take exact minutes from and are checked against."""
    return transforms.prepare_boxscore_feed(source.read_boxscores(start, end, game_ids))


def team_boxscores(source: NbaSource, start: dt.date, end: dt.date) -> Frame:
    logs, _ = _team_logs(source, start, end)
    sched, _ = schedule(source, start, end)
    players, _ = player_boxscores(source, start, end)
    teams = transforms.build_team_boxscores(logs, sched, players)
    return teams, {"rows_by_source": teams["source"].value_counts().to_dict()}


def player_boxscores(source: NbaSource, start: dt.date, end: dt.date) -> Frame:
    return _once("player_boxscores", source, start, end, _build_player_boxscores)


def _build_player_boxscores(source: NbaSource, start: dt.date, end: dt.date) -> Frame:
    sched, _ = schedule(source, start, end)
    expected = sched[sched["player_stats_expected"] & (sched["status"] == "final")]
    logs = source.read_player_game_logs(start, end)
    logs = logs[(logs["GAME_DATE"] >= _to_ts(start)) & (logs["GAME_DATE"] <= _to_ts(end))]
    feed, feed_facts = boxscore_feed(source, start, end, set(expected["game_id"]))
    players, facts = transforms.build_player_boxscores(logs, expected, source.players(), feed)
    return players, {**facts, **feed_facts}


def player_props(source: NbaSource, start: dt.date, end: dt.date) -> Frame:
    sched, _ = schedule(source, start, end)
    snaps = _prop_snapshots(source, start, end)
    props, facts = transforms.build_player_props(snaps, source.teams(), source.players(), sched)
    facts["snapshots"] = int(snaps["snapshot_time"].nunique()) if len(snaps) else 0
    return props, facts


def game_lines(source: NbaSource, start: dt.date, end: dt.date) -> Frame:
    sched, _ = schedule(source, start, end)
    return transforms.build_game_lines(_game_line_rows(source, start, end), source.teams(), sched)


# each raw table's builder, by table name (what the raw-data sensor and completeness compare)
BUILDERS: dict[str, Callable[[NbaSource, dt.date, dt.date], Frame]] = {
    tables.schedule.name: schedule,
    tables.team_boxscores.name: team_boxscores,
    tables.player_boxscores.name: player_boxscores,
    tables.player_props.name: player_props,
    tables.game_lines.name: game_lines,
}


# each raw partition's materialization records the digest of its rows under this key; the raw-data
# sensor computes the same digest from the source and requests a partition only where they differ
FINGERPRINT = "source_fingerprint"


def day_fingerprints(table: tables.Table, df: pd.DataFrame, days: list[str]) -> dict[str, str]:
    """{game date: digest of the table's rows for it} for every date of `days` ('YYYY-MM-DD';
    a date without rows has the digest of nothing)."""
    df = table.conform(df)
    by_day = dict(tuple(df.groupby(df["game_date"].dt.strftime("%Y-%m-%d")))) if len(df) else {}
    out = {}
    for day in days:
        rows = by_day.get(day)
        if rows is None or rows.empty:
            out[day] = "empty"
            continue
        rows = rows.sort_values(list(table.grain)).astype(str)
        digest = pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes()
        out[day] = hashlib.sha256(digest).hexdigest()[:16]
    return out
