"""Everything above the raw layer materializes by itself when its upstream partitions land.

No orchestrator code of ours: each asset carries an `AutomationCondition` and Dagster's own
automation sensor (in the daemon) evaluates them. The raw layer is requested by the raw-data
sensor and the morning schedule (`sensors.py`), with explicit partition keys.

The condition is `AutomationCondition.eager()` with two parts changed:
- it looks at the last AUTOMATION_DAYS partitions (today and yesterday: last night's finals are
  graded the morning after), not only the latest; older dates are backfills, launched on purpose;
- "no dependency partition missing" only counts dependency partitions of those same recent
  dates. A history window (D-300 .. D-1, the model's training window, the season-to-date of
  the performance summary) spans off-season dates that never get a partition, so `eager`'s own
  rule would hold those assets back for ever; the recent part of the window (yesterday's results
  for today's features) and every same-date input must still exist. The older part is guarded by
  the assets themselves (`history.require_history`: a step fails naming the missing dates, and
  writes nothing).
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

RAW_GROUP = "nba_raw"


def automation_on() -> bool:
    """Sensors and schedules start running once deployed, unless NBA_AUTOMATION=off (a replay or
    a test that drives the pipeline by hand; each can still be switched on in the UI)."""
    return os.environ.get("NBA_AUTOMATION", "on").lower() not in ("off", "0", "false")


def sensor_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if automation_on() else dg.DefaultSensorStatus.STOPPED


def schedule_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if automation_on() else dg.DefaultScheduleStatus.STOPPED
# today and yesterday
AUTOMATION_DAYS = 2


def upstream_landed() -> dg.AutomationCondition:
    recent = dg.AutomationCondition.in_latest_time_window(dt.timedelta(days=AUTOMATION_DAYS))
    recent_dep_missing = dg.AutomationCondition.any_deps_match(
        dg.AutomationCondition.missing() & ~dg.AutomationCondition.will_be_requested() & recent
    ).with_label("any_recent_deps_missing")
    return (
        dg.AutomationCondition.eager()
        .replace(dg.AutomationCondition.in_latest_time_window(), recent)
        .replace(~dg.AutomationCondition.any_deps_missing(), ~recent_dep_missing)
        .with_label("upstream_landed")
    )


def with_automation(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.group_name == RAW_GROUP:
        return spec
    return spec.replace_attributes(automation_condition=upstream_landed())


automation_sensor = dg.AutomationConditionSensorDefinition(
    "pipeline_automation",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=30,
    default_status=sensor_status(),
    description="Evaluates every asset's AutomationCondition: analytics, precompute, predictions "
    "and exports materialize when their upstream partitions land.",
)
