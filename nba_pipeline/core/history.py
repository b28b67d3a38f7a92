"""Seasons and history windows: which earlier game dates a date's features may (and must) read.

Features for game date D read only partitions before D (never D's results) through a
`TimeWindowPartitionMapping(start_offset=-HISTORY_DAYS, end_offset=-1)`. Dagster silently
shortens such a window where partitions are missing or precede the partitions' start, so the
assets check it themselves (`require`): every upstream partition from the start of D's
season to D-1 must be materialized, or the step fails naming the missing dates and writes nothing.
Earlier seasons are optional history (e.g. last season's roster on opening night): what was
actually read is recorded in metadata, never required.

What a step requires is read off its asset's inputs and partition mappings (`needs_of`): the
step enforces it (`require`), and the automation condition (`SeasonHistoryMaterialized`) and the
morning schedule (`unmet_needs`) ask the same of the event log before requesting a date, so
automation never launches a step that must fail.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd

from nba_pipeline.core.partitions import FIRST_GAME_DATE
from nba_pipeline.core.seasons import (  # noqa: F401 - the season helpers, long imported from here
    SEASON_ROLLOVER_MONTH,
    SEASON_START_MONTH,
    season_label,
    season_start,
    season_start_year,
)

# long enough for a whole season (Oct 1 .. the Finals in June) plus the off-season before it, so
# opening night can still see who played for whom last season
HISTORY_DAYS = 300
MAX_LISTED = 20


def season_labels(dates: pd.Series) -> pd.Series:
    """Vectorised `season_label` of a datetime64 series."""
    year = dates.dt.year - (dates.dt.month < SEASON_ROLLOVER_MONTH).astype("int64")
    return (year.astype(str) + "-" + ((year + 1) % 100).astype(str).str.zfill(2)).astype("string")


def history_mapping(include_same_day: bool = False) -> dg.TimeWindowPartitionMapping:
    """Upstream partitions D-HISTORY_DAYS .. D-1 of game date D (.. D with include_same_day, for
    inputs whose same-day rows the reader strips of results itself)."""
    return dg.TimeWindowPartitionMapping(start_offset=-HISTORY_DAYS, end_offset=0 if include_same_day else -1)


def required_history(dates: Iterable[dt.date]) -> dict[str, list[str]]:
    """For each game date: the earlier partitions of its season that must be materialized."""
    first = dt.date.fromisoformat(FIRST_GAME_DATE)
    out: dict[str, list[str]] = {}
    for day in dates:
        start = max(season_start(day), first)
        out[day.isoformat()] = [(start + dt.timedelta(days=i)).isoformat() for i in range((day - start).days)]
    return out


def run_dates(context: dg.AssetExecutionContext) -> list[dt.date]:
    return [dt.date.fromisoformat(k) for k in context.partition_keys]


def require_partitions(
    context: dg.AssetExecutionContext,
    upstream: dg.AssetKey,
    needed: dict[str, Sequence[str]],
    what: str,
) -> None:
    """Fail the step (nothing is written) if an upstream partition some run date needs was never
    materialized. `needed` maps each run date to the upstream partitions it reads."""
    materialized = context.instance.get_materialized_partitions(upstream)
    gaps = {d: [k for k in keys if k not in materialized] for d, keys in needed.items()}
    gaps = {d: ks for d, ks in gaps.items() if ks}
    if not gaps:
        return
    missing = sorted({k for ks in gaps.values() for k in ks})
    dates = sorted(gaps)
    raise dg.Failure(
        description=(
            f"{context.asset_key.to_user_string()}: {what} needs {len(missing)} partition(s) of "
            f"{upstream.to_user_string()} that were never materialized: "
            f"{_listing(missing)}; affected game dates: {_listing(dates)}. Nothing was written. "
            f"Materialize {upstream.to_user_string()} for those dates first (a season's history "
            f"starts on {SEASON_START_MONTH:02d}-01)."
        ),
        metadata={
            "upstream": upstream.to_user_string(),
            "missing_upstream_partitions": dg.MetadataValue.json(missing[:200]),
            "affected_game_dates": dg.MetadataValue.json(dates[:200]),
        },
    )


@dataclass(frozen=True)
class Needs:
    """Upstream partitions a step refuses to run without, for each of its game dates."""

    upstream: dg.AssetKey
    what: str  # what they are to the step, as its failure says
    partitions: Callable[[dt.date], list[str]]  # game date -> the upstream partition keys it needs


# What an asset's step requires is derived from its inputs, read off the assets definition (by the
# step's guard, the automation condition and the morning schedule alike): an input read through
# the identity mapping needs D itself, one read through a history window (`history_mapping`)
# every partition of D's season up to the window's end (D-1, or D). An input's
# `nba_pipeline/required` metadata overrides that: False (nothing required of it), or a rule of
# its own (`Requirement`, stored by its import path: input metadata must be serializable).
REQUIRED = "nba_pipeline/required"


@dataclass(frozen=True)
class Requirement:
    """A rule of its own for what an input's step requires (e.g. the points model's training
    window: the training cutoff's season to date). `partitions` is a module-level function, game
    date -> upstream partition keys, found again by its import path."""

    what: str
    partitions: Callable[[dt.date], list[str]]

    def metadata(self) -> dict:
        path = f"{self.partitions.__module__}:{self.partitions.__qualname__}"
        if _resolve(path) is not self.partitions:
            raise ValueError(
                f"Requirement {self.what!r}: {path} is not a module-level function (it is found by that path)"
            )
        return {"what": self.what, "partitions": path}


def required_metadata(required: bool | Requirement) -> dict:
    """The input metadata (`dg.AssetIn(metadata=...)`) saying what its step requires of it."""
    if required is True:
        return {}
    return {REQUIRED: False if required is False else required.metadata()}


@functools.cache
def _resolve(path: str) -> Callable[[dt.date], list[str]]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name, None)


def season_window(upstream: dg.AssetKey, mapping: dg.TimeWindowPartitionMapping) -> Needs:
    """Every partition of upstream from D's season start (not before the first partition) to the
    window's end (D-1, or D itself): the window's earlier seasons are optional history."""
    end = mapping.end_offset
    what = "season-to-date history" if end < 0 else "season-to-date history and same-date input"

    def partitions(day: dt.date) -> list[str]:
        return [*required_history([day])[day.isoformat()], *([day.isoformat()] if end == 0 else [])]

    return Needs(upstream, what, partitions)


def derived_need(upstream: dg.AssetKey, mapping: dg.PartitionMapping | None) -> Needs:
    """What an input read through `mapping` requires of `upstream` (its default, without a
    `Requirement` of its own); a mapping without a rule raises."""
    if mapping is None or isinstance(mapping, dg.IdentityPartitionMapping):
        return Needs(upstream, "its same-date input", lambda day: [day.isoformat()])
    if (
        isinstance(mapping, dg.TimeWindowPartitionMapping)
        and mapping.start_offset < 0
        and mapping.end_offset in (-1, 0)
    ):
        return season_window(upstream, mapping)
    raise ValueError(
        f"no rule says which partitions of {upstream.to_user_string()} an input read through {mapping!r} requires: "
        f"give it required=Requirement(...) or required=False"
    )


def needs_of(assets_def: dg.AssetsDefinition) -> list[Needs]:
    """What the step of `assets_def` requires: one `Needs` per required input (in the order of
    its inputs, which Dagster sorts by name: a failure names the first unmet)."""
    out = []
    upstream_of = assets_def.keys_by_input_name
    for input_def in assets_def.node_def.input_defs:
        upstream = upstream_of[input_def.name]
        declared = input_def.metadata.get(REQUIRED, True)
        if declared is False:
            continue
        if isinstance(declared, Mapping):
            rule = _resolve(declared["partitions"])
            if rule is None:
                raise ValueError(
                    f"input {input_def.name!r}: no function {declared['partitions']} says what it requires"
                )
            out.append(Needs(upstream, declared["what"], rule))
        else:
            out.append(derived_need(upstream, assets_def.get_partition_mapping(upstream)))
    return out


def unmet_needs(
    instance: dg.DagsterInstance, graph, assets: Iterable[dg.AssetKey], day: dt.date
) -> dict[dg.AssetKey, list[str]]:
    """What one run of `assets` for `day` would miss: per upstream asset, the partitions their
    steps require that are neither materialized nor built by the run itself (`day` of `assets`).
    `graph`: the code location's asset graph (`repository_def.asset_graph`), whose definitions
    say what each step requires."""
    in_run = set(assets)
    wanted: dict[dg.AssetKey, set[str]] = {}
    for assets_def in {graph.assets_def_for_key(a) for a in in_run}:
        for need in needs_of(assets_def):
            keys = set(need.partitions(day)) - ({day.isoformat()} if need.upstream in in_run else set())
            wanted.setdefault(need.upstream, set()).update(keys)
    unmet = {}
    for upstream, keys in wanted.items():
        missing = sorted(keys - set(instance.get_materialized_partitions(upstream))) if keys else []
        if missing:
            unmet[upstream] = missing
    return unmet


def require(context: dg.AssetExecutionContext) -> None:
    """Fail the step (nothing is written) on the first input whose required partitions some run
    date finds unmet."""
    for need in needs_of(context.assets_def):
        wanted = {key: need.partitions(dt.date.fromisoformat(key)) for key in context.partition_keys}
        require_partitions(context, need.upstream, wanted, need.what)


def _listing(keys: Sequence[str]) -> str:
    shown = ", ".join(keys[:MAX_LISTED])
    return shown + (f" ... (+{len(keys) - MAX_LISTED})" if len(keys) > MAX_LISTED else "")


def record_history_window(
    context: dg.AssetExecutionContext,
    upstream: dg.AssetKey,
    history: pd.DataFrame,
    mapping: dg.TimeWindowPartitionMapping | None = None,
) -> None:
    """Per partition: the window of dates actually read through `mapping` (default
    `history_mapping()`), and how much of it had rows."""
    mapping = mapping or history_mapping()
    first = dt.date.fromisoformat(FIRST_GAME_DATE)
    with_rows = np.sort(history["game_date"].unique()) if len(history) else np.array([], "datetime64[ns]")
    for day in run_dates(context):
        start = max(season_start(day), first)
        window_start = day + dt.timedelta(days=mapping.start_offset)
        last = day + dt.timedelta(days=mapping.end_offset)
        bounds = np.array([window_start, start, last + dt.timedelta(days=1)], "datetime64[ns]")
        lo, mid, hi = np.searchsorted(with_rows, bounds)
        context.add_asset_metadata(
            {
                f"history/{upstream.path[-1]}": (
                    f"season {season_label(day)}: {start} .. {last} required "
                    f"and complete, {hi - mid} date(s) with rows; before the season: {mid - lo} "
                    f"date(s) with rows since {window_start} (optional)"
                ),
            },
            partition_key=day.isoformat(),
        )
