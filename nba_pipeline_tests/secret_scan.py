"""Where a secret occurs in a Dagster instance's storage: every file under a directory (SQLite
databases cell by cell, zlib-compressed cells decompressed: Dagster stores snapshots that way) or
every cell of a PostgreSQL database."""

from __future__ import annotations

import gzip
import sqlite3
import zlib
from collections.abc import Iterable
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"


def _forms(value: bytes) -> Iterable[bytes]:
    """The bytes as stored, and decompressed where they decompress."""
    yield value
    for decompress in (zlib.decompress, gzip.decompress):
        try:
            yield decompress(value)
        except (zlib.error, OSError, EOFError):
            pass


def _as_bytes(value) -> bytes:
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode()


def _found(value, secrets: list[bytes]) -> set[bytes]:
    return {s for form in _forms(_as_bytes(value)) for s in secrets if s in form}


def secrets_in_files(root: Path, secrets: Iterable[str]) -> list[str]:
    """'<path>: <secret>' for every file under `root` whose bytes (or decompressed bytes) hold a
    secret, and '<path> <table>.<column> rowid N: <secret>' for every SQLite cell that does. The
    raw bytes of a database file cover its WAL and free pages too."""
    wanted = [s.encode() for s in secrets]
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        rel = path.relative_to(root)
        hits += [f"{rel}: {s.decode()}" for s in sorted(_found(data, wanted))]
        if data.startswith(SQLITE_HEADER):
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                for table in tables:
                    columns = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
                    for rowid, *cells in con.execute(f'SELECT rowid, * FROM "{table}"'):
                        for column, cell in zip(columns, cells):
                            hits += [
                                f"{rel} {table}.{column} rowid {rowid}: {s.decode()}"
                                for s in sorted(_found(cell, wanted))
                            ]
            finally:
                con.close()
    return hits


def secrets_in_postgres(con, secrets: Iterable[str]) -> list[str]:
    """'<table>.<column>: <secret>' for every cell of the connected database's public tables
    that holds a secret (bytea cells decompressed where they decompress)."""
    wanted = [s.encode() for s in secrets]
    hits = []
    with con.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
        for (table,) in cur.fetchall():
            cur.execute(f'SELECT * FROM "{table}"')
            columns = [d.name for d in cur.description]
            for row in cur.fetchall():
                for column, cell in zip(columns, row):
                    hits += [f"{table}.{column}: {s.decode()}" for s in sorted(_found(cell, wanted))]
    return hits
