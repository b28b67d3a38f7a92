"""Freshness as the UI shows it: a `fresh` check on every asset, judged per partition against
the data the source has (`completeness.py`), not by the latest materialization of any partition.

Why not `dg.FreshnessPolicy`: its evaluator (the daemon's) reads only the asset's latest
materialization, whatever the partition, so backfilling an old season, or writing an empty
partition for a day without data, made every asset "Passing" while the newest game days were
missing or failed. That cannot express "the newest game dates with data are built with it", so
the assets carry no policy (the UI shows none rather than a false one) and this check says it:

- `fresh` passes when every game date of the source's newest WINDOW_DAYS that is due has its
  partition built with its data; it fails (WARN) naming each late date and why, e.g.
  "2025-11-10 never materialized". Its metadata holds the window, the source's newest game date
  and the newest date built.
- `freshness_sensor` (every 5 min, in the daemon) evaluates it and records the result on the
  asset whenever it changes or the asset is materialized again, so the UI's check status is
  always the current one; the check can also be executed from the UI.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

from nba_pipeline.core.checks.partitioned import target_of
from nba_pipeline.core.schema import Due
from nba_pipeline.orchestration.automation import sensor_status
from nba_pipeline.orchestration.completeness import (
    ET,
    WINDOW_DAYS,
    GameDays,
    Late,
    due_times,
    game_days,
    late_partitions,
)
from nba_pipeline.raw.sources.base import NbaSource

FRESH = "fresh"
SENSOR_INTERVAL_SECONDS = 300


def freshness_results(
    instance: dg.DagsterInstance,
    now: dt.datetime,
    days: GameDays,
    dues: Mapping[str, Due],
    blocking: Mapping[dg.AssetKey, Sequence[dg.AssetCheckKey]],
    asset_keys: Iterable[dg.AssetKey],
) -> dict[dg.AssetKey, dg.AssetCheckResult]:
    """The `fresh` result of each asset at `now`."""
    keys = list(asset_keys)
    late = late_partitions(instance, now, days, dues, blocking, [k.to_user_string() for k in keys])
    by_asset: dict[str, list[Late]] = {}
    for x in late:
        by_asset.setdefault(x.asset, []).append(x)
    out = {}
    for key in keys:
        name = key.to_user_string()
        mine = sorted(by_asset.get(name, []), key=lambda x: x.partition)
        built = instance.get_materialized_partitions(key)
        newest_built = max(built) if built else None
        if days.end is None:
            text = "nothing due: the source has no game data yet"
        elif not mine:
            kind = "final games" if dues[name].kind == "results" else "games"
            text = (
                f"every due date with {kind} of {days.window} built with its data "
                f"(the source's newest game date: {days.newest})"
            )
        else:
            by_reason: dict[str, list[str]] = {}
            for x in reversed(mine):  # newest first
                by_reason.setdefault(x.reason, []).append(x.partition)
            text = f"{len(mine)} game date(s) of {days.window} late: " + "; ".join(
                f"{', '.join(dates)} {reason}" for reason, dates in by_reason.items()
            )
        out[key] = dg.AssetCheckResult(
            asset_key=key,
            check_name=FRESH,
            passed=not mine,
            severity=dg.AssetCheckSeverity.WARN,
            description=text,
            metadata={
                "window": days.window,
                "source_newest_game_date": str(days.newest) if days.newest else "none",
                "newest_partition_built": newest_built or "none",
                "late": dg.MetadataValue.json(
                    [{"partition": x.partition, "due": x.due.isoformat(), "reason": x.reason} for x in mine]
                ),
            },
        )
    return out


def _spec(key: dg.AssetKey, due: Due) -> dg.AssetCheckSpec:
    rule = (
        f"each date with final games is built by {due.by:%H:%M} ET the next morning"
        if due.kind == "results"
        else f"each date with games is built by {due.by:%H:%M} ET on the day"
    )
    return dg.AssetCheckSpec(
        FRESH,
        asset=key,
        description=f"Built with its data for the source's newest {WINDOW_DAYS} game dates: {rule} "
        "(raw: as many rows as the source has; derived: not empty; no blocking check failed).",
    )


def build_freshness(assets: Sequence[dg.AssetsDefinition]) -> tuple[dg.AssetChecksDefinition, dg.SensorDefinition]:
    """The `fresh` check of every asset (executable from the UI) and the sensor that keeps it current."""
    keys = sorted((k for a in assets for k in a.keys), key=lambda k: k.to_user_string())
    dues = due_times(spec for a in assets for spec in a.specs)
    missing = [k.to_user_string() for k in keys if k.to_user_string() not in dues]
    if missing:  # at load: an asset without a due time would never be judged
        raise dg.DagsterInvalidDefinitionError(f"no due time (Due, declared with the table) for {', '.join(missing)}")
    blocking: dict[dg.AssetKey, list[dg.AssetCheckKey]] = {}
    for a in assets:
        for spec in a.check_specs:
            if spec.blocking:
                blocking.setdefault(spec.asset_key, []).append(spec.key)

    @dg.multi_asset_check(
        specs=[_spec(k, dues[k.to_user_string()]) for k in keys],
        name="freshness",
        can_subset=True,
        description=__doc__.split("\n\n")[0],
    )
    def freshness_checks(context, nba_source: NbaSource):  # (a string annotation of context is refused)
        now = dt.datetime.now(dt.UTC)
        days = game_days(nba_source, now.astimezone(ET).date())
        wanted = [k.asset_key for k in context.selected_asset_check_keys]
        yield from freshness_results(context.instance, now, days, dues, blocking, wanted).values()

    @dg.sensor(
        name="freshness_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=sensor_status(),
        description="Evaluates every asset's `fresh` check (its newest game dates built with their data) "
        "and records the result when it changes.",
    )
    def freshness_sensor(context: dg.SensorEvaluationContext, nba_source: NbaSource):
        now = dt.datetime.now(dt.UTC)
        summary, cursor = freshness_tick(context.instance, nba_source, dues, blocking, keys, context.cursor, now)
        context.update_cursor(cursor)
        return dg.SkipReason(summary)

    return freshness_checks, freshness_sensor


def freshness_tick(
    instance: dg.DagsterInstance,
    source: NbaSource,
    dues: Mapping[str, Due],
    blocking: Mapping[dg.AssetKey, Sequence[dg.AssetCheckKey]],
    keys: Sequence[dg.AssetKey],
    cursor: str | None,
    now: dt.datetime,
) -> tuple[str, str]:
    """One sensor tick: record each asset's `fresh` result that changed (or whose asset was
    materialized since), tied to the asset's latest materialization so the UI shows it as current."""
    seen = json.loads(cursor) if cursor else {}
    days = game_days(source, now.astimezone(ET).date())
    results = freshness_results(instance, now, days, dues, blocking, keys)
    recorded, next_seen = 0, {}
    for key, result in results.items():
        found = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=1).records
        latest = found[0] if found else None
        state = json.dumps([result.passed, result.description, latest.storage_id if latest else None])
        next_seen[key.to_user_string()] = state
        if seen.get(key.to_user_string()) == state:
            continue
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=key,
                check_name=FRESH,
                passed=result.passed,
                metadata=result.metadata,
                severity=result.severity,
                description=result.description,
                target_materialization_data=target_of(latest) if latest else None,
            )
        )
        recorded += 1
    stale = sorted(k.to_user_string() for k, r in results.items() if not r.passed)
    summary = (
        f"{len(results) - len(stale)} of {len(results)} assets fresh for {days.window}"
        + (f"; not fresh: {', '.join(stale)}" if stale else "")
        + f"; {recorded} result(s) recorded"
    )
    return summary, json.dumps(next_seen, sort_keys=True)
