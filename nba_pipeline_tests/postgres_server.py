"""A throwaway PostgreSQL server on 127.0.0.1 for the instance-storage tests: Debian's `postgresql`
binaries (installed by .ci/run), a fresh cluster in a temporary directory with password auth over
TCP (as production), stopped at the end. PostgreSQL refuses to run as root: as root the cluster
belongs to, and runs as, the `postgres` user the package creates."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


class Unavailable(RuntimeError):
    """Why no server could be started here (the tests skip with this reason)."""


def _bin_dir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if versions:
        return Path(versions[-1]).parent
    raise Unavailable("PostgreSQL server binaries not found (Debian package `postgresql`; .ci/run installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    root: Path
    user: str = "dagster"
    password: str = "dagster-test-pw"
    db: str = "dagster"

    def __post_init__(self):
        self.bin = _bin_dir()
        self.port = _free_port()
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.run_as = None
        if os.geteuid() == 0:
            try:
                self.run_as = pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and there is no `postgres` user to run PostgreSQL as") from None

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        kw = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid} if self.run_as else {}
        return subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True, cwd=self.root, **kw)

    def env(self) -> dict[str, str]:
        """The DAGSTER_PG_* variables the production dagster.yaml reads."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_DB": self.db,
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
        }

    def start(self) -> PostgresServer:
        self.root.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            for p in (self.root, pwfile):
                os.chown(p, self.run_as.pw_uid, self.run_as.pw_gid)
        done = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if done.returncode != 0:
            raise Unavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
        opts = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} -c fsync=off"
        done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start")
        if done.returncode != 0:
            raise Unavailable(
                f"PostgreSQL did not start: {done.stderr.strip()[-300:]} "
                f"{self.log.read_text()[-500:] if self.log.exists() else ''}"
            )
        self.create_database(self.db)
        return self

    def create_database(self, name: str) -> None:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                con = psycopg2.connect(
                    host="127.0.0.1", port=self.port, user=self.user, password=self.password, dbname="postgres"
                )
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        con.close()

    def connect(self, db: str | None = None):
        import psycopg2

        return psycopg2.connect(
            host="127.0.0.1", port=self.port, user=self.user, password=self.password, dbname=db or self.db
        )

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A server for a test, stopped and removed after it; the test is skipped, with the reason,
    where none can be started."""
    # not under pytest's tmp dir: that is private to this user, and the server may run as `postgres`
    root = Path(tempfile.mkdtemp(prefix="nba-pg-"))
    try:
        server = PostgresServer(root).start()
    except Unavailable as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"no PostgreSQL server here: {exc}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
