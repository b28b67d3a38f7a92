"""A local BigQuery for the tests: bqemulator 1.4.0 on 127.0.0.1, offline, with the three places
where it differs from BigQuery in ways the warehouse's writes depend on bridged
(../shared/BIGQUERY_EMULATOR.md):

1. `load_table_from_dataframe` sends its Parquet as `*/*`, which the emulator refuses;
2. a load into `table$YYYYMMDD` (a partition decorator) must replace that day only, reject rows of
   other days and, as in BigQuery, commit all or nothing;
3. Parquet columns must be matched by name, not position (else same-typed columns swap silently).

Everything else, the client, the jobs, the SQL, is the emulator's own. Run as
`python -m nba_pipeline_tests.bigquery_emulator --rest-port P --grpc-port Q --project X` with a
HOME of its own (DuckDB's spatial extension is installed there from its wheel, so nothing is
downloaded); `start_emulator()` does that for a test fixture.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def install_spatial_extension() -> None:
    """bqemulator runs `INSTALL spatial` at start, a download; install it from its wheel instead."""
    import duckdb
    import duckdb_extension_spatial

    ext = next(
        Path(duckdb_extension_spatial.__file__).parent.glob(
            f"extensions/v{duckdb.__version__}/spatial.duckdb_extension"
        )
    )
    with duckdb.connect() as con:
        con.execute(f"INSTALL '{ext}'")


def bridge_emulator_gaps() -> None:
    from bqemulator.api.routes import upload
    from bqemulator.jobs import executor

    # 1. the media part's content type
    upload._PERMITTED_MEDIA_CONTENT_TYPES = (*upload._PERMITTED_MEDIA_CONTENT_TYPES, "*/*")

    # 2. partition decorators: the parsed job targets the table; the day travels in its config
    original_parse = executor._parse_load_job_config

    def parse(project_id, config):
        dest = config.get("load", {}).get("destinationTable", {})
        table_id = dest.get("tableId", "")
        if "$" not in table_id:
            return original_parse(project_id, config)
        table, day = table_id.split("$", 1)
        load = {**config["load"], "destinationTable": {**dest, "tableId": table}, "_partition": day}
        return original_parse(project_id, {**config, "load": load})

    executor._parse_load_job_config = parse

    # the write disposition is applied in the same transaction as the insert (below)
    original_apply = executor._apply_load_write_disposition

    def apply(job, ctx):
        if job.write_disposition != "WRITE_TRUNCATE":
            original_apply(job, ctx)

    executor._apply_load_write_disposition = apply

    # 3. Parquet by column name, in one transaction with the truncate or the partition replace
    def load_path(path: str, job, ctx) -> None:
        if job.source_format != "PARQUET":
            if job.write_disposition == "WRITE_TRUNCATE":
                original_apply(job, ctx)
            return original_load_path(path, job, ctx)
        con = ctx.engine.connection
        cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()]
        names = ", ".join(f'"{c}"' for c in cols)
        day = job.raw_config.get("_partition")
        con.execute("BEGIN TRANSACTION")
        try:
            if day is not None:
                meta = ctx.catalog.get_table(job.project_id, job.dataset_id, job.table_id)
                field = meta.time_partitioning.field if meta is not None and meta.time_partitioning else None
                if field is None:
                    raise executor.InvalidQueryError(f"{job.table_id}${day}: the table is not partitioned by a column")
                date = dt.datetime.strptime(day, "%Y%m%d").date().isoformat()
                outside = con.execute(
                    "SELECT count(*) FROM read_parquet(?) "
                    f"WHERE CAST(\"{field}\" AS DATE) IS DISTINCT FROM DATE '{date}'",
                    [path],
                ).fetchone()[0]
                if outside:
                    # BigQuery's message for rows outside the decorated partition
                    raise executor.InvalidQueryError(
                        "Some rows belong to different partitions "
                        f"rather than destination partition {day} ({outside} rows)"
                    )
                if job.write_disposition == "WRITE_TRUNCATE":
                    con.execute(f"DELETE FROM {job.target_ref} WHERE \"{field}\" = DATE '{date}'")
            elif job.write_disposition == "WRITE_TRUNCATE":
                con.execute(f"DELETE FROM {job.target_ref}")
            con.execute(f"INSERT INTO {job.target_ref} ({names}) SELECT {names} FROM read_parquet(?)", [path])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    original_load_path = executor._load_path_into_target
    executor._load_path_into_target = load_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """A running emulator process; `url` for BIGQUERY_EMULATOR_HOST."""

    def __init__(self, home: Path, project: str = "nba-test"):
        self.home, self.project = home, project
        self.port, self.grpc_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / "emulator.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> Emulator:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HOME": str(self.home)}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nba_pipeline_tests.bigquery_emulator",
                "--rest-port",
                str(self.port),
                "--grpc-port",
                str(self.grpc_port),
                "--project",
                self.project,
            ],
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the BigQuery emulator exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}"
                )
            try:
                if (
                    requests.get(f"{self.url}/bigquery/v2/projects/{self.project}/datasets", timeout=2).status_code
                    == 200
                ):
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"the BigQuery emulator did not answer within {timeout:.0f} s:\n{self.log.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rest-port", type=int, required=True)
    ap.add_argument("--grpc-port", type=int, required=True)
    ap.add_argument("--project", default="nba-test")
    args = ap.parse_args(argv)
    install_spatial_extension()
    bridge_emulator_gaps()
    from bqemulator.cli import main as bqemulator_main

    bqemulator_main(
        [
            "start",
            "--rest-host",
            "127.0.0.1",
            "--rest-port",
            str(args.rest_port),
            "--grpc-host",
            "127.0.0.1",
            "--grpc-port",
            str(args.grpc_port),
            "--project",
            args.project,
            "--log-level",
            "warning",
            "--ephemeral",
        ]
    )


if __name__ == "__main__":
    main()
