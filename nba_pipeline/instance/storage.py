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

This subclass changes only those costs, not what is stored: same files, same tables, same rows
(one exception: a batch's materializations of an asset are recorded a millisecond apart at least,
as one-by-one writes leave them; see `_a_millisecond_apart`).
  * one engine per shard (a few, least recently used) with a small connection pool;
  * `PRAGMA synchronous=NORMAL`: in WAL mode a commit cannot corrupt the database, a power cut can
    lose only the last transactions (the stock setting also fsyncs every commit);
  * `has_table` remembers tables it has seen (tables are only ever added, by migrations);
  * `store_event_batch` writes a batch of asset events in one transaction per shard, doing per
    event exactly what `SqliteEventLogStorage.store_event` does, with one compiled statement
    executed for many rows (stock: a statement built and compiled per event and shard);
  * check evaluations are batched too. Dagster sends them one by one (unlike materializations, it
    gives them no batch metadata), ~7k for a season; they are held in memory and written like a
    batch as soon as anything touches the database: the step's next non-check event (at the
    latest its STEP_SUCCESS/STEP_FAILURE), any read, or 1000 pending. So nothing read from this
    storage misses them, and a crash can lose them only together with the end of their step, which
    leaves that step (and the run) unfinished, never "done" without its checks;
  * a planned check over N partitions serializes its event once, not once per partition row.
Measured with `benchmarks/event_log_storage.py`.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

# dagster._ paths: this extends Dagster's SQLite event log storage, whose base class, tables, row
# statuses, event-type sets and serializer have no public path (the other private names: core/dagster_internals.py)
import dagster._check as check
from dagster import DagsterEventType, DagsterInvariantViolationError, EventLogEntry, Field, StringSource
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData, serialize_value
from sqlalchemy import and_, bindparam, create_engine, select
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# Dagster only hands events to `store_event_batch` when this is set (in the process writing the
# events: the run worker). The storage that implements batching turns it on.
EVENT_BATCH_SIZE = "1000"
# run shards are one file per run; keep engines for the few in use (index + current runs)
MAX_OPEN_SHARDS = 4
# check evaluations held before a write is forced (they are flushed far sooner in practice)
MAX_PENDING_CHECK_EVALUATIONS = 1000


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
        self._pending_checks: list[EventLogEntry] = []
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
            if self._pending_checks and not open_here:
                self._flush_check_evaluations()  # whoever touches the database sees them
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
        if (
            event.is_dagster_event
            and event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION
            and event.run_id
        ):
            with self._db_lock:
                self._pending_checks.append(event)
                if len(self._pending_checks) >= MAX_PENDING_CHECK_EVALUATIONS:
                    self._flush_check_evaluations()
            return
        if event.is_dagster_event and event.dagster_event_type in ASSET_CHECK_EVENTS:
            # the check's index-shard writes (event row, execution rows) in one transaction
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
        # Dagster's batches may mix asset events with others (a run's planned events include the
        # planned checks): write each consecutive run of same-run asset events as one batch
        start = 0
        for end in range(1, len(events) + 1):
            if end == len(events) or _batch_kind(events[end]) != _batch_kind(events[start]):
                if _batch_kind(events[start]) is None:
                    for event in events[start:end]:
                        self.store_event(event)
                else:
                    self._store_asset_events(events[start:end])
                start = end

    def _store_asset_events(self, events: Sequence[EventLogEntry]) -> None:
        events = _a_millisecond_apart(events)
        rows = [self._event_to_row(e) for e in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        # mirrored in the cross-run index shard, with tags and asset records, as store_event does
        with self.index_transaction() as conn:
            event_ids = self._insert_index_rows(conn, rows)
            self._store_asset_event_tags(conn, events, event_ids)
            for i in _last_of_each_kind_per_asset(events):
                self._store_asset_event(conn, events[i], event_ids[i])

    @staticmethod
    def _insert_index_rows(conn: Connection, rows: list[dict]) -> list[int]:
        ids = (
            conn.execute(
                SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id, sort_by_parameter_order=True),
                rows,
            )
            .scalars()
            .all()
        )
        if len(ids) != len(rows) or any(i is None for i in ids):
            raise DagsterInvariantViolationError("event log index shard returned no id for an inserted event")
        return list(ids)

    def _flush_check_evaluations(self) -> None:
        with self._db_lock:
            pending, self._pending_checks = self._pending_checks, []
            by_run: dict[str, list[EventLogEntry]] = {}
            for event in pending:
                by_run.setdefault(event.run_id, []).append(event)
            for run_events in by_run.values():
                self._store_check_evaluations(run_events)

    def _store_check_evaluations(self, events: list[EventLogEntry]) -> None:
        """What `store_event` + `_update_asset_check_evaluation` do per evaluation, for many: the
        event row in the run shard and the index shard, and the check execution row that the
        run's planned event created set to SUCCEEDED/FAILED (inserted when there is none)."""
        rows = [self._event_to_row(e) for e in events]
        run_id = events[0].run_id
        with self.run_connection(run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        with self.index_transaction() as conn:
            event_ids = self._insert_index_rows(conn, rows)
            planned: dict[tuple, int] = {}
            for key in conn.execute(
                select(
                    AssetCheckExecutionsTable.c.asset_key,
                    AssetCheckExecutionsTable.c.check_name,
                    AssetCheckExecutionsTable.c.partition,
                ).where(AssetCheckExecutionsTable.c.run_id == run_id)
            ):
                planned[tuple(key)] = planned.get(tuple(key), 0) + 1
            updates, inserts = [], []
            for event, row, event_id in zip(events, rows, event_ids):
                evaluation = event.get_dagster_event().event_specific_data
                key = (evaluation.asset_key.to_string(), evaluation.check_name, evaluation.partition)
                values = {
                    "asset_key": key[0],
                    "check_name": key[1],
                    "partition": key[2],
                    "run_id": run_id,
                    "execution_status": (
                        AssetCheckExecutionRecordStatus.SUCCEEDED.value
                        if evaluation.passed
                        else AssetCheckExecutionRecordStatus.FAILED.value
                    ),
                    "evaluation_event": row["event"],  # the same serialization, not a second one
                    "evaluation_event_timestamp": row["timestamp"],
                    "evaluation_event_storage_id": event_id,
                    "materialization_event_storage_id": (
                        evaluation.target_materialization_data.storage_id
                        if evaluation.target_materialization_data
                        else None
                    ),
                }
                if planned.get(key, 0) > 1:
                    raise DagsterInvariantViolationError(
                        f"Updated {planned[key]} rows for asset check evaluation {evaluation.asset_check_key} "
                        "as a result of duplicate AssetCheckPlanned events."
                    )
                if key in planned:
                    updates.append(values)
                else:
                    # as in Dagster: 0 planned rows occurs where no planned event was recorded
                    inserts.append(values)
                    planned[key] = 1
            t = AssetCheckExecutionsTable
            # inserts first: a later evaluation of an inserted key updates it, as it would one by one
            if inserts:
                conn.execute(t.insert(), inserts)
            set_columns = (
                "execution_status",
                "evaluation_event",
                "evaluation_event_timestamp",
                "evaluation_event_storage_id",
                "materialization_event_storage_id",
            )
            for partitioned in (True, False):
                group = [u for u in updates if (u["partition"] is not None) == partitioned]
                if not group:
                    continue
                keys = ("asset_key", "check_name", "run_id") + (("partition",) if partitioned else ())
                where = and_(
                    *(t.c[k] == bindparam(f"b_{k}") for k in keys),
                    *(() if partitioned else (t.c.partition.is_(None),)),
                )
                conn.execute(
                    t.update().where(where).values({c: bindparam(f"v_{c}") for c in set_columns}),
                    [{**{f"b_{k}": u[k] for k in keys}, **{f"v_{c}": u[c] for c in set_columns}} for u in group],
                )

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        # Dagster serializes the planned event once per partition row; the rows are identical
        planned = event.get_dagster_event().event_specific_data
        keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        row = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert(), [{**row, "partition": k} for k in keys])

    def wipe(self) -> None:
        self._pending_checks.clear()
        self._dispose_engines()
        self._known_tables.clear()
        super().wipe()

    def dispose(self) -> None:
        if self._pending_checks:
            self._flush_check_evaluations()
        self._dispose_engines()
        super().dispose()


def _batch_kind(event: EventLogEntry) -> str | None:
    """The run whose asset-event batch this event can join, or None (stored on its own)."""
    if event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS:
        return event.run_id
    return None


# the asset events the UI's Events tab lists
_LISTED_EVENTS = frozenset({DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION})


def _a_millisecond_apart(events: Sequence[EventLogEntry]) -> list[EventLogEntry]:
    """A batch's materializations (and observations) of one asset, each at least a millisecond
    after the one before.

    Dagster creates a step's per-partition materializations in one loop, within a millisecond or
    two: the stock storage writes each before the next is created (~10 ms apart), a batch stores
    them together with the times they were created. The UI's Events tab tells an asset's events
    apart by run and millisecond (`uniqBy` in ui-core's usePaginatedAssetEvents), so a 40-date
    backfill listed 4 of its 40 materializations. A colliding event is recorded at the next free
    millisecond: a season's batch ends ~0.3 s after it was created."""
    out, last = [], {}
    for event in events:
        dagster_event = event.get_dagster_event()
        if dagster_event.event_type in _LISTED_EVENTS:
            key = (dagster_event.asset_key, dagster_event.event_type)
            ms = int(event.timestamp * 1000)
            if key in last and ms <= last[key]:
                ms = last[key] + 1
                # mid-millisecond: the UI's int(timestamp * 1000) reads back this millisecond
                event = event._replace(timestamp=(ms + 0.5) / 1000)
            last[key] = ms
        out.append(event)
    return out


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
