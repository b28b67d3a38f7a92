"""The embedded instance's event log: Dagster's SQLite event log storage, made fast enough to be the
completion tracker of a season-long single-run backfill.

A single-run backfill of a season records one planned and one materialization event per asset and
game date, plus one evaluation per check and date: ~10k events. Dagster's `SqliteEventLogStorage`
spends ~10 ms on each (measured: 5 assets x 240 dates, no checks, 25.8 s; 2 checks per asset-date
add 12 ms per evaluation), because for every event it builds a new SQLAlchemy engine (losing the
compiled-statement cache), opens and closes a SQLite connection per shard (the last close of a WAL
database checkpoints it), commits with a full fsync, and re-inspects the schema with `has_table`.
It also does not implement `store_event_batch`, so Dagster's own event batching
(`DAGSTER_EVENT_BATCH_SIZE`, which groups a step's per-partition materializations and a run's
planned events) has nothing to batch into.

This subclass changes only those costs, not what is stored: same files, same tables, same rows.
  * one engine per shard (a few, least recently used) with a small connection pool;
  * `PRAGMA synchronous=NORMAL`: in WAL mode a commit cannot corrupt the database, a power cut can
    lose only the last transactions (the stock setting also fsyncs every commit);
  * `has_table` remembers tables it has seen (tables are only ever added, by migrations);
  * a check evaluation's index-shard writes share one transaction (stock: three);
  * `store_event_batch` writes a batch of asset events in one transaction per shard, doing per
    event exactly what `SqliteEventLogStorage.store_event` does.
Measured with `benchmarks/event_log_storage.py`.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dagster._check as check
from dagster import Field, StringSource
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# Dagster only hands events to `store_event_batch` when this is set (in the process writing the
# events: the run worker). The storage that implements batching turns it on.
EVENT_BATCH_SIZE = "1000"
# run shards are one file per run; keep engines for the few in use (index + current runs)
MAX_OPEN_SHARDS = 4


def default_event_log_dir() -> str:
    """Where Dagster's default SQLite storage keeps event logs, so an existing instance keeps its
    history when it switches to this storage."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise check.CheckError("EmbeddedEventLogStorage needs base_dir or DAGSTER_HOME")
    return os.path.join(home, "history", "runs", "")


class EmbeddedEventLogStorage(SqliteEventLogStorage):
    """SQLite event log storage for the embedded default instance (see the module docstring).

    dagster.yaml:
        event_log_storage:
          module: nba_pipeline.instance.storage
          class: EmbeddedEventLogStorage
          config: {}            # base_dir defaults to $DAGSTER_HOME/history/runs/
    """

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        # set before super().__init__, which connects to the index shard
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._known_tables: set[str] = set()
        self._open = threading.local()
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
        super().__init__(base_dir or default_event_log_dir(), inst_data)
        # re-entrant: a thread holding one shard's connection may open another shard's
        self._db_lock = threading.RLock()

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # ty: ignore[invalid-method-override]
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, conn_string: str) -> Engine:
        engine = self._engines.get(conn_string)
        if engine is not None:
            self._engines.move_to_end(conn_string)
            return engine
        engine = create_engine(
            conn_string,
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=4,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )

        @sa_event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        self._engines[conn_string] = engine
        while len(self._engines) > MAX_OPEN_SHARDS:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def _dispose_engines(self) -> None:
        while self._engines:
            self._engines.popitem()[1].dispose()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        check.str_param(shard, "shard")
        open_here = self._open.__dict__.setdefault("connections", {})
        if shard in open_here:
            # nested use of a shard this thread already holds: join its transaction (a second
            # connection would wait on the first one's write lock)
            yield open_here[shard]
            return
        with self._db_lock:
            engine = self._engine(self.conn_string_for_shard(shard))
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    open_here[shard] = conn
                    try:
                        yield conn
                    finally:
                        del open_here[shard]

    def store_event(self, event: EventLogEntry) -> None:
        if event.is_dagster_event and event.dagster_event_type in ASSET_CHECK_EVENTS:
            # the check's index-shard writes (event row, execution row update) in one transaction
            with self.index_connection():
                super().store_event(event)
            return
        super().store_event(event)

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._known_tables:
            if not super().has_table(table_name):
                return False
            self._known_tables.add(table_name)
        return True

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        same_run = len({e.run_id for e in events}) == 1
        if not same_run or not all(
            e.is_dagster_event and e.dagster_event_type in ASSET_EVENTS for e in events
        ):
            for event in events:
                self.store_event(event)
            return
        statements = [self.prepare_insert_event(e) for e in events]
        with self.run_connection(events[0].run_id) as conn:
            for statement in statements:
                conn.execute(statement)
        # mirrored in the cross-run index shard, with tags and asset records, as store_event does
        with self.index_transaction() as conn:
            event_ids = [conn.execute(statement).inserted_primary_key[0] for statement in statements]
            self._store_asset_event_tags(conn, events, event_ids)
            for i in _last_of_each_kind_per_asset(events):
                self._store_asset_event(conn, events[i], event_ids[i])

    def wipe(self) -> None:
        self._dispose_engines()
        self._known_tables.clear()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


def _last_of_each_kind_per_asset(events: Sequence[EventLogEntry]) -> list[int]:
    """Indexes (in order) of the last event of each (asset, event type) in a batch.

    `_store_asset_event` overwrites the asset's row in `asset_keys` with columns that depend only
    on the event's type (materialization: last_materialization, last_run_id, timestamp; planned:
    last_run_id, timestamp; ...). The last event to set a column is the last of its type, so
    applying only those, in order, leaves exactly the row that applying every event would: one
    write per asset instead of one per partition.
    """
    last: dict[tuple[str, object], int] = {}
    for i, event in enumerate(events):
        dagster_event = event.get_dagster_event()
        last[(dagster_event.asset_key.to_string(), dagster_event.event_type_value)] = i
    return sorted(last.values())
