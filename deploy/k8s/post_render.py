#!/usr/bin/env python3
"""Helm post-renderer: the chart's instance ConfigMap made the production instance of
nba_pipeline/instance/dagster.production.yaml.

The Dagster chart writes dagster.yaml itself and hard-codes dagster-postgres's storage classes,
which open a PostgreSQL connection per operation (61 s instead of 10 s for a 23-date run, measured:
benchmarks/postgres_instance.py). This swaps in the pooled classes (same tables, same config) and
adds what the chart's values do not express: the `warehouse` pool limit and the run monitor's
timeouts, taken from the production file so the two cannot drift.

    helm upgrade --install nba dagster/dagster --version 1.13.27 -f deploy/k8s/values.yaml \\
        --post-renderer deploy/k8s/post_render.py

Reads the rendered manifests on stdin, writes them on stdout; anything else passes unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

PRODUCTION = Path(__file__).resolve().parents[2] / "nba_pipeline" / "instance" / "dagster.production.yaml"
POOLED = {
    "run_storage": "PooledPostgresRunStorage",
    "event_log_storage": "PooledPostgresEventLogStorage",
    "schedule_storage": "PooledPostgresScheduleStorage",
}
# taken over from the production instance as they are there
FROM_PRODUCTION = ("concurrency", "run_retries")
MONITORING_KEYS = (
    "max_runtime_seconds",
    "cancel_timeout_seconds",
    "free_slots_after_run_end_seconds",
    "max_resume_run_attempts",
)


def production_instance(instance: dict, production: dict) -> dict:
    out = dict(instance)
    for storage, cls in POOLED.items():
        if storage not in out:
            raise ValueError(f"the chart's dagster.yaml has no {storage}: not the Dagster chart this was written for")
        config = out[storage].get("config", {})
        if "postgres_db" not in config and "postgres_url" not in config:
            raise ValueError(f"{storage} is not configured for PostgreSQL: {out[storage]}")
        out[storage] = {"module": "nba_pipeline.instance.postgres", "class": cls, "config": config}
    for key in FROM_PRODUCTION:
        out[key] = production[key]
    # the run limit is `concurrency.runs`; Dagster refuses it set in the run coordinator too
    coordinator = out.get("run_coordinator", {}).get("config") or {}
    for key in ("max_concurrent_runs", "tag_concurrency_limits"):
        coordinator.pop(key, None)
    monitoring = dict(out.get("run_monitoring") or {"enabled": True})
    for key in MONITORING_KEYS:
        monitoring[key] = production["run_monitoring"][key]
    out["run_monitoring"] = monitoring
    return out


def render(manifests: str, production: dict) -> str:
    docs = list(yaml.safe_load_all(manifests))
    found = 0
    for doc in docs:
        if (
            doc
            and doc.get("kind") == "ConfigMap"
            and doc["metadata"]["name"].endswith("-instance")
            and "dagster.yaml" in doc.get("data", {})
        ):
            doc["data"]["dagster.yaml"] = yaml.safe_dump(
                production_instance(yaml.safe_load(doc["data"]["dagster.yaml"]), production), sort_keys=False
            )
            found += 1
    if found != 1:
        raise ValueError(f"expected one Dagster instance ConfigMap in the rendered chart, found {found}")
    return yaml.safe_dump_all([d for d in docs if d is not None], sort_keys=False)


def main() -> None:
    production = yaml.safe_load(PRODUCTION.read_text())
    sys.stdout.write(render(sys.stdin.read(), production))


if __name__ == "__main__":
    main()
