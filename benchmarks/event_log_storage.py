"""Dagster's per-event cost on the embedded instance: stock SQLite event log vs EmbeddedEventLogStorage.

A chain of N daily-partitioned assets (no data, no IO) materialized over P dates in ONE run, each
asset with C per-partition checks: what a season backfill costs Dagster itself, before any work.

    python benchmarks/event_log_storage.py [--assets 5] [--dates 240] [--checks 0 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation

warnings.filterwarnings("ignore")
DAYS = dg.DailyPartitionsDefinition(start_date="2024-10-01")


class _Nothing(dg.IOManager):
    def handle_output(self, context, obj):
        pass

    def load_input(self, context):
        return None


def _asset(name: str, n_checks: int, upstream: list[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    specs = [dg.AssetCheckSpec(f"c{j}", asset=name, partitions_def=DAYS) for j in range(n_checks)]

    @dg.asset(
        name=name, partitions_def=DAYS, deps=upstream, check_specs=specs, backfill_policy=dg.BackfillPolicy.single_run()
    )
    def body(context):
        yield dg.Output(None)
        for spec in specs:
            for key in context.partition_keys:
                yield AssetCheckEvaluation(
                    asset_key=dg.AssetKey(name), check_name=spec.name, passed=True, partition=key
                )
            yield dg.Output(None, output_name=f"{name}_{spec.name}")

    return body


def _chain(n_assets: int, n_checks: int) -> list[dg.AssetsDefinition]:
    out: list[dg.AssetsDefinition] = []
    for i in range(n_assets):
        out.append(_asset(f"a{i}", n_checks, out[-1:]))
    return out


def _instance(home: Path, embedded: bool) -> dg.DagsterInstance:
    home.mkdir()
    yaml = "telemetry:\n  enabled: false\n"
    if embedded:
        yaml += (
            "event_log_storage:\n  module: nba_pipeline.instance.storage\n"
            "  class: EmbeddedEventLogStorage\n  config: {}\n"
        )
    (home / "dagster.yaml").write_text(yaml)
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=int, default=5)
    ap.add_argument("--dates", type=int, default=240)
    ap.add_argument("--checks", type=int, nargs="+", default=[0, 2])
    args = ap.parse_args()
    keys = DAYS.get_partition_keys()[: args.dates]
    print(f"{args.assets} assets x {len(keys)} dates in one run, SQLite instance, in-process")
    print(f"{'event log storage':<28}{'checks/asset':>13}{'events':>8}{'seconds':>9}{'ms/event':>9}")
    for n_checks in args.checks:
        for embedded in (False, True):
            os.environ.pop("DAGSTER_EVENT_BATCH_SIZE", None)
            with tempfile.TemporaryDirectory() as tmp, _instance(Path(tmp) / "home", embedded) as inst:
                t0 = time.perf_counter()
                result = dg.materialize(
                    _chain(args.assets, n_checks),
                    instance=inst,
                    resources={"io_manager": _Nothing()},
                    tags={
                        "dagster/asset_partition_range_start": keys[0],
                        "dagster/asset_partition_range_end": keys[-1],
                    },
                    raise_on_error=True,
                )
                seconds = time.perf_counter() - t0
                events = len(inst.all_logs(result.run_id))
            name = "EmbeddedEventLogStorage" if embedded else "SqliteEventLogStorage"
            print(f"{name:<28}{n_checks:>13}{events:>8}{seconds:>9.1f}{1000 * seconds / events:>9.2f}")


if __name__ == "__main__":
    main()
