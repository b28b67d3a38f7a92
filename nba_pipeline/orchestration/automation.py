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
  the assets themselves (`history.require`: a step fails naming the missing dates, and writes
  nothing).

and one part added, `SeasonHistoryMaterialized`: a date is requested only when every upstream
partition its step requires (what `history.needs_of` reads off the asset's inputs and partition
mappings, as the step's own guard does: its season's history from Oct 1 and the same-date inputs)
is materialized or requested in the same tick. Without it, a date whose season
has no history (an ended history under today's clock, a fresh deployment, the first tick of a new
season) was requested and its run failed. It is a Python condition, so the automation sensor runs
in the code location (`use_user_code_server`), not in the daemon.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

import nba_pipeline.environment as environment
from nba_pipeline.core.history import needs_of
from nba_pipeline.raw import tables as raw

RAW_GROUP = raw.DATASET  # a layer's group is its dataset


# Sensors and schedules start running once deployed, unless NBA_AUTOMATION=off (a replay or a test
# that drives the pipeline by hand; each can still be switched on in the UI).
def sensor_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if environment.automation_on() else dg.DefaultSensorStatus.STOPPED


def schedule_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if environment.automation_on() else dg.DefaultScheduleStatus.STOPPED


# today and yesterday
AUTOMATION_DAYS = 2


class SeasonHistoryMaterialized(dg.AutomationCondition):
    """True for the candidate game dates whose step would find every upstream partition it
    requires (`history.needs_of` its assets definition): materialized, or requested in this same
    tick (eager requests a whole day's chain at once)."""

    @property
    def name(self) -> str:
        return "season_history_materialized"

    @property
    def description(self) -> str:
        return "Every upstream partition the step requires (its season's history and its same-date inputs) exists"

    @property
    def requires_cursor(self) -> bool:
        return False

    def get_label(self) -> str:
        # shown on the automation sensor's tick evaluation in the UI
        return "season history materialized"

    async def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        candidates = context.candidate_subset
        if candidates.is_empty:
            return dg.AutomationResult(context, context.get_empty_subset())
        # evaluated in the code location (`use_user_code_server`): the graph holds the definitions
        needs = needs_of(context.asset_graph.assets_def_for_key(context.key))
        days = {k: dt.date.fromisoformat(k) for k in candidates.expensively_compute_partition_keys()}
        ok = set(days)
        for upstream in dict.fromkeys(n.upstream for n in needs):
            # AutomationContext offers no public read of a dependency's partitions; this is the one
            # `missing()` uses (the partition status cache, computed once per tick and shared)
            have = await context.asset_graph_view.compute_materialized_asset_subset(upstream)
            requested = context.request_subsets_by_key.get(upstream)
            if requested is not None:
                have = have.compute_union(requested)
            have_keys = have.expensively_compute_partition_keys()
            for need in (n for n in needs if n.upstream == upstream):
                ok = {k for k in ok if set(need.partitions(days[k])) <= have_keys}
        return dg.AutomationResult(context, candidates.compute_intersection_with_partition_keys(ok))


def upstream_landed() -> dg.AutomationCondition:
    recent = dg.AutomationCondition.in_latest_time_window(dt.timedelta(days=AUTOMATION_DAYS))
    recent_dep_missing = dg.AutomationCondition.any_deps_match(
        dg.AutomationCondition.missing() & ~dg.AutomationCondition.will_be_requested() & recent
    ).with_label("any_recent_deps_missing")
    # last, so it looks only at the dates every other part already allows
    return (
        dg.AutomationCondition.eager()
        .replace(dg.AutomationCondition.in_latest_time_window(), recent)
        .replace(~dg.AutomationCondition.any_deps_missing(), ~recent_dep_missing)
        & SeasonHistoryMaterialized()
    ).with_label("upstream_landed")


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
    "and exports materialize when their upstream partitions land, and their season's history exists.",
    # SeasonHistoryMaterialized is Python of ours: evaluated in the code location, not the daemon
    use_user_code_server=True,
)
