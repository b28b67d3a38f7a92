"""Drift: partitions whose latest materialization came from older code or older upstream data.

Every asset has a `code_version` (its table's); each materialization records the code version
that built it. A partition is stale when
- it was built by another code version than the one deployed (incident 12: fixes "committed but
  not deployed", or deployed but never re-run), or
- an upstream partition it reads (through its partition mapping, history windows included) was
  materialized after it: it was built from data that has since changed.

From the event log only: the latest materialization per partition of every asset, compared
through the partition mappings as vectors over dates (a season of partitions in milliseconds).

Rebuilding a stale partition makes every materialized partition that reads it (through the same
mappings, history windows included) stale in turn, so `rebuild_plan` follows them to the end of
the graph: that is what `nba-pipeline stale --backfill` rebuilds, in runs that each cover exactly
a set of assets over one date range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class StalePartition:
    asset: str
    partition: str
    reason: str


def latest_by_partition(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, tuple[int, str | None]]:
    """{partition: (storage id, code version)} of each partition's latest materialization."""
    out: dict[str, tuple[int, str | None]] = {}
    cursor = None
    while True:
        result = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=1000, cursor=cursor)
        for r in result.records:  # newest first
            p = r.partition_key
            if p is not None and p not in out:
                tags = r.event_log_entry.asset_materialization.tags or {}
                out[p] = (r.storage_id, tags.get("dagster/code_version"))
        if not result.has_more:
            return out
        cursor = result.cursor


def _offsets(mapping) -> tuple[int, int]:
    if mapping is None or isinstance(mapping, dg.IdentityPartitionMapping):
        return 0, 0
    if isinstance(mapping, dg.TimeWindowPartitionMapping):
        return mapping.start_offset, mapping.end_offset
    raise TypeError(f"no staleness rule for partition mapping {type(mapping).__name__}")


def _window_max(series: pd.Series, mapping) -> pd.Series:
    """For every date p, the maximum of `series` over the upstream dates p reads through
    `mapping` ([p + start_offset, p + end_offset])."""
    lo, hi = _offsets(mapping)
    return series.rolling(hi - lo + 1, min_periods=1).max().shift(-hi, fill_value=0.0)


class _Materialized:
    """The latest materialization of every partition of every asset, as vectors over one date axis."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance):
        self.graph = defs.resolve_asset_graph()
        self.keys = sorted(self.graph.materializable_asset_keys, key=lambda k: k.to_user_string())
        self.latest = {k: self._in_definition(k, latest_by_partition(instance, k)) for k in self.keys}
        dates = sorted({p for parts in self.latest.values() for p in parts})
        self.days = pd.date_range(dates[0], dates[-1], freq="D") if dates else pd.DatetimeIndex([])
        self.sids = {
            k: pd.Series({pd.Timestamp(p): s for p, (s, _) in v.items()}, dtype="float64").reindex(
                self.days, fill_value=0.0
            )
            for k, v in self.latest.items()
        }

    def _in_definition(self, key: dg.AssetKey, latest: dict) -> dict:
        """Only the asset's current partitions: one materialized before the partitions' start (an
        instance built with an earlier first season) is no longer the asset's, so it is never
        stale, and never rebuilt (a run could not target it)."""
        partitions_def = self.graph.get(key).partitions_def
        if partitions_def is None:
            return latest
        keys = set(partitions_def.get_partition_keys())
        return {p: v for p, v in latest.items() if p in keys}

    def parents(self, key: dg.AssetKey):
        """(parent, partition mapping) of every upstream asset of `key`."""
        node = self.graph.get(key)
        for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string()):
            yield parent, node.assets_def.get_partition_mapping(parent) if node.assets_def else None

    def dates(self, mask: pd.Series) -> list[str]:
        return [pd.Timestamp(d).strftime("%Y-%m-%d") for d in np.asarray(self.days[mask.to_numpy()])]


def stale_partitions(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[StalePartition]:
    return _stale(_Materialized(defs, instance))


def _stale(m: _Materialized) -> list[StalePartition]:
    out = []
    for key in m.keys:
        node = m.graph.get(key)
        name = key.to_user_string()
        for p, (_, version) in sorted(m.latest[key].items()):
            if version != node.code_version:
                out.append(StalePartition(name, p, f"built by code version {version}, deployed {node.code_version}"))
        own = m.sids[key]
        built = own > 0
        for parent, mapping in m.parents(key):
            # the newest upstream materialization among the dates each partition reads
            newer = built & (_window_max(m.sids[parent], mapping) > own)
            for p in m.dates(newer):
                out.append(StalePartition(name, p, f"upstream {parent.to_user_string()} materialized after it"))
    return out


_READS = "reads rebuilt "


@dataclass(frozen=True)
class Rebuild:
    """A partition `stale --backfill` rebuilds: stale itself, or reading a rebuilt one."""

    asset: str
    partition: str
    stale: bool
    reason: str  # why it is stale, or which rebuilt upstream assets it reads


@dataclass(frozen=True)
class RebuildRun:
    """One run of the rebuild: these assets over start .. end (every partition of it in the plan)."""

    start: dt.date
    end: dt.date
    assets: tuple[str, ...]


@dataclass
class RebuildPlan:
    stale: list[StalePartition]
    partitions: list[Rebuild]
    runs: list[RebuildRun]


def rebuild_plan(defs: dg.Definitions, instance: dg.DagsterInstance) -> RebuildPlan:
    """The stale partitions and every materialized partition downstream of them through the
    partition mappings (rebuilding a partition makes its readers stale), and the runs that
    rebuild exactly those: each run one date range of a set of assets sharing the same ranges,
    after the runs of everything upstream of them. Partitions never materialized are left out:
    they are missing, not stale (`nba-pipeline backfill` builds them)."""
    m = _Materialized(defs, instance)
    stale = _stale(m)
    reasons: dict[tuple[str, str], list[str]] = {}
    for s in stale:
        reasons.setdefault((s.asset, s.partition), []).append(s.reason)
    rebuilt: dict[dg.AssetKey, pd.Series] = {}
    partitions: list[Rebuild] = []
    for key in m.graph.toposorted_asset_keys:
        if key not in m.sids:
            continue
        name = key.to_user_string()
        own_stale = pd.Series(False, index=m.days)
        own_stale[[pd.Timestamp(p) for (a, p) in reasons if a == name]] = True
        because: dict[str, pd.Series] = {}
        for parent, mapping in m.parents(key):
            if parent in rebuilt and rebuilt[parent].any():
                reads = (m.sids[key] > 0) & (_window_max(rebuilt[parent].astype("float64"), mapping) > 0)
                if reads.any():
                    because[parent.to_user_string()] = reads
        downstream = pd.Series(False, index=m.days)
        for reads in because.values():
            downstream |= reads
        rebuilt[key] = own_stale | downstream
        for p in m.dates(own_stale):
            partitions.append(Rebuild(name, p, True, "; ".join(reasons[(name, p)])))
        for p in m.dates(downstream & ~own_stale):
            day = pd.Timestamp(p)
            parents = [u for u, reads in because.items() if reads[day]]
            partitions.append(Rebuild(name, p, False, _READS + ", ".join(parents)))
    return RebuildPlan(stale, partitions, _rebuild_runs(m.graph, partitions))


def _rebuild_runs(graph, partitions: list[Rebuild]) -> list[RebuildRun]:
    """Assets in topological order, each joining the earliest run group with its exact date ranges
    that does not come before any of its upstream assets' groups."""
    dates: dict[str, list[str]] = {}
    for r in partitions:
        dates.setdefault(r.asset, []).append(r.partition)
    groups: list[tuple[tuple, list[str]]] = []  # (ranges, assets)
    group_of: dict[str, int] = {}
    for key in graph.toposorted_asset_keys:
        name = key.to_user_string()
        if name not in dates:
            continue
        spans = tuple(ranges(dates[name]))
        after = max(
            (group_of[p.to_user_string()] for p in graph.get(key).parent_keys if p.to_user_string() in group_of),
            default=0,
        )
        index = next((i for i in range(after, len(groups)) if groups[i][0] == spans), None)
        if index is None:
            groups.append((spans, []))
            index = len(groups) - 1
        groups[index][1].append(name)
        group_of[name] = index
    return [RebuildRun(start, end, tuple(assets)) for spans, assets in groups for start, end in spans]


def ranges(partitions: Iterable[str]) -> list[tuple[dt.date, dt.date]]:
    """Contiguous (first, last) date ranges covering the partitions."""
    days = sorted({dt.date.fromisoformat(p) for p in partitions})
    out: list[tuple[dt.date, dt.date]] = []
    for d in days:
        if out and d == out[-1][1] + dt.timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def _range_texts(partitions: Iterable[str]) -> list[str]:
    return [f"{x}" if x == y else f"{x} .. {y}" for x, y in ranges(partitions)]


def summarize(stale: list[StalePartition]) -> list[dict]:
    """One entry per asset and reason, its partitions as contiguous ranges."""
    groups: dict[tuple[str, str], list[str]] = {}
    for s in stale:
        groups.setdefault((s.asset, s.reason), []).append(s.partition)
    return [
        {"asset": a, "reason": r, "partitions": len(ps), "ranges": _range_texts(ps)}
        for (a, r), ps in sorted(groups.items())
    ]


def summarize_plan(plan: RebuildPlan) -> list[dict]:
    """Per asset (in the graph's order): its partitions to rebuild, and per reason which are stale
    and which are rebuilt because something they read is rebuilt."""
    assets: dict[str, list[Rebuild]] = {}
    for r in plan.partitions:
        assets.setdefault(r.asset, []).append(r)
    out = []
    for asset, rebuilds in assets.items():
        stale: dict[str, list[str]] = {}
        for r in rebuilds:
            if r.stale:
                stale.setdefault(r.reason, []).append(r.partition)
        groups = [
            {"why": "stale", "reason": reason, "partitions": len(ps), "ranges": _range_texts(ps)}
            for reason, ps in sorted(stale.items())
        ]
        downstream = [r for r in rebuilds if not r.stale]
        if downstream:
            # one line per asset: every rebuilt upstream asset its partitions read
            read = sorted({u for r in downstream for u in r.reason.removeprefix(_READS).split(", ")})
            groups.append(
                {
                    "why": "upstream rebuilt",
                    "reason": _READS + ", ".join(read),
                    "partitions": len(downstream),
                    "ranges": _range_texts(r.partition for r in downstream),
                }
            )
        out.append(
            {
                "asset": asset,
                "partitions": len(rebuilds),
                "ranges": _range_texts(r.partition for r in rebuilds),
                "groups": groups,
            }
        )
    return out
