"""Drift: partitions whose latest materialization came from older code or older upstream data.

Every asset has a `code_version` (its table's); each materialization records the code version
that built it. A partition is stale when
- it was built by another code version than the one deployed (incident 12: fixes "committed but
  not deployed", or deployed but never re-run), or
- an upstream partition it reads (through its partition mapping, history windows included) was
  materialized after it: it was built from data that has since changed.

From the event log only: the latest materialization per partition of every asset, compared
through the partition mappings as vectors over dates (a season of partitions in milliseconds).
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


def stale_partitions(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[StalePartition]:
    graph = defs.resolve_asset_graph()
    keys = sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string())
    latest = {k: latest_by_partition(instance, k) for k in keys}
    dates = sorted({p for parts in latest.values() for p in parts})
    if not dates:
        return []
    days = pd.date_range(dates[0], dates[-1], freq="D")
    sids = {k: pd.Series({pd.Timestamp(p): s for p, (s, _) in v.items()}, dtype="float64").reindex(days, fill_value=0.0)
            for k, v in latest.items()}
    out = []
    for key in keys:
        node = graph.get(key)
        name = key.to_user_string()
        mine = latest[key]
        for p, (_, version) in sorted(mine.items()):
            if version != node.code_version:
                out.append(StalePartition(name, p, f"built by code version {version}, deployed {node.code_version}"))
        own = sids[key]
        built = own > 0
        for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string()):
            lo, hi = _offsets(node.assets_def.get_partition_mapping(parent) if node.assets_def else None)
            # the newest upstream materialization within [p + lo, p + hi] of every date p
            window = sids[parent].rolling(hi - lo + 1, min_periods=1).max().shift(-hi, fill_value=0.0)
            newer = built & (window.to_numpy() > own.to_numpy())
            for day in np.asarray(days[newer.to_numpy()]):
                p = pd.Timestamp(day).strftime("%Y-%m-%d")
                out.append(StalePartition(name, p, f"upstream {parent.to_user_string()} materialized after it"))
    return out


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


def summarize(stale: list[StalePartition]) -> list[dict]:
    """One entry per asset and reason, its partitions as contiguous ranges."""
    groups: dict[tuple[str, str], list[str]] = {}
    for s in stale:
        groups.setdefault((s.asset, s.reason), []).append(s.partition)
    return [
        {"asset": a, "reason": r, "partitions": len(ps),
         "ranges": [f"{x}" if x == y else f"{x} .. {y}" for x, y in ranges(ps)]}
        for (a, r), ps in sorted(groups.items())
    ]
