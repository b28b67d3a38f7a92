"""The BigQuery warehouse against a local BigQuery (bqemulator on 127.0.0.1, see
bigquery_emulator.py) with the real google-cloud-bigquery client, through real Dagster runs of the
whole pipeline on real data: the same tables as the embedded DuckDB warehouse, tables created
from the declared schemas (partitioned by day on game_date, clustered), a bounded number of jobs
per run, and a failed write that leaves the old partition as it was."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from nba_pipeline.cli.runner import run_backfill
from nba_pipeline.core.schema import registered_tables, table_for
from nba_pipeline.definitions import build_definitions
from nba_pipeline.exports.directory import ExportsDirectory
from nba_pipeline.raw.sources.files import FilesSource
from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager
from nba_pipeline_tests.conftest import REAL_DATA, needs_real_data

bqemulator = pytest.importorskip("bqemulator", reason="the BigQuery emulator is a test extra: pip install -e '.[test]'")

from google.cloud import bigquery  # noqa: E402 - after the skip: the extra brings the emulator

from nba_pipeline.warehouse.bigquery import NbaBigQueryIOManager, bigquery_client  # noqa: E402
from nba_pipeline_tests.bigquery_emulator import Emulator  # noqa: E402

pytestmark = needs_real_data
PROJECT = "nba-test"
# all 22 assets over the 2024-25 season's first weeks in one run (its history starts Oct 1; the
# model's first week is Dec 2), then the next date alone; the data's props are 2025-26's, so the
# raw tables of two 2025-26 dates too
RANGE = (dt.date(2024, 10, 1), dt.date(2024, 12, 5))
NEXT = dt.date(2024, 12, 6)
RAW_RANGE = (dt.date(2025, 11, 4), dt.date(2025, 11, 5))
# ... and their prop quotes (same-date reads only); the tables priced from them need a season of
# 2025-26 history to train on, more than this test should build: they are compared empty, their
# column types being those every other table already writes
RAW_SELECTION = "key:nba_raw/* or key:nba_analytics/player_prop_quotes"
PRICED_FROM_PROPS = ["player_prop_predictions", "prediction_accuracy", "prop_prices"]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("bigquery"), PROJECT).start()
    old = os.environ.get("BIGQUERY_EMULATOR_HOST")
    os.environ["BIGQUERY_EMULATOR_HOST"] = emu.url
    try:
        yield emu
    finally:
        emu.stop()
        if old is None:
            os.environ.pop("BIGQUERY_EMULATOR_HOST", None)
        else:
            os.environ["BIGQUERY_EMULATOR_HOST"] = old


@pytest.fixture(scope="module")
def client(emulator):
    c = bigquery_client(PROJECT, "US")
    yield c
    c.close()


def _pipeline_tables():
    return [t for t in registered_tables() if t.dataset != "nba_test"]  # (other tests register nba_test tables)


def _jobs(client) -> list:
    return list(client.list_jobs(all_users=True))


def _new_jobs(client, before: set[str]) -> list:
    return [j for j in _jobs(client) if j.job_id not in before]


def _defs(io_manager, tmp_path: Path) -> dg.Definitions:
    return build_definitions(
        FilesSource(raw_dir=str(REAL_DATA)), io_manager, ExportsDirectory(directory=str(tmp_path / "exports"))
    )


def _read(client, table) -> pd.DataFrame:
    df = client.query(f"SELECT * FROM `{PROJECT}.{table.dataset}.{table.name}`").to_dataframe(
        create_bqstorage_client=False
    )
    return table.conform(df)


def _canonical(table, df: pd.DataFrame) -> pd.DataFrame:
    return table.conform(df).sort_values(list(table.grain)).reset_index(drop=True)


SAMPLED = dg.AssetKey(["nba_analytics", "player_game_summary"])


def _partition_metadata(instance) -> dict[str, dict]:
    """The latest materialization's metadata of each partition of one table, by partition."""
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=SAMPLED), limit=1000).records
    out: dict[str, dict] = {}
    for r in records:  # newest first
        m = r.asset_materialization
        out.setdefault(m.partition, {k: getattr(v, "value", v) for k, v in m.metadata.items()})
    return out


@pytest.fixture(scope="module")
def runs(emulator, client, tmp_path_factory):
    """The range in one run, then the next date alone, on BigQuery and on DuckDB."""
    tmp = tmp_path_factory.mktemp("bq_runs")
    out = {}
    with dg.DagsterInstance.ephemeral() as instance:
        bq = _defs(NbaBigQueryIOManager(project=PROJECT, location="US"), tmp / "bq")
        before = {j.job_id for j in _jobs(client)}
        out["range"] = run_backfill(bq, instance, *RANGE, progress=None)
        out["range_jobs"] = _new_jobs(client, before)
        before |= {j.job_id for j in out["range_jobs"]}
        out["next"] = run_backfill(bq, instance, NEXT, NEXT, progress=None)
        out["next_jobs"] = _new_jobs(client, before)
        out["raw"] = run_backfill(bq, instance, *RAW_RANGE, select=RAW_SELECTION, progress=None)
        out["meta"] = _partition_metadata(instance)
    with dg.DagsterInstance.ephemeral() as instance:
        duck = _defs(NbaDuckDBIOManager(database=str(tmp / "duck.duckdb")), tmp / "duck")
        out["duck_range"] = run_backfill(duck, instance, *RANGE, progress=None)
        out["duck_next"] = run_backfill(duck, instance, NEXT, NEXT, progress=None)
        out["duck_raw"] = run_backfill(duck, instance, *RAW_RANGE, select=RAW_SELECTION, progress=None)
        out["duck_meta"] = _partition_metadata(instance)
    print("\n" + ", ".join(f"{k}: {v.seconds:.1f} s" for k, v in out.items() if hasattr(v, "seconds")))
    out["duck"] = tmp / "duck.duckdb"
    return out


def test_the_pipeline_on_bigquery_builds_the_same_tables_as_on_duckdb(runs, client):
    import duckdb

    for name in ("range", "next", "raw"):
        assert runs[name].success, runs[name].step_failures
        assert runs[name].materializations == runs[f"duck_{name}"].materializations > 0
        assert sorted(runs[name].checks_failed) == sorted(runs[f"duck_{name}"].checks_failed)
    empty = []
    with duckdb.connect(str(runs["duck"]), read_only=True) as con:
        for table in _pipeline_tables():
            want = _canonical(table, con.execute(f"SELECT * FROM {table.dataset}.{table.name}").df())
            got = _canonical(table, _read(client, table))
            pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, obj=f"{table.dataset}.{table.name}")
            if len(got) == 0:
                empty.append(table.name)
    assert sorted(empty) == PRICED_FROM_PROPS, empty


def test_both_warehouses_record_the_same_metadata_per_partition(runs):
    """Issue 16: each partition's materialization carries its own query and numbers, never the
    run's (a 66-date run had put its whole-range query and rows_written on each date)."""
    bq, duck = runs["meta"], runs["duck_meta"]
    assert sorted(bq) == sorted(duck) and len(bq) == (NEXT - RANGE[0]).days + 1
    for day in bq:
        assert (
            sorted(bq[day])
            == sorted(duck[day])
            == ["Query", "dagster/partition_row_count", "dagster/storage_kind", "dagster/table_name"]
        )
        assert bq[day]["dagster/partition_row_count"] == duck[day]["dagster/partition_row_count"]
        nxt = dt.date.fromisoformat(day) + dt.timedelta(days=1)
        assert bq[day]["Query"] == (
            f"SELECT * FROM `{PROJECT}.{SAMPLED.path[0]}.{SAMPLED.path[1]}` "
            f"WHERE game_date >= DATE '{day}' AND game_date < DATE '{nxt}'"
        )
        assert f"game_date >= '{day} 00:00:00' AND game_date < '{nxt} 00:00:00'" in duck[day]["Query"]
        assert (bq[day]["dagster/storage_kind"], duck[day]["dagster/storage_kind"]) == ("bigquery", "duckdb")
    assert sum(m["dagster/partition_row_count"] for m in bq.values()) > 1000


def test_tables_are_created_from_the_declared_schemas(runs, client):
    for table in _pipeline_tables():
        bq = client.get_table(f"{PROJECT}.{table.dataset}.{table.name}")
        assert [(f.name, f.field_type) for f in bq.schema] == [(f.name, f.field_type) for f in table.bigquery_schema()]
        if table.partition_column:
            assert (bq.time_partitioning.type_, bq.time_partitioning.field) == ("DAY", table.partition_column)
        assert list(bq.clustering_fields or []) == list(table.cluster_by)
        assert bq.description == table.description


def test_a_run_issues_a_bounded_number_of_jobs(runs):
    """A single-run backfill of 66 dates: per table one load and one MERGE (however many dates),
    plus one query per upstream read. The next date alone: one load per table, into its day's
    partition. (22 assets; one, the best-bets file, is not in the warehouse.)"""
    days = (RANGE[1] - RANGE[0]).days + 1
    assets = runs["range"].materializations // days
    kinds = pd.Series([j.job_type for j in runs["range_jobs"]]).value_counts().to_dict()
    merges = [j for j in runs["range_jobs"] if j.job_type == "query" and j.query.startswith("MERGE")]
    reads = [j for j in runs["range_jobs"] if j.job_type == "query" and j.query.startswith("SELECT")]
    tables = {f"{t.dataset}.{t.name}" for t in _pipeline_tables()}
    loaded = sorted(
        f"{j.destination.dataset_id}.{j.destination.table_id.split('__staging_')[0]}"
        for j in runs["range_jobs"]
        if j.job_type == "load"
    )
    merged = sorted(m.query.split("`")[1].removeprefix(f"{PROJECT}.") for m in merges)
    assert assets == 23 and len(tables) == 21 and loaded == merged == sorted(tables)
    assert len(reads) + len(merges) == kinds["query"] and len(reads) < 3 * len(tables)
    print(
        f"\n{days}-date run: {len(runs['range_jobs'])} jobs "
        f"({kinds['load']} loads, {len(merges)} merges, {len(reads)} reads)"
    )

    loads = [j for j in runs["next_jobs"] if j.job_type == "load"]
    assert len(loads) == len(tables) and not any(
        j.query.startswith("MERGE") for j in runs["next_jobs"] if j.job_type == "query"
    )
    assert {j.destination.table_id.split("$")[1] for j in loads} == {f"{NEXT:%Y%m%d}"}
    print(f"1-date run: {len(runs['next_jobs'])} jobs ({len(loads)} loads into table${NEXT:%Y%m%d})")


def test_a_failed_write_leaves_the_partition_as_it_was(runs, client, tmp_path, monkeypatch):
    from nba_pipeline.warehouse import bigquery as bq_module

    table = table_for(["nba_analytics", "player_game_summary"])
    before = _canonical(table, _read(client, table))
    # the second job of a range write (the MERGE) fails after its staging load succeeded
    monkeypatch.setattr(bq_module, "bigquery_merge_statement", lambda *a: "MERGE broken SQL")
    with dg.DagsterInstance.ephemeral() as instance:
        defs = _defs(NbaBigQueryIOManager(project=PROJECT, location="US"), tmp_path)
        result = run_backfill(
            defs,
            instance,
            RANGE[1] - dt.timedelta(days=2),
            RANGE[1],
            select="key:nba_analytics/player_game_summary",
            progress=None,
        )
        assert not result.success and result.materializations == 0
        assert not instance.get_materialized_partitions(dg.AssetKey(["nba_analytics", "player_game_summary"]))
    pd.testing.assert_frame_equal(_canonical(table, _read(client, table)), before)
    leftovers = [t.table_id for t in client.list_tables(f"{PROJECT}.nba_analytics") if "__staging_" in t.table_id]
    assert leftovers == []


def test_a_load_into_a_day_rejects_rows_of_other_days(runs, client):
    """What makes the one-day write safe: a load into table$YYYYMMDD replaces that day or fails
    whole (BigQuery's rule; the emulator is made to keep it, see bigquery_emulator.py)."""
    table = table_for(["nba_analytics", "player_game_summary"])
    before = _canonical(table, _read(client, table))
    day = before[before.game_date == pd.Timestamp(NEXT)]
    stray = pd.concat([day, before[before.game_date == pd.Timestamp(NEXT - dt.timedelta(days=1))].head(1)])
    assert len(day) > 100
    from nba_pipeline.warehouse.bigquery import bigquery_frame

    with pytest.raises(Exception, match="different partitions"):  # (BigQuery fails the job; the emulator the upload)
        client.load_table_from_dataframe(
            bigquery_frame(table, stray),
            f"{PROJECT}.{table.dataset}.{table.name}${NEXT:%Y%m%d}",
            job_config=bigquery.LoadJobConfig(schema=table.bigquery_schema(), write_disposition="WRITE_TRUNCATE"),
        ).result()
    pd.testing.assert_frame_equal(_canonical(table, _read(client, table)), before)
