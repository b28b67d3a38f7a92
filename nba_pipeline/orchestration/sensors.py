"""What starts runs: the raw-data sensor and the morning schedule. Both name explicit partition
keys (incident 10: a scheduler that kept re-running an old date).

- `raw_data_sensor` watches the source. Every tick it fingerprints each raw table's rows per
  game date over the last WATCH_DAYS dates up to the source's newest game date (what the raw
  asset would write for that date; no date the source knows nothing of yet), and
  requests exactly the (table, date) pairs whose fingerprint changed since the cursor: a new feed
  file, a new odds snapshot, a game turning final, a stat correction. The cursor holds the
  fingerprints, so nothing is requested twice, and a tick that finds the source's files unchanged
  stops before reading them. A (table, date) the cursor has not seen (the first tick of a new
  deployment or a reset sensor, a date entering the window) is compared with the fingerprint its
  latest materialization recorded: a week backfilled from the same rows is not rebuilt. Changes
  older than WATCH_DAYS are backfills, launched on purpose.
- `morning_predictions` runs at MORNING_CRON (US Eastern) for that day's partition: the day's
  raw odds and schedule, its upcoming context, features and predictions, from the odds snapshots
  taken so far (every one before tip-off). A day the source knows no game of, or whose season's
  history is not materialized, is skipped with the reason: that run could only fail.

Everything else follows by the assets' automation conditions (`automation.py`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from zoneinfo import ZoneInfo

import dagster as dg

from nba_pipeline.core.history import season_start, unmet_needs
from nba_pipeline.core.partitions import GAME_TIMEZONE
from nba_pipeline.exports import files as exports
from nba_pipeline.orchestration.automation import schedule_status, sensor_status
from nba_pipeline.raw import build
from nba_pipeline.raw import tables as raw
from nba_pipeline.raw.sources.base import NbaSource

# stat corrections and late box scores arrive within days
WATCH_DAYS = 7
MORNING_CRON = "0 11 * * *"
RAW_TABLES = (raw.schedule, raw.team_boxscores, raw.player_boxscores, raw.player_props, raw.game_lines)
_BY_NAME = {t.name: t for t in RAW_TABLES}


def today_in_game_timezone(now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(GAME_TIMEZONE)).date()


def fingerprints(source: NbaSource, start: dt.date, end: dt.date) -> dict[str, dict[str, str]]:
    """{raw table: {game date: digest of the rows the raw asset would write for it}}, every date
    of start .. end included (a date without rows has the digest of nothing: off days get
    materialized too)."""
    days = [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
    return {t.name: build.day_fingerprints(t, build.BUILDERS[t.name](source, start, end)[0], days) for t in RAW_TABLES}


# {raw table: [game dates]} -> {raw table: {game date: the fingerprint its latest materialization recorded}}
Recorded = Callable[[dict[str, list[str]]], dict[str, dict[str, str]]]


def changed_partitions(before: dict, now: dict, recorded: Recorded | None = None) -> dict[str, list[str]]:
    """{game date: [raw tables whose rows for that date changed]} between two fingerprints; a
    (table, date) the cursor has no fingerprint of (the first tick, a date entering the window)
    is compared with what its latest materialization recorded instead."""
    unknown = {t: [d for d in days if d not in before.get(t, {})] for t, days in now.items()}
    unknown = {t: days for t, days in unknown.items() if days}
    known = {t: {**before.get(t, {}), **(recorded(unknown) if recorded and unknown else {}).get(t, {})} for t in now}
    changed: dict[str, list[str]] = {}
    for table, days in now.items():
        for day, digest in days.items():
            if known[table].get(day) != digest:
                changed.setdefault(day, []).append(table)
    return dict(sorted(changed.items()))


def recorded_fingerprints(instance: dg.DagsterInstance) -> Recorded:
    """What the raw partitions' latest materializations recorded (`build.FINGERPRINT`)."""

    def recorded(wanted: dict[str, list[str]]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for table, days in wanted.items():
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=_BY_NAME[table].asset_key, asset_partitions=days),
                limit=20 * len(days),
            ).records  # newest first: a partition's first record is its latest materialization
            for r in records:
                m = r.asset_materialization
                value = m.metadata.get(build.FINGERPRINT) if m else None
                if m is not None and m.partition not in out.get(table, {}) and value is not None:
                    out.setdefault(table, {})[m.partition] = value.value
        return out

    return recorded


@dg.sensor(
    target=dg.AssetSelection.groups(raw.DATASET),
    minimum_interval_seconds=60,
    default_status=sensor_status(),
    description=(
        f"Requests the raw partitions of the last {WATCH_DAYS} game dates (up to the source's newest game date) "
        "whose source rows changed."
    ),
)
def raw_data_sensor(context: dg.SensorEvaluationContext, nba_source: NbaSource):
    today = today_in_game_timezone(dt.datetime.now(dt.UTC))
    result, cursor = evaluate_raw_source(nba_source, context.cursor, today, recorded_fingerprints(context.instance))
    context.update_cursor(cursor)
    return result


def evaluate_raw_source(
    source: NbaSource, cursor: str | None, today: dt.date, recorded: Recorded | None = None
) -> tuple[list[dg.RunRequest] | dg.SkipReason, str]:
    """One tick of the raw-data sensor as of `today`: its run requests (or why none) and cursor.

    The watched dates are the last WATCH_DAYS up to today, cut at the source's newest game date:
    a date the source has no row for, nor any later date, has nothing to build yet (an ended
    history, the off-season, a fresh deployment), so it is not requested."""
    previous = json.loads(cursor) if cursor else {}
    start = today - dt.timedelta(days=WATCH_DAYS - 1)
    version = source.version()
    if version is not None and previous.get("version") == version and previous.get("today") == today.isoformat():
        why = previous.get("watched", "")
        return dg.SkipReason(
            f"source unchanged since the last tick ({version[:12]}){'; ' + why if why else ''}"
        ), cursor or ""
    newest = source.newest_game_date()
    end = min(today, newest) if newest is not None else None

    def keep(fingerprints: dict, watched: str) -> str:
        return json.dumps(
            {"version": version, "today": today.isoformat(), "watched": watched, "fingerprints": fingerprints},
            sort_keys=True,
        )

    if end is None or end < start:
        why = (
            "the source has no game data yet (no game log, league schedule or odds row)"
            if newest is None
            else f"the source's newest game date is {newest}, before the watched dates"
        )
        why = f"{why}: nothing to request for {start} .. {today}"
        # earlier fingerprints are kept: data resuming later is compared with what was requested
        return dg.SkipReason(why), keep(previous.get("fingerprints", {}), why)
    watched = f"{start} .. {end}" + (f" (the source's newest game date is {newest})" if end < today else "")
    current = fingerprints(source, start, end)
    changed = changed_partitions(previous.get("fingerprints", {}), current, recorded)
    new_cursor = keep(current, f"watching {watched}")
    if not changed:
        return dg.SkipReason(f"no raw rows changed for {watched}"), new_cursor
    return [
        dg.RunRequest(
            run_key=f"raw:{day}:" + ":".join(f"{t}={current[t][day]}" for t in sorted(tables)),
            partition_key=day,
            asset_selection=[_BY_NAME[t].asset_key for t in tables],
            tags={"nba_pipeline/launched_by": "raw_data_sensor"},
        )
        for day, tables in changed.items()
    ], new_cursor


# everything the day's best bets are built from, for that day: its odds, schedule, context,
# features, model and predictions (its own results come at night; history is read, not rebuilt)
PREDICTION_DAY = dg.AssetSelection.assets(exports.best_bets.asset_key).upstream()


@dg.schedule(
    cron_schedule=MORNING_CRON,
    execution_timezone=GAME_TIMEZONE,
    target=PREDICTION_DAY,
    default_status=schedule_status(),
    description="The day's odds, context, features, predictions and best bets, for that day's partition only.",
)
def morning_predictions(context: dg.ScheduleEvaluationContext, nba_source: NbaSource):
    day = today_in_game_timezone(context.scheduled_execution_time)
    newest = nba_source.newest_game_date()
    if newest is None or newest < day:
        known = "the source has no game data yet" if newest is None else f"the source's newest game date is {newest}"
        return dg.SkipReason(f"no game of {day} is known yet ({known}): nothing to predict")
    graph = context.repository_def.asset_graph
    unmet = unmet_needs(context.instance, graph, PREDICTION_DAY.resolve(graph), day)
    if unmet:
        missing = sorted({k for keys in unmet.values() for k in keys})
        shown = "; ".join(f"{key.to_user_string()}: {len(keys)} from {keys[0]}" for key, keys in sorted(unmet.items()))
        return dg.SkipReason(
            f"{day}: {len(missing)} date(s) of its season's history were never materialized ({shown}); "
            f"backfill from {season_start(day)} first"
        )
    return dg.RunRequest(
        run_key=f"morning:{day}",
        partition_key=day.isoformat(),
        tags={"nba_pipeline/launched_by": "morning_predictions"},
    )
