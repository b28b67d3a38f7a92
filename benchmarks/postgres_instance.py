r"""The production instance on PostgreSQL: a single-run backfill with dagster-postgres's stock
storages (a new connection per operation) and with the pooled ones of nba_pipeline/instance/
postgres.py. Starts its own PostgreSQL server on 127.0.0.1 (Debian `postgresql`).

    python benchmarks/postgres_instance.py [--start 2025-10-01 --end 2025-10-23] [--only stock|pooled] \
        [--raw-dir ../shared/data/nba]

Prints, per storage: wall time of the run, PostgreSQL sessions opened (pg_stat_database.sessions),
materializations, events stored and the database's size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

STOCK = {"storage": {"postgres": None}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2025, 10, 1))
    ap.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2025, 10, 23))
    ap.add_argument("--raw-dir", default=str(ROOT.parent / "shared" / "data" / "nba"))
    ap.add_argument("--only", choices=["stock", "pooled"], help="run one storage only")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")

    # the partitions (fixed at the import below) start with the first season of the raw data read
    os.environ.pop("NBA_FIRST_SEASON", None)
    os.environ["NBA_RAW_DIR"] = args.raw_dir

    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    from nba_pipeline.cli.runner import run_backfill
    from nba_pipeline.definitions import build_definitions
    from nba_pipeline.exports.directory import ExportsDirectory
    from nba_pipeline.raw.sources.files import FilesSource
    from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager
    from nba_pipeline_tests.postgres_server import PostgresServer

    production = yaml.safe_load((ROOT / "nba_pipeline" / "instance" / "dagster.production.yaml").read_text())
    postgres_config = production["run_storage"]["config"]
    stock = {k: v for k, v in production.items() if k not in ("run_storage", "event_log_storage", "schedule_storage")}
    stock["storage"] = {"postgres": postgres_config}
    variants = {"dagster-postgres (stock)": stock, "pooled (nba_pipeline)": production}
    if args.only:
        variants = {k: v for k, v in variants.items() if args.only in k}

    root = Path(tempfile.mkdtemp(prefix="nba-pg-bench-"))
    server = PostgresServer(root).start()
    print(f"PostgreSQL on 127.0.0.1:{server.port}; run {args.start} .. {args.end}, all assets, DuckDB warehouse")
    try:
        for i, (name, config) in enumerate(variants.items()):
            db = f"bench{i}"
            server.create_database(db)
            home = Path(tempfile.mkdtemp(prefix="nba-home-"))
            (home / "dagster.yaml").write_text(yaml.safe_dump(config))
            os.environ.update({**server.env(), "DAGSTER_PG_DB": db, "DAGSTER_HOME": str(home)})
            defs = build_definitions(
                FilesSource(raw_dir=args.raw_dir),
                NbaDuckDBIOManager(database=str(home / "w.duckdb")),
                ExportsDirectory(directory=str(home / "exports")),
            )
            with server.connect("postgres") as con, con.cursor() as cur:
                cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [db])
                before = cur.fetchone()[0]
            with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
                t0 = time.perf_counter()
                summary = run_backfill(defs, instance, args.start, args.end, progress=None)
                seconds = time.perf_counter() - t0
            time.sleep(1.0)  # pg_stat counters are flushed by the backends on exit
            with server.connect("postgres") as con, con.cursor() as cur:
                cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [db])
                sessions = cur.fetchone()[0] - before
            with server.connect(db) as con, con.cursor() as cur:
                cur.execute("SELECT count(*), pg_database_size(current_database()) FROM event_logs")
                events, size = cur.fetchone()
            print(
                f"{name:26s} {seconds:6.1f} s  {sessions:6d} sessions  {summary.materializations} materializations  "
                f"{events} events  database {size / 2**20:.0f} MiB  {'ok' if summary.success else 'FAILED'}"
            )
            shutil.rmtree(home, ignore_errors=True)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
